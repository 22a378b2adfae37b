/* Client-role cases: the harness serves, the testee calls (client_case.h). Ids start with
 * "client/". Stream ids in scripts are relative to the client's Request id (REQ), so the
 * same case works whatever id a client starts at. Clients end on their own in every case:
 * a client still running at the case deadline is a hang. */
#include <string.h>

#include "client_case.h"

#define REQ 0
/* A Response echoing the Request's payload, status field absent (Go style). */
#define CC_ECHO_BACK {.kind = CC_RESPONSE, .id = REQ, .payload = CC_PL_ECHO}
#define CC_RESP(i, ...) {.kind = CC_RESPONSE, .id = (i), __VA_ARGS__}
#define CC_STATUS(i, c) {.kind = CC_RESPONSE, .id = (i), .code = (c), .message = "x"}
#define CC_DATA_COUNTS(i, first, n) \
    {.kind = CC_DATA, .id = (i), .payload = CC_PL_COUNT, .count = (first), .repeat = (n)}
#define CC_DATA_END(i) \
    {.kind = CC_DATA, .id = (i), .flags = TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA}
#define CC_FRAME_OF(i, t, f, ...) \
    {.kind = CC_FRAME, .id = (i), .type = (t), .flags = (f), __VA_ARGS__}
#define CC_HEADER_OF(i, t, len, ...) \
    {.kind = CC_HEADER, .id = (i), .type = (t), .length = (len), __VA_ARGS__}
#define CC_ZEROS_N(n) {.kind = CC_ZEROS, .count = (n)}
#define CC_PAUSE_MS(m) {.kind = CC_PAUSE, .ms = (m)}
#define CC_CLOSE_NOW {.kind = CC_CLOSE}
#define CC_STOP {.kind = CC_END}
#define CC_AWAIT_MSGS(n) {.kind = CC_AWAIT_DATA, .count = (n)}
#define CC_AWAIT_SEND_CLOSE {.kind = CC_AWAIT_CLOSE}
#define CC_DATA_TEXT(i, t) {.kind = CC_DATA, .id = (i), .payload = CC_PL_TEXT, .text = (t)}
#define CC_SUM_10 {.kind = CC_RESPONSE, .id = REQ, .payload = CC_PL_COUNT, .count = 10}

#define X_SUCCESS {.kind = CC_X_SUCCESS}
#define X_CODE(c) {.kind = CC_X_CODE, .code = (c)}
#define X_ERROR {.kind = CC_X_ERROR}
#define X_REJECTED {.kind = CC_X_REJECTED}
#define X_ENDED {.kind = CC_X_ENDED}

#define CLIENT_CASE(i, lvl, cl, d) \
    .base = {.id = (i), .clause = (cl), .level = (lvl), .testee = TC_CLIENT, .desc = (d)}
#define STREAM_CASE(i, lvl, cl, d)                                                        \
    .base = {.id = (i), .clause = (cl), .level = (lvl), .testee = TC_CLIENT, .desc = (d), \
             .needs = TC_NEED_STREAMING}

/* "GET / HTTP/1.1": read as a header it announces about 1.2 GB. */
static const uint8_t GARBAGE[] = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P',
                                  '/', '1', '.', '1', '\r', '\n', '\r', '\n'};
/* Not a Response: field 1 claims 100 bytes of status that are not there. */
static const uint8_t BAD_RESPONSE[] = {0x0a, 0x64, 0x08, 0x01};
const cc_case cc_cases[] = {
    /* ---- correct answers ---- */
    {CLIENT_CASE("client/unary/echo", TC_MUST,
                 "a unary call ends with one Response (PROTOCOL.md, Response)",
                 "Echo answered with its payload, status field absent"),
     .scenario = CC_SC_ECHO, .script = {CC_ECHO_BACK, CC_STOP}, .pass = X_SUCCESS},
    {CLIENT_CASE("client/unary/echo-empty-status", TC_MUST,
                 "a Response with an OK status is a success (PROTOCOL.md, Response; notes 2.1)",
                 "Echo answered with an empty Status present (Rust style)"),
     .scenario = CC_SC_ECHO,
     .script = {CC_RESP(REQ, .payload = CC_PL_ECHO, .has_status = true), CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/unary/zero-length-response", TC_MUST,
                 "a Response with no status is a success (PROTOCOL.md, Response; notes 2.1)",
                 "Sleep answered with a zero-length Response"),
     .scenario = CC_SC_DEADLINE, .script = {CC_RESP(REQ), CC_STOP}, .pass = X_CODE(0)},
    {CLIENT_CASE("client/unary/response-in-pieces", TC_MUST,
                 "frames may arrive split anywhere (PROTOCOL.md, Message Frame)",
                 "the echo Response written one byte at a time, 2 ms apart"),
     .scenario = CC_SC_ECHO,
     .script = {CC_RESP(REQ, .payload = CC_PL_ECHO, .chunk = 1, .ms = 2), CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/status/code-12", TC_MUST,
                 "a Response carries the call's status (PROTOCOL.md, Response)",
                 "Echo answered with status 12 UNIMPLEMENTED"),
     .scenario = CC_SC_ECHO, .script = {CC_STATUS(REQ, 12), CC_STOP}, .pass = X_CODE(12)},
    {CLIENT_CASE("client/status/code-13-with-payload", TC_MUST,
                 "a non-OK status fails the call whatever the payload (PROTOCOL.md, Response)",
                 "status 13 INTERNAL and the echo payload in the same Response"),
     .scenario = CC_SC_ECHO,
     .script = {CC_RESP(REQ, .code = 13, .message = "x", .payload = CC_PL_ECHO), CC_STOP},
     .pass = X_CODE(13)},
    {CLIENT_CASE("client/status/unknown-code-99", TC_MUST,
                 "a status code the client does not know is still a failure (PROTOCOL.md, "
                 "Response; notes 3.3)",
                 "Echo answered with status 99: reported as 99 (lenient: another failure)"),
     .scenario = CC_SC_ECHO, .script = {CC_STATUS(REQ, 99), CC_STOP}, .pass = X_CODE(99),
     .lenient = X_ERROR},

    /* ---- stream ids ---- */
    {CLIENT_CASE("client/ids/response-other-odd-id", TC_MUST,
                 "Responses are matched to calls by stream id (PROTOCOL.md, Message Frame)",
                 "a Response with another payload on id+2 (never used), then the right one"),
     .scenario = CC_SC_ECHO,
     .script = {CC_RESP(REQ + 2, .payload = CC_PL_TEXT, .text = "wrong id"), CC_ECHO_BACK,
                CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/ids/response-even-id", TC_MUST,
                 "Responses are matched to calls by stream id (PROTOCOL.md, Message Frame)",
                 "a Response on stream 2 (even: a server-initiated id), then the right one"),
     .scenario = CC_SC_ECHO,
     .script = {CC_RESP(2, .abs = true, .payload = CC_PL_TEXT, .text = "even id"),
                CC_ECHO_BACK, CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/ids/response-id-zero", TC_MUST,
                 "Responses are matched to calls by stream id (PROTOCOL.md, Message Frame)",
                 "a Response on stream 0, then the right one"),
     .scenario = CC_SC_ECHO,
     .script = {CC_RESP(0, .abs = true, .payload = CC_PL_TEXT, .text = "id zero"),
                CC_ECHO_BACK, CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/ids/error-on-other-id", TC_MUST,
                 "Responses are matched to calls by stream id (PROTOCOL.md, Message Frame)",
                 "status 13 on id+2, then the right echo Response"),
     .scenario = CC_SC_ECHO, .script = {CC_STATUS(REQ + 2, 13), CC_ECHO_BACK, CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/ids/wrong-id-only", TC_MUST,
                 "a Response on another id does not answer the call (PROTOCOL.md, Message "
                 "Frame)",
                 "Sleep (200 ms deadline) answered only on id+2: the client times out"),
     .scenario = CC_SC_DEADLINE, .script = {CC_STATUS(REQ + 2, 0), CC_STOP},
     .pass = X_CODE(4), .lenient = X_ERROR},
    {CLIENT_CASE("client/ids/two-responses", TC_INFO,
                 "spec silent: a second Response on a finished stream (notes 3.4)",
                 "the echo Response, then a second Response with another payload"),
     .scenario = CC_SC_ECHO,
     .script = {CC_ECHO_BACK, CC_RESP(REQ, .payload = CC_PL_TEXT, .text = "second"),
                CC_PAUSE_MS(200), CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/ids/error-then-ok", TC_INFO,
                 "spec silent: a second Response on a finished stream (notes 3.4)",
                 "status 13, then an OK echo Response on the same id: the first should count"),
     .scenario = CC_SC_ECHO, .script = {CC_STATUS(REQ, 13), CC_ECHO_BACK, CC_STOP},
     .pass = X_CODE(13)},

    /* ---- frame types and flags ---- */
    {CLIENT_CASE("client/types/data-on-unary", TC_SHOULD,
                 "a Response is the only expected message after a unary request (PROTOCOL.md, "
                 "Response)",
                 "Data carrying a message on the unary call, then the echo Response 300 ms "
                 "later: fail the call (lenient: ignore the Data)"),
     .scenario = CC_SC_ECHO,
     .script = {CC_FRAME_OF(REQ, TTRPC_TYPE_DATA, 0, .payload = CC_PL_TEXT, .text = "data"),
                CC_PAUSE_MS(300), CC_ECHO_BACK, CC_STOP},
     .pass = X_REJECTED, .lenient = X_SUCCESS},
    {CLIENT_CASE("client/types/data-on-unary-response-body", TC_MUST,
                 "a data message is not allowed on a unary stream (PROTOCOL.md, Data): it is "
                 "never the call's answer",
                 "Data whose body is an encoded OK Response with another payload, then the "
                 "echo Response 300 ms later: fail the call (lenient: ignore the Data)"),
     .scenario = CC_SC_ECHO,
     .script = {CC_FRAME_OF(REQ, TTRPC_TYPE_DATA, 0, .payload = CC_PL_RESPONSE,
                            .text = "from a Data frame"),
                CC_PAUSE_MS(300), CC_ECHO_BACK, CC_STOP},
     .pass = X_REJECTED, .lenient = X_SUCCESS},
    {CLIENT_CASE("client/types/data-after-response", TC_INFO,
                 "spec silent: Data after the Response that ended the stream (PROTOCOL.md, "
                 "Response)",
                 "the echo Response, then Data on the same id"),
     .scenario = CC_SC_ECHO,
     .script = {CC_ECHO_BACK,
                CC_FRAME_OF(REQ, TTRPC_TYPE_DATA, 0, .payload = CC_PL_TEXT, .text = "late"),
                CC_PAUSE_MS(200), CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/types/unknown-type-pending", TC_INFO,
                 "spec silent: an unknown frame type on a pending call (notes 3.4)",
                 "type 0x07 on the pending id, then the echo Response 300 ms later"),
     .scenario = CC_SC_ECHO,
     .script = {CC_FRAME_OF(REQ, 0x07, 0, .payload = CC_PL_TEXT, .text = "??"),
                CC_PAUSE_MS(300), CC_ECHO_BACK, CC_STOP},
     .pass = X_ERROR, .lenient = X_SUCCESS},
    {CLIENT_CASE("client/types/unknown-type-other-id", TC_MUST,
                 "a frame for no pending call does not change the pending one (PROTOCOL.md, "
                 "Message Frame)",
                 "type 0x07 on id+2, then the echo Response"),
     .scenario = CC_SC_ECHO,
     .script = {CC_FRAME_OF(REQ + 2, 0x07, 0, .payload = CC_PL_TEXT, .text = "??"),
                CC_ECHO_BACK, CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/types/request-to-client", TC_INFO,
                 "spec silent: a Request frame sent to a client (PROTOCOL.md, Message Types)",
                 "a Request frame on id 2, then the echo Response"),
     .scenario = CC_SC_ECHO,
     .script = {CC_FRAME_OF(2, TTRPC_TYPE_REQUEST, 0, .abs = true, .payload = CC_PL_TEXT,
                            .text = "req"),
                CC_ECHO_BACK, CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/flags/response-flags-set", TC_INFO,
                 "no Response flags are defined, they should be empty (PROTOCOL.md, Response "
                 "Flags): a receiver's choice",
                 "the echo Response with flags 0xff"),
     .scenario = CC_SC_ECHO,
     .script = {CC_RESP(REQ, .payload = CC_PL_ECHO, .flags = 0xff), CC_STOP},
     .pass = X_SUCCESS},

    /* ---- bad bytes, lengths and connection ends ---- */
    {CLIENT_CASE("client/frame/oversize-with-body", TC_SHOULD,
                 "any length above 4 MiB should be rejected (PROTOCOL.md, Message Frame)",
                 "a Response header announcing 4 MiB + 1 on the pending id and its 4 MiB + 1 "
                 "bytes: fail the call (lenient: by its own deadline)"),
     .scenario = CC_SC_ECHO,
     .script = {CC_HEADER_OF(REQ, TTRPC_TYPE_RESPONSE, TTRPC_FRAME_MAX_DATA + 1),
                CC_ZEROS_N(TTRPC_FRAME_MAX_DATA + 1), CC_STOP},
     .pass = X_REJECTED, .lenient = X_ERROR},
    {CLIENT_CASE("client/frame/oversize-then-echo", TC_INFO,
                 "spec silent: whether the connection survives a rejected frame (notes 3.1)",
                 "4 MiB + 1 bytes on id+2, then the echo Response"),
     .scenario = CC_SC_ECHO,
     .script = {CC_HEADER_OF(REQ + 2, TTRPC_TYPE_RESPONSE, TTRPC_FRAME_MAX_DATA + 1),
                CC_ZEROS_N(TTRPC_FRAME_MAX_DATA + 1), CC_ECHO_BACK, CC_STOP},
     .pass = X_SUCCESS, .lenient = X_ERROR},
    {CLIENT_CASE("client/frame/oversize-header-close", TC_MUST,
                 "a call pending when the connection ends fails (notes 3.7)",
                 "a Response header announcing 4 MiB + 1, then close"),
     .scenario = CC_SC_ECHO,
     .script = {CC_HEADER_OF(REQ, TTRPC_TYPE_RESPONSE, TTRPC_FRAME_MAX_DATA + 1),
                CC_CLOSE_NOW},
     .pass = X_REJECTED, .lenient = X_ERROR},
    {CLIENT_CASE("client/frame/oversize-header-silence", TC_SHOULD,
                 "a client's deadline holds while a frame never completes (notes 3.1, 3.5)",
                 "Sleep (200 ms deadline) answered by a header announcing 4 MiB + 1, then "
                 "nothing: fail at once or at the deadline, not hang"),
     .scenario = CC_SC_DEADLINE,
     .script = {CC_HEADER_OF(REQ, TTRPC_TYPE_RESPONSE, TTRPC_FRAME_MAX_DATA + 1), CC_STOP},
     .pass = X_ERROR},
    {CLIENT_CASE("client/frame/undecodable-response", TC_MUST,
                 "a Response body that does not decode is not a success (PROTOCOL.md, "
                 "Response)",
                 "a Response whose body claims 100 bytes of status and holds 2"),
     .scenario = CC_SC_ECHO,
     .script = {CC_FRAME_OF(REQ, TTRPC_TYPE_RESPONSE, 0, .payload = CC_PL_RAW,
                            .raw = BAD_RESPONSE, .raw_len = sizeof BAD_RESPONSE),
                CC_PAUSE_MS(300), CC_CLOSE_NOW},
     .pass = X_ERROR},
    {CLIENT_CASE("client/conn/close-before-response", TC_MUST,
                 "a call pending when the connection ends fails (notes 3.7)",
                 "the connection closed right after the Request"),
     .scenario = CC_SC_ECHO, .script = {CC_CLOSE_NOW}, .pass = X_REJECTED},
    {CLIENT_CASE("client/conn/close-mid-header", TC_MUST,
                 "a call pending when the connection ends fails (notes 3.7)",
                 "5 bytes of a Response header, then close"),
     .scenario = CC_SC_ECHO,
     .script = {CC_HEADER_OF(REQ, TTRPC_TYPE_RESPONSE, 15, .cut = 5), CC_CLOSE_NOW},
     .pass = X_REJECTED},
    {CLIENT_CASE("client/conn/truncated-frame-close", TC_MUST,
                 "a call pending when the connection ends fails (notes 3.7)",
                 "a Response header announcing 15 bytes, 4 of them, then close"),
     .scenario = CC_SC_ECHO,
     .script = {CC_HEADER_OF(REQ, TTRPC_TYPE_RESPONSE, 15), CC_ZEROS_N(4), CC_CLOSE_NOW},
     .pass = X_REJECTED},
    {CLIENT_CASE("client/conn/silence", TC_SHOULD,
                 "a client gives up at its deadline (notes 3.5)",
                 "Sleep with a 200 ms deadline, never answered"),
     .scenario = CC_SC_DEADLINE, .script = {CC_STOP}, .pass = X_CODE(4), .lenient = X_ERROR},
    {CLIENT_CASE("client/conn/garbage", TC_SHOULD,
                 "bytes that are not a frame must not pass for an answer (PROTOCOL.md, Message "
                 "Frame)",
                 "\"GET / HTTP/1.1\" (a header announcing about 1.2 GB), then close 300 ms later"),
     .scenario = CC_SC_ECHO,
     .script = {{.kind = CC_RAW, .raw = GARBAGE, .raw_len = sizeof GARBAGE}, CC_PAUSE_MS(300),
                CC_CLOSE_NOW},
     .pass = X_REJECTED},

    /* ---- server streams ---- */
    {STREAM_CASE("client/stream/server-data-end", TC_MUST,
                 "a stream ends with Data carrying remote closed (PROTOCOL.md, Data Flags)",
                 "ServerStream(5): Data with Counts 0..4, then Data[RC|ND]"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {CC_DATA_COUNTS(REQ, 0, 5), CC_DATA_END(REQ), CC_STOP}, .pass = X_SUCCESS},
    {STREAM_CASE("client/stream/server-response-end", TC_INFO,
                 "a Response ends a stream \"with data, an empty response, or an error\" "
                 "(PROTOCOL.md, Response): whether an empty OK payload is one more message "
                 "(Count 0) is left open",
                 "ServerStream(5): Data with Counts 0..4, then an OK Response, no payload"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {CC_DATA_COUNTS(REQ, 0, 5), CC_RESP(REQ), CC_STOP}, .pass = X_SUCCESS},
    {STREAM_CASE("client/stream/error-mid-stream", TC_MUST,
                 "a Response with a non-OK status ends the stream with that status "
                 "(PROTOCOL.md, Response)",
                 "ServerStream(5): Counts 0 and 1, then status 13"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {CC_DATA_COUNTS(REQ, 0, 2), CC_STATUS(REQ, 13), CC_STOP}, .pass = X_CODE(13)},
    {STREAM_CASE("client/stream/close-mid-stream", TC_MUST,
                 "a stream pending when the connection ends fails (notes 3.7)",
                 "ServerStream(5): Counts 0 and 1, then close"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {CC_DATA_COUNTS(REQ, 0, 2), CC_PAUSE_MS(50), CC_CLOSE_NOW},
     .pass = X_REJECTED},
    {STREAM_CASE("client/stream/data-after-end", TC_INFO,
                 "a data message should not be sent after remote closed (PROTOCOL.md, Data "
                 "Flags): what a client does with one",
                 "ServerStream(5): Counts 0..4, Data[RC|ND], then Count 5"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {CC_DATA_COUNTS(REQ, 0, 5), CC_DATA_END(REQ), CC_DATA_COUNTS(REQ, 5, 1),
                CC_PAUSE_MS(200), CC_STOP},
     .pass = X_SUCCESS},
    {STREAM_CASE("client/stream/last-data-carries-rc", TC_MUST,
                 "the last data message must set remote closed, and it may carry a message "
                 "(PROTOCOL.md, Data)",
                 "ServerStream(5): Counts 0..3, then Count 4 in a Data[RC] (no ND)"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {CC_DATA_COUNTS(REQ, 0, 4),
                {.kind = CC_DATA, .id = REQ, .flags = TTRPC_FLAG_REMOTE_CLOSED,
                 .payload = CC_PL_COUNT, .count = 4},
                CC_STOP},
     .pass = X_SUCCESS},
    {STREAM_CASE("client/stream/zero-length-data", TC_SHOULD,
                 "a zero-length data message is still data and should be processed "
                 "(PROTOCOL.md, Data: Count 0 encodes to nothing)",
                 "ServerStream(5): an empty Data (Count 0), Counts 1..4, then Data[RC|ND]"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {{.kind = CC_DATA, .id = REQ}, CC_DATA_COUNTS(REQ, 1, 4), CC_DATA_END(REQ),
                CC_STOP},
     .pass = X_SUCCESS},
    {STREAM_CASE("client/stream/no-data-with-payload", TC_INFO,
                 "spec silent: a Data frame flagged no data that carries bytes (PROTOCOL.md, "
                 "Data Flags)",
                 "ServerStream(5): Counts 0..2, Data[ND] carrying Count 9, Counts 3..4, "
                 "Data[RC|ND]"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {CC_DATA_COUNTS(REQ, 0, 3),
                {.kind = CC_DATA, .id = REQ, .flags = TTRPC_FLAG_NO_DATA,
                 .payload = CC_PL_COUNT, .count = 9},
                CC_DATA_COUNTS(REQ, 3, 2), CC_DATA_END(REQ), CC_STOP},
     .pass = X_SUCCESS},
    {CLIENT_CASE("client/status/ok-with-message", TC_MUST,
                 "code 0 is success, whatever the message says (PROTOCOL.md, Response; notes "
                 "2.1)",
                 "the echo Response with status {code 0, message \"all fine\"}"),
     .scenario = CC_SC_ECHO,
     .script = {CC_RESP(REQ, .payload = CC_PL_ECHO, .has_status = true,
                        .message = "all fine"),
                CC_STOP},
     .pass = X_SUCCESS},
    {STREAM_CASE("client/stream/data-other-id", TC_MUST,
                 "Data is matched to streams by stream id (PROTOCOL.md, Message Frame)",
                 "ServerStream(5): Count 7 on id+2 first, then Counts 0..4 and Data[RC|ND]"),
     .scenario = CC_SC_SERVER_STREAM,
     .script = {CC_DATA_COUNTS(REQ + 2, 7, 1), CC_DATA_COUNTS(REQ, 0, 5), CC_DATA_END(REQ),
                CC_STOP},
     .pass = X_SUCCESS},

    /* ---- client streaming and bidirectional streams: the client sends as well ---- */
    {STREAM_CASE("client/client-stream/sum", TC_MUST,
                 "Request [RO], Data, Data [RC] from the client; one Response ends it "
                 "(PROTOCOL.md, Non-Unary State Diagrams)",
                 "ClientStream: wait for the client's close, then Response Count 10"),
     .scenario = CC_SC_CLIENT_STREAM, .script = {CC_AWAIT_SEND_CLOSE, CC_SUM_10, CC_STOP},
     .pass = X_SUCCESS},
    {STREAM_CASE("client/client-stream/response-before-close", TC_INFO,
                 "spec silent: a server that answers before the client closed its side "
                 "(PROTOCOL.md, Response ends the stream)",
                 "ClientStream: Response Count 10 at once, before any client Data"),
     .scenario = CC_SC_CLIENT_STREAM, .script = {CC_SUM_10, CC_PAUSE_MS(200), CC_STOP},
     .pass = X_SUCCESS, .lenient = X_REJECTED},
    {STREAM_CASE("client/client-stream/error-mid-stream", TC_MUST,
                 "a Response with a non-OK status ends the stream with that status, even "
                 "while the client is still sending (PROTOCOL.md, Response)",
                 "ClientStream: after the first message, Response with status 9"),
     .scenario = CC_SC_CLIENT_STREAM,
     .script = {CC_AWAIT_MSGS(1), CC_STATUS(REQ, 9), CC_PAUSE_MS(200), CC_STOP},
     .pass = X_CODE(9), .lenient = X_REJECTED},
    {STREAM_CASE("client/client-stream/data-other-id", TC_MUST,
                 "Data is matched to streams by stream id (PROTOCOL.md, Message Frame)",
                 "ClientStream: after the first message, Data Count 7 on id+2; after the "
                 "close, Response Count 10"),
     .scenario = CC_SC_CLIENT_STREAM,
     .script = {CC_AWAIT_MSGS(1), CC_DATA_COUNTS(REQ + 2, 7, 1), CC_AWAIT_SEND_CLOSE,
                CC_SUM_10, CC_STOP},
     .pass = X_SUCCESS},
    {STREAM_CASE("client/client-stream/no-answer", TC_MUST,
                 "a call the server never answers ends by the client's own deadline "
                 "(notes 3.5: DEADLINE_EXCEEDED)",
                 "ClientStream: the client closes its side, the server says nothing"),
     .scenario = CC_SC_CLIENT_STREAM, .script = {CC_AWAIT_SEND_CLOSE, CC_STOP},
     .pass = X_CODE(4), .lenient = X_ERROR},
    {STREAM_CASE("client/bidi/echo", TC_MUST,
                 "Data flows both ways while the stream is open; Data [RC] ends each side "
                 "(PROTOCOL.md, Non-Unary State Diagrams)",
                 "BidiStream: each message echoed as it arrives, Data[RC|ND] after the close"),
     .scenario = CC_SC_BIDI_STREAM,
     .script = {CC_AWAIT_MSGS(1), CC_DATA_TEXT(REQ, "a"), CC_AWAIT_MSGS(2),
                CC_DATA_TEXT(REQ, "b"), CC_AWAIT_MSGS(3), CC_DATA_TEXT(REQ, "c"),
                CC_AWAIT_SEND_CLOSE, CC_DATA_END(REQ), CC_STOP},
     .pass = X_SUCCESS},
    {STREAM_CASE("client/bidi/data-other-id", TC_MUST,
                 "Data is matched to streams by stream id (PROTOCOL.md, Message Frame)",
                 "BidiStream: Data \"zz\" on id+2 before each echo"),
     .scenario = CC_SC_BIDI_STREAM,
     .script = {CC_AWAIT_MSGS(1), CC_DATA_TEXT(REQ + 2, "zz"), CC_DATA_TEXT(REQ, "a"),
                CC_AWAIT_MSGS(2), CC_DATA_TEXT(REQ, "b"), CC_AWAIT_MSGS(3),
                CC_DATA_TEXT(REQ, "c"), CC_AWAIT_SEND_CLOSE, CC_DATA_END(REQ), CC_STOP},
     .pass = X_SUCCESS},
    {STREAM_CASE("client/bidi/error-mid-stream", TC_MUST,
                 "a Response with a non-OK status ends the stream with that status "
                 "(PROTOCOL.md, Response)",
                 "BidiStream: echo \"a\", then after the second message Response status 10"),
     .scenario = CC_SC_BIDI_STREAM,
     .script = {CC_AWAIT_MSGS(1), CC_DATA_TEXT(REQ, "a"), CC_AWAIT_MSGS(2),
                CC_STATUS(REQ, 10), CC_PAUSE_MS(200), CC_STOP},
     .pass = X_CODE(10), .lenient = X_REJECTED},
    {STREAM_CASE("client/bidi/end-before-close", TC_INFO,
                 "spec silent on the client API: the server may end its side first "
                 "(PROTOCOL.md, Non-Unary State Diagrams; notes 2.2)",
                 "BidiStream: echo \"a\", then Data[RC|ND] while the client still sends"),
     .scenario = CC_SC_BIDI_STREAM,
     .script = {CC_AWAIT_MSGS(1), CC_DATA_TEXT(REQ, "a"), CC_DATA_END(REQ), CC_PAUSE_MS(200),
                CC_STOP},
     .pass = X_ENDED},
    {STREAM_CASE("client/bidi/no-answer", TC_MUST,
                 "a call the server never answers ends by the client's own deadline "
                 "(notes 3.5: DEADLINE_EXCEEDED)",
                 "BidiStream: the server reads the first message and says nothing"),
     .scenario = CC_SC_BIDI_STREAM, .script = {CC_AWAIT_MSGS(1), CC_STOP},
     .pass = X_CODE(4), .lenient = X_ERROR},
};

const size_t cc_cases_count = sizeof cc_cases / sizeof cc_cases[0];

const cc_case *cc_case_find(const char *id)
{
    for (size_t i = 0; i < cc_cases_count; i++) {
        if (strcmp(cc_cases[i].base.id, id) == 0) {
            return &cc_cases[i];
        }
    }
    return NULL;
}
