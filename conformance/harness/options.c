/* Shared option parsing (options.h). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "case.h" /* TC_NEED_STREAMING */

int tc_options_usage_error(const tc_options_spec *spec, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", spec->prefix);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help'.\n", spec->prefix);
    return 2;
}

void tc_print_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s != '\0'; s++) {
        if (*s == '\'') {
            fputs("'\\''", f);
        } else {
            fputc(*s, f);
        }
    }
    fputc('\'', f);
}

/* Every option once, with the command group that may take it. */
static const struct {
    struct option opt;
    unsigned group;
} ALL_OPTIONS[] = {
    {{"target", required_argument, NULL, 't'}, TC_OPT_TARGET},
    {{"exec", required_argument, NULL, 'e'}, TC_OPT_EXEC},
    {{"run", required_argument, NULL, 'r'}, TC_OPT_SELECT},
    {{"skip", required_argument, NULL, 's'}, TC_OPT_SELECT},
    {{"strict", no_argument, NULL, 'S'}, TC_OPT_VERDICT},
    {{"known-failing", required_argument, NULL, 'k'}, TC_OPT_VERDICT},
    {{"without", required_argument, NULL, 'w'}, TC_OPT_VERDICT},
    {{"trace", no_argument, NULL, 'T'}, TC_OPT_OUTPUT},
    {{"report-dir", required_argument, NULL, 'd'}, TC_OPT_OUTPUT},
    {{"name", required_argument, NULL, 'n'}, TC_OPT_OUTPUT},
    {{"timeout-scale", required_argument, NULL, 'x'}, TC_OPT_SCALE},
    {{"list", no_argument, NULL, 'l'}, TC_OPT_LIST},
    {{"config", required_argument, NULL, 'c'}, TC_OPT_CONFIG},
    {{"build-dir", required_argument, NULL, 'b'}, TC_OPT_CONFIG},
};
#define N_OPTIONS (sizeof ALL_OPTIONS / sizeof ALL_OPTIONS[0])

static int add_pattern(const tc_options_spec *spec, const char **list, size_t *n,
                       const char *pattern, const char *which)
{
    if (*n == TC_MAX_PATTERNS) {
        return tc_options_usage_error(spec, "too many %s patterns", which);
    }
    list[(*n)++] = pattern;
    return -1;
}

int tc_options_parse(int argc, char **argv, const tc_options_spec *spec, tc_options *o)
{
    memset(o, 0, sizeof *o);
    o->scale = 1.0;
    struct option longopts[N_OPTIONS + 2];
    size_t n_long = 0;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (ALL_OPTIONS[i].group & spec->accept) {
            longopts[n_long++] = ALL_OPTIONS[i].opt;
        }
    }
    longopts[n_long++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n_long] = (struct option){NULL, 0, NULL, 0};

    opterr = 0;
    optind = 2;
    int opt;
    int rc = -1;
    while (rc < 0 && (opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case 't':
            o->target = optarg;
            break;
        case 'e':
            o->exec = optarg;
            break;
        case 'r':
            rc = add_pattern(spec, o->run, &o->n_run, optarg, "--run");
            break;
        case 's':
            rc = add_pattern(spec, o->skip, &o->n_skip, optarg, "--skip");
            break;
        case 'S':
            o->strict = true;
            break;
        case 'k':
            o->known_failing = optarg;
            break;
        case 'w':
            if (strcmp(optarg, "streaming") != 0) {
                return tc_options_usage_error(spec, "--without %s: known features: streaming",
                                              optarg);
            }
            o->without |= TC_NEED_STREAMING;
            break;
        case 'T':
            o->trace = true;
            break;
        case 'd':
            o->report_dir = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'x': {
            char *end = NULL;
            errno = 0;
            o->scale = strtod(optarg, &end);
            if (errno != 0 || *end != '\0' || !(o->scale > 0 && o->scale <= 100)) {
                return tc_options_usage_error(
                    spec, "--timeout-scale %s: expected a number in (0, 100]", optarg);
            }
            break;
        }
        case 'l':
            o->list = true;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'b':
            o->build_dir = optarg;
            break;
        case 'h':
            spec->usage(stdout);
            exit(0);
        case ':':
            return tc_options_usage_error(spec, "%s needs an argument", argv[optind - 1]);
        default:
            return tc_options_usage_error(spec, "unknown option %s", argv[optind - 1]);
        }
    }
    if (rc >= 0) {
        return rc;
    }
    if (optind < argc) {
        return tc_options_usage_error(spec, "unexpected argument '%s'", argv[optind]);
    }
    for (size_t i = 0; i < o->n_run && spec->pattern_matches_any != NULL; i++) {
        if (!spec->pattern_matches_any(o->run[i])) {
            fprintf(stderr, "%s: --run %s: %s\nTry '%s --help'.\n", spec->prefix, o->run[i],
                    spec->no_match_text, spec->prefix);
            return 2;
        }
    }
    return -1;
}
