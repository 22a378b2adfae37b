#!/usr/bin/env bash
# The testee protocol (vectors/README.md, "Checking other implementations"), checked end to
# end: `ttrpc-conform vectors` against the C testee, which must pass every vector (decode,
# message and sequence), then against its --fault modes, which must be caught, and against testees that
# crash, hang, write garbage or never start, which must get a verdict without stalling the run.
# One line per check: "ok - testee/<name>" or "not ok - testee/<name>: why".
#   usage: BUILD=build vectors/check-testee.sh
# Exit status: 0 when no line is "not ok".
set -u
cd "$(dirname "$0")/.." || exit 2
build=${BUILD:-build}
conform=$build/bin/ttrpc-conform
testee=$build/bin/ttrpc-vectors-testee-c
py_testee=vectors/testee/ttrpc_vectors_testee.py
reports=$build/reports/testee-check
failed=0

for bin in "$conform" "$testee"; do
    if [ ! -x "$bin" ]; then
        echo "not ok - testee/build: $bin is missing (make $bin)"
        exit 1
    fi
done
mkdir -p "$reports"

ok() { echo "ok - testee/$1"; }
not_ok() {
    echo "not ok - testee/$1: $2"
    failed=1
}

# run NAME ARGS...: runs the runner, keeping its output in $out and its exit status in $rc.
run() {
    local name=$1
    shift
    out=$(timeout 60 "$conform" vectors --report-dir "$reports" --name "$name" "$@" 2>&1)
    rc=$?
}

# verdict_is VERDICT ID: the line for vector ID in $out has this verdict.
verdict_is() {
    grep -qE "^$1 +$2(:|\$)" <<<"$out"
}

# expect NAME WANT_RC "VERDICT ID"...: exit status and the verdicts of the vectors named.
expect() {
    local name=$1 want_rc=$2 pair why=""
    shift 2
    [ "$rc" -eq "$want_rc" ] || why="exit $rc, want $want_rc"
    for pair in "$@"; do
        if [ -z "$why" ] && ! verdict_is "${pair%% *}" "${pair#* }"; then
            why="want ${pair%% *} for ${pair#* }"
        fi
    done
    if [ -z "$why" ]; then
        ok "$name"
    else
        not_ok "$name" "$why"
        tail -n 15 <<<"$out"
    fi
}

# 1. The reference answers every vector correctly, fed whole and byte by byte, and the
# reports are written.
run c-reference --exec "$testee"
printf '%s\n' "$out" | grep -vE '^PASS ' | sed 's/^/# /'
applicable=$(cat vectors/*.json | grep -cE '^ +"kind": "(decode|message|sequence)"')
passes=$(grep -cE '^PASS ' <<<"$out")
if [ "$rc" -eq 0 ] && [ "$passes" -eq "$applicable" ]; then
    ok "c-reference/all-$applicable-vectors-pass"
else
    not_ok "c-reference/all-vectors-pass" "exit $rc, $passes of $applicable PASS"
fi
if [ -s "$reports/vectors-c-reference.json" ] && [ -s "$reports/vectors-c-reference.xml" ] &&
    grep -q "\"PASS\":[[:space:]]*$applicable" "$reports/vectors-c-reference.json" &&
    grep -q "tests=\"$applicable\" failures=\"0\"" "$reports/vectors-c-reference.xml"; then
    ok "c-reference/reports-json-and-junit"
else
    not_ok "c-reference/reports-json-and-junit" "missing or wrong in $reports"
fi

# 2. Each fault mode of the C testee is caught: the vectors it breaks FAIL, the others pass.
run fault-length --exec "$testee --fault ignore-length-limit" --only frame/length/ \
    --only frame/reserved/
expect fault/ignore-length-limit-caught 1 "FAIL frame/length/max-plus-one" \
    "FAIL frame/length/ffffffff" "FAIL frame/reserved/byte0-80" \
    "PASS frame/length/max-accepted"

run fault-id --exec "$testee --fault wrong-stream-id" --only frame/stream-id/
expect fault/wrong-stream-id-caught 1 "FAIL frame/stream-id/0x80000000" \
    "FAIL frame/stream-id/0xfffffffe" "FAIL frame/stream-id/0xffffffff" \
    "PASS frame/stream-id/0x7fffffff" "PASS frame/stream-id/0x00000000"

run fault-end --exec "$testee --fault truncated-as-boundary" --only frame/truncated/ \
    --chunking bytes
expect fault/truncated-as-boundary-caught 1 "FAIL frame/truncated/after-1-bytes" \
    "FAIL frame/truncated/after-11-bytes" "PASS frame/truncated/empty-input"

# Encoding is asked after a canonical decode vector passes: flags written as 0 fail every
# frame with other flags.
run fault-encode --exec "$testee --fault encode-flags-dropped" --only flags/decode/request-
expect fault/encode-flags-dropped-caught 1 "FAIL flags/decode/request-0x01" \
    "FAIL flags/decode/request-0x02" "PASS flags/decode/request-0x00"

run fault-seq --exec "$testee --fault reject-as-ignore" --only streaming/table/server/UNARY/
expect fault/reject-as-ignore-caught 1 "FAIL streaming/table/server/UNARY/RECV_DATA" \
    "INFO streaming/table/server/UNARY/RECV_REQUEST_RC" \
    "PASS streaming/table/server/UNARY/SEND_RESPONSE"

# 3. A testee that crashes, hangs or writes garbage on one vector: that vector gets its
# verdict, the testee is started again and the next vectors pass.
run crash --exec "$testee --fault crash:frame/length/zero" --only frame/length/
expect testee-crash-is-fail-and-restarted 1 "FAIL frame/length/zero" \
    "PASS frame/length/one"
grep -qE '^FAIL +frame/length/zero: testee died' <<<"$out" ||
    not_ok testee-crash-reason "the FAIL does not say the testee died"

start=$(date +%s)
run hang --exec "$testee --fault hang:frame/length/one" --only frame/length/ --timeout-ms 1000
expect testee-hang-is-fail-and-restarted 1 "FAIL frame/length/one" "PASS frame/length/zero" \
    "PASS frame/length/max-accepted"
[ $(($(date +%s) - start)) -lt 20 ] || not_ok testee-hang-bounded "the run took too long"

run garbage --exec "$testee --fault garbage:request/echo" --only request/
expect testee-garbage-is-error 1 "ERROR request/echo" "PASS request/empty"

run never-starts --exec "exit 3"
expect testee-that-never-starts-cannot-run 2

run no-testee --exec "$build/bin/no-such-testee"
expect missing-testee-cannot-run 2

# 4. --known-failing: a listed failure is XFAIL (exit 0), a listed pass is XPASS (exit 1).
known=$reports/known.txt
printf '%s\n' "frame/stream-id/0x80000000  31-bit ids" "frame/stream-id/0xfffffffe  31-bit ids" \
    "frame/stream-id/0xffffffff  31-bit ids" >"$known"
run known --exec "$testee --fault wrong-stream-id" --only frame/stream-id/ \
    --known-failing "$known"
expect known-failing-is-xfail 0 "XFAIL frame/stream-id/0x80000000" \
    "PASS frame/stream-id/0x7fffffff"
echo "frame/stream-id/0x7fffffff  not really failing" >>"$known"
run known --exec "$testee --fault wrong-stream-id" --only frame/stream-id/ \
    --known-failing "$known"
expect known-failing-that-passes-is-xpass 1 "XPASS frame/stream-id/0x7fffffff"

# 5. The protocol is language-neutral: a Python testee (decode only, standard library only)
# passes the decode vectors and reports message vectors UNSUPPORTED.
if command -v python3 >/dev/null 2>&1 && [ -f "$py_testee" ]; then
    run python --exec "python3 $py_testee" --chunking whole
    n_unsupported=$(grep -cE '^UNSUPPORTED ' <<<"$out")
    if [ "$rc" -eq 0 ] && ! grep -qE '^(FAIL|ERROR) ' <<<"$out" && [ "$n_unsupported" -gt 0 ] &&
        verdict_is PASS frame/length/ffffffff && verdict_is PASS frame/truncated/after-5-bytes; then
        ok "python-testee/decode-vectors-pass"
    else
        not_ok "python-testee/decode-vectors-pass" "exit $rc"
        grep -vE '^(PASS|UNSUPPORTED) ' <<<"$out" | tail -n 15
    fi
    run python-fault --exec "python3 $py_testee --fault wrong-stream-id" --chunking whole \
        --only frame/stream-id/
    expect python-testee/fault-caught 1 "FAIL frame/stream-id/0x80000000" \
        "PASS frame/stream-id/0x7fffffff"
else
    echo "# python3 or $py_testee missing: the Python testee checks are skipped"
fi
exit "$failed"
