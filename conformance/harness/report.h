/* Run reports: JSON (with a "schema_version"), JUnit XML and a markdown summary, written
 * into one directory as NAME.json, NAME.xml and NAME.md.
 *
 * JSON, schema_version 1; fields are only ever added. Each case carries "wire_log" (the text
 * log, non-PASS cases only) and "wire_trace" (every case): {"entries": [...],
 * "entries_dropped": N, "pool_exhausted": B}, entries in time order, each either a frame
 *   {"t_ms", "dir": "sent"|"received" (the harness's view), "length", "stream_id", "type",
 *    "flags", "header_hex", "payload_length", "payload_hex", "payload_truncated", "decoded",
 *    and "header_only" / "oversize" when true}
 * or bytes that are not a frame (no header fields), or an event
 *   {"t_ms", "event": "connect"|"close"|"peer-closed"|"deadline"|"peer-exit"|..., "detail"}.
 * Payloads are whole up to 4096 bytes, else their first 64 (wirelog.h has the limits). */
#ifndef TC_REPORT_H
#define TC_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "case.h"
#include "runner.h"
#include "verdict.h"

#define TC_REPORT_SCHEMA_VERSION 1

typedef struct tc_result {
    const tc_case *c;
    tc_verdict verdict;
    tc_fate fate;
    tc_case_run run;          /* observations and wire log */
    char *expected;           /* the pass expectation, rendered */
    char *lenient;            /* the lenient one, or NULL */
    char *actual;             /* what arrived, rendered */
    const char *known_reason; /* from --known-failing, or NULL */
    char peer_end[128];       /* when the peer died or hung: how it ended */
    char *peer_stderr;        /* ... and the tail of its stderr */
} tc_result;

typedef struct tc_report {
    const char *name;    /* --name: the peer's label, used for file names */
    const char *peer;    /* the command or target */
    const char *started; /* UTC, ISO 8601 */
    const char *replay;  /* the command prefix that replays one case */
    int strict;
    double timeout_scale;
    const tc_result *results;
    size_t n;
    unsigned counts[TC_V_COUNT];
    uint64_t elapsed_ms;
    unsigned peer_restarts;
} tc_report;

/* Escaped text: JSON string contents (quotes not included) and XML character data. Bytes
 * that are not printable ASCII become \u00XX / &#xXX; escapes so the output stays valid. */
TTRPC_MUST_USE ttrpc_err tc_json_escape(tc_buf *out, const char *s);
TTRPC_MUST_USE ttrpc_err tc_xml_escape(tc_buf *out, const char *s);

/* The three documents, into buffers (for tests) or files in dir (created if missing).
 * Errors: TTRPC_E_NOMEM, TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err tc_report_json(const tc_report *r, tc_buf *out);
TTRPC_MUST_USE ttrpc_err tc_report_junit(const tc_report *r, tc_buf *out);
TTRPC_MUST_USE ttrpc_err tc_report_markdown(const tc_report *r, tc_buf *out);
TTRPC_MUST_USE ttrpc_err tc_report_write(const tc_report *r, const char *dir);

#endif
