#include "script.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

static ttrpc_err buf_reserve(tc_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len) {
        return TTRPC_E_NOMEM;
    }
    size_t need = b->len + extra + 1; /* room for a NUL after text */
    if (need <= b->cap) {
        return TTRPC_OK;
    }
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL) {
        return TTRPC_E_NOMEM;
    }
    b->p = p;
    b->cap = cap;
    return TTRPC_OK;
}

ttrpc_err tc_buf_append(tc_buf *b, const void *data, size_t len)
{
    ttrpc_err rc = buf_reserve(b, len);
    if (rc != TTRPC_OK) {
        return rc;
    }
    if (len > 0) {
        memcpy(b->p + b->len, data, len);
    }
    b->len += len;
    b->p[b->len] = 0;
    return TTRPC_OK;
}

ttrpc_err tc_buf_fill(tc_buf *b, uint8_t byte, size_t len)
{
    ttrpc_err rc = buf_reserve(b, len);
    if (rc != TTRPC_OK) {
        return rc;
    }
    memset(b->p + b->len, byte, len);
    b->len += len;
    b->p[b->len] = 0;
    return TTRPC_OK;
}

ttrpc_err tc_buf_printf(tc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return TTRPC_E_INVAL;
    }
    ttrpc_err rc = buf_reserve(b, (size_t)n);
    if (rc != TTRPC_OK) {
        return rc;
    }
    va_start(ap, fmt);
    (void)vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return TTRPC_OK;
}

void tc_buf_free(tc_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

const char *tc_buf_str(tc_buf *b)
{
    return b->p != NULL ? (const char *)b->p : "";
}

ttrpc_err tc_pb_varint(tc_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7;
        tmp[n++] = v != 0 ? (uint8_t)(byte | 0x80) : byte;
    } while (v != 0);
    return tc_buf_append(b, tmp, n);
}

static ttrpc_err pb_key(tc_buf *b, uint32_t field, unsigned wire_type)
{
    return tc_pb_varint(b, (uint64_t)field << 3 | wire_type);
}

ttrpc_err tc_pb_bytes(tc_buf *b, uint32_t field, const void *data, size_t len)
{
    ttrpc_err rc = pb_key(b, field, 2);
    if (rc == TTRPC_OK) {
        rc = tc_pb_varint(b, len);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_append(b, data, len);
    }
    return rc;
}

static ttrpc_err pb_varint_field(tc_buf *b, uint32_t field, uint64_t v)
{
    ttrpc_err rc = pb_key(b, field, 0);
    return rc == TTRPC_OK ? tc_pb_varint(b, v) : rc;
}

static uint64_t op_count(const tc_op *op, uint32_t index)
{
    return (uint64_t)((int64_t)op->count + (int64_t)index * op->count_step);
}

/* The Bytes value text of an op: .text, or .text_len 'x' bytes. */
static ttrpc_err op_text(const tc_op *op, size_t text_len, tc_buf *out)
{
    if (op->text_len > 0 || op->pad_to > 0) {
        return tc_buf_fill(out, 'x', text_len);
    }
    return tc_buf_append(out, op->text != NULL ? op->text : "", op->text ? strlen(op->text) : 0);
}

static ttrpc_err payload_with_text_len(const tc_op *op, uint32_t index, size_t text_len,
                                       tc_buf *out)
{
    ttrpc_err rc = TTRPC_OK;
    tc_buf text = {0};
    switch (op->payload) {
    case TC_PL_NONE:
    case TC_PL_EMPTY:
        break;
    case TC_PL_BYTES:
        /* proto2 optional: the field is always present, even when empty. */
        rc = op_text(op, text_len, &text);
        if (rc == TTRPC_OK) {
            rc = tc_pb_bytes(out, 1, text.p, text.len);
        }
        break;
    case TC_PL_COUNT:
        if (op_count(op, index) != 0) {
            rc = pb_varint_field(out, 1, op_count(op, index));
        }
        break;
    case TC_PL_STATUS:
        if (op->count != 0) {
            rc = pb_varint_field(out, 1, op->count);
        }
        break;
    case TC_PL_RAW:
        rc = tc_buf_append(out, op->raw, op->raw_len);
        break;
    }
    tc_buf_free(&text);
    return rc;
}

ttrpc_err tc_payload_encode(const tc_op *op, uint32_t count_index, tc_buf *out)
{
    return payload_with_text_len(op, count_index, op->text_len, out);
}

/* The metadata of an op, explicit entries first, then the generated ones. */
typedef struct md_list {
    ttrpc_kv *kv;
    size_t n;
    char *keys;   /* generated keys, 12 bytes each */
    char *value;  /* the generated value */
} md_list;

static void md_free(md_list *m)
{
    free(m->kv);
    free(m->keys);
    free(m->value);
}

static ttrpc_err md_build(const tc_op *op, md_list *m)
{
    memset(m, 0, sizeof *m);
    size_t n = op->n_md + op->md_count;
    if (n == 0) {
        return TTRPC_OK;
    }
    m->kv = calloc(n, sizeof *m->kv);
    m->keys = calloc(op->md_count + 1u, 12);
    m->value = calloc(op->md_value_len + 1u, 1);
    if (m->kv == NULL || m->keys == NULL || m->value == NULL) {
        md_free(m);
        return TTRPC_E_NOMEM;
    }
    memset(m->value, 'v', op->md_value_len);
    for (size_t i = 0; i < op->n_md; i++) {
        m->kv[i].key = ttrpc_bytes_of(op->md[i].key);
        m->kv[i].value = ttrpc_bytes_of(op->md[i].value);
    }
    for (uint32_t i = 0; i < op->md_count; i++) {
        char *k = m->keys + (size_t)i * 12;
        (void)snprintf(k, 12, "k%u", (unsigned)i);
        m->kv[op->n_md + i].key = ttrpc_bytes_of(k);
        m->kv[op->n_md + i].value =
            (ttrpc_bytes){(const uint8_t *)m->value, op->md_value_len};
    }
    m->n = n;
    return TTRPC_OK;
}

/* A Request written field by field, for the mutations our encoder refuses to produce. */
static ttrpc_err request_by_hand(const tc_op *op, const char *service, const char *method,
                                 const tc_buf *payload, bool has_payload, const md_list *md,
                                 tc_buf *out)
{
    ttrpc_err rc = TTRPC_OK;
    tc_buf svc = {0}, mth = {0};
    if (tc_buf_append(&svc, service, strlen(service)) != TTRPC_OK ||
        tc_buf_append(&mth, method, strlen(method)) != TTRPC_OK) {
        rc = TTRPC_E_NOMEM;
        goto out;
    }
    static const uint8_t bad = 0xff;
    if (op->mutation == TC_MUT_BAD_UTF8_SERVICE) {
        rc = tc_buf_append(&svc, &bad, 1);
    } else if (op->mutation == TC_MUT_BAD_UTF8_METHOD) {
        rc = tc_buf_append(&mth, &bad, 1);
    }
    if (rc != TTRPC_OK) {
        goto out;
    }
    /* The fields, each as its own encoded piece, so they can be emitted in any order. */
    tc_buf piece[6] = {{0}};
    size_t n = 0;
    if (op->mutation == TC_MUT_SERVICE_TWICE) {
        rc = tc_pb_bytes(&piece[n++], 1, "wrong.Service", 13);
    }
    if (rc == TTRPC_OK) {
        rc = tc_pb_bytes(&piece[n++], 1, svc.p, svc.len);
    }
    if (rc == TTRPC_OK) {
        rc = tc_pb_bytes(&piece[n++], 2, mth.p, mth.len);
    }
    if (rc == TTRPC_OK && has_payload) {
        rc = tc_pb_bytes(&piece[n++], 3, payload->p, payload->len);
    }
    if (rc == TTRPC_OK && op->timeout_nano != 0) {
        rc = pb_varint_field(&piece[n++], 4, (uint64_t)op->timeout_nano);
    }
    tc_buf *mdp = &piece[n++];
    for (size_t i = 0; rc == TTRPC_OK && i < md->n; i++) {
        tc_buf kv = {0};
        rc = tc_pb_bytes(&kv, 1, md->kv[i].key.data, md->kv[i].key.len);
        if (rc == TTRPC_OK) {
            rc = tc_pb_bytes(&kv, 2, md->kv[i].value.data, md->kv[i].value.len);
        }
        if (rc == TTRPC_OK) {
            rc = tc_pb_bytes(mdp, 5, kv.p, kv.len);
        }
        tc_buf_free(&kv);
    }
    if (rc == TTRPC_OK && op->mutation == TC_MUT_BAD_UTF8_MD_KEY) {
        tc_buf kv = {0};
        rc = tc_pb_bytes(&kv, 1, "k\xff", 2);
        if (rc == TTRPC_OK) {
            rc = tc_pb_bytes(&kv, 2, "v", 1);
        }
        if (rc == TTRPC_OK) {
            rc = tc_pb_bytes(mdp, 5, kv.p, kv.len);
        }
        tc_buf_free(&kv);
    }
    for (size_t i = 0; rc == TTRPC_OK && i < n; i++) {
        size_t k = op->mutation == TC_MUT_REVERSED ? n - 1 - i : i;
        rc = tc_buf_append(out, piece[k].p, piece[k].len);
    }
    for (size_t i = 0; i < n; i++) {
        tc_buf_free(&piece[i]);
    }
out:
    tc_buf_free(&svc);
    tc_buf_free(&mth);
    return rc;
}

static ttrpc_err request_body_text(const tc_op *op, uint32_t index, size_t text_len,
                                   tc_buf *out)
{
    if (op->mutation == TC_MUT_REPLACE) {
        return tc_buf_append(out, op->raw, op->raw_len);
    }
    const char *service = op->service != NULL ? op->service : TC_SERVICE;
    const char *method = op->method != NULL ? op->method : "";
    tc_buf payload = {0};
    md_list md;
    ttrpc_err rc = payload_with_text_len(op, index, text_len, &payload);
    if (rc == TTRPC_OK) {
        rc = md_build(op, &md);
        if (rc != TTRPC_OK) {
            tc_buf_free(&payload);
            return rc;
        }
    } else {
        tc_buf_free(&payload);
        return rc;
    }
    bool has_payload = op->payload != TC_PL_NONE;
    if (op->mutation != TC_MUT_NONE && op->mutation != TC_MUT_APPEND) {
        rc = request_by_hand(op, service, method, &payload, has_payload, &md, out);
    } else {
        ttrpc_request req = {
            .service = ttrpc_bytes_of(service),
            .method = ttrpc_bytes_of(method),
            .has_payload = has_payload,
            .payload = {payload.p, payload.len},
            .timeout_nano = op->timeout_nano,
            .metadata = md.kv,
            .n_metadata = md.n,
        };
        size_t size = 0, written = 0;
        rc = ttrpc_request_encoded_size(&req, &size);
        if (rc == TTRPC_OK) {
            rc = buf_reserve(out, size);
        }
        if (rc == TTRPC_OK) {
            rc = ttrpc_request_encode(&req, out->p + out->len, out->cap - out->len, &written);
        }
        if (rc == TTRPC_OK) {
            out->len += written;
            out->p[out->len] = 0;
        }
        if (rc == TTRPC_OK && op->mutation == TC_MUT_APPEND) {
            rc = tc_buf_append(out, op->raw, op->raw_len);
        }
    }
    md_free(&md);
    tc_buf_free(&payload);
    return rc;
}

ttrpc_err tc_request_body(const tc_op *op, uint32_t count_index, tc_buf *out)
{
    if (op->pad_to == 0 || op->payload != TC_PL_BYTES) {
        return request_body_text(op, count_index, op->text_len, out);
    }
    /* Find the text length whose body is exactly pad_to bytes: the length prefixes are
     * varints, so step towards it and correct by one near the boundaries. */
    size_t guess = op->pad_to > 64 ? op->pad_to - 64 : 0;
    for (int tries = 0; tries < 64; tries++) {
        tc_buf tmp = {0};
        ttrpc_err rc = request_body_text(op, count_index, guess, &tmp);
        if (rc != TTRPC_OK) {
            tc_buf_free(&tmp);
            return rc;
        }
        if (tmp.len == op->pad_to) {
            rc = tc_buf_append(out, tmp.p, tmp.len);
            tc_buf_free(&tmp);
            return rc;
        }
        size_t len = tmp.len;
        tc_buf_free(&tmp);
        if (len > op->pad_to) {
            size_t over = len - op->pad_to;
            if (guess == 0) {
                return TTRPC_E_INVAL;
            }
            guess -= over < guess ? over : guess;
        } else {
            guess += op->pad_to - len;
        }
    }
    return TTRPC_E_INVAL;
}

static ttrpc_err frame_append(tc_buf *out, uint32_t id, uint8_t type, uint8_t flags,
                              const tc_buf *body)
{
    ttrpc_frame_header h = {(uint32_t)body->len, id, type, flags};
    if (body->len > TTRPC_FRAME_MAX_DATA) {
        return TTRPC_E_INVAL;
    }
    ttrpc_err rc = buf_reserve(out, TTRPC_FRAME_HEADER_LEN + body->len);
    size_t written = 0;
    if (rc == TTRPC_OK) {
        rc = ttrpc_frame_encode(&h, body->p, out->p + out->len, out->cap - out->len, &written);
    }
    if (rc == TTRPC_OK) {
        out->len += written;
        out->p[out->len] = 0;
    }
    return rc;
}

ttrpc_err tc_op_encode(const tc_op *op, tc_buf *out)
{
    ttrpc_err rc = TTRPC_OK;
    switch (op->kind) {
    case TC_OP_REQUEST: {
        uint32_t n = op->repeat == 0 ? 1 : op->repeat;
        for (uint32_t i = 0; i < n && rc == TTRPC_OK; i++) {
            tc_buf body = {0};
            rc = tc_request_body(op, i, &body);
            if (rc == TTRPC_OK) {
                uint8_t type = op->type != 0 ? op->type : TTRPC_TYPE_REQUEST;
                rc = frame_append(out, op->id + 2 * i, type, op->flags, &body);
            }
            tc_buf_free(&body);
        }
        return rc;
    }
    case TC_OP_DATA:
    case TC_OP_FRAME: {
        tc_buf body = {0};
        rc = tc_payload_encode(op, 0, &body);
        if (rc == TTRPC_OK) {
            uint8_t type = op->kind == TC_OP_DATA ? TTRPC_TYPE_DATA : op->type;
            rc = frame_append(out, op->id, type, op->flags, &body);
        }
        tc_buf_free(&body);
        return rc;
    }
    case TC_OP_HEADER: {
        /* Any length field, the reserved byte and oversize included: the header writer
         * validates nothing, by design. */
        uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
        ttrpc_frame_header h = {op->length, op->id, op->type, op->flags};
        ttrpc_frame_header_write(&h, hdr);
        size_t n = op->cut > 0 && op->cut < TTRPC_FRAME_HEADER_LEN ? op->cut
                                                                   : TTRPC_FRAME_HEADER_LEN;
        return tc_buf_append(out, hdr, n);
    }
    case TC_OP_ZEROS:
        return tc_buf_fill(out, 0, (size_t)op->count);
    default:
        return TTRPC_E_INVAL;
    }
}

ttrpc_err tc_echo_frame(uint32_t id, const char *text, tc_buf *out)
{
    tc_op op = TC_ECHO(id, text);
    return tc_op_encode(&op, out);
}
