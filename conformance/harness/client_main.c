/* `ttrpc-conform client`: the client-role cases against a ttrpc client (client_case.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_case.h"
#include "options.h"

#define PROG "ttrpc-conform"

enum { EXIT_AS_EXPECTED = 0, EXIT_FAILURES = 1, EXIT_CANT_RUN = 2 };

static void client_usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  %1$s client --exec 'CMD {address} {scenario}' [--run PAT]... [--skip PAT]...\n"
            "        [--strict] [--known-failing FILE] [--trace] [--timeout-scale X]\n"
            "        [--report-dir DIR] [--name LABEL] [--without streaming]\n"
            "  %1$s client --list [--run PAT]... [--skip PAT]...\n"
            "\n"
            "Plays the client-role cases: the harness is a scripted server, the testee a\n"
            "ttrpc client. For each case the harness listens on a Unix socket in a private\n"
            "directory and starts CMD with {address} = unix:PATH and {scenario} = the call\n"
            "to make: echo (unary Echo of Bytes \"hello ttrpc\"), deadline (unary Sleep of\n"
            "Count 2000 with a 200 ms deadline) or server-stream (ServerStream of Count 5).\n"
            "It answers the client's first Request with the case's script (correct and\n"
            "hostile answers) and judges what the client reports before the case deadline:\n"
            "  - one JSON line {\"scenario\":..,\"ok\":BOOL,\"code\":N,\"detail\":..} (the\n"
            "    scenario protocol of ttrpc-peer-go and ttrpc-peer-rust client), or\n"
            "  - ttrpc-ref-client's \"status: CODE NAME\", \"payload: HEX\", \"data: HEX\"\n"
            "    lines (conformance/peers/c/ref-client-scenario.sh maps scenarios to it),\n"
            "  - and its exit status. A client still running at the deadline is killed\n"
            "    (hang) and a client killed by a signal crashed: both FAIL.\n"
            "Examples:\n"
            "  %1$s client --exec 'ttrpc-peer-go client --connect {address} --scenario {scenario}'\n"
            "  %1$s client --exec 'conformance/peers/c/ref-client-scenario.sh {address} {scenario}\n"
            "        build/bin/ttrpc-ref-client' --name c-client\n"
            "Other options are those of `%1$s run`. Exit status: 0 all as expected,\n"
            "1 conformance failures, 2 could not run.\n",
            PROG);
}

static bool any_client_case_matches(const char *pattern)
{
    for (size_t j = 0; j < cc_cases_count; j++) {
        if (tc_pattern_match(pattern, cc_cases[j].base.id)) {
            return true;
        }
    }
    return false;
}

static const tc_options_spec CLIENT_SPEC = {
    .prefix = PROG " client",
    .accept = TC_OPT_EXEC | TC_OPT_SELECT | TC_OPT_VERDICT | TC_OPT_OUTPUT | TC_OPT_SCALE |
              TC_OPT_LIST,
    .usage = client_usage,
    .pattern_matches_any = any_client_case_matches,
    .no_match_text = "no client-role case matches",
};

static int client_usage_error(const char *fmt, const char *arg)
{
    return tc_options_usage_error(&CLIENT_SPEC, fmt, arg);
}

typedef tc_options client_options;

static char *render_expect(const cc_expect *x)
{
    tc_buf b = {0};
    if (cc_expect_render(x, &b) != TTRPC_OK) {
        tc_buf_free(&b);
        return NULL;
    }
    (void)tc_buf_str(&b);
    return (char *)b.p;
}

static char *render_obs(const cc_obs *o)
{
    tc_buf b = {0};
    if (cc_obs_render(o, &b) != TTRPC_OK) {
        tc_buf_free(&b);
        return NULL;
    }
    (void)tc_buf_str(&b);
    return (char *)b.p;
}

static bool load_known(const char *path, tc_known *known)
{
    size_t bad = 0;
    ttrpc_err rc = tc_known_load(path, known, &bad);
    if (rc != TTRPC_OK) {
        if (rc == TTRPC_E_INVAL) {
            fprintf(stderr, "%s: %s:%zu: expected 'case-id  reason'\n", PROG, path, bad);
        } else {
            fprintf(stderr, "%s: cannot read %s: %s\n", PROG, path,
                    rc == TTRPC_E_IO ? strerror(errno) : ttrpc_strerror(rc));
        }
        return false;
    }
    for (size_t i = 0; i < known->n; i++) {
        if (cc_case_find(known->entries[i].id) == NULL) {
            fprintf(stderr, "%s: warning: %s lists unknown client-role case %s\n", PROG, path,
                    known->entries[i].id);
        }
    }
    return true;
}

static int client_run(const client_options *o)
{
    tc_known known = {0};
    if (o->known_failing != NULL && !load_known(o->known_failing, &known)) {
        return EXIT_CANT_RUN;
    }
    size_t n_sel = 0;
    for (size_t i = 0; i < cc_cases_count; i++) {
        n_sel += tc_selected(cc_cases[i].base.id, o->run, o->n_run, o->skip, o->n_skip);
    }
    tc_result *results = calloc(n_sel + 1, sizeof *results);
    char dir[] = "/tmp/ttrpc-conform-cli.XXXXXX";
    if (results == NULL || mkdtemp(dir) == NULL) {
        fprintf(stderr, "%s: cannot prepare a private directory: %s\n", PROG, strerror(errno));
        free(results);
        tc_known_free(&known);
        return EXIT_CANT_RUN;
    }
    char sock[108];
    (void)snprintf(sock, sizeof sock, "%s/c.sock", dir);

    time_t started = time(NULL);
    char started_text[32];
    (void)strftime(started_text, sizeof started_text, "%Y-%m-%dT%H:%M:%SZ", gmtime(&started));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tc_report rep = {
        .name = o->name != NULL ? o->name : "client",
        .peer = o->exec,
        .started = started_text,
        .strict = o->strict,
        .timeout_scale = o->scale,
        .results = results,
    };
    bool cant_run = false;
    size_t k = 0;
    for (size_t i = 0; i < cc_cases_count && !cant_run; i++) {
        const cc_case *c = &cc_cases[i];
        if (!tc_selected(c->base.id, o->run, o->n_run, o->skip, o->n_skip)) {
            continue;
        }
        tc_result *res = &results[k++];
        res->c = &c->base;
        res->known_reason = tc_known_reason(&known, c->base.id);
        tc_verdict_input in = {
            .level = c->base.level,
            .strict = o->strict,
            .known_failing = res->known_reason != NULL,
            .known_flaky = tc_known_is_flaky(res->known_reason),
            .unsupported = (c->base.needs & o->without) != 0,
        };
        cc_obs obs;
        memset(&obs, 0, sizeof obs);
        if (!in.unsupported) {
            char tail[2048];
            ttrpc_err rc = cc_run_case(c, o->exec, sock, o->scale, &obs, &res->run.log,
                                       &res->run.wire, tail, sizeof tail, res->run.error,
                                       sizeof res->run.error);
            res->run.elapsed_ms = obs.elapsed_ms;
            res->run.harness_error = rc != TTRPC_OK;
            res->run.timed_out = obs.end == CC_END_HUNG;
            in.harness_error = res->run.harness_error;
            if (rc == TTRPC_E_INVAL || (obs.end == CC_END_EXITED && obs.exit_status == 127 &&
                                        !obs.reported)) {
                fprintf(stderr, "%s: cannot run the client: %s\n", PROG,
                        rc == TTRPC_E_INVAL ? res->run.error : "command not found (exit 127)");
                cant_run = true;
            }
            res->run.pass = cc_expect_eval(&c->pass, &obs);
            res->run.lenient = cc_expect_eval(&c->lenient, &obs);
            in.pass = res->run.pass;
            in.lenient = res->run.lenient;
            /* A crash fails any case; a hang fails MUST and SHOULD cases and is recorded as
             * the observation of an INFO one. */
            if (obs.end == CC_END_SIGNALED) {
                in.fate = TC_FATE_DIED;
            } else if (obs.end == CC_END_HUNG && c->base.level != TC_INFO) {
                in.fate = TC_FATE_HUNG;
            }
            res->fate = in.fate;
            if (in.fate != TC_FATE_ALIVE) {
                (void)snprintf(res->peer_end, sizeof res->peer_end, "%s",
                               obs.end == CC_END_HUNG ? "still running at the case deadline"
                                                      : strsignal(obs.signal));
                res->peer_stderr = strdup(tail);
            }
        }
        res->verdict = tc_verdict_decide(&in);
        res->expected = render_expect(&c->pass);
        res->lenient = c->lenient.kind != CC_X_NONE ? render_expect(&c->lenient) : NULL;
        res->actual = in.unsupported ? strdup("not run") : render_obs(&obs);
        rep.counts[res->verdict]++;

        fprintf(stderr, "[%zu/%zu] %s %s", k, n_sel, c->base.id, tc_verdict_name(res->verdict));
        if (res->fate != TC_FATE_ALIVE) {
            fprintf(stderr, " (%s: %s)", tc_fate_name(res->fate), res->peer_end);
        }
        fprintf(stderr, " %llu ms\n", (unsigned long long)res->run.elapsed_ms);
        bool show = !tc_verdict_ok(res->verdict) || o->trace || res->verdict == TC_V_INFO ||
                    res->verdict == TC_V_NONSTRICT;
        if (show && !in.unsupported) {
            fprintf(stderr, "    level:    %s; %s\n", tc_level_name(c->base.level),
                    c->base.clause);
            fprintf(stderr, "    expected: %s\n", res->expected ? res->expected : "?");
            if (res->lenient != NULL) {
                fprintf(stderr, "    lenient:  %s\n", res->lenient);
            }
            fprintf(stderr, "    actual:   %s\n",
                    res->run.harness_error ? res->run.error : (res->actual ? res->actual : "?"));
            if (res->verdict == TC_V_XPASS) {
                fprintf(stderr, "    listed as known-failing (%s) but passed: update the list\n",
                        res->known_reason);
            }
            if (!tc_verdict_ok(res->verdict)) {
                fprintf(stderr, "    replay: %s client --exec ", PROG);
                tc_print_quoted(stderr, o->exec);
                fprintf(stderr, " --run %s --trace\n", c->base.id);
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
    (void)rmdir(dir);

    const char *rdir = o->report_dir != NULL ? o->report_dir : "build/reports";
    if (!cant_run && tc_report_write(&rep, rdir) != TTRPC_OK) {
        fprintf(stderr, "%s: cannot write the reports into %s: %s\n", PROG, rdir,
                strerror(errno));
    }
    bool ok = true;
    for (size_t i = 0; i < k; i++) {
        ok = ok && tc_verdict_ok(results[i].verdict);
    }
    if (!cant_run) {
        printf("%s: %zu client-role cases:", rep.name, k);
        for (int v = 0; v < TC_V_COUNT; v++) {
            if (rep.counts[v] > 0) {
                printf(" %u %s", rep.counts[v], tc_verdict_name((tc_verdict)v));
            }
        }
        printf("; reports in %s/%s.{json,xml,md}\n", rdir, rep.name);
    }
    for (size_t i = 0; i < k; i++) {
        tc_buf_free(&results[i].run.log);
        free(results[i].expected);
        free(results[i].lenient);
        free(results[i].actual);
        free(results[i].peer_stderr);
    }
    free(results);
    tc_known_free(&known);
    if (cant_run) {
        return EXIT_CANT_RUN;
    }
    return ok ? EXIT_AS_EXPECTED : EXIT_FAILURES;
}

int cc_client_main(int argc, char **argv)
{
    (void)signal(SIGPIPE, SIG_IGN);
    client_options o;
    int rc = tc_options_parse(argc, argv, &CLIENT_SPEC, &o);
    if (rc >= 0) {
        return rc;
    }
    if (o.list) {
        if (o.exec != NULL) {
            return client_usage_error("%s", "--list takes only --run and --skip");
        }
        for (size_t i = 0; i < cc_cases_count; i++) {
            const tc_case *c = &cc_cases[i].base;
            if (tc_selected(c->id, o.run, o.n_run, o.skip, o.n_skip)) {
                printf("%-48s %-6s %-6s %-13s %s\n", c->id, tc_level_name(c->level),
                       tc_role_name(c->testee), cc_scenario_name(cc_cases[i].scenario),
                       c->desc);
            }
        }
        return EXIT_AS_EXPECTED;
    }
    if (o.exec == NULL) {
        return client_usage_error("%s", "client needs --exec 'CMD {address} {scenario}'");
    }
    return client_run(&o);
}
