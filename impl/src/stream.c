#include "ttrpc/stream.h"

#include "ttrpc/frame.h"

/* The table is written against these counts: a new role, state or event must fail the build
 * here until every row below has a cell for it. */
_Static_assert(TTRPC_ROLE_COUNT == 2, "TABLE lists two roles");
_Static_assert(TTRPC_STREAM_STATE_COUNT == 6, "ROLE() takes six rows");
_Static_assert(TTRPC_EV_COUNT == 19, "ROW() takes nineteen cells");

/* A cell that keeps the current state. Never stored in a returned transition: lookup replaces
 * it with the state it was asked about, so "stay" cannot be mistyped as another state. */
#define STAY TTRPC_STREAM_STATE_COUNT

#define T(next, action) {TTRPC_STREAM_##next, TTRPC_ACT_##action}
#define S(action) {STAY, TTRPC_ACT_##action}

/* One row per state. ROW takes exactly 19 cells, so a row with one cell too few or too many
 * does not compile; each cell lands on its event by name, not by position in the enum.
 * Cells are written six lines to a row, in this order:
 *   SEND_REQUEST_UNARY  SEND_REQUEST_RC  SEND_REQUEST_RO  SEND_REQUEST_RC_RO
 *   SEND_DATA           SEND_DATA_ND     SEND_DATA_RC     SEND_DATA_RC_ND
 *   SEND_RESPONSE
 *   RECV_REQUEST_UNARY  RECV_REQUEST_RC  RECV_REQUEST_RO  RECV_REQUEST_RC_RO
 *   RECV_DATA           RECV_DATA_ND     RECV_DATA_RC     RECV_DATA_RC_ND
 *   RECV_RESPONSE       RECV_UNKNOWN_TYPE */
#define ROW(state, sq_unary, sq_rc, sq_ro, sq_rc_ro, sd, sd_nd, sd_rc, sd_rc_nd, s_resp,    \
            rq_unary, rq_rc, rq_ro, rq_rc_ro, rd, rd_nd, rd_rc, rd_rc_nd, r_resp, r_unknown) \
    [TTRPC_STREAM_##state] = {                                                               \
        [TTRPC_EV_SEND_REQUEST_UNARY] = sq_unary,                                            \
        [TTRPC_EV_SEND_REQUEST_RC] = sq_rc,                                                  \
        [TTRPC_EV_SEND_REQUEST_RO] = sq_ro,                                                  \
        [TTRPC_EV_SEND_REQUEST_RC_RO] = sq_rc_ro,                                            \
        [TTRPC_EV_SEND_DATA] = sd,                                                           \
        [TTRPC_EV_SEND_DATA_ND] = sd_nd,                                                     \
        [TTRPC_EV_SEND_DATA_RC] = sd_rc,                                                     \
        [TTRPC_EV_SEND_DATA_RC_ND] = sd_rc_nd,                                               \
        [TTRPC_EV_SEND_RESPONSE] = s_resp,                                                   \
        [TTRPC_EV_RECV_REQUEST_UNARY] = rq_unary,                                            \
        [TTRPC_EV_RECV_REQUEST_RC] = rq_rc,                                                  \
        [TTRPC_EV_RECV_REQUEST_RO] = rq_ro,                                                  \
        [TTRPC_EV_RECV_REQUEST_RC_RO] = rq_rc_ro,                                            \
        [TTRPC_EV_RECV_DATA] = rd,                                                           \
        [TTRPC_EV_RECV_DATA_ND] = rd_nd,                                                     \
        [TTRPC_EV_RECV_DATA_RC] = rd_rc,                                                     \
        [TTRPC_EV_RECV_DATA_RC_ND] = rd_rc_nd,                                               \
        [TTRPC_EV_RECV_RESPONSE] = r_resp,                                                   \
        [TTRPC_EV_RECV_UNKNOWN_TYPE] = r_unknown,                                            \
    }

/* ROLE takes exactly six rows, so a missing row does not compile either; a state given twice
 * is caught by -Woverride-init (part of -Wextra). Rows are placed by their state's name, so
 * each role lists them in the order its streams usually pass through. */
#define ROLE(role, row1, row2, row3, row4, row5, row6) \
    [TTRPC_ROLE_##role] = {row1, row2, row3, row4, row5, row6}

/* clang-format off */
static const ttrpc_stream_transition
    TABLE[TTRPC_ROLE_COUNT][TTRPC_STREAM_STATE_COUNT][TTRPC_EV_COUNT] = {
    /* The server never sends a Request, and ignores Responses and unknown types in every state:
     * no real client answers them (ttrpc-notes 3.4). A REJECT makes the server answer
     * INVALID_ARGUMENT on the id, which ends the stream. */
    ROLE(SERVER,
        /* Data for an id with no live stream: Go v1.2.8 answers 3. RC with RO says both that
         * no Data will follow and that it will (PROTOCOL.md, Request Flags). */
        ROW(IDLE,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE),
            T(UNARY, DELIVER), T(REMOTE_CLOSED, DELIVER), T(OPEN, DELIVER), T(CLOSED, REJECT),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            S(IGNORE), S(IGNORE)),
        /* PROTOCOL.md, Data: "A data message is not allowed on a unary stream"; a Response is
         * "the only expected message after a unary request". */
        ROW(UNARY,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            T(CLOSED, ACCEPT),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            S(IGNORE), S(IGNORE)),
        /* Request[RO]: both sides stream; the server may end with Data[RC] or a Response. */
        ROW(OPEN,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(ACCEPT), S(ACCEPT), T(LOCAL_CLOSED, ACCEPT), T(LOCAL_CLOSED, ACCEPT),
            T(CLOSED, ACCEPT),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            S(DELIVER), S(ACCEPT), T(REMOTE_CLOSED, DELIVER), T(REMOTE_CLOSED, ACCEPT),
            S(IGNORE), S(IGNORE)),
        /* The client sent RC on its Request or its last Data. PROTOCOL.md, Data: no Data
         * "should" follow it; Go v1.2.8 answers 3. */
        ROW(REMOTE_CLOSED,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(ACCEPT), S(ACCEPT), T(CLOSED, ACCEPT), T(CLOSED, ACCEPT),
            T(CLOSED, ACCEPT),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            S(IGNORE), S(IGNORE)),
        /* The server ended a bidi stream with Data[RC] while the client still sends.
         * PROTOCOL.md, Streaming wants a server remote closed first, but bidi handlers return
         * early on both real servers (ttrpc-notes 2.2). The same section lets a server that
         * finished its data first end the stream with a final Response. */
        ROW(LOCAL_CLOSED,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            T(CLOSED, ACCEPT),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            S(DELIVER), S(ACCEPT), T(CLOSED, DELIVER), T(CLOSED, ACCEPT),
            S(IGNORE), S(IGNORE)),
        /* A Request here reuses an id; Data here follows the end of the stream. */
        ROW(CLOSED,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE),
            S(REJECT), S(REJECT), S(REJECT), S(REJECT),
            S(REJECT), S(REJECT), S(REJECT), S(REJECT),
            S(IGNORE), S(IGNORE))),
    /* The client never sends a Response and ignores Requests in every state. A REJECT fails
     * the call; an unknown type on a pending call fails it on every real client. */
    ROLE(CLIENT,
        /* We never send RC with RO. A frame for no pending call is dropped, as every real
         * client does. */
        ROW(IDLE,
            T(UNARY, ACCEPT), T(LOCAL_CLOSED, ACCEPT), T(OPEN, ACCEPT), S(REFUSE),
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE),
            S(IGNORE), S(IGNORE), S(IGNORE), S(IGNORE),
            S(IGNORE), S(IGNORE), S(IGNORE), S(IGNORE),
            S(IGNORE), S(IGNORE)),
        ROW(UNARY,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE),
            S(IGNORE), S(IGNORE), S(IGNORE), S(IGNORE),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            T(CLOSED, DELIVER), T(CLOSED, REJECT)),
        ROW(OPEN,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(ACCEPT), S(ACCEPT), T(LOCAL_CLOSED, ACCEPT), T(LOCAL_CLOSED, ACCEPT),
            S(REFUSE),
            S(IGNORE), S(IGNORE), S(IGNORE), S(IGNORE),
            S(DELIVER), S(ACCEPT), T(REMOTE_CLOSED, DELIVER), T(REMOTE_CLOSED, ACCEPT),
            T(CLOSED, DELIVER), T(CLOSED, REJECT)),
        /* Our Request[RC] or last Data[RC] went out; the server answers with Data then
         * Data[RC], or with one Response. */
        ROW(LOCAL_CLOSED,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE),
            S(IGNORE), S(IGNORE), S(IGNORE), S(IGNORE),
            S(DELIVER), S(ACCEPT), T(CLOSED, DELIVER), T(CLOSED, ACCEPT),
            T(CLOSED, DELIVER), T(CLOSED, REJECT)),
        /* The server finished a bidi stream first; more Data from it breaks its own RC, but
         * PROTOCOL.md, Streaming lets it end the stream with a final Response. */
        ROW(REMOTE_CLOSED,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(ACCEPT), S(ACCEPT), T(CLOSED, ACCEPT), T(CLOSED, ACCEPT),
            S(REFUSE),
            S(IGNORE), S(IGNORE), S(IGNORE), S(IGNORE),
            T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT), T(CLOSED, REJECT),
            T(CLOSED, DELIVER), T(CLOSED, REJECT)),
        /* Late frames for a finished call are dropped, as every real client does. */
        ROW(CLOSED,
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE), S(REFUSE), S(REFUSE), S(REFUSE),
            S(REFUSE),
            S(IGNORE), S(IGNORE), S(IGNORE), S(IGNORE),
            S(IGNORE), S(IGNORE), S(IGNORE), S(IGNORE),
            S(IGNORE), S(IGNORE))),
};
/* clang-format on */

_Static_assert(sizeof TABLE == sizeof(ttrpc_stream_transition) * TTRPC_ROLE_COUNT *
                                  TTRPC_STREAM_STATE_COUNT * TTRPC_EV_COUNT,
               "TABLE has one cell per role, state and event");

#undef ROLE
#undef ROW
#undef S
#undef T

ttrpc_stream_transition ttrpc_stream_lookup(ttrpc_role role, ttrpc_stream_state state,
                                            ttrpc_stream_event event)
{
    /* Compared as unsigned so that a negative value cast to the enum is out of range too. */
    if ((unsigned)role >= (unsigned)TTRPC_ROLE_COUNT ||
        (unsigned)state >= (unsigned)TTRPC_STREAM_STATE_COUNT ||
        (unsigned)event >= (unsigned)TTRPC_EV_COUNT) {
        return (ttrpc_stream_transition){state, TTRPC_ACT_REFUSE};
    }
    ttrpc_stream_transition t = TABLE[role][state][event];
    if (t.next == STAY) {
        t.next = state;
    }
    return t;
}

ttrpc_stream_event ttrpc_stream_event_of(int sent, uint8_t type, uint8_t flags)
{
    /* PROTOCOL.md, Request Flags and Data Flags: only the bits defined for the type count. No
     * real peer checks the others (Rust clients set NO_DATA on Requests), so they are not a
     * state matter. */
    switch (type) {
    case TTRPC_TYPE_REQUEST:
        switch (flags & (TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_REMOTE_OPEN)) {
        case 0:
            return sent ? TTRPC_EV_SEND_REQUEST_UNARY : TTRPC_EV_RECV_REQUEST_UNARY;
        case TTRPC_FLAG_REMOTE_CLOSED:
            return sent ? TTRPC_EV_SEND_REQUEST_RC : TTRPC_EV_RECV_REQUEST_RC;
        case TTRPC_FLAG_REMOTE_OPEN:
            return sent ? TTRPC_EV_SEND_REQUEST_RO : TTRPC_EV_RECV_REQUEST_RO;
        default:
            return sent ? TTRPC_EV_SEND_REQUEST_RC_RO : TTRPC_EV_RECV_REQUEST_RC_RO;
        }
    case TTRPC_TYPE_RESPONSE:
        /* PROTOCOL.md, Response Flags: "flags should be empty"; every real client accepts
         * others. */
        return sent ? TTRPC_EV_SEND_RESPONSE : TTRPC_EV_RECV_RESPONSE;
    case TTRPC_TYPE_DATA:
        switch (flags & (TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA)) {
        case 0:
            return sent ? TTRPC_EV_SEND_DATA : TTRPC_EV_RECV_DATA;
        case TTRPC_FLAG_NO_DATA:
            return sent ? TTRPC_EV_SEND_DATA_ND : TTRPC_EV_RECV_DATA_ND;
        case TTRPC_FLAG_REMOTE_CLOSED:
            return sent ? TTRPC_EV_SEND_DATA_RC : TTRPC_EV_RECV_DATA_RC;
        default:
            return sent ? TTRPC_EV_SEND_DATA_RC_ND : TTRPC_EV_RECV_DATA_RC_ND;
        }
    default:
        /* We never send a type PROTOCOL.md does not define, so there is no SEND event for
         * one: TTRPC_EV_COUNT means "no event", and lookup() refuses it. */
        return sent ? TTRPC_EV_COUNT : TTRPC_EV_RECV_UNKNOWN_TYPE;
    }
}

/* Each name is the enumerator's own suffix, pasted by the preprocessor, so a name cannot drift
 * from its enumerator. No default: -Wswitch flags an enumerator without a case. */
#define NAME_CASE(prefix, name) \
    case prefix##name:          \
        return #name;

const char *ttrpc_stream_state_name(ttrpc_stream_state s)
{
    switch (s) {
        NAME_CASE(TTRPC_STREAM_, IDLE)
        NAME_CASE(TTRPC_STREAM_, UNARY)
        NAME_CASE(TTRPC_STREAM_, OPEN)
        NAME_CASE(TTRPC_STREAM_, LOCAL_CLOSED)
        NAME_CASE(TTRPC_STREAM_, REMOTE_CLOSED)
        NAME_CASE(TTRPC_STREAM_, CLOSED)
    case TTRPC_STREAM_STATE_COUNT:
        break;
    }
    return "?";
}

const char *ttrpc_stream_event_name(ttrpc_stream_event e)
{
    switch (e) {
        NAME_CASE(TTRPC_EV_, SEND_REQUEST_UNARY)
        NAME_CASE(TTRPC_EV_, SEND_REQUEST_RC)
        NAME_CASE(TTRPC_EV_, SEND_REQUEST_RO)
        NAME_CASE(TTRPC_EV_, SEND_REQUEST_RC_RO)
        NAME_CASE(TTRPC_EV_, SEND_DATA)
        NAME_CASE(TTRPC_EV_, SEND_DATA_ND)
        NAME_CASE(TTRPC_EV_, SEND_DATA_RC)
        NAME_CASE(TTRPC_EV_, SEND_DATA_RC_ND)
        NAME_CASE(TTRPC_EV_, SEND_RESPONSE)
        NAME_CASE(TTRPC_EV_, RECV_REQUEST_UNARY)
        NAME_CASE(TTRPC_EV_, RECV_REQUEST_RC)
        NAME_CASE(TTRPC_EV_, RECV_REQUEST_RO)
        NAME_CASE(TTRPC_EV_, RECV_REQUEST_RC_RO)
        NAME_CASE(TTRPC_EV_, RECV_DATA)
        NAME_CASE(TTRPC_EV_, RECV_DATA_ND)
        NAME_CASE(TTRPC_EV_, RECV_DATA_RC)
        NAME_CASE(TTRPC_EV_, RECV_DATA_RC_ND)
        NAME_CASE(TTRPC_EV_, RECV_RESPONSE)
        NAME_CASE(TTRPC_EV_, RECV_UNKNOWN_TYPE)
    case TTRPC_EV_COUNT:
        break;
    }
    return "?";
}

const char *ttrpc_stream_action_name(ttrpc_stream_action a)
{
    switch (a) {
        NAME_CASE(TTRPC_ACT_, DELIVER)
        NAME_CASE(TTRPC_ACT_, ACCEPT)
        NAME_CASE(TTRPC_ACT_, IGNORE)
        NAME_CASE(TTRPC_ACT_, REJECT)
        NAME_CASE(TTRPC_ACT_, REFUSE)
    case TTRPC_ACT_COUNT:
        break;
    }
    return "?";
}

const char *ttrpc_role_name(ttrpc_role r)
{
    switch (r) {
        NAME_CASE(TTRPC_ROLE_, CLIENT)
        NAME_CASE(TTRPC_ROLE_, SERVER)
    case TTRPC_ROLE_COUNT:
        break;
    }
    return "?";
}

#undef NAME_CASE
