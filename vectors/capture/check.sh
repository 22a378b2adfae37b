#!/usr/bin/env bash
# A quick run of the capture comparison (vectors/capture/README.md) for make check: the Go peer
# and the C reference in both roles on a few calls, then proof that the comparison can fail.
# One line per check: "ok - capture/..." or "not ok - capture/...: why".
#   usage: BUILD=build vectors/capture/check.sh     (binaries in $BUILD/bin; about 15 s)
# Exit status: 0 when no line is "not ok".
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-build}
failed=0
for b in ttrpc-conform ttrpc-peer-go ttrpc-ref-server ttrpc-ref-client; do
    if [ ! -x "$build/bin/$b" ]; then
        echo "not ok - capture/binaries: $build/bin/$b is missing (make B=$build peers)"
        exit 1
    fi
done
if ! command -v python3 >/dev/null 2>&1; then
    echo "# python3 missing: capture checks skipped"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ok() { echo "ok - capture/$1"; }
not_ok() {
    echo "not ok - capture/$1: $2"
    failed=1
}

# 1. Real peers: every call matches its vector, or differs only as calls.json's `known` says.
out=$(PAIRS="go:c c:go" SCENARIOS="echo echo-empty fail client-stream" TRACES="$work/good" \
    REPORT_DIR="$work/reports" "$here/run.sh" "$build" 2>&1)
rc=$?
matches=$(grep -c '^MATCH ' <<<"$out")
if [ "$rc" -eq 0 ] && [ "$matches" -ge 10 ] && grep -q '^MISMATCH (known) .*go .*client' <<<"$out"; then
    ok "go-and-c-match-the-vectors"
else
    not_ok "go-and-c-match-the-vectors" "exit $rc, $matches MATCH lines: $(grep -v '^\(MATCH\|#\)' <<<"$out" | head -n 5 | tr '\n' ' ')"
fi
if [ -s "$work/reports/capture.json" ] && [ -s "$work/reports/capture.md" ]; then
    ok "reports-written"
else
    not_ok "reports-written" "no capture.json or capture.md in the report directory"
fi

# 2. A server that corrupts its echo must be seen: the C server's Response differs.
out=$(PAIRS="go:c" SCENARIOS="echo" SERVER_FAULT="--fault echo-corrupt" TRACES="$work/fault" \
    REPORT_DIR="$work/fault-reports" "$here/run.sh" "$build" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^MISMATCH  *unary/call/echo  *c  *server' <<<"$out"; then
    ok "detects-echo-corrupt-server"
else
    not_ok "detects-echo-corrupt-server" "exit $rc: $(grep -v '^#' <<<"$out" | head -n 3 | tr '\n' ' ')"
fi

# 3. Altered traces, from the good run: one payload byte changed, and a known divergence
#    removed (the Go client's open flags set to what the vector says, so the known entry is
#    stale). Both must fail the comparison.
alter() {
    python3 - "$1" "$2" <<'PY'
import json, sys
path, how = sys.argv[1], sys.argv[2]
t = json.load(open(path))
for c in t["connections"]:
    for f in c["frames"]:
        if f["dir"] == "c2s" and f["type"] == 1:
            if how == "payload":
                b = bytearray.fromhex(f["payload_hex"])
                b[2] ^= 0x20  # the first letter of the service name, upper-cased
                f["payload_hex"] = b.hex()
            else:
                f["flags"] = 6
            json.dump(t, open(path, "w"))
            sys.exit(0)
sys.exit(1)
PY
}
for case in payload:go--c--echo flags:go--c--client-stream; do
    how=${case%%:*}
    name=${case#*:}
    dir=$work/altered-$how
    mkdir -p "$dir"
    if ! cp "$work/good/$name.json" "$dir/" 2>/dev/null || ! alter "$dir/$name.json" "$how"; then
        not_ok "detects-altered-trace-$how" "no usable trace $name.json from the first run"
        continue
    fi
    out=$(python3 "$here/compare.py" --report-dir "$dir/reports" "$dir" 2>&1)
    rc=$?
    if [ "$how" = payload ]; then
        want='^MISMATCH  *unary/call/echo  *go  *client'
    else
        want='^STALE .*go client'
    fi
    if [ "$rc" -eq 1 ] && grep -q "$want" <<<"$out"; then
        ok "detects-altered-trace-$how"
    else
        not_ok "detects-altered-trace-$how" "exit $rc: $(head -n 3 <<<"$out" | tr '\n' ' ')"
    fi
done
exit "$failed"
