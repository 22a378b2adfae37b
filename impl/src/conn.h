/* Sockets: Unix socket setup, and the byte pump between one connected, non-blocking socket and
 * its ttrpc_session. Internal to the library; the only code that calls read, send, accept and
 * connect. The server and the client decide when to pump; this file decides how.
 *
 * Why an input buffer at all: ttrpc_session_feed may take fewer bytes than were read (it holds
 * one frame at a time and pauses while its output is over max_output), and bytes read from a
 * socket cannot be put back. The buffer exists only while it holds such bytes, so an idle
 * connection costs no input memory. */
#ifndef TTRPC_CONN_H
#define TTRPC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ttrpc/err.h"
#include "ttrpc/session.h"

/* Bytes asked of read(2) at a time. */
#define TTRPC_CONN_READ_CHUNK 65536u

typedef struct ttrpc_conn {
    int fd;                 /* owned; -1 once closed */
    ttrpc_session *session; /* owned */
    uint8_t *in;            /* owned; NULL when no input is buffered */
    size_t in_off;
    size_t in_len;
    bool last_read_short; /* the last read returned less than a chunk: likely drained */
} ttrpc_conn;

/* Takes ownership of fd (made non-blocking here) and creates the session. On error fd is
 * still the caller's. Errors: TTRPC_E_IO (fcntl), and those of ttrpc_session_new. */
TTRPC_MUST_USE ttrpc_err ttrpc_conn_init(ttrpc_conn *c, int fd, const ttrpc_session_config *cfg);
/* Closes the socket and frees the session and buffer. Safe on a zeroed struct with fd -1. */
void ttrpc_conn_destroy(ttrpc_conn *c);
/* Closes only the socket (the session and its events stay readable). */
void ttrpc_conn_close_socket(ttrpc_conn *c);

/* Reads once, only when no input is buffered. TTRPC_OK: bytes are buffered, or went straight
 * into the session (the bulk of a large frame: ttrpc_session_input_window). TTRPC_E_AGAIN:
 * nothing to read now. TTRPC_E_CLOSED: the peer closed (EOF, ECONNRESET). TTRPC_E_IO: other
 * socket error (errno tells). TTRPC_E_INVAL: input is already buffered. TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_conn_read(ttrpc_conn *c);
/* Hands buffered input to the session and sets *taken (0 when the session pauses input or
 * holds a frame waiting to be pulled). Errors: those of ttrpc_session_feed. */
TTRPC_MUST_USE ttrpc_err ttrpc_conn_feed(ttrpc_conn *c, size_t *taken);
bool ttrpc_conn_has_input(const ttrpc_conn *c);

/* Writes queued session output until it is gone or the socket is full. TTRPC_OK: nothing is
 * left. TTRPC_E_AGAIN: the rest waits for EPOLLOUT/POLLOUT. TTRPC_E_CLOSED: the peer is gone
 * (EPIPE, ECONNRESET). TTRPC_E_IO: other error. Never raises SIGPIPE. */
TTRPC_MUST_USE ttrpc_err ttrpc_conn_flush(ttrpc_conn *c);
bool ttrpc_conn_output_pending(const ttrpc_conn *c);

/* Heap bytes held: session plus input buffer. */
size_t ttrpc_conn_memory(const ttrpc_conn *c);

/* ---- socket setup ---- */

/* Creates a listening, non-blocking, close-on-exec Unix stream socket at path. A socket file
 * left by a dead process (nothing accepts on it) is unlinked first; a live one is not touched.
 * Errors: TTRPC_E_INVAL (path empty or too long for sun_path), TTRPC_E_IO (errno tells:
 * EADDRINUSE when a server is listening there or the path is not a socket). */
TTRPC_MUST_USE ttrpc_err ttrpc_unix_listen(const char *path, int *fd_out);

/* Connects to path and returns a non-blocking, close-on-exec socket.
 * Errors: TTRPC_E_INVAL (path empty or too long), TTRPC_E_IO (errno tells). */
TTRPC_MUST_USE ttrpc_err ttrpc_unix_connect(const char *path, int *fd_out);

/* Accepts one connection as a non-blocking, close-on-exec socket. TTRPC_E_AGAIN: none
 * waiting (or it went away before accept). TTRPC_E_IO: errno tells (EMFILE...). */
TTRPC_MUST_USE ttrpc_err ttrpc_unix_accept(int listen_fd, int *fd_out);

/* Checks that fd is a listening Unix stream socket and makes it non-blocking.
 * Errors: TTRPC_E_INVAL (another kind of descriptor), TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err ttrpc_unix_check_listener(int fd);

/* The peer's process credentials as the kernel recorded them at connect (SO_PEERCRED).
 * Errors: TTRPC_E_IO. */
TTRPC_MUST_USE ttrpc_err ttrpc_unix_peer_cred(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/* True when path names a socket file (lstat), for cleaning up what we created. */
bool ttrpc_unix_is_socket_file(const char *path);

#endif
