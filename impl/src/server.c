#include "ttrpc/server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "conn.h"
#include "loop.h"

/* Bounds on one connection's turn, so a fast peer cannot starve the others: reads per
 * readiness event, and flush/feed/notify rounds per service pass. Work left over is picked up
 * on the next loop iteration. */
#define READS_PER_TURN 16
#define SERVICE_ROUNDS 16
#define ACCEPTS_PER_TURN 64
/* After accept fails for lack of descriptors or memory, wait before trying again: the listen
 * socket stays readable, and retrying at once would spin. */
#define ACCEPT_BACKOFF_MS 100u
#define LOG_LINE_MAX 512
/* A connection holding more than TRIM_ABOVE bytes of buffers that has read nothing for
 * TRIM_QUIET_MS gives them back (ttrpc_session_trim). Busy connections keep them: regrowing a
 * 4 MiB buffer for every call costs more than the call's copies. */
#define TRIM_ABOVE (128u * 1024u)
#define TRIM_QUIET_MS 1000u

typedef struct route {
    char *service; /* owned */
    char *method;  /* owned */
    ttrpc_method_kind kind;
    ttrpc_handler handler;
} route;

typedef struct listener {
    ttrpc_server *srv;
    ttrpc_loop_watch watch;
    ttrpc_loop_timer backoff;
    int fd;
    char *path; /* owned; the socket file we created, NULL for an adopted fd */
    struct listener *next;
} listener;

typedef struct server_conn {
    ttrpc_server *srv;
    ttrpc_conn io;
    ttrpc_loop_watch watch;
    uint64_t id; /* for logs */
    ttrpc_peer_cred cred;
    ttrpc_call *calls; /* live calls, doubly linked */
    uint32_t n_calls;
    bool dead;
    bool dirty;
    ttrpc_loop_timer trim_timer;
    uint64_t reads;         /* successful reads so far */
    uint64_t reads_at_trim; /* reads when trim_timer was armed */
    struct server_conn *dirty_next;
    struct server_conn *prev, *next; /* srv->conns while open, srv->dead_conns after */
} server_conn;

struct ttrpc_call {
    ttrpc_server *srv;
    server_conn *conn;
    const route *route;
    uint32_t stream_id;
    ttrpc_request req; /* points into block */
    void *block;       /* owned: metadata array, then the bytes of every field */
    ttrpc_loop_timer deadline;
    uint64_t deadline_ns; /* 0: none */
    void *user;
    void (*user_free)(void *user);
    bool cancelling; /* on_cancel is running: sends are refused */
    bool ended;
    bool want_writable;
    struct ttrpc_call *prev, *next; /* conn->calls while live, srv->dead_calls after */
};

struct ttrpc_server_timer {
    ttrpc_server *srv;
    ttrpc_loop_timer timer;
    void (*fn)(void *arg);
    void *arg;
    bool firing;
    struct ttrpc_server_timer *prev, *next;
};

typedef enum server_phase {
    PHASE_RUNNING = 0,
    PHASE_DRAINING,   /* stopped accepting; calls in flight may finish */
    PHASE_CANCELLING, /* grace over; last answers are leaving */
    PHASE_DONE,
} server_phase;

struct ttrpc_server {
    ttrpc_server_config cfg;
    ttrpc_loop *loop;
    uid_t euid;
    route *routes;
    ttrpc_method_desc *descs; /* the sessions' routing table, parallel to routes */
    size_t n_routes;
    size_t routes_cap;
    bool routes_frozen; /* a connection holds descs: no more registering */
    listener *listeners;
    server_conn *conns;
    uint32_t n_conns;
    server_conn *dead_conns;
    ttrpc_call *dead_calls;
    uint32_t n_calls;
    server_conn *dirty;
    ttrpc_server_timer *timers;
    uint64_t next_conn_id;
    uint64_t accepted_total;
    uint64_t refused_total;
    uint64_t rejected_total;
    atomic_bool stop_requested;
    server_phase phase;
    ttrpc_loop_timer shutdown_timer;
};

/* ---- small helpers ---- */

__attribute__((format(printf, 2, 3))) static void srv_log(const ttrpc_server *srv,
                                                         const char *fmt, ...)
{
    if (srv->cfg.log == NULL) {
        return;
    }
    char line[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    srv->cfg.log(srv->cfg.log_arg, line);
}

const char *ttrpc_cancel_reason_name(ttrpc_cancel_reason why)
{
    switch (why) {
    case TTRPC_CANCEL_DEADLINE:
        return "DEADLINE";
    case TTRPC_CANCEL_VIOLATION:
        return "VIOLATION";
    case TTRPC_CANCEL_DISCONNECT:
        return "DISCONNECT";
    case TTRPC_CANCEL_SHUTDOWN:
        return "SHUTDOWN";
    }
    return "?";
}

static bool stream_live(const ttrpc_session *s, uint32_t id)
{
    ttrpc_stream_state st = ttrpc_session_stream_state(s, id);
    return st != TTRPC_STREAM_IDLE && st != TTRPC_STREAM_CLOSED;
}

/* Forgets a stream locally. NOT_FOUND (already gone) is the only error and means the same. */
static void stream_forget(ttrpc_session *s, uint32_t id)
{
    ttrpc_err rc = ttrpc_session_abandon(s, id);
    (void)rc;
}

/* An answer the server gives on its own behalf. When it cannot be queued (out of memory, or
 * the table refuses a Response in this state) the stream is forgotten instead, and the
 * client's own deadline ends its wait. */
static void answer_status(ttrpc_session *s, uint32_t id, int32_t code, const char *message)
{
    if (ttrpc_session_send_status(s, id, code, message) != TTRPC_OK && stream_live(s, id)) {
        stream_forget(s, id);
    }
}

static char *dup_str(const char *s)
{
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, s, len + 1);
    }
    return copy;
}

static void conn_mark_dirty(server_conn *c)
{
    if (c->dirty || c->dead) {
        return;
    }
    c->dirty = true;
    c->dirty_next = c->srv->dirty;
    c->srv->dirty = c;
}

/* ---- calls ---- */

static ttrpc_bytes copy_bytes(uint8_t **cursor, ttrpc_bytes src)
{
    if (src.len == 0) {
        return (ttrpc_bytes){NULL, 0};
    }
    uint8_t *dst = *cursor;
    memcpy(dst, src.data, src.len);
    *cursor += src.len;
    return (ttrpc_bytes){dst, src.len};
}

/* The request's memory belongs to the session only until its next call, and handlers keep
 * calls for a long time (Sleep): a call that outlives on_request gets its own copy, in one
 * block. Calls answered inside on_request (most unary calls) never copy: for large payloads
 * the copy was a fifth of the server's time. */
static ttrpc_err request_copy(const ttrpc_request *src, ttrpc_request *dst, void **block_out)
{
    size_t bytes = src->service.len + src->method.len + src->payload.len;
    for (size_t i = 0; i < src->n_metadata; i++) {
        bytes += src->metadata[i].key.len + src->metadata[i].value.len;
    }
    size_t kv_size = src->n_metadata * sizeof(ttrpc_kv);
    void *block = malloc(kv_size + bytes + 1);
    if (block == NULL) {
        return TTRPC_E_NOMEM;
    }
    ttrpc_kv *kvs = block;
    uint8_t *cursor = (uint8_t *)block + kv_size;
    *dst = *src;
    dst->service = copy_bytes(&cursor, src->service);
    dst->method = copy_bytes(&cursor, src->method);
    dst->payload = copy_bytes(&cursor, src->payload);
    for (size_t i = 0; i < src->n_metadata; i++) {
        kvs[i].key = copy_bytes(&cursor, src->metadata[i].key);
        kvs[i].value = copy_bytes(&cursor, src->metadata[i].value);
    }
    dst->metadata = src->n_metadata > 0 ? kvs : NULL;
    *block_out = block;
    return TTRPC_OK;
}

/* The call is over: unlink it, release its stream and deadline, run the user's cleanup. The
 * struct itself is freed at the end of the loop iteration, so code up the stack that still
 * holds the pointer sees `ended` instead of freed memory. */
static void call_end(ttrpc_call *call)
{
    if (call->ended) {
        return;
    }
    call->ended = true;
    ttrpc_server *srv = call->srv;
    server_conn *c = call->conn;
    ttrpc_loop_timer_stop(srv->loop, &call->deadline);
    if (stream_live(c->io.session, call->stream_id)) {
        stream_forget(c->io.session, call->stream_id);
    }
    if (call->prev != NULL) {
        call->prev->next = call->next;
    } else {
        c->calls = call->next;
    }
    if (call->next != NULL) {
        call->next->prev = call->prev;
    }
    c->n_calls--;
    srv->n_calls--;
    call->prev = NULL;
    call->next = srv->dead_calls;
    srv->dead_calls = call;
    if (call->user_free != NULL) {
        void (*fn)(void *) = call->user_free;
        call->user_free = NULL;
        fn(call->user);
    }
    conn_mark_dirty(c);
}

static void call_cancel(ttrpc_call *call, ttrpc_cancel_reason why)
{
    if (call->ended || call->cancelling) {
        return;
    }
    call->cancelling = true;
    if (call->route->handler.on_cancel != NULL) {
        call->route->handler.on_cancel(call, why);
    }
    call_end(call);
}

/* A stream that is finished both ways in the session's table ends its call. */
static void call_check_live(ttrpc_call *call)
{
    if (!call->ended && !stream_live(call->conn->io.session, call->stream_id)) {
        call_end(call);
    }
}

static void call_deadline_fired(void *arg)
{
    ttrpc_call *call = arg;
    if (call->ended || call->cancelling) {
        return;
    }
    answer_status(call->conn->io.session, call->stream_id, TTRPC_CODE_DEADLINE_EXCEEDED,
                  "deadline exceeded");
    call_cancel(call, TTRPC_CANCEL_DEADLINE);
}

static bool call_can_send(const ttrpc_call *call)
{
    return !call->ended && !call->cancelling && !call->conn->dead;
}

ttrpc_err ttrpc_call_respond(ttrpc_call *call, int32_t code, const char *message,
                             const uint8_t *payload, size_t len)
{
    ttrpc_status st = {.code = code, .message = ttrpc_bytes_of(message)};
    /* Go's form for success: no status field. A message with code 0 is still sent. */
    if (code == TTRPC_CODE_OK && st.message.len == 0) {
        return ttrpc_call_respond_status(call, NULL, payload, len);
    }
    return ttrpc_call_respond_status(call, &st, payload, len);
}

ttrpc_err ttrpc_call_respond_status(ttrpc_call *call, const ttrpc_status *status,
                                    const uint8_t *payload, size_t len)
{
    if (!call_can_send(call)) {
        return call->conn->dead ? TTRPC_E_CLOSED : TTRPC_E_INVAL;
    }
    ttrpc_response resp = {.payload = {payload, len}};
    if (status != NULL) {
        resp.has_status = true;
        resp.status = *status;
    }
    ttrpc_err rc = ttrpc_session_send_response(call->conn->io.session, call->stream_id, &resp);
    if (rc == TTRPC_E_TOO_LARGE) {
        return rc;
    }
    call_end(call);
    return rc;
}

ttrpc_err ttrpc_call_send(ttrpc_call *call, const uint8_t *data, size_t len)
{
    if (!call_can_send(call)) {
        return call->conn->dead ? TTRPC_E_CLOSED : TTRPC_E_INVAL;
    }
    ttrpc_err rc = ttrpc_session_send_data(call->conn->io.session, call->stream_id, data, len,
                                           false);
    if (rc == TTRPC_E_AGAIN) {
        call->want_writable = true;
    }
    conn_mark_dirty(call->conn);
    return rc;
}

ttrpc_err ttrpc_call_finish(ttrpc_call *call)
{
    if (!call_can_send(call)) {
        return call->conn->dead ? TTRPC_E_CLOSED : TTRPC_E_INVAL;
    }
    ttrpc_err rc = ttrpc_session_send_close(call->conn->io.session, call->stream_id);
    if (rc == TTRPC_E_AGAIN) {
        call->want_writable = true;
    }
    conn_mark_dirty(call->conn);
    if (rc == TTRPC_OK) {
        call_check_live(call);
    }
    return rc;
}

const ttrpc_request *ttrpc_call_request(const ttrpc_call *call)
{
    return &call->req;
}

uint32_t ttrpc_call_stream_id(const ttrpc_call *call)
{
    return call->stream_id;
}

ttrpc_method_kind ttrpc_call_kind(const ttrpc_call *call)
{
    return call->route->kind;
}

ttrpc_peer_cred ttrpc_call_peer_cred(const ttrpc_call *call)
{
    return call->conn->cred;
}

ttrpc_server *ttrpc_call_server(const ttrpc_call *call)
{
    return call->srv;
}

void *ttrpc_call_handler_arg(const ttrpc_call *call)
{
    return call->route->handler.arg;
}

int64_t ttrpc_call_time_left_ns(const ttrpc_call *call)
{
    if (call->deadline_ns == 0) {
        return INT64_MAX;
    }
    uint64_t now = ttrpc_loop_now_ns();
    return now >= call->deadline_ns ? 0 : (int64_t)(call->deadline_ns - now);
}

void ttrpc_call_set_user(ttrpc_call *call, void *user, void (*free_fn)(void *user))
{
    call->user = user;
    call->user_free = free_fn;
}

void *ttrpc_call_user(const ttrpc_call *call)
{
    return call->user;
}

/* ---- connections ---- */

static void conn_end(server_conn *c, const char *why);
static void conn_service(server_conn *c);

/* Restarts from the head after every callback: a handler may end any call of the
 * connection, so no saved `next` pointer survives a callback. */
static bool conn_notify_writable(server_conn *c)
{
    bool any = false;
    for (;;) {
        if (c->dead || !ttrpc_session_wants_input(c->io.session)) {
            return any;
        }
        ttrpc_call *call = c->calls;
        while (call != NULL && !call->want_writable) {
            call = call->next;
        }
        if (call == NULL) {
            return any;
        }
        call->want_writable = false;
        any = true;
        if (call->route->handler.on_writable != NULL) {
            call->route->handler.on_writable(call);
        }
        call_check_live(call);
    }
}

static void dispatch_request(server_conn *c, const ttrpc_event *ev)
{
    ttrpc_server *srv = c->srv;
    ttrpc_session *s = c->io.session;
    const ttrpc_request *req = ev->request;
    if (ev->method_index >= srv->n_routes) {
        /* No routing table was given (nothing registered): the session left routing to us. */
        answer_status(s, ev->stream_id, TTRPC_CODE_UNIMPLEMENTED, "no such service or method");
        return;
    }
    if (srv->phase != PHASE_RUNNING) {
        answer_status(s, ev->stream_id, TTRPC_CODE_UNAVAILABLE, "server is shutting down");
        return;
    }
    /* Go's reading of a negative timeout: a deadline already in the past. */
    if (req->timeout_nano < 0 && !srv->cfg.test_ignore_deadlines) {
        answer_status(s, ev->stream_id, TTRPC_CODE_DEADLINE_EXCEEDED,
                      "deadline already passed (negative timeout_nano)");
        return;
    }
    ttrpc_call *call = calloc(1, sizeof *call);
    if (call == NULL) {
        answer_status(s, ev->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, "server out of memory");
        return;
    }
    /* Lent by the session until this dispatch returns; copied below if the call lives on. */
    call->req = *req;
    call->srv = srv;
    call->conn = c;
    call->route = &srv->routes[ev->method_index];
    call->stream_id = ev->stream_id;
    ttrpc_loop_timer_init(&call->deadline);
    if (ttrpc_session_set_user(s, ev->stream_id, call) != TTRPC_OK) {
        free(call->block);
        free(call);
        answer_status(s, ev->stream_id, TTRPC_CODE_INTERNAL, "stream vanished");
        return;
    }
    call->next = c->calls;
    if (c->calls != NULL) {
        c->calls->prev = call;
    }
    c->calls = call;
    c->n_calls++;
    srv->n_calls++;
    if (req->timeout_nano > 0 && !srv->cfg.test_ignore_deadlines) {
        uint64_t ns = (uint64_t)req->timeout_nano;
        call->deadline_ns = ttrpc_loop_now_ns() + ns;
        /* Round up: answering DEADLINE_EXCEEDED before the deadline would be wrong. */
        if (ttrpc_loop_timer_start(srv->loop, &call->deadline, ns / 1000000u + (ns % 1000000u != 0),
                                   call_deadline_fired, call) != TTRPC_OK) {
            answer_status(s, ev->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, "server out of memory");
            call_end(call);
            return;
        }
    }
    if (call->route->handler.on_request == NULL) {
        answer_status(s, ev->stream_id, TTRPC_CODE_UNIMPLEMENTED, "no handler");
        call_end(call);
        return;
    }
    call->route->handler.on_request(call, &call->req, ev->first_message);
    if (!call->ended && !call->cancelling) {
        ttrpc_request lent = call->req;
        if (request_copy(&lent, &call->req, &call->block) != TTRPC_OK) {
            answer_status(s, ev->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED,
                          "server out of memory");
            call_cancel(call, TTRPC_CANCEL_VIOLATION);
            return;
        }
    }
    /* PROTOCOL.md, Request: with remote closed "the remote still expects to receive a
     * response or stream data", so a client-streaming handler must learn now that no Data
     * will come (Go and Rust servers wait forever here, notes 2.4). */
    bool streams_in = call->route->kind == TTRPC_METHOD_CLIENT_STREAM ||
                      call->route->kind == TTRPC_METHOD_BIDI;
    if (streams_in && (ev->flags & TTRPC_FLAG_REMOTE_CLOSED) != 0 && !call->ended &&
        !call->cancelling && call->route->handler.on_remote_closed != NULL) {
        call->route->handler.on_remote_closed(call);
    }
    call_check_live(call);
}

static void dispatch_data(server_conn *c, const ttrpc_event *ev)
{
    ttrpc_call *call = ev->user;
    if (call == NULL || call->ended || call->cancelling) {
        return;
    }
    if (call->route->handler.on_data != NULL) {
        /* A private copy: the event's bytes live in the session only until its next call,
         * and a handler's first move is often a send (Bidi echoes what it got). */
        uint8_t *copy = NULL;
        if (ev->data.len > 0) {
            copy = malloc(ev->data.len);
            if (copy == NULL) {
                answer_status(c->io.session, call->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED,
                              "server out of memory");
                call_cancel(call, TTRPC_CANCEL_VIOLATION);
                return;
            }
            memcpy(copy, ev->data.data, ev->data.len);
        }
        call->route->handler.on_data(call, (ttrpc_bytes){copy, ev->data.len});
        free(copy);
    }
    if (ev->last && !call->ended && !call->cancelling &&
        call->route->handler.on_remote_closed != NULL) {
        call->route->handler.on_remote_closed(call);
    }
    call_check_live(call);
}

static void dispatch_event(server_conn *c, const ttrpc_event *ev)
{
    ttrpc_server *srv = c->srv;
    switch (ev->kind) {
    case TTRPC_EVENT_REQUEST:
        dispatch_request(c, ev);
        break;
    case TTRPC_EVENT_DATA:
        dispatch_data(c, ev);
        break;
    case TTRPC_EVENT_REMOTE_CLOSED: {
        ttrpc_call *call = ev->user;
        if (call != NULL && !call->ended && !call->cancelling) {
            if (call->route->handler.on_remote_closed != NULL) {
                call->route->handler.on_remote_closed(call);
            }
            call_check_live(call);
        }
        break;
    }
    case TTRPC_EVENT_RESPONSE:
        /* Only clients receive Responses; the session answers a stray one itself. */
        break;
    case TTRPC_EVENT_STREAM_ERROR: {
        ttrpc_call *call = ev->user;
        if (ev->err != TTRPC_E_CLOSED) {
            srv->rejected_total++;
            srv_log(srv,
                    "conn %llu: stream %u: rejected frame type 0x%02x flags 0x%02x: %s "
                    "(answered %d)",
                    (unsigned long long)c->id, (unsigned)ev->stream_id, ev->frame_type,
                    ev->flags, ev->reason != NULL ? ev->reason : ttrpc_strerror(ev->err),
                    (int)ev->code);
        }
        if (call != NULL) {
            call_cancel(call, ev->err == TTRPC_E_CLOSED ? TTRPC_CANCEL_DISCONNECT
                                                        : TTRPC_CANCEL_VIOLATION);
        }
        break;
    }
    }
}

/* Pulls and dispatches every pending event. Returns true if there was any. */
static bool conn_drain_events(server_conn *c)
{
    bool any = false;
    while (!c->dead) {
        ttrpc_event ev;
        ttrpc_err rc = ttrpc_session_next_event(c->io.session, &ev);
        if (rc == TTRPC_E_AGAIN || rc == TTRPC_E_CLOSED) {
            break;
        }
        if (rc != TTRPC_OK) {
            conn_end(c, ttrpc_strerror(rc));
            return true;
        }
        any = true;
        dispatch_event(c, &ev);
    }
    return any;
}

/* Feeds buffered input and dispatches what it yields, until the input is used up or the
 * session pauses it. Returns true on any progress. */
static bool conn_pump(server_conn *c)
{
    bool progress = conn_drain_events(c);
    while (!c->dead) {
        size_t taken = 0;
        ttrpc_err rc = ttrpc_conn_feed(&c->io, &taken);
        if (rc != TTRPC_OK) {
            conn_end(c, ttrpc_strerror(rc));
            return true;
        }
        bool events = conn_drain_events(c);
        if (taken == 0 && !events) {
            break;
        }
        progress = true;
    }
    return progress;
}

static void conn_trim_due(void *arg);

/* A failed arm costs only memory: the buffers are then kept until the connection ends. */
static void conn_arm_trim(server_conn *c)
{
    c->reads_at_trim = c->reads;
    if (ttrpc_loop_timer_start(c->srv->loop, &c->trim_timer, TRIM_QUIET_MS, conn_trim_due, c) !=
        TTRPC_OK) {
        srv_log(c->srv, "conn %llu: no timer left: large buffers kept until it closes",
                (unsigned long long)c->id);
    }
}

static void conn_trim_due(void *arg)
{
    server_conn *c = arg;
    if (c->dead) {
        return;
    }
    if (c->reads == c->reads_at_trim) {
        ttrpc_session_trim(c->io.session);
        return;
    }
    conn_arm_trim(c);
}

/* Arms the quiet-connection check once a connection holds large buffers. */
static void conn_watch_memory(server_conn *c)
{
    if (ttrpc_loop_timer_armed(&c->trim_timer) ||
        ttrpc_session_memory(c->io.session) <= TRIM_ABOVE) {
        return;
    }
    conn_arm_trim(c);
}

static void conn_read(server_conn *c)
{
    for (int i = 0; i < READS_PER_TURN && !c->dead; i++) {
        if (!ttrpc_session_wants_input(c->io.session) || ttrpc_conn_has_input(&c->io)) {
            return;
        }
        ttrpc_err rc = ttrpc_conn_read(&c->io);
        if (rc == TTRPC_E_AGAIN) {
            return;
        }
        if (rc == TTRPC_E_CLOSED) {
            conn_end(c, "peer closed");
            return;
        }
        if (rc != TTRPC_OK) {
            conn_end(c, rc == TTRPC_E_IO ? strerror(errno) : ttrpc_strerror(rc));
            return;
        }
        c->reads++;
        (void)conn_pump(c);
        if (!c->dead) {
            conn_watch_memory(c);
        }
        /* Answers go out before the next read: that read usually finds nothing (EAGAIN) and
         * would otherwise sit on every call's round trip. A short read means the socket is
         * most likely drained; epoll is level-triggered and reports anything that came since. */
        if (!c->dead && ttrpc_conn_output_pending(&c->io)) {
            rc = ttrpc_conn_flush(&c->io);
            if (rc == TTRPC_E_CLOSED || rc == TTRPC_E_IO) {
                conn_end(c, rc == TTRPC_E_IO ? strerror(errno) : "peer closed");
                return;
            }
        }
        if (c->io.last_read_short) {
            return;
        }
    }
}

static void conn_update_interest(server_conn *c)
{
    uint32_t events = 0;
    if (ttrpc_session_wants_input(c->io.session) && !ttrpc_conn_has_input(&c->io)) {
        events |= EPOLLIN;
    }
    if (ttrpc_conn_output_pending(&c->io)) {
        events |= EPOLLOUT;
    }
    if (ttrpc_loop_watch_set(c->srv->loop, &c->watch, events) != TTRPC_OK) {
        conn_end(c, "epoll_ctl failed");
    }
}

/* Moves output to the socket, resumes paused input and writers when room appears, keeps the
 * epoll interest in step, and closes the connection when a shutdown has left it idle. */
static void conn_service(server_conn *c)
{
    bool more = true;
    for (int round = 0; round < SERVICE_ROUNDS && more && !c->dead; round++) {
        ttrpc_err rc = ttrpc_conn_flush(&c->io);
        if (rc == TTRPC_E_CLOSED || rc == TTRPC_E_IO) {
            conn_end(c, rc == TTRPC_E_IO ? strerror(errno) : "peer closed");
            return;
        }
        more = false;
        if (ttrpc_session_wants_input(c->io.session)) {
            if (ttrpc_conn_has_input(&c->io)) {
                more |= conn_pump(c);
            }
            more |= conn_notify_writable(c);
        }
    }
    if (c->dead) {
        return;
    }
    if (more) {
        conn_mark_dirty(c); /* the turn ran out with work left: next iteration */
    }
    if (c->srv->phase != PHASE_RUNNING && c->n_calls == 0 && !ttrpc_conn_output_pending(&c->io)) {
        conn_end(c, "server shutdown");
        return;
    }
    conn_update_interest(c);
}

static void conn_on_io(void *arg, uint32_t events)
{
    server_conn *c = arg;
    if (c->dead) {
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        conn_read(c);
    }
    if (!c->dead) {
        conn_service(c);
    }
}

/* The connection is over (EOF, error, fatal session error, shutdown): every live call is
 * cancelled, the socket closed; memory goes at the end of the loop iteration. */
static void conn_end(server_conn *c, const char *why)
{
    if (c->dead) {
        return;
    }
    ttrpc_server *srv = c->srv;
    bool truncated = false;
    ttrpc_session_close(c->io.session, &truncated);
    /* The session reports each live stream once; calls it did not know are swept after. */
    for (;;) {
        ttrpc_event ev;
        ttrpc_err rc = ttrpc_session_next_event(c->io.session, &ev);
        if (rc != TTRPC_OK) {
            break;
        }
        if (ev.kind == TTRPC_EVENT_STREAM_ERROR && ev.user != NULL) {
            call_cancel(ev.user, TTRPC_CANCEL_DISCONNECT);
        }
    }
    while (c->calls != NULL) {
        ttrpc_call *call = c->calls;
        call_cancel(call, TTRPC_CANCEL_DISCONNECT);
        call_end(call); /* in case on_cancel was already running for it */
    }
    c->dead = true;
    ttrpc_loop_timer_stop(srv->loop, &c->trim_timer);
    ttrpc_loop_watch_remove(srv->loop, &c->watch);
    ttrpc_conn_close_socket(&c->io);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    srv->n_conns--;
    c->prev = NULL;
    c->next = srv->dead_conns;
    srv->dead_conns = c;
    srv_log(srv, "conn %llu: closed: %s%s", (unsigned long long)c->id, why,
            truncated ? " (inside a frame)" : "");
}

static void accept_one(ttrpc_server *srv, int fd)
{
    ttrpc_peer_cred cred = {0};
    if (ttrpc_unix_peer_cred(fd, &cred.pid, &cred.uid, &cred.gid) != TTRPC_OK) {
        srv->refused_total++;
        srv_log(srv, "refused a connection: SO_PEERCRED failed: %s", strerror(errno));
        (void)close(fd);
        return;
    }
    /* Checked before a single byte is read or written, as Go's UnixSocketRequireSameUser. */
    if (srv->cfg.same_uid_only && cred.uid != srv->euid) {
        srv->refused_total++;
        srv_log(srv, "refused pid %ld uid %lu: not our uid %lu", (long)cred.pid,
                (unsigned long)cred.uid, (unsigned long)srv->euid);
        (void)close(fd);
        return;
    }
    if (srv->n_conns >= srv->cfg.max_connections) {
        srv->refused_total++;
        srv_log(srv, "refused pid %ld: %u connections open", (long)cred.pid,
                (unsigned)srv->n_conns);
        (void)close(fd);
        return;
    }
    server_conn *c = calloc(1, sizeof *c);
    ttrpc_session_config scfg = srv->cfg.session;
    scfg.role = TTRPC_ROLE_SERVER;
    scfg.methods = srv->n_routes > 0 ? srv->descs : NULL;
    scfg.n_methods = srv->n_routes;
    if (c == NULL || ttrpc_conn_init(&c->io, fd, &scfg) != TTRPC_OK) {
        srv->refused_total++;
        srv_log(srv, "refused pid %ld: out of memory", (long)cred.pid);
        free(c);
        (void)close(fd);
        return;
    }
    c->srv = srv;
    c->cred = cred;
    c->id = ++srv->next_conn_id;
    c->watch.fd = -1;
    if (ttrpc_loop_watch_add(srv->loop, &c->watch, fd, EPOLLIN, conn_on_io, c) != TTRPC_OK) {
        srv->refused_total++;
        srv_log(srv, "refused pid %ld: epoll_ctl: %s", (long)cred.pid, strerror(errno));
        ttrpc_conn_destroy(&c->io);
        free(c);
        return;
    }
    srv->routes_frozen = true;
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
    srv->n_conns++;
    srv->accepted_total++;
    srv_log(srv, "conn %llu: accepted pid %ld uid %lu gid %lu", (unsigned long long)c->id,
            (long)cred.pid, (unsigned long)cred.uid, (unsigned long)cred.gid);
}

/* ---- listeners ---- */

static void listener_resume(void *arg)
{
    listener *l = arg;
    if (l->watch.fd >= 0 && ttrpc_loop_watch_set(l->srv->loop, &l->watch, EPOLLIN) != TTRPC_OK) {
        srv_log(l->srv, "listener: epoll_ctl: %s; no longer accepting", strerror(errno));
    }
}

static void listener_on_io(void *arg, uint32_t events)
{
    listener *l = arg;
    ttrpc_server *srv = l->srv;
    (void)events;
    for (int i = 0; i < ACCEPTS_PER_TURN && srv->phase == PHASE_RUNNING; i++) {
        int fd = -1;
        ttrpc_err rc = ttrpc_unix_accept(l->fd, &fd);
        if (rc == TTRPC_E_AGAIN) {
            return;
        }
        if (rc != TTRPC_OK) {
            srv_log(srv, "accept: %s; pausing %u ms", strerror(errno), ACCEPT_BACKOFF_MS);
            /* If the pause cannot be set up, accepting simply goes on next round. */
            if (ttrpc_loop_timer_start(srv->loop, &l->backoff, ACCEPT_BACKOFF_MS,
                                       listener_resume, l) == TTRPC_OK &&
                ttrpc_loop_watch_set(srv->loop, &l->watch, 0) != TTRPC_OK) {
                ttrpc_loop_timer_stop(srv->loop, &l->backoff);
            }
            return;
        }
        accept_one(srv, fd);
    }
}

static ttrpc_err listener_add(ttrpc_server *srv, int fd, const char *path)
{
    listener *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return TTRPC_E_NOMEM;
    }
    l->srv = srv;
    l->fd = fd;
    l->watch.fd = -1;
    ttrpc_loop_timer_init(&l->backoff);
    if (path != NULL && (l->path = dup_str(path)) == NULL) {
        free(l);
        return TTRPC_E_NOMEM;
    }
    ttrpc_err rc = ttrpc_loop_watch_add(srv->loop, &l->watch, fd, EPOLLIN, listener_on_io, l);
    if (rc != TTRPC_OK) {
        free(l->path);
        free(l);
        return rc;
    }
    l->next = srv->listeners;
    srv->listeners = l;
    return TTRPC_OK;
}

static void listeners_close(ttrpc_server *srv)
{
    while (srv->listeners != NULL) {
        listener *l = srv->listeners;
        srv->listeners = l->next;
        ttrpc_loop_watch_remove(srv->loop, &l->watch);
        ttrpc_loop_timer_stop(srv->loop, &l->backoff);
        (void)close(l->fd);
        /* Only our own socket file: someone may have replaced it since. */
        if (l->path != NULL && ttrpc_unix_is_socket_file(l->path)) {
            (void)unlink(l->path);
        }
        free(l->path);
        free(l);
    }
}

ttrpc_err ttrpc_server_listen_unix(ttrpc_server *srv, const char *path)
{
    int fd = -1;
    ttrpc_err rc = ttrpc_unix_listen(path, &fd);
    if (rc != TTRPC_OK) {
        return rc;
    }
    rc = listener_add(srv, fd, path);
    if (rc != TTRPC_OK) {
        int saved = errno;
        (void)close(fd);
        (void)unlink(path);
        errno = saved;
    }
    return rc;
}

ttrpc_err ttrpc_server_adopt_listener(ttrpc_server *srv, int fd)
{
    ttrpc_err rc = ttrpc_unix_check_listener(fd);
    if (rc == TTRPC_OK) {
        rc = listener_add(srv, fd, NULL);
    }
    if (rc != TTRPC_OK && fd >= 0) {
        int saved = errno;
        (void)close(fd);
        errno = saved;
    }
    return rc;
}

/* ---- handler timers ---- */

static void server_timer_fired(void *arg)
{
    ttrpc_server_timer *t = arg;
    ttrpc_server *srv = t->srv;
    t->firing = true;
    t->fn(t->arg);
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        srv->timers = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    free(t);
}

ttrpc_err ttrpc_server_timer_start(ttrpc_server *srv, uint64_t ms, void (*fn)(void *arg),
                                   void *arg, ttrpc_server_timer **out)
{
    ttrpc_server_timer *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return TTRPC_E_NOMEM;
    }
    t->srv = srv;
    t->fn = fn;
    t->arg = arg;
    ttrpc_loop_timer_init(&t->timer);
    ttrpc_err rc = ttrpc_loop_timer_start(srv->loop, &t->timer, ms, server_timer_fired, t);
    if (rc != TTRPC_OK) {
        free(t);
        return rc;
    }
    t->next = srv->timers;
    if (srv->timers != NULL) {
        srv->timers->prev = t;
    }
    srv->timers = t;
    if (out != NULL) {
        *out = t;
    }
    return TTRPC_OK;
}

void ttrpc_server_timer_cancel(ttrpc_server *srv, ttrpc_server_timer *t)
{
    /* From inside its own callback the timer is about to be freed by server_timer_fired. */
    if (t == NULL || t->firing) {
        return;
    }
    ttrpc_loop_timer_stop(srv->loop, &t->timer);
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        srv->timers = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    free(t);
}

/* ---- server ---- */

ttrpc_err ttrpc_server_new(const ttrpc_server_config *cfg, ttrpc_server **out)
{
    ttrpc_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        return TTRPC_E_NOMEM;
    }
    if (cfg != NULL) {
        srv->cfg = *cfg;
    }
    if (srv->cfg.session.max_data > TTRPC_FRAME_MAX_DATA) {
        free(srv);
        return TTRPC_E_INVAL;
    }
    if (srv->cfg.max_connections == 0) {
        srv->cfg.max_connections = TTRPC_SERVER_DEFAULT_MAX_CONNECTIONS;
    }
    if (srv->cfg.shutdown_grace_ms == 0) {
        srv->cfg.shutdown_grace_ms = TTRPC_SERVER_DEFAULT_GRACE_MS;
    }
    srv->euid = geteuid();
    atomic_init(&srv->stop_requested, false);
    ttrpc_loop_timer_init(&srv->shutdown_timer);
    ttrpc_err rc = ttrpc_loop_new(&srv->loop);
    if (rc != TTRPC_OK) {
        free(srv);
        return rc;
    }
    *out = srv;
    return TTRPC_OK;
}

static void reap(ttrpc_server *srv)
{
    /* A connection dirtied and then ended within one iteration is still on the dirty list. */
    server_conn **link = &srv->dirty;
    while (*link != NULL) {
        if ((*link)->dead) {
            *link = (*link)->dirty_next;
        } else {
            link = &(*link)->dirty_next;
        }
    }
    while (srv->dead_calls != NULL) {
        ttrpc_call *call = srv->dead_calls;
        srv->dead_calls = call->next;
        free(call->block);
        free(call);
    }
    while (srv->dead_conns != NULL) {
        server_conn *c = srv->dead_conns;
        srv->dead_conns = c->next;
        ttrpc_conn_destroy(&c->io);
        free(c);
    }
}

void ttrpc_server_free(ttrpc_server *srv)
{
    if (srv == NULL) {
        return;
    }
    listeners_close(srv);
    while (srv->conns != NULL) {
        conn_end(srv->conns, "server freed");
    }
    while (srv->timers != NULL) {
        ttrpc_server_timer_cancel(srv, srv->timers);
    }
    reap(srv);
    for (size_t i = 0; i < srv->n_routes; i++) {
        free(srv->routes[i].service);
        free(srv->routes[i].method);
    }
    free(srv->routes);
    free(srv->descs);
    ttrpc_loop_free(srv->loop);
    free(srv);
}

ttrpc_err ttrpc_server_register(ttrpc_server *srv, const char *service, const char *method,
                                ttrpc_method_kind kind, const ttrpc_handler *h)
{
    if (srv->routes_frozen || service == NULL || method == NULL || *service == '\0' ||
        *method == '\0' || h == NULL || (unsigned)kind > (unsigned)TTRPC_METHOD_BIDI) {
        return TTRPC_E_INVAL;
    }
    for (size_t i = 0; i < srv->n_routes; i++) {
        if (strcmp(srv->routes[i].service, service) == 0 &&
            strcmp(srv->routes[i].method, method) == 0) {
            return TTRPC_E_INVAL;
        }
    }
    if (srv->n_routes == srv->routes_cap) {
        size_t cap = srv->routes_cap == 0 ? 8 : srv->routes_cap * 2;
        route *routes = realloc(srv->routes, cap * sizeof *routes);
        if (routes == NULL) {
            return TTRPC_E_NOMEM;
        }
        srv->routes = routes;
        ttrpc_method_desc *descs = realloc(srv->descs, cap * sizeof *descs);
        if (descs == NULL) {
            return TTRPC_E_NOMEM;
        }
        srv->descs = descs;
        srv->routes_cap = cap;
    }
    route r = {.service = dup_str(service), .method = dup_str(method), .kind = kind,
               .handler = *h};
    if (r.service == NULL || r.method == NULL) {
        free(r.service);
        free(r.method);
        return TTRPC_E_NOMEM;
    }
    srv->routes[srv->n_routes] = r;
    srv->descs[srv->n_routes] =
        (ttrpc_method_desc){.service = r.service, .method = r.method, .kind = kind};
    srv->n_routes++;
    return TTRPC_OK;
}

/* Cancels every live call of every connection with UNAVAILABLE. Restarts from the head after
 * each cancel: handlers may end other calls from on_cancel. */
static void shutdown_drain_expired(void *arg)
{
    ttrpc_server *srv = arg;
    while (srv->conns != NULL) {
        conn_end(srv->conns, "shutdown: output not drained in time");
    }
}

static void shutdown_grace_expired(void *arg)
{
    ttrpc_server *srv = arg;
    srv->phase = PHASE_CANCELLING;
    for (server_conn *c = srv->conns; c != NULL; c = c->next) {
        while (c->calls != NULL) {
            ttrpc_call *call = c->calls;
            if (call_can_send(call)) {
                answer_status(c->io.session, call->stream_id, TTRPC_CODE_UNAVAILABLE,
                              "server shutting down");
            }
            call_cancel(call, TTRPC_CANCEL_SHUTDOWN);
            call_end(call);
        }
        conn_mark_dirty(c);
    }
    if (srv->conns != NULL &&
        ttrpc_loop_timer_start(srv->loop, &srv->shutdown_timer, TTRPC_SERVER_DRAIN_MS,
                               shutdown_drain_expired, srv) != TTRPC_OK) {
        shutdown_drain_expired(srv);
    }
}

static void shutdown_begin(ttrpc_server *srv)
{
    srv->phase = PHASE_DRAINING;
    srv_log(srv, "shutdown: %u connections, %u calls in flight", (unsigned)srv->n_conns,
            (unsigned)srv->n_calls);
    listeners_close(srv);
    for (server_conn *c = srv->conns; c != NULL; c = c->next) {
        conn_mark_dirty(c);
    }
    if (ttrpc_loop_timer_start(srv->loop, &srv->shutdown_timer, srv->cfg.shutdown_grace_ms,
                               shutdown_grace_expired, srv) != TTRPC_OK) {
        shutdown_grace_expired(srv);
    }
}

static void service_dirty(ttrpc_server *srv)
{
    /* Only this batch: connections dirtied while servicing wait for the next iteration, so
     * one busy connection cannot keep the loop from epoll. */
    server_conn *batch = srv->dirty;
    srv->dirty = NULL;
    while (batch != NULL) {
        server_conn *c = batch;
        batch = c->dirty_next;
        c->dirty = false;
        c->dirty_next = NULL;
        if (!c->dead) {
            conn_service(c);
        }
    }
}

ttrpc_err ttrpc_server_run_once(ttrpc_server *srv, int timeout_ms)
{
    if (srv->phase == PHASE_DONE) {
        return TTRPC_E_CLOSED;
    }
    if (atomic_load(&srv->stop_requested) && srv->phase == PHASE_RUNNING) {
        shutdown_begin(srv);
    }
    ttrpc_err rc = ttrpc_loop_run_once(srv->loop, srv->dirty != NULL ? 0 : timeout_ms);
    if (atomic_load(&srv->stop_requested) && srv->phase == PHASE_RUNNING) {
        shutdown_begin(srv);
    }
    service_dirty(srv);
    reap(srv);
    if (srv->phase != PHASE_RUNNING && srv->n_conns == 0) {
        srv->phase = PHASE_DONE;
        ttrpc_loop_timer_stop(srv->loop, &srv->shutdown_timer);
        srv_log(srv, "shutdown: done");
        return TTRPC_E_CLOSED;
    }
    return rc;
}

ttrpc_err ttrpc_server_run(ttrpc_server *srv)
{
    for (;;) {
        ttrpc_err rc = ttrpc_server_run_once(srv, -1);
        if (rc == TTRPC_E_CLOSED) {
            return TTRPC_OK;
        }
        if (rc != TTRPC_OK) {
            return rc;
        }
    }
}

void ttrpc_server_stop(ttrpc_server *srv)
{
    atomic_store(&srv->stop_requested, true);
    ttrpc_loop_wake(srv->loop);
}

ttrpc_server_stats ttrpc_server_get_stats(const ttrpc_server *srv)
{
    ttrpc_server_stats st = {
        .connections = srv->n_conns,
        .calls = srv->n_calls,
        .timers = (uint32_t)ttrpc_loop_timer_count(srv->loop),
        .accepted_total = srv->accepted_total,
        .refused_total = srv->refused_total,
        .rejected_total = srv->rejected_total,
    };
    for (const server_conn *c = srv->conns; c != NULL; c = c->next) {
        size_t m = ttrpc_conn_memory(&c->io);
        st.memory += m;
        if (m > st.max_conn_memory) {
            st.max_conn_memory = m;
        }
    }
    return st;
}
