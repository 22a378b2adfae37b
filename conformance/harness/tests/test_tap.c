/* The tap: SHA-256 against the FIPS 180-4 examples, frame records (every split of the input
 * gives the same records; truncation at 4096 bytes; undecodable and unknown frames recorded,
 * not dropped; an oversized frame skipped with bounded memory and hashed whole), and the
 * relay between a real client and server socket, byte for byte both ways. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tap.h"

static void sha_of(const void *p, size_t n, char hex[65])
{
    tc_sha256 s;
    tc_sha256_init(&s);
    tc_sha256_update(&s, p, n);
    tc_sha256_hex(&s, hex);
}

static void test_tap_sha256_known_answers(void **state)
{
    (void)state;
    char hex[65];
    sha_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the length no longer fits the first block's padding. */
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha_of(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* Fed in pieces, the same digest. */
    tc_sha256 s;
    tc_sha256_init(&s);
    for (size_t i = 0; i < strlen(two); i++) {
        tc_sha256_update(&s, (const uint8_t *)two + i, 1);
    }
    char hex2[65];
    tc_sha256_hex(&s, hex2);
    assert_string_equal(hex2, hex);
}

/* A framed Request for conf.Echo/Echo with payload and two metadata entries. */
static size_t request_frame(uint32_t id, const uint8_t *payload, size_t len, uint8_t *out,
                            size_t cap)
{
    ttrpc_kv md[2] = {{ttrpc_bytes_of("k"), ttrpc_bytes_of("v1")},
                      {ttrpc_bytes_of("k\"q"), ttrpc_bytes_of("\x01")}};
    ttrpc_request m = {.service = ttrpc_bytes_of("conf.Echo"),
                       .method = ttrpc_bytes_of("Echo"),
                       .has_payload = true,
                       .payload = {payload, len},
                       .timeout_nano = -1,
                       .metadata = md,
                       .n_metadata = 2};
    static uint8_t body[8192];
    size_t body_len = 0;
    assert_int_equal(ttrpc_request_encode(&m, body, sizeof body, &body_len), TTRPC_OK);
    ttrpc_frame_header h = {(uint32_t)body_len, id, TTRPC_TYPE_REQUEST, 0};
    size_t n = 0;
    assert_int_equal(ttrpc_frame_encode(&h, body, out, cap, &n), TTRPC_OK);
    return n;
}

static size_t raw_frame(uint32_t id, uint8_t type, uint8_t flags, const uint8_t *body,
                        size_t len, uint8_t *out, size_t cap)
{
    ttrpc_frame_header h = {(uint32_t)len, id, type, flags};
    size_t n = 0;
    assert_int_equal(ttrpc_frame_encode(&h, body, out, cap, &n), TTRPC_OK);
    return n;
}

/* Feeds in[0, len) cut at cut, returns the records as a NUL-terminated string. */
static char *records(const uint8_t *in, size_t len, size_t cut, size_t *n_records,
                     uint64_t *trailing)
{
    tc_tap_dir d;
    assert_int_equal(tc_tap_dir_init(&d, "c2s"), TTRPC_OK);
    tc_buf out = {0};
    *n_records = 0;
    assert_int_equal(tc_tap_dir_feed(&d, in, cut, 1.5, &out, n_records), TTRPC_OK);
    assert_int_equal(tc_tap_dir_feed(&d, in + cut, len - cut, 1.5, &out, n_records), TTRPC_OK);
    assert_int_equal(tc_tap_dir_finish(&d, &out, n_records, trailing), TTRPC_OK);
    tc_tap_dir_free(&d);
    (void)tc_buf_str(&out);
    return (char *)out.p;
}

/* Frames cut anywhere (peers split header and body, or coalesce frames) give one record
 * each, the same whatever the cut. */
static void test_tap_dir_feed_any_split(void **state)
{
    (void)state;
    uint8_t in[512];
    size_t len = request_frame(1, (const uint8_t *)"\x0a\x02hi", 4, in, sizeof in);
    static const uint8_t resp[] = {0x12, 0x04, 0x0a, 0x02, 'h', 'i'};
    len += raw_frame(1, TTRPC_TYPE_RESPONSE, 0, resp, sizeof resp, in + len, sizeof in - len);
    len += raw_frame(3, TTRPC_TYPE_DATA, 5, NULL, 0, in + len, sizeof in - len);
    size_t n0 = 0;
    uint64_t trailing = 0;
    char *whole = records(in, len, len, &n0, &trailing);
    assert_int_equal(n0, 3);
    assert_int_equal(trailing, 0);
    assert_non_null(strstr(whole, "\"service\":\"conf.Echo\",\"method\":\"Echo\""));
    assert_non_null(strstr(whole, "\"timeout_nano\":-1"));
    assert_non_null(strstr(whole, "{\"key\":\"k\\\"q\",\"value\":\"\\u0001\"}"));
    assert_non_null(strstr(whole, "\"status\":null,\"payload_hex\":\"0a026869\""));
    assert_non_null(strstr(whole, "\"stream_id\":3,\"type\":3,\"flags\":5,\"header_hex\":"
                                  "\"00000000000000030305\""));
    for (size_t cut = 0; cut <= len; cut++) {
        size_t n = 0;
        char *got = records(in, len, cut, &n, &trailing);
        assert_int_equal(n, 3);
        assert_string_equal(got, whole);
        free(got);
    }
    free(whole);
}

/* Payloads above 4096 bytes keep their first 64 bytes and their hash; at 4096 all of it. */
static void test_tap_frame_json_truncates_above_limit(void **state)
{
    (void)state;
    static uint8_t body[TC_TAP_PAYLOAD_MAX + 1];
    for (size_t i = 0; i < sizeof body; i++) {
        body[i] = (uint8_t)i;
    }
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    for (uint32_t len = TC_TAP_PAYLOAD_MAX; len <= TC_TAP_PAYLOAD_MAX + 1; len++) {
        ttrpc_frame_header h = {len, 5, TTRPC_TYPE_DATA, 0};
        tc_buf out = {0};
        assert_int_equal(tc_tap_frame_json(&out, &arena, 0, "s2c", &h, body), TTRPC_OK);
        const char *s = tc_buf_str(&out);
        const char *hex = strstr(s, "\"payload_hex\":\"");
        assert_non_null(hex);
        size_t digits = strcspn(hex + 15, "\"");
        bool truncated = len > TC_TAP_PAYLOAD_MAX;
        assert_int_equal(digits, truncated ? 2 * TC_TAP_HEAD : 2 * (size_t)len);
        assert_non_null(strstr(s, truncated ? "\"payload_truncated\":true"
                                             : "\"payload_truncated\":false"));
        char sha[65];
        sha_of(body, len, sha);
        assert_non_null(strstr(s, sha));
        tc_buf_free(&out);
    }
    ttrpc_msg_arena_reset(&arena);
}

/* A Response that is not a message, and a type the spec does not define, are recorded with
 * why they did not decode; the frame after them still decodes. */
static void test_tap_dir_feed_records_bad_frames(void **state)
{
    (void)state;
    uint8_t in[256];
    static const uint8_t junk[] = {0x0a, 0x7f, 0x01}; /* a field longer than the message */
    size_t len = raw_frame(1, TTRPC_TYPE_RESPONSE, 0, junk, sizeof junk, in, sizeof in);
    len += raw_frame(3, 0x07, 0xff, junk, sizeof junk, in + len, sizeof in - len);
    len += raw_frame(5, TTRPC_TYPE_DATA, 0, junk, sizeof junk, in + len, sizeof in - len);
    size_t n = 0;
    uint64_t trailing = 0;
    char *s = records(in, len, 0, &n, &trailing);
    assert_int_equal(n, 3);
    assert_non_null(strstr(s, "\"type\":2,\"flags\":0,\"header_hex\":\"00000003000000010200\","
                              "\"payload_hex\":\"0a7f01\""));
    assert_non_null(strstr(s, "\"decoded\":null,\"decode_error\":\""));
    assert_non_null(strstr(s, "\"decode_error\":\"unknown message type 7\""));
    assert_non_null(strstr(s, "\"decoded\":{\"payload_hex\":\"0a7f01\""));
    free(s);
}

/* The connection ends inside a frame: no record, the bytes are counted as trailing. */
static void test_tap_dir_finish_partial_frame(void **state)
{
    (void)state;
    uint8_t in[64];
    size_t len = raw_frame(1, TTRPC_TYPE_DATA, 0, (const uint8_t *)"abcdef", 6, in, sizeof in);
    size_t n = 0;
    uint64_t trailing = 0;
    char *s = records(in, len - 2, 0, &n, &trailing);
    assert_int_equal(n, 0);
    assert_int_equal(trailing, len - 2);
    free(s);
    s = records(in, 4, 0, &n, &trailing); /* inside the header */
    assert_int_equal(trailing, 4);
    free(s);
}

/* A header declaring 4 MiB + 1: the data is skipped, never stored (memory follows what is
 * kept, not what is declared), hashed as it passes, and decoding resumes after it. */
static void test_tap_dir_feed_oversize_hashed_not_stored(void **state)
{
    (void)state;
    uint32_t big = TTRPC_FRAME_MAX_DATA + 1;
    uint8_t hdr[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header h = {big, 1, TTRPC_TYPE_REQUEST, 0};
    ttrpc_frame_header_write(&h, hdr);
    tc_tap_dir d;
    assert_int_equal(tc_tap_dir_init(&d, "c2s"), TTRPC_OK);
    tc_buf out = {0};
    size_t n = 0;
    assert_int_equal(tc_tap_dir_feed(&d, hdr, sizeof hdr, 0, &out, &n), TTRPC_OK);
    static uint8_t chunk[65536];
    memset(chunk, 0xab, sizeof chunk);
    tc_sha256 want;
    tc_sha256_init(&want);
    uint32_t left = big;
    while (left > 0) {
        size_t take = left < sizeof chunk ? left : sizeof chunk;
        tc_sha256_update(&want, chunk, take);
        assert_int_equal(tc_tap_dir_feed(&d, chunk, take, 1, &out, &n), TTRPC_OK);
        assert_true(ttrpc_decoder_memory(&d.dec) <= TTRPC_DECODER_IDLE_KEEP);
        left -= (uint32_t)take;
    }
    assert_int_equal(n, 1);
    uint8_t next[64];
    size_t len = raw_frame(3, TTRPC_TYPE_DATA, 0, (const uint8_t *)"ok", 2, next, sizeof next);
    assert_int_equal(tc_tap_dir_feed(&d, next, len, 2, &out, &n), TTRPC_OK);
    assert_int_equal(n, 2);
    uint64_t trailing = 1;
    assert_int_equal(tc_tap_dir_finish(&d, &out, &n, &trailing), TTRPC_OK);
    assert_int_equal(trailing, 0);
    const char *s = tc_buf_str(&out);
    char sha[65];
    tc_sha256_hex(&want, sha);
    assert_non_null(strstr(s, sha));
    assert_non_null(strstr(s, "\"oversize\":true,\"incomplete\":false,\"payload_bytes_seen\":4194305"));
    assert_non_null(strstr(s, "\"payload_truncated\":true"));
    assert_non_null(strstr(s, "\"stream_id\":3"));
    tc_buf_free(&out);
    tc_tap_dir_free(&d);
}

/* An oversized frame cut short by the end of the connection is still recorded. */
static void test_tap_dir_finish_oversize_incomplete(void **state)
{
    (void)state;
    uint8_t in[TTRPC_FRAME_HEADER_LEN + 3] = {0};
    ttrpc_frame_header h = {0x01000000u, 1, TTRPC_TYPE_DATA, 0}; /* byte 0 set: 16 MiB */
    ttrpc_frame_header_write(&h, in);
    size_t n = 0;
    uint64_t trailing = 0;
    char *s = records(in, sizeof in, 5, &n, &trailing);
    assert_int_equal(n, 1);
    assert_int_equal(trailing, sizeof in);
    assert_non_null(strstr(s, "\"incomplete\":true,\"payload_bytes_seen\":3"));
    free(s);
}

/* ---- the relay ---------------------------------------------------------------------------- */

typedef struct echo_server {
    int listen_fd;
    char path[108];
} echo_server;

/* Accepts one connection, writes back every byte it reads until EOF, then closes. */
static void *echo_thread(void *arg)
{
    echo_server *es = arg;
    int fd = accept(es->listen_fd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    uint8_t buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w <= 0) {
                break;
            }
            off += w;
        }
    }
    (void)close(fd);
    return NULL;
}

static int listen_at(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    (void)snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    (void)unlink(path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void test_tap_relay_both_ways_byte_exact(void **state)
{
    (void)state;
    char dir[] = "/tmp/ttrpc-tap-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    echo_server es;
    (void)snprintf(es.path, sizeof es.path, "%s/s.sock", dir);
    es.listen_fd = listen_at(es.path);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, echo_thread, &es), 0);

    char tap_path[108];
    (void)snprintf(tap_path, sizeof tap_path, "%s/t.sock", dir);
    tc_tap t;
    char err[256];
    assert_int_equal(tc_tap_open(&t, tap_path, es.path, err, sizeof err), TTRPC_OK);
    assert_int_equal(tc_tap_start(&t), TTRPC_OK);

    /* Two frames, the second large enough to need several reads and writes. */
    static uint8_t out[3 * 65536];
    size_t len = request_frame(1, (const uint8_t *)"\x0a\x02hi", 4, out, sizeof out);
    static uint8_t big[2 * 65536];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    len += raw_frame(3, TTRPC_TYPE_DATA, 0, big, sizeof big, out + len, sizeof out - len);

    struct sockaddr_un a = {.sun_family = AF_UNIX};
    (void)snprintf(a.sun_path, sizeof a.sun_path, "%s", tap_path);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    static uint8_t back[sizeof out];
    size_t sent = 0, got = 0;
    while (got < len) {
        if (sent < len) {
            ssize_t w = write(c, out + sent, len - sent < 4096 ? len - sent : 4096);
            assert_true(w > 0);
            sent += (size_t)w;
        }
        if (sent == len || got + 4096 < sent) {
            ssize_t r = read(c, back + got, len - got);
            assert_true(r > 0);
            got += (size_t)r;
        }
    }
    assert_memory_equal(back, out, len);
    assert_int_equal(shutdown(c, SHUT_WR), 0);
    uint8_t one;
    assert_int_equal(read(c, &one, 1), 0); /* the server's EOF came through */
    (void)close(c);
    pthread_join(th, NULL);
    (void)close(es.listen_fd);

    tc_tap_stop(&t);
    assert_int_equal(tc_tap_connections(&t), 1);
    tc_buf json = {0};
    assert_int_equal(tc_tap_trace_json(&t, &json), TTRPC_OK);
    const char *s = tc_buf_str(&json);
    assert_non_null(strstr(s, "{\"schema_version\":1,"));
    assert_non_null(strstr(s, "\"end\":{\"c2s\":\"eof\",\"s2c\":\"eof\"}"));
    char bytes[96];
    (void)snprintf(bytes, sizeof bytes, "\"bytes\":{\"c2s\":%zu,\"s2c\":%zu}", len, len);
    assert_non_null(strstr(s, bytes));
    /* Four records: each frame once per direction. */
    size_t frames = 0;
    for (const char *p = s; (p = strstr(p, "\"dir\":")) != NULL; p++) {
        frames++;
    }
    assert_int_equal(frames, 4);
    tc_buf_free(&json);
    tc_tap_close(&t);
    (void)unlink(es.path);
    (void)rmdir(dir);
}

/* No server behind the tap: the client's connection is closed and the refusal recorded. */
static void test_tap_relay_server_missing(void **state)
{
    (void)state;
    char dir[] = "/tmp/ttrpc-tap-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char tap_path[108], server_path[108];
    (void)snprintf(tap_path, sizeof tap_path, "%s/t.sock", dir);
    (void)snprintf(server_path, sizeof server_path, "%s/none.sock", dir);
    tc_tap t;
    char err[256];
    assert_int_equal(tc_tap_open(&t, tap_path, server_path, err, sizeof err), TTRPC_OK);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    (void)snprintf(a.sun_path, sizeof a.sun_path, "%s", tap_path);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(tc_tap_poll(&t, 1000), TTRPC_OK);
    uint8_t one;
    assert_int_equal(read(c, &one, 1), 0);
    (void)close(c);
    tc_tap_stop(&t);
    tc_buf json = {0};
    assert_int_equal(tc_tap_trace_json(&t, &json), TTRPC_OK);
    assert_non_null(strstr(tc_buf_str(&json), "\"connect_error\":\"connect unix:"));
    tc_buf_free(&json);
    tc_tap_close(&t);
    (void)rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap_sha256_known_answers),
        cmocka_unit_test(test_tap_dir_feed_any_split),
        cmocka_unit_test(test_tap_frame_json_truncates_above_limit),
        cmocka_unit_test(test_tap_dir_feed_records_bad_frames),
        cmocka_unit_test(test_tap_dir_finish_partial_frame),
        cmocka_unit_test(test_tap_dir_feed_oversize_hashed_not_stored),
        cmocka_unit_test(test_tap_dir_finish_oversize_incomplete),
        cmocka_unit_test(test_tap_relay_both_ways_byte_exact),
        cmocka_unit_test(test_tap_relay_server_missing),
    };
    return cmocka_run_group_tests_name("tap", tests, NULL, NULL);
}
