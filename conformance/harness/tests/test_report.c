/* Reports: escaping keeps JSON and XML valid whatever the peer sent; the documents carry the
 * schema version, the counts and Expected beside Actual. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

static void test_report_json_escape(void **state)
{
    (void)state;
    tc_buf b = {0};
    assert_int_equal(tc_json_escape(&b, "a\"b\\c\nd\x01\xff"), TTRPC_OK);
    assert_string_equal(tc_buf_str(&b), "a\\\"b\\\\c\\nd\\u0001\\u00ff");
    tc_buf_free(&b);
}

static void test_report_xml_escape(void **state)
{
    (void)state;
    tc_buf b = {0};
    assert_int_equal(tc_xml_escape(&b, "<a & \"b\">\x01"), TTRPC_OK);
    assert_string_equal(tc_buf_str(&b), "&lt;a &amp; &quot;b&quot;&gt;\\x01");
    tc_buf_free(&b);
}

static void test_report_documents(void **state)
{
    (void)state;
    const tc_case *c = tc_case_find("request/unary/echo");
    assert_non_null(c);
    tc_result res[2] = {
        {.c = c, .verdict = TC_V_PASS, .expected = "RESP_OK(1)", .actual = "1: Response 0 OK"},
        {.c = c, .verdict = TC_V_FAIL, .fate = TC_FATE_DIED, .expected = "RESP_OK(1)",
         .actual = "no frames", .peer_stderr = "panic: <nil>"},
    };
    assert_int_equal(tc_buf_printf(&res[1].run.log, "     0 ms > Request id=1\n"), TTRPC_OK);
    snprintf(res[1].peer_end, sizeof res[1].peer_end, "killed by signal 11");
    tc_report r = {.name = "t", .peer = "p {fd}", .started = "2026-01-01T00:00:00Z",
                   .timeout_scale = 1, .results = res, .n = 2};
    r.counts[TC_V_PASS] = 1;
    r.counts[TC_V_FAIL] = 1;
    tc_buf b = {0};
    assert_int_equal(tc_report_json(&r, &b), TTRPC_OK);
    assert_non_null(strstr(tc_buf_str(&b), "{\"schema_version\": 1"));
    assert_non_null(strstr(tc_buf_str(&b), "\"FAIL\": 1"));
    assert_non_null(strstr(tc_buf_str(&b), "\"peer_fate\": \"peer-died\""));
    assert_non_null(strstr(tc_buf_str(&b), "\"wire_log\": \"     0 ms > Request id=1\\n\""));
    assert_non_null(strstr(tc_buf_str(&b), "\"wire_log\": null")); /* PASS: no log */
    /* Every case has its trace; a dead peer's end closes it as an event. */
    assert_non_null(strstr(tc_buf_str(&b), "\"wire_trace\": {\"entries\": [], "));
    assert_non_null(strstr(tc_buf_str(&b), "\"event\": \"peer-exit\", \"detail\": \"killed by "
                                           "signal 11\""));
    b.len = 0;
    assert_int_equal(tc_report_junit(&r, &b), TTRPC_OK);
    assert_non_null(strstr(tc_buf_str(&b), "tests=\"2\" failures=\"1\""));
    assert_non_null(strstr(tc_buf_str(&b), "<failure message=\"FAIL: expected RESP_OK(1); "
                                           "actual no frames\"/>"));
    b.len = 0;
    assert_int_equal(tc_report_markdown(&r, &b), TTRPC_OK);
    assert_non_null(strstr(tc_buf_str(&b), "| `request/unary/echo` | MUST | FAIL (peer-died) |"));
    tc_buf_free(&b);
    tc_buf_free(&res[1].run.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_json_escape),
        cmocka_unit_test(test_report_xml_escape),
        cmocka_unit_test(test_report_documents),
    };
    return cmocka_run_group_tests_name("harness_report", tests, NULL, NULL);
}
