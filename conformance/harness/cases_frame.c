/* PROTOCOL.md, Message Frame: the 10-byte header, the length limit, the reserved byte, and
 * frames that arrive split or coalesced. */
#include "case.h"

#define MAXD TTRPC_FRAME_MAX_DATA
#define REQ TTRPC_TYPE_REQUEST

const tc_case tc_cases_frame[] = {
    {
        .id = "frame/length/zero",
        .clause = "A unary Request is answered by one Response; an empty body is a Request with "
                  "no service or method (Message Frame; Unary State Diagram)",
        .level = TC_MUST,
        .desc = "a Request frame with data length 0 on stream 1: answered with an error status",
        .script = {TC_HEADER(1, REQ, 0), TC_END},
        .pass = TC_RESP_ERROR(1),
    },
    {
        .id = "frame/length/max-accepted",
        .clause = "Data lengths up to the 4 MiB maximum are valid (Message Frame: \"maximum data "
                  "length is 4MB\")",
        .level = TC_SHOULD,
        .desc = "an Echo Request whose frame data is exactly 4,194,304 bytes is served",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .pad_to = MAXD},
                   TC_END},
        .pass = TC_RESP_OK(1),
        .timeout_ms = 8000,
    },
    {
        .id = "frame/length/over-max",
        .clause = "A frame longer than the maximum should be rejected (Message Frame)",
        .level = TC_SHOULD,
        .desc = "4 MiB + 1 data bytes on stream 1, then an Echo on stream 3: an error on 1 "
                "and the connection still serves",
        .script = {TC_HEADER(1, REQ, MAXD + 1), TC_ZEROS(MAXD + 1), TC_ECHO(3, "after"),
                   TC_END},
        .pass = TC_ALL(TC_RESP_ERROR(1), TC_RESP_TEXT(3, "after")),
        TC_LENIENT(TC_CLOSED),
        .timeout_ms = 8000,
    },
    {
        .id = "frame/length/over-max-twice",
        .clause = "A frame longer than the maximum should be rejected (Message Frame)",
        .level = TC_SHOULD,
        .desc = "two oversized frames in a row (streams 1, 3), then an Echo on 5: the body of "
                "each is skipped exactly",
        .script = {TC_HEADER(1, REQ, MAXD + 1), TC_ZEROS(MAXD + 1), TC_HEADER(3, REQ, MAXD + 7),
                   TC_ZEROS(MAXD + 7), TC_ECHO(5, "after"), TC_END},
        .pass = TC_ALL(TC_RESP_ERROR(1), TC_RESP_ERROR(3), TC_RESP_TEXT(5, "after")),
        TC_LENIENT(TC_CLOSED),
        .timeout_ms = 10000,
    },
    {
        .id = "frame/length/max-u32-then-close",
        .clause = "A frame longer than the maximum should be rejected (Message Frame); the "
                  "server outlives a client that announces 4 GiB and leaves",
        .level = TC_SHOULD,
        .desc = "a header announcing 0xFFFFFFFF data bytes, then the client closes: the "
                "server still serves new connections",
        .script = {TC_HEADER(1, REQ, 0xFFFFFFFFu), TC_PAUSE(50), TC_CLOSE, TC_END},
        .pass = TC_ALIVE,
    },
    {
        .id = "frame/length/max-u32-answered",
        .clause = "A frame longer than the maximum should be rejected (Message Frame); whether "
                  "the rejection comes before the body is not specified",
        .level = TC_INFO,
        .desc = "a header announcing 0xFFFFFFFF data bytes and silence: does an answer come "
                "before the body?",
        .script = {TC_HEADER(1, REQ, 0xFFFFFFFFu), TC_END},
        .pass = TC_RESP_ERROR(1),
        TC_LENIENT(TC_CLOSED),
        .timeout_ms = 1000,
    },
    {
        .id = "frame/reserved/first-byte-nonzero",
        .clause = "The first header byte is reserved and should be zero (Message Frame); a "
                  "non-zero value means a length of 16 MiB or more",
        .level = TC_SHOULD,
        .desc = "a header whose length has a non-zero top byte (0x01000010), then the client "
                "closes: the server survives",
        .script = {TC_HEADER(1, REQ, 0x01000010u), TC_ZEROS(16), TC_PAUSE(50), TC_CLOSE,
                   TC_END},
        .pass = TC_ALIVE,
    },
    {
        .id = "frame/header/truncated-then-close",
        .clause = "Each frame starts with a 10-byte header (Message Frame); a connection that "
                  "ends inside one must not harm the server",
        .level = TC_SHOULD,
        .desc = "the first 5 bytes of a Request header, then the client closes",
        .script = {TC_HEADER(1, REQ, 20, .cut = 5), TC_PAUSE(50), TC_CLOSE, TC_END},
        .pass = TC_ALIVE,
    },
    {
        .id = "frame/data/truncated-then-close",
        .clause = "A frame is exactly length + 10 bytes (Message Frame); a connection that ends "
                  "inside the data must not harm the server",
        .level = TC_SHOULD,
        .desc = "a Request header announcing 40 bytes, 7 of them, then the client closes",
        .script = {TC_HEADER(1, REQ, 40), TC_ZEROS(7), TC_PAUSE(50), TC_CLOSE, TC_END},
        .pass = TC_ALIVE,
    },
    {
        .id = "frame/split/single-bytes",
        .clause = "Frames are a byte stream, not datagrams (Message Frame: total size is "
                  "length + 10)",
        .level = TC_MUST,
        .desc = "an Echo Request written one byte per write, 2 ms apart",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text = "one byte at a time", .chunk = 1, .ms = 2},
                   TC_END},
        .pass = TC_RESP_TEXT(1, "one byte at a time"),
        .timeout_ms = 4000,
    },
    {
        .id = "frame/split/header-then-data",
        .clause = "Frames are a byte stream, not datagrams (Message Frame)",
        .level = TC_MUST,
        .desc = "an Echo Request written as its 10 header bytes, a pause, then the data",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text = "split", .chunk = 10, .ms = 50},
                   TC_END},
        .pass = TC_RESP_TEXT(1, "split"),
    },
    {
        .id = "frame/split/chunks-of-7",
        .clause = "Frames are a byte stream, not datagrams (Message Frame)",
        .level = TC_MUST,
        .desc = "two Echo Requests written in 7-byte pieces that straddle the frame boundary",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text = "first", .repeat = 2, .chunk = 7, .ms = 5},
                   TC_END},
        .pass = TC_ALL(TC_RESP_TEXT(1, "first"), TC_RESP_TEXT(3, "first")),
    },
    {
        .id = "frame/coalesced/three-requests",
        .clause = "Several frames may arrive in one read (Message Frame)",
        .level = TC_MUST,
        .desc = "three Echo Requests (streams 1, 3, 5) in one write",
        .script = {TC_ECHO(1, "a"), TC_ECHO(3, "bb"), TC_ECHO(5, "ccc"), TC_END},
        .pass = TC_ALL(TC_RESP_TEXT(1, "a"), TC_RESP_TEXT(3, "bb"), TC_RESP_TEXT(5, "ccc")),
    },
    {
        .id = "frame/coalesced/request-and-data",
        .clause = "Several frames may arrive in one read (Message Frame; Streaming)",
        .level = TC_MUST,
        .needs = TC_NEED_STREAMING,
        .desc = "a BidiStream Request, two Data frames and the close, all in one write",
        .script = {TC_CALL(1, "BidiStream", .flags = TTRPC_FLAG_REMOTE_OPEN),
                   TC_DATA(1, 0, .payload = TC_PL_BYTES, .text = "x"),
                   TC_DATA(1, 0, .payload = TC_PL_BYTES, .text = "y"), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_DATA_COUNT(1, 2),
    },
    {
        .id = "frame/length/one-mib-echo",
        .clause = "Data lengths up to the maximum are valid (Message Frame)",
        .level = TC_MUST,
        .desc = "an Echo of 1 MiB comes back whole",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text_len = 1048576},
                   TC_END},
        .pass = TC_RESP_TEXT_LEN(1, 1048576),
        .timeout_ms = 5000,
    },
};

const size_t tc_cases_frame_count = sizeof tc_cases_frame / sizeof tc_cases_frame[0];
