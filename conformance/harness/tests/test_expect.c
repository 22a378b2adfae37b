/* Predicates over observations: each leaf, the combinators, and when the runner may stop
 * waiting. Observations are built from frames our own encoder writes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "expect.h"
#include "ttrpc/msg.h"

static void add_response(tc_obs *o, uint32_t id, int32_t code, const uint8_t *payload,
                         size_t len)
{
    ttrpc_response r = {.has_status = code != 0, .status = {.code = code},
                        .payload = {payload, len}};
    uint8_t buf[512];
    size_t n = 0;
    assert_int_equal(ttrpc_response_encode(&r, buf, sizeof buf, &n), TTRPC_OK);
    ttrpc_frame_header h = {(uint32_t)n, id, TTRPC_TYPE_RESPONSE, 0};
    assert_int_equal(tc_obs_add(o, &h, buf, false), TTRPC_OK);
}

static void add_data(tc_obs *o, uint32_t id, uint8_t flags, const char *text)
{
    uint32_t len = text != NULL ? (uint32_t)strlen(text) : 0;
    ttrpc_frame_header h = {len, id, TTRPC_TYPE_DATA, flags};
    assert_int_equal(tc_obs_add(o, &h, (const uint8_t *)text, false), TTRPC_OK);
}

static void test_expect_resp_code_and_nth(void **state)
{
    (void)state;
    tc_obs o = {0};
    add_response(&o, 1, 3, NULL, 0);
    add_response(&o, 1, 0, NULL, 0);
    tc_pred first3 = TC_RESP_CODE(1, 3);
    tc_pred second_ok = TC_RESP_OK_NTH(1, 1);
    tc_pred second3 = TC_RESP_CODE_NTH(1, 1, 3);
    tc_pred third = TC_RESP_ANY_NTH(1, 2);
    tc_pred err = TC_RESP_ERROR(1);
    tc_pred other = TC_RESP_ANY(3);
    assert_true(tc_pred_eval(&first3, &o));
    assert_true(tc_pred_eval(&second_ok, &o));
    assert_false(tc_pred_eval(&second3, &o));
    assert_false(tc_pred_eval(&third, &o));
    assert_true(tc_pred_eval(&err, &o));
    assert_false(tc_pred_eval(&other, &o));
    assert_true(tc_pred_settled(&second_ok, &o));
    assert_false(tc_pred_settled(&third, &o));
    assert_false(tc_pred_settled(&other, &o));
    tc_obs_free(&o);
}

static void test_expect_resp_ok_payloads(void **state)
{
    (void)state;
    tc_obs o = {0};
    add_response(&o, 1, 0, (const uint8_t *)"\x0a\x02hi", 4);  /* Bytes{"hi"} */
    add_response(&o, 3, 0, NULL, 0);                           /* Go's empty Bytes */
    add_response(&o, 5, 0, (const uint8_t *)"\x0a\x00", 2);    /* proto2 empty Bytes */
    add_response(&o, 7, 0, (const uint8_t *)"\x08\x06", 2);    /* Count{6} */
    tc_pred hi = TC_RESP_TEXT(1, "hi");
    tc_pred ho = TC_RESP_TEXT(1, "ho");
    tc_pred empty3 = TC_RESP_TEXT(3, "");
    tc_pred empty5 = TC_RESP_TEXT(5, "");
    tc_pred len2 = TC_RESP_TEXT_LEN(1, 2);
    tc_pred six = TC_RESP_COUNT(7, 6);
    tc_pred seven = TC_RESP_COUNT(7, 7);
    tc_pred zero = TC_RESP_COUNT(3, 0); /* absent field: 0 */
    assert_true(tc_pred_eval(&hi, &o));
    assert_false(tc_pred_eval(&ho, &o));
    assert_true(tc_pred_eval(&empty3, &o));
    assert_true(tc_pred_eval(&empty5, &o));
    assert_true(tc_pred_eval(&len2, &o));
    assert_true(tc_pred_eval(&six, &o));
    assert_false(tc_pred_eval(&seven, &o));
    assert_true(tc_pred_eval(&zero, &o));
    tc_obs_free(&o);
}

static void test_expect_data_count_needs_a_normal_end(void **state)
{
    (void)state;
    tc_obs o = {0};
    add_data(&o, 1, 0, "a");
    add_data(&o, 1, 0, "");                     /* an empty message counts */
    tc_pred two = TC_DATA_COUNT(1, 2);
    assert_false(tc_pred_eval(&two, &o));       /* not ended yet */
    assert_false(tc_pred_settled(&two, &o));
    add_data(&o, 1, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA, NULL);
    assert_true(tc_pred_eval(&two, &o));
    assert_true(tc_pred_settled(&two, &o));
    assert_int_equal(tc_obs_data_messages(&o, 1), 2);

    add_data(&o, 3, 0, "a");
    add_data(&o, 3, TTRPC_FLAG_REMOTE_CLOSED, "b"); /* the last message carries RC */
    tc_pred two3 = TC_DATA_COUNT(3, 2);
    tc_pred three3 = TC_DATA_COUNT(3, 3);
    tc_pred three1 = TC_DATA_COUNT(1, 3);
    assert_true(tc_pred_eval(&two3, &o));
    assert_false(tc_pred_eval(&three3, &o)); /* exactly n, at either kind of end */
    assert_false(tc_pred_eval(&three1, &o));

    add_data(&o, 5, 0, "a");
    add_response(&o, 5, 13, NULL, 0);             /* ended by an error: not normal */
    tc_pred one5 = TC_DATA_COUNT(5, 1);
    assert_false(tc_pred_eval(&one5, &o));
    assert_true(tc_pred_settled(&one5, &o));
    tc_obs_free(&o);
}

static void test_expect_nothing_on_needs_the_probe(void **state)
{
    (void)state;
    tc_obs o = {0};
    tc_pred nothing = TC_NOTHING_ON(1);
    assert_false(tc_pred_eval(&nothing, &o)); /* no probe sent: unproven */
    o.probe_id = 3;
    assert_false(tc_pred_eval(&nothing, &o));
    assert_false(tc_pred_settled(&nothing, &o));
    add_response(&o, 3, 0, NULL, 0);
    assert_true(tc_pred_eval(&nothing, &o));
    assert_true(tc_pred_settled(&nothing, &o));
    add_response(&o, 1, 3, NULL, 0);
    assert_false(tc_pred_eval(&nothing, &o));
    tc_obs_free(&o);

    tc_obs p = {.probe_id = 3};
    add_response(&p, 3, 12, NULL, 0); /* the probe failed: the connection is not usable */
    assert_false(tc_pred_eval(&nothing, &p));
    tc_obs_free(&p);
}

static void test_expect_combinators_and_fate(void **state)
{
    (void)state;
    tc_obs o = {0};
    add_response(&o, 1, 8, NULL, 0);
    tc_pred all = TC_ALL(TC_RESP_ERROR(1), TC_RESP_OK(3));
    tc_pred any = TC_ANY(TC_RESP_OK(3), TC_RESP_CODE(1, 8));
    tc_pred closed = TC_CLOSED;
    tc_pred alive = TC_ALIVE;
    assert_false(tc_pred_eval(&all, &o));
    assert_false(tc_pred_settled(&all, &o));
    assert_true(tc_pred_eval(&any, &o));
    assert_false(tc_pred_eval(&closed, &o));
    assert_true(tc_pred_settled(&closed, &o)); /* never waited for */
    o.closed = true;
    assert_true(tc_pred_eval(&closed, &o));
    assert_false(tc_pred_eval(&alive, &o));
    o.alive = true;
    assert_true(tc_pred_eval(&alive, &o));
    add_response(&o, 3, 0, NULL, 0);
    assert_true(tc_pred_eval(&all, &o));
    uint32_t ids[4];
    assert_int_equal(tc_pred_ids(&all, ids, 4), 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 3);
    tc_obs_free(&o);
}

static void test_expect_ok_n(void **state)
{
    (void)state;
    tc_obs o = {0};
    for (uint32_t i = 0; i < 5; i++) {
        add_response(&o, 9 - 2 * i, 0, NULL, 0); /* out of order: matched by id */
    }
    tc_pred five = TC_OK_N(1, 5);
    tc_pred six = TC_OK_N(1, 6);
    assert_true(tc_pred_eval(&five, &o));
    assert_false(tc_pred_eval(&six, &o));
    assert_false(tc_pred_settled(&six, &o));
    tc_obs_free(&o);
}

static void test_expect_render(void **state)
{
    (void)state;
    tc_pred p = TC_ALL(TC_RESP_CODE(1, 12), TC_RESP_TEXT(3, "x"));
    tc_buf b = {0};
    assert_int_equal(tc_pred_render(&p, &b), TTRPC_OK);
    assert_string_equal(tc_buf_str(&b), "ALL(RESP_CODE(1, 12 UNIMPLEMENTED), RESP_OK(3, \"x\"))");
    tc_buf_free(&b);
    tc_obs o = {0};
    add_response(&o, 1, 12, NULL, 0);
    add_data(&o, 3, 0, "ab");
    add_data(&o, 3, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA, NULL);
    o.closed = true;
    assert_int_equal(tc_obs_render(&o, &b), TTRPC_OK);
    assert_string_equal(tc_buf_str(&b), "1: Response 12 UNIMPLEMENTED; 3: Data 2 bytes, "
                                        "Data[RC|ND]; peer closed the connection");
    tc_buf_free(&b);
    tc_obs_free(&o);
}

/* Nothing may follow a stream's end (Response, or Data with RC) unless we sent on the id again
 * after it (an answer to our own violation) or reused the id with a second Request. */
static void test_expect_after_end(void **state)
{
    (void)state;
    size_t first = 99;

    tc_obs unary = {0};
    assert_int_equal(tc_obs_note_sent(&unary, 1, true), TTRPC_OK);
    add_response(&unary, 1, 0, NULL, 0);
    assert_int_equal(tc_obs_after_end(&unary, &first), 0);
    assert_int_equal(first, 99);
    add_data(&unary, 3, 0, "x"); /* another id: not this stream's business */
    add_data(&unary, 1, 0, "late");
    assert_int_equal(tc_obs_after_end(&unary, &first), 1);
    assert_int_equal(first, 2);
    tc_buf b = {0};
    assert_int_equal(tc_obs_render(&unary, &b), TTRPC_OK);
    assert_non_null(strstr(tc_buf_str(&b), "1 frame after its stream's end"));
    tc_buf_free(&b);
    tc_obs_free(&unary);

    /* Data[RC] ends a server stream: a Response after it is late too. */
    tc_obs stream = {0};
    assert_int_equal(tc_obs_note_sent(&stream, 1, true), TTRPC_OK);
    add_data(&stream, 1, 0, "a");
    add_data(&stream, 1, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA, NULL);
    add_response(&stream, 1, 0, NULL, 0);
    assert_int_equal(tc_obs_after_end(&stream, NULL), 1);
    tc_obs_free(&stream);

    /* We sent Data after the end arrived: the error Response answers it. */
    tc_obs ours = {0};
    assert_int_equal(tc_obs_note_sent(&ours, 1, true), TTRPC_OK);
    add_response(&ours, 1, 0, NULL, 0);
    assert_int_equal(tc_obs_note_sent(&ours, 1, false), TTRPC_OK);
    add_response(&ours, 1, 3, NULL, 0);
    assert_int_equal(tc_obs_after_end(&ours, NULL), 0);
    /* ... but one answer per frame of ours: a second error Response is not. */
    add_data(&ours, 1, 0, "late");
    assert_int_equal(tc_obs_after_end(&ours, NULL), 1);
    tc_obs_free(&ours);

    /* Our Data queued before the end (the server read it after): an error answer is fine,
     * an OK one is a second answer to the call. */
    tc_obs queued = {0};
    assert_int_equal(tc_obs_note_sent(&queued, 1, true), TTRPC_OK);
    assert_int_equal(tc_obs_note_sent(&queued, 1, false), TTRPC_OK);
    add_response(&queued, 1, 0, NULL, 0);
    add_response(&queued, 1, 3, NULL, 0);
    assert_int_equal(tc_obs_after_end(&queued, NULL), 0);
    add_response(&queued, 1, 0, NULL, 0);
    assert_int_equal(tc_obs_after_end(&queued, NULL), 1);
    tc_obs_free(&queued);

    /* A reused id: two Requests, two answers. */
    tc_obs reuse = {0};
    assert_int_equal(tc_obs_note_sent(&reuse, 1, true), TTRPC_OK);
    assert_int_equal(tc_obs_note_sent(&reuse, 1, true), TTRPC_OK);
    add_response(&reuse, 1, 0, NULL, 0);
    add_response(&reuse, 1, 0, NULL, 0);
    assert_int_equal(tc_obs_after_end(&reuse, NULL), 0);
    tc_obs_free(&reuse);
}

static void test_expect_decode_values_reject_garbage(void **state)
{
    (void)state;
    const uint8_t *v = NULL;
    size_t vl = 0;
    uint64_t c = 0;
    assert_false(tc_decode_bytes_value((const uint8_t *)"\x0a\x05x", 3, &v, &vl));
    assert_false(tc_decode_count_value((const uint8_t *)"\x08\xff", 2, &c));
    assert_false(tc_decode_count_value((const uint8_t *)"\x07", 1, &c));
    /* unknown fields skipped, last value wins */
    assert_true(tc_decode_count_value((const uint8_t *)"\x08\x01\x12\x01z\x08\x02", 7, &c));
    assert_int_equal(c, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expect_resp_code_and_nth),
        cmocka_unit_test(test_expect_resp_ok_payloads),
        cmocka_unit_test(test_expect_data_count_needs_a_normal_end),
        cmocka_unit_test(test_expect_nothing_on_needs_the_probe),
        cmocka_unit_test(test_expect_combinators_and_fate),
        cmocka_unit_test(test_expect_ok_n),
        cmocka_unit_test(test_expect_render),
        cmocka_unit_test(test_expect_decode_values_reject_garbage),
        cmocka_unit_test(test_expect_after_end),
    };
    return cmocka_run_group_tests_name("harness_expect", tests, NULL, NULL);
}
