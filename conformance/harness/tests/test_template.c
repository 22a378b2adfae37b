/* Command templates: substitution, found-bits, unknown braces, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "template.h"

static const tc_template_var VARS[] = {{"{address}", "unix:/tmp/s"}, {"{scenario}", "echo"}};

static void test_template_replaces_every_occurrence(void **state)
{
    (void)state;
    char out[64];
    unsigned found = 0;
    assert_int_equal(tc_template_expand("c {address} {scenario} {address}", VARS, 2, out,
                                        sizeof out, &found),
                     TTRPC_OK);
    assert_string_equal(out, "c unix:/tmp/s echo unix:/tmp/s");
    assert_int_equal(found, 3u);
}

static void test_template_keeps_unknown_braces(void **state)
{
    (void)state;
    char out[64];
    unsigned found = 7;
    assert_int_equal(tc_template_expand("x {fd} {scen", VARS, 2, out, sizeof out, &found),
                     TTRPC_OK);
    assert_string_equal(out, "x {fd} {scen");
    assert_int_equal(found, 0u);
}

/* Every cap from 0 to the exact size: too small is NOSPACE and never a write past cap. */
static void test_template_bounded_by_cap(void **state)
{
    (void)state;
    const char *want = "a unix:/tmp/s b";
    size_t need = strlen(want) + 1;
    for (size_t cap = 0; cap <= need; cap++) {
        char out[32];
        memset(out, 'Z', sizeof out);
        unsigned found = 0;
        ttrpc_err rc = tc_template_expand("a {address} b", VARS, 2, out, cap, &found);
        if (cap < need) {
            assert_int_equal(rc, TTRPC_E_NOSPACE);
        } else {
            assert_int_equal(rc, TTRPC_OK);
            assert_string_equal(out, want);
        }
        for (size_t i = cap; i < sizeof out; i++) {
            assert_int_equal(out[i], 'Z');
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_replaces_every_occurrence),
        cmocka_unit_test(test_template_keeps_unknown_braces),
        cmocka_unit_test(test_template_bounded_by_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
