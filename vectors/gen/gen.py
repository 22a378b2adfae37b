#!/usr/bin/env python3
"""Writes the golden vector files vectors/<area>.json.

Every expectation here comes from this file's own rules, written from PROTOCOL.md (v1.2.8) and
/work/shared/ttrpc-notes.md: the protobuf and frame encoders below are a few lines each, and the
stream rules are the table in `server_inbound`, `server_outbound`, `client_inbound` and
`client_outbound`. Nothing is taken from the C reference implementation's output: the vectors
exist to check it.

    usage: python3 vectors/gen/gen.py [OUTDIR]      (default: the vectors/ directory)

The output is deterministic; the generated JSON is committed, so consumers need no Python.
"""
import json
import os
import sys

MAX_DATA = 4194304  # PROTOCOL.md, Message Frame: "4MB", read by both peers as 4 MiB
REQUEST, RESPONSE, DATA = 1, 2, 3
RC, RO, ND = 0x01, 0x02, 0x04

SPEC = "PROTOCOL.md@v1.2.8"

# ---------------------------------------------------------------------------------------------
# Encoders (proto3 canonical form: ascending field order, defaults omitted)


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


def key(field, wire_type):
    return varint(field << 3 | wire_type)


def ld(field, b):
    return key(field, 2) + varint(len(b)) + b


def vi(field, n):
    return key(field, 0) + varint(n)


def enc_request(service="", method="", payload=None, timeout=0, metadata=()):
    out = b""
    if service:
        out += ld(1, service.encode())
    if method:
        out += ld(2, method.encode())
    if payload is not None:  # presence matters (notes 2.3): None is "absent"
        out += ld(3, payload)
    if timeout:
        out += vi(4, timeout)
    for k, v in metadata:
        kv = (ld(1, k.encode()) if k else b"") + (ld(2, v.encode()) if v else b"")
        out += ld(5, kv)
    return out


def enc_status(code=0, message="", details=()):
    out = b""
    if code:
        out += vi(1, code)
    if message:
        out += ld(2, message.encode())
    for type_url, value in details:
        out += ld(3, (ld(1, type_url.encode()) if type_url else b"") + (ld(2, value) if value else b""))
    return out


def enc_response(status=None, payload=b""):
    """status None: the field is absent (Go's success form); a tuple (code, message, details)."""
    out = b""
    if status is not None:
        out += ld(1, enc_status(*status))
    if payload:
        out += ld(2, payload)
    return out


def header(length, sid, typ, flags):
    return length.to_bytes(4, "big") + sid.to_bytes(4, "big") + bytes([typ, flags])


def frame(sid, typ, flags, data=b""):
    return header(len(data), sid, typ, flags) + data


# ---------------------------------------------------------------------------------------------
# JSON value builders


def hx(b):
    return b.hex()


def req_value(service="", method="", payload=None, timeout=0, metadata=()):
    v = {"service": service, "method": method}
    if payload is not None:
        v["payload"] = hx(payload)
    v["timeout_nano"] = str(timeout)
    v["metadata"] = [{"key": k, "value": val} for k, val in metadata]
    return v


def status_value(code=0, message="", details=()):
    return {
        "code": code,
        "message": message,
        "details": [{"type_url": t, "value": hx(v)} for t, v in details],
    }


def resp_value(status=None, payload=b""):
    v = {}
    if status is not None:
        v["status"] = status_value(*status)
    v["payload"] = hx(payload)
    # notes 2.1: absent status, code 0 and a zero-length Response all mean success.
    v["success"] = status is None or status[0] == 0
    return v


def frame_value(sid, typ, flags, data=b"", decode=None, length=None):
    v = {
        "length": len(data) if length is None else length,
        "stream_id": sid,
        "type": typ,
        "flags": flags,
        "data": hx(data),
    }
    if decode is not None:
        v["decode"] = decode
    return v


PEERS_KEYS = ("go", "rust-async", "rust-sync")

# ---------------------------------------------------------------------------------------------
# Vector collections

AREAS = {}


def add(area, vec):
    AREAS.setdefault(area, []).append(vec)


def clause(words, section):
    return "%s (%s, %s)" % (words, SPEC, section)


# ---------------------------------------------------------------------------------------------
# frame.json: the header and the decoder, without any stream semantics

ECHO_PAYLOAD = bytes.fromhex("0a026869")  # google.protobuf.BytesValue{"hi"}
ECHO_REQ = enc_request("conf.Echo", "Echo", ECHO_PAYLOAD)


def decode_vec(area, vid, cl, level, inp, frames, end="boundary", canonical=True, desc=None,
               peers=None):
    v = {"id": vid, "clause": cl, "level": level, "kind": "decode"}
    if desc:
        v["description"] = desc
    v["input"] = inp
    # A truncated tail is not a frame, so such an input cannot be the encoding of its frames.
    v["canonical"] = canonical and end == "boundary"
    v["expect"] = {"frames": frames, "end": end}
    if peers:
        v["peers"] = peers
    add(area, v)


def gen_frame():
    hdr_clause = clause("The header is a 4-byte big-endian data length, a 4-byte big-endian "
                        "stream id, a type byte and a flags byte; the frame is length + 10 bytes",
                        "Message Frame")
    max_clause = clause("Data lengths up to 4 MiB are accepted; longer ones should be refused",
                        "Message Frame")
    req_dec = {"as": "request", "value": req_value("conf.Echo", "Echo", ECHO_PAYLOAD)}
    f = frame(1, REQUEST, 0, ECHO_REQ)
    decode_vec("frame", "frame/header/echo-request", hdr_clause, "MUST", hx(f),
               [frame_value(1, REQUEST, 0, ECHO_REQ, req_dec)],
               desc="The unary echo Request of notes 2.1, stream 1")
    decode_vec("frame", "frame/length/zero", hdr_clause, "MUST", hx(frame(1, REQUEST, 0)),
               [frame_value(1, REQUEST, 0, b"", {"as": "request", "value": req_value()})],
               desc="A zero-length Request: an all-defaults message")
    decode_vec("frame", "frame/length/one", hdr_clause, "MUST", hx(frame(3, DATA, 0, b"\x08")),
               [frame_value(3, DATA, 0, b"\x08")])
    # Largest legal data length; the Request's payload fills the frame exactly.
    prefix = ld(1, b"conf.Echo") + ld(2, b"Echo")
    plen = MAX_DATA - len(prefix) - 1 - len(varint(MAX_DATA))
    plen = MAX_DATA - len(prefix) - 1 - len(varint(plen))
    body_head = prefix + key(3, 2) + varint(plen)
    assert len(body_head) + plen == MAX_DATA
    big_payload = [{"hex": ""}, {"repeat": {"byte": "61", "count": plen}}]
    decode_vec("frame", "frame/length/max-accepted", max_clause, "MUST",
               [{"hex": hx(header(MAX_DATA, 1, REQUEST, 0) + body_head)},
                {"repeat": {"byte": "61", "count": plen}}],
               [{"length": MAX_DATA, "stream_id": 1, "type": REQUEST, "flags": 0,
                 "data": [{"hex": hx(body_head)}, {"repeat": {"byte": "61", "count": plen}}],
                 "decode": {"as": "request",
                            "value": {"service": "conf.Echo", "method": "Echo",
                                      "payload": big_payload[1:], "timeout_nano": "0",
                                      "metadata": []}}}],
               desc="Data length 4194304 (4 MiB): a Request whose payload fills the frame")
    over = {"error": "too-large", "length": MAX_DATA + 1, "stream_id": 1, "type": REQUEST,
            "flags": 0}
    after = frame(3, REQUEST, 0, ECHO_REQ)
    over_peers = {"go": "skips the body, answers code 8 on the id, keeps the connection",
                  "rust-async": "0.8.1+: skips the body, answers code 3 on the id",
                  "rust-sync": "0.8.1+: skips the body, answers code 3 on the id"}
    decode_vec("frame", "frame/length/max-plus-one", max_clause, "SHOULD",
               [{"hex": hx(header(MAX_DATA + 1, 1, REQUEST, 0))},
                {"repeat": {"byte": "00", "count": MAX_DATA + 1}}, {"hex": hx(after)}],
               [over, frame_value(3, REQUEST, 0, ECHO_REQ, dict(req_dec))],
               canonical=False, peers=over_peers,
               desc="4194305 data bytes are reported as too large and skipped exactly; the "
                    "next frame decodes")
    decode_vec("frame", "frame/length/max-plus-one-header-only", max_clause, "SHOULD",
               hx(header(MAX_DATA + 1, 1, REQUEST, 0)), [dict(over)], end="truncated",
               canonical=False,
               desc="The oversize header is reported before any body byte arrives")
    decode_vec("frame", "frame/length/ffffffff", max_clause, "SHOULD",
               hx(header(0xFFFFFFFF, 5, DATA, 0)),
               [{"error": "too-large", "length": 0xFFFFFFFF, "stream_id": 5, "type": DATA,
                 "flags": 0}], end="truncated", canonical=False, peers=over_peers,
               desc="The largest length field: too large, reported at once; the 4 GiB body "
                    "would be skipped")
    res_clause = clause("The first header byte is reserved and should be zero; no peer checks "
                        "it, a non-zero byte means a length of 16 MiB or more",
                        "Message Frame")
    decode_vec("frame", "frame/reserved/byte0-01", res_clause, "SHOULD",
               [{"hex": hx(header(0x01000000, 1, REQUEST, 0))},
                {"repeat": {"byte": "00", "count": 0x01000000}}, {"hex": hx(after)}],
               [{"error": "too-large", "length": 0x01000000, "stream_id": 1, "type": REQUEST,
                 "flags": 0}, frame_value(3, REQUEST, 0, ECHO_REQ, dict(req_dec))],
               canonical=False, peers=over_peers,
               desc="Reserved byte 0x01: length 16 MiB, skipped like any oversize frame")
    decode_vec("frame", "frame/reserved/byte0-80", res_clause, "SHOULD",
               hx(header(0x80000000, 1, DATA, 0)),
               [{"error": "too-large", "length": 0x80000000, "stream_id": 1, "type": DATA,
                 "flags": 0}], end="truncated", canonical=False)
    decode_vec("frame", "frame/reserved/byte0-00-byte1-40", max_clause, "MUST",
               [{"hex": hx(header(0x00400000, 7, DATA, 0))},
                {"repeat": {"byte": "00", "count": 0x00400000}}],
               [{"length": MAX_DATA, "stream_id": 7, "type": DATA, "flags": 0,
                 "data": [{"repeat": {"byte": "00", "count": MAX_DATA}}]}],
               desc="00 40 00 00 is exactly 4 MiB: accepted")
    # Truncation: every proper prefix of the echo Request frame.
    trunc_clause = clause("A frame is complete only with its 10 header bytes and all its data "
                          "bytes", "Message Frame")
    for cut in list(range(1, 10)) + [10, 11, len(f) - 1]:
        decode_vec("frame", "frame/truncated/after-%d-bytes" % cut, trunc_clause, "MUST",
                   hx(f[:cut]), [], end="truncated",
                   desc="The echo Request frame cut after %d of %d bytes" % (cut, len(f)))
    decode_vec("frame", "frame/truncated/empty-input", trunc_clause, "MUST", "", [],
               desc="No bytes: no frame, at a frame boundary")
    decode_vec("frame", "frame/truncated/second-frame-partial", trunc_clause, "MUST",
               hx(f + f[:4]), [frame_value(1, REQUEST, 0, ECHO_REQ, dict(req_dec))],
               end="truncated")
    # Several frames in one input (peers coalesce writes).
    multi = [frame(1, REQUEST, RO | ND), frame(1, DATA, 0, b"\x08\x01"), frame(1, DATA, 0),
             frame(1, DATA, RC | ND)]
    decode_vec("frame", "frame/coalesced/four-frames", hdr_clause, "MUST",
               hx(b"".join(multi)),
               [frame_value(1, REQUEST, RO | ND, b""), frame_value(1, DATA, 0, b"\x08\x01"),
                frame_value(1, DATA, 0), frame_value(1, DATA, RC | ND)],
               desc="A client stream in one write: Request[RO|ND], two Data, Data[RC|ND]")
    for sid in (0, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF):
        decode_vec("frame", "frame/stream-id/0x%08x" % sid, hdr_clause, "MUST",
                   hx(frame(sid, DATA, 0, b"\x01")), [frame_value(sid, DATA, 0, b"\x01")],
                   desc="The frame layer decodes every id; id rules belong to streams")
    # Known bytes from notes 2.1, typed by hand: they cross-check the encoders above.
    hand = {
        "frame/header/notes-echo-request":
            "0000001700000001010" "00a09636f6e662e4563686f1204456368" "6f1a040a026869",
        "frame/header/notes-go-ok": "00000006000000010200120" "40a026869",
        "frame/header/notes-rust-ok": "000000080000000102000a00120" "40a026869",
        "frame/header/notes-error": "00000007000000010200" "0a05080c120178",
    }
    want = {
        "frame/header/notes-echo-request": (REQUEST, ECHO_REQ, req_dec),
        "frame/header/notes-go-ok":
            (RESPONSE, enc_response(None, ECHO_PAYLOAD),
             {"as": "response", "value": resp_value(None, ECHO_PAYLOAD)}),
        "frame/header/notes-rust-ok":
            (RESPONSE, enc_response((0, "", ()), ECHO_PAYLOAD),
             {"as": "response", "value": resp_value((0, "", ()), ECHO_PAYLOAD)}),
        "frame/header/notes-error":
            (RESPONSE, enc_response((12, "x", ())),
             {"as": "response", "value": resp_value((12, "x", ()))}),
    }
    for vid, h in hand.items():
        typ, data, dec = want[vid]
        assert bytes.fromhex(h) == frame(1, typ, 0, data), vid
        decode_vec("frame", vid, hdr_clause, "MUST", h, [frame_value(1, typ, 0, data, dec)],
                   desc="Hand-typed bytes of notes 2.1")


# ---------------------------------------------------------------------------------------------
# types.json and flags.json: header fields are data at the frame layer


def gen_types_flags():
    type_clause = clause("Types 1 Request, 2 Response, 3 Data are defined; the frame layer "
                         "carries any type byte, what to do with others is left open",
                         "Message Types")
    for t in (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x7F, 0x80, 0xFE, 0xFF):
        known = t in (1, 2, 3)
        decode_vec("types", "types/decode/type-0x%02x" % t, type_clause,
                   "MUST" if known else "IMPLEMENTATION-DEFINED",
                   hx(frame(1, t, 0, b"\x08\x01")), [frame_value(1, t, 0, b"\x08\x01")])
    flag_clause = clause("Request flags 0x01 remote closed, 0x02 remote open; Response flags "
                         "should be empty; Data flags 0x01 remote closed, 0x04 no data; other "
                         "bits are undefined and reach the stream layer unchanged",
                         "Request Flags, Response Flags, Data Flags")
    names = {REQUEST: "request", RESPONSE: "response", DATA: "data", 0x04: "type-0x04"}
    defined = {REQUEST: (0, 1, 2, 3), RESPONSE: (0,), DATA: (0, 1, 4, 5), 0x04: ()}
    for t in (REQUEST, RESPONSE, DATA, 0x04):
        for fl in list(range(0, 8)) + [0x08, 0x10, 0x20, 0x40, 0x80, 0xFF]:
            lvl = "MUST" if fl in defined[t] else "IMPLEMENTATION-DEFINED"
            data = b"" if fl & ND else b"\x08\x01"
            decode_vec("flags", "flags/decode/%s-0x%02x" % (names[t], fl), flag_clause, lvl,
                       hx(frame(9, t, fl, data)), [frame_value(9, t, fl, data)])


# ---------------------------------------------------------------------------------------------
# request.json and response.json: the payload messages alone


def msg_vec(area, vid, cl, level, message, raw, value=None, error=None, canonical=None,
            desc=None, peers=None):
    v = {"id": vid, "clause": cl, "level": level, "kind": "message", "message": message}
    if desc:
        v["description"] = desc
    v["input"] = hx(raw)
    if error is None:
        if canonical is None:
            canonical = True
        v["canonical"] = canonical
        v["expect"] = {"value": value}
    else:
        v["canonical"] = False
        v["expect"] = {"error": error}
    if peers:
        v["peers"] = peers
    add(area, v)


def gen_request():
    c = clause("A Request carries service (1), method (2), payload (3), timeout_nano (4) and "
               "repeated metadata (5) as proto3 fields", "RPC; request.proto")
    cu = clause("proto3 decoders accept unknown fields, any field order and repeated singular "
                "fields (the last one wins)", "RPC; protobuf encoding")
    cs = clause("string fields must hold valid UTF-8; both peers answer a Request with bad "
                "UTF-8 as undecodable (code 3)", "RPC; protobuf encoding")
    A = "request"
    msg_vec(A, "request/empty", c, "MUST", "request", b"", req_value(),
            desc="Zero bytes: every field at its default (payload absent)")
    msg_vec(A, "request/echo", c, "MUST", "request", ECHO_REQ,
            req_value("conf.Echo", "Echo", ECHO_PAYLOAD))
    msg_vec(A, "request/payload-present-empty", c, "MUST", "request",
            enc_request("conf.Echo", "Echo", b""), req_value("conf.Echo", "Echo", b""),
            desc="1a 00: payload present but empty; Go servers deliver it as a first message "
                 "(notes 2.3). Decoders without field presence see an empty payload")
    msg_vec(A, "request/payload-absent", c, "MUST", "request", enc_request("conf.Echo", "Echo"),
            req_value("conf.Echo", "Echo"))
    msg_vec(A, "request/payload-binary-not-utf8", c, "MUST", "request",
            enc_request("conf.Echo", "Echo", b"\xff\xfe\x00\x80"),
            req_value("conf.Echo", "Echo", b"\xff\xfe\x00\x80"),
            desc="payload is bytes: never checked for UTF-8")
    for t, name in ((1, "1"), (1000000000, "1s"), (-1, "minus-1"), ((1 << 63) - 1, "int64-max"),
                    (-(1 << 63), "int64-min")):
        msg_vec(A, "request/timeout/%s" % name, c, "MUST", "request",
                enc_request("conf.Sleep", "Sleep", None, t),
                req_value("conf.Sleep", "Sleep", None, t),
                desc="timeout_nano %d (int64 varint, negatives take 10 bytes)" % t)
    md = [("k", "v1"), ("k", "v2"), ("", "empty-key"), ("Mixed-Case", ""), ("k", "v3")]
    msg_vec(A, "request/metadata/repeated-empty-mixed-case", c, "MUST", "request",
            enc_request("conf.Echo", "Echo", None, 0, md),
            req_value("conf.Echo", "Echo", None, 0, md),
            desc="Metadata is an ordered list: repeated keys, an empty key, an empty value and "
                 "key case are all kept",
            peers={"go": "lookups lower-case the searched key; Mixed-Case is on the wire but "
                          "unreachable through Go's helpers (notes 3.6)"})
    flood = [("", "")] * 64
    msg_vec(A, "request/metadata/64-empty-entries", c, "MUST", "request",
            enc_request("", "", None, 0, flood), req_value("", "", None, 0, flood),
            desc="2a 00 x 64: 64 empty KeyValue entries")
    unk = ECHO_REQ + vi(6, 7) + ld(15, b"xyz") + key(1000, 5) + b"\x01\x02\x03\x04" + \
        key(1001, 1) + bytes(8) + vi(536870911, 1)
    msg_vec(A, "request/unknown-fields", cu, "MUST", "request", unk,
            req_value("conf.Echo", "Echo", ECHO_PAYLOAD), canonical=False,
            desc="Unknown fields of wire types 0, 2, 5 and 1 (field 536870911 is the largest "
                 "number) are skipped")
    rev = ld(3, ECHO_PAYLOAD) + ld(2, b"Echo") + ld(1, b"conf.Echo")
    msg_vec(A, "request/field-order-reversed", cu, "MUST", "request", rev,
            req_value("conf.Echo", "Echo", ECHO_PAYLOAD), canonical=False)
    dup = ld(1, b"wrong") + ld(2, b"Echo") + ld(1, b"conf.Echo") + vi(4, 5) + vi(4, 0)
    msg_vec(A, "request/repeated-singular-last-wins", cu, "MUST", "request", dup,
            req_value("conf.Echo", "Echo", None, 0), canonical=False,
            desc="service twice, timeout_nano 5 then 0: the last value wins")
    long_varint = key(4, 0) + b"\x81\x80\x80\x80\x00"
    msg_vec(A, "request/varint-non-minimal", cu, "MUST", "request", long_varint,
            req_value("", "", None, 1), canonical=False,
            desc="timeout_nano 1 written in 5 varint bytes")
    msg_vec(A, "request/bad-utf8-service", cs, "MUST", "request",
            ld(1, b"conf.\xffcho") + ld(2, b"Echo"), error="decode-error")
    msg_vec(A, "request/bad-utf8-method-surrogate", cs, "MUST", "request",
            ld(1, b"conf.Echo") + ld(2, b"\xed\xa0\x80"), error="decode-error",
            desc="An encoded UTF-16 surrogate is not UTF-8")
    msg_vec(A, "request/bad-utf8-overlong", cs, "MUST", "request", ld(1, b"\xc0\xaf"),
            error="decode-error")
    msg_vec(A, "request/bad-utf8-metadata-key", cs, "MUST", "request",
            ld(5, ld(1, b"\x80") + ld(2, b"v")), error="decode-error")
    msg_vec(A, "request/bad-utf8-metadata-value", cs, "MUST", "request",
            ld(5, ld(1, b"k") + ld(2, b"\xf5\x80\x80\x80")), error="decode-error",
            desc="f5: above U+10FFFF")
    ce = clause("Bytes that are not a protobuf encoding do not decode", "RPC; protobuf encoding")
    msg_vec(A, "request/truncated-length", ce, "MUST", "request", b"\x0a\x09conf",
            error="decode-error", desc="service claims 9 bytes, 4 follow")
    msg_vec(A, "request/truncated-varint", ce, "MUST", "request", b"\x20\xff",
            error="decode-error")
    msg_vec(A, "request/varint-11-bytes", ce, "MUST", "request",
            b"\x20" + b"\xff" * 10 + b"\x01", error="decode-error")
    msg_vec(A, "request/field-number-zero", ce, "MUST", "request", b"\x00\x01",
            error="decode-error")
    msg_vec(A, "request/wire-type-7", ce, "MUST", "request", b"\x0f\x00", error="decode-error")
    msg_vec(A, "request/metadata-entry-truncated", ce, "MUST", "request",
            ld(5, b"\x0a\x05ab"), error="decode-error",
            desc="The KeyValue's key claims 5 bytes inside a 4-byte entry")
    msg_vec(A, "request/length-past-end-huge", ce, "MUST", "request",
            b"\x1a\xff\xff\xff\xff\x0f", error="decode-error")


def gen_response():
    c = clause("A Response carries status (1, google.rpc.Status: code 1, message 2, details 3) "
               "and payload (2)", "RPC; request.proto")
    cs = clause("Success is an absent status, a status with code 0, or a zero-length Response",
                "RPC; notes 2.1")
    A = "response"
    msg_vec(A, "response/go-ok", cs, "MUST", "response", enc_response(None, ECHO_PAYLOAD),
            resp_value(None, ECHO_PAYLOAD), desc="Go's success form: status absent")
    msg_vec(A, "response/rust-ok", cs, "MUST", "response",
            enc_response((0, "", ()), ECHO_PAYLOAD), resp_value((0, "", ()), ECHO_PAYLOAD),
            desc="Rust's success form: 0a 00, an empty Status")
    msg_vec(A, "response/zero-length", cs, "MUST", "response", b"", resp_value(None, b""),
            desc="Zero bytes: success with an empty payload (ttrpc-rust#49)")
    msg_vec(A, "response/code-0-with-message", cs, "MUST", "response",
            enc_response((0, "fine", ())), resp_value((0, "fine", ())))
    msg_vec(A, "response/error-12", c, "MUST", "response", enc_response((12, "x", ())),
            resp_value((12, "x", ())))
    for code in range(1, 17):
        msg_vec(A, "response/code/%d" % code, c, "MUST", "response",
                enc_response((code, "", ())), resp_value((code, "", ())))
    msg_vec(A, "response/code/99-unknown", c, "MUST", "response", enc_response((99, "", ())),
            resp_value((99, "", ())),
            peers={"go": "surfaced as code 99",
                   "rust-async": "the generated enum accessor turns 99 into OK: reported as "
                                 "success (notes 3.3)",
                   "rust-sync": "reported as success, as rust-async"})
    msg_vec(A, "response/code/minus-1", c, "MUST", "response", enc_response((-1, "", ())),
            resp_value((-1, "", ())), desc="int32 -1 is a 10-byte varint")
    det = (("type.googleapis.com/google.rpc.DebugInfo", b"\x12\x03abc"), ("", b""))
    msg_vec(A, "response/details", c, "MUST", "response", enc_response((3, "bad", det)),
            resp_value((3, "bad", det)), desc="Status.details: two Any, one of them empty")
    msg_vec(A, "response/payload-not-utf8", c, "MUST", "response",
            enc_response(None, b"\xff\x00"), resp_value(None, b"\xff\x00"))
    unk = enc_response((5, "nf", ())) + vi(3, 1) + ld(9, b"zz")
    msg_vec(A, "response/unknown-fields", c, "MUST", "response", unk,
            resp_value((5, "nf", ())), canonical=False)
    st_unk = ld(1, vi(1, 7) + vi(4, 1)) + ld(2, b"p")
    msg_vec(A, "response/status-unknown-field", c, "MUST", "response", st_unk,
            resp_value((7, "", ()), b"p"), canonical=False)
    twice = ld(1, vi(1, 3)) + ld(1, ld(2, b"m"))
    msg_vec(A, "response/status-twice-merged", c, "MUST", "response", twice,
            resp_value((3, "m", ())), canonical=False,
            desc="A message field given twice is merged: code from the first, message from "
                 "the second")
    msg_vec(A, "response/bad-utf8-status-message", c, "MUST", "response",
            ld(1, vi(1, 2) + ld(2, b"\xff")), error="decode-error")
    msg_vec(A, "response/truncated-status", c, "MUST", "response", b"\x0a\x05\x08\x0c",
            error="decode-error")


# ---------------------------------------------------------------------------------------------
# Sequences: a model of one connection in one role, with rules written from the spec


STATES = ("IDLE", "UNARY", "OPEN", "LOCAL_CLOSED", "REMOTE_CLOSED", "CLOSED")

METHODS = [
    {"service": "conf.Echo", "method": "Echo", "kind": "unary"},
    {"service": "conf.Echo", "method": "Sleep", "kind": "unary"},
    {"service": "conf.Stream", "method": "ServerCount", "kind": "server-stream"},
    {"service": "conf.Stream", "method": "ClientSum", "kind": "client-stream"},
    {"service": "conf.Stream", "method": "BidiEcho", "kind": "bidi"},
    # The interop service every peer serves (conformance/proto/echo.proto): the canonical
    # calls below use it, so that frames captured from real peers compare byte for byte.
    {"service": "ttrpc.conformance.v1.Echo", "method": "Echo", "kind": "unary"},
    {"service": "ttrpc.conformance.v1.Echo", "method": "Fail", "kind": "unary"},
    {"service": "ttrpc.conformance.v1.Echo", "method": "Metadata", "kind": "unary"},
    {"service": "ttrpc.conformance.v1.Echo", "method": "Sleep", "kind": "unary"},
    {"service": "ttrpc.conformance.v1.Echo", "method": "ServerStream", "kind": "server-stream"},
    {"service": "ttrpc.conformance.v1.Echo", "method": "ClientStream", "kind": "client-stream"},
    {"service": "ttrpc.conformance.v1.Echo", "method": "BidiStream", "kind": "bidi"},
]


def event_of(typ, flags):
    if typ == REQUEST:
        return ("REQUEST_UNARY", "REQUEST_RC", "REQUEST_RO", "REQUEST_RC_RO")[flags & 3]
    if typ == RESPONSE:
        return "RESPONSE"
    if typ == DATA:
        return {0: "DATA", ND: "DATA_ND", RC: "DATA_RC", RC | ND: "DATA_RC_ND"}[flags & (RC | ND)]
    return "UNKNOWN_TYPE"


def server_inbound(state, ev):
    """(next state, action) for a frame the server receives on a stream in `state`."""
    if ev in ("RESPONSE", "UNKNOWN_TYPE"):
        return state, "IGNORE"  # no client answers them; every peer ignores them (notes 3.4)
    if ev.startswith("REQUEST"):
        if state != "IDLE":
            return "CLOSED", "REJECT"  # id reuse
        return {"REQUEST_UNARY": ("UNARY", "DELIVER"), "REQUEST_RC": ("REMOTE_CLOSED", "DELIVER"),
                "REQUEST_RO": ("OPEN", "DELIVER"), "REQUEST_RC_RO": ("CLOSED", "REJECT")}[ev]
    # Data
    if state in ("OPEN", "LOCAL_CLOSED"):
        closing = ev in ("DATA_RC", "DATA_RC_ND")
        nxt = state
        if closing:
            nxt = "REMOTE_CLOSED" if state == "OPEN" else "CLOSED"
        return nxt, ("ACCEPT" if ev.endswith("ND") else "DELIVER")
    if state in ("IDLE", "CLOSED"):
        return "CLOSED", "REJECT"  # the answer is a Response, which ends the id
    return "CLOSED", "REJECT"  # UNARY (not allowed) or REMOTE_CLOSED (after the client's RC)


def server_outbound(state, ev):
    if ev == "RESPONSE":
        if state in ("UNARY", "OPEN", "REMOTE_CLOSED", "LOCAL_CLOSED"):
            return "CLOSED", "ACCEPT"
        return state, "REFUSE"
    if ev.startswith("DATA") and state in ("OPEN", "REMOTE_CLOSED"):
        if ev in ("DATA_RC", "DATA_RC_ND"):
            return ("LOCAL_CLOSED" if state == "OPEN" else "CLOSED"), "ACCEPT"
        return state, "ACCEPT"
    return state, "REFUSE"


def client_inbound(state, ev):
    if state in ("IDLE", "CLOSED") or ev.startswith("REQUEST"):
        return state, "IGNORE"  # no pending call, or a type servers never send
    if ev == "UNKNOWN_TYPE":
        return "CLOSED", "REJECT"  # every peer fails the call (notes 3.4)
    if ev == "RESPONSE":
        return "CLOSED", "DELIVER"
    if state in ("OPEN", "LOCAL_CLOSED"):
        closing = ev in ("DATA_RC", "DATA_RC_ND")
        nxt = state
        if closing:
            nxt = "REMOTE_CLOSED" if state == "OPEN" else "CLOSED"
        return nxt, ("ACCEPT" if ev.endswith("ND") else "DELIVER")
    return "CLOSED", "REJECT"  # Data on UNARY, or after the server's own RC


def client_outbound(state, ev):
    if ev.startswith("REQUEST"):
        if state == "IDLE" and ev != "REQUEST_RC_RO":
            return {"REQUEST_UNARY": "UNARY", "REQUEST_RC": "LOCAL_CLOSED",
                    "REQUEST_RO": "OPEN"}[ev], "ACCEPT"
        return state, "REFUSE"
    if ev.startswith("DATA") and state in ("OPEN", "REMOTE_CLOSED"):
        if ev in ("DATA_RC", "DATA_RC_ND"):
            return ("LOCAL_CLOSED" if state == "OPEN" else "CLOSED"), "ACCEPT"
        return state, "ACCEPT"
    return state, "REFUSE"


def parse_fields(data):
    """A minimal proto3 reader: [(field, wire_type, value)], or None when the bytes are not a
    protobuf encoding. Lengths and varints are read as the protobuf encoding defines them."""
    def rd_varint(i):
        n, shift = 0, 0
        while True:
            if i >= len(data) or shift > 63:
                raise ValueError
            b = data[i]
            n |= (b & 0x7F) << shift
            i += 1
            shift += 7
            if not b & 0x80:
                return n, i
    out, i = [], 0
    try:
        while i < len(data):
            k, i = rd_varint(i)
            field, wt = k >> 3, k & 7
            if field == 0:
                return None
            if wt == 0:
                v, i = rd_varint(i)
            elif wt == 2:
                n, i = rd_varint(i)
                if n > len(data) - i:
                    return None
                v, i = data[i:i + n], i + n
            elif wt in (1, 5):
                n = 8 if wt == 1 else 4
                if n > len(data) - i:
                    return None
                v, i = data[i:i + n], i + n
            else:
                return None
            out.append((field, wt, v))
    except ValueError:
        return None
    return out


def decode_request(data):
    """(service, method, payload present) or None when the Request does not decode."""
    fields = parse_fields(data)
    if fields is None:
        return None
    service, method, has_payload = "", "", False
    try:
        for field, wt, v in fields:
            if field == 1 and wt == 2:
                service = v.decode("utf-8")
            elif field == 2 and wt == 2:
                method = v.decode("utf-8")
            elif field == 3 and wt == 2:
                has_payload = True
            elif field == 5 and wt == 2:
                kv = parse_fields(v)
                if kv is None:
                    return None
                for _, kwt, kvv in kv:
                    if kwt == 2:
                        kvv.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return service, method, has_payload


def response_decodes(data):
    fields = parse_fields(data)
    if fields is None:
        return False
    for field, wt, v in fields:
        if field == 1 and wt == 2:
            status = parse_fields(v)
            if status is None:
                return False
            for f2, wt2, v2 in status:
                if f2 == 2 and wt2 == 2:
                    try:
                        v2.decode("utf-8")
                    except UnicodeDecodeError:
                        return False
    return True


def decode_response(data):
    """(status code, payload); status code 0 when the status is absent."""
    code, payload = 0, b""
    for field, wt, v in parse_fields(data):
        if field == 1 and wt == 2:
            for f2, wt2, v2 in parse_fields(v):
                if f2 == 1 and wt2 == 0:
                    code = v2 - (1 << 64) if v2 >= 1 << 63 else v2
        elif field == 2 and wt == 2:
            payload = v
    return code, payload


class Model:
    """One connection seen by the implementation under test."""

    def __init__(self, role):
        self.role = role
        self.live = {}         # id -> state of a live stream
        self.spent = set()     # ids that were live, or on which the testee sent a Response
        self.last_id = 0       # server: highest Request id seen
        self.next_id = 1       # client: next id it will use
        self.steps = []

    def report(self, sid):
        if sid in self.live:
            return self.live[sid]
        return "CLOSED" if sid in self.spent else "IDLE"

    def lookup_state(self, sid):
        if sid in self.live:
            return self.live[sid]
        if self.role == "server":
            return "CLOSED" if (sid <= self.last_id or sid in self.spent) else "IDLE"
        return "CLOSED" if (sid < self.next_id or sid in self.spent) else "IDLE"

    def _set(self, sid, nxt):
        if nxt in ("IDLE", "CLOSED"):
            if sid in self.live:
                del self.live[sid]
                self.spent.add(sid)
        else:
            self.live[sid] = nxt

    def _reject(self, sid, code):
        if sid in self.live:
            del self.live[sid]
        self.spent.add(sid)
        return [{"stream_id": sid, "type": RESPONSE, "flags": 0, "status_code": code}]

    def inbound(self, raw, note=None, oversize=None):
        """A frame arriving at the testee. oversize: (length, sid, type, flags) of a frame whose
        body is `raw` (segments) and which the testee must reject as too large."""
        if oversize is not None:
            length, sid, typ, flags = oversize
            step = {"dir": self._in_dir(), "bytes": raw}
        else:
            length, sid, typ, flags = (int.from_bytes(raw[0:4], "big"),
                                       int.from_bytes(raw[4:8], "big"), raw[8], raw[9])
            step = {"dir": self._in_dir(), "bytes": hx(raw)}
        if note:
            step["note"] = note
        emit = []
        ev = event_of(typ, flags)
        state = self.lookup_state(sid)
        if oversize is not None:
            if self.role == "server":
                action, emit = "REJECT", self._reject(sid, [8, 3])
            elif sid in self.live:
                action = "REJECT"
                self._set(sid, "CLOSED")
            else:
                action = "IGNORE"
        elif self.role == "server" and typ == REQUEST:
            action, emit = self._server_request(raw, sid, flags, ev)
        elif self.role == "server":
            nxt, action = server_inbound(state, ev)
            if action == "REJECT":
                emit = self._reject(sid, 3)
            else:
                self._set(sid, nxt)
        else:
            nxt, action = client_inbound(state, ev)
            if ev == "RESPONSE" and action == "DELIVER" and not response_decodes(raw[10:]):
                nxt, action = "CLOSED", "REJECT"  # the call fails: its answer is unreadable
            if action != "IGNORE":
                self._set(sid, nxt)
        step["expect"] = {"stream_id": sid, "state": self.report(sid), "action": action,
                          "emit": emit}
        if action == "DELIVER":
            step["expect"]["delivered"] = self._delivered(raw, typ, flags)
        self.steps.append(step)
        return step

    def _delivered(self, raw, typ, flags):
        data = raw[10:]
        if typ == REQUEST:
            service, method, has_payload = decode_request(data)
            kind = {(m["service"], m["method"]): m["kind"] for m in METHODS}[(service, method)]
            # notes 2.3, our rule, right for Go and Rust clients: no first message when the
            # Request has ND, or when a client-streaming or bidi Request has no payload field.
            first = not (flags & ND) and not (kind in ("client-stream", "bidi") and
                                               not has_payload)
            return {"kind": "request", "service": service, "method": method,
                    "first_message": first}
        if typ == RESPONSE:
            code, payload = decode_response(data)
            return {"kind": "response", "status_code": code, "payload": hx(payload)}
        return {"kind": "data", "data": hx(data), "last": bool(flags & RC)}

    def _server_request(self, raw, sid, flags, ev):
        # PROTOCOL.md, Message Frame: client-initiated ids are odd.
        if sid % 2 == 0:
            return "REJECT", self._reject(sid, 3)
        # Ids must increase (Go v1.2; notes 1.3): a lower or equal id is reuse.
        if sid <= self.last_id:
            return "REJECT", self._reject(sid, 3)
        self.last_id = sid
        nxt, action = server_inbound("IDLE", ev)
        if action == "REJECT":
            return "REJECT", self._reject(sid, 3)
        decoded = decode_request(raw[10:])
        if decoded is None:
            return "REJECT", self._reject(sid, 3)
        routed = decoded[:2]
        kinds = {(m["service"], m["method"]): m["kind"] for m in METHODS}
        if routed not in kinds:
            # notes 3.2: Go 12 for both; Rust async 3 for an unknown service; Rust sync 3.
            return "REJECT", self._reject(sid, [12, 3])
        kind = kinds[routed]
        if kind != "unary" and ev == "REQUEST_UNARY":
            return "REJECT", self._reject(sid, 3)
        self._set(sid, nxt)
        return action, []

    def outbound(self, raw, note=None):
        """A frame the testee's application asks it to send."""
        sid, typ, flags = int.from_bytes(raw[4:8], "big"), raw[8], raw[9]
        ev = event_of(typ, flags)
        state = self.lookup_state(sid) if typ != REQUEST else (
            "IDLE" if sid == self.next_id else "CLOSED")
        if self.role == "server":
            nxt, action = server_outbound(state, ev)
        else:
            nxt, action = client_outbound(state, ev)
            if typ == REQUEST and action == "ACCEPT":
                self.next_id = sid + 2
        if action == "ACCEPT":
            self._set(sid, nxt)
            if typ == RESPONSE:
                self.spent.add(sid)
        step = {"dir": self._out_dir(), "bytes": hx(raw)}
        if note:
            step["note"] = note
        step["expect"] = {"stream_id": sid, "state": self.report(sid), "action": action,
                          "emit": [{"stream_id": sid, "type": typ, "flags": flags,
                                    "bytes": hx(raw)}] if action == "ACCEPT" else []}
        self.steps.append(step)
        return step

    def _in_dir(self):
        return "to-server" if self.role == "server" else "to-client"

    def _out_dir(self):
        return "to-client" if self.role == "server" else "to-server"


def seq_vec(area, vid, cl, level, model, desc=None, peers=None):
    v = {"id": vid, "clause": cl, "level": level, "kind": "sequence", "role": model.role}
    if desc:
        v["description"] = desc
    v["steps"] = model.steps
    if peers:
        v["peers"] = peers
    add(area, v)


def req_frame(sid, flags, service, method, payload=None, **kw):
    return frame(sid, REQUEST, flags, enc_request(service, method, payload, **kw))


ECHO = lambda sid, flags=0: req_frame(sid, flags, "conf.Echo", "Echo", ECHO_PAYLOAD)
GO_OK = lambda sid: frame(sid, RESPONSE, 0, enc_response(None, ECHO_PAYLOAD))
RUST_OK = lambda sid: frame(sid, RESPONSE, 0, enc_response((0, "", ()), ECHO_PAYLOAD))


def reach(role, state, sid=1):
    """A model whose stream `sid` is in `state`, and the frames that got it there."""
    m = Model(role)
    if role == "server":
        if state == "UNARY":
            m.inbound(ECHO(sid))
        elif state == "OPEN":
            m.inbound(req_frame(sid, RO | ND, "conf.Stream", "BidiEcho"))
        elif state == "REMOTE_CLOSED":
            m.inbound(req_frame(sid, RC, "conf.Stream", "ServerCount", b"\x08\x03"))
        elif state == "LOCAL_CLOSED":
            m.inbound(req_frame(sid, RO | ND, "conf.Stream", "BidiEcho"))
            m.outbound(frame(sid, DATA, RC | ND))
        elif state == "CLOSED":
            m.inbound(ECHO(sid))
            m.outbound(GO_OK(sid))
    else:
        if state == "UNARY":
            m.outbound(ECHO(sid))
        elif state == "OPEN":
            m.outbound(req_frame(sid, RO | ND, "conf.Stream", "BidiEcho"))
        elif state == "LOCAL_CLOSED":
            m.outbound(req_frame(sid, RC, "conf.Stream", "ServerCount", b"\x08\x03"))
        elif state == "REMOTE_CLOSED":
            m.outbound(req_frame(sid, RO | ND, "conf.Stream", "BidiEcho"))
            m.inbound(frame(sid, DATA, RC | ND))
        elif state == "CLOSED":
            m.outbound(ECHO(sid))
            m.inbound(GO_OK(sid))
    got = m.report(sid)
    assert got == state, (role, state, got)
    return m


# One representative frame per event, on stream 1.
def event_frame(ev, sid=1, role="server"):
    if ev == "REQUEST_UNARY":
        return ECHO(sid)
    if ev == "REQUEST_RC":
        return req_frame(sid, RC, "conf.Stream", "ServerCount", b"\x08\x03")
    if ev == "REQUEST_RO":
        return req_frame(sid, RO | ND, "conf.Stream", "ClientSum")
    if ev == "REQUEST_RC_RO":
        return req_frame(sid, RC | RO, "conf.Stream", "BidiEcho")
    if ev == "DATA":
        return frame(sid, DATA, 0, b"\x08\x05")
    if ev == "DATA_ND":
        return frame(sid, DATA, ND)
    if ev == "DATA_RC":
        return frame(sid, DATA, RC, b"\x08\x06")
    if ev == "DATA_RC_ND":
        return frame(sid, DATA, RC | ND)
    if ev == "RESPONSE":
        return GO_OK(sid)
    if ev == "UNKNOWN_TYPE":
        return frame(sid, 0x04, 0, b"\x08\x01")
    raise ValueError(ev)


IN_EVENTS = ("REQUEST_UNARY", "REQUEST_RC", "REQUEST_RO", "REQUEST_RC_RO", "DATA", "DATA_ND",
             "DATA_RC", "DATA_RC_ND", "RESPONSE", "UNKNOWN_TYPE")


def cell_level_and_clause(role, direction, state, ev):
    s = "Streaming"
    if direction == "recv" and ev in ("RESPONSE", "UNKNOWN_TYPE") and role == "server":
        return "IMPLEMENTATION-DEFINED", clause("A server has no use for a Response or an "
                                                "unknown type; the spec is silent", "Message Types")
    if state in ("IDLE", "CLOSED") and direction == "recv":
        return "IMPLEMENTATION-DEFINED", clause("Frames for an id with no live stream: the spec "
                                                "is silent", s)
    if state == "UNARY" and ev.startswith("DATA"):
        return "MUST", clause("Data frames are forbidden on a unary stream", "Data")
    if state == "UNARY" and ev == "RESPONSE":
        return "MUST", clause("After a unary Request, one Response is all that may "
                              "come back, and it ends the stream", "Response")
    if ev.startswith("REQUEST") and state != "IDLE":
        return "IMPLEMENTATION-DEFINED", clause("A Request initiates a stream; reusing a live "
                                                "id is not covered by the spec", "Request")
    if ev == "REQUEST_RC_RO":
        return "IMPLEMENTATION-DEFINED", clause("RC says no data follows, RO that it does: "
                                                "contradictory flags", "Request Flags")
    if ev.startswith("DATA") and ((direction == "recv" and state == "REMOTE_CLOSED") or
                                  (direction == "send" and state == "LOCAL_CLOSED")):
        return "SHOULD", clause("Once a side has sent RC it should send no more Data",
                                "Data")
    if ev == "RESPONSE" and ((role == "server" and state == "LOCAL_CLOSED") or
                             (role == "client" and state == "REMOTE_CLOSED")):
        return "IMPLEMENTATION-DEFINED", clause(
            "Unsettled: whether a Response may still follow the server's own Data[RC]; "
            "the Streaming section mentions servers finishing with an empty Response "
            "after their data", "Streaming")
    if ev == "RESPONSE" and role == "client" and direction == "send":
        return "MUST", clause("Servers send Responses; clients send Requests", "Message Types")
    if ev == "UNKNOWN_TYPE":
        return "IMPLEMENTATION-DEFINED", clause("Unknown types are not covered by the spec",
                                                "Message Types")
    return "MUST", clause("Each side is local closed after sending RC and remote closed after "
                          "receiving it; finished when both", s)


CELL_PEERS = {
    ("server", "recv", "IDLE", "DATA"): {
        "go": "v1.2.8: code 3 (v1.2.0-v1.2.7 crash)", "rust-async": "code 3",
        "rust-sync": "ignored"},
    ("server", "recv", "CLOSED", "DATA"): {
        "go": "code 3", "rust-async": "code 3", "rust-sync": "ignored"},
    ("server", "recv", "REMOTE_CLOSED", "DATA"): {
        "go": "code 3", "rust-async": "queued where the handler never reads it; nothing sent",
        "rust-sync": "no streaming"},
    ("server", "recv", "OPEN", "DATA_RC"): {
        "go": "code 3, yet the message still reaches the handler and frames follow the error",
        "rust-async": "code 3, message dropped", "rust-sync": "no streaming"},
    ("server", "recv", "UNARY", "REQUEST_UNARY"): {
        "go": "v1.2: code 3 on the id; the earlier call continues and also answers",
        "rust-async": "both calls run", "rust-sync": "both calls run"},
    ("client", "recv", "UNARY", "DATA"): {
        "go": "protocol error: the call fails",
        "rust-async": "0.7+: decodes the Data payload as if it were the Response",
        "rust-sync": "as rust-async"},
    ("server", "recv", "IDLE", "REQUEST_RC_RO"): {
        "go": "flags are never read: served", "rust-async": "served", "rust-sync": "served"},
}


def cell_peers(role, state, ev):
    """What the real peers do for a received frame, where notes 3.4 and 2.4 record it."""
    exact = CELL_PEERS.get((role, "recv", state, ev))
    if exact is not None:
        return exact
    if role == "server":
        if ev.startswith("DATA") and state in ("IDLE", "CLOSED"):
            return CELL_PEERS[("server", "recv", "CLOSED", "DATA")]
        if ev.startswith("DATA") and state == "REMOTE_CLOSED":
            return CELL_PEERS[("server", "recv", "REMOTE_CLOSED", "DATA")]
        if ev.startswith("REQUEST") and state != "IDLE":
            return CELL_PEERS[("server", "recv", "UNARY", "REQUEST_UNARY")]
        if ev in ("RESPONSE", "UNKNOWN_TYPE"):
            return {"go": "ignored", "rust-async": "ignored", "rust-sync": "ignored"}
        return None
    if state in ("IDLE", "CLOSED"):
        return {"go": "logged and dropped", "rust-async": "logged and dropped",
                "rust-sync": "logged and dropped"}
    if ev == "UNKNOWN_TYPE":
        return {"go": "the call fails", "rust-async": "the call fails",
                "rust-sync": "the call fails"}
    if state == "UNARY" and ev.startswith("DATA"):
        return CELL_PEERS[("client", "recv", "UNARY", "DATA")]
    return None


def gen_table():
    """streaming/table/<role>/<state>/<event>: every state x event cell the APIs can express."""
    for role in ("server", "client"):
        for state in STATES:
            for ev in IN_EVENTS:
                m = reach(role, state)
                raw = event_frame(ev)
                m.inbound(raw)
                lvl, cl = cell_level_and_clause(role, "recv", state, ev)
                name = "RECV_" + ev
                peers = cell_peers(role, state, ev)
                seq_vec("streaming", "streaming/table/%s/%s/%s" % (role, state, name), cl, lvl,
                        m, desc="%s in state %s receives %s" % (role, state, name), peers=peers)
            # Sends: what the session APIs can ask for. Data with ND alone has no API in most
            # libraries and client Requests on a used id cannot be asked for.
            sends = ["DATA", "DATA_RC", "DATA_RC_ND", "RESPONSE"]
            if role == "client" and state == "IDLE":
                sends = ["REQUEST_UNARY", "REQUEST_RC", "REQUEST_RO"] + sends
            for ev in sends:
                m = reach(role, state)
                if ev.startswith("REQUEST"):
                    raw = event_frame(ev)
                    if ev == "REQUEST_RO":
                        raw = req_frame(1, RO | ND, "conf.Stream", "ClientSum")
                elif ev == "RESPONSE":
                    raw = GO_OK(1)
                else:
                    raw = event_frame(ev)
                m.outbound(raw)
                lvl, cl = cell_level_and_clause(role, "send", state, ev)
                seq_vec("streaming", "streaming/table/%s/%s/SEND_%s" % (role, state, ev), cl, lvl,
                        m, desc="%s in state %s is asked to send %s" % (role, state, ev))


def gen_unary():
    cu = clause("A unary call is one Request with flags 0 and one Response that ends the "
                "stream", "Request; Unary State Diagram")
    m = Model("server")
    m.inbound(ECHO(1))
    m.outbound(GO_OK(1))
    seq_vec("unary", "unary/server/echo-go-ok", cu, "MUST", m)
    m = Model("server")
    m.inbound(ECHO(1))
    m.outbound(RUST_OK(1))
    seq_vec("unary", "unary/server/echo-rust-ok", cu, "MUST", m)
    m = Model("server")
    m.inbound(ECHO(1))
    m.outbound(frame(1, RESPONSE, 0, enc_response((5, "nope", ()))))
    seq_vec("unary", "unary/server/echo-error-5", cu, "MUST", m)
    m = Model("server")
    m.inbound(ECHO(1))
    m.inbound(ECHO(3))
    m.inbound(ECHO(5))
    m.outbound(GO_OK(5))
    m.outbound(GO_OK(1))
    m.outbound(GO_OK(3))
    seq_vec("unary", "unary/server/three-concurrent-out-of-order", cu, "MUST", m,
            desc="Responses go out in completion order and are matched by id")
    m = Model("server")
    m.inbound(req_frame(1, 0, "conf.Echo", "Sleep", None, timeout=-1,
                        metadata=[("k", "v"), ("k", "w")]))
    m.outbound(frame(1, RESPONSE, 0, enc_response((4, "", ()))))
    seq_vec("unary", "unary/server/negative-timeout", cu, "IMPLEMENTATION-DEFINED", m,
            peers={"go": "negative timeout_nano: the handler's context has already expired",
                   "rust-async": "cast to a huge duration: no timeout",
                   "rust-sync": "handed to the handler, not enforced"})
    for name, resp in (("go-ok", GO_OK(1)), ("rust-ok", RUST_OK(1)),
                       ("zero-length", frame(1, RESPONSE, 0)),
                       ("error-12", frame(1, RESPONSE, 0, enc_response((12, "x", ())))),
                       ("response-flags-0xff", frame(1, RESPONSE, 0xFF,
                                                     enc_response(None, ECHO_PAYLOAD)))):
        m = Model("client")
        m.outbound(ECHO(1))
        m.inbound(resp)
        lvl = "IMPLEMENTATION-DEFINED" if "flags" in name else "MUST"
        seq_vec("unary", "unary/client/" + name, cu, lvl, m,
                peers={"go": "accepted", "rust-async": "accepted", "rust-sync": "accepted"}
                if "flags" in name else None)
    m = Model("client")
    m.outbound(ECHO(1))
    m.outbound(ECHO(3))
    m.inbound(GO_OK(3))
    m.inbound(GO_OK(1))
    m.inbound(GO_OK(1))
    seq_vec("unary", "unary/client/second-response-dropped", cu, "IMPLEMENTATION-DEFINED", m,
            desc="A second Response for a finished call is dropped (all peers)")
    m = Model("client")
    m.outbound(ECHO(1))
    m.inbound(GO_OK(7))
    m.inbound(GO_OK(1))
    seq_vec("unary", "unary/client/response-for-unknown-id", cu, "IMPLEMENTATION-DEFINED", m)


def gen_streaming():
    cs = clause("Non-unary streams: RO keeps the client open, RC closes a side; the last Data "
                "must carry RC; a Response ends the stream", "Streaming; Non-Unary State Diagrams")
    # Server streaming, as a server, with each of the terminators of notes 2.2.
    terms = {
        "data-rc-nd": frame(1, DATA, RC | ND),
        "data-rc-message": frame(1, DATA, RC, b"\x08\x09"),
        "data-rc-empty-message": frame(1, DATA, RC),
        "response-error": frame(1, RESPONSE, 0, enc_response((13, "boom", ()))),
        "response-ok": GO_OK(1),
    }
    for tname, term in terms.items():
        for role in ("server", "client"):
            m = Model(role)
            req = req_frame(1, RC, "conf.Stream", "ServerCount", b"\x08\x02")
            (m.inbound if role == "server" else m.outbound)(req)
            for n in (1, 2):
                d = frame(1, DATA, 0, bytes([0x08, n]))
                (m.outbound if role == "server" else m.inbound)(d)
            (m.outbound if role == "server" else m.inbound)(term)
            seq_vec("streaming", "streaming/server-stream/%s/%s" % (role, tname), cs, "MUST", m)
    # Client streaming: Go opens with RO (0x02), Rust and we with RO|ND (0x06).
    for oname, flags, payload in (("go-ro", RO, None), ("rust-ro-nd", RO | ND, None)):
        for role in ("server", "client"):
            if role == "client" and oname == "go-ro":
                payload = b""  # a present, empty payload: our clients then send RO alone
            m = Model(role)
            req = req_frame(1, flags, "conf.Stream", "ClientSum", payload)
            (m.inbound if role == "server" else m.outbound)(req)
            for n in (1, 2, 3):
                (m.inbound if role == "server" else m.outbound)(frame(1, DATA, 0, bytes([8, n])))
            (m.inbound if role == "server" else m.outbound)(frame(1, DATA, 0))
            (m.inbound if role == "server" else m.outbound)(frame(1, DATA, RC | ND))
            (m.outbound if role == "server" else m.inbound)(
                frame(1, RESPONSE, 0, enc_response(None, b"\x08\x06")))
            seq_vec("streaming", "streaming/client-stream/%s/%s" % (role, oname), cs, "MUST", m,
                    desc="Three Data, one empty message (length 0, no ND: delivered), "
                         "Data[RC|ND], then the Response",
                    peers={"go": "client opens with 0x02", "rust-async": "client opens with 0x06",
                           "rust-sync": "no streaming"})
    # Where the first message comes from (notes 2.3).
    c23 = clause("Request.payload is the stream's first message unless the Request has ND or a "
                 "client-streaming Request has no payload field", "Request; notes 2.3")
    m = Model("server")
    m.inbound(req_frame(1, RO, "conf.Stream", "ClientSum", b""))
    m.inbound(frame(1, DATA, RC | ND))
    seq_vec("streaming", "streaming/first-message/client-stream-payload-present-empty", c23,
            "IMPLEMENTATION-DEFINED", m,
            desc="Req[RO] with 1a 00: the empty payload is a first message",
            peers={"go": "delivered (the field is present)",
                   "rust-async": "delivered (no ND)", "rust-sync": "no streaming"})
    m = Model("server")
    m.inbound(req_frame(1, RO, "conf.Stream", "BidiEcho"))
    seq_vec("streaming", "streaming/first-message/bidi-go-ro-no-payload", c23,
            "IMPLEMENTATION-DEFINED", m,
            desc="A Go client's bidi open: Req[RO], payload absent: no first message",
            peers={"go": "none", "rust-async": "an extra empty first message "
                                               "(ttrpc-rust#221)", "rust-sync": "no streaming"})
    m = Model("server")
    m.inbound(req_frame(1, RC, "conf.Stream", "ServerCount"))
    seq_vec("streaming", "streaming/first-message/server-stream-empty-request", c23,
            "IMPLEMENTATION-DEFINED", m,
            desc="Req[RC] with no payload: the empty request is still the first message",
            peers={"go": "delivered since v1.2.3 (ttrpc#126); earlier the stream never started",
                   "rust-async": "delivered since 0.8.1; 0.7 to 0.8.0 hung (ttrpc-rust#169)",
                   "rust-sync": "no streaming"})
    m = Model("server")
    m.inbound(req_frame(1, RC | ND, "conf.Stream", "ServerCount"))
    seq_vec("streaming", "streaming/first-message/server-stream-nd", c23,
            "IMPLEMENTATION-DEFINED", m, desc="Req[RC|ND]: ND says there is no first message",
            peers={"go": "Request flags are never read: delivered",
                   "rust-async": "not delivered", "rust-sync": "no streaming"})

    # Bidi: interleaved, client closes first; and server finishes first.
    for role in ("server", "client"):
        m = Model(role)
        rx = m.inbound if role == "server" else m.outbound   # client -> server
        tx = m.outbound if role == "server" else m.inbound   # server -> client
        rx(req_frame(1, RO | ND, "conf.Stream", "BidiEcho"))
        rx(frame(1, DATA, 0, b"\x08\x01"))
        tx(frame(1, DATA, 0, b"\x08\x01"))
        rx(frame(1, DATA, 0, b"\x08\x02"))
        rx(frame(1, DATA, RC | ND))
        tx(frame(1, DATA, 0, b"\x08\x02"))
        tx(frame(1, DATA, RC | ND))
        seq_vec("streaming", "streaming/bidi/%s/client-closes-first" % role, cs, "MUST", m)
        m = Model(role)
        rx = m.inbound if role == "server" else m.outbound
        tx = m.outbound if role == "server" else m.inbound
        rx(req_frame(1, RO | ND, "conf.Stream", "BidiEcho"))
        tx(frame(1, DATA, RC, b"\x08\x07"))
        rx(frame(1, DATA, 0, b"\x08\x01"))
        rx(frame(1, DATA, RC | ND))
        seq_vec("streaming", "streaming/bidi/%s/server-finishes-first" % role, cs, "MUST", m,
                desc="The server ends its side with Data[RC] while the client still sends")
    # Two streams interleaved on one connection.
    m = Model("server")
    m.inbound(req_frame(1, RO | ND, "conf.Stream", "ClientSum"))
    m.inbound(req_frame(3, RC, "conf.Stream", "ServerCount", b"\x08\x01"))
    m.inbound(frame(1, DATA, 0, b"\x08\x01"))
    m.outbound(frame(3, DATA, 0, b"\x08\x01"))
    m.inbound(ECHO(5))
    m.outbound(frame(3, DATA, RC | ND))
    m.inbound(frame(1, DATA, RC | ND))
    m.outbound(GO_OK(5))
    m.outbound(frame(1, RESPONSE, 0, enc_response(None, b"\x08\x01")))
    seq_vec("streaming", "streaming/multiplex/server/three-streams", cs, "MUST", m)


# ---------------------------------------------------------------------------------------------
# Canonical calls: the calls the peers' `client --scenario NAME` make, with their exact payloads,
# in the form our reference sends them. vectors/capture/ records real Go, Rust and C peers making
# these calls and compares every frame with these vectors; the `peers` notes say where each
# peer's bytes differ (found that way, then read in the upstream sources).

INTEROP = "ttrpc.conformance.v1.Echo"


def bytes_value(b):
    """google.protobuf.BytesValue / echo.proto Bytes: field 1, omitted when empty."""
    return ld(1, b) if b else b""


def count_value(n):
    """google.protobuf.UInt64Value / echo.proto Count: field 1, omitted when 0."""
    return vi(1, n) if n else b""


GO_SUCCESS = "server: success Response without a status field, as here"
RUST_SUCCESS = ("server: captured with an empty Status (0a 00) before the payload: the "
                "crate's handler macros, which generated code uses, set an OK status on "
                "every success (containerd/ttrpc-rust src/asynchronous/utils.rs and "
                "src/sync/utils.rs@v0.9.0; notes 3.3). Equivalent, not byte-identical")
GO_TIMEOUT = ("client: captured with timeout_nano set to the rest of the scenario's 5 s "
              "context: Call sends any context deadline (containerd/ttrpc client.go@v1.2.8, "
              "Call); the capture masks it")


def gen_calls():
    cc = clause("A unary call is one Request with flags 0 and one Response that ends the "
                "stream", "Request; Unary State Diagram")
    hello = bytes_value(b"hello ttrpc")

    def unary(name, method, payload, answer, desc, peers, timeout=0, metadata=()):
        m = Model("server")
        m.inbound(req_frame(1, 0, INTEROP, method, payload, timeout=timeout, metadata=metadata))
        if answer is not None:
            m.outbound(answer)
        seq_vec("unary", "unary/call/" + name, cc, "MUST", m, desc=desc, peers=peers)

    rust_unary = {"rust-async": "client: as here. " + RUST_SUCCESS,
                  "rust-sync": "client: as here. " + RUST_SUCCESS}
    unary("echo", "Echo", hello, frame(1, RESPONSE, 0, enc_response(None, hello)),
          "Echo(Bytes \"hello ttrpc\"), answered unchanged (scenario echo; echo-large is this "
          "call with a 1 MiB value)", dict(go=GO_TIMEOUT + ". " + GO_SUCCESS, **rust_unary))
    unary("echo-empty", "Echo", None, frame(1, RESPONSE, 0),
          "Echo(empty Bytes): the empty message encodes to nothing, so the Request has no "
          "payload field and the Response is zero bytes long (scenario echo-empty)",
          dict(go=GO_TIMEOUT + ". " + GO_SUCCESS, **rust_unary))
    md = [("x-one", "1"), ("x-two", "a"), ("x-two", "b")]
    listing = b"".join(ld(1, s) for s in (b"x-one=1", b"x-two=a", b"x-two=b"))
    unary("metadata", "Metadata", None, frame(1, RESPONSE, 0, enc_response(None, listing)),
          "Metadata with x-one=1, x-two=a, x-two=b: one KeyValue per value; the server lists "
          "them sorted (scenario metadata). Peers build metadata from hash maps: compare it as "
          "a multiset", dict(go=GO_TIMEOUT + "; metadata order varies between runs. " +
                             GO_SUCCESS,
                             **{k: "client: metadata order varies between runs. " +
                                RUST_SUCCESS for k in ("rust-async", "rust-sync")}),
          metadata=md)
    for name, code, msg in (("fail-code-12", 12, "x"), ("fail-code-3", 3, "bad")):
        st = enc_status(code, msg)
        unary(name, "Fail", st, frame(1, RESPONSE, 0, enc_response((code, msg, ()))),
              "Fail(Status{%d, %r}): the server answers with that status unchanged "
              "(scenario %s)" % (code, msg, "fail" if code == 12 else name),
              {"go": GO_TIMEOUT + ". server: as here", "rust-async": "client and server: as here",
               "rust-sync": "client and server: as here"})
    unary("unknown-method", "NoSuchMethod", None, None,
          "A method the service does not have; the answer is checked by its code only "
          "(scenario unknown-method)",
          {"go": GO_TIMEOUT + ". server: 12, message \"method NoSuchMethod\"",
           "rust-async": "server: 12, message \"NoSuchMethod method\"",
           "rust-sync": "server: 3 (no per-method lookup, notes 3.2)"})
    unary("deadline", "Sleep", count_value(2000),
          frame(1, RESPONSE, 0, enc_response((4, "", ()))),
          "Sleep(Count 2000) with timeout_nano 200 ms: the server answers 4 "
          "(scenario deadline). The status message is the server's own text: mask it",
          {"go": "client: sends its context's remaining time (a little under 200 ms) and "
                 "gives up locally at 200 ms, often closing before the Response is sent; "
                 "server: 4 from the handler's context",
           "rust-async": "client: timeout_nano exactly 200000000 and it gives up locally at "
                         "200 ms, so the Response is often not sent; server: 4",
           "rust-sync": "client: as rust-async. server: captured sending nothing within "
                        "the C client's 1.2 s wait: the sync server hands timeout_nano to the "
                        "handler and enforces nothing (notes 3.5), and the peer's Sleep does "
                        "not look at it, so its answer is the 2 s sleep's OK"},
          timeout=200000000)

    cs = clause("Non-unary streams: RO keeps the client open, RC closes a side; the last Data "
                "must carry RC; a Response ends the stream", "Streaming; Non-Unary State Diagrams")
    no_sync = "no streaming API"
    m = Model("server")
    m.inbound(req_frame(1, RC, INTEROP, "ServerStream", count_value(5)))
    for n in range(5):
        m.outbound(frame(1, DATA, 0, count_value(n)))
    m.outbound(frame(1, DATA, RC | ND))
    seq_vec("streaming", "streaming/call/server-stream", cs, "MUST", m,
            desc="ServerStream(Count 5): Count 0 (an empty message: Data of length 0 without "
                 "ND), 1, 2, 3, 4, then Data[RC|ND] (scenario server-stream)",
            peers={"go": "client: Req[RC], no timeout_nano (NewStream sends none). server: "
                         "as here (the handler returns nil)",
                   "rust-async": "client and server: as here", "rust-sync": no_sync})
    m = Model("server")
    m.inbound(req_frame(1, RO | ND, INTEROP, "ClientStream"))
    for n in (1, 2, 3, 4):
        m.inbound(frame(1, DATA, 0, count_value(n)))
    m.inbound(frame(1, DATA, RC | ND))
    m.outbound(frame(1, RESPONSE, 0, enc_response(None, count_value(10))))
    seq_vec("streaming", "streaming/call/client-stream", cs, "MUST", m,
            desc="ClientStream of Count 1, 2, 3, 4, closed with Data[RC|ND]; the Response "
                 "carries Count 10 (scenario client-stream)",
            peers={"go": "client: captured opening with Req[RO] (flags 0x02) without ND: "
                         "NewStream sets RO alone for a streaming client (containerd/ttrpc "
                         "client.go@v1.2.8; notes 2.2); no timeout_nano. " + GO_SUCCESS,
                   "rust-async": "client: as here. " + RUST_SUCCESS, "rust-sync": no_sync})
    m = Model("server")
    m.inbound(req_frame(1, RO | ND, INTEROP, "BidiStream"))
    for c in b"abc":
        m.inbound(frame(1, DATA, 0, bytes_value(bytes([c]))))
        m.outbound(frame(1, DATA, 0, bytes_value(bytes([c]))))
    m.inbound(frame(1, DATA, RC | ND))
    m.outbound(frame(1, DATA, RC | ND))
    seq_vec("streaming", "streaming/call/bidi-stream", cs, "MUST", m,
            desc="BidiStream: Bytes \"a\", \"b\", \"c\", each echoed before the next is sent; "
                 "the client closes with Data[RC|ND], the server ends with Data[RC|ND] "
                 "(scenario bidi-stream)",
            peers={"go": "client: captured opening with Req[RO] (flags 0x02) without ND, "
                         "as for client-stream. server: as here",
                   "rust-async": "client and server: as here. Against a Go client (Req[RO], "
                                 "no ND) the server was captured echoing one extra empty "
                                 "message: it makes the absent payload a first message "
                                 "(containerd/ttrpc-rust#221; streaming/first-message/"
                                 "bidi-go-ro-no-payload), and the Go client stops there",
                   "rust-sync": no_sync})


def gen_ids_limits_errors():
    ci = clause("Streams a client opens use odd ids; even ids are reserved for "
                "server-opened streams, which do not exist yet", "Message Frame")
    cinc = clause("Ids increasing per connection is not in the spec text; Go v1.2 servers "
                  "require it", "Message Frame; notes 1.3")
    for name, sid in (("zero", 0), ("even-2", 2), ("even-0xfffffffe", 0xFFFFFFFE)):
        m = Model("server")
        m.inbound(ECHO(sid))
        m.inbound(ECHO(3))
        seq_vec("stream-ids", "stream-ids/request/" + name, ci, "MUST", m,
                desc="A Request on id %d is refused with 3; the connection stays usable" % sid,
                peers={"go": "code 3", "rust-async": "code 3", "rust-sync": "served"})
    m = Model("server")
    m.inbound(frame(2, DATA, 0, b"\x08\x01"))
    m.inbound(ECHO(1))
    seq_vec("stream-ids", "stream-ids/data/even", ci, "IMPLEMENTATION-DEFINED", m,
            peers={"go": "code 3", "rust-async": "code 3", "rust-sync": "ignored"})
    m = Model("server")
    m.inbound(frame(9, DATA, 0, b"\x08\x01"))
    m.inbound(ECHO(11))
    seq_vec("stream-ids", "stream-ids/data/unknown-odd", ci, "IMPLEMENTATION-DEFINED", m,
            peers=CELL_PEERS[("server", "recv", "IDLE", "DATA")])
    m = Model("server")
    m.inbound(ECHO(1))
    m.outbound(GO_OK(1))
    m.inbound(ECHO(1))
    m.inbound(ECHO(3))
    seq_vec("stream-ids", "stream-ids/request/reused-after-finish", cinc,
            "IMPLEMENTATION-DEFINED", m,
            peers={"go": "v1.2: code 3", "rust-async": "served", "rust-sync": "served"})
    m = Model("server")
    m.inbound(ECHO(5))
    m.inbound(ECHO(3))
    m.outbound(GO_OK(5))
    seq_vec("stream-ids", "stream-ids/request/decreasing", cinc, "IMPLEMENTATION-DEFINED", m,
            peers={"go": "v1.2: code 3", "rust-async": "served", "rust-sync": "served"})
    m = Model("server")
    m.inbound(ECHO(1))
    m.inbound(ECHO(1))
    seq_vec("stream-ids", "stream-ids/request/reused-while-live", cinc, "IMPLEMENTATION-DEFINED",
            m, peers=CELL_PEERS[("server", "recv", "UNARY", "REQUEST_UNARY")])
    m = Model("server")
    m.inbound(ECHO(0xFFFFFFFF))
    m.outbound(GO_OK(0xFFFFFFFF))
    m.inbound(ECHO(1))
    seq_vec("stream-ids", "stream-ids/request/0xffffffff-then-wrap", cinc,
            "IMPLEMENTATION-DEFINED", m,
            desc="The last odd id is served; nothing can follow it on this connection",
            peers={"go": "served; every later Request refused with 3",
                   "rust-async": "served, later ids served", "rust-sync": "served"})
    m = Model("server")
    m.inbound(ECHO(1))
    m.inbound(ECHO(0x7FFFFFFF))
    m.inbound(ECHO(3))
    seq_vec("stream-ids", "stream-ids/request/gap-then-lower", cinc, "IMPLEMENTATION-DEFINED", m)
    for name, typ in (("response", RESPONSE), ("unknown-type", 0x09)):
        m = Model("server")
        m.inbound(frame(2, typ, 0))
        m.inbound(ECHO(1))
        seq_vec("stream-ids", "stream-ids/even/" + name, ci, "IMPLEMENTATION-DEFINED", m,
                peers={"go": "v1.2: code 3 for any type on an even id",
                       "rust-async": "code 3", "rust-sync": "ignored"})
    m = Model("client")
    m.outbound(ECHO(1))
    m.outbound(ECHO(3))
    m.outbound(ECHO(5))
    m.inbound(GO_OK(5))
    seq_vec("stream-ids", "stream-ids/client/odd-increasing", ci, "MUST", m,
            desc="Clients start at 1 and add 2 per stream")

    # limits.json
    cl = clause("Data lengths above 4 MiB should be refused",
                "Message Frame")
    over_peers = {"go": "code 8 on the id; connection kept",
                  "rust-async": "0.8.1+: code 3 on the id; connection kept",
                  "rust-sync": "0.8.1+: code 3"}
    for typ, name in ((REQUEST, "request"), (DATA, "data"), (0x07, "unknown-type")):
        m = Model("server")
        m.inbound([{"hex": hx(header(MAX_DATA + 1, 1, typ, 0))},
                   {"repeat": {"byte": "00", "count": MAX_DATA + 1}}],
                  oversize=(MAX_DATA + 1, 1, typ, 0))
        m.inbound(ECHO(3))
        seq_vec("limits", "limits/server/over-max-%s-then-echo" % name, cl, "SHOULD", m,
                peers=over_peers)
    m = Model("server")
    prefix = ld(1, b"conf.Echo") + ld(2, b"Echo")
    plen = MAX_DATA - len(prefix) - 1 - 4
    body_head = prefix + key(3, 2) + varint(plen)
    assert len(body_head) + plen == MAX_DATA
    m.steps.append({"dir": "to-server",
                    "bytes": [{"hex": hx(header(MAX_DATA, 1, REQUEST, 0) + body_head)},
                              {"repeat": {"byte": "61", "count": plen}}],
                    "expect": {"stream_id": 1, "state": "UNARY", "action": "DELIVER",
                               "emit": [],
                               "delivered": {"kind": "request", "service": "conf.Echo",
                                             "method": "Echo", "first_message": True}}})
    m.live[1] = "UNARY"
    m.last_id = 1
    seq_vec("limits", "limits/server/max-request-served", cl, "MUST", m)
    m = Model("server")
    m.inbound(req_frame(1, RO | ND, "conf.Stream", "BidiEcho"))
    m.inbound([{"hex": hx(header(MAX_DATA + 1, 1, DATA, 0))},
               {"repeat": {"byte": "00", "count": MAX_DATA + 1}}],
              oversize=(MAX_DATA + 1, 1, DATA, 0))
    m.inbound(frame(1, DATA, 0, b"\x08\x01"))
    seq_vec("limits", "limits/server/over-max-data-on-live-stream", cl, "SHOULD", m,
            desc="The oversize Data ends its live stream; later Data on the id is refused",
            peers=over_peers)
    m = Model("client")
    m.outbound(ECHO(1))
    m.inbound([{"hex": hx(header(MAX_DATA + 1, 1, RESPONSE, 0))},
               {"repeat": {"byte": "00", "count": MAX_DATA + 1}}],
              oversize=(MAX_DATA + 1, 1, RESPONSE, 0))
    seq_vec("limits", "limits/client/over-max-response", cl, "SHOULD", m,
            peers={"go": "v1.2: the call fails with 8; v1.1 clients crash",
                   "rust-async": "0.8.1+: skipped, the call fails", "rust-sync": "as async"})
    m = Model("client")
    m.outbound(ECHO(1))
    m.inbound([{"hex": hx(header(MAX_DATA + 1, 7, RESPONSE, 0))},
               {"repeat": {"byte": "00", "count": MAX_DATA + 1}}],
              oversize=(MAX_DATA + 1, 7, RESPONSE, 0))
    m.inbound(GO_OK(1))
    seq_vec("limits", "limits/client/over-max-unknown-id-then-ok", cl, "SHOULD", m)

    # errors.json
    ce = clause("Routing and decoding failures are answered with a status on the id; codes "
                "are implementation choices", "RPC; notes 3.2")
    cases = [
        ("unknown-service", req_frame(1, 0, "conf.Nope", "Echo"),
         {"go": "12", "rust-async": "3", "rust-sync": "3"}),
        ("unknown-method", req_frame(1, 0, "conf.Echo", "Nope"),
         {"go": "12", "rust-async": "12", "rust-sync": "3"}),
        ("method-case-differs", req_frame(1, 0, "conf.Echo", "echo"),
         {"go": "12", "rust-async": "12", "rust-sync": "3"}),
        ("zero-length-request", frame(1, REQUEST, 0),
         {"go": "12 (empty service name)", "rust-async": "3", "rust-sync": "3"}),
        ("undecodable-request", frame(1, REQUEST, 0, b"\x0a\x09conf"),
         {"go": "3", "rust-async": "3", "rust-sync": "3"}),
        ("bad-utf8-service", frame(1, REQUEST, 0, ld(1, b"conf.\xff") + ld(2, b"Echo")),
         {"go": "3", "rust-async": "3", "rust-sync": "3"}),
        ("request-rc-ro", req_frame(1, RC | RO, "conf.Stream", "BidiEcho"),
         CELL_PEERS[("server", "recv", "IDLE", "REQUEST_RC_RO")]),
        ("unary-flags-for-streaming-method", req_frame(1, 0, "conf.Stream", "ServerCount",
                                                       b"\x08\x01"),
         {"go": "flags are never read: served as server streaming",
          "rust-async": "served", "rust-sync": "no streaming"}),
    ]
    for name, raw, peers in cases:
        m = Model("server")
        m.inbound(raw)
        m.inbound(ECHO(3))
        lvl = "MUST" if name in ("undecodable-request", "bad-utf8-service") else \
            "IMPLEMENTATION-DEFINED"
        seq_vec("errors", "errors/server/" + name, ce, lvl, m,
                desc="Answered on its id; the next Request on the connection is served",
                peers=peers)
    m = Model("server")
    m.inbound(ECHO(1))
    m.inbound(frame(1, DATA, 0, b"\x08\x01"))
    m.inbound(ECHO(3))
    seq_vec("errors", "errors/server/data-on-unary", clause(
        "Data frames are forbidden on a unary stream", "Data"), "MUST", m,
        peers={"go": "code 3", "rust-async": "code 3", "rust-sync": "ignored"})
    m = Model("server")
    m.inbound(req_frame(1, RO | ND, "conf.Stream", "ClientSum"))
    m.inbound(frame(1, DATA, RC, b"\x08\x01"))
    m.outbound(frame(1, RESPONSE, 0, enc_response(None, b"\x08\x01")))
    seq_vec("errors", "errors/server/data-rc-with-message", clause(
        "A sender's final Data carries RC and may still carry a message", "Data"),
        "MUST", m, desc="Legal per spec; both real servers answer 3 (notes 2.4)",
        peers=CELL_PEERS[("server", "recv", "OPEN", "DATA_RC")])
    m = Model("client")
    m.outbound(ECHO(1))
    m.inbound(frame(1, DATA, 0, b"\x08\x01"))
    seq_vec("errors", "errors/client/data-on-unary", clause(
        "Data frames are forbidden on a unary stream", "Data"), "MUST", m,
        peers=CELL_PEERS[("client", "recv", "UNARY", "DATA")])
    for name, body in (("truncated", b"\x0a\x05\x08\x0c"),
                       ("bad-utf8-status-message", ld(1, vi(1, 2) + ld(2, b"\xff")))):
        m = Model("client")
        m.outbound(ECHO(1))
        m.inbound(frame(1, RESPONSE, 0, body))
        m.outbound(ECHO(3))
        m.inbound(GO_OK(3))
        seq_vec("errors", "errors/client/undecodable-response-" + name, clause(
            "A Response that does not decode fails its call; the connection goes on",
            "Response"), "MUST", m)
    m = Model("server")
    m.inbound(req_frame(1, RO | ND, "conf.Stream", "ClientSum"))
    m.inbound(frame(1, DATA, ND, b"\x08\x01"))
    m.inbound(frame(1, DATA, RC | ND))
    seq_vec("errors", "errors/server/data-nd-with-bytes", clause(
        "ND says the frame carries no message; bytes sent anyway are not one", "Data Flags"),
        "IMPLEMENTATION-DEFINED", m, desc="Data[ND] with 2 data bytes: nothing is delivered",
        peers={"go": "the bytes are dropped silently", "rust-async": "not recorded",
               "rust-sync": "no streaming"})
    m = Model("client")
    m.outbound(ECHO(1))
    m.inbound(frame(1, 0x04, 0))
    seq_vec("errors", "errors/client/unknown-type-on-pending", clause(
        "Unknown types are not covered by the spec", "Message Types"),
        "IMPLEMENTATION-DEFINED", m,
        peers={"go": "the call fails", "rust-async": "the call fails",
               "rust-sync": "the call fails"})


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    gen_frame()
    gen_types_flags()
    gen_request()
    gen_response()
    gen_table()
    gen_unary()
    gen_streaming()
    gen_calls()
    gen_ids_limits_errors()
    total = 0
    seen = set()
    for area, vecs in sorted(AREAS.items()):
        for v in vecs:
            assert v["id"] not in seen, v["id"]
            seen.add(v["id"])
        doc = {"format": "ttrpc-vectors/1", "area": area, "spec": SPEC}
        if any(v["kind"] == "sequence" for v in vecs):
            doc["methods"] = METHODS  # what a server under test routes; others are unknown
        doc["vectors"] = vecs
        with open(os.path.join(out, area + ".json"), "w") as fh:
            json.dump(doc, fh, indent=1, sort_keys=False)
            fh.write("\n")
        total += len(vecs)
        print("%-12s %4d" % (area, len(vecs)))
    print("%-12s %4d" % ("total", total))


if __name__ == "__main__":
    main()
