/* `ttrpc-conform vectors --exec CMD`: plays the golden vectors (decode, message, sequence) to
 * a testee process over the testee protocol (vectors/README.md, "Checking other
 * implementations") and compares its answers with the expectations through
 * vectors/checker/vector_compare.c, the code the in-process checker uses. The testee is one
 * process for the whole run; a testee that dies, hangs or answers with something else than
 * the protocol is given a verdict for the vector it was on, and started again for the next. */
#include "vector_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "report.h"
#include "script.h"
#include "vector_compare.h"
#include "verdict.h"

#define PROG "ttrpc-conform vectors"
#define MAX_ONLY 64
#define MAX_REPLY (64u << 20) /* a 4 MiB frame is 8 MiB of hex; leave room */
#define PROTOCOL_VERSION 1

enum { EXIT_AS_EXPECTED = 0, EXIT_FAILURES = 1, EXIT_CANT_RUN = 2 };

/* ---- the testee process -------------------------------------------------------------------- */

typedef enum xchg {
    XCHG_OK,
    XCHG_DIED,    /* its stdout closed or a write failed: it exited or was killed */
    XCHG_HUNG,    /* no whole reply within the timeout */
    XCHG_GARBAGE, /* a reply that is not a length-prefixed JSON object */
} xchg;

typedef struct testee {
    const char *cmd;
    const char *stderr_path; /* every start appends its stderr here */
    int timeout_ms;
    pid_t pid; /* process group leader; 0 when not running */
    int to_fd;
    int from_fd;
    unsigned starts;
    bool answered_hello; /* some start got through the hello */
    unsigned failed_starts; /* in a row */
    bool does_decode;
    bool does_message;
    bool does_server; /* sequence:server */
    bool does_client; /* sequence:client */
    bool does_encode; /* encode: asked after a canonical decode vector passes */
    char name[128];
    char version[128];
    char trouble[256]; /* what went wrong with the last exchange */
} testee;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void describe_status(int status, char *out, size_t cap)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) > 128 && WEXITSTATUS(status) < 128 + 65) {
        /* The shell that ran the command reports its child's signal this way. */
        snprintf(out, cap, "exited with status %d (a signal %d, %s, in the shell's child)",
                 WEXITSTATUS(status), WEXITSTATUS(status) - 128,
                 strsignal(WEXITSTATUS(status) - 128));
    } else if (WIFEXITED(status)) {
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(out, cap, "ended (status 0x%x)", (unsigned)status);
    }
}

/* Ends the process group; how it ended goes to end (when not NULL). A process given
 * grace_ms to exit by itself (one that closed its stdout: a crash may still be writing its
 * report) is reaped with its own status; after that it is killed. */
static void testee_stop(testee *t, char *end, size_t cap, int grace_ms)
{
    if (t->pid == 0) {
        return;
    }
    close(t->to_fd);
    close(t->from_fd);
    int status = 0;
    pid_t r = waitpid(t->pid, &status, WNOHANG);
    for (int waited = 0; r == 0 && waited < grace_ms; waited += 10) {
        usleep(10000);
        r = waitpid(t->pid, &status, WNOHANG);
    }
    if (r == 0) {
        (void)kill(-t->pid, SIGKILL);
        (void)waitpid(t->pid, &status, 0);
        if (end != NULL) {
            snprintf(end, cap, "still running: killed");
        }
    } else if (end != NULL) {
        describe_status(status, end, cap);
    }
    (void)kill(-t->pid, SIGKILL); /* its children, if any */
    t->pid = 0;
}

static bool write_all(testee *t, const uint8_t *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            return false;
        }
        struct pollfd pfd = {.fd = t->to_fd, .events = POLLOUT};
        int pr = poll(&pfd, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            return false;
        }
        ssize_t w = write(t->to_fd, p, n);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* XCHG_OK with n bytes read, XCHG_DIED at end of file, XCHG_HUNG past the deadline. */
static xchg read_all(testee *t, uint8_t *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            return XCHG_HUNG;
        }
        struct pollfd pfd = {.fd = t->from_fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr == 0) {
            return XCHG_HUNG;
        }
        ssize_t r = read(t->from_fd, p, n);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (r <= 0) {
            return XCHG_DIED;
        }
        p += r;
        n -= (size_t)r;
    }
    return XCHG_OK;
}

/* Sends one request and reads one reply (a JSON object, *reply owned by the caller). On
 * anything but XCHG_OK the process is stopped and t->trouble says what happened. */
static xchg exchange(testee *t, const cJSON *req, cJSON **reply)
{
    *reply = NULL;
    char *text = cJSON_PrintUnformatted(req);
    if (text == NULL) {
        snprintf(t->trouble, sizeof t->trouble, "out of memory");
        return XCHG_GARBAGE;
    }
    size_t n = strlen(text);
    uint8_t len_be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    uint64_t deadline = now_ms() + (uint64_t)t->timeout_ms;
    bool sent = write_all(t, len_be, 4, deadline) && write_all(t, (uint8_t *)text, n, deadline);
    free(text);
    xchg x = sent ? XCHG_OK : now_ms() >= deadline ? XCHG_HUNG : XCHG_DIED;
    uint8_t hdr[4];
    if (x == XCHG_OK) {
        x = read_all(t, hdr, 4, deadline);
    }
    char *body = NULL;
    if (x == XCHG_OK) {
        uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
                       (uint32_t)hdr[3];
        if (len > MAX_REPLY) {
            x = XCHG_GARBAGE;
            snprintf(t->trouble, sizeof t->trouble,
                     "reply length %u is above %u (first bytes %02x %02x %02x %02x)", len,
                     MAX_REPLY, hdr[0], hdr[1], hdr[2], hdr[3]);
        } else if ((body = malloc((size_t)len + 1)) == NULL) {
            x = XCHG_GARBAGE;
            snprintf(t->trouble, sizeof t->trouble, "out of memory");
        } else if ((x = read_all(t, (uint8_t *)body, len, deadline)) == XCHG_OK) {
            body[len] = '\0';
            *reply = cJSON_ParseWithLength(body, len);
            if (!cJSON_IsObject(*reply)) {
                cJSON_Delete(*reply);
                *reply = NULL;
                x = XCHG_GARBAGE;
                snprintf(t->trouble, sizeof t->trouble, "reply is not a JSON object: %.80s",
                         body);
            }
        }
    }
    free(body);
    if (x != XCHG_OK) {
        char end[128] = "";
        testee_stop(t, end, sizeof end, x == XCHG_DIED ? 2000 : 0);
        if (x == XCHG_HUNG) {
            snprintf(t->trouble, sizeof t->trouble, "testee hung: no reply within %d ms (%s)",
                     t->timeout_ms, end);
        } else if (x == XCHG_DIED) {
            snprintf(t->trouble, sizeof t->trouble, "testee died: %s", end);
        } else {
            static const char prefix[] = "testee broke the protocol: ";
            size_t keep = sizeof t->trouble - sizeof prefix;
            memmove(t->trouble + sizeof prefix - 1, t->trouble, keep);
            t->trouble[sizeof t->trouble - 1] = '\0';
            memcpy(t->trouble, prefix, sizeof prefix - 1);
        }
    }
    return x;
}

/* Spawns the command (through /bin/sh) and exchanges the hello. err gets a reason. */
static bool testee_start(testee *t, char *err, size_t cap)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        snprintf(err, cap, "pipe: %s", strerror(errno));
        return false;
    }
    if (pipe2(out, O_CLOEXEC) != 0) {
        snprintf(err, cap, "pipe: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        return false;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, cap, "fork: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return false;
    }
    if (pid == 0) {
        (void)setpgid(0, 0);
        int errfd = open(t->stderr_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || (errfd >= 0 && dup2(errfd, 2) < 0)) {
            _exit(127);
        }
        execl("/bin/sh", "sh", "-c", t->cmd, (char *)NULL);
        _exit(127);
    }
    (void)setpgid(pid, pid);
    close(in[0]);
    close(out[1]);
    t->pid = pid;
    t->to_fd = in[1];
    t->from_fd = out[0];
    (void)fcntl(t->to_fd, F_SETFL, O_NONBLOCK);
    (void)fcntl(t->from_fd, F_SETFL, O_NONBLOCK);
    t->starts++;

    cJSON *hello = cJSON_CreateObject();
    cJSON_AddStringToObject(hello, "op", "hello");
    cJSON_AddStringToObject(hello, "format", "ttrpc-vectors/1");
    cJSON_AddNumberToObject(hello, "protocol", PROTOCOL_VERSION);
    cJSON *reply = NULL;
    xchg x = exchange(t, hello, &reply);
    cJSON_Delete(hello);
    if (x != XCHG_OK) {
        snprintf(err, cap, "hello: %s", t->trouble);
        return false;
    }
    const cJSON *supports = cJSON_GetObjectItemCaseSensitive(reply, "supports");
    if (!cJSON_IsArray(supports)) {
        snprintf(err, cap, "hello: the reply has no \"supports\" list");
        cJSON_Delete(reply);
        testee_stop(t, NULL, 0, 0);
        return false;
    }
    t->does_decode = false;
    t->does_message = false;
    t->does_server = false;
    t->does_client = false;
    t->does_encode = false;
    const cJSON *s;
    cJSON_ArrayForEach(s, supports)
    {
        const char *name = cJSON_IsString(s) ? s->valuestring : "";
        t->does_decode = t->does_decode || strcmp(name, "decode") == 0;
        t->does_message = t->does_message || strcmp(name, "message") == 0;
        t->does_server = t->does_server || strcmp(name, "sequence:server") == 0;
        t->does_client = t->does_client || strcmp(name, "sequence:client") == 0;
        t->does_encode = t->does_encode || strcmp(name, "encode") == 0;
    }
    snprintf(t->name, sizeof t->name, "%s",
             vc_json_str(reply, "name") != NULL ? vc_json_str(reply, "name") : "?");
    snprintf(t->version, sizeof t->version, "%s",
             vc_json_str(reply, "version") != NULL ? vc_json_str(reply, "version") : "?");
    t->answered_hello = true;
    cJSON_Delete(reply);
    return true;
}

/* ---- replies into the structs vector_compare.c compares -------------------------------- */

/* Memory the converted replies point into, freed after the comparison. */
typedef struct holder {
    void **p;
    size_t n;
} holder;

static bool hold(holder *h, void *p)
{
    void **q = realloc(h->p, (h->n + 1) * sizeof *q);
    if (q == NULL) {
        free(p);
        return false;
    }
    h->p = q;
    h->p[h->n++] = p;
    return true;
}

static void holder_free(holder *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->p[i]);
    }
    free(h->p);
    h->p = NULL;
    h->n = 0;
}

static bool hex_field(const cJSON *obj, const char *name, holder *h, ttrpc_bytes *out)
{
    const char *hex = vc_json_str(obj, name);
    vc_buf b = {0};
    if (hex == NULL || !vc_hex_append(&b, hex)) {
        vc_buf_free(&b);
        return false;
    }
    if (b.data != NULL && !hold(h, b.data)) {
        return false;
    }
    out->data = b.data;
    out->len = b.len;
    return true;
}

static bool str_field(const cJSON *obj, const char *name, ttrpc_bytes *out)
{
    const char *s = vc_json_str(obj, name);
    if (s == NULL) {
        return false;
    }
    out->data = (const uint8_t *)s;
    out->len = strlen(s);
    return true;
}

/* A request value as the protocol writes it: the vector form, payload absent when absent. */
static bool request_from_json(const cJSON *j, holder *h, ttrpc_request *r)
{
    memset(r, 0, sizeof *r);
    if (!cJSON_IsObject(j) || !str_field(j, "service", &r->service) ||
        !str_field(j, "method", &r->method)) {
        return false;
    }
    if (cJSON_GetObjectItemCaseSensitive(j, "payload") != NULL) {
        r->has_payload = true;
        if (!hex_field(j, "payload", h, &r->payload)) {
            return false;
        }
    }
    const char *t = vc_json_str(j, "timeout_nano");
    if (t == NULL) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long long tv = strtoll(t, &end, 10);
    if (errno != 0 || end == t || *end != '\0') {
        return false;
    }
    r->timeout_nano = (int64_t)tv;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    if (!cJSON_IsArray(md)) {
        return false;
    }
    size_t n = (size_t)cJSON_GetArraySize(md);
    ttrpc_kv *kv = calloc(n + 1, sizeof *kv);
    if (kv == NULL || !hold(h, kv)) {
        return false;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, md)
    {
        if (!str_field(e, "key", &kv[i].key) || !str_field(e, "value", &kv[i].value)) {
            return false;
        }
        i++;
    }
    r->metadata = kv;
    r->n_metadata = n;
    return true;
}

static bool response_from_json(const cJSON *j, holder *h, ttrpc_response *r)
{
    memset(r, 0, sizeof *r);
    if (!cJSON_IsObject(j) || !hex_field(j, "payload", h, &r->payload)) {
        return false;
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (st == NULL) {
        return true;
    }
    int64_t code;
    if (!vc_json_int(cJSON_GetObjectItemCaseSensitive(st, "code"), INT32_MIN, INT32_MAX, &code) ||
        !str_field(st, "message", &r->status.message)) {
        return false;
    }
    r->has_status = true;
    r->status.code = (int32_t)code;
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(st, "details");
    if (!cJSON_IsArray(details)) {
        return false;
    }
    size_t n = (size_t)cJSON_GetArraySize(details);
    ttrpc_any *d = calloc(n + 1, sizeof *d);
    if (d == NULL || !hold(h, d)) {
        return false;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, details)
    {
        if (!str_field(e, "type_url", &d[i].type_url) || !hex_field(e, "value", h, &d[i].value)) {
            return false;
        }
        i++;
    }
    r->status.details = d;
    r->status.n_details = n;
    return true;
}

/* {"value": ...} or {"error": CLASS} into a vc_message. */
static bool message_from_json(const cJSON *reply, bool is_request, holder *h, vc_message *m)
{
    memset(m, 0, sizeof *m);
    m->is_request = is_request;
    m->error = vc_json_str(reply, "error");
    if (m->error != NULL) {
        return true;
    }
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(reply, "value");
    return is_request ? request_from_json(value, h, &m->req)
                      : response_from_json(value, h, &m->resp);
}

/* {"frames": [...], "end": ...} or {"error": CLASS} into a vc_decode_run. */
static bool decode_run_from_json(const cJSON *reply, vc_decode_run *r)
{
    memset(r, 0, sizeof *r);
    const char *error = vc_json_str(reply, "error");
    if (error != NULL) {
        r->fatal = TTRPC_E_PROTO;
        r->fatal_class = error;
        return true;
    }
    const cJSON *frames = cJSON_GetObjectItemCaseSensitive(reply, "frames");
    const char *end = vc_json_str(reply, "end");
    if (!cJSON_IsArray(frames) || end == NULL ||
        (strcmp(end, "boundary") != 0 && strcmp(end, "truncated") != 0)) {
        return false;
    }
    r->at_boundary = strcmp(end, "boundary") == 0;
    size_t n = (size_t)cJSON_GetArraySize(frames);
    r->frames = calloc(n + 1, sizeof *r->frames);
    if (r->frames == NULL) {
        return false;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, frames)
    {
        vc_got_frame *g = &r->frames[r->n++];
        const char *ferr = vc_json_str(f, "error");
        if (!vc_json_u32(f, "length", &g->hdr.length) ||
            !vc_json_u32(f, "stream_id", &g->hdr.stream_id) ||
            !vc_json_u8(f, "type", &g->hdr.type) || !vc_json_u8(f, "flags", &g->hdr.flags)) {
            return false;
        }
        if (ferr != NULL) {
            if (strcmp(ferr, "too-large") != 0) {
                r->fatal = TTRPC_E_PROTO;
                r->fatal_class = ferr;
            }
            g->too_large = true;
        } else {
            const char *hex = vc_json_str(f, "data");
            if (hex == NULL || !vc_hex_append(&g->data, hex)) {
                return false;
            }
        }
    }
    return true;
}

/* ---- one vector ---------------------------------------------------------------------------- */

typedef struct options {
    const char *exec;
    const char *only[MAX_ONLY];
    size_t n_only;
    bool whole;
    bool bytes;
    const char *known_failing;
    const char *report_dir;
    const char *name;
    int timeout_ms;
} options;

/* How one vector went, before known-failing lists and levels are applied. */
typedef enum outcome {
    OUT_PASS,
    OUT_MISMATCH,
    OUT_UNSUPPORTED,
    OUT_TESTEE_FAILED, /* died or hung on the vector: the implementation's fault */
    OUT_ERROR,         /* a reply outside the protocol, or a broken vector */
} outcome;

typedef struct vec_ctx {
    testee *t;
    const char *id;
    outcome out;
} vec_ctx;

/* Folds an exchange that went wrong into the context and the verdict. */
static void exchange_failed(vec_ctx *c, vc_verdict *v, xchg x)
{
    c->out = x == XCHG_GARBAGE ? OUT_ERROR : OUT_TESTEE_FAILED;
    v->failed = false; /* the testee's trouble is the reason, whatever came before */
    vc_fail(v, "%s", c->t->trouble);
}

/* Sends req (deleted here) and returns the reply, or NULL once the failure is folded into the
 * context and the verdict. */
static cJSON *exchange_or_fail(vec_ctx *c, vc_verdict *v, cJSON *req)
{
    cJSON *reply = NULL;
    xchg x = exchange(c->t, req, &reply);
    cJSON_Delete(req);
    if (x != XCHG_OK) {
        exchange_failed(c, v, x);
        return NULL;
    }
    return reply;
}

/* Sends a message op; the reply is compared with expect. bytes_json: the input in the vector
 * form (a hex string or segments). */
static void message_exchange(vec_ctx *c, vc_verdict *v, const char *as, cJSON *bytes_json,
                             const cJSON *expect, bool canonical)
{
    bool is_request = as != NULL && strcmp(as, "request") == 0;
    if (as == NULL || (!is_request && strcmp(as, "response") != 0)) {
        v->harness = true;
        vc_fail(v, "unknown message kind '%s'", as != NULL ? as : "(none)");
        c->out = OUT_ERROR;
        return;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "message");
    cJSON_AddStringToObject(req, "id", c->id);
    cJSON_AddStringToObject(req, "message", as);
    cJSON_AddItemReferenceToObject(req, "input", bytes_json);
    cJSON_AddBoolToObject(req, "reencode", canonical);
    cJSON *reply = exchange_or_fail(c, v, req);
    if (reply == NULL) {
        return;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "unsupported"))) {
        c->out = OUT_UNSUPPORTED;
        vc_fail(v, "the testee does not decode a %s here", as);
        cJSON_Delete(reply);
        return;
    }
    holder h = {0};
    vc_message m;
    if (!message_from_json(reply, is_request, &h, &m)) {
        c->out = OUT_ERROR;
        vc_fail(v, "testee broke the protocol: the reply is not a %s value or error", as);
    } else {
        vc_compare_message(v, &m, expect);
        if (canonical && !v->failed && m.error == NULL) {
            vc_buf in = {0};
            vc_buf again = {0};
            const char *hex = vc_json_str(reply, "reencoded");
            if (!vc_bytes_from_json(bytes_json, &in)) {
                v->harness = true;
                vc_fail(v, "bad input bytes");
            } else if (hex == NULL || !vc_hex_append(&again, hex)) {
                vc_fail(v, "canonical input, but the reply has no \"reencoded\" hex");
            } else if (again.len != in.len ||
                       (in.len != 0 && memcmp(again.data, in.data, in.len) != 0)) {
                vc_fail(v, "re-encoded %s (%zu bytes) differs from the canonical input "
                           "(%zu bytes)",
                        as, again.len, in.len);
            }
            vc_buf_free(&in);
            vc_buf_free(&again);
        }
    }
    holder_free(&h);
    cJSON_Delete(reply);
}

/* vc_compare_frames asks for a frame's data read as a message: the testee reads it. */
static void frame_message(vc_verdict *v, const char *as, size_t i, const vc_got_frame *g,
                          const cJSON *dec, void *ctx)
{
    (void)i;
    vec_ctx *c = ctx;
    if (c->out != OUT_PASS || v->failed) {
        return;
    }
    /* The frame's data as the testee returned it, in hex, as the message op's input. */
    char *hex = malloc(2 * g->data.len + 1);
    if (hex == NULL) {
        v->harness = true;
        vc_fail(v, "out of memory");
        return;
    }
    for (size_t k = 0; k < g->data.len; k++) {
        snprintf(hex + 2 * k, 3, "%02x", g->data.data[k]);
    }
    hex[2 * g->data.len] = '\0';
    cJSON *bytes = cJSON_CreateString(hex);
    free(hex);
    message_exchange(c, v, as, bytes, dec, false);
    cJSON_Delete(bytes);
}

/* README, "canonical": encoding the expected frames gives the input back byte for byte. The
 * expected frames go out as they are in the vector; the testee ignores what it does not use. */
static void run_encode(vec_ctx *c, vc_verdict *v, const cJSON *vec)
{
    cJSON *frames = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(vec, "expect"), "frames");
    const cJSON *f;
    cJSON_ArrayForEach(f, frames)
    {
        if (cJSON_GetObjectItemCaseSensitive(f, "error") != NULL) {
            return; /* an oversize report is not a frame to encode */
        }
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "encode");
    cJSON_AddStringToObject(req, "id", c->id);
    cJSON_AddItemReferenceToObject(req, "frames", frames);
    cJSON *reply = exchange_or_fail(c, v, req);
    if (reply == NULL) {
        return;
    }
    const char *hex = vc_json_str(reply, "bytes");
    const char *err = vc_json_str(reply, "error");
    vc_buf in = {0};
    vc_buf got = {0};
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "unsupported"))) {
        /* the decode verdict stands */
    } else if (err != NULL) {
        vc_fail(v, "encoding the expected frames failed: %s", err);
    } else if (hex == NULL || !vc_hex_append(&got, hex)) {
        c->out = OUT_ERROR;
        vc_fail(v, "testee broke the protocol: the encode reply has no \"bytes\" hex");
    } else if (!vc_bytes_from_json(cJSON_GetObjectItemCaseSensitive(vec, "input"), &in)) {
        v->harness = true;
        c->out = OUT_ERROR;
        vc_fail(v, "bad input bytes");
    } else if (got.len != in.len || (in.len != 0 && memcmp(got.data, in.data, in.len) != 0)) {
        size_t at = 0;
        while (at < got.len && at < in.len && got.data[at] == in.data[at]) {
            at++;
        }
        vc_fail(v, "the expected frames encode to %zu bytes that differ from the canonical "
                   "input (%zu bytes) first at offset %zu",
                got.len, in.len, at);
    }
    vc_buf_free(&in);
    vc_buf_free(&got);
    cJSON_Delete(reply);
}

static void run_decode(vec_ctx *c, vc_verdict *v, const cJSON *vec, const options *o)
{
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(vec, "expect");
    cJSON *input = cJSON_GetObjectItemCaseSensitive(vec, "input");
    static const struct {
        int chunk;
        const char *how;
    } ways[] = {{0, "fed whole"}, {1, "fed byte by byte"}};
    for (size_t w = 0; w < 2 && !v->failed && c->out == OUT_PASS; w++) {
        if ((w == 0 && !o->whole) || (w == 1 && !o->bytes)) {
            continue;
        }
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", "decode");
        cJSON_AddStringToObject(req, "id", c->id);
        cJSON_AddItemReferenceToObject(req, "input", input);
        cJSON_AddNumberToObject(req, "chunk", ways[w].chunk);
        cJSON *reply = exchange_or_fail(c, v, req);
        if (reply == NULL) {
            return;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "unsupported"))) {
            c->out = OUT_UNSUPPORTED;
            cJSON_Delete(reply);
            return;
        }
        vc_decode_run r;
        if (!decode_run_from_json(reply, &r)) {
            c->out = OUT_ERROR;
            vc_fail(v, "testee broke the protocol: the reply is not a decode result");
        } else {
            vc_compare_frames(v, &r, expect, ways[w].how, frame_message, c);
        }
        vc_decode_run_free(&r);
        cJSON_Delete(reply);
    }
    if (!v->failed && c->out == OUT_PASS && c->t->does_encode &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vec, "canonical"))) {
        run_encode(c, v, vec);
    }
}

/* {"kind": ...} as the protocol writes a delivery, into a vc_delivery. */
static bool delivery_from_json(const cJSON *j, holder *h, vc_delivery *d)
{
    memset(d, 0, sizeof d[0]);
    const char *kind = vc_json_str(j, "kind");
    if (kind == NULL) {
        return false;
    }
    if (strcmp(kind, "request") == 0) {
        d->kind = VC_DELIVERED_REQUEST;
        d->first_message = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "first_message"));
        return str_field(j, "service", &d->service) && str_field(j, "method", &d->method);
    }
    if (strcmp(kind, "data") == 0) {
        d->kind = VC_DELIVERED_DATA;
        d->last = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "last"));
        return hex_field(j, "data", h, &d->data);
    }
    int64_t code;
    if (strcmp(kind, "response") != 0 ||
        !vc_json_int(cJSON_GetObjectItemCaseSensitive(j, "status_code"), INT32_MIN, INT32_MAX,
                     &code)) {
        return false;
    }
    d->kind = VC_DELIVERED_RESPONSE;
    d->status_code = (int32_t)code;
    return hex_field(j, "payload", h, &d->payload);
}

/* One step's reply against the step's expectation. */
static void compare_step(vec_ctx *c, vc_verdict *v, const cJSON *reply, const cJSON *expect,
                         uint32_t id, size_t n)
{
    const char *error = vc_json_str(reply, "error");
    if (error != NULL) {
        vc_fail(v, "step %zu: the testee reports an error: %s", n, error);
        return;
    }
    const char *action = vc_json_str(reply, "action");
    const char *state = vc_json_str(reply, "state");
    const char *emit_hex = vc_json_str(reply, "emit");
    const cJSON *delivered = cJSON_GetObjectItemCaseSensitive(reply, "delivered");
    vc_buf emitted = {0};
    if (action == NULL || state == NULL || emit_hex == NULL ||
        !vc_hex_append(&emitted, emit_hex) || (delivered != NULL && !cJSON_IsArray(delivered))) {
        c->out = OUT_ERROR;
        vc_fail(v, "testee broke the protocol: step %zu: the reply is not a step result", n);
        vc_buf_free(&emitted);
        return;
    }
    const cJSON *want_delivered = cJSON_GetObjectItemCaseSensitive(expect, "delivered");
    const cJSON *dj;
    cJSON_ArrayForEach(dj, delivered)
    {
        holder h = {0};
        vc_delivery d;
        if (!delivery_from_json(dj, &h, &d)) {
            c->out = OUT_ERROR;
            vc_fail(v, "testee broke the protocol: step %zu: a delivery is malformed", n);
        } else {
            vc_compare_delivered(v, &d, want_delivered, n);
        }
        holder_free(&h);
    }
    vc_compare_emitted(v, emitted.data, emitted.len,
                       cJSON_GetObjectItemCaseSensitive(expect, "emit"), n);
    vc_buf_free(&emitted);
    const char *want_action = vc_json_str(expect, "action");
    const char *want_state = vc_json_str(expect, "state");
    if (want_action == NULL || strcmp(action, want_action) != 0) {
        vc_fail(v, "step %zu: action %s, want %s", n, action, want_action);
    }
    if (want_state == NULL || strcmp(state, want_state) != 0) {
        vc_fail(v, "step %zu: stream %u state %s, want %s", n, id, state, want_state);
    }
}

/* A sequence vector: a session op, then one step op per step, for each chunking. */
static void run_sequence(vec_ctx *c, vc_verdict *v, const cJSON *vec, const cJSON *file_methods,
                         const options *o)
{
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(vec, "methods");
    cJSON *methods = (cJSON *)(own != NULL ? own : file_methods);
    static const struct {
        int chunk;
        const char *how;
    } ways[] = {{0, "fed whole"}, {1, "fed byte by byte"}};
    for (size_t w = 0; w < 2 && !v->failed && c->out == OUT_PASS; w++) {
        if ((w == 0 && !o->whole) || (w == 1 && !o->bytes)) {
            continue;
        }
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", "session");
        cJSON_AddStringToObject(req, "id", c->id);
        cJSON_AddStringToObject(req, "role", vc_json_str(vec, "role"));
        if (methods != NULL) {
            cJSON_AddItemReferenceToObject(req, "methods", methods);
        } else {
            cJSON_AddArrayToObject(req, "methods");
        }
        cJSON_AddNumberToObject(req, "chunk", ways[w].chunk);
        cJSON *reply = exchange_or_fail(c, v, req);
        if (reply == NULL) {
            return;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "unsupported"))) {
            c->out = OUT_UNSUPPORTED;
            cJSON_Delete(reply);
            return;
        }
        if (vc_json_str(reply, "error") != NULL) {
            vc_fail(v, "%s: the testee cannot open the session: %s", ways[w].how,
                    vc_json_str(reply, "error"));
        }
        cJSON_Delete(reply);
        size_t n = 0;
        const cJSON *st;
        cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(vec, "steps"))
        {
            if (v->failed || c->out != OUT_PASS) {
                break;
            }
            n++;
            const cJSON *expect = cJSON_GetObjectItemCaseSensitive(st, "expect");
            uint32_t id;
            if (vc_json_str(st, "dir") == NULL || !vc_json_u32(expect, "stream_id", &id)) {
                v->harness = true;
                vc_fail(v, "step %zu is malformed", n);
                break;
            }
            req = cJSON_CreateObject();
            cJSON_AddStringToObject(req, "op", "step");
            cJSON_AddStringToObject(req, "id", c->id);
            cJSON_AddStringToObject(req, "dir", vc_json_str(st, "dir"));
            cJSON_AddItemReferenceToObject(req, "bytes",
                                           cJSON_GetObjectItemCaseSensitive(st, "bytes"));
            cJSON_AddNumberToObject(req, "stream_id", id);
            reply = exchange_or_fail(c, v, req);
            if (reply == NULL) {
                return;
            }
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "unsupported"))) {
                c->out = OUT_UNSUPPORTED;
                vc_fail(v, "step %zu: the testee cannot play this step", n);
            } else {
                vc_verdict sv = {0};
                compare_step(c, &sv, reply, expect, id, n);
                if (sv.failed) {
                    vc_fail(v, "%s: %s", ways[w].how, sv.why);
                    v->harness = sv.harness;
                }
            }
            cJSON_Delete(reply);
        }
    }
}

/* ---- results and reports ------------------------------------------------------------------- */

typedef struct result {
    char *id;
    const char *kind;
    const char *level;
    tc_verdict verdict;
    char *why;                /* "" on PASS */
    const char *known_reason; /* from --known-failing */
    uint64_t elapsed_ms;
} result;

typedef struct run {
    result *r;
    size_t n;
    unsigned counts[TC_V_COUNT];
} run;

static char *utc_now(char *out, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static bool write_json_report(const run *rn, const options *o, const testee *t,
                              const char *started, uint64_t elapsed, const char *path)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "schema_version", 1);
    cJSON_AddStringToObject(doc, "kind", "vectors");
    cJSON_AddStringToObject(doc, "name", o->name);
    cJSON_AddStringToObject(doc, "testee", o->exec);
    cJSON_AddStringToObject(doc, "testee_name", t->name);
    cJSON_AddStringToObject(doc, "testee_version", t->version);
    cJSON_AddStringToObject(doc, "testee_stderr", t->stderr_path);
    cJSON_AddStringToObject(doc, "started", started);
    cJSON_AddNumberToObject(doc, "elapsed_ms", (double)elapsed);
    cJSON_AddNumberToObject(doc, "testee_starts", t->starts);
    cJSON *counts = cJSON_AddObjectToObject(doc, "counts");
    for (int v = 0; v < TC_V_COUNT; v++) {
        cJSON_AddNumberToObject(counts, tc_verdict_name((tc_verdict)v), rn->counts[v]);
    }
    cJSON *results = cJSON_AddArrayToObject(doc, "results");
    for (size_t i = 0; i < rn->n; i++) {
        const result *r = &rn->r[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", r->id);
        cJSON_AddStringToObject(j, "kind", r->kind);
        cJSON_AddStringToObject(j, "level", r->level);
        cJSON_AddStringToObject(j, "verdict", tc_verdict_name(r->verdict));
        if (r->why[0] != '\0') {
            cJSON_AddStringToObject(j, "reason", r->why);
        }
        if (r->known_reason != NULL) {
            cJSON_AddStringToObject(j, "known_reason", r->known_reason);
        }
        cJSON_AddNumberToObject(j, "elapsed_ms", (double)r->elapsed_ms);
        cJSON_AddItemToArray(results, j);
    }
    char *text = cJSON_Print(doc);
    bool ok = text != NULL && write_text(path, text);
    free(text);
    cJSON_Delete(doc);
    return ok;
}

static bool write_junit_report(const run *rn, const options *o, uint64_t elapsed,
                               const char *path)
{
    tc_buf b = {0};
    unsigned failures = rn->counts[TC_V_FAIL] + rn->counts[TC_V_XPASS];
    ttrpc_err rc = tc_buf_printf(&b,
                                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
                                 "<testsuite name=\"vectors-");
    rc = rc == TTRPC_OK ? tc_xml_escape(&b, o->name) : rc;
    rc = rc == TTRPC_OK ? tc_buf_printf(&b,
                                        "\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" "
                                        "skipped=\"%u\" time=\"%.3f\">\n",
                                        rn->n, failures, rn->counts[TC_V_ERROR],
                                        rn->counts[TC_V_UNSUPPORTED] + rn->counts[TC_V_XFAIL],
                                        (double)elapsed / 1000.0)
                        : rc;
    for (size_t i = 0; i < rn->n && rc == TTRPC_OK; i++) {
        const result *r = &rn->r[i];
        const char *slash = strchr(r->id, '/');
        int area_len = slash != NULL ? (int)(slash - r->id) : (int)strlen(r->id);
        rc = tc_buf_printf(&b, "  <testcase classname=\"vectors.%.*s\" name=\"", area_len, r->id);
        rc = rc == TTRPC_OK ? tc_xml_escape(&b, r->id) : rc;
        rc = rc == TTRPC_OK ? tc_buf_printf(&b, "\" time=\"%.3f\">",
                                            (double)r->elapsed_ms / 1000.0)
                            : rc;
        const char *tag = NULL;
        switch (r->verdict) {
        case TC_V_FAIL:
        case TC_V_XPASS:
            tag = "failure";
            break;
        case TC_V_ERROR:
            tag = "error";
            break;
        case TC_V_UNSUPPORTED:
        case TC_V_XFAIL:
            tag = "skipped";
            break;
        default:
            break;
        }
        if (tag != NULL && rc == TTRPC_OK) {
            rc = tc_buf_printf(&b, "<%s message=\"%s: ", tag, tc_verdict_name(r->verdict));
            rc = rc == TTRPC_OK ? tc_xml_escape(&b, r->why) : rc;
            rc = rc == TTRPC_OK ? tc_buf_printf(&b, "\"/>") : rc;
        } else if (rc == TTRPC_OK && r->why[0] != '\0') {
            rc = tc_buf_printf(&b, "<system-out>%s: ", tc_verdict_name(r->verdict));
            rc = rc == TTRPC_OK ? tc_xml_escape(&b, r->why) : rc;
            rc = rc == TTRPC_OK ? tc_buf_printf(&b, "</system-out>") : rc;
        }
        rc = rc == TTRPC_OK ? tc_buf_printf(&b, "</testcase>\n") : rc;
    }
    rc = rc == TTRPC_OK ? tc_buf_printf(&b, "</testsuite>\n</testsuites>\n") : rc;
    bool ok = rc == TTRPC_OK && write_text(path, tc_buf_str(&b));
    tc_buf_free(&b);
    return ok;
}

/* ---- the run ------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ttrpc-conform vectors --exec CMD [--only PREFIX]...\n"
            "        [--chunking whole|bytes|both] [--known-failing FILE] [--report-dir DIR]\n"
            "        [--name LABEL] [--timeout-ms N] [FILE.json...]\n"
            "\n"
            "Plays the golden vectors (default: vectors/*.json) to a testee process that\n"
            "speaks the testee protocol on stdin/stdout (vectors/README.md): decode and\n"
            "message vectors, and sequence vectors in the roles it declares (protocol %d).\n"
            "\n"
            "  --exec CMD           the testee, run by /bin/sh once and again after it dies,\n"
            "                       hangs or breaks the protocol; its stderr is appended to\n"
            "                       DIR/vectors-LABEL.stderr\n"
            "  --only PREFIX        vectors whose id starts with PREFIX (repeatable)\n"
            "  --chunking MODE      decode inputs and inbound steps fed whole, 1 byte at a\n"
            "                       time, or both (default)\n"
            "  --known-failing FILE lines 'vector-id  reason': failures there are XFAIL, a pass\n"
            "                       is XPASS (fails the run unless the reason starts 'flaky:')\n"
            "  --report-dir DIR     where vectors-LABEL.json and .xml go (default build/reports)\n"
            "  --name LABEL         the testee's name in reports (default: testee)\n"
            "  --timeout-ms N       the longest wait for one reply (default 10000)\n"
            "\n"
            "Verdicts: PASS, FAIL (a MUST or SHOULD mismatch, or the testee died or hung on\n"
            "the vector), INFO (an IMPLEMENTATION-DEFINED mismatch), UNSUPPORTED, ERROR (a reply\n"
            "outside the protocol, or a broken vector), XFAIL, XPASS.\n"
            "Exit status: 0 all as expected, 1 failures, 2 could not run.\n",
            PROTOCOL_VERSION);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '" PROG " --help'.\n");
    return EXIT_CANT_RUN;
}

static bool selected(const options *o, const char *id)
{
    if (o->n_only == 0) {
        return true;
    }
    for (size_t i = 0; i < o->n_only; i++) {
        if (strncmp(id, o->only[i], strlen(o->only[i])) == 0) {
            return true;
        }
    }
    return false;
}

static bool add_result(run *rn, const char *id, const char *kind, const char *level,
                       tc_verdict verdict, const char *why, const char *known,
                       uint64_t elapsed)
{
    result *p = realloc(rn->r, (rn->n + 1) * sizeof *p);
    if (p == NULL) {
        return false;
    }
    rn->r = p;
    result *r = &rn->r[rn->n++];
    r->id = strdup(id);
    r->kind = kind;
    r->level = level;
    r->verdict = verdict;
    r->why = strdup(why);
    r->known_reason = known;
    r->elapsed_ms = elapsed;
    rn->counts[verdict]++;
    printf("%-11s %s%s%s\n", tc_verdict_name(verdict), id, why[0] != '\0' ? ": " : "", why);
    fflush(stdout);
    return r->id != NULL && r->why != NULL;
}

/* Every selected vector of one file. false: the file could not be read (exit 2). */
static bool run_file(const options *o, testee *t, const tc_known *known, const char *path,
                     run *rn, bool *give_up)
{
    size_t len = 0;
    char *text = vc_read_file(path, &len);
    if (text == NULL) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return false;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *vectors = cJSON_GetObjectItemCaseSensitive(doc, "vectors");
    if (!cJSON_IsArray(vectors)) {
        fprintf(stderr, PROG ": %s: not a vector file\n", path);
        cJSON_Delete(doc);
        return false;
    }
    const cJSON *file_methods = cJSON_GetObjectItemCaseSensitive(doc, "methods");
    const cJSON *vec;
    cJSON_ArrayForEach(vec, vectors)
    {
        const char *id = vc_json_str(vec, "id");
        const char *kind = vc_json_str(vec, "kind");
        const char *level = vc_json_str(vec, "level");
        if (id == NULL || kind == NULL || level == NULL || !selected(o, id)) {
            continue;
        }
        static const char *const kinds[] = {"decode", "message", "sequence"};
        static const char *const levels[] = {"MUST", "SHOULD", "IMPLEMENTATION-DEFINED"};
        size_t k = 0;
        while (k < 3 && strcmp(kind, kinds[k]) != 0) {
            k++;
        }
        size_t l = 0;
        while (l < 3 && strcmp(level, levels[l]) != 0) {
            l++;
        }
        const char *role = vc_json_str(vec, "role");
        bool is_server = role != NULL && strcmp(role, "server") == 0;
        uint64_t t0 = now_ms();
        vc_verdict v = {0};
        vec_ctx c = {.t = t, .id = id, .out = OUT_PASS};
        if (t->pid == 0) {
            char err[300];
            if (!testee_start(t, err, sizeof err)) {
                /* Never started, or three restarts in a row failed: nothing more to learn. */
                if (!t->answered_hello || ++t->failed_starts == 3) {
                    fprintf(stderr, PROG ": cannot start the testee: %s\n", err);
                    *give_up = true;
                    break;
                }
                c.out = OUT_ERROR;
                vc_fail(&v, "cannot restart the testee: %s", err);
            } else {
                t->failed_starts = 0;
            }
        }
        if (c.out != OUT_PASS) {
            /* no testee: the verdict is already set */
        } else if (k == 3 || l == 3) {
            v.harness = true;
            c.out = OUT_ERROR;
            vc_fail(&v, "the vector has an unknown kind or level");
        } else if ((k == 0 && !t->does_decode) || (k == 1 && !t->does_message)) {
            c.out = OUT_UNSUPPORTED;
        } else if (k == 2 && !(is_server ? t->does_server : t->does_client)) {
            c.out = OUT_UNSUPPORTED;
        } else if (k == 0) {
            run_decode(&c, &v, vec, o);
        } else if (k == 2) {
            run_sequence(&c, &v, vec, file_methods, o);
        } else {
            message_exchange(&c, &v, vc_json_str(vec, "message"),
                             cJSON_GetObjectItemCaseSensitive(vec, "input"),
                             cJSON_GetObjectItemCaseSensitive(vec, "expect"),
                             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vec, "canonical")));
        }
        if (c.out == OUT_PASS && v.harness) {
            c.out = OUT_ERROR;
        } else if (c.out == OUT_PASS && v.failed) {
            c.out = OUT_MISMATCH;
        }
        tc_verdict verdict;
        switch (c.out) {
        case OUT_PASS:
            verdict = TC_V_PASS;
            break;
        case OUT_MISMATCH:
            verdict = l == 2 ? TC_V_INFO : TC_V_FAIL;
            break;
        case OUT_UNSUPPORTED:
            verdict = TC_V_UNSUPPORTED;
            break;
        case OUT_TESTEE_FAILED:
            verdict = TC_V_FAIL;
            break;
        default:
            verdict = TC_V_ERROR;
            break;
        }
        const char *reason = tc_known_reason(known, id);
        if (reason != NULL && (verdict == TC_V_FAIL || verdict == TC_V_ERROR ||
                               verdict == TC_V_INFO)) {
            verdict = TC_V_XFAIL;
        } else if (reason != NULL && verdict == TC_V_PASS && !tc_known_is_flaky(reason)) {
            verdict = TC_V_XPASS;
            snprintf(v.why, sizeof v.why, "listed as known-failing (%s) but passes", reason);
        }
        if (!add_result(rn, id, kinds[k], levels[l], verdict, v.failed || verdict == TC_V_XPASS
                                                                     ? v.why
                                                                     : "",
                        reason, now_ms() - t0)) {
            fprintf(stderr, PROG ": out of memory\n");
            *give_up = true;
            break;
        }
    }
    cJSON_Delete(doc);
    return true;
}

int tc_vectors_main(int argc, char **argv)
{
    options o = {.whole = true,
                 .bytes = true,
                 .report_dir = "build/reports",
                 .name = "testee",
                 .timeout_ms = 10000};
    static const struct option longopts[] = {
        {"exec", required_argument, NULL, 'e'},
        {"only", required_argument, NULL, 'o'},
        {"chunking", required_argument, NULL, 'c'},
        {"known-failing", required_argument, NULL, 'k'},
        {"report-dir", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'n'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'e':
            o.exec = optarg;
            break;
        case 'o':
            if (o.n_only == MAX_ONLY) {
                return usage_error("%s", "too many --only prefixes");
            }
            o.only[o.n_only++] = optarg;
            break;
        case 'c':
            if (strcmp(optarg, "whole") == 0) {
                o.bytes = false;
            } else if (strcmp(optarg, "bytes") == 0) {
                o.whole = false;
            } else if (strcmp(optarg, "both") != 0) {
                return usage_error("--chunking %s: expected whole, bytes or both", optarg);
            }
            break;
        case 'k':
            o.known_failing = optarg;
            break;
        case 'r':
            o.report_dir = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 't': {
            char *end = NULL;
            long ms = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || ms < 1 || ms > 600000) {
                return usage_error("--timeout-ms %s: expected 1 to 600000", optarg);
            }
            o.timeout_ms = (int)ms;
            break;
        }
        case 'h':
            usage(stdout);
            return EXIT_AS_EXPECTED;
        case ':':
            return usage_error("%s needs an argument", argv[optind - 1]);
        default:
            return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (o.exec == NULL) {
        return usage_error("%s", "--exec CMD is required");
    }
    tc_known known = {0};
    if (o.known_failing != NULL) {
        size_t bad_line = 0;
        if (tc_known_load(o.known_failing, &known, &bad_line) != TTRPC_OK) {
            fprintf(stderr, PROG ": cannot read %s (line %zu)\n", o.known_failing, bad_line);
            return EXIT_CANT_RUN;
        }
    }
    glob_t g;
    memset(&g, 0, sizeof g);
    char **files = argv + optind;
    size_t n_files = (size_t)(argc - optind);
    if (n_files == 0) {
        if (glob("vectors/*.json", 0, NULL, &g) != 0) {
            fprintf(stderr, PROG ": no vectors/*.json here (run from the repository root, or "
                            "name the files)\n");
            tc_known_free(&known);
            return EXIT_CANT_RUN;
        }
        files = g.gl_pathv;
        n_files = g.gl_pathc;
    }
    if (mkdir(o.report_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", o.report_dir, strerror(errno));
        globfree(&g);
        tc_known_free(&known);
        return EXIT_CANT_RUN;
    }
    char stderr_path[4096], json_path[4096], xml_path[4096];
    snprintf(stderr_path, sizeof stderr_path, "%s/vectors-%s.stderr", o.report_dir, o.name);
    snprintf(json_path, sizeof json_path, "%s/vectors-%s.json", o.report_dir, o.name);
    snprintf(xml_path, sizeof xml_path, "%s/vectors-%s.xml", o.report_dir, o.name);
    (void)unlink(stderr_path);
    (void)signal(SIGPIPE, SIG_IGN);

    testee t = {.cmd = o.exec, .stderr_path = stderr_path, .timeout_ms = o.timeout_ms};
    snprintf(t.name, sizeof t.name, "?");
    snprintf(t.version, sizeof t.version, "?");
    run rn = {0};
    char started[32];
    utc_now(started, sizeof started);
    uint64_t t0 = now_ms();
    bool files_ok = true;
    bool give_up = false;
    for (size_t i = 0; i < n_files && !give_up; i++) {
        if (strcmp(strrchr(files[i], '/') != NULL ? strrchr(files[i], '/') + 1 : files[i],
                   "schema.json") == 0) {
            continue;
        }
        files_ok = run_file(&o, &t, &known, files[i], &rn, &give_up) && files_ok;
    }
    testee_stop(&t, NULL, 0, 2000); /* stdin closed: a testee ends by itself */
    uint64_t elapsed = now_ms() - t0;
    bool reports = write_json_report(&rn, &o, &t, started, elapsed, json_path) &&
                   write_junit_report(&rn, &o, elapsed, xml_path);
    bool ok = true;
    printf("%s: %zu vectors:", o.name, rn.n);
    for (int v = 0; v < TC_V_COUNT; v++) {
        if (rn.counts[v] != 0) {
            printf(" %u %s", rn.counts[v], tc_verdict_name((tc_verdict)v));
        }
    }
    for (size_t i = 0; i < rn.n; i++) {
        ok = ok && tc_verdict_ok(rn.r[i].verdict);
        free(rn.r[i].id);
        free(rn.r[i].why);
    }
    printf("; testee started %u times; reports in %s/vectors-%s."
           "{json,xml}\n",
           t.starts, o.report_dir, o.name);
    free(rn.r);
    globfree(&g);
    tc_known_free(&known);
    if (!reports) {
        fprintf(stderr, PROG ": cannot write the reports into %s\n", o.report_dir);
    }
    if (give_up || !files_ok || !reports) {
        return EXIT_CANT_RUN;
    }
    return ok ? EXIT_AS_EXPECTED : EXIT_FAILURES;
}
