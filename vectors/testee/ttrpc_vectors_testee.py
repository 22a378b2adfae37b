#!/usr/bin/env python3
"""A second testee for `ttrpc-conform vectors --exec`, in another language and with no
dependencies, to show that the testee protocol (vectors/README.md) is language-neutral. It
supports the decode op only: its own 10-byte frame header parser with the 4 MiB limit and
oversize detection. Message ops are answered {"unsupported": true}.

    usage: ttrpc_vectors_testee.py [--fault wrong-stream-id]
"""
import json
import struct
import sys

MAX_DATA = 4194304
HEADER_LEN = 10


class FrameDecoder:
    """Bytes in, frames out; an oversize frame is reported with its header and its body
    skipped, after which decoding goes on (PROTOCOL.md, Message Frame)."""

    def __init__(self):
        self.pending = b""  # header bytes, or the body being collected
        self.header = None  # (length, stream_id, type, flags) while inside a body
        self.skip = 0  # body bytes of an oversize frame still to drop

    def feed(self, data):
        out = []
        while data:
            if self.skip:
                n = min(self.skip, len(data))
                self.skip -= n
                data = data[n:]
                continue
            if self.header is None:
                need = HEADER_LEN - len(self.pending)
                self.pending += data[:need]
                data = data[need:]
                if len(self.pending) < HEADER_LEN:
                    break
                length, stream_id, ftype, flags = struct.unpack(">IIBB", self.pending)
                self.pending = b""
                if length > MAX_DATA:
                    out.append({"error": "too-large", "length": length, "stream_id": stream_id,
                                "type": ftype, "flags": flags})
                    self.skip = length
                    continue
                self.header = (length, stream_id, ftype, flags)
            length = self.header[0]
            need = length - len(self.pending)
            self.pending += data[:need]
            data = data[need:]
            if len(self.pending) == length:
                out.append(self.frame())
        return out

    def frame(self):
        length, stream_id, ftype, flags = self.header
        f = {"length": length, "stream_id": stream_id, "type": ftype, "flags": flags,
             "data": self.pending.hex()}
        self.header = None
        self.pending = b""
        return f

    def at_boundary(self):
        return self.header is None and not self.pending and not self.skip


def vector_bytes(spec):
    if isinstance(spec, str):
        return bytes.fromhex(spec)
    out = bytearray()
    for seg in spec:
        if "hex" in seg:
            out += bytes.fromhex(seg["hex"])
        else:
            out += bytes.fromhex(seg["repeat"]["byte"]) * seg["repeat"]["count"]
    return bytes(out)


def decode(req, fault):
    data = vector_bytes(req["input"])
    chunk = req["chunk"] or max(len(data), 1)
    d = FrameDecoder()
    frames = []
    for off in range(0, len(data), chunk):
        frames += d.feed(data[off:off + chunk])
    if fault == "wrong-stream-id":
        for f in frames:
            f["stream_id"] &= 0x7FFFFFFF
    return {"frames": frames, "end": "boundary" if d.at_boundary() else "truncated"}


def main():
    fault = sys.argv[2] if len(sys.argv) == 3 and sys.argv[1] == "--fault" else None
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return 0
        req = json.loads(stdin.read(struct.unpack(">I", head)[0]))
        if req["op"] == "hello":
            reply = {"name": "python-frame-decoder", "version": "1", "supports": ["decode"]}
        elif req["op"] == "decode":
            reply = decode(req, fault)
        else:
            reply = {"unsupported": True}
        body = json.dumps(reply, separators=(",", ":")).encode()
        stdout.write(struct.pack(">I", len(body)) + body)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
