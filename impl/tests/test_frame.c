#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ttrpc/frame.h"

/* The unary echo Request of notes 2.1 on stream 1: header and data as a peer would send them. */
static const uint8_t REQ_S1[] = {
    0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x0a, 0x09, 'c', 'o', 'n', 'f',
    '.',  'E',  'c',  'h',  'o',  0x12, 0x04, 'E',  'c',  'h',  'o',  0x1a, 0x04, 0x0a, 0x02, 'h',
    'i',
};

/* A failing allocator: counts calls and refuses the one numbered fail_at (1-based). */
typedef struct counting_alloc {
    int calls;
    int fail_at;
    size_t live;
    size_t peak;
} counting_alloc;

static void *counting_resize(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    counting_alloc *c = ctx;
    if (new_size == 0) {
        free(ptr);
        c->live -= old_size;
        return NULL;
    }
    c->calls++;
    if (c->calls == c->fail_at) {
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p != NULL) {
        c->live = c->live - old_size + new_size;
        if (c->live > c->peak) {
            c->peak = c->live;
        }
    }
    return p;
}

static ttrpc_decoder new_decoder(uint32_t max, const ttrpc_allocator *a)
{
    ttrpc_decoder d;
    assert_int_equal(ttrpc_decoder_init(&d, max, a), TTRPC_OK);
    return d;
}

/* Feeds everything (pulling frames as they complete) and returns the frames' count; each
 * frame's header and data are appended to the caller's arrays. */
typedef struct seen_frames {
    ttrpc_frame_header hdr[16];
    uint8_t data[16][64];
    int oversize[16];
    int n;
} seen_frames;

static void pull_all(ttrpc_decoder *d, seen_frames *seen)
{
    ttrpc_frame f;
    for (;;) {
        ttrpc_err rc = ttrpc_decoder_next(d, &f);
        if (rc == TTRPC_E_AGAIN) {
            return;
        }
        assert_true(rc == TTRPC_OK || rc == TTRPC_E_TOO_LARGE);
        assert_true(seen->n < 16);
        seen->hdr[seen->n] = f.hdr;
        seen->oversize[seen->n] = rc == TTRPC_E_TOO_LARGE;
        if (rc == TTRPC_OK && f.hdr.length > 0) {
            assert_non_null(f.data);
            memcpy(seen->data[seen->n], f.data, f.hdr.length < 64 ? f.hdr.length : 64);
        }
        seen->n++;
    }
}

static void feed_chunks(ttrpc_decoder *d, const uint8_t *in, size_t len, size_t chunk,
                        seen_frames *seen)
{
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t used_total = 0;
        while (used_total < n) {
            size_t used = 0;
            assert_int_equal(ttrpc_decoder_feed(d, in + off + used_total, n - used_total, &used),
                             TTRPC_OK);
            used_total += used;
            pull_all(d, seen);
        }
        off += n;
    }
}

static void test_frame_header_write_big_endian(void **state)
{
    (void)state;
    ttrpc_frame_header h = {0x01020304u, 0x0a0b0c0du, 0x03, 0x05};
    uint8_t out[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header_write(&h, out);
    static const uint8_t want[] = {1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 3, 5};
    assert_memory_equal(out, want, sizeof want);
}

static void test_frame_header_read_round_trip(void **state)
{
    (void)state;
    static const uint32_t values[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000,
                                      TTRPC_FRAME_MAX_DATA, 0x7fffffffu, 0xffffffffu};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        ttrpc_frame_header h = {values[i], values[sizeof values / sizeof values[0] - 1 - i],
                                (uint8_t)i, (uint8_t)(0xff - i)};
        uint8_t buf[TTRPC_FRAME_HEADER_LEN];
        ttrpc_frame_header back;
        ttrpc_frame_header_write(&h, buf);
        ttrpc_frame_header_read(buf, &back);
        assert_int_equal(back.length, h.length);
        assert_int_equal(back.stream_id, h.stream_id);
        assert_int_equal(back.type, h.type);
        assert_int_equal(back.flags, h.flags);
    }
}

static void test_frame_encode_matches_vector(void **state)
{
    (void)state;
    ttrpc_frame_header h = {sizeof REQ_S1 - 10, 1, TTRPC_TYPE_REQUEST, 0};
    uint8_t out[64];
    size_t written = 0;
    assert_int_equal(ttrpc_frame_encode(&h, REQ_S1 + 10, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, sizeof REQ_S1);
    assert_memory_equal(out, REQ_S1, sizeof REQ_S1);
}

static void test_frame_encode_nospace_every_cap(void **state)
{
    (void)state;
    ttrpc_frame_header h = {sizeof REQ_S1 - 10, 1, TTRPC_TYPE_REQUEST, 0};
    uint8_t out[sizeof REQ_S1];
    for (size_t cap = 0; cap < sizeof REQ_S1; cap++) {
        size_t written = 12345;
        memset(out, 0xee, sizeof out);
        assert_int_equal(ttrpc_frame_encode(&h, REQ_S1 + 10, out, cap, &written),
                         TTRPC_E_NOSPACE);
        assert_int_equal(written, 12345); /* untouched on failure */
        for (size_t i = 0; i < sizeof out; i++) {
            assert_int_equal(out[i], 0xee); /* nothing written */
        }
    }
}

static void test_frame_encode_zero_length_null_data(void **state)
{
    (void)state;
    ttrpc_frame_header h = {0, 3, TTRPC_TYPE_DATA, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA};
    uint8_t out[TTRPC_FRAME_HEADER_LEN];
    size_t written = 0;
    assert_int_equal(ttrpc_frame_encode(&h, NULL, out, sizeof out, &written), TTRPC_OK);
    static const uint8_t want[] = {0, 0, 0, 0, 0, 0, 0, 3, 3, 5};
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(written, 10);
}

static void test_frame_encode_null_data_with_length(void **state)
{
    (void)state;
    ttrpc_frame_header h = {1, 1, TTRPC_TYPE_DATA, 0};
    uint8_t out[16];
    size_t written = 0;
    assert_int_equal(ttrpc_frame_encode(&h, NULL, out, sizeof out, &written), TTRPC_E_INVAL);
}

/* PROTOCOL.md, Message Frame: 4 MiB is the largest data length; one byte more is too large. */
static void test_frame_encode_max_and_over_max(void **state)
{
    (void)state;
    size_t cap = TTRPC_FRAME_HEADER_LEN + TTRPC_FRAME_MAX_DATA + 1;
    uint8_t *out = calloc(1, cap);
    uint8_t *data = calloc(1, TTRPC_FRAME_MAX_DATA + 1);
    assert_non_null(out);
    assert_non_null(data);
    size_t written = 0;
    ttrpc_frame_header h = {TTRPC_FRAME_MAX_DATA, 1, TTRPC_TYPE_DATA, 0};
    assert_int_equal(ttrpc_frame_encode(&h, data, out, cap, &written), TTRPC_OK);
    assert_int_equal(written, TTRPC_FRAME_HEADER_LEN + TTRPC_FRAME_MAX_DATA);
    h.length = TTRPC_FRAME_MAX_DATA + 1;
    assert_int_equal(ttrpc_frame_encode(&h, data, out, cap, &written), TTRPC_E_TOO_LARGE);
    h.length = 0xffffffffu;
    assert_int_equal(ttrpc_frame_encode(&h, data, out, cap, &written), TTRPC_E_TOO_LARGE);
    free(out);
    free(data);
}

static void test_frame_decoder_init_rejects_bad_max(void **state)
{
    (void)state;
    ttrpc_decoder d;
    assert_int_equal(ttrpc_decoder_init(&d, 0, NULL), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_decoder_init(&d, TTRPC_FRAME_MAX_DATA + 1, NULL), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_decoder_init(&d, TTRPC_FRAME_MAX_DATA, NULL), TTRPC_OK);
    ttrpc_decoder_free(&d);
}

static void test_frame_decoder_next_empty_is_again(void **state)
{
    (void)state;
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_E_AGAIN);
    assert_true(ttrpc_decoder_at_boundary(&d));
    assert_int_equal(ttrpc_decoder_memory(&d), 0);
    ttrpc_decoder_free(&d);
}

/* Peers write header and data separately or coalesce frames: every split must decode alike. */
static void test_frame_decoder_next_any_split(void **state)
{
    (void)state;
    for (size_t cut = 0; cut <= sizeof REQ_S1; cut++) {
        ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
        seen_frames seen = {0};
        size_t used = 0;
        assert_int_equal(ttrpc_decoder_feed(&d, REQ_S1, cut, &used), TTRPC_OK);
        assert_int_equal(used, cut);
        pull_all(&d, &seen);
        assert_int_equal(seen.n, cut == sizeof REQ_S1 ? 1 : 0);
        assert_int_equal(ttrpc_decoder_at_boundary(&d), cut == 0 || cut == sizeof REQ_S1);
        feed_chunks(&d, REQ_S1 + cut, sizeof REQ_S1 - cut, sizeof REQ_S1, &seen);
        assert_int_equal(seen.n, 1);
        assert_int_equal(seen.hdr[0].stream_id, 1);
        assert_int_equal(seen.hdr[0].type, TTRPC_TYPE_REQUEST);
        assert_int_equal(seen.hdr[0].length, sizeof REQ_S1 - 10);
        assert_memory_equal(seen.data[0], REQ_S1 + 10, sizeof REQ_S1 - 10);
        ttrpc_decoder_free(&d);
    }
}

static void test_frame_decoder_feed_byte_by_byte(void **state)
{
    (void)state;
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    seen_frames seen = {0};
    for (int rep = 0; rep < 3; rep++) {
        feed_chunks(&d, REQ_S1, sizeof REQ_S1, 1, &seen);
    }
    assert_int_equal(seen.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(seen.data[i], REQ_S1 + 10, sizeof REQ_S1 - 10);
    }
    assert_int_equal(d.frames_total, 3);
    ttrpc_decoder_free(&d);
}

/* Several frames in one write: feed stops at each frame boundary so one frame is held. */
static void test_frame_decoder_feed_stops_at_frame_end(void **state)
{
    (void)state;
    uint8_t two[2 * sizeof REQ_S1];
    memcpy(two, REQ_S1, sizeof REQ_S1);
    memcpy(two + sizeof REQ_S1, REQ_S1, sizeof REQ_S1);
    two[sizeof REQ_S1 + 7] = 3; /* second frame on stream 3 */
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    size_t used = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, two, sizeof two, &used), TTRPC_OK);
    assert_int_equal(used, sizeof REQ_S1);
    size_t again = 99;
    assert_int_equal(ttrpc_decoder_feed(&d, two + used, sizeof two - used, &again), TTRPC_OK);
    assert_int_equal(again, 0); /* a frame waits: nothing taken */
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_OK);
    assert_int_equal(f.hdr.stream_id, 1);
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_E_AGAIN);
    assert_int_equal(ttrpc_decoder_feed(&d, two + used, sizeof two - used, &again), TTRPC_OK);
    assert_int_equal(again, sizeof REQ_S1);
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_OK);
    assert_int_equal(f.hdr.stream_id, 3);
    ttrpc_decoder_free(&d);
}

static void test_frame_decoder_next_zero_length(void **state)
{
    (void)state;
    static const uint8_t close_frame[] = {0, 0, 0, 0, 0, 0, 0, 5, 3, 5};
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    size_t used = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, close_frame, sizeof close_frame, &used), TTRPC_OK);
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_OK);
    assert_int_equal(f.hdr.length, 0);
    assert_null(f.data);
    assert_int_equal(f.hdr.flags, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA);
    assert_int_equal(ttrpc_decoder_memory(&d), 0); /* nothing allocated for an empty frame */
    ttrpc_decoder_free(&d);
}

/* Header boundaries with a small limit, so the "limit" and "limit + 1" cases stay cheap. */
static void test_frame_decoder_next_limit_boundary_small(void **state)
{
    (void)state;
    uint8_t in[10 + 17 + 10 + 3];
    memset(in, 0xab, sizeof in);
    ttrpc_frame_header over = {17, 1, TTRPC_TYPE_DATA, 0};
    ttrpc_frame_header after = {3, 3, TTRPC_TYPE_DATA, 0};
    ttrpc_frame_header_write(&over, in);
    ttrpc_frame_header_write(&after, in + 27);
    for (size_t chunk = 1; chunk <= sizeof in; chunk++) {
        ttrpc_decoder d = new_decoder(16, NULL);
        seen_frames seen = {0};
        feed_chunks(&d, in, sizeof in, chunk, &seen);
        assert_int_equal(seen.n, 2);
        assert_true(seen.oversize[0]);
        assert_int_equal(seen.hdr[0].length, 17);
        assert_int_equal(seen.hdr[0].stream_id, 1);
        assert_false(seen.oversize[1]);
        assert_int_equal(seen.hdr[1].stream_id, 3);
        assert_int_equal(seen.hdr[1].length, 3);
        assert_int_equal(d.oversize_total, 1);
        assert_int_equal(ttrpc_decoder_memory(&d), 3 < 256 ? 3 : 256);
        ttrpc_decoder_free(&d);
    }
    /* Exactly the limit is accepted. */
    uint8_t ok[10 + 16];
    memset(ok, 0x11, sizeof ok);
    ttrpc_frame_header at = {16, 1, TTRPC_TYPE_DATA, 0};
    ttrpc_frame_header_write(&at, ok);
    ttrpc_decoder d = new_decoder(16, NULL);
    seen_frames seen = {0};
    feed_chunks(&d, ok, sizeof ok, sizeof ok, &seen);
    assert_int_equal(seen.n, 1);
    assert_false(seen.oversize[0]);
    ttrpc_decoder_free(&d);
}

/* PROTOCOL.md, Message Frame: 4194304 data bytes are accepted, 4194305 are not. */
static void test_frame_decoder_next_4mib_boundary(void **state)
{
    (void)state;
    size_t len = TTRPC_FRAME_HEADER_LEN + TTRPC_FRAME_MAX_DATA + 1;
    uint8_t *in = malloc(len);
    assert_non_null(in);
    memset(in, 0x5a, len);
    ttrpc_frame_header h = {TTRPC_FRAME_MAX_DATA, 7, TTRPC_TYPE_DATA, 0};
    ttrpc_frame_header_write(&h, in);
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    size_t used = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, in, len, &used), TTRPC_OK);
    assert_int_equal(used, TTRPC_FRAME_HEADER_LEN + TTRPC_FRAME_MAX_DATA);
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_OK);
    assert_int_equal(f.hdr.length, TTRPC_FRAME_MAX_DATA);
    assert_int_equal(f.data[TTRPC_FRAME_MAX_DATA - 1], 0x5a);
    ttrpc_decoder_free(&d);

    h.length = TTRPC_FRAME_MAX_DATA + 1;
    ttrpc_frame_header_write(&h, in);
    d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    assert_int_equal(ttrpc_decoder_feed(&d, in, len, &used), TTRPC_OK);
    assert_int_equal(used, TTRPC_FRAME_HEADER_LEN); /* stops to report */
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_E_TOO_LARGE);
    assert_int_equal(f.hdr.length, TTRPC_FRAME_MAX_DATA + 1);
    assert_int_equal(f.hdr.stream_id, 7);
    assert_null(f.data);
    size_t rest = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, in + used, len - used, &rest), TTRPC_OK);
    assert_int_equal(rest, len - used);
    assert_true(ttrpc_decoder_at_boundary(&d));
    assert_int_equal(ttrpc_decoder_memory(&d), 0); /* skipped, never stored */
    ttrpc_decoder_free(&d);
    free(in);
}

/* A header declaring 0xFFFFFFFF bytes costs nothing, however much of the body arrives. */
static void test_frame_decoder_next_length_max_u32(void **state)
{
    (void)state;
    uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header h = {0xffffffffu, 1, TTRPC_TYPE_REQUEST, 0};
    ttrpc_frame_header_write(&h, hdr);
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    size_t used = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, hdr, sizeof hdr, &used), TTRPC_OK);
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_E_TOO_LARGE);
    assert_int_equal(f.hdr.length, 0xffffffffu);
    static uint8_t zeros[65536];
    for (int i = 0; i < 64; i++) {
        assert_int_equal(ttrpc_decoder_feed(&d, zeros, sizeof zeros, &used), TTRPC_OK);
        assert_int_equal(used, sizeof zeros);
    }
    assert_int_equal(ttrpc_decoder_memory(&d), 0);
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_E_AGAIN);
    assert_false(ttrpc_decoder_at_boundary(&d));
    ttrpc_decoder_free(&d);
}

/* PROTOCOL.md, Message Frame: the first byte is reserved and should be zero. A non-zero one
 * means a length of at least 16 MiB, which the limit rejects. */
static void test_frame_decoder_next_reserved_byte_nonzero(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x01, 0, 0, 0, 0, 0, 0, 1, 1, 0};
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    size_t used = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, in, sizeof in, &used), TTRPC_OK);
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_E_TOO_LARGE);
    assert_int_equal(f.hdr.length, 0x01000000u);
    ttrpc_decoder_free(&d);
}

/* Memory follows the bytes that arrived, not the declared length. */
static void test_frame_decoder_feed_memory_follows_bytes(void **state)
{
    (void)state;
    counting_alloc c = {0, 0, 0, 0};
    ttrpc_allocator a = {counting_resize, &c};
    uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header h = {TTRPC_FRAME_MAX_DATA, 1, TTRPC_TYPE_DATA, 0};
    ttrpc_frame_header_write(&h, hdr);
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, &a);
    size_t used = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, hdr, sizeof hdr, &used), TTRPC_OK);
    assert_int_equal(c.live, 0);
    static uint8_t chunk[1000];
    size_t received = 0;
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(ttrpc_decoder_feed(&d, chunk, sizeof chunk, &used), TTRPC_OK);
        received += used;
        assert_true(c.live <= 2 * received + 256);
    }
    ttrpc_decoder_free(&d);
    assert_int_equal(c.live, 0);
}

/* After a large frame the store stays for the next frame; trim gives it back between frames
 * and never inside one. */
static void test_frame_decoder_trim_shrinks_between_frames(void **state)
{
    (void)state;
    size_t big = 200000;
    uint8_t *in = calloc(1, TTRPC_FRAME_HEADER_LEN + big);
    assert_non_null(in);
    ttrpc_frame_header h = {(uint32_t)big, 1, TTRPC_TYPE_DATA, 0};
    ttrpc_frame_header_write(&h, in);
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    size_t used = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, in, TTRPC_FRAME_HEADER_LEN + big, &used), TTRPC_OK);
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_OK);
    assert_true(ttrpc_decoder_memory(&d) >= big);
    assert_int_equal(ttrpc_decoder_feed(&d, REQ_S1, 3, &used), TTRPC_OK);
    assert_true(ttrpc_decoder_memory(&d) >= big); /* kept for the next frame */
    ttrpc_decoder_trim(&d);                       /* inside a header: nothing */
    assert_true(ttrpc_decoder_memory(&d) >= big);
    assert_int_equal(ttrpc_decoder_feed(&d, REQ_S1 + 3, sizeof REQ_S1 - 3, &used), TTRPC_OK);
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_OK);
    ttrpc_decoder_trim(&d);
    assert_int_equal(ttrpc_decoder_memory(&d), 0);
    ttrpc_decoder_free(&d);
    free(in);
}

/* The input window: closed in a header, open inside data, never wider than the frame still
 * needs (even over a store kept from a larger frame), growing only with bytes that arrived. */
static void test_frame_decoder_input_window(void **state)
{
    (void)state;
    size_t big = 300000;
    uint8_t *in = malloc(TTRPC_FRAME_HEADER_LEN + big);
    assert_non_null(in);
    for (size_t i = 0; i < big; i++) {
        in[TTRPC_FRAME_HEADER_LEN + i] = (uint8_t)(i * 7);
    }
    ttrpc_frame_header h = {(uint32_t)big, 1, TTRPC_TYPE_DATA, 0};
    ttrpc_frame_header_write(&h, in);
    ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
    uint8_t *win = NULL;
    size_t cap = 99;
    assert_int_equal(ttrpc_decoder_input_window(&d, &win, &cap), TTRPC_OK);
    assert_null(win); /* in a header: feed */
    assert_int_equal(cap, 0);
    size_t used = 0;
    assert_int_equal(ttrpc_decoder_feed(&d, in, TTRPC_FRAME_HEADER_LEN, &used), TTRPC_OK);
    size_t have = 0;
    while (have < big) {
        assert_int_equal(ttrpc_decoder_input_window(&d, &win, &cap), TTRPC_OK);
        assert_non_null(win);
        assert_true(cap > 0 && cap <= big - have);
        assert_true(ttrpc_decoder_memory(&d) <= 2 * have + TTRPC_DECODER_WINDOW_MIN);
        assert_int_equal(ttrpc_decoder_commit(&d, cap + 1), TTRPC_E_INVAL);
        size_t n = cap < 40000 ? cap : 40000; /* a short read */
        memcpy(win, in + TTRPC_FRAME_HEADER_LEN + have, n);
        assert_int_equal(ttrpc_decoder_commit(&d, n), TTRPC_OK);
        have += n;
    }
    ttrpc_frame f;
    assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_OK);
    assert_int_equal(f.hdr.length, big);
    assert_memory_equal(f.data, in + TTRPC_FRAME_HEADER_LEN, big);
    assert_int_equal(ttrpc_decoder_commit(&d, 1), TTRPC_E_INVAL); /* between frames */

    /* A 70,000-byte frame over the kept 300,000-byte store: the window stops at its end. */
    h.length = 70000;
    ttrpc_frame_header_write(&h, in);
    assert_int_equal(ttrpc_decoder_feed(&d, in, TTRPC_FRAME_HEADER_LEN + 5, &used), TTRPC_OK);
    assert_int_equal(ttrpc_decoder_input_window(&d, &win, &cap), TTRPC_OK);
    assert_int_equal(cap, 70000 - 5);
    ttrpc_decoder_free(&d);
    free(in);
}

/* Fail the N-th allocation for every N: the error is sticky, nothing leaks, nothing crashes. */
static void test_frame_decoder_feed_alloc_failure_sticky(void **state)
{
    (void)state;
    size_t len = TTRPC_FRAME_HEADER_LEN + 5000;
    uint8_t *in = calloc(1, len);
    assert_non_null(in);
    ttrpc_frame_header h = {5000, 1, TTRPC_TYPE_DATA, 0};
    ttrpc_frame_header_write(&h, in);
    for (int fail_at = 1;; fail_at++) {
        counting_alloc c = {0, fail_at, 0, 0};
        ttrpc_allocator a = {counting_resize, &c};
        ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, &a);
        seen_frames seen = {0};
        size_t off = 0;
        ttrpc_err rc = TTRPC_OK;
        while (off < len && rc == TTRPC_OK) {
            size_t used = 0;
            size_t n = len - off < 100 ? len - off : 100;
            rc = ttrpc_decoder_feed(&d, in + off, n, &used);
            off += used;
            if (rc == TTRPC_OK) {
                pull_all(&d, &seen);
            }
        }
        ttrpc_decoder_free(&d);
        assert_int_equal(c.live, 0);
        if (rc == TTRPC_OK) {
            assert_int_equal(seen.n, 1);
            assert_true(fail_at > 2);
            break;
        }
        assert_int_equal(rc, TTRPC_E_NOMEM);
        size_t used = 7;
        assert_int_equal(ttrpc_decoder_feed(&d, in, 1, &used), TTRPC_E_NOMEM);
        assert_int_equal(used, 0);
        ttrpc_frame f;
        assert_int_equal(ttrpc_decoder_next(&d, &f), TTRPC_E_NOMEM);
    }
    free(in);
}

/* Input that ends where a PROT_NONE page begins: any read past the end faults. */
static void test_frame_decoder_feed_no_overread(void **state)
{
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);
    for (size_t len = 1; len <= sizeof REQ_S1; len++) {
        uint8_t *in = map + page - len;
        memcpy(in, REQ_S1, len);
        ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
        seen_frames seen = {0};
        feed_chunks(&d, in, len, 1 + len % 7, &seen);
        assert_int_equal(seen.n, len == sizeof REQ_S1 ? 1 : 0);
        ttrpc_decoder_free(&d);
    }
    munmap(map, (size_t)page * 2);
}

/* Random streams of frames cut at random points decode to the same frames. */
static void test_frame_decoder_next_random_chunking(void **state)
{
    (void)state;
    uint8_t in[512];
    size_t len = 0;
    uint32_t lengths[8] = {0, 1, 9, 10, 11, 33, 64, 100};
    for (int i = 0; i < 8; i++) {
        ttrpc_frame_header h = {lengths[i], (uint32_t)(2 * i + 1), TTRPC_TYPE_DATA, (uint8_t)i};
        ttrpc_frame_header_write(&h, in + len);
        len += 10;
        for (uint32_t j = 0; j < lengths[i]; j++) {
            in[len++] = (uint8_t)(i * 31 + (int)j);
        }
    }
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        ttrpc_decoder d = new_decoder(TTRPC_FRAME_MAX_DATA, NULL);
        seen_frames seen = {0};
        size_t off = 0;
        while (off < len) {
            seed = seed * 1103515245u + 12345u;
            size_t n = 1 + (seed >> 16) % 40;
            if (n > len - off) {
                n = len - off;
            }
            feed_chunks(&d, in + off, n, n, &seen);
            off += n;
        }
        assert_int_equal(seen.n, 8);
        for (int i = 0; i < 8; i++) {
            assert_int_equal(seen.hdr[i].length, lengths[i]);
            assert_int_equal(seen.hdr[i].stream_id, 2 * i + 1);
            assert_int_equal(seen.hdr[i].flags, i);
            for (uint32_t j = 0; j < lengths[i] && j < 64; j++) {
                assert_int_equal(seen.data[i][j], (uint8_t)(i * 31 + (int)j));
            }
        }
        ttrpc_decoder_free(&d);
    }
}

/* Two oversized frames back to back are each reported once, in order. */
static void test_frame_decoder_next_two_oversize_in_a_row(void **state)
{
    (void)state;
    uint8_t in[2 * (10 + 5)];
    memset(in, 0, sizeof in);
    ttrpc_frame_header a = {5, 1, TTRPC_TYPE_REQUEST, 0};
    ttrpc_frame_header b = {5, 3, TTRPC_TYPE_REQUEST, 0};
    ttrpc_frame_header_write(&a, in);
    ttrpc_frame_header_write(&b, in + 15);
    for (size_t chunk = 1; chunk <= sizeof in; chunk++) {
        ttrpc_decoder d = new_decoder(4, NULL);
        seen_frames seen = {0};
        feed_chunks(&d, in, sizeof in, chunk, &seen);
        assert_int_equal(seen.n, 2);
        assert_true(seen.oversize[0] && seen.oversize[1]);
        assert_int_equal(seen.hdr[0].stream_id, 1);
        assert_int_equal(seen.hdr[1].stream_id, 3);
        assert_true(ttrpc_decoder_at_boundary(&d));
        ttrpc_decoder_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_header_write_big_endian),
        cmocka_unit_test(test_frame_header_read_round_trip),
        cmocka_unit_test(test_frame_encode_matches_vector),
        cmocka_unit_test(test_frame_encode_nospace_every_cap),
        cmocka_unit_test(test_frame_encode_zero_length_null_data),
        cmocka_unit_test(test_frame_encode_null_data_with_length),
        cmocka_unit_test(test_frame_encode_max_and_over_max),
        cmocka_unit_test(test_frame_decoder_init_rejects_bad_max),
        cmocka_unit_test(test_frame_decoder_next_empty_is_again),
        cmocka_unit_test(test_frame_decoder_next_any_split),
        cmocka_unit_test(test_frame_decoder_feed_byte_by_byte),
        cmocka_unit_test(test_frame_decoder_feed_stops_at_frame_end),
        cmocka_unit_test(test_frame_decoder_next_zero_length),
        cmocka_unit_test(test_frame_decoder_next_limit_boundary_small),
        cmocka_unit_test(test_frame_decoder_next_4mib_boundary),
        cmocka_unit_test(test_frame_decoder_next_length_max_u32),
        cmocka_unit_test(test_frame_decoder_next_reserved_byte_nonzero),
        cmocka_unit_test(test_frame_decoder_feed_memory_follows_bytes),
        cmocka_unit_test(test_frame_decoder_trim_shrinks_between_frames),
        cmocka_unit_test(test_frame_decoder_input_window),
        cmocka_unit_test(test_frame_decoder_feed_alloc_failure_sticky),
        cmocka_unit_test(test_frame_decoder_feed_no_overread),
        cmocka_unit_test(test_frame_decoder_next_random_chunking),
        cmocka_unit_test(test_frame_decoder_next_two_oversize_in_a_row),
    };
    return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
