/* PROTOCOL.md, Message Types, Request Flags, Data Flags: types a server does not know, a
 * Response sent to a server, and flag bits and combinations the tables do not define. */
#include "case.h"

#define RC TTRPC_FLAG_REMOTE_CLOSED
#define RO TTRPC_FLAG_REMOTE_OPEN
#define ND TTRPC_FLAG_NO_DATA

/* Only types 1 to 3 are defined; the spec says nothing about others, so what a server does is
 * recorded. Ignoring the frame and serving on is what both real peers do (notes 3.4). */
#define UNKNOWN_TYPE(t, name)                                                                 \
    {                                                                                         \
        .id = "types/unknown/" name,                                                          \
        .clause = "Only types 0x01-0x03 are defined (Message Types); unknown types are not "  \
                  "covered",                                                                  \
        .level = TC_INFO,                                                                     \
        .desc = "a frame of type " name " carrying a message on stream 1, then an Echo",      \
        .script = {TC_FRAME(1, t, 0, .payload = TC_PL_BYTES, .text = "?"), TC_END},           \
        .pass = TC_NOTHING_ON(1),                                                             \
        TC_LENIENT(TC_RESP_ERROR(1)),                                                         \
    }

/* Request flag bits beyond RC and RO have no meaning (Request Flags): a unary Echo carrying
 * one is served by peers that ignore unknown bits. */
#define REQUEST_BIT(bit, name)                                                                \
    {                                                                                         \
        .id = "flags/request/unknown-" name,                                                  \
        .clause = "Request flags define only 0x01 and 0x02 (Request Flags); other bits are "  \
                  "not covered",                                                              \
        .level = TC_INFO,                                                                     \
        .desc = "a unary Echo whose flags also have bit " name " set",                        \
        .script = {TC_CALL(1, "Echo", .flags = (bit), .payload = TC_PL_BYTES, .text = "f"),   \
                   TC_END},                                                                   \
        .pass = TC_RESP_TEXT(1, "f"),                                                         \
        TC_LENIENT(TC_RESP_ERROR(1)),                                                         \
    }

/* The same for Data: a client stream whose middle message carries an undefined bit. */
#define DATA_BIT(bit, name)                                                                   \
    {                                                                                         \
        .id = "flags/data/unknown-" name,                                                     \
        .clause = "Data flags define only 0x01 and 0x04 (Data Flags); other bits are not "    \
                  "covered",                                                                  \
        .level = TC_INFO,                                                                     \
        .needs = TC_NEED_STREAMING,                                                           \
        .desc = "ClientStream 2 + 3 where the Data with 3 also has bit " name " set",         \
        .script = {TC_CALL(1, "ClientStream", .flags = RO),                                   \
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 2),                         \
                   TC_DATA(1, (bit), .payload = TC_PL_COUNT, .count = 3), TC_CLOSE_SEND(1),   \
                   TC_END},                                                                   \
        .pass = TC_RESP_COUNT(1, 5),                                                          \
        TC_LENIENT(TC_RESP_ERROR(1)),                                                         \
    }

const tc_case tc_cases_types[] = {
    UNKNOWN_TYPE(0x00, "0x00"),
    UNKNOWN_TYPE(0x04, "0x04"),
    UNKNOWN_TYPE(0x05, "0x05"),
    UNKNOWN_TYPE(0x08, "0x08"),
    UNKNOWN_TYPE(0x10, "0x10"),
    UNKNOWN_TYPE(0x7f, "0x7f"),
    UNKNOWN_TYPE(0x80, "0x80"),
    UNKNOWN_TYPE(0xfe, "0xfe"),
    UNKNOWN_TYPE(0xff, "0xff"),
    {
        .id = "types/unknown/on-live-stream",
        .clause = "Only types 0x01-0x03 are defined (Message Types)",
        .level = TC_INFO,
        .needs = TC_NEED_STREAMING,
        .desc = "ClientStream 4 + 5 with a type-0x09 frame between the two Data frames",
        .script = {TC_CALL(1, "ClientStream", .flags = RO),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 4),
                   TC_FRAME(1, 0x09, 0, .payload = TC_PL_COUNT, .count = 100),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 5), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_COUNT(1, 9),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "types/response/to-server",
        .clause = "Responses go from server to client (Message Types); a server receiving one "
                  "is not covered",
        .level = TC_INFO,
        .desc = "a Response frame on stream 1, which the client never opened, then an Echo",
        .script = {TC_FRAME(1, TTRPC_TYPE_RESPONSE, 0, .payload = TC_PL_STATUS, .count = 0),
                   TC_END},
        .pass = TC_NOTHING_ON(1),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "types/response/on-live-stream",
        .clause = "Responses go from server to client (Message Types)",
        .level = TC_INFO,
        .needs = TC_NEED_STREAMING,
        .desc = "ClientStream 6 + 1 with a Response frame from the client in the middle",
        .script = {TC_CALL(1, "ClientStream", .flags = RO),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 6),
                   TC_FRAME(1, TTRPC_TYPE_RESPONSE, 0, .payload = TC_PL_EMPTY),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 1), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_COUNT(1, 7),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "types/request/on-live-stream",
        .clause = "A Request initiates a stream (Message Types: Request)",
        .level = TC_INFO,
        .desc = "a second Request on a stream whose unary call (Sleep 300 ms) is still running",
        .script = {TC_SLEEP(1, 300), TC_ECHO(1, "again"), TC_END},
        .pass = TC_RESP_ERROR(1),
        TC_LENIENT(TC_RESP_OK(1)),
    },

    REQUEST_BIT(ND, "0x04-nd"),
    REQUEST_BIT(0x08, "0x08"),
    REQUEST_BIT(0x10, "0x10"),
    REQUEST_BIT(0x80, "0x80"),
    {
        .id = "flags/request/rc-and-ro",
        .clause = "Request RC means no data follows, RO that data follows (Request Flags); both "
                  "at once contradict each other and are not covered",
        .level = TC_INFO,
        .desc = "a unary Echo with flags RC|RO",
        .script = {TC_CALL(1, "Echo", .flags = RC | RO, .payload = TC_PL_BYTES, .text = "rcro"),
                   TC_END},
        .pass = TC_RESP_ERROR(1),
        TC_LENIENT(TC_RESP_TEXT(1, "rcro")),
    },
    {
        .id = "flags/request/rc-on-unary-method",
        .clause = "A Request with RC is non-unary with no more data from the client, and still "
                  "expects a response (Request)",
        .level = TC_INFO,
        .desc = "Echo (a unary method) called with flags RC",
        .script = {TC_CALL(1, "Echo", .flags = RC, .payload = TC_PL_BYTES, .text = "rc"),
                   TC_END},
        .pass = TC_RESP_TEXT(1, "rc"),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "flags/request/ro-on-unary-method",
        .clause = "A Request with RO is non-unary; data follows (Request)",
        .level = TC_INFO,
        .desc = "Echo (a unary method) called with flags RO, then Data RC|ND",
        .script = {TC_CALL(1, "Echo", .flags = RO, .payload = TC_PL_BYTES, .text = "ro"),
                   TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_ANY(1),
    },
    {
        .id = "flags/request/unary-on-stream-method",
        .clause = "Empty Request flags mean a unary request (Request)",
        .level = TC_INFO,
        .needs = TC_NEED_STREAMING,
        .desc = "ServerStream (Count 2) called with flags 0, as if it were unary",
        .script = {TC_CALL(1, "ServerStream", .payload = TC_PL_COUNT, .count = 2), TC_END},
        .pass = TC_RESP_ERROR(1),
        TC_LENIENT(TC_DATA_COUNT(1, 2)),
    },
    DATA_BIT(RO, "0x02"),
    DATA_BIT(0x80, "0x80"),
    {
        .id = "flags/data/nd-with-payload",
        .clause = "ND says the Data frame carries no data (Data Flags); a body with ND is not "
                  "covered",
        .level = TC_INFO,
        .needs = TC_NEED_STREAMING,
        .desc = "ClientStream: Data ND carrying Count 5, then Data 2, then close",
        .script = {TC_CALL(1, "ClientStream", .flags = RO),
                   TC_DATA(1, ND, .payload = TC_PL_COUNT, .count = 5),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 2), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_COUNT(1, 2),
        TC_LENIENT(TC_RESP_COUNT(1, 7), TC_RESP_ERROR(1)),
    },
    {
        .id = "flags/data/nd-without-rc",
        .clause = "ND marks a Data frame without data (Data Flags); it need not close the "
                  "stream",
        .level = TC_MUST,
        .needs = TC_NEED_STREAMING,
        .desc = "ClientStream: Data ND (empty, not closing), Data 3, then close: the sum is 3",
        .script = {TC_CALL(1, "ClientStream", .flags = RO), TC_DATA(1, ND),
                   TC_DATA(1, 0, .payload = TC_PL_COUNT, .count = 3), TC_CLOSE_SEND(1), TC_END},
        .pass = TC_RESP_COUNT(1, 3),
    },
    {
        .id = "flags/response/from-client",
        .clause = "Response flags should be empty (Response Flags); a Response sent to a server "
                  "with flags set is not covered",
        .level = TC_INFO,
        .desc = "a Response frame with flags 0xff on stream 1, then an Echo",
        .script = {TC_FRAME(1, TTRPC_TYPE_RESPONSE, 0xff, .payload = TC_PL_EMPTY), TC_END},
        .pass = TC_NOTHING_ON(1),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
};

const size_t tc_cases_types_count = sizeof tc_cases_types / sizeof tc_cases_types[0];
