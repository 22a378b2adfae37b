/* The case tables as data: ids well-formed and unique, every script encodable, every case
 * able to finish, and the selection rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "case.h"
#include "expect.h"
#include "script.h"

static void test_cases_ids_valid_and_unique(void **state)
{
    (void)state;
    size_t n = 0;
    const tc_case *const *all = tc_cases_all(&n);
    assert_true(n >= 60);
    for (size_t i = 0; i < n; i++) {
        if (!tc_case_id_valid(all[i]->id)) {
            fail_msg("bad id %s", all[i]->id);
        }
        assert_non_null(all[i]->clause);
        assert_non_null(all[i]->desc);
        assert_ptr_equal(tc_case_find(all[i]->id), all[i]);
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(all[i]->id, all[j]->id) == 0) {
                fail_msg("duplicate id %s", all[i]->id);
            }
        }
    }
    assert_null(tc_case_find("no/such/case"));
}

static void test_cases_scripts_encode(void **state)
{
    (void)state;
    size_t n = 0;
    const tc_case *const *all = tc_cases_all(&n);
    for (size_t i = 0; i < n; i++) {
        const tc_case *c = all[i];
        size_t ops = 0;
        while (ops < TC_MAX_OPS && c->script[ops].kind != TC_OP_END) {
            const tc_op *op = &c->script[ops];
            if (op->kind == TC_OP_REQUEST || op->kind == TC_OP_DATA || op->kind == TC_OP_FRAME ||
                op->kind == TC_OP_HEADER || op->kind == TC_OP_ZEROS) {
                tc_buf b = {0};
                if (tc_op_encode(op, &b) != TTRPC_OK) {
                    fail_msg("%s: op %zu does not encode", c->id, ops);
                }
                tc_buf_free(&b);
            }
            ops++;
        }
        /* The script must end with TC_END inside the array: room is left for it. */
        if (ops == TC_MAX_OPS) {
            fail_msg("%s: script fills all %d ops", c->id, TC_MAX_OPS);
        }
        /* A case must be able to finish: something to wait for, or a close. */
        uint32_t ids[8];
        bool closes = false;
        for (size_t k = 0; k < ops; k++) {
            closes = closes || c->script[k].kind == TC_OP_CLOSE;
        }
        if (tc_pred_ids(&c->pass, ids, 8) == 0 && !closes) {
            fail_msg("%s: pass waits for no stream and the script never closes", c->id);
        }
    }
}

static void test_cases_probe_id_above_every_id(void **state)
{
    (void)state;
    const tc_case *c = tc_case_find("ids/request/even-after-odd");
    assert_non_null(c);
    assert_int_equal(tc_case_probe_id(c), 5); /* above 4 */
    c = tc_case_find("ids/request/zero");
    assert_int_equal(tc_case_probe_id(c), 1);
    c = tc_case_find("request/unary/echo");
    assert_int_equal(tc_case_probe_id(c), 0); /* no NOTHING_ON: no probe */
    c = tc_case_find("types/unknown/0x05");
    assert_int_equal(tc_case_probe_id(c), 3);
}

static void test_cases_pattern_match(void **state)
{
    (void)state;
    assert_true(tc_pattern_match("frame", "frame/length/zero"));
    assert_true(tc_pattern_match("frame/length", "frame/length/zero"));
    assert_true(tc_pattern_match("frame/length/", "frame/length/zero"));
    assert_false(tc_pattern_match("frame/len", "frame/length/zero"));
    assert_true(tc_pattern_match("*/length/*", "frame/length/zero"));
    assert_true(tc_pattern_match("frame/length/zero", "frame/length/zero"));
    assert_false(tc_pattern_match("frame/length/zer", "frame/length/zero"));
    const char *run[] = {"frame"};
    const char *skip[] = {"frame/length/*"};
    assert_true(tc_selected("frame/split/x", run, 1, skip, 1));
    assert_false(tc_selected("frame/length/zero", run, 1, skip, 1));
    assert_false(tc_selected("types/a/b", run, 1, skip, 1));
    assert_true(tc_selected("types/a/b", NULL, 0, NULL, 0));
    assert_true(tc_case_id_valid("a/b/c"));
    assert_true(tc_case_id_valid("types/unknown/0x05"));
    assert_false(tc_case_id_valid("a/b"));
    assert_false(tc_case_id_valid("a//c"));
    assert_false(tc_case_id_valid("A/b/c"));
    assert_false(tc_case_id_valid("a/b/c/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_ids_valid_and_unique),
        cmocka_unit_test(test_cases_scripts_encode),
        cmocka_unit_test(test_cases_probe_id_above_every_id),
        cmocka_unit_test(test_cases_pattern_match),
    };
    return cmocka_run_group_tests_name("harness_cases", tests, NULL, NULL);
}
