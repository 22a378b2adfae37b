/* The tap (tap.h): relay and recorder. Three parts: SHA-256, the per-direction recorder
 * (decoder in, JSON records out), and the epoll relay with its command. */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- SHA-256 (FIPS 180-4) ---------------------------------------------------------------- */

static const uint32_t SHA_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static void sha_block(tc_sha256 *s, const uint8_t b[64])
{
    uint32_t w[64];
    for (size_t i = 0; i < 16; i++) {
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
               (uint32_t)b[4 * i + 2] << 8 | (uint32_t)b[4 * i + 3];
    }
    for (size_t i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], bb = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (size_t i = 0; i < 64; i++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      SHA_K[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = bb;
        bb = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += bb;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

void tc_sha256_init(tc_sha256 *s)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->block_len = 0;
    s->total = 0;
}

void tc_sha256_update(tc_sha256 *s, const uint8_t *p, size_t len)
{
    s->total += len;
    while (len > 0) {
        size_t take = 64 - s->block_len;
        if (take > len) {
            take = len;
        }
        memcpy(s->block + s->block_len, p, take);
        s->block_len += take;
        p += take;
        len -= take;
        if (s->block_len == 64) {
            sha_block(s, s->block);
            s->block_len = 0;
        }
    }
}

void tc_sha256_hex(tc_sha256 *s, char out[65])
{
    uint64_t bits = s->total * 8u;
    uint8_t pad = 0x80;
    uint64_t total = s->total;
    tc_sha256_update(s, &pad, 1);
    pad = 0;
    while (s->block_len != 56) {
        tc_sha256_update(s, &pad, 1);
    }
    uint8_t len_be[8];
    for (size_t i = 0; i < 8; i++) {
        len_be[i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    tc_sha256_update(s, len_be, 8);
    s->total = total;
    for (size_t i = 0; i < 8; i++) {
        (void)snprintf(out + 8 * i, 9, "%08x", s->h[i]);
    }
}

/* ---- JSON pieces ----------------------------------------------------------------------- */

static ttrpc_err json_hex(tc_buf *out, const uint8_t *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    ttrpc_err rc = tc_buf_append(out, "\"", 1);
    for (size_t i = 0; i < len && rc == TTRPC_OK; i++) {
        char two[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
        rc = tc_buf_append(out, two, 2);
    }
    return rc != TTRPC_OK ? rc : tc_buf_append(out, "\"", 1);
}

/* A JSON string from bytes that need not be text: printable ASCII as is, the rest escaped
 * byte by byte (\u00XX), so the trace stays valid JSON whatever a peer sent. */
static ttrpc_err json_text(tc_buf *out, ttrpc_bytes b)
{
    ttrpc_err rc = tc_buf_append(out, "\"", 1);
    for (size_t i = 0; i < b.len && rc == TTRPC_OK; i++) {
        uint8_t c = b.data[i];
        if (c == '"' || c == '\\') {
            char two[2] = {'\\', (char)c};
            rc = tc_buf_append(out, two, 2);
        } else if (c >= 0x20 && c < 0x7f) {
            rc = tc_buf_append(out, &c, 1);
        } else {
            rc = tc_buf_printf(out, "\\u%04x", (unsigned)c);
        }
    }
    return rc != TTRPC_OK ? rc : tc_buf_append(out, "\"", 1);
}

/* "payload_hex":"..","payload_truncated":B for a payload of total bytes of which have are
 * at hand (have may be below total only when total is above the limit). */
static ttrpc_err json_payload(tc_buf *out, const uint8_t *p, size_t have, uint64_t total)
{
    bool truncated = total > TC_TAP_PAYLOAD_MAX;
    size_t show = truncated ? (have < TC_TAP_HEAD ? have : TC_TAP_HEAD) : have;
    ttrpc_err rc = tc_buf_printf(out, "\"payload_hex\":");
    if (rc == TTRPC_OK) {
        rc = json_hex(out, p, show);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, ",\"payload_truncated\":%s", truncated ? "true" : "false");
    }
    return rc;
}

static ttrpc_err json_request(tc_buf *out, const ttrpc_request *m)
{
    ttrpc_err rc = tc_buf_printf(out, "{\"service\":");
    if (rc == TTRPC_OK) {
        rc = json_text(out, m->service);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, ",\"method\":");
    }
    if (rc == TTRPC_OK) {
        rc = json_text(out, m->method);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, ",\"has_payload\":%s,", m->has_payload ? "true" : "false");
    }
    if (rc == TTRPC_OK) {
        rc = json_payload(out, m->payload.data, m->payload.len, m->payload.len);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, ",\"timeout_nano\":%lld,\"metadata\":[",
                           (long long)m->timeout_nano);
    }
    for (size_t i = 0; i < m->n_metadata && rc == TTRPC_OK; i++) {
        rc = tc_buf_printf(out, "%s{\"key\":", i > 0 ? "," : "");
        if (rc == TTRPC_OK) {
            rc = json_text(out, m->metadata[i].key);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, ",\"value\":");
        }
        if (rc == TTRPC_OK) {
            rc = json_text(out, m->metadata[i].value);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_append(out, "}", 1);
        }
    }
    return rc != TTRPC_OK ? rc : tc_buf_printf(out, "]}");
}

static ttrpc_err json_response(tc_buf *out, const ttrpc_response *m)
{
    ttrpc_err rc = tc_buf_printf(out, "{\"status\":");
    if (rc == TTRPC_OK && !m->has_status) {
        rc = tc_buf_printf(out, "null");
    } else if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "{\"code\":%d,\"message\":", (int)m->status.code);
        if (rc == TTRPC_OK) {
            rc = json_text(out, m->status.message);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, ",\"details_count\":%zu}", m->status.n_details);
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_append(out, ",", 1);
    }
    if (rc == TTRPC_OK) {
        rc = json_payload(out, m->payload.data, m->payload.len, m->payload.len);
    }
    return rc != TTRPC_OK ? rc : tc_buf_append(out, "}", 1);
}

/* The "decoded" member: what the payload says as a message of the frame's type. */
static ttrpc_err json_decoded(tc_buf *out, ttrpc_msg_arena *arena, const ttrpc_frame_header *h,
                              const uint8_t *payload)
{
    ttrpc_err rc = tc_buf_printf(out, ",\"decoded\":");
    if (rc != TTRPC_OK) {
        return rc;
    }
    ttrpc_err drc = TTRPC_OK;
    if (h->type == TTRPC_TYPE_REQUEST) {
        ttrpc_request m;
        drc = ttrpc_request_decode(payload, h->length, arena, &m);
        if (drc == TTRPC_OK) {
            rc = json_request(out, &m);
        }
    } else if (h->type == TTRPC_TYPE_RESPONSE) {
        ttrpc_response m;
        drc = ttrpc_response_decode(payload, h->length, arena, &m);
        if (drc == TTRPC_OK) {
            rc = json_response(out, &m);
        }
    } else if (h->type == TTRPC_TYPE_DATA) {
        /* A stream message is the method's own type, opaque to ttrpc. */
        rc = tc_buf_append(out, "{", 1);
        if (rc == TTRPC_OK) {
            rc = json_payload(out, payload, h->length, h->length);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_append(out, "}", 1);
        }
    } else {
        rc = tc_buf_printf(out, "null,\"decode_error\":\"unknown message type %u\"",
                           (unsigned)h->type);
    }
    ttrpc_msg_arena_reset(arena);
    if (drc != TTRPC_OK && rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "null,\"decode_error\":\"%s\"", ttrpc_strerror(drc));
    }
    return rc;
}

/* The members every frame record has, up to and including payload_sha256. */
static ttrpc_err json_frame_head(tc_buf *out, double t_ms, const char *dir,
                                 const ttrpc_frame_header *hdr, const uint8_t header[10],
                                 const uint8_t *payload, size_t have, const char *sha_hex)
{
    ttrpc_err rc = tc_buf_printf(out,
                                 "{\"t_ms\":%.3f,\"dir\":\"%s\",\"length\":%u,\"stream_id\":%u,"
                                 "\"type\":%u,\"flags\":%u,\"header_hex\":",
                                 t_ms, dir, (unsigned)hdr->length, (unsigned)hdr->stream_id,
                                 (unsigned)hdr->type, (unsigned)hdr->flags);
    if (rc == TTRPC_OK) {
        rc = json_hex(out, header, TTRPC_FRAME_HEADER_LEN);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_append(out, ",", 1);
    }
    if (rc == TTRPC_OK) {
        rc = json_payload(out, payload, have, hdr->length);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, ",\"payload_sha256\":\"%s\"", sha_hex);
    }
    return rc;
}

ttrpc_err tc_tap_frame_json(tc_buf *out, ttrpc_msg_arena *arena, double t_ms, const char *dir,
                            const ttrpc_frame_header *hdr, const uint8_t *payload)
{
    uint8_t header[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header_write(hdr, header);
    tc_sha256 sha;
    tc_sha256_init(&sha);
    if (hdr->length > 0) {
        tc_sha256_update(&sha, payload, hdr->length);
    }
    char sha_hex[65];
    tc_sha256_hex(&sha, sha_hex);
    ttrpc_err rc = json_frame_head(out, t_ms, dir, hdr, header, payload, hdr->length, sha_hex);
    if (rc == TTRPC_OK) {
        rc = json_decoded(out, arena, hdr, payload);
    }
    return rc != TTRPC_OK ? rc : tc_buf_append(out, "}", 1);
}

/* ---- one direction ------------------------------------------------------------------------ */

ttrpc_err tc_tap_dir_init(tc_tap_dir *d, const char *name)
{
    memset(d, 0, sizeof *d);
    d->name = name;
    ttrpc_msg_arena_init(&d->arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    return ttrpc_decoder_init(&d->dec, TTRPC_FRAME_MAX_DATA, NULL);
}

void tc_tap_dir_free(tc_tap_dir *d)
{
    ttrpc_decoder_free(&d->dec);
    ttrpc_msg_arena_reset(&d->arena);
}

static ttrpc_err record_sep(tc_buf *frames, size_t *n_records)
{
    return (*n_records)++ > 0 ? tc_buf_append(frames, ",", 1) : TTRPC_OK;
}

/* An oversized frame: its header was refused, its data skipped by the decoder; the record
 * carries the head and hash of the data the tap saw go by. */
static ttrpc_err oversize_close(tc_tap_dir *d, tc_buf *frames, size_t *n_records,
                                bool incomplete)
{
    d->oversize_open = false;
    char sha_hex[65];
    tc_sha256_hex(&d->oversize_sha, sha_hex);
    ttrpc_err rc = record_sep(frames, n_records);
    if (rc == TTRPC_OK) {
        rc = json_frame_head(frames, d->oversize_t_ms, d->name, &d->oversize_hdr,
                             d->oversize_header_bytes, d->oversize_head, d->oversize_head_len,
                             sha_hex);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(frames,
                           ",\"decoded\":null,\"decode_error\":\"%s: %u above %u\","
                           "\"oversize\":true,\"incomplete\":%s,\"payload_bytes_seen\":%llu}",
                           ttrpc_strerror(TTRPC_E_TOO_LARGE), (unsigned)d->oversize_hdr.length,
                           TTRPC_FRAME_MAX_DATA, incomplete ? "true" : "false",
                           (unsigned long long)d->oversize_seen);
    }
    d->frames++;
    return rc;
}

ttrpc_err tc_tap_dir_feed(tc_tap_dir *d, const uint8_t *p, size_t len, double t_ms,
                          tc_buf *frames, size_t *n_records)
{
    d->bytes += len;
    size_t used = 0;
    for (;;) {
        bool skipping = d->dec.phase == TTRPC_DECODER_SKIP && !d->dec.oversize_pending;
        size_t consumed = 0;
        ttrpc_err rc = ttrpc_decoder_feed(&d->dec, p + used, len - used, &consumed);
        if (rc != TTRPC_OK) {
            return rc;
        }
        if (skipping && d->oversize_open) {
            const uint8_t *q = p + used;
            size_t room = TC_TAP_HEAD - d->oversize_head_len;
            size_t keep = consumed < room ? consumed : room;
            memcpy(d->oversize_head + d->oversize_head_len, q, keep);
            d->oversize_head_len += keep;
            tc_sha256_update(&d->oversize_sha, q, consumed);
            d->oversize_seen += consumed;
            if (d->dec.phase != TTRPC_DECODER_SKIP) {
                rc = oversize_close(d, frames, n_records, false);
                if (rc != TTRPC_OK) {
                    return rc;
                }
            }
        }
        used += consumed;
        ttrpc_frame f;
        bool pulled = false;
        for (;;) {
            rc = ttrpc_decoder_next(&d->dec, &f);
            if (rc == TTRPC_OK) {
                pulled = true;
                rc = record_sep(frames, n_records);
                if (rc == TTRPC_OK) {
                    rc = tc_tap_frame_json(frames, &d->arena, t_ms, d->name, &f.hdr, f.data);
                }
                d->frames++;
                if (rc != TTRPC_OK) {
                    return rc;
                }
            } else if (rc == TTRPC_E_TOO_LARGE) {
                pulled = true;
                d->oversize_open = true;
                d->oversize_hdr = f.hdr;
                ttrpc_frame_header_write(&f.hdr, d->oversize_header_bytes);
                d->oversize_t_ms = t_ms;
                d->oversize_head_len = 0;
                d->oversize_seen = 0;
                tc_sha256_init(&d->oversize_sha);
            } else if (rc == TTRPC_E_AGAIN) {
                break;
            } else {
                return rc;
            }
        }
        if (used == len) {
            return TTRPC_OK; /* all fed, and every complete frame pulled */
        }
        if (consumed == 0 && !pulled) {
            return TTRPC_E_PROTO; /* the decoder took nothing and gave nothing: never loop */
        }
    }
}

ttrpc_err tc_tap_dir_finish(tc_tap_dir *d, tc_buf *frames, size_t *n_records,
                            uint64_t *trailing)
{
    *trailing = 0;
    if (d->oversize_open) {
        *trailing = TTRPC_FRAME_HEADER_LEN + d->oversize_seen;
        return oversize_close(d, frames, n_records, true);
    }
    if (d->dec.phase == TTRPC_DECODER_HEADER) {
        *trailing = d->dec.header_have;
    } else if (d->dec.phase == TTRPC_DECODER_DATA) {
        *trailing = TTRPC_FRAME_HEADER_LEN + d->dec.data_have;
    }
    return TTRPC_OK;
}

/* ---- the relay --------------------------------------------------------------------------- */

#define TAP_BUF 65536u
#define TAG_LISTEN UINT64_MAX
#define TAG_WAKE (UINT64_MAX - 1)

enum { DIR_C2S = 0, DIR_S2C = 1 };
enum { SIDE_CLIENT = 0, SIDE_SERVER = 1 };
typedef enum { END_OPEN = 0, END_EOF, END_RESET } tap_end;

static const char *end_name(tap_end e)
{
    return e == END_EOF ? "eof" : e == END_RESET ? "reset" : "open";
}

/* Direction DIR_C2S reads from SIDE_CLIENT and writes to SIDE_SERVER; DIR_S2C the reverse. */
struct tc_tap_conn {
    size_t id;
    double accepted_ms;
    int fd[2];           /* by side; -1 when closed */
    uint32_t events[2];  /* registered epoll events by side; 0: not registered */
    bool done;
    char connect_error[128];
    tc_tap_dir dir[2];
    uint8_t *buf[2];     /* bytes read, not yet written on; owned, TAP_BUF */
    size_t off[2], len[2];
    tap_end end[2];      /* how reading ended */
    bool shut[2];        /* the end was passed on (shutdown of the writing side) */
    bool write_dead[2];  /* the receiving socket refused bytes: the rest is dropped */
    uint64_t undelivered[2];
    uint64_t trailing[2];
    tc_buf frames;
    size_t n_frames;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double tap_ms(const tc_tap *t)
{
    return (double)(now_ns() - t->t0_ns) / 1e6;
}

static ttrpc_err set_unix(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path) {
        return TTRPC_E_INVAL;
    }
    memcpy(a->sun_path, path, strlen(path) + 1);
    return TTRPC_OK;
}

static const char *strip_unix(const char *addr)
{
    return strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr;
}

ttrpc_err tc_tap_open(tc_tap *t, const char *listen_path, const char *connect_path, char *err,
                      size_t err_cap)
{
    memset(t, 0, sizeof *t);
    t->listen_fd = -1;
    t->epoll_fd = -1;
    t->wake[0] = t->wake[1] = -1;
    t->t0_ns = now_ns();
    listen_path = strip_unix(listen_path);
    connect_path = strip_unix(connect_path);
    struct sockaddr_un a;
    if (set_unix(&a, listen_path) != TTRPC_OK ||
        strlen(connect_path) >= sizeof t->connect_path) {
        (void)snprintf(err, err_cap, "socket path too long");
        return TTRPC_E_INVAL;
    }
    (void)snprintf(t->listen_path, sizeof t->listen_path, "%s", listen_path);
    (void)snprintf(t->connect_path, sizeof t->connect_path, "%s", connect_path);
    struct stat st;
    if (stat(listen_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        (void)unlink(listen_path);
    }
    t->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    t->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (t->listen_fd < 0 || t->epoll_fd < 0 || pipe2(t->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
        bind(t->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(t->listen_fd, 64) != 0) {
        (void)snprintf(err, err_cap, "cannot listen on unix:%s: %s", listen_path,
                       strerror(errno));
        tc_tap_close(t);
        return TTRPC_E_IO;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    struct epoll_event wev = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
    if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, t->listen_fd, &ev) != 0 ||
        epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, t->wake[0], &wev) != 0) {
        (void)snprintf(err, err_cap, "epoll: %s", strerror(errno));
        tc_tap_close(t);
        return TTRPC_E_IO;
    }
    return TTRPC_OK;
}

static uint64_t conn_tag(size_t index, int side)
{
    return (uint64_t)index * 2u + (uint64_t)side;
}

/* Ends a connection: closes both sockets, writes out what the decoders still hold. */
static void conn_finish(tc_tap *t, tc_tap_conn *cn)
{
    if (cn->done) {
        return;
    }
    cn->done = true;
    for (int s = 0; s < 2; s++) {
        if (cn->fd[s] >= 0) {
            (void)epoll_ctl(t->epoll_fd, EPOLL_CTL_DEL, cn->fd[s], NULL);
            (void)close(cn->fd[s]);
            cn->fd[s] = -1;
        }
        cn->undelivered[s] += cn->len[s] - cn->off[s];
        free(cn->buf[s]);
        cn->buf[s] = NULL;
        cn->off[s] = cn->len[s] = 0;
        ttrpc_err rc = tc_tap_dir_finish(&cn->dir[s], &cn->frames, &cn->n_frames,
                                         &cn->trailing[s]);
        if (rc != TTRPC_OK && t->failure == TTRPC_OK) {
            t->failure = rc;
        }
        tc_tap_dir_free(&cn->dir[s]);
    }
}

/* Registers exactly the events each socket waits for now. A socket waiting for nothing is
 * removed: a hung-up socket would otherwise report EPOLLHUP forever. */
static void conn_arm(tc_tap *t, tc_tap_conn *cn)
{
    for (int side = 0; side < 2; side++) {
        if (cn->fd[side] < 0) {
            continue;
        }
        int in_dir = side == SIDE_CLIENT ? DIR_C2S : DIR_S2C;  /* read from this side */
        int out_dir = side == SIDE_CLIENT ? DIR_S2C : DIR_C2S; /* written to this side */
        uint32_t want = 0;
        if (cn->end[in_dir] == END_OPEN && cn->len[in_dir] < TAP_BUF) {
            want |= EPOLLIN | EPOLLRDHUP;
        }
        if (cn->off[out_dir] < cn->len[out_dir] && !cn->write_dead[out_dir]) {
            want |= EPOLLOUT;
        }
        if (want == cn->events[side]) {
            continue;
        }
        struct epoll_event ev = {.events = want, .data.u64 = conn_tag(cn->id, side)};
        int op = cn->events[side] == 0 ? EPOLL_CTL_ADD
                 : want == 0           ? EPOLL_CTL_DEL
                                       : EPOLL_CTL_MOD;
        (void)epoll_ctl(t->epoll_fd, op, cn->fd[side], &ev);
        cn->events[side] = want;
    }
}

/* Writes what direction dir holds to its receiving socket; passes an end on once flushed. */
static void conn_flush(tc_tap_conn *cn, int dir)
{
    int to = dir == DIR_C2S ? SIDE_SERVER : SIDE_CLIENT;
    while (cn->off[dir] < cn->len[dir] && !cn->write_dead[dir] && cn->fd[to] >= 0) {
        ssize_t n = send(cn->fd[to], cn->buf[dir] + cn->off[dir], cn->len[dir] - cn->off[dir],
                         MSG_NOSIGNAL);
        if (n > 0) {
            cn->off[dir] += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        } else {
            cn->write_dead[dir] = true;
        }
    }
    if (cn->write_dead[dir]) {
        cn->undelivered[dir] += cn->len[dir] - cn->off[dir];
        cn->off[dir] = cn->len[dir] = 0;
    }
    if (cn->off[dir] == cn->len[dir]) {
        cn->off[dir] = cn->len[dir] = 0;
        /* A reset is passed on as an end of stream: the tap cannot reset only one direction
         * of the other socket. The trace keeps what really happened. */
        if (cn->end[dir] != END_OPEN && !cn->shut[dir] && cn->fd[to] >= 0) {
            (void)shutdown(cn->fd[to], SHUT_WR);
            cn->shut[dir] = true;
        }
    }
}

static void conn_read(tc_tap *t, tc_tap_conn *cn, int dir)
{
    int from = dir == DIR_C2S ? SIDE_CLIENT : SIDE_SERVER;
    while (cn->end[dir] == END_OPEN && cn->len[dir] < TAP_BUF) {
        uint8_t *at = cn->buf[dir] + cn->len[dir];
        ssize_t n = recv(cn->fd[from], at, TAP_BUF - cn->len[dir], 0);
        if (n > 0) {
            cn->len[dir] += (size_t)n;
            ttrpc_err rc = tc_tap_dir_feed(&cn->dir[dir], at, (size_t)n, tap_ms(t), &cn->frames,
                                           &cn->n_frames);
            if (rc != TTRPC_OK && t->failure == TTRPC_OK) {
                t->failure = rc;
            }
            conn_flush(cn, dir); /* pass bytes on at once, never waiting for a whole frame */
        } else if (n == 0) {
            cn->end[dir] = END_EOF;
        } else if (errno == EAGAIN || errno == EINTR) {
            break;
        } else {
            cn->end[dir] = END_RESET;
        }
    }
    conn_flush(cn, dir);
}

static void conn_step(tc_tap *t, tc_tap_conn *cn, int side, uint32_t events)
{
    int in_dir = side == SIDE_CLIENT ? DIR_C2S : DIR_S2C;
    int out_dir = side == SIDE_CLIENT ? DIR_S2C : DIR_C2S;
    if (events & EPOLLOUT) {
        conn_flush(cn, out_dir);
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        conn_read(t, cn, in_dir);
        conn_flush(cn, out_dir);
    }
    bool drained = true;
    for (int d = 0; d < 2; d++) {
        drained = drained && cn->end[d] != END_OPEN && cn->len[d] == cn->off[d];
    }
    if (drained) {
        conn_finish(t, cn);
        return;
    }
    conn_arm(t, cn);
}

static ttrpc_err accept_one(tc_tap *t)
{
    int cfd = accept4(t->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
        return errno == EAGAIN || errno == EINTR ? TTRPC_E_AGAIN : TTRPC_E_IO;
    }
    if (t->n_conns == t->cap_conns) {
        size_t cap = t->cap_conns ? 2 * t->cap_conns : 8;
        tc_tap_conn **grown = realloc(t->conns, cap * sizeof *grown);
        if (grown == NULL) {
            (void)close(cfd);
            return TTRPC_E_NOMEM;
        }
        t->conns = grown;
        t->cap_conns = cap;
    }
    tc_tap_conn *cn = calloc(1, sizeof *cn);
    if (cn == NULL) {
        (void)close(cfd);
        return TTRPC_E_NOMEM;
    }
    cn->id = t->n_conns;
    cn->accepted_ms = tap_ms(t);
    cn->fd[SIDE_CLIENT] = cfd;
    cn->fd[SIDE_SERVER] = -1;
    t->conns[t->n_conns++] = cn;
    ttrpc_err rc = tc_tap_dir_init(&cn->dir[DIR_C2S], "c2s");
    if (rc == TTRPC_OK) {
        rc = tc_tap_dir_init(&cn->dir[DIR_S2C], "s2c");
    }
    cn->buf[0] = malloc(TAP_BUF);
    cn->buf[1] = malloc(TAP_BUF);
    if (rc != TTRPC_OK || cn->buf[0] == NULL || cn->buf[1] == NULL) {
        cn->end[0] = cn->end[1] = END_RESET;
        conn_finish(t, cn);
        return TTRPC_E_NOMEM;
    }
    /* A Unix-socket connect completes or fails at once; blocking here costs nothing. */
    struct sockaddr_un a;
    int sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sfd < 0 || set_unix(&a, t->connect_path) != TTRPC_OK ||
        connect(sfd, (struct sockaddr *)&a, sizeof a) != 0) {
        (void)snprintf(cn->connect_error, sizeof cn->connect_error, "connect unix:%s: %s",
                       t->connect_path, strerror(errno));
        if (sfd >= 0) {
            (void)close(sfd);
        }
        /* The client sees its connection closed, as it would with no server at all. */
        conn_finish(t, cn);
        return TTRPC_OK;
    }
    (void)fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) | O_NONBLOCK);
    cn->fd[SIDE_SERVER] = sfd;
    conn_arm(t, cn);
    return TTRPC_OK;
}

ttrpc_err tc_tap_poll(tc_tap *t, int timeout_ms)
{
    struct epoll_event evs[32];
    int n = epoll_wait(t->epoll_fd, evs, 32, timeout_ms);
    if (n < 0) {
        return errno == EINTR ? TTRPC_OK : TTRPC_E_IO;
    }
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        if (tag == TAG_LISTEN) {
            ttrpc_err rc;
            while ((rc = accept_one(t)) == TTRPC_OK) {
            }
            if (rc == TTRPC_E_NOMEM && t->failure == TTRPC_OK) {
                t->failure = rc;
            }
        } else if (tag == TAG_WAKE) {
            char drain[16];
            while (read(t->wake[0], drain, sizeof drain) > 0) {
            }
        } else {
            size_t index = (size_t)(tag / 2u);
            if (index < t->n_conns && !t->conns[index]->done) {
                conn_step(t, t->conns[index], (int)(tag % 2u), evs[i].events);
            }
        }
    }
    return TTRPC_OK;
}

static void *tap_thread(void *arg)
{
    tc_tap *t = arg;
    while (!__atomic_load_n(&t->stop_requested, __ATOMIC_ACQUIRE)) {
        if (tc_tap_poll(t, 1000) != TTRPC_OK) {
            break;
        }
    }
    return NULL;
}

ttrpc_err tc_tap_start(tc_tap *t)
{
    if (pthread_create(&t->thread, NULL, tap_thread, t) != 0) {
        return TTRPC_E_IO;
    }
    t->thread_running = true;
    return TTRPC_OK;
}

void tc_tap_stop(tc_tap *t)
{
    if (t->thread_running) {
        __atomic_store_n(&t->stop_requested, 1, __ATOMIC_RELEASE);
        char one = 1;
        (void)!write(t->wake[1], &one, 1);
        (void)pthread_join(t->thread, NULL);
        t->thread_running = false;
    }
    for (size_t i = 0; i < t->n_conns; i++) {
        conn_finish(t, t->conns[i]);
    }
}

size_t tc_tap_connections(const tc_tap *t)
{
    return t->n_conns;
}

ttrpc_err tc_tap_trace_json(const tc_tap *t, tc_buf *out)
{
    ttrpc_err rc = tc_buf_printf(out,
                                 "{\"schema_version\":%d,\"listen\":\"unix:%s\","
                                 "\"connect\":\"unix:%s\",\"complete\":%s,\"connections\":[",
                                 TC_TAP_SCHEMA_VERSION, t->listen_path, t->connect_path,
                                 t->failure == TTRPC_OK ? "true" : "false");
    for (size_t i = 0; i < t->n_conns && rc == TTRPC_OK; i++) {
        tc_tap_conn *cn = t->conns[i];
        rc = tc_buf_printf(out, "%s{\"id\":%zu,\"accepted_ms\":%.3f,\"connect_error\":",
                           i > 0 ? "," : "", cn->id, cn->accepted_ms);
        if (rc == TTRPC_OK) {
            rc = cn->connect_error[0] ? tc_buf_printf(out, "\"%s\"", cn->connect_error)
                                      : tc_buf_printf(out, "null");
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, ",\"frames\":[");
        }
        if (rc == TTRPC_OK && cn->frames.len > 0) {
            rc = tc_buf_append(out, cn->frames.p, cn->frames.len);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(
                out,
                "],\"end\":{\"c2s\":\"%s\",\"s2c\":\"%s\"},"
                "\"bytes\":{\"c2s\":%llu,\"s2c\":%llu},"
                "\"trailing_bytes\":{\"c2s\":%llu,\"s2c\":%llu},"
                "\"undelivered_bytes\":{\"c2s\":%llu,\"s2c\":%llu}}",
                end_name(cn->end[DIR_C2S]), end_name(cn->end[DIR_S2C]),
                (unsigned long long)cn->dir[DIR_C2S].bytes,
                (unsigned long long)cn->dir[DIR_S2C].bytes,
                (unsigned long long)cn->trailing[DIR_C2S],
                (unsigned long long)cn->trailing[DIR_S2C],
                (unsigned long long)cn->undelivered[DIR_C2S],
                (unsigned long long)cn->undelivered[DIR_S2C]);
        }
    }
    return rc != TTRPC_OK ? rc : tc_buf_printf(out, "]}");
}

void tc_tap_close(tc_tap *t)
{
    tc_tap_stop(t);
    for (size_t i = 0; i < t->n_conns; i++) {
        tc_buf_free(&t->conns[i]->frames);
        free(t->conns[i]);
    }
    free(t->conns);
    t->conns = NULL;
    t->n_conns = t->cap_conns = 0;
    if (t->listen_fd >= 0) {
        (void)close(t->listen_fd);
        (void)unlink(t->listen_path);
    }
    if (t->epoll_fd >= 0) {
        (void)close(t->epoll_fd);
    }
    for (int i = 0; i < 2; i++) {
        if (t->wake[i] >= 0) {
            (void)close(t->wake[i]);
        }
    }
    t->listen_fd = t->epoll_fd = t->wake[0] = t->wake[1] = -1;
}

/* ---- `ttrpc-conform tap` --------------------------------------------------------------------- */

static volatile sig_atomic_t tap_signalled;

static void on_signal(int sig)
{
    tap_signalled = sig;
}

static int tap_usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: ttrpc-conform tap --listen unix:A --connect unix:B --out FILE.json\n"
            "        [--timeout-ms N]\n"
            "\n"
            "Relays every connection accepted on A to a new connection to B, both ways, byte\n"
            "for byte, and records every frame (decoded with the reference codec) into\n"
            "FILE.json (conformance/harness/TRACE.md) when it stops: after N ms, or on\n"
            "SIGINT or SIGTERM. Prints \"ready\" once it listens.\n");
    return rc;
}

int tc_tap_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},   {"connect", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},      {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *listen_addr = NULL, *connect_addr = NULL, *out_path = NULL;
    long timeout_ms = -1;
    opterr = 0;
    optind = 2;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'l':
            listen_addr = optarg;
            break;
        case 'c':
            connect_addr = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 't': {
            char *end = NULL;
            errno = 0;
            timeout_ms = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || timeout_ms < 0) {
                fprintf(stderr, "ttrpc-conform tap: --timeout-ms %s: expected ms\n", optarg);
                return 2;
            }
            break;
        }
        case 'h':
            return tap_usage(stdout, 0);
        default:
            fprintf(stderr, "ttrpc-conform tap: bad option %s\n", argv[optind - 1]);
            return tap_usage(stderr, 2);
        }
    }
    if (listen_addr == NULL || connect_addr == NULL || out_path == NULL || optind < argc) {
        return tap_usage(stderr, 2);
    }
    (void)signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);

    tc_tap t;
    char err[256];
    if (tc_tap_open(&t, listen_addr, connect_addr, err, sizeof err) != TTRPC_OK) {
        fprintf(stderr, "ttrpc-conform tap: %s\n", err);
        return 2;
    }
    printf("ready\n");
    (void)fflush(stdout);
    int rc = 0;
    while (!tap_signalled) {
        int wait = 200;
        if (timeout_ms >= 0) {
            double left = (double)timeout_ms - tap_ms(&t);
            if (left <= 0) {
                break;
            }
            wait = left < 200 ? (int)left + 1 : 200;
        }
        if (tc_tap_poll(&t, wait) != TTRPC_OK) {
            fprintf(stderr, "ttrpc-conform tap: epoll: %s\n", strerror(errno));
            rc = 2;
            break;
        }
    }
    tc_tap_stop(&t);
    tc_buf json = {0};
    FILE *f = NULL;
    if (tc_tap_trace_json(&t, &json) != TTRPC_OK || tc_buf_append(&json, "\n", 1) != TTRPC_OK ||
        (f = fopen(out_path, "w")) == NULL || fwrite(json.p, 1, json.len, f) != json.len) {
        fprintf(stderr, "ttrpc-conform tap: cannot write %s: %s\n", out_path, strerror(errno));
        rc = 2;
    }
    if (f != NULL && fclose(f) != 0) {
        rc = 2;
    }
    if (t.failure != TTRPC_OK) {
        fprintf(stderr, "ttrpc-conform tap: trace incomplete: %s\n", ttrpc_strerror(t.failure));
    }
    fprintf(stderr, "ttrpc-conform tap: %zu connections recorded in %s\n", t.n_conns, out_path);
    tc_buf_free(&json);
    tc_tap_close(&t);
    return rc;
}
