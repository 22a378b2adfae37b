/* A target that must fail (style.md section 8): it leaks one block when the input starts with
 * "LEAK". fuzz/check-replay.sh runs it on such an input and requires LeakSanitizer to report
 * it, so a build whose detectors are off (no ASan, leak detection disabled) cannot pass the
 * replay silently. Not a fuzz target: it lives outside the fuzz/fuzz_*.c glob. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

/* Keeps the compiler from proving the block dead and dropping the allocation. */
static void *volatile last_block;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4 && memcmp(data, "LEAK", 4) == 0) {
        char *block = malloc(64);
        if (block != NULL) {
            memcpy(block, data, 4);
            last_block = block;
            last_block = NULL; /* the only pointer is gone: a definite leak */
        }
    }
    return 0;
}
