/* The shared option parser: what each command accepts, repeated patterns, argument checks,
 * and the exit status of a usage error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "case.h"
#include "options.h"

static void no_usage(FILE *f)
{
    (void)f;
}

static bool only_frame(const char *pattern)
{
    return strncmp(pattern, "frame/", 6) == 0;
}

static const tc_options_spec SPEC = {
    .prefix = "test",
    .accept = TC_OPT_EXEC | TC_OPT_SELECT | TC_OPT_VERDICT | TC_OPT_OUTPUT | TC_OPT_SCALE,
    .usage = no_usage,
    .pattern_matches_any = only_frame,
    .no_match_text = "no case matches",
};

static int parse(tc_options *o, int argc, char **argv)
{
    return tc_options_parse(argc, argv, &SPEC, o);
}

static void test_options_parse_all_accepted(void **state)
{
    (void)state;
    char *argv[] = {"prog", "run", "--exec", "x {fd}", "--run", "frame/a", "--run", "frame/b",
                    "--skip", "y", "--strict", "--known-failing", "k.txt", "--trace",
                    "--timeout-scale", "2.5", "--report-dir", "d", "--name", "n",
                    "--without", "streaming", NULL};
    tc_options o;
    assert_int_equal(parse(&o, (int)(sizeof argv / sizeof argv[0]) - 1, argv), -1);
    assert_string_equal(o.exec, "x {fd}");
    assert_int_equal(o.n_run, 2);
    assert_string_equal(o.run[1], "frame/b");
    assert_int_equal(o.n_skip, 1);
    assert_true(o.strict);
    assert_true(o.trace);
    assert_string_equal(o.known_failing, "k.txt");
    assert_true(o.scale == 2.5);
    assert_string_equal(o.report_dir, "d");
    assert_string_equal(o.name, "n");
    assert_int_equal(o.without, TC_NEED_STREAMING);
    assert_null(o.target);
}

static void test_options_parse_errors_exit_2(void **state)
{
    (void)state;
    static const char *const bad[][3] = {
        {"--target", "unix:/x", NULL},    /* not accepted by this command */
        {"--list", NULL, NULL},           /* not accepted */
        {"--timeout-scale", "0", NULL},   /* out of range */
        {"--timeout-scale", "2x", NULL},  /* not a number */
        {"--without", "speed", NULL},     /* unknown feature */
        {"--run", "ids/x", NULL},         /* matches nothing */
        {"--exec", NULL, NULL},           /* missing argument */
        {"--trace", "extra", NULL},       /* stray argument */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[5] = {"prog", "run", (char *)bad[i][0], (char *)bad[i][1], NULL};
        int argc = bad[i][1] != NULL ? 4 : 3;
        tc_options o;
        assert_int_equal(parse(&o, argc, argv), 2);
    }
}

static void test_options_parse_defaults(void **state)
{
    (void)state;
    char *argv[] = {"prog", "run", NULL};
    tc_options o;
    memset(&o, 0x55, sizeof o); /* the parser resets it */
    assert_int_equal(parse(&o, 2, argv), -1);
    assert_true(o.scale == 1.0);
    assert_int_equal(o.n_run, 0);
    assert_null(o.exec);
    assert_false(o.strict);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_parse_all_accepted),
        cmocka_unit_test(test_options_parse_errors_exit_2),
        cmocka_unit_test(test_options_parse_defaults),
    };
    return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
