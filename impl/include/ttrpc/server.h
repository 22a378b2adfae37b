/* A ttrpc server on Unix sockets: one thread, one epoll loop, many connections, each with its
 * own ttrpc_session (role SERVER) routing Requests to the handlers registered here.
 *
 * Handlers run on the loop thread and must not block. A handler answers at once, or later
 * from a timer (ttrpc_server_timer_start) or any other callback on the loop thread. Every
 * function here is for the loop thread only, except ttrpc_server_stop.
 *
 * Lifetimes: a ttrpc_call lives from on_request until the call ends: the handler responded,
 * the stream finished in both directions, or on_cancel returned. After that the pointer is
 * invalid. The request handed to on_request is valid during that callback; a call still
 * running after it gets its own copy, which ttrpc_call_request returns until the call ends. */
#ifndef TTRPC_SERVER_H
#define TTRPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ttrpc/err.h"
#include "ttrpc/msg.h"
#include "ttrpc/session.h"

typedef struct ttrpc_server ttrpc_server;
typedef struct ttrpc_call ttrpc_call;
typedef struct ttrpc_server_timer ttrpc_server_timer;

/* Why a call ended without the handler finishing it. The call dies when on_cancel returns;
 * sending on it from on_cancel is refused. */
typedef enum ttrpc_cancel_reason {
    TTRPC_CANCEL_DEADLINE = 1, /* timeout_nano ran out; DEADLINE_EXCEEDED (4) was answered */
    TTRPC_CANCEL_VIOLATION,    /* the peer broke a rule on the stream; the session answered */
    TTRPC_CANCEL_DISCONNECT,   /* the connection ended or failed; nothing can be answered */
    TTRPC_CANCEL_SHUTDOWN,     /* the shutdown grace ran out; UNAVAILABLE (14) was answered */
} ttrpc_cancel_reason;

/* "DEADLINE", "VIOLATION", "DISCONNECT", "SHUTDOWN"; "?" otherwise. */
const char *ttrpc_cancel_reason_name(ttrpc_cancel_reason why);

/* A method's callbacks; NULL callbacks are skipped. arg is handed back by
 * ttrpc_call_handler_arg. Memory passed to a callback is valid during the callback only; after
 * on_request, use ttrpc_call_request for the call's own copy of the request. */
typedef struct ttrpc_handler {
    /* A Request was routed here. first_message: req->payload is the stream's first message
     * (always true for unary and server-streaming methods; see ttrpc_event.first_message). */
    void (*on_request)(ttrpc_call *call, const ttrpc_request *req, bool first_message);
    /* One Data message from the client. When the client sent it as its last (Data RC),
     * on_remote_closed follows, unless the handler ended the call. */
    void (*on_data)(ttrpc_call *call, ttrpc_bytes msg);
    /* The client sends nothing more. */
    void (*on_remote_closed)(ttrpc_call *call);
    void (*on_cancel)(ttrpc_call *call, ttrpc_cancel_reason why);
    /* A send on this call returned TTRPC_E_AGAIN earlier and the output has drained: send on. */
    void (*on_writable)(ttrpc_call *call);
    void *arg;
} ttrpc_handler;

/* Peer process credentials, read once at accept (SO_PEERCRED). */
typedef struct ttrpc_peer_cred {
    pid_t pid;
    uid_t uid;
    gid_t gid;
} ttrpc_peer_cred;

#define TTRPC_SERVER_DEFAULT_MAX_CONNECTIONS 1024u
#define TTRPC_SERVER_DEFAULT_GRACE_MS 2000u
/* After the grace, how long the last answers (UNAVAILABLE) may take to leave before the
 * connections are cut. */
#define TTRPC_SERVER_DRAIN_MS 500u

typedef struct ttrpc_server_config {
    /* Limits for every connection. role, methods and n_methods are ignored (the server fills
     * them in); alloc, if set, must outlive the server. */
    ttrpc_session_config session;
    uint32_t max_connections;  /* 0: TTRPC_SERVER_DEFAULT_MAX_CONNECTIONS; excess connections
                                * are closed at accept without a byte */
    bool same_uid_only;        /* close at accept, without a byte, a peer whose uid is not our
                                * effective uid */
    uint32_t shutdown_grace_ms; /* 0: TTRPC_SERVER_DEFAULT_GRACE_MS */
    /* Called with one line (no newline) per connection accepted, refused or closed, and per
     * frame the session rejected. NULL: silent. */
    void (*log)(void *log_arg, const char *line);
    void *log_arg;
    /* Test-only fault injection (ttrpc-ref-server --fault): timeout_nano is not enforced.
     * Leave it false in real use. */
    bool test_ignore_deadlines;
} ttrpc_server_config;

typedef struct ttrpc_server_stats {
    uint32_t connections;    /* open now */
    uint32_t calls;          /* live now */
    uint32_t timers;         /* armed loop timers (deadlines, handler timers, shutdown) */
    uint64_t accepted_total;
    uint64_t refused_total;  /* closed at accept: credentials or max_connections */
    uint64_t rejected_total; /* frames the sessions answered as violations */
    size_t memory;           /* heap bytes the connections hold (sessions, input buffers) */
    size_t max_conn_memory;  /* the largest single connection's share of memory */
} ttrpc_server_stats;

/* cfg may be NULL for defaults; it is copied. Errors: TTRPC_E_INVAL (a session limit above
 * the protocol's), TTRPC_E_NOMEM, TTRPC_E_IO (epoll or eventfd). */
TTRPC_MUST_USE ttrpc_err ttrpc_server_new(const ttrpc_server_config *cfg, ttrpc_server **out);

/* Closes listeners (unlinking socket files it created) and connections, cancels live calls
 * with TTRPC_CANCEL_DISCONNECT and frees pending handler timers without firing them. Not from
 * inside a callback. */
void ttrpc_server_free(ttrpc_server *srv);

/* Routes service/method (copied) to *h (copied). Only before the first connection.
 * Errors: TTRPC_E_INVAL (NULL or empty names, bad kind, a duplicate, or connections exist),
 * TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_server_register(ttrpc_server *srv, const char *service,
                                               const char *method, ttrpc_method_kind kind,
                                               const ttrpc_handler *h);

/* Listens on a new Unix socket at path, replacing a stale socket file; the file is unlinked
 * again by ttrpc_server_free. Errors: TTRPC_E_INVAL (path empty or longer than sun_path
 * holds), TTRPC_E_IO (errno tells; EADDRINUSE when something lives there), TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_server_listen_unix(ttrpc_server *srv, const char *path);

/* Serves an already-listening Unix stream socket; the server owns fd from now on, whatever
 * the result. Errors: TTRPC_E_INVAL (not a listening Unix stream socket), TTRPC_E_IO,
 * TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_server_adopt_listener(ttrpc_server *srv, int fd);

/* Serves until ttrpc_server_stop and the shutdown it starts are complete.
 * Returns TTRPC_OK after a stop, TTRPC_E_IO if the loop itself failed. */
TTRPC_MUST_USE ttrpc_err ttrpc_server_run(ttrpc_server *srv);

/* One loop iteration, waiting at most timeout_ms (-1: until something happens). For callers
 * that interleave the server with other work on one thread (tests).
 * Returns TTRPC_OK, TTRPC_E_CLOSED once a shutdown has completed, TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err ttrpc_server_run_once(ttrpc_server *srv, int timeout_ms);

/* Starts a shutdown: stop accepting, close idle connections, answer new Requests with
 * UNAVAILABLE (14), give calls in flight shutdown_grace_ms to finish, then answer the rest
 * with UNAVAILABLE, cancel them (TTRPC_CANCEL_SHUTDOWN) and close every connection.
 * Async-signal-safe and callable from any thread; repeated calls change nothing. */
void ttrpc_server_stop(ttrpc_server *srv);

ttrpc_server_stats ttrpc_server_get_stats(const ttrpc_server *srv);

/* Handler timers. fn(arg) runs once on the loop thread after ms milliseconds; the timer is
 * freed when fn returns, so *out must not be used after that. Errors: TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_server_timer_start(ttrpc_server *srv, uint64_t ms,
                                                  void (*fn)(void *arg), void *arg,
                                                  ttrpc_server_timer **out);
/* Disarms and frees a timer that has not fired. */
void ttrpc_server_timer_cancel(ttrpc_server *srv, ttrpc_server_timer *timer);

/* ---- calls ---- */

/* Sends the Response and ends the call, whatever the result except TTRPC_E_TOO_LARGE (then
 * the call stays: answer with an error status instead). code 0 sends the Go form: no status
 * field unless message is given. message: NUL-terminated or NULL.
 * Errors: TTRPC_E_INVAL (the call already ended its sending side), TTRPC_E_TOO_LARGE,
 * TTRPC_E_NOMEM, TTRPC_E_CLOSED (connection gone). */
TTRPC_MUST_USE ttrpc_err ttrpc_call_respond(ttrpc_call *call, int32_t code, const char *message,
                                            const uint8_t *payload, size_t len);
/* The same with a whole status (details passed through as given). */
TTRPC_MUST_USE ttrpc_err ttrpc_call_respond_status(ttrpc_call *call, const ttrpc_status *status,
                                                   const uint8_t *payload, size_t len);

/* One stream message (Data). TTRPC_E_AGAIN: the connection's output is full; nothing was sent
 * and on_writable follows once it drains. Errors: TTRPC_E_INVAL (not a streaming call, or
 * the sending side is finished), TTRPC_E_TOO_LARGE, TTRPC_E_NOMEM, TTRPC_E_CLOSED. */
TTRPC_MUST_USE ttrpc_err ttrpc_call_send(ttrpc_call *call, const uint8_t *data, size_t len);

/* Ends our sending side with Data RC|NO_DATA. The call ends when the client has finished too
 * (at once for server streaming); otherwise on_data/on_remote_closed still come.
 * Errors: as ttrpc_call_send. */
TTRPC_MUST_USE ttrpc_err ttrpc_call_finish(ttrpc_call *call);

/* The call's own copy of the Request; valid while the call lives. */
const ttrpc_request *ttrpc_call_request(const ttrpc_call *call);
uint32_t ttrpc_call_stream_id(const ttrpc_call *call);
ttrpc_method_kind ttrpc_call_kind(const ttrpc_call *call);
ttrpc_peer_cred ttrpc_call_peer_cred(const ttrpc_call *call);
ttrpc_server *ttrpc_call_server(const ttrpc_call *call);
void *ttrpc_call_handler_arg(const ttrpc_call *call);
/* Nanoseconds left before the deadline; INT64_MAX when the call has none. */
int64_t ttrpc_call_time_left_ns(const ttrpc_call *call);

/* The handler's per-call state. free_fn, if not NULL, is called with user once the call
 * ends, however it ends (after on_cancel, if that runs). */
void ttrpc_call_set_user(ttrpc_call *call, void *user, void (*free_fn)(void *user));
void *ttrpc_call_user(const ttrpc_call *call);

#endif
