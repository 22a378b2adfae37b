#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static ttrpc_err set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return TTRPC_E_IO;
    }
    return TTRPC_OK;
}

/* close(2) without losing the errno of the failure being reported. */
static void close_keep_errno(int fd)
{
    int saved = errno;
    (void)close(fd);
    errno = saved;
}

ttrpc_err ttrpc_conn_init(ttrpc_conn *c, int fd, const ttrpc_session_config *cfg)
{
    *c = (ttrpc_conn){.fd = -1};
    if (set_nonblocking(fd) != TTRPC_OK) {
        return TTRPC_E_IO;
    }
    ttrpc_err rc = ttrpc_session_new(cfg, &c->session);
    if (rc != TTRPC_OK) {
        return rc;
    }
    c->fd = fd;
    return TTRPC_OK;
}

void ttrpc_conn_close_socket(ttrpc_conn *c)
{
    if (c->fd >= 0) {
        (void)close(c->fd);
        c->fd = -1;
    }
}

void ttrpc_conn_destroy(ttrpc_conn *c)
{
    ttrpc_conn_close_socket(c);
    if (c->session != NULL) {
        ttrpc_session_free(c->session);
        c->session = NULL;
    }
    free(c->in);
    c->in = NULL;
    c->in_off = c->in_len = 0;
}

bool ttrpc_conn_has_input(const ttrpc_conn *c)
{
    return c->in_off < c->in_len;
}

static ttrpc_err conn_read_error(ssize_t n)
{
    if (n == 0) {
        return TTRPC_E_CLOSED;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return TTRPC_E_AGAIN;
    }
    if (errno == ECONNRESET) {
        return TTRPC_E_CLOSED;
    }
    return TTRPC_E_IO;
}

static ttrpc_err conn_read_into(ttrpc_conn *c, uint8_t *window, size_t cap)
{
    for (;;) {
        ssize_t n = read(c->fd, window, cap);
        if (n > 0) {
            c->last_read_short = (size_t)n < cap;
            return ttrpc_session_input_commit(c->session, (size_t)n);
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return conn_read_error(n);
    }
}

ttrpc_err ttrpc_conn_read(ttrpc_conn *c)
{
    if (ttrpc_conn_has_input(c)) {
        return TTRPC_E_INVAL;
    }
    /* The bulk of a large frame goes from the socket straight into the decoder; the tail of a
     * frame and small frames go through the chunk, so one read can still take several. */
    uint8_t *window = NULL;
    size_t window_cap = 0;
    ttrpc_err wrc = ttrpc_session_input_window(c->session, &window, &window_cap);
    if (wrc != TTRPC_OK) {
        return wrc;
    }
    if (window_cap >= TTRPC_CONN_READ_CHUNK) {
        return conn_read_into(c, window, window_cap);
    }
    if (c->in == NULL) {
        c->in = malloc(TTRPC_CONN_READ_CHUNK);
        if (c->in == NULL) {
            return TTRPC_E_NOMEM;
        }
    }
    for (;;) {
        ssize_t n = read(c->fd, c->in, TTRPC_CONN_READ_CHUNK);
        if (n > 0) {
            c->in_off = 0;
            c->in_len = (size_t)n;
            c->last_read_short = (size_t)n < TTRPC_CONN_READ_CHUNK;
            return TTRPC_OK;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        /* Nothing buffered: give the chunk back so idle connections hold no input memory. */
        free(c->in);
        c->in = NULL;
        c->in_off = c->in_len = 0;
        return conn_read_error(n);
    }
}

ttrpc_err ttrpc_conn_feed(ttrpc_conn *c, size_t *taken)
{
    *taken = 0;
    if (!ttrpc_conn_has_input(c)) {
        return TTRPC_OK;
    }
    size_t used = 0;
    ttrpc_err rc = ttrpc_session_feed(c->session, c->in + c->in_off, c->in_len - c->in_off, &used);
    c->in_off += used;
    *taken = used;
    if (!ttrpc_conn_has_input(c)) {
        free(c->in);
        c->in = NULL;
        c->in_off = c->in_len = 0;
    }
    return rc;
}

ttrpc_err ttrpc_conn_flush(ttrpc_conn *c)
{
    for (;;) {
        const uint8_t *out = NULL;
        size_t len = 0;
        ttrpc_session_output(c->session, &out, &len);
        if (len == 0) {
            return TTRPC_OK;
        }
        if (c->fd < 0) {
            return TTRPC_E_CLOSED;
        }
        /* MSG_NOSIGNAL: a peer that hung up must cost us an error code, not the process. */
        ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            ttrpc_session_output_consumed(c->session, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return TTRPC_E_AGAIN;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            return TTRPC_E_CLOSED;
        }
        return TTRPC_E_IO;
    }
}

bool ttrpc_conn_output_pending(const ttrpc_conn *c)
{
    const uint8_t *out = NULL;
    size_t len = 0;
    ttrpc_session_output(c->session, &out, &len);
    return len > 0;
}

size_t ttrpc_conn_memory(const ttrpc_conn *c)
{
    size_t total = c->in != NULL ? TTRPC_CONN_READ_CHUNK : 0;
    if (c->session != NULL) {
        total += ttrpc_session_memory(c->session);
    }
    return total;
}

/* ---- socket setup ---- */

static ttrpc_err fill_addr(const char *path, struct sockaddr_un *addr)
{
    size_t len = path != NULL ? strlen(path) : 0;
    /* sun_path needs room for the terminating NUL: 107 bytes of path on Linux. */
    if (len == 0 || len >= sizeof addr->sun_path) {
        return TTRPC_E_INVAL;
    }
    *addr = (struct sockaddr_un){.sun_family = AF_UNIX};
    memcpy(addr->sun_path, path, len + 1);
    return TTRPC_OK;
}

bool ttrpc_unix_is_socket_file(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* A socket file is stale when connecting to it is refused: its listener is gone. */
static bool socket_file_is_stale(const struct sockaddr_un *addr)
{
    if (!ttrpc_unix_is_socket_file(addr->sun_path)) {
        return false;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        return false;
    }
    int rc = connect(probe, (const struct sockaddr *)addr, sizeof *addr);
    int err = errno;
    (void)close(probe);
    return rc != 0 && err == ECONNREFUSED;
}

ttrpc_err ttrpc_unix_listen(const char *path, int *fd_out)
{
    struct sockaddr_un addr;
    ttrpc_err rc = fill_addr(path, &addr);
    if (rc != TTRPC_OK) {
        return rc;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return TTRPC_E_IO;
    }
    if (bind(fd, (const struct sockaddr *)&addr, sizeof addr) != 0) {
        int bind_errno = errno;
        /* Only a socket file nobody accepts on is ours to replace; anything else (a live
         * server, a regular file) is reported as the address being in use. */
        bool retried = bind_errno == EADDRINUSE && socket_file_is_stale(&addr) &&
                       unlink(path) == 0 &&
                       bind(fd, (const struct sockaddr *)&addr, sizeof addr) == 0;
        if (!retried) {
            (void)close(fd);
            errno = bind_errno;
            return TTRPC_E_IO;
        }
    }
    if (listen(fd, SOMAXCONN) != 0) {
        close_keep_errno(fd);
        return TTRPC_E_IO;
    }
    *fd_out = fd;
    return TTRPC_OK;
}

ttrpc_err ttrpc_unix_connect(const char *path, int *fd_out)
{
    struct sockaddr_un addr;
    ttrpc_err rc = fill_addr(path, &addr);
    if (rc != TTRPC_OK) {
        return rc;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return TTRPC_E_IO;
    }
    /* Blocking connect: on a Unix socket it completes at once or fails (a full backlog
     * blocks until the server accepts, which is what a caller of connect expects). */
    int r;
    do {
        r = connect(fd, (const struct sockaddr *)&addr, sizeof addr);
    } while (r != 0 && errno == EINTR);
    if (r != 0 || set_nonblocking(fd) != TTRPC_OK) {
        close_keep_errno(fd);
        return TTRPC_E_IO;
    }
    *fd_out = fd;
    return TTRPC_OK;
}

ttrpc_err ttrpc_unix_accept(int listen_fd, int *fd_out)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            *fd_out = fd;
            return TTRPC_OK;
        }
        if (errno == EINTR) {
            continue;
        }
        /* ECONNABORTED: the client left before we took it; nothing to do. */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) {
            return TTRPC_E_AGAIN;
        }
        return TTRPC_E_IO;
    }
}

ttrpc_err ttrpc_unix_check_listener(int fd)
{
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &len) != 0) {
        return errno == ENOTSOCK || errno == EBADF ? TTRPC_E_INVAL : TTRPC_E_IO;
    }
    if (value != AF_UNIX) {
        return TTRPC_E_INVAL;
    }
    len = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) != 0 || value != SOCK_STREAM) {
        return TTRPC_E_INVAL;
    }
    len = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0 || value == 0) {
        return TTRPC_E_INVAL;
    }
    if (set_nonblocking(fd) != TTRPC_OK) {
        return TTRPC_E_IO;
    }
    return TTRPC_OK;
}

ttrpc_err ttrpc_unix_peer_cred(int fd, pid_t *pid, uid_t *uid, gid_t *gid)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
        return TTRPC_E_IO;
    }
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return TTRPC_OK;
}
