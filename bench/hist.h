/* A latency histogram with log-linear buckets (HDR style): 128 sub-buckets per power of two,
 * so any recorded value is known to within 1/128 (0.8 %). Fixed size, no allocation: memory
 * stays bounded however long a point runs. */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_HIST_SUB_BITS 7u
#define BENCH_HIST_BUCKETS ((64u - BENCH_HIST_SUB_BITS + 1u) << BENCH_HIST_SUB_BITS)

typedef struct bench_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t max;
    uint64_t buckets[BENCH_HIST_BUCKETS];
} bench_hist;

void bench_hist_reset(bench_hist *h);
void bench_hist_record(bench_hist *h, uint64_t value);
/* Adds every sample of from to into. */
void bench_hist_merge(bench_hist *into, const bench_hist *from);
/* The value at quantile q (0..1): the middle of the bucket holding it; 0 when empty. */
uint64_t bench_hist_quantile(const bench_hist *h, double q);

#endif
