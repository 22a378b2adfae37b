#!/usr/bin/env python3
"""Turns the golden vectors' inputs into seed files for the fuzz targets.

    usage: python3 vectors/to-seeds.py OUTDIR [VECTOR.json ...]   (default: vectors/*.json)

Writes OUTDIR/<target>/<sha256 of the contents>, the naming corpus/<target>/ uses, so the
result merges into corpus/ by copying (fuzz/merge.sh or cp -n). Each target reads one mode
byte and then its input (the comment at the top of fuzz/<target>.c); the modes chosen here:

  fuzz_frame_decoder   every decode input and every sequence's bytes in each direction, as a
                       byte stream; mode 0x80 (fed whole, 4 MiB limit) and 0x00 (one byte per
                       feed), and 0x20 (limit 8 bytes) so short inputs reach the oversize path
  fuzz_msg_decode      every message input, every frame body a decode vector reads as a
                       Request or Response, and the Request and Response bodies in sequences,
                       with the selector for that message (0 Request, 1 Response); the Status
                       inside a Response also as a Status (2); default budget
  fuzz_session_server  the bytes a client sends in each server-role sequence, 16 bytes per
                       feed (mode 0x0f)
  fuzz_session_client  the bytes a server sends in each client-role sequence (mode 0x0f);
                       the harness opens its own three calls, so these are shapes, not scripts

Inputs longer than 64 KiB (the 4 MiB limit vectors) are left out: libFuzzer's -max_len cuts
them anyway, and fuzz/make-seeds.py has short oversize headers. Prints the count per target.
"""
import glob
import hashlib
import json
import os
import sys

MAX_SEED = 64 * 1024
REQUEST, RESPONSE = 1, 2


def expand(b):
    """The vector bytes form: a hex string, or segments {"hex"} / {"repeat"}."""
    if isinstance(b, str):
        return bytes.fromhex(b)
    out = bytearray()
    for seg in b:
        if "hex" in seg:
            out += bytes.fromhex(seg["hex"])
        else:
            out += bytes.fromhex(seg["repeat"]["byte"]) * seg["repeat"]["count"]
        if len(out) > MAX_SEED:
            return None  # too long to be a seed; stop before building 4 MiB
    return bytes(out)


def frames(stream):
    """(type, body) of the whole frames in a byte stream."""
    i = 0
    while len(stream) - i >= 10:
        n = int.from_bytes(stream[i:i + 4], "big")
        if n > len(stream) - i - 10:
            return
        yield stream[i + 8], stream[i + 10:i + 10 + n]
        i += 10 + n


def response_status(body):
    """The bytes of Response field 1 (status), or None; a first field only, as encoders put it."""
    if len(body) < 2 or body[0] != 0x0A or body[1] & 0x80:
        return None
    n = body[1]
    return body[2:2 + n] if 2 + n <= len(body) else None


class Seeds:
    def __init__(self, outdir):
        self.outdir = outdir
        self.by_target = {}
        self.skipped = 0

    def add(self, target, mode, data):
        if data is None or len(data) > MAX_SEED:
            self.skipped += 1
            return
        seed = bytes([mode]) + data
        self.by_target.setdefault(target, {})[hashlib.sha256(seed).hexdigest()] = seed

    def add_message(self, kind, body):
        self.add("fuzz_msg_decode", {"request": 0, "response": 1, "status": 2}[kind], body)
        if kind == "response":
            st = response_status(body)
            if st is not None:
                self.add("fuzz_msg_decode", 2, st)

    def add_stream(self, data):
        for mode in (0x80, 0x00, 0x20):
            self.add("fuzz_frame_decoder", mode, data)

    def write(self):
        for target, seeds in sorted(self.by_target.items()):
            d = os.path.join(self.outdir, target)
            os.makedirs(d, exist_ok=True)
            for name, seed in seeds.items():
                with open(os.path.join(d, name), "wb") as fh:
                    fh.write(seed)


def from_vector(seeds, v):
    if v["kind"] == "decode":
        data = expand(v["input"])
        seeds.add_stream(data)
        for f in v["expect"]["frames"]:
            if "decode" in f:
                seeds.add_message(f["decode"]["as"], expand(f["data"]))
    elif v["kind"] == "message":
        seeds.add_message(v["message"], expand(v["input"]))
    elif v["kind"] == "sequence":
        to_server, to_client = b"", b""
        for step in v["steps"]:
            b = expand(step["bytes"])
            if b is None:
                return  # an oversize body: the whole sequence is too long to be a seed
            if step["dir"] == "to-server":
                to_server += b
            else:
                to_client += b
        for stream in (to_server, to_client):
            if stream:
                seeds.add_stream(stream)
            for typ, body in frames(stream):
                if typ == REQUEST:
                    seeds.add_message("request", body)
                elif typ == RESPONSE:
                    seeds.add_message("response", body)
        if v["role"] == "server" and to_server:
            seeds.add("fuzz_session_server", 0x0F, to_server)
        if v["role"] == "client" and to_client:
            seeds.add("fuzz_session_client", 0x0F, to_client)


def main(argv):
    if not argv or argv[0].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    outdir = argv[0]
    files = argv[1:] or sorted(f for f in glob.glob(os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "*.json")) if not f.endswith("schema.json"))
    seeds = Seeds(outdir)
    count = 0
    for path in files:
        for v in json.load(open(path))["vectors"]:
            from_vector(seeds, v)
            count += 1
    seeds.write()
    for target, s in sorted(seeds.by_target.items()):
        print("%-22s %5d seeds" % (target, len(s)))
    print("from %d vectors; %d inputs over %d bytes left out" % (count, seeds.skipped, MAX_SEED))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
