/* The wire log as data: frames split out of written bytes, header fields and hex, payloads
 * cut past 4096 bytes, a bounded number of entries, and the JSON the reports embed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "wirelog.h"

static void test_wirelog_bytes_split_into_frames(void **state)
{
    (void)state;
    tc_wirelog *w = calloc(1, sizeof *w);
    assert_non_null(w);
    tc_buf bytes = {0};
    assert_int_equal(tc_echo_frame(1, "hi", &bytes), TTRPC_OK);
    assert_int_equal(tc_echo_frame(3, "ho", &bytes), TTRPC_OK);
    /* a bare header announcing data that a later write carries, as TC_OP_HEADER sends */
    uint8_t head[TTRPC_FRAME_HEADER_LEN];
    ttrpc_frame_header h = {.length = 100, .stream_id = 5, .type = TTRPC_TYPE_DATA, .flags = 1};
    ttrpc_frame_header_write(&h, head);
    assert_int_equal(tc_buf_append(&bytes, head, sizeof head), TTRPC_OK);
    tc_wire_bytes(w, TC_WIRE_SENT, bytes.p, bytes.len);
    assert_int_equal(w->n, 3);
    assert_int_equal(w->entries[0].kind, TC_WIRE_FRAME);
    assert_int_equal(w->entries[1].hdr.stream_id, 3);
    assert_non_null(strstr(w->entries[0].text, "Request ttrpc.conformance.v1.Echo/Echo"));
    assert_true(w->entries[2].header_only);
    assert_string_equal(w->entries[2].text, "type 3[RC], 100 data bytes (not in this write)");

    /* fewer bytes than a header */
    tc_wire_bytes(w, TC_WIRE_SENT, head, 4);
    assert_int_equal(w->entries[3].kind, TC_WIRE_BYTES);
    assert_int_equal(w->entries[3].byte_len, 4);

    tc_buf json = {0};
    assert_int_equal(tc_wire_json(w, NULL, NULL, &json), TTRPC_OK);
    const char *s = tc_buf_str(&json);
    assert_non_null(strstr(s, "\"dir\": \"sent\", \"length\": 100, \"stream_id\": 5, \"type\": 3, "
                              "\"flags\": 1, \"header_hex\": \"00000064000000050301\", "
                              "\"header_only\": true"));
    assert_non_null(strstr(s, "\"entries_dropped\": 0"));
    tc_buf_free(&json);
    tc_buf_free(&bytes);
    free(w);
}

static void test_wirelog_payload_cut_and_bounds(void **state)
{
    (void)state;
    tc_wirelog *w = calloc(1, sizeof *w);
    assert_non_null(w);
    uint8_t *big = malloc(5000);
    assert_non_null(big);
    memset(big, 0xab, 5000);
    ttrpc_frame_header h = {.length = 5000, .stream_id = 1, .type = TTRPC_TYPE_DATA};
    tc_wire_frame(w, TC_WIRE_RECEIVED, &h, big, false);
    /* past 4096 bytes only the first 64 are kept; the length says what there was */
    assert_int_equal(w->entries[0].byte_len, 5000);
    assert_int_equal(w->entries[0].kept_len, TC_WIRE_PAYLOAD_HEAD);
    tc_buf json = {0};
    assert_int_equal(tc_wire_json(w, NULL, NULL, &json), TTRPC_OK);
    assert_non_null(strstr(tc_buf_str(&json), "\"payload_length\": 5000, \"payload_hex\": \"abab"));
    assert_non_null(strstr(tc_buf_str(&json), "\"payload_truncated\": true, \"decoded\": "
                                              "\"Data 5000 bytes\""));

    /* whole payloads up to 4096 bytes until the pool runs low, then heads, then nothing */
    h.length = TC_WIRE_PAYLOAD_WHOLE;
    for (int i = 0; i < 12; i++) {
        tc_wire_frame(w, TC_WIRE_RECEIVED, &h, big, false);
    }
    assert_int_equal(w->entries[7].kept_len, TC_WIRE_PAYLOAD_WHOLE);
    assert_int_equal(w->entries[8].kept_len, TC_WIRE_PAYLOAD_HEAD); /* 4032 bytes were left */
    for (int i = 0; i < 70; i++) {
        tc_wire_frame(w, TC_WIRE_RECEIVED, &h, big, false);
    }
    assert_true(w->pool_used <= TC_WIRE_POOL);
    assert_int_equal(w->entries[82].kept_len, 0);

    /* a flood: entries stop at the limit and the rest are counted */
    for (unsigned i = 0; i < TC_WIRE_MAX_ENTRIES; i++) {
        tc_wire_event(w, "connect", "again");
    }
    assert_int_equal(w->n, TC_WIRE_MAX_ENTRIES);
    assert_int_equal(w->dropped, 83);
    json.len = 0;
    assert_int_equal(tc_wire_json(w, "peer-exit", "exit status 3", &json), TTRPC_OK);
    const char *s = tc_buf_str(&json);
    assert_non_null(strstr(s, "\"entries_dropped\": 83, \"pool_exhausted\": true}"));
    assert_non_null(strstr(s, "{\"t_ms\": "));
    assert_non_null(strstr(s, "\"event\": \"peer-exit\", \"detail\": \"exit status 3\"}]"));
    tc_buf_free(&json);
    free(big);
    free(w);
}

/* Summaries of the three message types, including status names and flags. */
static void test_wirelog_describe(void **state)
{
    (void)state;
    char out[TC_WIRE_TEXT];
    uint8_t resp[] = {0x0a, 0x05, 0x08, 0x0c, 0x12, 0x01, 'x'}; /* code 12, message "x" */
    ttrpc_frame_header h = {.length = sizeof resp, .stream_id = 1, .type = TTRPC_TYPE_RESPONSE};
    tc_wire_describe(&h, resp, false, out, sizeof out);
    assert_string_equal(out, "Response status=12 UNIMPLEMENTED \"x\" payload=0");
    h.length = 0;
    tc_wire_describe(&h, resp, false, out, sizeof out);
    assert_string_equal(out, "Response status=0 OK (absent) payload=0");
    h.type = TTRPC_TYPE_DATA;
    h.flags = TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA | 0x80;
    tc_wire_describe(&h, resp, false, out, sizeof out);
    assert_string_equal(out, "Data[RC|ND|0x80] 0 bytes");
    h.type = TTRPC_TYPE_REQUEST;
    h.length = 3;
    tc_wire_describe(&h, (const uint8_t *)"\x0a\x05x", false, out, sizeof out);
    assert_string_equal(out, "Request[RC|ND|0x80] (does not decode)");
    h.type = 9;
    h.flags = 0;
    tc_wire_describe(&h, NULL, true, out, sizeof out);
    assert_string_equal(out, "type 9, 3 data bytes (over the limit: skipped)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wirelog_bytes_split_into_frames),
        cmocka_unit_test(test_wirelog_payload_cut_and_bounds),
        cmocka_unit_test(test_wirelog_describe),
    };
    return cmocka_run_group_tests_name("harness_wirelog", tests, NULL, NULL);
}
