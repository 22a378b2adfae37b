/* vector_compare: the comparisons between what an implementation produced and what a golden
 * vector expects (vectors/README.md), shared by vector_check (the C reference, in process) and
 * `ttrpc-conform vectors` (any implementation, through the testee protocol). Both turn what
 * they got into the C structs below (frames, ttrpc_request, ttrpc_response) and compare them
 * here, so a vector means the same thing to both. */
#include "vector_compare.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vc_buf_free(vc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

bool vc_buf_reserve(vc_buf *b, size_t more)
{
    if (more > SIZE_MAX - b->len) {
        return false;
    }
    size_t need = b->len + more;
    if (need <= b->cap) {
        return true;
    }
    size_t cap = b->cap != 0 ? b->cap : 64;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL) {
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

bool vc_buf_append(vc_buf *b, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return true;
    }
    if (!vc_buf_reserve(b, n)) {
        return false;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

void vc_fail(vc_verdict *v, const char *fmt, ...)
{
    if (v->failed) {
        return;
    }
    v->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
}

int vc_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool vc_hex_append(vc_buf *b, const char *hex)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || !vc_buf_reserve(b, n / 2)) {
        return false;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = vc_hexval(hex[i]);
        int lo = vc_hexval(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        b->data[b->len++] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* A JSON number that must be a whole number in [lo, hi]. */
bool vc_json_int(const cJSON *item, double lo, double hi, int64_t *out)
{
    if (!cJSON_IsNumber(item)) {
        return false;
    }
    double d = item->valuedouble;
    if (d < lo || d > hi || d != (double)(int64_t)d) {
        return false;
    }
    *out = (int64_t)d;
    return true;
}

bool vc_json_u32(const cJSON *obj, const char *name, uint32_t *out)
{
    int64_t v;
    if (!vc_json_int(cJSON_GetObjectItemCaseSensitive(obj, name), 0, 4294967295.0, &v)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool vc_json_u8(const cJSON *obj, const char *name, uint8_t *out)
{
    int64_t v;
    if (!vc_json_int(cJSON_GetObjectItemCaseSensitive(obj, name), 0, 255, &v)) {
        return false;
    }
    *out = (uint8_t)v;
    return true;
}

const char *vc_json_str(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Bytes as the format writes them: a hex string, or an array of segments {"hex": "..."} and
 * {"repeat": {"byte": "00", "count": N}}, concatenated. */
bool vc_bytes_from_json(const cJSON *spec, vc_buf *out)
{
    if (cJSON_IsString(spec)) {
        return vc_hex_append(out, spec->valuestring);
    }
    if (!cJSON_IsArray(spec)) {
        return false;
    }
    const cJSON *seg;
    cJSON_ArrayForEach(seg, spec)
    {
        const char *hex = vc_json_str(seg, "hex");
        const cJSON *rep = cJSON_GetObjectItemCaseSensitive(seg, "repeat");
        if (hex != NULL) {
            if (!vc_hex_append(out, hex)) {
                return false;
            }
        } else if (cJSON_IsObject(rep)) {
            const char *byte = vc_json_str(rep, "byte");
            int64_t count;
            if (byte == NULL || strlen(byte) != 2 || vc_hexval(byte[0]) < 0 ||
                vc_hexval(byte[1]) < 0 ||
                !vc_json_int(cJSON_GetObjectItemCaseSensitive(rep, "count"), 0, 1 << 30, &count)) {
                return false;
            }
            if (!vc_buf_reserve(out, (size_t)count)) {
                return false;
            }
            memset(out->data + out->len, vc_hexval(byte[0]) << 4 | vc_hexval(byte[1]),
                   (size_t)count);
            out->len += (size_t)count;
        } else {
            return false;
        }
    }
    return true;
}

bool vc_bytes_equal(ttrpc_bytes got, const vc_buf *want)
{
    return got.len == want->len && (got.len == 0 || memcmp(got.data, want->data, got.len) == 0);
}

/* A JSON string against decoded bytes (vector strings hold no NUL). */
bool vc_str_equal(ttrpc_bytes got, const char *want)
{
    return want != NULL && ttrpc_bytes_equal_str(got, want);
}

/* ---- messages ---------------------------------------------------------------------------- */

void vc_compare_bytes_field(vc_verdict *v, const char *what, ttrpc_bytes got,
                                const cJSON *spec)
{
    vc_buf want = {0};
    if (!vc_bytes_from_json(spec, &want)) {
        v->harness = true;
        vc_fail(v, "bad bytes for %s in the vector", what);
    } else if (got.len != want.len) {
        vc_fail(v, "%s: %zu bytes, want %zu", what, got.len, want.len);
    } else if (!vc_bytes_equal(got, &want)) {
        vc_fail(v, "%s: the %zu bytes differ", what, got.len);
    }
    vc_buf_free(&want);
}

void vc_compare_request(vc_verdict *v, const ttrpc_request *r, const cJSON *want)
{
    if (!vc_str_equal(r->service, vc_json_str(want, "service"))) {
        vc_fail(v, "request service '%.*s', want '%s'", (int)r->service.len,
                (const char *)r->service.data, vc_json_str(want, "service"));
    }
    if (!vc_str_equal(r->method, vc_json_str(want, "method"))) {
        vc_fail(v, "request method '%.*s', want '%s'", (int)r->method.len,
                (const char *)r->method.data, vc_json_str(want, "method"));
    }
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(want, "payload");
    if (payload == NULL) {
        if (r->has_payload) {
            vc_fail(v, "request payload present, want absent");
        }
    } else {
        if (!r->has_payload) {
            vc_fail(v, "request payload absent, want present");
        }
        vc_compare_bytes_field(v, "request payload", r->payload, payload);
    }
    const char *t = vc_json_str(want, "timeout_nano");
    if (t == NULL) {
        v->harness = true;
        vc_fail(v, "vector lacks timeout_nano");
        return;
    }
    errno = 0;
    long long tv = strtoll(t, NULL, 10);
    if (errno != 0 || (int64_t)tv != r->timeout_nano) {
        vc_fail(v, "request timeout_nano %lld, want %s", (long long)r->timeout_nano, t);
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(want, "metadata");
    if ((size_t)cJSON_GetArraySize(md) != r->n_metadata) {
        vc_fail(v, "request has %zu metadata entries, want %d", r->n_metadata,
                cJSON_GetArraySize(md));
        return;
    }
    size_t i = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, md)
    {
        if (!vc_str_equal(r->metadata[i].key, vc_json_str(kv, "key")) ||
            !vc_str_equal(r->metadata[i].value, vc_json_str(kv, "value"))) {
            vc_fail(v, "request metadata entry %zu differs", i);
        }
        i++;
    }
}

static void vc_compare_status(vc_verdict *v, const ttrpc_status *s, const cJSON *want)
{
    int64_t code;
    if (!vc_json_int(cJSON_GetObjectItemCaseSensitive(want, "code"), INT32_MIN, INT32_MAX, &code)) {
        v->harness = true;
        vc_fail(v, "vector status lacks a code");
        return;
    }
    if (s->code != code) {
        vc_fail(v, "status code %d, want %lld", (int)s->code, (long long)code);
    }
    if (!vc_str_equal(s->message, vc_json_str(want, "message"))) {
        vc_fail(v, "status message '%.*s', want '%s'", (int)s->message.len,
                (const char *)s->message.data, vc_json_str(want, "message"));
    }
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(want, "details");
    if ((size_t)cJSON_GetArraySize(details) != s->n_details) {
        vc_fail(v, "status has %zu details, want %d", s->n_details, cJSON_GetArraySize(details));
        return;
    }
    size_t i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, details)
    {
        if (!vc_str_equal(s->details[i].type_url, vc_json_str(d, "type_url"))) {
            vc_fail(v, "status detail %zu type_url differs", i);
        }
        vc_compare_bytes_field(v, "status detail value", s->details[i].value,
                               cJSON_GetObjectItemCaseSensitive(d, "value"));
        i++;
    }
}

void vc_compare_response(vc_verdict *v, const ttrpc_response *r, const cJSON *want)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(want, "status");
    if (status == NULL) {
        if (r->has_status) {
            vc_fail(v, "response status present, want absent");
        }
    } else if (!r->has_status) {
        vc_fail(v, "response status absent, want present");
    } else {
        vc_compare_status(v, &r->status, status);
    }
    vc_compare_bytes_field(v, "response payload", r->payload,
                           cJSON_GetObjectItemCaseSensitive(want, "payload"));
    const cJSON *success = cJSON_GetObjectItemCaseSensitive(want, "success");
    bool ok = !r->has_status || r->status.code == TTRPC_CODE_OK;
    if (cJSON_IsBool(success) && cJSON_IsTrue(success) != ok) {
        vc_fail(v, "response success %d, want %d", ok, cJSON_IsTrue(success));
    }
}

void vc_compare_message(vc_verdict *v, const vc_message *got, const cJSON *expect)
{
    const char *as = got->is_request ? "request" : "response";
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(expect, "value");
    const char *error = vc_json_str(expect, "error");
    if (error != NULL) {
        if (strcmp(error, "decode-error") != 0) {
            v->harness = true;
            vc_fail(v, "unknown message error class '%s'", error);
        } else if (got->error == NULL || strcmp(got->error, "decode-error") != 0) {
            vc_fail(v, "%s decode gave %s, want decode-error", as,
                    got->error != NULL ? got->error : "a value");
        }
        return;
    }
    if (got->error != NULL) {
        vc_fail(v, "%s decode gave %s, want a value", as, got->error);
        return;
    }
    if (!cJSON_IsObject(value)) {
        v->harness = true;
        vc_fail(v, "expectation has neither value nor error");
        return;
    }
    if (got->is_request) {
        vc_compare_request(v, &got->req, value);
    } else {
        vc_compare_response(v, &got->resp, value);
    }
}

void vc_decode_run_free(vc_decode_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        vc_buf_free(&r->frames[i].data);
    }
    free(r->frames);
    memset(r, 0, sizeof *r);
}

void vc_compare_frames(vc_verdict *v, const vc_decode_run *r, const cJSON *expect,
                       const char *how, vc_frame_message_fn *check_message, void *ctx)
{
    if (r->fatal != TTRPC_OK) {
        vc_fail(v, "%s: decoder failed with %s", how,
                r->fatal_class != NULL ? r->fatal_class : ttrpc_err_name(r->fatal));
        return;
    }
    const cJSON *frames = cJSON_GetObjectItemCaseSensitive(expect, "frames");
    if ((size_t)cJSON_GetArraySize(frames) != r->n) {
        vc_fail(v, "%s: %zu frames, want %d", how, r->n, cJSON_GetArraySize(frames));
        return;
    }
    size_t i = 0;
    const cJSON *wf;
    cJSON_ArrayForEach(wf, frames)
    {
        const vc_got_frame *g = &r->frames[i];
        ttrpc_frame_header h;
        if (!vc_json_u32(wf, "length", &h.length) || !vc_json_u32(wf, "stream_id", &h.stream_id) ||
            !vc_json_u8(wf, "type", &h.type) || !vc_json_u8(wf, "flags", &h.flags)) {
            v->harness = true;
            vc_fail(v, "frame %zu of the vector lacks a header field", i);
            return;
        }
        const char *err = vc_json_str(wf, "error");
        if (err != NULL && strcmp(err, "too-large") != 0) {
            v->harness = true;
            vc_fail(v, "unknown frame error class '%s'", err);
            return;
        }
        if ((err != NULL) != g->too_large) {
            vc_fail(v, "%s: frame %zu %s, want %s", how, i, g->too_large ? "too-large" : "decoded",
                    err != NULL ? "too-large" : "decoded");
            return;
        }
        if (g->hdr.length != h.length || g->hdr.stream_id != h.stream_id ||
            g->hdr.type != h.type || g->hdr.flags != h.flags) {
            vc_fail(v,
                    "%s: frame %zu header length %u id %u type %u flags %u, want %u %u %u %u", how,
                    i, g->hdr.length, g->hdr.stream_id, g->hdr.type, g->hdr.flags, h.length,
                    h.stream_id, h.type, h.flags);
            return;
        }
        if (err == NULL) {
            ttrpc_bytes got = {g->data.data, g->data.len};
            /* Say how the input was fed, as every other reason here does. */
            char what[96];
            snprintf(what, sizeof what, "%s: frame %zu data", how, i);
            vc_compare_bytes_field(v, what, got, cJSON_GetObjectItemCaseSensitive(wf, "data"));
            const cJSON *dec = cJSON_GetObjectItemCaseSensitive(wf, "decode");
            if (dec != NULL) {
                check_message(v, vc_json_str(dec, "as"), i, g, dec, ctx);
            }
        }
        i++;
    }
    const char *end = vc_json_str(expect, "end");
    bool want_boundary = end != NULL && strcmp(end, "boundary") == 0;
    if (end == NULL || (!want_boundary && strcmp(end, "truncated") != 0)) {
        v->harness = true;
        vc_fail(v, "expect.end must be boundary or truncated");
    } else if (r->at_boundary != want_boundary) {
        vc_fail(v, "%s: input ends %s, want %s", how,
                r->at_boundary ? "at a boundary" : "truncated", end);
    }
}

static bool record(vc_decode_run *r, bool too_large, const ttrpc_frame *f)
{
    vc_got_frame *p = realloc(r->frames, (r->n + 1) * sizeof *p);
    if (p == NULL) {
        return false;
    }
    r->frames = p;
    vc_got_frame *g = &r->frames[r->n++];
    memset(g, 0, sizeof *g);
    g->too_large = too_large;
    g->hdr = f->hdr;
    return too_large || vc_buf_append(&g->data, f->data, f->hdr.length);
}

/* Feeds `in` in chunks of at most `chunk` bytes, pulling every frame as soon as it is ready. */
void vc_decode_all(const uint8_t *in, size_t len, size_t chunk, vc_decode_run *r)
{
    memset(r, 0, sizeof *r);
    ttrpc_decoder d;
    r->fatal = ttrpc_decoder_init(&d, TTRPC_FRAME_MAX_DATA, NULL);
    if (r->fatal != TTRPC_OK) {
        return;
    }
    size_t off = 0;
    int stalls = 0;
    for (;;) {
        for (;;) {
            ttrpc_frame f;
            ttrpc_err rc = ttrpc_decoder_next(&d, &f);
            if (rc == TTRPC_E_AGAIN) {
                break;
            }
            if ((rc != TTRPC_OK && rc != TTRPC_E_TOO_LARGE) ||
                !record(r, rc == TTRPC_E_TOO_LARGE, &f)) {
                r->fatal = rc != TTRPC_OK && rc != TTRPC_E_TOO_LARGE ? rc : TTRPC_E_NOMEM;
                goto out;
            }
        }
        if (off == len) {
            break;
        }
        size_t n = len - off < chunk ? len - off : chunk;
        size_t used = 0;
        ttrpc_err rc = ttrpc_decoder_feed(&d, in + off, n, &used);
        if (rc != TTRPC_OK) {
            r->fatal = rc;
            goto out;
        }
        off += used;
        /* Nothing taken right after every ready frame was pulled: the decoder is stuck. */
        stalls = used == 0 ? stalls + 1 : 0;
        if (stalls > 1) {
            r->fatal = TTRPC_E_INVAL;
            goto out;
        }
    }
    r->at_boundary = ttrpc_decoder_at_boundary(&d);
out:
    ttrpc_decoder_free(&d);
}

bool vc_code_matches(const cJSON *want, int32_t code)
{
    int64_t w;
    if (cJSON_IsArray(want)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, want)
        {
            if (vc_json_int(it, INT32_MIN, INT32_MAX, &w) && w == code) {
                return true;
            }
        }
        return false;
    }
    return vc_json_int(want, INT32_MIN, INT32_MAX, &w) && w == code;
}

void vc_compare_emitted(vc_verdict *v, const uint8_t *out, size_t out_len, const cJSON *emit,
                        size_t step)
{
    vc_decode_run r;
    vc_decode_all(out, out_len, SIZE_MAX, &r);
    if (r.fatal != TTRPC_OK || !r.at_boundary) {
        vc_fail(v, "step %zu: the implementation emitted bytes that are not whole frames", step);
        vc_decode_run_free(&r);
        return;
    }
    size_t off = 0;
    if ((size_t)cJSON_GetArraySize(emit) != r.n) {
        vc_fail(v, "step %zu: emitted %zu frames, want %d", step, r.n, cJSON_GetArraySize(emit));
        vc_decode_run_free(&r);
        return;
    }
    size_t i = 0;
    const cJSON *we;
    cJSON_ArrayForEach(we, emit)
    {
        const vc_got_frame *g = &r.frames[i];
        ttrpc_frame_header h;
        if (!vc_json_u32(we, "stream_id", &h.stream_id) || !vc_json_u8(we, "type", &h.type) ||
            !vc_json_u8(we, "flags", &h.flags)) {
            v->harness = true;
            vc_fail(v, "step %zu: emitted frame %zu lacks a header field", step, i);
            break;
        }
        if (g->hdr.stream_id != h.stream_id || g->hdr.type != h.type ||
            g->hdr.flags != h.flags) {
            vc_fail(v, "step %zu: emitted id %u type %u flags %u, want %u %u %u", step,
                    g->hdr.stream_id, g->hdr.type, g->hdr.flags, h.stream_id, h.type, h.flags);
            break;
        }
        const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(we, "bytes");
        if (bytes != NULL) {
            vc_buf want = {0};
            size_t flen = TTRPC_FRAME_HEADER_LEN + g->hdr.length;
            if (!vc_bytes_from_json(bytes, &want)) {
                v->harness = true;
                vc_fail(v, "step %zu: bad emitted bytes in the vector", step);
            } else if (want.len != flen || memcmp(want.data, out + off, flen) != 0) {
                vc_fail(v, "step %zu: emitted frame %zu differs from the expected bytes", step, i);
            }
            vc_buf_free(&want);
        }
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(we, "status_code");
        if (code != NULL) {
            ttrpc_msg_arena arena;
            ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
            ttrpc_response resp;
            ttrpc_err rc = ttrpc_response_decode(g->data.data, g->data.len, &arena, &resp);
            int32_t got = rc == TTRPC_OK && resp.has_status ? resp.status.code : 0;
            if (rc != TTRPC_OK) {
                vc_fail(v, "step %zu: emitted Response does not decode: %s", step,
                        ttrpc_err_name(rc));
            } else if (!vc_code_matches(code, got)) {
                vc_fail(v, "step %zu: emitted status code %d, not the one wanted", step, (int)got);
            }
            ttrpc_msg_arena_reset(&arena);
        }
        off += TTRPC_FRAME_HEADER_LEN + g->hdr.length;
        i++;
    }
    vc_decode_run_free(&r);
}

void vc_compare_delivered(vc_verdict *v, const vc_delivery *ev, const cJSON *want, size_t step)
{
    if (want == NULL) {
        return;
    }
    const char *kind = vc_json_str(want, "kind");
    const char *got_kind = ev->kind == VC_DELIVERED_REQUEST ? "request"
                           : ev->kind == VC_DELIVERED_DATA  ? "data"
                                                           : "response";
    if (kind == NULL || strcmp(kind, got_kind) != 0) {
        vc_fail(v, "step %zu: delivered a %s, want %s", step, got_kind, kind);
        return;
    }
    if (ev->kind == VC_DELIVERED_REQUEST) {
        const cJSON *first = cJSON_GetObjectItemCaseSensitive(want, "first_message");
        if (!vc_str_equal(ev->service, vc_json_str(want, "service")) ||
            !vc_str_equal(ev->method, vc_json_str(want, "method"))) {
            vc_fail(v, "step %zu: delivered Request for another method", step);
        } else if (cJSON_IsBool(first) && cJSON_IsTrue(first) != ev->first_message) {
            vc_fail(v, "step %zu: first_message %d, want %d", step, ev->first_message,
                    cJSON_IsTrue(first));
        }
    } else if (ev->kind == VC_DELIVERED_DATA) {
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(want, "last");
        vc_compare_bytes_field(v, "delivered data", ev->data,
                               cJSON_GetObjectItemCaseSensitive(want, "data"));
        if (cJSON_IsBool(last) && cJSON_IsTrue(last) != ev->last) {
            vc_fail(v, "step %zu: delivered data last %d, want %d", step, ev->last,
                    cJSON_IsTrue(last));
        }
    } else {
        int32_t code = ev->status_code;
        if (!vc_code_matches(cJSON_GetObjectItemCaseSensitive(want, "status_code"), code)) {
            vc_fail(v, "step %zu: delivered Response with code %d", step, (int)code);
        }
        vc_compare_bytes_field(v, "delivered response payload", ev->payload,
                               cJSON_GetObjectItemCaseSensitive(want, "payload"));
    }
}

char *vc_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    vc_buf b = {0};
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (!vc_buf_append(&b, chunk, n)) {
            fclose(f);
            vc_buf_free(&b);
            return NULL;
        }
    }
    fclose(f);
    uint8_t nul = 0;
    if (!vc_buf_append(&b, &nul, 1)) {
        vc_buf_free(&b);
        return NULL;
    }
    *len = b.len - 1;
    return (char *)b.data;
}
