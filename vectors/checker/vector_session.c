/* vector_session: see vector_session.h. The step logic follows PROTOCOL.md's stream rules only
 * through ttrpc_session; what is compared, and how, is vector_compare.c's part. */
#include "vector_session.h"

#include <stdlib.h>
#include <string.h>

#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

static vs_id_seen *seen(vs_session *c, uint32_t id)
{
    for (size_t i = 0; i < c->n_ids; i++) {
        if (c->ids[i].id == id) {
            return &c->ids[i];
        }
    }
    if (c->n_ids == sizeof c->ids / sizeof c->ids[0]) {
        return &c->ids[c->n_ids - 1]; /* vectors use a handful of ids */
    }
    vs_id_seen *e = &c->ids[c->n_ids++];
    memset(e, 0, sizeof *e);
    e->id = id;
    return e;
}

const char *vs_state(vs_session *c, uint32_t id)
{
    ttrpc_stream_state st = ttrpc_session_stream_state(c->s, id);
    vs_id_seen *e = seen(c, id);
    if (st != TTRPC_STREAM_IDLE) {
        e->was_live = true;
        return ttrpc_stream_state_name(st);
    }
    return e->was_live || e->response_sent ? "CLOSED" : "IDLE";
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

bool vs_open(vs_session *c, vc_verdict *v, const char *role, const cJSON *methods)
{
    memset(c, 0, sizeof *c);
    if (role == NULL || (strcmp(role, "server") != 0 && strcmp(role, "client") != 0)) {
        v->harness = true;
        vc_fail(v, "role must be server or client");
        return false;
    }
    c->role = strcmp(role, "server") == 0 ? TTRPC_ROLE_SERVER : TTRPC_ROLE_CLIENT;
    const cJSON *m;
    cJSON_ArrayForEach(m, methods)
    {
        ttrpc_method_desc *d = &c->methods[c->n_methods];
        const char *service = vc_json_str(m, "service");
        const char *method = vc_json_str(m, "method");
        if (c->n_methods == VS_MAX_METHODS || service == NULL || method == NULL ||
            !method_kind(vc_json_str(m, "kind"), &d->kind)) {
            v->harness = true;
            vc_fail(v, "bad methods table");
            vs_close(c);
            return false;
        }
        d->service = strdup(service);
        d->method = strdup(method);
        c->n_methods++;
        if (d->service == NULL || d->method == NULL) {
            v->harness = true;
            vc_fail(v, "out of memory");
            vs_close(c);
            return false;
        }
    }
    ttrpc_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = c->role;
    if (c->role == TTRPC_ROLE_SERVER) {
        cfg.methods = c->methods;
        cfg.n_methods = c->n_methods;
    }
    ttrpc_err rc = ttrpc_session_new(&cfg, &c->s);
    if (rc != TTRPC_OK) {
        v->harness = true;
        vc_fail(v, "ttrpc_session_new: %s", ttrpc_err_name(rc));
        c->s = NULL;
        vs_close(c);
        return false;
    }
    return true;
}

void vs_close(vs_session *c)
{
    if (c->s != NULL) {
        ttrpc_session_free(c->s);
    }
    for (size_t i = 0; i < c->n_methods; i++) {
        free((char *)c->methods[i].service);
        free((char *)c->methods[i].method);
    }
    memset(c, 0, sizeof *c);
}

const char *vs_inbound(vs_session *c, vc_verdict *v, const uint8_t *in, size_t len,
                       size_t chunk, size_t step, vs_deliver_fn *deliver, void *ctx)
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
                deliver(&ev, ctx);
            }
        }
        if (rc != TTRPC_E_AGAIN) {
            vc_fail(v, "step %zu: ttrpc_session_next_event: %s", step, ttrpc_err_name(rc));
            return "?";
        }
        if (off == len) {
            break;
        }
        size_t n = len - off < chunk ? len - off : chunk;
        size_t used = 0;
        rc = ttrpc_session_feed(c->s, in + off, n, &used);
        if (rc != TTRPC_OK) {
            vc_fail(v, "step %zu: ttrpc_session_feed: %s", step, ttrpc_err_name(rc));
            return "?";
        }
        off += used;
        stalls = used == 0 ? stalls + 1 : 0;
        if (stalls > 1) {
            vc_fail(v, "step %zu: the session takes no more input", step);
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

const char *vs_outbound(vs_session *c, vc_verdict *v, const uint8_t *in, size_t len,
                        size_t step)
{
    if (len < TTRPC_FRAME_HEADER_LEN) {
        v->harness = true;
        vc_fail(v, "step %zu: not a frame", step);
        return "?";
    }
    ttrpc_frame_header h;
    ttrpc_frame_header_read(in, &h);
    const uint8_t *data = in + TTRPC_FRAME_HEADER_LEN;
    size_t data_len = len - TTRPC_FRAME_HEADER_LEN;
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_err rc = TTRPC_E_INVAL;
    if (h.type == TTRPC_TYPE_DATA) {
        switch (h.flags) {
        case 0:
            rc = ttrpc_session_send_data(c->s, h.stream_id, data, data_len, false);
            break;
        case TTRPC_FLAG_REMOTE_CLOSED:
            rc = ttrpc_session_send_data(c->s, h.stream_id, data, data_len, true);
            break;
        case TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA:
            rc = data_len == 0 ? ttrpc_session_send_close(c->s, h.stream_id) : TTRPC_E_INVAL;
            break;
        default:
            v->harness = true;
            vc_fail(v, "step %zu: the session API cannot send Data flags 0x%02x", step, h.flags);
            return "?";
        }
    } else if (h.type == TTRPC_TYPE_RESPONSE) {
        ttrpc_response resp;
        if (ttrpc_response_decode(data, data_len, &arena, &resp) != TTRPC_OK) {
            v->harness = true;
            vc_fail(v, "step %zu: the Response to send does not decode", step);
            return "?";
        }
        rc = ttrpc_session_send_response(c->s, h.stream_id, &resp);
    } else if (h.type == TTRPC_TYPE_REQUEST && c->role == TTRPC_ROLE_CLIENT) {
        ttrpc_request req;
        static const ttrpc_method_kind kinds[4] = {TTRPC_METHOD_UNARY,
                                                   TTRPC_METHOD_SERVER_STREAM,
                                                   TTRPC_METHOD_CLIENT_STREAM, 0};
        if ((h.flags & 3) == 3 || ttrpc_request_decode(data, data_len, &arena, &req) != TTRPC_OK) {
            v->harness = true;
            vc_fail(v, "step %zu: the session API cannot send this Request", step);
            return "?";
        }
        uint32_t id = 0;
        rc = ttrpc_session_call(c->s, &req, kinds[h.flags & 3], &id);
        if (rc == TTRPC_OK && id != h.stream_id) {
            vc_fail(v, "step %zu: the call got stream id %u, the vector says %u", step, id,
                    h.stream_id);
        }
    } else {
        v->harness = true;
        vc_fail(v, "step %zu: the session API cannot send type %u in this role", step, h.type);
        return "?";
    }
    ttrpc_msg_arena_reset(&arena);
    if (rc == TTRPC_OK) {
        return "ACCEPT";
    }
    if (rc == TTRPC_E_INVAL || rc == TTRPC_E_NOT_FOUND) {
        return "REFUSE";
    }
    vc_fail(v, "step %zu: sending failed with %s", step, ttrpc_err_name(rc));
    return "?";
}

bool vs_take_output(vs_session *c, vc_buf *out)
{
    const uint8_t *p = NULL;
    size_t len = 0;
    ttrpc_session_output(c->s, &p, &len);
    bool ok = vc_buf_append(out, p, len);
    /* A Response the implementation wrote ends its stream, even one that was never live. */
    vc_decode_run r;
    vc_decode_all(p, len, SIZE_MAX, &r);
    for (size_t i = 0; i < r.n; i++) {
        if (r.frames[i].hdr.type == TTRPC_TYPE_RESPONSE) {
            seen(c, r.frames[i].hdr.stream_id)->response_sent = true;
        }
    }
    vc_decode_run_free(&r);
    ttrpc_session_output_consumed(c->s, len);
    return ok;
}

vc_delivery vs_delivery(const ttrpc_event *ev)
{
    vc_delivery d;
    memset(&d, 0, sizeof d);
    if (ev->kind == TTRPC_EVENT_REQUEST) {
        d.kind = VC_DELIVERED_REQUEST;
        d.service = ev->request->service;
        d.method = ev->request->method;
        d.first_message = ev->first_message;
    } else if (ev->kind == TTRPC_EVENT_DATA) {
        d.kind = VC_DELIVERED_DATA;
        d.data = ev->data;
        d.last = ev->last;
    } else {
        d.kind = VC_DELIVERED_RESPONSE;
        d.status_code = ev->response->has_status ? ev->response->status.code : 0;
        d.payload = ev->response->payload;
    }
    return d;
}
