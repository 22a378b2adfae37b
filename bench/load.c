#include "load.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "request.h"
#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

/* A stuck peer must not hang `make bench`: calls still open this long after the window are
 * reported as an error of the point. */
#define DRAIN_LIMIT_NS (10ull * 1000000000ull)
#define INITIAL_RECV_CAP 65536u

typedef struct conn {
    int fd;
    bool want_out; /* EPOLLOUT is registered */
    bool validated;
    uint32_t stream_id;
    uint32_t response_len; /* data length of the answer seen when validated */
    uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
    size_t sent;
    uint8_t *rbuf; /* owned */
    size_t rcap;
    size_t rhave;
    uint64_t started_ns;
} conn;

typedef struct shared {
    const bench_load_config *cfg;
    bench_request req;
    uint64_t window_start_ns;
    uint64_t window_end_ns;
    atomic_bool failed;
} shared;

typedef struct worker {
    shared *sh;
    pthread_t thread;
    conn *conns; /* borrowed slice of the run's array */
    unsigned n_conns;
    uint64_t calls;
    size_t response_bytes;
    bench_hist hist;
    char error[256];
} worker;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(worker *w, const char *fmt, ...)
{
    if (w->error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->error, sizeof w->error, fmt, ap);
        va_end(ap);
    }
    atomic_store(&w->sh->failed, true);
}

static size_t send_total(const shared *sh)
{
    return (sh->cfg->raw ? 0 : TTRPC_FRAME_HEADER_LEN) + sh->req.data_len;
}

static int set_out(worker *w, int ep, conn *c, bool want)
{
    if (c->want_out == want) {
        return 0;
    }
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        fail(w, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    c->want_out = want;
    return 0;
}

/* Writes what the socket takes; header and shared data go out in one sendmsg, never copied. */
static int push(worker *w, int ep, conn *c)
{
    const shared *sh = w->sh;
    size_t total = send_total(sh);
    size_t hdr_len = sh->cfg->raw ? 0 : TTRPC_FRAME_HEADER_LEN;
    while (c->sent < total) {
        struct iovec iov[2];
        int n = 0;
        if (c->sent < hdr_len) {
            iov[n++] = (struct iovec){c->hdr + c->sent, hdr_len - c->sent};
            iov[n++] = (struct iovec){sh->req.data, sh->req.data_len};
        } else {
            size_t off = c->sent - hdr_len;
            iov[n++] = (struct iovec){sh->req.data + off, sh->req.data_len - off};
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t got = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return set_out(w, ep, c, true);
            }
            if (errno == EINTR) {
                continue;
            }
            fail(w, "send: %s", strerror(errno));
            return -1;
        }
        c->sent += (size_t)got;
    }
    return set_out(w, ep, c, false);
}

static int start_call(worker *w, int ep, conn *c)
{
    c->stream_id += 2;
    ttrpc_frame_header h = {
        .length = (uint32_t)w->sh->req.data_len,
        .stream_id = c->stream_id,
        .type = TTRPC_TYPE_REQUEST,
        .flags = 0,
    };
    ttrpc_frame_header_write(&h, c->hdr);
    c->sent = 0;
    c->started_ns = now_ns();
    return push(w, ep, c);
}

/* The first answer on a connection is decoded and compared in full; later ones must have the
 * same type, id and length (the payload does not change, so neither does a right answer). */
static int check_answer(worker *w, conn *c, const ttrpc_frame_header *h, const uint8_t *data)
{
    if (h->type != TTRPC_TYPE_RESPONSE || h->stream_id != c->stream_id) {
        fail(w, "answer type %u on stream %u, expected a Response on %u", h->type, h->stream_id,
             c->stream_id);
        return -1;
    }
    if (c->validated) {
        if (h->length != c->response_len) {
            fail(w, "answer of %u bytes after one of %u", h->length, c->response_len);
            return -1;
        }
        return 0;
    }
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_response resp;
    ttrpc_err rc = ttrpc_response_decode(data, h->length, &arena, &resp);
    int ok = -1;
    if (rc != TTRPC_OK) {
        fail(w, "Response does not decode: %s", ttrpc_strerror(rc));
    } else if (resp.status.code != TTRPC_CODE_OK) {
        fail(w, "status %d: %.*s", resp.status.code, (int)resp.status.message.len,
             (const char *)resp.status.message.data);
    } else if (resp.payload.len != w->sh->req.bytes_len ||
               (resp.payload.len != 0 &&
                memcmp(resp.payload.data, w->sh->req.bytes_msg, resp.payload.len) != 0)) {
        /* An empty Bytes may come back as `0a 00` or as nothing: both mean value = "". */
        bool both_empty = w->sh->cfg->value_len == 0 && resp.payload.len == 0;
        if (both_empty) {
            ok = 0;
        } else {
            fail(w, "echo differs from the request (%zu bytes back, %zu sent)", resp.payload.len,
                 w->sh->req.bytes_len);
        }
    } else {
        ok = 0;
    }
    ttrpc_msg_arena_reset(&arena);
    if (ok == 0) {
        c->validated = true;
        c->response_len = h->length;
    }
    return ok;
}

/* Returns 1 when the call's answer is complete, 0 when more is needed, -1 on failure. */
static int pull(worker *w, conn *c)
{
    const shared *sh = w->sh;
    for (;;) {
        /* raw: as many bytes as were sent; ttrpc: the header, then the frame it announces */
        size_t need = sh->req.data_len;
        ttrpc_frame_header h = {0};
        bool have_header = false;
        if (!sh->cfg->raw) {
            /* Once an answer's size is known, ask for all of it in one recv, as the raw mode
             * does; a different header is still caught by check_answer. */
            need = TTRPC_FRAME_HEADER_LEN + (c->validated ? c->response_len : 0);
            if (c->rhave >= TTRPC_FRAME_HEADER_LEN) {
                ttrpc_frame_header_read(c->rbuf, &h);
                if (h.length > TTRPC_FRAME_MAX_DATA) {
                    fail(w, "answer of %u data bytes", h.length);
                    return -1;
                }
                need = TTRPC_FRAME_HEADER_LEN + h.length;
                have_header = true;
            }
        }
        if (c->rhave >= need && (sh->cfg->raw || have_header)) {
            if (c->rhave > need) {
                fail(w, "%zu bytes beyond the answer", c->rhave - need);
                return -1;
            }
            if (!sh->cfg->raw && check_answer(w, c, &h, c->rbuf + TTRPC_FRAME_HEADER_LEN) != 0) {
                return -1;
            }
            c->rhave = 0;
            w->response_bytes = need;
            return 1;
        }
        if (need > c->rcap) {
            uint8_t *grown = realloc(c->rbuf, need);
            if (grown == NULL) {
                fail(w, "out of memory for a %zu-byte answer", need);
                return -1;
            }
            c->rbuf = grown;
            c->rcap = need;
        }
        /* One call in flight: the peer has nothing else to send, so reading up to `need`
         * never swallows a later answer. */
        ssize_t got = recv(c->fd, c->rbuf + c->rhave, need - c->rhave, MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            if (errno == EINTR) {
                continue;
            }
            fail(w, "recv: %s", strerror(errno));
            return -1;
        }
        if (got == 0) {
            fail(w, "the server closed the connection");
            return -1;
        }
        c->rhave += (size_t)got;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        fail(w, "epoll_create1: %s", strerror(errno));
        return NULL;
    }
    for (unsigned i = 0; i < w->n_conns; i++) {
        conn *c = &w->conns[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            fail(w, "epoll_ctl: %s", strerror(errno));
            close(ep);
            return NULL;
        }
    }
    for (unsigned i = 0; i < w->n_conns; i++) {
        if (start_call(w, ep, &w->conns[i]) != 0) {
            close(ep);
            return NULL;
        }
    }
    unsigned open_calls = w->n_conns;
    struct epoll_event evs[64];
    while (open_calls > 0 && !atomic_load(&sh->failed)) {
        int n = epoll_wait(ep, evs, 64, 100);
        if (n < 0 && errno != EINTR) {
            fail(w, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if ((evs[i].events & EPOLLOUT) && c->sent < send_total(sh)) {
                if (push(w, ep, c) != 0) {
                    break;
                }
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                continue;
            }
            int r = pull(w, c);
            if (r < 0) {
                break;
            }
            if (r == 0) {
                continue;
            }
            uint64_t t = now_ns();
            /* Completions inside the window, whenever the call started: in a closed loop
             * that is the steady-state rate, even when one call takes much of the window. */
            if (t >= sh->window_start_ns && t <= sh->window_end_ns) {
                w->calls++;
                bench_hist_record(&w->hist, t - c->started_ns);
            }
            if (t < sh->window_end_ns) {
                if (start_call(w, ep, c) != 0) {
                    break;
                }
            } else {
                open_calls--;
            }
        }
        if (open_calls > 0 && now_ns() > sh->window_end_ns + DRAIN_LIMIT_NS) {
            fail(w, "%u calls unanswered 10 s after the window", open_calls);
        }
    }
    close(ep);
    return NULL;
}

static int connect_unix(const char *path, char *err, size_t err_len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, err_len, "socket path too long");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, err_len, "connect %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static double cpu_seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int bench_load_run(const bench_load_config *cfg, bench_load_result *res)
{
    memset(res, 0, sizeof *res);
    shared sh = {.cfg = cfg};
    ttrpc_err rc = bench_request_build(cfg->value_len, &sh.req);
    if (rc != TTRPC_OK) {
        snprintf(res->error, sizeof res->error, "cannot build the Request: %s",
                 ttrpc_strerror(rc));
        return -1;
    }
    unsigned threads = cfg->threads;
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (unsigned)cpus : 1u;
    }
    if (threads > cfg->conns) {
        threads = cfg->conns;
    }
    conn *conns = calloc(cfg->conns, sizeof *conns);
    worker *workers = calloc(threads, sizeof *workers);
    int ret = -1;
    unsigned opened = 0;
    if (conns == NULL || workers == NULL) {
        snprintf(res->error, sizeof res->error, "out of memory");
        goto out;
    }
    for (; opened < cfg->conns; opened++) {
        conn *c = &conns[opened];
        c->fd = connect_unix(cfg->path, res->error, sizeof res->error);
        if (c->fd < 0) {
            goto out;
        }
        c->stream_id = UINT32_MAX; /* the first call adds 2: stream 1 */
        c->rcap = INITIAL_RECV_CAP;
        c->rbuf = malloc(c->rcap);
        if (c->rbuf == NULL) {
            snprintf(res->error, sizeof res->error, "out of memory");
            opened++;
            goto out;
        }
    }
    /* Connections are spread round-robin: worker t gets a contiguous slice of the array. */
    uint64_t t0 = now_ns();
    sh.window_start_ns = t0 + (uint64_t)(cfg->warmup_s * 1e9);
    sh.window_end_ns = sh.window_start_ns + (uint64_t)(cfg->seconds * 1e9);
    unsigned next = 0;
    unsigned started = 0;
    for (unsigned t = 0; t < threads; t++) {
        worker *w = &workers[t];
        w->sh = &sh;
        w->n_conns = cfg->conns / threads + (t < cfg->conns % threads ? 1u : 0u);
        w->conns = &conns[next];
        next += w->n_conns;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(res->error, sizeof res->error, "pthread_create failed");
            atomic_store(&sh.failed, true);
            break;
        }
        started++;
    }
    struct rusage ru0, ru1;
    sleep_until(sh.window_start_ns);
    getrusage(RUSAGE_SELF, &ru0);
    sleep_until(sh.window_end_ns);
    getrusage(RUSAGE_SELF, &ru1);
    for (unsigned t = 0; t < started; t++) {
        pthread_join(workers[t].thread, NULL);
    }
    bench_hist_reset(&res->latency_ns);
    for (unsigned t = 0; t < started; t++) {
        res->calls += workers[t].calls;
        bench_hist_merge(&res->latency_ns, &workers[t].hist);
        if (workers[t].response_bytes != 0) {
            res->response_bytes = workers[t].response_bytes;
        }
        if (res->error[0] == '\0' && workers[t].error[0] != '\0') {
            memcpy(res->error, workers[t].error, sizeof res->error);
        }
    }
    res->seconds = cfg->seconds;
    res->request_bytes = send_total(&sh);
    res->cpu_user_s = cpu_seconds(&ru1.ru_utime) - cpu_seconds(&ru0.ru_utime);
    res->cpu_sys_s = cpu_seconds(&ru1.ru_stime) - cpu_seconds(&ru0.ru_stime);
    ret = (res->error[0] == '\0' && !atomic_load(&sh.failed)) ? 0 : -1;
    if (ret != 0 && res->error[0] == '\0') {
        snprintf(res->error, sizeof res->error, "the run failed");
    }
out:
    for (unsigned i = 0; i < opened; i++) {
        close(conns[i].fd);
        free(conns[i].rbuf);
    }
    free(conns);
    free(workers);
    bench_request_free(&sh.req);
    return ret;
}
