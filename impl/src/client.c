#include "ttrpc/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "loop.h"

/* One received event, copied out of the session at once (session memory lasts only until
 * its next call) into a single allocation: the struct, then the bytes. */
typedef struct queued_event {
    struct queued_event *next;
    size_t size; /* of the whole allocation, for max_queued */
    ttrpc_client_event ev;
} queued_event;

struct ttrpc_client {
    ttrpc_conn io;
    size_t max_queued;
    int send_timeout_ms; /* 0: sends may block without limit */
    queued_event *head, *tail;
    size_t queued_bytes;
    queued_event *current; /* handed out by the last wait; freed by the next */
    /* Streams whose receiving side is not over, ascending (ids only grow on a client). */
    uint32_t *open;
    size_t n_open;
    size_t open_cap;
    bool write_failed; /* the peer stopped reading; what it already sent is still read */
    bool closed;       /* the connection is over; the session was closed */
};

/* ---- open stream set ---- */

static size_t open_find(const ttrpc_client *cli, uint32_t id, bool *found)
{
    size_t lo = 0;
    size_t hi = cli->n_open;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cli->open[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < cli->n_open && cli->open[lo] == id;
    return lo;
}

static bool open_has(const ttrpc_client *cli, uint32_t id)
{
    bool found;
    (void)open_find(cli, id, &found);
    return found;
}

static ttrpc_err open_add(ttrpc_client *cli, uint32_t id)
{
    if (cli->n_open == cli->open_cap) {
        size_t cap = cli->open_cap == 0 ? 16 : cli->open_cap * 2;
        uint32_t *open = realloc(cli->open, cap * sizeof *open);
        if (open == NULL) {
            return TTRPC_E_NOMEM;
        }
        cli->open = open;
        cli->open_cap = cap;
    }
    bool found;
    size_t at = open_find(cli, id, &found);
    if (!found) {
        memmove(cli->open + at + 1, cli->open + at, (cli->n_open - at) * sizeof *cli->open);
        cli->open[at] = id;
        cli->n_open++;
    }
    return TTRPC_OK;
}

static void open_remove(ttrpc_client *cli, uint32_t id)
{
    bool found;
    size_t at = open_find(cli, id, &found);
    if (found) {
        memmove(cli->open + at, cli->open + at + 1, (cli->n_open - at - 1) * sizeof *cli->open);
        cli->n_open--;
    }
}

static bool stream_live(const ttrpc_client *cli, uint32_t id)
{
    ttrpc_stream_state st = ttrpc_session_stream_state(cli->io.session, id);
    return st != TTRPC_STREAM_IDLE && st != TTRPC_STREAM_CLOSED;
}

/* ---- event queue ---- */

static ttrpc_bytes put_bytes(uint8_t **cursor, ttrpc_bytes src)
{
    if (src.len == 0) {
        return (ttrpc_bytes){NULL, 0};
    }
    uint8_t *dst = *cursor;
    memcpy(dst, src.data, src.len);
    *cursor += src.len;
    return (ttrpc_bytes){dst, src.len};
}

static ttrpc_err enqueue(ttrpc_client *cli, const ttrpc_client_event *ev)
{
    size_t bytes = ev->data.len + ev->message.len + ev->payload.len;
    size_t size = sizeof(queued_event) + bytes;
    queued_event *q = malloc(size);
    if (q == NULL) {
        return TTRPC_E_NOMEM;
    }
    uint8_t *cursor = (uint8_t *)(q + 1);
    q->next = NULL;
    q->size = size;
    q->ev = *ev;
    q->ev.data = put_bytes(&cursor, ev->data);
    q->ev.message = put_bytes(&cursor, ev->message);
    q->ev.payload = put_bytes(&cursor, ev->payload);
    if (cli->tail != NULL) {
        cli->tail->next = q;
    } else {
        cli->head = q;
    }
    cli->tail = q;
    cli->queued_bytes += size;
    return TTRPC_OK;
}

/* Removes and returns the first queued event of stream id (any stream when any is true). */
static queued_event *dequeue(ttrpc_client *cli, bool any, uint32_t id)
{
    queued_event *prev = NULL;
    for (queued_event *q = cli->head; q != NULL; prev = q, q = q->next) {
        if (!any && q->ev.stream_id != id) {
            continue;
        }
        if (prev != NULL) {
            prev->next = q->next;
        } else {
            cli->head = q->next;
        }
        if (cli->tail == q) {
            cli->tail = prev;
        }
        cli->queued_bytes -= q->size;
        q->next = NULL;
        return q;
    }
    return NULL;
}

static void release_current(ttrpc_client *cli)
{
    free(cli->current);
    cli->current = NULL;
}

/* Turns one session event into client events. Events of streams the application gave up
 * (or never had) are dropped here. */
static ttrpc_err translate(ttrpc_client *cli, const ttrpc_event *ev)
{
    uint32_t id = ev->stream_id;
    if (!open_has(cli, id)) {
        return TTRPC_OK;
    }
    ttrpc_client_event out = {.stream_id = id};
    ttrpc_err rc = TTRPC_OK;
    switch (ev->kind) {
    case TTRPC_EVENT_DATA:
        out.kind = TTRPC_CLIENT_EVENT_DATA;
        out.data = ev->data;
        rc = enqueue(cli, &out);
        if (rc != TTRPC_OK || !ev->last) {
            return rc;
        }
        /* Data RC carrying a message: the message, then the close, as two events. */
        out = (ttrpc_client_event){.kind = TTRPC_CLIENT_EVENT_REMOTE_CLOSED, .stream_id = id};
        rc = enqueue(cli, &out);
        break;
    case TTRPC_EVENT_REMOTE_CLOSED:
        out.kind = TTRPC_CLIENT_EVENT_REMOTE_CLOSED;
        rc = enqueue(cli, &out);
        break;
    case TTRPC_EVENT_RESPONSE:
        out.kind = TTRPC_CLIENT_EVENT_RESPONSE;
        if (ev->response->has_status) {
            out.code = ev->response->status.code;
            out.message = ev->response->status.message;
        }
        out.payload = ev->response->payload;
        rc = enqueue(cli, &out);
        break;
    case TTRPC_EVENT_STREAM_ERROR:
        out.kind = TTRPC_CLIENT_EVENT_ERROR;
        out.err = ev->err;
        rc = enqueue(cli, &out);
        break;
    case TTRPC_EVENT_REQUEST:
        return TTRPC_OK; /* a client session never yields one */
    }
    if (rc != TTRPC_OK) {
        return rc;
    }
    if (out.kind != TTRPC_CLIENT_EVENT_REMOTE_CLOSED || !stream_live(cli, id)) {
        open_remove(cli, id);
    }
    return TTRPC_OK;
}

static ttrpc_err collect_events(ttrpc_client *cli)
{
    for (;;) {
        ttrpc_event ev;
        ttrpc_err rc = ttrpc_session_next_event(cli->io.session, &ev);
        if (rc == TTRPC_E_AGAIN || rc == TTRPC_E_CLOSED) {
            return TTRPC_OK;
        }
        if (rc != TTRPC_OK) {
            return rc;
        }
        rc = translate(cli, &ev);
        if (rc != TTRPC_OK) {
            return rc;
        }
    }
}

/* The connection is over: every open stream gets its ERROR event (TTRPC_E_CLOSED from the
 * session, or the reason given here for streams the session no longer knew). */
static void client_fail(ttrpc_client *cli)
{
    if (cli->closed) {
        return;
    }
    cli->closed = true;
    ttrpc_session_close(cli->io.session, NULL);
    ttrpc_conn_close_socket(&cli->io);
    ttrpc_err rc = collect_events(cli);
    while (cli->n_open > 0) {
        uint32_t id = cli->open[0];
        ttrpc_client_event ev = {.kind = TTRPC_CLIENT_EVENT_ERROR, .stream_id = id,
                                 .err = rc == TTRPC_OK ? TTRPC_E_CLOSED : rc};
        /* Without memory for the event the stream simply ends unreported: wait() then says
         * TTRPC_E_CLOSED, which is what the caller needs to know. */
        (void)enqueue(cli, &ev);
        open_remove(cli, id);
    }
}

/* Feeds buffered input and collects events until the input is used up or paused. */
static ttrpc_err client_pump(ttrpc_client *cli, bool *progress)
{
    for (;;) {
        size_t taken = 0;
        ttrpc_err rc = ttrpc_conn_feed(&cli->io, &taken);
        if (rc != TTRPC_OK) {
            return rc;
        }
        size_t before = cli->queued_bytes;
        rc = collect_events(cli);
        if (rc != TTRPC_OK) {
            return rc;
        }
        if (taken == 0 && cli->queued_bytes == before) {
            return TTRPC_OK;
        }
        *progress = true;
    }
}

/* One round of I/O: write what the socket takes, read what is there, and if that changed
 * nothing, wait up to wait_ms (-1: no limit) for the socket. TTRPC_E_TIMEOUT: the wait
 * passed with nothing to do. TTRPC_E_AGAIN: nothing can happen (input paused by max_queued
 * and nothing to write). Errors end the connection (client_fail) and return TTRPC_OK so that
 * the callers find the queued ERROR events; TTRPC_E_NOMEM is returned as is. */
static ttrpc_err client_io(ttrpc_client *cli, int wait_ms)
{
    if (cli->closed) {
        return TTRPC_OK;
    }
    bool progress = false;
    if (!cli->write_failed) {
        ttrpc_err rc = ttrpc_conn_flush(&cli->io);
        if (rc == TTRPC_E_CLOSED) {
            /* The server may have answered before it hung up: read on until EOF. */
            cli->write_failed = true;
        } else if (rc == TTRPC_E_IO) {
            client_fail(cli);
            return TTRPC_OK;
        }
    }
    for (int reads = 0; reads < 16; reads++) {
        ttrpc_err rc = client_pump(cli, &progress);
        if (rc != TTRPC_OK) {
            client_fail(cli);
            return rc == TTRPC_E_NOMEM ? rc : TTRPC_OK;
        }
        if (ttrpc_conn_has_input(&cli->io) || !ttrpc_session_wants_input(cli->io.session) ||
            cli->queued_bytes >= cli->max_queued) {
            break;
        }
        rc = ttrpc_conn_read(&cli->io);
        if (rc == TTRPC_E_AGAIN) {
            break;
        }
        if (rc != TTRPC_OK) {
            client_fail(cli);
            return rc == TTRPC_E_NOMEM ? rc : TTRPC_OK;
        }
        progress = true;
    }
    if (progress) {
        return TTRPC_OK;
    }
    short events = 0;
    if (!ttrpc_conn_has_input(&cli->io) && ttrpc_session_wants_input(cli->io.session) &&
        cli->queued_bytes < cli->max_queued) {
        events |= POLLIN;
    }
    if (!cli->write_failed && ttrpc_conn_output_pending(&cli->io)) {
        events |= POLLOUT;
    }
    if (events == 0) {
        if (cli->write_failed) {
            /* Output stuck behind a peer that stopped reading, input paused behind it. */
            client_fail(cli);
            return TTRPC_OK;
        }
        return TTRPC_E_AGAIN;
    }
    struct pollfd pfd = {.fd = cli->io.fd, .events = events};
    int n = poll(&pfd, 1, wait_ms);
    if (n < 0 && errno != EINTR) {
        client_fail(cli);
        return TTRPC_OK;
    }
    return n == 0 ? TTRPC_E_TIMEOUT : TTRPC_OK;
}

/* Milliseconds left until deadline_ns (UINT64_MAX: none, gives -1). */
static int ms_left(uint64_t deadline_ns)
{
    if (deadline_ns == UINT64_MAX) {
        return -1;
    }
    uint64_t now = ttrpc_loop_now_ns();
    if (now >= deadline_ns) {
        return 0;
    }
    uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
    return ms > (uint64_t)INT32_MAX ? INT32_MAX : (int)ms;
}

static uint64_t deadline_after(int timeout_ms)
{
    if (timeout_ms < 0) {
        return UINT64_MAX;
    }
    return ttrpc_loop_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* ---- public API ---- */

ttrpc_err ttrpc_client_adopt_fd(int fd, const ttrpc_client_config *cfg, ttrpc_client **out)
{
    ttrpc_client *cli = calloc(1, sizeof *cli);
    if (cli == NULL) {
        (void)close(fd);
        return TTRPC_E_NOMEM;
    }
    ttrpc_session_config scfg = {0};
    if (cfg != NULL) {
        scfg = cfg->session;
        cli->max_queued = cfg->max_queued;
        cli->send_timeout_ms = cfg->send_timeout_ms > 0 ? cfg->send_timeout_ms : 0;
    }
    if (cli->max_queued == 0) {
        cli->max_queued = TTRPC_CLIENT_DEFAULT_MAX_QUEUED;
    }
    scfg.role = TTRPC_ROLE_CLIENT;
    scfg.methods = NULL;
    scfg.n_methods = 0;
    ttrpc_err rc = ttrpc_conn_init(&cli->io, fd, &scfg);
    if (rc != TTRPC_OK) {
        int saved = errno;
        (void)close(fd);
        free(cli);
        errno = saved;
        return rc;
    }
    *out = cli;
    return TTRPC_OK;
}

ttrpc_err ttrpc_client_connect_unix(const char *path, const ttrpc_client_config *cfg,
                                    ttrpc_client **out)
{
    int fd = -1;
    ttrpc_err rc = ttrpc_unix_connect(path, &fd);
    if (rc != TTRPC_OK) {
        return rc;
    }
    return ttrpc_client_adopt_fd(fd, cfg, out);
}

void ttrpc_client_free(ttrpc_client *cli)
{
    if (cli == NULL) {
        return;
    }
    release_current(cli);
    while (cli->head != NULL) {
        queued_event *q = cli->head;
        cli->head = q->next;
        free(q);
    }
    free(cli->open);
    ttrpc_conn_destroy(&cli->io);
    free(cli);
}

ttrpc_err ttrpc_client_start(ttrpc_client *cli, const ttrpc_request *req, ttrpc_method_kind kind,
                             uint32_t *stream_id)
{
    if (cli->closed || cli->write_failed) {
        return TTRPC_E_CLOSED;
    }
    uint32_t id = 0;
    ttrpc_err rc = ttrpc_session_call(cli->io.session, req, kind, &id);
    if (rc != TTRPC_OK) {
        return rc;
    }
    rc = open_add(cli, id);
    if (rc != TTRPC_OK) {
        ttrpc_err ignored = ttrpc_session_abandon(cli->io.session, id);
        (void)ignored;
        return rc;
    }
    *stream_id = id;
    /* Get the Request moving now; whatever the socket does not take goes on in wait(). */
    if (ttrpc_conn_flush(&cli->io) == TTRPC_E_CLOSED) {
        cli->write_failed = true;
    }
    return TTRPC_OK;
}

/* Retries a Data send while the session's output is full, doing I/O in between. */
static ttrpc_err send_blocking(ttrpc_client *cli, uint32_t id, const uint8_t *data, size_t len,
                               bool last, bool close_only)
{
    uint64_t deadline = deadline_after(cli->send_timeout_ms > 0 ? cli->send_timeout_ms : -1);
    for (;;) {
        if (cli->closed || cli->write_failed) {
            return TTRPC_E_CLOSED;
        }
        ttrpc_err rc = close_only ? ttrpc_session_send_close(cli->io.session, id)
                                  : ttrpc_session_send_data(cli->io.session, id, data, len, last);
        if (rc != TTRPC_E_AGAIN) {
            if (rc == TTRPC_OK) {
                if (ttrpc_conn_flush(&cli->io) == TTRPC_E_CLOSED) {
                    cli->write_failed = true;
                }
                if (!stream_live(cli, id)) {
                    open_remove(cli, id);
                }
            }
            return rc;
        }
        int left = ms_left(deadline);
        if (left == 0) {
            return TTRPC_E_TIMEOUT;
        }
        rc = client_io(cli, left);
        if (rc == TTRPC_E_AGAIN) {
            return TTRPC_E_LIMIT;
        }
        if (rc != TTRPC_OK && rc != TTRPC_E_TIMEOUT) {
            return rc;
        }
    }
}

ttrpc_err ttrpc_client_send(ttrpc_client *cli, uint32_t stream_id, const uint8_t *data,
                            size_t len, bool last)
{
    return send_blocking(cli, stream_id, data, len, last, false);
}

ttrpc_err ttrpc_client_close_send(ttrpc_client *cli, uint32_t stream_id)
{
    return send_blocking(cli, stream_id, NULL, 0, true, true);
}

ttrpc_err ttrpc_client_wait(ttrpc_client *cli, int timeout_ms, ttrpc_client_event *ev)
{
    release_current(cli);
    uint64_t deadline = deadline_after(timeout_ms);
    for (;;) {
        queued_event *q = dequeue(cli, true, 0);
        if (q != NULL) {
            cli->current = q;
            *ev = q->ev;
            return TTRPC_OK;
        }
        if (cli->closed) {
            return TTRPC_E_CLOSED;
        }
        ttrpc_err rc = client_io(cli, ms_left(deadline));
        if (rc == TTRPC_E_NOMEM) {
            return rc;
        }
        if (cli->head == NULL && ms_left(deadline) == 0) {
            return TTRPC_E_TIMEOUT;
        }
    }
}

void ttrpc_client_trim(ttrpc_client *cli)
{
    if (cli->io.session != NULL) {
        ttrpc_session_trim(cli->io.session);
    }
}

ttrpc_err ttrpc_client_abandon(ttrpc_client *cli, uint32_t stream_id)
{
    bool queued = false;
    queued_event *q;
    while ((q = dequeue(cli, false, stream_id)) != NULL) {
        free(q);
        queued = true;
    }
    bool known = open_has(cli, stream_id);
    open_remove(cli, stream_id);
    if (stream_live(cli, stream_id)) {
        ttrpc_err rc = ttrpc_session_abandon(cli->io.session, stream_id);
        (void)rc; /* live a moment ago: it cannot be NOT_FOUND */
        known = true;
    }
    return known || queued ? TTRPC_OK : TTRPC_E_NOT_FOUND;
}

static ttrpc_err result_fill(const ttrpc_client_event *ev, ttrpc_client_result *out)
{
    ttrpc_client_result r = {.code = ev->code, .message_len = ev->message.len,
                             .payload_len = ev->payload.len};
    r.message = malloc(ev->message.len + 1);
    if (r.message == NULL) {
        return TTRPC_E_NOMEM;
    }
    if (ev->message.len > 0) {
        memcpy(r.message, ev->message.data, ev->message.len);
    }
    r.message[ev->message.len] = '\0';
    if (ev->payload.len > 0) {
        r.payload = malloc(ev->payload.len);
        if (r.payload == NULL) {
            free(r.message);
            return TTRPC_E_NOMEM;
        }
        memcpy(r.payload, ev->payload.data, ev->payload.len);
    }
    *out = r;
    return r.code == TTRPC_CODE_OK ? TTRPC_OK : TTRPC_E_STATUS;
}

ttrpc_err ttrpc_client_call(ttrpc_client *cli, const ttrpc_request *req, int timeout_ms,
                            ttrpc_client_result *out)
{
    ttrpc_request r = *req;
    int wait_ms = timeout_ms > 0 ? timeout_ms : -1;
    if (r.timeout_nano == 0 && timeout_ms > 0) {
        r.timeout_nano = (int64_t)timeout_ms * 1000000;
        wait_ms = timeout_ms + (int)TTRPC_CLIENT_DEADLINE_SLACK_MS;
        if (wait_ms < timeout_ms) {
            wait_ms = INT32_MAX; /* the sum overflowed: as good as no limit */
        }
    }
    uint32_t id = 0;
    ttrpc_err rc = ttrpc_client_start(cli, &r, TTRPC_METHOD_UNARY, &id);
    if (rc != TTRPC_OK) {
        return rc;
    }
    uint64_t deadline = deadline_after(wait_ms);
    for (;;) {
        queued_event *q = dequeue(cli, false, id);
        if (q != NULL) {
            if (q->ev.kind == TTRPC_CLIENT_EVENT_RESPONSE) {
                rc = result_fill(&q->ev, out);
            } else {
                /* A unary stream ends with a Response or an error; anything else is the
                 * server breaking the protocol, which the session reports as an error. */
                rc = q->ev.kind == TTRPC_CLIENT_EVENT_ERROR ? q->ev.err : TTRPC_E_PROTO;
                ttrpc_err ignored = ttrpc_client_abandon(cli, id);
                (void)ignored;
            }
            free(q);
            return rc;
        }
        if (!open_has(cli, id)) {
            return TTRPC_E_CLOSED;
        }
        int left = ms_left(deadline);
        if (left == 0) {
            ttrpc_err ignored = ttrpc_client_abandon(cli, id);
            (void)ignored;
            return TTRPC_E_TIMEOUT;
        }
        rc = client_io(cli, left);
        if (rc == TTRPC_E_NOMEM) {
            return rc;
        }
        if (rc == TTRPC_E_AGAIN) {
            /* Input is paused by events of other streams nobody has collected. */
            ttrpc_err ignored = ttrpc_client_abandon(cli, id);
            (void)ignored;
            return TTRPC_E_LIMIT;
        }
    }
}

void ttrpc_client_result_free(ttrpc_client_result *r)
{
    if (r == NULL) {
        return;
    }
    free(r->message);
    free(r->payload);
    *r = (ttrpc_client_result){0};
}

size_t ttrpc_client_pending(const ttrpc_client *cli)
{
    return cli->n_open;
}

size_t ttrpc_client_memory(const ttrpc_client *cli)
{
    size_t total = ttrpc_conn_memory(&cli->io) + cli->queued_bytes;
    total += cli->open_cap * sizeof *cli->open;
    if (cli->current != NULL) {
        total += cli->current->size;
    }
    return total;
}
