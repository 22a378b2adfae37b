/* A conformance case is data: an id, the clause it checks, a level, the role under test, a
 * script of things the harness sends, and two expectations over what comes back. The runner
 * (runner.c) plays the script on a fresh connection and the verdict (verdict.c) compares.
 *
 * Expectations are predicate trees. Leaves look at the frames received per stream id and at
 * the connection's fate; TC_ALL / TC_ANY combine them. Status codes are compared, never
 * message strings (notes 3.9). */
#ifndef TC_CASE_H
#define TC_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttrpc/frame.h"

typedef enum tc_level {
    TC_MUST = 0, /* PROTOCOL.md requires it: neither expectation matched is FAIL */
    TC_SHOULD,   /* recommended: neither matched is NON-STRICT (FAIL under --strict) */
    TC_INFO,     /* the spec is silent: record what the peer did */
} tc_level;

typedef enum tc_role {
    TC_SERVER = 0, /* the testee serves; the harness is the client */
    TC_CLIENT,     /* the testee calls; the harness serves (not in this slice) */
} tc_role;

/* Features a testee may lack (--without); a case needing one is UNSUPPORTED there. */
enum {
    TC_NEED_STREAMING = 1u << 0,
};

/* ---- the script ---- */

typedef enum tc_op_kind {
    TC_OP_END = 0,
    TC_OP_REQUEST,   /* a Request frame; body built with our encoder (plus a mutation) */
    TC_OP_DATA,      /* a Data frame; body from the payload spec */
    TC_OP_FRAME,     /* any type and flags; body from the payload spec; length computed */
    TC_OP_HEADER,    /* a bare header with any length field; .cut sends only its first bytes */
    TC_OP_ZEROS,     /* .count zero bytes */
    TC_OP_PAUSE,     /* flush what is queued, then wait .ms while reading */
    TC_OP_AWAIT,     /* flush, then wait until .id has .count terminal frames (default 1) */
    TC_OP_AWAIT_DATA,/* flush, then wait until .id has .count message-bearing Data frames */
    TC_OP_NOREAD,    /* stop reading the socket (until TC_OP_READ or a write stall) */
    TC_OP_READ,      /* read again */
    TC_OP_CLOSE,     /* flush, then close the connection: nothing more is observed */
} tc_op_kind;

typedef enum tc_payload_kind {
    TC_PL_NONE = 0, /* no payload: the Request's field 3 is absent, a frame body is empty */
    TC_PL_BYTES,    /* ttrpc.conformance.v1.Bytes{value = .text} (Echo, BidiStream) */
    TC_PL_COUNT,    /* ttrpc.conformance.v1.Count{value = .count} (Sleep, streams) */
    TC_PL_STATUS,   /* google.rpc.Status{code = .count} (Fail) */
    TC_PL_RAW,      /* .raw / .raw_len as given */
    TC_PL_EMPTY,    /* present but zero bytes (Request: field 3 on the wire, length 0) */
} tc_payload_kind;

/* How the encoded Request body is altered before framing: malformed messages are produced
 * from a well-formed one, so the case still says what it means. */
typedef enum tc_mutation {
    TC_MUT_NONE = 0,
    TC_MUT_APPEND,          /* .raw appended after the encoded Request (unknown fields) */
    TC_MUT_REPLACE,         /* the body is .raw alone (undecodable bodies) */
    TC_MUT_REVERSED,        /* fields in descending order */
    TC_MUT_SERVICE_TWICE,   /* service "wrong.Service" first, then the real one: last wins */
    TC_MUT_BAD_UTF8_SERVICE,/* the service string gets a lone 0xff byte appended */
    TC_MUT_BAD_UTF8_METHOD,
    TC_MUT_BAD_UTF8_MD_KEY, /* one metadata entry whose key is "k\xff" */
} tc_mutation;

typedef struct tc_kv {
    const char *key;
    const char *value;
} tc_kv;

typedef struct tc_op {
    tc_op_kind kind;
    uint32_t id;
    uint8_t type;   /* FRAME, HEADER */
    uint8_t flags;
    uint32_t length; /* HEADER: the length field as sent */
    uint32_t cut;    /* HEADER: send only this many header bytes (0: all 10) */
    /* REQUEST */
    const char *service; /* NULL: the interop service */
    const char *method;
    int64_t timeout_nano;
    const tc_kv *md;
    size_t n_md;
    uint32_t md_count;     /* extra generated entries "k<i>" = value of md_value_len 'v's */
    uint32_t md_value_len;
    tc_mutation mutation;
    uint32_t pad_to;       /* REQUEST with TC_PL_BYTES: grow the text so the frame's data
                            * length is exactly this */
    /* payload (REQUEST, DATA, FRAME) */
    tc_payload_kind payload;
    const char *text;
    uint64_t count; /* COUNT, STATUS; ZEROS: how many bytes; AWAIT: frames to wait for */
    uint32_t text_len; /* BYTES: a text of this many 'x' instead of .text */
    const uint8_t *raw;
    size_t raw_len;
    /* sending */
    uint32_t repeat;   /* REQUEST: this many, ids .id, .id+2, ... (0 means 1) */
    int32_t count_step;/* REQUEST with repeat: the i-th gets count + i * count_step */
    uint32_t chunk;    /* write this op in chunks of this many bytes, .ms apart */
    uint32_t ms;       /* PAUSE; gap between chunks */
} tc_op;

#define TC_MAX_OPS 12

/* ---- expectations ---- */

typedef enum tc_pred_kind {
    TC_P_TRUE = 0,     /* an empty expectation: never used as a match unless set */
    TC_P_RESP_CODE,    /* the nth Response on id has status code .code (no status: 0) */
    TC_P_RESP_OK,      /* ... code 0; with .text or .has_count, the payload matches too */
    TC_P_RESP_ERROR,   /* ... any non-zero code */
    TC_P_RESP_ANY,     /* ... any Response */
    TC_P_DATA_COUNT,   /* id ended normally (Data RC or an OK Response) after exactly .n
                        * message-bearing Data frames */
    TC_P_NOTHING_ON,   /* nothing came on id, and the follow-up probe Echo was answered */
    TC_P_CLOSED,       /* the peer closed the connection */
    TC_P_ALIVE,        /* the peer answered the liveness probe on a new connection */
    TC_P_OK_N,         /* .n ids from .id in steps of 2 all got an OK Response */
    TC_P_ALL,
    TC_P_ANY,
} tc_pred_kind;

typedef struct tc_pred tc_pred;
struct tc_pred {
    tc_pred_kind kind;
    uint32_t id;
    uint32_t nth; /* RESP_*: which Response on the id, 0 for the first */
    int32_t code;
    uint32_t n;
    const char *text; /* RESP_OK: the Bytes value expected back */
    uint32_t text_len;/* RESP_OK: a payload Bytes value of this many bytes (any content) */
    bool has_count;   /* RESP_OK: the payload is Count{value = count} */
    uint64_t count;
    const tc_pred *sub; /* ALL, ANY */
    size_t n_sub;
};

typedef struct tc_case {
    const char *id;     /* area/subject/condition, stable */
    const char *clause; /* our words, then the PROTOCOL.md section */
    tc_level level;
    tc_role testee;
    const char *desc;
    tc_op script[TC_MAX_OPS];
    tc_pred pass;
    tc_pred lenient; /* TC_P_TRUE with no sub: none */
    bool has_lenient;
    uint32_t timeout_ms; /* 0: TC_DEFAULT_TIMEOUT_MS */
    unsigned needs;      /* TC_NEED_* */
} tc_case;

#define TC_DEFAULT_TIMEOUT_MS 2000u
#define TC_SERVICE "ttrpc.conformance.v1.Echo"

/* ---- script macros ---- */
#define TC_END {.kind = TC_OP_END}
#define TC_ECHO(i, t) \
    {.kind = TC_OP_REQUEST, .id = (i), .method = "Echo", .payload = TC_PL_BYTES, .text = (t)}
#define TC_CALL(i, m, ...) {.kind = TC_OP_REQUEST, .id = (i), .method = (m), __VA_ARGS__}
#define TC_SLEEP(i, msec) \
    {.kind = TC_OP_REQUEST, .id = (i), .method = "Sleep", .payload = TC_PL_COUNT, .count = (msec)}
#define TC_DATA(i, f, ...) {.kind = TC_OP_DATA, .id = (i), .flags = (f), __VA_ARGS__}
#define TC_CLOSE_SEND(i) \
    {.kind = TC_OP_DATA, .id = (i), .flags = TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA}
#define TC_FRAME(i, t, f, ...) \
    {.kind = TC_OP_FRAME, .id = (i), .type = (t), .flags = (f), __VA_ARGS__}
#define TC_HEADER(i, t, len, ...) \
    {.kind = TC_OP_HEADER, .id = (i), .type = (t), .length = (len), __VA_ARGS__}
#define TC_ZEROS(n) {.kind = TC_OP_ZEROS, .count = (n)}
#define TC_PAUSE(msec) {.kind = TC_OP_PAUSE, .ms = (msec)}
#define TC_AWAIT(i) {.kind = TC_OP_AWAIT, .id = (i), .count = 1}
#define TC_AWAIT_N(i, n) {.kind = TC_OP_AWAIT, .id = (i), .count = (n)}
#define TC_AWAIT_DATA(i, n) {.kind = TC_OP_AWAIT_DATA, .id = (i), .count = (n)}
#define TC_NOREAD {.kind = TC_OP_NOREAD}
#define TC_READ {.kind = TC_OP_READ}
#define TC_CLOSE {.kind = TC_OP_CLOSE}

/* ---- expectation macros ---- */
#define TC_RESP_CODE(i, c) {.kind = TC_P_RESP_CODE, .id = (i), .code = (c)}
#define TC_RESP_CODE_NTH(i, k, c) {.kind = TC_P_RESP_CODE, .id = (i), .nth = (k), .code = (c)}
#define TC_RESP_OK(i) {.kind = TC_P_RESP_OK, .id = (i)}
#define TC_RESP_OK_NTH(i, k) {.kind = TC_P_RESP_OK, .id = (i), .nth = (k)}
#define TC_RESP_TEXT(i, t) {.kind = TC_P_RESP_OK, .id = (i), .text = (t)}
#define TC_RESP_TEXT_LEN(i, n) {.kind = TC_P_RESP_OK, .id = (i), .text_len = (n)}
#define TC_RESP_COUNT(i, v) {.kind = TC_P_RESP_OK, .id = (i), .has_count = true, .count = (v)}
#define TC_RESP_ERROR(i) {.kind = TC_P_RESP_ERROR, .id = (i)}
#define TC_RESP_ERROR_NTH(i, k) {.kind = TC_P_RESP_ERROR, .id = (i), .nth = (k)}
#define TC_RESP_ANY(i) {.kind = TC_P_RESP_ANY, .id = (i)}
#define TC_RESP_ANY_NTH(i, k) {.kind = TC_P_RESP_ANY, .id = (i), .nth = (k)}
#define TC_DATA_COUNT(i, k) {.kind = TC_P_DATA_COUNT, .id = (i), .n = (k)}
#define TC_NOTHING_ON(i) {.kind = TC_P_NOTHING_ON, .id = (i)}
#define TC_CLOSED {.kind = TC_P_CLOSED}
#define TC_ALIVE {.kind = TC_P_ALIVE}
#define TC_OK_N(first, k) {.kind = TC_P_OK_N, .id = (first), .n = (k)}
#define TC_PREDS_(...) ((const tc_pred[]){__VA_ARGS__})
#define TC_NPREDS_(...) (sizeof TC_PREDS_(__VA_ARGS__) / sizeof(tc_pred))
#define TC_ALL(...) \
    {.kind = TC_P_ALL, .sub = TC_PREDS_(__VA_ARGS__), .n_sub = TC_NPREDS_(__VA_ARGS__)}
#define TC_ANY(...) \
    {.kind = TC_P_ANY, .sub = TC_PREDS_(__VA_ARGS__), .n_sub = TC_NPREDS_(__VA_ARGS__)}
#define TC_LENIENT(...) .has_lenient = true, .lenient = TC_ANY(__VA_ARGS__)

/* ---- the registry (cases.c) ---- */

/* Every case of every table, in a stable order (area tables in a fixed order). */
const tc_case *const *tc_cases_all(size_t *n);
/* Looks a case up by id; NULL when unknown. */
const tc_case *tc_case_find(const char *id);

/* The tables, one per PROTOCOL.md section (cases_*.c). */
extern const tc_case tc_cases_frame[];
extern const size_t tc_cases_frame_count;
extern const tc_case tc_cases_types[];
extern const size_t tc_cases_types_count;
extern const tc_case tc_cases_ids[];
extern const size_t tc_cases_ids_count;
extern const tc_case tc_cases_request[];
extern const size_t tc_cases_request_count;
extern const tc_case tc_cases_streaming[];
extern const size_t tc_cases_streaming_count;
extern const tc_case tc_cases_impl[];
extern const size_t tc_cases_impl_count;

/* True when id has the form area/subject/condition: three or more non-empty parts of
 * [a-z0-9._-] separated by '/'. */
bool tc_case_id_valid(const char *id);

/* Selection: a pattern matches an id when it is a glob (fnmatch) matching the whole id, or a
 * prefix of it that ends at a '/' (so "frame" and "frame/length" select groups). */
bool tc_pattern_match(const char *pattern, const char *id);
/* True when the id is selected: no run patterns or one matches, and no skip pattern does. */
bool tc_selected(const char *id, const char *const *run, size_t n_run, const char *const *skip,
                 size_t n_skip);

const char *tc_level_name(tc_level l);
const char *tc_role_name(tc_role r);

/* The probe id a case uses when its expectations need one (NOTHING_ON): the next odd id above
 * every id the script uses below 0xFFFFFFF0 (servers may require increasing ids); 0 when the
 * case needs no probe. */
uint32_t tc_case_probe_id(const tc_case *c);
bool tc_pred_uses(const tc_pred *p, tc_pred_kind kind);

#endif
