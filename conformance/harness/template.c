#include "template.h"

#include <string.h>

ttrpc_err tc_template_expand(const char *tmpl, const tc_template_var *vars, size_t n_vars,
                             char *out, size_t cap, unsigned *found)
{
    *found = 0;
    if (n_vars > 16) {
        return TTRPC_E_INVAL;
    }
    if (cap == 0) {
        return TTRPC_E_NOSPACE;
    }
    size_t n = 0;
    for (const char *p = tmpl; *p != '\0';) {
        const char *piece = p;
        size_t len = 1;
        size_t skip = 1;
        for (size_t i = 0; i < n_vars; i++) {
            size_t name_len = strlen(vars[i].name);
            if (strncmp(p, vars[i].name, name_len) == 0) {
                piece = vars[i].value;
                len = strlen(piece);
                skip = name_len;
                *found |= 1u << i;
                break;
            }
        }
        if (len >= cap - n) {
            return TTRPC_E_NOSPACE;
        }
        memcpy(out + n, piece, len);
        n += len;
        p += skip;
    }
    out[n] = '\0';
    return TTRPC_OK;
}
