/* ttrpc-ref-client: "curl for ttrpc". Sends one call to a server on a Unix socket and prints
 * what came back, one fact per line, for people and for scripts. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include "ttrpc/client.h"
#include "ttrpc/frame.h"
#include "ttrpc/msg.h"

#define PROG "ttrpc-ref-client"

enum { EXIT_STATUS_NOT_OK = 1, EXIT_CANT_RUN = 2 };

/* ---- faults (--fault NAME): deliberate client bugs that prove the client-role conformance
 * cases (ttrpc-conform client) catch them ---- */
typedef enum fault {
    FAULT_NONE = 0,
    FAULT_ANY_STREAM_ID,   /* a unary call takes the first Response, whatever its stream id */
    FAULT_NO_DEADLINE,     /* never gives up locally: waits for an answer forever */
    FAULT_UNKNOWN_CODE_OK, /* a code outside 0..16 is reported as OK (the Rust crate's enum) */
} fault;

static const struct {
    const char *name;
    fault f;
} g_faults[] = {
    {"any-stream-id", FAULT_ANY_STREAM_ID},
    {"no-deadline", FAULT_NO_DEADLINE},
    {"unknown-code-ok", FAULT_UNKNOWN_CODE_OK},
};

static fault g_fault;

typedef struct byte_buf {
    uint8_t *data;
    size_t len;
} byte_buf;

typedef struct options {
    const char *path;
    ttrpc_kv *metadata;
    size_t n_metadata;
    long timeout_ms; /* -1: none */
    bool has_payload;
    byte_buf payload;
    ttrpc_method_kind kind;
    byte_buf *sends;
    size_t n_sends;
    const char *service;
    const char *method;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s --connect unix:PATH [options] SERVICE METHOD\n"
            "\n"
            "Sends one ttrpc call and prints the outcome:\n"
            "  data: HEX            one line per stream message received (streams only)\n"
            "  status: CODE NAME    e.g. \"status: 12 UNIMPLEMENTED\" (unknown codes: CODE_<n>)\n"
            "  message: TEXT        only when the status carries a message\n"
            "  payload: HEX         the Response payload, lowercase; empty when none\n"
            "A stream the server ends with Data (no Response) prints \"status: 0 OK\".\n"
            "\n"
            "options:\n"
            "  --connect unix:PATH     the server's socket\n"
            "  --metadata KEY=VALUE    add a Request metadata entry (repeatable)\n"
            "  --timeout-ms N          send timeout_nano = N ms; wait locally N + %u ms. With\n"
            "                          no answer by then, prints \"status: 4 DEADLINE_EXCEEDED\"\n"
            "                          and a message saying the client gave up\n"
            "  --hex HEX               the Request payload (the method's input message)\n"
            "  --data-file FILE        the Request payload, read from FILE ('-': stdin)\n"
            "  --stream KIND           server, client or bidi instead of a unary call\n"
            "  --send HEX              a stream message to send (client, bidi; repeatable)\n"
            "  --fault NAME            misbehave on purpose, for testing the conformance\n"
            "                          harness: any-stream-id (take the first Response on any\n"
            "                          id), no-deadline (never give up), unknown-code-ok\n"
            "                          (report codes above 16 as OK)\n"
            "  -h, --help              this text\n"
            "Without --hex or --data-file the Request has no payload field. Client and bidi\n"
            "streams send every --send message, then close their side, then read to the end.\n"
            "\n"
            "Exit status: 0 status OK, 1 any other status, 2 usage, connection or protocol\n"
            "errors (described on stderr).\n",
            PROG, TTRPC_CLIENT_DEADLINE_SLACK_MS);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s%s\nTry '%s --help'.\n", PROG, what, arg != NULL ? arg : "", PROG);
    return EXIT_CANT_RUN;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool hex_decode(const char *hex, byte_buf *out)
{
    size_t n = strlen(hex);
    if (n % 2 != 0) {
        return false;
    }
    uint8_t *data = malloc(n / 2 + 1);
    if (data == NULL) {
        return false;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(data);
            return false;
        }
        data[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = (byte_buf){data, n / 2};
    return true;
}

static bool read_file(const char *name, byte_buf *out)
{
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    if (f == NULL) {
        return false;
    }
    byte_buf b = {NULL, 0};
    size_t cap = 0;
    for (;;) {
        if (b.len == cap) {
            cap = cap == 0 ? 4096 : cap * 2;
            uint8_t *p = realloc(b.data, cap);
            if (p == NULL) {
                break;
            }
            b.data = p;
        }
        size_t n = fread(b.data + b.len, 1, cap - b.len, f);
        b.len += n;
        if (n == 0) {
            break;
        }
    }
    bool ok = !ferror(f) && b.len < cap;
    if (f != stdin) {
        fclose(f);
    }
    if (!ok) {
        free(b.data);
        return false;
    }
    *out = b;
    return true;
}

static void print_hex(const char *label, ttrpc_bytes b)
{
    printf("%s: ", label);
    for (size_t i = 0; i < b.len; i++) {
        printf("%02x", b.data[i]);
    }
    printf("\n");
}

/* One line whatever the bytes: printable ASCII as is, the rest as \xNN. */
static void print_text(const char *label, ttrpc_bytes b)
{
    printf("%s: ", label);
    for (size_t i = 0; i < b.len; i++) {
        uint8_t c = b.data[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            putchar(c);
        } else {
            printf("\\x%02x", c);
        }
    }
    printf("\n");
}

static int print_outcome(int32_t code, ttrpc_bytes message, ttrpc_bytes payload)
{
    if (g_fault == FAULT_UNKNOWN_CODE_OK && (code < 0 || code > 16)) {
        code = TTRPC_CODE_OK;
    }
    const char *name = ttrpc_code_name(code);
    if (name != NULL) {
        printf("status: %d %s\n", (int)code, name);
    } else {
        printf("status: %d CODE_%d\n", (int)code, (int)code);
    }
    if (message.len > 0) {
        print_text("message", message);
    }
    print_hex("payload", payload);
    return code == TTRPC_CODE_OK ? 0 : EXIT_STATUS_NOT_OK;
}

static int local_timeout(long timeout_ms)
{
    char text[128];
    (void)snprintf(text, sizeof text, "no answer within %ld ms (+%u ms slack): the client gave up",
                   timeout_ms, TTRPC_CLIENT_DEADLINE_SLACK_MS);
    fprintf(stderr, "%s: %s\n", PROG, text);
    return print_outcome(TTRPC_CODE_DEADLINE_EXCEEDED, ttrpc_bytes_of(text), (ttrpc_bytes){0});
}

static int call_failed(const char *what, ttrpc_err rc)
{
    fprintf(stderr, "%s: %s: %s\n", PROG, what, ttrpc_strerror(rc));
    return EXIT_CANT_RUN;
}

static ttrpc_request build_request(const options *o)
{
    ttrpc_request req = {
        .service = ttrpc_bytes_of(o->service),
        .method = ttrpc_bytes_of(o->method),
        .has_payload = o->has_payload,
        .payload = {o->payload.data, o->payload.len},
        .metadata = o->metadata,
        .n_metadata = o->n_metadata,
    };
    if (o->timeout_ms > 0) {
        req.timeout_nano = (int64_t)o->timeout_ms * 1000000;
    }
    return req;
}

/* --fault any-stream-id: a unary call written by hand over the codec, which takes the first
 * Response frame on the connection as the answer without looking at its stream id. */
static int run_unary_any_id(const options *o)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (fd < 0 || strlen(o->path) >= sizeof sa.sun_path) {
        return call_failed("cannot connect", TTRPC_E_IO);
    }
    strcpy(sa.sun_path, o->path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return call_failed("cannot connect", TTRPC_E_IO);
    }
    ttrpc_request req = build_request(o);
    size_t size = 0;
    ttrpc_err rc = ttrpc_request_encoded_size(&req, &size);
    uint8_t *out = rc == TTRPC_OK ? malloc(TTRPC_FRAME_HEADER_LEN + size + 1) : NULL;
    uint8_t *body = rc == TTRPC_OK ? malloc(size + 1) : NULL;
    size_t written = 0;
    if (out == NULL || body == NULL) {
        rc = TTRPC_E_NOMEM;
    }
    if (rc == TTRPC_OK) {
        rc = ttrpc_request_encode(&req, body, size + 1, &written);
    }
    ttrpc_frame_header h = {.length = (uint32_t)written, .stream_id = 1,
                            .type = TTRPC_TYPE_REQUEST};
    if (rc == TTRPC_OK) {
        rc = ttrpc_frame_encode(&h, body, out, TTRPC_FRAME_HEADER_LEN + size + 1, &written);
    }
    if (rc == TTRPC_OK && send(fd, out, written, MSG_NOSIGNAL) != (ssize_t)written) {
        rc = TTRPC_E_IO;
    }
    free(out);
    free(body);
    ttrpc_decoder dec;
    if (rc == TTRPC_OK) {
        rc = ttrpc_decoder_init(&dec, TTRPC_FRAME_MAX_DATA, NULL);
    }
    if (rc != TTRPC_OK) {
        close(fd);
        return call_failed("call failed", rc);
    }
    int wait_ms = o->timeout_ms > 0 ? (int)o->timeout_ms + (int)TTRPC_CLIENT_DEADLINE_SLACK_MS : -1;
    int status = -1;
    while (status < 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, wait_ms);
        if (n == 0) {
            status = local_timeout(o->timeout_ms);
            break;
        }
        uint8_t buf[65536];
        ssize_t got = n > 0 ? read(fd, buf, sizeof buf) : -1;
        if (got <= 0) {
            status = call_failed("call failed", TTRPC_E_CLOSED);
            break;
        }
        size_t off = 0;
        while (status < 0 && off < (size_t)got) {
            size_t used = 0;
            if (ttrpc_decoder_feed(&dec, buf + off, (size_t)got - off, &used) != TTRPC_OK) {
                status = call_failed("call failed", TTRPC_E_NOMEM);
                break;
            }
            off += used;
            ttrpc_frame f;
            while (status < 0 && ttrpc_decoder_next(&dec, &f) == TTRPC_OK) {
                if (f.hdr.type != TTRPC_TYPE_RESPONSE) {
                    continue;
                }
                ttrpc_msg_arena a;
                ttrpc_msg_arena_init(&a, NULL, TTRPC_MSG_DEFAULT_BUDGET);
                ttrpc_response resp;
                if (ttrpc_response_decode(f.data, f.hdr.length, &a, &resp) != TTRPC_OK) {
                    status = call_failed("call failed", TTRPC_E_DECODE);
                } else {
                    status = print_outcome(resp.status.code, resp.status.message, resp.payload);
                }
                ttrpc_msg_arena_reset(&a);
            }
        }
    }
    ttrpc_decoder_free(&dec);
    close(fd);
    return status;
}

static int run_unary(ttrpc_client *cli, const options *o)
{
    /* timeout_nano left 0: ttrpc_client_call sets it and adds the local slack. */
    ttrpc_request req = build_request(o);
    req.timeout_nano = 0;
    ttrpc_client_result res = {0};
    int timeout_ms = o->timeout_ms > 0 ? (int)o->timeout_ms : 0;
    if (g_fault == FAULT_NO_DEADLINE) {
        req.timeout_nano = (int64_t)timeout_ms * 1000000; /* sent, never enforced here */
        timeout_ms = 0;
    }
    ttrpc_err rc = ttrpc_client_call(cli, &req, timeout_ms, &res);
    if (rc == TTRPC_E_TIMEOUT) {
        return local_timeout(o->timeout_ms);
    }
    if (rc != TTRPC_OK && rc != TTRPC_E_STATUS) {
        return call_failed("call failed", rc);
    }
    int status = print_outcome(res.code, (ttrpc_bytes){(const uint8_t *)res.message,
                                                       res.message_len},
                               (ttrpc_bytes){res.payload, res.payload_len});
    ttrpc_client_result_free(&res);
    return status;
}

static int run_stream(ttrpc_client *cli, const options *o)
{
    ttrpc_request req = build_request(o);
    uint32_t id = 0;
    ttrpc_err rc = ttrpc_client_start(cli, &req, o->kind, &id);
    if (rc != TTRPC_OK) {
        return call_failed("cannot start the stream", rc);
    }
    if (o->kind == TTRPC_METHOD_CLIENT_STREAM || o->kind == TTRPC_METHOD_BIDI) {
        for (size_t i = 0; i < o->n_sends; i++) {
            rc = ttrpc_client_send(cli, id, o->sends[i].data, o->sends[i].len, false);
            if (rc != TTRPC_OK) {
                /* The server may have ended the stream early (an error Response): read it. */
                break;
            }
        }
        if (rc == TTRPC_OK) {
            rc = ttrpc_client_close_send(cli, id);
        }
        if (rc != TTRPC_OK && rc != TTRPC_E_NOT_FOUND && rc != TTRPC_E_INVAL) {
            return call_failed("cannot send", rc);
        }
    }
    /* The same local allowance as a unary call: the server's DEADLINE_EXCEEDED first. */
    long wait_ms = o->timeout_ms > 0 ? o->timeout_ms + (long)TTRPC_CLIENT_DEADLINE_SLACK_MS : -1;
    if (g_fault == FAULT_NO_DEADLINE) {
        wait_ms = -1;
    }
    if (wait_ms > INT_MAX) {
        wait_ms = INT_MAX;
    }
    for (;;) {
        ttrpc_client_event ev;
        rc = ttrpc_client_wait(cli, (int)wait_ms, &ev);
        if (rc == TTRPC_E_TIMEOUT) {
            return local_timeout(o->timeout_ms);
        }
        if (rc != TTRPC_OK) {
            return call_failed("stream failed", rc);
        }
        switch (ev.kind) {
        case TTRPC_CLIENT_EVENT_DATA:
            print_hex("data", ev.data);
            break;
        case TTRPC_CLIENT_EVENT_REMOTE_CLOSED:
            return print_outcome(TTRPC_CODE_OK, (ttrpc_bytes){0}, (ttrpc_bytes){0});
        case TTRPC_CLIENT_EVENT_RESPONSE:
            return print_outcome(ev.code, ev.message, ev.payload);
        case TTRPC_CLIENT_EVENT_ERROR:
            return call_failed("stream failed", ev.err);
        }
    }
}

static void options_free(options *o)
{
    free(o->metadata);
    free(o->payload.data);
    for (size_t i = 0; i < o->n_sends; i++) {
        free(o->sends[i].data);
    }
    free(o->sends);
}

static bool parse_timeout(const char *s, long *out)
{
    if (*s < '0' || *s > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > INT_MAX / 2) {
        return false;
    }
    *out = v;
    return true;
}

/* Returns -1 when parsing succeeded, else the exit status. */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option long_options[] = {
        {"connect", required_argument, NULL, 'c'},
        {"metadata", required_argument, NULL, 'm'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"hex", required_argument, NULL, 'x'},
        {"data-file", required_argument, NULL, 'd'},
        {"stream", required_argument, NULL, 's'},
        {"send", required_argument, NULL, 'S'},
        {"fault", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *connect_addr = NULL;
    bool have_hex = false;
    bool have_file = false;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            connect_addr = optarg;
            break;
        case 'm': {
            const char *eq = strchr(optarg, '=');
            if (eq == NULL) {
                return usage_error("--metadata expects KEY=VALUE, got ", optarg);
            }
            ttrpc_kv *md = realloc(o->metadata, (o->n_metadata + 1) * sizeof *md);
            if (md == NULL) {
                return usage_error("out of memory", NULL);
            }
            o->metadata = md;
            md[o->n_metadata++] = (ttrpc_kv){
                .key = {(const uint8_t *)optarg, (size_t)(eq - optarg)},
                .value = ttrpc_bytes_of(eq + 1),
            };
            break;
        }
        case 't':
            if (!parse_timeout(optarg, &o->timeout_ms)) {
                return usage_error("--timeout-ms expects milliseconds, got ", optarg);
            }
            break;
        case 'x':
            if (have_hex || have_file) {
                return usage_error("give one --hex or --data-file", NULL);
            }
            if (!hex_decode(optarg, &o->payload)) {
                return usage_error("--hex expects an even number of hex digits, got ", optarg);
            }
            have_hex = true;
            break;
        case 'd':
            if (have_hex || have_file) {
                return usage_error("give one --hex or --data-file", NULL);
            }
            if (!read_file(optarg, &o->payload)) {
                fprintf(stderr, "%s: cannot read %s: %s\n", PROG, optarg, strerror(errno));
                return EXIT_CANT_RUN;
            }
            have_file = true;
            break;
        case 's':
            if (strcmp(optarg, "server") == 0) {
                o->kind = TTRPC_METHOD_SERVER_STREAM;
            } else if (strcmp(optarg, "client") == 0) {
                o->kind = TTRPC_METHOD_CLIENT_STREAM;
            } else if (strcmp(optarg, "bidi") == 0) {
                o->kind = TTRPC_METHOD_BIDI;
            } else {
                return usage_error("--stream expects server, client or bidi, got ", optarg);
            }
            break;
        case 'S': {
            byte_buf *sends = realloc(o->sends, (o->n_sends + 1) * sizeof *sends);
            if (sends == NULL) {
                return usage_error("out of memory", NULL);
            }
            o->sends = sends;
            if (!hex_decode(optarg, &o->sends[o->n_sends])) {
                return usage_error("--send expects an even number of hex digits, got ", optarg);
            }
            o->n_sends++;
            break;
        }
        case 'F': {
            size_t i = 0;
            while (i < sizeof g_faults / sizeof g_faults[0] && strcmp(g_faults[i].name, optarg)) {
                i++;
            }
            if (i == sizeof g_faults / sizeof g_faults[0]) {
                return usage_error("--fault expects any-stream-id, no-deadline or "
                                   "unknown-code-ok, got ", optarg);
            }
            g_fault = g_faults[i].f;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return usage_error("missing argument for ", argv[optind - 1]);
        default:
            return usage_error("unknown option ", argv[optind - 1]);
        }
    }
    o->has_payload = have_hex || have_file;
    if (connect_addr == NULL) {
        return usage_error("--connect unix:PATH is required", NULL);
    }
    if (strncmp(connect_addr, "unix:", 5) != 0 || connect_addr[5] == '\0') {
        return usage_error("--connect expects unix:PATH, got ", connect_addr);
    }
    o->path = connect_addr + 5;
    if (argc - optind != 2) {
        return usage_error("expected SERVICE and METHOD after the options", NULL);
    }
    if (o->n_sends > 0 && o->kind != TTRPC_METHOD_CLIENT_STREAM && o->kind != TTRPC_METHOD_BIDI) {
        return usage_error("--send needs --stream client or --stream bidi", NULL);
    }
    o->service = argv[optind];
    o->method = argv[optind + 1];
    return -1;
}

int main(int argc, char **argv)
{
    options o = {.timeout_ms = -1, .kind = TTRPC_METHOD_UNARY};
    int status = parse_args(argc, argv, &o);
    if (status >= 0) {
        options_free(&o);
        return status;
    }
    (void)signal(SIGPIPE, SIG_IGN);
    if (g_fault == FAULT_ANY_STREAM_ID && o.kind == TTRPC_METHOD_UNARY) {
        status = run_unary_any_id(&o);
        fflush(stdout);
        options_free(&o);
        return status;
    }
    ttrpc_client *cli = NULL;
    ttrpc_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    /* A server that stops reading must not hold a stream's sends forever. */
    if (o.timeout_ms > 0) {
        cfg.send_timeout_ms = (int)(o.timeout_ms + (long)TTRPC_CLIENT_DEADLINE_SLACK_MS);
    }
    ttrpc_err rc = ttrpc_client_connect_unix(o.path, &cfg, &cli);
    if (rc != TTRPC_OK) {
        fprintf(stderr, "%s: cannot connect to %s: %s\n", PROG, o.path,
                rc == TTRPC_E_IO ? strerror(errno)
                                 : rc == TTRPC_E_INVAL ? "path empty or too long for sun_path"
                                                       : ttrpc_strerror(rc));
        options_free(&o);
        return EXIT_CANT_RUN;
    }
    status = o.kind == TTRPC_METHOD_UNARY ? run_unary(cli, &o) : run_stream(cli, &o);
    fflush(stdout);
    ttrpc_client_free(cli);
    options_free(&o);
    return status;
}
