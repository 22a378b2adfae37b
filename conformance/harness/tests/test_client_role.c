/* Client-role cases (client_case.h) without processes: the table's invariants, reading what
 * clients print (the peers' JSON line, ttrpc-ref-client's status lines), and the
 * expectations over an observation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "client_case.h"

static void test_client_cases_table(void **state)
{
    (void)state;
    assert_true(cc_cases_count >= 25);
    for (size_t i = 0; i < cc_cases_count; i++) {
        const cc_case *c = &cc_cases[i];
        if (!tc_case_id_valid(c->base.id) || strncmp(c->base.id, "client/", 7) != 0) {
            fail_msg("bad id %s", c->base.id);
        }
        assert_int_equal(c->base.testee, TC_CLIENT);
        assert_non_null(c->base.clause);
        assert_non_null(c->base.desc);
        assert_int_not_equal(c->pass.kind, CC_X_NONE);
        assert_ptr_equal(cc_case_find(c->base.id), c);
        /* Every script ends inside the table: the runner stops at CC_END or CC_MAX_OPS. */
        for (size_t j = i + 1; j < cc_cases_count; j++) {
            if (strcmp(c->base.id, cc_cases[j].base.id) == 0) {
                fail_msg("duplicate id %s", c->base.id);
            }
        }
        /* A stream scenario needs streaming, so --without streaming can skip it. */
        if (c->scenario == CC_SC_SERVER_STREAM) {
            assert_true(c->base.needs & TC_NEED_STREAMING);
        }
    }
    assert_null(cc_case_find("client/no/such"));
}

static void test_client_parse_json_line(void **state)
{
    (void)state;
    cc_obs o = {0};
    cc_parse_output("{\"scenario\":\"echo\",\"ok\":false,\"code\":99,\"detail\":\"code \\\"99\\\"\"}\n",
                    CC_SC_ECHO, NULL, NULL, 0, &o);
    assert_true(o.reported);
    assert_int_equal(o.code, 99);
    assert_false(o.ok);
    assert_string_equal(o.detail, "code \"99\"");

    cc_obs p = {0};
    cc_parse_output("{\"scenario\":\"echo\",\"ok\":true,\"code\":0,\"detail\":\"x\"}\n", CC_SC_ECHO,
                    NULL, NULL, 0, &p);
    assert_true(p.reported && p.ok);
    assert_int_equal(p.code, 0);
}

static void test_client_parse_ref_lines(void **state)
{
    (void)state;
    cc_obs o = {0};
    cc_parse_output("status: 0 OK\npayload: 0a02686a\n", CC_SC_ECHO, "0a02686a", NULL, 0, &o);
    assert_true(o.reported && o.ok);

    cc_obs wrong = {0};
    cc_parse_output("status: 0 OK\npayload: 0a02686b\n", CC_SC_ECHO, "0a02686a", NULL, 0, &wrong);
    assert_true(wrong.reported);
    assert_false(wrong.ok);

    const char *const want[] = {"0800", ""};
    cc_obs s = {0};
    cc_parse_output("data: 0800\ndata: \nstatus: 0 OK\npayload: \n", CC_SC_SERVER_STREAM, NULL,
                    want, 2, &s);
    assert_true(s.ok);
    cc_obs extra = {0};
    cc_parse_output("data: 0800\ndata: \ndata: 08\nstatus: 0 OK\n", CC_SC_SERVER_STREAM, NULL,
                    want, 2, &extra);
    assert_false(extra.ok);

    cc_obs err = {0};
    cc_parse_output("status: 99 CODE_99\nmessage: x\npayload: \n", CC_SC_ECHO, "00", NULL, 0,
                    &err);
    assert_int_equal(err.code, 99);
    assert_string_equal(err.detail, "x");

    cc_obs none = {0};
    cc_parse_output("", CC_SC_ECHO, "00", NULL, 0, &none);
    assert_false(none.reported);
}

static void test_client_expectations(void **state)
{
    (void)state;
    const cc_expect success = {.kind = CC_X_SUCCESS};
    const cc_expect code4 = {.kind = CC_X_CODE, .code = 4};
    const cc_expect error = {.kind = CC_X_ERROR};
    const cc_expect rejected = {.kind = CC_X_REJECTED};
    const cc_expect ended = {.kind = CC_X_ENDED};

    cc_obs ok = {.end = CC_END_EXITED, .reported = true, .code = 0, .ok = true,
                 .connections = 1};
    assert_true(cc_expect_eval(&success, &ok));
    assert_false(cc_expect_eval(&error, &ok));
    assert_true(cc_expect_eval(&ended, &ok));

    cc_obs timeout = {.end = CC_END_EXITED, .exit_status = 1, .reported = true, .code = 4,
                      .connections = 1};
    assert_true(cc_expect_eval(&code4, &timeout));
    assert_true(cc_expect_eval(&error, &timeout));
    assert_false(cc_expect_eval(&rejected, &timeout));

    /* ttrpc-ref-client: exit 2 and no status line is a failed call (protocol error). */
    cc_obs proto = {.end = CC_END_EXITED, .exit_status = 2, .connections = 1};
    assert_true(cc_expect_eval(&rejected, &proto));
    assert_false(cc_expect_eval(&success, &proto));

    /* A client that never connected (a scenario it does not know) made no call: its exit
     * status matches nothing, not even ERROR or ENDED. */
    cc_obs absent = {.end = CC_END_EXITED, .exit_status = 2};
    assert_false(cc_expect_eval(&rejected, &absent));
    assert_false(cc_expect_eval(&error, &absent));
    assert_false(cc_expect_eval(&ended, &absent));

    /* Hangs and crashes match nothing: the verdict turns them into FAIL. */
    cc_obs hung = {.end = CC_END_HUNG, .reported = true, .code = 4};
    cc_obs crashed = {.end = CC_END_SIGNALED, .signal = 11};
    assert_false(cc_expect_eval(&ended, &hung));
    assert_false(cc_expect_eval(&code4, &hung));
    assert_false(cc_expect_eval(&error, &crashed));

    tc_buf b = {0};
    assert_int_equal(cc_obs_render(&crashed, &b), TTRPC_OK);
    assert_non_null(strstr(tc_buf_str(&b), "signal 11"));
    tc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_cases_table),
        cmocka_unit_test(test_client_parse_json_line),
        cmocka_unit_test(test_client_parse_ref_lines),
        cmocka_unit_test(test_client_expectations),
    };
    return cmocka_run_group_tests_name("client_role", tests, NULL, NULL);
}
