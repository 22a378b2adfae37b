/* PROTOCOL.md, Request and RPC: routing by service and method, the Request message itself
 * (decoding, unknown fields, metadata, timeout_nano, payload). Which status code a failure
 * gets is the implementation's: cases that expect one name the gRPC convention both real
 * peers follow and accept any error status as lenient. */
#include "case.h"

#define ROUTE "Requests carry what the server needs to route them and Responses carry a call " \
              "status (RPC; Request)"
#define DECODE "The Request body is the ttrpc Request message (RPC: \"a request type which " \
               "support routing by procedure name\"); proto3 strings must be valid UTF-8"

static const uint8_t unknown_varint_field[] = {0x78, 0x01};       /* field 15, varint 1 */
static const uint8_t unknown_bytes_field[] = {0xa2, 0x06, 0x03, 'a', 'b', 'c'}; /* field 100 */
static const uint8_t truncated_body[] = {0x0a, 0x10, 'a'};         /* length past the end */
static const uint8_t overlong_varint[] = {0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0x01}; /* 11-byte varint */
static const uint8_t bad_key[] = {0x07, 0x01};                     /* wire type 7 */
static const uint8_t field_zero[] = {0x02, 0x00};                  /* field number 0 */
static const tc_kv repeated_md[] = {{"k", "1"}, {"k", "2"}, {"other", "x"}};
static const tc_kv empty_key_md[] = {{"", "empty key"}};
static const tc_kv mixed_case_md[] = {{"X-Mixed-Case", "v"}};

#define ERROR_CODE(ident, what, svc, mth, code_)                                              \
    {                                                                                         \
        .id = ident,                                                                          \
        .clause = ROUTE,                                                                      \
        .level = TC_SHOULD,                                                                   \
        .desc = what,                                                                         \
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .service = (svc), .method = (mth),        \
                    .payload = TC_PL_BYTES, .text = "x"},                                     \
                   TC_END},                                                                   \
        .pass = TC_RESP_CODE(1, code_),                                                       \
        TC_LENIENT(TC_RESP_ERROR(1)),                                                         \
    }

#define UNDECODABLE(ident, what, bytes)                                                       \
    {                                                                                         \
        .id = ident,                                                                          \
        .clause = DECODE,                                                                     \
        .level = TC_SHOULD,                                                                   \
        .desc = what " (then an Echo on stream 3)",                                           \
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .mutation = TC_MUT_REPLACE,               \
                    .raw = (bytes), .raw_len = sizeof(bytes)},                                \
                   TC_ECHO(3, "next"), TC_END},                                               \
        .pass = TC_ALL(TC_RESP_CODE(1, 3), TC_RESP_TEXT(3, "next")),                          \
        TC_LENIENT(TC_ALL(TC_RESP_ERROR(1), TC_RESP_TEXT(3, "next")), TC_CLOSED),             \
    }

#define MUTATED_ERROR(ident, what, mut)                                                       \
    {                                                                                         \
        .id = ident,                                                                          \
        .clause = DECODE,                                                                     \
        .level = TC_SHOULD,                                                                   \
        .desc = what,                                                                         \
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES, \
                    .text = "x", .mutation = (mut)},                                          \
                   TC_ECHO(3, "next"), TC_END},                                               \
        .pass = TC_ALL(TC_RESP_CODE(1, 3), TC_RESP_TEXT(3, "next")),                          \
        TC_LENIENT(TC_ALL(TC_RESP_ERROR(1), TC_RESP_TEXT(3, "next")), TC_CLOSED),             \
    }

const tc_case tc_cases_request[] = {
    {
        .id = "request/unary/echo",
        .clause = "A unary Request is answered by exactly one Response (Unary State Diagram)",
        .level = TC_MUST,
        .desc = "Echo \"hello\" on stream 1",
        .script = {TC_ECHO(1, "hello"), TC_END},
        .pass = TC_RESP_TEXT(1, "hello"),
    },
    {
        .id = "request/unary/fail-status",
        .clause = "The Response carries the call status (RPC)",
        .level = TC_MUST,
        .desc = "Fail asking for code 9: the Response has status 9",
        .script = {TC_CALL(1, "Fail", .payload = TC_PL_STATUS, .count = 9), TC_END},
        .pass = TC_RESP_CODE(1, 9),
    },
    {
        .id = "request/unary/fail-unknown-code",
        .clause = "The Response carries the call status (RPC); a code outside gRPC's list is "
                  "passed through",
        .level = TC_INFO,
        .desc = "Fail asking for code 99",
        .script = {TC_CALL(1, "Fail", .payload = TC_PL_STATUS, .count = 99), TC_END},
        .pass = TC_RESP_CODE(1, 99),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    ERROR_CODE("request/route/unknown-service", "Echo on service \"no.such.Service\"",
               "no.such.Service", "Echo", 12),
    ERROR_CODE("request/route/unknown-method", "method \"NoSuchMethod\" on the Echo service",
               NULL, "NoSuchMethod", 12),
    ERROR_CODE("request/route/method-case", "method \"echo\": routing is case-sensitive", NULL,
               "echo", 12),
    ERROR_CODE("request/route/service-case",
               "service \"ttrpc.conformance.v1.echo\": routing is case-sensitive",
               "ttrpc.conformance.v1.echo", "Echo", 12),
    ERROR_CODE("request/route/empty-method", "an empty method name", NULL, "", 12),
    ERROR_CODE("request/route/empty-service", "an empty service name", "", "Echo", 12),
    ERROR_CODE("request/route/slash-path", "the gRPC path \"/ttrpc.conformance.v1.Echo/Echo\" "
               "as the method", NULL, "/ttrpc.conformance.v1.Echo/Echo", 12),
    {
        .id = "request/route/connection-kept",
        .clause = ROUTE,
        .level = TC_SHOULD,
        .desc = "an unknown method on stream 1, then an Echo on stream 3: still served",
        .script = {TC_CALL(1, "NoSuchMethod", .payload = TC_PL_BYTES, .text = "x"),
                   TC_ECHO(3, "next"), TC_END},
        .pass = TC_ALL(TC_RESP_ERROR(1), TC_RESP_TEXT(3, "next")),
        TC_LENIENT(TC_CLOSED),
    },
    MUTATED_ERROR("request/decode/bad-utf8-service", "the service name ends in a lone 0xff "
                  "byte", TC_MUT_BAD_UTF8_SERVICE),
    MUTATED_ERROR("request/decode/bad-utf8-method", "the method name ends in a lone 0xff byte",
                  TC_MUT_BAD_UTF8_METHOD),
    MUTATED_ERROR("request/decode/bad-utf8-metadata-key", "a metadata key with a lone 0xff "
                  "byte", TC_MUT_BAD_UTF8_MD_KEY),
    UNDECODABLE("request/decode/truncated-field", "a Request body whose field 1 claims 16 "
                "bytes but has 1", truncated_body),
    UNDECODABLE("request/decode/overlong-varint", "a Request body with an 11-byte varint",
                overlong_varint),
    UNDECODABLE("request/decode/bad-wire-type", "a Request body whose first key has wire "
                "type 7", bad_key),
    UNDECODABLE("request/decode/field-zero", "a Request body with field number 0", field_zero),
    {
        .id = "request/fields/unknown-varint",
        .clause = "Protobuf decoders skip fields they do not know (RPC: the Request message)",
        .level = TC_SHOULD,
        .desc = "Echo with an extra varint field 15",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text = "u", .mutation = TC_MUT_APPEND, .raw = unknown_varint_field,
                    .raw_len = sizeof unknown_varint_field},
                   TC_END},
        .pass = TC_RESP_TEXT(1, "u"),
    },
    {
        .id = "request/fields/unknown-bytes",
        .clause = "Protobuf decoders skip fields they do not know (RPC: the Request message)",
        .level = TC_SHOULD,
        .desc = "Echo with an extra length-delimited field 100",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text = "u", .mutation = TC_MUT_APPEND, .raw = unknown_bytes_field,
                    .raw_len = sizeof unknown_bytes_field},
                   TC_END},
        .pass = TC_RESP_TEXT(1, "u"),
    },
    {
        .id = "request/fields/reversed-order",
        .clause = "Protobuf fields may come in any order (RPC: the Request message)",
        .level = TC_SHOULD,
        .desc = "Echo whose Request fields are written in descending field order",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text = "rev", .timeout_nano = 5000000000, .mutation = TC_MUT_REVERSED},
                   TC_END},
        .pass = TC_RESP_TEXT(1, "rev"),
    },
    {
        .id = "request/fields/service-twice",
        .clause = "A repeated singular protobuf field: the last one wins (RPC: the Request "
                  "message)",
        .level = TC_SHOULD,
        .desc = "service \"wrong.Service\" and then the real service in one Request",
        .script = {{.kind = TC_OP_REQUEST, .id = 1, .method = "Echo", .payload = TC_PL_BYTES,
                    .text = "last", .mutation = TC_MUT_SERVICE_TWICE},
                   TC_END},
        .pass = TC_RESP_TEXT(1, "last"),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "request/payload/absent",
        .clause = "A Request without a payload carries the method's empty message (RPC)",
        .level = TC_MUST,
        .desc = "Echo whose Request has no payload field",
        .script = {TC_CALL(1, "Echo"), TC_END},
        .pass = TC_RESP_TEXT(1, ""),
    },
    {
        .id = "request/payload/present-empty",
        .clause = "A zero-length message is still a message (Data; RPC)",
        .level = TC_MUST,
        .desc = "Echo whose payload field is present with zero bytes",
        .script = {TC_CALL(1, "Echo", .payload = TC_PL_EMPTY), TC_END},
        .pass = TC_RESP_TEXT(1, ""),
    },
    {
        .id = "request/metadata/repeated-key",
        .clause = "Request metadata is a list of key/value pairs (RPC: the Request message); "
                  "repeated keys are not covered",
        .level = TC_INFO,
        .desc = "Metadata with k=1, k=2, other=x",
        .script = {TC_CALL(1, "Metadata", .payload = TC_PL_BYTES, .text = "",
                           .md = repeated_md, .n_md = 3),
                   TC_END},
        .pass = TC_RESP_OK(1),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "request/metadata/empty-key",
        .clause = "Request metadata is a list of key/value pairs (RPC: the Request message)",
        .level = TC_INFO,
        .desc = "Metadata with an empty key",
        .script = {TC_CALL(1, "Metadata", .payload = TC_PL_BYTES, .text = "",
                           .md = empty_key_md, .n_md = 1),
                   TC_END},
        .pass = TC_RESP_OK(1),
        TC_LENIENT(TC_RESP_ERROR(1)),
    },
    {
        .id = "request/metadata/mixed-case-key",
        .clause = "Request metadata is a list of key/value pairs (RPC: the Request message)",
        .level = TC_INFO,
        .desc = "Metadata with key \"X-Mixed-Case\"",
        .script = {TC_CALL(1, "Metadata", .payload = TC_PL_BYTES, .text = "",
                           .md = mixed_case_md, .n_md = 1),
                   TC_END},
        .pass = TC_RESP_OK(1),
    },
    {
        .id = "request/metadata/many-entries",
        .clause = "Request metadata is a list of key/value pairs (RPC); no limit but the frame's",
        .level = TC_SHOULD,
        .desc = "Echo with 5,000 metadata entries of 8-byte values",
        .script = {TC_CALL(1, "Echo", .payload = TC_PL_BYTES, .text = "md", .md_count = 5000,
                           .md_value_len = 8),
                   TC_END},
        .pass = TC_RESP_TEXT(1, "md"),
        TC_LENIENT(TC_RESP_ERROR(1)),
        .timeout_ms = 5000,
    },
    {
        .id = "request/metadata/large-value",
        .clause = "Request metadata is a list of key/value pairs (RPC); no limit but the frame's",
        .level = TC_SHOULD,
        .desc = "Echo with one metadata value of 1 MiB",
        .script = {TC_CALL(1, "Echo", .payload = TC_PL_BYTES, .text = "big", .md_count = 1,
                           .md_value_len = 1048576),
                   TC_END},
        .pass = TC_RESP_TEXT(1, "big"),
        TC_LENIENT(TC_RESP_ERROR(1)),
        .timeout_ms = 5000,
    },
    {
        .id = "request/timeout/expires",
        .clause = "timeout_nano is the time the caller still waits; a server should give up "
                  "when it runs out (RPC: the Request message)",
        .level = TC_SHOULD,
        .desc = "Sleep 1500 ms with timeout_nano 100 ms: DEADLINE_EXCEEDED (4) well before",
        .script = {TC_CALL(1, "Sleep", .payload = TC_PL_COUNT, .count = 1500,
                           .timeout_nano = 100000000),
                   TC_END},
        .pass = TC_RESP_CODE(1, 4),
        TC_LENIENT(TC_RESP_OK(1)),
        .timeout_ms = 1000,
    },
    {
        .id = "request/timeout/zero-means-none",
        .clause = "timeout_nano 0 means no deadline (RPC: the Request message)",
        .level = TC_MUST,
        .desc = "Sleep 100 ms with timeout_nano 0: served",
        .script = {TC_SLEEP(1, 100), TC_END},
        .pass = TC_RESP_OK(1),
    },
    {
        .id = "request/timeout/large",
        .clause = "timeout_nano is the time the caller still waits (RPC: the Request message)",
        .level = TC_MUST,
        .desc = "Sleep 50 ms with timeout_nano 10^18: served",
        .script = {TC_CALL(1, "Sleep", .payload = TC_PL_COUNT, .count = 50,
                           .timeout_nano = 1000000000000000000),
                   TC_END},
        .pass = TC_RESP_OK(1),
    },
    {
        .id = "request/timeout/negative",
        .clause = "timeout_nano is signed; a negative value is not covered",
        .level = TC_INFO,
        .desc = "Sleep 200 ms with timeout_nano -1",
        .script = {TC_CALL(1, "Sleep", .payload = TC_PL_COUNT, .count = 200, .timeout_nano = -1),
                   TC_END},
        .pass = TC_RESP_CODE(1, 4),
        TC_LENIENT(TC_RESP_OK(1)),
    },
    {
        .id = "request/timeout/one-nanosecond",
        .clause = "timeout_nano is the time the caller still waits (RPC: the Request message)",
        .level = TC_INFO,
        .desc = "Echo with timeout_nano 1: a deadline that passes at once",
        .script = {TC_CALL(1, "Echo", .payload = TC_PL_BYTES, .text = "t", .timeout_nano = 1),
                   TC_END},
        .pass = TC_RESP_ANY(1),
    },
};

const size_t tc_cases_request_count = sizeof tc_cases_request / sizeof tc_cases_request[0];
