#include "request.h"

#include <stdlib.h>

#include "echo.pb-c.h"
#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

/* Size of the Request around a Bytes message of bytes_len bytes, without building it. */
static ttrpc_err request_size(const uint8_t *bytes_msg, size_t bytes_len, size_t *size)
{
    ttrpc_request req = {
        .service = ttrpc_bytes_of(BENCH_SERVICE),
        .method = ttrpc_bytes_of(BENCH_METHOD),
        .has_payload = true,
        .payload = {bytes_msg, bytes_len},
    };
    return ttrpc_request_encoded_size(&req, size);
}

ttrpc_err bench_request_build(size_t value_len, bench_request *out)
{
    uint8_t *value = malloc(value_len ? value_len : 1);
    if (value == NULL) {
        return TTRPC_E_NOMEM;
    }
    for (size_t i = 0; i < value_len; i++) {
        value[i] = (uint8_t)(i * 131u + 7u);
    }
    /* has_value even for an empty value: the message is then `0a 00`, as a Go BytesValue
     * with an empty slice is not (it encodes to nothing); either is a valid Echo input. */
    Ttrpc__Conformance__V1__Bytes msg = TTRPC__CONFORMANCE__V1__BYTES__INIT;
    msg.has_value = 1;
    msg.value.data = value;
    msg.value.len = value_len;
    size_t bytes_len = ttrpc__conformance__v1__bytes__get_packed_size(&msg);
    uint8_t *bytes_msg = malloc(bytes_len);
    if (bytes_msg == NULL) {
        free(value);
        return TTRPC_E_NOMEM;
    }
    ttrpc__conformance__v1__bytes__pack(&msg, bytes_msg);
    free(value);

    size_t data_len = 0;
    ttrpc_err rc = request_size(bytes_msg, bytes_len, &data_len);
    if (rc == TTRPC_OK && data_len > TTRPC_FRAME_MAX_DATA) {
        rc = TTRPC_E_TOO_LARGE;
    }
    uint8_t *data = rc == TTRPC_OK ? malloc(data_len) : NULL;
    if (rc == TTRPC_OK && data == NULL) {
        rc = TTRPC_E_NOMEM;
    }
    if (rc == TTRPC_OK) {
        ttrpc_request req = {
            .service = ttrpc_bytes_of(BENCH_SERVICE),
            .method = ttrpc_bytes_of(BENCH_METHOD),
            .has_payload = true,
            .payload = {bytes_msg, bytes_len},
        };
        rc = ttrpc_request_encode(&req, data, data_len, &data_len);
    }
    if (rc != TTRPC_OK) {
        free(data);
        free(bytes_msg);
        return rc;
    }
    *out = (bench_request){bytes_msg, bytes_len, data, data_len};
    return TTRPC_OK;
}

void bench_request_free(bench_request *r)
{
    free(r->bytes_msg);
    free(r->data);
    *r = (bench_request){0};
}

static size_t varint_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t bench_request_max_value(void)
{
    /* Sizes only: get_packed_size never reads the bytes, so one dummy byte stands in for them.
     * The overhead is a few dozen bytes, so the search from just below the limit is short. */
    static const uint8_t dummy = 0;
    size_t best = 0;
    for (size_t value_len = TTRPC_FRAME_MAX_DATA - 256; value_len <= TTRPC_FRAME_MAX_DATA;
         value_len++) {
        size_t bytes_len = 1 + varint_len(value_len) + value_len;
        size_t size = 0;
        if (request_size(&dummy, bytes_len, &size) == TTRPC_OK && size <= TTRPC_FRAME_MAX_DATA) {
            best = value_len;
        }
    }
    return best;
}
