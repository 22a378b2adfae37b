/* fuzz/fuzz_session_client.c. Targets: a client-role ttrpc_session fed hostile server bytes
 * (notes 6: a hostile server attacks clients as easily as the reverse). Three calls are in
 * flight before the first byte arrives: unary Echo (id 1), ServerStream (id 3, Request RC) and
 * BidiStream (id 5, Request RO|ND). The harness echoes each bidi message back while it may
 * send, and closes its bidi side once the server has closed its own.
 * Byte 0 picks the session's limits and how the rest is split:
 *   bits 0-3  chunk size - 1 (1..16 bytes per feed)
 *   bit 4     max_data 64 bytes (the oversize path with short inputs)
 *   bit 5     abandon the server-streaming call after its first event
 *   bit 6     a decode budget of 256 bytes (Response decodes fail with TTRPC_E_NOMEM)
 *   bit 7     feed everything in one call
 * Oracles, each an abort():
 *   - an event for an id we never opened, or after that id's RESPONSE or STREAM_ERROR (or
 *     after we abandoned it);
 *   - an event the table does not produce from the stream's state (DATA needs DELIVER,
 *     REMOTE_CLOSED needs ACCEPT with RC, RESPONSE needs DELIVER), or a session state other
 *     than the table's prediction, or a send whose result the table does not predict;
 *   - STREAM_ERROR with an err other than PROTO, DECODE, NOMEM or TOO_LARGE;
 *   - our own output is not well-formed Request and Data frames;
 *   - session memory, by its own count and by the allocator's, above bytes fed * 64 + 1 MiB;
 *   - a stall; after ttrpc_session_close, a live call not reported exactly once. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "ttrpc/session.h"

#define SVC "ttrpc.conformance.v1.Echo"
#define N_CALLS 3

typedef struct call {
    const char *method;
    ttrpc_method_kind kind;
    uint32_t id;
    ttrpc_stream_state state; /* the table's prediction; IDLE once ended */
    bool ended;
    bool closed_by_us;
} call;

typedef struct harness {
    ttrpc_session *s;
    uint32_t max_data;
    bool abandon_server_stream;
    call calls[N_CALLS];
    ttrpc_decoder wire;
    ttrpc_msg_arena arena;
} harness;

static call *call_of(harness *h, uint32_t id)
{
    for (size_t i = 0; i < N_CALLS; i++) {
        if (h->calls[i].id == id) {
            return &h->calls[i];
        }
    }
    return NULL;
}

static void end_call(call *c)
{
    c->ended = true;
    c->state = TTRPC_STREAM_IDLE;
}

static void model_step(call *c, ttrpc_stream_state next)
{
    if (next == TTRPC_STREAM_CLOSED) {
        end_call(c);
    } else {
        c->state = next;
    }
}

/* A bidi send predicted by the table. `close`: Data RC|ND; otherwise Data with the message. */
static void send_checked(harness *h, call *c, bool close, ttrpc_bytes msg)
{
    ttrpc_stream_event sev = close ? TTRPC_EV_SEND_DATA_RC_ND : TTRPC_EV_SEND_DATA;
    ttrpc_stream_transition tr = ttrpc_stream_lookup(TTRPC_ROLE_CLIENT, c->state, sev);
    ttrpc_err rc = close ? ttrpc_session_send_close(h->s, c->id)
                         : ttrpc_session_send_data(h->s, c->id, msg.data, msg.len, false);
    if (tr.action == TTRPC_ACT_REFUSE) {
        FUZZ_CHECK(rc == TTRPC_E_INVAL, "refused send gave %s in %s", ttrpc_err_name(rc),
                   ttrpc_stream_state_name(c->state));
        return;
    }
    FUZZ_CHECK(rc == TTRPC_OK || (rc == TTRPC_E_TOO_LARGE && msg.len > h->max_data),
               "send allowed in %s gave %s", ttrpc_stream_state_name(c->state),
               ttrpc_err_name(rc));
    if (rc == TTRPC_OK) {
        if (close) {
            c->closed_by_us = true;
        }
        model_step(c, tr.next);
    }
}

static void on_event(harness *h, const ttrpc_event *ev)
{
    call *c = call_of(h, ev->stream_id);
    FUZZ_CHECK(c != NULL, "event %d on id %u, never opened", ev->kind, ev->stream_id);
    FUZZ_CHECK(!c->ended, "event %d on id %u after it ended", ev->kind, ev->stream_id);
    FUZZ_CHECK(ev->user == c, "event user pointer lost");
    ttrpc_stream_transition tr = {c->state, TTRPC_ACT_REFUSE};
    if (ev->frame_type != 0 && ev->kind != TTRPC_EVENT_STREAM_ERROR) {
        tr = ttrpc_stream_lookup(TTRPC_ROLE_CLIENT, c->state,
                                 ttrpc_stream_event_of(0, ev->frame_type, ev->flags));
    }
    switch (ev->kind) {
    case TTRPC_EVENT_DATA:
        FUZZ_CHECK(ev->frame_type == TTRPC_TYPE_DATA && tr.action == TTRPC_ACT_DELIVER,
                   "DATA from type %u, table action %s", ev->frame_type,
                   ttrpc_stream_action_name(tr.action));
        FUZZ_CHECK(ev->last == ((ev->flags & TTRPC_FLAG_REMOTE_CLOSED) != 0), "last flag");
        FUZZ_CHECK(ev->data.len <= h->max_data && (ev->data.len == 0 || ev->data.data != NULL),
                   "DATA of %zu bytes", ev->data.len);
        model_step(c, tr.next);
        break;
    case TTRPC_EVENT_REMOTE_CLOSED:
        FUZZ_CHECK(ev->frame_type == TTRPC_TYPE_DATA && tr.action == TTRPC_ACT_ACCEPT &&
                       (ev->flags & TTRPC_FLAG_REMOTE_CLOSED) != 0,
                   "REMOTE_CLOSED from type %u flags %#x", ev->frame_type, ev->flags);
        model_step(c, tr.next);
        break;
    case TTRPC_EVENT_RESPONSE:
        FUZZ_CHECK(ev->frame_type == TTRPC_TYPE_RESPONSE && tr.action == TTRPC_ACT_DELIVER &&
                       tr.next == TTRPC_STREAM_CLOSED && ev->response != NULL,
                   "RESPONSE the table does not deliver in %s",
                   ttrpc_stream_state_name(c->state));
        FUZZ_CHECK(!ev->response->has_status ||
                       ttrpc_utf8_valid(ev->response->status.message),
                   "status message not UTF-8");
        end_call(c);
        return;
    case TTRPC_EVENT_STREAM_ERROR:
        FUZZ_CHECK(ev->was_live, "STREAM_ERROR for a call that was not live");
        FUZZ_CHECK(ev->err == TTRPC_E_PROTO || ev->err == TTRPC_E_DECODE ||
                       ev->err == TTRPC_E_NOMEM || ev->err == TTRPC_E_TOO_LARGE,
                   "STREAM_ERROR err %s", ttrpc_err_name(ev->err));
        if (ev->err == TTRPC_E_PROTO) {
            ttrpc_stream_transition why = ttrpc_stream_lookup(
                TTRPC_ROLE_CLIENT, c->state, ttrpc_stream_event_of(0, ev->frame_type, ev->flags));
            FUZZ_CHECK(why.action == TTRPC_ACT_REJECT, "PROTO failure the table did not ask for");
        } else if (ev->err != TTRPC_E_TOO_LARGE) {
            FUZZ_CHECK(ev->frame_type == TTRPC_TYPE_RESPONSE, "decode failure on type %u",
                       ev->frame_type);
        }
        end_call(c);
        return;
    case TTRPC_EVENT_REQUEST:
        FUZZ_CHECK(false, "client got a REQUEST event");
        return;
    }
    /* The harness's part of a bidi call: echo while open, close after the server closed. */
    if (c->kind == TTRPC_METHOD_BIDI && !c->ended && !c->closed_by_us) {
        if (ev->kind == TTRPC_EVENT_DATA && c->state == TTRPC_STREAM_OPEN) {
            send_checked(h, c, false, ev->data);
        }
        if (c->state == TTRPC_STREAM_REMOTE_CLOSED) {
            send_checked(h, c, true, ev->data);
        }
    }
    if (c->kind == TTRPC_METHOD_SERVER_STREAM && h->abandon_server_stream && !c->ended) {
        ttrpc_err rc = ttrpc_session_abandon(h->s, c->id);
        FUZZ_CHECK(rc == TTRPC_OK, "abandon: %s", ttrpc_err_name(rc));
        end_call(c);
    }
}

static size_t drain_output(harness *h)
{
    const uint8_t *out;
    size_t len;
    ttrpc_session_output(h->s, &out, &len);
    size_t done = 0;
    while (done < len) {
        size_t consumed = 0;
        ttrpc_err rc = ttrpc_decoder_feed(&h->wire, out + done, len - done, &consumed);
        FUZZ_CHECK(rc == TTRPC_OK, "wire feed: %s", ttrpc_err_name(rc));
        done += consumed;
        ttrpc_frame f;
        while ((rc = ttrpc_decoder_next(&h->wire, &f)) == TTRPC_OK) {
            FUZZ_CHECK(f.hdr.length <= h->max_data, "sent %u bytes", f.hdr.length);
            call *c = call_of(h, f.hdr.stream_id);
            FUZZ_CHECK(c != NULL, "we sent on id %u", f.hdr.stream_id);
            if (f.hdr.type == TTRPC_TYPE_REQUEST) {
                ttrpc_request req;
                rc = ttrpc_request_decode(f.data, f.hdr.length, &h->arena, &req);
                FUZZ_CHECK(rc == TTRPC_OK && ttrpc_bytes_equal_str(req.service, SVC) &&
                               ttrpc_bytes_equal_str(req.method, c->method),
                           "our Request for %s does not decode back", c->method);
                ttrpc_msg_arena_reset(&h->arena);
            } else {
                FUZZ_CHECK(f.hdr.type == TTRPC_TYPE_DATA && c->kind == TTRPC_METHOD_BIDI,
                           "client sent type %u on %s", f.hdr.type, c->method);
            }
        }
        FUZZ_CHECK(rc == TTRPC_E_AGAIN, "wire next: %s", ttrpc_err_name(rc));
    }
    ttrpc_session_output_consumed(h->s, len);
    return len;
}

static void check_state(harness *h, size_t fed, const fuzz_heap *heap)
{
    uint32_t live = 0;
    for (size_t i = 0; i < N_CALLS; i++) {
        const call *c = &h->calls[i];
        ttrpc_stream_state got = ttrpc_session_stream_state(h->s, c->id);
        FUZZ_CHECK(got == c->state, "call %u is %s, table says %s", c->id,
                   ttrpc_stream_state_name(got), ttrpc_stream_state_name(c->state));
        live += c->ended ? 0u : 1u;
    }
    FUZZ_CHECK(ttrpc_session_get_stats(h->s).live_streams == live, "live count");
    fuzz_check_session_memory(ttrpc_session_memory(h->s), heap, fed);
}

static harness H;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const uint8_t mode = data[0];
    const uint8_t *in = data + 1;
    const size_t len = size - 1;
    const size_t chunk = (mode & 0x80) != 0 ? (len == 0 ? 1 : len) : (size_t)(mode & 0x0f) + 1;

    harness *h = &H;
    memset(h, 0, sizeof *h);
    h->abandon_server_stream = (mode & 0x20) != 0;
    fuzz_heap heap;
    ttrpc_allocator alloc = fuzz_heap_allocator(&heap);
    ttrpc_session_config cfg = {
        .role = TTRPC_ROLE_CLIENT,
        .max_data = (mode & 0x10) != 0 ? 64 : 0,
        .decode_budget = (mode & 0x40) != 0 ? 256 : 0,
        .alloc = &alloc,
    };
    h->max_data = cfg.max_data != 0 ? cfg.max_data : TTRPC_FRAME_MAX_DATA;
    ttrpc_err rc = ttrpc_session_new(&cfg, &h->s);
    FUZZ_CHECK(rc == TTRPC_OK, "session_new: %s", ttrpc_err_name(rc));
    rc = ttrpc_decoder_init(&h->wire, TTRPC_FRAME_MAX_DATA, NULL);
    FUZZ_CHECK(rc == TTRPC_OK, "wire decoder: %s", ttrpc_err_name(rc));
    ttrpc_msg_arena_init(&h->arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);

    static const uint8_t HI[] = {0x0a, 0x02, 'h', 'i'};
    const struct {
        const char *method;
        ttrpc_method_kind kind;
        bool payload;
    } plan[N_CALLS] = {
        {"Echo", TTRPC_METHOD_UNARY, true},
        {"ServerStream", TTRPC_METHOD_SERVER_STREAM, true},
        {"BidiStream", TTRPC_METHOD_BIDI, false},
    };
    for (size_t i = 0; i < N_CALLS; i++) {
        call *c = &h->calls[i];
        c->method = plan[i].method;
        c->kind = plan[i].kind;
        ttrpc_request req;
        memset(&req, 0, sizeof req);
        req.service = ttrpc_bytes_of(SVC);
        req.method = ttrpc_bytes_of(plan[i].method);
        if (plan[i].payload) {
            req.has_payload = true;
            req.payload = (ttrpc_bytes){HI, sizeof HI};
        }
        rc = ttrpc_session_call(h->s, &req, plan[i].kind, &c->id);
        FUZZ_CHECK(rc == TTRPC_OK && c->id == 2 * i + 1, "call %zu: %s, id %u", i,
                   ttrpc_err_name(rc), c->id);
        uint8_t flags = plan[i].kind == TTRPC_METHOD_UNARY           ? 0
                        : plan[i].kind == TTRPC_METHOD_SERVER_STREAM ? TTRPC_FLAG_REMOTE_CLOSED
                                                                      : TTRPC_FLAG_REMOTE_OPEN;
        c->state = ttrpc_stream_lookup(TTRPC_ROLE_CLIENT, TTRPC_STREAM_IDLE,
                                       ttrpc_stream_event_of(1, TTRPC_TYPE_REQUEST, flags))
                       .next;
        rc = ttrpc_session_set_user(h->s, c->id, c);
        FUZZ_CHECK(rc == TTRPC_OK, "set_user: %s", ttrpc_err_name(rc));
    }
    (void)drain_output(h);
    check_state(h, 0, &heap);

    size_t fed = 0;
    while (fed < len) {
        size_t want = len - fed < chunk ? len - fed : chunk;
        size_t consumed = 0;
        rc = ttrpc_session_feed(h->s, in + fed, want, &consumed);
        FUZZ_CHECK(rc == TTRPC_OK, "feed: %s", ttrpc_err_name(rc));
        fed += consumed;
        size_t events = 0;
        ttrpc_event ev;
        while ((rc = ttrpc_session_next_event(h->s, &ev)) == TTRPC_OK) {
            on_event(h, &ev);
            events++;
            check_state(h, fed, &heap);
        }
        FUZZ_CHECK(rc == TTRPC_E_AGAIN, "next_event: %s", ttrpc_err_name(rc));
        size_t drained = drain_output(h);
        check_state(h, fed, &heap);
        FUZZ_CHECK(consumed > 0 || events > 0 || drained > 0, "stalled at %zu of %zu", fed, len);
    }

    ttrpc_session_close(h->s, NULL);
    ttrpc_event ev;
    while ((rc = ttrpc_session_next_event(h->s, &ev)) == TTRPC_OK) {
        call *c = call_of(h, ev.stream_id);
        FUZZ_CHECK(c != NULL && !c->ended, "close reported id %u, not live", ev.stream_id);
        FUZZ_CHECK(ev.kind == TTRPC_EVENT_STREAM_ERROR && ev.err == TTRPC_E_CLOSED &&
                       ev.user == c,
                   "after close: kind %d err %s", ev.kind, ttrpc_err_name(ev.err));
        end_call(c);
    }
    FUZZ_CHECK(rc == TTRPC_E_CLOSED, "after the last report: %s", ttrpc_err_name(rc));
    for (size_t i = 0; i < N_CALLS; i++) {
        FUZZ_CHECK(h->calls[i].ended, "call %u never reported after close", h->calls[i].id);
    }
    ttrpc_session_free(h->s);
    ttrpc_decoder_free(&h->wire);
    ttrpc_msg_arena_reset(&h->arena);
    FUZZ_CHECK(heap.live == 0, "%zu bytes leaked by the session", heap.live);
    return 0;
}
