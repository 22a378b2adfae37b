#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

/* A writer that makes no progress for this long while we do not read is stalled on purpose by
 * the peer (it stopped reading because we did not): reading resumes (notes 3.6). */
#define TC_WRITE_STALL_MS 300u
#define TC_LOG_MAX_LINES 400u
#define TC_LOG_HEX 48u

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint32_t tc_case_timeout_ms(const tc_case *c, double scale)
{
    double ms = (double)(c->timeout_ms != 0 ? c->timeout_ms : TC_DEFAULT_TIMEOUT_MS) * scale;
    if (ms < 1) {
        return 1;
    }
    return ms > 3600000.0 ? 3600000u : (uint32_t)ms;
}

typedef struct conn {
    int fd;
    bool reading;
    tc_case_run *run;
    const tc_case *c;
    ttrpc_decoder dec;
    tc_buf out;
    size_t out_off;
    uint64_t start;
    uint64_t deadline;
    uint64_t last_progress;
    size_t log_lines;
    bool nomem;
} conn;

static void log_line(conn *k, const char *fmt, const char *dir, const uint8_t *hex,
                     size_t hex_len, size_t total)
{
    tc_buf *b = &k->run->log;
    if (k->log_lines == TC_LOG_MAX_LINES) {
        if (tc_buf_printf(b, "... (log truncated after %u lines)\n", TC_LOG_MAX_LINES) !=
            TTRPC_OK) {
            k->nomem = true;
        }
    }
    if (k->log_lines++ >= TC_LOG_MAX_LINES) {
        return;
    }
    ttrpc_err rc = tc_buf_printf(b, "%6llu ms %s %s", (unsigned long long)(now_ms() - k->start),
                                 dir, fmt);
    if (rc == TTRPC_OK && hex_len > 0) {
        rc = tc_buf_printf(b, " |");
        size_t n = hex_len < TC_LOG_HEX ? hex_len : TC_LOG_HEX;
        for (size_t i = 0; i < n && rc == TTRPC_OK; i++) {
            rc = tc_buf_printf(b, " %02x", hex[i]);
        }
        if (rc == TTRPC_OK && total > n) {
            rc = tc_buf_printf(b, " ... (%zu bytes)", total);
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(b, "\n");
    }
    if (rc != TTRPC_OK) {
        k->nomem = true;
    }
}

static const char *type_name(uint8_t t)
{
    switch (t) {
    case TTRPC_TYPE_REQUEST:
        return "Request";
    case TTRPC_TYPE_RESPONSE:
        return "Response";
    case TTRPC_TYPE_DATA:
        return "Data";
    default:
        return "type?";
    }
}

static void record_frame(conn *k, const ttrpc_frame_header *h, const uint8_t *data,
                         bool oversize)
{
    if (tc_obs_add(&k->run->obs, h, data, oversize) != TTRPC_OK) {
        k->nomem = true;
        return;
    }
    tc_wire_frame(&k->run->wire, TC_WIRE_RECEIVED, h, data, oversize);
    const tc_rx_frame *f = &k->run->obs.frames[k->run->obs.n_frames - 1];
    char what[200];
    int n = snprintf(what, sizeof what, "len=%u id=%u %s(0x%02x) flags=0x%02x",
                     (unsigned)h->length, (unsigned)h->stream_id, type_name(h->type), h->type,
                     h->flags);
    if (oversize) {
        (void)snprintf(what + n, sizeof what - (size_t)n, " oversize: data skipped");
    } else if (h->type == TTRPC_TYPE_RESPONSE) {
        if (f->decoded) {
            const char *name = ttrpc_code_name(f->code);
            (void)snprintf(what + n, sizeof what - (size_t)n, " status=%d%s%s payload=%u bytes",
                           (int)f->code, name ? " " : "", name ? name : "",
                           (unsigned)f->payload_len);
        } else {
            (void)snprintf(what + n, sizeof what - (size_t)n, " (Response does not decode)");
        }
    }
    log_line(k, what, "<", data, oversize ? 0 : h->length, h->length);
}

static void take_input(conn *k, const uint8_t *p, size_t len)
{
    while (len > 0 && !k->nomem) {
        size_t used = 0;
        ttrpc_err rc = ttrpc_decoder_feed(&k->dec, p, len, &used);
        if (rc != TTRPC_OK) {
            k->nomem = true;
            return;
        }
        p += used;
        len -= used;
        for (;;) {
            ttrpc_frame f;
            rc = ttrpc_decoder_next(&k->dec, &f);
            if (rc == TTRPC_OK) {
                record_frame(k, &f.hdr, f.data, false);
            } else if (rc == TTRPC_E_TOO_LARGE) {
                record_frame(k, &f.hdr, NULL, true);
            } else {
                break;
            }
        }
    }
}

static void mark_closed(conn *k, const char *why)
{
    if (!k->run->obs.closed) {
        k->run->obs.closed = true;
        log_line(k, why, "<", NULL, 0, 0);
        tc_wire_event(&k->run->wire, "peer-closed", why);
    }
    k->out_off = k->out.len; /* nothing more can be written */
    k->reading = false;
}

typedef bool (*done_fn)(conn *k, const void *arg);

/* Drives the socket until done(), until `until` (a time), the case deadline, or the
 * connection's end. */
static void pump(conn *k, done_fn done, const void *arg, uint64_t until)
{
    uint8_t buf[65536];
    for (;;) {
        if (k->nomem || (done != NULL && done(k, arg))) {
            return;
        }
        uint64_t t = now_ms();
        if (t >= k->deadline) {
            k->run->timed_out = true;
            return;
        }
        if (t >= until || k->fd < 0 || k->run->obs.closed) {
            return;
        }
        bool pending = k->out_off < k->out.len;
        if (!k->reading && pending && t - k->last_progress >= TC_WRITE_STALL_MS) {
            log_line(k, "writes stalled while not reading: reading again", "=", NULL, 0, 0);
            tc_wire_event(&k->run->wire, "read", "writes stalled while not reading");
            k->reading = true;
        }
        struct pollfd pfd = {k->fd, (short)((k->reading ? POLLIN : 0) | (pending ? POLLOUT : 0)),
                             0};
        uint64_t limit = until < k->deadline ? until : k->deadline;
        uint64_t wait = limit - t;
        if (wait > 50) {
            wait = 50;
        }
        int r = poll(&pfd, 1, (int)wait);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            mark_closed(k, "poll failed");
            return;
        }
        if (r == 0) {
            continue;
        }
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0 && k->reading) {
            ssize_t n = recv(k->fd, buf, sizeof buf, 0);
            if (n > 0) {
                take_input(k, buf, (size_t)n);
            } else if (n == 0) {
                mark_closed(k, "EOF: the peer closed the connection");
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                mark_closed(k, errno == ECONNRESET ? "connection reset by the peer"
                                                   : "read error");
            }
        } else if ((pfd.revents & (POLLHUP | POLLERR)) != 0 && !pending) {
            mark_closed(k, "the peer closed the connection (hangup)");
        }
        if ((pfd.revents & POLLOUT) != 0 && k->out_off < k->out.len) {
            ssize_t n = send(k->fd, k->out.p + k->out_off, k->out.len - k->out_off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                k->out_off += (size_t)n;
                k->last_progress = now_ms();
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                /* EPIPE or a reset: the peer is gone; what it sent before still counts. */
                k->out_off = k->out.len;
                if (k->reading || !k->run->obs.closed) {
                    /* drain whatever is left to read */
                    for (;;) {
                        ssize_t m = recv(k->fd, buf, sizeof buf, MSG_DONTWAIT);
                        if (m <= 0) {
                            break;
                        }
                        take_input(k, buf, (size_t)m);
                    }
                }
                mark_closed(k, "write failed: the peer closed the connection");
            }
        }
        if (k->out_off == k->out.len && k->out.len > 0) {
            k->out.len = 0;
            k->out_off = 0;
        }
    }
}

static bool flushed(conn *k, const void *arg)
{
    (void)arg;
    return k->out_off >= k->out.len;
}

typedef struct await_arg {
    uint32_t id;
    uint64_t count;
    bool data;
} await_arg;

static bool awaited(conn *k, const void *arg)
{
    const await_arg *a = arg;
    uint32_t have = a->data ? tc_obs_data_messages(&k->run->obs, a->id)
                            : tc_obs_terminals(&k->run->obs, a->id);
    return have >= a->count;
}

static bool case_settled(conn *k, const void *arg)
{
    (void)arg;
    const tc_obs *o = &k->run->obs;
    if (tc_pred_eval(&k->c->pass, o)) {
        return true;
    }
    return tc_pred_settled(&k->c->pass, o) &&
           (!k->c->has_lenient || tc_pred_settled(&k->c->lenient, o));
}

static const char *op_name(tc_op_kind kind)
{
    switch (kind) {
    case TC_OP_REQUEST:
        return "Request";
    case TC_OP_DATA:
        return "Data";
    case TC_OP_FRAME:
        return "frame";
    case TC_OP_HEADER:
        return "header";
    case TC_OP_ZEROS:
        return "zeros";
    default:
        return "op";
    }
}

static void log_sent(conn *k, const tc_op *op, const uint8_t *bytes, size_t len)
{
    char what[240];
    int n = snprintf(what, sizeof what, "%s id=%u", op_name(op->kind), (unsigned)op->id);
    if (op->kind == TC_OP_REQUEST) {
        n += snprintf(what + n, sizeof what - (size_t)n, " %s/%s flags=0x%02x",
                      op->service != NULL ? op->service : TC_SERVICE,
                      op->method != NULL ? op->method : "", op->flags);
        if (op->repeat > 1) {
            n += snprintf(what + n, sizeof what - (size_t)n, " x%u", (unsigned)op->repeat);
        }
        if (op->timeout_nano != 0) {
            n += snprintf(what + n, sizeof what - (size_t)n, " timeout_nano=%lld",
                          (long long)op->timeout_nano);
        }
    } else if (op->kind == TC_OP_ZEROS) {
        n = snprintf(what, sizeof what, "%llu zero bytes", (unsigned long long)op->count);
    } else if (op->kind == TC_OP_HEADER) {
        n += snprintf(what + n, sizeof what - (size_t)n, " type=0x%02x flags=0x%02x length=%u%s",
                      op->type, op->flags, (unsigned)op->length,
                      op->cut > 0 ? " (cut short)" : "");
    } else {
        n += snprintf(what + n, sizeof what - (size_t)n, " type=0x%02x flags=0x%02x",
                      op->kind == TC_OP_DATA ? TTRPC_TYPE_DATA : op->type, op->flags);
    }
    if (op->chunk > 0 && n > 0 && (size_t)n < sizeof what) {
        (void)snprintf(what + n, sizeof what - (size_t)n, " in %u-byte writes", op->chunk);
    }
    log_line(k, what, ">", bytes, len, len);
    if (op->kind == TC_OP_ZEROS) {
        tc_wire_raw(&k->run->wire, TC_WIRE_SENT, bytes, len, what);
    } else {
        tc_wire_bytes(&k->run->wire, TC_WIRE_SENT, bytes, len);
    }
}

static ttrpc_err connect_unix(const char *path, int *fd_out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        return TTRPC_E_INVAL;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return TTRPC_E_IO;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return TTRPC_E_IO;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    *fd_out = fd;
    return TTRPC_OK;
}

static void set_error(tc_case_run *r, const char *what)
{
    r->harness_error = true;
    (void)snprintf(r->error, sizeof r->error, "%s", what);
}

/* Places the op's frames in the timeline (tc_obs_after_end). ZEROS carry no id. */
static ttrpc_err note_sent(conn *k, const tc_op *op)
{
    bool request = op->kind == TC_OP_REQUEST ||
                   ((op->kind == TC_OP_FRAME || op->kind == TC_OP_HEADER) &&
                    op->type == TTRPC_TYPE_REQUEST);
    uint32_t n = op->kind == TC_OP_REQUEST && op->repeat > 1 ? op->repeat : 1;
    ttrpc_err rc = TTRPC_OK;
    for (uint32_t i = 0; i < n && rc == TTRPC_OK && op->kind != TC_OP_ZEROS; i++) {
        rc = tc_obs_note_sent(&k->run->obs, op->id + 2 * i, request);
    }
    return rc;
}

/* Queues one sending op and writes it out (in chunks when asked). */
static ttrpc_err play_send(conn *k, const tc_op *op)
{
    tc_buf bytes = {0};
    ttrpc_err rc = tc_op_encode(op, &bytes);
    if (rc != TTRPC_OK) {
        tc_buf_free(&bytes);
        return rc;
    }
    log_sent(k, op, bytes.p, bytes.len);
    rc = note_sent(k, op);
    if (rc != TTRPC_OK) {
        tc_buf_free(&bytes);
        return rc;
    }
    if (op->chunk == 0) {
        rc = tc_buf_append(&k->out, bytes.p, bytes.len);
        tc_buf_free(&bytes);
        return rc;
    }
    pump(k, flushed, NULL, UINT64_MAX);
    for (size_t off = 0; off < bytes.len && rc == TTRPC_OK; off += op->chunk) {
        size_t n = bytes.len - off < op->chunk ? bytes.len - off : op->chunk;
        rc = tc_buf_append(&k->out, bytes.p + off, n);
        if (rc == TTRPC_OK) {
            k->last_progress = now_ms();
            pump(k, flushed, NULL, UINT64_MAX);
            if (op->ms > 0) {
                pump(k, NULL, NULL, now_ms() + op->ms);
            }
        }
    }
    tc_buf_free(&bytes);
    return rc;
}

ttrpc_err tc_run_case(const tc_case *c, const char *sock_path, double scale, tc_case_run *out)
{
    conn k = {.fd = -1, .reading = true, .run = out, .c = c};
    k.start = now_ms();
    k.deadline = k.start + tc_case_timeout_ms(c, scale);
    k.last_progress = k.start;
    tc_wire_start(&out->wire);
    if (ttrpc_decoder_init(&k.dec, TTRPC_FRAME_MAX_DATA, NULL) != TTRPC_OK) {
        set_error(out, "decoder init failed");
        return TTRPC_E_NOMEM;
    }
    ttrpc_err rc = connect_unix(sock_path, &k.fd);
    if (rc != TTRPC_OK) {
        char msg[200];
        (void)snprintf(msg, sizeof msg, "cannot connect to %s: %s", sock_path,
                       rc == TTRPC_E_IO ? strerror(errno) : "path too long");
        set_error(out, msg);
        tc_wire_event(&out->wire, "connect-failed", msg);
        ttrpc_decoder_free(&k.dec);
        return TTRPC_E_IO;
    }
    tc_wire_event(&out->wire, "connect", sock_path);
    for (size_t i = 0; i < TC_MAX_OPS && c->script[i].kind != TC_OP_END && rc == TTRPC_OK; i++) {
        const tc_op *op = &c->script[i];
        if (out->obs.closed || out->timed_out) {
            break;
        }
        switch (op->kind) {
        case TC_OP_REQUEST:
        case TC_OP_DATA:
        case TC_OP_FRAME:
        case TC_OP_HEADER:
        case TC_OP_ZEROS:
            rc = play_send(&k, op);
            break;
        case TC_OP_PAUSE:
            pump(&k, flushed, NULL, UINT64_MAX);
            pump(&k, NULL, NULL, now_ms() + op->ms);
            break;
        case TC_OP_AWAIT:
        case TC_OP_AWAIT_DATA: {
            await_arg a = {op->id, op->count == 0 ? 1 : op->count, op->kind == TC_OP_AWAIT_DATA};
            pump(&k, flushed, NULL, UINT64_MAX);
            pump(&k, awaited, &a, UINT64_MAX);
            break;
        }
        case TC_OP_NOREAD:
            pump(&k, flushed, NULL, UINT64_MAX);
            k.reading = false;
            k.last_progress = now_ms();
            log_line(&k, "stop reading", "=", NULL, 0, 0);
            tc_wire_event(&out->wire, "noread", "the harness stops reading");
            break;
        case TC_OP_READ:
            k.reading = !out->obs.closed;
            log_line(&k, "read again", "=", NULL, 0, 0);
            tc_wire_event(&out->wire, "read", "the harness reads again");
            break;
        case TC_OP_CLOSE:
            pump(&k, flushed, NULL, UINT64_MAX);
            close(k.fd);
            k.fd = -1;
            out->obs.we_closed = true;
            log_line(&k, "we close the connection", ">", NULL, 0, 0);
            tc_wire_event(&out->wire, "close", "the harness closes the connection");
            break;
        case TC_OP_END:
            break;
        }
    }
    if (rc != TTRPC_OK) {
        set_error(out, "cannot encode a script op");
    }
    uint32_t probe = tc_case_probe_id(c);
    if (rc == TTRPC_OK && probe != 0 && k.fd >= 0 && !out->obs.closed) {
        tc_buf bytes = {0};
        rc = tc_echo_frame(probe, "probe", &bytes);
        if (rc == TTRPC_OK) {
            out->obs.probe_id = probe;
            tc_op op = TC_ECHO(probe, "probe");
            log_sent(&k, &op, bytes.p, bytes.len);
            rc = note_sent(&k, &op);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_append(&k.out, bytes.p, bytes.len);
        }
        tc_buf_free(&bytes);
    }
    if (rc == TTRPC_OK && k.fd >= 0) {
        k.reading = !out->obs.closed;
        pump(&k, case_settled, NULL, UINT64_MAX);
    }
    if (k.nomem) {
        set_error(out, "out of memory");
        rc = TTRPC_E_NOMEM;
    }
    if (out->timed_out) {
        log_line(&k, "case deadline passed", "=", NULL, 0, 0);
        tc_wire_event(&out->wire, "deadline", "the case deadline passed");
    }
    if (k.fd >= 0) {
        close(k.fd);
        tc_wire_event(&out->wire, "close", "the harness closes the connection: case over");
    }
    tc_buf_free(&k.out);
    ttrpc_decoder_free(&k.dec);
    out->elapsed_ms = now_ms() - k.start;
    return rc;
}

void tc_case_judge(const tc_case *c, tc_case_run *r)
{
    r->pass = tc_pred_eval(&c->pass, &r->obs);
    r->lenient = c->has_lenient && tc_pred_eval(&c->lenient, &r->obs);
    /* Whatever a case asks, nothing may follow a stream's end (expect.h): that fails both
     * expectations, so a MUST case FAILs, a SHOULD case is NON-STRICT. */
    if (tc_obs_after_end(&r->obs, NULL) > 0) {
        r->pass = false;
        r->lenient = false;
    }
}

void tc_case_run_free(tc_case_run *r)
{
    tc_obs_free(&r->obs);
    tc_buf_free(&r->log);
}

bool tc_probe_echo(const char *sock_path, int timeout_ms)
{
    static const tc_case probe_case = {
        .id = "harness/probe/echo",
        .script = {TC_ECHO(1, "alive?"), TC_END},
        .pass = TC_RESP_OK(1), /* any OK answer: a peer that garbles payloads still lives */
    };
    tc_case c = probe_case;
    c.timeout_ms = (uint32_t)(timeout_ms > 0 ? timeout_ms : 1);
    tc_case_run r = {0};
    ttrpc_err rc = tc_run_case(&c, sock_path, 1.0, &r);
    bool ok = rc == TTRPC_OK && tc_pred_eval(&c.pass, &r.obs);
    tc_case_run_free(&r);
    return ok;
}
