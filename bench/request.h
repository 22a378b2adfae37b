/* The Echo call the load generator repeats: ttrpc.conformance.v1.Echo/Echo with a Bytes
 * message (wire-identical to google.protobuf.BytesValue) of a chosen size, built once with our
 * msg encoder and then sent again and again under a fresh frame header. */
#ifndef BENCH_REQUEST_H
#define BENCH_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "ttrpc/err.h"

#define BENCH_SERVICE "ttrpc.conformance.v1.Echo"
#define BENCH_METHOD "Echo"

typedef struct bench_request {
    uint8_t *bytes_msg; /* owned: the encoded Bytes{value}, the payload the server echoes */
    size_t bytes_len;
    uint8_t *data; /* owned: the encoded ttrpc Request, the frame's data */
    size_t data_len;
} bench_request;

/* Builds the Request for a value of value_len bytes (a repeating pattern, so corruption
 * shows). Errors: TTRPC_E_TOO_LARGE (the Request would not fit one frame), TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err bench_request_build(size_t value_len, bench_request *out);
void bench_request_free(bench_request *r);

/* The largest value whose Request still fits a frame's 4 MiB of data. */
size_t bench_request_max_value(void);

#endif
