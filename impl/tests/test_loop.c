#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

/* Runs the loop until *done is set, at most 5 s: a bug shows as a failure, not a hang. */
static void run_until(ttrpc_loop *loop, const int *done)
{
    uint64_t give_up = ttrpc_loop_now_ns() + 5000000000u;
    while (!*done && ttrpc_loop_now_ns() < give_up) {
        assert_int_equal(ttrpc_loop_run_once(loop, 10), TTRPC_OK);
    }
    assert_true(*done);
}

typedef struct fire_log {
    int order[16];
    int n;
    int want;
    int done;
} fire_log;

typedef struct fire_arg {
    fire_log *log;
    int tag;
} fire_arg;

static void record_fire(void *arg)
{
    fire_arg *a = arg;
    a->log->order[a->log->n++] = a->tag;
    a->log->done = a->log->n >= a->log->want;
}

/* Timers fire by deadline, not by the order they were armed in. */
static void test_loop_timer_start_fires_in_deadline_order(void **state)
{
    (void)state;
    ttrpc_loop *loop;
    assert_int_equal(ttrpc_loop_new(&loop), TTRPC_OK);
    fire_log log = {.want = 3};
    ttrpc_loop_timer t[3];
    fire_arg args[3] = {{&log, 30}, {&log, 0}, {&log, 15}};
    for (int i = 0; i < 3; i++) {
        ttrpc_loop_timer_init(&t[i]);
        assert_int_equal(ttrpc_loop_timer_start(loop, &t[i], (uint64_t)args[i].tag, record_fire,
                                                &args[i]),
                         TTRPC_OK);
    }
    assert_int_equal(ttrpc_loop_timer_count(loop), 3);
    run_until(loop, &log.done);
    assert_int_equal(log.order[0], 0);
    assert_int_equal(log.order[1], 15);
    assert_int_equal(log.order[2], 30);
    assert_int_equal(ttrpc_loop_timer_count(loop), 0);
    ttrpc_loop_free(loop);
}

static void test_loop_timer_stop_prevents_fire(void **state)
{
    (void)state;
    ttrpc_loop *loop;
    assert_int_equal(ttrpc_loop_new(&loop), TTRPC_OK);
    fire_log log = {.want = 1};
    fire_arg stopped = {&log, 1};
    fire_arg kept = {&log, 2};
    ttrpc_loop_timer a, b;
    ttrpc_loop_timer_init(&a);
    ttrpc_loop_timer_init(&b);
    assert_int_equal(ttrpc_loop_timer_start(loop, &a, 0, record_fire, &stopped), TTRPC_OK);
    assert_int_equal(ttrpc_loop_timer_start(loop, &b, 5, record_fire, &kept), TTRPC_OK);
    ttrpc_loop_timer_stop(loop, &a);
    ttrpc_loop_timer_stop(loop, &a); /* harmless twice */
    assert_false(ttrpc_loop_timer_armed(&a));
    run_until(loop, &log.done);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.order[0], 2);
    ttrpc_loop_free(loop);
}

/* Arming an armed timer moves it: it fires once, at the new deadline. */
static void test_loop_timer_start_rearm_replaces(void **state)
{
    (void)state;
    ttrpc_loop *loop;
    assert_int_equal(ttrpc_loop_new(&loop), TTRPC_OK);
    fire_log log = {.want = 2};
    fire_arg moved = {&log, 1};
    fire_arg marker = {&log, 2};
    ttrpc_loop_timer a, b;
    ttrpc_loop_timer_init(&a);
    ttrpc_loop_timer_init(&b);
    assert_int_equal(ttrpc_loop_timer_start(loop, &a, 0, record_fire, &moved), TTRPC_OK);
    assert_int_equal(ttrpc_loop_timer_start(loop, &b, 5, record_fire, &marker), TTRPC_OK);
    assert_int_equal(ttrpc_loop_timer_start(loop, &a, 20, record_fire, &moved), TTRPC_OK);
    assert_int_equal(ttrpc_loop_timer_count(loop), 2);
    run_until(loop, &log.done);
    assert_int_equal(log.order[0], 2);
    assert_int_equal(log.order[1], 1);
    ttrpc_loop_free(loop);
}

typedef struct rearm_ctx {
    ttrpc_loop *loop;
    ttrpc_loop_timer t;
    int fired;
} rearm_ctx;

static void rearm_self(void *arg)
{
    rearm_ctx *c = arg;
    c->fired++;
    assert_int_equal(ttrpc_loop_timer_start(c->loop, &c->t, 0, rearm_self, c), TTRPC_OK);
}

/* A 0 ms timer that re-arms itself fires once per iteration, so descriptors still get served. */
static void test_loop_run_once_rearmed_timer_waits_next_round(void **state)
{
    (void)state;
    rearm_ctx c = {0};
    assert_int_equal(ttrpc_loop_new(&c.loop), TTRPC_OK);
    ttrpc_loop_timer_init(&c.t);
    assert_int_equal(ttrpc_loop_timer_start(c.loop, &c.t, 0, rearm_self, &c), TTRPC_OK);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(ttrpc_loop_run_once(c.loop, 1000), TTRPC_OK);
        assert_int_equal(c.fired, i);
    }
    ttrpc_loop_free(c.loop);
}

typedef struct io_ctx {
    ttrpc_loop *loop;
    ttrpc_loop_watch w[2];
    int fds[2][2];
    int calls[2];
    int remove_other; /* the first callback to run removes the other watch */
} io_ctx;

static io_ctx *g_io;

static void on_pipe(void *arg, uint32_t events)
{
    int i = (int)(intptr_t)arg;
    assert_true(events & EPOLLIN);
    g_io->calls[i]++;
    if (g_io->remove_other) {
        ttrpc_loop_watch_remove(g_io->loop, &g_io->w[1 - i]);
    }
}

static void io_setup(io_ctx *c)
{
    *c = (io_ctx){0};
    g_io = c;
    assert_int_equal(ttrpc_loop_new(&c->loop), TTRPC_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pipe(c->fds[i]), 0);
        c->w[i].fd = -1;
        assert_int_equal(ttrpc_loop_watch_add(c->loop, &c->w[i], c->fds[i][0], EPOLLIN, on_pipe,
                                              (void *)(intptr_t)i),
                         TTRPC_OK);
    }
}

static void io_teardown(io_ctx *c)
{
    for (int i = 0; i < 2; i++) {
        ttrpc_loop_watch_remove(c->loop, &c->w[i]);
        close(c->fds[i][0]);
        close(c->fds[i][1]);
    }
    ttrpc_loop_free(c->loop);
}

static void test_loop_watch_add_reports_readable(void **state)
{
    (void)state;
    io_ctx c;
    io_setup(&c);
    assert_int_equal(ttrpc_loop_run_once(c.loop, 0), TTRPC_OK);
    assert_int_equal(c.calls[0] + c.calls[1], 0);
    assert_int_equal(write(c.fds[0][1], "x", 1), 1);
    assert_int_equal(ttrpc_loop_run_once(c.loop, 1000), TTRPC_OK);
    assert_int_equal(c.calls[0], 1);
    assert_int_equal(c.calls[1], 0);
    /* A second add of a watched watch is refused; interest 0 silences it. */
    assert_int_equal(ttrpc_loop_watch_add(c.loop, &c.w[0], c.fds[0][0], EPOLLIN, on_pipe, NULL),
                     TTRPC_E_INVAL);
    assert_int_equal(ttrpc_loop_watch_set(c.loop, &c.w[0], 0), TTRPC_OK);
    assert_int_equal(ttrpc_loop_run_once(c.loop, 0), TTRPC_OK);
    assert_int_equal(c.calls[0], 1);
    io_teardown(&c);
}

/* Events already collected for a watch that an earlier callback removed are dropped: the
 * server relies on this when one connection's callback closes another. */
static void test_loop_watch_remove_drops_collected_events(void **state)
{
    (void)state;
    io_ctx c;
    io_setup(&c);
    c.remove_other = 1;
    assert_int_equal(write(c.fds[0][1], "x", 1), 1);
    assert_int_equal(write(c.fds[1][1], "x", 1), 1);
    assert_int_equal(ttrpc_loop_run_once(c.loop, 1000), TTRPC_OK);
    assert_int_equal(c.calls[0] + c.calls[1], 1);
    io_teardown(&c);
}

static void *wake_later(void *arg)
{
    ttrpc_loop_wake(arg);
    return NULL;
}

/* A loop blocked without a deadline returns once another thread wakes it. */
static void test_loop_wake_from_thread_ends_wait(void **state)
{
    (void)state;
    ttrpc_loop *loop;
    assert_int_equal(ttrpc_loop_new(&loop), TTRPC_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wake_later, loop), 0);
    assert_int_equal(ttrpc_loop_run_once(loop, -1), TTRPC_OK);
    pthread_join(th, NULL);
    /* The wake was consumed: polling again finds nothing. */
    assert_int_equal(ttrpc_loop_run_once(loop, 0), TTRPC_OK);
    ttrpc_loop_free(loop);
}

typedef struct heap_ctx {
    uint64_t last_due;
    int fired;
    int disorder;
} heap_ctx;

typedef struct heap_timer {
    ttrpc_loop_timer t;
    heap_ctx *ctx;
} heap_timer;

static void heap_fire(void *arg)
{
    heap_timer *h = arg;
    if (h->t.due_ns < h->ctx->last_due) {
        h->ctx->disorder++;
    }
    h->ctx->last_due = h->t.due_ns;
    h->ctx->fired++;
}

/* Many timers armed, re-armed and stopped in a scrambled order: the heap still fires exactly
 * the armed ones, by deadline. */
static void test_loop_timer_heap_random_operations(void **state)
{
    (void)state;
    enum { N = 500 };
    ttrpc_loop *loop;
    assert_int_equal(ttrpc_loop_new(&loop), TTRPC_OK);
    heap_ctx ctx = {0};
    heap_timer *timers = calloc(N, sizeof *timers);
    assert_non_null(timers);
    srand(7);
    for (int i = 0; i < N; i++) {
        timers[i].ctx = &ctx;
        ttrpc_loop_timer_init(&timers[i].t);
        assert_int_equal(ttrpc_loop_timer_start(loop, &timers[i].t, (uint64_t)(rand() % 40),
                                                heap_fire, &timers[i]),
                         TTRPC_OK);
    }
    int armed = N;
    for (int i = 0; i < N; i += 3) {
        ttrpc_loop_timer_stop(loop, &timers[i].t);
        armed--;
    }
    for (int i = 1; i < N; i += 7) {
        assert_int_equal(ttrpc_loop_timer_start(loop, &timers[i].t, (uint64_t)(rand() % 40),
                                                heap_fire, &timers[i]),
                         TTRPC_OK);
        armed += i % 3 == 0;
    }
    assert_int_equal(ttrpc_loop_timer_count(loop), (size_t)armed);
    uint64_t give_up = ttrpc_loop_now_ns() + 5000000000u;
    while (ctx.fired < armed && ttrpc_loop_now_ns() < give_up) {
        assert_int_equal(ttrpc_loop_run_once(loop, 10), TTRPC_OK);
    }
    assert_int_equal(ctx.fired, armed);
    assert_int_equal(ctx.disorder, 0);
    assert_int_equal(ttrpc_loop_timer_count(loop), 0);
    free(timers);
    ttrpc_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_timer_start_fires_in_deadline_order),
        cmocka_unit_test(test_loop_timer_stop_prevents_fire),
        cmocka_unit_test(test_loop_timer_start_rearm_replaces),
        cmocka_unit_test(test_loop_run_once_rearmed_timer_waits_next_round),
        cmocka_unit_test(test_loop_watch_add_reports_readable),
        cmocka_unit_test(test_loop_watch_remove_drops_collected_events),
        cmocka_unit_test(test_loop_wake_from_thread_ends_wait),
        cmocka_unit_test(test_loop_timer_heap_random_operations),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
