/* The closed-loop load generator: a few threads, each multiplexing its share of the
 * connections with epoll; every connection keeps exactly one call in flight and starts the
 * next as soon as the answer is complete. Two modes over the same loop:
 *   ttrpc  Echo/Echo Requests framed with our codec; each answer must be a Response on the
 *          call's stream id (the first one per connection is decoded and compared in full).
 *   raw    the same number of bytes as the ttrpc Request frame, to a framing-free echo
 *          (bench/raw-echo); the call is over when as many bytes came back. */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

typedef struct bench_load_config {
    const char *path; /* Unix socket path; borrowed */
    bool raw;
    size_t value_len; /* Echo payload: bytes in Bytes.value */
    unsigned conns;
    unsigned threads; /* 0: min(conns, online CPUs) */
    double warmup_s;  /* calls run but are not counted */
    double seconds;   /* the measured window */
} bench_load_config;

typedef struct bench_load_result {
    uint64_t calls;         /* completed inside the window */
    double seconds;         /* the window's length */
    size_t request_bytes;   /* bytes sent per call (frame or raw) */
    size_t response_bytes;  /* bytes received per call (as last seen) */
    double cpu_user_s;      /* the generator's CPU time inside the window */
    double cpu_sys_s;
    bench_hist latency_ns;  /* per call, first byte sent to last byte received */
    char error[256];        /* non-empty when the run failed */
} bench_load_result;

/* Runs one point. Returns 0, or -1 with result->error set (connect failed, a wrong answer,
 * the peer hung up, no answer within 10 s of the window's end). */
int bench_load_run(const bench_load_config *cfg, bench_load_result *result);

#endif
