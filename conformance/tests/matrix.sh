#!/usr/bin/env bash
# The client x server matrix (`ttrpc-conform matrix`) and the tap (`ttrpc-conform tap`):
#   matrix/small           c and go servers x c and go clients x five scenarios: all PASS,
#                          exit 0, one readable trace per cell with the call on the wire
#   matrix/reports         matrix.json (schema 1, cells), matrix.xml, matrix.md (the table)
#   matrix/fault-caught    ttrpc-ref-server --fault echo-corrupt as a server: its echo cells
#                          FAIL, exit 1, with a replay line; its other cells still PASS
#   matrix/xfail, xpass, flaky   the expected-failure list: XFAIL exit 0; a listed cell that
#                          passes is XPASS, exit 1; "flaky:" accepts the pass
#   matrix/server-missing  a server that cannot start: ERROR, exit 2
#   matrix/bad-config      a config mistake names file:line, exit 2
#   matrix/unsupported     a scenario one end lacks is UNSUPPORTED, never run
#   tap/cli                `ttrpc-conform tap` between the Go client and the C server: the
#                          trace file holds the decoded Request and Response
# Prints one line per check, "ok - NAME" or "not ok - NAME" (details follow as "# " lines).
#   usage: BUILD=build bash conformance/tests/matrix.sh      (from the repository root)
set -u

# shellcheck source=conformance/tests/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

conform="$build/bin/ttrpc-conform"
ref="$build/bin/ttrpc-ref-server"
go_peer="$build/bin/ttrpc-peer-go"
tmp=$(mktemp -d /tmp/ttrpc-mxt.XXXXXX) || exit 1
tap_pid=
server_pid=
cleanup() {
    for pid in $tap_pid $server_pid; do
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for bin in "$conform" "$ref" "$build/bin/ttrpc-ref-client" "$go_peer"; do
    if [ ! -x "$bin" ]; then
        not_ok "binaries-missing" "$bin is missing: run make (and make peers)"
        exit 1
    fi
done
scale=${TIMEOUT_SCALE:-1}

# A config: the scenarios, then the lines given.
write_config() {
    local file=$1
    shift
    {
        echo "scenario echo"
        echo "scenario fail"
        echo "scenario deadline"
        echo "scenario server-stream needs=streaming"
        echo "scenario bidi-stream needs=streaming"
        printf '%s\n' "$@"
    } >"$file"
}
c_client="client c conformance/peers/c/ref-client-matrix.py {address} {scenario} {bin}/ttrpc-ref-client"
go_client="client go {bin}/ttrpc-peer-go client --connect {address} --scenario {scenario}"

rc=0
last_log=/dev/null
run_matrix() {
    local name=$1
    shift
    last_log="$tmp/$name.log"
    timeout -k 5 300 "$conform" matrix --build-dir "$build" --timeout-scale "$scale" \
        --report-dir "$tmp/$name" "$@" >"$last_log" 2>&1
    rc=$?
}
cell_verdict() { # LOG CELL-ID: the verdict of a cell's progress line
    sed -n "s|^\[[0-9]*/[0-9]*\] $2 \([A-Z-]*\) .*|\1|p" "$1" | head -n 1
}

# --- matrix/small ---
write_config "$tmp/small.conf" "server c {bin}/ttrpc-ref-server --fd {fd}" \
    "server go {bin}/ttrpc-peer-go server --fd {fd}" "$c_client" "$go_client"
start=$(date +%s)
run_matrix small --config "$tmp/small.conf"
secs=$(($(date +%s) - start))
tail -n 1 "$last_log"
if [ "$rc" -eq 0 ] && grep -q "^matrix: 20 cells: 20 PASS" "$last_log"; then
    ok "matrix/small (20 cells in ${secs} s)"
else
    not_ok "matrix/small" "exit $rc, expected 0 and 20 PASS; log:" "$(grep -v ' PASS ' "$last_log" | head -n 30)"
fi
python3 - "$tmp/small" <<'PY' >"$tmp/small-check.txt" 2>&1
import json, os, sys
d = sys.argv[1]
m = json.load(open(f"{d}/matrix.json"))
assert m["schema_version"] == 1, "schema_version"
cells = m["cells"]
assert len(cells) == 20, f"{len(cells)} cells"
for c in cells:
    for k in ("client", "server", "scenario", "verdict", "detail", "elapsed_ms", "trace"):
        assert k in c, f"{c.get('id')}: no {k}"
    t = json.load(open(os.path.join(d, c["trace"])))
    assert t["schema_version"] == 1
    frames = [f for conn in t["connections"] for f in conn["frames"]]
    reqs = [f for f in frames if f["dir"] == "c2s" and f["type"] == 1]
    assert reqs, f"{c['id']}: no Request in the trace"
    method = reqs[0]["decoded"]["method"]
    want = {"echo": "Echo", "fail": "Fail", "deadline": "Sleep", "server-stream": "ServerStream",
            "bidi-stream": "BidiStream"}[c["scenario"]]
    assert method == want, f"{c['id']}: method {method}"
    # A client may give up on its own deadline before the server answers: no s2c then.
    if c["scenario"] != "deadline":
        assert any(f["dir"] == "s2c" for f in frames), f"{c['id']}: no answer in the trace"
    for f in frames:
        assert len(f["header_hex"]) == 20 and len(f["payload_sha256"]) == 64
print("traces ok")
PY
if grep -q "^traces ok" "$tmp/small-check.txt"; then
    ok "matrix/small-traces"
else
    not_ok "matrix/small-traces" "$(cat "$tmp/small-check.txt")"
fi
if [ -s "$tmp/small/matrix.xml" ] && grep -q 'tests="20" failures="0"' "$tmp/small/matrix.xml" &&
    grep -q '^| c | 5/5 | 5/5 |$' "$tmp/small/matrix.md" && grep -q '^| go | 5/5 | 5/5 |$' "$tmp/small/matrix.md"; then
    ok "matrix/reports"
else
    not_ok "matrix/reports" "$(head -c 600 "$tmp/small/matrix.xml")" "$(cat "$tmp/small/matrix.md")"
fi

# --- matrix/fault-caught: a server that corrupts echoes ---
write_config "$tmp/fault.conf" "server bad {bin}/ttrpc-ref-server --fault echo-corrupt --fd {fd}" \
    "$c_client" "$go_client"
run_matrix fault --config "$tmp/fault.conf"
v1=$(cell_verdict "$last_log" c/bad/echo)
v2=$(cell_verdict "$last_log" go/bad/echo)
v3=$(cell_verdict "$last_log" go/bad/fail)
if [ "$rc" -eq 1 ] && [ "$v1" = FAIL ] && [ "$v2" = FAIL ] && [ "$v3" = PASS ] &&
    grep -q "replay: ttrpc-conform matrix --config .* --run go/bad/echo --trace" "$last_log"; then
    ok "matrix/fault-caught"
else
    not_ok "matrix/fault-caught" "exit $rc (want 1), c/bad/echo $v1, go/bad/echo $v2 (want FAIL), go/bad/fail $v3 (want PASS)" \
        "$(head -n 30 "$last_log")"
fi

# --- the expected-failure list ---
printf 'go/bad/echo  corrupts echoes on purpose\nc/bad/echo  corrupts echoes on purpose\n' >"$tmp/xfail.txt"
run_matrix xfail --config "$tmp/fault.conf" --run '*/bad/echo' --known-failing "$tmp/xfail.txt"
if [ "$rc" -eq 0 ] && [ "$(cell_verdict "$last_log" go/bad/echo)" = XFAIL ]; then
    ok "matrix/xfail"
else
    not_ok "matrix/xfail" "exit $rc (want 0)" "$(head -n 20 "$last_log")"
fi
printf 'go/bad/fail  stale entry\n' >"$tmp/xpass.txt"
run_matrix xpass --config "$tmp/fault.conf" --run go/bad/fail --known-failing "$tmp/xpass.txt"
if [ "$rc" -eq 1 ] && [ "$(cell_verdict "$last_log" go/bad/fail)" = XPASS ]; then
    ok "matrix/xpass"
else
    not_ok "matrix/xpass" "exit $rc (want 1)" "$(head -n 20 "$last_log")"
fi
printf 'go/bad/fail  flaky: sometimes\n' >"$tmp/flaky.txt"
run_matrix flaky --config "$tmp/fault.conf" --run go/bad/fail --known-failing "$tmp/flaky.txt"
if [ "$rc" -eq 0 ] && [ "$(cell_verdict "$last_log" go/bad/fail)" = PASS ]; then
    ok "matrix/flaky"
else
    not_ok "matrix/flaky" "exit $rc (want 0)" "$(head -n 20 "$last_log")"
fi

# --- a server that cannot start, a bad config, an unsupported scenario ---
write_config "$tmp/missing.conf" "server gone /nonexistent/server --fd {fd}" "$go_client"
run_matrix missing --config "$tmp/missing.conf" --run go/gone/echo
if [ "$rc" -eq 2 ] && [ "$(cell_verdict "$last_log" go/gone/echo)" = ERROR ]; then
    ok "matrix/server-missing"
else
    not_ok "matrix/server-missing" "exit $rc (want 2)" "$(head -n 20 "$last_log")"
fi
write_config "$tmp/bad.conf" "server s {bin}/ttrpc-ref-server --fd {fd}" "client c ./x {address}"
run_matrix bad --config "$tmp/bad.conf"
if [ "$rc" -eq 2 ] && grep -q "bad.conf:7: a client command needs {address} and {scenario}" "$last_log"; then
    ok "matrix/bad-config"
else
    not_ok "matrix/bad-config" "exit $rc (want 2)" "$(cat "$last_log")"
fi
write_config "$tmp/unsup.conf" "server c without=streaming {bin}/ttrpc-ref-server --fd {fd}" "$go_client"
run_matrix unsup --config "$tmp/unsup.conf" --run 'go/c/*stream*' --run go/c/echo
if [ "$rc" -eq 0 ] && [ "$(cell_verdict "$last_log" go/c/bidi-stream)" = UNSUPPORTED ] &&
    [ "$(cell_verdict "$last_log" go/c/echo)" = PASS ]; then
    ok "matrix/unsupported"
else
    not_ok "matrix/unsupported" "exit $rc (want 0)" "$(cat "$last_log")"
fi

# --- tap/cli: the command between a real client and server ---
"$ref" --listen "unix:$tmp/s.sock" >"$tmp/server.out" 2>&1 &
server_pid=$!
"$conform" tap --listen "unix:$tmp/t.sock" --connect "unix:$tmp/s.sock" --out "$tmp/trace.json" \
    >"$tmp/tap.out" 2>"$tmp/tap.err" &
tap_pid=$!
for _ in $(seq 50); do
    grep -qx ready "$tmp/tap.out" 2>/dev/null && grep -qx ready "$tmp/server.out" 2>/dev/null && break
    sleep 0.1
done
result=$(timeout 20 "$go_peer" client --connect "unix:$tmp/t.sock" --scenario echo 2>&1)
kill -TERM "$tap_pid"
wait "$tap_pid"
tap_rc=$?
tap_pid=
python3 - "$tmp/trace.json" <<'PY' >"$tmp/tap-check.txt" 2>&1
import json, sys
t = json.load(open(sys.argv[1]))
frames = [f for c in t["connections"] for f in c["frames"]]
req = [f for f in frames if f["dir"] == "c2s" and f["type"] == 1][0]
resp = [f for f in frames if f["dir"] == "s2c" and f["type"] == 2][0]
assert req["decoded"]["service"] == "ttrpc.conformance.v1.Echo", req
assert req["decoded"]["payload_hex"] == "0a0b68656c6c6f207474727063", req
assert resp["decoded"]["payload_hex"] == "0a0b68656c6c6f207474727063", resp
assert resp["header_hex"].startswith("0000000f"), resp
print("tap ok")
PY
if [ "$tap_rc" -eq 0 ] && [[ $result == *'"ok":true'* ]] && grep -q "^tap ok" "$tmp/tap-check.txt"; then
    ok "tap/cli"
else
    not_ok "tap/cli" "tap exit $tap_rc; client: $result" "$(cat "$tmp/tap-check.txt" "$tmp/tap.err")"
fi

[ "$failures" -eq 0 ]
