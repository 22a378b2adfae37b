#!/usr/bin/env bash
# The conformance harness (build/bin/ttrpc-conform) end to end:
#   c-server/all         every case against ttrpc-ref-server, with conformance/expected/c.txt
#   go-server/all        every case against the Go peer, with conformance/expected/go.txt
#   rust-*-server/all    the same against the Rust peer's async and sync flavors, when built
#   fault/NAME           ttrpc-ref-server --fault NAME must fail the run (exit 1) and the
#                        case(s) that fault targets must be FAIL
#   cli/...              the command line: list, help, usage errors, a peer that cannot start,
#                        --target, XPASS from a stale expected-failure list, the reports
# Prints one line per check, "ok - NAME" or "not ok - NAME" (details follow as "# " lines).
#   usage: BUILD=build bash conformance/tests/harness_c.sh      (from the repository root)
set -u

# shellcheck source=conformance/tests/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

conform="$build/bin/ttrpc-conform"
ref="$build/bin/ttrpc-ref-server"
go_peer="$build/bin/ttrpc-peer-go"
tmp=$(mktemp -d /tmp/ttrpc-hc.XXXXXX) || exit 1
reports="$tmp/reports"
target_pid=
cleanup() {
    if [ -n "$target_pid" ]; then
        kill -TERM "$target_pid" 2>/dev/null
        wait "$target_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# shellcheck source=conformance/tests/lib/conform.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/conform.sh" "$ref"

# --- the reference server and the Go peer, every case ---
run_conform c-server-all run --exec "$ref --fd {fd}" --known-failing conformance/expected/c.txt \
    --name c --report-dir "$reports"
expect_exit c-server/all 0
tail -n 1 "$tmp/c-server-all.log"

if [ -x "$go_peer" ]; then
    run_conform go-server-all run --exec "$go_peer server --fd {fd}" \
        --known-failing conformance/expected/go.txt --name go --report-dir "$reports"
    expect_exit go-server/all 0
    tail -n 1 "$tmp/go-server-all.log"
else
    not_ok go-server/all "$go_peer is missing: run make"
fi

# The Rust peers (conformance/peers/rust), when built: async and sync flavors.
rust_peer="$build/bin/ttrpc-peer-rust"
if [ -x "$rust_peer" ]; then
    run_conform rust-async-server-all run --exec "$rust_peer server --flavor async --fd {fd}" \
        --known-failing conformance/expected/rust-async.txt --name rust-async --report-dir "$reports"
    expect_exit rust-async-server/all 0
    tail -n 1 "$tmp/rust-async-server-all.log"
    run_conform rust-sync-server-all run --exec "$rust_peer server --flavor sync --fd {fd}" \
        --without streaming --known-failing conformance/expected/rust-sync.txt --name rust-sync \
        --report-dir "$reports"
    expect_exit rust-sync-server/all 0
    tail -n 1 "$tmp/rust-sync-server-all.log"
else
    echo "# $rust_peer not built: the Rust peers are skipped"
fi

# --- faults: each must be caught by the case(s) it targets ---
# fault-name  case-id...
faults="answer-even-ids ids/request/even ids/request/even-after-odd
wrong-unknown-code request/route/unknown-method request/route/unknown-service
no-oversize-answer frame/length/over-max
echo-corrupt request/unary/echo frame/coalesced/three-requests
ignore-deadline request/timeout/expires
hang-on-sleep request/timeout/zero-means-none
crash-on-code-99 request/unary/fail-unknown-code
data-after-response request/unary/echo streaming/client/sum
bidi-no-end streaming/bidi/echo-2 streaming/bidi/close-at-once
client-stream-early streaming/client/sum"
while read -r fault targets; do
    args=()
    for id in $targets; do
        args+=(--run "$id")
    done
    # A control case that the fault leaves alone must still pass in the same run.
    args+=(--run request/unary/fail-status)
    run_conform "fault-$fault" run --exec "$ref --fault $fault --fd {fd}" --strict \
        --name "fault-$fault" --report-dir "$reports" "${args[@]}"
    missing=()
    for id in $targets; do
        grep -qE "^\[[0-9]+/[0-9]+\] $id FAIL" "$tmp/fault-$fault.log" || missing+=("$id")
    done
    grep -qE "^\[[0-9]+/[0-9]+\] request/unary/fail-status PASS" "$tmp/fault-$fault.log" \
        || missing+=("control case request/unary/fail-status did not pass")
    if [ "$rc" -eq 1 ] && [ "${#missing[@]}" -eq 0 ]; then
        ok "fault/$fault"
    else
        not_ok "fault/$fault" "exit $rc (expected 1); not FAIL as expected: ${missing[*]}" \
            "$(head -n 20 "$tmp/fault-$fault.log")"
    fi
done <<<"$faults"

# --- the command line ---
n=$("$conform" list | wc -l)
if [ "$n" -ge 60 ]; then ok "cli/list ($n cases)"; else not_ok cli/list "only $n cases"; fi
n_frame=$("$conform" list --run frame --skip 'frame/length/*' | grep -c '^frame/')
n_all_frame=$("$conform" list --run frame | wc -l)
if [ "$n_frame" -gt 0 ] && [ "$n_frame" -lt "$n_all_frame" ]; then
    ok cli/list-run-skip
else
    not_ok cli/list-run-skip "frame: $n_all_frame, without frame/length/*: $n_frame"
fi
if "$conform" --help | grep -q '^usage:'; then ok cli/help; else not_ok cli/help; fi
"$conform" run --exec "$ref --fd {fd}" --bogus >/dev/null 2>&1
rc=$?
last_log=/dev/null
expect_exit cli/usage-error 2
run_conform cli-no-case run --exec "$ref --fd {fd}" --run no/such/case
expect_exit cli/unknown-case 2
run_conform cli-peer-fails run --exec "false {fd}" --run request/unary/echo --report-dir "$reports"
expect_exit cli/peer-cannot-start 2

# A stale expected-failure list: a listed case that passes is XPASS and fails the run.
printf 'request/unary/echo  pretend it fails\n' >"$tmp/stale.txt"
run_conform cli-xpass run --exec "$ref --fd {fd}" --run request/unary/echo \
    --known-failing "$tmp/stale.txt" --name xpass --report-dir "$reports"
if [ "$rc" -eq 1 ] && grep -q 'request/unary/echo XPASS' "$tmp/cli-xpass.log"; then
    ok cli/xpass-fails-the-run
else
    not_ok cli/xpass-fails-the-run "exit $rc" "$(cat "$tmp/cli-xpass.log")"
fi

# --target: a server started by someone else.
sock="$tmp/t.sock"
"$ref" --listen "unix:$sock" >"$tmp/target.out" 2>&1 &
target_pid=$!
for _ in $(seq 50); do
    grep -qx ready "$tmp/target.out" 2>/dev/null && break
    sleep 0.1
done
run_conform cli-target run --target "unix:$sock" --run request/unary --run frame/split \
    --name target --report-dir "$reports"
expect_exit cli/target 0

# Reports: JSON with a schema_version that parses, JUnit XML, markdown.
if grep -q '"schema_version": 1' "$reports/c.json" 2>/dev/null &&
    grep -q '<testsuite ' "$reports/c.xml" 2>/dev/null &&
    grep -q '^| verdict | cases |' "$reports/c.md" 2>/dev/null; then
    if command -v python3 >/dev/null &&
        ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$reports/c.json" 2>"$tmp/json.err"; then
        not_ok cli/reports "c.json does not parse: $(cat "$tmp/json.err")"
    else
        ok cli/reports
    fi
else
    not_ok cli/reports "missing or incomplete: $(ls "$reports" 2>&1)"
fi
if [ -f "$reports/fault-hang-on-sleep.json" ] &&
    grep -q '"peer_fate": "hang"' "$reports/fault-hang-on-sleep.json" &&
    grep -q '"peer_fate": "peer-died"' "$reports/fault-crash-on-code-99.json"; then
    ok cli/reports-peer-fate
else
    not_ok cli/reports-peer-fate "hang / peer-died not recorded in the fault reports"
fi

# The reports of the two full runs are kept for people to read.
mkdir -p "$build/reports"
cp "$reports"/c.* "$reports"/go.* "$reports"/rust-* "$build/reports/" 2>/dev/null

[ "$failures" -eq 0 ]
