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
#include "vector_compare.h"
#include "vector_session.h"

enum { EXIT_ALL_OK = 0, EXIT_SOME_FAILED = 1, EXIT_CANT_RUN = 2 };

/* Decodes `in` as message kind `as` and compares with {"value": ...} or {"error": ...}; when
 * canonical, re-encodes the decoded message and compares with `in`. */
static void check_message(vc_verdict *v, const char *as, const uint8_t *in, size_t len,
                          const cJSON *expect, bool canonical)
{
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    vc_message got;
    memset(&got, 0, sizeof got);
    ttrpc_err rc;
    got.is_request = as != NULL && strcmp(as, "request") == 0;
    bool is_response = as != NULL && strcmp(as, "response") == 0;
    if (got.is_request) {
        rc = ttrpc_request_decode(in, len, &arena, &got.req);
    } else if (is_response) {
        rc = ttrpc_response_decode(in, len, &arena, &got.resp);
    } else {
        v->harness = true;
        vc_fail(v, "unknown message kind '%s'", as != NULL ? as : "(none)");
        return;
    }
    if (rc != TTRPC_OK) {
        got.error = rc == TTRPC_E_DECODE ? "decode-error" : ttrpc_err_name(rc);
    }
    vc_compare_message(v, &got, expect);
    if (canonical && !v->failed && rc == TTRPC_OK) {
        size_t size = 0;
        rc = got.is_request ? ttrpc_request_encoded_size(&got.req, &size)
                            : ttrpc_response_encoded_size(&got.resp, &size);
        uint8_t *out = malloc(size + 1);
        size_t written = 0;
        if (rc == TTRPC_OK && out != NULL) {
            rc = got.is_request ? ttrpc_request_encode(&got.req, out, size, &written)
                                : ttrpc_response_encode(&got.resp, out, size, &written);
        }
        if (rc != TTRPC_OK || out == NULL) {
            vc_fail(v, "re-encoding the %s failed: %s", as, ttrpc_err_name(rc));
        } else if (written != len || (len != 0 && memcmp(out, in, len) != 0)) {
            vc_fail(v, "re-encoded %s (%zu bytes) differs from the canonical input (%zu bytes)",
                    as, written, len);
        }
        free(out);
    }
    ttrpc_msg_arena_reset(&arena);
}

/* vc_compare_frames asks for a frame's data read as a message: our decoder reads it. */
static void check_frame_message(vc_verdict *v, const char *as, size_t i, const vc_got_frame *g,
                                const cJSON *dec, void *ctx)
{
    (void)i;
    (void)ctx;
    check_message(v, as, g->data.data, g->data.len, dec, false);
}

/* ---- decode vectors ---------------------------------------------------------------------- */

/* Canonical: encoding every expected frame gives the input back. */
static void check_canonical_frames(vc_verdict *v, const cJSON *expect, const vc_buf *input)
{
    vc_buf out = {0};
    const cJSON *wf;
    cJSON_ArrayForEach(wf, cJSON_GetObjectItemCaseSensitive(expect, "frames"))
    {
        ttrpc_frame_header h;
        vc_buf data = {0};
        if (!vc_json_u32(wf, "length", &h.length) || !vc_json_u32(wf, "stream_id", &h.stream_id) ||
            !vc_json_u8(wf, "type", &h.type) || !vc_json_u8(wf, "flags", &h.flags) ||
            !vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(wf, "data"), &data) ||
            !vc_buf_reserve(&out, TTRPC_FRAME_HEADER_LEN + data.len)) {
            v->harness = true;
            vc_fail(v, "canonical vector with a frame that cannot be encoded");
            vc_buf_free(&data);
            break;
        }
        size_t written = 0;
        ttrpc_err rc = ttrpc_frame_encode(&h, data.data, out.data + out.len, out.cap - out.len,
                                          &written);
        vc_buf_free(&data);
        if (rc != TTRPC_OK) {
            vc_fail(v, "ttrpc_frame_encode: %s", ttrpc_err_name(rc));
            break;
        }
        out.len += written;
    }
    if (!v->failed && (out.len != input->len ||
                       (out.len != 0 && memcmp(out.data, input->data, out.len) != 0))) {
        vc_fail(v, "re-encoded frames (%zu bytes) differ from the input (%zu bytes)", out.len,
                input->len);
    }
    vc_buf_free(&out);
}

static void check_decode(vc_verdict *v, const cJSON *vec)
{
    vc_buf input = {0};
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(vec, "expect");
    if (!vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(vec, "input"), &input)) {
        v->harness = true;
        vc_fail(v, "bad input bytes");
        return;
    }
    static const struct {
        size_t chunk;
        const char *how;
    } ways[] = {{SIZE_MAX, "fed whole"}, {1, "fed byte by byte"}};
    for (size_t w = 0; w < sizeof ways / sizeof ways[0] && !v->failed; w++) {
        vc_decode_run r;
        vc_decode_all(input.data, input.len, ways[w].chunk, &r);
        vc_compare_frames(v, &r, expect, ways[w].how, check_frame_message, NULL);
        vc_decode_run_free(&r);
    }
    if (!v->failed && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vec, "canonical"))) {
        check_canonical_frames(v, expect, &input);
    }
    vc_buf_free(&input);
}

static void check_message_vector(vc_verdict *v, const cJSON *vec)
{
    vc_buf input = {0};
    if (!vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(vec, "input"), &input)) {
        v->harness = true;
        vc_fail(v, "bad input bytes");
        return;
    }
    check_message(v, vc_json_str(vec, "message"), input.data, input.len,
                  cJSON_GetObjectItemCaseSensitive(vec, "expect"),
                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vec, "canonical")));
    vc_buf_free(&input);
}

/* ---- sequence vectors -------------------------------------------------------------------- */

typedef struct deliver_ctx {
    vc_verdict *v;
    const cJSON *want;
    size_t step;
} deliver_ctx;

/* Event contents live only until the next session call, so they are compared as they come. */
static void compare_event(const ttrpc_event *ev, void *ctx)
{
    deliver_ctx *d = ctx;
    vc_delivery got = vs_delivery(ev);
    vc_compare_delivered(d->v, &got, d->want, d->step);
}

static void run_sequence(vc_verdict *v, const cJSON *vec, const cJSON *methods_json, size_t chunk)
{
    const char *role = vc_json_str(vec, "role");
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(vec, "methods");
    vs_session c;
    if (!vs_open(&c, v, role, own != NULL ? own : methods_json)) {
        return;
    }
    const char *in_dir = c.role == TTRPC_ROLE_SERVER ? "to-server" : "to-client";
    size_t n = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(vec, "steps"))
    {
        n++;
        const char *dir = vc_json_str(st, "dir");
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(st, "expect");
        vc_buf in = {0};
        uint32_t id;
        if (dir == NULL ||
            !vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(st, "bytes"), &in) ||
            !vc_json_u32(expect, "stream_id", &id)) {
            v->harness = true;
            vc_fail(v, "step %zu is malformed", n);
            vc_buf_free(&in);
            break;
        }
        deliver_ctx d = {v, cJSON_GetObjectItemCaseSensitive(expect, "delivered"), n};
        const char *action = strcmp(dir, in_dir) == 0
                                 ? vs_inbound(&c, v, in.data, in.len, chunk, n, compare_event, &d)
                                 : vs_outbound(&c, v, in.data, in.len, n);
        vc_buf_free(&in);
        if (v->failed) {
            break;
        }
        vc_buf out = {0};
        if (!vs_take_output(&c, &out)) {
            v->harness = true;
            vc_fail(v, "out of memory");
        }
        vc_compare_emitted(v, out.data, out.len, cJSON_GetObjectItemCaseSensitive(expect, "emit"),
                           n);
        vc_buf_free(&out);
        const char *want_action = vc_json_str(expect, "action");
        const char *want_state = vc_json_str(expect, "state");
        const char *state = vs_state(&c, id);
        if (want_action == NULL || strcmp(action, want_action) != 0) {
            vc_fail(v, "step %zu: action %s, want %s", n, action, want_action);
        }
        if (want_state == NULL || strcmp(state, want_state) != 0) {
            vc_fail(v, "step %zu: stream %u state %s, want %s", n, id, state, want_state);
        }
        if (v->failed) {
            break;
        }
    }
    vs_close(&c);
}

static void check_sequence(vc_verdict *v, const cJSON *vec, const cJSON *methods)
{
    run_sequence(v, vec, methods, SIZE_MAX);
    if (!v->failed) {
        vc_verdict bytewise = {0};
        run_sequence(&bytewise, vec, methods, 1);
        if (bytewise.failed) {
            vc_fail(v, "fed byte by byte: %s", bytewise.why);
            v->harness = bytewise.harness;
        }
    }
}

/* ---- fault injection --------------------------------------------------------------------- */

/* Changes one expectation so that a correct implementation can no longer match it. */
static void inject_fault(cJSON *vec)
{
    const char *kind = vc_json_str(vec, "kind");
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
            const char *end = vc_json_str(expect, "end");
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
        const char *a = vc_json_str(e, "action");
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

static bool run_file(options *o, const char *path, totals *t)
{
    size_t len = 0;
    char *text = vc_read_file(path, &len);
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
        const char *id = vc_json_str(vec, "id");
        const char *kind = vc_json_str(vec, "kind");
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
        vc_verdict v = {0};
        if (kind != NULL && strcmp(kind, "decode") == 0) {
            check_decode(&v, vec);
        } else if (kind != NULL && strcmp(kind, "message") == 0) {
            check_message_vector(&v, vec);
        } else if (kind != NULL && strcmp(kind, "sequence") == 0) {
            check_sequence(&v, vec, methods);
        } else {
            v.harness = true;
            vc_fail(&v, "unknown kind '%s'", kind != NULL ? kind : "(none)");
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
