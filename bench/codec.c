#include "codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ttrpc/frame.h"

/* At least this many bytes of frames per pass, so small frames are measured in bulk. */
#define PASS_BYTES (8u * 1024u * 1024u)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps the compiler from dropping copies whose result nobody reads. */
static volatile uint8_t g_sink;

static int decode_pass(const uint8_t *buf, size_t len, size_t chunk, size_t frames_expected)
{
    ttrpc_decoder d;
    if (ttrpc_decoder_init(&d, TTRPC_FRAME_MAX_DATA, NULL) != TTRPC_OK) {
        return -1;
    }
    size_t frames = 0;
    size_t off = 0;
    uint8_t acc = 0;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t pos = 0;
        while (pos < n) {
            size_t used = 0;
            if (ttrpc_decoder_feed(&d, buf + off + pos, n - pos, &used) != TTRPC_OK) {
                ttrpc_decoder_free(&d);
                return -1;
            }
            pos += used;
            ttrpc_frame f;
            ttrpc_err rc;
            while ((rc = ttrpc_decoder_next(&d, &f)) == TTRPC_OK) {
                frames++;
                acc ^= f.hdr.length ? f.data[f.hdr.length - 1] : 0;
            }
            if (rc != TTRPC_E_AGAIN) {
                ttrpc_decoder_free(&d);
                return -1;
            }
        }
        off += n;
    }
    g_sink = acc;
    ttrpc_decoder_free(&d);
    return frames == frames_expected ? 0 : -1;
}

static void memcpy_pass(const uint8_t *buf, size_t len, size_t chunk, uint8_t *dst,
                        size_t dst_len)
{
    size_t off = 0;
    size_t at = 0;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (at + n > dst_len) {
            at = 0;
        }
        memcpy(dst + at, buf + off, n);
        at += n;
        off += n;
    }
    g_sink = dst[0];
}

int bench_codec_run(size_t frame_data, size_t chunk, double seconds, bench_codec_result *out)
{
    size_t frame_len = TTRPC_FRAME_HEADER_LEN + frame_data;
    size_t frames = PASS_BYTES / frame_len;
    if (frames < 2) {
        frames = 2;
    }
    size_t len = frames * frame_len;
    uint8_t *buf = malloc(len);
    uint8_t *data = malloc(frame_data ? frame_data : 1);
    /* The copy lands in a buffer the size of one frame (a chunk at least, so it fits). */
    size_t dst_len = frame_len > chunk ? frame_len : chunk;
    uint8_t *dst = malloc(dst_len);
    int ret = -1;
    if (buf == NULL || data == NULL || dst == NULL) {
        goto out;
    }
    memset(data, 0x5a, frame_data);
    for (size_t i = 0; i < frames; i++) {
        ttrpc_frame_header h = {(uint32_t)frame_data, (uint32_t)(2 * i + 1), TTRPC_TYPE_REQUEST,
                                0};
        size_t written = 0;
        if (ttrpc_frame_encode(&h, data, buf + i * frame_len, frame_len, &written) != TTRPC_OK) {
            goto out;
        }
    }
    memset(dst, 0, dst_len);

    double t0 = now_s();
    double t1 = t0;
    size_t passes = 0;
    while (passes == 0 || t1 - t0 < seconds) {
        if (decode_pass(buf, len, chunk, frames) != 0) {
            fprintf(stderr, "ttrpc-bench: the decoder lost frames of %zu bytes\n", frame_data);
            goto out;
        }
        passes++;
        t1 = now_s();
    }
    double decode_s = (t1 - t0) / (double)passes;

    t0 = now_s();
    t1 = t0;
    passes = 0;
    while (passes == 0 || t1 - t0 < seconds) {
        memcpy_pass(buf, len, chunk, dst, dst_len);
        passes++;
        t1 = now_s();
    }
    double copy_s = (t1 - t0) / (double)passes;

    *out = (bench_codec_result){
        .frame_data = frame_data,
        .chunk = chunk,
        .decode_bytes_s = (double)len / decode_s,
        .decode_frames_s = (double)frames / decode_s,
        .memcpy_bytes_s = (double)len / copy_s,
    };
    ret = 0;
out:
    free(buf);
    free(data);
    free(dst);
    return ret;
}

double bench_memcpy_bandwidth(size_t block, double seconds)
{
    uint8_t *src = malloc(block);
    uint8_t *dst = malloc(block);
    if (src == NULL || dst == NULL) {
        free(src);
        free(dst);
        return 0;
    }
    memset(src, 1, block);
    memset(dst, 2, block);
    double t0 = now_s();
    double t1 = t0;
    size_t passes = 0;
    while (passes == 0 || t1 - t0 < seconds) {
        memcpy(dst, src, block);
        g_sink = dst[passes % block];
        passes++;
        t1 = now_s();
    }
    free(src);
    free(dst);
    return (double)block * (double)passes / (t1 - t0);
}
