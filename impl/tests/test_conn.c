#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

typedef struct tmp_dir {
    char dir[64];
    char path[108];
} tmp_dir;

static void tmp_make(tmp_dir *t)
{
    strcpy(t->dir, "/tmp/ttrpc-conn-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/s.sock", t->dir);
}

static void tmp_remove(tmp_dir *t)
{
    (void)unlink(t->path);
    assert_int_equal(rmdir(t->dir), 0);
}

/* sun_path holds 107 bytes and a NUL: 107 is the longest path, 108 is refused up front. */
static void test_conn_unix_listen_path_length_limit(void **state)
{
    (void)state;
    int fd = -1;
    char path[sizeof(((struct sockaddr_un *)NULL)->sun_path) + 1];
    memset(path, 'a', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    assert_int_equal(ttrpc_unix_listen(path, &fd), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_unix_connect(path, &fd), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_unix_listen("", &fd), TTRPC_E_INVAL);
    assert_int_equal(fd, -1);
}

/* A socket file whose listener died is replaced; the new listener accepts. */
static void test_conn_unix_listen_replaces_stale_socket(void **state)
{
    (void)state;
    tmp_dir t;
    tmp_make(&t);
    int old = -1;
    assert_int_equal(ttrpc_unix_listen(t.path, &old), TTRPC_OK);
    close(old); /* the file stays, nobody accepts */
    int fd = -1;
    assert_int_equal(ttrpc_unix_listen(t.path, &fd), TTRPC_OK);
    int c = -1;
    assert_int_equal(ttrpc_unix_connect(t.path, &c), TTRPC_OK);
    int a = -1;
    assert_int_equal(ttrpc_unix_accept(fd, &a), TTRPC_OK);
    int none = -1;
    assert_int_equal(ttrpc_unix_accept(fd, &none), TTRPC_E_AGAIN);
    close(a);
    close(c);
    close(fd);
    tmp_remove(&t);
}

/* A live listener is not stolen, and a regular file is not deleted: both are "in use". */
static void test_conn_unix_listen_in_use_untouched(void **state)
{
    (void)state;
    tmp_dir t;
    tmp_make(&t);
    int live = -1;
    assert_int_equal(ttrpc_unix_listen(t.path, &live), TTRPC_OK);
    int fd = -1;
    assert_int_equal(ttrpc_unix_listen(t.path, &fd), TTRPC_E_IO);
    assert_int_equal(errno, EADDRINUSE);
    int c = -1;
    assert_int_equal(ttrpc_unix_connect(t.path, &c), TTRPC_OK); /* still the old one's */
    close(c);
    close(live);
    assert_int_equal(unlink(t.path), 0);

    FILE *f = fopen(t.path, "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);
    assert_int_equal(ttrpc_unix_listen(t.path, &fd), TTRPC_E_IO);
    assert_int_equal(errno, EADDRINUSE);
    struct stat st;
    assert_int_equal(stat(t.path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 8);
    tmp_remove(&t);
}

static void test_conn_unix_check_listener_kinds(void **state)
{
    (void)state;
    tmp_dir t;
    tmp_make(&t);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(ttrpc_unix_check_listener(p[0]), TTRPC_E_INVAL);
    close(p[0]);
    close(p[1]);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(ttrpc_unix_check_listener(sv[0]), TTRPC_E_INVAL); /* connected */
    close(sv[0]);
    close(sv[1]);
    int dgram = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_int_equal(ttrpc_unix_check_listener(dgram), TTRPC_E_INVAL);
    close(dgram);
    int l = -1;
    assert_int_equal(ttrpc_unix_listen(t.path, &l), TTRPC_OK);
    assert_int_equal(ttrpc_unix_check_listener(l), TTRPC_OK);
    assert_true(fcntl(l, F_GETFL) & O_NONBLOCK);
    close(l);
    assert_int_equal(ttrpc_unix_check_listener(999), TTRPC_E_INVAL); /* not open */
    tmp_remove(&t);
}

static void test_conn_unix_peer_cred_is_ours(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid;
    uid_t uid;
    gid_t gid;
    assert_int_equal(ttrpc_unix_peer_cred(sv[0], &pid, &uid, &gid), TTRPC_OK);
    assert_int_equal(pid, getpid());
    assert_int_equal(uid, getuid());
    assert_int_equal(gid, getgid());
    close(sv[0]);
    close(sv[1]);
}

/* A conn over one end of a socketpair; the other end is the test's. */
typedef struct pair {
    ttrpc_conn c;
    int peer;
} pair;

static void pair_open(pair *p, ttrpc_role role, size_t max_output)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ttrpc_session_config cfg = {.role = role, .max_output = max_output};
    assert_int_equal(ttrpc_conn_init(&p->c, sv[0], &cfg), TTRPC_OK);
    assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    p->peer = sv[1];
}

static void pair_close(pair *p)
{
    ttrpc_conn_destroy(&p->c);
    if (p->peer >= 0) {
        close(p->peer);
    }
}

/* Input is buffered only while it waits for the session; EOF is TTRPC_E_CLOSED. */
static void test_conn_read_buffers_until_fed_then_eof(void **state)
{
    (void)state;
    pair p;
    pair_open(&p, TTRPC_ROLE_SERVER, 0);
    assert_int_equal(ttrpc_conn_read(&p.c), TTRPC_E_AGAIN);
    assert_false(ttrpc_conn_has_input(&p.c));
    size_t idle = ttrpc_conn_memory(&p.c);
    assert_int_equal(write(p.peer, "\0\0\0", 3), 3);
    assert_int_equal(ttrpc_conn_read(&p.c), TTRPC_OK);
    assert_true(ttrpc_conn_has_input(&p.c));
    assert_int_equal(ttrpc_conn_read(&p.c), TTRPC_E_INVAL); /* one buffer at a time */
    size_t taken = 0;
    assert_int_equal(ttrpc_conn_feed(&p.c, &taken), TTRPC_OK);
    assert_int_equal(taken, 3);
    assert_false(ttrpc_conn_has_input(&p.c));
    assert_true(ttrpc_conn_memory(&p.c) < idle + TTRPC_CONN_READ_CHUNK);
    close(p.peer);
    p.peer = -1;
    assert_int_equal(ttrpc_conn_read(&p.c), TTRPC_E_CLOSED);
    pair_close(&p);
}

/* A peer that hung up costs an error code, not a SIGPIPE. */
static void test_conn_flush_peer_gone_closed(void **state)
{
    (void)state;
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    pair p;
    pair_open(&p, TTRPC_ROLE_CLIENT, 0);
    ttrpc_request req = {.service = ttrpc_bytes_of("s"), .method = ttrpc_bytes_of("m")};
    uint32_t id;
    assert_int_equal(ttrpc_session_call(p.c.session, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
    assert_true(ttrpc_conn_output_pending(&p.c));
    close(p.peer);
    p.peer = -1;
    assert_int_equal(ttrpc_conn_flush(&p.c), TTRPC_E_CLOSED);
    pair_close(&p);
    signal(SIGPIPE, old);
}

/* More output than the socket holds: flush writes what fits (TTRPC_E_AGAIN), the rest goes
 * as the peer reads, and the peer gets every byte in order. */
static void test_conn_flush_partial_until_peer_reads(void **state)
{
    (void)state;
    pair p;
    pair_open(&p, TTRPC_ROLE_CLIENT, 0);
    size_t big = 3u * 1024 * 1024;
    uint8_t *payload = malloc(big);
    assert_non_null(payload);
    for (size_t i = 0; i < big; i++) {
        payload[i] = (uint8_t)(i * 7);
    }
    ttrpc_request req = {.service = ttrpc_bytes_of("s"), .method = ttrpc_bytes_of("m"),
                         .has_payload = true, .payload = {payload, big}};
    uint32_t id;
    assert_int_equal(ttrpc_session_call(p.c.session, &req, TTRPC_METHOD_UNARY, &id), TTRPC_OK);
    const uint8_t *out;
    size_t expected = 0;
    ttrpc_session_output(p.c.session, &out, &expected);
    assert_int_equal(ttrpc_conn_flush(&p.c), TTRPC_E_AGAIN);
    ttrpc_decoder dec;
    assert_int_equal(ttrpc_decoder_init(&dec, TTRPC_FRAME_MAX_DATA, NULL), TTRPC_OK);
    size_t got = 0;
    static uint8_t buf[65536];
    ttrpc_err flushed = TTRPC_E_AGAIN;
    while (got < expected) {
        flushed = ttrpc_conn_flush(&p.c);
        assert_true(flushed == TTRPC_OK || flushed == TTRPC_E_AGAIN);
        ssize_t n = read(p.peer, buf, sizeof buf);
        assert_true(n > 0);
        size_t used = 0;
        assert_int_equal(ttrpc_decoder_feed(&dec, buf, (size_t)n, &used), TTRPC_OK);
        assert_int_equal(used, (size_t)n);
        got += (size_t)n;
    }
    assert_int_equal(got, expected);
    assert_false(ttrpc_conn_output_pending(&p.c));
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&dec, &f), TTRPC_OK);
    assert_int_equal(f.hdr.stream_id, id);
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request back;
    assert_int_equal(ttrpc_request_decode(f.data, f.hdr.length, &arena, &back), TTRPC_OK);
    assert_int_equal(back.payload.len, big);
    assert_memory_equal(back.payload.data, payload, big);
    ttrpc_msg_arena_reset(&arena);
    ttrpc_decoder_free(&dec);
    free(payload);
    pair_close(&p);
}

/* When the session pauses input (its output is over max_output), bytes already read stay
 * buffered in the conn, and are fed once the output drains: nothing is lost. */
static void test_conn_feed_paused_input_kept(void **state)
{
    (void)state;
    enum { N = 40 };
    pair p;
    pair_open(&p, TTRPC_ROLE_SERVER, 64); /* no routing: the app answers; we never do */
    ttrpc_request req = {.service = ttrpc_bytes_of("svc"), .method = ttrpc_bytes_of("m")};
    uint8_t msg[64];
    size_t msg_len = 0;
    assert_int_equal(ttrpc_request_encode(&req, msg, sizeof msg, &msg_len), TTRPC_OK);
    uint8_t frames[N * 80];
    size_t len = 0;
    for (uint32_t i = 0; i < N; i++) {
        ttrpc_frame_header h = {.length = (uint32_t)msg_len, .stream_id = 2 * i + 1,
                                .type = TTRPC_TYPE_REQUEST};
        size_t w = 0;
        assert_int_equal(ttrpc_frame_encode(&h, msg, frames + len, sizeof frames - len, &w),
                         TTRPC_OK);
        len += w;
    }
    assert_int_equal(write(p.peer, frames, len), (ssize_t)len);
    assert_int_equal(ttrpc_conn_read(&p.c), TTRPC_OK);
    uint32_t requests = 0;
    bool paused_once = false;
    for (int guard = 0; guard < 10000 && requests < N; guard++) {
        size_t taken = 0;
        assert_int_equal(ttrpc_conn_feed(&p.c, &taken), TTRPC_OK);
        ttrpc_event ev;
        while (ttrpc_session_next_event(p.c.session, &ev) == TTRPC_OK) {
            assert_int_equal(ev.kind, TTRPC_EVENT_REQUEST);
            assert_int_equal(ev.stream_id, 2 * requests + 1);
            requests++;
            assert_int_equal(ttrpc_session_send_status(p.c.session, ev.stream_id, 12, "no"),
                             TTRPC_OK);
        }
        if (!ttrpc_session_wants_input(p.c.session)) {
            paused_once |= ttrpc_conn_has_input(&p.c);
            /* Drain: write to the socket, and the peer reads it all. */
            assert_int_equal(ttrpc_conn_flush(&p.c), TTRPC_OK);
            uint8_t sink[4096];
            while (recv(p.peer, sink, sizeof sink, MSG_DONTWAIT) > 0) {
            }
        }
    }
    assert_true(paused_once);
    assert_int_equal(requests, N);
    assert_false(ttrpc_conn_has_input(&p.c));
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_unix_listen_path_length_limit),
        cmocka_unit_test(test_conn_unix_listen_replaces_stale_socket),
        cmocka_unit_test(test_conn_unix_listen_in_use_untouched),
        cmocka_unit_test(test_conn_unix_check_listener_kinds),
        cmocka_unit_test(test_conn_unix_peer_cred_is_ours),
        cmocka_unit_test(test_conn_read_buffers_until_fed_then_eof),
        cmocka_unit_test(test_conn_flush_peer_gone_closed),
        cmocka_unit_test(test_conn_flush_partial_until_peer_reads),
        cmocka_unit_test(test_conn_feed_paused_input_kept),
    };
    return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}
