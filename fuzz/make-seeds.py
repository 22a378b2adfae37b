#!/usr/bin/env python3
"""Writes the hand-made seed inputs of every fuzz target to corpus/<target>/, each file named
by the SHA-256 of its contents (so rerunning is harmless and libFuzzer's merged inputs, named
by SHA-1, sit beside them). Frames are built here from the wire format of
ttrpc-notes.md section 1, never copied from captures: the examples of sections 2.1-2.2, one
valid frame of every type and flag combination, and the hostile shapes of section 6.
    usage: fuzz/make-seeds.py [CORPUS_DIR]      (default: corpus)
Each target's input starts with one mode byte (see the comment at the top of its .c file)."""

import hashlib
import os
import struct
import sys

SVC = b"ttrpc.conformance.v1.Echo"
REQ, RESP, DATA = 1, 2, 3
RC, RO, ND = 0x01, 0x02, 0x04
MAX = 4 * 1024 * 1024


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(no, value):
    return varint(no << 3 | 2) + varint(len(value)) + value


def field_varint(no, value):
    return varint(no << 3) + varint(value)


def frame(stream_id, ftype, flags, data=b"", length=None):
    n = len(data) if length is None else length
    return struct.pack(">IIBB", n, stream_id, ftype, flags) + data


def request(method, payload=None, service=SVC, timeout=None, metadata=()):
    out = field_bytes(1, service) + field_bytes(2, method)
    if payload is not None:
        out += field_bytes(3, payload)
    if timeout is not None:
        out += field_varint(4, timeout)
    for k, v in metadata:
        out += field_bytes(5, field_bytes(1, k) + field_bytes(2, v))
    return out


def status(code=0, message=b"", details=()):
    out = b""
    if code:
        out += field_varint(1, code)
    if message:
        out += field_bytes(2, message)
    for url, value in details:
        out += field_bytes(3, field_bytes(1, url) + field_bytes(2, value))
    return out


def response(payload=None, st=None):
    out = b""
    if st is not None:
        out += field_bytes(1, st)
    if payload is not None:
        out += field_bytes(2, payload)
    return out


def bytes_value(b):
    return field_bytes(1, b)


def count(n):
    return field_varint(1, n)


HI = bytes_value(b"hi")

# ---- message bodies (notes 1.4) ----
REQUESTS = [
    request(b"Echo", HI),  # the notes' unary example
    request(b"Echo"),
    request(b"Echo", b""),  # present but empty payload
    request(b"ServerStream", count(3)),
    request(b"ClientStream"),
    request(b"BidiStream", b""),
    request(b"Sleep", count(10), timeout=1_000_000_000),
    request(b"Echo", HI, timeout=-1),  # the 10-byte varint of notes 1.4
    request(b"Metadata", HI,
            metadata=[(b"k", b"v"), (b"k", b"w"), (b"", b""), (b"K", b"\xc3\xa9")]),
    request(b"Echo", HI) + field_varint(99, 7),  # unknown field
    request(b"Echo", HI) + field_bytes(1, b"other"),  # repeated singular field: last wins
    field_bytes(2, b"Echo") + field_bytes(1, SVC),  # fields out of order
    request(b"Echo", service=b"\xff\xfe"),  # bad UTF-8
    request(b"Echo", service=b"\xed\xa0\x80"),  # a surrogate
    b"\x2a\x00" * 64,  # empty metadata entries, 2 bytes each (notes 6)
    b"\x0b\x0c",  # a group, which protobuf-c cannot skip
    b"\x0a\x05ab",  # a length past the end
    b"\x20" + b"\xff" * 10 + b"\x01",  # an over-long varint
    b"",
]
STATUSES = [
    status(),
    status(12, b"x"),
    status(3, b"bad", [(b"type.googleapis.com/x", b"\x00\x01")]),
    status(-1, b"negative"),
    field_varint(1, 0xFFFFFFFF),  # a 5-byte encoding of -1 as int32
    status(16, b"\xe2\x82\xac"),
    status(2, b"\xc0\xaf"),  # an overlong, not UTF-8
    status(5, b"", [(b"", b"")] * 8),
]
RESPONSES = [
    response(HI),  # Go OK: status absent
    response(HI, status()),  # Rust OK: empty status present
    response(st=status(12, b"x")),  # the notes' error example
    b"",  # zero-length Response (ttrpc-rust#49)
    response(count(6), status(0, b"fine")),
    response(st=status(3, b"d", [(b"u", b"v")])),
    response(b"") + field_bytes(7, b"unknown"),
    b"\x0a\x03\x08\x0c",  # a status whose length runs past the end
]
STRING_LISTS = [
    b"",
    field_bytes(1, b"k=v") + field_bytes(1, b"k=w"),
    field_bytes(1, b"") * 16,
    field_bytes(1, b"\xf4\x90\x80\x80"),  # above U+10FFFF
]

# ---- conversations a client sends (notes 2.1-2.4) ----
UNARY = frame(1, REQ, 0, request(b"Echo", HI))
SERVER_STREAM = frame(3, REQ, RC, request(b"ServerStream", count(3)))
GO_CLIENT_STREAM = (frame(5, REQ, RO, request(b"ClientStream")) + frame(5, DATA, 0, count(1)) +
                    frame(5, DATA, 0, count(2)) + frame(5, DATA, RC | ND))
RUST_CLIENT_STREAM = (frame(7, REQ, RO | ND, request(b"ClientStream")) +
                      frame(7, DATA, 0, count(4)) + frame(7, DATA, RC | ND))
BIDI = (frame(9, REQ, RO | ND, request(b"BidiStream")) + frame(9, DATA, 0, HI) +
        frame(9, DATA, 0, b"") + frame(9, DATA, ND) + frame(9, DATA, RC | ND))
CLIENT_SESSIONS = [
    UNARY,
    SERVER_STREAM,
    GO_CLIENT_STREAM,
    RUST_CLIENT_STREAM,
    BIDI,
    UNARY + SERVER_STREAM + GO_CLIENT_STREAM + RUST_CLIENT_STREAM + BIDI,
    frame(1, REQ, 0, request(b"Nope", HI)),  # unknown method
    frame(1, REQ, 0, request(b"Echo", HI, service=b"x.Y")),  # unknown service
    frame(2, REQ, 0, request(b"Echo", HI)),  # even id
    frame(0, REQ, 0, request(b"Echo", HI)),  # id 0
    frame(0xFFFFFFFF, REQ, 0, request(b"Echo", HI)) + UNARY,  # top id, then a decrease
    UNARY + UNARY,  # reuse
    frame(1, REQ, RC | RO, request(b"BidiStream")),  # contradictory flags
    frame(1, REQ, 0, request(b"ServerStream", count(1))),  # unary Request, streaming method
    frame(1, DATA, 0, HI),  # Data before any Request
    frame(1, REQ, RC, request(b"ServerStream", count(2))) + frame(1, DATA, 0, HI),  # after RC
    frame(1, REQ, RO, request(b"BidiStream")) + frame(1, DATA, RC, HI) + frame(1, DATA, 0, HI),
    frame(1, REQ, RO, request(b"BidiStream")) + frame(1, DATA, ND, HI),  # ND with a body
    frame(1, REQ, RO, request(b"BidiStream")) + frame(1, 4, 0, b"??") + frame(1, RESP, 0),
    frame(1, REQ, 0x80 | RC, request(b"ServerStream", count(1))),  # an undefined flag bit
    frame(1, REQ, 0, length=MAX + 1) + b"\x00" * 64 + UNARY,  # oversize, then more
    frame(1, REQ, 0, length=0x01000000),  # reserved byte set: 16 MiB
    frame(1, REQ, 0, length=MAX),  # the largest legal length, body never sent
    frame(1, REQ, 0, length=100) + b"\x0a",  # truncated
    frame(1, REQ, 0, b"\x0b\x0c"),  # undecodable
    frame(1, REQ, 0, request(b"Echo", service=b"\xff")),  # bad UTF-8
    frame(1, REQ, 0, b"\x2a\x00" * 200),  # a metadata flood
    b"".join(frame(2 * i + 1, REQ, RO | ND, request(b"BidiStream")) for i in range(12)),
    b"".join(frame(2 * i + 1, REQ, RC, request(b"ServerStream", count(1))) for i in range(4)) +
    b"".join(frame(2 * i + 1, DATA, 0, HI) for i in range(4)),
]

# ---- what a server sends to our client's three calls (1 unary, 3 server stream, 5 bidi) ----
SERVER_SESSIONS = [
    frame(1, RESP, 0, response(HI)),
    frame(1, RESP, 0, response(HI, status())),
    frame(1, RESP, 0, response(st=status(12, b"x"))),
    frame(1, RESP, 0),
    frame(3, DATA, 0, count(0)) + frame(3, DATA, 0, count(1)) + frame(3, DATA, RC | ND),
    frame(3, DATA, 0, count(0)) + frame(3, DATA, RC, b""),  # a final empty message
    frame(3, RESP, 0, response(st=status(3, b"bad"))),
    frame(5, DATA, 0, HI) + frame(5, DATA, 0, b"") + frame(5, DATA, RC | ND),
    frame(5, DATA, RC | ND) + frame(5, RESP, 0),
    frame(5, RESP, 0, response(st=status(4))),
    frame(1, RESP, 0, response(HI)) + frame(3, DATA, 0, count(0)) + frame(5, DATA, 0, HI) +
    frame(3, DATA, RC | ND) + frame(5, DATA, RC | ND),
    frame(7, RESP, 0, response(HI)),  # an id never opened
    frame(2, DATA, 0, HI),  # a server-initiated id
    frame(1, DATA, 0, HI),  # Data on a unary call
    frame(1, RESP, 0) + frame(1, RESP, 0),  # after the end
    frame(3, DATA, RC | ND) + frame(3, DATA, 0, HI),  # after the server's RC
    frame(5, 4, 0, b"x"),  # an unknown type on a pending call
    frame(1, REQ, 0, request(b"Echo")),  # a Request sent to a client
    frame(1, RESP, 0x80, response(HI)),  # flags on a Response
    frame(1, RESP, 0, b"\x0b\x0c"),  # undecodable
    frame(1, RESP, 0, response(st=status(2, b"\xff"))),  # bad UTF-8 in the status
    frame(1, RESP, 0, response(st=status(5, b"", [(b"", b"")] * 100))),  # many details
    frame(3, RESP, 0, length=MAX + 1) + b"\x00" * 32 + frame(1, RESP, 0),  # oversize
    frame(5, DATA, 0, length=200) + b"\x00" * 10,  # truncated
]


def table_steps(*ops):
    """fuzz_stream_table steps: (back, op, payload) -> the two bytes a, b."""
    out = bytearray()
    for op in ops:
        back, code, payload = op if len(op) == 3 else op + (0,)
        out += bytes([(back << 1) | (0x40 if payload else 0), code])
    return bytes(out)


# op codes: 0-3 call kinds, 4 c.data, 5 c.data last, 6 c.close, 7 c.abandon,
#           8 s.data, 9 s.data last, 10 s.close, 11 s.response, 12 s.abandon
TABLE_SEQUENCES = [
    table_steps((0, 0), (0, 11)),  # unary
    table_steps((0, 1), (0, 8), (0, 8), (0, 10)),  # server stream, ended by close
    table_steps((0, 1), (0, 8), (0, 9)),  # ended by a last message
    table_steps((0, 2), (0, 4), (0, 4), (0, 6), (0, 11)),  # client stream
    table_steps((0, 2, 1), (0, 5), (0, 11)),
    table_steps((0, 3), (0, 4), (0, 8), (0, 6), (0, 10)),  # bidi
    table_steps((0, 3), (0, 10), (0, 4), (0, 6)),  # the server finishes first
    table_steps((0, 3), (0, 11), (0, 4)),  # Data after the Response
    table_steps((0, 0), (0, 4), (0, 8)),  # Data on a unary stream: refused
    table_steps((0, 1), (0, 4)),  # client Data after its RC: refused
    table_steps((0, 3), (0, 7), (0, 8), (0, 11)),  # abandoned by the client
    table_steps((0, 3), (0, 12), (0, 4)),  # abandoned by the server: REJECT answered
    table_steps((0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 11), (1, 11)),  # max_streams
    table_steps((0, 3), (0, 3), (1, 4), (0, 8), (1, 6), (1, 10), (0, 11)),
    table_steps(*[(0, k) for k in range(16)]),
    table_steps(*[(k % 4, (k * 5) % 13) for k in range(40)]),
]
# Every call kind followed by every single API call, then the answer that would end it.
TABLE_SEQUENCES += [table_steps((0, kind), (0, op), (0, 11), (0, 6))
                    for kind in range(4) for op in range(4, 13)]


def table_walk(role, *prefix):
    """Every event once from the state `prefix` leads to, restarting from IDLE each time
    (a bit 7), so the first reading of fuzz_stream_table visits whole rows of the table."""
    out = bytearray()
    for event in range(20):
        for i, p in enumerate(prefix):
            out += bytes([(0x80 if i == 0 else 0) | role, p])
        out += bytes([role, event])
    return bytes(out)


# Events: 0-3 send Request (unary, RC, RO, RC|RO), 4-7 send Data (-, ND, RC, RC|ND),
# 8 send Response, 9-12 receive Request, 13-16 receive Data, 17 Response, 18 unknown type.
TABLE_SEQUENCES += [table_walk(1, o) for o in (9, 10, 11)]  # server: UNARY, REMOTE_CLOSED, OPEN
TABLE_SEQUENCES += [table_walk(0, o) for o in (0, 1, 2)]  # client: UNARY, LOCAL_CLOSED, OPEN
TABLE_SEQUENCES += [table_walk(1, 11, 15), table_walk(1, 11, 6), table_walk(1, 11, 8),
                    table_walk(0, 2, 15), table_walk(0, 2, 6), table_walk(0, 2, 17)]


def write(corpus, target, inputs):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    seen = set()
    for data in inputs:
        name = hashlib.sha256(data).hexdigest()
        if name in seen:
            continue
        seen.add(name)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seen)} seeds")


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else "corpus"
    all_frames = CLIENT_SESSIONS + SERVER_SESSIONS

    # fuzz_frame_decoder: chunk sizes 1, 7, 32 and all at once; each max_data choice.
    dec = []
    for mode in (0x00, 0x06, 0x1F, 0x80):
        dec += [bytes([mode]) + f for f in all_frames[:12]]
    for mode in (0x20, 0x43, 0x60, 0xE0):
        dec += [bytes([mode]) + f for f in (UNARY + BIDI, SERVER_SESSIONS[10], CLIENT_SESSIONS[20])]
    dec.append(bytes([0x80]) + b"".join(all_frames))
    # All at once, and the rest fed again before each pull.
    dec += [bytes([0x81]) + f for f in (UNARY + BIDI, CLIENT_SESSIONS[20], b"".join(all_frames))]
    write(corpus, "fuzz_frame_decoder", dec)

    # fuzz_msg_decode: byte 0 bits 0-1 the message, bit 2 a small budget.
    msg = [bytes([0]) + r for r in REQUESTS]
    msg += [bytes([1]) + r for r in RESPONSES]
    msg += [bytes([2]) + s for s in STATUSES]
    msg += [bytes([3]) + s for s in STRING_LISTS]
    msg += [bytes([0x04 | (1 << 3)]) + REQUESTS[8], bytes([0x04]) + REQUESTS[14],
            bytes([0x05 | (2 << 3)]) + RESPONSES[5], bytes([0x07]) + STRING_LISTS[2]]
    # Bit 2 clear, bits 3-7 = n: the n-th allocation fails.
    msg += [bytes([kind | (n << 3)]) + body for n in (1, 2, 3, 5)
            for kind, body in ((0, REQUESTS[8]), (1, RESPONSES[5]), (2, STATUSES[2]),
                               (3, STRING_LISTS[1]))]
    write(corpus, "fuzz_msg_decode", msg)

    # fuzz_session_server: chunk 16 by default; then 1-byte chunks, max_streams 1,
    # max_output 64, max_data 64.
    srv = [bytes([0x0F]) + s for s in CLIENT_SESSIONS]
    srv += [bytes([m]) + CLIENT_SESSIONS[5] for m in (0x00, 0x1F, 0x2F, 0x3F, 0x4F, 0x8F)]
    srv += [bytes([0x8F]) + CLIENT_SESSIONS[i] for i in (20, 26)]
    srv += [bytes([0x40]) + CLIENT_SESSIONS[i] for i in (5, 27, 28)]  # slow writer
    write(corpus, "fuzz_session_server", srv)

    # fuzz_session_client: all at once by default; then 1-byte chunks, max_data 64,
    # abandon, small decode budget.
    cli = [bytes([0x80]) + s for s in SERVER_SESSIONS]
    cli += [bytes([m]) + SERVER_SESSIONS[10] for m in (0x00, 0x07, 0x90, 0xA0, 0xC0)]
    cli += [bytes([0xC0]) + SERVER_SESSIONS[21], bytes([0x90]) + SERVER_SESSIONS[4]]
    write(corpus, "fuzz_session_client", cli)

    write(corpus, "fuzz_stream_table", TABLE_SEQUENCES)


if __name__ == "__main__":
    main()
