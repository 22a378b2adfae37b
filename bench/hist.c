/* Log-linear buckets: values below 2^7 have a bucket each; above, a value with its top bit at
 * position 7 + s lands in row s + 1, column = the 7 bits below the top bit. */
#include "hist.h"

#include <string.h>

static size_t bucket_of(uint64_t v)
{
    const uint64_t sub = 1u << BENCH_HIST_SUB_BITS;
    if (v < sub) {
        return (size_t)v;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - BENCH_HIST_SUB_BITS;
    return ((size_t)(shift + 1u) << BENCH_HIST_SUB_BITS) + (size_t)((v >> shift) - sub);
}

/* Midpoint of the bucket's value range. */
static uint64_t value_of(size_t idx)
{
    const uint64_t sub = 1u << BENCH_HIST_SUB_BITS;
    if (idx < sub) {
        return idx;
    }
    unsigned shift = (unsigned)(idx >> BENCH_HIST_SUB_BITS) - 1u;
    uint64_t low = ((idx & (sub - 1u)) + sub) << shift;
    return low + (((uint64_t)1 << shift) >> 1);
}

void bench_hist_reset(bench_hist *h)
{
    memset(h, 0, sizeof *h);
}

void bench_hist_record(bench_hist *h, uint64_t value)
{
    h->buckets[bucket_of(value)]++;
    h->count++;
    h->sum += value;
    if (value > h->max) {
        h->max = value;
    }
}

void bench_hist_merge(bench_hist *into, const bench_hist *from)
{
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        into->buckets[i] += from->buckets[i];
    }
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max) {
        into->max = from->max;
    }
}

uint64_t bench_hist_quantile(const bench_hist *h, double q)
{
    if (h->count == 0) {
        return 0;
    }
    /* The rank of the sample wanted, 1-based: p50 of 4 samples is the 2nd. */
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = value_of(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}
