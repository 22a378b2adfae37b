/* Driving the C reference's ttrpc_session through a sequence vector's steps (vectors/README.md,
 * `sequence`), shared by vector_check (which compares in process) and the C testee (which
 * answers the runner's session and step requests). Problems go into a vc_verdict: harness set
 * when the step cannot be played at all, else the session misbehaved. */
#ifndef VECTOR_SESSION_H
#define VECTOR_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ttrpc/session.h"
#include "ttrpc/stream.h"
#include "vector_compare.h"

#define VS_MAX_METHODS 32

/* What the driver has seen of one stream id, to tell CLOSED from IDLE: the session reports
 * every stream that is not live as IDLE. */
typedef struct vs_id_seen {
    uint32_t id;
    bool was_live;
    bool response_sent; /* the implementation emitted a Response on it: the stream ended */
} vs_id_seen;

typedef struct vs_session {
    ttrpc_session *s;
    ttrpc_role role;
    ttrpc_method_desc methods[VS_MAX_METHODS]; /* strings owned here */
    size_t n_methods;
    vs_id_seen ids[64];
    size_t n_ids;
} vs_session;

/* A new session in role ("server" | "client") with the methods table (the vector form; only
 * a server uses it). false: bad arguments (v->harness) or the session could not be made. */
bool vs_open(vs_session *c, vc_verdict *v, const char *role, const cJSON *methods);
void vs_close(vs_session *c);

/* Called for each Request, Data or Response the session delivers during an inbound step;
 * the event lives until the next session call. */
typedef void vs_deliver_fn(const ttrpc_event *ev, void *ctx);

/* The step's frame (in[0, len)) fed as received bytes in pieces of at most chunk bytes.
 * Returns the action: "DELIVER", "ACCEPT", "IGNORE", "REJECT", or "?" after vc_fail. */
const char *vs_inbound(vs_session *c, vc_verdict *v, const uint8_t *in, size_t len,
                       size_t chunk, size_t step, vs_deliver_fn *deliver, void *ctx);

/* The step's frame sent by the application: "ACCEPT", "REFUSE", or "?" after vc_fail. */
const char *vs_outbound(vs_session *c, vc_verdict *v, const uint8_t *in, size_t len,
                        size_t step);

/* Takes every byte the session queued since the last call (appended to out). */
bool vs_take_output(vs_session *c, vc_buf *out);

/* The stream's state from the implementation's view: "IDLE", "UNARY", "OPEN", ... */
const char *vs_state(vs_session *c, uint32_t id);

/* An event as vc_compare_delivered takes it (pointing into the event). */
vc_delivery vs_delivery(const ttrpc_event *ev);

#endif
