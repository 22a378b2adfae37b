/* Verdicts: every level x outcome, the effect of --strict, peer fates, and the
 * expected-failure lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "verdict.h"

static tc_verdict decide(tc_level level, bool pass, bool lenient, bool strict)
{
    tc_verdict_input in = {.level = level, .pass = pass, .lenient = lenient, .strict = strict};
    return tc_verdict_decide(&in);
}

static void test_verdict_decide_levels(void **state)
{
    (void)state;
    /* level, pass, lenient -> verdict, and under --strict */
    static const struct {
        tc_level level;
        bool pass, lenient;
        tc_verdict normal, strict;
    } table[] = {
        {TC_MUST, true, false, TC_V_PASS, TC_V_PASS},
        {TC_MUST, true, true, TC_V_PASS, TC_V_PASS},
        {TC_MUST, false, true, TC_V_NONSTRICT, TC_V_FAIL},
        {TC_MUST, false, false, TC_V_FAIL, TC_V_FAIL},
        {TC_SHOULD, true, false, TC_V_PASS, TC_V_PASS},
        {TC_SHOULD, false, true, TC_V_NONSTRICT, TC_V_FAIL},
        {TC_SHOULD, false, false, TC_V_NONSTRICT, TC_V_FAIL},
        {TC_INFO, true, false, TC_V_INFO, TC_V_INFO},
        {TC_INFO, false, false, TC_V_INFO, TC_V_INFO},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_int_equal(decide(table[i].level, table[i].pass, table[i].lenient, false),
                         table[i].normal);
        assert_int_equal(decide(table[i].level, table[i].pass, table[i].lenient, true),
                         table[i].strict);
    }
}

static void test_verdict_decide_fate_error_unsupported_known(void **state)
{
    (void)state;
    tc_verdict_input in = {.level = TC_INFO, .pass = true, .fate = TC_FATE_DIED};
    assert_int_equal(tc_verdict_decide(&in), TC_V_FAIL); /* a crash fails even INFO */
    in.fate = TC_FATE_HUNG;
    assert_int_equal(tc_verdict_decide(&in), TC_V_FAIL);
    in.known_failing = true;
    assert_int_equal(tc_verdict_decide(&in), TC_V_XFAIL);
    in = (tc_verdict_input){.level = TC_MUST, .pass = true, .known_failing = true};
    assert_int_equal(tc_verdict_decide(&in), TC_V_XPASS);
    assert_false(tc_verdict_ok(TC_V_XPASS));
    in.known_flaky = true; /* a race in the peer: passing sometimes is expected */
    assert_int_equal(tc_verdict_decide(&in), TC_V_PASS);
    in.pass = false;
    assert_int_equal(tc_verdict_decide(&in), TC_V_XFAIL);
    assert_true(tc_known_is_flaky("flaky: a race"));
    assert_false(tc_known_is_flaky("not flaky: a race"));
    assert_false(tc_known_is_flaky(NULL));
    in = (tc_verdict_input){.level = TC_MUST, .harness_error = true};
    assert_int_equal(tc_verdict_decide(&in), TC_V_ERROR);
    assert_false(tc_verdict_ok(TC_V_ERROR));
    in.unsupported = true;
    assert_int_equal(tc_verdict_decide(&in), TC_V_UNSUPPORTED);
    assert_true(tc_verdict_ok(TC_V_UNSUPPORTED));
    assert_true(tc_verdict_ok(TC_V_XFAIL));
    assert_true(tc_verdict_ok(TC_V_NONSTRICT));
    assert_false(tc_verdict_ok(TC_V_FAIL));
    assert_string_equal(tc_verdict_name(TC_V_NONSTRICT), "NON-STRICT");
    assert_string_equal(tc_fate_name(TC_FATE_DIED), "peer-died");
}

static void test_verdict_known_parse(void **state)
{
    (void)state;
    tc_known k;
    size_t bad = 0;
    assert_int_equal(tc_known_parse("# comment\n\n  a/b/c   reason one  \n"
                                    "d/e/f\treason # trailing comment\r\n",
                                    &k, &bad),
                     TTRPC_OK);
    assert_int_equal(k.n, 2);
    assert_string_equal(tc_known_reason(&k, "a/b/c"), "reason one");
    assert_string_equal(tc_known_reason(&k, "d/e/f"), "reason");
    assert_null(tc_known_reason(&k, "a/b"));
    tc_known_free(&k);
    assert_int_equal(tc_known_parse("a/b/c ok\nx/y/z\n", &k, &bad), TTRPC_E_INVAL);
    assert_int_equal(bad, 2);
    assert_int_equal(k.n, 0);
    assert_int_equal(tc_known_parse("", &k, &bad), TTRPC_OK);
    assert_int_equal(k.n, 0);
    tc_known_free(&k);
    assert_int_equal(tc_known_load("/nonexistent/file", &k, &bad), TTRPC_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_decide_levels),
        cmocka_unit_test(test_verdict_decide_fate_error_unsupported_known),
        cmocka_unit_test(test_verdict_known_parse),
    };
    return cmocka_run_group_tests_name("harness_verdict", tests, NULL, NULL);
}
