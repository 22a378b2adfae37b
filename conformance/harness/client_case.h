/* Client-role cases: the harness plays a scripted server, the testee is a ttrpc client.
 *
 * A client-role case is data, like a server-role one: an id, the clause, a level, the
 * scenario the client runs (one call it knows how to make), the script the harness answers
 * that call with (correct answers and hostile ones, built with our encoder), and two
 * expectations over what the client reports. The client is started once per case from a
 * command template with {address} and {scenario}; it connects to a socket the harness listens
 * on in a private directory, and its verdict comes from its exit status and what it prints:
 * one JSON result line (the Go and Rust peers' scenario protocol,
 * {"scenario":..,"ok":..,"code":..,"detail":..}) or ttrpc-ref-client's "status: CODE NAME",
 * "payload: HEX" and "data: HEX" lines (through conformance/peers/c/ref-client-scenario.sh).
 * A client still running at the case deadline is killed: "hang". */
#ifndef TC_CLIENT_CASE_H
#define TC_CLIENT_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "case.h"
#include "report.h"
#include "script.h"
#include "verdict.h"
#include "wirelog.h"

/* The calls a client is asked to make. Each peer knows them by these names. */
typedef enum cc_scenario {
    CC_SC_ECHO = 0,      /* unary Echo(Bytes "hello ttrpc"); success = the same bytes back */
    CC_SC_DEADLINE,      /* unary Sleep(Count 2000) with a 200 ms deadline; expects code 4 */
    CC_SC_SERVER_STREAM, /* ServerStream(Count 5); success = Counts 0..4, then the end */
    CC_SC_CLIENT_STREAM, /* ClientStream: sends Counts 1..4, closes; success = Count 10 back */
    CC_SC_BIDI_STREAM,   /* BidiStream: sends "a", waits for its echo, "b", "c" likewise,
                          * closes; success = the three echoes, then the end */
} cc_scenario;

/* "echo", "deadline", "server-stream", "client-stream", "bidi-stream" */
const char *cc_scenario_name(cc_scenario s);

/* What the scripted server sends once the client's first Request has arrived. Stream ids are
 * relative to that Request's id unless .abs is set. */
typedef enum cc_op_kind {
    CC_END = 0,
    CC_RESPONSE, /* a Response: status .code (absent when 0 unless .has_status), payload */
    CC_DATA,     /* a Data frame with .flags and payload */
    CC_FRAME,    /* any .type and .flags, body = payload bytes */
    CC_HEADER,   /* a bare header with length .length; .cut sends only its first bytes */
    CC_ZEROS,    /* .count zero bytes */
    CC_RAW,      /* .raw bytes as given (garbage) */
    CC_PAUSE,    /* flush, then wait .ms */
    CC_CLOSE,    /* flush, then close the connection */
    CC_AWAIT_DATA,  /* wait until the client has sent .count messages (Data without ND) on
                     * the Request's id */
    CC_AWAIT_CLOSE, /* wait until the client has closed its side (Data with RC) */
} cc_op_kind;

typedef enum cc_payload {
    CC_PL_NONE = 0, /* no payload */
    CC_PL_ECHO,     /* the Request's payload, unchanged */
    CC_PL_TEXT,     /* Bytes{value = .text} */
    CC_PL_COUNT,    /* Count{value = .count} */
    CC_PL_RAW,      /* .raw as given */
    CC_PL_RESPONSE, /* an encoded OK Response{payload = Bytes{value = .text}}: a body that
                     * reads as an answer if a client takes it for one */
} cc_payload;

typedef struct cc_op {
    cc_op_kind kind;
    int32_t id;   /* added to the Request's id; with .abs, the id itself */
    bool abs;
    uint8_t type;
    uint8_t flags;
    uint32_t length; /* HEADER */
    uint32_t cut;    /* HEADER: bytes of the header sent (0: all 10) */
    int32_t code;    /* RESPONSE */
    const char *message;
    bool has_status; /* RESPONSE: put an OK status on the wire (Rust style) */
    cc_payload payload;
    const char *text;
    uint64_t count;  /* COUNT; ZEROS: how many */
    const uint8_t *raw;
    size_t raw_len;
    uint32_t repeat; /* DATA with COUNT: this many, values count, count+1, ... (0: 1) */
    uint32_t chunk;  /* send this op's bytes in pieces of this many bytes, .ms apart */
    uint32_t ms;
} cc_op;

#define CC_MAX_OPS 10

/* Expectations over the client's report. */
typedef enum cc_expect_kind {
    CC_X_NONE = 0,
    CC_X_SUCCESS,  /* code 0 and the scenario's own check passed (the echo came back, ...) */
    CC_X_CODE,     /* reported exactly .code */
    CC_X_ERROR,    /* the call failed: a non-zero code, or a failure exit without a code */
    CC_X_REJECTED, /* failed, and not by its own deadline (any code but 4) */
    CC_X_ENDED,    /* ended on its own, whatever it reported */
} cc_expect_kind;

typedef struct cc_expect {
    cc_expect_kind kind;
    int32_t code;
} cc_expect;

typedef struct cc_case {
    tc_case base; /* id, clause, level, testee = TC_CLIENT, desc, timeout_ms, needs */
    cc_scenario scenario;
    cc_op script[CC_MAX_OPS];
    cc_expect pass;
    cc_expect lenient; /* CC_X_NONE: none */
} cc_case;

#define CC_DEFAULT_TIMEOUT_MS 9000u /* above the peers' own 5 s scenario limit + 2 s grace */

/* What a client did in one case. */
typedef enum cc_end {
    CC_END_EXITED = 0, /* exited on its own: .exit_status */
    CC_END_SIGNALED,   /* killed by a signal it did not get from us: crash */
    CC_END_HUNG,       /* still running at the deadline: killed */
    CC_END_NOT_STARTED,/* could not be spawned */
} cc_end;

typedef struct cc_obs {
    cc_end end;
    int exit_status;
    int signal;
    bool reported;      /* a JSON result line or a status line was printed */
    int32_t code;       /* the reported code */
    bool ok;            /* the scenario's own check passed */
    char detail[512];   /* the JSON detail, or the ref client's message/stderr */
    uint32_t requests;  /* Requests received on the case connection */
    uint32_t req_id;    /* the first Request's stream id */
    uint8_t req_flags;
    int64_t req_timeout_nano;
    uint32_t connections; /* connections accepted */
    bool client_closed; /* the client closed the case connection */
    uint32_t frames_after; /* frames from the client after its first Request */
    uint32_t data_in;   /* messages (Data without ND) from the client on the Request's id */
    bool send_closed;   /* the client sent Data with RC on the Request's id */
    uint64_t elapsed_ms;
} cc_obs;

/* The table (cases_client.c). */
extern const cc_case cc_cases[];
extern const size_t cc_cases_count;
const cc_case *cc_case_find(const char *id);

/* Evaluates one expectation over an observation. */
bool cc_expect_eval(const cc_expect *x, const cc_obs *o);
/* "SUCCESS", "CODE(99)", "ERROR", ... */
TTRPC_MUST_USE ttrpc_err cc_expect_render(const cc_expect *x, tc_buf *out);
/* "exited 1 after 230 ms; reported code 99 (ok=false): ...; 1 Request on id 1" */
TTRPC_MUST_USE ttrpc_err cc_obs_render(const cc_obs *o, tc_buf *out);

/* Parses a client's stdout (NUL-terminated) into o->reported, code, ok, detail. For the ref
 * client's lines, ok compares payload/data lines with want_payload (hex, the echo) or
 * want_data (hex lines, the stream messages, n_data of them). */
void cc_parse_output(const char *out, cc_scenario sc, const char *want_payload,
                     const char *const *want_data, size_t n_data, cc_obs *o);

/* Plays one case: listens on sock_path, spawns the client from tmpl ({address},
 * {scenario}), answers its first Request with the script, waits for it to end or for the
 * case deadline. Fills *o, log (the wire log as text), wire (the same as data for the
 * report) and stderr_tail. Returns TTRPC_OK when the case was played, else an error with
 * err set (harness trouble). */
TTRPC_MUST_USE ttrpc_err cc_run_case(const cc_case *c, const char *tmpl, const char *sock_path,
                                     double scale, cc_obs *o, tc_buf *log, tc_wirelog *wire,
                                     char *stderr_tail, size_t tail_cap, char *err,
                                     size_t err_cap);

/* The `ttrpc-conform client` command (argv[1] is "client"). */
int cc_client_main(int argc, char **argv);

#endif
