#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

ttrpc_err tc_json_escape(tc_buf *out, const char *s)
{
    ttrpc_err rc = TTRPC_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && rc == TTRPC_OK; p++) {
        switch (*p) {
        case '"':
            rc = tc_buf_printf(out, "\\\"");
            break;
        case '\\':
            rc = tc_buf_printf(out, "\\\\");
            break;
        case '\n':
            rc = tc_buf_printf(out, "\\n");
            break;
        case '\t':
            rc = tc_buf_printf(out, "\\t");
            break;
        default:
            if (*p < 0x20 || *p >= 0x7f) {
                rc = tc_buf_printf(out, "\\u%04x", *p);
            } else {
                rc = tc_buf_append(out, p, 1);
            }
        }
    }
    return rc;
}

ttrpc_err tc_xml_escape(tc_buf *out, const char *s)
{
    ttrpc_err rc = TTRPC_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && rc == TTRPC_OK; p++) {
        switch (*p) {
        case '<':
            rc = tc_buf_printf(out, "&lt;");
            break;
        case '>':
            rc = tc_buf_printf(out, "&gt;");
            break;
        case '&':
            rc = tc_buf_printf(out, "&amp;");
            break;
        case '"':
            rc = tc_buf_printf(out, "&quot;");
            break;
        default:
            if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p >= 0x7f) {
                /* XML 1.0 has no way to write most control characters: show them. */
                rc = tc_buf_printf(out, "\\x%02x", *p);
            } else {
                rc = tc_buf_append(out, p, 1);
            }
        }
    }
    return rc;
}

/* "key": "escaped value" */
static ttrpc_err json_kv(tc_buf *out, const char *key, const char *value, bool comma)
{
    ttrpc_err rc = tc_buf_printf(out, "%s\"%s\": ", comma ? ", " : "", key);
    if (rc != TTRPC_OK) {
        return rc;
    }
    if (value == NULL) {
        return tc_buf_printf(out, "null");
    }
    rc = tc_buf_printf(out, "\"");
    if (rc == TTRPC_OK) {
        rc = tc_json_escape(out, value);
    }
    return rc == TTRPC_OK ? tc_buf_printf(out, "\"") : rc;
}

static bool keep_log(const tc_result *res)
{
    return res->verdict != TC_V_PASS;
}

ttrpc_err tc_report_json(const tc_report *r, tc_buf *out)
{
    ttrpc_err rc = tc_buf_printf(out, "{\"schema_version\": %d", TC_REPORT_SCHEMA_VERSION);
    if (rc == TTRPC_OK) {
        rc = json_kv(out, "tool", "ttrpc-conform", true);
    }
    if (rc == TTRPC_OK) {
        rc = json_kv(out, "name", r->name, true);
    }
    if (rc == TTRPC_OK) {
        rc = json_kv(out, "peer", r->peer, true);
    }
    if (rc == TTRPC_OK) {
        rc = json_kv(out, "started", r->started, true);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, ", \"strict\": %s, \"timeout_scale\": %g, \"elapsed_ms\": %llu, "
                                "\"peer_restarts\": %u, \"counts\": {",
                           r->strict ? "true" : "false", r->timeout_scale,
                           (unsigned long long)r->elapsed_ms, r->peer_restarts);
    }
    for (int v = 0; v < TC_V_COUNT && rc == TTRPC_OK; v++) {
        rc = tc_buf_printf(out, "%s\"%s\": %u", v ? ", " : "", tc_verdict_name((tc_verdict)v),
                           r->counts[v]);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "}, \"cases\": [");
    }
    for (size_t i = 0; i < r->n && rc == TTRPC_OK; i++) {
        const tc_result *res = &r->results[i];
        rc = tc_buf_printf(out, "%s\n  {", i ? "," : "");
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "id", res->c->id, false);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "verdict", tc_verdict_name(res->verdict), true);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "level", tc_level_name(res->c->level), true);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "testee", tc_role_name(res->c->testee), true);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "clause", res->c->clause, true);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "description", res->c->desc, true);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "expected", res->expected, true);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "expected_lenient", res->lenient, true);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "actual", res->actual, true);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, ", \"pass_matched\": %s, \"lenient_matched\": %s, "
                                    "\"timed_out\": %s, \"elapsed_ms\": %llu",
                               res->run.pass ? "true" : "false",
                               res->run.lenient ? "true" : "false",
                               res->run.timed_out ? "true" : "false",
                               (unsigned long long)res->run.elapsed_ms);
        }
        if (rc == TTRPC_OK) {
            rc = json_kv(out, "peer_fate", tc_fate_name(res->fate), true);
        }
        if (rc == TTRPC_OK && res->fate != TC_FATE_ALIVE) {
            rc = json_kv(out, "peer_end", res->peer_end, true);
            if (rc == TTRPC_OK) {
                rc = json_kv(out, "peer_stderr_tail", res->peer_stderr, true);
            }
        }
        if (rc == TTRPC_OK && res->known_reason != NULL) {
            rc = json_kv(out, "known_failing_reason", res->known_reason, true);
        }
        if (rc == TTRPC_OK && res->run.harness_error) {
            rc = json_kv(out, "error", res->run.error, true);
        }
        if (rc == TTRPC_OK) {
            const char *log = keep_log(res) ? tc_buf_str((tc_buf *)&res->run.log) : NULL;
            rc = json_kv(out, "wire_log", log, true);
        }
        if (rc == TTRPC_OK) {
            /* Every case, PASS included: the HTML page shows any cell's frames. */
            rc = tc_buf_printf(out, ", \"wire_trace\": ");
            if (rc == TTRPC_OK) {
                bool ended = res->fate != TC_FATE_ALIVE && res->peer_end[0] != '\0';
                rc = tc_wire_json(&res->run.wire, ended ? "peer-exit" : NULL,
                                  ended ? res->peer_end : NULL, out);
            }
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "}");
        }
    }
    return rc == TTRPC_OK ? tc_buf_printf(out, "\n]}\n") : rc;
}

ttrpc_err tc_report_junit(const tc_report *r, tc_buf *out)
{
    unsigned failures = r->counts[TC_V_FAIL] + r->counts[TC_V_XPASS];
    unsigned skipped = r->counts[TC_V_UNSUPPORTED];
    ttrpc_err rc = tc_buf_printf(out,
                                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<testsuite name=\"ttrpc-conform.");
    if (rc == TTRPC_OK) {
        rc = tc_xml_escape(out, r->name);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" "
                                "time=\"%.3f\">\n",
                           r->n, failures, r->counts[TC_V_ERROR], skipped,
                           (double)r->elapsed_ms / 1000.0);
    }
    for (size_t i = 0; i < r->n && rc == TTRPC_OK; i++) {
        const tc_result *res = &r->results[i];
        rc = tc_buf_printf(out, "  <testcase classname=\"");
        if (rc == TTRPC_OK) {
            rc = tc_xml_escape(out, r->name);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "\" name=\"");
        }
        if (rc == TTRPC_OK) {
            rc = tc_xml_escape(out, res->c->id);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "\" time=\"%.3f\">", (double)res->run.elapsed_ms / 1000.0);
        }
        const char *tag = NULL;
        switch (res->verdict) {
        case TC_V_FAIL:
        case TC_V_XPASS:
            tag = "failure";
            break;
        case TC_V_ERROR:
            tag = "error";
            break;
        case TC_V_UNSUPPORTED:
            tag = "skipped";
            break;
        default:
            break;
        }
        if (rc == TTRPC_OK && tag != NULL) {
            rc = tc_buf_printf(out, "<%s message=\"%s: expected ", tag,
                               tc_verdict_name(res->verdict));
            if (rc == TTRPC_OK) {
                rc = tc_xml_escape(out, res->expected);
            }
            if (rc == TTRPC_OK) {
                rc = tc_buf_printf(out, "; actual ");
            }
            if (rc == TTRPC_OK) {
                rc = tc_xml_escape(out, res->actual);
            }
            if (rc == TTRPC_OK) {
                rc = tc_buf_printf(out, "\"/>");
            }
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "<system-out>verdict %s, level %s\n",
                               tc_verdict_name(res->verdict), tc_level_name(res->c->level));
        }
        if (rc == TTRPC_OK && keep_log(res)) {
            rc = tc_xml_escape(out, tc_buf_str((tc_buf *)&res->run.log));
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "</system-out></testcase>\n");
        }
    }
    return rc == TTRPC_OK ? tc_buf_printf(out, "</testsuite>\n") : rc;
}

/* Markdown table cells: no pipes or newlines. */
static ttrpc_err md_cell(tc_buf *out, const char *s)
{
    ttrpc_err rc = TTRPC_OK;
    for (const char *p = s != NULL ? s : ""; *p != '\0' && rc == TTRPC_OK; p++) {
        if (*p == '|') {
            rc = tc_buf_printf(out, "\\|");
        } else if (*p == '\n') {
            rc = tc_buf_printf(out, " ");
        } else {
            rc = tc_buf_append(out, p, 1);
        }
    }
    return rc;
}

ttrpc_err tc_report_markdown(const tc_report *r, tc_buf *out)
{
    ttrpc_err rc = tc_buf_printf(out, "# ttrpc-conform: %s\n\nPeer: `%s`  \nStarted: %s  \n"
                                      "Cases: %zu in %.1f s; peer restarts: %u%s\n\n",
                                 r->name, r->peer, r->started, r->n,
                                 (double)r->elapsed_ms / 1000.0, r->peer_restarts,
                                 r->strict ? "; --strict" : "");
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "| verdict | cases |\n|---|---|\n");
    }
    for (int v = 0; v < TC_V_COUNT && rc == TTRPC_OK; v++) {
        if (r->counts[v] > 0) {
            rc = tc_buf_printf(out, "| %s | %u |\n", tc_verdict_name((tc_verdict)v),
                               r->counts[v]);
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "\n| case | level | verdict | expected | actual |\n"
                                "|---|---|---|---|---|\n");
    }
    for (size_t i = 0; i < r->n && rc == TTRPC_OK; i++) {
        const tc_result *res = &r->results[i];
        rc = tc_buf_printf(out, "| `%s` | %s | %s", res->c->id, tc_level_name(res->c->level),
                           tc_verdict_name(res->verdict));
        if (rc == TTRPC_OK && res->fate != TC_FATE_ALIVE) {
            rc = tc_buf_printf(out, " (%s)", tc_fate_name(res->fate));
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, " | ");
        }
        if (rc == TTRPC_OK) {
            rc = md_cell(out, res->expected);
        }
        if (rc == TTRPC_OK && res->lenient != NULL) {
            rc = tc_buf_printf(out, "; lenient: ");
            if (rc == TTRPC_OK) {
                rc = md_cell(out, res->lenient);
            }
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, " | ");
        }
        if (rc == TTRPC_OK) {
            rc = md_cell(out, res->run.harness_error ? res->run.error : res->actual);
        }
        if (rc == TTRPC_OK && res->known_reason != NULL) {
            rc = tc_buf_printf(out, " (known: ");
            if (rc == TTRPC_OK) {
                rc = md_cell(out, res->known_reason);
            }
            if (rc == TTRPC_OK) {
                rc = tc_buf_printf(out, ")");
            }
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, " |\n");
        }
    }
    return rc;
}

static ttrpc_err write_file(const char *dir, const char *name, const char *ext, const tc_buf *b)
{
    char path[4096];
    (void)snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return TTRPC_E_IO;
    }
    bool ok = b->len == 0 || fwrite(b->p, 1, b->len, f) == b->len;
    ok = fclose(f) == 0 && ok;
    return ok ? TTRPC_OK : TTRPC_E_IO;
}

static ttrpc_err make_dirs(const char *dir)
{
    char path[4096];
    if (strlen(dir) >= sizeof path) {
        return TTRPC_E_INVAL;
    }
    strcpy(path, dir);
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST) {
                return TTRPC_E_IO;
            }
            *p = '/';
        }
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return TTRPC_E_IO;
    }
    return TTRPC_OK;
}

ttrpc_err tc_report_write(const tc_report *r, const char *dir)
{
    ttrpc_err rc = make_dirs(dir);
    tc_buf b = {0};
    if (rc == TTRPC_OK) {
        rc = tc_report_json(r, &b);
    }
    if (rc == TTRPC_OK) {
        rc = write_file(dir, r->name, "json", &b);
    }
    b.len = 0;
    if (rc == TTRPC_OK) {
        rc = tc_report_junit(r, &b);
    }
    if (rc == TTRPC_OK) {
        rc = write_file(dir, r->name, "xml", &b);
    }
    b.len = 0;
    if (rc == TTRPC_OK) {
        rc = tc_report_markdown(r, &b);
    }
    if (rc == TTRPC_OK) {
        rc = write_file(dir, r->name, "md", &b);
    }
    tc_buf_free(&b);
    return rc;
}
