/* The command-line options that `run`, `client` and `matrix` share, parsed in one place. Each
 * command says which options it takes; everything else about an option (its name, its
 * argument check, its error message) is written once. */
#ifndef TC_OPTIONS_H
#define TC_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TC_MAX_PATTERNS 64

/* Which options a command takes (tc_options_spec.accept). */
enum {
    TC_OPT_TARGET = 1u << 0,  /* --target unix:PATH */
    TC_OPT_EXEC = 1u << 1,    /* --exec CMD */
    TC_OPT_SELECT = 1u << 2,  /* --run PAT, --skip PAT */
    TC_OPT_VERDICT = 1u << 3, /* --strict, --known-failing FILE, --without FEATURE */
    TC_OPT_OUTPUT = 1u << 4,  /* --trace, --report-dir DIR, --name LABEL */
    TC_OPT_SCALE = 1u << 5,   /* --timeout-scale X */
    TC_OPT_LIST = 1u << 6,    /* --list */
    TC_OPT_CONFIG = 1u << 7,  /* --config FILE, --build-dir DIR */
};

typedef struct tc_options {
    const char *target;
    const char *exec;
    const char *run[TC_MAX_PATTERNS]; /* borrowed from argv */
    size_t n_run;
    const char *skip[TC_MAX_PATTERNS];
    size_t n_skip;
    bool strict;
    const char *known_failing;
    bool trace;
    double scale; /* 1 unless --timeout-scale */
    const char *report_dir;
    const char *name;
    unsigned without; /* TC_NEED_* bits */
    bool list;
    const char *config;
    const char *build_dir;
} tc_options;

typedef struct tc_options_spec {
    const char *prefix;   /* error messages start "PREFIX: ", e.g. "ttrpc-conform client" */
    unsigned accept;      /* TC_OPT_* */
    void (*usage)(FILE *f); /* --help prints it to stdout and exits 0 */
    /* When set, every --run pattern must match an id it accepts; "no case matches" names
     * what did not (no_match_text, e.g. "no client-role case matches"). */
    bool (*pattern_matches_any)(const char *pattern);
    const char *no_match_text;
} tc_options_spec;

/* Parses argv[2..] (argv[1] is the command) into *o, which it first resets.
 * Returns -1 to go on, or an exit status (2 after a usage error printed on stderr). */
int tc_options_parse(int argc, char **argv, const tc_options_spec *spec, tc_options *o);

/* Prints "PREFIX: <fmt with arg>" and the --help hint; returns 2 (could not run). */
int tc_options_usage_error(const tc_options_spec *spec, const char *fmt, const char *arg);

/* Writes s shell-quoted in single quotes, for replay hints. */
void tc_print_quoted(FILE *f, const char *s);

#endif
