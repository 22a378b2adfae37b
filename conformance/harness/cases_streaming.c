/* PROTOCOL.md, Streaming and the Data type: the three stream kinds with the flags the state
 * diagrams show, closing, empty messages, and Data where the spec forbids it. */
#include "case.h"

#define RC TTRPC_FLAG_REMOTE_CLOSED
#define RO TTRPC_FLAG_REMOTE_OPEN
#define ND TTRPC_FLAG_NO_DATA
#define S TC_NEED_STREAMING

const tc_case tc_cases_streaming[] = {
    {
        .id = "streaming/server/count-3",
        .clause = "Request [RC] opens a stream on which the server sends Data and ends with "
                  "RC (Non-Unary State Diagrams; Data: the last Data must set RC)",
        .level = TC_MUST,
        .needs = S,
        .desc = "ServerStream Count 3 with Request flags RC: three messages, then the end",
        .script = {TC_CALL(1, "ServerStream", .flags = RC, .payload = TC_PL_COUNT, .count = 3),
                   TC_END},
        .pass = TC_DATA_COUNT(1, 3),
    },
    {
        .id = "streaming/server/count-0",
        .clause = "A zero-length message is still a message and should be processed (Data)",
        .level = TC_MUST,
        .needs = S,
        .desc = "ServerStream with an empty Count (0 bytes of payload, field present): no "
                "messages, the stream still ends",
        .script = {TC_CALL(1, "ServerStream", .flags = RC, .payload = TC_PL_COUNT, .count = 0),
                   TC_END},
        .pass = TC_DATA_COUNT(1, 0),
    },
    {
        .id = "streaming/server/count-100",
        .clause = "Non-unary streams may carry any number of messages (Streaming)",
        .level = TC_MUST,
        .needs = S,
        .desc = "ServerStream Count 100",
        .script = {TC_CALL(1, "ServerStream", .flags = RC, .payload = TC_PL_COUNT, .count = 100),
                   TC_END},
        .pass = TC_DATA_COUNT(1, 100),
    },
    {
        .id = "streaming/client/sum",
        .clause = "Request [RO], Data, Data [RC]; the server answers with one Response "
                  "(Non-Unary State Diagrams)",
        .level = TC_MUST,
        .needs = S,
        .desc = "ClientStream 1 + 2 + 3, closed with Data RC|ND: Response Count 6",
        .script = {TC_CALL(1, "ClientStream", .flags = RO),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 1),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 2),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 3), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_COUNT(1, 6),
    },
    {
        .id = "streaming/client/last-data-carries-rc",
        .clause = "The last Data on a stream must set RC (Data); the diagram's Data [RC] may "
                  "carry a message",
        .level = TC_MUST,
        .needs = S,
        .desc = "ClientStream 1, then 2 sent as Data RC (a message and the close in one)",
        .script = {TC_CALL(1, "ClientStream", .flags = RO),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 1),
                   TC_DATA(1, RC, .payload = TC_PL_COUNT, .count = 2), TC_END},
        .pass = TC_RESP_COUNT(1, 3),
    },
    {
        .id = "streaming/client/no-messages",
        .clause = "Request [RO] then Data [RC] with no data: the server answers (Non-Unary State "
                  "Diagrams; Data: no data flag)",
        .level = TC_MUST,
        .needs = S,
        .desc = "ClientStream closed at once with Data RC|ND: Response Count 0",
        .script = {TC_CALL(1, "ClientStream", .flags = RO), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_COUNT(1, 0),
    },
    {
        .id = "streaming/client/request-rc",
        .clause = "A Request with RC is non-unary without more data from the client, and the "
                  "client still expects a response (Request)",
        .level = TC_MUST,
        .needs = S,
        .desc = "ClientStream opened with Request flags RC and payload Count 4: the server "
                "answers without waiting for Data",
        .script = {TC_CALL(1, "ClientStream", .flags = RC, .payload = TC_PL_COUNT, .count = 4),
                   TC_END},
        .pass = TC_RESP_COUNT(1, 4),
        TC_LENIENT(TC_RESP_ANY(1)),
        .timeout_ms = 1500,
    },
    {
        .id = "streaming/client/ro-nd-open",
        .clause = "ND on a Request is not defined (Request Flags); Rust clients open client "
                  "streams with RO|ND",
        .level = TC_INFO,
        .needs = S,
        .desc = "ClientStream opened with flags RO|ND and no payload, then 5, then close",
        .script = {TC_CALL(1, "ClientStream", .flags = RO | ND),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 5), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_COUNT(1, 5),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "streaming/client/payload-in-request",
        .clause = "Whether a client-stream Request's payload is the first message is not "
                  "covered (Request)",
        .level = TC_INFO,
        .needs = S,
        .desc = "ClientStream opened with RO and payload Count 5, then 1, then close",
        .script = {TC_CALL(1, "ClientStream", .flags = RO, .payload = TC_PL_COUNT, .count = 5),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 1), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_COUNT(1, 6),
        TC_LENIENT(TC_RESP_COUNT(1, 1)),
    },
    {
        .id = "streaming/client/data-after-close",
        .clause = "Data should not be sent after RC (Data); what a server does with it is not "
                  "covered",
        .level = TC_INFO,
        .needs = S,
        .desc = "ClientStream 1, close with Data RC|ND, then Data 7",
        .script = {TC_CALL(1, "ClientStream", .flags = RO),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 1), TC_CLOSE_SEND(1),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 7), TC_END},
        .pass = TC_RESP_COUNT(1, 1),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "streaming/client/data-after-response",
        .clause = "A Response ends the stream (Response); Data after it is not covered",
        .level = TC_INFO,
        .needs = S,
        .desc = "ClientStream closed and answered, then Data on its id, then an Echo",
        .script = {TC_CALL(1, "ClientStream", .flags = RO), TC_CLOSE_SEND(1), TC_AWAIT(1),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 1), TC_ECHO(3, "next"),
                   TC_END},
        .pass = TC_ALL(TC_RESP_ERROR_NTH(1, 1), TC_RESP_TEXT(3, "next")),
        TC_LENIENT(TC_RESP_TEXT(3, "next")),
    },
    {
        .id = "streaming/bidi/echo-2",
        .clause = "Request [RO], Data both ways, Data [RC] both ways (Non-Unary State Diagrams)",
        .level = TC_MUST,
        .needs = S,
        .desc = "BidiStream \"a\", \"b\", close: two messages back, then the end",
        .script = {TC_CALL(1, "BidiStream", .flags = RO),
                   TC_DATA(1, 0, .payload = TC_PL_BYTES, .text = "a"),
                   TC_DATA(1, 0, .payload = TC_PL_BYTES, .text = "b"), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_DATA_COUNT(1, 2),
    },
    {
        .id = "streaming/bidi/ping-pong",
        .clause = "Data flows both ways while the stream is open (Non-Unary State Diagrams)",
        .level = TC_MUST,
        .needs = S,
        .desc = "BidiStream: send, wait for the echo, send again, wait, close",
        .script = {TC_CALL(1, "BidiStream", .flags = RO),
                   TC_DATA(1, 0, .payload = TC_PL_BYTES, .text = "ping"), TC_AWAIT_DATA(1, 1),
                   TC_DATA(1, 0, .payload = TC_PL_BYTES, .text = "pong"), TC_AWAIT_DATA(1, 2),
                   TC_CLOSE_SEND(1), TC_END},
        .pass = TC_DATA_COUNT(1, 2),
    },
    {
        .id = "streaming/bidi/close-at-once",
        .clause = "Non-Unary State Diagrams: the server ends its side after the client's",
        .level = TC_MUST,
        .needs = S,
        .desc = "BidiStream closed at once with Data RC|ND: no messages, the stream ends",
        .script = {TC_CALL(1, "BidiStream", .flags = RO), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_DATA_COUNT(1, 0),
    },
    {
        .id = "streaming/bidi/empty-data-delivered",
        .clause = "A zero-length Data without ND is an empty message and should be processed "
                  "(Data)",
        .level = TC_SHOULD,
        .needs = S,
        .desc = "BidiStream \"a\", then a zero-length Data without ND, then close: two messages "
                "back",
        .script = {TC_CALL(1, "BidiStream", .flags = RO),
                   TC_DATA(1, 0, .payload = TC_PL_BYTES, .text = "a"),
                   TC_DATA(1, 0, .payload = TC_PL_EMPTY), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_DATA_COUNT(1, 2),
        TC_LENIENT(TC_DATA_COUNT(1, 1)),
    },
    {
        .id = "streaming/unary/data-on-unary",
        .clause = "Data is not allowed on a unary stream (Data); what the server does is not "
                  "covered",
        .level = TC_INFO,
        .desc = "Sleep 300 ms (unary) on stream 1, then a Data frame on stream 1",
        .script = {TC_SLEEP(1, 300), TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 1),
                   TC_END},
        .pass = TC_RESP_ERROR(1),
        TC_LENIENT(TC_RESP_OK(1)),
    },
    {
        .id = "streaming/many/ten-bidi",
        .clause = "Many streams share one connection (introduction; Streaming)",
        .level = TC_MUST,
        .needs = S,
        .desc = "ten BidiStreams opened at once (ids 1..19), each sent one message and closed",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "BidiStream", .flags = RO,
                    .payload = TC_PL_BYTES, .text = "m", .repeat = 10},
                   TC_CLOSE_SEND(1), TC_CLOSE_SEND(3), TC_CLOSE_SEND(5), TC_CLOSE_SEND(7),
                   TC_CLOSE_SEND(9), TC_CLOSE_SEND(11), TC_CLOSE_SEND(13), TC_CLOSE_SEND(15),
                   TC_CLOSE_SEND(17), TC_CLOSE_SEND(19), TC_END},
        .pass = TC_ALL(TC_DATA_COUNT(1, 1), TC_DATA_COUNT(3, 1), TC_DATA_COUNT(5, 1),
                       TC_DATA_COUNT(7, 1), TC_DATA_COUNT(9, 1), TC_DATA_COUNT(11, 1),
                       TC_DATA_COUNT(13, 1), TC_DATA_COUNT(15, 1), TC_DATA_COUNT(17, 1),
                       TC_DATA_COUNT(19, 1)),
    },
};

const size_t tc_cases_streaming_count = sizeof tc_cases_streaming / sizeof tc_cases_streaming[0];
