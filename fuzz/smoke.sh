#!/usr/bin/env bash
# Runs every fuzz target under libFuzzer for a few seconds from its seed corpus and prints one
# line per target: "ok - fuzz-smoke/<target> (N exec/s, cov: C ft: F)" or "not ok - ...".
#   usage: fuzz/smoke.sh BIN_DIR SECONDS OUT_DIR
# New inputs and crash artifacts go under OUT_DIR; the seed corpus is only read.
set -u
cd "$(dirname "$0")/.."
bin_dir=$1
seconds=$2
out_dir=$3
failed=0
for src in fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    mkdir -p "$out_dir/$t"
    log="$out_dir/$t.log"
    if "$bin_dir/$t" -max_total_time="$seconds" -timeout=10 -dict="fuzz/$t.dict" \
        -print_final_stats=1 -artifact_prefix="$out_dir/$t-" "$out_dir/$t" "corpus/$t" \
        >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
        echo "ok - fuzz-smoke/$t (${execs:-?} exec/s, ${cov:-no coverage line})"
    else
        echo "not ok - fuzz-smoke/$t (log $log)"
        grep -m 1 -A 30 -E 'invariant broken|^==[0-9]+==ERROR|runtime error' "$log"
        failed=1
    fi
done
exit "$failed"
