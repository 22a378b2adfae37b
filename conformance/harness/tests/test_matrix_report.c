/* The matrix's reports: cells with verdict, detail and trace in JSON; JUnit failure and skip
 * elements; the markdown table counts passes per client x server. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"

static mx_config cfg;
static mx_cell cells[3];

static mx_report fixture(void)
{
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.servers[0].label, "go");
    strcpy(cfg.servers[0].cmd, "srv {fd}");
    cfg.n_servers = 1;
    strcpy(cfg.clients[0].label, "c");
    strcpy(cfg.clients[0].cmd, "cli \"{address}\" {scenario}");
    cfg.n_clients = 1;
    strcpy(cfg.scenarios[0].name, "echo");
    strcpy(cfg.scenarios[1].name, "fail");
    strcpy(cfg.scenarios[2].name, "bidi");
    cfg.n_scenarios = 3;
    memset(cells, 0, sizeof cells);
    static const tc_verdict v[3] = {TC_V_PASS, TC_V_FAIL, TC_V_UNSUPPORTED};
    mx_report r = {.name = "matrix", .config = "m.conf", .started = "T", .timeout_scale = 1,
                   .cfg = &cfg, .cells = cells, .n = 3};
    for (size_t i = 0; i < 3; i++) {
        cells[i].client = &cfg.clients[0];
        cells[i].server = &cfg.servers[0];
        cells[i].scenario = &cfg.scenarios[i];
        strcpy(cells[i].id, "c/go/");
        strcat(cells[i].id, cfg.scenarios[i].name);
        cells[i].verdict = v[i];
        r.counts[v[i]]++;
    }
    strcpy(cells[1].detail, "got <12> | \"x\"\n");
    strcpy(cells[0].trace, "traces/c__go__echo.json");
    return r;
}

static void test_matrix_report_json(void **state)
{
    (void)state;
    mx_report r = fixture();
    tc_buf b = {0};
    assert_int_equal(mx_report_json(&r, &b), TTRPC_OK);
    const char *s = tc_buf_str(&b);
    assert_non_null(strstr(s, "{\"schema_version\":1,"));
    assert_non_null(strstr(s, "\"command\":\"cli \\\"{address}\\\" {scenario}\""));
    assert_non_null(strstr(s, "\"counts\":{\"PASS\":1,\"FAIL\":1,\"UNSUPPORTED\":1}"));
    assert_non_null(strstr(s, "\"id\":\"c/go/echo\",\"client\":\"c\",\"server\":\"go\","
                              "\"scenario\":\"echo\",\"verdict\":\"PASS\""));
    assert_non_null(strstr(s, "\"trace\":\"traces/c__go__echo.json\""));
    assert_non_null(strstr(s, "\"detail\":\"got <12> | \\\"x\\\"\\u000a\""));
    assert_non_null(strstr(s, "\"trace\":null"));
    tc_buf_free(&b);
}

static void test_matrix_report_junit(void **state)
{
    (void)state;
    mx_report r = fixture();
    tc_buf b = {0};
    assert_int_equal(mx_report_junit(&r, &b), TTRPC_OK);
    const char *s = tc_buf_str(&b);
    assert_non_null(strstr(s, "tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""));
    assert_non_null(strstr(s, "<failure message=\"FAIL: got &#x3c;12&#x3e; | &#x22;x&#x22;"));
    assert_non_null(strstr(s, "name=\"c/go/bidi\" time=\"0.000\"><skipped"));
    tc_buf_free(&b);
}

static void test_matrix_report_markdown(void **state)
{
    (void)state;
    mx_report r = fixture();
    tc_buf b = {0};
    assert_int_equal(mx_report_markdown(&r, &b), TTRPC_OK);
    const char *s = tc_buf_str(&b);
    assert_non_null(strstr(s, "| client \\ server | go |"));
    assert_non_null(strstr(s, "| c | **1/2** |")); /* UNSUPPORTED is not run */
    assert_non_null(strstr(s, "| c/go/fail | FAIL | got <12> \\| \"x\"  | - |"));
    assert_null(strstr(s, "| c/go/echo | PASS"));
    tc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_report_json),
        cmocka_unit_test(test_matrix_report_junit),
        cmocka_unit_test(test_matrix_report_markdown),
    };
    return cmocka_run_group_tests_name("matrix_report", tests, NULL, NULL);
}
