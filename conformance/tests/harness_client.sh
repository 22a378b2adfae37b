#!/usr/bin/env bash
# The client-role cases (`ttrpc-conform client`: the harness serves, the testee calls):
#   client/c, client/go, client/rust-*   every client-role case against ttrpc-ref-client, the
#                        Go peer's client and the Rust peer's async and sync clients (when
#                        built), each with its conformance/expected/*-client.txt list
#   fault/NAME           ttrpc-ref-client --fault NAME must fail the run (exit 1) and the
#                        case(s) that fault targets must be FAIL, while a control case passes
#   cli/client-...       the command line: --list, --help, usage errors, a client that cannot
#                        run, XPASS from a stale expected-failure list, the reports
# Prints one line per check, "ok - NAME" or "not ok - NAME" (details follow as "# " lines).
#   usage: BUILD=build bash conformance/tests/harness_client.sh      (from the repository root)
set -u

# shellcheck source=conformance/tests/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

conform="$build/bin/ttrpc-conform"
ref_client="$build/bin/ttrpc-ref-client"
adapter="conformance/peers/c/ref-client-scenario.sh"
go_peer="$build/bin/ttrpc-peer-go"
rust_peer="$build/bin/ttrpc-peer-rust"
tmp=$(mktemp -d /tmp/ttrpc-hcl.XXXXXX) || exit 1
reports="$tmp/reports"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# shellcheck source=conformance/tests/lib/conform.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/conform.sh" "$ref_client"

# --- every client-role case against each client ---
c_cmd="$adapter {address} {scenario} $ref_client"
run_conform c-client client --exec "$c_cmd" --known-failing conformance/expected/c-client.txt \
    --name c-client --report-dir "$reports"
expect_exit client/c 0
tail -n 1 "$tmp/c-client.log"

if [ -x "$go_peer" ]; then
    run_conform go-client client --exec "$go_peer client --connect {address} --scenario {scenario}" \
        --known-failing conformance/expected/go-client.txt --name go-client --report-dir "$reports"
    expect_exit client/go 0
    tail -n 1 "$tmp/go-client.log"
else
    not_ok client/go "$go_peer is missing: run make"
fi

if [ -x "$rust_peer" ]; then
    for flavor in async sync; do
        extra=()
        [ "$flavor" = sync ] && extra=(--without streaming)
        run_conform "rust-$flavor-client" client \
            --exec "$rust_peer client --flavor $flavor --connect {address} --scenario {scenario}" \
            --known-failing "conformance/expected/rust-$flavor-client.txt" \
            --name "rust-$flavor-client" --report-dir "$reports" "${extra[@]}"
        expect_exit "client/rust-$flavor" 0
        tail -n 1 "$tmp/rust-$flavor-client.log"
    done
else
    echo "# $rust_peer not built: the Rust clients are skipped"
fi

# --- faults: each must be caught by the case(s) it targets ---
# fault-name  case-id...
# no-deadline hangs on purpose: those runs use a shorter case deadline (x0.4: 3.6 s).
faults="any-stream-id client/ids/response-other-odd-id client/ids/response-even-id client/ids/response-id-zero client/ids/error-on-other-id client/ids/wrong-id-only
no-deadline client/conn/silence client/ids/wrong-id-only
unknown-code-ok client/status/unknown-code-99"
while read -r fault targets; do
    args=()
    for id in $targets; do
        args+=(--run "$id")
    done
    args+=(--run client/unary/echo) # the control case: the fault leaves it alone
    fscale=$scale
    [ "$fault" = no-deadline ] && fscale=$(awk -v s="$scale" 'BEGIN { print s * 0.4 }')
    last_log="$tmp/fault-$fault.log"
    timeout -k 5 120 "$conform" client --exec "$c_cmd --fault $fault" --strict \
        --timeout-scale "$fscale" --name "fault-$fault" --report-dir "$reports" "${args[@]}" \
        >"$last_log" 2>&1
    rc=$?
    missing=()
    for id in $targets; do
        grep -qE "^\[[0-9]+/[0-9]+\] $id FAIL" "$last_log" || missing+=("$id")
    done
    grep -qE "^\[[0-9]+/[0-9]+\] client/unary/echo PASS" "$last_log" ||
        missing+=("control case client/unary/echo did not pass")
    if [ "$rc" -eq 1 ] && [ "${#missing[@]}" -eq 0 ]; then
        ok "fault/$fault"
    else
        not_ok "fault/$fault" "exit $rc (expected 1); not FAIL as expected: ${missing[*]}" \
            "$(head -n 30 "$last_log")"
    fi
done <<<"$faults"
if grep -q '"peer_fate": "hang"' "$reports/fault-no-deadline.json" 2>/dev/null; then
    ok cli/client-hang-recorded
else
    not_ok cli/client-hang-recorded "no \"peer_fate\": \"hang\" in fault-no-deadline.json"
fi

# --- the command line ---
n=$("$conform" client --list | wc -l)
if [ "$n" -ge 25 ]; then ok "cli/client-list ($n cases)"; else not_ok cli/client-list "only $n"; fi
if "$conform" client --help | grep -q '{scenario}'; then ok cli/client-help; else not_ok cli/client-help; fi
"$conform" client --exec "$c_cmd" --bogus >/dev/null 2>&1
rc=$?
last_log=/dev/null
expect_exit cli/client-usage-error 2
"$conform" client >/dev/null 2>&1
rc=$?
expect_exit cli/client-needs-exec 2
run_conform cli-no-case client --exec "$c_cmd" --run no/such/case
expect_exit cli/client-unknown-case 2
run_conform cli-cannot-run client --exec "/nonexistent/client {address} {scenario}" \
    --run client/unary/echo --report-dir "$reports"
expect_exit cli/client-cannot-run 2

printf 'client/unary/echo  pretend it fails\n' >"$tmp/stale.txt"
run_conform cli-xpass client --exec "$c_cmd" --run client/unary/echo --known-failing "$tmp/stale.txt" \
    --name xpass --report-dir "$reports"
if [ "$rc" -eq 1 ] && grep -q 'client/unary/echo XPASS' "$tmp/cli-xpass.log"; then
    ok cli/client-xpass-fails-the-run
else
    not_ok cli/client-xpass-fails-the-run "exit $rc" "$(cat "$tmp/cli-xpass.log")"
fi

if grep -q '"testee": "client"' "$reports/c-client.json" 2>/dev/null &&
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$reports/c-client.json" 2>"$tmp/json.err"; then
    ok cli/client-reports
else
    not_ok cli/client-reports "c-client.json missing or not JSON: $(cat "$tmp/json.err" 2>/dev/null)"
fi

mkdir -p "$build/reports"
cp "$reports"/*-client.* "$build/reports/" 2>/dev/null

# --- client and bidi streams through ttrpc-ref-client ---
# Every message sent, then the close; the harness awaits each message before its echo, so the
# stream cases and their checks (Count 10 back, each echo) are proved on the C client.
run_conform c-streams client --exec "$c_cmd" \
    --run client/client-stream/ --run client/bidi/ --name c-streams --report-dir "$reports"
expect_exit client/c-client-and-bidi-streams 0
tail -n 1 "$tmp/c-streams.log"
# A client that does not know a scenario never connects: that is no evidence of anything, so
# even a case expecting a failed call must not pass.
cat >"$tmp/unknown-adapter.sh" <<'ADAPTER'
#!/bin/sh
echo "unknown scenario '$2'" >&2
exit 2
ADAPTER
chmod +x "$tmp/unknown-adapter.sh"
run_conform c-unknown-scenario client --exec "$tmp/unknown-adapter.sh {address} {scenario}" \
    --run client/bidi/error-mid-stream --name c-unknown --report-dir "$reports"
if [ "$rc" -eq 1 ] && grep -q 'client/bidi/error-mid-stream FAIL' "$tmp/c-unknown-scenario.log"
then
    ok cli/client-never-connected-is-no-pass
else
    not_ok cli/client-never-connected-is-no-pass "exit $rc" "$(cat "$tmp/c-unknown-scenario.log")"
fi

[ "$failures" -eq 0 ]
