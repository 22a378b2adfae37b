#include "ttrpc/frame.h"

#include <string.h>

static inline size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

void ttrpc_frame_header_write(const ttrpc_frame_header *h, uint8_t out[TTRPC_FRAME_HEADER_LEN])
{
    out[0] = (uint8_t)(h->length >> 24);
    out[1] = (uint8_t)(h->length >> 16);
    out[2] = (uint8_t)(h->length >> 8);
    out[3] = (uint8_t)h->length;
    out[4] = (uint8_t)(h->stream_id >> 24);
    out[5] = (uint8_t)(h->stream_id >> 16);
    out[6] = (uint8_t)(h->stream_id >> 8);
    out[7] = (uint8_t)h->stream_id;
    out[8] = h->type;
    out[9] = h->flags;
}

void ttrpc_frame_header_read(const uint8_t in[TTRPC_FRAME_HEADER_LEN], ttrpc_frame_header *h)
{
    h->length = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 |
                (uint32_t)in[3];
    h->stream_id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 |
                   (uint32_t)in[7];
    h->type = in[8];
    h->flags = in[9];
}

ttrpc_err ttrpc_frame_encode(const ttrpc_frame_header *h, const uint8_t *data, uint8_t *out,
                             size_t cap, size_t *written)
{
    if (h->length > TTRPC_FRAME_MAX_DATA) {
        return TTRPC_E_TOO_LARGE;
    }
    if (data == NULL && h->length != 0) {
        return TTRPC_E_INVAL;
    }
    /* The limit check above keeps this sum far from overflow. */
    size_t total = TTRPC_FRAME_HEADER_LEN + (size_t)h->length;
    if (cap < total) {
        return TTRPC_E_NOSPACE;
    }
    ttrpc_frame_header_write(h, out);
    if (h->length != 0) {
        memcpy(out + TTRPC_FRAME_HEADER_LEN, data, h->length);
    }
    *written = total;
    return TTRPC_OK;
}

ttrpc_err ttrpc_decoder_init(ttrpc_decoder *d, uint32_t max_data, const ttrpc_allocator *alloc)
{
    if (max_data == 0 || max_data > TTRPC_FRAME_MAX_DATA) {
        return TTRPC_E_INVAL;
    }
    memset(d, 0, sizeof *d);
    d->alloc = alloc;
    d->max_data = max_data;
    d->phase = TTRPC_DECODER_HEADER;
    d->sticky = TTRPC_OK;
    return TTRPC_OK;
}

void ttrpc_decoder_free(ttrpc_decoder *d)
{
    ttrpc_alloc_free(d->alloc, d->store, d->store_cap);
    d->store = NULL;
    d->store_cap = 0;
}

/* Grows the store towards `need` bytes: at least doubling, so the number of copies stays
 * logarithmic, yet never past `need`, which is bounded by the bytes already received plus the
 * current chunk. A declared length alone never allocates. */
static ttrpc_err decoder_reserve(ttrpc_decoder *d, size_t need, size_t frame_len)
{
    if (need <= d->store_cap) {
        return TTRPC_OK;
    }
    size_t grown = d->store_cap < 256 ? 256 : d->store_cap * 2;
    if (grown < need) {
        grown = need;
    }
    if (grown > frame_len) {
        grown = frame_len;
    }
    uint8_t *p = ttrpc_alloc_resize(d->alloc, d->store, d->store_cap, grown);
    if (p == NULL) {
        return TTRPC_E_NOMEM;
    }
    d->store = p;
    d->store_cap = grown;
    return TTRPC_OK;
}

static void decoder_start_header(ttrpc_decoder *d)
{
    d->phase = TTRPC_DECODER_HEADER;
    d->header_have = 0;
    d->data_have = 0;
}

/* PROTOCOL.md, Message Frame: "The maximum data length is 4MB and any larger size should be
 * rejected." The header is reported so the caller can answer on that stream; the data is then
 * skipped byte for byte, or frame sync would be lost. A non-zero reserved first byte implies a
 * length of 16 MiB or more and takes this same path. */
static void decoder_header_done(ttrpc_decoder *d)
{
    ttrpc_frame_header_read(d->header_bytes, &d->hdr);
    if (d->hdr.length > d->max_data) {
        d->phase = TTRPC_DECODER_SKIP;
        d->skip_left = d->hdr.length;
        d->oversize_pending = true;
        d->oversize_total++;
        return;
    }
    d->phase = d->hdr.length == 0 ? TTRPC_DECODER_READY : TTRPC_DECODER_DATA;
}

ttrpc_err ttrpc_decoder_feed(ttrpc_decoder *d, const uint8_t *in, size_t len, size_t *consumed)
{
    size_t used = 0;
    *consumed = 0;
    if (d->sticky != TTRPC_OK) {
        return d->sticky;
    }
    while (used < len) {
        size_t left = len - used;
        if (d->phase == TTRPC_DECODER_HEADER) {
            size_t take = min_size(left, TTRPC_FRAME_HEADER_LEN - d->header_have);
            memcpy(d->header_bytes + d->header_have, in + used, take);
            d->header_have += take;
            used += take;
            if (d->header_have == TTRPC_FRAME_HEADER_LEN) {
                decoder_header_done(d);
                if (d->phase == TTRPC_DECODER_SKIP) {
                    /* Stop here so next() reports the oversize before any other frame. */
                    break;
                }
            }
        } else if (d->phase == TTRPC_DECODER_DATA) {
            size_t want = (size_t)d->hdr.length - d->data_have;
            size_t take = min_size(left, want);
            ttrpc_err rc = decoder_reserve(d, d->data_have + take, d->hdr.length);
            if (rc != TTRPC_OK) {
                d->sticky = rc;
                d->phase = TTRPC_DECODER_FAILED;
                *consumed = used;
                return rc;
            }
            memcpy(d->store + d->data_have, in + used, take);
            d->data_have += take;
            used += take;
            if (d->data_have == d->hdr.length) {
                d->phase = TTRPC_DECODER_READY;
            }
        } else if (d->phase == TTRPC_DECODER_SKIP) {
            if (d->oversize_pending) {
                break;
            }
            size_t take = min_size(left, d->skip_left);
            d->skip_left -= (uint32_t)take;
            used += take;
            if (d->skip_left == 0) {
                decoder_start_header(d);
            }
        } else {
            break; /* READY: one frame at a time */
        }
        if (d->phase == TTRPC_DECODER_READY) {
            break;
        }
    }
    *consumed = used;
    return TTRPC_OK;
}

/* Large frames are most of the bytes a busy connection moves: letting the socket write them
 * straight into the store saves copying each one from a read buffer. The window grows as the
 * store would under ttrpc_decoder_feed (at most doubling what arrived, plus 64 KiB), so a
 * declared length still costs nothing until its bytes come. */
/* A store kept from an earlier, larger frame may hold more than this frame still needs. */
static size_t decoder_window_cap(const ttrpc_decoder *d)
{
    return min_size(d->store_cap, d->hdr.length) - d->data_have;
}

ttrpc_err ttrpc_decoder_input_window(ttrpc_decoder *d, uint8_t **buf, size_t *cap)
{
    *buf = NULL;
    *cap = 0;
    if (d->sticky != TTRPC_OK) {
        return d->sticky;
    }
    if (d->phase != TTRPC_DECODER_DATA) {
        return TTRPC_OK;
    }
    if (decoder_window_cap(d) > 0) {
        *buf = d->store + d->data_have;
        *cap = decoder_window_cap(d);
        return TTRPC_OK;
    }
    /* Full: grow by what has arrived (at least the minimum), never by the declared rest. */
    size_t want = (size_t)d->hdr.length - d->data_have;
    size_t step = d->data_have > TTRPC_DECODER_WINDOW_MIN ? d->data_have
                                                          : TTRPC_DECODER_WINDOW_MIN;
    ttrpc_err rc = decoder_reserve(d, d->data_have + min_size(want, step), d->hdr.length);
    if (rc != TTRPC_OK) {
        d->sticky = rc;
        d->phase = TTRPC_DECODER_FAILED;
        return rc;
    }
    *buf = d->store + d->data_have;
    *cap = decoder_window_cap(d);
    return TTRPC_OK;
}

ttrpc_err ttrpc_decoder_commit(ttrpc_decoder *d, size_t n)
{
    if (d->phase != TTRPC_DECODER_DATA || n > decoder_window_cap(d)) {
        return TTRPC_E_INVAL;
    }
    d->data_have += n;
    if (d->data_have == d->hdr.length) {
        d->phase = TTRPC_DECODER_READY;
    }
    return TTRPC_OK;
}

ttrpc_err ttrpc_decoder_next(ttrpc_decoder *d, ttrpc_frame *out)
{
    if (d->sticky != TTRPC_OK) {
        return d->sticky;
    }
    if (d->oversize_pending) {
        d->oversize_pending = false;
        out->hdr = d->hdr;
        out->data = NULL;
        if (d->skip_left == 0) {
            decoder_start_header(d);
        }
        return TTRPC_E_TOO_LARGE;
    }
    if (d->phase == TTRPC_DECODER_READY) {
        out->hdr = d->hdr;
        out->data = d->hdr.length == 0 ? NULL : d->store;
        d->frames_total++;
        /* The data stays in the store until the next feed or next: only reset the counters.
         * Shrinking waits for the next frame's start. */
        decoder_start_header(d);
        return TTRPC_OK;
    }
    return TTRPC_E_AGAIN;
}

size_t ttrpc_decoder_memory(const ttrpc_decoder *d)
{
    return d->store_cap;
}

/* The store is kept from one frame to the next: a peer sending large frames back to back would
 * otherwise make every frame regrow it, paying a page fault per 4 KiB (most of the time of a
 * 4 MiB call). The owner gives it back when the connection goes quiet. */
void ttrpc_decoder_trim(ttrpc_decoder *d)
{
    if (ttrpc_decoder_at_boundary(d) && d->store_cap > TTRPC_DECODER_IDLE_KEEP) {
        ttrpc_decoder_free(d);
    }
}

bool ttrpc_decoder_at_boundary(const ttrpc_decoder *d)
{
    return d->phase == TTRPC_DECODER_HEADER && d->header_have == 0;
}
