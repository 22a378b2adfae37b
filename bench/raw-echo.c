/* raw-echo: the physical limit for the benchmarks. Reads whatever arrives on a Unix stream
 * socket and writes the same bytes back, with no framing, no parsing and no allocation per
 * call: what is left of a ttrpc server once the protocol is taken away. Worker threads each
 * run an epoll loop; the main thread accepts and hands connections out round-robin. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PROG "raw-echo"
/* A read never returns more than the socket buffer holds; this covers it comfortably. */
#define BUF_SIZE (256u * 1024u)

typedef struct echo_conn {
    int fd;
    size_t have; /* bytes read and not yet written back */
    size_t off;  /* bytes of them already written */
    bool out;    /* registered for EPOLLOUT instead of EPOLLIN */
    uint8_t buf[BUF_SIZE];
} echo_conn;

typedef struct echo_worker {
    pthread_t thread;
    int ep;
} echo_worker;

static void conn_close(echo_conn *c)
{
    close(c->fd);
    free(c);
}

/* Switches the interest only on a change: one epoll_ctl per call would tax the baseline. */
static bool conn_want_out(int ep, echo_conn *c, bool out)
{
    if (c->out == out) {
        return true;
    }
    c->out = out;
    struct epoll_event ev = {.events = out ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* Returns false when the connection is finished (closed by the peer or broken). */
static bool conn_step(int ep, echo_conn *c)
{
    for (;;) {
        while (c->off < c->have) {
            ssize_t n = send(c->fd, c->buf + c->off, c->have - c->off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    /* Stop reading until the client drains: this is the echo's only queue. */
                    return conn_want_out(ep, c, true);
                }
                return false;
            }
            c->off += (size_t)n;
        }
        c->have = c->off = 0;
        ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return conn_want_out(ep, c, false);
            }
            return false;
        }
        if (n == 0) {
            return false;
        }
        c->have = (size_t)n;
    }
}

static void *worker_main(void *arg)
{
    echo_worker *w = arg;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(w->ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            echo_conn *c = evs[i].data.ptr;
            if (!conn_step(w->ep, c)) {
                conn_close(c);
            }
        }
    }
    return NULL;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, PROG ": socket path too long\n");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror(PROG ": socket");
        return -1;
    }
    unlink(path);
    if (bind(fd, (const struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
        perror(PROG ": bind/listen");
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'l' && strncmp(optarg, "unix:", 5) == 0) {
            path = optarg + 5;
        } else if (o == 't') {
            threads = strtol(optarg, NULL, 10);
        } else {
            fprintf(o == 'h' ? stdout : stderr,
                    "usage: " PROG " --listen unix:PATH [--threads N]\n"
                    "Echoes every byte back on each connection, unframed; N epoll threads\n"
                    "(default: online CPUs). Prints \"ready\" once listening; runs until\n"
                    "killed.\n");
            return o == 'h' ? 0 : 2;
        }
    }
    if (path == NULL || threads < 1) {
        fprintf(stderr, "usage: " PROG " --listen unix:PATH [--threads N]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_unix(path);
    if (lfd < 0) {
        return 2;
    }
    echo_worker *workers = calloc((size_t)threads, sizeof *workers);
    if (workers == NULL) {
        return 1;
    }
    for (long t = 0; t < threads; t++) {
        workers[t].ep = epoll_create1(EPOLL_CLOEXEC);
        if (workers[t].ep < 0 ||
            pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0) {
            fprintf(stderr, PROG ": cannot start worker threads\n");
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    for (unsigned long next = 0;; next++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            perror(PROG ": accept");
            return 1;
        }
        echo_conn *c = malloc(sizeof *c);
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->have = c->off = 0;
        c->out = false;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(workers[next % (unsigned long)threads].ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            conn_close(c);
        }
    }
}
