/* Plays one case against a server on a Unix socket: a fresh connection, the script's bytes
 * written with poll() while everything the peer sends is decoded and recorded, one deadline
 * for the whole case, and a wire log of both directions. */
#ifndef TC_RUNNER_H
#define TC_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "case.h"
#include "expect.h"
#include "script.h"
#include "wirelog.h"

typedef struct tc_case_run {
    tc_obs obs;
    tc_buf log;          /* the wire log: one line per frame or op, hex included */
    tc_wirelog wire;     /* the same as data (frames, events) for the JSON report */
    bool timed_out;      /* the case's deadline passed before it settled */
    bool harness_error;  /* the harness could not play the case (connect failed, ...) */
    char error[256];
    bool pass;           /* set by tc_case_judge */
    bool lenient;
    uint64_t elapsed_ms;
} tc_case_run;

/* The case's deadline in ms after scaling (at least 1). */
uint32_t tc_case_timeout_ms(const tc_case *c, double scale);

/* Plays c against the server listening at sock_path; fills *out (zero it first; free it with
 * tc_case_run_free). Returns TTRPC_OK when the case was played (whatever the peer did) and
 * TTRPC_E_IO / TTRPC_E_NOMEM with out->harness_error set otherwise. */
TTRPC_MUST_USE ttrpc_err tc_run_case(const tc_case *c, const char *sock_path, double scale,
                                     tc_case_run *out);

/* Evaluates both expectations; call after out->obs.alive has been set. */
void tc_case_judge(const tc_case *c, tc_case_run *r);

void tc_case_run_free(tc_case_run *r);

/* One Echo on a new connection, answered with status OK within timeout_ms (the payload is
 * not checked: that is the cases' job). */
bool tc_probe_echo(const char *sock_path, int timeout_ms);

#endif
