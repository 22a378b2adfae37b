/* `ttrpc-conform matrix`: every client x every server x every scenario both ends support
 * (matrix_config.h), each call relayed through the tap (tap.h) so that every cell keeps its
 * wire trace. A cell passes when the client's JSON result line says "ok": true. */
#ifndef TC_MATRIX_H
#define TC_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "matrix_config.h"
#include "script.h" /* tc_buf */
#include "verdict.h"

#define MX_SCHEMA_VERSION 1
#define MX_CELL_TIMEOUT_MS 15000u /* above the peers' 5 s scenario limit and their grace */

/* One (client, server, scenario) and what came of it. */
typedef struct mx_cell {
    const mx_peer *client;
    const mx_peer *server;
    const mx_scenario *scenario;
    char id[3 * MX_LABEL_MAX + 3]; /* "client/server/scenario" */
    tc_verdict verdict;
    bool ok;                  /* the client's result said ok */
    char detail[768];         /* the client's detail, or what went wrong */
    uint64_t elapsed_ms;
    char trace[160];          /* the trace file, relative to the report directory; "" if none */
    const char *known_reason; /* from the expected-failure list */
} mx_cell;

/* What a client printed: its JSON result line, judged. */
typedef struct mx_client_result {
    bool reported; /* a line with "ok" was found */
    bool ok;
    int code;
    char detail[512];
} mx_client_result;

/* Finds the last JSON result line in out (NUL-terminated) and reads ok, code and detail. */
void mx_parse_client_output(const char *out, mx_client_result *r);

/* Copies tmpl with {address} and {scenario} replaced. Errors: TTRPC_E_NOSPACE. */
TTRPC_MUST_USE ttrpc_err mx_expand_client(const char *tmpl, const char *address,
                                          const char *scenario, char *out, size_t cap);

typedef struct mx_report {
    const char *name;    /* file names: NAME.json, .xml, .md */
    const char *config;  /* the config file */
    const char *started; /* UTC, ISO 8601 */
    double timeout_scale;
    const mx_config *cfg;
    const mx_cell *cells;
    size_t n;
    unsigned counts[TC_V_COUNT];
    uint64_t elapsed_ms;
    unsigned server_restarts;
} mx_report;

/* The three documents (matrix_report.c). Errors: TTRPC_E_NOMEM; _write: TTRPC_E_IO too. */
TTRPC_MUST_USE ttrpc_err mx_report_json(const mx_report *r, tc_buf *out);
TTRPC_MUST_USE ttrpc_err mx_report_junit(const mx_report *r, tc_buf *out);
TTRPC_MUST_USE ttrpc_err mx_report_markdown(const mx_report *r, tc_buf *out);
TTRPC_MUST_USE ttrpc_err mx_report_write(const mx_report *r, const char *dir);

/* The `ttrpc-conform matrix` command (argv[1] is "matrix"). */
int mx_matrix_main(int argc, char **argv);

#endif
