/* The one error enum of the reference implementation. Every fallible function returns a
 * ttrpc_err; there is no global errno. */
#ifndef TTRPC_ERR_H
#define TTRPC_ERR_H

#if defined(__GNUC__) || defined(__clang__)
#define TTRPC_MUST_USE __attribute__((warn_unused_result))
#else
#define TTRPC_MUST_USE
#endif

/* One list generates the enum and ttrpc_strerror(), so a code cannot lack its message. */
#define TTRPC_ERRORS(X)                                                    \
    X(TTRPC_OK, 0, "success")                                              \
    X(TTRPC_E_AGAIN, -1, "need more input")                                \
    X(TTRPC_E_INVAL, -2, "invalid argument or call not allowed now")       \
    X(TTRPC_E_NOSPACE, -3, "output buffer too small")                      \
    X(TTRPC_E_TOO_LARGE, -4, "frame length above the limit")               \
    X(TTRPC_E_PROTO, -5, "peer broke a protocol rule")                     \
    X(TTRPC_E_DECODE, -6, "message does not decode")                       \
    X(TTRPC_E_NOMEM, -7, "out of memory or over a memory budget")          \
    X(TTRPC_E_LIMIT, -8, "a configured limit was reached")                 \
    X(TTRPC_E_NOT_FOUND, -9, "no such stream, service or method")          \
    X(TTRPC_E_IO, -10, "socket error")                                     \
    X(TTRPC_E_CLOSED, -11, "connection closed")                            \
    X(TTRPC_E_TIMEOUT, -12, "deadline passed")                             \
    X(TTRPC_E_STATUS, -13, "call ended with a non-OK status")

#define TTRPC_ERR_ENUM_ENTRY(name, value, text) name = (value),
typedef enum ttrpc_err { TTRPC_ERRORS(TTRPC_ERR_ENUM_ENTRY) } ttrpc_err;
#undef TTRPC_ERR_ENUM_ENTRY

/* A static string describing err; "unknown error" for a value outside the enum. */
const char *ttrpc_strerror(ttrpc_err err);

/* The enumerator's name ("TTRPC_E_PROTO"), for logs and reports. */
const char *ttrpc_err_name(ttrpc_err err);

#endif
