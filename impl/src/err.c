#include "ttrpc/err.h"

const char *ttrpc_strerror(ttrpc_err err)
{
    /* No default: -Wswitch flags an enumerator that lacks a case. */
    switch (err) {
#define TTRPC_ERR_TEXT_CASE(name, value, text) \
    case name:                                 \
        return text;
        TTRPC_ERRORS(TTRPC_ERR_TEXT_CASE)
#undef TTRPC_ERR_TEXT_CASE
    }
    return "unknown error";
}

const char *ttrpc_err_name(ttrpc_err err)
{
    switch (err) {
#define TTRPC_ERR_NAME_CASE(name, value, text) \
    case name:                                 \
        return #name;
        TTRPC_ERRORS(TTRPC_ERR_NAME_CASE)
#undef TTRPC_ERR_NAME_CASE
    }
    return "TTRPC_E_UNKNOWN";
}
