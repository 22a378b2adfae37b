/* The runner against a scripted fake server on a Unix socket (a thread): frames written in
 * any chunking arrive whole, answers are recorded and judged, a peer that hangs up or stays
 * silent ends the case as it should, and a missing server is harness trouble. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "runner.h"
#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

typedef enum fake_mode { FAKE_ECHO, FAKE_CLOSE, FAKE_SILENT } fake_mode;

typedef struct fake {
    int listen_fd;
    fake_mode mode;
    char path[108];
    uint32_t got_id;     /* the first frame's stream id */
    uint32_t got_len;
} fake;

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    int c = accept(f->listen_fd, NULL, NULL);
    if (c < 0) {
        return NULL;
    }
    uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
    if (read_full(c, hdr, sizeof hdr)) {
        ttrpc_frame_header h;
        ttrpc_frame_header_read(hdr, &h);
        f->got_id = h.stream_id;
        f->got_len = h.length;
        uint8_t *body = malloc(h.length + 1u);
        if (body != NULL && read_full(c, body, h.length) && f->mode == FAKE_ECHO) {
            ttrpc_response r = {.payload = {(const uint8_t *)"\x0a\x02hi", 4}};
            uint8_t out[64], frame[80];
            size_t n = 0, m = 0;
            if (ttrpc_response_encode(&r, out, sizeof out, &n) == TTRPC_OK) {
                ttrpc_frame_header rh = {(uint32_t)n, h.stream_id, TTRPC_TYPE_RESPONSE, 0};
                if (ttrpc_frame_encode(&rh, out, frame, sizeof frame, &m) == TTRPC_OK) {
                    (void)!write(c, frame, m);
                }
            }
        }
        free(body);
    }
    if (f->mode == FAKE_SILENT) {
        uint8_t sink[256];
        while (read(c, sink, sizeof sink) > 0) {
        }
    }
    close(c);
    return NULL;
}

static void fake_start(fake *f, fake_mode mode, pthread_t *t)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    snprintf(f->path, sizeof f->path, "/tmp/tc-runner-%d.sock", (int)getpid());
    unlink(f->path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, f->path);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->listen_fd, 4), 0);
    assert_int_equal(pthread_create(t, NULL, fake_main, f), 0);
}

static void fake_stop(fake *f, pthread_t t)
{
    pthread_join(t, NULL);
    close(f->listen_fd);
    unlink(f->path);
}

static void run_answer_judged(uint32_t chunk)
{
    /* The fake answers only once it has read a whole frame: none of it may be lost, whether
     * written at once or one byte per write. */
    tc_case c = {
        .id = "t/runner/echo",
        .script = {{.kind = TC_OP_REQUEST, .id = 5, .method = "Echo", .payload = TC_PL_BYTES,
                    .text = "hi", .chunk = chunk},
                   TC_END},
        .pass = TC_RESP_TEXT(5, "hi"),
        .timeout_ms = 2000,
    };
    fake f;
    pthread_t t;
    fake_start(&f, FAKE_ECHO, &t);
    tc_case_run r = {0};
    assert_int_equal(tc_run_case(&c, f.path, 1.0, &r), TTRPC_OK);
    fake_stop(&f, t);
    assert_int_equal(f.got_id, 5);
    assert_false(r.timed_out);
    assert_false(r.harness_error);
    assert_int_equal(r.obs.n_frames, 1);
    tc_case_judge(&c, &r);
    assert_true(r.pass);
    assert_non_null(strstr(tc_buf_str(&r.log), "< len=6 id=5 Response(0x02) flags=0x00 status=0"));
    tc_case_run_free(&r);
}

static void test_runner_run_case_answer_judged(void **state)
{
    (void)state;
    run_answer_judged(0);
    run_answer_judged(1);
}

static void test_runner_run_case_peer_closes(void **state)
{
    (void)state;
    tc_case c = {
        .id = "t/runner/closed",
        .script = {TC_ECHO(1, "x"), TC_END},
        .pass = TC_RESP_OK(1),
        TC_LENIENT(TC_CLOSED),
        .timeout_ms = 5000,
    };
    fake f;
    pthread_t t;
    fake_start(&f, FAKE_CLOSE, &t);
    tc_case_run r = {0};
    assert_int_equal(tc_run_case(&c, f.path, 1.0, &r), TTRPC_OK);
    fake_stop(&f, t);
    assert_true(r.obs.closed);
    assert_false(r.timed_out);
    assert_true(r.elapsed_ms < 4000);
    tc_case_judge(&c, &r);
    assert_false(r.pass);
    assert_true(r.lenient);
    tc_case_run_free(&r);
}

static void test_runner_run_case_deadline(void **state)
{
    (void)state;
    tc_case c = {
        .id = "t/runner/silent",
        .script = {TC_ECHO(1, "x"), TC_END},
        .pass = TC_RESP_OK(1),
        .timeout_ms = 100,
    };
    fake f;
    pthread_t t;
    fake_start(&f, FAKE_SILENT, &t);
    tc_case_run r = {0};
    assert_int_equal(tc_run_case(&c, f.path, 2.0, &r), TTRPC_OK); /* scaled to 200 ms */
    fake_stop(&f, t);
    assert_true(r.timed_out);
    assert_true(r.elapsed_ms >= 200);
    assert_int_equal(r.obs.n_frames, 0);
    tc_case_run_free(&r);
}

static void test_runner_run_case_no_server(void **state)
{
    (void)state;
    tc_case c = {.id = "t/runner/none", .script = {TC_ECHO(1, "x"), TC_END},
                 .pass = TC_RESP_OK(1)};
    tc_case_run r = {0};
    assert_int_equal(tc_run_case(&c, "/tmp/tc-runner-no-such.sock", 1.0, &r), TTRPC_E_IO);
    assert_true(r.harness_error);
    assert_non_null(strstr(r.error, "cannot connect"));
    tc_case_run_free(&r);
    assert_false(tc_probe_echo("/tmp/tc-runner-no-such.sock", 100));
}

static void test_runner_timeout_scaling(void **state)
{
    (void)state;
    tc_case c = {.timeout_ms = 0};
    assert_int_equal(tc_case_timeout_ms(&c, 1.0), TC_DEFAULT_TIMEOUT_MS);
    c.timeout_ms = 500;
    assert_int_equal(tc_case_timeout_ms(&c, 3.0), 1500);
    assert_int_equal(tc_case_timeout_ms(&c, 0.0001), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner_run_case_answer_judged),
        cmocka_unit_test(test_runner_run_case_peer_closes),
        cmocka_unit_test(test_runner_run_case_deadline),
        cmocka_unit_test(test_runner_run_case_no_server),
        cmocka_unit_test(test_runner_timeout_scaling),
    };
    return cmocka_run_group_tests_name("harness_runner", tests, NULL, NULL);
}
