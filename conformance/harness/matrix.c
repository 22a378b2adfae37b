/* `ttrpc-conform matrix` (matrix.h): the cell loop, the client process, the command line. */
#include "matrix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "peer.h"
#include "tap.h"
#include "template.h"

#define PROG "ttrpc-conform matrix"

/* ---- the client's result line ------------------------------------------------------------ */

/* The value after "key": in a JSON line (whitespace after the colon skipped), or NULL. */
static const char *json_value(const char *line, const char *key)
{
    char quoted[40];
    (void)snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(line, quoted);
    if (p == NULL) {
        return NULL;
    }
    p += strlen(quoted);
    while (*p == ' ') {
        p++;
    }
    if (*p != ':') {
        return NULL;
    }
    p++;
    while (*p == ' ') {
        p++;
    }
    return p;
}

void mx_parse_client_output(const char *out, mx_client_result *r)
{
    memset(r, 0, sizeof *r);
    const char *line = out;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        char buf[2048];
        size_t take = len < sizeof buf - 1 ? len : sizeof buf - 1;
        memcpy(buf, line, take);
        buf[take] = '\0';
        const char *ok = buf[0] == '{' ? json_value(buf, "ok") : NULL;
        if (ok != NULL) {
            r->reported = true;
            r->ok = strncmp(ok, "true", 4) == 0;
            const char *code = json_value(buf, "code");
            r->code = code != NULL ? atoi(code) : 0;
            r->detail[0] = '\0';
            const char *d = json_value(buf, "detail");
            if (d != NULL && *d == '"') {
                size_t n = 0;
                for (d++; *d != '\0' && *d != '"' && n + 1 < sizeof r->detail; d++) {
                    if (*d == '\\' && d[1] != '\0') {
                        d++;
                    }
                    r->detail[n++] = *d;
                }
                r->detail[n] = '\0';
            }
        }
        line += len + (nl != NULL);
    }
}

ttrpc_err mx_expand_client(const char *tmpl, const char *address, const char *scenario,
                           char *out, size_t cap)
{
    const tc_template_var vars[] = {{"{address}", address}, {"{scenario}", scenario}};
    unsigned found = 0;
    return tc_template_expand(tmpl, vars, 2, out, cap, &found);
}

/* ---- running one client ------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef struct client_run {
    int exit_status; /* -1 when killed */
    int signal;
    bool hung;
    bool not_started;
    char out[8192]; /* its stdout (the head) */
    char err[1024]; /* its stderr (the head) */
} client_run;

static void keep(char *buf, size_t cap, size_t *len, const char *p, size_t n)
{
    size_t room = cap - 1 - *len;
    size_t take = n < room ? n : room;
    memcpy(buf + *len, p, take);
    *len += take;
    buf[*len] = '\0';
}

/* Runs cmd through /bin/sh in its own process group; kills the group at the deadline. */
static void run_client(const char *cmd, uint64_t timeout_ms, client_run *r)
{
    memset(r, 0, sizeof *r);
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
        r->not_started = true;
        return;
    }
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        (void)close(out_pipe[0]);
        (void)close(out_pipe[1]);
        r->not_started = true;
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        (void)setpgid(0, 0);
        (void)dup2(out_pipe[1], 1);
        (void)dup2(err_pipe[1], 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            (void)dup2(devnull, 0);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    (void)close(out_pipe[1]);
    (void)close(err_pipe[1]);
    if (pid < 0) {
        (void)close(out_pipe[0]);
        (void)close(err_pipe[0]);
        r->not_started = true;
        return;
    }
    (void)setpgid(pid, pid); /* also from here: no race with the kill below */
    uint64_t deadline = now_ms() + timeout_ms;
    size_t out_len = 0, err_len = 0;
    struct pollfd fds[2] = {{.fd = out_pipe[0], .events = POLLIN},
                            {.fd = err_pipe[0], .events = POLLIN}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            r->hung = true;
            break;
        }
        int n = poll(fds, 2, (int)(deadline - now));
        if (n < 0 && errno != EINTR) {
            break;
        }
        for (int i = 0; i < 2 && n > 0; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            char chunk[4096];
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got > 0) {
                if (i == 0) {
                    keep(r->out, sizeof r->out, &out_len, chunk, (size_t)got);
                } else {
                    keep(r->err, sizeof r->err, &err_len, chunk, (size_t)got);
                }
            } else if (got == 0 || errno != EINTR) {
                (void)close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd >= 0) {
            (void)close(fds[i].fd);
        }
    }
    if (r->hung) {
        (void)kill(-pid, SIGKILL);
    }
    int status = 0;
    /* Both pipes closed: the client is ending; a child that keeps them open was killed. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    (void)kill(-pid, SIGKILL); /* what it left behind in its group */
    if (WIFEXITED(status)) {
        r->exit_status = WEXITSTATUS(status);
    } else {
        r->exit_status = -1;
        r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
}

/* ---- one cell ---------------------------------------------------------------------------- */

typedef struct matrix_run {
    const tc_options *o;
    const mx_config *cfg;
    const char *report_dir;
    const char *config_path;
    const char *build_dir;
    char tmp_dir[64];
    tc_known known;
} matrix_run;

static void cell_trace_name(const mx_cell *c, char *out, size_t cap)
{
    (void)snprintf(out, cap, "traces/%s__%s__%s.json", c->client->label, c->server->label,
                   c->scenario->name);
}

/* Runs the client of cell c through a tap to the server at server_sock; fills verdict
 * inputs. Returns false on harness trouble (detail says what). */
static bool play_cell(matrix_run *m, mx_cell *c, const char *server_sock, bool *ok)
{
    char tap_sock[108];
    (void)snprintf(tap_sock, sizeof tap_sock, "%s/tap.sock", m->tmp_dir);
    tc_tap tap;
    char err[256];
    if (tc_tap_open(&tap, tap_sock, server_sock, err, sizeof err) != TTRPC_OK) {
        (void)snprintf(c->detail, sizeof c->detail, "tap: %s", err);
        return false;
    }
    if (tc_tap_start(&tap) != TTRPC_OK) {
        tc_tap_close(&tap);
        (void)snprintf(c->detail, sizeof c->detail, "tap: cannot start its thread");
        return false;
    }
    char address[120];
    (void)snprintf(address, sizeof address, "unix:%s", tap_sock);
    char cmd[MX_CMD_MAX + 256];
    if (mx_expand_client(c->client->cmd, address, c->scenario->name, cmd, sizeof cmd) !=
        TTRPC_OK) {
        tc_tap_close(&tap);
        (void)snprintf(c->detail, sizeof c->detail, "client command too long");
        return false;
    }
    client_run *run = malloc(sizeof *run);
    if (run == NULL) {
        tc_tap_close(&tap);
        (void)snprintf(c->detail, sizeof c->detail, "out of memory");
        return false;
    }
    run_client(cmd, (uint64_t)((double)MX_CELL_TIMEOUT_MS * m->o->scale), run);
    tc_tap_stop(&tap);

    /* The trace goes to its own file: cells stay small in matrix.json. */
    tc_buf json = {0};
    char rel[160];
    cell_trace_name(c, rel, sizeof rel);
    char path[512];
    (void)snprintf(path, sizeof path, "%s/%s", m->report_dir, rel);
    if (tc_tap_trace_json(&tap, &json) == TTRPC_OK && tc_buf_append(&json, "\n", 1) == TTRPC_OK) {
        FILE *f = fopen(path, "w");
        if (f != NULL) {
            bool written = fwrite(json.p, 1, json.len, f) == json.len;
            if (fclose(f) == 0 && written) {
                (void)snprintf(c->trace, sizeof c->trace, "%s", rel);
            }
        }
    }
    tc_buf_free(&json);
    size_t connections = tc_tap_connections(&tap);
    tc_tap_close(&tap);

    bool played = true;
    mx_client_result res;
    mx_parse_client_output(run->out, &res);
    *ok = res.reported && res.ok && !run->hung;
    if (run->not_started) {
        (void)snprintf(c->detail, sizeof c->detail, "cannot start the client: %s",
                       strerror(errno));
        played = false;
    } else if (run->hung) {
        (void)snprintf(c->detail, sizeof c->detail,
                       "client still running after %.0f ms: killed (hang)",
                       (double)MX_CELL_TIMEOUT_MS * m->o->scale);
    } else if (!res.reported) {
        (void)snprintf(c->detail, sizeof c->detail,
                       "no result line from the client (exit %d%s); stderr: %.400s",
                       run->exit_status, run->signal ? ", killed by a signal" : "", run->err);
        /* 127: the shell found no such command; 2 with nothing printed: a usage error. */
        played = !(run->exit_status == 127 || run->exit_status == 126);
    } else {
        (void)snprintf(c->detail, sizeof c->detail, "%scode %d: %s", res.ok ? "" : "not ok, ",
                       res.code, res.detail);
    }
    if (connections == 0 && played && !*ok) {
        size_t used = strlen(c->detail);
        (void)snprintf(c->detail + used, sizeof c->detail - used,
                       " (the client never connected)");
    }
    free(run);
    return played;
}

static void print_replay(const matrix_run *m, const mx_cell *c)
{
    fprintf(stderr, "    replay: ttrpc-conform matrix --config ");
    tc_print_quoted(stderr, m->config_path);
    if (m->build_dir != NULL) {
        fprintf(stderr, " --build-dir ");
        tc_print_quoted(stderr, m->build_dir);
    }
    if (m->o->scale != 1.0) {
        fprintf(stderr, " --timeout-scale %g", m->o->scale);
    }
    fprintf(stderr, " --run %s --trace\n", c->id);
}

/* ---- the command ------------------------------------------------------------------------ */

static void matrix_usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  ttrpc-conform matrix [--config FILE] [--build-dir DIR] [--run PAT]...\n"
            "        [--skip PAT]... [--known-failing FILE] [--timeout-scale X]\n"
            "        [--report-dir DIR] [--name LABEL] [--trace] [--list]\n"
            "\n"
            "Every client calls every server, once per scenario that both support, each call\n"
            "relayed through the tap so that every cell has its wire trace. Peers and\n"
            "scenarios come from FILE (default conformance/matrix.conf; format in\n"
            "conformance/harness/matrix_config.h); {bin} there is DIR/bin (default build).\n"
            "A cell id is CLIENT/SERVER/SCENARIO; --run and --skip select cells by id (a\n"
            "glob, or a prefix ending at '/').\n"
            "\n"
            "Verdicts: PASS (the client's JSON result line says \"ok\": true), FAIL (it\n"
            "does not, the client hung past %u ms x X, or the server died), UNSUPPORTED (an\n"
            "end lacks a feature the scenario needs), ERROR (a peer could not be started),\n"
            "XFAIL / XPASS (the cell is in --known-failing, lines 'CELL-ID  reason'; a reason\n"
            "starting 'flaky:' accepts both outcomes). Servers that die are restarted.\n"
            "Reports: DIR/LABEL.{json,xml,md} (default build/reports/matrix.*) and one trace\n"
            "per cell in DIR/traces/ (conformance/harness/TRACE.md).\n"
            "Exit status: 0 all as expected, 1 failures, 2 could not run.\n",
            MX_CELL_TIMEOUT_MS);
}

static const tc_options_spec MATRIX_SPEC = {
    .prefix = PROG,
    .accept = TC_OPT_SELECT | TC_OPT_VERDICT | TC_OPT_OUTPUT | TC_OPT_SCALE | TC_OPT_LIST |
              TC_OPT_CONFIG,
    .usage = matrix_usage,
};

static size_t make_cells(const mx_config *cfg, const tc_options *o, mx_cell *cells)
{
    size_t n = 0;
    for (size_t s = 0; s < cfg->n_servers; s++) {
        for (size_t c = 0; c < cfg->n_clients; c++) {
            for (size_t k = 0; k < cfg->n_scenarios; k++) {
                mx_cell cell;
                memset(&cell, 0, sizeof cell);
                cell.client = &cfg->clients[c];
                cell.server = &cfg->servers[s];
                cell.scenario = &cfg->scenarios[k];
                (void)snprintf(cell.id, sizeof cell.id, "%s/%s/%s", cell.client->label,
                               cell.server->label, cell.scenario->name);
                if (tc_selected(cell.id, o->run, o->n_run, o->skip, o->n_skip)) {
                    if (cells != NULL) {
                        cells[n] = cell;
                    }
                    n++;
                }
            }
        }
    }
    return n;
}

static int run_matrix(matrix_run *m, mx_cell *cells, size_t n)
{
    const tc_options *o = m->o;
    time_t started = time(NULL);
    char started_text[32];
    (void)strftime(started_text, sizeof started_text, "%Y-%m-%dT%H:%M:%SZ", gmtime(&started));
    uint64_t t0 = now_ms();
    mx_report rep = {
        .name = o->name != NULL ? o->name : "matrix",
        .config = m->config_path,
        .started = started_text,
        .timeout_scale = o->scale,
        .cfg = m->cfg,
        .cells = cells,
        .n = n,
    };
    bool cant_run = false;
    int probe_ms = (int)(2000.0 * o->scale);
    size_t done = 0;
    /* Server by server: each is started once and restarted only when it dies or hangs. */
    for (size_t s = 0; s < m->cfg->n_servers; s++) {
        const mx_peer *server = &m->cfg->servers[s];
        tc_peer peer;
        bool peer_ready = false;
        bool peer_inited = false;
        char start_error[1200] = "";
        for (size_t i = 0; i < n; i++) {
            mx_cell *c = &cells[i];
            if (c->server != server) {
                continue;
            }
            done++;
            c->known_reason = tc_known_reason(&m->known, c->id);
            tc_verdict_input in = {
                .level = TC_MUST,
                .known_failing = c->known_reason != NULL,
                .known_flaky = tc_known_is_flaky(c->known_reason),
                .unsupported = !mx_supported(c->client, c->server, c->scenario),
            };
            uint64_t c0 = now_ms();
            if (in.unsupported) {
                unsigned needs = c->scenario->needs;
                const mx_peer *lacking = (c->client->without & needs) ? c->client : c->server;
                (void)snprintf(c->detail, sizeof c->detail, "%s %s lacks %s",
                               lacking == c->client ? "client" : "server", lacking->label,
                               mx_feature_name(lacking->without & needs));
            } else {
                if (!peer_inited) {
                    peer_inited = tc_peer_init(&peer, server->cmd, NULL) == TTRPC_OK;
                    if (!peer_inited) {
                        (void)snprintf(start_error, sizeof start_error,
                                       "cannot prepare the server: %s", strerror(errno));
                    }
                }
                if (peer_inited && !peer_ready) {
                    peer_ready = peer.pid > 0 ||
                                 tc_peer_start(&peer, start_error, sizeof start_error) == TTRPC_OK;
                }
                if (!peer_ready) {
                    in.harness_error = true;
                    cant_run = true;
                    (void)snprintf(c->detail, sizeof c->detail, "server %s: %.600s",
                                   server->label, start_error);
                } else {
                    unsigned starts = peer.starts;
                    bool ok = false;
                    in.harness_error = !play_cell(m, c, peer.sock_path, &ok);
                    if (in.harness_error && strncmp(c->detail, "cannot start the client", 23) == 0) {
                        cant_run = true;
                    }
                    in.pass = ok;
                    in.fate = tc_peer_check(&peer, probe_ms);
                    if (in.fate != TC_FATE_ALIVE) {
                        size_t used = strlen(c->detail);
                        (void)snprintf(c->detail + used, sizeof c->detail - used,
                                       "; server %s %s (%s), restarted", server->label,
                                       tc_fate_name(in.fate), peer.last_end);
                        in.harness_error = false;
                    }
                    rep.server_restarts += peer.starts - starts;
                    peer_ready = peer.pid > 0;
                }
            }
            c->elapsed_ms = now_ms() - c0;
            c->verdict = tc_verdict_decide(&in);
            rep.counts[c->verdict]++;
            fprintf(stderr, "[%zu/%zu] %s %s %llu ms\n", done, n, c->id,
                    tc_verdict_name(c->verdict), (unsigned long long)c->elapsed_ms);
            if (!tc_verdict_ok(c->verdict) || o->trace) {
                fprintf(stderr, "    %s\n", c->detail);
                if (c->verdict == TC_V_XPASS) {
                    fprintf(stderr, "    listed as known-failing (%s) but passed\n",
                            c->known_reason);
                }
                if (c->trace[0] != '\0') {
                    fprintf(stderr, "    trace: %s/%s\n", m->report_dir, c->trace);
                }
                if (!tc_verdict_ok(c->verdict)) {
                    print_replay(m, c);
                }
            }
        }
        if (peer_inited) {
            tc_peer_stop(&peer);
        }
    }
    rep.elapsed_ms = now_ms() - t0;
    if (mx_report_write(&rep, m->report_dir) != TTRPC_OK) {
        fprintf(stderr, "%s: cannot write the reports into %s: %s\n", PROG, m->report_dir,
                strerror(errno));
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        ok = ok && tc_verdict_ok(cells[i].verdict);
    }
    printf("%s: %zu cells:", rep.name, n);
    for (int v = 0; v < TC_V_COUNT; v++) {
        if (rep.counts[v] > 0) {
            printf(" %u %s", rep.counts[v], tc_verdict_name((tc_verdict)v));
        }
    }
    printf("; %.1f s; reports in %s/%s.{json,xml,md}\n", (double)rep.elapsed_ms / 1000.0,
           m->report_dir, rep.name);
    if (cant_run) {
        return 2;
    }
    return ok ? 0 : 1;
}

int mx_matrix_main(int argc, char **argv)
{
    (void)signal(SIGPIPE, SIG_IGN);
    tc_options o;
    int rc = tc_options_parse(argc, argv, &MATRIX_SPEC, &o);
    if (rc >= 0) {
        return rc;
    }
    if (o.strict || o.without != 0) {
        return tc_options_usage_error(&MATRIX_SPEC, "%s",
                                      "--strict and --without do not apply: peers declare "
                                      "what they lack in the config file");
    }
    matrix_run m = {.o = &o, .build_dir = o.build_dir};
    m.config_path = o.config != NULL ? o.config : "conformance/matrix.conf";
    m.report_dir = o.report_dir != NULL ? o.report_dir : "build/reports";
    char bin_dir[256];
    (void)snprintf(bin_dir, sizeof bin_dir, "%s/bin", o.build_dir != NULL ? o.build_dir : "build");
    mx_config *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        return 2;
    }
    size_t bad = 0;
    char why[160] = "";
    ttrpc_err lrc = mx_config_load(m.config_path, bin_dir, cfg, &bad, why, sizeof why);
    if (lrc != TTRPC_OK) {
        if (bad > 0) {
            fprintf(stderr, "%s: %s:%zu: %s\n", PROG, m.config_path, bad, why);
        } else {
            fprintf(stderr, "%s: %s: %s\n", PROG, m.config_path,
                    lrc == TTRPC_E_IO ? strerror(errno) : why);
        }
        free(cfg);
        return 2;
    }
    m.cfg = cfg;
    size_t n = make_cells(cfg, &o, NULL);
    for (size_t i = 0; i < o.n_run; i++) {
        tc_options one = o;
        one.run[0] = o.run[i];
        one.n_run = 1;
        one.n_skip = 0;
        if (make_cells(cfg, &one, NULL) == 0) {
            free(cfg);
            fprintf(stderr, "%s: --run %s: no cell matches (ids are CLIENT/SERVER/SCENARIO)\n",
                    PROG, o.run[i]);
            return 2;
        }
    }
    mx_cell *cells = calloc(n + 1, sizeof *cells);
    if (cells == NULL) {
        free(cfg);
        return 2;
    }
    (void)make_cells(cfg, &o, cells);
    if (o.list) {
        for (size_t i = 0; i < n; i++) {
            printf("%-48s %s\n", cells[i].id,
                   mx_supported(cells[i].client, cells[i].server, cells[i].scenario)
                       ? ""
                       : "UNSUPPORTED");
        }
        free(cells);
        free(cfg);
        return 0;
    }
    int result = 2;
    if (o.known_failing != NULL) {
        size_t bad_line = 0;
        ttrpc_err krc = tc_known_load(o.known_failing, &m.known, &bad_line);
        if (krc != TTRPC_OK) {
            fprintf(stderr, "%s: %s: %s\n", PROG, o.known_failing,
                    krc == TTRPC_E_INVAL ? "a line without a reason" : strerror(errno));
            goto out;
        }
    }
    char traces[512];
    (void)snprintf(traces, sizeof traces, "%s/traces", m.report_dir);
    (void)snprintf(m.tmp_dir, sizeof m.tmp_dir, "/tmp/ttrpc-mx.XXXXXX");
    if ((mkdir(m.report_dir, 0777) != 0 && errno != EEXIST) ||
        (mkdir(traces, 0777) != 0 && errno != EEXIST) || mkdtemp(m.tmp_dir) == NULL) {
        fprintf(stderr, "%s: cannot prepare %s or a private directory: %s\n", PROG, traces,
                strerror(errno));
        goto out;
    }
    result = run_matrix(&m, cells, n);
    (void)rmdir(m.tmp_dir);
out:
    tc_known_free(&m.known);
    free(cells);
    free(cfg);
    return result;
}
