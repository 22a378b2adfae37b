#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ttrpc/err.h"

/* Every code has its own message and name, so logs never show a blank or a duplicate. */
static void test_err_strerror_every_code_named(void **state)
{
    (void)state;
    static const ttrpc_err codes[] = {
#define CODE_ENTRY(name, value, text) name,
        TTRPC_ERRORS(CODE_ENTRY)
#undef CODE_ENTRY
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_non_null(ttrpc_strerror(codes[i]));
        assert_true(strlen(ttrpc_strerror(codes[i])) > 0);
        assert_string_not_equal(ttrpc_strerror(codes[i]), "unknown error");
        for (size_t j = i + 1; j < n; j++) {
            assert_string_not_equal(ttrpc_err_name(codes[i]), ttrpc_err_name(codes[j]));
        }
    }
}

static void test_err_strerror_unknown_value(void **state)
{
    (void)state;
    assert_string_equal(ttrpc_strerror((ttrpc_err)-999), "unknown error");
    assert_string_equal(ttrpc_err_name((ttrpc_err)-999), "TTRPC_E_UNKNOWN");
}

static void test_err_name_matches_enumerator(void **state)
{
    (void)state;
    assert_string_equal(ttrpc_err_name(TTRPC_OK), "TTRPC_OK");
    assert_string_equal(ttrpc_err_name(TTRPC_E_TOO_LARGE), "TTRPC_E_TOO_LARGE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_strerror_every_code_named),
        cmocka_unit_test(test_err_strerror_unknown_value),
        cmocka_unit_test(test_err_name_matches_enumerator),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
