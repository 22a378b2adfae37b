/* The tap: a relay between ttrpc peers that records what passes.
 *
 * It listens on one Unix socket and, for every connection accepted there, opens a new one to
 * the real server and copies bytes both ways unchanged and as soon as they arrive (epoll,
 * non-blocking sockets, a small fixed buffer per direction). Each direction also goes through
 * the reference frame decoder and message decoders, so the trace says what every frame was
 * (TRACE.md describes the JSON). A frame the decoder refuses (above 4 MiB, an unknown type, a
 * body that is not a message) is recorded as such and relayed all the same: the tap observes,
 * it never judges or repairs. Its memory follows the bytes that arrived.
 *
 * Two ways to run it: tc_tap_poll() from one's own loop (the `ttrpc-conform tap` command), or
 * tc_tap_start() on a thread of its own (the matrix, while it waits for a client process). */
#ifndef TC_TAP_H
#define TC_TAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "script.h" /* tc_buf */
#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

#define TC_TAP_SCHEMA_VERSION 1
/* Payloads up to this size are recorded whole; above it only the first TC_TAP_HEAD bytes. */
#define TC_TAP_PAYLOAD_MAX 4096u
#define TC_TAP_HEAD 64u

/* SHA-256, for payload_sha256: the trace names large payloads it does not hold. */
typedef struct tc_sha256 {
    uint32_t h[8];
    uint8_t block[64];
    size_t block_len;
    uint64_t total;
} tc_sha256;

void tc_sha256_init(tc_sha256 *s);
void tc_sha256_update(tc_sha256 *s, const uint8_t *p, size_t len);
/* Writes 64 lowercase hex digits and a NUL. */
void tc_sha256_hex(tc_sha256 *s, char out[65]);

/* One direction of one connection: bytes in, frame records (JSON objects) out. */
typedef struct tc_tap_dir {
    const char *name; /* "c2s" or "s2c": borrowed, static */
    ttrpc_decoder dec;
    ttrpc_msg_arena arena;
    uint64_t bytes;  /* bytes seen */
    uint64_t frames; /* records written */
    /* An oversized frame: the decoder reports its header and skips its data, which the tap
     * hashes and heads here until the skip ends. */
    bool oversize_open;
    ttrpc_frame_header oversize_hdr;
    uint8_t oversize_header_bytes[TTRPC_FRAME_HEADER_LEN];
    double oversize_t_ms;
    uint8_t oversize_head[TC_TAP_HEAD];
    size_t oversize_head_len;
    uint64_t oversize_seen;
    tc_sha256 oversize_sha;
} tc_tap_dir;

/* Errors: TTRPC_E_INVAL (from the decoder). */
TTRPC_MUST_USE ttrpc_err tc_tap_dir_init(tc_tap_dir *d, const char *name);
/* Feeds bytes seen at t_ms; every frame completed is appended to frames as one JSON object,
 * preceded by a comma unless it is the first of *n_records, which counts them.
 * Errors: TTRPC_E_NOMEM (frames could not grow, or the decoder's store). */
TTRPC_MUST_USE ttrpc_err tc_tap_dir_feed(tc_tap_dir *d, const uint8_t *p, size_t len,
                                         double t_ms, tc_buf *frames, size_t *n_records);
/* The connection ended: an oversized frame still being skipped is written out (with
 * "incomplete": true); *trailing gets the bytes of a frame that never completed.
 * Errors: TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err tc_tap_dir_finish(tc_tap_dir *d, tc_buf *frames, size_t *n_records,
                                           uint64_t *trailing);
void tc_tap_dir_free(tc_tap_dir *d);

/* One frame as a JSON object (TRACE.md), for a frame whose whole payload is at hand.
 * Errors: TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err tc_tap_frame_json(tc_buf *out, ttrpc_msg_arena *arena, double t_ms,
                                           const char *dir, const ttrpc_frame_header *hdr,
                                           const uint8_t *payload);

typedef struct tc_tap_conn tc_tap_conn; /* tap.c */

typedef struct tc_tap {
    char listen_path[108];
    char connect_path[108];
    int listen_fd;
    int epoll_fd;
    int wake[2]; /* a pipe: tc_tap_stop() from another thread wakes the loop */
    uint64_t t0_ns;
    tc_tap_conn **conns; /* owned; closed ones keep their records */
    size_t n_conns;
    size_t cap_conns;
    ttrpc_err failure; /* the first allocation failure: the trace is incomplete */
    pthread_t thread;
    bool thread_running;
    volatile int stop_requested;
} tc_tap;

/* Listens on listen_path (removed first if it is a stale socket) and prepares to connect to
 * connect_path. err gets the reason on failure. Errors: TTRPC_E_INVAL (a path too long),
 * TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err tc_tap_open(tc_tap *t, const char *listen_path,
                                     const char *connect_path, char *err, size_t err_cap);
/* Waits up to timeout_ms for socket events and relays what is ready.
 * Errors: TTRPC_E_IO (epoll failed), TTRPC_E_NOMEM (recorded in t->failure; relaying goes on
 * unrecorded is not attempted: the connection is dropped). */
TTRPC_MUST_USE ttrpc_err tc_tap_poll(tc_tap *t, int timeout_ms);
/* Runs tc_tap_poll on a thread until tc_tap_stop. Errors: TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err tc_tap_start(tc_tap *t);
/* Stops the thread if one runs, then ends every open connection (directions still open are
 * recorded as "open"). The trace stays readable. */
void tc_tap_stop(tc_tap *t);
/* Connections accepted so far. */
size_t tc_tap_connections(const tc_tap *t);
/* The trace object ({"schema_version":1,...}) into out. Call after tc_tap_stop.
 * Errors: TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err tc_tap_trace_json(const tc_tap *t, tc_buf *out);
/* Closes everything, removes the listening socket, frees the records. */
void tc_tap_close(tc_tap *t);

/* The `ttrpc-conform tap` command (argv[1] is "tap"). */
int tc_tap_main(int argc, char **argv);

#endif
