#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ttrpc/session.h"

/* In-memory connections: a client session and a server session whose outputs are pumped into
 * each other, so the whole protocol runs without a socket. */

#define SVC "ttrpc.conformance.v1.Echo"

static const ttrpc_method_desc METHODS[] = {
    {SVC, "Echo", TTRPC_METHOD_UNARY},
    {SVC, "ServerStream", TTRPC_METHOD_SERVER_STREAM},
    {SVC, "ClientStream", TTRPC_METHOD_CLIENT_STREAM},
    {SVC, "BidiStream", TTRPC_METHOD_BIDI},
};

typedef struct seen_event {
    ttrpc_event_kind kind;
    uint32_t id;
    uint8_t flags;
    uint8_t data[256];
    size_t len;
    bool last;
    bool first_message;
    size_t method_index;
    int32_t code;
    bool has_status;
    bool was_live;
    ttrpc_err err;
    size_t n_metadata;
} seen_event;

typedef struct seen_list {
    seen_event ev[64];
    int n;
} seen_list;

static void record(seen_list *l, const ttrpc_event *ev)
{
    assert_true(l->n < 64);
    seen_event *e = &l->ev[l->n++];
    memset(e, 0, sizeof *e);
    e->kind = ev->kind;
    e->id = ev->stream_id;
    e->flags = ev->flags;
    e->last = ev->last;
    e->first_message = ev->first_message;
    e->method_index = ev->method_index;
    e->code = ev->code;
    e->was_live = ev->was_live;
    e->err = ev->err;
    ttrpc_bytes b = {NULL, 0};
    if (ev->kind == TTRPC_EVENT_DATA) {
        b = ev->data;
    } else if (ev->kind == TTRPC_EVENT_REQUEST) {
        b = ev->request->payload;
        e->n_metadata = ev->request->n_metadata;
    } else if (ev->kind == TTRPC_EVENT_RESPONSE) {
        b = ev->response->payload;
        e->has_status = ev->response->has_status;
        e->code = ev->response->status.code;
    }
    assert_true(b.len <= sizeof e->data);
    if (b.len > 0) {
        memcpy(e->data, b.data, b.len);
    }
    e->len = b.len;
}

/* Feeds bytes to a session, collecting every event. */
static void feed_bytes(ttrpc_session *to, const uint8_t *in, size_t len, seen_list *seen)
{
    size_t off = 0;
    for (int guard = 0; guard < 100000; guard++) {
        size_t used = 0;
        assert_int_equal(ttrpc_session_feed(to, in + off, len - off, &used), TTRPC_OK);
        off += used;
        ttrpc_event ev;
        ttrpc_err rc;
        int events = 0;
        while ((rc = ttrpc_session_next_event(to, &ev)) == TTRPC_OK) {
            record(seen, &ev);
            events++;
        }
        assert_int_equal(rc, TTRPC_E_AGAIN);
        if (off == len && events == 0) {
            return;
        }
        if (used == 0 && events == 0) {
            return; /* paused by back-pressure: the caller drains output */
        }
    }
    fail_msg("feed did not converge");
}

/* Moves everything `from` wants to write into `to`. */
static void pump(ttrpc_session *from, ttrpc_session *to, seen_list *seen)
{
    const uint8_t *out;
    size_t len;
    ttrpc_session_output(from, &out, &len);
    if (len == 0) {
        return;
    }
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, out, len);
    ttrpc_session_output_consumed(from, len);
    feed_bytes(to, copy, len, seen);
    free(copy);
}

/* Takes what a session wants to write, for byte-level checks. */
static size_t take_output(ttrpc_session *s, uint8_t *buf, size_t cap)
{
    const uint8_t *out;
    size_t len;
    ttrpc_session_output(s, &out, &len);
    assert_true(len <= cap);
    if (len > 0) {
        memcpy(buf, out, len);
    }
    ttrpc_session_output_consumed(s, len);
    return len;
}

static ttrpc_session *new_session(ttrpc_role role, uint32_t max_streams, size_t max_output)
{
    ttrpc_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = role;
    cfg.max_streams = max_streams;
    cfg.max_output = max_output;
    if (role == TTRPC_ROLE_SERVER) {
        cfg.methods = METHODS;
        cfg.n_methods = sizeof METHODS / sizeof METHODS[0];
    }
    ttrpc_session *s = NULL;
    assert_int_equal(ttrpc_session_new(&cfg, &s), TTRPC_OK);
    return s;
}

static ttrpc_request make_request(const char *method, const char *payload)
{
    ttrpc_request r;
    memset(&r, 0, sizeof r);
    r.service = ttrpc_bytes_of(SVC);
    r.method = ttrpc_bytes_of(method);
    if (payload != NULL) {
        r.has_payload = true;
        r.payload = ttrpc_bytes_of(payload);
    }
    return r;
}

/* Writes one raw frame whose data is an encoded Request. */
static size_t raw_request(uint8_t *out, size_t cap, uint32_t id, uint8_t flags,
                          const ttrpc_request *r)
{
    size_t len = 0;
    assert_int_equal(ttrpc_request_encode(r, out + 10, cap - 10, &len), TTRPC_OK);
    ttrpc_frame_header h = {(uint32_t)len, id, TTRPC_TYPE_REQUEST, flags};
    ttrpc_frame_header_write(&h, out);
    return len + 10;
}

static size_t raw_frame(uint8_t *out, size_t cap, uint32_t id, uint8_t type, uint8_t flags,
                        const void *data, size_t len)
{
    size_t written = 0;
    ttrpc_frame_header h = {(uint32_t)len, id, type, flags};
    assert_int_equal(ttrpc_frame_encode(&h, data, out, cap, &written), TTRPC_OK);
    return written;
}

/* Server answers an error on a raw frame sequence: returns the decoded status code of the
 * Response on `id` found in the server's output (-1 when none). */
static int32_t response_code_for(ttrpc_session *server, uint32_t id)
{
    ttrpc_session *probe = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    uint8_t buf[4096];
    size_t len = take_output(server, buf, sizeof buf);
    int32_t code = -1;
    size_t off = 0;
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    while (off + 10 <= len) {
        ttrpc_frame_header h;
        ttrpc_frame_header_read(buf + off, &h);
        assert_true(off + 10 + h.length <= len);
        if (h.type == TTRPC_TYPE_RESPONSE && h.stream_id == id) {
            ttrpc_response resp;
            assert_int_equal(ttrpc_response_decode(buf + off + 10, h.length, &arena, &resp),
                             TTRPC_OK);
            code = resp.has_status ? resp.status.code : 0;
        }
        off += 10 + h.length;
    }
    assert_int_equal(off, len);
    ttrpc_msg_arena_reset(&arena);
    ttrpc_session_free(probe);
    return code;
}

static void test_session_new_rejects_bad_config(void **state)
{
    (void)state;
    ttrpc_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ttrpc_session *s = NULL;
    cfg.role = (ttrpc_role)7;
    assert_int_equal(ttrpc_session_new(&cfg, &s), TTRPC_E_INVAL);
    cfg.role = TTRPC_ROLE_SERVER;
    cfg.max_data = TTRPC_FRAME_MAX_DATA + 1;
    assert_int_equal(ttrpc_session_new(&cfg, &s), TTRPC_E_INVAL);
    cfg.max_data = 0;
    cfg.n_methods = 3; /* without a table */
    assert_int_equal(ttrpc_session_new(&cfg, &s), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_session_new(NULL, &s), TTRPC_E_INVAL);
}

static void test_session_call_unary_round_trip(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    ttrpc_kv md[2] = {{ttrpc_bytes_of("k"), ttrpc_bytes_of("v1")},
                      {ttrpc_bytes_of("k"), ttrpc_bytes_of("v2")}};
    ttrpc_request req = make_request("Echo", "\x0a\x02hi");
    req.metadata = md;
    req.n_metadata = 2;
    req.timeout_nano = 1000000;
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
    assert_int_equal(id, 1);
    assert_int_equal(ttrpc_session_stream_state(c, 1), TTRPC_STREAM_UNARY);
    seen_list at_server = {0};
    pump(c, s, &at_server);
    assert_int_equal(at_server.n, 1);
    assert_int_equal(at_server.ev[0].kind, TTRPC_EVENT_REQUEST);
    assert_int_equal(at_server.ev[0].method_index, 0);
    assert_int_equal(at_server.ev[0].n_metadata, 2);
    assert_true(at_server.ev[0].first_message);
    assert_memory_equal(at_server.ev[0].data, "\x0a\x02hi", 4);
    assert_int_equal(ttrpc_session_stream_state(s, 1), TTRPC_STREAM_UNARY);

    ttrpc_response resp;
    memset(&resp, 0, sizeof resp);
    resp.payload = ttrpc_bytes_of("\x0a\x02hi");
    assert_int_equal(ttrpc_session_send_response(s, 1, &resp), TTRPC_OK);
    assert_int_equal(ttrpc_session_stream_state(s, 1), TTRPC_STREAM_IDLE);
    seen_list at_client = {0};
    pump(s, c, &at_client);
    assert_int_equal(at_client.n, 1);
    assert_int_equal(at_client.ev[0].kind, TTRPC_EVENT_RESPONSE);
    assert_false(at_client.ev[0].has_status);
    assert_int_equal(at_client.ev[0].len, 4);
    assert_int_equal(ttrpc_session_get_stats(c).live_streams, 0);
    assert_int_equal(ttrpc_session_get_stats(s).live_streams, 0);
    ttrpc_session_free(c);
    ttrpc_session_free(s);
}

/* notes 2.1: the unary echo Request and the Go-style OK and error Responses, byte for byte. */
static void test_session_call_unary_exact_bytes(void **state)
{
    (void)state;
    static const uint8_t want_req[] = {
        0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x0a, 0x09, 'c', 'o', 'n',
        'f',  '.',  'E',  'c',  'h',  'o',  0x12, 0x04, 'E',  'c',  'h',  'o',  0x1a, 0x04, 0x0a,
        0x02, 'h',  'i'};
    static const uint8_t want_ok[] = {0, 0, 0, 6, 0, 0, 0, 1, 2, 0, 0x12, 0x04, 0x0a, 0x02, 'h', 'i'};
    static const uint8_t want_err[] = {0, 0, 0, 7, 0, 0, 0, 3, 2, 0, 0x0a, 0x05, 0x08, 0x0c, 0x12, 0x01, 'x'};
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_request req = make_request("Echo", "\x0a\x02hi");
    req.service = ttrpc_bytes_of("conf.Echo");
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
    uint8_t buf[128];
    size_t n = take_output(c, buf, sizeof buf);
    assert_int_equal(n, sizeof want_req);
    assert_memory_equal(buf, want_req, n);

    ttrpc_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = TTRPC_ROLE_SERVER; /* no routing table: the application routes */
    ttrpc_session *s = NULL;
    assert_int_equal(ttrpc_session_new(&cfg, &s), TTRPC_OK);
    seen_list seen = {0};
    feed_bytes(s, want_req, sizeof want_req, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ev[0].method_index, SIZE_MAX);
    ttrpc_response resp;
    memset(&resp, 0, sizeof resp);
    resp.payload = ttrpc_bytes_of("\x0a\x02hi");
    assert_int_equal(ttrpc_session_send_response(s, 1, &resp), TTRPC_OK);
    n = take_output(s, buf, sizeof buf);
    assert_int_equal(n, sizeof want_ok);
    assert_memory_equal(buf, want_ok, n);

    uint8_t req3[128];
    size_t len3 = raw_request(req3, sizeof req3, 3, 0, &req);
    feed_bytes(s, req3, len3, &seen);
    assert_int_equal(ttrpc_session_send_status(s, 3, TTRPC_CODE_UNIMPLEMENTED, "x"), TTRPC_OK);
    n = take_output(s, buf, sizeof buf);
    assert_int_equal(n, sizeof want_err);
    assert_memory_equal(buf, want_err, n);
    ttrpc_session_free(c);
    ttrpc_session_free(s);
}

static void test_session_call_ids_odd_increasing(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_request req = make_request("Echo", NULL);
    for (uint32_t want = 1; want < 20; want += 2) {
        uint32_t id = 0;
        assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
        assert_int_equal(id, want);
    }
    assert_int_equal(ttrpc_session_get_stats(c).live_streams, 10);
    ttrpc_session_free(c);
}

/* Server-side id rules: each raw Request is answered with the code in the table. */
typedef struct id_case {
    uint32_t first;  /* 0: none */
    uint32_t second;
    int32_t code;    /* expected answer to `second`; 0 = served */
} id_case;

static void test_session_next_event_stream_id_rules(void **state)
{
    (void)state;
    static const id_case cases[] = {
        {0, 0, TTRPC_CODE_INVALID_ARGUMENT},          /* id 0 */
        {0, 2, TTRPC_CODE_INVALID_ARGUMENT},          /* even */
        {0, 0x80000000u, TTRPC_CODE_INVALID_ARGUMENT},
        {5, 5, TTRPC_CODE_INVALID_ARGUMENT},          /* reuse of a live id */
        {5, 3, TTRPC_CODE_INVALID_ARGUMENT},          /* decreasing */
        {1, 3, 0},                                    /* increasing: served */
        {1, 0xffffffffu, 0},                          /* the largest id is served */
        {0xffffffffu, 0xffffffffu, TTRPC_CODE_INVALID_ARGUMENT}, /* and nothing after it */
        {0, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
        ttrpc_request req = make_request("Echo", "");
        uint8_t buf[256];
        seen_list seen = {0};
        if (cases[i].first != 0) {
            size_t n = raw_request(buf, sizeof buf, cases[i].first, 0, &req);
            feed_bytes(s, buf, n, &seen);
            assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_REQUEST);
            uint8_t sink[256];
            (void)take_output(s, sink, sizeof sink);
        }
        seen.n = 0;
        size_t n = raw_request(buf, sizeof buf, cases[i].second, 0, &req);
        feed_bytes(s, buf, n, &seen);
        assert_int_equal(seen.n, 1);
        if (cases[i].code == 0) {
            assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_REQUEST);
            assert_int_equal(response_code_for(s, cases[i].second), -1);
        } else {
            assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_STREAM_ERROR);
            assert_int_equal(seen.ev[0].code, cases[i].code);
            assert_int_equal(response_code_for(s, cases[i].second), cases[i].code);
        }
        ttrpc_session_free(s);
    }
}

static void expect_request_rejected(const ttrpc_request *req, uint8_t flags, int32_t code)
{
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    uint8_t buf[512];
    size_t n = raw_request(buf, sizeof buf, 1, flags, req);
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_STREAM_ERROR);
    assert_false(seen.ev[0].was_live);
    assert_int_equal(response_code_for(s, 1), code);
    assert_int_equal(ttrpc_session_get_stats(s).live_streams, 0);
    ttrpc_session_free(s);
}

static void test_session_next_event_unknown_service(void **state)
{
    (void)state;
    ttrpc_request req = make_request("Echo", "");
    req.service = ttrpc_bytes_of("no.such.Service");
    expect_request_rejected(&req, 0, TTRPC_CODE_UNIMPLEMENTED);
}

static void test_session_next_event_unknown_method(void **state)
{
    (void)state;
    ttrpc_request req = make_request("echo", ""); /* lookup is case-sensitive */
    expect_request_rejected(&req, 0, TTRPC_CODE_UNIMPLEMENTED);
}

static void test_session_next_event_contradictory_flags(void **state)
{
    (void)state;
    ttrpc_request req = make_request("BidiStream", NULL);
    expect_request_rejected(&req, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_REMOTE_OPEN,
                            TTRPC_CODE_INVALID_ARGUMENT);
}

static void test_session_next_event_unary_flags_streaming_method(void **state)
{
    (void)state;
    ttrpc_request req = make_request("ServerStream", "");
    expect_request_rejected(&req, 0, TTRPC_CODE_INVALID_ARGUMENT);
}

static void test_session_next_event_undecodable_request(void **state)
{
    (void)state;
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    static const uint8_t junk[] = {0x0a, 0x7f, 0x01}; /* field 1 claims 127 bytes */
    uint8_t buf[64];
    size_t n = raw_frame(buf, sizeof buf, 1, TTRPC_TYPE_REQUEST, 0, junk, sizeof junk);
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ev[0].err, TTRPC_E_DECODE);
    assert_int_equal(response_code_for(s, 1), TTRPC_CODE_INVALID_ARGUMENT);
    ttrpc_session_free(s);
}

/* A zero-length Request decodes as all defaults: empty service, hence UNIMPLEMENTED (Go). */
static void test_session_next_event_zero_length_request(void **state)
{
    (void)state;
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    uint8_t buf[16];
    size_t n = raw_frame(buf, sizeof buf, 1, TTRPC_TYPE_REQUEST, 0, NULL, 0);
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    assert_int_equal(response_code_for(s, 1), TTRPC_CODE_UNIMPLEMENTED);
    ttrpc_session_free(s);
}

/* An oversized frame is answered on its id and the connection keeps serving. */
static void test_session_next_event_oversize_then_served(void **state)
{
    (void)state;
    ttrpc_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = TTRPC_ROLE_SERVER;
    cfg.max_data = 64;
    cfg.methods = METHODS;
    cfg.n_methods = 4;
    ttrpc_session *s = NULL;
    assert_int_equal(ttrpc_session_new(&cfg, &s), TTRPC_OK);
    uint8_t buf[512];
    uint8_t zeros[65] = {0};
    size_t n = raw_frame(buf, sizeof buf, 1, TTRPC_TYPE_REQUEST, 0, zeros, sizeof zeros);
    ttrpc_request req = make_request("Echo", "ping");
    n += raw_request(buf + n, sizeof buf - n, 3, 0, &req);
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_STREAM_ERROR);
    assert_int_equal(seen.ev[0].err, TTRPC_E_TOO_LARGE);
    assert_int_equal(seen.ev[1].kind, TTRPC_EVENT_REQUEST);
    assert_int_equal(seen.ev[1].id, 3);
    assert_int_equal(response_code_for(s, 1), TTRPC_CODE_RESOURCE_EXHAUSTED);
    ttrpc_session_free(s);
}

static void test_session_next_event_max_streams(void **state)
{
    (void)state;
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 2, 0);
    ttrpc_request req = make_request("Echo", "");
    uint8_t buf[512];
    size_t n = 0;
    for (uint32_t id = 1; id <= 5; id += 2) {
        n += raw_request(buf + n, sizeof buf - n, id, 0, &req);
    }
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.ev[2].kind, TTRPC_EVENT_STREAM_ERROR);
    assert_int_equal(seen.ev[2].err, TTRPC_E_LIMIT);
    assert_int_equal(response_code_for(s, 5), TTRPC_CODE_RESOURCE_EXHAUSTED);
    ttrpc_session_free(s);
}

static void test_session_call_server_stream(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    ttrpc_request req = make_request("ServerStream", "\x08\x03");
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_SERVER_STREAM, &id), TTRPC_OK);
    seen_list at_server = {0};
    pump(c, s, &at_server);
    assert_int_equal(at_server.ev[0].kind, TTRPC_EVENT_REQUEST);
    assert_int_equal(at_server.ev[0].flags, TTRPC_FLAG_REMOTE_CLOSED);
    assert_true(at_server.ev[0].first_message);
    assert_int_equal(ttrpc_session_stream_state(s, id), TTRPC_STREAM_REMOTE_CLOSED);
    assert_int_equal(ttrpc_session_stream_state(c, id), TTRPC_STREAM_LOCAL_CLOSED);
    for (int i = 0; i < 3; i++) {
        uint8_t msg[2] = {0x08, (uint8_t)i};
        assert_int_equal(ttrpc_session_send_data(s, id, msg, sizeof msg, false), TTRPC_OK);
    }
    assert_int_equal(ttrpc_session_send_close(s, id), TTRPC_OK);
    assert_int_equal(ttrpc_session_stream_state(s, id), TTRPC_STREAM_IDLE);
    seen_list at_client = {0};
    pump(s, c, &at_client);
    assert_int_equal(at_client.n, 4);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(at_client.ev[i].kind, TTRPC_EVENT_DATA);
        assert_int_equal(at_client.ev[i].data[1], i);
        assert_false(at_client.ev[i].last);
    }
    assert_int_equal(at_client.ev[3].kind, TTRPC_EVENT_REMOTE_CLOSED);
    assert_int_equal(ttrpc_session_get_stats(c).live_streams, 0);
    ttrpc_session_free(c);
    ttrpc_session_free(s);
}

static void test_session_call_client_stream(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    ttrpc_request req = make_request("ClientStream", NULL);
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_CLIENT_STREAM, &id), TTRPC_OK);
    assert_int_equal(ttrpc_session_send_data(c, id, (const uint8_t *)"\x08\x01", 2, false), TTRPC_OK);
    assert_int_equal(ttrpc_session_send_data(c, id, (const uint8_t *)"\x08\x02", 2, false), TTRPC_OK);
    assert_int_equal(ttrpc_session_send_close(c, id), TTRPC_OK);
    assert_int_equal(ttrpc_session_stream_state(c, id), TTRPC_STREAM_LOCAL_CLOSED);
    seen_list at_server = {0};
    pump(c, s, &at_server);
    assert_int_equal(at_server.n, 4);
    assert_int_equal(at_server.ev[0].flags, TTRPC_FLAG_REMOTE_OPEN | TTRPC_FLAG_NO_DATA);
    assert_false(at_server.ev[0].first_message);
    assert_int_equal(at_server.ev[1].kind, TTRPC_EVENT_DATA);
    assert_int_equal(at_server.ev[2].kind, TTRPC_EVENT_DATA);
    assert_int_equal(at_server.ev[3].kind, TTRPC_EVENT_REMOTE_CLOSED);
    assert_int_equal(ttrpc_session_stream_state(s, id), TTRPC_STREAM_REMOTE_CLOSED);
    assert_int_equal(ttrpc_session_send_status(s, id, TTRPC_CODE_OK, NULL), TTRPC_OK);
    seen_list at_client = {0};
    pump(s, c, &at_client);
    assert_int_equal(at_client.n, 1);
    assert_int_equal(at_client.ev[0].kind, TTRPC_EVENT_RESPONSE);
    assert_int_equal(at_client.ev[0].code, 0);
    ttrpc_session_free(c);
    ttrpc_session_free(s);
}

static void test_session_call_bidi_interleaved(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    ttrpc_request req = make_request("BidiStream", NULL);
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_BIDI, &id), TTRPC_OK);
    seen_list at_server = {0};
    pump(c, s, &at_server);
    for (int i = 0; i < 5; i++) {
        uint8_t msg[1] = {(uint8_t)('a' + i)};
        assert_int_equal(ttrpc_session_send_data(c, id, msg, 1, false), TTRPC_OK);
        at_server.n = 0;
        pump(c, s, &at_server);
        assert_int_equal(at_server.n, 1);
        assert_int_equal(at_server.ev[0].data[0], 'a' + i);
        assert_int_equal(ttrpc_session_send_data(s, id, msg, 1, false), TTRPC_OK);
        seen_list at_client = {0};
        pump(s, c, &at_client);
        assert_int_equal(at_client.n, 1);
        assert_int_equal(at_client.ev[0].data[0], 'a' + i);
    }
    assert_int_equal(ttrpc_session_send_close(c, id), TTRPC_OK);
    at_server.n = 0;
    pump(c, s, &at_server);
    assert_int_equal(at_server.ev[0].kind, TTRPC_EVENT_REMOTE_CLOSED);
    assert_int_equal(ttrpc_session_send_close(s, id), TTRPC_OK);
    seen_list at_client = {0};
    pump(s, c, &at_client);
    assert_int_equal(at_client.ev[0].kind, TTRPC_EVENT_REMOTE_CLOSED);
    assert_int_equal(ttrpc_session_get_stats(c).live_streams, 0);
    assert_int_equal(ttrpc_session_get_stats(s).live_streams, 0);
    ttrpc_session_free(c);
    ttrpc_session_free(s);
}

/* notes 2.3: a Go client opens a client stream with RO and no payload field (no first
 * message); a Request that carries the field, even empty, delivers it. */
static void test_session_next_event_first_message_rules(void **state)
{
    (void)state;
    struct {
        const char *method;
        uint8_t flags;
        const char *payload;
        bool first;
    } cases[] = {
        {"ClientStream", TTRPC_FLAG_REMOTE_OPEN, NULL, false},
        {"ClientStream", TTRPC_FLAG_REMOTE_OPEN, "", true},
        {"ClientStream", TTRPC_FLAG_REMOTE_OPEN | TTRPC_FLAG_NO_DATA, "", false},
        {"BidiStream", TTRPC_FLAG_REMOTE_OPEN, NULL, false},
        {"ServerStream", TTRPC_FLAG_REMOTE_CLOSED, NULL, true},
        {"ServerStream", TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA, "", false},
        {"Echo", TTRPC_FLAG_NO_DATA, NULL, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
        ttrpc_request req = make_request(cases[i].method, cases[i].payload);
        uint8_t buf[256];
        size_t n = raw_request(buf, sizeof buf, 1, cases[i].flags, &req);
        seen_list seen = {0};
        feed_bytes(s, buf, n, &seen);
        assert_int_equal(seen.n, 1);
        assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_REQUEST);
        assert_int_equal(seen.ev[0].first_message, cases[i].first);
        ttrpc_session_free(s);
    }
}

/* Server-side Data violations, each answered with INVALID_ARGUMENT on its id. */
static void test_session_next_event_data_violations(void **state)
{
    (void)state;
    struct {
        const char *method; /* NULL: no Request first */
        uint8_t req_flags;
        uint8_t data_flags;
        bool was_live;
    } cases[] = {
        {NULL, 0, 0, false},                                      /* no such stream */
        {"Echo", 0, 0, true},                                     /* Data on a unary stream */
        {"ServerStream", TTRPC_FLAG_REMOTE_CLOSED, 0, true},      /* Data after the client's RC */
        {"ServerStream", TTRPC_FLAG_REMOTE_CLOSED,
         TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
        uint8_t buf[256];
        size_t n = 0;
        if (cases[i].method != NULL) {
            ttrpc_request req = make_request(cases[i].method, "");
            n = raw_request(buf, sizeof buf, 1, cases[i].req_flags, &req);
        }
        n += raw_frame(buf + n, sizeof buf - n, 1, TTRPC_TYPE_DATA, cases[i].data_flags, "x",
                       (cases[i].data_flags & TTRPC_FLAG_NO_DATA) ? 0 : 1);
        seen_list seen = {0};
        feed_bytes(s, buf, n, &seen);
        seen_event *last = &seen.ev[seen.n - 1];
        assert_int_equal(last->kind, TTRPC_EVENT_STREAM_ERROR);
        assert_int_equal(last->was_live, cases[i].was_live);
        assert_int_equal(response_code_for(s, 1), TTRPC_CODE_INVALID_ARGUMENT);
        assert_int_equal(ttrpc_session_get_stats(s).live_streams, 0);
        ttrpc_session_free(s);
    }
}

/* Responses and unknown types sent to a server are ignored; the connection keeps serving. */
static void test_session_next_event_server_ignores_stray(void **state)
{
    (void)state;
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    uint8_t buf[512];
    size_t n = 0;
    for (unsigned type = 0; type < 16; type++) {
        if (type == TTRPC_TYPE_REQUEST || type == TTRPC_TYPE_DATA) {
            continue;
        }
        n += raw_frame(buf + n, sizeof buf - n, 1, (uint8_t)type, 0xff, "zz", 2);
    }
    ttrpc_request req = make_request("Echo", "");
    n += raw_request(buf + n, sizeof buf - n, 1, 0, &req);
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_REQUEST);
    assert_int_equal(ttrpc_session_get_stats(s).ignored, 14);
    uint8_t out[64];
    assert_int_equal(take_output(s, out, sizeof out), 0);
    ttrpc_session_free(s);
}

/* Zero-length Data without NO_DATA is an empty message and is delivered; NO_DATA drops any
 * bytes that came with it. */
static void test_session_next_event_empty_data_and_no_data(void **state)
{
    (void)state;
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    ttrpc_request req = make_request("ClientStream", NULL);
    uint8_t buf[256];
    size_t n = raw_request(buf, sizeof buf, 1, TTRPC_FLAG_REMOTE_OPEN, &req);
    n += raw_frame(buf + n, sizeof buf - n, 1, TTRPC_TYPE_DATA, 0, NULL, 0);
    n += raw_frame(buf + n, sizeof buf - n, 1, TTRPC_TYPE_DATA, TTRPC_FLAG_NO_DATA, "junk", 4);
    n += raw_frame(buf + n, sizeof buf - n, 1, TTRPC_TYPE_DATA, TTRPC_FLAG_REMOTE_CLOSED, "\x08\x01", 2);
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.ev[1].kind, TTRPC_EVENT_DATA);
    assert_int_equal(seen.ev[1].len, 0);
    assert_int_equal(seen.ev[2].kind, TTRPC_EVENT_DATA);
    assert_true(seen.ev[2].last);
    assert_int_equal(ttrpc_session_stream_state(s, 1), TTRPC_STREAM_REMOTE_CLOSED);
    ttrpc_session_free(s);
}

/* Client-side: what a hostile server can send to a pending unary call. */
static void client_expect(uint8_t type, uint8_t flags, const void *data, size_t len,
                          ttrpc_event_kind kind, ttrpc_err err)
{
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_request req = make_request("Echo", "");
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
    uint8_t sink[256];
    (void)take_output(c, sink, sizeof sink);
    uint8_t buf[256];
    size_t n = raw_frame(buf, sizeof buf, id, type, flags, data, len);
    seen_list seen = {0};
    feed_bytes(c, buf, n, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ev[0].kind, kind);
    if (kind == TTRPC_EVENT_STREAM_ERROR) {
        assert_int_equal(seen.ev[0].err, err);
    }
    assert_int_equal(ttrpc_session_get_stats(c).live_streams, 0);
    ttrpc_session_free(c);
}

static void test_session_next_event_client_data_on_unary(void **state)
{
    (void)state;
    client_expect(TTRPC_TYPE_DATA, 0, "x", 1, TTRPC_EVENT_STREAM_ERROR, TTRPC_E_PROTO);
}

static void test_session_next_event_client_unknown_type(void **state)
{
    (void)state;
    client_expect(0x07, 0, "x", 1, TTRPC_EVENT_STREAM_ERROR, TTRPC_E_PROTO);
}

static void test_session_next_event_client_undecodable_response(void **state)
{
    (void)state;
    client_expect(TTRPC_TYPE_RESPONSE, 0, "\x0a\x09", 2, TTRPC_EVENT_STREAM_ERROR, TTRPC_E_DECODE);
}

/* notes 2.1: status absent, "code 0" and a zero-length Response all mean success. */
static void test_session_next_event_client_success_forms(void **state)
{
    (void)state;
    client_expect(TTRPC_TYPE_RESPONSE, 0, NULL, 0, TTRPC_EVENT_RESPONSE, TTRPC_OK);
    client_expect(TTRPC_TYPE_RESPONSE, 0, "\x0a\x00", 2, TTRPC_EVENT_RESPONSE, TTRPC_OK);
    client_expect(TTRPC_TYPE_RESPONSE, 0xff, "\x0a\x02\x08\x00", 4, TTRPC_EVENT_RESPONSE, TTRPC_OK);
}

static void test_session_next_event_client_stray_frames_ignored(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_request req = make_request("Echo", "");
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
    uint8_t buf[256];
    size_t n = 0;
    n += raw_frame(buf + n, sizeof buf - n, 9, TTRPC_TYPE_RESPONSE, 0, NULL, 0); /* no call */
    n += raw_frame(buf + n, sizeof buf - n, 2, TTRPC_TYPE_DATA, 0, "x", 1);
    n += raw_frame(buf + n, sizeof buf - n, id, TTRPC_TYPE_RESPONSE, 0, NULL, 0);
    n += raw_frame(buf + n, sizeof buf - n, id, TTRPC_TYPE_RESPONSE, 0, NULL, 0); /* second */
    n += raw_frame(buf + n, sizeof buf - n, id, TTRPC_TYPE_DATA, 0, "x", 1);      /* late */
    seen_list seen = {0};
    feed_bytes(c, buf, n, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_RESPONSE);
    assert_int_equal(ttrpc_session_get_stats(c).ignored, 4);
    ttrpc_session_free(c);
}

static void test_session_next_event_client_oversize_fails_call(void **state)
{
    (void)state;
    ttrpc_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.role = TTRPC_ROLE_CLIENT;
    cfg.max_data = 8;
    ttrpc_session *c = NULL;
    assert_int_equal(ttrpc_session_new(&cfg, &c), TTRPC_OK);
    ttrpc_request req = make_request("E", NULL);
    req.service = ttrpc_bytes_of("S");
    uint32_t a = 0, b = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &a), TTRPC_OK);
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &b), TTRPC_OK);
    uint8_t buf[64] = {0};
    size_t n = raw_frame(buf, sizeof buf, a, TTRPC_TYPE_RESPONSE, 0, buf + 40, 9);
    n += raw_frame(buf + n, sizeof buf - n, b, TTRPC_TYPE_RESPONSE, 0, NULL, 0);
    seen_list seen = {0};
    feed_bytes(c, buf, n, &seen);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_STREAM_ERROR);
    assert_int_equal(seen.ev[0].err, TTRPC_E_TOO_LARGE);
    assert_int_equal(seen.ev[1].kind, TTRPC_EVENT_RESPONSE);
    assert_int_equal(seen.ev[1].id, b);
    /* A too-large Request is refused locally and leaves no stream behind. */
    req.payload = ttrpc_bytes_of("0123456789");
    req.has_payload = true;
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id), TTRPC_E_TOO_LARGE);
    assert_int_equal(ttrpc_session_get_stats(c).live_streams, 0);
    ttrpc_session_free(c);
}

static void test_session_send_misuse_refused(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    ttrpc_request req = make_request("Echo", "");
    uint32_t id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
    assert_int_equal(ttrpc_session_send_data(c, id, (const uint8_t *)"x", 1, false), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_session_send_close(c, id), TTRPC_E_INVAL);
    ttrpc_response resp;
    memset(&resp, 0, sizeof resp);
    assert_int_equal(ttrpc_session_send_response(c, id, &resp), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_session_send_data(c, 99, (const uint8_t *)"x", 1, false), TTRPC_E_NOT_FOUND);
    assert_int_equal(ttrpc_session_call(s, &req, TTRPC_METHOD_UNARY, &id), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_session_call(c, &req, (ttrpc_method_kind)9, &id), TTRPC_E_INVAL);
    seen_list seen = {0};
    pump(c, s, &seen);
    assert_int_equal(ttrpc_session_send_data(s, 1, (const uint8_t *)"x", 1, false), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_session_send_status(s, 1, 0, NULL), TTRPC_OK);
    assert_int_equal(ttrpc_session_send_status(s, 1, 0, NULL), TTRPC_E_NOT_FOUND);
    assert_int_equal(ttrpc_session_abandon(s, 1), TTRPC_E_NOT_FOUND);
    ttrpc_session_free(c);
    ttrpc_session_free(s);
}

static void test_session_close_reports_live_streams(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 0, 0);
    ttrpc_request req = make_request("Echo", "");
    int marker[3];
    for (int i = 0; i < 3; i++) {
        uint32_t id = 0;
        assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
        assert_int_equal(ttrpc_session_set_user(c, id, &marker[i]), TTRPC_OK);
    }
    uint8_t partial[3] = {0, 0, 0};
    size_t used = 0;
    assert_int_equal(ttrpc_session_feed(c, partial, sizeof partial, &used), TTRPC_OK);
    bool truncated = false;
    ttrpc_session_close(c, &truncated);
    assert_true(truncated);
    int seen_mask = 0;
    ttrpc_event ev;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ttrpc_session_next_event(c, &ev), TTRPC_OK);
        assert_int_equal(ev.kind, TTRPC_EVENT_STREAM_ERROR);
        assert_int_equal(ev.err, TTRPC_E_CLOSED);
        seen_mask |= 1 << ((int *)ev.user - marker);
    }
    assert_int_equal(seen_mask, 7);
    assert_int_equal(ttrpc_session_next_event(c, &ev), TTRPC_E_CLOSED);
    assert_int_equal(ttrpc_session_feed(c, partial, 1, &used), TTRPC_E_CLOSED);
    uint32_t unused_id = 0;
    assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &unused_id), TTRPC_E_CLOSED);
    ttrpc_session_free(c);
}

/* A peer that does not read: input pauses and Data sends say AGAIN until output drains. */
static void test_session_feed_back_pressure(void **state)
{
    (void)state;
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 100);
    ttrpc_request req = make_request("ServerStream", "");
    uint8_t buf[256];
    size_t n = raw_request(buf, sizeof buf, 1, TTRPC_FLAG_REMOTE_CLOSED, &req);
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    uint8_t msg[60] = {0};
    assert_int_equal(ttrpc_session_send_data(s, 1, msg, sizeof msg, false), TTRPC_OK);
    assert_int_equal(ttrpc_session_send_data(s, 1, msg, sizeof msg, false), TTRPC_OK);
    assert_int_equal(ttrpc_session_send_data(s, 1, msg, sizeof msg, false), TTRPC_E_AGAIN);
    assert_false(ttrpc_session_wants_input(s));
    ttrpc_request next = make_request("Echo", "");
    n = raw_request(buf, sizeof buf, 3, 0, &next);
    size_t used = 99;
    assert_int_equal(ttrpc_session_feed(s, buf, n, &used), TTRPC_OK);
    assert_int_equal(used, 0);
    uint8_t out[512];
    (void)take_output(s, out, sizeof out);
    assert_true(ttrpc_session_wants_input(s));
    assert_int_equal(ttrpc_session_send_data(s, 1, msg, sizeof msg, false), TTRPC_OK);
    ttrpc_session_free(s);
}

/* A header announcing 4 MiB costs the session nothing until the bytes come. */
static void test_session_memory_bounded_by_received(void **state)
{
    (void)state;
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    size_t before = ttrpc_session_memory(s);
    uint8_t hdr[10];
    ttrpc_frame_header h = {TTRPC_FRAME_MAX_DATA, 1, TTRPC_TYPE_REQUEST, 0};
    ttrpc_frame_header_write(&h, hdr);
    seen_list seen = {0};
    feed_bytes(s, hdr, sizeof hdr, &seen);
    uint8_t chunk[100] = {0};
    feed_bytes(s, chunk, sizeof chunk, &seen);
    assert_int_equal(seen.n, 0);
    assert_true(ttrpc_session_memory(s) <= before + 256);
    ttrpc_session_free(s);
}

/* Feeds one whole Request frame and expects exactly that Request, payload_len bytes long. */
static void feed_one_request(ttrpc_session *s, const uint8_t *in, size_t len, size_t payload_len)
{
    size_t used = 0;
    assert_int_equal(ttrpc_session_feed(s, in, len, &used), TTRPC_OK);
    assert_int_equal(used, len);
    ttrpc_event ev;
    assert_int_equal(ttrpc_session_next_event(s, &ev), TTRPC_OK);
    assert_int_equal(ev.kind, TTRPC_EVENT_REQUEST);
    assert_int_equal(ev.request->payload.len, payload_len);
    assert_int_equal(ttrpc_session_next_event(s, &ev), TTRPC_E_AGAIN);
}

/* Back-to-back large calls reuse the decoder store and the decode arena's spare block instead
 * of regrowing them; ttrpc_session_trim gives them back. */
static void test_session_trim_after_large_requests(void **state)
{
    (void)state;
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    size_t before = ttrpc_session_memory(s);
    size_t big = 300000;
    char *payload = malloc(big + 1);
    assert_non_null(payload);
    memset(payload, 'x', big);
    payload[big] = '\0';
    ttrpc_request req = make_request("Echo", payload);
    size_t cap = big + 4096;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = raw_request(buf, cap, 1, 0, &req);
    feed_one_request(s, buf, n, big);
    size_t first = ttrpc_session_memory(s);
    assert_true(first >= before + 2 * big); /* the frame's store and the decoded payload */
    n = raw_request(buf, cap, 3, 0, &req);
    feed_one_request(s, buf, n, big);
    size_t second = ttrpc_session_memory(s);
    /* Reused: the first payload's block became the spare the second decode took. */
    assert_true(second <= first + 4096);
    ttrpc_session_trim(s);
    size_t trimmed = ttrpc_session_memory(s);
    assert_true(trimmed + big <= second); /* the store went; the live decode stays */
    ttrpc_session_free(s);
    free(buf);
    free(payload);
}

/* notes 6: empty metadata entries cost 2 input bytes each but ~128 heap bytes decoded. A
 * decode may hold at most 16 times its input plus a fixed slack, so a flood is refused
 * with RESOURCE_EXHAUSTED while ordinary metadata is served. */
static void metadata_request(size_t entries, int32_t want_code)
{
    ttrpc_session *s = new_session(TTRPC_ROLE_SERVER, 0, 0);
    ttrpc_kv *md = calloc(entries, sizeof *md);
    assert_non_null(md);
    ttrpc_request req = make_request("Echo", "");
    req.metadata = md;
    req.n_metadata = entries;
    size_t cap = 64 + entries * 2;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = raw_request(buf, cap, 1, 0, &req);
    seen_list seen = {0};
    feed_bytes(s, buf, n, &seen);
    assert_int_equal(seen.n, 1);
    if (want_code == 0) {
        assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_REQUEST);
        assert_int_equal(seen.ev[0].n_metadata, entries);
    } else {
        assert_int_equal(seen.ev[0].kind, TTRPC_EVENT_STREAM_ERROR);
        assert_int_equal(response_code_for(s, 1), want_code);
    }
    assert_true(ttrpc_session_memory(s) < 16 * n + 512 * 1024);
    free(buf);
    free(md);
    ttrpc_session_free(s);
}

static void test_session_next_event_metadata_flood_refused(void **state)
{
    (void)state;
    metadata_request(1000, 0);
    metadata_request(2000, 0);
    metadata_request(100000, TTRPC_CODE_RESOURCE_EXHAUSTED);
}

/* Many concurrent streams, closed in a scrambled order: the stream table keeps every one. */
static void test_session_stream_table_many_streams(void **state)
{
    (void)state;
    ttrpc_session *c = new_session(TTRPC_ROLE_CLIENT, 4000, 0);
    ttrpc_request req = make_request("ServerStream", "");
    enum { N = 3000 };
    for (int i = 0; i < N; i++) {
        uint32_t id = 0;
        assert_int_equal(ttrpc_session_call(c, &req, TTRPC_METHOD_SERVER_STREAM, &id), TTRPC_OK);
    }
    uint8_t *sink = malloc(1 << 20);
    assert_non_null(sink);
    (void)take_output(c, sink, 1 << 20);
    free(sink);
    for (int step = 0; step < N; step++) {
        uint32_t id = (uint32_t)((step * 7919) % N) * 2 + 1;
        assert_int_equal(ttrpc_session_stream_state(c, id), TTRPC_STREAM_LOCAL_CLOSED);
        assert_int_equal(ttrpc_session_abandon(c, id), TTRPC_OK);
        assert_int_equal(ttrpc_session_stream_state(c, id), TTRPC_STREAM_IDLE);
        assert_int_equal(ttrpc_session_get_stats(c).live_streams, (uint32_t)(N - step - 1));
    }
    ttrpc_session_free(c);
}

/* Fail the N-th allocation for every N in a full unary exchange: errors, never leaks. */
typedef struct failing_alloc {
    int calls;
    int fail_at;
} failing_alloc;

static void *failing_resize(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    failing_alloc *f = ctx;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (++f->calls == f->fail_at) {
        return NULL;
    }
    return realloc(ptr, new_size);
}

static void test_session_alloc_failure_every_step(void **state)
{
    (void)state;
    for (int fail_at = 1; fail_at < 200; fail_at++) {
        failing_alloc fa = {0, fail_at};
        ttrpc_allocator a = {failing_resize, &fa};
        ttrpc_session_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.alloc = &a;
        cfg.role = TTRPC_ROLE_CLIENT;
        ttrpc_session *c = NULL, *s = NULL;
        if (ttrpc_session_new(&cfg, &c) != TTRPC_OK) {
            continue;
        }
        cfg.role = TTRPC_ROLE_SERVER;
        cfg.methods = METHODS;
        cfg.n_methods = 4;
        if (ttrpc_session_new(&cfg, &s) != TTRPC_OK) {
            ttrpc_session_free(c);
            continue;
        }
        ttrpc_request req = make_request("Echo", "hello");
        uint32_t id = 0;
        if (ttrpc_session_call(c, &req, TTRPC_METHOD_UNARY, &id) == TTRPC_OK) {
            const uint8_t *out;
            size_t len, used = 0;
            ttrpc_session_output(c, &out, &len);
            if (ttrpc_session_feed(s, out, len, &used) == TTRPC_OK) {
                ttrpc_event ev;
                ttrpc_err rc = ttrpc_session_next_event(s, &ev);
                assert_true(rc == TTRPC_OK || rc == TTRPC_E_NOMEM);
                if (rc == TTRPC_OK && ev.kind == TTRPC_EVENT_REQUEST) {
                    ttrpc_err sent = ttrpc_session_send_status(s, id, 0, NULL);
                    assert_true(sent == TTRPC_OK || sent == TTRPC_E_NOMEM);
                }
            }
        }
        ttrpc_session_free(c);
        ttrpc_session_free(s);
        if (fa.calls < fail_at) {
            break; /* every allocation succeeded: all failure points were visited */
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_new_rejects_bad_config),
        cmocka_unit_test(test_session_call_unary_round_trip),
        cmocka_unit_test(test_session_call_unary_exact_bytes),
        cmocka_unit_test(test_session_call_ids_odd_increasing),
        cmocka_unit_test(test_session_next_event_stream_id_rules),
        cmocka_unit_test(test_session_next_event_unknown_service),
        cmocka_unit_test(test_session_next_event_unknown_method),
        cmocka_unit_test(test_session_next_event_contradictory_flags),
        cmocka_unit_test(test_session_next_event_unary_flags_streaming_method),
        cmocka_unit_test(test_session_next_event_undecodable_request),
        cmocka_unit_test(test_session_next_event_zero_length_request),
        cmocka_unit_test(test_session_next_event_oversize_then_served),
        cmocka_unit_test(test_session_next_event_max_streams),
        cmocka_unit_test(test_session_call_server_stream),
        cmocka_unit_test(test_session_call_client_stream),
        cmocka_unit_test(test_session_call_bidi_interleaved),
        cmocka_unit_test(test_session_next_event_first_message_rules),
        cmocka_unit_test(test_session_next_event_data_violations),
        cmocka_unit_test(test_session_next_event_server_ignores_stray),
        cmocka_unit_test(test_session_next_event_empty_data_and_no_data),
        cmocka_unit_test(test_session_next_event_client_data_on_unary),
        cmocka_unit_test(test_session_next_event_client_unknown_type),
        cmocka_unit_test(test_session_next_event_client_undecodable_response),
        cmocka_unit_test(test_session_next_event_client_success_forms),
        cmocka_unit_test(test_session_next_event_client_stray_frames_ignored),
        cmocka_unit_test(test_session_next_event_client_oversize_fails_call),
        cmocka_unit_test(test_session_send_misuse_refused),
        cmocka_unit_test(test_session_close_reports_live_streams),
        cmocka_unit_test(test_session_feed_back_pressure),
        cmocka_unit_test(test_session_memory_bounded_by_received),
        cmocka_unit_test(test_session_trim_after_large_requests),
        cmocka_unit_test(test_session_next_event_metadata_flood_refused),
        cmocka_unit_test(test_session_stream_table_many_streams),
        cmocka_unit_test(test_session_alloc_failure_every_step),
    };
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
