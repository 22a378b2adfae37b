/* From what a case observed to its verdict, and the expected-failure lists
 * (conformance/expected/<peer>.txt) that turn known failures into XFAIL. No I/O here except
 * tc_known_load. */
#ifndef TC_VERDICT_H
#define TC_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "case.h"
#include "ttrpc/err.h"

typedef enum tc_verdict {
    TC_V_PASS = 0,
    TC_V_FAIL,
    TC_V_NONSTRICT,
    TC_V_INFO,
    TC_V_UNSUPPORTED,
    TC_V_ERROR,
    TC_V_XFAIL,
    TC_V_XPASS,
    TC_V_COUNT
} tc_verdict;

/* What became of the peer process during the case. */
typedef enum tc_fate {
    TC_FATE_ALIVE = 0, /* answered the liveness probe */
    TC_FATE_DIED,      /* exited or was killed by a signal */
    TC_FATE_HUNG,      /* still running but not answering: killed and restarted */
    TC_FATE_GONE,      /* not answering, and not ours to restart (--target) */
} tc_fate;

typedef struct tc_verdict_input {
    tc_level level;
    bool pass;          /* the pass expectation matched */
    bool lenient;       /* the lenient expectation matched */
    tc_fate fate;
    bool harness_error; /* the harness could not play the case */
    bool unsupported;   /* the testee does not declare a feature the case needs */
    bool strict;        /* --strict: NON-STRICT counts as FAIL */
    bool known_failing; /* listed in --known-failing */
    bool known_flaky;   /* listed with a reason starting "flaky:": fails only sometimes */
} tc_verdict_input;

/* PASS: pass matched. NON-STRICT: lenient matched, or a SHOULD case matched neither. FAIL: a
 * MUST case matched neither, or the peer died or hung (whatever the level). INFO: the spec is
 * silent; what happened is recorded. A known-failing case that does not pass is XFAIL; one
 * that passes is XPASS (the list is stale: that fails the run), unless it is known to be
 * flaky (a race in the peer), where a pass stays PASS. */
tc_verdict tc_verdict_decide(const tc_verdict_input *in);

/* True when the verdict leaves the run successful (exit 0). */
bool tc_verdict_ok(tc_verdict v);
const char *tc_verdict_name(tc_verdict v); /* "PASS", "NON-STRICT", ... */
const char *tc_fate_name(tc_fate f);       /* "alive", "peer-died", "hang", "gone" */

/* An expected-failure list: lines "case-id  reason"; '#' starts a comment; blank lines are
 * skipped. A reason starting with "flaky:" marks a case the peer fails only sometimes. */
typedef struct tc_known_entry {
    char *id;
    char *reason;
} tc_known_entry;

typedef struct tc_known {
    tc_known_entry *entries;
    size_t n;
} tc_known;

/* Parses text (NUL-terminated). *bad_line is set to the first line that has an id but no
 * reason, or is left 0. Errors: TTRPC_E_NOMEM, TTRPC_E_INVAL (a line without a reason). */
TTRPC_MUST_USE ttrpc_err tc_known_parse(const char *text, tc_known *out, size_t *bad_line);
/* Reads and parses a file. Errors: TTRPC_E_IO, and those of tc_known_parse. */
TTRPC_MUST_USE ttrpc_err tc_known_load(const char *path, tc_known *out, size_t *bad_line);
/* The reason for id, or NULL when it is not listed. */
const char *tc_known_reason(const tc_known *k, const char *id);
/* True when reason marks a flaky failure. */
bool tc_known_is_flaky(const char *reason);
void tc_known_free(tc_known *k);

#endif
