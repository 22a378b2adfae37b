/* Shared by the fuzz targets: the libFuzzer entry point's prototype, a failure macro that
 * names the broken invariant, and a counting allocator that gives each target the real heap
 * bytes behind the memory oracles (the library's own *_memory() figures are checked against
 * it rather than trusted). Header-only so every target stays one translation unit plus this. */
#ifndef TTRPC_FUZZ_UTIL_H
#define TTRPC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ttrpc/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() is what every engine records as a crash; the message says which oracle fired. */
#define FUZZ_CHECK(cond, ...)                                                     \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: invariant broken: %s\n  ", __FILE__, __LINE__, \
                    #cond);                                                       \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
            abort();                                                              \
        }                                                                         \
    } while (0)

typedef struct fuzz_heap {
    size_t live; /* bytes handed out and not yet returned */
    size_t peak;
    size_t calls;
    size_t fail_at; /* the fail_at-th call returns NULL if it allocates; 0: none fails */
    size_t failed;  /* allocations refused so far */
} fuzz_heap;

/* Trusts old_size as the contract says; a wrong old_size shows up as live going negative,
 * which is checked, or as a leak at the end of the input. */
static inline void *fuzz_heap_resize(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    fuzz_heap *h = ctx;
    h->calls++;
    if (ptr != NULL) {
        FUZZ_CHECK(old_size <= h->live, "freeing %zu bytes with %zu live", old_size, h->live);
    }
    if (new_size == 0) {
        free(ptr);
        if (ptr != NULL) {
            h->live -= old_size;
        }
        return NULL;
    }
    if (h->fail_at != 0 && h->calls == h->fail_at) {
        h->failed++;
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p == NULL) {
        return NULL;
    }
    if (ptr != NULL) {
        h->live -= old_size;
    }
    h->live += new_size;
    if (h->live > h->peak) {
        h->peak = h->live;
    }
    return p;
}

/* The session targets' memory oracle: what a session holds, by its own count and by the
 * allocator's (now and at its peak), grows with the bytes fed, never with declared lengths. */
static inline void fuzz_check_session_memory(size_t session_memory, const fuzz_heap *heap,
                                             size_t fed)
{
    size_t bound = fed * 64 + (1u << 20);
    FUZZ_CHECK(session_memory <= bound, "session memory %zu after %zu bytes", session_memory,
               fed);
    FUZZ_CHECK(heap->live <= bound && heap->peak <= bound, "heap %zu (peak %zu) after %zu bytes",
               heap->live, heap->peak, fed);
}

static inline ttrpc_allocator fuzz_heap_allocator(fuzz_heap *h)
{
    h->live = 0;
    h->peak = 0;
    h->calls = 0;
    h->fail_at = 0;
    h->failed = 0;
    ttrpc_allocator a = {fuzz_heap_resize, h};
    return a;
}

#endif
