/* fuzz/fuzz_frame_decoder.c. Targets: ttrpc_decoder_feed, ttrpc_decoder_next, and
 * ttrpc_frame_encode as the decoder's inverse.
 * Byte 0 picks how the rest is split and the decoder's limit:
 *   bits 0-4  chunk size - 1 (1..32 bytes per feed)
 *   bits 5-6  max_data: 4 MiB, 8, 100 or 4096, so short inputs reach the oversize path
 *   bit 7     feed everything in one call instead; bit 0 then also feeds the rest a second
 *             time before pulling, which must take nothing while a frame or an oversize
 *             report waits (bits 1-4 are then unused)
 * With an even chunk size, bytes inside a frame's data go through ttrpc_decoder_input_window
 * and ttrpc_decoder_commit (as a socket read would) instead of feed; with a chunk size that is
 * a multiple of 3, ttrpc_decoder_trim runs after every pull.
 * Oracles, each an abort():
 *   - a frame whose length is above max_data comes out as TTRPC_OK, or an oversize report
 *     whose length is not above it;
 *   - an accepted frame, re-encoded with ttrpc_frame_encode, differs from the input bytes it
 *     was decoded from (so headers, data and frame boundaries are all exact);
 *   - the data pointer lies outside the store, or the store is larger than
 *     (bytes fed + 256) * 2 (plus TTRPC_DECODER_WINDOW_MIN once a window was asked for):
 *     memory follows the bytes that arrived, never a declared length;
 *   - a window larger than the frame still needs, or a commit past the window accepted;
 *   - ttrpc_decoder_memory disagrees with the heap bytes the allocator handed out;
 *   - feed takes nothing while next has nothing to give (a stall);
 *   - at the end, "at a frame boundary" disagrees with where the frames actually ended. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "ttrpc/frame.h"

static const uint32_t MAX_DATA_CHOICES[4] = {TTRPC_FRAME_MAX_DATA, 8, 100, 4096};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const uint8_t mode = data[0];
    const uint8_t *in = data + 1;
    const size_t len = size - 1;
    const size_t chunk = (mode & 0x80) != 0 ? (len == 0 ? 1 : len) : (size_t)(mode & 0x1f) + 1;
    const uint32_t max_data = MAX_DATA_CHOICES[(mode >> 5) & 3];

    fuzz_heap heap;
    ttrpc_allocator alloc = fuzz_heap_allocator(&heap);
    ttrpc_decoder d;
    ttrpc_err rc = ttrpc_decoder_init(&d, max_data, &alloc);
    FUZZ_CHECK(rc == TTRPC_OK, "init: %s", ttrpc_err_name(rc));

    size_t fed = 0;         /* input bytes the decoder has taken */
    size_t frame_start = 0; /* where the next frame begins in `in` */
    uint8_t *encoded = NULL;
    size_t encoded_cap = 0;

    bool use_window = chunk % 2 == 0;
    bool use_trim = chunk % 3 == 0;
    size_t window_slack = 0; /* what asking for a window may reserve ahead of the bytes */
    while (fed < len) {
        size_t want = len - fed < chunk ? len - fed : chunk;
        size_t consumed = 0;
        uint8_t *window = NULL;
        size_t window_cap = 0;
        if (use_window) {
            rc = ttrpc_decoder_input_window(&d, &window, &window_cap);
            FUZZ_CHECK(rc == TTRPC_OK, "window: %s", ttrpc_err_name(rc));
        }
        if (window_cap > 0) {
            window_slack = TTRPC_DECODER_WINDOW_MIN;
            FUZZ_CHECK(d.phase == TTRPC_DECODER_DATA &&
                           window_cap <= (size_t)d.hdr.length - d.data_have,
                       "window of %zu bytes, frame needs %zu", window_cap,
                       (size_t)d.hdr.length - d.data_have);
            rc = ttrpc_decoder_commit(&d, window_cap + 1);
            FUZZ_CHECK(rc == TTRPC_E_INVAL, "commit past the window: %s", ttrpc_err_name(rc));
            size_t take = want < window_cap ? want : window_cap;
            memcpy(window, in + fed, take);
            rc = ttrpc_decoder_commit(&d, take);
            FUZZ_CHECK(rc == TTRPC_OK, "commit: %s", ttrpc_err_name(rc));
            consumed = take;
        } else {
            rc = ttrpc_decoder_feed(&d, in + fed, want, &consumed);
        }
        FUZZ_CHECK(rc == TTRPC_OK, "feed: %s (the default-sized heap never fails)",
                   ttrpc_err_name(rc));
        FUZZ_CHECK(consumed <= want, "consumed %zu of %zu", consumed, want);
        fed += consumed;
        if ((mode & 0x81) == 0x81 && fed < len) {
            /* "one frame at a time": with a frame or an oversize report waiting, more input
             * is not taken until next() was called. */
            bool waiting = d.phase == TTRPC_DECODER_READY || d.oversize_pending;
            size_t again = 0;
            rc = ttrpc_decoder_feed(&d, in + fed, len - fed, &again);
            FUZZ_CHECK(rc == TTRPC_OK, "second feed: %s", ttrpc_err_name(rc));
            FUZZ_CHECK(!waiting || again == 0, "took %zu bytes past a waiting frame", again);
            FUZZ_CHECK(again <= len - fed, "second feed took %zu of %zu", again, len - fed);
            fed += again;
            consumed += again;
        }

        FUZZ_CHECK(ttrpc_decoder_memory(&d) == heap.live, "decoder says %zu bytes, heap %zu",
                   ttrpc_decoder_memory(&d), heap.live);
        FUZZ_CHECK(heap.live <= (fed + 256) * 2 + window_slack,
                   "store %zu bytes after %zu bytes fed", heap.live, fed);

        size_t pulled = 0;
        for (;;) {
            ttrpc_frame f;
            rc = ttrpc_decoder_next(&d, &f);
            if (rc == TTRPC_E_AGAIN) {
                break;
            }
            pulled++;
            if (rc == TTRPC_E_TOO_LARGE) {
                /* PROTOCOL.md, Message Frame: "any larger size should be rejected". */
                FUZZ_CHECK(f.hdr.length > max_data, "oversize report for length %u <= %u",
                           f.hdr.length, max_data);
                FUZZ_CHECK(f.data == NULL, "oversize report carries data");
                FUZZ_CHECK(frame_start + TTRPC_FRAME_HEADER_LEN <= fed,
                           "oversize reported before its header arrived");
                uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
                ttrpc_frame_header_write(&f.hdr, hdr);
                FUZZ_CHECK(memcmp(hdr, in + frame_start, sizeof hdr) == 0,
                           "oversize header differs from input at offset %zu", frame_start);
                frame_start += TTRPC_FRAME_HEADER_LEN + (size_t)f.hdr.length;
                continue;
            }
            FUZZ_CHECK(rc == TTRPC_OK, "next: %s", ttrpc_err_name(rc));
            FUZZ_CHECK(f.hdr.length <= max_data, "frame of %u bytes above max %u",
                       f.hdr.length, max_data);
            size_t total = TTRPC_FRAME_HEADER_LEN + (size_t)f.hdr.length;
            FUZZ_CHECK(frame_start + total <= fed, "frame [%zu, +%zu) not yet fed (%zu)",
                       frame_start, total, fed);
            if (f.hdr.length == 0) {
                FUZZ_CHECK(f.data == NULL, "empty frame with a data pointer");
            } else {
                FUZZ_CHECK(f.data != NULL && d.store != NULL && f.data >= d.store &&
                               f.hdr.length <= d.store_cap &&
                               (size_t)(f.data - d.store) <= d.store_cap - f.hdr.length,
                           "data outside the store");
            }
            if (encoded_cap < total) {
                free(encoded);
                encoded = malloc(total);
                FUZZ_CHECK(encoded != NULL, "malloc %zu", total);
                encoded_cap = total;
            }
            size_t written = 0;
            rc = ttrpc_frame_encode(&f.hdr, f.data, encoded, total, &written);
            FUZZ_CHECK(rc == TTRPC_OK && written == total, "re-encode: %s, %zu of %zu bytes",
                       ttrpc_err_name(rc), written, total);
            FUZZ_CHECK(memcmp(encoded, in + frame_start, total) == 0,
                       "re-encoded frame differs from input at offset %zu", frame_start);
            /* One byte short must be refused without a partial write being reported. */
            written = 12345;
            rc = ttrpc_frame_encode(&f.hdr, f.data, encoded, total - 1, &written);
            FUZZ_CHECK(rc == TTRPC_E_NOSPACE && written == 12345, "short encode: %s",
                       ttrpc_err_name(rc));
            frame_start += total;
            if (use_trim) {
                ttrpc_decoder_trim(&d);
                FUZZ_CHECK(ttrpc_decoder_memory(&d) <= TTRPC_DECODER_IDLE_KEEP ||
                               !ttrpc_decoder_at_boundary(&d),
                           "trim left %zu bytes between frames", ttrpc_decoder_memory(&d));
            }
        }
        FUZZ_CHECK(consumed > 0 || pulled > 0, "stalled at byte %zu of %zu", fed, len);
    }

    bool boundary = ttrpc_decoder_at_boundary(&d);
    FUZZ_CHECK(boundary == (frame_start == fed),
               "at_boundary %d but frames end at %zu and %zu bytes were fed", boundary,
               frame_start, fed);
    FUZZ_CHECK(d.frames_total + d.oversize_total > 0 || frame_start == 0,
               "frames came out but the counters say none");
    ttrpc_decoder_free(&d);
    FUZZ_CHECK(heap.live == 0, "%zu bytes left after ttrpc_decoder_free", heap.live);
    free(encoded);
    return 0;
}
