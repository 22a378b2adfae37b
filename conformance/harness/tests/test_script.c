/* Script ops to bytes: every frame decodes back with the reference decoder into what the op
 * says, and the mutations produce exactly the malformed bodies they name. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "script.h"
#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

/* Decodes every frame in b; returns how many, headers into hdrs. */
static size_t decode_all(const tc_buf *b, ttrpc_frame_header *hdrs, size_t max,
                         ttrpc_request *first_req, ttrpc_msg_arena *arena)
{
    ttrpc_decoder d;
    assert_int_equal(ttrpc_decoder_init(&d, TTRPC_FRAME_MAX_DATA, NULL), TTRPC_OK);
    size_t n = 0, off = 0;
    while (off < b->len) {
        size_t used = 0;
        assert_int_equal(ttrpc_decoder_feed(&d, b->p + off, b->len - off, &used), TTRPC_OK);
        off += used;
        ttrpc_frame f;
        while (ttrpc_decoder_next(&d, &f) == TTRPC_OK) {
            if (n == 0 && first_req != NULL) {
                assert_int_equal(ttrpc_request_decode(f.data, f.hdr.length, arena, first_req),
                                 TTRPC_OK);
            }
            if (n < max) {
                hdrs[n] = f.hdr;
            }
            n++;
        }
    }
    assert_true(ttrpc_decoder_at_boundary(&d));
    ttrpc_decoder_free(&d);
    return n;
}

static void test_script_op_encode_echo(void **state)
{
    (void)state;
    tc_op op = TC_ECHO(7, "hi");
    tc_buf b = {0};
    assert_int_equal(tc_op_encode(&op, &b), TTRPC_OK);
    ttrpc_frame_header h[2];
    ttrpc_request req;
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, 1 << 20);
    assert_int_equal(decode_all(&b, h, 2, &req, &arena), 1);
    assert_int_equal(h[0].stream_id, 7);
    assert_int_equal(h[0].type, TTRPC_TYPE_REQUEST);
    assert_int_equal(h[0].flags, 0);
    assert_true(ttrpc_bytes_equal_str(req.service, TC_SERVICE));
    assert_true(ttrpc_bytes_equal_str(req.method, "Echo"));
    /* Bytes{value = "hi"}: field 1, length 2 */
    assert_int_equal(req.payload.len, 4);
    assert_memory_equal(req.payload.data, "\x0a\x02hi", 4);
    ttrpc_msg_arena_reset(&arena);
    tc_buf_free(&b);
}

static void test_script_op_encode_repeat_ids_and_count_step(void **state)
{
    (void)state;
    tc_op op = {.kind = TC_OP_REQUEST, .id = 1, .method = "Sleep", .payload = TC_PL_COUNT,
                .count = 10, .count_step = -3, .repeat = 3};
    tc_buf b = {0};
    assert_int_equal(tc_op_encode(&op, &b), TTRPC_OK);
    ttrpc_frame_header h[4];
    assert_int_equal(decode_all(&b, h, 4, NULL, NULL), 3);
    assert_int_equal(h[0].stream_id, 1);
    assert_int_equal(h[1].stream_id, 3);
    assert_int_equal(h[2].stream_id, 5);
    tc_buf p = {0};
    assert_int_equal(tc_payload_encode(&op, 2, &p), TTRPC_OK);
    assert_int_equal(p.len, 2);
    assert_memory_equal(p.p, "\x08\x04", 2); /* 10 - 2 * 3 */
    tc_buf_free(&p);
    tc_buf_free(&b);
}

static void test_script_request_body_pad_to_exact(void **state)
{
    (void)state;
    /* Around the varint boundaries of the length prefixes, and the 4 MiB limit itself. */
    const uint32_t sizes[] = {60, 127, 128, 129, 200, 16383, 16384, 16385, 70000,
                              TTRPC_FRAME_MAX_DATA};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tc_op op = {.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .pad_to = sizes[i]};
        tc_buf b = {0};
        assert_int_equal(tc_request_body(&op, 0, &b), TTRPC_OK);
        assert_int_equal(b.len, sizes[i]);
        tc_buf_free(&b);
    }
}

static void test_script_op_encode_header_any_length_and_cut(void **state)
{
    (void)state;
    tc_op op = TC_HEADER(9, TTRPC_TYPE_REQUEST, 0xFFFFFFFFu);
    tc_buf b = {0};
    assert_int_equal(tc_op_encode(&op, &b), TTRPC_OK);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.p, "\xff\xff\xff\xff\x00\x00\x00\x09\x01\x00", 10);
    tc_op cut = TC_HEADER(9, TTRPC_TYPE_REQUEST, 20, .cut = 5);
    b.len = 0;
    assert_int_equal(tc_op_encode(&cut, &b), TTRPC_OK);
    assert_int_equal(b.len, 5);
    tc_op zeros = TC_ZEROS(1000);
    b.len = 0;
    assert_int_equal(tc_op_encode(&zeros, &b), TTRPC_OK);
    assert_int_equal(b.len, 1000);
    tc_op pause = TC_PAUSE(5);
    assert_int_equal(tc_op_encode(&pause, &b), TTRPC_E_INVAL);
    tc_buf_free(&b);
}

static void test_script_mutations_decode_as_named(void **state)
{
    (void)state;
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, 1 << 20);
    ttrpc_request req;
    tc_buf b = {0};

    tc_op bad = {.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                 .text = "x", .mutation = TC_MUT_BAD_UTF8_METHOD};
    assert_int_equal(tc_request_body(&bad, 0, &b), TTRPC_OK);
    assert_int_equal(ttrpc_request_decode(b.p, b.len, &arena, &req), TTRPC_E_DECODE);

    b.len = 0;
    tc_op twice = {.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                   .text = "x", .mutation = TC_MUT_SERVICE_TWICE};
    assert_int_equal(tc_request_body(&twice, 0, &b), TTRPC_OK);
    assert_int_equal(ttrpc_request_decode(b.p, b.len, &arena, &req), TTRPC_OK);
    assert_true(ttrpc_bytes_equal_str(req.service, TC_SERVICE)); /* last wins */
    ttrpc_msg_arena_reset(&arena);

    b.len = 0;
    tc_op rev = {.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                 .text = "r", .timeout_nano = 5, .mutation = TC_MUT_REVERSED};
    assert_int_equal(tc_request_body(&rev, 0, &b), TTRPC_OK);
    assert_int_equal(b.p[0], 0x20); /* timeout_nano first */
    assert_int_equal(ttrpc_request_decode(b.p, b.len, &arena, &req), TTRPC_OK);
    assert_true(ttrpc_bytes_equal_str(req.method, "Echo"));
    assert_int_equal(req.timeout_nano, 5);
    ttrpc_msg_arena_reset(&arena);

    b.len = 0;
    static const uint8_t extra[] = {0x78, 0x01};
    tc_op app = {.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .mutation = TC_MUT_APPEND,
                 .raw = extra, .raw_len = sizeof extra};
    assert_int_equal(tc_request_body(&app, 0, &b), TTRPC_OK);
    assert_memory_equal(b.p + b.len - 2, extra, 2);
    assert_int_equal(ttrpc_request_decode(b.p, b.len, &arena, &req), TTRPC_OK);
    ttrpc_msg_arena_reset(&arena);
    tc_buf_free(&b);
}

static void test_script_metadata_generated(void **state)
{
    (void)state;
    static const tc_kv md[] = {{"a", "1"}};
    tc_op op = {.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .md = md, .n_md = 1,
                .md_count = 3, .md_value_len = 4};
    tc_buf b = {0};
    assert_int_equal(tc_request_body(&op, 0, &b), TTRPC_OK);
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, 1 << 20);
    ttrpc_request req;
    assert_int_equal(ttrpc_request_decode(b.p, b.len, &arena, &req), TTRPC_OK);
    assert_int_equal(req.n_metadata, 4);
    assert_true(ttrpc_bytes_equal_str(req.metadata[0].key, "a"));
    assert_true(ttrpc_bytes_equal_str(req.metadata[3].key, "k2"));
    assert_true(ttrpc_bytes_equal_str(req.metadata[3].value, "vvvv"));
    ttrpc_msg_arena_reset(&arena);
    tc_buf_free(&b);
}

static void test_script_buf_printf_grows(void **state)
{
    (void)state;
    tc_buf b = {0};
    assert_string_equal(tc_buf_str(&b), "");
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(tc_buf_printf(&b, "%d,", i % 10), TTRPC_OK);
    }
    assert_int_equal(b.len, 2000);
    assert_int_equal(strlen(tc_buf_str(&b)), 2000);
    tc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_script_op_encode_echo),
        cmocka_unit_test(test_script_op_encode_repeat_ids_and_count_step),
        cmocka_unit_test(test_script_request_body_pad_to_exact),
        cmocka_unit_test(test_script_op_encode_header_any_length_and_cut),
        cmocka_unit_test(test_script_mutations_decode_as_named),
        cmocka_unit_test(test_script_metadata_generated),
        cmocka_unit_test(test_script_buf_printf_grows),
    };
    return cmocka_run_group_tests_name("harness_script", tests, NULL, NULL);
}
