/* Command templates: the peer commands users give (`--exec`, conformance/matrix.conf) name the
 * values the harness fills in as {address}, {fd}, {scenario} and {bin}. */
#ifndef TC_TEMPLATE_H
#define TC_TEMPLATE_H

#include <stddef.h>

#include "ttrpc/err.h"

typedef struct tc_template_var {
    const char *name;  /* with its braces: "{address}" */
    const char *value;
} tc_template_var;

/* Copies tmpl to out (cap bytes, NUL included) with every occurrence of a variable's name
 * replaced by its value; other text, unknown braces included, is copied as it is. *found gets
 * bit i set when vars[i] occurred (n_vars <= 16). Errors: TTRPC_E_NOSPACE (out too small),
 * TTRPC_E_INVAL (more than 16 variables). */
TTRPC_MUST_USE ttrpc_err tc_template_expand(const char *tmpl, const tc_template_var *vars,
                                            size_t n_vars, char *out, size_t cap,
                                            unsigned *found);

#endif
