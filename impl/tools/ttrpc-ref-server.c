/* ttrpc-ref-server: the C reference server of the conformance suite. Serves
 * ttrpc.conformance.v1.Echo as conformance/proto/echo.proto documents it, on a Unix socket it
 * creates (--listen unix:PATH) or inherits (--fd N). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "echo.pb-c.h"
#include "ttrpc/msg.h"
#include "ttrpc/server.h"

#define PROG "ttrpc-ref-server"
#define SERVICE "ttrpc.conformance.v1.Echo"

enum { EXIT_SERVE_FAILED = 1, EXIT_CANT_RUN = 2 };

/* ---- decoding the methods' messages ---- */

/* protobuf-c unpacks through this allocator, capped at a multiple of the input size: peer
 * bytes must not be able to ask for more memory than they are worth. A header in front of
 * each block remembers its size for the budget. */
/* Echo validates every payload by unpacking it: a fresh multi-MiB block per call costs a page
 * fault per 4 KiB, more than the copy itself. The largest such block is kept for the next
 * call (one per server: handlers run on the loop thread). */
#define SPARE_MIN 65536u

typedef struct spare_block {
    void *block;
    size_t size; /* usable bytes after the header */
} spare_block;

typedef struct budget {
    size_t left;
    spare_block *spare; /* NULL: every block is malloc'd and freed */
} budget;

typedef struct block_header {
    alignas(max_align_t) size_t size;
} block_header;

static void *budget_alloc(void *ctx, size_t size)
{
    budget *b = ctx;
    if (size > b->left || b->left - size < sizeof(block_header)) {
        return NULL;
    }
    spare_block *sp = b->spare;
    if (sp != NULL && sp->block != NULL && size >= SPARE_MIN && sp->size >= size &&
        sp->size <= b->left - sizeof(block_header)) {
        block_header *h = sp->block;
        h->size = sp->size;
        sp->block = NULL;
        sp->size = 0;
        b->left -= h->size + sizeof *h;
        return h + 1;
    }
    block_header *h = malloc(sizeof *h + size);
    if (h == NULL) {
        return NULL;
    }
    h->size = size;
    b->left -= size + sizeof *h;
    return h + 1;
}

static void budget_free(void *ctx, void *ptr)
{
    budget *b = ctx;
    if (ptr == NULL) {
        return;
    }
    block_header *h = (block_header *)ptr - 1;
    b->left += h->size + sizeof *h;
    spare_block *sp = b->spare;
    if (sp != NULL && h->size >= SPARE_MIN && h->size > sp->size) {
        free(sp->block);
        sp->block = h;
        sp->size = h->size;
        return;
    }
    free(h);
}

static size_t budget_for(size_t input_len)
{
    return 2 * input_len + 4096;
}

/* True when payload is a valid Bytes message. */
static bool bytes_valid(ttrpc_bytes payload, spare_block *spare)
{
    budget b = {budget_for(payload.len), spare};
    ProtobufCAllocator a = {budget_alloc, budget_free, &b};
    Ttrpc__Conformance__V1__Bytes *m =
        ttrpc__conformance__v1__bytes__unpack(&a, payload.len, payload.data);
    if (m == NULL) {
        return false;
    }
    ttrpc__conformance__v1__bytes__free_unpacked(m, &a);
    return true;
}

static bool count_decode(ttrpc_bytes payload, uint64_t *value)
{
    budget b = {budget_for(payload.len), NULL};
    ProtobufCAllocator a = {budget_alloc, budget_free, &b};
    Ttrpc__Conformance__V1__Count *m =
        ttrpc__conformance__v1__count__unpack(&a, payload.len, payload.data);
    if (m == NULL) {
        return false;
    }
    *value = m->has_value ? m->value : 0;
    ttrpc__conformance__v1__count__free_unpacked(m, &a);
    return true;
}

/* Canonical proto3 form, as Go's UInt64Value: the field is omitted when 0. At most 11 bytes. */
static size_t count_encode(uint64_t value, uint8_t out[16])
{
    Ttrpc__Conformance__V1__Count m = TTRPC__CONFORMANCE__V1__COUNT__INIT;
    m.has_value = value != 0;
    m.value = value;
    return ttrpc__conformance__v1__count__pack(&m, out);
}

static void respond_or_log(ttrpc_call *call, int32_t code, const char *message,
                           const uint8_t *payload, size_t len)
{
    ttrpc_err rc = ttrpc_call_respond(call, code, message, payload, len);
    if (rc != TTRPC_OK && rc != TTRPC_E_CLOSED) {
        fprintf(stderr, "%s: stream %u: cannot respond: %s\n", PROG,
                (unsigned)ttrpc_call_stream_id(call), ttrpc_strerror(rc));
        if (rc == TTRPC_E_TOO_LARGE) {
            rc = ttrpc_call_respond(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "result too large",
                                    NULL, 0);
            (void)rc; /* the call has ended either way */
        }
    }
}

static void invalid_argument(ttrpc_call *call, const char *what)
{
    respond_or_log(call, TTRPC_CODE_INVALID_ARGUMENT, what, NULL, 0);
}

/* ---- faults (--fault NAME): deliberate bugs that prove the conformance cases catch them ---- */

typedef enum fault {
    FAULT_NONE = 0,
    FAULT_ANSWER_EVEN_IDS,    /* serve Requests on even stream ids */
    FAULT_WRONG_UNKNOWN_CODE, /* NOT_FOUND (5) instead of UNIMPLEMENTED (12) */
    FAULT_NO_OVERSIZE_ANSWER, /* close the connection instead of answering code 8 */
    FAULT_ECHO_CORRUPT,       /* Echo flips the last byte of the payload */
    FAULT_IGNORE_DEADLINE,    /* timeout_nano is not enforced */
    FAULT_HANG_ON_SLEEP,      /* Sleep blocks the whole server forever */
    FAULT_CRASH_ON_CODE_99,   /* Fail asked for code 99 aborts the process */
    FAULT_DATA_AFTER_RESPONSE,/* a Data frame follows the Response of Echo and ClientStream
                               * on the same stream (wire level: see fault_proxy) */
    FAULT_BIDI_NO_END,        /* BidiStream never ends its side after the client's close */
    FAULT_CLIENT_STREAM_EARLY,/* ClientStream answers after the first message, not the close */
} fault;

static const struct {
    const char *name;
    fault f;
} g_faults[] = {
    {"answer-even-ids", FAULT_ANSWER_EVEN_IDS},
    {"wrong-unknown-code", FAULT_WRONG_UNKNOWN_CODE},
    {"no-oversize-answer", FAULT_NO_OVERSIZE_ANSWER},
    {"echo-corrupt", FAULT_ECHO_CORRUPT},
    {"ignore-deadline", FAULT_IGNORE_DEADLINE},
    {"hang-on-sleep", FAULT_HANG_ON_SLEEP},
    {"crash-on-code-99", FAULT_CRASH_ON_CODE_99},
    {"data-after-response", FAULT_DATA_AFTER_RESPONSE},
    {"bidi-no-end", FAULT_BIDI_NO_END},
    {"client-stream-early", FAULT_CLIENT_STREAM_EARLY},
};

static fault g_fault;

/* ---- unary methods ---- */

static void echo_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    if (!bytes_valid(req->payload, ttrpc_call_handler_arg(call))) {
        invalid_argument(call, "payload is not a ttrpc.conformance.v1.Bytes");
        return;
    }
    if (g_fault == FAULT_ECHO_CORRUPT && req->payload.len > 0) {
        uint8_t *copy = malloc(req->payload.len);
        if (copy != NULL) {
            memcpy(copy, req->payload.data, req->payload.len);
            copy[req->payload.len - 1] ^= 0x01;
            respond_or_log(call, TTRPC_CODE_OK, NULL, copy, req->payload.len);
            free(copy);
            return;
        }
    }
    respond_or_log(call, TTRPC_CODE_OK, NULL, req->payload.data, req->payload.len);
}

static void fail_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, budget_for(req->payload.len));
    ttrpc_status st;
    if (ttrpc_status_decode(req->payload.data, req->payload.len, &arena, &st) != TTRPC_OK) {
        ttrpc_msg_arena_reset(&arena);
        invalid_argument(call, "payload is not a google.rpc.Status");
        return;
    }
    if (g_fault == FAULT_CRASH_ON_CODE_99 && st.code == 99) {
        fprintf(stderr, "%s: --fault crash-on-code-99: aborting\n", PROG);
        abort();
    }
    if (st.code == TTRPC_CODE_OK) {
        respond_or_log(call, TTRPC_CODE_OK, NULL, NULL, 0); /* an empty Bytes */
    } else {
        /* Passed through as given: code, message and details. */
        ttrpc_err rc = ttrpc_call_respond_status(call, &st, NULL, 0);
        if (rc == TTRPC_E_TOO_LARGE) {
            respond_or_log(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "status too large", NULL, 0);
        }
    }
    ttrpc_msg_arena_reset(&arena);
}

/* Bytewise order, a shorter prefix first: Go's sort.Strings. */
static int bytes_compare(const void *a, const void *b)
{
    const ttrpc_bytes *x = a;
    const ttrpc_bytes *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n > 0 ? memcmp(x->data, y->data, n) : 0;
    if (c != 0) {
        return c;
    }
    return x->len < y->len ? -1 : x->len > y->len;
}

static void metadata_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    if (!bytes_valid(req->payload, ttrpc_call_handler_arg(call))) {
        invalid_argument(call, "payload is not a ttrpc.conformance.v1.Bytes");
        return;
    }
    size_t n = req->n_metadata;
    size_t text = 0;
    for (size_t i = 0; i < n; i++) {
        text += req->metadata[i].key.len + 1 + req->metadata[i].value.len;
    }
    ttrpc_bytes *items = calloc(n + 1, sizeof *items);
    uint8_t *chars = malloc(text + 1);
    uint8_t *out = NULL;
    if (items == NULL || chars == NULL) {
        goto no_memory;
    }
    uint8_t *cursor = chars;
    for (size_t i = 0; i < n; i++) {
        const ttrpc_kv *kv = &req->metadata[i];
        items[i].data = cursor;
        items[i].len = kv->key.len + 1 + kv->value.len;
        if (kv->key.len > 0) {
            memcpy(cursor, kv->key.data, kv->key.len);
        }
        cursor[kv->key.len] = '=';
        if (kv->value.len > 0) {
            memcpy(cursor + kv->key.len + 1, kv->value.data, kv->value.len);
        }
        cursor += items[i].len;
    }
    qsort(items, n, sizeof *items, bytes_compare);
    ttrpc_string_list list = {.items = items, .n_items = n};
    size_t size = 0;
    size_t written = 0;
    if (ttrpc_string_list_encoded_size(&list, &size) != TTRPC_OK ||
        (out = malloc(size + 1)) == NULL ||
        ttrpc_string_list_encode(&list, out, size + 1, &written) != TTRPC_OK) {
        goto no_memory;
    }
    respond_or_log(call, TTRPC_CODE_OK, NULL, out, written);
    free(out);
    free(chars);
    free(items);
    return;
no_memory:
    free(out);
    free(chars);
    free(items);
    respond_or_log(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "cannot build the metadata list", NULL,
                   0);
}

/* Sleep: the call waits on a handler timer; the server's deadline cancels it first. */
typedef struct sleep_state {
    ttrpc_call *call;
    ttrpc_server_timer *timer;
} sleep_state;

static void sleep_done(void *arg)
{
    sleep_state *st = arg;
    st->timer = NULL; /* freed by the server once this returns */
    respond_or_log(st->call, TTRPC_CODE_OK, NULL, NULL, 0);
}

static void sleep_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    (void)first;
    uint64_t ms = 0;
    if (!count_decode(req->payload, &ms)) {
        invalid_argument(call, "payload is not a ttrpc.conformance.v1.Count");
        return;
    }
    if (g_fault == FAULT_HANG_ON_SLEEP) {
        fprintf(stderr, "%s: --fault hang-on-sleep: blocking the loop\n", PROG);
        for (;;) {
            pause(); /* the loop thread never returns: every connection stalls */
        }
    }
    sleep_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        respond_or_log(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
        return;
    }
    st->call = call;
    ttrpc_call_set_user(call, st, free);
    if (ttrpc_server_timer_start(ttrpc_call_server(call), ms, sleep_done, st, &st->timer) !=
        TTRPC_OK) {
        respond_or_log(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
    }
}

static void sleep_cancel(ttrpc_call *call, ttrpc_cancel_reason why)
{
    (void)why;
    sleep_state *st = ttrpc_call_user(call);
    if (st != NULL && st->timer != NULL) {
        ttrpc_server_timer_cancel(ttrpc_call_server(call), st->timer);
        st->timer = NULL;
    }
}

/* ---- streaming methods ---- */

/* ServerStream: Count 0 .. value-1, sent until the connection's output is full and resumed
 * from on_writable, so a client that reads slowly holds the server back, not its memory. */
typedef struct count_state {
    uint64_t next;
    uint64_t total;
    uint64_t sum;
    bool answered; /* --fault client-stream-early: the Response has gone */
} count_state;

static void server_stream_pump(ttrpc_call *call)
{
    count_state *st = ttrpc_call_user(call);
    while (st->next < st->total) {
        uint8_t buf[16];
        size_t len = count_encode(st->next, buf);
        ttrpc_err rc = ttrpc_call_send(call, buf, len);
        if (rc == TTRPC_E_AGAIN) {
            return; /* on_writable calls us again */
        }
        if (rc != TTRPC_OK) {
            respond_or_log(call, TTRPC_CODE_INTERNAL, ttrpc_strerror(rc), NULL, 0);
            return;
        }
        st->next++;
    }
    ttrpc_err rc = ttrpc_call_finish(call);
    if (rc != TTRPC_OK && rc != TTRPC_E_AGAIN) {
        respond_or_log(call, TTRPC_CODE_INTERNAL, ttrpc_strerror(rc), NULL, 0);
    }
}

static void server_stream_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    uint64_t total = 0;
    if (first && !count_decode(req->payload, &total)) {
        invalid_argument(call, "payload is not a ttrpc.conformance.v1.Count");
        return;
    }
    count_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        respond_or_log(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
        return;
    }
    st->total = total;
    ttrpc_call_set_user(call, st, free);
    server_stream_pump(call);
}

static void client_stream_add(ttrpc_call *call, ttrpc_bytes msg)
{
    count_state *st = ttrpc_call_user(call);
    uint64_t value = 0;
    if (st->answered) {
        return;
    }
    if (!count_decode(msg, &value)) {
        invalid_argument(call, "message is not a ttrpc.conformance.v1.Count");
        return;
    }
    st->sum += value; /* wraps modulo 2^64, as Go's uint64 does */
    if (g_fault == FAULT_CLIENT_STREAM_EARLY && !st->answered) {
        st->answered = true;
        uint8_t buf[16];
        size_t len = count_encode(st->sum, buf);
        respond_or_log(call, TTRPC_CODE_OK, NULL, buf, len);
    }
}

static void client_stream_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    count_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        respond_or_log(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
        return;
    }
    ttrpc_call_set_user(call, st, free);
    if (first) {
        client_stream_add(call, req->payload);
    }
}

static void client_stream_closed(ttrpc_call *call)
{
    count_state *st = ttrpc_call_user(call);
    if (st->answered) {
        return;
    }
    uint8_t buf[16];
    size_t len = count_encode(st->sum, buf);
    respond_or_log(call, TTRPC_CODE_OK, NULL, buf, len);
}

/* BidiStream: each message goes straight back; what the output cannot take waits in a queue
 * (bounded: input pauses while the output is full, so at most a frame or so per stream). */
typedef struct pending_msg {
    struct pending_msg *next;
    size_t len;
    uint8_t data[];
} pending_msg;

typedef struct bidi_state {
    pending_msg *head, *tail;
    bool remote_closed;
} bidi_state;

static void bidi_free(void *arg)
{
    bidi_state *st = arg;
    while (st->head != NULL) {
        pending_msg *m = st->head;
        st->head = m->next;
        free(m);
    }
    free(st);
}

static void bidi_flush(ttrpc_call *call)
{
    bidi_state *st = ttrpc_call_user(call);
    while (st->head != NULL) {
        pending_msg *m = st->head;
        ttrpc_err rc = ttrpc_call_send(call, m->data, m->len);
        if (rc == TTRPC_E_AGAIN) {
            return;
        }
        if (rc != TTRPC_OK) {
            respond_or_log(call, TTRPC_CODE_INTERNAL, ttrpc_strerror(rc), NULL, 0);
            return;
        }
        st->head = m->next;
        if (st->head == NULL) {
            st->tail = NULL;
        }
        free(m);
    }
    if (st->remote_closed && g_fault != FAULT_BIDI_NO_END) {
        ttrpc_err rc = ttrpc_call_finish(call);
        if (rc != TTRPC_OK && rc != TTRPC_E_AGAIN) {
            respond_or_log(call, TTRPC_CODE_INTERNAL, ttrpc_strerror(rc), NULL, 0);
        }
    }
}

static void bidi_message(ttrpc_call *call, ttrpc_bytes msg)
{
    bidi_state *st = ttrpc_call_user(call);
    if (!bytes_valid(msg, ttrpc_call_handler_arg(call))) {
        invalid_argument(call, "message is not a ttrpc.conformance.v1.Bytes");
        return;
    }
    pending_msg *m = malloc(sizeof *m + msg.len);
    if (m == NULL) {
        respond_or_log(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
        return;
    }
    m->next = NULL;
    m->len = msg.len;
    if (msg.len > 0) {
        memcpy(m->data, msg.data, msg.len);
    }
    if (st->tail != NULL) {
        st->tail->next = m;
    } else {
        st->head = m;
    }
    st->tail = m;
    bidi_flush(call);
}

static void bidi_request(ttrpc_call *call, const ttrpc_request *req, bool first)
{
    bidi_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        respond_or_log(call, TTRPC_CODE_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
        return;
    }
    ttrpc_call_set_user(call, st, bidi_free);
    if (first) {
        bidi_message(call, req->payload);
    }
}

static void bidi_closed(ttrpc_call *call)
{
    bidi_state *st = ttrpc_call_user(call);
    st->remote_closed = true;
    bidi_flush(call);
}

/* ---- the fault proxy: wire-level faults the server API cannot commit ----
 *
 * The library never sends a frame after a stream's end, so --fault data-after-response puts a
 * relay in front of it: the server proper runs in a child process on a private socket, and
 * this process accepts on the public one, copies client bytes unchanged, and re-frames what
 * the server sends, adding a Data frame after the Response of an Echo or ClientStream call.
 * Test-only, one connection at a time is enough (blocking writes). */

#define PROXY_MAX_CONNS 64
#define PROXY_MAX_IDS 256

typedef struct proxy_conn {
    int client, server;
    ttrpc_decoder from_client, from_server;
    uint32_t echo_ids[PROXY_MAX_IDS]; /* streams whose method gets the extra Data */
    size_t n_echo_ids;
} proxy_conn;

static bool send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool send_frame(int fd, const ttrpc_frame_header *h, const uint8_t *data)
{
    uint8_t head[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header_write(h, head);
    return send_all(fd, head, sizeof head) && (h->length == 0 || send_all(fd, data, h->length));
}

/* Client to server: bytes pass unchanged; Requests are read only to learn their method. */
static bool proxy_from_client(proxy_conn *c, const uint8_t *p, size_t len)
{
    if (!send_all(c->server, p, len)) {
        return false;
    }
    while (len > 0) {
        size_t used = 0;
        if (ttrpc_decoder_feed(&c->from_client, p, len, &used) != TTRPC_OK) {
            return true; /* past our interest: the bytes went through */
        }
        p += used;
        len -= used;
        ttrpc_frame f;
        while (ttrpc_decoder_next(&c->from_client, &f) == TTRPC_OK) {
            if (f.hdr.type != TTRPC_TYPE_REQUEST || c->n_echo_ids == PROXY_MAX_IDS) {
                continue;
            }
            ttrpc_msg_arena arena;
            ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
            ttrpc_request req;
            if (ttrpc_request_decode(f.data, f.hdr.length, &arena, &req) == TTRPC_OK &&
                ((req.method.len == 4 && memcmp(req.method.data, "Echo", 4) == 0) ||
                 (req.method.len == 12 && memcmp(req.method.data, "ClientStream", 12) == 0))) {
                c->echo_ids[c->n_echo_ids++] = f.hdr.stream_id;
            }
            ttrpc_msg_arena_reset(&arena);
        }
    }
    return true;
}

/* Server to client: every frame re-sent, then the extra Data after an Echo's Response. */
static bool proxy_from_server(proxy_conn *c, const uint8_t *p, size_t len)
{
    static const uint8_t late[] = {0x0a, 0x04, 'l', 'a', 't', 'e'}; /* Bytes{"late"} */
    while (len > 0) {
        size_t used = 0;
        if (ttrpc_decoder_feed(&c->from_server, p, len, &used) != TTRPC_OK) {
            return false;
        }
        p += used;
        len -= used;
        ttrpc_frame f;
        while (ttrpc_decoder_next(&c->from_server, &f) == TTRPC_OK) {
            bool echo = false;
            for (size_t i = 0; i < c->n_echo_ids && !echo; i++) {
                echo = c->echo_ids[i] == f.hdr.stream_id;
            }
            if (!echo || f.hdr.type != TTRPC_TYPE_RESPONSE) {
                if (!send_frame(c->client, &f.hdr, f.data)) {
                    return false;
                }
                continue;
            }
            /* One send for the Response and the extra Data, so that they arrive together and
             * the client cannot finish with the Response before the Data is there. */
            ttrpc_frame_header extra = {.length = sizeof late, .stream_id = f.hdr.stream_id,
                                        .type = TTRPC_TYPE_DATA, .flags = 0};
            size_t total = 2 * TTRPC_FRAME_HEADER_LEN + f.hdr.length + sizeof late;
            uint8_t *both = malloc(total);
            size_t first = 0, second = 0;
            bool sent = both != NULL &&
                        ttrpc_frame_encode(&f.hdr, f.data, both, total, &first) == TTRPC_OK &&
                        ttrpc_frame_encode(&extra, late, both + first, total - first, &second) ==
                            TTRPC_OK &&
                        send_all(c->client, both, first + second);
            free(both);
            if (!sent) {
                return false;
            }
        }
    }
    return true;
}

static int connect_path(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    (void)snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void proxy_close(proxy_conn *c)
{
    close(c->client);
    close(c->server);
    ttrpc_decoder_free(&c->from_client);
    ttrpc_decoder_free(&c->from_server);
    c->client = -1;
}

static volatile sig_atomic_t g_proxy_stop;

static void proxy_on_signal(int sig)
{
    (void)sig;
    g_proxy_stop = 1;
}

/* Relays connections on listen_fd to the server at inner until SIGTERM or SIGINT. */
static int proxy_run(int listen_fd, const char *inner, pid_t child)
{
    static proxy_conn conns[PROXY_MAX_CONNS];
    for (size_t i = 0; i < PROXY_MAX_CONNS; i++) {
        conns[i].client = -1;
    }
    struct sigaction sa = {.sa_handler = proxy_on_signal};
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)signal(SIGPIPE, SIG_IGN);
    uint8_t buf[65536];
    while (!g_proxy_stop) {
        struct pollfd pfd[1 + 2 * PROXY_MAX_CONNS];
        pfd[0] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        for (size_t i = 0; i < PROXY_MAX_CONNS; i++) {
            pfd[1 + 2 * i] = (struct pollfd){.fd = conns[i].client, .events = POLLIN};
            pfd[2 + 2 * i] = (struct pollfd){.fd = conns[i].client >= 0 ? conns[i].server : -1,
                                             .events = POLLIN};
        }
        if (poll(pfd, 1 + 2 * PROXY_MAX_CONNS, 200) < 0) {
            continue;
        }
        if (waitpid(child, NULL, WNOHANG) == child) {
            fprintf(stderr, "%s: the server behind the fault proxy ended\n", PROG);
            return EXIT_SERVE_FAILED;
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            size_t i = 0;
            while (i < PROXY_MAX_CONNS && conns[i].client >= 0) {
                i++;
            }
            int up = fd >= 0 && i < PROXY_MAX_CONNS ? connect_path(inner) : -1;
            if (up < 0 || ttrpc_decoder_init(&conns[i].from_client, TTRPC_FRAME_MAX_DATA,
                                             NULL) != TTRPC_OK) {
                close(fd);
                if (up >= 0) {
                    close(up);
                }
            } else if (ttrpc_decoder_init(&conns[i].from_server, TTRPC_FRAME_MAX_DATA, NULL) !=
                       TTRPC_OK) {
                ttrpc_decoder_free(&conns[i].from_client);
                close(fd);
                close(up);
            } else {
                conns[i].client = fd;
                conns[i].server = up;
                conns[i].n_echo_ids = 0;
            }
        }
        for (size_t i = 0; i < PROXY_MAX_CONNS; i++) {
            proxy_conn *c = &conns[i];
            for (int side = 0; side < 2 && c->client >= 0; side++) {
                if (pfd[1 + 2 * i + (size_t)side].revents == 0) {
                    continue;
                }
                ssize_t n = recv(side == 0 ? c->client : c->server, buf, sizeof buf, 0);
                bool ok = n > 0 && (side == 0 ? proxy_from_client(c, buf, (size_t)n)
                                              : proxy_from_server(c, buf, (size_t)n));
                if (!ok && !(n < 0 && errno == EINTR)) {
                    proxy_close(c);
                }
            }
        }
    }
    for (size_t i = 0; i < PROXY_MAX_CONNS; i++) {
        if (conns[i].client >= 0) {
            proxy_close(&conns[i]);
        }
    }
    kill(child, SIGTERM);
    (void)waitpid(child, NULL, 0);
    return 0;
}

/* Starts the server proper in a child on a private socket, then relays. In the child this
 * returns with *inner_path set: it goes on to serve there. In the parent it never returns. */
static void proxy_start(int *fd, const char **path, char *inner_path, size_t cap)
{
    int listen_fd = *fd;
    if (listen_fd < 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        (void)snprintf(sa.sun_path, sizeof sa.sun_path, "%s", *path);
        (void)unlink(*path);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            listen(listen_fd, 128) != 0) {
            fprintf(stderr, "%s: fault proxy: cannot listen on %s: %s\n", PROG, *path,
                    strerror(errno));
            exit(EXIT_CANT_RUN);
        }
    }
    char dir[] = "/tmp/ttrpc-ref-fault.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "%s: fault proxy: mkdtemp: %s\n", PROG, strerror(errno));
        exit(EXIT_CANT_RUN);
    }
    (void)snprintf(inner_path, cap, "%s/s.sock", dir);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "%s: fault proxy: fork: %s\n", PROG, strerror(errno));
        exit(EXIT_CANT_RUN);
    }
    if (child == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the proxy */
        close(listen_fd);
        if (freopen("/dev/null", "w", stdout) == NULL) { /* the proxy says "ready" */
            _exit(EXIT_CANT_RUN);
        }
        *fd = -1;
        *path = inner_path;
        return;
    }
    int up = -1;
    for (int tries = 0; tries < 500 && up < 0; tries++) {
        up = connect_path(inner_path);
        if (up < 0) {
            usleep(10000);
        }
    }
    if (up < 0) {
        fprintf(stderr, "%s: fault proxy: the server did not start\n", PROG);
        kill(child, SIGKILL);
        exit(EXIT_CANT_RUN);
    }
    close(up);
    printf("ready\n");
    fflush(stdout);
    int rc = proxy_run(listen_fd, inner_path, child);
    (void)unlink(inner_path);
    (void)rmdir(dir);
    exit(rc);
}

/* ---- command line ---- */

static ttrpc_server *_Atomic g_server;
static bool g_verbose;

static void on_signal(int sig)
{
    (void)sig;
    ttrpc_server *srv = atomic_load(&g_server);
    if (srv != NULL) {
        ttrpc_server_stop(srv); /* async-signal-safe: a flag and an eventfd write */
    }
}

static void log_line(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s: %s\n", PROG, line);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s (--listen unix:PATH | --fd N) [--same-uid] [--max-streams N]\n"
            "       [--fault NAME] [-v]\n"
            "\n"
            "Serves %s (conformance/proto/echo.proto): Echo, Fail, Metadata,\n"
            "Sleep, ServerStream, ClientStream, BidiStream.\n"
            "\n"
            "  --listen unix:PATH  create a Unix socket at PATH (a stale socket file is replaced)\n"
            "  --fd N              serve the already-listening Unix socket inherited as fd N\n"
            "  --same-uid          close, without a byte, connections from other user ids\n"
            "  --max-streams N     live streams per connection (default %u); more get code 8\n"
            "  --fault NAME        misbehave on purpose, for testing the conformance harness:\n"
            "                      answer-even-ids, wrong-unknown-code, no-oversize-answer,\n"
            "                      echo-corrupt, ignore-deadline, hang-on-sleep,\n"
            "                      crash-on-code-99, data-after-response, bidi-no-end,\n"
            "                      client-stream-early\n"
            "  -v, --verbose       log connections and rejected frames to stderr\n"
            "  -h, --help          this text\n"
            "\n"
            "Prints \"ready\" on stdout once listening. SIGTERM or SIGINT: stop accepting, give\n"
            "calls in flight %u ms, answer the rest UNAVAILABLE (14), exit 0.\n"
            "Exit status: 0 after a clean shutdown, 1 if serving failed, 2 on usage errors or\n"
            "when the socket cannot be set up.\n",
            PROG, SERVICE, TTRPC_SESSION_DEFAULT_MAX_STREAMS, TTRPC_SERVER_DEFAULT_GRACE_MS);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", PROG);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help'.\n", PROG);
    return EXIT_CANT_RUN;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Every method validates through the server's one spare block (handler arg). */
static ttrpc_err register_echo(ttrpc_server *srv, spare_block *spare)
{
    static const struct {
        const char *method;
        ttrpc_method_kind kind;
        ttrpc_handler h;
    } methods[] = {
        {"Echo", TTRPC_METHOD_UNARY, {.on_request = echo_request}},
        {"Fail", TTRPC_METHOD_UNARY, {.on_request = fail_request}},
        {"Metadata", TTRPC_METHOD_UNARY, {.on_request = metadata_request}},
        {"Sleep", TTRPC_METHOD_UNARY, {.on_request = sleep_request, .on_cancel = sleep_cancel}},
        {"ServerStream",
         TTRPC_METHOD_SERVER_STREAM,
         {.on_request = server_stream_request, .on_writable = server_stream_pump}},
        {"ClientStream",
         TTRPC_METHOD_CLIENT_STREAM,
         {.on_request = client_stream_request,
          .on_data = client_stream_add,
          .on_remote_closed = client_stream_closed}},
        {"BidiStream",
         TTRPC_METHOD_BIDI,
         {.on_request = bidi_request,
          .on_data = bidi_message,
          .on_remote_closed = bidi_closed,
          .on_writable = bidi_flush}},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        ttrpc_handler h = methods[i].h;
        h.arg = spare;
        ttrpc_err rc = ttrpc_server_register(srv, SERVICE, methods[i].method, methods[i].kind, &h);
        if (rc != TTRPC_OK) {
            return rc;
        }
    }
    return TTRPC_OK;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"fd", required_argument, NULL, 'f'},
        {"same-uid", no_argument, NULL, 'u'},
        {"max-streams", required_argument, NULL, 's'},
        {"fault", required_argument, NULL, 'F'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen_addr = NULL;
    long fd = -1;
    ttrpc_server_config cfg = {0};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":vh", options, NULL)) != -1) {
        unsigned long v = 0;
        switch (opt) {
        case 'l':
            listen_addr = optarg;
            break;
        case 'f':
            if (!parse_uint(optarg, INT_MAX, &v)) {
                return usage_error("--fd %s: not a descriptor number", optarg);
            }
            fd = (long)v;
            break;
        case 'u':
            cfg.same_uid_only = true;
            break;
        case 's':
            if (!parse_uint(optarg, UINT32_MAX, &v) || v == 0) {
                return usage_error("--max-streams %s: expected a number from 1", optarg);
            }
            cfg.session.max_streams = (uint32_t)v;
            break;
        case 'F': {
            size_t i = 0;
            while (i < sizeof g_faults / sizeof g_faults[0] && strcmp(g_faults[i].name, optarg)) {
                i++;
            }
            if (i == sizeof g_faults / sizeof g_faults[0]) {
                return usage_error("--fault %s: unknown fault (see --help)", optarg);
            }
            g_fault = g_faults[i].f;
            break;
        }
        case 'v':
            g_verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return usage_error("%s needs an argument", argv[optind - 1]);
        default:
            return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument '%s'", argv[optind]);
    }
    if ((listen_addr == NULL) == (fd < 0)) {
        return usage_error("%s", "give exactly one of --listen unix:PATH and --fd N");
    }
    const char *path = NULL;
    if (listen_addr != NULL) {
        if (strncmp(listen_addr, "unix:", 5) != 0 || listen_addr[5] == '\0') {
            return usage_error("--listen %s: expected unix:PATH", listen_addr);
        }
        path = listen_addr + 5;
        if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
            fprintf(stderr, "%s: socket path is %zu bytes long; the limit is %zu\n", PROG,
                    strlen(path), sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
            return EXIT_CANT_RUN;
        }
    }
    char inner_path[128];
    if (g_fault == FAULT_DATA_AFTER_RESPONSE) {
        int inherited = (int)fd;
        proxy_start(&inherited, &path, inner_path, sizeof inner_path);
        fd = inherited; /* the child serves the private socket */
    }
    if (g_verbose) {
        cfg.log = log_line;
    }
    cfg.session.test_serve_even_ids = g_fault == FAULT_ANSWER_EVEN_IDS;
    cfg.session.test_unknown_method_code =
        g_fault == FAULT_WRONG_UNKNOWN_CODE ? TTRPC_CODE_NOT_FOUND : 0;
    cfg.session.test_close_on_oversize = g_fault == FAULT_NO_OVERSIZE_ANSWER;
    cfg.test_ignore_deadlines = g_fault == FAULT_IGNORE_DEADLINE;

    ttrpc_server *srv = NULL;
    spare_block spare = {0};
    ttrpc_err rc = ttrpc_server_new(&cfg, &srv);
    if (rc == TTRPC_OK) {
        rc = register_echo(srv, &spare);
    }
    if (rc != TTRPC_OK) {
        fprintf(stderr, "%s: cannot create the server: %s\n", PROG, ttrpc_strerror(rc));
        ttrpc_server_free(srv);
        return EXIT_CANT_RUN;
    }
    if (path != NULL) {
        rc = ttrpc_server_listen_unix(srv, path);
        if (rc != TTRPC_OK) {
            fprintf(stderr, "%s: cannot listen on %s: %s\n", PROG, path,
                    rc == TTRPC_E_IO ? strerror(errno) : ttrpc_strerror(rc));
        }
    } else {
        rc = ttrpc_server_adopt_listener(srv, (int)fd);
        if (rc != TTRPC_OK) {
            fprintf(stderr, "%s: --fd %ld: %s\n", PROG, fd,
                    rc == TTRPC_E_INVAL ? "not a listening Unix stream socket"
                                        : strerror(errno));
        }
    }
    if (rc != TTRPC_OK) {
        ttrpc_server_free(srv);
        return EXIT_CANT_RUN;
    }

    atomic_store(&g_server, srv);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    /* Sends use MSG_NOSIGNAL; this covers anything else that might write to a closed pipe. */
    (void)signal(SIGPIPE, SIG_IGN);

    printf("ready\n");
    fflush(stdout);
    rc = ttrpc_server_run(srv);
    atomic_store(&g_server, NULL);
    ttrpc_server_free(srv);
    free(spare.block);
    if (rc != TTRPC_OK) {
        fprintf(stderr, "%s: serving failed: %s\n", PROG, ttrpc_strerror(rc));
        return EXIT_SERVE_FAILED;
    }
    return 0;
}
