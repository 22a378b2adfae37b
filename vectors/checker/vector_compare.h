/* Shared by vectors/checker/vector_check.c and vectors/runner/vector_runner.c: golden vector
 * bytes and fields read from cJSON, and every comparison between a result and a vector's
 * expectation (format in vectors/README.md). No I/O except vc_read_file. */
#ifndef VECTOR_COMPARE_H
#define VECTOR_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

/* A growing byte buffer; zero-initialise it, free with vc_buf_free. */
typedef struct vc_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} vc_buf;

void vc_buf_free(vc_buf *b);
bool vc_buf_reserve(vc_buf *b, size_t more); /* false: out of memory or overflow */
bool vc_buf_append(vc_buf *b, const uint8_t *p, size_t n);

/* The reason a vector failed; the first one set wins. harness: the vector itself (or the
 * checker) is at fault, not the implementation. */
typedef struct vc_verdict {
    bool failed;
    bool harness;
    char why[512];
} vc_verdict;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void vc_fail(vc_verdict *v, const char *fmt, ...);

int vc_hexval(char c);                          /* -1 when c is not a hex digit */
bool vc_hex_append(vc_buf *b, const char *hex); /* false: odd length, not hex, no memory */

/* JSON fields: a whole number in [lo, hi], a u32, a u8, a string (NULL when absent). */
bool vc_json_int(const cJSON *item, double lo, double hi, int64_t *out);
bool vc_json_u32(const cJSON *obj, const char *name, uint32_t *out);
bool vc_json_u8(const cJSON *obj, const char *name, uint8_t *out);
const char *vc_json_str(const cJSON *obj, const char *name);

/* Bytes as the format writes them: a hex string, or an array of segments {"hex": "..."} and
 * {"repeat": {"byte": "00", "count": N}}, appended to out. */
bool vc_bytes_from_json(const cJSON *spec, vc_buf *out);
bool vc_bytes_equal(ttrpc_bytes got, const vc_buf *want);
bool vc_str_equal(ttrpc_bytes got, const char *want); /* false when want is NULL */

/* Each compares got with the vector's JSON and calls vc_fail on the first difference. */
void vc_compare_bytes_field(vc_verdict *v, const char *what, ttrpc_bytes got,
                            const cJSON *spec);
void vc_compare_request(vc_verdict *v, const ttrpc_request *r, const cJSON *want);
void vc_compare_response(vc_verdict *v, const ttrpc_response *r, const cJSON *want);

/* One message decoded by some implementation. error: NULL when it decoded (then req or resp
 * holds it), else the error class ("decode-error", or whatever else came out). */
typedef struct vc_message {
    bool is_request;
    const char *error;
    ttrpc_request req;
    ttrpc_response resp;
} vc_message;

/* Against {"value": ...} or {"error": "decode-error"}. Re-encoding is the caller's part. */
void vc_compare_message(vc_verdict *v, const vc_message *got, const cJSON *expect);

/* What a frame decoder yielded for one input. */
typedef struct vc_got_frame {
    bool too_large;
    ttrpc_frame_header hdr;
    vc_buf data;
} vc_got_frame;

typedef struct vc_decode_run {
    vc_got_frame *frames;
    size_t n;
    bool at_boundary;
    ttrpc_err fatal;         /* TTRPC_OK unless the decoder failed outright */
    const char *fatal_class; /* how to name that failure; NULL: ttrpc_err_name(fatal) */
} vc_decode_run;

void vc_decode_run_free(vc_decode_run *r);

/* Checks frame i's data read as message `as` against `dec` ({"as", "value"|"error"}). */
typedef void vc_frame_message_fn(vc_verdict *v, const char *as, size_t i,
                                 const vc_got_frame *g, const cJSON *dec, void *ctx);

/* Against a decode vector's expect ({"frames", "end"}); how ("fed whole") prefixes reasons.
 * check_message is called for every expected frame that has a "decode". */
void vc_compare_frames(vc_verdict *v, const vc_decode_run *r, const cJSON *expect,
                       const char *how, vc_frame_message_fn *check_message, void *ctx);

/* Feeds in[0, len) to our frame decoder (4 MiB limit) in pieces of at most chunk bytes,
 * pulling every frame as soon as it is ready. Free r with vc_decode_run_free. */
void vc_decode_all(const uint8_t *in, size_t len, size_t chunk, vc_decode_run *r);

/* A status_code expectation: one integer or a list of them. */
bool vc_code_matches(const cJSON *want, int32_t code);

/* What a sequence step wrote (out[0, len), whole frames) against its "emit" list. */
void vc_compare_emitted(vc_verdict *v, const uint8_t *out, size_t len, const cJSON *emit,
                        size_t step);

/* One thing the implementation handed its application during a step. */
typedef enum vc_delivered_kind {
    VC_DELIVERED_REQUEST,
    VC_DELIVERED_DATA,
    VC_DELIVERED_RESPONSE,
} vc_delivered_kind;

typedef struct vc_delivery {
    vc_delivered_kind kind;
    ttrpc_bytes service; /* request */
    ttrpc_bytes method;
    bool first_message;
    ttrpc_bytes data; /* data */
    bool last;
    int32_t status_code; /* response: 0 when the status is absent */
    ttrpc_bytes payload;
} vc_delivery;

/* Against the step's "delivered" object; nothing to compare when want is NULL. */
void vc_compare_delivered(vc_verdict *v, const vc_delivery *got, const cJSON *want,
                          size_t step);

/* The whole file, NUL-terminated (malloc'd; *len excludes the NUL), or NULL with errno. */
char *vc_read_file(const char *path, size_t *len);

#endif
