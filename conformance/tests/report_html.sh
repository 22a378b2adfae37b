#!/usr/bin/env bash
# The JSON reports' wire traces and the HTML page (conformance/report-html.py) end to end:
#   trace/...   a few server-role cases against ttrpc-ref-server: every case carries its frames
#               (sent and received, header fields, hex, decoded) and events; a 4 MiB case
#               stays small in the report
#   html/...    the page built from those reports, a client-role report and a hand-made
#               matrix.json: the cells and their traces are there, a case the reference FAILs
#               under --fault echo-corrupt shows as FAIL, nothing is fetched from a network
# Prints one line per check, "ok - NAME" or "not ok - NAME" (details follow as "# " lines).
#   usage: BUILD=build bash conformance/tests/report_html.sh      (from the repository root)
set -u

# shellcheck source=conformance/tests/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

conform="$build/bin/ttrpc-conform"
ref="$build/bin/ttrpc-ref-server"
ref_client="$build/bin/ttrpc-ref-client"
tmp=$(mktemp -d /tmp/ttrpc-rh.XXXXXX) || exit 1
reports="$tmp/reports"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

for bin in "$conform" "$ref" "$ref_client"; do
    if [ ! -x "$bin" ]; then
        not_ok "binaries-missing" "$bin is missing: run make first"
        exit 1
    fi
done
if ! command -v python3 >/dev/null; then
    not_ok "python3-missing" "report-html.py needs python3"
    exit 1
fi

scale=${TIMEOUT_SCALE:-1}
cases=(--run request/unary/echo --run streaming/server/count-3 --run frame/length/max-accepted
    --run frame/length/zero)

timeout -k 5 120 "$conform" run --exec "$ref --fd {fd}" --name c --report-dir "$reports" \
    --timeout-scale "$scale" "${cases[@]}" >"$tmp/c.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok "run/c" || not_ok "run/c" "exit $rc" "$(tail -n 20 "$tmp/c.log")"

timeout -k 5 120 "$conform" run --exec "$ref --fault echo-corrupt --fd {fd}" \
    --name c-echo-corrupt --report-dir "$reports" --timeout-scale "$scale" "${cases[@]}" \
    >"$tmp/fault.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] && ok "run/c-echo-corrupt-fails" ||
    not_ok "run/c-echo-corrupt-fails" "exit $rc, expected 1" "$(tail -n 20 "$tmp/fault.log")"

timeout -k 5 120 "$conform" client --exec \
    "conformance/peers/c/ref-client-scenario.sh {address} {scenario} $ref_client" \
    --name c-client --report-dir "$reports" --timeout-scale "$scale" --run client/unary/ \
    >"$tmp/client.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok "run/c-client" || not_ok "run/c-client" "exit $rc" \
    "$(tail -n 20 "$tmp/client.log")"

# --- the traces in the JSON reports ---
python3 - "$reports" <<'EOF' >"$tmp/trace.out" 2>&1
import json, sys
d = sys.argv[1]
problems = []
def check(name, cond, detail=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else "\n#   " + detail))
c = json.load(open(f"{d}/c.json"))
by_id = {x["id"]: x for x in c["cases"]}
echo = by_id["request/unary/echo"]["wire_trace"]["entries"]
frames = [e for e in echo if "dir" in e]
sent = [e for e in frames if e["dir"] == "sent" and e.get("type") == 1]
got = [e for e in frames if e["dir"] == "received" and e.get("type") == 2]
check("trace/echo-frames", len(sent) >= 1 and len(got) >= 1,
      json.dumps(echo)[:400])
if sent and got:
    s, r = sent[0], got[0]
    check("trace/echo-fields",
          all(k in s for k in ("t_ms", "length", "stream_id", "flags", "header_hex",
                               "payload_hex", "payload_truncated", "payload_length", "decoded"))
          and s["header_hex"] == "%08x%08x%02x%02x" % (s["length"], s["stream_id"], 1, s["flags"])
          and "Echo" in s["decoded"] and r["decoded"].startswith("Response status=0"),
          json.dumps([s, r])[:600])
events = [e["event"] for e in echo if "event" in e]
check("trace/events", "connect" in events and "close" in events, str(events))
big = by_id["frame/length/max-accepted"]
size = len(json.dumps(big))
big_frames = [e for e in big["wire_trace"]["entries"] if e.get("length", 0) > 4096]
check("trace/4mib-case-small", size < 64 * 1024 and big_frames and
      all(e["payload_truncated"] and len(e["payload_hex"]) == 128 for e in big_frames),
      f"{size} bytes; {json.dumps(big_frames)[:300]}")
stream = [e for e in by_id["streaming/server/count-3"]["wire_trace"]["entries"]
          if e.get("dir") == "received" and e.get("type") == 3]
check("trace/stream-data", len(stream) == 4 and stream[-1]["flags"] & 1,
      json.dumps(stream)[:400])
cl = json.load(open(f"{d}/c-client.json"))
entries = cl["cases"][0]["wire_trace"]["entries"]
check("trace/client-role",
      any(e.get("dir") == "received" and e.get("type") == 1 for e in entries) and
      any(e.get("dir") == "sent" and e.get("type") == 2 for e in entries) and
      any(e.get("event") == "peer-exit" for e in entries), json.dumps(entries)[:600])
EOF
while IFS= read -r line; do
    case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) echo "$line" ;;
    esac
done <"$tmp/trace.out"

# --- a matrix.json as `ttrpc-conform matrix` writes it: one trace inline, one in a file ---
mkdir -p "$reports/traces"
cat >"$reports/traces/go-c-echo.json" <<'EOF'
{"schema_version":1,"connections":[{"id":0,"frames":[
{"t_ms":0.1,"dir":"c2s","length":4,"stream_id":1,"type":1,"flags":0,
 "header_hex":"00000004000000010100","payload_hex":"0a02aaaa","payload_truncated":false,
 "decoded":{"service":"x"}},
{"t_ms":0.2,"dir":"s2c","length":0,"stream_id":1,"type":2,"flags":0,
 "header_hex":"00000000000000010200","payload_hex":"","payload_truncated":false,
 "decoded":{"status":0}}],"end":{"reason":"eof"}}]}
EOF
cat >"$reports/matrix.json" <<'EOF'
{"schema_version":1,"cells":[
{"client":"go","server":"c","scenario":"echo","verdict":"PASS","detail":"echoed",
 "elapsed_ms":3,"trace":"traces/go-c-echo.json"},
{"client":"c","server":"go","scenario":"echo","verdict":"FAIL","detail":"marker-matrix-fail",
 "elapsed_ms":4,"trace":{"schema_version":1,"connections":[]}}]}
EOF

if python3 conformance/report-html.py "$reports" 2>"$tmp/html.err"; then
    ok "html/generated"
else
    not_ok "html/generated" "$(cat "$tmp/html.err")"
fi
page="$reports/index.html"

python3 - "$page" <<'EOF' >"$tmp/html.out" 2>&1
import html.parser, json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
def check(name, cond, detail=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else "\n#   " + detail))

class Cells(html.parser.HTMLParser):
    """Rows of every matrix table: header cells and (class, text, data-key) cells."""
    def __init__(self):
        super().__init__()
        self.tables, self.row, self.cell = [], None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("class") == "matrix":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.row = []
            self.tables[-1].append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = [a.get("class", ""), "", a.get("data-key")]
            self.row.append(self.cell)
    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.cell = None
        elif tag == "table":
            self.row = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data

p = Cells()
p.feed(text)
server, client, *scenario = p.tables if len(p.tables) >= 3 else ([], [], [])
head = [c[1] for c in server[0]] if server else []
check("html/server-columns", head[:1] == ["case"] and {"c", "c-echo-corrupt"} <= set(head),
      str(head))
def row(table, case_id):
    for r in table:
        if r and r[0][1] == case_id:
            return r
    return None
echo = row(server, "request/unary/echo")
if echo and "c" in head and "c-echo-corrupt" in head:
    good, bad = echo[head.index("c")], echo[head.index("c-echo-corrupt")]
    check("html/pass-cell", good[1] == "PASS" and "v-pass" in good[0] and good[2], str(good))
    check("html/fail-cell", bad[1] == "FAIL" and "v-fail" in bad[0] and bad[2], str(bad))
else:
    check("html/pass-cell", False, f"no row for request/unary/echo: {head}")
    check("html/fail-cell", False, "")
check("html/sections", any(r and r[0][1] == "streaming" for r in server),
      "no 'streaming' section row")
check("html/client-role", any(c[2] for r in client for c in r) and
      any(r and r[0][1].startswith("client/unary/") for r in client), str(client[:3]))
m = [c for t in scenario for r in t for c in r if c[2] and c[2].startswith("m:")]
check("html/matrix-cells", sorted(c[1] for c in m) == ["FAIL", "PASS"], str(m))

data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text,
                 re.S)
doc = json.loads(data.group(1)) if data else {}
check("html/data-embedded", bool(doc.get("reports")), "no report-data script")
keys = [c[2] for t in p.tables for r in t for c in r if c[2]]
def resolve(key):
    kind, *n = key.split(":")
    if kind == "r":
        return doc["reports"][int(n[0])]["cases"][int(n[1])]
    return doc["matrix"]["cells"][int(n[0])]
resolved = [resolve(k) for k in keys]
check("html/every-cell-has-trace",
      all(("wire_trace" in x and x["wire_trace"]["entries"]) or "trace" in x for x in resolved),
      str([k for k, x in zip(keys, resolved) if not x.get("wire_trace") and "trace" not in x]))
if echo and "c-echo-corrupt" in head:
    bad = resolve(echo[head.index("c-echo-corrupt")][2])
    check("html/fail-cell-detail", bad["verdict"] == "FAIL" and bad["expected"] and
          any(e.get("dir") == "received" for e in bad["wire_trace"]["entries"]), str(bad)[:400])
file_cell = [x for x in doc.get("matrix", {}).get("cells", []) if x.get("client") == "go"]
check("html/matrix-trace-from-file", file_cell and
      file_cell[0]["trace"]["connections"][0]["frames"][1]["dir"] == "s2c", str(file_cell)[:300])
check("html/self-contained", not re.search(r'(src|href)\s*=|https?://|@import', text),
      str(re.findall(r'.{20}(?:src|href)\s*=.{30}|https?://\S{0,30}', text)[:3]))
check("html/script-safe", "</script" not in data.group(1) if data else False, "")
EOF
while IFS= read -r line; do
    case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) echo "$line" ;;
    esac
done <"$tmp/html.out"

# The generator's own failure path: a report that is not JSON is an error, not a page.
mkdir -p "$tmp/bad"
echo '{"tool": "ttrpc-conform", "cases": [' >"$tmp/bad/broken.json"
if python3 conformance/report-html.py "$tmp/bad" 2>/dev/null; then
    not_ok "html/bad-json-is-an-error" "exit 0 for a broken report"
else
    ok "html/bad-json-is-an-error"
fi

exit $((failures > 0))
