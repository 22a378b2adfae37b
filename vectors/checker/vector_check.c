/* vector_check: runs the golden vectors (vectors/<area>.json, format in vectors/README.md)
 * against the C reference implementation. Each vector is checked twice: its input fed whole,
 * then one byte at a time; decoded frames and messages are compared with the vector's
 * expectation, canonical inputs are re-encoded and compared byte for byte, and sequence
 * vectors drive an in-memory ttrpc_session in the role under test.
 *
 *   usage: vector_check [--fault] [--xfail FILE] [--only ID-PREFIX] FILE.json...
 *
 * Prints "ok - vectors/<id>" or "not ok - vectors/<id>: why" per vector, "xfail - ..." for a
 * vector listed in the xfail file that fails as expected, then a summary line.
 * Exit status: 0 every vector ok, 1 some vector not ok, 2 the checker could not run.
 * --fault corrupts one expectation of every vector before checking it: every vector must then
 * come out "not ok", which proves that a mismatch is noticed. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ttrpc/frame.h"
#include "ttrpc/msg.h"
#include "ttrpc/session.h"
#include "ttrpc/stream.h"

enum { EXIT_ALL_OK = 0, EXIT_SOME_FAILED = 1, EXIT_CANT_RUN = 2 };

/* ---- small helpers ----------------------------------------------------------------------- */

typedef struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} buf;

static void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

static bool buf_reserve(buf *b, size_t more)
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

static bool buf_append(buf *b, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return true;
    }
    if (!buf_reserve(b, n)) {
        return false;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

/* The reason a vector failed; the first one set wins. */
typedef struct verdict {
    bool failed;
    bool harness; /* the checker itself could not run the vector */
    char why[512];
} verdict;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail(verdict *v, const char *fmt, ...)
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

static int hexval(char c)
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

static bool hex_append(buf *b, const char *hex)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || !buf_reserve(b, n / 2)) {
        return false;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(hex[i]);
        int lo = hexval(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        b->data[b->len++] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* A JSON number that must be a whole number in [lo, hi]. */
static bool json_int(const cJSON *item, double lo, double hi, int64_t *out)
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

static bool json_u32(const cJSON *obj, const char *name, uint32_t *out)
{
    int64_t v;
    if (!json_int(cJSON_GetObjectItemCaseSensitive(obj, name), 0, 4294967295.0, &v)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool json_u8(const cJSON *obj, const char *name, uint8_t *out)
{
    int64_t v;
    if (!json_int(cJSON_GetObjectItemCaseSensitive(obj, name), 0, 255, &v)) {
        return false;
    }
    *out = (uint8_t)v;
    return true;
}

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Bytes as the format writes them: a hex string, or an array of segments {"hex": "..."} and
 * {"repeat": {"byte": "00", "count": N}}, concatenated. */
static bool bytes_from_json(const cJSON *spec, buf *out)
{
    if (cJSON_IsString(spec)) {
        return hex_append(out, spec->valuestring);
    }
    if (!cJSON_IsArray(spec)) {
        return false;
    }
    const cJSON *seg;
    cJSON_ArrayForEach(seg, spec)
    {
        const char *hex = json_str(seg, "hex");
        const cJSON *rep = cJSON_GetObjectItemCaseSensitive(seg, "repeat");
        if (hex != NULL) {
            if (!hex_append(out, hex)) {
                return false;
            }
        } else if (cJSON_IsObject(rep)) {
            const char *byte = json_str(rep, "byte");
            int64_t count;
            if (byte == NULL || strlen(byte) != 2 || hexval(byte[0]) < 0 || hexval(byte[1]) < 0 ||
                !json_int(cJSON_GetObjectItemCaseSensitive(rep, "count"), 0, 1 << 30, &count)) {
                return false;
            }
            if (!buf_reserve(out, (size_t)count)) {
                return false;
            }
            memset(out->data + out->len, hexval(byte[0]) << 4 | hexval(byte[1]), (size_t)count);
            out->len += (size_t)count;
        } else {
            return false;
        }
    }
    return true;
}

static bool bytes_equal(ttrpc_bytes got, const buf *want)
{
    return got.len == want->len && (got.len == 0 || memcmp(got.data, want->data, got.len) == 0);
}

/* A JSON string against decoded bytes (vector strings hold no NUL). */
static bool str_equal(ttrpc_bytes got, const char *want)
{
    return want != NULL && ttrpc_bytes_equal_str(got, want);
}

/* ---- messages ---------------------------------------------------------------------------- */

static void compare_bytes_field(verdict *v, const char *what, ttrpc_bytes got,
                                const cJSON *spec)
{
    buf want = {0};
    if (!bytes_from_json(spec, &want)) {
        v->harness = true;
        fail(v, "bad bytes for %s in the vector", what);
    } else if (got.len != want.len) {
        fail(v, "%s: %zu bytes, want %zu", what, got.len, want.len);
    } else if (!bytes_equal(got, &want)) {
        fail(v, "%s: the %zu bytes differ", what, got.len);
    }
    buf_free(&want);
}

static void compare_request(verdict *v, const ttrpc_request *r, const cJSON *want)
{
    if (!str_equal(r->service, json_str(want, "service"))) {
        fail(v, "request service '%.*s', want '%s'", (int)r->service.len,
             (const char *)r->service.data, json_str(want, "service"));
    }
    if (!str_equal(r->method, json_str(want, "method"))) {
        fail(v, "request method '%.*s', want '%s'", (int)r->method.len,
             (const char *)r->method.data, json_str(want, "method"));
    }
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(want, "payload");
    if (payload == NULL) {
        if (r->has_payload) {
            fail(v, "request payload present, want absent");
        }
    } else {
        if (!r->has_payload) {
            fail(v, "request payload absent, want present");
        }
        compare_bytes_field(v, "request payload", r->payload, payload);
    }
    const char *t = json_str(want, "timeout_nano");
    if (t == NULL) {
        v->harness = true;
        fail(v, "vector lacks timeout_nano");
        return;
    }
    errno = 0;
    long long tv = strtoll(t, NULL, 10);
    if (errno != 0 || (int64_t)tv != r->timeout_nano) {
        fail(v, "request timeout_nano %lld, want %s", (long long)r->timeout_nano, t);
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(want, "metadata");
    if ((size_t)cJSON_GetArraySize(md) != r->n_metadata) {
        fail(v, "request has %zu metadata entries, want %d", r->n_metadata,
             cJSON_GetArraySize(md));
        return;
    }
    size_t i = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, md)
    {
        if (!str_equal(r->metadata[i].key, json_str(kv, "key")) ||
            !str_equal(r->metadata[i].value, json_str(kv, "value"))) {
            fail(v, "request metadata entry %zu differs", i);
        }
        i++;
    }
}

static void compare_status(verdict *v, const ttrpc_status *s, const cJSON *want)
{
    int64_t code;
    if (!json_int(cJSON_GetObjectItemCaseSensitive(want, "code"), INT32_MIN, INT32_MAX, &code)) {
        v->harness = true;
        fail(v, "vector status lacks a code");
        return;
    }
    if (s->code != code) {
        fail(v, "status code %d, want %lld", (int)s->code, (long long)code);
    }
    if (!str_equal(s->message, json_str(want, "message"))) {
        fail(v, "status message '%.*s', want '%s'", (int)s->message.len,
             (const char *)s->message.data, json_str(want, "message"));
    }
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(want, "details");
    if ((size_t)cJSON_GetArraySize(details) != s->n_details) {
        fail(v, "status has %zu details, want %d", s->n_details, cJSON_GetArraySize(details));
        return;
    }
    size_t i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, details)
    {
        if (!str_equal(s->details[i].type_url, json_str(d, "type_url"))) {
            fail(v, "status detail %zu type_url differs", i);
        }
        compare_bytes_field(v, "status detail value", s->details[i].value,
                            cJSON_GetObjectItemCaseSensitive(d, "value"));
        i++;
    }
}

static void compare_response(verdict *v, const ttrpc_response *r, const cJSON *want)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(want, "status");
    if (status == NULL) {
        if (r->has_status) {
            fail(v, "response status present, want absent");
        }
    } else if (!r->has_status) {
        fail(v, "response status absent, want present");
    } else {
        compare_status(v, &r->status, status);
    }
    compare_bytes_field(v, "response payload", r->payload,
                        cJSON_GetObjectItemCaseSensitive(want, "payload"));
    const cJSON *success = cJSON_GetObjectItemCaseSensitive(want, "success");
    bool ok = !r->has_status || r->status.code == TTRPC_CODE_OK;
    if (cJSON_IsBool(success) && cJSON_IsTrue(success) != ok) {
        fail(v, "response success %d, want %d", ok, cJSON_IsTrue(success));
    }
}

/* Decodes `in` as message kind `as` and compares with {"value": ...} or {"error": ...}; when
 * canonical, re-encodes the decoded message and compares with `in`. */
static void check_message(verdict *v, const char *as, const uint8_t *in, size_t len,
                          const cJSON *expect, bool canonical)
{
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(expect, "value");
    const char *error = json_str(expect, "error");
    ttrpc_err rc;
    ttrpc_request req;
    ttrpc_response resp;
    bool is_request = as != NULL && strcmp(as, "request") == 0;
    bool is_response = as != NULL && strcmp(as, "response") == 0;
    if (is_request) {
        rc = ttrpc_request_decode(in, len, &arena, &req);
    } else if (is_response) {
        rc = ttrpc_response_decode(in, len, &arena, &resp);
    } else {
        v->harness = true;
        fail(v, "unknown message kind '%s'", as != NULL ? as : "(none)");
        return;
    }
    if (error != NULL) {
        if (strcmp(error, "decode-error") != 0) {
            v->harness = true;
            fail(v, "unknown message error class '%s'", error);
        } else if (rc != TTRPC_E_DECODE) {
            fail(v, "%s decode gave %s, want decode-error", as, ttrpc_err_name(rc));
        }
        ttrpc_msg_arena_reset(&arena);
        return;
    }
    if (rc != TTRPC_OK) {
        fail(v, "%s decode gave %s, want a value", as, ttrpc_err_name(rc));
        ttrpc_msg_arena_reset(&arena);
        return;
    }
    if (!cJSON_IsObject(value)) {
        v->harness = true;
        fail(v, "expectation has neither value nor error");
        ttrpc_msg_arena_reset(&arena);
        return;
    }
    if (is_request) {
        compare_request(v, &req, value);
    } else {
        compare_response(v, &resp, value);
    }
    if (canonical && !v->failed) {
        size_t size = 0;
        rc = is_request ? ttrpc_request_encoded_size(&req, &size)
                        : ttrpc_response_encoded_size(&resp, &size);
        uint8_t *out = malloc(size + 1);
        size_t written = 0;
        if (rc == TTRPC_OK && out != NULL) {
            rc = is_request ? ttrpc_request_encode(&req, out, size, &written)
                            : ttrpc_response_encode(&resp, out, size, &written);
        }
        if (rc != TTRPC_OK || out == NULL) {
            fail(v, "re-encoding the %s failed: %s", as, ttrpc_err_name(rc));
        } else if (written != len || (len != 0 && memcmp(out, in, len) != 0)) {
            fail(v, "re-encoded %s (%zu bytes) differs from the canonical input (%zu bytes)",
                 as, written, len);
        }
        free(out);
    }
    ttrpc_msg_arena_reset(&arena);
}

/* ---- decode vectors ---------------------------------------------------------------------- */

typedef struct got_frame {
    bool too_large;
    ttrpc_frame_header hdr;
    buf data;
} got_frame;

typedef struct decode_run {
    got_frame *frames;
    size_t n;
    bool at_boundary;
    ttrpc_err fatal; /* TTRPC_OK unless the decoder failed outright */
} decode_run;

static void decode_run_free(decode_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        buf_free(&r->frames[i].data);
    }
    free(r->frames);
    memset(r, 0, sizeof *r);
}

static bool record(decode_run *r, bool too_large, const ttrpc_frame *f)
{
    got_frame *p = realloc(r->frames, (r->n + 1) * sizeof *p);
    if (p == NULL) {
        return false;
    }
    r->frames = p;
    got_frame *g = &r->frames[r->n++];
    memset(g, 0, sizeof *g);
    g->too_large = too_large;
    g->hdr = f->hdr;
    return too_large || buf_append(&g->data, f->data, f->hdr.length);
}

/* Feeds `in` in chunks of at most `chunk` bytes, pulling every frame as soon as it is ready. */
static void decode_all(const uint8_t *in, size_t len, size_t chunk, decode_run *r)
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

static void compare_frames(verdict *v, const decode_run *r, const cJSON *expect,
                           const char *how)
{
    if (r->fatal != TTRPC_OK) {
        fail(v, "%s: decoder failed with %s", how, ttrpc_err_name(r->fatal));
        return;
    }
    const cJSON *frames = cJSON_GetObjectItemCaseSensitive(expect, "frames");
    if ((size_t)cJSON_GetArraySize(frames) != r->n) {
        fail(v, "%s: %zu frames, want %d", how, r->n, cJSON_GetArraySize(frames));
        return;
    }
    size_t i = 0;
    const cJSON *wf;
    cJSON_ArrayForEach(wf, frames)
    {
        const got_frame *g = &r->frames[i];
        ttrpc_frame_header h;
        if (!json_u32(wf, "length", &h.length) || !json_u32(wf, "stream_id", &h.stream_id) ||
            !json_u8(wf, "type", &h.type) || !json_u8(wf, "flags", &h.flags)) {
            v->harness = true;
            fail(v, "frame %zu of the vector lacks a header field", i);
            return;
        }
        const char *err = json_str(wf, "error");
        if (err != NULL && strcmp(err, "too-large") != 0) {
            v->harness = true;
            fail(v, "unknown frame error class '%s'", err);
            return;
        }
        if ((err != NULL) != g->too_large) {
            fail(v, "%s: frame %zu %s, want %s", how, i, g->too_large ? "too-large" : "decoded",
                 err != NULL ? "too-large" : "decoded");
            return;
        }
        if (g->hdr.length != h.length || g->hdr.stream_id != h.stream_id ||
            g->hdr.type != h.type || g->hdr.flags != h.flags) {
            fail(v,
                 "%s: frame %zu header length %u id %u type %u flags %u, want %u %u %u %u", how,
                 i, g->hdr.length, g->hdr.stream_id, g->hdr.type, g->hdr.flags, h.length,
                 h.stream_id, h.type, h.flags);
            return;
        }
        if (err == NULL) {
            ttrpc_bytes got = {g->data.data, g->data.len};
            compare_bytes_field(v, "frame data", got,
                                cJSON_GetObjectItemCaseSensitive(wf, "data"));
            const cJSON *dec = cJSON_GetObjectItemCaseSensitive(wf, "decode");
            if (dec != NULL) {
                check_message(v, json_str(dec, "as"), g->data.data, g->data.len, dec, false);
            }
        }
        i++;
    }
    const char *end = json_str(expect, "end");
    bool want_boundary = end != NULL && strcmp(end, "boundary") == 0;
    if (end == NULL || (!want_boundary && strcmp(end, "truncated") != 0)) {
        v->harness = true;
        fail(v, "expect.end must be boundary or truncated");
    } else if (r->at_boundary != want_boundary) {
        fail(v, "%s: input ends %s, want %s", how, r->at_boundary ? "at a boundary" : "truncated",
             end);
    }
}

/* Canonical: encoding every expected frame gives the input back. */
static void check_canonical_frames(verdict *v, const cJSON *expect, const buf *input)
{
    buf out = {0};
    const cJSON *wf;
    cJSON_ArrayForEach(wf, cJSON_GetObjectItemCaseSensitive(expect, "frames"))
    {
        ttrpc_frame_header h;
        buf data = {0};
        if (!json_u32(wf, "length", &h.length) || !json_u32(wf, "stream_id", &h.stream_id) ||
            !json_u8(wf, "type", &h.type) || !json_u8(wf, "flags", &h.flags) ||
            !bytes_from_json(cJSON_GetObjectItemCaseSensitive(wf, "data"), &data) ||
            !buf_reserve(&out, TTRPC_FRAME_HEADER_LEN + data.len)) {
            v->harness = true;
            fail(v, "canonical vector with a frame that cannot be encoded");
            buf_free(&data);
            break;
        }
        size_t written = 0;
        ttrpc_err rc = ttrpc_frame_encode(&h, data.data, out.data + out.len, out.cap - out.len,
                                          &written);
        buf_free(&data);
        if (rc != TTRPC_OK) {
            fail(v, "ttrpc_frame_encode: %s", ttrpc_err_name(rc));
            break;
        }
        out.len += written;
    }
    if (!v->failed && (out.len != input->len ||
                       (out.len != 0 && memcmp(out.data, input->data, out.len) != 0))) {
        fail(v, "re-encoded frames (%zu bytes) differ from the input (%zu bytes)", out.len,
             input->len);
    }
    buf_free(&out);
}

static void check_decode(verdict *v, const cJSON *vec)
{
    buf input = {0};
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(vec, "expect");
    if (!bytes_from_json(cJSON_GetObjectItemCaseSensitive(vec, "input"), &input)) {
        v->harness = true;
        fail(v, "bad input bytes");
        return;
    }
    static const struct {
        size_t chunk;
        const char *how;
    } ways[] = {{SIZE_MAX, "fed whole"}, {1, "fed byte by byte"}};
    for (size_t w = 0; w < sizeof ways / sizeof ways[0] && !v->failed; w++) {
        decode_run r;
        decode_all(input.data, input.len, ways[w].chunk, &r);
        compare_frames(v, &r, expect, ways[w].how);
        decode_run_free(&r);
    }
    if (!v->failed && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vec, "canonical"))) {
        check_canonical_frames(v, expect, &input);
    }
    buf_free(&input);
}

static void check_message_vector(verdict *v, const cJSON *vec)
{
    buf input = {0};
    if (!bytes_from_json(cJSON_GetObjectItemCaseSensitive(vec, "input"), &input)) {
        v->harness = true;
        fail(v, "bad input bytes");
        return;
    }
    check_message(v, json_str(vec, "message"), input.data, input.len,
                  cJSON_GetObjectItemCaseSensitive(vec, "expect"),
                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vec, "canonical")));
    buf_free(&input);
}

/* ---- sequence vectors -------------------------------------------------------------------- */

/* What the checker has seen of one stream id, to tell CLOSED from IDLE: the session reports
 * every stream that is not live as IDLE. */
typedef struct id_seen {
    uint32_t id;
    bool was_live;
    bool response_sent; /* the implementation emitted a Response on it: the stream ended */
} id_seen;

typedef struct seq_ctx {
    ttrpc_session *s;
    ttrpc_role role;
    id_seen ids[64];
    size_t n_ids;
} seq_ctx;

static id_seen *seen(seq_ctx *c, uint32_t id)
{
    for (size_t i = 0; i < c->n_ids; i++) {
        if (c->ids[i].id == id) {
            return &c->ids[i];
        }
    }
    if (c->n_ids == sizeof c->ids / sizeof c->ids[0]) {
        return &c->ids[c->n_ids - 1]; /* vectors use a handful of ids */
    }
    id_seen *e = &c->ids[c->n_ids++];
    memset(e, 0, sizeof *e);
    e->id = id;
    return e;
}

static const char *observed_state(seq_ctx *c, uint32_t id)
{
    ttrpc_stream_state st = ttrpc_session_stream_state(c->s, id);
    id_seen *e = seen(c, id);
    if (st != TTRPC_STREAM_IDLE) {
        e->was_live = true;
        return ttrpc_stream_state_name(st);
    }
    return e->was_live || e->response_sent ? "CLOSED" : "IDLE";
}

static bool code_matches(const cJSON *want, int32_t code)
{
    int64_t w;
    if (cJSON_IsArray(want)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, want)
        {
            if (json_int(it, INT32_MIN, INT32_MAX, &w) && w == code) {
                return true;
            }
        }
        return false;
    }
    return json_int(want, INT32_MIN, INT32_MAX, &w) && w == code;
}

/* Takes everything the session queued, splits it into frames and compares with `emit`. */
static void compare_emitted(verdict *v, seq_ctx *c, const cJSON *emit, size_t step)
{
    const uint8_t *out = NULL;
    size_t out_len = 0;
    ttrpc_session_output(c->s, &out, &out_len);
    decode_run r;
    decode_all(out, out_len, SIZE_MAX, &r);
    ttrpc_session_output_consumed(c->s, out_len);
    if (r.fatal != TTRPC_OK || !r.at_boundary) {
        fail(v, "step %zu: the implementation emitted bytes that are not whole frames", step);
        decode_run_free(&r);
        return;
    }
    size_t off = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.frames[i].hdr.type == TTRPC_TYPE_RESPONSE) {
            seen(c, r.frames[i].hdr.stream_id)->response_sent = true;
        }
    }
    if ((size_t)cJSON_GetArraySize(emit) != r.n) {
        fail(v, "step %zu: emitted %zu frames, want %d", step, r.n, cJSON_GetArraySize(emit));
        decode_run_free(&r);
        return;
    }
    size_t i = 0;
    const cJSON *we;
    cJSON_ArrayForEach(we, emit)
    {
        const got_frame *g = &r.frames[i];
        ttrpc_frame_header h;
        if (!json_u32(we, "stream_id", &h.stream_id) || !json_u8(we, "type", &h.type) ||
            !json_u8(we, "flags", &h.flags)) {
            v->harness = true;
            fail(v, "step %zu: emitted frame %zu lacks a header field", step, i);
            break;
        }
        if (g->hdr.stream_id != h.stream_id || g->hdr.type != h.type ||
            g->hdr.flags != h.flags) {
            fail(v, "step %zu: emitted id %u type %u flags %u, want %u %u %u", step,
                 g->hdr.stream_id, g->hdr.type, g->hdr.flags, h.stream_id, h.type, h.flags);
            break;
        }
        const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(we, "bytes");
        if (bytes != NULL) {
            buf want = {0};
            size_t flen = TTRPC_FRAME_HEADER_LEN + g->hdr.length;
            if (!bytes_from_json(bytes, &want)) {
                v->harness = true;
                fail(v, "step %zu: bad emitted bytes in the vector", step);
            } else if (want.len != flen || memcmp(want.data, out + off, flen) != 0) {
                fail(v, "step %zu: emitted frame %zu differs from the expected bytes", step, i);
            }
            buf_free(&want);
        }
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(we, "status_code");
        if (code != NULL) {
            ttrpc_msg_arena arena;
            ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
            ttrpc_response resp;
            ttrpc_err rc = ttrpc_response_decode(g->data.data, g->data.len, &arena, &resp);
            int32_t got = rc == TTRPC_OK && resp.has_status ? resp.status.code : 0;
            if (rc != TTRPC_OK) {
                fail(v, "step %zu: emitted Response does not decode: %s", step,
                     ttrpc_err_name(rc));
            } else if (!code_matches(code, got)) {
                fail(v, "step %zu: emitted status code %d, not the one wanted", step, (int)got);
            }
            ttrpc_msg_arena_reset(&arena);
        }
        off += TTRPC_FRAME_HEADER_LEN + g->hdr.length;
        i++;
    }
    decode_run_free(&r);
}

/* Compares one delivered event with the step's "delivered" object (when the vector has one).
 * Event contents live only until the next session call, so this runs as the event arrives. */
static void compare_delivered(verdict *v, const ttrpc_event *ev, const cJSON *want, size_t step)
{
    if (want == NULL) {
        return;
    }
    const char *kind = json_str(want, "kind");
    const char *got_kind = ev->kind == TTRPC_EVENT_REQUEST ? "request"
                           : ev->kind == TTRPC_EVENT_DATA  ? "data"
                                                           : "response";
    if (kind == NULL || strcmp(kind, got_kind) != 0) {
        fail(v, "step %zu: delivered a %s, want %s", step, got_kind, kind);
        return;
    }
    if (ev->kind == TTRPC_EVENT_REQUEST) {
        const cJSON *first = cJSON_GetObjectItemCaseSensitive(want, "first_message");
        if (!str_equal(ev->request->service, json_str(want, "service")) ||
            !str_equal(ev->request->method, json_str(want, "method"))) {
            fail(v, "step %zu: delivered Request for another method", step);
        } else if (cJSON_IsBool(first) && cJSON_IsTrue(first) != ev->first_message) {
            fail(v, "step %zu: first_message %d, want %d", step, ev->first_message,
                 cJSON_IsTrue(first));
        }
    } else if (ev->kind == TTRPC_EVENT_DATA) {
        const cJSON *last = cJSON_GetObjectItemCaseSensitive(want, "last");
        compare_bytes_field(v, "delivered data", ev->data,
                            cJSON_GetObjectItemCaseSensitive(want, "data"));
        if (cJSON_IsBool(last) && cJSON_IsTrue(last) != ev->last) {
            fail(v, "step %zu: delivered data last %d, want %d", step, ev->last,
                 cJSON_IsTrue(last));
        }
    } else {
        int32_t code = ev->response->has_status ? ev->response->status.code : 0;
        if (!code_matches(cJSON_GetObjectItemCaseSensitive(want, "status_code"), code)) {
            fail(v, "step %zu: delivered Response with code %d", step, (int)code);
        }
        compare_bytes_field(v, "delivered response payload", ev->response->payload,
                            cJSON_GetObjectItemCaseSensitive(want, "payload"));
    }
}

/* A frame arriving at the implementation: fed in chunks, every event pulled. */
static const char *step_inbound(verdict *v, seq_ctx *c, const buf *in, size_t chunk,
                                size_t step, const cJSON *want_delivered)
{
    ttrpc_session_stats before = ttrpc_session_get_stats(c->s);
    bool delivered = false;
    size_t off = 0;
    int stalls = 0;
    for (;;) {
        ttrpc_event ev;
        ttrpc_err rc;
        while ((rc = ttrpc_session_next_event(c->s, &ev)) == TTRPC_OK) {
            if (ev.kind == TTRPC_EVENT_REQUEST || ev.kind == TTRPC_EVENT_DATA ||
                ev.kind == TTRPC_EVENT_RESPONSE) {
                delivered = true;
                compare_delivered(v, &ev, want_delivered, step);
            }
        }
        if (rc != TTRPC_E_AGAIN) {
            fail(v, "step %zu: ttrpc_session_next_event: %s", step, ttrpc_err_name(rc));
            return "?";
        }
        if (off == in->len) {
            break;
        }
        size_t n = in->len - off < chunk ? in->len - off : chunk;
        size_t used = 0;
        rc = ttrpc_session_feed(c->s, in->data + off, n, &used);
        if (rc != TTRPC_OK) {
            fail(v, "step %zu: ttrpc_session_feed: %s", step, ttrpc_err_name(rc));
            return "?";
        }
        off += used;
        stalls = used == 0 ? stalls + 1 : 0;
        if (stalls > 1) {
            fail(v, "step %zu: the session takes no more input", step);
            return "?";
        }
    }
    ttrpc_session_stats after = ttrpc_session_get_stats(c->s);
    if (after.rejected != before.rejected) {
        return "REJECT";
    }
    if (after.ignored != before.ignored) {
        return "IGNORE";
    }
    return delivered ? "DELIVER" : "ACCEPT";
}

/* A frame the application asks the implementation to send. */
static const char *step_outbound(verdict *v, seq_ctx *c, const buf *in, size_t step)
{
    if (in->len < TTRPC_FRAME_HEADER_LEN) {
        v->harness = true;
        fail(v, "step %zu: not a frame", step);
        return "?";
    }
    ttrpc_frame_header h;
    ttrpc_frame_header_read(in->data, &h);
    const uint8_t *data = in->data + TTRPC_FRAME_HEADER_LEN;
    size_t len = in->len - TTRPC_FRAME_HEADER_LEN;
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_err rc = TTRPC_E_INVAL;
    if (h.type == TTRPC_TYPE_DATA) {
        switch (h.flags) {
        case 0:
            rc = ttrpc_session_send_data(c->s, h.stream_id, data, len, false);
            break;
        case TTRPC_FLAG_REMOTE_CLOSED:
            rc = ttrpc_session_send_data(c->s, h.stream_id, data, len, true);
            break;
        case TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA:
            rc = len == 0 ? ttrpc_session_send_close(c->s, h.stream_id) : TTRPC_E_INVAL;
            break;
        default:
            v->harness = true;
            fail(v, "step %zu: the session API cannot send Data flags 0x%02x", step, h.flags);
            return "?";
        }
    } else if (h.type == TTRPC_TYPE_RESPONSE) {
        ttrpc_response resp;
        if (ttrpc_response_decode(data, len, &arena, &resp) != TTRPC_OK) {
            v->harness = true;
            fail(v, "step %zu: the Response to send does not decode", step);
            return "?";
        }
        rc = ttrpc_session_send_response(c->s, h.stream_id, &resp);
    } else if (h.type == TTRPC_TYPE_REQUEST && c->role == TTRPC_ROLE_CLIENT) {
        ttrpc_request req;
        static const ttrpc_method_kind kinds[4] = {TTRPC_METHOD_UNARY,
                                                   TTRPC_METHOD_SERVER_STREAM,
                                                   TTRPC_METHOD_CLIENT_STREAM, 0};
        if ((h.flags & 3) == 3 || ttrpc_request_decode(data, len, &arena, &req) != TTRPC_OK) {
            v->harness = true;
            fail(v, "step %zu: the session API cannot send this Request", step);
            return "?";
        }
        uint32_t id = 0;
        rc = ttrpc_session_call(c->s, &req, kinds[h.flags & 3], &id);
        if (rc == TTRPC_OK && id != h.stream_id) {
            fail(v, "step %zu: the call got stream id %u, the vector says %u", step, id,
                 h.stream_id);
        }
    } else {
        v->harness = true;
        fail(v, "step %zu: the session API cannot send type %u in this role", step, h.type);
        return "?";
    }
    ttrpc_msg_arena_reset(&arena);
    if (rc == TTRPC_OK) {
        return "ACCEPT";
    }
    if (rc == TTRPC_E_INVAL || rc == TTRPC_E_NOT_FOUND) {
        return "REFUSE";
    }
    fail(v, "step %zu: sending failed with %s", step, ttrpc_err_name(rc));
    return "?";
}

static bool method_kind(const char *s, ttrpc_method_kind *out)
{
    static const struct {
        const char *name;
        ttrpc_method_kind kind;
    } kinds[] = {{"unary", TTRPC_METHOD_UNARY},
                 {"server-stream", TTRPC_METHOD_SERVER_STREAM},
                 {"client-stream", TTRPC_METHOD_CLIENT_STREAM},
                 {"bidi", TTRPC_METHOD_BIDI}};
    for (size_t i = 0; s != NULL && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *out = kinds[i].kind;
            return true;
        }
    }
    return false;
}

static void run_sequence(verdict *v, const cJSON *vec, const cJSON *methods_json, size_t chunk)
{
    const char *role = json_str(vec, "role");
    seq_ctx c;
    memset(&c, 0, sizeof c);
    if (role == NULL || (strcmp(role, "server") != 0 && strcmp(role, "client") != 0)) {
        v->harness = true;
        fail(v, "role must be server or client");
        return;
    }
    c.role = strcmp(role, "server") == 0 ? TTRPC_ROLE_SERVER : TTRPC_ROLE_CLIENT;
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(vec, "methods");
    if (own != NULL) {
        methods_json = own;
    }
    ttrpc_method_desc methods[32];
    size_t n_methods = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, methods_json)
    {
        if (n_methods == sizeof methods / sizeof methods[0] ||
            (methods[n_methods].service = json_str(m, "service")) == NULL ||
            (methods[n_methods].method = json_str(m, "method")) == NULL ||
            !method_kind(json_str(m, "kind"), &methods[n_methods].kind)) {
            v->harness = true;
            fail(v, "bad methods table");
            return;
        }
        n_methods++;
    }
    ttrpc_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = c.role;
    if (c.role == TTRPC_ROLE_SERVER) {
        cfg.methods = methods;
        cfg.n_methods = n_methods;
    }
    ttrpc_err rc = ttrpc_session_new(&cfg, &c.s);
    if (rc != TTRPC_OK) {
        v->harness = true;
        fail(v, "ttrpc_session_new: %s", ttrpc_err_name(rc));
        return;
    }
    const char *in_dir = c.role == TTRPC_ROLE_SERVER ? "to-server" : "to-client";
    size_t n = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(vec, "steps"))
    {
        n++;
        const char *dir = json_str(st, "dir");
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(st, "expect");
        buf in = {0};
        uint32_t id;
        if (dir == NULL || !bytes_from_json(cJSON_GetObjectItemCaseSensitive(st, "bytes"), &in) ||
            !json_u32(expect, "stream_id", &id)) {
            v->harness = true;
            fail(v, "step %zu is malformed", n);
            buf_free(&in);
            break;
        }
        const char *action = strcmp(dir, in_dir) == 0 ? step_inbound(v, &c, &in, chunk, n,
                                                   cJSON_GetObjectItemCaseSensitive(expect,
                                                                                    "delivered"))
                                                       : step_outbound(v, &c, &in, n);
        buf_free(&in);
        if (v->failed) {
            break;
        }
        compare_emitted(v, &c, cJSON_GetObjectItemCaseSensitive(expect, "emit"), n);
        const char *want_action = json_str(expect, "action");
        const char *want_state = json_str(expect, "state");
        const char *state = observed_state(&c, id);
        if (want_action == NULL || strcmp(action, want_action) != 0) {
            fail(v, "step %zu: action %s, want %s", n, action, want_action);
        }
        if (want_state == NULL || strcmp(state, want_state) != 0) {
            fail(v, "step %zu: stream %u state %s, want %s", n, id, state, want_state);
        }
        if (v->failed) {
            break;
        }
    }
    ttrpc_session_free(c.s);
}

static void check_sequence(verdict *v, const cJSON *vec, const cJSON *methods)
{
    run_sequence(v, vec, methods, SIZE_MAX);
    if (!v->failed) {
        verdict bytewise = {0};
        run_sequence(&bytewise, vec, methods, 1);
        if (bytewise.failed) {
            fail(v, "fed byte by byte: %s", bytewise.why);
            v->harness = bytewise.harness;
        }
    }
}

/* ---- fault injection --------------------------------------------------------------------- */

/* Changes one expectation so that a correct implementation can no longer match it. */
static void inject_fault(cJSON *vec)
{
    const char *kind = json_str(vec, "kind");
    cJSON *expect = cJSON_GetObjectItemCaseSensitive(vec, "expect");
    if (kind == NULL) {
        return;
    }
    if (strcmp(kind, "decode") == 0) {
        cJSON *frames = cJSON_GetObjectItemCaseSensitive(expect, "frames");
        cJSON *f0 = cJSON_GetArrayItem(frames, 0);
        if (f0 != NULL) {
            cJSON *sid = cJSON_GetObjectItemCaseSensitive(f0, "stream_id");
            uint32_t id = (uint32_t)sid->valuedouble;
            cJSON_SetNumberValue(sid, (double)(id ^ 1u));
        } else {
            const char *end = json_str(expect, "end");
            cJSON_ReplaceItemInObjectCaseSensitive(
                expect, "end",
                cJSON_CreateString(end != NULL && strcmp(end, "boundary") == 0 ? "truncated"
                                                                               : "boundary"));
        }
    } else if (strcmp(kind, "message") == 0) {
        if (cJSON_GetObjectItemCaseSensitive(expect, "error") != NULL) {
            cJSON_DeleteItemFromObjectCaseSensitive(expect, "error");
            cJSON_AddItemToObject(expect, "value", cJSON_CreateObject());
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(expect, "value");
            cJSON_AddStringToObject(expect, "error", "decode-error");
        }
    } else if (strcmp(kind, "sequence") == 0) {
        cJSON *steps = cJSON_GetObjectItemCaseSensitive(vec, "steps");
        cJSON *last = cJSON_GetArrayItem(steps, cJSON_GetArraySize(steps) - 1);
        cJSON *e = cJSON_GetObjectItemCaseSensitive(last, "expect");
        const char *a = json_str(e, "action");
        cJSON_ReplaceItemInObjectCaseSensitive(
            e, "action", cJSON_CreateString(a != NULL && strcmp(a, "IGNORE") == 0 ? "DELIVER"
                                                                                  : "IGNORE"));
    }
}

/* ---- driver ------------------------------------------------------------------------------ */

typedef struct xfail_entry {
    char *id;
    char *reason;
    bool used;
} xfail_entry;

typedef struct options {
    bool fault;
    const char *only;
    xfail_entry *xfail;
    size_t n_xfail;
} options;

typedef struct totals {
    unsigned ok, not_ok, xfail, harness;
} totals;

static const xfail_entry *xfail_find(options *o, const char *id)
{
    for (size_t i = 0; i < o->n_xfail; i++) {
        if (strcmp(o->xfail[i].id, id) == 0) {
            o->xfail[i].used = true;
            return &o->xfail[i];
        }
    }
    return NULL;
}

/* One id per line, then whitespace and the reason; '#' starts a comment line. */
static bool load_xfail(options *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "vector_check: %s: %s\n", path, strerror(errno));
        return false;
    }
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        size_t idlen = strcspn(line, " \t");
        const char *reason = line + idlen + strspn(line + idlen, " \t");
        xfail_entry *p = realloc(o->xfail, (o->n_xfail + 1) * sizeof *p);
        if (p == NULL) {
            fclose(f);
            return false;
        }
        o->xfail = p;
        p[o->n_xfail].id = strndup(line, idlen);
        p[o->n_xfail].reason = strdup(reason);
        p[o->n_xfail].used = false;
        o->n_xfail++;
    }
    fclose(f);
    return true;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    buf b = {0};
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (!buf_append(&b, chunk, n)) {
            fclose(f);
            buf_free(&b);
            return NULL;
        }
    }
    fclose(f);
    uint8_t nul = 0;
    if (!buf_append(&b, &nul, 1)) {
        buf_free(&b);
        return NULL;
    }
    *len = b.len - 1;
    return (char *)b.data;
}

static bool run_file(options *o, const char *path, totals *t)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    if (text == NULL) {
        fprintf(stderr, "vector_check: %s: %s\n", path, strerror(errno));
        return false;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *vectors = cJSON_GetObjectItemCaseSensitive(doc, "vectors");
    if (doc == NULL || !cJSON_IsArray(vectors)) {
        fprintf(stderr, "vector_check: %s: not a vector file\n", path);
        cJSON_Delete(doc);
        return false;
    }
    const cJSON *methods = cJSON_GetObjectItemCaseSensitive(doc, "methods");
    cJSON *vec;
    cJSON_ArrayForEach(vec, vectors)
    {
        const char *id = json_str(vec, "id");
        const char *kind = json_str(vec, "kind");
        if (id == NULL) {
            fprintf(stderr, "vector_check: %s: a vector without an id\n", path);
            t->harness++;
            continue;
        }
        if (o->only != NULL && strncmp(id, o->only, strlen(o->only)) != 0) {
            continue;
        }
        if (o->fault) {
            inject_fault(vec);
        }
        verdict v = {0};
        if (kind != NULL && strcmp(kind, "decode") == 0) {
            check_decode(&v, vec);
        } else if (kind != NULL && strcmp(kind, "message") == 0) {
            check_message_vector(&v, vec);
        } else if (kind != NULL && strcmp(kind, "sequence") == 0) {
            check_sequence(&v, vec, methods);
        } else {
            v.harness = true;
            fail(&v, "unknown kind '%s'", kind != NULL ? kind : "(none)");
        }
        const xfail_entry *x = o->fault ? NULL : xfail_find(o, id);
        if (v.harness) {
            t->harness++;
            t->not_ok++;
            printf("not ok - vectors/%s: checker error: %s\n", id, v.why);
        } else if (x != NULL && v.failed) {
            t->xfail++;
            printf("xfail - vectors/%s: %s # known mismatch: %s\n", id, v.why, x->reason);
        } else if (x != NULL) {
            t->not_ok++;
            printf("not ok - vectors/%s: listed as a known mismatch but passes\n", id);
        } else if (v.failed) {
            t->not_ok++;
            printf("not ok - vectors/%s: %s\n", id, v.why);
        } else {
            t->ok++;
            printf("ok - vectors/%s\n", id);
        }
        fflush(stdout);
    }
    cJSON_Delete(doc);
    return true;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vector_check [--fault] [--xfail FILE] [--only ID-PREFIX] FILE.json...\n");
}

int main(int argc, char **argv)
{
    options o = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--fault") == 0) {
            o.fault = true;
        } else if (strcmp(argv[i], "--xfail") == 0 && i + 1 < argc) {
            if (!load_xfail(&o, argv[++i])) {
                return EXIT_CANT_RUN;
            }
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            o.only = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EXIT_ALL_OK;
        } else {
            usage(stderr);
            return EXIT_CANT_RUN;
        }
    }
    if (i == argc) {
        usage(stderr);
        return EXIT_CANT_RUN;
    }
    totals t = {0};
    bool ran = true;
    for (; i < argc; i++) {
        ran = run_file(&o, argv[i], &t) && ran;
    }
    for (size_t k = 0; k < o.n_xfail; k++) {
        if (!o.xfail[k].used && o.only == NULL && !o.fault) {
            printf("# xfail entry %s matches no vector\n", o.xfail[k].id);
        }
        free(o.xfail[k].id);
        free(o.xfail[k].reason);
    }
    free(o.xfail);
    printf("# vectors: %u ok, %u not ok, %u known mismatches, %u checker errors\n", t.ok,
           t.not_ok, t.xfail, t.harness);
    if (!ran || t.harness != 0) {
        return EXIT_CANT_RUN;
    }
    return t.not_ok == 0 ? EXIT_ALL_OK : EXIT_SOME_FAILED;
}
