/* A ttrpc client on one Unix socket connection. Not thread-safe: one thread per client object.
 * Many calls may be in flight on one client; every received message, close and Response comes
 * out of ttrpc_client_wait as an event tagged with its stream id, in arrival order.
 *
 * Each stream ends, for the receiving side, with exactly one of: a REMOTE_CLOSED event (the
 * server finished a stream with Data RC), a RESPONSE event, or an ERROR event. After that no
 * event carries its id. When the server goes away every unfinished call gets an ERROR event
 * with TTRPC_E_CLOSED. */
#ifndef TTRPC_CLIENT_H
#define TTRPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttrpc/err.h"
#include "ttrpc/msg.h"
#include "ttrpc/session.h"

typedef struct ttrpc_client ttrpc_client;

#define TTRPC_CLIENT_DEFAULT_MAX_QUEUED (64u * 1024u * 1024u)
/* ttrpc_client_call with a timeout it turned into timeout_nano waits this much longer
 * locally, so that the server's DEADLINE_EXCEEDED answer normally arrives before the client
 * gives up on its own. */
#define TTRPC_CLIENT_DEADLINE_SLACK_MS 1000u

typedef struct ttrpc_client_config {
    /* Limits of the connection's session; role and methods are ignored. */
    ttrpc_session_config session;
    /* Bytes of received events held for ttrpc_client_wait before the client stops reading
     * the socket; 0: TTRPC_CLIENT_DEFAULT_MAX_QUEUED. */
    size_t max_queued;
    /* How long ttrpc_client_send and ttrpc_client_close_send may block on a server that does
     * not read before they give up with TTRPC_E_TIMEOUT; 0: no limit. */
    int send_timeout_ms;
} ttrpc_client_config;

typedef enum ttrpc_client_event_kind {
    TTRPC_CLIENT_EVENT_DATA = 1,      /* one stream message from the server */
    TTRPC_CLIENT_EVENT_REMOTE_CLOSED, /* the server sends nothing more on the stream */
    TTRPC_CLIENT_EVENT_RESPONSE,      /* the call's Response; the stream is over */
    TTRPC_CLIENT_EVENT_ERROR,         /* the call failed (err); the stream is over */
} ttrpc_client_event_kind;

/* Every pointer is owned by the client and valid until the next ttrpc_client_wait,
 * ttrpc_client_call or ttrpc_client_free. */
typedef struct ttrpc_client_event {
    ttrpc_client_event_kind kind;
    uint32_t stream_id;
    ttrpc_bytes data;    /* DATA: the message (may be empty) */
    int32_t code;        /* RESPONSE: status code; 0 when the status field was absent */
    ttrpc_bytes message; /* RESPONSE: status message */
    ttrpc_bytes payload; /* RESPONSE */
    /* ERROR: TTRPC_E_CLOSED (connection gone), TTRPC_E_PROTO (the server broke a rule),
     * TTRPC_E_DECODE (undecodable Response), TTRPC_E_TOO_LARGE (oversized frame). */
    ttrpc_err err;
} ttrpc_client_event;

/* The result of ttrpc_client_call; owns its memory. */
typedef struct ttrpc_client_result {
    int32_t code;
    char *message; /* NUL-terminated; "" when none (may hold NULs: use message_len) */
    size_t message_len;
    uint8_t *payload; /* NULL when payload_len is 0 */
    size_t payload_len;
} ttrpc_client_result;

/* Connects to the server at path. cfg may be NULL (defaults); it is copied.
 * Errors: TTRPC_E_INVAL (path empty or too long for sun_path, or a bad session limit),
 * TTRPC_E_IO (errno tells: ENOENT, ECONNREFUSED...), TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_client_connect_unix(const char *path,
                                                   const ttrpc_client_config *cfg,
                                                   ttrpc_client **out);
/* Uses an already connected stream socket; the client owns fd from now on, whatever the
 * result. Errors: TTRPC_E_INVAL, TTRPC_E_IO, TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_client_adopt_fd(int fd, const ttrpc_client_config *cfg,
                                               ttrpc_client **out);
/* Closes the connection and frees everything, events included. */
void ttrpc_client_free(ttrpc_client *cli);

/* Buffers sized by a large call are kept for the next one; this gives them back (a client
 * that made a 4 MiB call and then idles would otherwise hold about 8 MiB). */
void ttrpc_client_trim(ttrpc_client *cli);

/* Opens a stream: sends the Request (queued; written as far as the socket takes it now).
 * Flags follow the kind (session.h, ttrpc_session_call). Errors: TTRPC_E_CLOSED (the
 * connection is gone), TTRPC_E_INVAL, TTRPC_E_LIMIT, TTRPC_E_TOO_LARGE, TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_client_start(ttrpc_client *cli, const ttrpc_request *req,
                                            ttrpc_method_kind kind, uint32_t *stream_id);

/* Sends one message on a client-streaming or bidi stream (last: with RC). Blocks while the
 * output queue is full, reading (and queueing for ttrpc_client_wait) what arrives meanwhile.
 * Errors: TTRPC_E_NOT_FOUND (no such live stream), TTRPC_E_INVAL (this stream takes no Data
 * now), TTRPC_E_TOO_LARGE, TTRPC_E_NOMEM, TTRPC_E_CLOSED, TTRPC_E_LIMIT (blocked with
 * max_queued bytes of events unread: call ttrpc_client_wait), TTRPC_E_TIMEOUT (blocked past
 * the config's send_timeout_ms; nothing was sent), TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err ttrpc_client_send(ttrpc_client *cli, uint32_t stream_id,
                                           const uint8_t *data, size_t len, bool last);
/* "I send nothing more" (Data RC|NO_DATA). Errors: as ttrpc_client_send. */
TTRPC_MUST_USE ttrpc_err ttrpc_client_close_send(ttrpc_client *cli, uint32_t stream_id);

/* The next event of any stream. timeout_ms: -1 waits as long as it takes, 0 only polls.
 * TTRPC_OK: *ev is set. TTRPC_E_TIMEOUT: nothing came in time. TTRPC_E_CLOSED: the connection
 * is gone and every event was delivered. Errors: TTRPC_E_IO, TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_client_wait(ttrpc_client *cli, int timeout_ms,
                                           ttrpc_client_event *ev);

/* Gives up a stream: queued and future events for it are dropped. The server is not told
 * (the protocol has no cancel frame). Errors: TTRPC_E_NOT_FOUND. */
TTRPC_MUST_USE ttrpc_err ttrpc_client_abandon(ttrpc_client *cli, uint32_t stream_id);

/* A unary call, blocking. If req->timeout_nano is 0 and timeout_ms > 0, the Request carries
 * timeout_ms as its timeout and the local wait is timeout_ms + TTRPC_CLIENT_DEADLINE_SLACK_MS;
 * otherwise the local wait is timeout_ms (<= 0: no limit). Events of other streams that
 * arrive meanwhile stay queued for ttrpc_client_wait.
 * TTRPC_OK: code 0, *out filled. TTRPC_E_STATUS: a non-OK code, *out filled.
 * Errors (*out untouched): TTRPC_E_TIMEOUT (the stream was abandoned), TTRPC_E_CLOSED,
 * TTRPC_E_PROTO, TTRPC_E_DECODE, TTRPC_E_TOO_LARGE, TTRPC_E_LIMIT, TTRPC_E_NOMEM,
 * TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err ttrpc_client_call(ttrpc_client *cli, const ttrpc_request *req,
                                           int timeout_ms, ttrpc_client_result *out);
void ttrpc_client_result_free(ttrpc_client_result *r);

/* Streams started and not yet over (for the receiving side), and heap bytes held (session,
 * input buffer, queued events): for tests. */
size_t ttrpc_client_pending(const ttrpc_client *cli);
size_t ttrpc_client_memory(const ttrpc_client *cli);

#endif
