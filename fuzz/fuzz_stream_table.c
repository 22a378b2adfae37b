/* fuzz/fuzz_stream_table.c. Targets: ttrpc_stream_lookup and ttrpc_stream_event_of, and the
 * sessions that consult them: the table is the oracle.
 * The input is a sequence of two-byte steps (a, b), read twice:
 *
 * 1. The table alone. a bit 0 picks the role, a bit 7 starts that role's stream again from
 *    IDLE, b % 20 is the event (19 is out of range). One state per role is stepped through
 *    ttrpc_stream_lookup and each transition must keep the table's rules: REFUSE keeps the
 *    state; CLOSED is absorbing; REJECT ends in CLOSED; our own sends only ACCEPT or REFUSE
 *    (they never DELIVER); received frames are never REFUSEd (that is for local misuse); the
 *    server never sends a Request nor the client a Response; IDLE is left only by opening a
 *    stream or by a REJECT; and a legal frame moves the stream as PROTOCOL.md says (a
 *    Response ends it, RC closes the sender's side, other Data keeps the state, Request flags
 *    pick UNARY, the half-closed state or OPEN). ttrpc_stream_event_of must ignore flag bits
 *    PROTOCOL.md does not define for the type.
 *
 * 2. A real client and server session joined in memory (the server routes the Echo
 *    service's Echo, ServerStream, ClientStream and BidiStream). b % 16 is an API call:
 *      0-3  client: call unary, server-streaming, client-streaming, bidi (a bit 6: with a
 *           payload, so RO instead of RO|ND)
 *      4-7  client: send_data, send_data(last), send_close, abandon
 *      8-12 server: send_data, send_data(last), send_close, send_response, abandon
 *      13-15 nothing (lets the first reading's events land on other steps)
 *    on the stream (a >> 1) & 7 places back from the newest one opened. After each call
 *    the bytes are carried both ways until both sides are quiet, and each side's
 *    ttrpc_session_stream_state must equal what this file predicts from the table alone:
 *    the caller's state through the send event, each frame through the receiver's
 *    RECV event, a server REJECT answered by a Response that the client then receives, and
 *    the session rules the table does not hold (max_streams, abandoned ids being CLOSED).
 *    Each API call's result must be the predicted one: OK, TTRPC_E_INVAL for a refused send,
 *    TTRPC_E_NOT_FOUND for a stream that is not live, TTRPC_E_LIMIT for too many calls. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "ttrpc/session.h"
#include "ttrpc/stream.h"

/* ---- part 1: the table's own rules ---- */

static bool is_send(ttrpc_stream_event e)
{
    return e <= TTRPC_EV_SEND_RESPONSE;
}

static void check_transition(ttrpc_role role, ttrpc_stream_state state, ttrpc_stream_event ev,
                             ttrpc_stream_transition t)
{
    const char *r = ttrpc_role_name(role);
    const char *s = ttrpc_stream_state_name(state);
    const char *e = ttrpc_stream_event_name(ev);
    FUZZ_CHECK((unsigned)t.next < TTRPC_STREAM_STATE_COUNT && (unsigned)t.action < TTRPC_ACT_COUNT,
               "%s %s %s: out-of-range cell", r, s, e);
    if (ev >= TTRPC_EV_COUNT) {
        FUZZ_CHECK(t.action == TTRPC_ACT_REFUSE && t.next == state, "out-of-range event taken");
        return;
    }
    FUZZ_CHECK(t.action != TTRPC_ACT_REFUSE || t.next == state, "%s %s %s: REFUSE moves to %s",
               r, s, e, ttrpc_stream_state_name(t.next));
    FUZZ_CHECK(state != TTRPC_STREAM_CLOSED || t.next == TTRPC_STREAM_CLOSED,
               "%s CLOSED %s: leaves CLOSED", r, e);
    FUZZ_CHECK(state != TTRPC_STREAM_CLOSED ||
                   (t.action != TTRPC_ACT_DELIVER && t.action != TTRPC_ACT_ACCEPT),
               "%s CLOSED %s: %s", r, e, ttrpc_stream_action_name(t.action));
    FUZZ_CHECK(t.action != TTRPC_ACT_REJECT || t.next == TTRPC_STREAM_CLOSED,
               "%s %s %s: REJECT to %s", r, s, e, ttrpc_stream_state_name(t.next));
    if (is_send(ev)) {
        FUZZ_CHECK(t.action == TTRPC_ACT_ACCEPT || t.action == TTRPC_ACT_REFUSE,
                   "%s %s %s: a send gives %s", r, s, e, ttrpc_stream_action_name(t.action));
    } else {
        FUZZ_CHECK(t.action != TTRPC_ACT_REFUSE, "%s %s %s: a received frame REFUSEd", r, s, e);
    }
    if (ev <= TTRPC_EV_SEND_REQUEST_RC_RO) {
        FUZZ_CHECK(role == TTRPC_ROLE_CLIENT || t.action == TTRPC_ACT_REFUSE,
                   "server sends a Request");
        FUZZ_CHECK(state == TTRPC_STREAM_IDLE || t.action == TTRPC_ACT_REFUSE,
                   "%s: Request sent on a stream in %s", r, s);
    }
    if (ev == TTRPC_EV_SEND_RESPONSE) {
        FUZZ_CHECK(role == TTRPC_ROLE_SERVER || t.action == TTRPC_ACT_REFUSE,
                   "client sends a Response");
    }
    if (state == TTRPC_STREAM_UNARY && ev >= TTRPC_EV_SEND_DATA && ev <= TTRPC_EV_SEND_DATA_RC_ND) {
        /* PROTOCOL.md, Data: "A data message is not allowed on a unary stream". */
        FUZZ_CHECK(t.action == TTRPC_ACT_REFUSE, "%s sends Data on a unary stream", r);
    }
    /* What each legal frame does to the stream, from PROTOCOL.md rather than from the table:
     * a Response ends it, RC closes the sender's side, other Data leaves it as it was, and a
     * Request's flags pick unary, half-closed or open. */
    if (t.action == TTRPC_ACT_ACCEPT || t.action == TTRPC_ACT_DELIVER) {
        bool ours = is_send(ev);
        ttrpc_stream_state sender_closed =
            ours ? TTRPC_STREAM_LOCAL_CLOSED : TTRPC_STREAM_REMOTE_CLOSED;
        switch (ev) {
        case TTRPC_EV_SEND_RESPONSE:
        case TTRPC_EV_RECV_RESPONSE:
            FUZZ_CHECK(t.next == TTRPC_STREAM_CLOSED, "%s %s %s: a Response leaves %s", r, s, e,
                       ttrpc_stream_state_name(t.next));
            break;
        case TTRPC_EV_SEND_DATA_RC:
        case TTRPC_EV_SEND_DATA_RC_ND:
        case TTRPC_EV_RECV_DATA_RC:
        case TTRPC_EV_RECV_DATA_RC_ND:
            FUZZ_CHECK(t.next == TTRPC_STREAM_CLOSED ||
                           (t.next == sender_closed && state == TTRPC_STREAM_OPEN),
                       "%s %s %s: RC gives %s", r, s, e, ttrpc_stream_state_name(t.next));
            break;
        case TTRPC_EV_SEND_DATA:
        case TTRPC_EV_SEND_DATA_ND:
        case TTRPC_EV_RECV_DATA:
        case TTRPC_EV_RECV_DATA_ND:
            FUZZ_CHECK(t.next == state, "%s %s %s: Data moves to %s", r, s, e,
                       ttrpc_stream_state_name(t.next));
            break;
        case TTRPC_EV_SEND_REQUEST_UNARY:
        case TTRPC_EV_RECV_REQUEST_UNARY:
            FUZZ_CHECK(t.next == TTRPC_STREAM_UNARY, "%s: unary Request gives %s", r,
                       ttrpc_stream_state_name(t.next));
            break;
        case TTRPC_EV_SEND_REQUEST_RC:
        case TTRPC_EV_RECV_REQUEST_RC:
            FUZZ_CHECK(t.next == sender_closed, "%s: Request RC gives %s", r,
                       ttrpc_stream_state_name(t.next));
            break;
        case TTRPC_EV_SEND_REQUEST_RO:
        case TTRPC_EV_RECV_REQUEST_RO:
            FUZZ_CHECK(t.next == TTRPC_STREAM_OPEN, "%s: Request RO gives %s", r,
                       ttrpc_stream_state_name(t.next));
            break;
        default:
            FUZZ_CHECK(false, "%s %s %s: %s", r, s, e, ttrpc_stream_action_name(t.action));
        }
    }
    if (state == TTRPC_STREAM_IDLE && t.next != TTRPC_STREAM_IDLE) {
        bool opens = role == TTRPC_ROLE_CLIENT
                         ? ev <= TTRPC_EV_SEND_REQUEST_RC_RO
                         : ev >= TTRPC_EV_RECV_REQUEST_UNARY && ev <= TTRPC_EV_RECV_REQUEST_RC_RO;
        FUZZ_CHECK(opens || t.action == TTRPC_ACT_REJECT, "%s IDLE left by %s", r, e);
    }
}

/* Flag bits PROTOCOL.md defines per type; the rest must not change the classification. */
static void check_event_of(uint8_t a, uint8_t b)
{
    int sent = (a >> 1) & 1;
    uint8_t type = (uint8_t)((a >> 2) & 7); /* 0..7: the three types and unknown ones */
    uint8_t flags = b;
    ttrpc_stream_event e = ttrpc_stream_event_of(sent, type, flags);
    uint8_t defined = 0;
    if (type == TTRPC_TYPE_REQUEST) {
        defined = TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_REMOTE_OPEN;
    } else if (type == TTRPC_TYPE_DATA) {
        defined = TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA;
    }
    FUZZ_CHECK(e == ttrpc_stream_event_of(sent, type, (uint8_t)(flags & defined)),
               "type %u flags %#x: undefined bits change the event", type, flags);
    if (type < TTRPC_TYPE_REQUEST || type > TTRPC_TYPE_DATA) {
        FUZZ_CHECK(e == (sent ? TTRPC_EV_COUNT : TTRPC_EV_RECV_UNKNOWN_TYPE), "unknown type %u",
                   type);
        return;
    }
    FUZZ_CHECK(sent ? is_send(e) : !is_send(e) && e < TTRPC_EV_COUNT, "direction lost");
    FUZZ_CHECK(strcmp(ttrpc_stream_event_name(e), "?") != 0, "unnamed event %d", e);
}

static void run_table(const uint8_t *in, size_t len)
{
    ttrpc_stream_state state[TTRPC_ROLE_COUNT] = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint8_t a = in[i];
        uint8_t b = in[i + 1];
        ttrpc_role role = (ttrpc_role)(a & 1);
        if ((a & 0x80) != 0) {
            state[role] = TTRPC_STREAM_IDLE;
        }
        ttrpc_stream_event ev = (ttrpc_stream_event)(b % (TTRPC_EV_COUNT + 1));
        ttrpc_stream_transition t = ttrpc_stream_lookup(role, state[role], ev);
        check_transition(role, state[role], ev, t);
        state[role] = t.next;
        check_event_of(a, b);
    }
    /* Out-of-range roles and states are refused in place, negative ones included. */
    ttrpc_stream_transition t = ttrpc_stream_lookup(TTRPC_ROLE_COUNT, TTRPC_STREAM_OPEN,
                                                    TTRPC_EV_RECV_DATA);
    FUZZ_CHECK(t.action == TTRPC_ACT_REFUSE && t.next == TTRPC_STREAM_OPEN, "bad role taken");
    t = ttrpc_stream_lookup(TTRPC_ROLE_SERVER, (ttrpc_stream_state)-1, TTRPC_EV_RECV_DATA);
    FUZZ_CHECK(t.action == TTRPC_ACT_REFUSE, "negative state taken");
}

/* ---- part 2: two sessions against the table's prediction ---- */

#define SVC "ttrpc.conformance.v1.Echo"
#define MAX_CALLS 128
#define MAX_STREAMS 4
#define WIRE_MAX 1024

static const ttrpc_method_desc METHODS[] = {
    {SVC, "Echo", TTRPC_METHOD_UNARY},
    {SVC, "ServerStream", TTRPC_METHOD_SERVER_STREAM},
    {SVC, "ClientStream", TTRPC_METHOD_CLIENT_STREAM},
    {SVC, "BidiStream", TTRPC_METHOD_BIDI},
};

typedef struct wire_frame {
    uint32_t id;
    uint8_t type;
    uint8_t flags;
} wire_frame;

typedef struct wire {
    wire_frame f[WIRE_MAX];
    size_t n;
} wire;

typedef struct pair {
    ttrpc_session *side[TTRPC_ROLE_COUNT];
    /* Predicted table state per call and side; CLOSED also stands for "not live any more". */
    ttrpc_stream_state state[TTRPC_ROLE_COUNT][MAX_CALLS];
    size_t n_calls; /* calls opened; call k has id 2k + 1 */
    wire to[TTRPC_ROLE_COUNT]; /* frames in flight towards each side */
} pair;

static bool live(ttrpc_stream_state s)
{
    return s != TTRPC_STREAM_IDLE && s != TTRPC_STREAM_CLOSED;
}

static uint32_t live_count(const pair *p, ttrpc_role role)
{
    uint32_t n = 0;
    for (size_t k = 0; k < p->n_calls; k++) {
        n += live(p->state[role][k]) ? 1u : 0u;
    }
    return n;
}

static void wire_push(pair *p, ttrpc_role to, uint32_t id, uint8_t type, uint8_t flags)
{
    wire *w = &p->to[to];
    FUZZ_CHECK(w->n < WIRE_MAX, "model wire full");
    w->f[w->n++] = (wire_frame){id, type, flags};
}

/* The receiver's prediction for one frame, in the order the session will see it. */
static void model_receive(pair *p, ttrpc_role role, const wire_frame *f)
{
    size_t k = (f->id - 1) / 2;
    ttrpc_stream_state *st = &p->state[role][k];
    if (role == TTRPC_ROLE_SERVER && f->type == TTRPC_TYPE_REQUEST) {
        /* Our client's ids are odd and increasing and its methods are routed, so only the
         * table and max_streams can turn a Request down. */
        ttrpc_stream_transition t = ttrpc_stream_lookup(
            role, TTRPC_STREAM_IDLE, ttrpc_stream_event_of(0, f->type, f->flags));
        FUZZ_CHECK(t.action == TTRPC_ACT_DELIVER, "our own Request rejected by the table");
        if (live_count(p, role) >= MAX_STREAMS) {
            *st = TTRPC_STREAM_CLOSED;
            wire_push(p, TTRPC_ROLE_CLIENT, f->id, TTRPC_TYPE_RESPONSE, 0);
        } else {
            *st = t.next;
        }
        return;
    }
    ttrpc_stream_transition t =
        ttrpc_stream_lookup(role, *st, ttrpc_stream_event_of(0, f->type, f->flags));
    switch (t.action) {
    case TTRPC_ACT_REJECT:
        if (role == TTRPC_ROLE_SERVER) {
            *st = TTRPC_STREAM_CLOSED;
            wire_push(p, TTRPC_ROLE_CLIENT, f->id, TTRPC_TYPE_RESPONSE, 0);
        } else if (live(*st)) {
            *st = TTRPC_STREAM_CLOSED;
        }
        break;
    case TTRPC_ACT_DELIVER:
    case TTRPC_ACT_ACCEPT:
        if (live(*st)) {
            *st = t.next;
        }
        break;
    default:
        break;
    }
}

/* Carries every queued byte to the other side and pulls its events, for real and in the
 * model, client to server first, then server to client: the same order for both. */
static void pump(pair *p, ttrpc_role from)
{
    ttrpc_role to = from == TTRPC_ROLE_CLIENT ? TTRPC_ROLE_SERVER : TTRPC_ROLE_CLIENT;
    const uint8_t *out;
    size_t len;
    ttrpc_session_output(p->side[from], &out, &len);
    size_t done = 0;
    while (done < len) {
        size_t consumed = 0;
        ttrpc_err rc = ttrpc_session_feed(p->side[to], out + done, len - done, &consumed);
        FUZZ_CHECK(rc == TTRPC_OK, "feed: %s", ttrpc_err_name(rc));
        done += consumed;
        ttrpc_event ev;
        size_t events = 0;
        while ((rc = ttrpc_session_next_event(p->side[to], &ev)) == TTRPC_OK) {
            FUZZ_CHECK(ev.stream_id % 2 == 1 && (ev.stream_id - 1) / 2 < p->n_calls,
                       "event on id %u", ev.stream_id);
            events++;
        }
        FUZZ_CHECK(rc == TTRPC_E_AGAIN, "next_event: %s", ttrpc_err_name(rc));
        FUZZ_CHECK(consumed > 0 || events > 0, "stalled carrying bytes");
    }
    ttrpc_session_output_consumed(p->side[from], len);
    wire *w = &p->to[to];
    /* Receiving can queue answers the other way (server REJECTs), behind what is there. */
    for (size_t i = 0; i < w->n; i++) {
        wire_frame f = w->f[i];
        model_receive(p, to, &f);
    }
    w->n = 0;
}

/* Compares every call's state on both sides with the model. A call finished on both sides
 * can only stay finished, so calls older than the 16 newest are compared only on every 32nd
 * step (and at the end) once both sides are done with them: the full sweep on every step made
 * long inputs quadratic. */
static void check_pair(const pair *p, size_t step, bool full)
{
    full = full || step % 32 == 0;
    for (ttrpc_role r = TTRPC_ROLE_CLIENT; r < TTRPC_ROLE_COUNT; r++) {
        for (size_t k = 0; k < p->n_calls; k++) {
            if (!full && k + 16 < p->n_calls && !live(p->state[TTRPC_ROLE_CLIENT][k]) &&
                !live(p->state[TTRPC_ROLE_SERVER][k])) {
                continue;
            }
            uint32_t id = (uint32_t)(2 * k + 1);
            ttrpc_stream_state want = live(p->state[r][k]) ? p->state[r][k] : TTRPC_STREAM_IDLE;
            ttrpc_stream_state got = ttrpc_session_stream_state(p->side[r], id);
            FUZZ_CHECK(got == want, "step %zu: %s stream %u is %s, table says %s", step,
                       ttrpc_role_name(r), id, ttrpc_stream_state_name(got),
                       ttrpc_stream_state_name(want));
        }
        FUZZ_CHECK(ttrpc_session_get_stats(p->side[r]).live_streams == live_count(p, r),
                   "step %zu: %s live count", step, ttrpc_role_name(r));
    }
}

/* One send on an existing stream, predicted and checked. kind: 0 data, 1 data last,
 * 2 close, 3 response. */
static void api_send(pair *p, ttrpc_role role, size_t k, int kind)
{
    static const uint8_t MSG[] = {0x0a, 0x01, 'x'};
    uint32_t id = (uint32_t)(2 * k + 1);
    ttrpc_stream_state *st = &p->state[role][k];
    ttrpc_session *s = p->side[role];
    ttrpc_stream_event sev;
    uint8_t type = TTRPC_TYPE_DATA;
    uint8_t flags = 0;
    ttrpc_err rc;
    switch (kind) {
    case 0:
        sev = TTRPC_EV_SEND_DATA;
        rc = ttrpc_session_send_data(s, id, MSG, sizeof MSG, false);
        break;
    case 1:
        sev = TTRPC_EV_SEND_DATA_RC;
        flags = TTRPC_FLAG_REMOTE_CLOSED;
        rc = ttrpc_session_send_data(s, id, MSG, sizeof MSG, true);
        break;
    case 2:
        sev = TTRPC_EV_SEND_DATA_RC_ND;
        flags = TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA;
        rc = ttrpc_session_send_close(s, id);
        break;
    default:
        sev = TTRPC_EV_SEND_RESPONSE;
        type = TTRPC_TYPE_RESPONSE;
        rc = ttrpc_session_send_status(s, id, TTRPC_CODE_OK, NULL);
        break;
    }
    if (!live(*st)) {
        FUZZ_CHECK(rc == TTRPC_E_NOT_FOUND, "%s send %d on a stream not live: %s",
                   ttrpc_role_name(role), kind, ttrpc_err_name(rc));
        return;
    }
    ttrpc_stream_transition t = ttrpc_stream_lookup(role, *st, sev);
    if (t.action == TTRPC_ACT_REFUSE) {
        FUZZ_CHECK(rc == TTRPC_E_INVAL, "%s send %d refused in %s gave %s",
                   ttrpc_role_name(role), kind, ttrpc_stream_state_name(*st),
                   ttrpc_err_name(rc));
        return;
    }
    FUZZ_CHECK(rc == TTRPC_OK, "%s send %d allowed in %s gave %s", ttrpc_role_name(role), kind,
               ttrpc_stream_state_name(*st), ttrpc_err_name(rc));
    *st = t.next;
    wire_push(p, role == TTRPC_ROLE_CLIENT ? TTRPC_ROLE_SERVER : TTRPC_ROLE_CLIENT, id, type,
              flags);
}

static void api_call(pair *p, ttrpc_method_kind kind, bool payload)
{
    if (p->n_calls == MAX_CALLS) {
        return;
    }
    static const uint8_t HI[] = {0x0a, 0x02, 'h', 'i'};
    ttrpc_request req;
    memset(&req, 0, sizeof req);
    req.service = ttrpc_bytes_of(SVC);
    req.method = ttrpc_bytes_of(METHODS[kind].method);
    if (payload) {
        req.has_payload = true;
        req.payload = (ttrpc_bytes){HI, sizeof HI};
    }
    uint32_t id = 0;
    ttrpc_err rc = ttrpc_session_call(p->side[TTRPC_ROLE_CLIENT], &req, kind, &id);
    if (live_count(p, TTRPC_ROLE_CLIENT) >= MAX_STREAMS) {
        FUZZ_CHECK(rc == TTRPC_E_LIMIT, "call over max_streams: %s", ttrpc_err_name(rc));
        return;
    }
    FUZZ_CHECK(rc == TTRPC_OK && id == 2 * p->n_calls + 1, "call: %s, id %u",
               ttrpc_err_name(rc), id);
    uint8_t flags = kind == TTRPC_METHOD_UNARY           ? 0
                    : kind == TTRPC_METHOD_SERVER_STREAM ? TTRPC_FLAG_REMOTE_CLOSED
                    : payload ? TTRPC_FLAG_REMOTE_OPEN
                              : (uint8_t)(TTRPC_FLAG_REMOTE_OPEN | TTRPC_FLAG_NO_DATA);
    ttrpc_stream_transition t = ttrpc_stream_lookup(
        TTRPC_ROLE_CLIENT, TTRPC_STREAM_IDLE, ttrpc_stream_event_of(1, TTRPC_TYPE_REQUEST, flags));
    FUZZ_CHECK(t.action == TTRPC_ACT_ACCEPT, "the table refuses our Request");
    size_t k = p->n_calls++;
    p->state[TTRPC_ROLE_CLIENT][k] = t.next;
    p->state[TTRPC_ROLE_SERVER][k] = TTRPC_STREAM_IDLE;
    wire_push(p, TTRPC_ROLE_SERVER, id, TTRPC_TYPE_REQUEST, flags);
}

static void api_abandon(pair *p, ttrpc_role role, size_t k)
{
    ttrpc_err rc = ttrpc_session_abandon(p->side[role], (uint32_t)(2 * k + 1));
    ttrpc_stream_state *st = &p->state[role][k];
    FUZZ_CHECK(rc == (live(*st) ? TTRPC_OK : TTRPC_E_NOT_FOUND), "abandon in %s: %s",
               ttrpc_stream_state_name(*st), ttrpc_err_name(rc));
    if (live(*st)) {
        *st = TTRPC_STREAM_CLOSED;
    }
}

static pair P;

static void run_pair(const uint8_t *in, size_t len, fuzz_heap *heap)
{
    pair *p = &P;
    memset(p, 0, sizeof *p);
    ttrpc_allocator alloc = fuzz_heap_allocator(heap);
    for (ttrpc_role r = TTRPC_ROLE_CLIENT; r < TTRPC_ROLE_COUNT; r++) {
        ttrpc_session_config cfg = {
            .role = r,
            .max_streams = MAX_STREAMS,
            .methods = r == TTRPC_ROLE_SERVER ? METHODS : NULL,
            .n_methods = r == TTRPC_ROLE_SERVER ? sizeof METHODS / sizeof METHODS[0] : 0,
            .alloc = &alloc,
        };
        ttrpc_err rc = ttrpc_session_new(&cfg, &p->side[r]);
        FUZZ_CHECK(rc == TTRPC_OK, "session_new: %s", ttrpc_err_name(rc));
    }
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint8_t a = in[i];
        uint8_t op = in[i + 1] % 16;
        size_t back = (a >> 1) & 7;
        bool have = back < p->n_calls;
        size_t k = have ? p->n_calls - 1 - back : 0;
        if (op <= 3) {
            api_call(p, (ttrpc_method_kind)op, (a & 0x40) != 0);
        } else if (op <= 6 && have) {
            api_send(p, TTRPC_ROLE_CLIENT, k, op - 4);
        } else if (op == 7 && have) {
            api_abandon(p, TTRPC_ROLE_CLIENT, k);
        } else if (op >= 8 && op <= 11 && have) {
            api_send(p, TTRPC_ROLE_SERVER, k, op - 8);
        } else if (op == 12 && have) {
            api_abandon(p, TTRPC_ROLE_SERVER, k);
        }
        pump(p, TTRPC_ROLE_CLIENT);
        pump(p, TTRPC_ROLE_SERVER);
        FUZZ_CHECK(p->to[TTRPC_ROLE_CLIENT].n == 0 && p->to[TTRPC_ROLE_SERVER].n == 0,
                   "model wire not empty after pumping");
        check_pair(p, i / 2, i + 3 >= len);
    }
    for (ttrpc_role r = TTRPC_ROLE_CLIENT; r < TTRPC_ROLE_COUNT; r++) {
        ttrpc_session_close(p->side[r], NULL);
        ttrpc_event ev;
        uint32_t reported = 0;
        ttrpc_err rc;
        while ((rc = ttrpc_session_next_event(p->side[r], &ev)) == TTRPC_OK) {
            FUZZ_CHECK(ev.kind == TTRPC_EVENT_STREAM_ERROR && ev.err == TTRPC_E_CLOSED,
                       "after close: kind %d", ev.kind);
            size_t k = (ev.stream_id - 1) / 2;
            FUZZ_CHECK(k < p->n_calls && live(p->state[r][k]), "close reported id %u",
                       ev.stream_id);
            p->state[r][k] = TTRPC_STREAM_CLOSED;
            reported++;
        }
        FUZZ_CHECK(rc == TTRPC_E_CLOSED && live_count(p, r) == 0,
                   "%s: %u live left after %u reports", ttrpc_role_name(r), live_count(p, r),
                   reported);
        ttrpc_session_free(p->side[r]);
    }
    FUZZ_CHECK(heap->live == 0, "%zu bytes leaked by the sessions", heap->live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_table(data, size);
    fuzz_heap heap;
    run_pair(data, size, &heap);
    return 0;
}
