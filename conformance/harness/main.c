/* ttrpc-conform: the conformance harness's command line. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "case.h"
#include "client_case.h" /* client-role cases: `ttrpc-conform client` */
#include "matrix.h"  /* `ttrpc-conform matrix`: client x server */
#include "options.h"
#include "peer.h"
#include "report.h"
#include "runner.h"
#include "tap.h"       /* `ttrpc-conform tap`: a recording relay */
#include "vector_runner.h" /* vectors/runner: `ttrpc-conform vectors` */
#include "verdict.h"

#define PROG "ttrpc-conform"

enum { EXIT_AS_EXPECTED = 0, EXIT_FAILURES = 1, EXIT_CANT_RUN = 2 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  %1$s list [--run PAT]... [--skip PAT]...\n"
            "  %1$s run (--target unix:PATH | --exec 'CMD {address}' | --exec 'CMD {fd}')\n"
            "        [--run PAT]... [--skip PAT]... [--strict] [--known-failing FILE]\n"
            "        [--trace] [--timeout-scale X] [--report-dir DIR] [--name LABEL]\n"
            "        [--without streaming]\n"
            "  %1$s vectors --exec CMD [...]   (golden vectors; see %1$s vectors --help)\n"
            "  %1$s client --exec 'CMD {address} {scenario}' [...]   (client-role cases;\n"
            "        the harness serves, the testee calls; see %1$s client --help)\n"
            "  %1$s tap --listen unix:A --connect unix:B --out FILE.json [--timeout-ms N]\n"
            "        (a relay that records every frame; see %1$s tap --help)\n"
            "  %1$s matrix [--config FILE] [...]   (every client x every server x every\n"
            "        scenario, through the tap; see %1$s matrix --help)\n"
            "  %1$s --help\n"
            "\n"
            "Plays conformance cases against a ttrpc server that serves\n"
            "ttrpc.conformance.v1.Echo (conformance/proto/echo.proto), one connection per case.\n"
            "\n"
            "  --target unix:PATH   a server that is already running (never restarted)\n"
            "  --exec CMD           start the server: {address} becomes unix:PATH (the peer\n"
            "                       listens), {fd} becomes %2$d (the peer inherits a listening\n"
            "                       socket there); it must print \"ready\" on stdout. A peer\n"
            "                       that dies or hangs is recorded and started again.\n"
            "  --run PAT, --skip PAT select case ids: a glob, or a prefix ending at a '/'\n"
            "  --strict             NON-STRICT verdicts count as failures\n"
            "  --known-failing FILE lines 'case-id  reason': failures there are XFAIL; a\n"
            "                       listed case that passes is XPASS and fails the run,\n"
            "                       unless its reason starts with 'flaky:'\n"
            "  --trace              print every case's wire log (hex and decoded frames)\n"
            "  --timeout-scale X    multiply every case's deadline by X (default 1)\n"
            "  --report-dir DIR     where LABEL.json, LABEL.xml, LABEL.md go (default\n"
            "                       build/reports)\n"
            "  --name LABEL         the peer's name in reports (default: peer)\n"
            "  --without FEATURE    the testee lacks FEATURE (streaming): its cases are\n"
            "                       UNSUPPORTED\n"
            "\n"
            "Verdicts: PASS, FAIL, NON-STRICT (a SHOULD not met, or only the lenient\n"
            "expectation met), INFO (the spec is silent: recorded), UNSUPPORTED, ERROR\n"
            "(harness trouble), XFAIL, XPASS. A peer that dies or hangs fails the case.\n"
            "Exit status: 0 all as expected, 1 conformance failures, 2 could not run.\n",
            PROG, TC_PEER_FD);
}

static bool any_case_matches(const char *pattern)
{
    size_t n = 0;
    const tc_case *const *all = tc_cases_all(&n);
    for (size_t j = 0; j < n; j++) {
        if (tc_pattern_match(pattern, all[j]->id)) {
            return true;
        }
    }
    return false;
}

static const tc_options_spec RUN_SPEC = {
    .prefix = PROG,
    .accept = TC_OPT_TARGET | TC_OPT_EXEC | TC_OPT_SELECT | TC_OPT_VERDICT | TC_OPT_OUTPUT |
              TC_OPT_SCALE,
    .usage = usage,
    .pattern_matches_any = any_case_matches,
    .no_match_text = "no case matches",
};

static int usage_error(const char *fmt, const char *arg)
{
    return tc_options_usage_error(&RUN_SPEC, fmt, arg);
}

typedef tc_options options;

static int cmd_list(const options *o)
{
    size_t n = 0;
    const tc_case *const *all = tc_cases_all(&n);
    for (size_t i = 0; i < n; i++) {
        const tc_case *c = all[i];
        if (tc_selected(c->id, o->run, o->n_run, o->skip, o->n_skip)) {
            printf("%-48s %-6s %-6s %s\n", c->id, tc_level_name(c->level),
                   tc_role_name(c->testee), c->desc);
        }
    }
    return EXIT_AS_EXPECTED;
}

static char *render_pred(const tc_pred *p)
{
    tc_buf b = {0};
    if (tc_pred_render(p, &b) != TTRPC_OK) {
        tc_buf_free(&b);
        return NULL;
    }
    return (char *)b.p;
}

static char *render_obs(const tc_obs *obs)
{
    tc_buf b = {0};
    if (tc_obs_render(obs, &b) != TTRPC_OK) {
        tc_buf_free(&b);
        return NULL;
    }
    return (char *)b.p;
}

static void print_replay(const options *o, const char *id)
{
    fprintf(stderr, "    replay: %s run %s ", PROG, o->exec != NULL ? "--exec" : "--target");
    tc_print_quoted(stderr, o->exec != NULL ? o->exec : o->target);
    if (o->scale != 1.0) {
        fprintf(stderr, " --timeout-scale %g", o->scale);
    }
    fprintf(stderr, " --run %s --trace\n", id);
}

static int cmd_run(const options *o)
{
    if ((o->target == NULL) == (o->exec == NULL)) {
        return usage_error("%s", "run needs exactly one of --target unix:PATH and --exec CMD");
    }
    tc_known known = {0};
    if (o->known_failing != NULL) {
        size_t bad = 0;
        ttrpc_err rc = tc_known_load(o->known_failing, &known, &bad);
        if (rc != TTRPC_OK) {
            if (rc == TTRPC_E_INVAL) {
                fprintf(stderr, "%s: %s:%zu: expected 'case-id  reason'\n", PROG,
                        o->known_failing, bad);
            } else {
                fprintf(stderr, "%s: cannot read %s: %s\n", PROG, o->known_failing,
                        rc == TTRPC_E_IO ? strerror(errno) : ttrpc_strerror(rc));
            }
            return EXIT_CANT_RUN;
        }
        for (size_t i = 0; i < known.n; i++) {
            if (tc_case_find(known.entries[i].id) == NULL) {
                fprintf(stderr, "%s: warning: %s lists unknown case %s\n", PROG,
                        o->known_failing, known.entries[i].id);
            }
        }
    }
    size_t n_all = 0;
    const tc_case *const *all = tc_cases_all(&n_all);
    size_t n_sel = 0;
    for (size_t i = 0; i < n_all; i++) {
        n_sel += tc_selected(all[i]->id, o->run, o->n_run, o->skip, o->n_skip);
    }
    tc_result *results = calloc(n_sel + 1, sizeof *results);
    if (results == NULL) {
        tc_known_free(&known);
        return EXIT_CANT_RUN;
    }

    tc_peer peer;
    if (tc_peer_init(&peer, o->exec, o->target) != TTRPC_OK) {
        fprintf(stderr, "%s: cannot prepare the peer (%s)\n", PROG,
                o->target != NULL ? "--target expects unix:PATH" : strerror(errno));
        free(results);
        tc_known_free(&known);
        return EXIT_CANT_RUN;
    }
    char err[1200];
    if (tc_peer_start(&peer, err, sizeof err) != TTRPC_OK) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        tc_peer_stop(&peer);
        free(results);
        tc_known_free(&known);
        return EXIT_CANT_RUN;
    }

    time_t started = time(NULL);
    char started_text[32];
    (void)strftime(started_text, sizeof started_text, "%Y-%m-%dT%H:%M:%SZ", gmtime(&started));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tc_report rep = {
        .name = o->name != NULL ? o->name : "peer",
        .peer = tc_peer_describe(&peer),
        .started = started_text,
        .strict = o->strict,
        .timeout_scale = o->scale,
        .results = results,
    };
    int probe_ms = (int)(2000.0 * o->scale);
    size_t k = 0;
    for (size_t i = 0; i < n_all; i++) {
        const tc_case *c = all[i];
        if (!tc_selected(c->id, o->run, o->n_run, o->skip, o->n_skip)) {
            continue;
        }
        tc_result *res = &results[k++];
        res->c = c;
        res->known_reason = tc_known_reason(&known, c->id);
        tc_verdict_input in = {
            .level = c->level,
            .strict = o->strict,
            .known_failing = res->known_reason != NULL,
            .known_flaky = tc_known_is_flaky(res->known_reason),
            .unsupported = (c->needs & o->without) != 0,
        };
        if (!in.unsupported) {
            unsigned starts = peer.starts;
            ttrpc_err rc = tc_run_case(c, peer.sock_path, o->scale, &res->run);
            in.harness_error = rc != TTRPC_OK;
            res->fate = tc_peer_check(&peer, probe_ms);
            if (res->fate != TC_FATE_ALIVE) {
                (void)snprintf(res->peer_end, sizeof res->peer_end, "%s",
                               peer.last_end[0] ? peer.last_end : "not answering");
                res->peer_stderr = strdup(peer.stderr_tail);
                in.harness_error = false; /* a dead peer is a verdict, not harness trouble */
            }
            rep.peer_restarts += peer.starts - starts;
            res->run.obs.alive = res->fate == TC_FATE_ALIVE;
            tc_case_judge(c, &res->run);
            in.pass = res->run.pass;
            in.lenient = res->run.lenient;
            in.fate = res->fate;
        }
        res->verdict = tc_verdict_decide(&in);
        res->expected = render_pred(&c->pass);
        res->lenient = c->has_lenient ? render_pred(&c->lenient) : NULL;
        res->actual = render_obs(&res->run.obs);
        rep.counts[res->verdict]++;

        fprintf(stderr, "[%zu/%zu] %s %s", k, n_sel, c->id, tc_verdict_name(res->verdict));
        if (res->fate != TC_FATE_ALIVE) {
            fprintf(stderr, " (%s: %s)", tc_fate_name(res->fate), res->peer_end);
        }
        fprintf(stderr, " %llu ms\n", (unsigned long long)res->run.elapsed_ms);
        if (!tc_verdict_ok(res->verdict) || o->trace) {
            fprintf(stderr, "    level:    %s; %s\n", tc_level_name(c->level), c->clause);
            fprintf(stderr, "    expected: %s\n", res->expected ? res->expected : "?");
            if (res->lenient != NULL) {
                fprintf(stderr, "    lenient:  %s\n", res->lenient);
            }
            fprintf(stderr, "    actual:   %s%s\n",
                    res->run.harness_error ? res->run.error : (res->actual ? res->actual : "?"),
                    res->run.timed_out ? " (deadline passed)" : "");
            if (res->verdict == TC_V_XPASS) {
                fprintf(stderr, "    listed as known-failing (%s) but passed: update the list\n",
                        res->known_reason);
            }
            if (res->peer_stderr != NULL && res->peer_stderr[0] != '\0') {
                fprintf(stderr, "    peer stderr (tail): %.600s\n", res->peer_stderr);
            }
            if (!tc_verdict_ok(res->verdict)) {
                print_replay(o, c->id);
            }
        }
        if (o->trace) {
            fprintf(stderr, "%s", tc_buf_str(&res->run.log));
        }
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep.n = k;
    rep.elapsed_ms =
        (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    tc_peer_stop(&peer);

    const char *dir = o->report_dir != NULL ? o->report_dir : "build/reports";
    if (tc_report_write(&rep, dir) != TTRPC_OK) {
        fprintf(stderr, "%s: cannot write the reports into %s: %s\n", PROG, dir, strerror(errno));
    }
    bool ok = true;
    for (size_t i = 0; i < k; i++) {
        ok = ok && tc_verdict_ok(results[i].verdict);
    }
    printf("%s: %zu cases:", rep.name, k);
    for (int v = 0; v < TC_V_COUNT; v++) {
        if (rep.counts[v] > 0) {
            printf(" %u %s", rep.counts[v], tc_verdict_name((tc_verdict)v));
        }
    }
    printf("; reports in %s/%s.{json,xml,md}\n", dir, rep.name);
    for (size_t i = 0; i < k; i++) {
        tc_case_run_free(&results[i].run);
        free(results[i].expected);
        free(results[i].lenient);
        free(results[i].actual);
        free(results[i].peer_stderr);
    }
    free(results);
    tc_known_free(&known);
    return ok ? EXIT_AS_EXPECTED : EXIT_FAILURES;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_CANT_RUN;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "vectors") == 0) {
        return tc_vectors_main(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "client") == 0) {
        return cc_client_main(argc, argv);
    }
    if (strcmp(argv[1], "tap") == 0) {
        return tc_tap_main(argc, argv);
    }
    if (strcmp(argv[1], "matrix") == 0) {
        return mx_matrix_main(argc, argv);
    }
    bool list = strcmp(argv[1], "list") == 0;
    if (!list && strcmp(argv[1], "run") != 0) {
        return usage_error("unknown command '%s' (expected list or run)", argv[1]);
    }
    (void)signal(SIGPIPE, SIG_IGN);
    options o;
    int rc = tc_options_parse(argc, argv, &RUN_SPEC, &o);
    if (rc >= 0) {
        return rc;
    }
    if (list) {
        if (o.target != NULL || o.exec != NULL) {
            return usage_error("%s", "list takes only --run and --skip");
        }
        return cmd_list(&o);
    }
    return cmd_run(&o);
}
