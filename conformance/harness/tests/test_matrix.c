/* The matrix's reading of a client's result line and its command expansion. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "matrix.h"

static void test_matrix_parse_client_output_forms(void **state)
{
    (void)state;
    mx_client_result r;
    /* The Go and Rust peers: no spaces; the C adapter (Python json): spaces after colons. */
    mx_parse_client_output("{\"scenario\":\"echo\",\"ok\":true,\"code\":0,\"detail\":\"a \\\"b\\\"\"}\n",
                           &r);
    assert_true(r.reported);
    assert_true(r.ok);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.detail, "a \"b\"");
    mx_parse_client_output("noise\n{\"scenario\": \"fail\", \"ok\": false, \"code\": 12, "
                           "\"detail\": \"x\"}",
                           &r);
    assert_true(r.reported);
    assert_false(r.ok);
    assert_int_equal(r.code, 12);
    assert_string_equal(r.detail, "x");
}

static void test_matrix_parse_client_output_none(void **state)
{
    (void)state;
    mx_client_result r;
    mx_parse_client_output("", &r);
    assert_false(r.reported);
    mx_parse_client_output("status: 0 OK\npayload: 00\n", &r); /* not the JSON protocol */
    assert_false(r.reported);
    assert_false(r.ok);
    /* "ok" only as a value, not as a key, is no report */
    mx_parse_client_output("{\"detail\":\"ok\"}\n", &r);
    assert_false(r.reported);
}

/* The last result line wins: a client that prints several reports is judged on the last. */
static void test_matrix_parse_client_output_last_line(void **state)
{
    (void)state;
    mx_client_result r;
    mx_parse_client_output("{\"ok\":true,\"code\":0}\n{\"ok\":false,\"code\":4}\n", &r);
    assert_false(r.ok);
    assert_int_equal(r.code, 4);
}

static void test_matrix_expand_client(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(mx_expand_client("c {address} -s {scenario} {x}", "unix:/t", "echo", out,
                                      sizeof out),
                     TTRPC_OK);
    assert_string_equal(out, "c unix:/t -s echo {x}");
    char small[8];
    assert_int_equal(mx_expand_client("{address}", "unix:/long/path", "e", small, sizeof small),
                     TTRPC_E_NOSPACE);
    assert_int_equal(mx_expand_client("12345678", "a", "e", small, sizeof small),
                     TTRPC_E_NOSPACE);
    assert_int_equal(mx_expand_client("1234567", "a", "e", small, sizeof small), TTRPC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_parse_client_output_forms),
        cmocka_unit_test(test_matrix_parse_client_output_none),
        cmocka_unit_test(test_matrix_parse_client_output_last_line),
        cmocka_unit_test(test_matrix_expand_client),
    };
    return cmocka_run_group_tests_name("matrix", tests, NULL, NULL);
}
