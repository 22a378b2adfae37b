#!/usr/bin/env bash
# `make conformance`: every server-role case against every peer (our C reference, the Go peer,
# the Rust peer's async and sync flavors), each with its expected-failure list, then one
# summary table. Reports per peer go to REPORT_DIR (LABEL.json, .xml, .md) and the table to
# REPORT_DIR/summary.md.
#   usage: BUILD=build REPORT_DIR=build/reports conformance/run-matrix.sh [ttrpc-conform options]
# Extra options (e.g. --strict, --timeout-scale 3, --run frame/) are passed to every run.
# Exit status: 0 every peer as expected, 1 a conformance failure, 2 a peer could not be run.
set -u
cd "$(dirname "$0")/.."
build=${BUILD:-build}
reports=${REPORT_DIR:-$build/reports}
conform="$build/bin/ttrpc-conform"
mkdir -p "$reports"

# label | command | expected-failure list | extra options
peers="c|$build/bin/ttrpc-ref-server --fd {fd}|conformance/expected/c.txt|
go|$build/bin/ttrpc-peer-go server --fd {fd}|conformance/expected/go.txt|
rust-async|$build/bin/ttrpc-peer-rust server --flavor async --fd {fd}|conformance/expected/rust-async.txt|
rust-sync|$build/bin/ttrpc-peer-rust server --flavor sync --fd {fd}|conformance/expected/rust-sync.txt|--without streaming"

if [ ! -x "$conform" ]; then
    echo "run-matrix: $conform is missing: run make" >&2
    exit 2
fi

worst=0
labels=()
while IFS='|' read -r label cmd expected extra; do
    bin=${cmd%% *}
    if [ ! -x "$bin" ]; then
        echo "run-matrix: $bin is missing: run make peers" >&2
        worst=2
        continue
    fi
    echo "== $label: $cmd" >&2
    # shellcheck disable=SC2086 # $extra and "$@" are option lists
    "$conform" run --exec "$cmd" --known-failing "$expected" --name "$label" \
        --report-dir "$reports" $extra "$@" >&2
    rc=$?
    labels+=("$label")
    if [ "$rc" -gt "$worst" ]; then
        worst=$rc
    fi
done <<<"$peers"

python3 - "$reports" "${labels[@]}" <<'PY' | tee "$reports/summary.md"
import json, sys
reports, labels = sys.argv[1], sys.argv[2:]
cols = ["PASS", "FAIL", "NON-STRICT", "INFO", "XFAIL", "XPASS", "UNSUPPORTED", "ERROR"]
print("| peer | cases | " + " | ".join(cols) + " | restarts | seconds |")
print("|---|---|" + "---|" * len(cols) + "---|---|")
for label in labels:
    with open(f"{reports}/{label}.json") as f:
        d = json.load(f)
    c = d["counts"]
    print(f"| {label} | {len(d['cases'])} | " + " | ".join(str(c.get(k, 0)) for k in cols)
          + f" | {d.get('peer_restarts', 0)} | {d.get('elapsed_ms', 0) / 1000:.1f} |")
PY
exit "$worst"
