#!/usr/bin/env python3
"""Compares frames that real peers put on the wire with the golden vectors that describe them.

    compare.py [--calls FILE] [--vectors DIR] [--report-dir DIR] TRACE-DIR
    compare.py c-args SCENARIO WORKDIR      (the C reference client's arguments, one a line)

TRACE-DIR holds one tap trace (`ttrpc-conform tap --out`, schema_version 1) per client, server
and scenario, named CLIENT--SERVER--SCENARIO.json. Each trace is compared twice: CLIENT's
bytes (the c2s frames) and SERVER's (the s2c frames) against the scenario's vector, which
calls.json names with its masks. Output: one line per trace and role, MATCH or MISMATCH
(with a field-level diff; "known" when an entry of calls.json's `known` list for that
implementation, role, vector and, if it names one, other end explains every differing
field), UNSEEN or ERROR, and the reports capture.json and
capture.md in --report-dir. Exit status: 0 when every mismatch is known and every known
entry still shows up, 1 otherwise, 2 when the comparison could not be made.
"""
import hashlib
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.dirname(HERE)


def load_gen():
    """gen.py's encoders give the canonical bytes that captured payloads are held to."""
    spec = importlib.util.spec_from_file_location("gen", os.path.join(VECTORS, "gen", "gen.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = load_gen()

# ---------------------------------------------------------------------------------------------
# A small protobuf reader: enough for Request, Response, Status, Any and KeyValue.


class Undecodable(Exception):
    pass


def read_varint(b, i):
    n, shift = 0, 0
    while True:
        if i >= len(b) or shift > 63:
            raise Undecodable("varint runs past the end")
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i


def fields(b):
    """(number, value) pairs in wire order; value is an int (varint) or bytes (length-delimited)."""
    out, i = [], 0
    while i < len(b):
        k, i = read_varint(b, i)
        num, wt = k >> 3, k & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 2:
            n, i = read_varint(b, i)
            if n > len(b) - i:
                raise Undecodable("field %d longer than the message" % num)
            v, i = b[i:i + n], i + n
        else:
            raise Undecodable("wire type %d" % wt)
        out.append((num, v))
    return out


def signed64(n):
    return n - (1 << 64) if n >= 1 << 63 else n


def decode_request(b):
    v = {"service": "", "method": "", "payload": None, "timeout_nano": 0, "metadata": []}
    for num, x in fields(b):
        if num == 1:
            v["service"] = x.decode()
        elif num == 2:
            v["method"] = x.decode()
        elif num == 3:
            v["payload"] = x
        elif num == 4:
            v["timeout_nano"] = signed64(x)
        elif num == 5:
            kv = dict(fields(x))
            v["metadata"].append((kv.get(1, b"").decode(), kv.get(2, b"").decode()))
    return v


def decode_response(b):
    v = {"status": None, "payload": b""}
    for num, x in fields(b):
        if num == 1:
            st = {"code": 0, "message": "", "details": []}
            for sn, sx in fields(x):
                if sn == 1:
                    st["code"] = signed64(sx)
                elif sn == 2:
                    st["message"] = sx.decode()
                elif sn == 3:
                    any_ = dict(fields(sx))
                    st["details"].append((any_.get(1, b"").decode(), any_.get(2, b"")))
            v["status"] = st
        elif num == 2:
            v["payload"] = x
    return v


def head_status(head):
    """The status of a Response from the first bytes of its encoding: None when the first
    field is not a status, False when the head is too short to tell."""
    try:
        k, i = read_varint(head, 0)
        if k != (1 << 3 | 2):
            return None
        n, i = read_varint(head, i)
        if n > len(head) - i:
            return False
        return decode_response(head[:i + n])["status"]
    except (Undecodable, UnicodeDecodeError):
        return False


def reencode(typ, body):
    """The canonical encoding (ascending fields, defaults omitted) of a decoded body."""
    if typ == GEN.REQUEST:
        return GEN.enc_request(body["service"], body["method"], body["payload"],
                               body["timeout_nano"], body["metadata"])
    st = body["status"]
    return GEN.enc_response(None if st is None else (st["code"], st["message"], st["details"]),
                            body["payload"])


# ---------------------------------------------------------------------------------------------
# Frames in one comparable form: a flat dict of named fields.


def describe(typ, data, mask):
    """The comparable fields of a whole frame body."""
    out = {}
    if typ in (GEN.REQUEST, GEN.RESPONSE):
        try:
            body = (decode_request if typ == GEN.REQUEST else decode_response)(data)
        except (Undecodable, UnicodeDecodeError) as e:
            return {"body": "undecodable: %s" % e}
        out["canonical-encoding"] = reencode(typ, body) == data
        if typ == GEN.REQUEST:
            out["service"], out["method"] = body["service"], body["method"]
            out["payload"] = "absent" if body["payload"] is None else body["payload"].hex()
            out["timeout_nano"] = body["timeout_nano"]
            out["metadata"] = sorted("%s=%s" % kv for kv in body["metadata"])  # a multiset
        else:
            st = body["status"]
            out["status"] = "absent" if st is None else {
                "code": st["code"], "message": st["message"],
                "details": [[t, v.hex()] for t, v in st["details"]]}
            out["payload"] = body["payload"].hex()
    else:
        out["data"] = data.hex()
    return out


def apply_mask(exp, got, mask):
    """Drops or loosens what calls.json masks; returns notes on what was masked."""
    notes = []
    tm = mask.get("timeout_nano")
    if tm and "timeout_nano" in exp:
        if tm == "ignore":
            notes.append("timeout_nano %s masked" % got.get("timeout_nano"))
            exp.pop("timeout_nano")
            got.pop("timeout_nano", None)
        elif tm == "at-most":
            t = got.get("timeout_nano", 0)
            if 0 < t <= exp["timeout_nano"]:
                notes.append("timeout_nano %d, within (0, %d]" % (t, exp["timeout_nano"]))
                got["timeout_nano"] = exp["timeout_nano"]
        # the length follows the timeout's varint
        if exp.get("length") != got.get("length"):
            exp.pop("length", None)
            got.pop("length", None)
    if mask.get("status_message") == "ignore" and isinstance(got.get("status"), dict):
        notes.append("status message %r masked" % got["status"]["message"])
        for d in (exp, got):
            if isinstance(d.get("status"), dict):
                d["status"] = dict(d["status"], message="(masked)")
        # the length follows the message
        exp.pop("length", None)
        got.pop("length", None)
    return notes


def large_payload(spec):
    if spec["with"] == "bytes-value-i-mod-251":
        v = bytes(i % 251 for i in range(spec["length"]))
        return GEN.bytes_value(v)
    raise ValueError("unknown inner_payload %r" % spec["with"])


def expected_frames(vector, role, mask):
    """The frames the vector says the peer in `role` writes: its inbound steps for a client
    (the server-role vector receives them), its outbound steps and rejections for a server."""
    out = []
    sub = mask.get("inner_payload")
    for step in vector["steps"]:
        from_client = step["dir"] == "to-server"
        if role == "client" and from_client:
            out.append(bytes.fromhex(step["bytes"]))
        elif role == "server" and not from_client:
            out.append(bytes.fromhex(step["bytes"]))
        elif role == "server":
            for e in step["expect"].get("emit", []):
                if "status_code" in e:
                    out.append(e)  # a rejection: checked by header and code only
    if sub:
        out = [substitute(f, bytes.fromhex(sub["replace"]), large_payload(sub)) for f in out]
    return out


def substitute(f, old, new):
    """The frame with its Request or Response payload `old` replaced by `new`, re-encoded."""
    if not isinstance(f, bytes) or f[8] not in (GEN.REQUEST, GEN.RESPONSE):
        return f
    body = (decode_request if f[8] == GEN.REQUEST else decode_response)(f[10:])
    if body["payload"] != old:
        return f
    body["payload"] = new
    return GEN.frame(int.from_bytes(f[4:8], "big"), f[8], f[9], reencode(f[8], body))


def header_fields(length, sid, typ, flags):
    return {"length": length, "stream_id": sid, "type": typ, "flags": flags}


def compare_frame(exp, got, mask):
    """Field-level differences between an expected frame and a captured one, and notes."""
    g_head = header_fields(got["length"], got["stream_id"], got["type"], got["flags"])
    g_data = bytes.fromhex(got["payload_hex"])
    if isinstance(exp, dict):  # a rejection: header and status code
        e = {"stream_id": exp["stream_id"], "type": exp["type"], "flags": exp["flags"]}
        g = {k: g_head[k] for k in e}
        codes = exp["status_code"] if isinstance(exp["status_code"], list) else [exp["status_code"]]
        try:
            st = decode_response(g_data)["status"] if not got["payload_truncated"] else None
        except (Undecodable, UnicodeDecodeError):
            st = None
        code = st["code"] if st else 0
        g["status.code"] = code
        e["status.code"] = code if code in codes else " or ".join(map(str, codes))
        return diff(e, g), ["status code %d, one of %s; message %r not compared" % (
            code, codes, (st or {}).get("message"))]
    e_head = header_fields(len(exp) - 10, int.from_bytes(exp[4:8], "big"), exp[8], exp[9])
    e_data = exp[10:]
    if got["payload_truncated"] and e_head["type"] == GEN.RESPONSE:
        # A status field comes before the payload: take it from the recorded head, and if the
        # expected Response with that status gives the recorded digest, the status is the only
        # difference and is reported as such.
        status = head_status(g_data)
        if status is not False:
            body = decode_response(e_data)
            body["status"] = status
            alt = reencode(GEN.RESPONSE, body)
            if len(alt) == got["length"] and \
                    hashlib.sha256(alt).hexdigest() == got["payload_sha256"]:
                e = dict(e_head, **describe(GEN.RESPONSE, e_data, mask))
                g = dict(g_head, **describe(GEN.RESPONSE, alt, mask))
                notes = apply_mask(e, g, mask)
                notes.append("payload truncated in the trace: the status was read from its "
                             "head, the rest checked by length and SHA-256")
                return diff(e, g), notes
    if got["payload_truncated"]:
        # Only the first 64 bytes and a SHA-256 were recorded.
        e = dict(e_head, prefix=e_data[:64].hex(), sha256=hashlib.sha256(e_data).hexdigest())
        g = dict(g_head, prefix=g_data.hex(), sha256=got["payload_sha256"])
        notes = ["payload truncated in the trace: compared by length, first 64 bytes, SHA-256"]
        extra = g["length"] - e["length"]
        if mask.get("timeout_nano") == "ignore" and e["type"] == GEN.REQUEST and 2 <= extra <= 11:
            # The masked timeout_nano (2 to 11 bytes) follows the payload: the digest covers it.
            for k in ("length", "sha256"):
                e.pop(k)
                g.pop(k)
            notes.append("length and SHA-256 not compared: they include the masked timeout_nano")
        return diff(e, g), notes
    e = dict(e_head, **describe(e_head["type"], e_data, mask))
    g = dict(g_head, **describe(g_head["type"], g_data, mask))
    notes = apply_mask(e, g, mask)
    return diff(e, g), notes


def diff(e, g):
    return [{"field": k, "expected": e.get(k, "(none)"), "got": g.get(k, "(none)")}
            for k in sorted(set(e) | set(g)) if e.get(k, "(none)") != g.get(k, "(none)")]


def compare_call(vector, role, trace, mask):
    """One vector against one implementation's frames in one role: (verdict, diffs, notes)."""
    conns = [c for c in trace["connections"] if c["frames"]]
    if len(conns) != 1:
        return "ERROR", [], ["%d connections carry frames, expected 1" % len(conns)]
    want_dir = "c2s" if role == "client" else "s2c"
    got = [f for f in conns[0]["frames"] if f["dir"] == want_dir]
    exp = expected_frames(vector, role, mask)
    diffs, notes = [], []
    if role == "server" and not got and mask.get("s2c") == "optional":
        return "UNSEEN", [], ["no frame from the server before the client left (allowed "
                              "for this call; the vector's peers note says why)"]
    for i in range(max(len(exp), len(got))):
        if i >= len(got):
            diffs.append({"field": "frame[%d]" % i, "expected": "a frame", "got": "(none)"})
            continue
        if i >= len(exp):
            diffs.append({"field": "frame[%d]" % i, "expected": "(none)",
                          "got": got[i]["header_hex"] + " " + got[i]["payload_hex"][:40]})
            continue
        d, n = compare_frame(exp[i], got[i], mask)
        for x in d:
            x["frame"] = i
        diffs += d
        notes += ["frame[%d]: %s" % (i, s) for s in n]
    return ("MISMATCH" if diffs else "MATCH"), diffs, notes


# ---------------------------------------------------------------------------------------------


def load_vectors(vdir):
    out = {}
    for name in sorted(os.listdir(vdir)):
        if name.endswith(".json") and name != "schema.json":
            for v in json.load(open(os.path.join(vdir, name)))["vectors"]:
                out[v["id"]] = v
    return out


def applies(k, impl, role, vid, peer):
    """Whether known entry k is about this implementation, role and vector (and, when the
    entry names a peer, this other end)."""
    return k["impl"] == impl and k["role"] == role and vid in k["vectors"] and \
        k.get("peer", peer) == peer


def known_entry(calls, impl, role, vid, peer, diffs):
    for k in calls.get("known", []):
        if applies(k, impl, role, vid, peer) and all(d["field"] in k["fields"] for d in diffs):
            return k
    return None


def traces(tdir):
    """(client, server, scenario, path) of every trace named CLIENT--SERVER--SCENARIO.json."""
    for name in sorted(os.listdir(tdir)):
        if name.endswith(".json") and name.count("--") == 2:
            client, server, scenario = name[:-5].split("--")
            yield client, server, scenario, os.path.join(tdir, name)


def fmt(v):
    return json.dumps(v) if not isinstance(v, str) else v


def run(calls_path, vdir, tdir, report_dir):
    calls = json.load(open(calls_path))
    vectors = load_vectors(vdir)
    by_scenario = {c["scenario"]: c for c in calls["calls"]}
    results, used_known = [], set()
    for client, server, scenario, path in traces(tdir):
        call = by_scenario.get(scenario)
        if call is None:
            continue
        try:
            trace = json.load(open(path))
        except (OSError, ValueError) as e:
            trace, trouble = None, "%s: %s" % (os.path.basename(path), e)
        # Each trace shows both ends: the client's bytes and the server's.
        for impl, role, other in ((client, "client", server), (server, "server", client)):
            vector = vectors[call["vector"]]
            if trace is None:
                verdict, diffs, notes = "ERROR", [], [trouble]
            else:
                try:
                    verdict, diffs, notes = compare_call(vector, role, trace, call["mask"])
                except (ValueError, KeyError) as e:
                    verdict, diffs, notes = "ERROR", [], ["%s: %s" % (
                        os.path.basename(path), e)]
            k = known_entry(calls, impl, role, call["vector"], other, diffs) if diffs else None
            if k is not None:
                used_known.add(id(k))
            results.append({"impl": impl, "role": role, "scenario": scenario,
                            "vector": call["vector"], "peer": other,
                            "trace": os.path.basename(path), "verdict": verdict,
                            "known": k["why"] if k else None, "diffs": diffs, "notes": notes})
    results.sort(key=lambda r: (r["impl"], r["role"], r["peer"]))
    failed = False
    for r in results:
        tag = r["verdict"] + (" (known)" if r["known"] else "")
        print("%-16s %-30s %-11s %-6s (%s, against %s)" % (
            tag, r["vector"], r["impl"], r["role"], r["scenario"], r["peer"]))
        for d in r["diffs"]:
            print("    frame[%s] %s: expected %s, got %s" % (
                d.get("frame", "-"), d["field"], fmt(d["expected"]), fmt(d["got"])))
        if r["known"]:
            print("    known: " + r["known"])
        if r["verdict"] not in ("MATCH", "UNSEEN") and not r["known"]:
            failed = True
    # A known entry that no longer shows up is stale: the list must stay true.
    stale = [k for k in calls.get("known", []) if id(k) not in used_known and
             any(applies(k, r["impl"], r["role"], r["vector"], r["peer"]) for r in results)]
    for k in stale:
        print("STALE            known entry %s %s%s %s: no longer differs" % (
            k["impl"], k["role"], " against " + k["peer"] if "peer" in k else "",
            ",".join(k["vectors"])))
        failed = True
    write_reports(report_dir, results, stale)
    counts = {}
    for r in results:
        key = r["verdict"] + (" (known)" if r["known"] else "")
        counts[key] = counts.get(key, 0) + 1
    print("# capture: " + ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items())) +
          (", %d stale known entries" % len(stale) if stale else ""))
    return 1 if failed else 0


def write_reports(report_dir, results, stale):
    os.makedirs(report_dir, exist_ok=True)
    with open(os.path.join(report_dir, "capture.json"), "w") as fh:
        json.dump({"format": "ttrpc-capture-report/1", "results": results,
                   "stale_known": [k["impl"] + " " + k["role"] for k in stale]}, fh, indent=1)
        fh.write("\n")
    lines = ["# Captured frames against the golden vectors", "",
             "Per implementation and role: how many canonical calls (calls.json) the peer's "
             "frames match the vector of, byte for byte after the masks; a known mismatch "
             "differs only as calls.json's `known` list (and the vector's peers note) says.", "",
             "| implementation | role | against | calls matched | known mismatch | mismatch | "
             "error | not seen |", "|---|---|---|---|---|---|---|---|"]
    table, peers = {}, {}
    for r in results:
        peers.setdefault((r["impl"], r["role"]), set()).add(r["peer"])
        row = table.setdefault((r["impl"], r["role"]), [0, 0, 0, 0, 0])
        if r["verdict"] == "MATCH":
            row[0] += 1
        elif r["verdict"] == "UNSEEN":
            row[4] += 1
        elif r["verdict"] == "ERROR":
            row[3] += 1
        elif r["known"]:
            row[1] += 1
        else:
            row[2] += 1
    for (impl, role), row in sorted(table.items()):
        lines.append("| %s | %s | %s | %d | %d | %d | %d | %d |" % (
            (impl, role, ", ".join(sorted(peers[(impl, role)]))) + tuple(row)))
    lines += ["", "## Mismatches and calls not seen", ""]
    for r in results:
        if r["verdict"] == "MATCH":
            continue
        lines.append("- `%s` %s %s against %s (%s, trace `%s`)%s" % (
            r["vector"], r["impl"], r["role"], r["peer"], r["verdict"], r["trace"],
            ": known, " + r["known"] if r["known"] else ""))
        for d in r["diffs"]:
            lines.append("  - frame[%s] %s: expected `%s`, got `%s`" % (
                d.get("frame", "-"), d["field"], fmt(d["expected"]), fmt(d["got"])))
        for n in r["notes"] if r["verdict"] in ("ERROR", "UNSEEN") else []:
            lines.append("  - " + n)
    with open(os.path.join(report_dir, "capture.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def c_args(calls_path, scenario, workdir):
    """The C reference client's arguments for a scenario (before them: --connect, SERVICE)."""
    for call in json.load(open(calls_path))["calls"]:
        if call["scenario"] == scenario:
            args = []
            for a in call["c_client"]:
                if a == "@payload":
                    a = os.path.join(workdir, scenario + ".payload")
                    with open(a, "wb") as fh:
                        fh.write(large_payload(call["mask"]["inner_payload"]))
                args.append(a)
            print("\n".join(args))
            return 0
    print("compare.py: no scenario %r in %s" % (scenario, calls_path), file=sys.stderr)
    return 2


def main(argv):
    calls = os.path.join(HERE, "calls.json")
    vdir, report_dir = VECTORS, os.path.join("build", "reports")
    args = list(argv)
    if args[:1] == ["c-args"] and len(args) == 3:
        return c_args(calls, args[1], args[2])
    rest = []
    while args:
        a = args.pop(0)
        if a in ("--calls", "--vectors", "--report-dir") and args:
            v = args.pop(0)
            if a == "--calls":
                calls = v
            elif a == "--vectors":
                vdir = v
            else:
                report_dir = v
        else:
            rest.append(a)
    if len(rest) != 1 or not os.path.isdir(rest[0]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return run(calls, vdir, rest[0], report_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
