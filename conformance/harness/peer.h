/* The testee process: spawned from a command template (--exec 'CMD {address}' or '{fd}'), or
 * an existing server (--target unix:PATH). Startup waits for its "ready" line; after a case
 * the liveness probe (one Echo on a fresh connection) tells whether it is still serving, and a
 * dead or hung peer is recorded (exit status, signal, stderr tail) and started again. */
#ifndef TC_PEER_H
#define TC_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "verdict.h"

#define TC_PEER_FD 3 /* the descriptor a {fd} peer inherits its listening socket as */

typedef struct tc_peer {
    const char *exec_template; /* NULL with --target */
    char sock_path[108];
    char dir[64];             /* private run directory (mkdtemp) */
    pid_t pid;                /* process group leader; 0 when not running */
    unsigned starts;
    /* What became of the last process that ended (for the report). */
    char last_end[128];       /* "exited with status 2", "killed by signal 11 (SIGSEGV)" */
    char stderr_tail[2048];
    int startup_timeout_ms;
} tc_peer;

/* Expands {address} (unix:PATH) and {fd} in tmpl into out. Errors: TTRPC_E_NOSPACE,
 * TTRPC_E_INVAL (neither placeholder is present). *uses_fd tells which one was used. */
TTRPC_MUST_USE ttrpc_err tc_expand_command(const char *tmpl, const char *sock_path, int fd,
                                           char *out, size_t cap, bool *uses_fd);

/* Prepares a peer: a private directory and socket path. target: an existing server's
 * "unix:PATH" (then nothing is spawned) or NULL with exec_template. Errors: TTRPC_E_INVAL,
 * TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err tc_peer_init(tc_peer *p, const char *exec_template, const char *target);

/* Spawns the command and waits for "ready" on its stdout and the socket to accept.
 * err gets a reason on failure. Errors: TTRPC_E_IO, TTRPC_E_TIMEOUT. */
TTRPC_MUST_USE ttrpc_err tc_peer_start(tc_peer *p, char *err, size_t err_cap);

/* After a case: probes; when the peer does not answer, decides between died and hung, kills
 * and restarts it (fills last_end and stderr_tail). Returns the fate. */
tc_fate tc_peer_check(tc_peer *p, int probe_timeout_ms);

/* Stops the process (SIGTERM, then SIGKILL after 2 s) and removes the run directory. */
void tc_peer_stop(tc_peer *p);

/* A description of the peer for reports: the command or the target. */
const char *tc_peer_describe(const tc_peer *p);

#endif
