/* Behaviour PROTOCOL.md leaves to implementations but a conformant server still needs:
 * concurrency on one connection, back-pressure when the client does not read, and a
 * connection that survives the errors it answers. */
#include "case.h"

static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};

const tc_case tc_cases_impl[] = {
    {
        .id = "impl/concurrency/100-in-flight",
        .clause = "Multiple request streams share one connection (introduction)",
        .level = TC_MUST,
        .desc = "100 Sleep calls at once (ids 1..199, 300 ms down to 3 ms): all answered, "
                "matched by id",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Sleep", .payload = TC_PL_COUNT,
                    .count = 300, .count_step = -3, .repeat = 100},
                   TC_END},
        .pass = TC_OK_N(1, 100),
        .timeout_ms = 3000,
    },
    {
        .id = "impl/concurrency/slow-does-not-block-fast",
        .clause = "Multiple request streams share one connection (introduction)",
        .level = TC_SHOULD,
        .desc = "Sleep 1000 ms on stream 1, then Echo on 3: the Echo is answered first",
        .script = {TC_SLEEP(1, 1000), TC_ECHO(3, "fast"), TC_AWAIT(3), TC_END},
        .pass = TC_ALL(TC_RESP_TEXT(3, "fast"), TC_RESP_OK(1)),
        .timeout_ms = 3000,
    },
    {
        .id = "impl/flood/no-read-then-read",
        .clause = "No flow control exists (Purpose); a client that stops reading must not lose "
                  "answers once it reads again",
        .level = TC_SHOULD,
        .desc = "2,000 Echo Requests of 1 KiB written without reading, then reading: all "
                "answered",
        .script = {TC_NOREAD,
                   {.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text_len = 1024, .repeat = 2000},
                   TC_PAUSE(200), TC_READ, TC_END},
        .pass = TC_OK_N(1, 2000),
        .timeout_ms = 15000,
    },
    {
        .id = "impl/errors/connection-kept",
        .clause = "Errors are answered per stream; the connection goes on (Response: \"an "
                  "error\")",
        .level = TC_SHOULD,
        .desc = "unknown method (1), undecodable body (3), Data on no stream (5), then an Echo "
                "on 7",
        .script = {TC_CALL(1, "NoSuchMethod", .payload = TC_PL_BYTES, .text = "x"),
                   {.kind = TC_OP_REQUEST, .id = 3, .mutation = TC_MUT_REPLACE, .raw = garbage,
                    .raw_len = sizeof garbage},
                   TC_DATA(5, 0, .payload = TC_PL_BYTES, .text = "stray"), TC_ECHO(7, "still"),
                   TC_END},
        .pass = TC_ALL(TC_RESP_ERROR(1), TC_RESP_ERROR(3), TC_RESP_TEXT(7, "still")),
        TC_LENIENT(TC_RESP_TEXT(7, "still"), TC_CLOSED),
    },
    {
        .id = "impl/errors/many-unknown-then-echo",
        .clause = "Errors are answered per stream; the connection goes on",
        .level = TC_SHOULD,
        .desc = "200 calls of an unknown method, then an Echo",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "NoSuchMethod",
                    .payload = TC_PL_BYTES, .text = "x", .repeat = 200},
                   TC_ECHO(401, "still"), TC_END},
        .pass = TC_RESP_TEXT(401, "still"),
        TC_LENIENT(TC_CLOSED),
    },
    {
        .id = "impl/connection/connect-and-close",
        .clause = "No handshake exists (Purpose): a connection that sends nothing is harmless",
        .level = TC_SHOULD,
        .desc = "connect, send nothing, close",
        .script = {TC_CLOSE, TC_END},
        .pass = TC_ALIVE,
    },
    {
        .id = "impl/connection/idle-then-echo",
        .clause = "No handshake or keepalive exists (Purpose)",
        .level = TC_MUST,
        .desc = "connect, wait 300 ms, then Echo",
        .script = {TC_PAUSE(300), TC_ECHO(1, "late"), TC_END},
        .pass = TC_RESP_TEXT(1, "late"),
    },
    {
        .id = "impl/close/mid-call",
        .clause = "Closing a connection ends its calls; the server must go on serving others",
        .level = TC_SHOULD,
        .desc = "Sleep 300 ms, then the client closes before the answer",
        .script = {TC_SLEEP(1, 300), TC_PAUSE(20), TC_CLOSE, TC_END},
        .pass = TC_ALIVE,
    },
    {
        .id = "impl/close/mid-stream",
        .clause = "Closing a connection ends its calls; the server must go on serving others",
        .level = TC_SHOULD,
        .needs = TC_NEED_STREAMING,
        .desc = "ServerStream Count 100000 and the client closes after 20 ms",
        .script = {TC_CALL(1, "ServerStream", .flags = TTRPC_FLAG_REMOTE_CLOSED,
                           .payload = TC_PL_COUNT, .count = 100000),
                   TC_PAUSE(20), TC_CLOSE, TC_END},
        .pass = TC_ALIVE,
    },
};

const size_t tc_cases_impl_count = sizeof tc_cases_impl / sizeof tc_cases_impl[0];
