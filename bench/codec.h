/* Throughput of the frame decoder (ttrpc_decoder_feed/next) against the copy it cannot avoid:
 * frames of one size, fed in socket-sized chunks, compared with memcpy of the same chunks into
 * a frame-sized buffer. */
#ifndef BENCH_CODEC_H
#define BENCH_CODEC_H

#include <stddef.h>

typedef struct bench_codec_result {
    size_t frame_data;       /* data bytes per frame */
    size_t chunk;            /* bytes per feed, as one read() would return them */
    double decode_bytes_s;   /* whole frames (header + data) per second, in bytes */
    double decode_frames_s;
    double memcpy_bytes_s;   /* the same bytes copied chunk by chunk */
} bench_codec_result;

/* Measures one frame size for about `seconds` per side. Returns 0, or -1 on a decoder error
 * or a lost frame (which is a bug, printed to stderr). */
int bench_codec_run(size_t frame_data, size_t chunk, double seconds, bench_codec_result *out);

/* Bandwidth of one large memcpy (block bytes, repeated for about `seconds`), in bytes/s. */
double bench_memcpy_bandwidth(size_t block, double seconds);

#endif
