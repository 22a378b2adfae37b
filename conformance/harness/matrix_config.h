/* The client x server matrix's peers and scenarios, as data (conformance/matrix.conf):
 *
 *   # comment
 *   scenario NAME [needs=FEATURE]...
 *   server LABEL [without=FEATURE]... CMD with {address} or {fd}
 *   client LABEL [without=FEATURE]... CMD with {address} and {scenario}
 *
 * {bin} in a command becomes the build directory's bin/ (default build/bin). FEATURE is
 * streaming or remote-deadline (a client that can send a timeout_nano shorter than it waits
 * itself). A scenario is UNSUPPORTED in every cell where an end lacks a feature it needs. */
#ifndef TC_MATRIX_CONFIG_H
#define TC_MATRIX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ttrpc/err.h"

#define MX_MAX_PEERS 16
#define MX_MAX_SCENARIOS 32
#define MX_LABEL_MAX 32
#define MX_CMD_MAX 512

/* Features beyond the harness-wide TC_NEED_* bits. */
enum { MX_NEED_REMOTE_DEADLINE = 1u << 8 };

/* The name of the first feature in bits ("streaming"). */
const char *mx_feature_name(unsigned bits);

typedef struct mx_peer {
    char label[MX_LABEL_MAX];
    char cmd[MX_CMD_MAX]; /* {bin} already replaced */
    unsigned without;     /* TC_NEED_* bits the peer lacks */
} mx_peer;

typedef struct mx_scenario {
    char name[MX_LABEL_MAX];
    unsigned needs; /* TC_NEED_* */
} mx_scenario;

typedef struct mx_config {
    mx_peer servers[MX_MAX_PEERS];
    size_t n_servers;
    mx_peer clients[MX_MAX_PEERS];
    size_t n_clients;
    mx_scenario scenarios[MX_MAX_SCENARIOS];
    size_t n_scenarios;
} mx_config;

/* Parses text (NUL-terminated); bin_dir replaces {bin}. On error, *bad_line is the line and
 * why says what is wrong there.
 * Errors: TTRPC_E_INVAL (an unknown keyword or feature, a missing field, a duplicate label, a
 * server command without {address}/{fd}, a client command without {address} and {scenario},
 * nothing to run), TTRPC_E_NOSPACE (too many entries, a label or command too long). */
TTRPC_MUST_USE ttrpc_err mx_config_parse(const char *text, const char *bin_dir, mx_config *out,
                                         size_t *bad_line, char *why, size_t why_cap);
/* Reads a file and parses it. Errors: TTRPC_E_IO, and those of mx_config_parse. */
TTRPC_MUST_USE ttrpc_err mx_config_load(const char *path, const char *bin_dir, mx_config *out,
                                        size_t *bad_line, char *why, size_t why_cap);

/* True when a cell of (client, server) can run scenario s. */
bool mx_supported(const mx_peer *client, const mx_peer *server, const mx_scenario *s);

#endif
