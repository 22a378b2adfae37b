/* Unit tests for vectors/checker/vector_compare.c: the parts of the vector checker and runner
 * that read the vector format and compare results with it. A comparison that wrongly passes
 * would hide a broken implementation, so each comparison is also shown failing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vector_compare.h"

static cJSON *json(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    return j;
}

/* Vector bytes are lowercase hex by the format; the reader takes either case, and nothing
 * else: an odd length or a non-hex digit must not turn into some bytes. */
static void test_vector_compare_vc_hex_append_accepts_hex_only(void **state)
{
    (void)state;
    vc_buf b = {0};
    assert_true(vc_hex_append(&b, "00ff7A"));
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "\x00\xff\x7a", 3);
    assert_true(vc_hex_append(&b, ""));
    assert_int_equal(b.len, 3);
    vc_buf_free(&b);

    vc_buf odd = {0};
    assert_false(vc_hex_append(&odd, "abc"));
    vc_buf_free(&odd);
    vc_buf bad = {0};
    assert_false(vc_hex_append(&bad, "0g"));
    vc_buf_free(&bad);
}

/* Segments let 4 MiB inputs travel in a few bytes: they concatenate in order. */
static void test_vector_compare_vc_bytes_from_json_segments_concatenate(void **state)
{
    (void)state;
    cJSON *spec = json("[{\"hex\": \"0102\"}, {\"repeat\": {\"byte\": \"ab\", \"count\": 3}},"
                       " {\"hex\": \"ff\"}]");
    vc_buf b = {0};
    assert_true(vc_bytes_from_json(spec, &b));
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "\x01\x02\xab\xab\xab\xff", 6);
    vc_buf_free(&b);
    cJSON_Delete(spec);

    cJSON *plain = json("\"cafe\"");
    vc_buf p = {0};
    assert_true(vc_bytes_from_json(plain, &p));
    assert_int_equal(p.len, 2);
    vc_buf_free(&p);
    cJSON_Delete(plain);
}

/* A malformed segment is a broken vector, reported as such rather than read as fewer bytes. */
static void test_vector_compare_vc_bytes_from_json_rejects_bad_segments(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[{\"repeat\": {\"byte\": \"a\", \"count\": 1}}]",   /* one digit */
        "[{\"repeat\": {\"byte\": \"zz\", \"count\": 1}}]",  /* not hex */
        "[{\"repeat\": {\"byte\": \"00\", \"count\": -1}}]", /* negative */
        "[{\"repeat\": {\"byte\": \"00\", \"count\": 1.5}}]",
        "[{\"repeat\": {\"byte\": \"00\"}}]", /* no count */
        "[{\"bytes\": \"00\"}]",              /* neither form */
        "7",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *spec = json(bad[i]);
        vc_buf b = {0};
        assert_false(vc_bytes_from_json(spec, &b));
        vc_buf_free(&b);
        cJSON_Delete(spec);
    }
}

/* Header fields are u32 and u8: a value one past the range must not wrap into it. */
static void test_vector_compare_vc_json_u32_u8_ranges(void **state)
{
    (void)state;
    cJSON *o = json("{\"max\": 4294967295, \"over\": 4294967296, \"neg\": -1, \"half\": 2.5,"
                    " \"b\": 255, \"b_over\": 256, \"text\": \"1\"}");
    uint32_t u = 0;
    assert_true(vc_json_u32(o, "max", &u));
    assert_int_equal(u, 0xFFFFFFFFu);
    assert_false(vc_json_u32(o, "over", &u));
    assert_false(vc_json_u32(o, "neg", &u));
    assert_false(vc_json_u32(o, "half", &u));
    assert_false(vc_json_u32(o, "text", &u));
    assert_false(vc_json_u32(o, "missing", &u));
    uint8_t b = 0;
    assert_true(vc_json_u8(o, "b", &b));
    assert_int_equal(b, 255);
    assert_false(vc_json_u8(o, "b_over", &b));
    cJSON_Delete(o);
}

/* status_code may be one code or a list of acceptable codes (notes 3.2: 12 or 3). */
static void test_vector_compare_vc_code_matches_one_or_list(void **state)
{
    (void)state;
    cJSON *one = json("12");
    cJSON *list = json("[12, 3]");
    assert_true(vc_code_matches(one, 12));
    assert_false(vc_code_matches(one, 3));
    assert_true(vc_code_matches(list, 3));
    assert_true(vc_code_matches(list, 12));
    assert_false(vc_code_matches(list, 8));
    cJSON_Delete(one);
    cJSON_Delete(list);
}

/* One Data frame on stream 1 with data 68 69, as a decode vector's expectation. */
static const char EXPECT_ONE_FRAME[] =
    "{\"frames\": [{\"length\": 2, \"stream_id\": 1, \"type\": 3, \"flags\": 0,"
    " \"data\": \"6869\"}], \"end\": \"boundary\"}";
static const uint8_t ONE_FRAME[] = {0, 0, 0, 2, 0, 0, 0, 1, 3, 0, 'h', 'i'};

static void compare_input(const uint8_t *in, size_t len, const char *expect, vc_verdict *v)
{
    vc_decode_run r;
    vc_decode_all(in, len, 1, &r);
    cJSON *e = json(expect);
    memset(v, 0, sizeof v[0]);
    vc_compare_frames(v, &r, e, "fed byte by byte", NULL, NULL);
    cJSON_Delete(e);
    vc_decode_run_free(&r);
}

static void test_vector_compare_vc_compare_frames_equal_passes(void **state)
{
    (void)state;
    vc_verdict v;
    compare_input(ONE_FRAME, sizeof ONE_FRAME, EXPECT_ONE_FRAME, &v);
    assert_false(v.failed);
}

/* Each header field, the data and the end are compared: changing any one input byte (or
 * cutting the input short) must fail the comparison. */
static void test_vector_compare_vc_compare_frames_any_changed_byte_fails(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ONE_FRAME; i++) {
        uint8_t in[sizeof ONE_FRAME];
        memcpy(in, ONE_FRAME, sizeof in);
        in[i] ^= 0x01;
        vc_verdict v;
        compare_input(in, sizeof in, EXPECT_ONE_FRAME, &v);
        assert_true(v.failed);
        assert_false(v.harness);
        assert_non_null(strstr(v.why, "fed byte by byte"));
    }
    vc_verdict v;
    compare_input(ONE_FRAME, sizeof ONE_FRAME - 1, EXPECT_ONE_FRAME, &v);
    assert_true(v.failed);
}

/* A Request decoded by some implementation, against a message vector's value. */
static void test_vector_compare_vc_compare_message_request_fields(void **state)
{
    (void)state;
    cJSON *expect = json("{\"value\": {\"service\": \"s\", \"method\": \"m\", \"payload\": \"00\","
                         " \"timeout_nano\": \"-1\", \"metadata\": [{\"key\": \"k\","
                         " \"value\": \"v\"}]}}");
    ttrpc_kv md = {.key = {(const uint8_t *)"k", 1}, .value = {(const uint8_t *)"v", 1}};
    vc_message m = {.is_request = true};
    m.req.service = (ttrpc_bytes){(const uint8_t *)"s", 1};
    m.req.method = (ttrpc_bytes){(const uint8_t *)"m", 1};
    m.req.has_payload = true;
    m.req.payload = (ttrpc_bytes){(const uint8_t *)"\x00", 1};
    m.req.timeout_nano = -1;
    m.req.metadata = &md;
    m.req.n_metadata = 1;
    vc_verdict v = {0};
    vc_compare_message(&v, &m, expect);
    assert_false(v.failed);

    /* an absent payload is not an empty one (notes 2.3) */
    vc_message absent = m;
    absent.req.has_payload = false;
    absent.req.payload = (ttrpc_bytes){NULL, 0};
    vc_verdict v2 = {0};
    vc_compare_message(&v2, &absent, expect);
    assert_true(v2.failed);

    vc_message late = m;
    late.req.timeout_nano = 1;
    vc_verdict v3 = {0};
    vc_compare_message(&v3, &late, expect);
    assert_true(v3.failed);

    vc_message failed = {.is_request = true, .error = "decode-error"};
    vc_verdict v4 = {0};
    vc_compare_message(&v4, &failed, expect);
    assert_true(v4.failed);
    cJSON_Delete(expect);
}

/* The first reason set wins: later differences must not overwrite it. */
static void test_vector_compare_vc_fail_keeps_first_reason(void **state)
{
    (void)state;
    vc_verdict v = {0};
    vc_fail(&v, "first %d", 1);
    vc_fail(&v, "second");
    assert_true(v.failed);
    assert_string_equal(v.why, "first 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_compare_vc_hex_append_accepts_hex_only),
        cmocka_unit_test(test_vector_compare_vc_bytes_from_json_segments_concatenate),
        cmocka_unit_test(test_vector_compare_vc_bytes_from_json_rejects_bad_segments),
        cmocka_unit_test(test_vector_compare_vc_json_u32_u8_ranges),
        cmocka_unit_test(test_vector_compare_vc_code_matches_one_or_list),
        cmocka_unit_test(test_vector_compare_vc_compare_frames_equal_passes),
        cmocka_unit_test(test_vector_compare_vc_compare_frames_any_changed_byte_fails),
        cmocka_unit_test(test_vector_compare_vc_compare_message_request_fields),
        cmocka_unit_test(test_vector_compare_vc_fail_keeps_first_reason),
    };
    return cmocka_run_group_tests_name("vector_compare", tests, NULL, NULL);
}
