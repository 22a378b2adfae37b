/* The matrix configuration (matrix_config.h). */
#include "matrix_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h" /* TC_NEED_STREAMING */
#include "template.h"

static ttrpc_err fail(char *why, size_t why_cap, ttrpc_err rc, const char *text)
{
    (void)snprintf(why, why_cap, "%s", text);
    return rc;
}

/* The next space-separated word of *p into out; false at the end of the line. */
static bool next_word(const char **p, char *out, size_t cap, bool *too_long)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = 0;
    while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t') {
        n++;
    }
    *p = s + n;
    if (n == 0) {
        return false;
    }
    *too_long = n >= cap;
    if (!*too_long) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return true;
}

/* Feature names a config may use; streaming is the harness-wide TC_NEED_STREAMING. */
static const struct {
    const char *name;
    unsigned bit;
} FEATURES[] = {
    {"streaming", TC_NEED_STREAMING},
    {"remote-deadline", MX_NEED_REMOTE_DEADLINE},
};

static ttrpc_err feature_bits(const char *name, unsigned *bits)
{
    for (size_t i = 0; i < sizeof FEATURES / sizeof FEATURES[0]; i++) {
        if (strcmp(name, FEATURES[i].name) == 0) {
            *bits |= FEATURES[i].bit;
            return TTRPC_OK;
        }
    }
    return TTRPC_E_INVAL;
}

const char *mx_feature_name(unsigned bits)
{
    for (size_t i = 0; i < sizeof FEATURES / sizeof FEATURES[0]; i++) {
        if (bits & FEATURES[i].bit) {
            return FEATURES[i].name;
        }
    }
    return "?";
}

/* Copies cmd with {bin} replaced by bin_dir. */
static ttrpc_err expand_bin(const char *cmd, const char *bin_dir, char *out, size_t cap)
{
    const tc_template_var vars[] = {{"{bin}", bin_dir}};
    unsigned found = 0;
    return tc_template_expand(cmd, vars, 1, out, cap, &found);
}

static bool label_taken(const mx_peer *list, size_t n, const char *label)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].label, label) == 0) {
            return true;
        }
    }
    return false;
}

/* One line, without its newline. */
static ttrpc_err parse_line(const char *line, const char *bin_dir, mx_config *c, char *why,
                            size_t why_cap)
{
    const char *p = line;
    char word[MX_CMD_MAX];
    bool too_long = false;
    if (!next_word(&p, word, sizeof word, &too_long) || word[0] == '#') {
        return TTRPC_OK; /* blank or comment */
    }
    bool is_server = strcmp(word, "server") == 0;
    bool is_client = strcmp(word, "client") == 0;
    if (strcmp(word, "scenario") == 0) {
        if (c->n_scenarios == MX_MAX_SCENARIOS) {
            return fail(why, why_cap, TTRPC_E_NOSPACE, "too many scenarios");
        }
        mx_scenario *s = &c->scenarios[c->n_scenarios];
        memset(s, 0, sizeof *s);
        if (!next_word(&p, s->name, sizeof s->name, &too_long) || too_long) {
            return fail(why, why_cap, too_long ? TTRPC_E_NOSPACE : TTRPC_E_INVAL,
                        "scenario needs a NAME (up to 31 characters)");
        }
        while (next_word(&p, word, sizeof word, &too_long)) {
            if (too_long || strncmp(word, "needs=", 6) != 0 ||
                feature_bits(word + 6, &s->needs) != TTRPC_OK) {
                return fail(why, why_cap, TTRPC_E_INVAL,
                            "expected needs=FEATURE (streaming, remote-deadline) after the name");
            }
        }
        for (size_t i = 0; i < c->n_scenarios; i++) {
            if (strcmp(c->scenarios[i].name, s->name) == 0) {
                return fail(why, why_cap, TTRPC_E_INVAL, "scenario listed twice");
            }
        }
        c->n_scenarios++;
        return TTRPC_OK;
    }
    if (!is_server && !is_client) {
        return fail(why, why_cap, TTRPC_E_INVAL, "expected scenario, server or client");
    }
    mx_peer *list = is_server ? c->servers : c->clients;
    size_t *n = is_server ? &c->n_servers : &c->n_clients;
    if (*n == MX_MAX_PEERS) {
        return fail(why, why_cap, TTRPC_E_NOSPACE, "too many peers");
    }
    mx_peer *peer = &list[*n];
    memset(peer, 0, sizeof *peer);
    if (!next_word(&p, peer->label, sizeof peer->label, &too_long) || too_long) {
        return fail(why, why_cap, too_long ? TTRPC_E_NOSPACE : TTRPC_E_INVAL,
                    "a peer needs a LABEL (up to 31 characters) and a command");
    }
    if (strchr(peer->label, '/') != NULL) {
        return fail(why, why_cap, TTRPC_E_INVAL, "a label cannot contain '/' (cell ids use it)");
    }
    if (label_taken(list, *n, peer->label)) {
        return fail(why, why_cap, TTRPC_E_INVAL, "label used twice");
    }
    /* Options come before the command: words of the form without=FEATURE. */
    for (;;) {
        const char *before = p;
        if (!next_word(&p, word, sizeof word, &too_long) || too_long ||
            strncmp(word, "without=", 8) != 0) {
            p = before;
            break;
        }
        if (feature_bits(word + 8, &peer->without) != TTRPC_OK) {
            return fail(why, why_cap, TTRPC_E_INVAL, "known features: streaming, remote-deadline");
        }
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '\0') {
        return fail(why, why_cap, TTRPC_E_INVAL, "a peer needs a command");
    }
    if (expand_bin(p, bin_dir, peer->cmd, sizeof peer->cmd) != TTRPC_OK) {
        return fail(why, why_cap, TTRPC_E_NOSPACE, "command too long");
    }
    if (is_server && strstr(peer->cmd, "{address}") == NULL && strstr(peer->cmd, "{fd}") == NULL) {
        return fail(why, why_cap, TTRPC_E_INVAL, "a server command needs {address} or {fd}");
    }
    if (is_client &&
        (strstr(peer->cmd, "{address}") == NULL || strstr(peer->cmd, "{scenario}") == NULL)) {
        return fail(why, why_cap, TTRPC_E_INVAL,
                    "a client command needs {address} and {scenario}");
    }
    (*n)++;
    return TTRPC_OK;
}

ttrpc_err mx_config_parse(const char *text, const char *bin_dir, mx_config *out,
                          size_t *bad_line, char *why, size_t why_cap)
{
    memset(out, 0, sizeof *out);
    *bad_line = 0;
    size_t line_no = 0;
    while (*text != '\0') {
        line_no++;
        const char *nl = strchr(text, '\n');
        size_t len = nl != NULL ? (size_t)(nl - text) : strlen(text);
        char line[MX_CMD_MAX + 64];
        if (len >= sizeof line) {
            *bad_line = line_no;
            return fail(why, why_cap, TTRPC_E_NOSPACE, "line too long");
        }
        memcpy(line, text, len);
        line[len] = '\0';
        if (len > 0 && line[len - 1] == '\r') {
            line[len - 1] = '\0';
        }
        ttrpc_err rc = parse_line(line, bin_dir, out, why, why_cap);
        if (rc != TTRPC_OK) {
            *bad_line = line_no;
            return rc;
        }
        text += len + (nl != NULL);
    }
    if (out->n_servers == 0 || out->n_clients == 0 || out->n_scenarios == 0) {
        return fail(why, why_cap, TTRPC_E_INVAL,
                    "the matrix needs at least one server, one client and one scenario");
    }
    return TTRPC_OK;
}

ttrpc_err mx_config_load(const char *path, const char *bin_dir, mx_config *out,
                         size_t *bad_line, char *why, size_t why_cap)
{
    *bad_line = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return fail(why, why_cap, TTRPC_E_IO, "cannot open the file");
    }
    char *text = NULL;
    size_t len = 0;
    char chunk[4096];
    size_t n;
    ttrpc_err rc = TTRPC_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && rc == TTRPC_OK) {
        if (len + n > (1u << 20)) {
            rc = fail(why, why_cap, TTRPC_E_NOSPACE, "file above 1 MiB");
            break;
        }
        char *grown = realloc(text, len + n + 1);
        if (grown == NULL) {
            rc = fail(why, why_cap, TTRPC_E_NOMEM, "out of memory");
            break;
        }
        text = grown;
        memcpy(text + len, chunk, n);
        len += n;
        text[len] = '\0';
    }
    if (ferror(f) && rc == TTRPC_OK) {
        rc = fail(why, why_cap, TTRPC_E_IO, "read error");
    }
    (void)fclose(f);
    if (rc == TTRPC_OK) {
        rc = mx_config_parse(text != NULL ? text : "", bin_dir, out, bad_line, why, why_cap);
    }
    free(text);
    return rc;
}

bool mx_supported(const mx_peer *client, const mx_peer *server, const mx_scenario *s)
{
    return (s->needs & (client->without | server->without)) == 0;
}
