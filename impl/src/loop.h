/* The event loop under the server: epoll for descriptors, a binary heap of timers served by the
 * epoll_wait timeout, and an eventfd that other threads and signal handlers use to wake it.
 * Internal to the library. Single-threaded: every function except ttrpc_loop_wake must be
 * called on the thread that runs ttrpc_loop_run_once.
 *
 * Watches and timers are caller-owned structs that the loop links to, so arming and disarming
 * never allocates (except the timer heap growing) and cannot fail halfway. */
#ifndef TTRPC_LOOP_H
#define TTRPC_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "ttrpc/err.h"

typedef struct ttrpc_loop ttrpc_loop;

/* events: the EPOLL* bits that were reported. */
typedef void (*ttrpc_loop_io_fn)(void *arg, uint32_t events);
typedef void (*ttrpc_loop_timer_fn)(void *arg);

/* One watched descriptor. While watched, the struct must stay at its address. A watch removed
 * during ttrpc_loop_run_once must stay allocated until run_once returns: events for it that
 * were already collected are then dropped (fd is -1), not delivered. */
typedef struct ttrpc_loop_watch {
    int fd; /* -1 when not watched */
    uint32_t events;
    ttrpc_loop_io_fn fn;
    void *arg;
} ttrpc_loop_watch;

/* One timer. Zero-initialise it, or call ttrpc_loop_timer_init, before first use. */
typedef struct ttrpc_loop_timer {
    uint64_t due_ns;    /* CLOCK_MONOTONIC */
    uint64_t seq;       /* arming order, breaks ties so equal deadlines fire in order */
    size_t slot_plus_1; /* 0: not armed; else 1 + index in the heap */
    ttrpc_loop_timer_fn fn;
    void *arg;
} ttrpc_loop_timer;

/* Errors: TTRPC_E_IO (epoll or eventfd could not be created), TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_loop_new(ttrpc_loop **out);
/* Closes the epoll and wake descriptors; watched descriptors are not closed, armed timers are
 * forgotten without firing. */
void ttrpc_loop_free(ttrpc_loop *loop);

/* Starts watching fd for events (EPOLLIN, EPOLLOUT; EPOLLERR and EPOLLHUP always come).
 * Errors: TTRPC_E_INVAL (w already watched, fd negative), TTRPC_E_IO (epoll_ctl failed;
 * errno tells why). */
TTRPC_MUST_USE ttrpc_err ttrpc_loop_watch_add(ttrpc_loop *loop, ttrpc_loop_watch *w, int fd,
                                              uint32_t events, ttrpc_loop_io_fn fn, void *arg);
/* Changes the events of interest; no system call when they are unchanged.
 * Errors: TTRPC_E_INVAL (not watched), TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err ttrpc_loop_watch_set(ttrpc_loop *loop, ttrpc_loop_watch *w,
                                              uint32_t events);
/* Stops watching; the descriptor stays open. Harmless on a watch that is not watched. */
void ttrpc_loop_watch_remove(ttrpc_loop *loop, ttrpc_loop_watch *w);

void ttrpc_loop_timer_init(ttrpc_loop_timer *t);
/* Arms t to call fn(arg) once, delay_ms from now, re-arming it if it was armed. A timer armed
 * from inside a timer callback never fires within the same ttrpc_loop_run_once, so a 0 ms
 * timer re-armed by its own callback cannot starve the descriptors.
 * Errors: TTRPC_E_NOMEM (the heap could not grow; t is left unarmed). */
TTRPC_MUST_USE ttrpc_err ttrpc_loop_timer_start(ttrpc_loop *loop, ttrpc_loop_timer *t,
                                                uint64_t delay_ms, ttrpc_loop_timer_fn fn,
                                                void *arg);
/* Disarms t; harmless when it is not armed (fired or never armed). */
void ttrpc_loop_timer_stop(ttrpc_loop *loop, ttrpc_loop_timer *t);
int ttrpc_loop_timer_armed(const ttrpc_loop_timer *t);

/* Waits up to timeout_ms (-1: until something happens; 0: only polls) for descriptor events or
 * the next timer, then delivers descriptor events, then due timers. A wake-up counts as an
 * event: run_once returns soon after ttrpc_loop_wake.
 * Errors: TTRPC_E_IO (epoll_wait failed other than by EINTR). */
TTRPC_MUST_USE ttrpc_err ttrpc_loop_run_once(ttrpc_loop *loop, int timeout_ms);

/* Makes a blocked or the next ttrpc_loop_run_once return. Async-signal-safe and thread-safe
 * (one write(2) to an eventfd; errno is preserved). */
void ttrpc_loop_wake(ttrpc_loop *loop);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ttrpc_loop_now_ns(void);

/* Number of armed timers, for tests and leak checks. */
size_t ttrpc_loop_timer_count(const ttrpc_loop *loop);

#endif
