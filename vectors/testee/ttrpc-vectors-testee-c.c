/* ttrpc-vectors-testee-c: the C reference (impl/, through build/libttrpc.a) behind the testee
 * protocol of `ttrpc-conform vectors --exec` (vectors/README.md, "Checking other
 * implementations"). Requests arrive on stdin and replies leave on stdout, each a 4-byte
 * big-endian length and that many bytes of JSON; the runner does every comparison, so this
 * file only turns bytes into frames and messages and those into JSON.
 *
 *   usage: ttrpc-vectors-testee-c [--fault NAME[:ID-PREFIX]]
 *
 * --fault makes it wrong on purpose, for the vectors whose id starts with ID-PREFIX (all when
 * there is none), so that vectors/check-testee.sh can prove the runner notices:
 *   ignore-length-limit  an oversize frame is reported as an ordinary empty frame
 *   wrong-stream-id      stream ids lose their top bit (a 31-bit id, as in HTTP/2)
 *   truncated-as-boundary every input is said to end between frames
 *   reject-as-ignore     a sequence step the session rejects is reported as ignored
 *   encode-flags-dropped frames are encoded with flags 0
 *   crash                abort() on the request
 *   hang                 never answer the request
 *   garbage              answer with bytes that are not the protocol */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ttrpc/frame.h"
#include "ttrpc/msg.h"
#include "vector_compare.h"
#include "vector_session.h"

#define PROG "ttrpc-vectors-testee-c"
#define MAX_MESSAGE (64u << 20)

typedef enum fault {
    FAULT_NONE,
    FAULT_IGNORE_LENGTH_LIMIT,
    FAULT_WRONG_STREAM_ID,
    FAULT_TRUNCATED_AS_BOUNDARY,
    FAULT_REJECT_AS_IGNORE,
    FAULT_ENCODE_FLAGS_DROPPED,
    FAULT_CRASH,
    FAULT_HANG,
    FAULT_GARBAGE,
} fault;

static const struct {
    const char *name;
    fault f;
} fault_names[] = {
    {"ignore-length-limit", FAULT_IGNORE_LENGTH_LIMIT},
    {"wrong-stream-id", FAULT_WRONG_STREAM_ID},
    {"truncated-as-boundary", FAULT_TRUNCATED_AS_BOUNDARY},
    {"reject-as-ignore", FAULT_REJECT_AS_IGNORE},
    {"encode-flags-dropped", FAULT_ENCODE_FLAGS_DROPPED},
    {"crash", FAULT_CRASH},
    {"hang", FAULT_HANG},
    {"garbage", FAULT_GARBAGE},
};

static fault g_fault = FAULT_NONE;
static const char *g_fault_prefix = "";

/* The one open sequence session, and how its inbound steps are fed. */
static vs_session g_session;
static bool g_session_open;
static size_t g_chunk = SIZE_MAX;

static bool read_all(uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t got = fread(p, 1, n, stdin);
        if (got == 0) {
            return false;
        }
        p += got;
        n -= got;
    }
    return true;
}

/* One request; NULL at end of input or on a framing error. */
static cJSON *read_request(void)
{
    uint8_t len_be[4];
    if (!read_all(len_be, sizeof len_be)) {
        return NULL;
    }
    uint32_t len = (uint32_t)len_be[0] << 24 | (uint32_t)len_be[1] << 16 |
                   (uint32_t)len_be[2] << 8 | (uint32_t)len_be[3];
    if (len > MAX_MESSAGE) {
        fprintf(stderr, PROG ": request of %u bytes is above the limit\n", len);
        return NULL;
    }
    char *text = malloc((size_t)len + 1);
    if (text == NULL || !read_all((uint8_t *)text, len)) {
        free(text);
        return NULL;
    }
    text[len] = '\0';
    cJSON *req = cJSON_ParseWithLength(text, len);
    free(text);
    if (req == NULL) {
        fprintf(stderr, PROG ": request is not JSON\n");
    }
    return req;
}

static bool write_reply(cJSON *reply)
{
    char *text = cJSON_PrintUnformatted(reply);
    if (text == NULL) {
        return false;
    }
    size_t n = strlen(text);
    uint8_t len_be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    bool ok = fwrite(len_be, 1, 4, stdout) == 4 && fwrite(text, 1, n, stdout) == n &&
              fflush(stdout) == 0;
    free(text);
    return ok;
}

/* Lowercase hex of p[0, n), as a new cJSON string. */
static cJSON *hex_json(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * n + 1);
    if (s == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = '\0';
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}

static cJSON *str_json(ttrpc_bytes b)
{
    char *s = strndup(b.len != 0 ? (const char *)b.data : "", b.len);
    cJSON *j = s != NULL ? cJSON_CreateString(s) : NULL;
    free(s);
    return j;
}

/* Decode op: the input fed in pieces of `chunk` bytes (0: whole), every frame pulled. */
static cJSON *op_decode(const cJSON *req, bool faulty)
{
    vc_buf in = {0};
    if (!vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(req, "input"), &in)) {
        return cJSON_CreateNull();
    }
    int64_t chunk = 0;
    if (!vc_json_int(cJSON_GetObjectItemCaseSensitive(req, "chunk"), 0, 1 << 30, &chunk)) {
        vc_buf_free(&in);
        return cJSON_CreateNull();
    }
    size_t step = chunk == 0 ? in.len + 1 : (size_t)chunk;
    cJSON *reply = cJSON_CreateObject();
    cJSON *frames = cJSON_AddArrayToObject(reply, "frames");
    ttrpc_decoder d;
    ttrpc_err rc = ttrpc_decoder_init(&d, TTRPC_FRAME_MAX_DATA, NULL);
    size_t off = 0;
    while (rc == TTRPC_OK) {
        ttrpc_frame f;
        rc = ttrpc_decoder_next(&d, &f);
        if (rc == TTRPC_OK || rc == TTRPC_E_TOO_LARGE) {
            bool too_large = rc == TTRPC_E_TOO_LARGE;
            if (faulty && g_fault == FAULT_WRONG_STREAM_ID) {
                f.hdr.stream_id &= 0x7fffffffu;
            }
            cJSON *j = cJSON_CreateObject();
            if (too_large && !(faulty && g_fault == FAULT_IGNORE_LENGTH_LIMIT)) {
                cJSON_AddStringToObject(j, "error", "too-large");
            } else {
                cJSON_AddItemToObject(j, "data", hex_json(f.data, too_large ? 0 : f.hdr.length));
            }
            cJSON_AddNumberToObject(j, "length", f.hdr.length);
            cJSON_AddNumberToObject(j, "stream_id", f.hdr.stream_id);
            cJSON_AddNumberToObject(j, "type", f.hdr.type);
            cJSON_AddNumberToObject(j, "flags", f.hdr.flags);
            cJSON_AddItemToArray(frames, j);
            rc = TTRPC_OK;
            continue;
        }
        if (rc != TTRPC_E_AGAIN || off == in.len) {
            break;
        }
        size_t n = in.len - off < step ? in.len - off : step;
        size_t used = 0;
        rc = ttrpc_decoder_feed(&d, in.data + off, n, &used);
        off += used;
    }
    if (rc == TTRPC_E_AGAIN && off == in.len) {
        bool boundary = ttrpc_decoder_at_boundary(&d) ||
                        (faulty && g_fault == FAULT_TRUNCATED_AS_BOUNDARY);
        cJSON_AddStringToObject(reply, "end", boundary ? "boundary" : "truncated");
    } else {
        /* The decoder gave up outright: report its error class. */
        cJSON_Delete(reply);
        reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "error", ttrpc_err_name(rc));
    }
    ttrpc_decoder_free(&d);
    vc_buf_free(&in);
    return reply;
}

static cJSON *request_json(const ttrpc_request *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "service", str_json(r->service));
    cJSON_AddItemToObject(j, "method", str_json(r->method));
    if (r->has_payload) {
        cJSON_AddItemToObject(j, "payload", hex_json(r->payload.data, r->payload.len));
    }
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)r->timeout_nano);
    cJSON_AddStringToObject(j, "timeout_nano", t);
    cJSON *md = cJSON_AddArrayToObject(j, "metadata");
    for (size_t i = 0; i < r->n_metadata; i++) {
        cJSON *kv = cJSON_CreateObject();
        cJSON_AddItemToObject(kv, "key", str_json(r->metadata[i].key));
        cJSON_AddItemToObject(kv, "value", str_json(r->metadata[i].value));
        cJSON_AddItemToArray(md, kv);
    }
    return j;
}

static cJSON *response_json(const ttrpc_response *r)
{
    cJSON *j = cJSON_CreateObject();
    if (r->has_status) {
        cJSON *s = cJSON_AddObjectToObject(j, "status");
        cJSON_AddNumberToObject(s, "code", r->status.code);
        cJSON_AddItemToObject(s, "message", str_json(r->status.message));
        cJSON *details = cJSON_AddArrayToObject(s, "details");
        for (size_t i = 0; i < r->status.n_details; i++) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddItemToObject(d, "type_url", str_json(r->status.details[i].type_url));
            cJSON_AddItemToObject(d, "value", hex_json(r->status.details[i].value.data,
                                                       r->status.details[i].value.len));
            cJSON_AddItemToArray(details, d);
        }
    }
    cJSON_AddItemToObject(j, "payload", hex_json(r->payload.data, r->payload.len));
    cJSON_AddBoolToObject(j, "success", !r->has_status || r->status.code == TTRPC_CODE_OK);
    return j;
}

/* Message op: decode as a Request or Response; on "reencode", encode what was decoded. */
static cJSON *op_message(const cJSON *req)
{
    const char *as = vc_json_str(req, "message");
    bool is_request = as != NULL && strcmp(as, "request") == 0;
    if (as == NULL || (!is_request && strcmp(as, "response") != 0)) {
        return cJSON_CreateNull();
    }
    vc_buf in = {0};
    if (!vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(req, "input"), &in)) {
        return cJSON_CreateNull();
    }
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request rq;
    ttrpc_response rs;
    ttrpc_err rc = is_request ? ttrpc_request_decode(in.data, in.len, &arena, &rq)
                              : ttrpc_response_decode(in.data, in.len, &arena, &rs);
    cJSON *reply = cJSON_CreateObject();
    if (rc != TTRPC_OK) {
        cJSON_AddStringToObject(reply, "error",
                                rc == TTRPC_E_DECODE ? "decode-error" : ttrpc_err_name(rc));
    } else {
        cJSON_AddItemToObject(reply, "value", is_request ? request_json(&rq) : response_json(&rs));
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "reencode"))) {
            size_t size = 0;
            size_t written = 0;
            rc = is_request ? ttrpc_request_encoded_size(&rq, &size)
                            : ttrpc_response_encoded_size(&rs, &size);
            uint8_t *out = rc == TTRPC_OK ? malloc(size + 1) : NULL;
            if (out != NULL) {
                rc = is_request ? ttrpc_request_encode(&rq, out, size, &written)
                                : ttrpc_response_encode(&rs, out, size, &written);
                if (rc == TTRPC_OK) {
                    cJSON_AddItemToObject(reply, "reencoded", hex_json(out, written));
                }
            }
            free(out);
        }
    }
    ttrpc_msg_arena_reset(&arena);
    vc_buf_free(&in);
    return reply;
}

/* Encode op: each frame through ttrpc_frame_encode, the results concatenated. A frame the
 * encoder refuses ends the reply with {"error": its class}. */
static cJSON *op_encode(const cJSON *req, bool faulty)
{
    const cJSON *frames = cJSON_GetObjectItemCaseSensitive(req, "frames");
    if (!cJSON_IsArray(frames)) {
        return cJSON_CreateNull();
    }
    vc_buf out = {0};
    ttrpc_err rc = TTRPC_OK;
    const cJSON *f;
    cJSON_ArrayForEach(f, frames)
    {
        ttrpc_frame_header h = {0};
        vc_buf data = {0};
        if (!vc_json_u32(f, "stream_id", &h.stream_id) || !vc_json_u8(f, "type", &h.type) ||
            !vc_json_u8(f, "flags", &h.flags) ||
            !vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(f, "data"), &data) ||
            data.len > UINT32_MAX) {
            vc_buf_free(&data);
            vc_buf_free(&out);
            return cJSON_CreateNull();
        }
        h.length = (uint32_t)data.len;
        if (faulty && g_fault == FAULT_ENCODE_FLAGS_DROPPED) {
            h.flags = 0;
        }
        size_t cap = TTRPC_FRAME_HEADER_LEN + data.len;
        uint8_t *p = realloc(out.data, out.len + cap);
        size_t written = 0;
        if (p == NULL) {
            rc = TTRPC_E_NOMEM;
        } else {
            out.data = p;
            rc = ttrpc_frame_encode(&h, data.data, out.data + out.len, cap, &written);
            out.len += rc == TTRPC_OK ? written : 0;
        }
        vc_buf_free(&data);
        if (rc != TTRPC_OK) {
            break;
        }
    }
    cJSON *reply = cJSON_CreateObject();
    if (rc != TTRPC_OK) {
        cJSON_AddStringToObject(reply, "error", ttrpc_err_name(rc));
    } else {
        cJSON_AddItemToObject(reply, "bytes", hex_json(out.data, out.len));
    }
    vc_buf_free(&out);
    return reply;
}

static cJSON *error_json(const char *why)
{
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "error", why);
    return reply;
}

/* Session op: a fresh session in the vector's role, replacing the last one. */
static cJSON *op_session(const cJSON *req)
{
    if (g_session_open) {
        vs_close(&g_session);
        g_session_open = false;
    }
    int64_t chunk = 0;
    if (!vc_json_int(cJSON_GetObjectItemCaseSensitive(req, "chunk"), 0, 1 << 30, &chunk)) {
        return cJSON_CreateNull();
    }
    g_chunk = chunk == 0 ? SIZE_MAX : (size_t)chunk;
    vc_verdict v = {0};
    if (!vs_open(&g_session, &v, vc_json_str(req, "role"),
                 cJSON_GetObjectItemCaseSensitive(req, "methods"))) {
        return error_json(v.why);
    }
    g_session_open = true;
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddBoolToObject(reply, "ok", true);
    return reply;
}

static void collect_delivery(const ttrpc_event *ev, void *ctx)
{
    cJSON *list = ctx;
    vc_delivery d = vs_delivery(ev);
    cJSON *j = cJSON_CreateObject();
    if (d.kind == VC_DELIVERED_REQUEST) {
        cJSON_AddStringToObject(j, "kind", "request");
        cJSON_AddItemToObject(j, "service", str_json(d.service));
        cJSON_AddItemToObject(j, "method", str_json(d.method));
        cJSON_AddBoolToObject(j, "first_message", d.first_message);
    } else if (d.kind == VC_DELIVERED_DATA) {
        cJSON_AddStringToObject(j, "kind", "data");
        cJSON_AddItemToObject(j, "data", hex_json(d.data.data, d.data.len));
        cJSON_AddBoolToObject(j, "last", d.last);
    } else {
        cJSON_AddStringToObject(j, "kind", "response");
        cJSON_AddNumberToObject(j, "status_code", d.status_code);
        cJSON_AddItemToObject(j, "payload", hex_json(d.payload.data, d.payload.len));
    }
    cJSON_AddItemToArray(list, j);
}

/* Step op: one frame fed (towards us) or sent (away from us), then what came of it. */
static cJSON *op_step(const cJSON *req, bool faulty)
{
    const char *dir = vc_json_str(req, "dir");
    uint32_t id = 0;
    vc_buf in = {0};
    if (!g_session_open) {
        return error_json("no session is open");
    }
    if (dir == NULL || !vc_json_u32(req, "stream_id", &id) ||
        !vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(req, "bytes"), &in)) {
        vc_buf_free(&in);
        return cJSON_CreateNull();
    }
    const char *in_dir = g_session.role == TTRPC_ROLE_SERVER ? "to-server" : "to-client";
    cJSON *delivered = cJSON_CreateArray();
    vc_verdict v = {0};
    const char *action = strcmp(dir, in_dir) == 0
                             ? vs_inbound(&g_session, &v, in.data, in.len, g_chunk, 1,
                                          collect_delivery, delivered)
                             : vs_outbound(&g_session, &v, in.data, in.len, 1);
    vc_buf_free(&in);
    vc_buf out = {0};
    if (!v.failed && !vs_take_output(&g_session, &out)) {
        vc_fail(&v, "out of memory");
    }
    if (v.failed) {
        cJSON_Delete(delivered);
        vc_buf_free(&out);
        return error_json(v.why);
    }
    if (faulty && g_fault == FAULT_REJECT_AS_IGNORE && strcmp(action, "REJECT") == 0) {
        action = "IGNORE";
    }
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "action", action);
    cJSON_AddStringToObject(reply, "state", vs_state(&g_session, id));
    cJSON_AddItemToObject(reply, "emit", hex_json(out.data, out.len));
    cJSON_AddItemToObject(reply, "delivered", delivered);
    vc_buf_free(&out);
    return reply;
}

static cJSON *answer(const cJSON *req)
{
    const char *op = vc_json_str(req, "op");
    const char *id = vc_json_str(req, "id");
    bool faulty = g_fault != FAULT_NONE && id != NULL &&
                  strncmp(id, g_fault_prefix, strlen(g_fault_prefix)) == 0;
    if (faulty && g_fault == FAULT_CRASH) {
        abort();
    }
    if (faulty && g_fault == FAULT_HANG) {
        for (;;) {
            pause();
        }
    }
    if (op != NULL && strcmp(op, "hello") == 0) {
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "name", "ttrpc-c-reference");
        cJSON_AddStringToObject(reply, "version", "impl/ (this tree)");
        cJSON *supports = cJSON_AddArrayToObject(reply, "supports");
        cJSON_AddItemToArray(supports, cJSON_CreateString("decode"));
        cJSON_AddItemToArray(supports, cJSON_CreateString("encode"));
        cJSON_AddItemToArray(supports, cJSON_CreateString("message"));
        cJSON_AddItemToArray(supports, cJSON_CreateString("sequence:server"));
        cJSON_AddItemToArray(supports, cJSON_CreateString("sequence:client"));
        return reply;
    }
    if (op != NULL && strcmp(op, "session") == 0) {
        return op_session(req);
    }
    if (op != NULL && strcmp(op, "step") == 0) {
        return op_step(req, faulty);
    }
    if (op != NULL && strcmp(op, "encode") == 0) {
        return op_encode(req, faulty);
    }
    if (op != NULL && strcmp(op, "decode") == 0) {
        return op_decode(req, faulty);
    }
    if (op != NULL && strcmp(op, "message") == 0) {
        return op_message(req);
    }
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddBoolToObject(reply, "unsupported", true);
    return reply;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fault") == 0 && i + 1 < argc) {
            const char *arg = argv[++i];
            size_t name_len = strcspn(arg, ":");
            g_fault_prefix = arg[name_len] == ':' ? arg + name_len + 1 : "";
            for (size_t k = 0; k < sizeof fault_names / sizeof fault_names[0]; k++) {
                if (strlen(fault_names[k].name) == name_len &&
                    strncmp(arg, fault_names[k].name, name_len) == 0) {
                    g_fault = fault_names[k].f;
                }
            }
            if (g_fault == FAULT_NONE) {
                fprintf(stderr, PROG ": unknown fault '%s'\n", arg);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: " PROG " [--fault NAME[:ID-PREFIX]]\n");
            return 2;
        }
    }
    cJSON *req;
    while ((req = read_request()) != NULL) {
        const char *id = vc_json_str(req, "id");
        if (g_fault == FAULT_GARBAGE && id != NULL &&
            strncmp(id, g_fault_prefix, strlen(g_fault_prefix)) == 0) {
            fputs("this is not a length-prefixed reply\n", stdout);
            fflush(stdout);
            cJSON_Delete(req);
            continue;
        }
        cJSON *reply = answer(req);
        cJSON_Delete(req);
        if (cJSON_IsNull(reply)) {
            cJSON_Delete(reply);
            fprintf(stderr, PROG ": malformed request\n");
            return 2;
        }
        bool ok = write_reply(reply);
        cJSON_Delete(reply);
        if (!ok) {
            return 2;
        }
    }
    if (g_session_open) {
        vs_close(&g_session);
    }
    return 0;
}
