/* The server over real Unix sockets, in one thread: each test drives the server loop with
 * ttrpc_server_run_once between the moves of a raw peer that writes frames byte for byte, so
 * hostile input needs no client library and nothing depends on thread timing. Every wait is a
 * poll with a deadline; a bug shows as a failed assertion, not a hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ttrpc/frame.h"
#include "ttrpc/msg.h"
#include "ttrpc/server.h"

#define SVC "test.v1.Svc"
#define WAIT_NS 10000000000u /* 10 s: generous for valgrind */

/* ---- the service under test ---- */

typedef struct world {
    char dir[64];
    char path[108];
    ttrpc_server *srv;
    int requests;
    int cancels[TTRPC_CANCEL_SHUTDOWN + 1];
    int cred_seen;
    ttrpc_peer_cred cred;
} world;

static world *W;

static uint64_t parse_u64(ttrpc_bytes b)
{
    uint64_t v = 0;
    for (size_t i = 0; i < b.len; i++) {
        v = v * 10 + (uint64_t)(b.data[i] - '0');
    }
    return v;
}

static void must_respond(ttrpc_call *call, int32_t code, const void *data, size_t len)
{
    assert_int_equal(ttrpc_call_respond(call, code, code != 0 ? "test error" : NULL, data, len),
                     TTRPC_OK);
}

static void echo_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    W->requests++;
    must_respond(call, 0, req->payload.data, req->payload.len);
}

static void peer_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)req;
    (void)first;
    W->requests++;
    W->cred = ttrpc_call_peer_cred(call);
    W->cred_seen = 1;
    must_respond(call, 0, NULL, 0);
}

typedef struct sleeper {
    ttrpc_call *call;
    ttrpc_server_timer *timer;
} sleeper;

static void sleep_fired(void *arg)
{
    sleeper *s = arg;
    s->timer = NULL;
    must_respond(s->call, 0, "slept", 5);
}

static void sleep_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    W->requests++;
    sleeper *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->call = call;
    ttrpc_call_set_user(call, s, free);
    assert_int_equal(ttrpc_server_timer_start(ttrpc_call_server(call), parse_u64(req->payload),
                                              sleep_fired, s, &s->timer),
                     TTRPC_OK);
}

static void count_cancel(ttrpc_call *call, ttrpc_cancel_reason why)
{
    sleeper *s = ttrpc_call_user(call);
    if (s != NULL && s->timer != NULL) {
        ttrpc_server_timer_cancel(ttrpc_call_server(call), s->timer);
        s->timer = NULL;
    }
    W->cancels[why]++;
}

/* Count: sends "0", "1", ... "N-1" as text, resuming in on_writable after TTRPC_E_AGAIN. */
typedef struct counter {
    uint64_t next, total;
} counter;

static void count_pump(ttrpc_call *call)
{
    counter *c = ttrpc_call_user(call);
    while (c->next < c->total) {
        char buf[24];
        int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)c->next);
        ttrpc_err rc = ttrpc_call_send(call, (const uint8_t *)buf, (size_t)n);
        if (rc == TTRPC_E_AGAIN) {
            return;
        }
        assert_int_equal(rc, TTRPC_OK);
        c->next++;
    }
    ttrpc_err rc = ttrpc_call_finish(call);
    assert_true(rc == TTRPC_OK || rc == TTRPC_E_AGAIN);
}

static void count_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    assert_true(first);
    W->requests++;
    counter *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->total = parse_u64(req->payload);
    ttrpc_call_set_user(call, c, free);
    count_pump(call);
}

/* Sum: a client-streaming method that answers, once the client has closed, with the number
 * of messages it got (the Request's payload counts when it is a first message). */
static void sum_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)req;
    W->requests++;
    ttrpc_call_set_user(call, (void *)(uintptr_t)(first ? 1 : 0), NULL);
}

static void sum_data(ttrpc_call *call, ttrpc_bytes msg)
{
    (void)msg;
    ttrpc_call_set_user(call, (void *)((uintptr_t)ttrpc_call_user(call) + 1), NULL);
}

static void sum_closed(ttrpc_call *call)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lu", (unsigned long)(uintptr_t)ttrpc_call_user(call));
    must_respond(call, 0, buf, (size_t)n);
}

static void register_all(ttrpc_server *srv)
{
    ttrpc_handler sum = {.on_request = sum_request, .on_data = sum_data,
                         .on_remote_closed = sum_closed};
    assert_int_equal(ttrpc_server_register(srv, SVC, "Sum", TTRPC_METHOD_CLIENT_STREAM, &sum),
                     TTRPC_OK);
    ttrpc_handler echo = {.on_request = echo_request, .on_cancel = count_cancel};
    ttrpc_handler peer = {.on_request = peer_request};
    ttrpc_handler sleep = {.on_request = sleep_request, .on_cancel = count_cancel};
    ttrpc_handler count = {.on_request = count_request, .on_cancel = count_cancel,
                           .on_writable = count_pump};
    assert_int_equal(ttrpc_server_register(srv, SVC, "Echo", TTRPC_METHOD_UNARY, &echo), TTRPC_OK);
    assert_int_equal(ttrpc_server_register(srv, SVC, "Peer", TTRPC_METHOD_UNARY, &peer), TTRPC_OK);
    assert_int_equal(ttrpc_server_register(srv, SVC, "Sleep", TTRPC_METHOD_UNARY, &sleep),
                     TTRPC_OK);
    assert_int_equal(ttrpc_server_register(srv, SVC, "Count", TTRPC_METHOD_SERVER_STREAM, &count),
                     TTRPC_OK);
}

static void world_start(world *w, const ttrpc_server_config *cfg)
{
    *w = (world){0};
    W = w;
    strcpy(w->dir, "/tmp/ttrpc-srv-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->path, sizeof w->path, "%s/s.sock", w->dir);
    assert_int_equal(ttrpc_server_new(cfg, &w->srv), TTRPC_OK);
    register_all(w->srv);
    assert_int_equal(ttrpc_server_listen_unix(w->srv, w->path), TTRPC_OK);
}

static void world_end(world *w)
{
    ttrpc_server_free(w->srv);
    (void)unlink(w->path);
    assert_int_equal(rmdir(w->dir), 0);
    W = NULL;
}

static ttrpc_server_stats stats(void)
{
    return ttrpc_server_get_stats(W->srv);
}

static void pump(int ms)
{
    ttrpc_err rc = ttrpc_server_run_once(W->srv, ms);
    assert_true(rc == TTRPC_OK || rc == TTRPC_E_CLOSED);
}

static bool before(uint64_t deadline)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec < deadline;
}

static uint64_t deadline_in(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + ns;
}

/* ---- a raw peer: frames written and read by hand ---- */

typedef struct raw {
    int fd;
    ttrpc_decoder dec;
    uint8_t buf[65536];
    size_t off, len;
    bool eof;
} raw;

static void raw_open(raw *r)
{
    memset(r, 0, sizeof *r);
    r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(r->fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, W->path);
    assert_int_equal(connect(r->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(fcntl(r->fd, F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(ttrpc_decoder_init(&r->dec, TTRPC_FRAME_MAX_DATA, NULL), TTRPC_OK);
}

static void raw_close(raw *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    ttrpc_decoder_free(&r->dec);
}

/* Writes everything, pumping the server whenever the socket is full. */
static void raw_write(raw *r, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t deadline = deadline_in(WAIT_NS);
    while (len > 0) {
        ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        assert_true(before(deadline));
        pump(1);
    }
}

static void raw_frame(raw *r, uint32_t id, uint8_t type, uint8_t flags, const void *data,
                      size_t len)
{
    uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header h = {.length = (uint32_t)len, .stream_id = id, .type = type, .flags = flags};
    ttrpc_frame_header_write(&h, hdr);
    raw_write(r, hdr, sizeof hdr);
    if (len > 0) {
        raw_write(r, data, len);
    }
}

static void raw_request(raw *r, uint32_t id, uint8_t flags, const char *method,
                        const void *payload, size_t len, int64_t timeout_nano)
{
    ttrpc_request req = {.service = ttrpc_bytes_of(SVC), .method = ttrpc_bytes_of(method),
                         .has_payload = payload != NULL, .payload = {payload, len},
                         .timeout_nano = timeout_nano};
    size_t size = 0;
    assert_int_equal(ttrpc_request_encoded_size(&req, &size), TTRPC_OK);
    uint8_t *buf = malloc(size + 1);
    assert_non_null(buf);
    size_t written = 0;
    assert_int_equal(ttrpc_request_encode(&req, buf, size + 1, &written), TTRPC_OK);
    raw_frame(r, id, TTRPC_TYPE_REQUEST, flags, buf, written);
    free(buf);
}

/* The next frame from the server, pumping it meanwhile. False on EOF. The frame's data lives
 * until the next call. */
static bool raw_next(raw *r, ttrpc_frame *f)
{
    uint64_t deadline = deadline_in(WAIT_NS);
    for (;;) {
        if (r->off < r->len) {
            size_t used = 0;
            assert_int_equal(ttrpc_decoder_feed(&r->dec, r->buf + r->off, r->len - r->off, &used),
                             TTRPC_OK);
            r->off += used;
        }
        ttrpc_err rc = ttrpc_decoder_next(&r->dec, f);
        if (rc == TTRPC_OK) {
            return true;
        }
        assert_int_equal(rc, TTRPC_E_AGAIN);
        if (r->off < r->len) {
            continue;
        }
        ssize_t n = recv(r->fd, r->buf, sizeof r->buf, MSG_DONTWAIT);
        if (n > 0) {
            r->off = 0;
            r->len = (size_t)n;
            continue;
        }
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            r->eof = true;
            return false;
        }
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        assert_true(before(deadline));
        pump(2);
    }
}

/* Reads Responses until the one for id; returns its code and copies its payload. */
static int32_t raw_response(raw *r, uint32_t id, char *payload, size_t cap)
{
    for (;;) {
        ttrpc_frame f;
        assert_true(raw_next(r, &f));
        if (f.hdr.stream_id != id) {
            continue;
        }
        assert_int_equal(f.hdr.type, TTRPC_TYPE_RESPONSE);
        ttrpc_msg_arena arena;
        ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
        ttrpc_response resp;
        assert_int_equal(ttrpc_response_decode(f.data, f.hdr.length, &arena, &resp), TTRPC_OK);
        int32_t code = resp.has_status ? resp.status.code : 0;
        if (payload != NULL) {
            assert_true(resp.payload.len < cap);
            if (resp.payload.len > 0) {
                memcpy(payload, resp.payload.data, resp.payload.len);
            }
            payload[resp.payload.len] = '\0';
        }
        ttrpc_msg_arena_reset(&arena);
        return code;
    }
}

/* True when the server closed the connection without sending anything more. */
static bool raw_sees_eof(raw *r)
{
    ttrpc_frame f;
    return !raw_next(r, &f) && r->eof;
}

static void pump_until_connections(uint32_t n)
{
    uint64_t deadline = deadline_in(WAIT_NS);
    while (stats().connections != n) {
        assert_true(before(deadline));
        pump(2);
    }
}

/* A fresh connection still gets an echo: the server survived whatever came before. */
static void assert_fresh_echo(void)
{
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Echo", "alive", 5, 0);
    char out[16];
    assert_int_equal(raw_response(&r, 1, out, sizeof out), 0);
    assert_string_equal(out, "alive");
    raw_close(&r);
}

/* ---- registration and setup ---- */

static void test_server_register_duplicate_inval(void **state)
{
    (void)state;
    ttrpc_server *srv;
    assert_int_equal(ttrpc_server_new(NULL, &srv), TTRPC_OK);
    ttrpc_handler h = {.on_request = echo_request};
    assert_int_equal(ttrpc_server_register(srv, SVC, "Echo", TTRPC_METHOD_UNARY, &h), TTRPC_OK);
    assert_int_equal(ttrpc_server_register(srv, SVC, "Echo", TTRPC_METHOD_BIDI, &h),
                     TTRPC_E_INVAL);
    assert_int_equal(ttrpc_server_register(srv, "", "Echo", TTRPC_METHOD_UNARY, &h),
                     TTRPC_E_INVAL);
    assert_int_equal(ttrpc_server_register(srv, SVC, "X", (ttrpc_method_kind)9, &h),
                     TTRPC_E_INVAL);
    ttrpc_server_free(srv);
}

/* The sessions borrow the routing table: it is frozen once a connection exists. */
static void test_server_register_after_accept_inval(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    pump_until_connections(1);
    ttrpc_handler h = {.on_request = echo_request};
    assert_int_equal(ttrpc_server_register(w.srv, SVC, "Late", TTRPC_METHOD_UNARY, &h),
                     TTRPC_E_INVAL);
    raw_close(&r);
    world_end(&w);
}

static void test_server_listen_unix_bad_addresses_rejected(void **state)
{
    (void)state;
    ttrpc_server *srv;
    assert_int_equal(ttrpc_server_new(NULL, &srv), TTRPC_OK);
    char long_path[200];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    assert_int_equal(ttrpc_server_listen_unix(srv, long_path), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_server_listen_unix(srv, ""), TTRPC_E_INVAL);
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[1]);
    assert_int_equal(ttrpc_server_adopt_listener(srv, p[0]), TTRPC_E_INVAL); /* closes p[0] */
    assert_int_equal(fcntl(p[0], F_GETFD), -1);
    ttrpc_server_free(srv);
}

/* ---- calls ---- */

static void test_server_request_echo_answered(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Echo", "hi", 2, 0);
    ttrpc_frame f;
    assert_true(raw_next(&r, &f));
    assert_int_equal(f.hdr.type, TTRPC_TYPE_RESPONSE);
    assert_int_equal(f.hdr.stream_id, 1);
    assert_int_equal(f.hdr.flags, 0);
    /* Go's success form: no status field, just the payload (notes 2.1). */
    static const uint8_t go_ok[] = {0x12, 0x02, 'h', 'i'};
    assert_int_equal(f.hdr.length, sizeof go_ok);
    assert_memory_equal(f.data, go_ok, sizeof go_ok);
    assert_int_equal(stats().calls, 0);
    raw_close(&r);
    world_end(&w);
}

/* PROTOCOL.md, Request: RC means no Data will follow and the client still expects an answer:
 * a client-streaming handler must be told at once that its input has ended. */
static void test_server_request_rc_on_client_stream_answered(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, TTRPC_FLAG_REMOTE_CLOSED, "Sum", "x", 1, 0);
    char payload[32];
    assert_int_equal(raw_response(&r, 1, payload, sizeof payload), 0);
    assert_string_equal(payload, "1");
    /* With RO the same method waits for Data, then answers on the client's close. */
    raw_request(&r, 3, TTRPC_FLAG_REMOTE_OPEN | TTRPC_FLAG_NO_DATA, "Sum", NULL, 0, 0);
    raw_frame(&r, 3, TTRPC_TYPE_DATA, 0, "a", 1);
    raw_frame(&r, 3, TTRPC_TYPE_DATA, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA, NULL, 0);
    assert_int_equal(raw_response(&r, 3, payload, sizeof payload), 0);
    assert_string_equal(payload, "1");
    raw_close(&r);
    world_end(&w);
}

static void test_server_request_unknown_method_unimplemented(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "NoSuchMethod", NULL, 0, 0);
    assert_int_equal(raw_response(&r, 1, NULL, 0), TTRPC_CODE_UNIMPLEMENTED);
    assert_int_equal(w.requests, 0);
    assert_true(stats().rejected_total >= 1);
    raw_close(&r);
    world_end(&w);
}

/* Go's reading: a negative timeout is a deadline in the past; the handler never runs. */
static void test_server_request_negative_timeout_deadline_exceeded(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Sleep", "10000", 5, -1);
    assert_int_equal(raw_response(&r, 1, NULL, 0), TTRPC_CODE_DEADLINE_EXCEEDED);
    assert_int_equal(w.requests, 0);
    raw_close(&r);
    world_end(&w);
}

/* Sleep 2000 ms under a 100 ms deadline: answered 4 by the server, handler told, timer gone. */
static void test_server_request_deadline_cancels_handler(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Sleep", "2000", 4, 100 * 1000000);
    assert_int_equal(raw_response(&r, 1, NULL, 0), TTRPC_CODE_DEADLINE_EXCEEDED);
    assert_int_equal(w.requests, 1);
    assert_int_equal(w.cancels[TTRPC_CANCEL_DEADLINE], 1);
    pump(0);
    assert_int_equal(stats().calls, 0);
    assert_int_equal(stats().timers, 0);
    raw_close(&r);
    world_end(&w);
}

/* A deadline that is not reached changes nothing. */
static void test_server_request_deadline_not_reached_ok(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Sleep", "1", 1, 60ll * 1000000000);
    char out[16];
    assert_int_equal(raw_response(&r, 1, out, sizeof out), 0);
    assert_string_equal(out, "slept");
    pump(0);
    assert_int_equal(stats().timers, 0);
    assert_int_equal(w.cancels[TTRPC_CANCEL_DEADLINE], 0);
    raw_close(&r);
    world_end(&w);
}

static void test_server_call_peer_cred_is_ours(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Peer", NULL, 0, 0);
    assert_int_equal(raw_response(&r, 1, NULL, 0), 0);
    assert_true(w.cred_seen);
    assert_int_equal(w.cred.uid, getuid());
    assert_int_equal(w.cred.gid, getgid());
    assert_int_equal(w.cred.pid, getpid());
    raw_close(&r);
    world_end(&w);
}

/* A Data frame on a unary stream breaks the stream table: answered 3, handler cancelled. */
static void test_server_stream_violation_cancels_call(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Sleep", "60000", 5, 0);
    raw_frame(&r, 1, TTRPC_TYPE_DATA, 0, "x", 1);
    assert_int_equal(raw_response(&r, 1, NULL, 0), TTRPC_CODE_INVALID_ARGUMENT);
    assert_int_equal(w.cancels[TTRPC_CANCEL_VIOLATION], 1);
    pump(0);
    assert_int_equal(stats().calls, 0);
    assert_int_equal(stats().timers, 0);
    raw_close(&r);
    world_end(&w);
}

static void test_server_disconnect_cancels_calls(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Sleep", "60000", 5, 0);
    raw_request(&r, 3, 0, "Sleep", "60000", 5, 0);
    uint64_t deadline = deadline_in(WAIT_NS);
    while (stats().calls != 2) {
        assert_true(before(deadline));
        pump(2);
    }
    raw_close(&r);
    pump_until_connections(0);
    assert_int_equal(w.cancels[TTRPC_CANCEL_DISCONNECT], 2);
    assert_int_equal(stats().calls, 0);
    assert_int_equal(stats().timers, 0);
    world_end(&w);
}

/* ---- who may connect ---- */

static void test_server_accept_same_uid_only_accepts_us(void **state)
{
    (void)state;
    world w;
    ttrpc_server_config cfg = {.same_uid_only = true};
    world_start(&w, &cfg);
    assert_fresh_echo();
    assert_int_equal(stats().refused_total, 0);
    world_end(&w);
}

/* Another uid is closed at accept without a byte (needs root to become someone else). */
static void test_server_accept_same_uid_only_refuses_other_uid(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    world w;
    ttrpc_server_config cfg = {.same_uid_only = true};
    world_start(&w, &cfg);
    assert_int_equal(chmod(w.dir, 0755), 0);
    assert_int_equal(chmod(w.path, 0777), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) {
            _exit(10);
        }
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        strcpy(addr.sun_path, W->path);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
            _exit(11);
        }
        char c;
        ssize_t n = read(fd, &c, 1); /* EOF at once: closed without a byte */
        _exit(n == 0 ? 0 : 12);
    }
    int status = 0;
    uint64_t deadline = deadline_in(WAIT_NS);
    while (waitpid(child, &status, WNOHANG) == 0) {
        assert_true(before(deadline));
        pump(2);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(stats().refused_total, 1);
    assert_int_equal(stats().connections, 0);
    assert_fresh_echo();
    world_end(&w);
}

static void test_server_accept_max_connections_closes_excess(void **state)
{
    (void)state;
    world w;
    ttrpc_server_config cfg = {.max_connections = 1};
    world_start(&w, &cfg);
    raw a, b;
    raw_open(&a);
    pump_until_connections(1);
    raw_open(&b);
    assert_true(raw_sees_eof(&b));
    assert_int_equal(stats().refused_total, 1);
    raw_request(&a, 1, 0, "Echo", "a", 1, 0);
    assert_int_equal(raw_response(&a, 1, NULL, 0), 0);
    raw_close(&a);
    raw_close(&b);
    world_end(&w);
}

/* ---- hostile input ---- */

/* EOF inside a frame: the connection goes, nothing leaks, the server goes on. */
static void test_server_frame_truncated_then_close(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    static const uint8_t partial[] = {0, 0, 0, 20, 0, 0, 0, 1, 1, 0, 0x0a, 0x03, 't'};
    raw_write(&r, partial, sizeof partial);
    raw_close(&r);
    pump_until_connections(0);
    assert_int_equal(stats().calls, 0);
    assert_fresh_echo();
    world_end(&w);
}

/* PROTOCOL.md, Message Frame: "any larger size should be rejected". 4 MiB + 1 on stream 1 is
 * answered RESOURCE_EXHAUSTED on that id, its bytes are skipped, and stream 3 is served. */
static void test_server_frame_oversized_answered_conn_kept(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header h = {.length = TTRPC_FRAME_MAX_DATA + 1, .stream_id = 1,
                            .type = TTRPC_TYPE_REQUEST};
    ttrpc_frame_header_write(&h, hdr);
    raw_write(&r, hdr, sizeof hdr);
    uint8_t *zeros = calloc(1, TTRPC_FRAME_MAX_DATA + 1);
    assert_non_null(zeros);
    raw_write(&r, zeros, TTRPC_FRAME_MAX_DATA + 1);
    free(zeros);
    raw_request(&r, 3, 0, "Echo", "after", 5, 0);
    assert_int_equal(raw_response(&r, 1, NULL, 0), TTRPC_CODE_RESOURCE_EXHAUSTED);
    char out[16];
    assert_int_equal(raw_response(&r, 3, out, sizeof out), 0);
    assert_string_equal(out, "after");
    /* The skipped 4 MiB were never held. */
    assert_true(stats().max_conn_memory < 1024 * 1024);
    raw_close(&r);
    world_end(&w);
}

/* A header announcing 4 GiB, then silence: the connection costs a small buffer, not the
 * declared length, and other connections are served meanwhile. */
static void test_server_frame_huge_length_then_silence_stays_small(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 1, 0, 1, 2, 3, 4, 5};
    raw_write(&r, huge, sizeof huge);
    for (int i = 0; i < 20; i++) {
        pump(1);
    }
    ttrpc_server_stats st = stats();
    assert_int_equal(st.connections, 1);
    print_message("4 GiB header then silence: the connection holds %zu bytes\n",
                  st.max_conn_memory);
    assert_true(st.max_conn_memory < 256 * 1024);
    assert_fresh_echo();
    assert_true(stats().max_conn_memory < 256 * 1024);
    raw_close(&r);
    pump_until_connections(0);
    world_end(&w);
}

/* Types 0x00 and 0x07 are not in PROTOCOL.md: whatever the session makes of them, the
 * connection keeps serving. */
static void test_server_frame_unknown_types_conn_kept(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    raw r;
    raw_open(&r);
    raw_frame(&r, 1, 0x07, 0, "abc", 3);
    raw_frame(&r, 3, 0x00, 0xff, NULL, 0);
    raw_request(&r, 5, 0, "Echo", "ok", 2, 0);
    char out[16];
    assert_int_equal(raw_response(&r, 5, out, sizeof out), 0);
    assert_string_equal(out, "ok");
    raw_close(&r);
    world_end(&w);
}

/* Random bytes on many connections: each may be answered or closed, none may hurt the server. */
static void test_server_garbage_bytes_survived(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    srand(12345);
    for (int round = 0; round < 40; round++) {
        raw r;
        raw_open(&r);
        uint8_t junk[300];
        size_t len = 1 + (size_t)(rand() % (int)sizeof junk);
        for (size_t i = 0; i < len; i++) {
            junk[i] = (uint8_t)rand();
        }
        /* Keep lengths small so the frames end, and some ids odd so Requests get decoded. */
        if (round % 2 == 0 && len > 10) {
            junk[0] = junk[1] = 0;
            junk[7] |= 1;
            junk[8] = (uint8_t)(1 + round % 3);
        }
        raw_write(&r, junk, len);
        for (int i = 0; i < 3; i++) {
            pump(0);
        }
        raw_close(&r);
    }
    pump_until_connections(0);
    assert_int_equal(stats().calls, 0);
    assert_fresh_echo();
    world_end(&w);
}

/* 5000 Echo Requests of 1 KiB on one connection whose reader never reads. The Responses
 * (5 MiB in all) must not pile up in the server: it stops reading that connection once
 * max_output is queued, serves a second connection meanwhile, and answers everything once
 * the reader comes back. */
static void test_server_flood_unread_memory_bounded(void **state)
{
    (void)state;
    enum { N = 5000, PAYLOAD = 1024, MAX_OUTPUT = 64 * 1024 };
    world w;
    ttrpc_server_config cfg = {.session = {.max_output = MAX_OUTPUT, .max_streams = 8192}};
    world_start(&w, &cfg);
    raw r;
    raw_open(&r);
    char payload[PAYLOAD];
    memset(payload, 'f', sizeof payload);
    ttrpc_request req = {.service = ttrpc_bytes_of(SVC), .method = ttrpc_bytes_of("Echo"),
                         .has_payload = true, .payload = {(const uint8_t *)payload, PAYLOAD}};
    size_t size = 0;
    assert_int_equal(ttrpc_request_encoded_size(&req, &size), TTRPC_OK);
    size_t frame_len = TTRPC_FRAME_HEADER_LEN + size;
    uint8_t *all = malloc(frame_len * N);
    assert_non_null(all);
    for (uint32_t i = 0; i < N; i++) {
        ttrpc_frame_header h = {.length = (uint32_t)size, .stream_id = 2 * i + 1,
                                .type = TTRPC_TYPE_REQUEST};
        uint8_t *frame = all + i * frame_len;
        ttrpc_frame_header_write(&h, frame);
        size_t written = 0;
        assert_int_equal(ttrpc_request_encode(&req, frame + TTRPC_FRAME_HEADER_LEN, size, &written),
                         TTRPC_OK);
    }
    /* Write until the server stops taking bytes for 50 rounds in a row. */
    size_t sent = 0;
    size_t peak = 0;
    int idle = 0;
    while (sent < frame_len * N && idle < 50) {
        ssize_t n = send(r.fd, all + sent, frame_len * N - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += (size_t)n;
            idle = 0;
        } else {
            assert_true(errno == EAGAIN);
            idle++;
        }
        pump(0);
        ttrpc_server_stats st = stats();
        peak = st.max_conn_memory > peak ? st.max_conn_memory : peak;
    }
    assert_true(sent < frame_len * N); /* back-pressure reached the writer */
    print_message("flood: %zu of %zu bytes taken before the server paused; peak connection "
                  "memory %zu bytes (unbounded would be about %zu)\n",
                  sent, frame_len * N, peak, (size_t)N * PAYLOAD);
    assert_true(peak <= MAX_OUTPUT + 65536 + 2 * frame_len + 64 * 1024);
    assert_fresh_echo();

    /* The reader comes back: every Request is answered, in order. */
    uint32_t answered = 0;
    uint64_t deadline = deadline_in(6 * WAIT_NS);
    while (answered < N) {
        assert_true(before(deadline));
        if (sent < frame_len * N) {
            ssize_t n = send(r.fd, all + sent, frame_len * N - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                sent += (size_t)n;
            }
        }
        ttrpc_frame f;
        assert_true(raw_next(&r, &f));
        assert_int_equal(f.hdr.type, TTRPC_TYPE_RESPONSE);
        assert_int_equal(f.hdr.stream_id, 2 * answered + 1);
        answered++;
    }
    free(all);
    raw_close(&r);
    world_end(&w);
}

/* A server stream to a reader that does not read: the handler is held back by TTRPC_E_AGAIN
 * (memory stays near max_output), and resumes from on_writable when the reader returns. */
static void test_server_stream_backpressure_resumes(void **state)
{
    (void)state;
    enum { MAX_OUTPUT = 16 * 1024 };
    world w;
    ttrpc_server_config cfg = {.session = {.max_output = MAX_OUTPUT}};
    world_start(&w, &cfg);
    raw r;
    raw_open(&r);
    /* Enough frames (about 15 bytes each) to overfill both socket buffers many times, however
     * large this machine makes them. */
    int bufs[2];
    socklen_t optlen = sizeof bufs[0];
    assert_int_equal(getsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &bufs[0], &optlen), 0);
    assert_int_equal(getsockopt(r.fd, SOL_SOCKET, SO_SNDBUF, &bufs[1], &optlen), 0);
    const int N = 30000 > (bufs[0] + bufs[1]) / 5 ? 30000 : (bufs[0] + bufs[1]) / 5;
    char count[16];
    int len = snprintf(count, sizeof count, "%d", N);
    raw_request(&r, 1, TTRPC_FLAG_REMOTE_CLOSED, "Count", count, (size_t)len, 0);
    size_t peak = 0;
    for (int i = 0; i < 100; i++) {
        pump(0);
        ttrpc_server_stats st = stats();
        peak = st.max_conn_memory > peak ? st.max_conn_memory : peak;
    }
    assert_int_equal(stats().calls, 1); /* still sending: the socket is full */
    print_message("server stream: peak connection memory %zu bytes while the reader waited\n",
                  peak);
    assert_true(peak <= MAX_OUTPUT + 64 * 1024);
    for (int i = 0; i < N; i++) {
        ttrpc_frame f;
        assert_true(raw_next(&r, &f));
        assert_int_equal(f.hdr.type, TTRPC_TYPE_DATA);
        assert_int_equal(f.hdr.flags, 0);
        char want[24];
        int n = snprintf(want, sizeof want, "%d", i);
        assert_int_equal(f.hdr.length, (uint32_t)n);
        assert_memory_equal(f.data, want, (size_t)n);
    }
    ttrpc_frame f;
    assert_true(raw_next(&r, &f));
    assert_int_equal(f.hdr.type, TTRPC_TYPE_DATA);
    assert_int_equal(f.hdr.flags, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA);
    assert_int_equal(f.hdr.length, 0);
    pump(0);
    assert_int_equal(stats().calls, 0);
    raw_close(&r);
    world_end(&w);
}

/* ---- shutdown ---- */

static void run_until_done(void)
{
    uint64_t deadline = deadline_in(WAIT_NS);
    ttrpc_err rc;
    while ((rc = ttrpc_server_run_once(W->srv, 5)) == TTRPC_OK) {
        assert_true(before(deadline));
    }
    assert_int_equal(rc, TTRPC_E_CLOSED);
}

/* Within the grace period a call in flight finishes normally; then the connection closes. */
static void test_server_stop_lets_in_flight_finish(void **state)
{
    (void)state;
    world w;
    ttrpc_server_config cfg = {.shutdown_grace_ms = 60000};
    world_start(&w, &cfg);
    raw r;
    raw_open(&r);
    raw_request(&r, 1, 0, "Sleep", "30", 2, 0);
    uint64_t deadline = deadline_in(WAIT_NS);
    while (stats().calls != 1) {
        assert_true(before(deadline));
        pump(2);
    }
    ttrpc_server_stop(w.srv);
    char out[16];
    assert_int_equal(raw_response(&r, 1, out, sizeof out), 0);
    assert_string_equal(out, "slept");
    assert_true(raw_sees_eof(&r));
    run_until_done();
    assert_int_equal(w.cancels[TTRPC_CANCEL_SHUTDOWN], 0);
    struct stat st;
    assert_int_equal(lstat(w.path, &st), -1); /* the listener's socket file is gone */
    raw_close(&r);
    world_end(&w);
}

/* After the grace period what is left is answered UNAVAILABLE and cancelled; Requests that
 * arrive during the grace are refused the same way; idle connections close at once. */
static void test_server_stop_cancels_after_grace(void **state)
{
    (void)state;
    world w;
    ttrpc_server_config cfg = {.shutdown_grace_ms = 50};
    world_start(&w, &cfg);
    raw busy, idle;
    raw_open(&busy);
    raw_open(&idle);
    raw_request(&busy, 1, 0, "Sleep", "60000", 5, 0);
    uint64_t deadline = deadline_in(WAIT_NS);
    while (stats().calls != 1 || stats().connections != 2) {
        assert_true(before(deadline));
        pump(2);
    }
    ttrpc_server_stop(w.srv);
    ttrpc_server_stop(w.srv); /* repeated: no change */
    assert_true(raw_sees_eof(&idle));
    raw_request(&busy, 3, 0, "Echo", "late", 4, 0);
    assert_int_equal(raw_response(&busy, 3, NULL, 0), TTRPC_CODE_UNAVAILABLE);
    assert_int_equal(raw_response(&busy, 1, NULL, 0), TTRPC_CODE_UNAVAILABLE);
    assert_true(raw_sees_eof(&busy));
    run_until_done();
    assert_int_equal(w.cancels[TTRPC_CANCEL_SHUTDOWN], 1);
    assert_int_equal(w.requests, 1);
    assert_int_equal(stats().calls, 0);
    assert_int_equal(stats().timers, 0);
    raw_close(&busy);
    raw_close(&idle);
    world_end(&w);
}

/* ttrpc_server_run returns after a stop from another thread (here: before it even started). */
static void test_server_run_returns_after_stop(void **state)
{
    (void)state;
    world w;
    world_start(&w, NULL);
    ttrpc_server_stop(w.srv);
    assert_int_equal(ttrpc_server_run(w.srv), TTRPC_OK);
    struct stat st;
    assert_int_equal(lstat(w.path, &st), -1); /* the socket file went with the listener */
    world_end(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_register_duplicate_inval),
        cmocka_unit_test(test_server_register_after_accept_inval),
        cmocka_unit_test(test_server_listen_unix_bad_addresses_rejected),
        cmocka_unit_test(test_server_request_echo_answered),
        cmocka_unit_test(test_server_request_rc_on_client_stream_answered),
        cmocka_unit_test(test_server_request_unknown_method_unimplemented),
        cmocka_unit_test(test_server_request_negative_timeout_deadline_exceeded),
        cmocka_unit_test(test_server_request_deadline_cancels_handler),
        cmocka_unit_test(test_server_request_deadline_not_reached_ok),
        cmocka_unit_test(test_server_call_peer_cred_is_ours),
        cmocka_unit_test(test_server_stream_violation_cancels_call),
        cmocka_unit_test(test_server_disconnect_cancels_calls),
        cmocka_unit_test(test_server_accept_same_uid_only_accepts_us),
        cmocka_unit_test(test_server_accept_same_uid_only_refuses_other_uid),
        cmocka_unit_test(test_server_accept_max_connections_closes_excess),
        cmocka_unit_test(test_server_frame_truncated_then_close),
        cmocka_unit_test(test_server_frame_oversized_answered_conn_kept),
        cmocka_unit_test(test_server_frame_huge_length_then_silence_stays_small),
        cmocka_unit_test(test_server_frame_unknown_types_conn_kept),
        cmocka_unit_test(test_server_garbage_bytes_survived),
        cmocka_unit_test(test_server_flood_unread_memory_bounded),
        cmocka_unit_test(test_server_stream_backpressure_resumes),
        cmocka_unit_test(test_server_stop_lets_in_flight_finish),
        cmocka_unit_test(test_server_stop_cancels_after_grace),
        cmocka_unit_test(test_server_run_returns_after_stop),
    };
    return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
