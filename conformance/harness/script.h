/* Turning script ops into bytes. Well-formed frames and Requests come from the reference
 * codec (ttrpc_frame_encode, ttrpc_request_encode); malformed Request bodies are derived from
 * a well-formed one by a small protobuf writer, so every case still says what it means. */
#ifndef TC_SCRIPT_H
#define TC_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "case.h"
#include "ttrpc/err.h"

/* A growing byte buffer; zero-initialise it, free with tc_buf_free. */
typedef struct tc_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
} tc_buf;

/* Errors: TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err tc_buf_append(tc_buf *b, const void *data, size_t len);
TTRPC_MUST_USE ttrpc_err tc_buf_fill(tc_buf *b, uint8_t byte, size_t len);
/* printf into the buffer; the text stays NUL-terminated (the NUL is not counted in len). */
TTRPC_MUST_USE ttrpc_err tc_buf_printf(tc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tc_buf_free(tc_buf *b);
/* The text so far, NUL-terminated ("" for an empty buffer); owned by b. */
const char *tc_buf_str(tc_buf *b);

/* Protobuf pieces: a varint, a key, a length-delimited field. */
TTRPC_MUST_USE ttrpc_err tc_pb_varint(tc_buf *b, uint64_t v);
TTRPC_MUST_USE ttrpc_err tc_pb_bytes(tc_buf *b, uint32_t field, const void *data, size_t len);

/* The payload an op describes (count_index: the op's repetition, for count_step), into out.
 * Errors: TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err tc_payload_encode(const tc_op *op, uint32_t count_index, tc_buf *out);

/* The Request body (not framed) of a REQUEST op. Errors: TTRPC_E_NOMEM, TTRPC_E_INVAL (an op
 * whose pad_to cannot be reached). */
TTRPC_MUST_USE ttrpc_err tc_request_body(const tc_op *op, uint32_t count_index, tc_buf *out);

/* Appends every byte a sending op (REQUEST, DATA, FRAME, HEADER, ZEROS) puts on the wire.
 * Errors: TTRPC_E_INVAL (not a sending op, a body above the frame limit), TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err tc_op_encode(const tc_op *op, tc_buf *out);

/* The interop Echo Request for id with text (the probes use it). */
TTRPC_MUST_USE ttrpc_err tc_echo_frame(uint32_t id, const char *text, tc_buf *out);

#endif
