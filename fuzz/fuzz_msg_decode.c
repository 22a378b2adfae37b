/* fuzz/fuzz_msg_decode.c. Targets: ttrpc_{request,response,status,string_list}_decode and
 * their encoders, over protobuf-c with the byte-budgeted arena.
 * Byte 0 picks the message and the budget:
 *   bits 0-1  Request, Response, Status, StringList
 *   bit 2     a small budget: 32 + (bits 3-7) * 64 bytes instead of TTRPC_MSG_DEFAULT_BUDGET;
 *             with bit 2 clear, bits 3-7 = n > 0 make the n-th call to the allocator fail
 * The rest is the encoded message. Oracles, each an abort():
 *   - the arena's `used` exceeds its budget, or is not 0 after a failed decode or a reset;
 *   - a refused allocation gives anything but TTRPC_E_NOMEM, or leaves memory behind;
 *   - a decoded string field (service, method, metadata, Status.message, Any.type_url, list
 *     items) is not valid UTF-8 (notes 1.4);
 *   - encoding a decoded message fails, overruns a buffer of exactly encoded_size bytes (ASan),
 *     reports another size, or fits one byte less;
 *   - decoding that encoding fails or gives different fields (has_payload and has_status
 *     included), or encoding it again gives other bytes (the canonical form is a fixed point);
 *   - the heap bytes behind the arena are not all returned. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "ttrpc/msg.h"

enum { KIND_REQUEST, KIND_RESPONSE, KIND_STATUS, KIND_STRING_LIST };

typedef union any_msg {
    ttrpc_request request;
    ttrpc_response response;
    ttrpc_status status;
    ttrpc_string_list list;
} any_msg;

static bool bytes_same(ttrpc_bytes a, ttrpc_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static void check_utf8(ttrpc_bytes b, const char *what)
{
    FUZZ_CHECK(ttrpc_utf8_valid(b), "decoded %s is not UTF-8", what);
}

static void check_status_strings(const ttrpc_status *s)
{
    check_utf8(s->message, "Status.message");
    FUZZ_CHECK(s->n_details == 0 || s->details != NULL, "details NULL with %zu", s->n_details);
    for (size_t i = 0; i < s->n_details; i++) {
        check_utf8(s->details[i].type_url, "Any.type_url");
    }
}

static void check_strings(int kind, const any_msg *m)
{
    switch (kind) {
    case KIND_REQUEST:
        check_utf8(m->request.service, "Request.service");
        check_utf8(m->request.method, "Request.method");
        FUZZ_CHECK(m->request.n_metadata == 0 || m->request.metadata != NULL,
                   "metadata NULL with %zu entries", m->request.n_metadata);
        for (size_t i = 0; i < m->request.n_metadata; i++) {
            check_utf8(m->request.metadata[i].key, "KeyValue.key");
            check_utf8(m->request.metadata[i].value, "KeyValue.value");
        }
        break;
    case KIND_RESPONSE:
        if (m->response.has_status) {
            check_status_strings(&m->response.status);
        } else {
            FUZZ_CHECK(m->response.status.code == 0 && m->response.status.n_details == 0 &&
                           m->response.status.message.len == 0,
                       "status fields set without has_status");
        }
        break;
    case KIND_STATUS:
        check_status_strings(&m->status);
        break;
    default:
        FUZZ_CHECK(m->list.n_items == 0 || m->list.items != NULL, "items NULL");
        for (size_t i = 0; i < m->list.n_items; i++) {
            check_utf8(m->list.items[i], "StringList item");
        }
        break;
    }
}

static bool status_same(const ttrpc_status *a, const ttrpc_status *b)
{
    if (a->code != b->code || !bytes_same(a->message, b->message) ||
        a->n_details != b->n_details) {
        return false;
    }
    for (size_t i = 0; i < a->n_details; i++) {
        if (!bytes_same(a->details[i].type_url, b->details[i].type_url) ||
            !bytes_same(a->details[i].value, b->details[i].value)) {
            return false;
        }
    }
    return true;
}

static bool msg_same(int kind, const any_msg *a, const any_msg *b)
{
    switch (kind) {
    case KIND_REQUEST: {
        const ttrpc_request *x = &a->request;
        const ttrpc_request *y = &b->request;
        if (!bytes_same(x->service, y->service) || !bytes_same(x->method, y->method) ||
            x->has_payload != y->has_payload || !bytes_same(x->payload, y->payload) ||
            x->timeout_nano != y->timeout_nano || x->n_metadata != y->n_metadata) {
            return false;
        }
        for (size_t i = 0; i < x->n_metadata; i++) {
            if (!bytes_same(x->metadata[i].key, y->metadata[i].key) ||
                !bytes_same(x->metadata[i].value, y->metadata[i].value)) {
                return false;
            }
        }
        return true;
    }
    case KIND_RESPONSE:
        return a->response.has_status == b->response.has_status &&
               bytes_same(a->response.payload, b->response.payload) &&
               status_same(&a->response.status, &b->response.status);
    case KIND_STATUS:
        return status_same(&a->status, &b->status);
    default:
        if (a->list.n_items != b->list.n_items) {
            return false;
        }
        for (size_t i = 0; i < a->list.n_items; i++) {
            if (!bytes_same(a->list.items[i], b->list.items[i])) {
                return false;
            }
        }
        return true;
    }
}

static ttrpc_err decode(int kind, const uint8_t *in, size_t len, ttrpc_msg_arena *a,
                        any_msg *out)
{
    switch (kind) {
    case KIND_REQUEST:
        return ttrpc_request_decode(in, len, a, &out->request);
    case KIND_RESPONSE:
        return ttrpc_response_decode(in, len, a, &out->response);
    case KIND_STATUS:
        return ttrpc_status_decode(in, len, a, &out->status);
    default:
        return ttrpc_string_list_decode(in, len, a, &out->list);
    }
}

static ttrpc_err encoded_size(int kind, const any_msg *m, size_t *size)
{
    switch (kind) {
    case KIND_REQUEST:
        return ttrpc_request_encoded_size(&m->request, size);
    case KIND_RESPONSE:
        return ttrpc_response_encoded_size(&m->response, size);
    case KIND_STATUS:
        return ttrpc_status_encoded_size(&m->status, size);
    default:
        return ttrpc_string_list_encoded_size(&m->list, size);
    }
}

static ttrpc_err encode(int kind, const any_msg *m, uint8_t *out, size_t cap, size_t *written)
{
    switch (kind) {
    case KIND_REQUEST:
        return ttrpc_request_encode(&m->request, out, cap, written);
    case KIND_RESPONSE:
        return ttrpc_response_encode(&m->response, out, cap, written);
    case KIND_STATUS:
        return ttrpc_status_encode(&m->status, out, cap, written);
    default:
        return ttrpc_string_list_encode(&m->list, out, cap, written);
    }
}

/* Encodes into a heap buffer of exactly the announced size, so ASan sees any overrun. */
static uint8_t *encode_exact(int kind, const any_msg *m, size_t *len)
{
    size_t size = 0;
    ttrpc_err rc = encoded_size(kind, m, &size);
    FUZZ_CHECK(rc == TTRPC_OK, "encoded_size of a decoded message: %s", ttrpc_err_name(rc));
    uint8_t *buf = malloc(size == 0 ? 1 : size);
    FUZZ_CHECK(buf != NULL, "malloc %zu", size);
    size_t written = 0;
    rc = encode(kind, m, size == 0 ? NULL : buf, size, &written);
    FUZZ_CHECK(rc == TTRPC_OK && written == size, "encode: %s, %zu of %zu bytes",
               ttrpc_err_name(rc), written, size);
    if (size > 0) {
        size_t short_written = 777;
        rc = encode(kind, m, buf, size - 1, &short_written);
        FUZZ_CHECK(rc == TTRPC_E_NOSPACE && short_written == 777,
                   "encode into %zu of %zu bytes: %s", size - 1, size, ttrpc_err_name(rc));
        /* The refused call must not have written either: re-encode and compare below. */
        rc = encode(kind, m, buf, size, &written);
        FUZZ_CHECK(rc == TTRPC_OK && written == size, "second encode: %s", ttrpc_err_name(rc));
    }
    *len = size;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const int kind = data[0] & 3;
    const size_t budget =
        (data[0] & 4) != 0 ? 32 + (size_t)(data[0] >> 3) * 64 : TTRPC_MSG_DEFAULT_BUDGET;
    const uint8_t *in = data + 1;
    const size_t len = size - 1;

    fuzz_heap heap;
    ttrpc_allocator alloc = fuzz_heap_allocator(&heap);
    if ((data[0] & 4) == 0) {
        heap.fail_at = (size_t)(data[0] >> 3);
    }
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, &alloc, budget);

    any_msg first;
    memset(&first, 0, sizeof first);
    ttrpc_err rc = decode(kind, len == 0 ? NULL : in, len, &a, &first);
    FUZZ_CHECK(a.used <= a.budget, "arena used %zu over budget %zu", a.used, a.budget);
    FUZZ_CHECK(heap.live <= budget, "heap %zu over budget %zu", heap.live, budget);
    FUZZ_CHECK(heap.failed == 0 || rc == TTRPC_E_NOMEM, "a refused allocation gave %s",
               ttrpc_err_name(rc));
    if (rc != TTRPC_OK) {
        FUZZ_CHECK(rc == TTRPC_E_DECODE || rc == TTRPC_E_NOMEM, "decode: %s",
                   ttrpc_err_name(rc));
        FUZZ_CHECK(rc != TTRPC_E_NOMEM || budget < TTRPC_MSG_DEFAULT_BUDGET ||
                       heap.failed > 0 || len > budget / 128,
                   "NOMEM from a %zu-byte input under the default budget", len);
        FUZZ_CHECK(a.used == 0 && heap.live == 0, "failed decode left %zu bytes (heap %zu)",
                   a.used, heap.live);
        return 0;
    }
    check_strings(kind, &first);

    size_t enc1_len = 0;
    uint8_t *enc1 = encode_exact(kind, &first, &enc1_len);
    FUZZ_CHECK(a.used <= a.budget, "arena used %zu over budget after encode", a.used);

    /* The canonical form decodes under the default budget whatever the input's budget was. */
    fuzz_heap heap2;
    ttrpc_allocator alloc2 = fuzz_heap_allocator(&heap2);
    ttrpc_msg_arena a2;
    ttrpc_msg_arena_init(&a2, &alloc2, TTRPC_MSG_DEFAULT_BUDGET);
    any_msg second;
    memset(&second, 0, sizeof second);
    rc = decode(kind, enc1_len == 0 ? NULL : enc1, enc1_len, &a2, &second);
    FUZZ_CHECK(rc == TTRPC_OK, "re-decoding our own encoding: %s", ttrpc_err_name(rc));
    FUZZ_CHECK(msg_same(kind, &first, &second), "round trip changed a field (kind %d)", kind);

    size_t enc2_len = 0;
    uint8_t *enc2 = encode_exact(kind, &second, &enc2_len);
    FUZZ_CHECK(enc1_len == enc2_len && (enc1_len == 0 || memcmp(enc1, enc2, enc1_len) == 0),
               "canonical encoding is not a fixed point (%zu vs %zu bytes)", enc1_len,
               enc2_len);
    free(enc1);
    free(enc2);
    ttrpc_msg_arena_reset(&a2);
    ttrpc_msg_arena_reset(&a);
    FUZZ_CHECK(a.used == 0 && a2.used == 0, "reset left %zu / %zu", a.used, a2.used);
    FUZZ_CHECK(heap.live == 0 && heap2.live == 0, "heap left %zu / %zu", heap.live,
               heap2.live);
    return 0;
}
