/* The connection engine, I/O-free: feed it received bytes, pull events, queue sends, and take
 * the bytes to write. One session is one connection in one role. It owns the frame decoder,
 * the table of live streams (each stepped through the stream.h table) and the output queue,
 * and it answers protocol violations by itself when it is the server.
 *
 * Typical loop:
 *     ttrpc_session_feed(s, buf, n, &used);          // until used == n or it takes nothing
 *     while (ttrpc_session_next_event(s, &ev) == TTRPC_OK) { handle(&ev); }
 *     ttrpc_session_output(s, &out, &out_len);       // write it, then
 *     ttrpc_session_output_consumed(s, written);
 *
 * Choices where PROTOCOL.md is silent (server role), against the real peers (notes 3.2-3.4):
 *   frame over max_data        -> RESOURCE_EXHAUSTED (8) on its id, connection kept    (Go: 8, Rust: 3)
 *   Request on id 0 or even    -> INVALID_ARGUMENT (3)                                  (Go, Rust async)
 *   Request id not increasing  -> INVALID_ARGUMENT (3)                                  (Go v1.2)
 *   undecodable Request        -> INVALID_ARGUMENT (3)                                  (all)
 *   unknown service or method  -> UNIMPLEMENTED (12)                                    (Go; Rust: 3 or 12)
 *   Request flags RC|RO        -> INVALID_ARGUMENT (3)                     (contradictory; peers ignore)
 *   unary Request, streaming method -> INVALID_ARGUMENT (3)
 *   more than max_streams live -> RESOURCE_EXHAUSTED (8)                                (peers: no limit)
 *   a stream-table REJECT      -> INVALID_ARGUMENT (3), the stream ends                 (Go)
 */
#ifndef TTRPC_SESSION_H
#define TTRPC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttrpc/alloc.h"
#include "ttrpc/err.h"
#include "ttrpc/frame.h"
#include "ttrpc/msg.h"
#include "ttrpc/stream.h"

typedef enum ttrpc_method_kind {
    TTRPC_METHOD_UNARY = 0,
    TTRPC_METHOD_SERVER_STREAM, /* rpc F(X) returns (stream Y) */
    TTRPC_METHOD_CLIENT_STREAM, /* rpc F(stream X) returns (Y) */
    TTRPC_METHOD_BIDI,          /* rpc F(stream X) returns (stream Y) */
} ttrpc_method_kind;

/* A method the server routes to. Strings are borrowed for the session's lifetime. */
typedef struct ttrpc_method_desc {
    const char *service; /* full name, e.g. "ttrpc.conformance.v1.Echo" */
    const char *method;  /* e.g. "Echo"; matched exactly, case-sensitive */
    ttrpc_method_kind kind;
} ttrpc_method_desc;

#define TTRPC_SESSION_DEFAULT_MAX_STREAMS 1024u
#define TTRPC_SESSION_DEFAULT_MAX_OUTPUT (8u * 1024u * 1024u)

typedef struct ttrpc_session_config {
    ttrpc_role role;
    uint32_t max_data;     /* largest data length accepted and sent; 0: TTRPC_FRAME_MAX_DATA */
    uint32_t max_streams;  /* live streams at once; 0: TTRPC_SESSION_DEFAULT_MAX_STREAMS */
    size_t max_output;     /* queued output above which input and Data sends pause;
                            * 0: TTRPC_SESSION_DEFAULT_MAX_OUTPUT */
    size_t decode_budget;  /* bytes one message decode may allocate; 0: TTRPC_MSG_DEFAULT_BUDGET */
    /* Server routing table, borrowed. NULL: every Request is delivered with method_index
     * SIZE_MAX and the application routes (and answers UNIMPLEMENTED) itself. */
    const ttrpc_method_desc *methods;
    size_t n_methods;
    const ttrpc_allocator *alloc; /* borrowed; NULL: the default */
    /* Test-only fault injection, so the conformance harness can prove that its cases catch
     * a broken server (ttrpc-ref-server --fault). Leave them zero in real use. */
    bool test_serve_even_ids;         /* skip the odd-id check on Requests */
    int32_t test_unknown_method_code; /* answer this instead of UNIMPLEMENTED (0: 12) */
    bool test_close_on_oversize;      /* fail the connection instead of answering code 8 */
} ttrpc_session_config;

typedef enum ttrpc_event_kind {
    /* Server: a new stream was opened by a valid, routed Request. */
    TTRPC_EVENT_REQUEST = 1,
    /* Both: one message on a stream. last: the remote sent it with RC (nothing follows). */
    TTRPC_EVENT_DATA,
    /* Both: the remote finished sending without a message (Data RC|ND). */
    TTRPC_EVENT_REMOTE_CLOSED,
    /* Client: the call's Response; the stream is finished. */
    TTRPC_EVENT_RESPONSE,
    /* A stream ended abnormally. Server: the session answered a violation with `code` (the
     * stream, if the application knew it, is gone: stop its work). Client: the call failed
     * with `err` (TTRPC_E_PROTO, TTRPC_E_DECODE, TTRPC_E_TOO_LARGE, TTRPC_E_CLOSED). */
    TTRPC_EVENT_STREAM_ERROR,
} ttrpc_event_kind;

/* Everything an event points to lives in the session until its next call. */
typedef struct ttrpc_event {
    ttrpc_event_kind kind;
    uint32_t stream_id;
    uint8_t frame_type; /* the frame that caused the event (0 for TTRPC_E_CLOSED) */
    uint8_t flags;
    void *user;         /* what ttrpc_session_set_user attached to the stream, or NULL */
    /* REQUEST */
    const ttrpc_request *request;
    size_t method_index;   /* into config.methods; SIZE_MAX when no table was given */
    /* Streaming methods: Request.payload is the first message. False when the Request had
     * NO_DATA, or when the method is client-streaming/bidi and the payload field was absent
     * (notes 2.3: right for both Go and Rust clients). Unary methods: always true. */
    bool first_message;
    /* DATA */
    ttrpc_bytes data;
    bool last;
    /* RESPONSE */
    const ttrpc_response *response;
    /* STREAM_ERROR */
    bool was_live;      /* the stream had been delivered to the application */
    int32_t code;       /* server: the status code the session answered with */
    ttrpc_err err;      /* client: why the call failed; server: the underlying reason */
    const char *reason; /* a static, human-readable explanation */
} ttrpc_event;

typedef struct ttrpc_session_stats {
    uint64_t frames_in, frames_out;
    uint64_t bytes_in, bytes_out;
    uint64_t rejected;       /* violations answered (server) or calls failed (client) */
    uint64_t ignored;        /* frames dropped by the table's IGNORE */
    uint32_t live_streams;
    uint32_t last_stream_id; /* the highest client id seen (server) or used (client) */
} ttrpc_session_stats;

typedef struct ttrpc_session ttrpc_session;

/* Errors: TTRPC_E_INVAL (bad config: max_data above the frame limit, role out of range),
 * TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_new(const ttrpc_session_config *cfg, ttrpc_session **out);
void ttrpc_session_free(ttrpc_session *s);

/* Takes received bytes; *consumed may be less than len (the decoder holds one frame at a time
 * and input pauses while output is over max_output): pull events, write output, feed the
 * rest. Errors: TTRPC_E_NOMEM (sticky; close the connection), TTRPC_E_CLOSED (after close). */
TTRPC_MUST_USE ttrpc_err ttrpc_session_feed(ttrpc_session *s, const uint8_t *in, size_t len,
                                            size_t *consumed);

/* False while queued output is over max_output: stop reading the socket until it drains. */
bool ttrpc_session_wants_input(const ttrpc_session *s);

/* A zero-copy alternative to ttrpc_session_feed for the bulk of large frames: inside a frame's
 * data, *buf and *cap give where the next input bytes may be written (a read(2) straight into the
 * decoder); commit the n bytes written with ttrpc_session_input_commit, then pull events as
 * after a feed. *cap is 0 when the window is closed (between frames, paused, oversize skip):
 * feed instead. Errors: as ttrpc_decoder_input_window/commit, and TTRPC_E_CLOSED. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_input_window(ttrpc_session *s, uint8_t **buf,
                                                    size_t *cap);
TTRPC_MUST_USE ttrpc_err ttrpc_session_input_commit(ttrpc_session *s, size_t n);

/* TTRPC_OK: *ev holds one event. TTRPC_E_AGAIN: feed more input. TTRPC_E_NOMEM: fatal
 * (so is TTRPC_E_TOO_LARGE, only with the test-only test_close_on_oversize).
 * TTRPC_E_CLOSED: after ttrpc_session_close, once every live stream was reported. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_next_event(ttrpc_session *s, ttrpc_event *ev);

/* The connection ended (EOF or error). Input is no longer accepted; next_event reports each
 * live stream as STREAM_ERROR with TTRPC_E_CLOSED, then returns TTRPC_E_CLOSED.
 * truncated_out, if not NULL, is set when a partial frame was buffered. */
void ttrpc_session_close(ttrpc_session *s, bool *truncated_out);

/* Client: opens a stream with Request *req. Flags by kind: UNARY 0, SERVER_STREAM RC,
 * CLIENT_STREAM and BIDI RO, plus NO_DATA when req has no payload (notes 2.3).
 * Errors: TTRPC_E_INVAL (server role, bad kind), TTRPC_E_LIMIT (max_streams live, or the
 * id space is used up), TTRPC_E_TOO_LARGE (encoded Request above max_data), TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_call(ttrpc_session *s, const ttrpc_request *req,
                                            ttrpc_method_kind kind, uint32_t *stream_id);

/* Both: one Data message (last: with RC). Errors: TTRPC_E_NOT_FOUND (no live stream),
 * TTRPC_E_INVAL (the table refuses it in this state), TTRPC_E_AGAIN (output over max_output:
 * retry once it drains), TTRPC_E_TOO_LARGE, TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_send_data(ttrpc_session *s, uint32_t stream_id,
                                                 const uint8_t *data, size_t len, bool last);

/* Both: Data with RC|NO_DATA: "I send nothing more". Same errors as send_data. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_send_close(ttrpc_session *s, uint32_t stream_id);

/* Server: the stream's Response (ends it). Not paused by max_output: the number of pending
 * Responses is bounded by max_streams and input pauses instead. Errors: TTRPC_E_NOT_FOUND,
 * TTRPC_E_INVAL, TTRPC_E_TOO_LARGE (encoded above max_data: send an error status instead),
 * TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_send_response(ttrpc_session *s, uint32_t stream_id,
                                                     const ttrpc_response *resp);

/* Server convenience: a Response with only a status. message may be NULL. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_send_status(ttrpc_session *s, uint32_t stream_id,
                                                   int32_t code, const char *message);

/* Both: forget a live stream locally (a client gave up; a handler went away). Later frames on
 * the id get what the table says for a finished stream. Errors: TTRPC_E_NOT_FOUND. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_abandon(ttrpc_session *s, uint32_t stream_id);

/* Attaches an application pointer to a live stream; events on it carry it in ev.user. */
TTRPC_MUST_USE ttrpc_err ttrpc_session_set_user(ttrpc_session *s, uint32_t stream_id,
                                                void *user);

/* The state of a stream: TTRPC_STREAM_IDLE when it is not live. */
ttrpc_stream_state ttrpc_session_stream_state(const ttrpc_session *s, uint32_t stream_id);

/* Bytes waiting to be written (*len 0 when none), valid until the next session call. */
void ttrpc_session_output(const ttrpc_session *s, const uint8_t **data, size_t *len);
/* n bytes of that output were written. */
void ttrpc_session_output_consumed(ttrpc_session *s, size_t n);

ttrpc_session_stats ttrpc_session_get_stats(const ttrpc_session *s);
/* Heap bytes the session holds now (decoder store, output queue, stream table, arena). */
size_t ttrpc_session_memory(const ttrpc_session *s);

/* Gives back what large frames left behind: the decoder's store between frames, the decode
 * arena's spare block, and an empty output buffer larger than 64 KiB. Buffers are otherwise
 * kept from one frame to the next; call this when the connection has been quiet a while. */
void ttrpc_session_trim(ttrpc_session *s);

#endif
