/* The matrix's reports (matrix.h): JSON with each cell's trace, JUnit XML (one testcase per
 * cell), and markdown (a client x server table of passes, then the cells that did not pass). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "matrix.h"

/* Text as JSON string contents (json) or XML character data: printable ASCII kept, the rest
 * escaped, so a peer's odd detail text cannot break a report. */
static ttrpc_err escape(tc_buf *out, const char *s, bool json)
{
    ttrpc_err rc = TTRPC_OK;
    for (; *s != '\0' && rc == TTRPC_OK; s++) {
        unsigned char c = (unsigned char)*s;
        if (json && (c == '"' || c == '\\')) {
            rc = tc_buf_printf(out, "\\%c", c);
        } else if (!json && (c == '<' || c == '>' || c == '&' || c == '"')) {
            rc = tc_buf_printf(out, "&#x%02x;", c);
        } else if (c >= 0x20 && c < 0x7f) {
            rc = tc_buf_append(out, &c, 1);
        } else {
            rc = json ? tc_buf_printf(out, "\\u%04x", c) : tc_buf_printf(out, "&#x%02x;", c);
        }
    }
    return rc;
}

static ttrpc_err json_str(tc_buf *out, const char *key, const char *s, const char *after)
{
    ttrpc_err rc = tc_buf_printf(out, "\"%s\":\"", key);
    if (rc == TTRPC_OK) {
        rc = escape(out, s, true);
    }
    return rc != TTRPC_OK ? rc : tc_buf_printf(out, "\"%s", after);
}

ttrpc_err mx_report_json(const mx_report *r, tc_buf *out)
{
    ttrpc_err rc = tc_buf_printf(out, "{\"schema_version\":%d,", MX_SCHEMA_VERSION);
    if (rc == TTRPC_OK) {
        rc = json_str(out, "name", r->name, ",");
    }
    if (rc == TTRPC_OK) {
        rc = json_str(out, "config", r->config, ",");
    }
    if (rc == TTRPC_OK) {
        rc = json_str(out, "started", r->started, ",");
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out,
                           "\"timeout_scale\":%g,\"elapsed_ms\":%llu,\"server_restarts\":%u,"
                           "\"servers\":[",
                           r->timeout_scale, (unsigned long long)r->elapsed_ms,
                           r->server_restarts);
    }
    for (size_t i = 0; i < r->cfg->n_servers && rc == TTRPC_OK; i++) {
        rc = tc_buf_printf(out, "%s{", i ? "," : "");
        if (rc == TTRPC_OK) {
            rc = json_str(out, "label", r->cfg->servers[i].label, ",");
        }
        if (rc == TTRPC_OK) {
            rc = json_str(out, "command", r->cfg->servers[i].cmd, "}");
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "],\"clients\":[");
    }
    for (size_t i = 0; i < r->cfg->n_clients && rc == TTRPC_OK; i++) {
        rc = tc_buf_printf(out, "%s{", i ? "," : "");
        if (rc == TTRPC_OK) {
            rc = json_str(out, "label", r->cfg->clients[i].label, ",");
        }
        if (rc == TTRPC_OK) {
            rc = json_str(out, "command", r->cfg->clients[i].cmd, "}");
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "],\"counts\":{");
    }
    bool first = true;
    for (int v = 0; v < TC_V_COUNT && rc == TTRPC_OK; v++) {
        if (r->counts[v] > 0) {
            rc = tc_buf_printf(out, "%s\"%s\":%u", first ? "" : ",",
                               tc_verdict_name((tc_verdict)v), r->counts[v]);
            first = false;
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "},\"cells\":[");
    }
    for (size_t i = 0; i < r->n && rc == TTRPC_OK; i++) {
        const mx_cell *c = &r->cells[i];
        rc = tc_buf_printf(out, "%s{", i ? "," : "");
        if (rc == TTRPC_OK) {
            rc = json_str(out, "id", c->id, ",");
        }
        if (rc == TTRPC_OK) {
            rc = json_str(out, "client", c->client->label, ",");
        }
        if (rc == TTRPC_OK) {
            rc = json_str(out, "server", c->server->label, ",");
        }
        if (rc == TTRPC_OK) {
            rc = json_str(out, "scenario", c->scenario->name, ",");
        }
        if (rc == TTRPC_OK) {
            rc = json_str(out, "verdict", tc_verdict_name(c->verdict), ",");
        }
        if (rc == TTRPC_OK) {
            rc = json_str(out, "detail", c->detail, ",");
        }
        if (rc == TTRPC_OK && c->known_reason != NULL) {
            rc = json_str(out, "known_failing", c->known_reason, ",");
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "\"elapsed_ms\":%llu,\"trace\":",
                               (unsigned long long)c->elapsed_ms);
        }
        if (rc == TTRPC_OK) {
            rc = c->trace[0] ? tc_buf_printf(out, "\"%s\"}", c->trace) : tc_buf_printf(out, "null}");
        }
    }
    return rc != TTRPC_OK ? rc : tc_buf_printf(out, "]}\n");
}

ttrpc_err mx_report_junit(const mx_report *r, tc_buf *out)
{
    unsigned failures = r->counts[TC_V_FAIL] + r->counts[TC_V_XPASS];
    ttrpc_err rc = tc_buf_printf(out,
                                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<testsuites>\n<testsuite name=\"");
    if (rc == TTRPC_OK) {
        rc = escape(out, r->name, false);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out,
                           "\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" "
                           "time=\"%.3f\">\n",
                           r->n, failures, r->counts[TC_V_ERROR],
                           r->counts[TC_V_UNSUPPORTED] + r->counts[TC_V_XFAIL],
                           (double)r->elapsed_ms / 1000.0);
    }
    for (size_t i = 0; i < r->n && rc == TTRPC_OK; i++) {
        const mx_cell *c = &r->cells[i];
        rc = tc_buf_printf(out, "  <testcase classname=\"matrix.%s.%s\" name=\"", c->client->label,
                           c->server->label);
        if (rc == TTRPC_OK) {
            rc = escape(out, c->id, false);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "\" time=\"%.3f\">", (double)c->elapsed_ms / 1000.0);
        }
        const char *tag = NULL;
        if (c->verdict == TC_V_FAIL || c->verdict == TC_V_XPASS) {
            tag = "failure";
        } else if (c->verdict == TC_V_ERROR) {
            tag = "error";
        } else if (c->verdict == TC_V_UNSUPPORTED || c->verdict == TC_V_XFAIL) {
            tag = "skipped";
        }
        if (rc == TTRPC_OK && tag != NULL) {
            rc = tc_buf_printf(out, "<%s message=\"%s: ", tag, tc_verdict_name(c->verdict));
            if (rc == TTRPC_OK) {
                rc = escape(out, c->detail, false);
            }
            if (rc == TTRPC_OK) {
                rc = tc_buf_printf(out, "\"/>");
            }
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "</testcase>\n");
        }
    }
    return rc != TTRPC_OK ? rc : tc_buf_printf(out, "</testsuite>\n</testsuites>\n");
}

/* A markdown table cell: '|' would end it. */
static ttrpc_err md_text(tc_buf *out, const char *s)
{
    ttrpc_err rc = TTRPC_OK;
    for (; *s != '\0' && rc == TTRPC_OK; s++) {
        rc = *s == '|' ? tc_buf_printf(out, "\\|") : *s == '\n' ? tc_buf_printf(out, " ")
                                                                : tc_buf_append(out, s, 1);
    }
    return rc;
}

ttrpc_err mx_report_markdown(const mx_report *r, tc_buf *out)
{
    const mx_config *cfg = r->cfg;
    ttrpc_err rc = tc_buf_printf(out,
                                 "# %s: client x server\n\nStarted %s, %.1f s, timeout scale "
                                 "%g, %u server restarts. A cell: passed / run (scenarios that "
                                 "both ends support); XFAIL counts as run, not passed.\n\n"
                                 "| client \\ server |",
                                 r->name, r->started, (double)r->elapsed_ms / 1000.0,
                                 r->timeout_scale, r->server_restarts);
    for (size_t s = 0; s < cfg->n_servers && rc == TTRPC_OK; s++) {
        rc = tc_buf_printf(out, " %s |", cfg->servers[s].label);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "\n|---|");
    }
    for (size_t s = 0; s < cfg->n_servers && rc == TTRPC_OK; s++) {
        rc = tc_buf_printf(out, "---|");
    }
    for (size_t c = 0; c < cfg->n_clients && rc == TTRPC_OK; c++) {
        rc = tc_buf_printf(out, "\n| %s |", cfg->clients[c].label);
        for (size_t s = 0; s < cfg->n_servers && rc == TTRPC_OK; s++) {
            unsigned pass = 0, ran = 0;
            for (size_t i = 0; i < r->n; i++) {
                const mx_cell *cell = &r->cells[i];
                if (cell->client != &cfg->clients[c] || cell->server != &cfg->servers[s] ||
                    cell->verdict == TC_V_UNSUPPORTED) {
                    continue;
                }
                ran++;
                pass += cell->verdict == TC_V_PASS;
            }
            rc = ran == 0 ? tc_buf_printf(out, " - |")
                          : tc_buf_printf(out, " %s%u/%u%s |", pass == ran ? "" : "**", pass,
                                          ran, pass == ran ? "" : "**");
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "\n\nTotals:");
    }
    for (int v = 0; v < TC_V_COUNT && rc == TTRPC_OK; v++) {
        if (r->counts[v] > 0) {
            rc = tc_buf_printf(out, " %u %s", r->counts[v], tc_verdict_name((tc_verdict)v));
        }
    }
    bool header = false;
    for (size_t i = 0; i < r->n && rc == TTRPC_OK; i++) {
        const mx_cell *c = &r->cells[i];
        if (c->verdict == TC_V_PASS || c->verdict == TC_V_UNSUPPORTED) {
            continue;
        }
        if (!header) {
            rc = tc_buf_printf(out, "\n\n| cell | verdict | detail | trace |\n|---|---|---|---|");
            header = true;
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "\n| %s | %s | ", c->id, tc_verdict_name(c->verdict));
        }
        if (rc == TTRPC_OK) {
            rc = md_text(out, c->detail);
        }
        if (rc == TTRPC_OK && c->known_reason != NULL) {
            rc = tc_buf_printf(out, " (expected: ");
            if (rc == TTRPC_OK) {
                rc = md_text(out, c->known_reason);
            }
            if (rc == TTRPC_OK) {
                rc = tc_buf_printf(out, ")");
            }
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, " | %s |", c->trace[0] ? c->trace : "-");
        }
    }
    return rc != TTRPC_OK ? rc : tc_buf_printf(out, "\n");
}

static ttrpc_err write_file(const char *dir, const char *name, const char *ext, const tc_buf *b)
{
    char path[512];
    if (snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext) >= (int)sizeof path) {
        return TTRPC_E_NOSPACE;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return TTRPC_E_IO;
    }
    bool ok = fwrite(b->p, 1, b->len, f) == b->len;
    ok = fclose(f) == 0 && ok;
    return ok ? TTRPC_OK : TTRPC_E_IO;
}

ttrpc_err mx_report_write(const mx_report *r, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        return TTRPC_E_IO;
    }
    ttrpc_err (*const make[3])(const mx_report *, tc_buf *) = {mx_report_json, mx_report_junit,
                                                               mx_report_markdown};
    static const char *const ext[3] = {"json", "xml", "md"};
    ttrpc_err rc = TTRPC_OK;
    for (int i = 0; i < 3 && rc == TTRPC_OK; i++) {
        tc_buf b = {0};
        rc = make[i](r, &b);
        if (rc == TTRPC_OK) {
            rc = write_file(dir, r->name, ext[i], &b);
        }
        tc_buf_free(&b);
    }
    return rc;
}
