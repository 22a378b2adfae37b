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
#include <sys/un.h>
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
    if (!count_decode(msg, &value)) {
        invalid_argument(call, "message is not a ttrpc.conformance.v1.Count");
        return;
    }
    st->sum += value; /* wraps modulo 2^64, as Go's uint64 does */
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
    if (st->remote_closed) {
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
            "                      crash-on-code-99\n"
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
