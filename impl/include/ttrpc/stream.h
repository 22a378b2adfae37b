/* The per-stream state machine as one explicit table: for each role, state and event it gives
 * the next state and what to do. The session consults it for every frame it sends or
 * receives; the vectors and the state-machine fuzz target use the same table as their oracle.
 *
 * States follow PROTOCOL.md, Streaming: each side tracks "local closed" and "remote closed"
 * from its own view; UNARY is a stream opened by a Request with neither RC nor RO, on which
 * only one Response may follow. */
#ifndef TTRPC_STREAM_H
#define TTRPC_STREAM_H

#include <stdint.h>

#include "ttrpc/err.h"

typedef enum ttrpc_role {
    TTRPC_ROLE_CLIENT = 0,
    TTRPC_ROLE_SERVER = 1,
    TTRPC_ROLE_COUNT
} ttrpc_role;

typedef enum ttrpc_stream_state {
    TTRPC_STREAM_IDLE = 0,      /* no stream with this id yet */
    TTRPC_STREAM_UNARY,         /* unary Request sent/received; only a Response may follow */
    TTRPC_STREAM_OPEN,          /* both sides may still send Data */
    TTRPC_STREAM_LOCAL_CLOSED,  /* we sent our last message; the remote may still send */
    TTRPC_STREAM_REMOTE_CLOSED, /* the remote sent its last message; we may still send */
    TTRPC_STREAM_CLOSED,        /* finished; the id may not be used again */
    TTRPC_STREAM_STATE_COUNT
} ttrpc_stream_state;

/* A frame classified by direction, type and the flag bits that matter for it. Flag bits that
 * PROTOCOL.md does not define for a type are ignored when classifying (no real peer checks
 * them); NO_DATA on a Request is not a state matter and is handled by the session. */
typedef enum ttrpc_stream_event {
    TTRPC_EV_SEND_REQUEST_UNARY = 0, /* flags 0 */
    TTRPC_EV_SEND_REQUEST_RC,        /* RC: non-unary, the client sends nothing more */
    TTRPC_EV_SEND_REQUEST_RO,        /* RO: non-unary, Data follows from the client */
    TTRPC_EV_SEND_REQUEST_RC_RO,     /* both: contradictory */
    TTRPC_EV_SEND_DATA,              /* a message, more to come */
    TTRPC_EV_SEND_DATA_ND,           /* no message, more to come */
    TTRPC_EV_SEND_DATA_RC,           /* the last message */
    TTRPC_EV_SEND_DATA_RC_ND,        /* close without a message */
    TTRPC_EV_SEND_RESPONSE,
    TTRPC_EV_RECV_REQUEST_UNARY,
    TTRPC_EV_RECV_REQUEST_RC,
    TTRPC_EV_RECV_REQUEST_RO,
    TTRPC_EV_RECV_REQUEST_RC_RO,
    TTRPC_EV_RECV_DATA,
    TTRPC_EV_RECV_DATA_ND,
    TTRPC_EV_RECV_DATA_RC,
    TTRPC_EV_RECV_DATA_RC_ND,
    TTRPC_EV_RECV_RESPONSE,
    TTRPC_EV_RECV_UNKNOWN_TYPE, /* a type other than 1, 2, 3 */
    TTRPC_EV_COUNT
} ttrpc_stream_event;

typedef enum ttrpc_stream_action {
    TTRPC_ACT_DELIVER = 0, /* legal; the frame carries a message for the application */
    TTRPC_ACT_ACCEPT,      /* legal; nothing to deliver (no-data frames, our own sends) */
    TTRPC_ACT_IGNORE,      /* dropped without an answer (spec silent, peers ignore it) */
    TTRPC_ACT_REJECT,      /* the remote broke a rule: a server answers INVALID_ARGUMENT on the
                            * id, a client fails the call; the stream ends */
    TTRPC_ACT_REFUSE,      /* local misuse: nothing is sent and the state stays */
    TTRPC_ACT_COUNT
} ttrpc_stream_action;

typedef struct ttrpc_stream_transition {
    ttrpc_stream_state next;
    ttrpc_stream_action action;
} ttrpc_stream_transition;

/* The table lookup. Out-of-range arguments give {state unchanged, TTRPC_ACT_REFUSE}. */
ttrpc_stream_transition ttrpc_stream_lookup(ttrpc_role role, ttrpc_stream_state state,
                                            ttrpc_stream_event event);

/* Classifies a frame by direction (sent: 1, received: 0), type and flags. A sent frame of a
 * type other than 1, 2, 3 is no event and gives TTRPC_EV_COUNT, which lookup refuses. */
ttrpc_stream_event ttrpc_stream_event_of(int sent, uint8_t type, uint8_t flags);

/* Stable names for reports, vectors and logs ("OPEN", "RECV_DATA_RC", "REJECT"); "?" when
 * out of range. Vectors refer to states, events and actions by these names. */
const char *ttrpc_stream_state_name(ttrpc_stream_state s);
const char *ttrpc_stream_event_name(ttrpc_stream_event e);
const char *ttrpc_stream_action_name(ttrpc_stream_action a);
const char *ttrpc_role_name(ttrpc_role r);

#endif
