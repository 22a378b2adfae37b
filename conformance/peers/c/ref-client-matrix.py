#!/usr/bin/env python3
"""Runs one of the Go peer's client scenarios with ttrpc-ref-client and prints the scenario
protocol's JSON result line ({"scenario", "ok", "code", "detail"}), so that the client x
server matrix (`ttrpc-conform matrix`) can judge the C client like the Go and Rust ones:
    ref-client-matrix.py unix:PATH SCENARIO CLIENT [CLIENT-OPTIONS...]
CLIENT is the ttrpc-ref-client binary. Scenarios and what passes are those of
conformance/peers/go/client.go (echo, echo-empty, echo-large, metadata, fail, fail-code-3,
unknown-method, deadline, deadline-remote, server-stream, client-stream, bidi-stream).
Exit status: 0 when ok, 1 when not, 2 usage."""
import json
import subprocess
import sys
import tempfile
import time

SERVICE = "ttrpc.conformance.v1.Echo"
LARGE = bytes(i % 251 for i in range(1 << 20))


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_bytes(field, data):
    return bytes([field << 3 | 2]) + varint(len(data)) + data


def parse_fields(buf):
    """(field, wire type, value) of a protobuf message; raises ValueError when malformed."""
    out, i = [], 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("length beyond the message")
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wt}")
        out.append((field, wt, v))
    return out


def read_varint(buf, i):
    shift = n = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def last(buf, field, default):
    v = default
    for f, _, val in parse_fields(buf):
        if f == field:
            v = val
    return v


def run(client, opts, address, args, timeout_ms, stdin_data=None):
    cmd = [client] + opts + ["--connect", address, "--timeout-ms", str(timeout_ms)] + args
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, timeout=20, input=stdin_data)
    elapsed = (time.monotonic() - start) * 1000
    out = {"code": None, "message": "", "payload": None, "data": [], "exit": p.returncode,
           "stderr": p.stderr.decode(errors="replace")[-300:], "ms": elapsed}
    for line in p.stdout.decode(errors="replace").splitlines():
        key, _, value = line.partition(": ")
        if key == "status":
            out["code"] = int(value.split()[0])
        elif key == "message":
            out["message"] = value
        elif key == "payload":
            out["payload"] = bytes.fromhex(value)
        elif key == "data":
            out["data"].append(bytes.fromhex(value))
        elif line == "payload:":
            out["payload"] = b""
    return out


def failed_call(what, r):
    if r["code"] is None:
        return False, 2, f"{what}: no status (exit {r['exit']}): {r['stderr'].strip()}"
    return False, r["code"], f"{what}: code {r['code']}: {r['message']}"


def echo(client, opts, address, value):
    with tempfile.NamedTemporaryFile() as f:
        f.write(field_bytes(1, value))
        f.flush()
        r = run(client, opts, address, ["--data-file", f.name, SERVICE, "Echo"], 5000)
    if r["code"] != 0:
        return failed_call("Echo", r)
    got = last(r["payload"] or b"", 1, b"")
    if got != value:
        return False, 0, f"sent {len(value)} bytes, got {len(got)} bytes back, different"
    return True, 0, f"{len(got)} bytes echoed unchanged"


def expect_code(r, want, what):
    if r["code"] == want:
        return True, want, f"code {want}, message {r['message']!r} after {r['ms']:.0f} ms"
    if r["code"] is None:
        return failed_call(what, r)
    return False, r["code"], f"expected code {want}, got {r['code']}: {r['message']}"


def scenario(name, client, opts, address):
    if name == "echo":
        return echo(client, opts, address, b"hello ttrpc")
    if name == "echo-empty":
        return echo(client, opts, address, b"")
    if name == "echo-large":
        return echo(client, opts, address, LARGE)
    if name == "metadata":
        md = ["--metadata", "x-one=1", "--metadata", "x-two=a", "--metadata", "x-two=b"]
        r = run(client, opts, address, md + ["--hex", "", SERVICE, "Metadata"], 5000)
        if r["code"] != 0:
            return failed_call("Metadata", r)
        got = [v.decode(errors="replace") for f, _, v in parse_fields(r["payload"] or b"")
               if f == 1]
        want = ["x-one=1", "x-two=a", "x-two=b"]
        if got != want:
            return False, 0, f"expected {want}, got {got}"
        return True, 0, f"server saw {got}"
    if name in ("fail", "fail-code-3"):
        code, msg = (12, b"x") if name == "fail" else (3, b"bad")
        status = bytes([0x08]) + varint(code) + field_bytes(2, msg)
        r = run(client, opts, address, ["--hex", status.hex(), SERVICE, "Fail"], 5000)
        return expect_code(r, code, "Fail")
    if name == "unknown-method":
        r = run(client, opts, address, ["--hex", "", SERVICE, "NoSuchMethod"], 5000)
        return expect_code(r, 12, "NoSuchMethod")
    if name in ("deadline", "deadline-remote"):
        # The ref client sends timeout_nano = 200 ms and gives up itself 1 s later, saying so
        # in its message: a 4 without that message came from the server.
        r = run(client, opts, address, ["--hex", "08d00f", SERVICE, "Sleep"], 200)
        ok, code, detail = expect_code(r, 4, "Sleep")
        if name == "deadline-remote" and ok and "gave up" in r["message"]:
            return False, 4, "expected a status 4 from the server, got the client's own: " + detail
        return ok, code, detail
    if name == "server-stream":
        r = run(client, opts, address, ["--stream", "server", "--hex", "0805", SERVICE,
                                        "ServerStream"], 5000)
        if r["code"] != 0:
            return failed_call("ServerStream", r)
        got = [last(d, 1, 0) for d in r["data"]]
        if got != [0, 1, 2, 3, 4]:
            return False, 0, f"expected [0, 1, 2, 3, 4] then end of stream, got {got}"
        return True, 0, f"received {got}, then end of stream"
    if name == "client-stream":
        sends = []
        for v in (1, 2, 3, 4):
            sends += ["--send", (bytes([0x08]) + varint(v)).hex()]
        r = run(client, opts, address, ["--stream", "client"] + sends + [SERVICE, "ClientStream"],
                5000)
        if r["code"] != 0:
            return failed_call("ClientStream", r)
        got = last(r["payload"] or b"", 1, 0)
        if got != 10:
            return False, 0, f"sent 1,2,3,4: expected sum 10, got {got}"
        return True, 0, f"sum of 1,2,3,4 is {got}"
    if name == "bidi-stream":
        sends = []
        for v in (b"a", b"b", b"c"):
            sends += ["--send", field_bytes(1, v).hex()]
        r = run(client, opts, address, ["--stream", "bidi"] + sends + [SERVICE, "BidiStream"],
                5000)
        if r["code"] != 0:
            return failed_call("BidiStream", r)
        got = [last(d, 1, b"").decode(errors="replace") for d in r["data"]]
        if got != ["a", "b", "c"]:
            return False, 0, f"sent ['a', 'b', 'c'], got {got} back"
        return True, 0, f"echoed {got}, then end of stream"
    return None


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    address, name, client, opts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    try:
        res = scenario(name, client, opts, address)
    except (subprocess.TimeoutExpired, ValueError, OSError) as e:
        res = (False, 2, f"{type(e).__name__}: {e}")
    if res is None:
        print(f"{sys.argv[0]}: unknown scenario {name!r}", file=sys.stderr)
        return 2
    ok, code, detail = res
    print(json.dumps({"scenario": name, "ok": ok, "code": code, "detail": detail}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
