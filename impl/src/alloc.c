#include "ttrpc/alloc.h"

#include <stdlib.h>

static void *libc_resize(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    (void)ctx;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

static const ttrpc_allocator libc_allocator = {libc_resize, NULL};

const ttrpc_allocator *ttrpc_allocator_default(void)
{
    return &libc_allocator;
}

void *ttrpc_alloc_resize(const ttrpc_allocator *alloc, void *ptr, size_t old_size,
                         size_t new_size)
{
    if (alloc == NULL) {
        alloc = &libc_allocator;
    }
    return alloc->resize(alloc->ctx, ptr, old_size, new_size);
}

void ttrpc_alloc_free(const ttrpc_allocator *alloc, void *ptr, size_t size)
{
    if (ptr != NULL) {
        (void)ttrpc_alloc_resize(alloc, ptr, size, 0);
    }
}
