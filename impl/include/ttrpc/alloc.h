/* The allocator every growing buffer goes through, so tests can fail the N-th allocation and
 * callers can cap memory per connection. */
#ifndef TTRPC_ALLOC_H
#define TTRPC_ALLOC_H

#include <stddef.h>

typedef struct ttrpc_allocator {
    /* realloc semantics: ptr NULL allocates; new_size 0 frees and returns NULL. old_size is the
     * size ptr was last given, so budgets can be tracked without a header per block. Returns
     * NULL on failure, leaving ptr untouched. */
    void *(*resize)(void *ctx, void *ptr, size_t old_size, size_t new_size);
    void *ctx;
} ttrpc_allocator;

/* The libc allocator. A static, immutable object. */
const ttrpc_allocator *ttrpc_allocator_default(void);

/* Convenience wrappers; alloc may be NULL for the default. */
void *ttrpc_alloc_resize(const ttrpc_allocator *alloc, void *ptr, size_t old_size,
                         size_t new_size);
void ttrpc_alloc_free(const ttrpc_allocator *alloc, void *ptr, size_t size);

#endif
