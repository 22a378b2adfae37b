#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>


/* Events collected per epoll_wait; more simply wait for the next round (level-triggered). */
#define LOOP_BATCH 64

struct ttrpc_loop {
    int epfd;
    int wakefd;
    ttrpc_loop_watch wake_watch;
    ttrpc_loop_timer **heap; /* min-heap on (due_ns, seq) */
    size_t n_timers;
    size_t heap_cap;
    uint64_t next_seq;
};

uint64_t ttrpc_loop_now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void wake_drain(void *arg, uint32_t events)
{
    ttrpc_loop *loop = arg;
    (void)events;
    uint64_t count;
    /* Non-blocking: one read resets the counter; EAGAIN means another round took it. */
    (void)!read(loop->wakefd, &count, sizeof count);
}

ttrpc_err ttrpc_loop_new(ttrpc_loop **out)
{
    ttrpc_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL) {
        return TTRPC_E_NOMEM;
    }
    loop->wake_watch.fd = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epfd < 0 || loop->wakefd < 0) {
        ttrpc_loop_free(loop);
        return TTRPC_E_IO;
    }
    ttrpc_err rc = ttrpc_loop_watch_add(loop, &loop->wake_watch, loop->wakefd, EPOLLIN,
                                        wake_drain, loop);
    if (rc != TTRPC_OK) {
        ttrpc_loop_free(loop);
        return rc;
    }
    *out = loop;
    return TTRPC_OK;
}

void ttrpc_loop_free(ttrpc_loop *loop)
{
    if (loop == NULL) {
        return;
    }
    for (size_t i = 0; i < loop->n_timers; i++) {
        loop->heap[i]->slot_plus_1 = 0;
    }
    free(loop->heap);
    if (loop->epfd >= 0) {
        (void)close(loop->epfd);
    }
    if (loop->wakefd >= 0) {
        (void)close(loop->wakefd);
    }
    free(loop);
}

ttrpc_err ttrpc_loop_watch_add(ttrpc_loop *loop, ttrpc_loop_watch *w, int fd, uint32_t events,
                               ttrpc_loop_io_fn fn, void *arg)
{
    if (fd < 0 || fn == NULL) {
        return TTRPC_E_INVAL;
    }
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        return errno == EEXIST ? TTRPC_E_INVAL : TTRPC_E_IO;
    }
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->arg = arg;
    return TTRPC_OK;
}

ttrpc_err ttrpc_loop_watch_set(ttrpc_loop *loop, ttrpc_loop_watch *w, uint32_t events)
{
    if (w->fd < 0) {
        return TTRPC_E_INVAL;
    }
    if (w->events == events) {
        return TTRPC_OK;
    }
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0) {
        return TTRPC_E_IO;
    }
    w->events = events;
    return TTRPC_OK;
}

void ttrpc_loop_watch_remove(ttrpc_loop *loop, ttrpc_loop_watch *w)
{
    if (w->fd < 0) {
        return;
    }
    /* Fails only if the descriptor was closed first, which removes it from the set anyway. */
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->fd = -1;
}

/* ---- timer heap ---- */

static bool timer_before(const ttrpc_loop_timer *a, const ttrpc_loop_timer *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_place(ttrpc_loop *loop, size_t i, ttrpc_loop_timer *t)
{
    loop->heap[i] = t;
    t->slot_plus_1 = i + 1;
}

static void heap_up(ttrpc_loop *loop, size_t i)
{
    ttrpc_loop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent])) {
            break;
        }
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_down(ttrpc_loop *loop, size_t i)
{
    ttrpc_loop_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->n_timers) {
            break;
        }
        if (child + 1 < loop->n_timers && timer_before(loop->heap[child + 1], loop->heap[child])) {
            child++;
        }
        if (!timer_before(loop->heap[child], t)) {
            break;
        }
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

void ttrpc_loop_timer_init(ttrpc_loop_timer *t)
{
    *t = (ttrpc_loop_timer){0};
}

int ttrpc_loop_timer_armed(const ttrpc_loop_timer *t)
{
    return t->slot_plus_1 != 0;
}

void ttrpc_loop_timer_stop(ttrpc_loop *loop, ttrpc_loop_timer *t)
{
    if (t->slot_plus_1 == 0) {
        return;
    }
    size_t i = t->slot_plus_1 - 1;
    t->slot_plus_1 = 0;
    loop->n_timers--;
    if (i == loop->n_timers) {
        return;
    }
    /* Move the last timer into the hole; it may need to go either way. */
    ttrpc_loop_timer *moved = loop->heap[loop->n_timers];
    heap_place(loop, i, moved);
    heap_up(loop, i);
    heap_down(loop, moved->slot_plus_1 - 1);
}

ttrpc_err ttrpc_loop_timer_start(ttrpc_loop *loop, ttrpc_loop_timer *t, uint64_t delay_ms,
                                 ttrpc_loop_timer_fn fn, void *arg)
{
    ttrpc_loop_timer_stop(loop, t);
    if (loop->n_timers == loop->heap_cap) {
        size_t cap = loop->heap_cap == 0 ? 16 : loop->heap_cap * 2;
        ttrpc_loop_timer **heap = realloc(loop->heap, cap * sizeof *heap);
        if (heap == NULL) {
            return TTRPC_E_NOMEM;
        }
        loop->heap = heap;
        loop->heap_cap = cap;
    }
    uint64_t now = ttrpc_loop_now_ns();
    /* Saturate: a delay of centuries is "never" rather than an overflow into the past. */
    uint64_t delay_ns = delay_ms > (UINT64_MAX - now) / 1000000u ? UINT64_MAX - now
                                                                  : delay_ms * 1000000u;
    t->due_ns = now + delay_ns;
    t->seq = loop->next_seq++;
    t->fn = fn;
    t->arg = arg;
    loop->n_timers++;
    heap_place(loop, loop->n_timers - 1, t);
    heap_up(loop, loop->n_timers - 1);
    return TTRPC_OK;
}

size_t ttrpc_loop_timer_count(const ttrpc_loop *loop)
{
    return loop->n_timers;
}

/* The epoll_wait timeout: the caller's, shortened to the next timer, rounded up so a timer
 * never finds itself not yet due after the wait. */
static int wait_timeout(const ttrpc_loop *loop, int timeout_ms)
{
    if (loop->n_timers == 0) {
        return timeout_ms;
    }
    uint64_t now = ttrpc_loop_now_ns();
    uint64_t due = loop->heap[0]->due_ns;
    if (due <= now) {
        return 0;
    }
    uint64_t ms = (due - now + 999999u) / 1000000u;
    if (ms > (uint64_t)INT32_MAX) {
        ms = INT32_MAX;
    }
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < ms) {
        return timeout_ms;
    }
    return (int)ms;
}

ttrpc_err ttrpc_loop_run_once(ttrpc_loop *loop, int timeout_ms)
{
    struct epoll_event events[LOOP_BATCH];
    int n = epoll_wait(loop->epfd, events, LOOP_BATCH, wait_timeout(loop, timeout_ms));
    if (n < 0) {
        if (errno != EINTR) {
            return TTRPC_E_IO;
        }
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        ttrpc_loop_watch *w = events[i].data.ptr;
        /* Removed by an earlier callback of this batch. */
        if (w->fd < 0) {
            continue;
        }
        w->fn(w->arg, events[i].events);
    }
    uint64_t now = ttrpc_loop_now_ns();
    uint64_t seq_limit = loop->next_seq;
    while (loop->n_timers > 0) {
        ttrpc_loop_timer *t = loop->heap[0];
        if (t->due_ns > now || t->seq >= seq_limit) {
            break;
        }
        ttrpc_loop_timer_stop(loop, t);
        t->fn(t->arg);
    }
    return TTRPC_OK;
}

void ttrpc_loop_wake(ttrpc_loop *loop)
{
    int saved = errno;
    uint64_t one = 1;
    /* EAGAIN (counter saturated) still leaves the eventfd readable: the wake is not lost. */
    (void)!write(loop->wakefd, &one, sizeof one);
    errno = saved;
}
