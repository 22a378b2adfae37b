/* Unit tests for impl/src/msg.c. Hex vectors were computed by hand from notes 1.4 and 2.1 (key
 * byte = field << 3 | wire type); they are inputs and expected outputs, not an encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ttrpc/msg.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Vectors ---- */

/* Notes 2.1: conf.Echo/Echo with payload BytesValue "hi". */
static const uint8_t REQ_UNARY[] = {
    0x0a, 0x09, 'c', 'o', 'n', 'f', '.', 'E', 'c', 'h', 'o', /* service */
    0x12, 0x04, 'E', 'c', 'h', 'o',                          /* method */
    0x1a, 0x04, 0x0a, 0x02, 0x68, 0x69,                      /* payload */
};
static const size_t REQ_UNARY_FIELD_ENDS[] = {0, 11, 17, 23};

/* service "s", method "m", timeout_nano 1e9 (varint 80 94 eb dc 03), metadata {k: v}. */
static const uint8_t REQ_META[] = {
    0x0a, 0x01, 's',                         /* service */
    0x12, 0x01, 'm',                         /* method */
    0x20, 0x80, 0x94, 0xeb, 0xdc, 0x03,     /* timeout_nano */
    0x2a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v', /* metadata */
};
static const size_t REQ_META_FIELD_ENDS[] = {0, 3, 6, 12, 20};

/* Notes 1.4: timeout_nano is two's complement, -1 is a 10-byte varint. */
static const uint8_t REQ_TIMEOUT_MINUS_ONE[] = {
    0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
};
static const size_t REQ_TIMEOUT_FIELD_ENDS[] = {0, 11};

static const uint8_t HI_PAYLOAD[] = {0x0a, 0x02, 0x68, 0x69};

/* Notes 2.1: the three success/error forms of the unary Response. */
static const uint8_t RESP_GO_OK[] = {0x12, 0x04, 0x0a, 0x02, 0x68, 0x69};
static const size_t RESP_GO_OK_FIELD_ENDS[] = {0, 6};
static const uint8_t RESP_RUST_OK[] = {0x0a, 0x00, 0x12, 0x04, 0x0a, 0x02, 0x68, 0x69};
static const size_t RESP_RUST_OK_FIELD_ENDS[] = {0, 2, 8};
static const uint8_t RESP_ERROR[] = {0x0a, 0x05, 0x08, 0x0c, 0x12, 0x01, 'x'};
static const size_t RESP_ERROR_FIELD_ENDS[] = {0, 7};

/* code 3, message "bad", one detail {type_url "t", value 01 02}. */
static const uint8_t STATUS_DETAILS[] = {
    0x08, 0x03,                                           /* code */
    0x12, 0x03, 'b', 'a', 'd',                            /* message */
    0x1a, 0x07, 0x0a, 0x01, 't', 0x12, 0x02, 0x01, 0x02, /* details[0] */
};
static const size_t STATUS_DETAILS_FIELD_ENDS[] = {0, 2, 7, 16};

/* ["a", "", "ü"]: repeated fields have no presence, so the empty item is on the wire. */
static const uint8_t STRING_LIST[] = {0x0a, 0x01, 'a', 0x0a, 0x00, 0x0a, 0x02, 0xc3, 0xbc};
static const size_t STRING_LIST_FIELD_ENDS[] = {0, 3, 5, 9};

static const uint8_t BAD_UTF8[] = {0xc0, 0x80};

/* ---- Helpers ---- */

static ttrpc_bytes bytes_of_array(const uint8_t *p, size_t n)
{
    ttrpc_bytes b = {p, n};
    return b;
}

static void assert_bytes_eq(ttrpc_bytes got, const void *want, size_t want_len)
{
    assert_int_equal(got.len, want_len);
    if (want_len > 0) {
        assert_non_null(got.data);
        assert_memory_equal(got.data, want, want_len);
    }
}

static void assert_bytes_str(ttrpc_bytes got, const char *want)
{
    assert_bytes_eq(got, want, strlen(want));
}

static void assert_bytes_same(ttrpc_bytes a, ttrpc_bytes b)
{
    assert_bytes_eq(a, b.data, b.len);
}

/* Copies an input so that its last byte is the last before a PROT_NONE page: a decoder that
 * reads one byte too far faults instead of reading stale memory. */
typedef struct guarded {
    uint8_t *map;
    size_t map_len;
    const uint8_t *data;
} guarded;

static guarded guard_copy(const uint8_t *in, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (len + page - 1) / page * page;
    if (body == 0) {
        body = page;
    }
    guarded g;
    g.map_len = body + page;
    g.map = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g.map != MAP_FAILED);
    assert_int_equal(mprotect(g.map + body, page, PROT_NONE), 0);
    uint8_t *start = g.map + body - len;
    if (len > 0) {
        memcpy(start, in, len);
    }
    g.data = start;
    return g;
}

static void guard_free(guarded *g)
{
    assert_int_equal(munmap(g->map, g->map_len), 0);
}

/* An allocator that can fail its N-th allocation and checks the sizes it is given back: each
 * block records its size, so a wrong old_size on free (bad budget bookkeeping) is caught. */
typedef struct test_alloc {
    size_t calls;   /* allocations attempted so far */
    size_t fail_at; /* 1-based call to refuse; 0 never refuses */
    size_t live_bytes;
    size_t live_blocks;
} test_alloc;

typedef union test_block {
    size_t size;
    max_align_t align;
} test_block;

static void *test_resize(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    test_alloc *t = ctx;
    if (new_size == 0) {
        if (ptr != NULL) {
            test_block *b = (test_block *)ptr - 1;
            assert_int_equal(b->size, old_size);
            assert_true(t->live_bytes >= old_size);
            t->live_bytes -= old_size;
            t->live_blocks--;
            free(b);
        }
        return NULL;
    }
    /* msg only allocates and frees; a grow would need the size check above too. */
    assert_null(ptr);
    t->calls++;
    if (t->fail_at != 0 && t->calls == t->fail_at) {
        return NULL;
    }
    test_block *b = malloc(sizeof *b + new_size);
    assert_non_null(b);
    b->size = new_size;
    t->live_bytes += new_size;
    t->live_blocks++;
    return b + 1;
}

static ttrpc_allocator test_allocator(test_alloc *t)
{
    ttrpc_allocator a = {test_resize, t};
    return a;
}

/* ---- ttrpc_utf8_valid ---- */

static bool utf8(const char *s, size_t n)
{
    return ttrpc_utf8_valid(bytes_of_array((const uint8_t *)s, n));
}

static void test_msg_utf8_valid_multibyte(void **state)
{
    (void)state;
    assert_true(utf8("", 0));
    assert_true(ttrpc_utf8_valid(bytes_of_array(NULL, 0)));
    assert_true(utf8("plain ascii", 11));
    assert_true(utf8("a\0b", 3));                /* NUL is a code point like any other */
    assert_true(utf8("\x7f", 1));                /* U+007F, last 1-byte */
    assert_true(utf8("\xc2\x80", 2));            /* U+0080, first 2-byte */
    assert_true(utf8("\xc3\xbc", 2));            /* ü */
    assert_true(utf8("\xdf\xbf", 2));            /* U+07FF */
    assert_true(utf8("\xe0\xa0\x80", 3));        /* U+0800, first 3-byte */
    assert_true(utf8("\xe2\x82\xac", 3));        /* € */
    assert_true(utf8("\xed\x9f\xbf", 3));        /* U+D7FF, just below the surrogates */
    assert_true(utf8("\xee\x80\x80", 3));        /* U+E000, just above them */
    assert_true(utf8("\xef\xbf\xbf", 3));        /* U+FFFF */
    assert_true(utf8("\xf0\x90\x80\x80", 4));    /* U+10000, first 4-byte */
    assert_true(utf8("\xf0\x9f\x98\x80", 4));    /* emoji */
    assert_true(utf8("\xf4\x8f\xbf\xbf", 4));    /* U+10FFFF, the last code point */
    assert_true(utf8("a\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80z", 11));
}

static void test_msg_utf8_valid_rejects_overlong(void **state)
{
    (void)state;
    assert_false(utf8("\xc0\x80", 2));         /* U+0000 in two bytes */
    assert_false(utf8("\xc1\xbf", 2));         /* U+007F in two bytes */
    assert_false(utf8("\xe0\x80\x80", 3));     /* U+0000 in three bytes */
    assert_false(utf8("\xe0\x9f\xbf", 3));     /* U+07FF in three bytes */
    assert_false(utf8("\xf0\x80\x80\x80", 4)); /* U+0000 in four bytes */
    assert_false(utf8("\xf0\x8f\xbf\xbf", 4)); /* U+FFFF in four bytes */
}

static void test_msg_utf8_valid_rejects_surrogate(void **state)
{
    (void)state;
    assert_false(utf8("\xed\xa0\x80", 3)); /* U+D800 */
    assert_false(utf8("\xed\xbf\xbf", 3)); /* U+DFFF */
    assert_false(utf8("a\xed\xb0\x80z", 5));
}

static void test_msg_utf8_valid_rejects_above_max(void **state)
{
    (void)state;
    assert_false(utf8("\xf4\x90\x80\x80", 4)); /* U+110000 */
    assert_false(utf8("\xf5\x80\x80\x80", 4));
    assert_false(utf8("\xf8\x88\x80\x80\x80", 5)); /* old 5-byte form */
    assert_false(utf8("\xff", 1));
    assert_false(utf8("\xfe", 1));
}

static void test_msg_utf8_valid_rejects_truncated(void **state)
{
    (void)state;
    assert_false(utf8("\xe2\x82", 2));
    assert_false(utf8("\xc3", 1));
    assert_false(utf8("\xf0\x9f\x98", 3));
    assert_false(utf8("ok\xe2", 3));
    /* A truncated sequence followed by ASCII: the ASCII is not a continuation byte. */
    assert_false(utf8("\xe2\x82z", 3));
    assert_false(utf8("\xf0\x9f\x98z", 4));
}

static void test_msg_utf8_valid_rejects_lone_continuation(void **state)
{
    (void)state;
    assert_false(utf8("\x80", 1));
    assert_false(utf8("\xbf", 1));
    assert_false(utf8("a\x80z", 3));
    assert_false(utf8("\xc3\xbc\xbc", 3)); /* one continuation too many */
    /* A NULL pointer with a length cannot be read, so it is not valid text. */
    assert_false(ttrpc_utf8_valid(bytes_of_array(NULL, 1)));
}

/* ---- Small helpers of the API ---- */

static void test_msg_bytes_of_null_and_string(void **state)
{
    (void)state;
    ttrpc_bytes b = ttrpc_bytes_of(NULL);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    b = ttrpc_bytes_of("conf.Echo");
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "conf.Echo", 9);
    b = ttrpc_bytes_of("");
    assert_int_equal(b.len, 0);
}

static void test_msg_bytes_equal_str_exact(void **state)
{
    (void)state;
    assert_true(ttrpc_bytes_equal_str(ttrpc_bytes_of("Echo"), "Echo"));
    assert_false(ttrpc_bytes_equal_str(ttrpc_bytes_of("Echo"), "echo"));
    assert_false(ttrpc_bytes_equal_str(ttrpc_bytes_of("Echo"), "Ech"));
    assert_false(ttrpc_bytes_equal_str(ttrpc_bytes_of("Ech"), "Echo"));
    assert_true(ttrpc_bytes_equal_str(bytes_of_array(NULL, 0), ""));
    assert_true(ttrpc_bytes_equal_str(bytes_of_array(NULL, 0), NULL));
    /* Embedded NUL: the C string ends early, the bytes do not. */
    assert_false(ttrpc_bytes_equal_str(bytes_of_array((const uint8_t *)"a\0b", 3), "a"));
    assert_false(ttrpc_bytes_equal_str(bytes_of_array(NULL, 4), "Echo"));
}

static void test_msg_code_name_every_code(void **state)
{
    (void)state;
    static const char *const want[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    for (int32_t c = 0; c <= 16; c++) {
        assert_non_null(ttrpc_code_name(c));
        assert_string_equal(ttrpc_code_name(c), want[c]);
    }
    assert_string_equal(ttrpc_code_name(TTRPC_CODE_INVALID_ARGUMENT), "INVALID_ARGUMENT");
    assert_null(ttrpc_code_name(-1));
    assert_null(ttrpc_code_name(17));
    assert_null(ttrpc_code_name(99));
    assert_null(ttrpc_code_name(INT32_MIN));
    assert_null(ttrpc_code_name(INT32_MAX));
}

/* ---- Encoding: exact canonical bytes ---- */

static ttrpc_request unary_request(void)
{
    ttrpc_request r = {0};
    r.service = ttrpc_bytes_of("conf.Echo");
    r.method = ttrpc_bytes_of("Echo");
    r.has_payload = true;
    r.payload = bytes_of_array(HI_PAYLOAD, sizeof HI_PAYLOAD);
    return r;
}

static void assert_request_encodes(const ttrpc_request *r, const uint8_t *want, size_t want_len)
{
    uint8_t out[256];
    size_t written = 9999;
    assert_int_equal(ttrpc_request_encode(r, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, want_len);
    if (want_len > 0) {
        assert_memory_equal(out, want, want_len);
    }
    size_t size = 9999;
    assert_int_equal(ttrpc_request_encoded_size(r, &size), TTRPC_OK);
    assert_int_equal(size, want_len);
}

static void assert_response_encodes(const ttrpc_response *r, const uint8_t *want,
                                    size_t want_len)
{
    uint8_t out[256];
    size_t written = 9999;
    assert_int_equal(ttrpc_response_encode(r, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, want_len);
    if (want_len > 0) {
        assert_memory_equal(out, want, want_len);
    }
    size_t size = 9999;
    assert_int_equal(ttrpc_response_encoded_size(r, &size), TTRPC_OK);
    assert_int_equal(size, want_len);
}

static void test_msg_request_encode_unary_vector(void **state)
{
    (void)state;
    ttrpc_request r = unary_request();
    assert_request_encodes(&r, REQ_UNARY, sizeof REQ_UNARY);
    /* A non-empty payload is not a default value: it is sent whatever has_payload says. */
    r.has_payload = false;
    assert_request_encodes(&r, REQ_UNARY, sizeof REQ_UNARY);
}

static void test_msg_request_encode_metadata_timeout_vector(void **state)
{
    (void)state;
    ttrpc_kv kv = {ttrpc_bytes_of("k"), ttrpc_bytes_of("v")};
    ttrpc_request r = {0};
    r.service = ttrpc_bytes_of("s");
    r.method = ttrpc_bytes_of("m");
    r.timeout_nano = 1000000000;
    r.metadata = &kv;
    r.n_metadata = 1;
    assert_request_encodes(&r, REQ_META, sizeof REQ_META);
}

static void test_msg_request_encode_negative_timeout(void **state)
{
    (void)state;
    ttrpc_request r = {0};
    r.timeout_nano = -1;
    assert_request_encodes(&r, REQ_TIMEOUT_MINUS_ONE, sizeof REQ_TIMEOUT_MINUS_ONE);
    static const uint8_t min[] = {0x20, 0x80, 0x80, 0x80, 0x80, 0x80,
                                  0x80, 0x80, 0x80, 0x80, 0x01};
    r.timeout_nano = INT64_MIN;
    assert_request_encodes(&r, min, sizeof min);
}

/* Notes 1.4, Request.payload: present-but-empty differs from absent for the Go server. */
static void test_msg_request_encode_payload_presence(void **state)
{
    (void)state;
    static const uint8_t absent[] = {0x0a, 0x01, 's'};
    static const uint8_t empty[] = {0x0a, 0x01, 's', 0x1a, 0x00};
    ttrpc_request r = {0};
    r.service = ttrpc_bytes_of("s");
    assert_request_encodes(&r, absent, sizeof absent);
    r.has_payload = true;
    assert_request_encodes(&r, empty, sizeof empty);
    r.payload = bytes_of_array((const uint8_t *)"", 0); /* non-NULL, empty: same thing */
    assert_request_encodes(&r, empty, sizeof empty);
}

/* proto3 canonical form: an all-defaults message is zero bytes, which fit a NULL buffer. */
static void test_msg_request_encode_all_defaults_empty(void **state)
{
    (void)state;
    ttrpc_request r = {0};
    assert_request_encodes(&r, NULL, 0);
    size_t written = 9999;
    assert_int_equal(ttrpc_request_encode(&r, NULL, 0, &written), TTRPC_OK);
    assert_int_equal(written, 0);
    ttrpc_response resp = {0};
    assert_response_encodes(&resp, NULL, 0);
}

static void test_msg_response_encode_go_ok(void **state)
{
    (void)state;
    ttrpc_response r = {0};
    r.payload = bytes_of_array(HI_PAYLOAD, sizeof HI_PAYLOAD);
    assert_response_encodes(&r, RESP_GO_OK, sizeof RESP_GO_OK);
}

static void test_msg_response_encode_rust_ok(void **state)
{
    (void)state;
    ttrpc_response r = {0};
    r.has_status = true;
    r.payload = bytes_of_array(HI_PAYLOAD, sizeof HI_PAYLOAD);
    assert_response_encodes(&r, RESP_RUST_OK, sizeof RESP_RUST_OK);
}

static void test_msg_response_encode_error_vector(void **state)
{
    (void)state;
    ttrpc_response r = {0};
    r.has_status = true;
    r.status.code = TTRPC_CODE_UNIMPLEMENTED;
    r.status.message = ttrpc_bytes_of("x");
    assert_response_encodes(&r, RESP_ERROR, sizeof RESP_ERROR);
    /* An error is never dropped for want of has_status. */
    r.has_status = false;
    assert_response_encodes(&r, RESP_ERROR, sizeof RESP_ERROR);
}

static void test_msg_status_encode_details_vector(void **state)
{
    (void)state;
    static const uint8_t value[] = {0x01, 0x02};
    ttrpc_any any = {ttrpc_bytes_of("t"), bytes_of_array(value, sizeof value)};
    ttrpc_status s = {TTRPC_CODE_INVALID_ARGUMENT, ttrpc_bytes_of("bad"), &any, 1};
    uint8_t out[64];
    size_t written = 0;
    assert_int_equal(ttrpc_status_encode(&s, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, sizeof STATUS_DETAILS);
    assert_memory_equal(out, STATUS_DETAILS, sizeof STATUS_DETAILS);

    /* int32 code -1 is sign-extended to a 10-byte varint, as int64 would be. */
    static const uint8_t minus_one[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0x01};
    ttrpc_status neg = {-1, {NULL, 0}, NULL, 0};
    assert_int_equal(ttrpc_status_encode(&neg, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, sizeof minus_one);
    assert_memory_equal(out, minus_one, sizeof minus_one);
}

static void test_msg_string_list_encode_vector(void **state)
{
    (void)state;
    ttrpc_bytes items[] = {ttrpc_bytes_of("a"), ttrpc_bytes_of(""), ttrpc_bytes_of("\xc3\xbc")};
    ttrpc_string_list l = {items, ARRAY_LEN(items)};
    uint8_t out[64];
    size_t written = 0;
    assert_int_equal(ttrpc_string_list_encode(&l, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, sizeof STRING_LIST);
    assert_memory_equal(out, STRING_LIST, sizeof STRING_LIST);
}

/* ---- Encoding: capacity, sizes, invalid input ---- */

typedef ttrpc_err (*encode_fn)(const void *m, uint8_t *out, size_t cap, size_t *written);
typedef ttrpc_err (*size_fn)(const void *m, size_t *size);

static ttrpc_err enc_request(const void *m, uint8_t *out, size_t cap, size_t *w)
{
    return ttrpc_request_encode(m, out, cap, w);
}
static ttrpc_err enc_response(const void *m, uint8_t *out, size_t cap, size_t *w)
{
    return ttrpc_response_encode(m, out, cap, w);
}
static ttrpc_err enc_status(const void *m, uint8_t *out, size_t cap, size_t *w)
{
    return ttrpc_status_encode(m, out, cap, w);
}
static ttrpc_err enc_string_list(const void *m, uint8_t *out, size_t cap, size_t *w)
{
    return ttrpc_string_list_encode(m, out, cap, w);
}
static ttrpc_err size_request(const void *m, size_t *s)
{
    return ttrpc_request_encoded_size(m, s);
}
static ttrpc_err size_response(const void *m, size_t *s)
{
    return ttrpc_response_encoded_size(m, s);
}
static ttrpc_err size_status(const void *m, size_t *s)
{
    return ttrpc_status_encoded_size(m, s);
}
static ttrpc_err size_string_list(const void *m, size_t *s)
{
    return ttrpc_string_list_encoded_size(m, s);
}

/* Every cap below the size is NOSPACE with nothing written (not even out[0]) and *written
 * untouched; the exact size succeeds. The output sits before a PROT_NONE page. */
static void check_nospace_every_cap(encode_fn enc, size_fn size_of, const void *m)
{
    size_t size = 0;
    assert_int_equal(size_of(m, &size), TTRPC_OK);
    assert_true(size > 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    assert_true(size <= page);
    uint8_t *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                        0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + page, page, PROT_NONE), 0);
    for (size_t cap = 0; cap <= size; cap++) {
        uint8_t *out = map + page - cap;
        memset(map, 0xa5, page);
        size_t written = 12345;
        ttrpc_err rc = enc(m, cap == 0 ? NULL : out, cap, &written);
        if (cap < size) {
            assert_int_equal(rc, TTRPC_E_NOSPACE);
            assert_int_equal(written, 12345);
            for (size_t i = 0; i < page; i++) {
                assert_int_equal(map[i], 0xa5);
            }
        } else {
            assert_int_equal(rc, TTRPC_OK);
            assert_int_equal(written, size);
        }
    }
    assert_int_equal(munmap(map, 2 * page), 0);
}

static void test_msg_encode_nospace_every_cap(void **state)
{
    (void)state;
    ttrpc_kv kv[] = {{ttrpc_bytes_of("k"), ttrpc_bytes_of("v")}, {{NULL, 0}, {NULL, 0}}};
    ttrpc_request req = unary_request();
    req.timeout_nano = -5;
    req.metadata = kv;
    req.n_metadata = ARRAY_LEN(kv);
    check_nospace_every_cap(enc_request, size_request, &req);

    ttrpc_any any = {ttrpc_bytes_of("type.googleapis.com/x"), ttrpc_bytes_of("v")};
    ttrpc_response resp = {0};
    resp.status.code = 5;
    resp.status.details = &any;
    resp.status.n_details = 1;
    resp.payload = bytes_of_array(HI_PAYLOAD, sizeof HI_PAYLOAD);
    check_nospace_every_cap(enc_response, size_response, &resp);
    ttrpc_response rust_ok = {0};
    rust_ok.has_status = true;
    check_nospace_every_cap(enc_response, size_response, &rust_ok);

    check_nospace_every_cap(enc_status, size_status, &resp.status);

    ttrpc_bytes items[] = {ttrpc_bytes_of("a"), ttrpc_bytes_of("")};
    ttrpc_string_list l = {items, ARRAY_LEN(items)};
    check_nospace_every_cap(enc_string_list, size_string_list, &l);
}

static void test_msg_encoded_size_matches_encode(void **state)
{
    (void)state;
    static uint8_t big[70000]; /* a payload whose length prefix takes 3 bytes */
    ttrpc_kv kv[40];
    for (size_t i = 0; i < ARRAY_LEN(kv); i++) {
        kv[i].key = ttrpc_bytes_of("key");
        kv[i].value = ttrpc_bytes_of(i % 2 ? "" : "value");
    }
    ttrpc_request req = {ttrpc_bytes_of("svc"), ttrpc_bytes_of("m"), true,
                         bytes_of_array(big, sizeof big), 7, kv, ARRAY_LEN(kv)};
    static uint8_t out[80000];
    size_t size = 0;
    size_t written = 0;
    assert_int_equal(ttrpc_request_encoded_size(&req, &size), TTRPC_OK);
    assert_int_equal(ttrpc_request_encode(&req, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(size, written);
    assert_int_equal(out[0], 0x0a);

    ttrpc_response resp = {true, {TTRPC_CODE_INTERNAL, ttrpc_bytes_of("boom"), NULL, 0},
                           bytes_of_array(big, sizeof big)};
    assert_int_equal(ttrpc_response_encoded_size(&resp, &size), TTRPC_OK);
    assert_int_equal(ttrpc_response_encode(&resp, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(size, written);

    assert_int_equal(ttrpc_status_encoded_size(&resp.status, &size), TTRPC_OK);
    assert_int_equal(ttrpc_status_encode(&resp.status, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(size, written);
    assert_int_equal(size, 8); /* 08 0d 12 04 "boom" */

    ttrpc_bytes items[3] = {ttrpc_bytes_of("x"), ttrpc_bytes_of(""), ttrpc_bytes_of("yz")};
    ttrpc_string_list l = {items, 3};
    assert_int_equal(ttrpc_string_list_encoded_size(&l, &size), TTRPC_OK);
    assert_int_equal(ttrpc_string_list_encode(&l, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(size, written);
    assert_int_equal(size, 9);
}

/* Notes 1.4: "Strings must be valid UTF-8"; we never put a malformed one on the wire. */
static void test_msg_request_encode_rejects_bad_utf8(void **state)
{
    (void)state;
    ttrpc_bytes bad = bytes_of_array(BAD_UTF8, sizeof BAD_UTF8);
    uint8_t out[64];
    size_t written = 777;
    size_t size = 777;

    ttrpc_request r = unary_request();
    r.service = bad;
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_request_encoded_size(&r, &size), TTRPC_E_INVAL);
    r = unary_request();
    r.method = bad;
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);

    ttrpc_kv kv[2] = {{ttrpc_bytes_of("ok"), ttrpc_bytes_of("ok")},
                      {ttrpc_bytes_of("ok"), ttrpc_bytes_of("ok")}};
    r = unary_request();
    r.metadata = kv;
    r.n_metadata = 2;
    kv[1].key = bad;
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);
    kv[1].key = ttrpc_bytes_of("ok");
    kv[1].value = bad;
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);
    assert_int_equal(written, 777);
    assert_int_equal(size, 777);

    /* The payload is bytes: anything goes. */
    r = unary_request();
    r.payload = bad;
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_OK);
}

static void test_msg_status_encode_rejects_bad_utf8(void **state)
{
    (void)state;
    ttrpc_bytes bad = bytes_of_array(BAD_UTF8, sizeof BAD_UTF8);
    uint8_t out[64];
    size_t written = 777;

    ttrpc_any any = {ttrpc_bytes_of("t"), bad}; /* Any.value is bytes: fine */
    ttrpc_status s = {3, bad, &any, 1};
    assert_int_equal(ttrpc_status_encode(&s, out, sizeof out, &written), TTRPC_E_INVAL);
    ttrpc_response resp = {true, s, {NULL, 0}};
    assert_int_equal(ttrpc_response_encode(&resp, out, sizeof out, &written), TTRPC_E_INVAL);
    s.message = ttrpc_bytes_of("ok");
    assert_int_equal(ttrpc_status_encode(&s, out, sizeof out, &written), TTRPC_OK);
    any.type_url = bad;
    assert_int_equal(ttrpc_status_encode(&s, out, sizeof out, &written), TTRPC_E_INVAL);
    resp.status = s;
    assert_int_equal(ttrpc_response_encode(&resp, out, sizeof out, &written), TTRPC_E_INVAL);

    ttrpc_bytes items[] = {ttrpc_bytes_of("a"), bytes_of_array((const uint8_t *)"\xed\xa0\x80", 3)};
    ttrpc_string_list l = {items, 2};
    written = 777;
    assert_int_equal(ttrpc_string_list_encode(&l, out, sizeof out, &written), TTRPC_E_INVAL);
    assert_int_equal(written, 777);
}

static void test_msg_encode_rejects_null_with_length(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t written = 777;
    ttrpc_request r = unary_request();
    r.payload = bytes_of_array(NULL, 3);
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);
    r = unary_request();
    r.n_metadata = 1; /* metadata stays NULL */
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);
    ttrpc_status s = {1, {NULL, 0}, NULL, 2};
    assert_int_equal(ttrpc_status_encode(&s, out, sizeof out, &written), TTRPC_E_INVAL);
    ttrpc_string_list l = {NULL, 1};
    assert_int_equal(ttrpc_string_list_encode(&l, out, sizeof out, &written), TTRPC_E_INVAL);
    /* A buffer pointer of NULL is only fine with no capacity. */
    r = unary_request();
    assert_int_equal(ttrpc_request_encode(&r, NULL, 64, &written), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, NULL), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_request_encode(NULL, out, sizeof out, &written), TTRPC_E_INVAL);
    assert_int_equal(written, 777);
}

/* protobuf's 2 GiB message limit: refused before a byte is read, so a short buffer with a
 * huge claimed length is safe to pass here. */
static void test_msg_request_encode_rejects_over_2gib(void **state)
{
    (void)state;
    static const uint8_t small[4];
    uint8_t out[16];
    size_t written = 777;
    size_t size = 777;
    ttrpc_request r = {0};
    r.payload = bytes_of_array(small, (size_t)INT32_MAX);
    assert_int_equal(ttrpc_request_encoded_size(&r, &size), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);
    r.payload = bytes_of_array(small, (size_t)UINT32_MAX + 1);
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);
    r.payload = bytes_of_array(small, SIZE_MAX);
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_E_INVAL);
    /* Two bytes fields that fit alone but not together. */
    ttrpc_any any = {{NULL, 0}, bytes_of_array(small, (size_t)INT32_MAX / 2)};
    ttrpc_response resp = {0};
    resp.status.details = &any;
    resp.status.n_details = 1;
    resp.payload = bytes_of_array(small, (size_t)INT32_MAX / 2);
    assert_int_equal(ttrpc_response_encode(&resp, out, sizeof out, &written), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_status_encode(&resp.status, out, sizeof out, &written),
                     TTRPC_E_NOSPACE);
    assert_int_equal(written, 777);
    assert_int_equal(size, 777);
}

/* ---- Decoding: the vectors ---- */

/* With keep_spare the payload's block outlives a reset and serves the next large decode, so
 * back-to-back large messages do not each take fresh pages; trim gives it back. A small decode
 * never borrows it past its budget. */
static void test_msg_arena_spare_reused_then_trimmed(void **state)
{
    (void)state;
    size_t big = 200000;
    uint8_t *payload = calloc(1, big);
    assert_non_null(payload);
    ttrpc_request req;
    memset(&req, 0, sizeof req);
    req.service = ttrpc_bytes_of("conf.Echo");
    req.method = ttrpc_bytes_of("Echo");
    req.payload = bytes_of_array(payload, big);
    req.has_payload = true;
    size_t cap = big + 256;
    uint8_t *enc = malloc(cap);
    assert_non_null(enc);
    size_t n = 0;
    assert_int_equal(ttrpc_request_encode(&req, enc, cap, &n), TTRPC_OK);

    test_alloc t = {0};
    ttrpc_allocator alloc = test_allocator(&t);
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, &alloc, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_msg_arena_keep_spare(&a);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(enc, n, &a, &r), TTRPC_OK);
    size_t live_first = t.live_bytes;
    ttrpc_msg_arena_reset(&a);
    assert_true(a.spare_size >= big);
    assert_int_equal(t.live_bytes, a.spare_size);

    assert_int_equal(ttrpc_request_decode(enc, n, &a, &r), TTRPC_OK);
    assert_int_equal(t.live_bytes, live_first); /* the spare, not a new block */
    assert_int_equal(a.spare_size, 0);
    assert_bytes_eq(r.payload, payload, big);
    ttrpc_msg_arena_reset(&a);

    a.budget = 100000; /* below the spare's size */
    size_t spare = a.spare_size;
    assert_int_equal(ttrpc_request_decode(REQ_UNARY, sizeof REQ_UNARY, &a, &r), TTRPC_OK);
    assert_int_equal(a.spare_size, spare);
    assert_true(ttrpc_msg_arena_memory(&a) >= spare);
    ttrpc_msg_arena_reset(&a);
    ttrpc_msg_arena_trim(&a);
    assert_int_equal(t.live_bytes, 0);
    assert_int_equal(ttrpc_msg_arena_memory(&a), 0);
    free(enc);
    free(payload);
}

static void test_msg_request_decode_unary_vector(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(REQ_UNARY, sizeof REQ_UNARY, &a, &r), TTRPC_OK);
    assert_true(ttrpc_bytes_equal_str(r.service, "conf.Echo"));
    assert_true(ttrpc_bytes_equal_str(r.method, "Echo"));
    assert_true(r.has_payload);
    assert_bytes_eq(r.payload, HI_PAYLOAD, sizeof HI_PAYLOAD);
    assert_int_equal(r.timeout_nano, 0);
    assert_int_equal(r.n_metadata, 0);
    ttrpc_msg_arena_reset(&a);
    assert_int_equal(a.used, 0);
}

static void test_msg_request_decode_metadata_timeout_vector(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(REQ_META, sizeof REQ_META, &a, &r), TTRPC_OK);
    assert_bytes_str(r.service, "s");
    assert_bytes_str(r.method, "m");
    assert_false(r.has_payload);
    assert_int_equal(r.payload.len, 0);
    assert_int_equal(r.timeout_nano, 1000000000);
    assert_int_equal(r.n_metadata, 1);
    assert_bytes_str(r.metadata[0].key, "k");
    assert_bytes_str(r.metadata[0].value, "v");

    assert_int_equal(ttrpc_request_decode(REQ_TIMEOUT_MINUS_ONE, sizeof REQ_TIMEOUT_MINUS_ONE,
                                          &a, &r),
                     TTRPC_OK);
    assert_int_equal(r.timeout_nano, -1);
    assert_int_equal(r.service.len, 0);
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_response_decode_go_ok(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_response r;
    assert_int_equal(ttrpc_response_decode(RESP_GO_OK, sizeof RESP_GO_OK, &a, &r), TTRPC_OK);
    assert_false(r.has_status);
    assert_int_equal(r.status.code, TTRPC_CODE_OK);
    assert_int_equal(r.status.n_details, 0);
    assert_bytes_eq(r.payload, HI_PAYLOAD, sizeof HI_PAYLOAD);
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_response_decode_rust_ok(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_response r;
    assert_int_equal(ttrpc_response_decode(RESP_RUST_OK, sizeof RESP_RUST_OK, &a, &r),
                     TTRPC_OK);
    assert_true(r.has_status);
    assert_int_equal(r.status.code, TTRPC_CODE_OK);
    assert_int_equal(r.status.message.len, 0);
    assert_int_equal(r.status.n_details, 0);
    assert_bytes_eq(r.payload, HI_PAYLOAD, sizeof HI_PAYLOAD);
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_response_decode_error_vector(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_response r;
    assert_int_equal(ttrpc_response_decode(RESP_ERROR, sizeof RESP_ERROR, &a, &r), TTRPC_OK);
    assert_true(r.has_status);
    assert_int_equal(r.status.code, TTRPC_CODE_UNIMPLEMENTED);
    assert_bytes_str(r.status.message, "x");
    assert_int_equal(r.payload.len, 0);
    ttrpc_msg_arena_reset(&a);
}

/* Notes 2.1: a zero-length Response is success (containerd/ttrpc-rust#49 hung on it). */
static void test_msg_response_decode_zero_length(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_response r;
    memset(&r, 0x5a, sizeof r);
    guarded g = guard_copy(NULL, 0);
    assert_int_equal(ttrpc_response_decode(g.data, 0, &a, &r), TTRPC_OK);
    assert_false(r.has_status);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(r.status.message.len, 0);
    assert_int_equal(r.status.n_details, 0);
    assert_int_equal(r.payload.len, 0);
    assert_int_equal(ttrpc_response_decode(NULL, 0, &a, &r), TTRPC_OK);
    assert_false(r.has_status);
    guard_free(&g);
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_status_decode_details(void **state)
{
    (void)state;
    /* code 9, message "m", details [{t1, 01}, {"", ""}, {t3, ff}]: a detail's value is
     * bytes, so ff is fine. */
    static const uint8_t in[] = {
        0x08, 0x09, 0x12, 0x01, 'm',                         /* code, message */
        0x1a, 0x07, 0x0a, 0x02, 't', '1', 0x12, 0x01, 0x01, /* details[0] */
        0x1a, 0x00,                                          /* details[1] */
        0x1a, 0x07, 0x0a, 0x02, 't', '3', 0x12, 0x01, 0xff, /* details[2] */
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_status s;
    assert_int_equal(ttrpc_status_decode(in, sizeof in, &a, &s), TTRPC_OK);
    assert_int_equal(s.code, TTRPC_CODE_FAILED_PRECONDITION);
    assert_bytes_str(s.message, "m");
    assert_int_equal(s.n_details, 3);
    assert_bytes_str(s.details[0].type_url, "t1");
    assert_bytes_eq(s.details[0].value, "\x01", 1);
    assert_int_equal(s.details[1].type_url.len, 0);
    assert_int_equal(s.details[1].value.len, 0);
    assert_bytes_str(s.details[2].type_url, "t3");
    assert_bytes_eq(s.details[2].value, "\xff", 1);

    assert_int_equal(ttrpc_status_decode(STATUS_DETAILS, sizeof STATUS_DETAILS, &a, &s),
                     TTRPC_OK);
    assert_int_equal(s.code, 3);
    assert_bytes_str(s.message, "bad");
    assert_int_equal(s.n_details, 1);

    /* The same details inside a Response. */
    uint8_t resp[2 + sizeof in] = {0x0a, (uint8_t)sizeof in};
    memcpy(resp + 2, in, sizeof in);
    ttrpc_response r;
    assert_int_equal(ttrpc_response_decode(resp, sizeof resp, &a, &r), TTRPC_OK);
    assert_true(r.has_status);
    assert_int_equal(r.status.n_details, 3);
    assert_bytes_str(r.status.details[2].type_url, "t3");
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_string_list_decode_vector(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_string_list l;
    assert_int_equal(ttrpc_string_list_decode(STRING_LIST, sizeof STRING_LIST, &a, &l),
                     TTRPC_OK);
    assert_int_equal(l.n_items, 3);
    assert_bytes_str(l.items[0], "a");
    assert_int_equal(l.items[1].len, 0);
    assert_bytes_str(l.items[2], "\xc3\xbc");
    assert_int_equal(ttrpc_string_list_decode(NULL, 0, &a, &l), TTRPC_OK);
    assert_int_equal(l.n_items, 0);
    ttrpc_msg_arena_reset(&a);
}

/* ---- Decoding: what a real peer may send ---- */

/* Notes 1.4: "Decoders must accept any order". */
static void test_msg_request_decode_reordered_fields(void **state)
{
    (void)state;
    static const uint8_t in[] = {
        0x2a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v', /* metadata */
        0x1a, 0x04, 0x0a, 0x02, 0x68, 0x69,           /* payload */
        0x20, 0x05,                                   /* timeout_nano */
        0x12, 0x04, 'E', 'c', 'h', 'o',               /* method */
        0x2a, 0x06, 0x12, 0x01, 'w', 0x0a, 0x01, 'j', /* metadata, value before key */
        0x0a, 0x09, 'c', 'o', 'n', 'f', '.', 'E', 'c', 'h', 'o', /* service */
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(in, sizeof in, &a, &r), TTRPC_OK);
    assert_bytes_str(r.service, "conf.Echo");
    assert_bytes_str(r.method, "Echo");
    assert_true(r.has_payload);
    assert_bytes_eq(r.payload, HI_PAYLOAD, sizeof HI_PAYLOAD);
    assert_int_equal(r.timeout_nano, 5);
    assert_int_equal(r.n_metadata, 2);
    assert_bytes_str(r.metadata[0].key, "k");
    assert_bytes_str(r.metadata[0].value, "v");
    assert_bytes_str(r.metadata[1].key, "j");
    assert_bytes_str(r.metadata[1].value, "w");

    /* Re-encoding gives the canonical (ascending) order. */
    uint8_t out[64];
    size_t written = 0;
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, sizeof in);
    assert_memory_equal(out, REQ_UNARY, sizeof REQ_UNARY);
    ttrpc_msg_arena_reset(&a);
}

/* Notes 1.4: "repeated singular fields (last wins)". */
static void test_msg_request_decode_duplicate_field_last_wins(void **state)
{
    (void)state;
    static const uint8_t in[] = {
        0x0a, 0x01, 'a', 0x20, 0x01, 0x1a, 0x02, 0xab, 0xcd, 0x12, 0x01, 'm',
        0x0a, 0x01, 'b', 0x20, 0x02, 0x1a, 0x00,
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(in, sizeof in, &a, &r), TTRPC_OK);
    assert_bytes_str(r.service, "b");
    assert_bytes_str(r.method, "m");
    assert_int_equal(r.timeout_nano, 2);
    assert_true(r.has_payload); /* the last payload is present and empty */
    assert_int_equal(r.payload.len, 0);
    ttrpc_msg_arena_reset(&a);
}

/* A repeated embedded message merges (protobuf rule): scalar fields of the later one win,
 * fields it lacks survive from the earlier one. */
static void test_msg_response_decode_duplicate_status_merges(void **state)
{
    (void)state;
    static const uint8_t merged[] = {
        0x0a, 0x05, 0x08, 0x05, 0x12, 0x01, 'a', /* status {code 5, message "a"} */
        0x12, 0x01, 'p',                         /* payload */
        0x0a, 0x07, 0x08, 0x07, 0x1a, 0x03, 0x0a, 0x01, 't', /* status {code 7, [Any t]} */
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_response r;
    assert_int_equal(ttrpc_response_decode(merged, sizeof merged, &a, &r), TTRPC_OK);
    assert_true(r.has_status);
    assert_int_equal(r.status.code, 7);
    assert_bytes_str(r.status.message, "a");
    assert_int_equal(r.status.n_details, 1);
    assert_bytes_str(r.status.details[0].type_url, "t");
    assert_bytes_str(r.payload, "p");
    ttrpc_msg_arena_reset(&a);
}

/* Notes 1.4 and 3.2: unknown fields are skipped by both peers. */
static void test_msg_request_decode_unknown_fields_each_wire_type(void **state)
{
    (void)state;
    static const uint8_t unknown[] = {
        0x30, 0x96, 0x01,                                     /* field 6, varint 150 */
        0x39, 1, 2, 3, 4, 5, 6, 7, 8,                         /* field 7, 64-bit */
        0x42, 0x03, 0x0a, 0x01, 0xff,                         /* field 8, length-delimited */
        0x4d, 1, 2, 3, 4,                                     /* field 9, 32-bit */
        0xc0, 0x3e, 0x00,                                     /* field 1000, varint 0 */
        0xfa, 0xff, 0xff, 0xff, 0x0f, 0x00,                   /* field 2^29-1, empty bytes */
    };
    uint8_t in[sizeof unknown + sizeof REQ_UNARY + sizeof unknown];
    memcpy(in, unknown, sizeof unknown);
    memcpy(in + sizeof unknown, REQ_UNARY, sizeof REQ_UNARY);
    memcpy(in + sizeof unknown + sizeof REQ_UNARY, unknown, sizeof unknown);
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(in, sizeof in, &a, &r), TTRPC_OK);
    assert_bytes_str(r.service, "conf.Echo");
    assert_bytes_str(r.method, "Echo");
    assert_bytes_eq(r.payload, HI_PAYLOAD, sizeof HI_PAYLOAD);

    /* Inside nested messages too: Status field 4 and Any field 3 are unknown. */
    static const uint8_t nested[] = {
        0x0a, 0x0b, 0x20, 0x01, 0x08, 0x02, 0x1a, 0x05, 0x0a, 0x01, 't', 0x18, 0x00,
    };
    ttrpc_response resp;
    assert_int_equal(ttrpc_response_decode(nested, sizeof nested, &a, &resp), TTRPC_OK);
    assert_int_equal(resp.status.code, 2);
    assert_int_equal(resp.status.n_details, 1);
    assert_bytes_str(resp.status.details[0].type_url, "t");
    ttrpc_msg_arena_reset(&a);
}

/* protobuf-c 1.4 has no group support: wire types 3 and 4 (proto2 groups, absent from proto3)
 * fail the decode where Go and Rust would skip them. Wire types 6 and 7 do not exist. */
static void test_msg_request_decode_group_and_bad_wire_types(void **state)
{
    (void)state;
    static const uint8_t group[] = {0x0a, 0x01, 's', 0x53, 0x54};
    static const uint8_t end_group[] = {0x0a, 0x01, 's', 0x54};
    static const uint8_t type6[] = {0x0a, 0x01, 's', 0x56, 0x00};
    static const uint8_t type7[] = {0x0a, 0x01, 's', 0x57, 0x00};
    static const uint8_t field0[] = {0x00, 0x00};
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(group, sizeof group, &a, &r), TTRPC_E_DECODE);
    assert_int_equal(ttrpc_request_decode(end_group, sizeof end_group, &a, &r), TTRPC_E_DECODE);
    assert_int_equal(ttrpc_request_decode(type6, sizeof type6, &a, &r), TTRPC_E_DECODE);
    assert_int_equal(ttrpc_request_decode(type7, sizeof type7, &a, &r), TTRPC_E_DECODE);
    assert_int_equal(ttrpc_request_decode(field0, sizeof field0, &a, &r), TTRPC_E_DECODE);
    assert_int_equal(a.used, 0);
}

/* Notes 3.2: field 1 with the wrong wire type (Rust fails the decode; Go skips it). Through
 * protobuf-c we side with Rust for every known field. */
static void test_msg_request_decode_wrong_wire_type(void **state)
{
    (void)state;
    static const uint8_t service_varint[] = {0x08, 0x01};
    static const uint8_t method_fixed32[] = {0x15, 1, 2, 3, 4};
    static const uint8_t payload_varint[] = {0x18, 0x00};
    static const uint8_t timeout_bytes[] = {0x22, 0x01, 0x05};
    static const uint8_t timeout_fixed64[] = {0x21, 1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t metadata_varint[] = {0x28, 0x01};
    static const uint8_t kv_key_varint[] = {0x2a, 0x02, 0x08, 0x01};
    const struct {
        const uint8_t *p;
        size_t n;
    } cases[] = {
        {service_varint, sizeof service_varint},   {method_fixed32, sizeof method_fixed32},
        {payload_varint, sizeof payload_varint},   {timeout_bytes, sizeof timeout_bytes},
        {timeout_fixed64, sizeof timeout_fixed64}, {metadata_varint, sizeof metadata_varint},
        {kv_key_varint, sizeof kv_key_varint},
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_int_equal(ttrpc_request_decode(cases[i].p, cases[i].n, &a, &r), TTRPC_E_DECODE);
        assert_int_equal(a.used, 0);
    }
    static const uint8_t status_varint[] = {0x08, 0x00};
    static const uint8_t code_bytes[] = {0x0a, 0x02, 0x0a, 0x00};
    ttrpc_response resp;
    assert_int_equal(ttrpc_response_decode(status_varint, sizeof status_varint, &a, &resp),
                     TTRPC_E_DECODE);
    assert_int_equal(ttrpc_response_decode(code_bytes, sizeof code_bytes, &a, &resp),
                     TTRPC_E_DECODE);
    static const uint8_t item_varint[] = {0x08, 0x01};
    ttrpc_string_list l;
    assert_int_equal(ttrpc_string_list_decode(item_varint, sizeof item_varint, &a, &l),
                     TTRPC_E_DECODE);
}

static void test_msg_request_decode_bad_varints(void **state)
{
    (void)state;
    /* 11 varint bytes: longer than any 64-bit value. */
    static const uint8_t too_long[] = {0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0x01};
    /* A length prefix pointing past the end, and one above 4 GiB. */
    static const uint8_t past_end[] = {0x0a, 0x05, 'a'};
    static const uint8_t huge_len[] = {0x1a, 0xff, 0xff, 0xff, 0xff, 0x7f, 'a'};
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(too_long, sizeof too_long, &a, &r), TTRPC_E_DECODE);
    assert_int_equal(ttrpc_request_decode(past_end, sizeof past_end, &a, &r), TTRPC_E_DECODE);
    assert_int_equal(ttrpc_request_decode(huge_len, sizeof huge_len, &a, &r), TTRPC_E_DECODE);
}

typedef ttrpc_err (*decode_fn)(const uint8_t *in, size_t len, ttrpc_msg_arena *a, void *out);

static ttrpc_err dec_request(const uint8_t *in, size_t len, ttrpc_msg_arena *a, void *out)
{
    return ttrpc_request_decode(in, len, a, out);
}
static ttrpc_err dec_response(const uint8_t *in, size_t len, ttrpc_msg_arena *a, void *out)
{
    return ttrpc_response_decode(in, len, a, out);
}
static ttrpc_err dec_status(const uint8_t *in, size_t len, ttrpc_msg_arena *a, void *out)
{
    return ttrpc_status_decode(in, len, a, out);
}
static ttrpc_err dec_string_list(const uint8_t *in, size_t len, ttrpc_msg_arena *a, void *out)
{
    return ttrpc_string_list_decode(in, len, a, out);
}

/* Frames end anywhere a peer cuts them: each prefix either ends on a field boundary (a valid,
 * shorter message) or is TTRPC_E_DECODE, and is read from just before a PROT_NONE page. */
static void check_every_prefix(decode_fn dec, const uint8_t *in, size_t len, const size_t *ends,
                               size_t n_ends)
{
    union {
        ttrpc_request req;
        ttrpc_response resp;
        ttrpc_status status;
        ttrpc_string_list list;
    } out;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    for (size_t cut = 0; cut <= len; cut++) {
        bool boundary = false;
        for (size_t i = 0; i < n_ends; i++) {
            boundary = boundary || ends[i] == cut;
        }
        guarded g = guard_copy(in, cut);
        ttrpc_err rc = dec(g.data, cut, &a, &out);
        if (boundary) {
            assert_int_equal(rc, TTRPC_OK);
        } else {
            assert_int_equal(rc, TTRPC_E_DECODE);
            assert_int_equal(a.used, 0);
        }
        guard_free(&g);
    }
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_decode_truncated_every_length(void **state)
{
    (void)state;
    check_every_prefix(dec_request, REQ_UNARY, sizeof REQ_UNARY, REQ_UNARY_FIELD_ENDS,
                       ARRAY_LEN(REQ_UNARY_FIELD_ENDS));
    check_every_prefix(dec_request, REQ_META, sizeof REQ_META, REQ_META_FIELD_ENDS,
                       ARRAY_LEN(REQ_META_FIELD_ENDS));
    check_every_prefix(dec_request, REQ_TIMEOUT_MINUS_ONE, sizeof REQ_TIMEOUT_MINUS_ONE,
                       REQ_TIMEOUT_FIELD_ENDS, ARRAY_LEN(REQ_TIMEOUT_FIELD_ENDS));
    check_every_prefix(dec_response, RESP_GO_OK, sizeof RESP_GO_OK, RESP_GO_OK_FIELD_ENDS,
                       ARRAY_LEN(RESP_GO_OK_FIELD_ENDS));
    check_every_prefix(dec_response, RESP_RUST_OK, sizeof RESP_RUST_OK, RESP_RUST_OK_FIELD_ENDS,
                       ARRAY_LEN(RESP_RUST_OK_FIELD_ENDS));
    check_every_prefix(dec_response, RESP_ERROR, sizeof RESP_ERROR, RESP_ERROR_FIELD_ENDS,
                       ARRAY_LEN(RESP_ERROR_FIELD_ENDS));
    check_every_prefix(dec_status, STATUS_DETAILS, sizeof STATUS_DETAILS,
                       STATUS_DETAILS_FIELD_ENDS, ARRAY_LEN(STATUS_DETAILS_FIELD_ENDS));
    check_every_prefix(dec_string_list, STRING_LIST, sizeof STRING_LIST, STRING_LIST_FIELD_ENDS,
                       ARRAY_LEN(STRING_LIST_FIELD_ENDS));
}

/* Notes 1.4: "both peers reject a Request with bad UTF-8 as a decode error". */
static void test_msg_request_decode_bad_utf8_each_field(void **state)
{
    (void)state;
    static const uint8_t service[] = {0x0a, 0x02, 0xc0, 0x80, 0x12, 0x01, 'm'};
    static const uint8_t method[] = {0x0a, 0x01, 's', 0x12, 0x03, 0xed, 0xa0, 0x80};
    static const uint8_t key[] = {0x2a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v',
                                  0x2a, 0x05, 0x0a, 0x01, 0x80, 0x12, 0x00};
    static const uint8_t value[] = {0x2a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v',
                                    0x2a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 0xff};
    const struct {
        const uint8_t *p;
        size_t n;
    } cases[] = {
        {service, sizeof service},
        {method, sizeof method},
        {key, sizeof key},
        {value, sizeof value},
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        ttrpc_request r;
        memset(&r, 0x5a, sizeof r);
        ttrpc_request before = r;
        assert_int_equal(ttrpc_request_decode(cases[i].p, cases[i].n, &a, &r), TTRPC_E_DECODE);
        assert_memory_equal(&r, &before, sizeof r);
        assert_int_equal(a.used, 0);
        assert_null(a.unpacked);
        assert_null(a.arrays);
    }
    /* The payload is bytes and is never checked. */
    static const uint8_t payload[] = {0x1a, 0x02, 0xc0, 0x80};
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(payload, sizeof payload, &a, &r), TTRPC_OK);
    assert_bytes_eq(r.payload, "\xc0\x80", 2);
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_status_decode_bad_utf8_each_field(void **state)
{
    (void)state;
    static const uint8_t message[] = {0x08, 0x02, 0x12, 0x02, 0xe2, 0x82};
    static const uint8_t type_url[] = {0x1a, 0x05, 0x0a, 0x01, 0xff, 0x12, 0x00};
    static const uint8_t resp_message[] = {0x0a, 0x03, 0x12, 0x01, 0xff};
    static const uint8_t resp_type_url[] = {0x0a, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0xff};
    static const uint8_t list_item[] = {0x0a, 0x01, 'a', 0x0a, 0x04, 0xf4, 0x90, 0x80, 0x80};
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_status s;
    ttrpc_response r;
    ttrpc_string_list l;
    assert_int_equal(ttrpc_status_decode(message, sizeof message, &a, &s), TTRPC_E_DECODE);
    assert_int_equal(ttrpc_status_decode(type_url, sizeof type_url, &a, &s), TTRPC_E_DECODE);
    assert_int_equal(a.used, 0);
    assert_int_equal(ttrpc_response_decode(resp_message, sizeof resp_message, &a, &r),
                     TTRPC_E_DECODE);
    assert_int_equal(ttrpc_response_decode(resp_type_url, sizeof resp_type_url, &a, &r),
                     TTRPC_E_DECODE);
    assert_int_equal(ttrpc_string_list_decode(list_item, sizeof list_item, &a, &l),
                     TTRPC_E_DECODE);
    assert_int_equal(a.used, 0);
    assert_null(a.unpacked);

    /* Any.value and Response.payload are bytes. */
    static const uint8_t any_value[] = {0x1a, 0x03, 0x12, 0x01, 0xff};
    static const uint8_t resp_payload[] = {0x12, 0x01, 0xff};
    assert_int_equal(ttrpc_status_decode(any_value, sizeof any_value, &a, &s), TTRPC_OK);
    assert_bytes_eq(s.details[0].value, "\xff", 1);
    assert_int_equal(ttrpc_response_decode(resp_payload, sizeof resp_payload, &a, &r),
                     TTRPC_OK);
    ttrpc_msg_arena_reset(&a);
}

/* Notes 3.2: a zero-length Request or an empty service still decodes; routing then fails. */
static void test_msg_request_decode_empty_service(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x0a, 0x00, 0x12, 0x04, 'E', 'c', 'h', 'o'};
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(in, sizeof in, &a, &r), TTRPC_OK);
    assert_int_equal(r.service.len, 0);
    assert_true(ttrpc_bytes_equal_str(r.service, ""));
    assert_bytes_str(r.method, "Echo");
    assert_int_equal(ttrpc_request_decode(NULL, 0, &a, &r), TTRPC_OK);
    assert_int_equal(r.service.len, 0);
    assert_int_equal(r.method.len, 0);
    assert_false(r.has_payload);
    assert_int_equal(r.n_metadata, 0);
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_request_decode_payload_presence(void **state)
{
    (void)state;
    static const uint8_t absent[] = {0x0a, 0x01, 's'};
    static const uint8_t empty[] = {0x0a, 0x01, 's', 0x1a, 0x00};
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(absent, sizeof absent, &a, &r), TTRPC_OK);
    assert_false(r.has_payload);
    assert_int_equal(r.payload.len, 0);
    assert_int_equal(ttrpc_request_decode(empty, sizeof empty, &a, &r), TTRPC_OK);
    assert_true(r.has_payload);
    assert_int_equal(r.payload.len, 0);
    /* And it survives a re-encode. */
    uint8_t out[16];
    size_t written = 0;
    assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, sizeof empty);
    assert_memory_equal(out, empty, sizeof empty);
    ttrpc_msg_arena_reset(&a);
}

/* Notes 3.6: no limit on metadata beyond the frame size. */
static void test_msg_request_decode_1000_metadata(void **state)
{
    (void)state;
    enum { N = 1000, ENTRY = 14 }; /* 2a 0c 0a 04 kNNN 12 04 vNNN */
    uint8_t *in = malloc(N * ENTRY);
    assert_non_null(in);
    for (size_t i = 0; i < N; i++) {
        uint8_t *e = in + i * ENTRY;
        char digits[4];
        snprintf(digits, sizeof digits, "%03zu", i);
        e[0] = 0x2a;
        e[1] = 0x0c;
        e[2] = 0x0a;
        e[3] = 0x04;
        e[4] = 'k';
        memcpy(e + 5, digits, 3);
        e[8] = 0x12;
        e[9] = 0x04;
        e[10] = 'v';
        memcpy(e + 11, digits, 3);
    }
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(in, N * ENTRY, &a, &r), TTRPC_OK);
    assert_int_equal(r.n_metadata, N);
    for (size_t i = 0; i < N; i++) {
        char want[8];
        snprintf(want, sizeof want, "k%03zu", i);
        assert_true(ttrpc_bytes_equal_str(r.metadata[i].key, want));
        want[0] = 'v';
        assert_true(ttrpc_bytes_equal_str(r.metadata[i].value, want));
    }
    /* Re-encoding gives back the very same bytes. */
    size_t size = 0;
    assert_int_equal(ttrpc_request_encoded_size(&r, &size), TTRPC_OK);
    assert_int_equal(size, N * ENTRY);
    uint8_t *out = malloc(size);
    assert_non_null(out);
    size_t written = 0;
    assert_int_equal(ttrpc_request_encode(&r, out, size, &written), TTRPC_OK);
    assert_memory_equal(out, in, size);
    free(out);
    free(in);
    ttrpc_msg_arena_reset(&a);
}

/* Notes 1.4: "repeated keys and an empty key are allowed"; the wire order is kept. */
static void test_msg_request_decode_repeated_keys_in_order(void **state)
{
    (void)state;
    static const uint8_t in[] = {
        0x2a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, '1', /* a=1 */
        0x2a, 0x06, 0x0a, 0x01, 'A', 0x12, 0x01, '2', /* A=2: case is kept */
        0x2a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, '3', /* a=3 */
        0x2a, 0x03, 0x12, 0x01, '4',                  /* empty key, value 4 */
        0x2a, 0x00,                                   /* empty key, empty value */
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(in, sizeof in, &a, &r), TTRPC_OK);
    assert_int_equal(r.n_metadata, 5);
    static const char *const keys[] = {"a", "A", "a", "", ""};
    static const char *const values[] = {"1", "2", "3", "4", ""};
    for (size_t i = 0; i < 5; i++) {
        assert_true(ttrpc_bytes_equal_str(r.metadata[i].key, keys[i]));
        assert_true(ttrpc_bytes_equal_str(r.metadata[i].value, values[i]));
    }
    ttrpc_msg_arena_reset(&a);
}

/* ---- The byte budget and allocation failures ---- */

enum { FLOOD_ENTRIES = 100000 };

static uint8_t *metadata_flood(size_t *len)
{
    *len = 2 * (size_t)FLOOD_ENTRIES;
    uint8_t *in = malloc(*len);
    assert_non_null(in);
    for (size_t i = 0; i < FLOOD_ENTRIES; i++) {
        in[2 * i] = 0x2a;
        in[2 * i + 1] = 0x00;
    }
    return in;
}

/* The arena's reason to exist: 2 input bytes per empty metadata entry become a pointer, a
 * KeyValue and a ttrpc_kv, about 50 times the input. A small budget stops it. */
static void test_msg_request_decode_metadata_flood_over_budget(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = metadata_flood(&len);
    test_alloc t = {0};
    ttrpc_allocator alloc = test_allocator(&t);
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, &alloc, 1024 * 1024);
    ttrpc_request r;
    memset(&r, 0x5a, sizeof r);
    ttrpc_request before = r;
    assert_int_equal(ttrpc_request_decode(in, len, &a, &r), TTRPC_E_NOMEM);
    assert_memory_equal(&r, &before, sizeof r);
    assert_int_equal(a.used, 0);
    assert_null(a.unpacked);
    assert_null(a.arrays);
    assert_int_equal(t.live_bytes, 0);
    assert_int_equal(t.live_blocks, 0);
    free(in);
}

static void test_msg_request_decode_metadata_flood_default_budget(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = metadata_flood(&len);
    test_alloc t = {0};
    ttrpc_allocator alloc = test_allocator(&t);
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, &alloc, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(in, len, &a, &r), TTRPC_OK);
    assert_int_equal(r.n_metadata, FLOOD_ENTRIES);
    assert_int_equal(r.metadata[FLOOD_ENTRIES - 1].key.len, 0);
    assert_int_equal(r.metadata[FLOOD_ENTRIES - 1].value.len, 0);
    /* The arena's count is the allocator's, block headers included. */
    assert_int_equal(a.used, t.live_bytes);
    assert_true(a.used <= TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_msg_arena_reset(&a);
    assert_int_equal(t.live_bytes, 0);
    free(in);
}

/* A rich Request: every field, unknown fields, a duplicate, several metadata entries. */
static const uint8_t REQ_RICH[] = {
    0x0a, 0x01, 'x',                                          /* service, superseded */
    0x0a, 0x09, 'c', 'o', 'n', 'f', '.', 'E', 'c', 'h', 'o', /* service */
    0x12, 0x04, 'E', 'c', 'h', 'o',                           /* method */
    0x1a, 0x04, 0x0a, 0x02, 0x68, 0x69,                       /* payload */
    0x20, 0x7f,                                               /* timeout_nano */
    0x2a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v',             /* metadata */
    0x2a, 0x00,                                               /* metadata, empty */
    0x42, 0x02, 0xab, 0xcd,                                   /* unknown field 8 */
    0x2a, 0x08, 0x0a, 0x01, 'k', 0x12, 0x01, 'w', 0x30, 0x01, /* metadata + unknown */
};
/* A rich Response: two status fields that merge, details, payload, an unknown field. */
static const uint8_t RESP_RICH[] = {
    0x0a, 0x0a, 0x08, 0x02, 0x12, 0x01, 'a', 0x1a, 0x03, 0x0a, 0x01, 't', /* status */
    0x12, 0x02, 'h', 'i',                                                 /* payload */
    0x18, 0x01,                                                           /* unknown */
    0x0a, 0x0b, 0x12, 0x02, 'b', 'c', 0x1a, 0x05, 0x0a, 0x01, 'u', 0x18, 0x02, /* status */
};

/* Fail the N-th allocation for every N until the decode succeeds: each failure must be
 * TTRPC_E_NOMEM with nothing live and *out untouched (ASan/valgrind report leaks). */
static void check_every_allocation_failure(decode_fn dec, const uint8_t *in, size_t len,
                                           size_t out_size)
{
    union {
        ttrpc_request req;
        ttrpc_response resp;
        ttrpc_status status;
        ttrpc_string_list list;
    } out, before;
    assert_true(out_size <= sizeof out);
    size_t failures = 0;
    for (size_t n = 1;; n++) {
        test_alloc t = {0};
        t.fail_at = n;
        ttrpc_allocator alloc = test_allocator(&t);
        ttrpc_msg_arena a;
        ttrpc_msg_arena_init(&a, &alloc, TTRPC_MSG_DEFAULT_BUDGET);
        memset(&out, 0x5a, sizeof out);
        before = out;
        ttrpc_err rc = dec(in, len, &a, &out);
        if (rc == TTRPC_OK) {
            assert_true(t.calls < n); /* it succeeded because the failure never came */
            assert_int_equal(a.used, t.live_bytes);
            ttrpc_msg_arena_reset(&a);
            assert_int_equal(t.live_bytes, 0);
            assert_int_equal(t.live_blocks, 0);
            break;
        }
        assert_int_equal(rc, TTRPC_E_NOMEM);
        assert_memory_equal(&out, &before, out_size);
        assert_int_equal(a.used, 0);
        assert_null(a.unpacked);
        assert_null(a.arrays);
        assert_int_equal(t.live_bytes, 0);
        assert_int_equal(t.live_blocks, 0);
        failures++;
    }
    assert_true(failures >= 3);
}

static void test_msg_decode_failing_allocator_every_n(void **state)
{
    (void)state;
    check_every_allocation_failure(dec_request, REQ_RICH, sizeof REQ_RICH,
                                   sizeof(ttrpc_request));
    check_every_allocation_failure(dec_response, RESP_RICH, sizeof RESP_RICH,
                                   sizeof(ttrpc_response));
    check_every_allocation_failure(dec_status, STATUS_DETAILS, sizeof STATUS_DETAILS,
                                   sizeof(ttrpc_status));
    check_every_allocation_failure(dec_string_list, STRING_LIST, sizeof STRING_LIST,
                                   sizeof(ttrpc_string_list));
}

/* Every budget below what a message needs is TTRPC_E_NOMEM, whichever allocation it stops
 * (inside protobuf-c or our arrays), and the first budget that suffices succeeds. */
static void test_msg_request_decode_budget_every_size(void **state)
{
    (void)state;
    test_alloc t = {0};
    ttrpc_allocator alloc = test_allocator(&t);
    ttrpc_msg_arena a;
    ttrpc_request r;
    size_t budget = 0;
    for (;; budget++) {
        ttrpc_msg_arena_init(&a, &alloc, budget);
        ttrpc_err rc = ttrpc_request_decode(REQ_RICH, sizeof REQ_RICH, &a, &r);
        if (rc == TTRPC_OK) {
            break;
        }
        assert_int_equal(rc, TTRPC_E_NOMEM);
        assert_int_equal(t.live_bytes, 0);
    }
    assert_true(budget > sizeof REQ_RICH);
    assert_true(a.used <= budget);
    assert_bytes_str(r.service, "conf.Echo");
    assert_int_equal(r.n_metadata, 3);
    assert_bytes_str(r.metadata[2].value, "w");
    ttrpc_msg_arena_reset(&a);
    assert_int_equal(t.live_bytes, 0);

    ttrpc_response resp;
    for (budget = 0;; budget++) {
        ttrpc_msg_arena_init(&a, &alloc, budget);
        ttrpc_err rc = ttrpc_response_decode(RESP_RICH, sizeof RESP_RICH, &a, &resp);
        if (rc == TTRPC_OK) {
            break;
        }
        assert_int_equal(rc, TTRPC_E_NOMEM);
        assert_int_equal(t.live_bytes, 0);
    }
    ttrpc_msg_arena_reset(&a);
    assert_int_equal(t.live_bytes, 0);
}

/* Decoding again replaces the previous message; reset frees it. */
static void test_msg_arena_reset_frees_previous(void **state)
{
    (void)state;
    test_alloc t = {0};
    ttrpc_allocator alloc = test_allocator(&t);
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, &alloc, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(REQ_RICH, sizeof REQ_RICH, &a, &r), TTRPC_OK);
    size_t rich = t.live_bytes;
    assert_true(rich > 0);
    assert_int_equal(a.used, rich);
    assert_non_null(a.arrays);
    assert_int_equal(ttrpc_request_decode(REQ_UNARY, sizeof REQ_UNARY, &a, &r), TTRPC_OK);
    assert_true(t.live_bytes < rich);
    assert_int_equal(a.used, t.live_bytes);
    assert_null(a.arrays); /* no metadata this time */
    /* A failed decode empties the arena and leaves the previous result alone. */
    ttrpc_request kept = r;
    assert_int_equal(ttrpc_request_decode((const uint8_t *)"\x0a\x05", 2, &a, &r),
                     TTRPC_E_DECODE);
    assert_memory_equal(&r, &kept, sizeof r);
    assert_int_equal(t.live_bytes, 0);
    ttrpc_msg_arena_reset(&a);
    ttrpc_msg_arena_reset(&a); /* twice is harmless */
    assert_int_equal(t.live_bytes, 0);
    assert_int_equal(t.live_blocks, 0);
}

static void test_msg_request_decode_rejects_bad_arguments(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request r;
    assert_int_equal(ttrpc_request_decode(NULL, 3, &a, &r), TTRPC_E_INVAL);
    assert_int_equal(ttrpc_request_decode(REQ_UNARY, sizeof REQ_UNARY, NULL, &r),
                     TTRPC_E_INVAL);
    assert_int_equal(ttrpc_request_decode(REQ_UNARY, sizeof REQ_UNARY, &a, NULL),
                     TTRPC_E_INVAL);
    /* Above protobuf's 2 GiB limit: refused before a byte is read (protobuf-c itself is not
     * built with ASan, so only the guard page would catch a read past the real input). */
    guarded g = guard_copy(REQ_UNARY, sizeof REQ_UNARY);
    assert_int_equal(ttrpc_request_decode(g.data, (size_t)INT32_MAX + 1, &a, &r),
                     TTRPC_E_DECODE);
    guard_free(&g);
    assert_int_equal(a.used, 0);
}

/* ---- Round trips ---- */

static void test_msg_request_roundtrip(void **state)
{
    (void)state;
    ttrpc_kv kv[] = {
        {ttrpc_bytes_of("Key"), ttrpc_bytes_of("\xe2\x82\xac")},
        {ttrpc_bytes_of(""), ttrpc_bytes_of("")},
        {ttrpc_bytes_of("Key"), ttrpc_bytes_of("second")},
    };
    static const uint8_t payload[] = {0x00, 0xff, 0xc0, 0x80};
    const ttrpc_request cases[] = {
        {ttrpc_bytes_of("svc"), ttrpc_bytes_of("M"), true, {payload, sizeof payload},
         INT64_MIN, kv, ARRAY_LEN(kv)},
        {ttrpc_bytes_of("s"), {NULL, 0}, true, {NULL, 0}, INT64_MAX, NULL, 0},
        {{NULL, 0}, ttrpc_bytes_of("m"), false, {NULL, 0}, -1, kv + 1, 1},
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        const ttrpc_request *in = &cases[c];
        uint8_t buf[128];
        size_t written = 0;
        assert_int_equal(ttrpc_request_encode(in, buf, sizeof buf, &written), TTRPC_OK);
        ttrpc_request out;
        assert_int_equal(ttrpc_request_decode(buf, written, &a, &out), TTRPC_OK);
        assert_bytes_same(out.service, in->service);
        assert_bytes_same(out.method, in->method);
        assert_int_equal(out.has_payload, in->has_payload);
        assert_bytes_same(out.payload, in->payload);
        assert_int_equal(out.timeout_nano, in->timeout_nano);
        assert_int_equal(out.n_metadata, in->n_metadata);
        for (size_t i = 0; i < in->n_metadata; i++) {
            assert_bytes_same(out.metadata[i].key, in->metadata[i].key);
            assert_bytes_same(out.metadata[i].value, in->metadata[i].value);
        }
    }
    ttrpc_msg_arena_reset(&a);
}

static void assert_status_same(const ttrpc_status *got, const ttrpc_status *want)
{
    assert_int_equal(got->code, want->code);
    assert_bytes_same(got->message, want->message);
    assert_int_equal(got->n_details, want->n_details);
    for (size_t i = 0; i < want->n_details; i++) {
        assert_bytes_same(got->details[i].type_url, want->details[i].type_url);
        assert_bytes_same(got->details[i].value, want->details[i].value);
    }
}

static void test_msg_response_roundtrip(void **state)
{
    (void)state;
    static const uint8_t value[] = {0xff, 0x00};
    ttrpc_any details[] = {
        {ttrpc_bytes_of("type.googleapis.com/google.rpc.ErrorInfo"), {value, sizeof value}},
        {{NULL, 0}, {NULL, 0}},
    };
    const ttrpc_response cases[] = {
        {true, {TTRPC_CODE_NOT_FOUND, ttrpc_bytes_of("no \xc3\xbc"), details, 2}, {NULL, 0}},
        {true, {0, {NULL, 0}, NULL, 0}, {HI_PAYLOAD, sizeof HI_PAYLOAD}},
        {false, {0, {NULL, 0}, NULL, 0}, {HI_PAYLOAD, sizeof HI_PAYLOAD}},
        {true, {99, {NULL, 0}, NULL, 0}, {NULL, 0}}, /* codes outside 0..16 pass through */
        {true, {INT32_MIN, ttrpc_bytes_of("m"), NULL, 0}, {value, 1}},
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        const ttrpc_response *in = &cases[c];
        uint8_t buf[128];
        size_t written = 0;
        assert_int_equal(ttrpc_response_encode(in, buf, sizeof buf, &written), TTRPC_OK);
        ttrpc_response out;
        assert_int_equal(ttrpc_response_decode(buf, written, &a, &out), TTRPC_OK);
        assert_int_equal(out.has_status, in->has_status);
        assert_status_same(&out.status, &in->status);
        assert_bytes_same(out.payload, in->payload);
    }
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_status_roundtrip(void **state)
{
    (void)state;
    ttrpc_any details[3] = {
        {ttrpc_bytes_of("a"), ttrpc_bytes_of("1")},
        {ttrpc_bytes_of("b"), {NULL, 0}},
        {{NULL, 0}, ttrpc_bytes_of("3")},
    };
    const ttrpc_status cases[] = {
        {TTRPC_CODE_UNAUTHENTICATED, ttrpc_bytes_of("who?"), details, 3},
        {0, {NULL, 0}, NULL, 0},
        {-7, ttrpc_bytes_of("\xf0\x9f\x98\x80"), details + 2, 1},
    };
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        uint8_t buf[128];
        size_t written = 0;
        assert_int_equal(ttrpc_status_encode(&cases[c], buf, sizeof buf, &written), TTRPC_OK);
        ttrpc_status out;
        assert_int_equal(ttrpc_status_decode(buf, written, &a, &out), TTRPC_OK);
        assert_status_same(&out, &cases[c]);
    }
    ttrpc_msg_arena_reset(&a);
}

static void test_msg_string_list_roundtrip(void **state)
{
    (void)state;
    ttrpc_bytes items[] = {ttrpc_bytes_of(""), ttrpc_bytes_of("x"), ttrpc_bytes_of(""),
                           ttrpc_bytes_of("\xe2\x82\xac\xf4\x8f\xbf\xbf"),
                           bytes_of_array((const uint8_t *)"a\0b", 3)};
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    for (size_t n = 0; n <= ARRAY_LEN(items); n++) {
        ttrpc_string_list in = {n > 0 ? items : NULL, n};
        uint8_t buf[64];
        size_t written = 0;
        assert_int_equal(ttrpc_string_list_encode(&in, buf, sizeof buf, &written), TTRPC_OK);
        ttrpc_string_list out;
        assert_int_equal(ttrpc_string_list_decode(buf, written, &a, &out), TTRPC_OK);
        assert_int_equal(out.n_items, n);
        for (size_t i = 0; i < n; i++) {
            assert_bytes_same(out.items[i], items[i]);
        }
    }
    ttrpc_msg_arena_reset(&a);
}

/* The golden vectors are canonical: decode then encode gives them back byte for byte. */
static void test_msg_vectors_reencode_identically(void **state)
{
    (void)state;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    uint8_t out[64];
    size_t written = 0;
    const struct {
        const uint8_t *p;
        size_t n;
    } requests[] = {
        {REQ_UNARY, sizeof REQ_UNARY},
        {REQ_META, sizeof REQ_META},
        {REQ_TIMEOUT_MINUS_ONE, sizeof REQ_TIMEOUT_MINUS_ONE},
    }, responses[] = {
        {RESP_GO_OK, sizeof RESP_GO_OK},
        {RESP_RUST_OK, sizeof RESP_RUST_OK},
        {RESP_ERROR, sizeof RESP_ERROR},
    };
    for (size_t i = 0; i < ARRAY_LEN(requests); i++) {
        ttrpc_request r;
        assert_int_equal(ttrpc_request_decode(requests[i].p, requests[i].n, &a, &r), TTRPC_OK);
        assert_int_equal(ttrpc_request_encode(&r, out, sizeof out, &written), TTRPC_OK);
        assert_int_equal(written, requests[i].n);
        assert_memory_equal(out, requests[i].p, written);
    }
    for (size_t i = 0; i < ARRAY_LEN(responses); i++) {
        ttrpc_response r;
        assert_int_equal(ttrpc_response_decode(responses[i].p, responses[i].n, &a, &r),
                         TTRPC_OK);
        assert_int_equal(ttrpc_response_encode(&r, out, sizeof out, &written), TTRPC_OK);
        assert_int_equal(written, responses[i].n);
        assert_memory_equal(out, responses[i].p, written);
    }
    ttrpc_status s;
    assert_int_equal(ttrpc_status_decode(STATUS_DETAILS, sizeof STATUS_DETAILS, &a, &s),
                     TTRPC_OK);
    assert_int_equal(ttrpc_status_encode(&s, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, sizeof STATUS_DETAILS);
    assert_memory_equal(out, STATUS_DETAILS, written);
    ttrpc_string_list l;
    assert_int_equal(ttrpc_string_list_decode(STRING_LIST, sizeof STRING_LIST, &a, &l),
                     TTRPC_OK);
    assert_int_equal(ttrpc_string_list_encode(&l, out, sizeof out, &written), TTRPC_OK);
    assert_int_equal(written, sizeof STRING_LIST);
    assert_memory_equal(out, STRING_LIST, written);
    ttrpc_msg_arena_reset(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_utf8_valid_multibyte),
        cmocka_unit_test(test_msg_utf8_valid_rejects_overlong),
        cmocka_unit_test(test_msg_utf8_valid_rejects_surrogate),
        cmocka_unit_test(test_msg_utf8_valid_rejects_above_max),
        cmocka_unit_test(test_msg_utf8_valid_rejects_truncated),
        cmocka_unit_test(test_msg_utf8_valid_rejects_lone_continuation),
        cmocka_unit_test(test_msg_bytes_of_null_and_string),
        cmocka_unit_test(test_msg_bytes_equal_str_exact),
        cmocka_unit_test(test_msg_code_name_every_code),
        cmocka_unit_test(test_msg_request_encode_unary_vector),
        cmocka_unit_test(test_msg_request_encode_metadata_timeout_vector),
        cmocka_unit_test(test_msg_request_encode_negative_timeout),
        cmocka_unit_test(test_msg_request_encode_payload_presence),
        cmocka_unit_test(test_msg_request_encode_all_defaults_empty),
        cmocka_unit_test(test_msg_response_encode_go_ok),
        cmocka_unit_test(test_msg_response_encode_rust_ok),
        cmocka_unit_test(test_msg_response_encode_error_vector),
        cmocka_unit_test(test_msg_status_encode_details_vector),
        cmocka_unit_test(test_msg_string_list_encode_vector),
        cmocka_unit_test(test_msg_encode_nospace_every_cap),
        cmocka_unit_test(test_msg_encoded_size_matches_encode),
        cmocka_unit_test(test_msg_request_encode_rejects_bad_utf8),
        cmocka_unit_test(test_msg_status_encode_rejects_bad_utf8),
        cmocka_unit_test(test_msg_encode_rejects_null_with_length),
        cmocka_unit_test(test_msg_request_encode_rejects_over_2gib),
        cmocka_unit_test(test_msg_arena_spare_reused_then_trimmed),
        cmocka_unit_test(test_msg_request_decode_unary_vector),
        cmocka_unit_test(test_msg_request_decode_metadata_timeout_vector),
        cmocka_unit_test(test_msg_response_decode_go_ok),
        cmocka_unit_test(test_msg_response_decode_rust_ok),
        cmocka_unit_test(test_msg_response_decode_error_vector),
        cmocka_unit_test(test_msg_response_decode_zero_length),
        cmocka_unit_test(test_msg_status_decode_details),
        cmocka_unit_test(test_msg_string_list_decode_vector),
        cmocka_unit_test(test_msg_request_decode_reordered_fields),
        cmocka_unit_test(test_msg_request_decode_duplicate_field_last_wins),
        cmocka_unit_test(test_msg_response_decode_duplicate_status_merges),
        cmocka_unit_test(test_msg_request_decode_unknown_fields_each_wire_type),
        cmocka_unit_test(test_msg_request_decode_group_and_bad_wire_types),
        cmocka_unit_test(test_msg_request_decode_wrong_wire_type),
        cmocka_unit_test(test_msg_request_decode_bad_varints),
        cmocka_unit_test(test_msg_decode_truncated_every_length),
        cmocka_unit_test(test_msg_request_decode_bad_utf8_each_field),
        cmocka_unit_test(test_msg_status_decode_bad_utf8_each_field),
        cmocka_unit_test(test_msg_request_decode_empty_service),
        cmocka_unit_test(test_msg_request_decode_payload_presence),
        cmocka_unit_test(test_msg_request_decode_1000_metadata),
        cmocka_unit_test(test_msg_request_decode_repeated_keys_in_order),
        cmocka_unit_test(test_msg_request_decode_metadata_flood_over_budget),
        cmocka_unit_test(test_msg_request_decode_metadata_flood_default_budget),
        cmocka_unit_test(test_msg_decode_failing_allocator_every_n),
        cmocka_unit_test(test_msg_request_decode_budget_every_size),
        cmocka_unit_test(test_msg_arena_reset_frees_previous),
        cmocka_unit_test(test_msg_request_decode_rejects_bad_arguments),
        cmocka_unit_test(test_msg_request_roundtrip),
        cmocka_unit_test(test_msg_response_roundtrip),
        cmocka_unit_test(test_msg_status_roundtrip),
        cmocka_unit_test(test_msg_string_list_roundtrip),
        cmocka_unit_test(test_msg_vectors_reencode_identically),
    };
    return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
