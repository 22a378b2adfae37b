/* The ttrpc payload messages over protobuf-c (notes 1.4). protobuf-c does every byte of wire
 * work; this file adds what it lacks: a byte budget on decode, UTF-8 checks on the string
 * fields (declared as bytes in impl/proto so their lengths survive), and canonical proto3
 * presence on encode. */
#include "ttrpc/msg.h"

#include <assert.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "status.pb-c.h"
#include "ttrpc.pb-c.h"

ttrpc_bytes ttrpc_bytes_of(const char *s)
{
    ttrpc_bytes b = {NULL, 0};
    if (s != NULL) {
        b.data = (const uint8_t *)s;
        b.len = strlen(s);
    }
    return b;
}

bool ttrpc_bytes_equal_str(ttrpc_bytes b, const char *s)
{
    ttrpc_bytes other = ttrpc_bytes_of(s);
    if (b.len != other.len) {
        return false;
    }
    if (b.len == 0) {
        return true;
    }
    /* A malformed ttrpc_bytes (NULL with a length) equals nothing rather than faulting. */
    return b.data != NULL && memcmp(b.data, other.data, b.len) == 0;
}

const char *ttrpc_code_name(int32_t code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0]) {
        return NULL;
    }
    return names[code];
}

bool ttrpc_utf8_valid(ttrpc_bytes b)
{
    if (b.data == NULL) {
        return b.len == 0;
    }
    const uint8_t *p = b.data;
    size_t left = b.len;
    while (left > 0) {
        uint8_t lead = p[0];
        if (lead < 0x80) {
            p++;
            left--;
            continue;
        }
        /* Unicode 15.0, table 3-7 (well-formed byte sequences). Narrowing the second byte's
         * range is what rejects overlongs (after E0, F0), surrogates D800-DFFF (after ED) and
         * code points above U+10FFFF (after F4); C0, C1 and F5-FF can only start overlongs or
         * out-of-range code points, and 80-BF cannot start anything. */
        size_t need;
        uint8_t second_min = 0x80;
        uint8_t second_max = 0xbf;
        if (lead >= 0xc2 && lead <= 0xdf) {
            need = 2;
        } else if (lead == 0xe0) {
            need = 3;
            second_min = 0xa0;
        } else if (lead == 0xed) {
            need = 3;
            second_max = 0x9f;
        } else if (lead >= 0xe1 && lead <= 0xef) {
            need = 3;
        } else if (lead == 0xf0) {
            need = 4;
            second_min = 0x90;
        } else if (lead >= 0xf1 && lead <= 0xf3) {
            need = 4;
        } else if (lead == 0xf4) {
            need = 4;
            second_max = 0x8f;
        } else {
            return false;
        }
        if (need > left) {
            return false;
        }
        if (p[1] < second_min || p[1] > second_max) {
            return false;
        }
        for (size_t i = 2; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return false;
            }
        }
        p += need;
        left -= need;
    }
    return true;
}

/* protobuf caps a message at 2 GiB, and protobuf-c keeps field lengths in 32-bit variables:
 * refusing anything larger up front, in both directions, keeps its arithmetic exact. */
#define MSG_MAX_SIZE ((size_t)INT32_MAX)

/* ---- Decoding: protobuf-c unpack inside a byte budget ---- */

/* protobuf-c's free passes no size but ttrpc_allocator wants one, so every block protobuf-c
 * gets starts with its size, padded so that what follows keeps malloc's alignment. (A union
 * with max_align_t would do too, but glibc's is 32 bytes: alignas costs 16 per block.) */
typedef struct msg_block_header {
    alignas(max_align_t) size_t size;
} msg_block_header;

typedef struct msg_unpack_ctx {
    ttrpc_msg_arena *arena;
    /* unpack returns NULL both for bad input and for a failed allocation; this tells them
     * apart, so a budget refusal is reported as TTRPC_E_NOMEM and not as a bad message. */
    bool refused;
} msg_unpack_ctx;

static bool arena_charge(ttrpc_msg_arena *a, size_t size)
{
    assert(a->used <= a->budget);
    if (size > a->budget - a->used) {
        return false;
    }
    a->used += size;
    return true;
}

static void arena_refund(ttrpc_msg_arena *a, size_t size)
{
    assert(size <= a->used);
    a->used -= size;
}

static void *msg_pb_alloc(void *data, size_t size)
{
    msg_unpack_ctx *ctx = data;
    ttrpc_msg_arena *a = ctx->arena;
    if (size > SIZE_MAX - sizeof(msg_block_header)) {
        ctx->refused = true;
        return NULL;
    }
    size_t total = sizeof(msg_block_header) + size;
    /* The spare is charged whole: a small message cannot borrow a 4 MiB block beyond its
     * budget, it takes a fresh one instead. */
    if (a->spare != NULL && total >= TTRPC_MSG_SPARE_MIN && a->spare_size >= total &&
        arena_charge(a, a->spare_size)) {
        msg_block_header *block = a->spare;
        block->size = a->spare_size;
        a->spare = NULL;
        a->spare_size = 0;
        return block + 1;
    }
    if (!arena_charge(a, total)) {
        ctx->refused = true;
        return NULL;
    }
    msg_block_header *block = ttrpc_alloc_resize(a->alloc, NULL, 0, total);
    if (block == NULL) {
        arena_refund(a, total);
        ctx->refused = true;
        return NULL;
    }
    block->size = total;
    return block + 1;
}

static void msg_pb_free(void *data, void *ptr)
{
    msg_unpack_ctx *ctx = data;
    if (ptr == NULL) {
        return;
    }
    ttrpc_msg_arena *a = ctx->arena;
    msg_block_header *block = (msg_block_header *)ptr - 1;
    size_t total = block->size;
    arena_refund(a, total);
    if (a->keep_spare && total >= TTRPC_MSG_SPARE_MIN && total > a->spare_size) {
        ttrpc_alloc_free(a->alloc, a->spare, a->spare_size);
        a->spare = block;
        a->spare_size = total;
        return;
    }
    ttrpc_alloc_free(a->alloc, block, total);
}

void ttrpc_msg_arena_init(ttrpc_msg_arena *a, const ttrpc_allocator *alloc, size_t budget)
{
    a->alloc = alloc;
    a->budget = budget;
    a->used = 0;
    a->unpacked = NULL;
    a->arrays = NULL;
    a->arrays_size = 0;
    a->keep_spare = false;
    a->spare = NULL;
    a->spare_size = 0;
}

void ttrpc_msg_arena_keep_spare(ttrpc_msg_arena *a)
{
    a->keep_spare = true;
}

void ttrpc_msg_arena_trim(ttrpc_msg_arena *a)
{
    ttrpc_alloc_free(a->alloc, a->spare, a->spare_size);
    a->spare = NULL;
    a->spare_size = 0;
}

size_t ttrpc_msg_arena_memory(const ttrpc_msg_arena *a)
{
    return a->used + a->spare_size;
}

void ttrpc_msg_arena_reset(ttrpc_msg_arena *a)
{
    if (a->unpacked != NULL) {
        msg_unpack_ctx ctx = {a, false};
        ProtobufCAllocator pa = {msg_pb_alloc, msg_pb_free, &ctx};
        protobuf_c_message_free_unpacked(a->unpacked, &pa);
        a->unpacked = NULL;
    }
    if (a->arrays != NULL) {
        ttrpc_alloc_free(a->alloc, a->arrays, a->arrays_size);
        arena_refund(a, a->arrays_size);
        a->arrays = NULL;
        a->arrays_size = 0;
    }
    /* Every charge is refunded by the free that matches it; a leftover means a leak. */
    assert(a->used == 0);
}

/* Empties the arena first: the contract is that after any decode, failed or not, the arena
 * holds at most the message of that decode. */
static ttrpc_err msg_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *in,
                            size_t len, ttrpc_msg_arena *a, const void *out,
                            ProtobufCMessage **msg)
{
    if (a == NULL) {
        return TTRPC_E_INVAL;
    }
    ttrpc_msg_arena_reset(a);
    if (out == NULL || (in == NULL && len > 0)) {
        return TTRPC_E_INVAL;
    }
    if (len > MSG_MAX_SIZE) {
        return TTRPC_E_DECODE;
    }
    msg_unpack_ctx ctx = {a, false};
    ProtobufCAllocator pa = {msg_pb_alloc, msg_pb_free, &ctx};
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &pa, len, in);
    if (m == NULL) {
        assert(a->used == 0);
        return ctx.refused ? TTRPC_E_NOMEM : TTRPC_E_DECODE;
    }
    a->unpacked = m;
    *msg = m;
    return TTRPC_OK;
}

/* Our view of a repeated field costs memory beyond what unpack took, so it is charged too:
 * 2 input bytes of empty metadata entry become an 8-byte pointer, a KeyValue and a ttrpc_kv. */
static ttrpc_err arena_array(ttrpc_msg_arena *a, size_t n, size_t elem_size, void **out)
{
    assert(a->arrays == NULL);
    if (n == 0) {
        *out = NULL;
        return TTRPC_OK;
    }
    if (n > SIZE_MAX / elem_size) {
        return TTRPC_E_NOMEM;
    }
    size_t size = n * elem_size;
    if (!arena_charge(a, size)) {
        return TTRPC_E_NOMEM;
    }
    void *p = ttrpc_alloc_resize(a->alloc, NULL, 0, size);
    if (p == NULL) {
        arena_refund(a, size);
        return TTRPC_E_NOMEM;
    }
    a->arrays = p;
    a->arrays_size = size;
    *out = p;
    return TTRPC_OK;
}

static ttrpc_bytes bytes_from_pb(ProtobufCBinaryData b)
{
    ttrpc_bytes out = {b.data, b.len};
    return out;
}

/* Notes 1.4: "Strings must be valid UTF-8: both peers reject a Request with bad UTF-8 as a
 * decode error". Our .proto declares them as bytes, so the check is ours. */
static ttrpc_err decoded_string(ProtobufCBinaryData b, ttrpc_bytes *out)
{
    *out = bytes_from_pb(b);
    return ttrpc_utf8_valid(*out) ? TTRPC_OK : TTRPC_E_DECODE;
}

static ttrpc_err status_from_pb(ttrpc_msg_arena *a, const Google__Rpc__Status *pb,
                                ttrpc_status *out)
{
    out->code = pb->code;
    ttrpc_err rc = decoded_string(pb->message, &out->message);
    if (rc != TTRPC_OK) {
        return rc;
    }
    void *arr;
    rc = arena_array(a, pb->n_details, sizeof(ttrpc_any), &arr);
    if (rc != TTRPC_OK) {
        return rc;
    }
    ttrpc_any *details = arr;
    for (size_t i = 0; i < pb->n_details; i++) {
        rc = decoded_string(pb->details[i]->type_url, &details[i].type_url);
        if (rc != TTRPC_OK) {
            return rc;
        }
        /* Any.value is the detail's own encoding, opaque to ttrpc: never checked. */
        details[i].value = bytes_from_pb(pb->details[i]->value);
    }
    out->details = details;
    out->n_details = pb->n_details;
    return TTRPC_OK;
}

ttrpc_err ttrpc_request_decode(const uint8_t *in, size_t len, ttrpc_msg_arena *a,
                               ttrpc_request *out)
{
    ProtobufCMessage *base;
    ttrpc_err rc = msg_unpack(&ttrpc__request__descriptor, in, len, a, out, &base);
    if (rc != TTRPC_OK) {
        return rc;
    }
    const Ttrpc__Request *pb = (const Ttrpc__Request *)base;
    ttrpc_request r = {0};
    r.has_payload = pb->has_payload;
    r.payload = bytes_from_pb(pb->payload);
    r.timeout_nano = pb->timeout_nano;
    rc = decoded_string(pb->service, &r.service);
    if (rc == TTRPC_OK) {
        rc = decoded_string(pb->method, &r.method);
    }
    void *arr = NULL;
    if (rc == TTRPC_OK) {
        rc = arena_array(a, pb->n_metadata, sizeof(ttrpc_kv), &arr);
    }
    ttrpc_kv *metadata = arr;
    for (size_t i = 0; rc == TTRPC_OK && i < pb->n_metadata; i++) {
        rc = decoded_string(pb->metadata[i]->key, &metadata[i].key);
        if (rc == TTRPC_OK) {
            rc = decoded_string(pb->metadata[i]->value, &metadata[i].value);
        }
    }
    if (rc != TTRPC_OK) {
        ttrpc_msg_arena_reset(a);
        return rc;
    }
    r.metadata = metadata;
    r.n_metadata = pb->n_metadata;
    *out = r;
    return TTRPC_OK;
}

ttrpc_err ttrpc_response_decode(const uint8_t *in, size_t len, ttrpc_msg_arena *a,
                                ttrpc_response *out)
{
    ProtobufCMessage *base;
    ttrpc_err rc = msg_unpack(&ttrpc__response__descriptor, in, len, a, out, &base);
    if (rc != TTRPC_OK) {
        return rc;
    }
    const Ttrpc__Response *pb = (const Ttrpc__Response *)base;
    ttrpc_response r = {0};
    r.payload = bytes_from_pb(pb->payload);
    /* Notes 2.1: status absent (Go), empty (Rust) and a zero-length Response all mean
     * success; has_status keeps which form came, for conformance reports. */
    r.has_status = pb->status != NULL;
    if (r.has_status) {
        rc = status_from_pb(a, pb->status, &r.status);
        if (rc != TTRPC_OK) {
            ttrpc_msg_arena_reset(a);
            return rc;
        }
    }
    *out = r;
    return TTRPC_OK;
}

ttrpc_err ttrpc_status_decode(const uint8_t *in, size_t len, ttrpc_msg_arena *a,
                              ttrpc_status *out)
{
    ProtobufCMessage *base;
    ttrpc_err rc = msg_unpack(&google__rpc__status__descriptor, in, len, a, out, &base);
    if (rc != TTRPC_OK) {
        return rc;
    }
    ttrpc_status s = {0};
    rc = status_from_pb(a, (const Google__Rpc__Status *)base, &s);
    if (rc != TTRPC_OK) {
        ttrpc_msg_arena_reset(a);
        return rc;
    }
    *out = s;
    return TTRPC_OK;
}

ttrpc_err ttrpc_string_list_decode(const uint8_t *in, size_t len, ttrpc_msg_arena *a,
                                   ttrpc_string_list *out)
{
    ProtobufCMessage *base;
    ttrpc_err rc = msg_unpack(&ttrpc__string_list__descriptor, in, len, a, out, &base);
    if (rc != TTRPC_OK) {
        return rc;
    }
    const Ttrpc__StringList *pb = (const Ttrpc__StringList *)base;
    void *arr;
    rc = arena_array(a, pb->n_list, sizeof(ttrpc_bytes), &arr);
    ttrpc_bytes *items = arr;
    for (size_t i = 0; rc == TTRPC_OK && i < pb->n_list; i++) {
        rc = decoded_string(pb->list[i], &items[i]);
    }
    if (rc != TTRPC_OK) {
        ttrpc_msg_arena_reset(a);
        return rc;
    }
    out->items = items;
    out->n_items = pb->n_list;
    return TTRPC_OK;
}

/* ---- Encoding: protobuf-c structs built on the stack, packed after a size check ---- */

/* Each field is counted with room for its key and a 10-byte varint. */
#define MSG_FIELD_OVERHEAD ((size_t)16)

/* What one encode borrows besides the stack: the repeated field's structs and the pointer
 * array protobuf-c wants, in one block from the default allocator. */
typedef struct msg_scratch {
    void *block;
    size_t size;
} msg_scratch;

static void scratch_free(msg_scratch *s)
{
    ttrpc_alloc_free(NULL, s->block, s->size);
    s->block = NULL;
    s->size = 0;
}

/* n elements of elem_size, then n pointers (when with_pointers). Every protobuf-c message
 * struct starts with pointers, so its size keeps the pointer array behind it aligned. */
static ttrpc_err scratch_alloc(msg_scratch *s, size_t n, size_t elem_size, bool with_pointers,
                               void **elems, void ***pointers)
{
    assert(s->block == NULL && n > 0);
    size_t per = elem_size + (with_pointers ? sizeof(void *) : 0);
    if (n > SIZE_MAX / per) {
        return TTRPC_E_NOMEM;
    }
    s->block = ttrpc_alloc_resize(NULL, NULL, 0, n * per);
    if (s->block == NULL) {
        return TTRPC_E_NOMEM;
    }
    s->size = n * per;
    *elems = s->block;
    if (with_pointers) {
        assert(elem_size % alignof(void *) == 0);
        *pointers = (void **)((uint8_t *)s->block + n * elem_size);
    }
    return TTRPC_OK;
}

static ttrpc_err tally_add(size_t *total, size_t len)
{
    if (len > MSG_MAX_SIZE - MSG_FIELD_OVERHEAD ||
        *total > MSG_MAX_SIZE - MSG_FIELD_OVERHEAD - len) {
        return TTRPC_E_INVAL;
    }
    *total += len + MSG_FIELD_OVERHEAD;
    return TTRPC_OK;
}

/* protobuf-c memcpy()s a bytes field even when it is empty; a real address keeps that call
 * defined for empty fields given as NULL. */
static const uint8_t msg_no_bytes[1];

/* Sets *has only for a non-empty field: proto3 omits defaults, which gives canonical bytes.
 * pack only reads through data, so dropping the const is safe. */
static ttrpc_err encode_bytes(ttrpc_bytes b, bool is_string, size_t *total,
                              ProtobufCBinaryData *pb, protobuf_c_boolean *has)
{
    if (b.data == NULL && b.len > 0) {
        return TTRPC_E_INVAL;
    }
    if (is_string && !ttrpc_utf8_valid(b)) {
        return TTRPC_E_INVAL;
    }
    ttrpc_err rc = tally_add(total, b.len);
    if (rc != TTRPC_OK) {
        return rc;
    }
    pb->data = (uint8_t *)(b.len > 0 ? b.data : msg_no_bytes);
    pb->len = b.len;
    if (has != NULL) {
        *has = b.len > 0;
    }
    return TTRPC_OK;
}

static ttrpc_err build_status(const ttrpc_status *m, size_t *total, Google__Rpc__Status *pb,
                              msg_scratch *s)
{
    if (m->details == NULL && m->n_details > 0) {
        return TTRPC_E_INVAL;
    }
    pb->has_code = m->code != 0;
    pb->code = m->code;
    ttrpc_err rc = tally_add(total, 0);
    if (rc == TTRPC_OK) {
        rc = encode_bytes(m->message, true, total, &pb->message, &pb->has_message);
    }
    if (rc != TTRPC_OK || m->n_details == 0) {
        return rc;
    }
    void *elems;
    void **pointers;
    rc = scratch_alloc(s, m->n_details, sizeof(Google__Rpc__Any), true, &elems, &pointers);
    if (rc != TTRPC_OK) {
        return rc;
    }
    Google__Rpc__Any *anys = elems;
    Google__Rpc__Any **any_pointers = (Google__Rpc__Any **)pointers;
    for (size_t i = 0; i < m->n_details; i++) {
        google__rpc__any__init(&anys[i]);
        any_pointers[i] = &anys[i];
        rc = tally_add(total, 0);
        if (rc == TTRPC_OK) {
            rc = encode_bytes(m->details[i].type_url, true, total, &anys[i].type_url,
                              &anys[i].has_type_url);
        }
        if (rc == TTRPC_OK) {
            rc = encode_bytes(m->details[i].value, false, total, &anys[i].value,
                              &anys[i].has_value);
        }
        if (rc != TTRPC_OK) {
            return rc;
        }
    }
    pb->details = any_pointers;
    pb->n_details = m->n_details;
    return TTRPC_OK;
}

static ttrpc_err build_request(const ttrpc_request *m, Ttrpc__Request *pb, msg_scratch *s)
{
    if (m->metadata == NULL && m->n_metadata > 0) {
        return TTRPC_E_INVAL;
    }
    size_t total = 0;
    ttrpc_err rc = encode_bytes(m->service, true, &total, &pb->service, &pb->has_service);
    if (rc == TTRPC_OK) {
        rc = encode_bytes(m->method, true, &total, &pb->method, &pb->has_method);
    }
    if (rc == TTRPC_OK) {
        rc = encode_bytes(m->payload, false, &total, &pb->payload, &pb->has_payload);
    }
    if (rc != TTRPC_OK) {
        return rc;
    }
    /* notes 1.4, Request.payload: the Go server treats a present empty payload as a first
     * stream message, so presence is the caller's choice; a non-empty one is always sent. */
    pb->has_payload = pb->has_payload || m->has_payload;
    pb->has_timeout_nano = m->timeout_nano != 0;
    pb->timeout_nano = m->timeout_nano;
    if (m->n_metadata == 0) {
        return TTRPC_OK;
    }
    void *elems;
    void **pointers;
    rc = scratch_alloc(s, m->n_metadata, sizeof(Ttrpc__KeyValue), true, &elems, &pointers);
    if (rc != TTRPC_OK) {
        return rc;
    }
    Ttrpc__KeyValue *kvs = elems;
    Ttrpc__KeyValue **kv_pointers = (Ttrpc__KeyValue **)pointers;
    for (size_t i = 0; i < m->n_metadata; i++) {
        ttrpc__key_value__init(&kvs[i]);
        kv_pointers[i] = &kvs[i];
        rc = tally_add(&total, 0);
        if (rc == TTRPC_OK) {
            rc = encode_bytes(m->metadata[i].key, true, &total, &kvs[i].key, &kvs[i].has_key);
        }
        if (rc == TTRPC_OK) {
            rc = encode_bytes(m->metadata[i].value, true, &total, &kvs[i].value,
                              &kvs[i].has_value);
        }
        if (rc != TTRPC_OK) {
            return rc;
        }
    }
    pb->metadata = kv_pointers;
    pb->n_metadata = m->n_metadata;
    return TTRPC_OK;
}

static bool status_is_default(const ttrpc_status *s)
{
    return s->code == 0 && s->message.len == 0 && s->n_details == 0;
}

static ttrpc_err build_response(const ttrpc_response *m, Ttrpc__Response *pb,
                                Google__Rpc__Status *status, msg_scratch *s)
{
    size_t total = 0;
    ttrpc_err rc = encode_bytes(m->payload, false, &total, &pb->payload, &pb->has_payload);
    if (rc != TTRPC_OK) {
        return rc;
    }
    /* Notes 3.3: Go omits an OK status, Rust sends it empty (`0a 00`); has_status picks the
     * form. A non-OK status is sent even without has_status: dropping an error is worse. */
    if (!m->has_status && status_is_default(&m->status)) {
        return TTRPC_OK;
    }
    rc = build_status(&m->status, &total, status, s);
    if (rc != TTRPC_OK) {
        return rc;
    }
    pb->status = status;
    return TTRPC_OK;
}

static ttrpc_err build_string_list(const ttrpc_string_list *m, Ttrpc__StringList *pb,
                                   msg_scratch *s)
{
    if (m->items == NULL && m->n_items > 0) {
        return TTRPC_E_INVAL;
    }
    if (m->n_items == 0) {
        return TTRPC_OK;
    }
    void *elems;
    ttrpc_err rc = scratch_alloc(s, m->n_items, sizeof(ProtobufCBinaryData), false, &elems,
                                 NULL);
    if (rc != TTRPC_OK) {
        return rc;
    }
    ProtobufCBinaryData *list = elems;
    size_t total = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        /* Repeated fields have no presence: empty items are sent like any other. */
        rc = encode_bytes(m->items[i], true, &total, &list[i], NULL);
        if (rc != TTRPC_OK) {
            return rc;
        }
    }
    pb->list = list;
    pb->n_list = m->n_items;
    return TTRPC_OK;
}

/* pack() takes no capacity, so the size is checked first: nothing is written unless all of it
 * fits. */
static ttrpc_err msg_emit(const ProtobufCMessage *pb, bool size_only, uint8_t *out, size_t cap,
                          size_t *result)
{
    size_t size = protobuf_c_message_get_packed_size(pb);
    if (!size_only) {
        if (size > cap) {
            return TTRPC_E_NOSPACE;
        }
        /* An all-defaults message is zero bytes, which fits even a NULL buffer of cap 0. */
        if (size > 0) {
            size_t n = protobuf_c_message_pack(pb, out);
            assert(n == size);
            (void)n;
        }
    }
    *result = size;
    return TTRPC_OK;
}

static bool emit_args_valid(const void *m, bool size_only, const uint8_t *out, size_t cap,
                            const size_t *result)
{
    return m != NULL && result != NULL && (size_only || out != NULL || cap == 0);
}

static ttrpc_err request_emit(const ttrpc_request *m, bool size_only, uint8_t *out, size_t cap,
                              size_t *result)
{
    if (!emit_args_valid(m, size_only, out, cap, result)) {
        return TTRPC_E_INVAL;
    }
    Ttrpc__Request pb = TTRPC__REQUEST__INIT;
    msg_scratch s = {NULL, 0};
    ttrpc_err rc = build_request(m, &pb, &s);
    if (rc == TTRPC_OK) {
        rc = msg_emit(&pb.base, size_only, out, cap, result);
    }
    scratch_free(&s);
    return rc;
}

static ttrpc_err response_emit(const ttrpc_response *m, bool size_only, uint8_t *out,
                               size_t cap, size_t *result)
{
    if (!emit_args_valid(m, size_only, out, cap, result)) {
        return TTRPC_E_INVAL;
    }
    Ttrpc__Response pb = TTRPC__RESPONSE__INIT;
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    msg_scratch s = {NULL, 0};
    ttrpc_err rc = build_response(m, &pb, &status, &s);
    if (rc == TTRPC_OK) {
        rc = msg_emit(&pb.base, size_only, out, cap, result);
    }
    scratch_free(&s);
    return rc;
}

static ttrpc_err status_emit(const ttrpc_status *m, bool size_only, uint8_t *out, size_t cap,
                             size_t *result)
{
    if (!emit_args_valid(m, size_only, out, cap, result)) {
        return TTRPC_E_INVAL;
    }
    Google__Rpc__Status pb = GOOGLE__RPC__STATUS__INIT;
    msg_scratch s = {NULL, 0};
    size_t total = 0;
    ttrpc_err rc = build_status(m, &total, &pb, &s);
    if (rc == TTRPC_OK) {
        rc = msg_emit(&pb.base, size_only, out, cap, result);
    }
    scratch_free(&s);
    return rc;
}

static ttrpc_err string_list_emit(const ttrpc_string_list *m, bool size_only, uint8_t *out,
                                  size_t cap, size_t *result)
{
    if (!emit_args_valid(m, size_only, out, cap, result)) {
        return TTRPC_E_INVAL;
    }
    Ttrpc__StringList pb = TTRPC__STRING_LIST__INIT;
    msg_scratch s = {NULL, 0};
    ttrpc_err rc = build_string_list(m, &pb, &s);
    if (rc == TTRPC_OK) {
        rc = msg_emit(&pb.base, size_only, out, cap, result);
    }
    scratch_free(&s);
    return rc;
}

ttrpc_err ttrpc_request_encoded_size(const ttrpc_request *m, size_t *size)
{
    return request_emit(m, true, NULL, 0, size);
}

ttrpc_err ttrpc_request_encode(const ttrpc_request *m, uint8_t *out, size_t cap, size_t *written)
{
    return request_emit(m, false, out, cap, written);
}

ttrpc_err ttrpc_response_encoded_size(const ttrpc_response *m, size_t *size)
{
    return response_emit(m, true, NULL, 0, size);
}

ttrpc_err ttrpc_response_encode(const ttrpc_response *m, uint8_t *out, size_t cap,
                                size_t *written)
{
    return response_emit(m, false, out, cap, written);
}

ttrpc_err ttrpc_status_encoded_size(const ttrpc_status *m, size_t *size)
{
    return status_emit(m, true, NULL, 0, size);
}

ttrpc_err ttrpc_status_encode(const ttrpc_status *m, uint8_t *out, size_t cap, size_t *written)
{
    return status_emit(m, false, out, cap, written);
}

ttrpc_err ttrpc_string_list_encoded_size(const ttrpc_string_list *m, size_t *size)
{
    return string_list_emit(m, true, NULL, 0, size);
}

ttrpc_err ttrpc_string_list_encode(const ttrpc_string_list *m, uint8_t *out, size_t cap,
                                   size_t *written)
{
    return string_list_emit(m, false, out, cap, written);
}
