#include "verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tc_verdict tc_verdict_decide(const tc_verdict_input *in)
{
    if (in->unsupported) {
        return TC_V_UNSUPPORTED;
    }
    if (in->harness_error) {
        return TC_V_ERROR;
    }
    tc_verdict v;
    if (in->fate != TC_FATE_ALIVE) {
        /* A peer that dies or stops answering because of what a client sent fails whatever
         * the clause says about the frames themselves (notes 4). */
        v = TC_V_FAIL;
    } else if (in->level == TC_INFO) {
        v = TC_V_INFO;
    } else if (in->pass) {
        v = TC_V_PASS;
    } else if (in->lenient || in->level == TC_SHOULD) {
        v = in->strict ? TC_V_FAIL : TC_V_NONSTRICT;
    } else {
        v = TC_V_FAIL;
    }
    if (in->known_failing) {
        if (v == TC_V_PASS) {
            return in->known_flaky ? TC_V_PASS : TC_V_XPASS;
        }
        if (v == TC_V_FAIL || v == TC_V_NONSTRICT) {
            return TC_V_XFAIL;
        }
    }
    return v;
}

bool tc_verdict_ok(tc_verdict v)
{
    return v == TC_V_PASS || v == TC_V_NONSTRICT || v == TC_V_INFO || v == TC_V_UNSUPPORTED ||
           v == TC_V_XFAIL;
}

const char *tc_verdict_name(tc_verdict v)
{
    static const char *const names[TC_V_COUNT] = {
        "PASS", "FAIL", "NON-STRICT", "INFO", "UNSUPPORTED", "ERROR", "XFAIL", "XPASS",
    };
    return (unsigned)v < TC_V_COUNT ? names[v] : "?";
}

const char *tc_fate_name(tc_fate f)
{
    switch (f) {
    case TC_FATE_ALIVE:
        return "alive";
    case TC_FATE_DIED:
        return "peer-died";
    case TC_FATE_HUNG:
        return "hang";
    case TC_FATE_GONE:
        return "gone";
    }
    return "?";
}

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

ttrpc_err tc_known_parse(const char *text, tc_known *out, size_t *bad_line)
{
    memset(out, 0, sizeof *out);
    size_t line_no = 0;
    size_t cap = 0;
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        line_no++;
        /* strip a comment and surrounding blanks */
        const char *hash = memchr(line, '#', len);
        size_t use = hash != NULL ? (size_t)(hash - line) : len;
        size_t a = 0;
        while (a < use && (line[a] == ' ' || line[a] == '\t')) {
            a++;
        }
        while (use > a && (line[use - 1] == ' ' || line[use - 1] == '\t' ||
                           line[use - 1] == '\r')) {
            use--;
        }
        if (use > a) {
            size_t id_end = a;
            while (id_end < use && line[id_end] != ' ' && line[id_end] != '\t') {
                id_end++;
            }
            size_t r = id_end;
            while (r < use && (line[r] == ' ' || line[r] == '\t')) {
                r++;
            }
            if (r == use) {
                if (bad_line != NULL) {
                    *bad_line = line_no;
                }
                tc_known_free(out);
                return TTRPC_E_INVAL;
            }
            if (out->n == cap) {
                cap = cap == 0 ? 16 : cap * 2;
                tc_known_entry *e = realloc(out->entries, cap * sizeof *e);
                if (e == NULL) {
                    tc_known_free(out);
                    return TTRPC_E_NOMEM;
                }
                out->entries = e;
            }
            tc_known_entry *e = &out->entries[out->n];
            e->id = dup_range(line + a, id_end - a);
            e->reason = dup_range(line + r, use - r);
            if (e->id == NULL || e->reason == NULL) {
                free(e->id);
                free(e->reason);
                tc_known_free(out);
                return TTRPC_E_NOMEM;
            }
            out->n++;
        }
        line = end != NULL ? end + 1 : line + len;
    }
    return TTRPC_OK;
}

ttrpc_err tc_known_load(const char *path, tc_known *out, size_t *bad_line)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return TTRPC_E_IO;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *t = realloc(text, cap);
            if (t == NULL) {
                free(text);
                fclose(f);
                return TTRPC_E_NOMEM;
            }
            text = t;
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        free(text);
        return TTRPC_E_IO;
    }
    ttrpc_err rc = tc_known_parse(text != NULL ? (text[len] = '\0', text) : "", out, bad_line);
    free(text);
    return rc;
}

const char *tc_known_reason(const tc_known *k, const char *id)
{
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->entries[i].id, id) == 0) {
            return k->entries[i].reason;
        }
    }
    return NULL;
}

bool tc_known_is_flaky(const char *reason)
{
    return reason != NULL && strncmp(reason, "flaky:", 6) == 0;
}

void tc_known_free(tc_known *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->entries[i].id);
        free(k->entries[i].reason);
    }
    free(k->entries);
    k->entries = NULL;
    k->n = 0;
}
