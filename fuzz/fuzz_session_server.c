/* fuzz/fuzz_session_server.c. Targets: a server-role ttrpc_session (frame decoding, id
 * rules, routing, the stream table, error answers, back-pressure) fed hostile client bytes.
 * The routing table is the Echo service of conformance/proto/echo.proto. The harness plays
 * the application: unary calls get an OK Response; streaming calls get one Data message at
 * once, and are finished (Data RC|ND, or the Response of a client-streaming method) as soon
 * as the client has closed its side.
 * Byte 0 picks the session's limits and how the rest is split:
 *   bits 0-3  chunk size - 1 (1..16 bytes per feed)
 *   bits 4-5  max_streams: the default (1024), 1, 2 or 8
 *   bit 6     max_output 64 bytes, so input pauses and Data sends return TTRPC_E_AGAIN; the
 *             harness then also writes at most 48 bytes of output per step, as a slow socket
 *             would, so the queue keeps a partly written head
 *   bit 7     max_data 64 bytes, so short inputs reach the oversize answer
 * Oracles, each an abort():
 *   - every output byte parses as frames (a second ttrpc_decoder): length <= 4 MiB, type 2 or
 *     3, Response flags 0 and a decodable body, Data flags within RC|ND and no body with ND;
 *   - each STREAM_ERROR event is answered on the wire by a Response on its id with its code,
 *     in order, and nothing else carries a non-OK status;
 *   - the session's view of each stream equals the table's prediction from the events it gave
 *     (ttrpc_stream_lookup replayed here), live streams <= max_streams, and every send the
 *     table allows succeeds while every send it refuses fails with TTRPC_E_INVAL;
 *   - session memory, by its own count and by the allocator's, stays below
 *     bytes fed * 64 + 1 MiB;
 *   - feed, events and output all make no progress (a stall);
 *   - after ttrpc_session_close every live stream is reported once, then TTRPC_E_CLOSED. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "ttrpc/session.h"

#define SVC "ttrpc.conformance.v1.Echo"

static const ttrpc_method_desc METHODS[] = {
    {SVC, "Echo", TTRPC_METHOD_UNARY},
    {SVC, "Fail", TTRPC_METHOD_UNARY},
    {SVC, "Metadata", TTRPC_METHOD_UNARY},
    {SVC, "Sleep", TTRPC_METHOD_UNARY},
    {SVC, "ServerStream", TTRPC_METHOD_SERVER_STREAM},
    {SVC, "ClientStream", TTRPC_METHOD_CLIENT_STREAM},
    {SVC, "BidiStream", TTRPC_METHOD_BIDI},
};
#define N_METHODS (sizeof METHODS / sizeof METHODS[0])

static const uint32_t MAX_STREAMS_CHOICES[4] = {0, 1, 2, 8};
#define MAX_LIVE TTRPC_SESSION_DEFAULT_MAX_STREAMS
#define REJECTS_MAX 4096

/* Bodies of our own answers: a BytesValue "ok", and the empty Bytes. */
static const uint8_t DATA_MSG[] = {0x0a, 0x02, 'o', 'k'};

typedef struct model_stream {
    uint32_t id;
    ttrpc_stream_state state;
    ttrpc_method_kind kind;
    bool finished; /* our last message was sent */
} model_stream;

typedef struct harness {
    ttrpc_session *s;
    size_t max_output;
    size_t write_limit; /* output bytes taken per step */
    uint32_t max_streams;
    uint32_t max_data;
    model_stream live[MAX_LIVE];
    size_t n_live;
    /* STREAM_ERROR answers not yet seen on the wire: (id, code), first in first out. */
    uint32_t reject_id[REJECTS_MAX];
    int32_t reject_code[REJECTS_MAX];
    size_t reject_head, reject_tail;
    ttrpc_decoder wire; /* parses our output */
    ttrpc_msg_arena arena;
} harness;

static model_stream *model_find(harness *h, uint32_t id)
{
    for (size_t i = 0; i < h->n_live; i++) {
        if (h->live[i].id == id) {
            return &h->live[i];
        }
    }
    return NULL;
}

static void model_remove(harness *h, model_stream *m)
{
    *m = h->live[--h->n_live];
}

/* Applies a transition to the model: CLOSED means the stream leaves the session's table. */
static void model_step(harness *h, model_stream *m, ttrpc_stream_state next)
{
    if (next == TTRPC_STREAM_CLOSED) {
        model_remove(h, m);
    } else {
        m->state = next;
    }
}

/* One of our sends, predicted by the table and compared with what the session did. */
static void send_checked(harness *h, model_stream *m, ttrpc_stream_event sev, int op)
{
    ttrpc_stream_transition tr = ttrpc_stream_lookup(TTRPC_ROLE_SERVER, m->state, sev);
    FUZZ_CHECK(tr.action != TTRPC_ACT_DELIVER, "a send that delivers");
    ttrpc_err rc;
    uint32_t id = m->id;
    if (op == 0) {
        rc = ttrpc_session_send_data(h->s, id, DATA_MSG, sizeof DATA_MSG, false);
    } else if (op == 1) {
        rc = ttrpc_session_send_close(h->s, id);
    } else {
        rc = ttrpc_session_send_status(h->s, id, TTRPC_CODE_OK, NULL);
    }
    if (tr.action == TTRPC_ACT_REFUSE) {
        FUZZ_CHECK(rc == TTRPC_E_INVAL, "send %d refused by the table in %s gave %s", op,
                   ttrpc_stream_state_name(m->state), ttrpc_err_name(rc));
        FUZZ_CHECK(ttrpc_session_stream_state(h->s, id) == m->state, "refused send moved state");
        return;
    }
    if (rc == TTRPC_E_AGAIN) {
        /* Only Data pauses, and only while the queue is over max_output. */
        const uint8_t *out;
        size_t pending;
        ttrpc_session_output(h->s, &out, &pending);
        FUZZ_CHECK(op != 2 && pending >= h->max_output, "AGAIN with %zu bytes queued (op %d)",
                   pending, op);
        return;
    }
    FUZZ_CHECK(rc == TTRPC_OK, "send %d allowed in %s gave %s", op,
               ttrpc_stream_state_name(m->state), ttrpc_err_name(rc));
    if (op != 0) {
        m->finished = true;
    }
    model_step(h, m, tr.next);
}

/* Finishes a stream once the client's side is closed: the table's REMOTE_CLOSED. */
static void maybe_finish(harness *h, uint32_t id)
{
    model_stream *m = model_find(h, id);
    if (m == NULL || m->finished || m->state != TTRPC_STREAM_REMOTE_CLOSED) {
        return;
    }
    if (m->kind == TTRPC_METHOD_CLIENT_STREAM || m->kind == TTRPC_METHOD_UNARY) {
        send_checked(h, m, TTRPC_EV_SEND_RESPONSE, 2);
    } else {
        send_checked(h, m, TTRPC_EV_SEND_DATA_RC_ND, 1);
    }
}

static void on_request(harness *h, const ttrpc_event *ev)
{
    FUZZ_CHECK(ev->frame_type == TTRPC_TYPE_REQUEST, "REQUEST from type %u", ev->frame_type);
    FUZZ_CHECK(ev->stream_id % 2 == 1, "REQUEST on even id %u", ev->stream_id);
    FUZZ_CHECK(model_find(h, ev->stream_id) == NULL, "REQUEST on live id %u", ev->stream_id);
    FUZZ_CHECK(ev->method_index < N_METHODS, "method_index %zu", ev->method_index);
    const ttrpc_method_desc *md = &METHODS[ev->method_index];
    FUZZ_CHECK(ev->request != NULL && ttrpc_bytes_equal_str(ev->request->service, md->service) &&
                   ttrpc_bytes_equal_str(ev->request->method, md->method),
               "routed to %s/%s by other names", md->service, md->method);
    FUZZ_CHECK(h->n_live < h->max_streams, "REQUEST beyond max_streams %u", h->max_streams);
    ttrpc_stream_transition tr = ttrpc_stream_lookup(
        TTRPC_ROLE_SERVER, TTRPC_STREAM_IDLE, ttrpc_stream_event_of(0, ev->frame_type, ev->flags));
    FUZZ_CHECK(tr.action == TTRPC_ACT_DELIVER, "REQUEST the table does not deliver");
    FUZZ_CHECK(md->kind == TTRPC_METHOD_UNARY || tr.next != TTRPC_STREAM_UNARY,
               "unary Request accepted for streaming method %s", md->method);
    model_stream *m = &h->live[h->n_live++];
    m->id = ev->stream_id;
    m->state = tr.next;
    m->kind = md->kind;
    m->finished = false;
    FUZZ_CHECK(ttrpc_session_stream_state(h->s, m->id) == m->state, "new stream %u in %s",
               m->id, ttrpc_stream_state_name(ttrpc_session_stream_state(h->s, m->id)));
    if (md->kind == TTRPC_METHOD_UNARY) {
        send_checked(h, m, TTRPC_EV_SEND_RESPONSE, 2);
    } else {
        if (md->kind != TTRPC_METHOD_CLIENT_STREAM) {
            send_checked(h, m, TTRPC_EV_SEND_DATA, 0);
        }
        maybe_finish(h, ev->stream_id);
    }
}

static void on_event(harness *h, const ttrpc_event *ev)
{
    model_stream *m = model_find(h, ev->stream_id);
    switch (ev->kind) {
    case TTRPC_EVENT_REQUEST:
        on_request(h, ev);
        return;
    case TTRPC_EVENT_DATA:
    case TTRPC_EVENT_REMOTE_CLOSED: {
        FUZZ_CHECK(m != NULL, "event %d on id %u, not live", ev->kind, ev->stream_id);
        FUZZ_CHECK(ev->frame_type == TTRPC_TYPE_DATA, "DATA event from type %u",
                   ev->frame_type);
        ttrpc_stream_transition tr = ttrpc_stream_lookup(
            TTRPC_ROLE_SERVER, m->state, ttrpc_stream_event_of(0, ev->frame_type, ev->flags));
        bool rc_flag = (ev->flags & TTRPC_FLAG_REMOTE_CLOSED) != 0;
        if (ev->kind == TTRPC_EVENT_DATA) {
            FUZZ_CHECK(tr.action == TTRPC_ACT_DELIVER, "DATA the table does not deliver");
            FUZZ_CHECK(ev->last == rc_flag, "last %d with flags %#x", ev->last, ev->flags);
            FUZZ_CHECK(ev->data.len <= h->max_data && (ev->data.len == 0 || ev->data.data),
                       "DATA of %zu bytes", ev->data.len);
        } else {
            FUZZ_CHECK(tr.action == TTRPC_ACT_ACCEPT && rc_flag && ev->last,
                       "REMOTE_CLOSED the table does not accept");
        }
        model_step(h, m, tr.next);
        maybe_finish(h, ev->stream_id);
        return;
    }
    case TTRPC_EVENT_STREAM_ERROR:
        FUZZ_CHECK(ev->code != TTRPC_CODE_OK && ttrpc_code_name(ev->code) != NULL,
                   "STREAM_ERROR with code %d", ev->code);
        FUZZ_CHECK(ev->was_live == (m != NULL), "was_live %d but model says %d", ev->was_live,
                   m != NULL);
        if (m != NULL) {
            model_remove(h, m);
        }
        FUZZ_CHECK(h->reject_tail - h->reject_head < REJECTS_MAX, "reject queue full");
        h->reject_id[h->reject_tail % REJECTS_MAX] = ev->stream_id;
        h->reject_code[h->reject_tail % REJECTS_MAX] = ev->code;
        h->reject_tail++;
        return;
    case TTRPC_EVENT_RESPONSE:
        break;
    }
    FUZZ_CHECK(false, "server got event kind %d", ev->kind);
}

/* Parses everything the session wants to write. Returns the bytes taken. */
static size_t drain_output(harness *h)
{
    const uint8_t *out;
    size_t len;
    ttrpc_session_output(h->s, &out, &len);
    if (len > h->write_limit) {
        len = h->write_limit;
    }
    size_t done = 0;
    while (done < len) {
        size_t consumed = 0;
        ttrpc_err rc = ttrpc_decoder_feed(&h->wire, out + done, len - done, &consumed);
        FUZZ_CHECK(rc == TTRPC_OK, "wire feed: %s", ttrpc_err_name(rc));
        done += consumed;
        ttrpc_frame f;
        while ((rc = ttrpc_decoder_next(&h->wire, &f)) == TTRPC_OK) {
            FUZZ_CHECK(f.hdr.length <= h->max_data, "sent %u bytes over max_data", f.hdr.length);
            if (f.hdr.type == TTRPC_TYPE_DATA) {
                FUZZ_CHECK((f.hdr.flags & ~(TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA)) == 0,
                           "Data flags %#x", f.hdr.flags);
                FUZZ_CHECK((f.hdr.flags & TTRPC_FLAG_NO_DATA) == 0 || f.hdr.length == 0,
                           "no-data Data with %u bytes", f.hdr.length);
                continue;
            }
            FUZZ_CHECK(f.hdr.type == TTRPC_TYPE_RESPONSE, "server sent type %u", f.hdr.type);
            FUZZ_CHECK(f.hdr.flags == 0, "Response flags %#x", f.hdr.flags);
            ttrpc_response resp;
            rc = ttrpc_response_decode(f.data, f.hdr.length, &h->arena, &resp);
            FUZZ_CHECK(rc == TTRPC_OK, "our Response does not decode: %s", ttrpc_err_name(rc));
            if (resp.has_status && resp.status.code != TTRPC_CODE_OK) {
                FUZZ_CHECK(h->reject_head < h->reject_tail, "error Response %d on %u unasked",
                           resp.status.code, f.hdr.stream_id);
                size_t at = h->reject_head++ % REJECTS_MAX;
                FUZZ_CHECK(h->reject_id[at] == f.hdr.stream_id &&
                               h->reject_code[at] == resp.status.code,
                           "wire says code %d on %u, event said %d on %u", resp.status.code,
                           f.hdr.stream_id, h->reject_code[at], h->reject_id[at]);
            }
            ttrpc_msg_arena_reset(&h->arena);
        }
        FUZZ_CHECK(rc == TTRPC_E_AGAIN, "wire next: %s", ttrpc_err_name(rc));
    }
    ttrpc_session_output_consumed(h->s, len);
    return len;
}

static void check_state(harness *h, size_t fed, const fuzz_heap *heap)
{
    ttrpc_session_stats st = ttrpc_session_get_stats(h->s);
    FUZZ_CHECK(st.live_streams == h->n_live, "session has %u live, model %zu",
               st.live_streams, h->n_live);
    FUZZ_CHECK(st.live_streams <= h->max_streams, "%u live over %u", st.live_streams,
               h->max_streams);
    for (size_t i = 0; i < h->n_live; i++) {
        ttrpc_stream_state got = ttrpc_session_stream_state(h->s, h->live[i].id);
        FUZZ_CHECK(got == h->live[i].state, "stream %u is %s, table says %s", h->live[i].id,
                   ttrpc_stream_state_name(got), ttrpc_stream_state_name(h->live[i].state));
    }
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
    const size_t chunk = (size_t)(mode & 0x0f) + 1;

    harness *h = &H;
    memset(h, 0, sizeof *h);
    fuzz_heap heap;
    ttrpc_allocator alloc = fuzz_heap_allocator(&heap);
    ttrpc_session_config cfg = {
        .role = TTRPC_ROLE_SERVER,
        .max_data = (mode & 0x80) != 0 ? 64 : 0,
        .max_streams = MAX_STREAMS_CHOICES[(mode >> 4) & 3],
        .max_output = (mode & 0x40) != 0 ? 64 : 0,
        .methods = METHODS,
        .n_methods = N_METHODS,
        .alloc = &alloc,
    };
    h->max_data = cfg.max_data != 0 ? cfg.max_data : TTRPC_FRAME_MAX_DATA;
    h->max_streams = cfg.max_streams != 0 ? cfg.max_streams : TTRPC_SESSION_DEFAULT_MAX_STREAMS;
    h->max_output = cfg.max_output != 0 ? cfg.max_output : TTRPC_SESSION_DEFAULT_MAX_OUTPUT;
    h->write_limit = (mode & 0x40) != 0 ? 48 : SIZE_MAX;
    ttrpc_err rc = ttrpc_session_new(&cfg, &h->s);
    FUZZ_CHECK(rc == TTRPC_OK, "session_new: %s", ttrpc_err_name(rc));
    rc = ttrpc_decoder_init(&h->wire, TTRPC_FRAME_MAX_DATA, NULL);
    FUZZ_CHECK(rc == TTRPC_OK, "wire decoder: %s", ttrpc_err_name(rc));
    ttrpc_msg_arena_init(&h->arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);

    size_t fed = 0;
    while (fed < len) {
        size_t want = len - fed < chunk ? len - fed : chunk;
        size_t consumed = 0;
        rc = ttrpc_session_feed(h->s, in + fed, want, &consumed);
        FUZZ_CHECK(rc == TTRPC_OK, "feed: %s", ttrpc_err_name(rc));
        FUZZ_CHECK(consumed <= want, "consumed %zu of %zu", consumed, want);
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
    /* The rest of the output, so every error answer can be matched. */
    while (drain_output(h) > 0) {
    }
    FUZZ_CHECK(h->reject_head == h->reject_tail, "%zu error answers never sent",
               h->reject_tail - h->reject_head);

    /* PROTOCOL.md is silent on a closing connection; the session reports each live stream
     * once, so the application can stop its work, then says CLOSED for good. */
    bool truncated = false;
    ttrpc_session_close(h->s, &truncated);
    size_t reported = 0;
    ttrpc_event ev;
    while ((rc = ttrpc_session_next_event(h->s, &ev)) == TTRPC_OK) {
        FUZZ_CHECK(ev.kind == TTRPC_EVENT_STREAM_ERROR && ev.err == TTRPC_E_CLOSED && ev.was_live,
                   "after close: kind %d err %s", ev.kind, ttrpc_err_name(ev.err));
        model_stream *m = model_find(h, ev.stream_id);
        FUZZ_CHECK(m != NULL, "close reported id %u, not live (or twice)", ev.stream_id);
        model_remove(h, m);
        reported++;
    }
    FUZZ_CHECK(rc == TTRPC_E_CLOSED, "after the last report: %s", ttrpc_err_name(rc));
    FUZZ_CHECK(h->n_live == 0, "%zu live streams never reported (%zu were)", h->n_live,
               reported);
    rc = ttrpc_session_next_event(h->s, &ev);
    FUZZ_CHECK(rc == TTRPC_E_CLOSED, "CLOSED is not sticky: %s", ttrpc_err_name(rc));
    size_t consumed = 1;
    rc = ttrpc_session_feed(h->s, in, len, &consumed);
    FUZZ_CHECK(rc == TTRPC_E_CLOSED && consumed == 0, "feed after close: %s",
               ttrpc_err_name(rc));
    FUZZ_CHECK(ttrpc_session_get_stats(h->s).live_streams == 0, "live streams after close");

    ttrpc_session_free(h->s);
    ttrpc_decoder_free(&h->wire);
    ttrpc_msg_arena_reset(&h->arena);
    FUZZ_CHECK(heap.live == 0, "%zu bytes leaked by the session", heap.live);
    return 0;
}
