/* The registry of every case table, and the small rules about case ids and selection. */
#include <fnmatch.h>
#include <string.h>

#include "case.h"

#define TABLES(X) X(frame) X(types) X(ids) X(request) X(streaming) X(impl)

const tc_case *const *tc_cases_all(size_t *n)
{
    /* Built once; the tables are constant, so the order is stable. */
    static const tc_case *all[1024];
    static size_t count;
    if (count == 0) {
#define ADD(name)                                                              \
    for (size_t i = 0; i < tc_cases_##name##_count && count < 1024; i++) {     \
        all[count++] = &tc_cases_##name[i];                                    \
    }
        TABLES(ADD)
#undef ADD
    }
    *n = count;
    return all;
}

const tc_case *tc_case_find(const char *id)
{
    size_t n = 0;
    const tc_case *const *all = tc_cases_all(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i]->id, id) == 0) {
            return all[i];
        }
    }
    return NULL;
}

bool tc_case_id_valid(const char *id)
{
    size_t parts = 0, part_len = 0;
    for (const char *p = id;; p++) {
        if (*p == '/' || *p == '\0') {
            if (part_len == 0) {
                return false;
            }
            parts++;
            part_len = 0;
            if (*p == '\0') {
                break;
            }
            continue;
        }
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-')) {
            return false;
        }
        part_len++;
    }
    return parts >= 3;
}

bool tc_pattern_match(const char *pattern, const char *id)
{
    if (fnmatch(pattern, id, 0) == 0) {
        return true;
    }
    size_t n = strlen(pattern);
    return n > 0 && strncmp(pattern, id, n) == 0 && (id[n] == '/' || pattern[n - 1] == '/');
}

bool tc_selected(const char *id, const char *const *run, size_t n_run, const char *const *skip,
                 size_t n_skip)
{
    bool chosen = n_run == 0;
    for (size_t i = 0; i < n_run && !chosen; i++) {
        chosen = tc_pattern_match(run[i], id);
    }
    for (size_t i = 0; i < n_skip && chosen; i++) {
        chosen = !tc_pattern_match(skip[i], id);
    }
    return chosen;
}

const char *tc_level_name(tc_level l)
{
    switch (l) {
    case TC_MUST:
        return "MUST";
    case TC_SHOULD:
        return "SHOULD";
    case TC_INFO:
        return "INFO";
    }
    return "?";
}

const char *tc_role_name(tc_role r)
{
    switch (r) {
    case TC_SERVER:
        return "server";
    case TC_CLIENT:
        return "client";
    }
    return "?";
}

bool tc_pred_uses(const tc_pred *p, tc_pred_kind kind)
{
    if (p->kind == kind) {
        return true;
    }
    for (size_t i = 0; i < p->n_sub; i++) {
        if (tc_pred_uses(&p->sub[i], kind)) {
            return true;
        }
    }
    return false;
}

uint32_t tc_case_probe_id(const tc_case *c)
{
    if (!tc_pred_uses(&c->pass, TC_P_NOTHING_ON) &&
        !(c->has_lenient && tc_pred_uses(&c->lenient, TC_P_NOTHING_ON))) {
        return 0;
    }
    /* The next odd id above every id the script used: servers may require increasing ids
     * (notes 1.3). */
    uint32_t top = 0;
    for (size_t i = 0; i < TC_MAX_OPS && c->script[i].kind != TC_OP_END; i++) {
        const tc_op *op = &c->script[i];
        if (op->kind != TC_OP_REQUEST && op->kind != TC_OP_DATA && op->kind != TC_OP_FRAME &&
            op->kind != TC_OP_HEADER) {
            continue;
        }
        uint32_t reps = op->kind == TC_OP_REQUEST && op->repeat > 1 ? op->repeat : 1;
        uint64_t last = (uint64_t)op->id + 2u * (reps - 1u);
        if (last > top && last < 0xFFFFFFF0u) {
            top = (uint32_t)last;
        }
    }
    return top % 2 == 1 ? top + 2 : top + 1;
}
