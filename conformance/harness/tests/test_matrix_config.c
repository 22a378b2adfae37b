/* The matrix configuration: the default file's shape, {bin}, features and what each line
 * must hold, with the line number of the first mistake. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "case.h"
#include "matrix_config.h"

static const char GOOD[] =
    "# comment\n"
    "\n"
    "scenario echo\n"
    "scenario bidi needs=streaming\n"
    "scenario remote needs=remote-deadline needs=streaming\r\n"
    "server c {bin}/srv --fd {fd}\n"
    "server sync without=streaming {bin}/srv --listen {address}\n"
    "  client go   {bin}/cli --connect {address} --scenario {scenario}\n"
    "client rs without=remote-deadline cli {address} {scenario} {bin}\n";

static void test_matrix_config_parse_good(void **state)
{
    (void)state;
    mx_config c;
    size_t bad = 99;
    char why[128] = "";
    assert_int_equal(mx_config_parse(GOOD, "B/bin", &c, &bad, why, sizeof why), TTRPC_OK);
    assert_int_equal(bad, 0);
    assert_int_equal(c.n_scenarios, 3);
    assert_int_equal(c.n_servers, 2);
    assert_int_equal(c.n_clients, 2);
    assert_string_equal(c.scenarios[1].name, "bidi");
    assert_int_equal(c.scenarios[1].needs, TC_NEED_STREAMING);
    assert_int_equal(c.scenarios[2].needs, TC_NEED_STREAMING | MX_NEED_REMOTE_DEADLINE);
    assert_string_equal(c.servers[0].cmd, "B/bin/srv --fd {fd}");
    assert_string_equal(c.servers[1].label, "sync");
    assert_int_equal(c.servers[1].without, TC_NEED_STREAMING);
    assert_string_equal(c.servers[1].cmd, "B/bin/srv --listen {address}");
    assert_string_equal(c.clients[0].cmd, "B/bin/cli --connect {address} --scenario {scenario}");
    assert_string_equal(c.clients[1].cmd, "cli {address} {scenario} B/bin");
    assert_int_equal(c.clients[1].without, MX_NEED_REMOTE_DEADLINE);
    assert_string_equal(mx_feature_name(MX_NEED_REMOTE_DEADLINE), "remote-deadline");
}

static void test_matrix_config_supported_needs_both_ends(void **state)
{
    (void)state;
    mx_config c;
    size_t bad = 0;
    char why[128];
    assert_int_equal(mx_config_parse(GOOD, "b", &c, &bad, why, sizeof why), TTRPC_OK);
    assert_true(mx_supported(&c.clients[0], &c.servers[0], &c.scenarios[1]));
    assert_false(mx_supported(&c.clients[0], &c.servers[1], &c.scenarios[1])); /* server */
    assert_true(mx_supported(&c.clients[1], &c.servers[0], &c.scenarios[1]));
    assert_false(mx_supported(&c.clients[1], &c.servers[0], &c.scenarios[2])); /* client */
    assert_true(mx_supported(&c.clients[1], &c.servers[1], &c.scenarios[0]));
}

/* Each mistake, on line 3 after two good lines, with the error it gives. */
static void test_matrix_config_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        ttrpc_err rc;
    } table[] = {
        {"service x cmd {fd}", TTRPC_E_INVAL},                       /* unknown keyword */
        {"server", TTRPC_E_INVAL},                                   /* no label */
        {"server c", TTRPC_E_INVAL},                                 /* no command */
        {"server c ./srv", TTRPC_E_INVAL},                           /* no {fd}/{address} */
        {"server a/b ./srv {fd}", TTRPC_E_INVAL},                    /* '/' in a label */
        {"server s ./srv {fd}", TTRPC_E_INVAL},                      /* duplicate label */
        {"server d without=telepathy ./srv {fd}", TTRPC_E_INVAL},    /* unknown feature */
        {"client c ./cli {address}", TTRPC_E_INVAL},                 /* no {scenario} */
        {"client c ./cli {scenario}", TTRPC_E_INVAL},                /* no {address} */
        {"scenario", TTRPC_E_INVAL},                                 /* no name */
        {"scenario echo", TTRPC_E_INVAL},                            /* twice */
        {"scenario e2 needs=flying", TTRPC_E_INVAL},                 /* unknown feature */
        {"scenario e3 extra", TTRPC_E_INVAL},                        /* not needs= */
        {"server aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ./s {fd}", TTRPC_E_NOSPACE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        char text[512];
        (void)snprintf(text, sizeof text,
                       "server s ./srv {fd}\nscenario echo\n%s\n"
                       "client c ./c {address} {scenario}\n",
                       table[i].line);
        mx_config c;
        size_t bad = 0;
        char why[128] = "";
        ttrpc_err rc = mx_config_parse(text, "b", &c, &bad, why, sizeof why);
        if (rc != table[i].rc || bad != 3) {
            fail_msg("line '%s': rc %d at line %zu (%s)", table[i].line, rc, bad, why);
        }
        assert_true(why[0] != '\0');
    }
}

static void test_matrix_config_parse_needs_all_three(void **state)
{
    (void)state;
    mx_config c;
    size_t bad = 0;
    char why[128] = "";
    assert_int_equal(mx_config_parse("server s x {fd}\nscenario e\n", "b", &c, &bad, why,
                                     sizeof why),
                     TTRPC_E_INVAL);
    assert_int_equal(bad, 0);
    assert_non_null(strstr(why, "at least one"));
    assert_int_equal(mx_config_parse("", "b", &c, &bad, why, sizeof why), TTRPC_E_INVAL);
}

/* {bin} expanding past the command's room is refused, not cut. */
static void test_matrix_config_parse_command_too_long(void **state)
{
    (void)state;
    char bin[400];
    memset(bin, 'd', sizeof bin - 1);
    bin[sizeof bin - 1] = '\0';
    mx_config c;
    size_t bad = 0;
    char why[128] = "";
    assert_int_equal(mx_config_parse("server s {bin} {bin} {fd}\n", bin, &c, &bad, why,
                                     sizeof why),
                     TTRPC_E_NOSPACE);
    assert_int_equal(bad, 1);
}

static void test_matrix_config_load_default_file(void **state)
{
    (void)state;
    mx_config c;
    size_t bad = 0;
    char why[128] = "";
    ttrpc_err rc = mx_config_load("conformance/matrix.conf", "build/bin", &c, &bad, why,
                                  sizeof why);
    if (rc == TTRPC_E_IO) {
        skip(); /* run from elsewhere than the repository root */
    }
    assert_int_equal(rc, TTRPC_OK);
    assert_int_equal(c.n_servers, 4);
    assert_int_equal(c.n_clients, 4);
    assert_int_equal(c.n_scenarios, 12);
    assert_int_equal(mx_config_load("/nonexistent/matrix.conf", "b", &c, &bad, why, sizeof why),
                     TTRPC_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_config_parse_good),
        cmocka_unit_test(test_matrix_config_supported_needs_both_ends),
        cmocka_unit_test(test_matrix_config_parse_errors),
        cmocka_unit_test(test_matrix_config_parse_needs_all_three),
        cmocka_unit_test(test_matrix_config_parse_command_too_long),
        cmocka_unit_test(test_matrix_config_load_default_file),
    };
    return cmocka_run_group_tests_name("matrix_config", tests, NULL, NULL);
}
