/* The frame codec: the 10-byte header, frame encoding, and an incremental decoder that is fed
 * arbitrary chunks. No sockets: bytes in, frames out. */
#ifndef TTRPC_FRAME_H
#define TTRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttrpc/alloc.h"
#include "ttrpc/err.h"

/* PROTOCOL.md, Message Frame: length (u32 BE), stream id (u32 BE), type (u8), flags (u8). */
#define TTRPC_FRAME_HEADER_LEN 10u
/* PROTOCOL.md, Message Frame: "The maximum data length is 4MB". Both real peers read it as
 * 4 MiB and reject only lengths strictly greater. */
#define TTRPC_FRAME_MAX_DATA 4194304u

/* PROTOCOL.md, Message Types. */
enum {
    TTRPC_TYPE_REQUEST = 0x01,
    TTRPC_TYPE_RESPONSE = 0x02,
    TTRPC_TYPE_DATA = 0x03,
};

/* PROTOCOL.md, Request Flags and Data Flags; named from the receiver's view. */
enum {
    TTRPC_FLAG_REMOTE_CLOSED = 0x01, /* Request, Data */
    TTRPC_FLAG_REMOTE_OPEN = 0x02,   /* Request */
    TTRPC_FLAG_NO_DATA = 0x04,       /* Data (Rust clients also set it on Requests) */
};

typedef struct ttrpc_frame_header {
    uint32_t length; /* data bytes after the header */
    uint32_t stream_id;
    uint8_t type;
    uint8_t flags;
} ttrpc_frame_header;

typedef struct ttrpc_frame {
    ttrpc_frame_header hdr;
    const uint8_t *data; /* hdr.length bytes; NULL when the length is 0 */
} ttrpc_frame;

/* Writes the 10 header bytes to out. Never fails: the caller provides 10 bytes. */
void ttrpc_frame_header_write(const ttrpc_frame_header *h, uint8_t out[TTRPC_FRAME_HEADER_LEN]);

/* Parses 10 header bytes. No field is validated here: limits belong to the decoder. */
void ttrpc_frame_header_read(const uint8_t in[TTRPC_FRAME_HEADER_LEN], ttrpc_frame_header *h);

/* Writes header and data (h->length bytes of data; data may be NULL when it is 0) to out.
 * Never writes past out[cap - 1]; *written is set only on success.
 * Errors: TTRPC_E_TOO_LARGE (h->length above TTRPC_FRAME_MAX_DATA), TTRPC_E_NOSPACE (cap too
 * small), TTRPC_E_INVAL (NULL data with a non-zero length). */
TTRPC_MUST_USE ttrpc_err ttrpc_frame_encode(const ttrpc_frame_header *h, const uint8_t *data,
                                            uint8_t *out, size_t cap, size_t *written);

/* An incremental decoder. Holds at most one frame. Its data store starts empty and grows only
 * as data bytes arrive (doubling, never past the frame's length), so a header that declares
 * 4 MiB costs nothing until the bytes come. The store is reused by the frames that follow;
 * ttrpc_decoder_trim shrinks it to at most TTRPC_DECODER_IDLE_KEEP bytes between frames. */
#define TTRPC_DECODER_IDLE_KEEP 65536u

typedef enum ttrpc_decoder_phase {
    TTRPC_DECODER_HEADER, /* collecting the 10 header bytes */
    TTRPC_DECODER_DATA,   /* collecting data bytes of an accepted frame */
    TTRPC_DECODER_READY,  /* a whole frame waits for ttrpc_decoder_next */
    TTRPC_DECODER_SKIP,   /* discarding the data of an oversized frame */
    TTRPC_DECODER_FAILED, /* sticky: allocation failed */
} ttrpc_decoder_phase;

typedef struct ttrpc_decoder {
    const ttrpc_allocator *alloc; /* borrowed; NULL means the default */
    uint32_t max_data;
    ttrpc_decoder_phase phase;
    uint8_t header_bytes[TTRPC_FRAME_HEADER_LEN];
    size_t header_have;
    ttrpc_frame_header hdr;
    uint8_t *store; /* owned */
    size_t store_cap;
    size_t data_have;
    uint32_t skip_left;
    bool oversize_pending; /* an oversized header not yet reported by next() */
    ttrpc_err sticky;
    uint64_t frames_total; /* statistics, for tests and benchmarks */
    uint64_t oversize_total;
} ttrpc_decoder;

/* max_data is the largest accepted data length (TTRPC_FRAME_MAX_DATA unless a test wants a
 * smaller one). alloc is borrowed and must outlive the decoder; NULL means the default.
 * Errors: TTRPC_E_INVAL (max_data 0 or above TTRPC_FRAME_MAX_DATA). */
TTRPC_MUST_USE ttrpc_err ttrpc_decoder_init(ttrpc_decoder *d, uint32_t max_data,
                                            const ttrpc_allocator *alloc);

/* Frees the store. The decoder may be initialised again afterwards. */
void ttrpc_decoder_free(ttrpc_decoder *d);

/* Takes bytes up to the end of the current frame and sets *consumed (possibly 0, when a frame
 * is waiting for ttrpc_decoder_next). Feed the rest after pulling.
 * Errors: TTRPC_E_NOMEM (store could not grow; sticky, *consumed tells what was taken). */
TTRPC_MUST_USE ttrpc_err ttrpc_decoder_feed(ttrpc_decoder *d, const uint8_t *in, size_t len,
                                            size_t *consumed);

/* TTRPC_OK: one frame in *out; its data lives in the store until the next feed or next call.
 * TTRPC_E_AGAIN: feed more.
 * TTRPC_E_TOO_LARGE: out->hdr holds the oversized header (out->data NULL); the decoder skips
 * exactly hdr.length bytes without storing them and decoding goes on after them.
 * TTRPC_E_NOMEM: the sticky failure of an earlier feed. */
TTRPC_MUST_USE ttrpc_err ttrpc_decoder_next(ttrpc_decoder *d, ttrpc_frame *out);

/* Bytes of store currently held, for memory checks. */
size_t ttrpc_decoder_memory(const ttrpc_decoder *d);

/* Inside a frame's data: *buf and *cap (never more than the frame still needs) are where the
 * next data bytes may be written directly, e.g. by read(2); then ttrpc_decoder_commit(d, n)
 * with the n bytes written. Elsewhere (header, a frame waiting for next, skipping an oversize
 * frame) *buf is NULL and *cap 0: use ttrpc_decoder_feed. The window grows with the bytes
 * received, by at least TTRPC_DECODER_WINDOW_MIN.
 * Errors: TTRPC_E_NOMEM (sticky, as in feed). commit: TTRPC_E_INVAL when n exceeds the window
 * or the decoder is not inside a frame's data. */
#define TTRPC_DECODER_WINDOW_MIN 65536u
TTRPC_MUST_USE ttrpc_err ttrpc_decoder_input_window(ttrpc_decoder *d, uint8_t **buf,
                                                    size_t *cap);
TTRPC_MUST_USE ttrpc_err ttrpc_decoder_commit(ttrpc_decoder *d, size_t n);

/* Between frames, frees a store larger than TTRPC_DECODER_IDLE_KEEP; inside a frame, nothing. */
void ttrpc_decoder_trim(ttrpc_decoder *d);

/* True when no partial frame is buffered (the connection can end here cleanly). */
bool ttrpc_decoder_at_boundary(const ttrpc_decoder *d);

#endif
