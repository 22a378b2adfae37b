/* The client against our server running on its own thread (handlers there touch only their
 * own state and atomics), and against a raw peer on a socketpair when the test needs exact
 * bytes from the "server" side. Waits have deadlines; nothing sleeps to synchronise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ttrpc/client.h"
#include "ttrpc/frame.h"
#include "ttrpc/server.h"

#define SVC "test.v1.Svc"
#define WAIT_MS 10000

/* ---- the service, on the server thread ---- */

static atomic_int g_cancels;

static uint64_t parse_u64(ttrpc_bytes b, size_t *used)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < b.len && b.data[i] >= '0' && b.data[i] <= '9'; i++) {
        v = v * 10 + (uint64_t)(b.data[i] - '0');
    }
    if (used != NULL) {
        *used = i;
    }
    return v;
}

static void respond(ttrpc_call *call, int32_t code, const char *msg, const void *data, size_t len)
{
    ttrpc_err rc = ttrpc_call_respond(call, code, msg, data, len);
    if (rc != TTRPC_OK) {
        fprintf(stderr, "respond: %s\n", ttrpc_strerror(rc));
        abort(); /* cmocka asserts are not thread-safe: fail loudly instead */
    }
}

static void echo_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    respond(call, 0, NULL, req->payload.data, req->payload.len);
}

static void fail_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    respond(call, (int32_t)parse_u64(req->payload, NULL), "failed on purpose", NULL, 0);
}

static int kv_compare(const void *a, const void *b)
{
    const ttrpc_kv *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.data, y->key.data, n);
    if (c != 0 || x->key.len != y->key.len) {
        return c != 0 ? c : (x->key.len < y->key.len ? -1 : 1);
    }
    n = x->value.len < y->value.len ? x->value.len : y->value.len;
    c = memcmp(x->value.data, y->value.data, n);
    return c != 0 ? c : (x->value.len < y->value.len ? -1 : x->value.len > y->value.len);
}

/* "k=v" lines, sorted. */
static void metadata_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    ttrpc_kv *kv = calloc(req->n_metadata + 1, sizeof *kv);
    memcpy(kv, req->metadata, req->n_metadata * sizeof *kv);
    qsort(kv, req->n_metadata, sizeof *kv, kv_compare);
    char out[1024];
    size_t len = 0;
    for (size_t i = 0; i < req->n_metadata; i++) {
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%.*s=%.*s", i ? "\n" : "",
                                (int)kv[i].key.len, (const char *)kv[i].key.data,
                                (int)kv[i].value.len, (const char *)kv[i].value.data);
    }
    free(kv);
    respond(call, 0, NULL, out, len);
}

/* Sleep: payload "MS" or "MS:DATA"; answers DATA (default "slept") after MS milliseconds. */
typedef struct sleeper {
    ttrpc_call *call;
    ttrpc_server_timer *timer;
} sleeper;

static void sleep_fired(void *arg)
{
    sleeper *s = arg;
    s->timer = NULL;
    const ttrpc_request *req = ttrpc_call_request(s->call);
    size_t used = 0;
    (void)parse_u64(req->payload, &used);
    if (used < req->payload.len) {
        respond(s->call, 0, NULL, req->payload.data + used + 1, req->payload.len - used - 1);
    } else {
        respond(s->call, 0, NULL, "slept", 5);
    }
}

static void sleep_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    sleeper *s = calloc(1, sizeof *s);
    s->call = call;
    ttrpc_call_set_user(call, s, free);
    if (ttrpc_server_timer_start(ttrpc_call_server(call), parse_u64(req->payload, NULL),
                                 sleep_fired, s, &s->timer) != TTRPC_OK) {
        abort();
    }
}

static void sleep_cancel(ttrpc_call *call, ttrpc_cancel_reason why)
{
    (void)why;
    sleeper *s = ttrpc_call_user(call);
    if (s != NULL && s->timer != NULL) {
        ttrpc_server_timer_cancel(ttrpc_call_server(call), s->timer);
    }
    atomic_fetch_add(&g_cancels, 1);
}

/* Count: N messages "0" .. "N-1", then Data RC|ND. */
static void count_pump(ttrpc_call *call)
{
    uint64_t *state = ttrpc_call_user(call); /* [next, total] */
    while (state[0] < state[1]) {
        char buf[24];
        int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)state[0]);
        ttrpc_err rc = ttrpc_call_send(call, (const uint8_t *)buf, (size_t)n);
        if (rc == TTRPC_E_AGAIN) {
            return;
        }
        if (rc != TTRPC_OK) {
            abort();
        }
        state[0]++;
    }
    ttrpc_err rc = ttrpc_call_finish(call);
    if (rc != TTRPC_OK && rc != TTRPC_E_AGAIN) {
        abort();
    }
}

static void count_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    uint64_t *state = calloc(2, sizeof *state);
    state[1] = parse_u64(req->payload, NULL);
    ttrpc_call_set_user(call, state, free);
    count_pump(call);
}

/* Sum: adds the decimal messages; answers the sum when the client closes. */
static void sum_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    uint64_t *sum = calloc(1, sizeof *sum);
    ttrpc_call_set_user(call, sum, free);
    if (first) {
        *sum += parse_u64(req->payload, NULL);
    }
}

static void sum_data(ttrpc_call *call, ttrpc_bytes msg)
{
    uint64_t *sum = ttrpc_call_user(call);
    *sum += parse_u64(msg, NULL);
}

static void sum_closed(ttrpc_call *call)
{
    uint64_t *sum = ttrpc_call_user(call);
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)*sum);
    respond(call, 0, NULL, buf, (size_t)n);
}

/* Bidi: each message straight back (tests stay far below max_output); closes when the
 * client does. */
static void bidi_data(ttrpc_call *call, ttrpc_bytes msg)
{
    if (ttrpc_call_send(call, msg.data, msg.len) != TTRPC_OK) {
        abort();
    }
}

static void bidi_closed(ttrpc_call *call)
{
    if (ttrpc_call_finish(call) != TTRPC_OK) {
        abort();
    }
}

static void bidi_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    if (first) {
        bidi_data(call, req->payload);
    }
}

typedef struct fixture {
    char dir[64];
    char path[108];
    ttrpc_server *srv;
    pthread_t thread;
} fixture;

static void *serve(void *arg)
{
    fixture *f = arg;
    if (ttrpc_server_run(f->srv) != TTRPC_OK) {
        abort();
    }
    return NULL;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/ttrpc-cli-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/s.sock", f->dir);
    /* A short grace: teardown must not wait for calls a test left behind on purpose. */
    ttrpc_server_config cfg = {.shutdown_grace_ms = 50};
    if (ttrpc_server_new(&cfg, &f->srv) != TTRPC_OK) {
        return -1;
    }
    static const struct {
        const char *name;
        ttrpc_method_kind kind;
        ttrpc_handler h;
    } methods[] = {
        {"Echo", TTRPC_METHOD_UNARY, {.on_request = echo_request}},
        {"Fail", TTRPC_METHOD_UNARY, {.on_request = fail_request}},
        {"Metadata", TTRPC_METHOD_UNARY, {.on_request = metadata_request}},
        {"Sleep", TTRPC_METHOD_UNARY, {.on_request = sleep_request, .on_cancel = sleep_cancel}},
        {"Count",
         TTRPC_METHOD_SERVER_STREAM,
         {.on_request = count_request, .on_writable = count_pump}},
        {"Sum",
         TTRPC_METHOD_CLIENT_STREAM,
         {.on_request = sum_request, .on_data = sum_data, .on_remote_closed = sum_closed}},
        {"Bidi",
         TTRPC_METHOD_BIDI,
         {.on_request = bidi_request, .on_data = bidi_data, .on_remote_closed = bidi_closed}},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (ttrpc_server_register(f->srv, SVC, methods[i].name, methods[i].kind,
                                  &methods[i].h) != TTRPC_OK) {
            return -1;
        }
    }
    if (ttrpc_server_listen_unix(f->srv, f->path) != TTRPC_OK ||
        pthread_create(&f->thread, NULL, serve, f) != 0) {
        return -1;
    }
    atomic_store(&g_cancels, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ttrpc_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    ttrpc_server_free(f->srv);
    int rc = rmdir(f->dir);
    free(f);
    return rc;
}

static ttrpc_client *connect_to(void **state)
{
    fixture *f = *state;
    ttrpc_client *cli = NULL;
    assert_int_equal(ttrpc_client_connect_unix(f->path, NULL, &cli), TTRPC_OK);
    return cli;
}

static ttrpc_request request(const char *method, const char *payload)
{
    return (ttrpc_request){
        .service = ttrpc_bytes_of(SVC),
        .method = ttrpc_bytes_of(method),
        .has_payload = payload != NULL,
        .payload = ttrpc_bytes_of(payload),
    };
}

static void assert_bytes(const void *data, size_t len, const char *want)
{
    assert_int_equal(len, strlen(want));
    if (len > 0) {
        assert_memory_equal(data, want, len);
    }
}

/* ---- unary calls ---- */

static void test_client_call_echo_ok(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("Echo", "hello");
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(cli, &req, WAIT_MS, &res), TTRPC_OK);
    assert_int_equal(res.code, 0);
    assert_string_equal(res.message, "");
    assert_bytes(res.payload, res.payload_len, "hello");
    ttrpc_client_result_free(&res);
    assert_int_equal(ttrpc_client_pending(cli), 0);
    ttrpc_client_free(cli);
}

static void test_client_call_metadata_round_trip(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_kv md[] = {
        {ttrpc_bytes_of("b"), ttrpc_bytes_of("2")},
        {ttrpc_bytes_of("a"), ttrpc_bytes_of("1")},
        {ttrpc_bytes_of("a"), ttrpc_bytes_of("0")}, /* a repeated key is two entries */
        {ttrpc_bytes_of("Mixed-Case"), ttrpc_bytes_of("")},
    };
    ttrpc_request req = request("Metadata", NULL);
    req.metadata = md;
    req.n_metadata = 4;
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(cli, &req, WAIT_MS, &res), TTRPC_OK);
    assert_bytes(res.payload, res.payload_len, "Mixed-Case=\na=0\na=1\nb=2");
    ttrpc_client_result_free(&res);
    ttrpc_client_free(cli);
}

static void test_client_call_error_status(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("Fail", "7");
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(cli, &req, WAIT_MS, &res), TTRPC_E_STATUS);
    assert_int_equal(res.code, TTRPC_CODE_PERMISSION_DENIED);
    assert_string_equal(res.message, "failed on purpose");
    assert_int_equal(res.payload_len, 0);
    assert_null(res.payload);
    ttrpc_client_result_free(&res);
    ttrpc_client_free(cli);
}

static void test_client_call_unknown_method_unimplemented(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("NoSuchMethod", NULL);
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(cli, &req, WAIT_MS, &res), TTRPC_E_STATUS);
    assert_int_equal(res.code, TTRPC_CODE_UNIMPLEMENTED);
    ttrpc_client_result_free(&res);
    req.service = ttrpc_bytes_of("no.such.Service");
    req.method = ttrpc_bytes_of("Echo");
    assert_int_equal(ttrpc_client_call(cli, &req, WAIT_MS, &res), TTRPC_E_STATUS);
    assert_int_equal(res.code, TTRPC_CODE_UNIMPLEMENTED);
    ttrpc_client_result_free(&res);
    ttrpc_client_free(cli);
}

/* Sleep 2000 under a 100 ms timeout: the server's DEADLINE_EXCEEDED arrives inside the
 * client's slack, so the caller sees the server's verdict after about 100 ms. */
static void test_client_call_server_deadline_exceeded(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("Sleep", "2000");
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(cli, &req, 100, &res), TTRPC_E_STATUS);
    assert_int_equal(res.code, TTRPC_CODE_DEADLINE_EXCEEDED);
    ttrpc_client_result_free(&res);
    assert_int_equal(ttrpc_client_pending(cli), 0);
    ttrpc_client_free(cli);
}

static void test_client_call_negative_timeout_deadline_exceeded(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("Sleep", "10000");
    req.timeout_nano = -1;
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(cli, &req, WAIT_MS, &res), TTRPC_E_STATUS);
    assert_int_equal(res.code, TTRPC_CODE_DEADLINE_EXCEEDED);
    ttrpc_client_result_free(&res);
    ttrpc_client_free(cli);
}

/* The caller's own timeout_nano is kept and the local wait is exactly timeout_ms: the call
 * times out locally, is abandoned, and the client stays usable. */
static void test_client_call_local_timeout_abandons(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("Sleep", "60000");
    req.timeout_nano = 60ll * 1000000000;
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(cli, &req, 30, &res), TTRPC_E_TIMEOUT);
    assert_int_equal(ttrpc_client_pending(cli), 0);
    req = request("Echo", "still here");
    assert_int_equal(ttrpc_client_call(cli, &req, WAIT_MS, &res), TTRPC_OK);
    assert_bytes(res.payload, res.payload_len, "still here");
    ttrpc_client_result_free(&res);
    ttrpc_client_free(cli);
}

/* ---- streams ---- */

static void test_client_start_server_stream_all_messages(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("Count", "100");
    uint32_t id = 0;
    assert_int_equal(ttrpc_client_start(cli, &req, TTRPC_METHOD_SERVER_STREAM, &id), TTRPC_OK);
    for (int i = 0; i < 100; i++) {
        ttrpc_client_event ev;
        assert_int_equal(ttrpc_client_wait(cli, WAIT_MS, &ev), TTRPC_OK);
        assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_DATA);
        assert_int_equal(ev.stream_id, id);
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        assert_bytes(ev.data.data, ev.data.len, want);
    }
    ttrpc_client_event ev;
    assert_int_equal(ttrpc_client_wait(cli, WAIT_MS, &ev), TTRPC_OK);
    assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_REMOTE_CLOSED);
    assert_int_equal(ev.stream_id, id);
    assert_int_equal(ttrpc_client_pending(cli), 0);
    assert_int_equal(ttrpc_client_wait(cli, 0, &ev), TTRPC_E_TIMEOUT);
    ttrpc_client_free(cli);
}

static void test_client_send_client_stream_sum(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("Sum", NULL);
    uint32_t id = 0;
    assert_int_equal(ttrpc_client_start(cli, &req, TTRPC_METHOD_CLIENT_STREAM, &id), TTRPC_OK);
    for (int i = 1; i <= 10; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof msg, "%d", i);
        assert_int_equal(ttrpc_client_send(cli, id, (const uint8_t *)msg, (size_t)n, false),
                         TTRPC_OK);
    }
    assert_int_equal(ttrpc_client_close_send(cli, id), TTRPC_OK);
    /* Nothing may be sent after our own close. */
    assert_int_not_equal(ttrpc_client_send(cli, id, (const uint8_t *)"1", 1, false), TTRPC_OK);
    ttrpc_client_event ev;
    assert_int_equal(ttrpc_client_wait(cli, WAIT_MS, &ev), TTRPC_OK);
    assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_RESPONSE);
    assert_int_equal(ev.stream_id, id);
    assert_int_equal(ev.code, 0);
    assert_bytes(ev.payload.data, ev.payload.len, "55");
    assert_int_equal(ttrpc_client_pending(cli), 0);
    ttrpc_client_free(cli);
}

static void test_client_send_bidi_echoes_each(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request req = request("Bidi", NULL);
    uint32_t id = 0;
    assert_int_equal(ttrpc_client_start(cli, &req, TTRPC_METHOD_BIDI, &id), TTRPC_OK);
    static const char *const msgs[] = {"a", "", "ccc"}; /* an empty message is a message */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ttrpc_client_send(cli, id, (const uint8_t *)msgs[i], strlen(msgs[i]),
                                           false),
                         TTRPC_OK);
        ttrpc_client_event ev;
        assert_int_equal(ttrpc_client_wait(cli, WAIT_MS, &ev), TTRPC_OK);
        assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_DATA);
        assert_bytes(ev.data.data, ev.data.len, msgs[i]);
    }
    assert_int_equal(ttrpc_client_close_send(cli, id), TTRPC_OK);
    ttrpc_client_event ev;
    assert_int_equal(ttrpc_client_wait(cli, WAIT_MS, &ev), TTRPC_OK);
    assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_REMOTE_CLOSED);
    assert_int_equal(ttrpc_client_pending(cli), 0);
    ttrpc_client_free(cli);
}

/* 50 calls in flight on one client, answered in a scrambled order (different delays): each
 * Response is matched to its call by stream id. */
static void test_client_wait_fifty_concurrent_matched_by_id(void **state)
{
    enum { N = 50 };
    ttrpc_client *cli = connect_to(state);
    uint32_t ids[N];
    char payloads[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(payloads[i], sizeof payloads[i], "%d:call-%d", (N - i) % 7 * 5, i);
        ttrpc_request req = request("Sleep", payloads[i]);
        assert_int_equal(ttrpc_client_start(cli, &req, TTRPC_METHOD_UNARY, &ids[i]), TTRPC_OK);
    }
    assert_int_equal(ttrpc_client_pending(cli), N);
    int seen[N] = {0};
    for (int n = 0; n < N; n++) {
        ttrpc_client_event ev;
        assert_int_equal(ttrpc_client_wait(cli, WAIT_MS, &ev), TTRPC_OK);
        assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_RESPONSE);
        int i = 0;
        while (i < N && ids[i] != ev.stream_id) {
            i++;
        }
        assert_true(i < N);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        assert_bytes(ev.payload.data, ev.payload.len, strchr(payloads[i], ':') + 1);
    }
    assert_int_equal(ttrpc_client_pending(cli), 0);
    ttrpc_client_free(cli);
}

/* Several clients with calls in flight at once, each gets its own answers. */
static void test_client_connect_several_clients_at_once(void **state)
{
    enum { CLIENTS = 4, CALLS = 10 };
    ttrpc_client *cli[CLIENTS];
    for (int c = 0; c < CLIENTS; c++) {
        cli[c] = connect_to(state);
        for (int i = 0; i < CALLS; i++) {
            char payload[32];
            snprintf(payload, sizeof payload, "%d:c%d-%d", i % 3, c, i);
            ttrpc_request req = request("Sleep", payload);
            uint32_t id;
            assert_int_equal(ttrpc_client_start(cli[c], &req, TTRPC_METHOD_UNARY, &id),
                             TTRPC_OK);
            assert_int_equal(id, 2u * (uint32_t)i + 1); /* ids start at 1, per connection */
        }
    }
    for (int c = CLIENTS - 1; c >= 0; c--) {
        for (int n = 0; n < CALLS; n++) {
            ttrpc_client_event ev;
            assert_int_equal(ttrpc_client_wait(cli[c], WAIT_MS, &ev), TTRPC_OK);
            assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_RESPONSE);
            char want[32];
            snprintf(want, sizeof want, "c%d-%u", c, (unsigned)(ev.stream_id - 1) / 2);
            assert_bytes(ev.payload.data, ev.payload.len, want);
        }
        ttrpc_client_free(cli[c]);
    }
}

/* A unary call that another stream's events interleave with leaves them queued. */
static void test_client_call_keeps_other_streams_events(void **state)
{
    ttrpc_client *cli = connect_to(state);
    ttrpc_request sreq = request("Count", "3");
    uint32_t sid;
    assert_int_equal(ttrpc_client_start(cli, &sreq, TTRPC_METHOD_SERVER_STREAM, &sid), TTRPC_OK);
    ttrpc_request req = request("Sleep", "20:late");
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(cli, &req, WAIT_MS, &res), TTRPC_OK);
    assert_bytes(res.payload, res.payload_len, "late");
    ttrpc_client_result_free(&res);
    for (int i = 0; i < 4; i++) {
        ttrpc_client_event ev;
        assert_int_equal(ttrpc_client_wait(cli, WAIT_MS, &ev), TTRPC_OK);
        assert_int_equal(ev.stream_id, sid);
        assert_int_equal(ev.kind, i < 3 ? TTRPC_CLIENT_EVENT_DATA
                                        : TTRPC_CLIENT_EVENT_REMOTE_CLOSED);
    }
    ttrpc_client_free(cli);
}

/* ---- against a raw peer ---- */

typedef struct pair {
    ttrpc_client *cli;
    int peer;
} pair;

static void pair_open(pair *p)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(ttrpc_client_adopt_fd(sv[0], NULL, &p->cli), TTRPC_OK);
    p->peer = sv[1];
}

static void pair_close(pair *p)
{
    ttrpc_client_free(p->cli);
    if (p->peer >= 0) {
        close(p->peer);
    }
}

static void peer_frame(pair *p, uint32_t id, uint8_t type, uint8_t flags, const void *data,
                       size_t len)
{
    uint8_t buf[256];
    ttrpc_frame_header h = {.length = (uint32_t)len, .stream_id = id, .type = type, .flags = flags};
    size_t written = 0;
    assert_int_equal(ttrpc_frame_encode(&h, data, buf, sizeof buf, &written), TTRPC_OK);
    assert_int_equal(write(p->peer, buf, written), (ssize_t)written);
}

static uint32_t start_unary(pair *p, const char *method)
{
    ttrpc_request req = request(method, NULL);
    uint32_t id = 0;
    assert_int_equal(ttrpc_client_start(p->cli, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
    return id;
}

/* The server goes away with calls in flight: each one fails with TTRPC_E_CLOSED, once. */
static void test_client_wait_peer_closes_pending_fail_closed(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    uint32_t ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = start_unary(&p, "Echo");
    }
    close(p.peer);
    p.peer = -1;
    for (int i = 0; i < 3; i++) {
        ttrpc_client_event ev;
        assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_OK);
        assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_ERROR);
        assert_int_equal(ev.err, TTRPC_E_CLOSED);
        assert_int_equal(ev.stream_id, ids[i]);
    }
    ttrpc_client_event ev;
    assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_E_CLOSED);
    ttrpc_request req = request("Echo", NULL);
    uint32_t id;
    assert_int_equal(ttrpc_client_start(p.cli, &req, TTRPC_METHOD_UNARY, &id), TTRPC_E_CLOSED);
    ttrpc_client_result res;
    assert_int_equal(ttrpc_client_call(p.cli, &req, 100, &res), TTRPC_E_CLOSED);
    pair_close(&p);
}

/* A Response written just before the hang-up still reaches its call. */
static void test_client_call_answer_then_close_delivered(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    uint32_t a = start_unary(&p, "Echo");
    uint32_t b = start_unary(&p, "Echo");
    static const uint8_t ok[] = {0x12, 0x02, 'o', 'k'};
    peer_frame(&p, a, TTRPC_TYPE_RESPONSE, 0, ok, sizeof ok);
    close(p.peer);
    p.peer = -1;
    /* Writing now fails (EPIPE), but what the server sent is still read. */
    uint32_t c = start_unary(&p, "Echo");
    ttrpc_client_event ev;
    assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_OK);
    assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_RESPONSE);
    assert_int_equal(ev.stream_id, a);
    assert_bytes(ev.payload.data, ev.payload.len, "ok");
    assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_OK);
    assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_ERROR);
    assert_int_equal(ev.stream_id, b);
    assert_int_equal(ev.err, TTRPC_E_CLOSED);
    assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_OK);
    assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_ERROR);
    assert_int_equal(ev.stream_id, c);
    assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_E_CLOSED);
    pair_close(&p);
}

/* Notes 2.1: Go omits the status, Rust sends an empty one, and a zero-length Response is
 * success too. All three are code 0. */
static void test_client_wait_success_forms_all_ok(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    uint32_t go = start_unary(&p, "Echo");
    uint32_t rust = start_unary(&p, "Echo");
    uint32_t empty = start_unary(&p, "Echo");
    static const uint8_t go_ok[] = {0x12, 0x01, 'g'};
    static const uint8_t rust_ok[] = {0x0a, 0x00, 0x12, 0x01, 'r'};
    peer_frame(&p, go, TTRPC_TYPE_RESPONSE, 0, go_ok, sizeof go_ok);
    peer_frame(&p, rust, TTRPC_TYPE_RESPONSE, 0, rust_ok, sizeof rust_ok);
    peer_frame(&p, empty, TTRPC_TYPE_RESPONSE, 0, NULL, 0);
    const char *want[] = {"g", "r", ""};
    for (int i = 0; i < 3; i++) {
        ttrpc_client_event ev;
        assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_OK);
        assert_int_equal(ev.kind, TTRPC_CLIENT_EVENT_RESPONSE);
        assert_int_equal(ev.code, 0);
        assert_int_equal(ev.message.len, 0);
        assert_bytes(ev.payload.data, ev.payload.len, want[i]);
    }
    pair_close(&p);
}

/* Abandoned: its queued and later events never come out of wait. */
static void test_client_abandon_drops_events(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    uint32_t gone = start_unary(&p, "Echo");
    uint32_t kept = start_unary(&p, "Echo");
    assert_int_equal(ttrpc_client_abandon(p.cli, gone), TTRPC_OK);
    assert_int_equal(ttrpc_client_abandon(p.cli, gone), TTRPC_E_NOT_FOUND);
    assert_int_equal(ttrpc_client_abandon(p.cli, 999), TTRPC_E_NOT_FOUND);
    peer_frame(&p, gone, TTRPC_TYPE_RESPONSE, 0, NULL, 0);
    peer_frame(&p, kept, TTRPC_TYPE_RESPONSE, 0, NULL, 0);
    ttrpc_client_event ev;
    assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_OK);
    assert_int_equal(ev.stream_id, kept);
    assert_int_equal(ttrpc_client_wait(p.cli, 20, &ev), TTRPC_E_TIMEOUT);
    assert_int_equal(ttrpc_client_pending(p.cli), 0);

    /* Abandoned after its Response was already read and queued. */
    uint32_t first = start_unary(&p, "Echo");
    uint32_t late = start_unary(&p, "Echo");
    peer_frame(&p, first, TTRPC_TYPE_RESPONSE, 0, NULL, 0);
    peer_frame(&p, late, TTRPC_TYPE_RESPONSE, 0, NULL, 0);
    assert_int_equal(ttrpc_client_wait(p.cli, WAIT_MS, &ev), TTRPC_OK);
    assert_int_equal(ev.stream_id, first);
    /* Both frames came in one read: late's Response waits in the queue. */
    assert_int_equal(ttrpc_client_pending(p.cli), 0);
    assert_int_equal(ttrpc_client_abandon(p.cli, late), TTRPC_OK);
    assert_int_equal(ttrpc_client_wait(p.cli, 20, &ev), TTRPC_E_TIMEOUT);
    pair_close(&p);
}

/* A Response over 4 MiB fails its call with TTRPC_E_TOO_LARGE; the bytes are skipped and the
 * next Response on the connection still arrives. */
static void test_client_wait_oversized_response_fails_call(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    uint32_t big = start_unary(&p, "Echo");
    uint32_t next = start_unary(&p, "Echo");
    /* Oversized header, its body, then an ordinary empty Response for the next call. */
    size_t body = TTRPC_FRAME_MAX_DATA + 1;
    size_t total = 2 * TTRPC_FRAME_HEADER_LEN + body;
    uint8_t *bytes = calloc(1, total);
    assert_non_null(bytes);
    ttrpc_frame_header h = {.length = (uint32_t)body, .stream_id = big,
                            .type = TTRPC_TYPE_RESPONSE};
    ttrpc_frame_header_write(&h, bytes);
    h = (ttrpc_frame_header){.stream_id = next, .type = TTRPC_TYPE_RESPONSE};
    ttrpc_frame_header_write(&h, bytes + TTRPC_FRAME_HEADER_LEN + body);
    assert_int_equal(fcntl(p.peer, F_SETFL, O_NONBLOCK), 0);
    ttrpc_client_event events[2];
    int n_events = 0;
    size_t sent = 0;
    while (n_events < 2) {
        if (sent < total) {
            ssize_t n = write(p.peer, bytes + sent, total - sent);
            if (n > 0) {
                sent += (size_t)n;
            } else {
                assert_true(errno == EAGAIN);
            }
        }
        /* The client reads (and skips) while we write. */
        ttrpc_client_event ev;
        ttrpc_err rc = ttrpc_client_wait(p.cli, 10, &ev);
        if (rc == TTRPC_OK) {
            events[n_events++] = ev; /* only kind and id are kept past the next wait */
        } else {
            assert_int_equal(rc, TTRPC_E_TIMEOUT);
        }
        assert_true(ttrpc_client_memory(p.cli) < 512 * 1024);
    }
    free(bytes);
    assert_int_equal(events[0].kind, TTRPC_CLIENT_EVENT_ERROR);
    assert_int_equal(events[0].stream_id, big);
    assert_int_equal(events[0].err, TTRPC_E_TOO_LARGE);
    assert_int_equal(events[1].kind, TTRPC_CLIENT_EVENT_RESPONSE);
    assert_int_equal(events[1].stream_id, next);
    assert_int_equal(ttrpc_client_pending(p.cli), 0);
    pair_close(&p);
}

static void test_client_wait_idle_times_out(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    ttrpc_client_event ev;
    assert_int_equal(ttrpc_client_wait(p.cli, 0, &ev), TTRPC_E_TIMEOUT);
    assert_int_equal(ttrpc_client_wait(p.cli, 10, &ev), TTRPC_E_TIMEOUT);
    pair_close(&p);
}

/* A server that never reads cannot hold a sender forever once send_timeout_ms is set. */
static void test_client_send_times_out_on_non_reading_server(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ttrpc_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.session.max_output = 4096;
    cfg.send_timeout_ms = 50;
    ttrpc_client *cli = NULL;
    assert_int_equal(ttrpc_client_adopt_fd(sv[0], &cfg, &cli), TTRPC_OK);
    ttrpc_request req = request("ClientStream", NULL);
    uint32_t id = 0;
    assert_int_equal(ttrpc_client_start(cli, &req, TTRPC_METHOD_CLIENT_STREAM, &id), TTRPC_OK);
    static uint8_t chunk[65536];
    ttrpc_err rc = TTRPC_OK;
    /* The socket buffers fill up after a few MiB at most; then the send must time out. */
    for (int i = 0; i < 4096 && rc == TTRPC_OK; i++) {
        rc = ttrpc_client_send(cli, id, chunk, sizeof chunk, false);
    }
    assert_int_equal(rc, TTRPC_E_TIMEOUT);
    ttrpc_client_free(cli);
    close(sv[1]);
}

static void test_client_connect_unix_errors(void **state)
{
    (void)state;
    ttrpc_client *cli = NULL;
    assert_int_equal(ttrpc_client_connect_unix("/nonexistent/ttrpc.sock", NULL, &cli),
                     TTRPC_E_IO);
    assert_int_equal(errno, ENOENT);
    char long_path[150];
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    assert_int_equal(ttrpc_client_connect_unix(long_path, NULL, &cli), TTRPC_E_INVAL);
    assert_null(cli);
}

int main(void)
{
#define FIXTURE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_client_call_echo_ok),
        FIXTURE_TEST(test_client_call_metadata_round_trip),
        FIXTURE_TEST(test_client_call_error_status),
        FIXTURE_TEST(test_client_call_unknown_method_unimplemented),
        FIXTURE_TEST(test_client_call_server_deadline_exceeded),
        FIXTURE_TEST(test_client_call_negative_timeout_deadline_exceeded),
        FIXTURE_TEST(test_client_call_local_timeout_abandons),
        FIXTURE_TEST(test_client_start_server_stream_all_messages),
        FIXTURE_TEST(test_client_send_client_stream_sum),
        FIXTURE_TEST(test_client_send_bidi_echoes_each),
        FIXTURE_TEST(test_client_wait_fifty_concurrent_matched_by_id),
        FIXTURE_TEST(test_client_connect_several_clients_at_once),
        FIXTURE_TEST(test_client_call_keeps_other_streams_events),
        cmocka_unit_test(test_client_wait_peer_closes_pending_fail_closed),
        cmocka_unit_test(test_client_call_answer_then_close_delivered),
        cmocka_unit_test(test_client_wait_success_forms_all_ok),
        cmocka_unit_test(test_client_abandon_drops_events),
        cmocka_unit_test(test_client_wait_oversized_response_fails_call),
        cmocka_unit_test(test_client_wait_idle_times_out),
        cmocka_unit_test(test_client_send_times_out_on_non_reading_server),
        cmocka_unit_test(test_client_connect_unix_errors),
    };
#undef FIXTURE_TEST
    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
