/* Plays one client-role case (client_case.h): a listening socket, the client process, the
 * scripted answers, and what the client printed. One poll() loop drives everything: accepts,
 * reads from every connection, writes the script, the client's stdout and stderr, and the
 * case deadline. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client_case.h"
#include "runner.h"
#include "template.h"
#include "ttrpc/msg.h"

#define CC_MAX_CONNS 8
/* The wire log is best effort: a line lost to a failed allocation changes no verdict. */
#define LOG(...)                                      \
    do {                                              \
        if (tc_buf_printf(__VA_ARGS__) != TTRPC_OK) { \
        }                                             \
    } while (0)
/* A new wire-log line, stamped with the ms since the client was started (g_log_t0). */
static uint64_t g_log_t0;
#define LOGT(b, ...)                                                                 \
    do {                                                                             \
        LOG((b), "%6llu ms", (unsigned long long)(now_ms() - g_log_t0));             \
        LOG((b), __VA_ARGS__);                                                       \
    } while (0)
#define CC_STDOUT_CAP 65536u

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *cc_scenario_name(cc_scenario s)
{
    switch (s) {
    case CC_SC_ECHO:
        return "echo";
    case CC_SC_DEADLINE:
        return "deadline";
    case CC_SC_SERVER_STREAM:
        return "server-stream";
    case CC_SC_CLIENT_STREAM:
        return "client-stream";
    case CC_SC_BIDI_STREAM:
        return "bidi-stream";
    }
    return "?";
}

/* ---- expectations ---- */

static bool failed(const cc_obs *o)
{
    if (o->end != CC_END_EXITED) {
        return false;
    }
    return o->reported ? o->code != 0 : o->exit_status != 0;
}

bool cc_expect_eval(const cc_expect *x, const cc_obs *o)
{
    /* A client that never connected did not make the call (a scenario it does not know):
     * whatever it exited with says nothing about the case. */
    if (o->end != CC_END_EXITED || o->connections == 0) {
        return false;
    }
    switch (x->kind) {
    case CC_X_NONE:
        return false;
    case CC_X_SUCCESS:
        return o->reported && o->code == 0 && o->ok;
    case CC_X_CODE:
        return o->reported && o->code == x->code;
    case CC_X_ERROR:
        return failed(o);
    case CC_X_REJECTED:
        return failed(o) && !(o->reported && o->code == 4);
    case CC_X_ENDED:
        return true;
    }
    return false;
}

ttrpc_err cc_expect_render(const cc_expect *x, tc_buf *out)
{
    switch (x->kind) {
    case CC_X_NONE:
        return tc_buf_printf(out, "NONE");
    case CC_X_SUCCESS:
        return tc_buf_printf(out, "SUCCESS (code 0, the scenario's check passed)");
    case CC_X_CODE:
        return tc_buf_printf(out, "CODE(%d)", (int)x->code);
    case CC_X_ERROR:
        return tc_buf_printf(out, "ERROR (the call failed, any code)");
    case CC_X_REJECTED:
        return tc_buf_printf(out, "REJECTED (the call failed, not by its own deadline: code != 4)");
    case CC_X_ENDED:
        return tc_buf_printf(out, "ENDED (on its own, any outcome)");
    }
    return TTRPC_E_INVAL;
}

ttrpc_err cc_obs_render(const cc_obs *o, tc_buf *out)
{
    ttrpc_err rc = TTRPC_OK;
    switch (o->end) {
    case CC_END_EXITED:
        rc = tc_buf_printf(out, "exited %d", o->exit_status);
        break;
    case CC_END_SIGNALED:
        rc = tc_buf_printf(out, "killed by signal %d (%s)", o->signal, strsignal(o->signal));
        break;
    case CC_END_HUNG:
        rc = tc_buf_printf(out, "hang: still running at the deadline, killed");
        break;
    case CC_END_NOT_STARTED:
        rc = tc_buf_printf(out, "not started");
        break;
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, " after %llu ms; ", (unsigned long long)o->elapsed_ms);
    }
    if (rc == TTRPC_OK) {
        rc = o->reported ? tc_buf_printf(out, "reported code %d (%s)", (int)o->code,
                                         o->ok ? "check passed" : "check failed")
                         : tc_buf_printf(out, "no result reported");
    }
    if (rc == TTRPC_OK && o->detail[0] != '\0') {
        rc = tc_buf_printf(out, ": %s", o->detail);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "; %u connection(s), %u Request(s)", o->connections,
                           o->requests);
    }
    if (rc == TTRPC_OK && o->requests > 0) {
        rc = tc_buf_printf(out, ", the first on id %u flags 0x%02x timeout_nano %lld",
                           o->req_id, o->req_flags, (long long)o->req_timeout_nano);
    }
    if (rc == TTRPC_OK && o->frames_after > 0) {
        rc = tc_buf_printf(out, "; %u more frame(s) from the client", o->frames_after);
    }
    if (rc == TTRPC_OK && (o->data_in > 0 || o->send_closed)) {
        rc = tc_buf_printf(out, " (%u message(s)%s)", o->data_in,
                           o->send_closed ? ", then its close" : ", no close");
    }
    if (rc == TTRPC_OK && o->connections == 0 && o->end == CC_END_EXITED) {
        rc = tc_buf_printf(out, "; the client never connected");
    }
    if (rc == TTRPC_OK && o->client_closed) {
        rc = tc_buf_printf(out, "; the client closed the connection");
    }
    return rc;
}

/* ---- the client's output ---- */

/* The value after "key": in a JSON line (no nesting in the peers' lines). */
static const char *json_field(const char *line, const char *key)
{
    char pat[32];
    (void)snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    return p != NULL ? p + strlen(pat) : NULL;
}

static void copy_json_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    if (p == NULL || *p != '"' || cap == 0) {
        return;
    }
    for (p++; *p != '\0' && *p != '"' && n + 1 < cap; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

static void append_detail(cc_obs *o, const char *text, size_t len)
{
    size_t have = strlen(o->detail);
    if (have > 0 && have + 2 < sizeof o->detail) {
        strcpy(o->detail + have, "; ");
        have += 2;
    }
    if (len > sizeof o->detail - 1 - have) {
        len = sizeof o->detail - 1 - have;
    }
    memcpy(o->detail + have, text, len);
    o->detail[have + len] = '\0';
}

void cc_parse_output(const char *out, cc_scenario sc, const char *want_payload,
                     const char *const *want_data, size_t n_data, cc_obs *o)
{
    (void)sc;
    bool payload_ok = want_payload == NULL;
    size_t n_seen = 0;
    bool data_ok = true;
    bool have_status = false;
    for (const char *line = out; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        if (len > 0 && line[0] == '{') {
            const char *code = json_field(line, "code");
            const char *ok = json_field(line, "ok");
            if (code != NULL && ok != NULL) {
                o->reported = true;
                o->code = (int32_t)strtol(code, NULL, 10);
                o->ok = strncmp(ok, "true", 4) == 0;
                copy_json_string(json_field(line, "detail"), o->detail, sizeof o->detail);
                return;
            }
        } else if (strncmp(line, "status: ", 8) == 0) {
            have_status = true;
            o->reported = true;
            o->code = (int32_t)strtol(line + 8, NULL, 10);
        } else if (strncmp(line, "payload: ", 9) == 0 && want_payload != NULL) {
            payload_ok = len - 9 == strlen(want_payload) &&
                         strncmp(line + 9, want_payload, len - 9) == 0;
        } else if (strncmp(line, "data: ", 6) == 0) {
            if (n_seen >= n_data || len - 6 != strlen(want_data[n_seen]) ||
                strncmp(line + 6, want_data[n_seen], len - 6) != 0) {
                data_ok = false;
            }
            n_seen++;
        } else if (strncmp(line, "message: ", 9) == 0) {
            append_detail(o, line + 9, len - 9);
        }
        line += len + (nl != NULL);
    }
    if (have_status) {
        o->ok = o->code == 0 && payload_ok && data_ok && n_seen == n_data;
    }
}

/* ---- sockets and the process ---- */

static int listen_on(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    (void)unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Expands {address} and {scenario}; a command without {address} cannot reach us. */
static ttrpc_err expand(const char *tmpl, const char *sock_path, const char *scenario,
                        char *out, size_t cap)
{
    char address[160];
    (void)snprintf(address, sizeof address, "unix:%s", sock_path);
    const tc_template_var vars[] = {{"{address}", address}, {"{scenario}", scenario}};
    unsigned found = 0;
    ttrpc_err rc = tc_template_expand(tmpl, vars, 2, out, cap, &found);
    if (rc != TTRPC_OK) {
        return rc;
    }
    return (found & 1u) != 0 ? TTRPC_OK : TTRPC_E_INVAL;
}

static pid_t spawn(const char *cmd, int *out_fd, int *err_fd)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0) {
        return -1;
    }
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        (void)setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) {
            dup2(null, 0);
        }
        dup2(po[1], 1);
        dup2(pe[1], 2);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    (void)setpgid(pid, pid);
    (void)fcntl(po[0], F_SETFL, O_NONBLOCK);
    (void)fcntl(pe[0], F_SETFL, O_NONBLOCK);
    *out_fd = po[0];
    *err_fd = pe[0];
    return pid;
}

/* ---- the scripted server ---- */

typedef struct conn {
    int fd;
    ttrpc_decoder dec;
    bool is_case; /* the connection whose first Request the script answers */
} conn;

typedef struct play {
    const cc_case *c;
    tc_buf *log;
    tc_wirelog *wire;       /* the wire log as data */
    cc_obs *o;
    conn conns[CC_MAX_CONNS];
    size_t n_conns;
    int case_fd;            /* -1 until the first Request; closed by CLOSE */
    bool started;           /* the script is running */
    size_t op;              /* next op */
    tc_buf out;             /* bytes waiting to be written to case_fd */
    size_t out_off;
    tc_buf pending;         /* a chunked op's bytes not yet moved to out */
    size_t pending_off;
    uint32_t chunk, gap_ms;
    uint64_t resume_at;     /* PAUSE or chunk gap: nothing before this */
    bool write_failed;
    uint8_t *req_payload;   /* the first Request's payload (for CC_PL_ECHO) */
    size_t req_payload_len;
    char want_payload[512]; /* hex of the echo the scenario expects back */
    char *want_data[16];    /* hex of each message-bearing Data sent on the Request's id */
    size_t n_want_data;
} play;

static void log_hex(tc_buf *log, const uint8_t *p, size_t len)
{
    size_t show = len < 48 ? len : 48;
    for (size_t i = 0; i < show; i++) {
        LOG(log, "%02x", p[i]);
    }
    if (show < len) {
        LOG(log, "...");
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

static ttrpc_err hex_of(const uint8_t *p, size_t len, char *out, size_t cap)
{
    if (2 * len + 1 > cap) {
        return TTRPC_E_NOSPACE;
    }
    for (size_t i = 0; i < len; i++) {
        (void)snprintf(out + 2 * i, 3, "%02x", p[i]);
    }
    out[2 * len] = '\0';
    return TTRPC_OK;
}

/* Count{value} and Bytes{value}, proto2 field 1, as our encoder's helpers write them. */
static ttrpc_err payload_bytes(play *pl, const cc_op *op, uint32_t index, tc_buf *b)
{
    switch (op->payload) {
    case CC_PL_NONE:
        return TTRPC_OK;
    case CC_PL_ECHO:
        return tc_buf_append(b, pl->req_payload, pl->req_payload_len);
    case CC_PL_TEXT: {
        ttrpc_err rc = tc_pb_varint(b, 0x0a);
        return rc == TTRPC_OK ? (tc_pb_varint(b, strlen(op->text)) == TTRPC_OK
                                     ? tc_buf_append(b, op->text, strlen(op->text))
                                     : TTRPC_E_NOMEM)
                              : rc;
    }
    case CC_PL_COUNT: {
        ttrpc_err rc = tc_pb_varint(b, 0x08);
        return rc == TTRPC_OK ? tc_pb_varint(b, op->count + index) : rc;
    }
    case CC_PL_RAW:
        return tc_buf_append(b, op->raw, op->raw_len);
    case CC_PL_RESPONSE: {
        tc_buf inner = {0};
        cc_op text = {.payload = CC_PL_TEXT, .text = op->text};
        ttrpc_err rc = payload_bytes(pl, &text, 0, &inner);
        ttrpc_response resp = {.payload = {inner.p, inner.len}};
        size_t size = 0;
        if (rc == TTRPC_OK) {
            rc = ttrpc_response_encoded_size(&resp, &size);
        }
        size_t at = b->len;
        if (rc == TTRPC_OK) {
            rc = tc_buf_fill(b, 0, size);
        }
        size_t written = 0;
        if (rc == TTRPC_OK && size > 0) {
            rc = ttrpc_response_encode(&resp, b->p + at, size, &written);
        }
        tc_buf_free(&inner);
        return rc;
    }
    }
    return TTRPC_E_INVAL;
}

static ttrpc_err frame_into(tc_buf *b, uint32_t id, uint8_t type, uint8_t flags,
                            const uint8_t *body, size_t len)
{
    ttrpc_frame_header h = {.length = (uint32_t)len, .stream_id = id, .type = type,
                            .flags = flags};
    size_t need = TTRPC_FRAME_HEADER_LEN + len;
    size_t at = b->len;
    ttrpc_err rc = tc_buf_fill(b, 0, need);
    if (rc != TTRPC_OK) {
        return rc;
    }
    size_t written = 0;
    return ttrpc_frame_encode(&h, body, b->p + at, need, &written);
}

/* The bytes one sending op puts on the wire, into b; logs it. */
static ttrpc_err encode_op(play *pl, const cc_op *op, tc_buf *b)
{
    uint32_t id = op->abs ? (uint32_t)op->id : pl->o->req_id + (uint32_t)op->id;
    tc_buf body = {0};
    ttrpc_err rc = TTRPC_OK;
    size_t at = b->len;
    switch (op->kind) {
    case CC_RESPONSE: {
        rc = payload_bytes(pl, op, 0, &body);
        if (rc != TTRPC_OK) {
            break;
        }
        ttrpc_response resp = {
            .has_status = op->has_status || op->code != 0,
            .status = {.code = op->code, .message = ttrpc_bytes_of(op->message)},
            .payload = {body.p, body.len},
        };
        if (op->code == 0 && !op->has_status) {
            resp.status.message = (ttrpc_bytes){0};
        }
        size_t size = 0;
        rc = ttrpc_response_encoded_size(&resp, &size);
        tc_buf enc = {0};
        if (rc == TTRPC_OK) {
            rc = tc_buf_fill(&enc, 0, size);
        }
        size_t written = 0;
        if (rc == TTRPC_OK && size > 0) {
            rc = ttrpc_response_encode(&resp, enc.p, size, &written);
        }
        if (rc == TTRPC_OK) {
            rc = frame_into(b, id, TTRPC_TYPE_RESPONSE, op->flags, enc.p, size);
            LOGT(pl->log, "  -> Response id=%u flags=0x%02x code=%d len=%zu | ",
                                id, op->flags, (int)op->code, size);
            log_hex(pl->log, enc.p, size);
            LOG(pl->log, "\n");
        }
        tc_buf_free(&enc);
        break;
    }
    case CC_DATA:
    case CC_FRAME: {
        uint8_t type = op->kind == CC_DATA ? TTRPC_TYPE_DATA : op->type;
        uint32_t n = op->repeat == 0 ? 1 : op->repeat;
        for (uint32_t i = 0; i < n && rc == TTRPC_OK; i++) {
            body.len = 0;
            rc = payload_bytes(pl, op, i, &body);
            if (rc == TTRPC_OK) {
                rc = frame_into(b, id, type, op->flags, body.p, body.len);
            }
            if (rc == TTRPC_OK && type == TTRPC_TYPE_DATA && id == pl->o->req_id &&
                !(op->flags & TTRPC_FLAG_NO_DATA) && pl->n_want_data < 16) {
                char *hex = malloc(2 * body.len + 1);
                if (hex != NULL && hex_of(body.p, body.len, hex, 2 * body.len + 1) == TTRPC_OK) {
                    pl->want_data[pl->n_want_data++] = hex;
                } else {
                    free(hex);
                }
            }
            LOGT(pl->log, "  -> %s id=%u flags=0x%02x len=%zu | ",
                                type_name(type), id, op->flags, body.len);
            log_hex(pl->log, body.p, body.len);
            LOG(pl->log, "\n");
        }
        break;
    }
    case CC_HEADER: {
        uint8_t h[TTRPC_FRAME_HEADER_LEN];
        ttrpc_frame_header hdr = {.length = op->length, .stream_id = id, .type = op->type,
                                  .flags = op->flags};
        ttrpc_frame_header_write(&hdr, h);
        size_t n = op->cut != 0 && op->cut < sizeof h ? op->cut : sizeof h;
        rc = tc_buf_append(b, h, n);
        LOGT(pl->log, "  -> header %s id=%u length=%u (%zu of 10 bytes)\n",
                            type_name(op->type), id, op->length, n);
        break;
    }
    case CC_ZEROS:
        rc = tc_buf_fill(b, 0, op->count);
        LOGT(pl->log, "  -> %llu zero bytes\n", (unsigned long long)op->count);
        break;
    case CC_RAW:
        rc = tc_buf_append(b, op->raw, op->raw_len);
        LOGT(pl->log, "  -> raw %zu bytes | ", op->raw_len);
        log_hex(pl->log, op->raw, op->raw_len);
        LOG(pl->log, "\n");
        break;
    default:
        rc = TTRPC_E_INVAL;
    }
    tc_buf_free(&body);
    if (rc == TTRPC_OK && b->len > at) {
        if (op->kind == CC_ZEROS || op->kind == CC_RAW) {
            tc_wire_raw(pl->wire, TC_WIRE_SENT, b->p + at, b->len - at,
                        op->kind == CC_ZEROS ? "zero bytes" : "raw bytes");
        } else {
            tc_wire_bytes(pl->wire, TC_WIRE_SENT, b->p + at, b->len - at);
        }
    }
    return rc;
}

static bool out_empty(const play *pl)
{
    return pl->out_off == pl->out.len && pl->pending_off == pl->pending.len;
}

static void close_case(play *pl)
{
    for (size_t i = 0; i < pl->n_conns; i++) {
        if (pl->conns[i].fd >= 0 && pl->conns[i].fd == pl->case_fd) {
            close(pl->conns[i].fd);
            pl->conns[i].fd = -1;
        }
    }
    pl->case_fd = -1;
}

/* Advances the script as far as it can without waiting. */
static ttrpc_err step_script(play *pl, uint64_t now)
{
    while (pl->started && pl->case_fd >= 0) {
        if (now < pl->resume_at) {
            return TTRPC_OK;
        }
        if (pl->pending_off < pl->pending.len) {
            if (pl->out_off < pl->out.len) {
                return TTRPC_OK;
            }
            size_t n = pl->pending.len - pl->pending_off;
            if (n > pl->chunk) {
                n = pl->chunk;
            }
            pl->out.len = 0;
            pl->out_off = 0;
            ttrpc_err rc = tc_buf_append(&pl->out, pl->pending.p + pl->pending_off, n);
            if (rc != TTRPC_OK) {
                return rc;
            }
            pl->pending_off += n;
            pl->resume_at = now + pl->gap_ms;
            continue;
        }
        if (pl->op >= CC_MAX_OPS || pl->c->script[pl->op].kind == CC_END) {
            return TTRPC_OK;
        }
        const cc_op *op = &pl->c->script[pl->op];
        if (op->kind == CC_AWAIT_DATA || op->kind == CC_AWAIT_CLOSE) {
            bool done = op->kind == CC_AWAIT_DATA ? pl->o->data_in >= op->count
                                                  : pl->o->send_closed;
            if (!done) {
                return TTRPC_OK; /* the next frame from the client (or the deadline) decides */
            }
            pl->op++;
            continue;
        }
        if (op->kind == CC_PAUSE || op->kind == CC_CLOSE) {
            if (!out_empty(pl)) {
                return TTRPC_OK;
            }
            pl->op++;
            if (op->kind == CC_PAUSE) {
                LOGT(pl->log, "  -- pause %u ms\n", op->ms);
                pl->resume_at = now + op->ms;
            } else {
                LOGT(pl->log, "  -- harness closes the connection\n");
                tc_wire_event(pl->wire, "close", "the harness closes the connection");
                close_case(pl);
            }
            continue;
        }
        pl->op++;
        if (op->chunk > 0) {
            if (pl->out_off < pl->out.len) {
                pl->op--;
                return TTRPC_OK;
            }
            pl->pending.len = 0;
            pl->pending_off = 0;
            pl->chunk = op->chunk;
            pl->gap_ms = op->ms;
            ttrpc_err rc = encode_op(pl, op, &pl->pending);
            if (rc != TTRPC_OK) {
                return rc;
            }
            continue;
        }
        if (pl->out_off == pl->out.len) {
            pl->out.len = 0;
            pl->out_off = 0;
        }
        ttrpc_err rc = encode_op(pl, op, &pl->out);
        if (rc != TTRPC_OK) {
            return rc;
        }
    }
    return TTRPC_OK;
}

/* The first Request on a connection starts the script there. */
static void on_frame(play *pl, conn *cn, const ttrpc_frame *f, bool oversize)
{
    LOGT(pl->log, "  <- %s id=%u flags=0x%02x len=%u%s", type_name(f->hdr.type),
                        f->hdr.stream_id, f->hdr.flags, f->hdr.length,
                        oversize ? " (over the limit, skipped)" : "");
    if (!oversize && f->hdr.length > 0) {
        LOG(pl->log, " | ");
        log_hex(pl->log, f->data, f->hdr.length);
    }
    LOG(pl->log, "\n");
    tc_wire_frame(pl->wire, TC_WIRE_RECEIVED, &f->hdr, oversize ? NULL : f->data, oversize);
    if (pl->case_fd >= 0 && cn->fd == pl->case_fd) {
        pl->o->frames_after++;
        if (f->hdr.type == TTRPC_TYPE_REQUEST) {
            pl->o->requests++;
        }
        if (f->hdr.type == TTRPC_TYPE_DATA && f->hdr.stream_id == pl->o->req_id && !oversize) {
            pl->o->data_in += (f->hdr.flags & TTRPC_FLAG_NO_DATA) == 0;
            pl->o->send_closed |= (f->hdr.flags & TTRPC_FLAG_REMOTE_CLOSED) != 0;
        }
        return;
    }
    if (pl->started || f->hdr.type != TTRPC_TYPE_REQUEST || oversize) {
        return;
    }
    cn->is_case = true;
    pl->case_fd = cn->fd;
    pl->started = true;
    pl->o->requests = 1;
    pl->o->req_id = f->hdr.stream_id;
    pl->o->req_flags = f->hdr.flags;
    ttrpc_msg_arena a;
    ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    ttrpc_request req;
    if (ttrpc_request_decode(f->data, f->hdr.length, &a, &req) == TTRPC_OK) {
        pl->o->req_timeout_nano = req.timeout_nano;
        LOGT(pl->log, "     Request %.*s/%.*s timeout_nano=%lld md=%zu\n",
                            (int)req.service.len, (const char *)req.service.data,
                            (int)req.method.len, (const char *)req.method.data,
                            (long long)req.timeout_nano, req.n_metadata);
        if (req.payload.len > 0) {
            pl->req_payload = malloc(req.payload.len);
            if (pl->req_payload != NULL) {
                memcpy(pl->req_payload, req.payload.data, req.payload.len);
                pl->req_payload_len = req.payload.len;
            }
        }
    } else {
        LOGT(pl->log, "     (the Request does not decode)\n");
    }
    ttrpc_msg_arena_reset(&a);
}

static void read_conn(play *pl, size_t i)
{
    conn *cn = &pl->conns[i];
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(cn->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            if (cn->is_case) {
                pl->o->client_closed = true;
                LOGT(pl->log, "  <- the client closed the connection\n");
                tc_wire_event(pl->wire, "peer-closed", "the client closed the connection");
            }
            if (cn->fd == pl->case_fd) {
                pl->case_fd = -1;
            }
            close(cn->fd);
            cn->fd = -1;
            return;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            size_t used = 0;
            if (ttrpc_decoder_feed(&cn->dec, buf + off, (size_t)n - off, &used) != TTRPC_OK) {
                return;
            }
            off += used;
            for (;;) {
                ttrpc_frame f;
                ttrpc_err rc = ttrpc_decoder_next(&cn->dec, &f);
                if (rc == TTRPC_OK || rc == TTRPC_E_TOO_LARGE) {
                    on_frame(pl, cn, &f, rc == TTRPC_E_TOO_LARGE);
                    continue;
                }
                break;
            }
        }
    }
}

static void write_out(play *pl)
{
    while (pl->case_fd >= 0 && pl->out_off < pl->out.len) {
        ssize_t n = send(pl->case_fd, pl->out.p + pl->out_off, pl->out.len - pl->out_off,
                         MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n < 0) {
            if (!pl->write_failed) {
                LOGT(pl->log, "  -- write failed: %s (%zu bytes unsent)\n",
                                    strerror(errno), pl->out.len - pl->out_off);
                tc_wire_event(pl->wire, "write-failed", strerror(errno));
            }
            pl->write_failed = true;
            pl->out_off = pl->out.len;
            pl->pending_off = pl->pending.len;
            return;
        }
        pl->out_off += (size_t)n;
    }
}

static void drain(int *fd, char *buf, size_t *len, size_t cap, bool ring)
{
    for (;;) {
        char tmp[4096];
        ssize_t n = read(*fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            close(*fd);
            *fd = -1;
            return;
        }
        size_t got = (size_t)n;
        size_t room = cap - 1 - *len;
        if (got > room && ring) {
            /* Keep the newest cap - 1 bytes: drop the oldest to make room. */
            size_t keep_new = got < cap - 1 ? got : cap - 1;
            size_t keep_old = cap - 1 - keep_new < *len ? cap - 1 - keep_new : *len;
            memmove(buf, buf + *len - keep_old, keep_old);
            memcpy(buf + keep_old, tmp + got - keep_new, keep_new);
            *len = keep_old + keep_new;
        } else {
            size_t take = got < room ? got : room;
            memcpy(buf + *len, tmp, take);
            *len += take;
        }
        buf[*len] = '\0';
    }
}

ttrpc_err cc_run_case(const cc_case *c, const char *tmpl, const char *sock_path, double scale,
                      cc_obs *o, tc_buf *log, tc_wirelog *wire, char *stderr_tail,
                      size_t tail_cap, char *err, size_t err_cap)
{
    memset(o, 0, sizeof *o);
    stderr_tail[0] = '\0';
    uint32_t deadline_ms = c->base.timeout_ms != 0 ? c->base.timeout_ms : CC_DEFAULT_TIMEOUT_MS;
    deadline_ms = (uint32_t)((double)deadline_ms * scale);
    char cmd[4096];
    ttrpc_err rc = expand(tmpl, sock_path, cc_scenario_name(c->scenario), cmd, sizeof cmd);
    if (rc != TTRPC_OK) {
        (void)snprintf(err, err_cap, "%s", rc == TTRPC_E_INVAL
                                               ? "the client command has no {address}"
                                               : "the client command is too long");
        o->end = CC_END_NOT_STARTED;
        return rc;
    }
    int lfd = listen_on(sock_path);
    if (lfd < 0) {
        (void)snprintf(err, err_cap, "cannot listen on %s: %s", sock_path, strerror(errno));
        o->end = CC_END_NOT_STARTED;
        return TTRPC_E_IO;
    }
    LOG(log, "  -- client: %s\n", cmd);
    tc_wire_start(wire);
    tc_wire_event(wire, "spawn", cmd);
    play pl = {.c = c, .log = log, .wire = wire, .o = o, .case_fd = -1};
    static const char ECHO_TEXT[] = "hello ttrpc";
    {
        uint8_t b[2 + sizeof ECHO_TEXT];
        b[0] = 0x0a;
        b[1] = (uint8_t)(sizeof ECHO_TEXT - 1);
        memcpy(b + 2, ECHO_TEXT, sizeof ECHO_TEXT - 1);
        (void)hex_of(b, sizeof b - 1, pl.want_payload, sizeof pl.want_payload);
    }
    int out_fd = -1, err_fd = -1;
    uint64_t t0 = now_ms();
    g_log_t0 = t0;
    pid_t pid = spawn(cmd, &out_fd, &err_fd);
    if (pid < 0) {
        close(lfd);
        (void)snprintf(err, err_cap, "cannot start the client: %s", strerror(errno));
        o->end = CC_END_NOT_STARTED;
        return TTRPC_E_IO;
    }
    char *stdout_buf = malloc(CC_STDOUT_CAP);
    size_t stdout_len = 0, tail_len = 0;
    if (stdout_buf == NULL) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(lfd);
        close(out_fd);
        close(err_fd);
        return TTRPC_E_NOMEM;
    }
    stdout_buf[0] = '\0';
    bool exited = false;
    int wstatus = 0;
    uint64_t exit_at = 0;
    rc = TTRPC_OK;
    for (;;) {
        uint64_t now = now_ms();
        if (rc == TTRPC_OK) {
            rc = step_script(&pl, now);
            write_out(&pl);
        }
        if (!exited) {
            pid_t w = waitpid(pid, &wstatus, WNOHANG);
            if (w == pid) {
                exited = true;
                exit_at = now;
                o->elapsed_ms = now - t0;
            }
        }
        /* After the client ends, its output pipes get a short while to drain. */
        if (exited && ((out_fd < 0 && err_fd < 0) || now >= exit_at + 500)) {
            break;
        }
        if (!exited && now >= t0 + deadline_ms) {
            LOGT(log, "  -- deadline (%u ms): the client is killed\n",
                                deadline_ms);
            tc_wire_event(wire, "deadline", "the case deadline passed: the client is killed");
            kill(-pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            o->end = CC_END_HUNG;
            o->elapsed_ms = now - t0;
            break;
        }
        struct pollfd pfd[CC_MAX_CONNS + 3];
        size_t n = 0;
        pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = err_fd, .events = POLLIN};
        for (size_t i = 0; i < pl.n_conns; i++) {
            short ev = POLLIN;
            if (pl.conns[i].fd >= 0 && pl.conns[i].fd == pl.case_fd &&
                pl.out_off < pl.out.len) {
                ev |= POLLOUT;
            }
            pfd[n++] = (struct pollfd){.fd = pl.conns[i].fd, .events = ev};
        }
        int wait = 10;
        if (poll(pfd, n, wait) < 0 && errno != EINTR) {
            break;
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0 && pl.n_conns < CC_MAX_CONNS) {
                conn *cn = &pl.conns[pl.n_conns];
                if (ttrpc_decoder_init(&cn->dec, TTRPC_FRAME_MAX_DATA, NULL) == TTRPC_OK) {
                    cn->fd = fd;
                    cn->is_case = false;
                    pl.n_conns++;
                    o->connections++;
                    LOGT(log, "  -- connection %u accepted\n", o->connections);
                    char what[48];
                    (void)snprintf(what, sizeof what, "connection %u accepted",
                                   o->connections);
                    tc_wire_event(wire, "connect", what);
                } else {
                    close(fd);
                }
            } else if (fd >= 0) {
                close(fd);
            }
        }
        if (pfd[1].revents != 0) {
            drain(&out_fd, stdout_buf, &stdout_len, CC_STDOUT_CAP, false);
        }
        if (pfd[2].revents != 0) {
            drain(&err_fd, stderr_tail, &tail_len, tail_cap, true);
        }
        for (size_t i = 0; i < pl.n_conns; i++) {
            if (pl.conns[i].fd >= 0 && (pfd[3 + i].revents & (POLLIN | POLLHUP | POLLERR))) {
                read_conn(&pl, i);
            }
        }
    }
    if (out_fd >= 0) {
        drain(&out_fd, stdout_buf, &stdout_len, CC_STDOUT_CAP, false);
        close(out_fd);
    }
    if (err_fd >= 0) {
        drain(&err_fd, stderr_tail, &tail_len, tail_cap, true);
        close(err_fd);
    }
    kill(-pid, SIGKILL); /* whatever the client left behind in its group */
    if (o->end != CC_END_HUNG) {
        if (WIFSIGNALED(wstatus)) {
            o->end = CC_END_SIGNALED;
            o->signal = WTERMSIG(wstatus);
        } else {
            o->end = CC_END_EXITED;
            o->exit_status = WEXITSTATUS(wstatus);
        }
    }
    LOGT(log, "  -- client stdout: %s\n", stdout_buf);
    {
        char what[96];
        if (o->end == CC_END_SIGNALED) {
            (void)snprintf(what, sizeof what, "killed by signal %d", o->signal);
        } else if (o->end == CC_END_HUNG) {
            (void)snprintf(what, sizeof what, "killed at the deadline");
        } else {
            (void)snprintf(what, sizeof what, "exited with status %d", o->exit_status);
        }
        tc_wire_event(wire, "peer-exit", what);
        tc_wire_event(wire, "client-stdout", stdout_buf);
    }
    /* The scenario's own check for the ref client's lines: the echo, or the stream's messages. */
    /* The client stream's answer is Count 10 (1 + 2 + 3 + 4): field 1, varint 10. */
    bool stream = c->scenario == CC_SC_SERVER_STREAM || c->scenario == CC_SC_BIDI_STREAM;
    const char *payload = c->scenario == CC_SC_ECHO            ? pl.want_payload
                          : c->scenario == CC_SC_CLIENT_STREAM ? "080a"
                                                               : NULL;
    cc_parse_output(stdout_buf, c->scenario, payload, (const char *const *)pl.want_data,
                    stream ? pl.n_want_data : 0, o);
    if (!o->reported && o->detail[0] == '\0' && tail_len > 0) {
        /* The ref client explains failures without a status on stderr. */
        const char *last = stderr_tail;
        size_t len = strlen(stderr_tail);
        while (len > 0 && stderr_tail[len - 1] == '\n') {
            len--;
        }
        for (size_t i = len; i > 0; i--) {
            if (stderr_tail[i - 1] == '\n') {
                last = stderr_tail + i;
                break;
            }
        }
        append_detail(o, last, (size_t)(stderr_tail + len - last));
    }
    for (size_t i = 0; i < pl.n_conns; i++) {
        if (pl.conns[i].fd >= 0) {
            close(pl.conns[i].fd);
        }
        ttrpc_decoder_free(&pl.conns[i].dec);
    }
    for (size_t i = 0; i < pl.n_want_data; i++) {
        free(pl.want_data[i]);
    }
    close(lfd);
    (void)unlink(sock_path);
    free(stdout_buf);
    free(pl.req_payload);
    tc_buf_free(&pl.out);
    tc_buf_free(&pl.pending);
    if (rc != TTRPC_OK) {
        (void)snprintf(err, err_cap, "the script could not be encoded: %s", ttrpc_strerror(rc));
    }
    return rc;
}
