#!/usr/bin/env bash
# Replays every seed (corpus/<target>/) and every saved crash (fuzz/regressions/<target>/)
# through the engine-less build of each fuzz target (fuzz/replay.c, ASan and UBSan on), one
# line per target: "ok - fuzz-replay/<target> (N inputs)" or "not ok - ...".
#   usage: fuzz/check-replay.sh [BIN_DIR]     (default: $BUILD/fuzz/replay, BUILD=build)
# The binaries come from `make fuzz-replay` (or `make check`, which depends on them).
set -u
cd "$(dirname "$0")/.."
bin_dir=${1:-${BUILD:-build}/fuzz/replay}
log_dir=${bin_dir}/logs
mkdir -p "$log_dir"
failed=0

for src in fuzz/fuzz_*.c; do
    target=$(basename "$src" .c)
    dirs=()
    inputs=0
    for d in "corpus/$target" "fuzz/regressions/$target"; do
        if [ -d "$d" ]; then
            dirs+=("$d")
            inputs=$((inputs + $(find "$d" -maxdepth 1 -type f ! -name '.*' | wc -l)))
        fi
    done
    if [ ! -x "$bin_dir/$target" ]; then
        echo "not ok - fuzz-replay/$target (no $bin_dir/$target: run make fuzz-replay)"
        failed=1
        continue
    fi
    if [ "$inputs" -eq 0 ]; then
        echo "not ok - fuzz-replay/$target (no inputs in corpus/$target)"
        failed=1
        continue
    fi
    log="$log_dir/$target.log"
    if timeout 120 "$bin_dir/$target" "${dirs[@]}" >"$log" 2>&1; then
        echo "ok - fuzz-replay/$target ($inputs inputs)"
    else
        echo "not ok - fuzz-replay/$target (exit $?, log $log)"
        # The last input named before the report is the one that failed.
        grep '^replay: ' "$log" | tail -n 1
        grep -m 1 -A 20 -E 'invariant broken|^==[0-9]+==ERROR|runtime error' "$log"
        failed=1
    fi
done
# The canary must fail: proof that the replay build's leak detection is on (style.md 8).
canary="$bin_dir/../canary/leak_canary"
if [ ! -x "$canary" ]; then
    echo "not ok - fuzz-replay/canary-leak-detected (no $canary: run make fuzz-replay)"
    failed=1
else
    canary_dir=$(mktemp -d)
    printf 'LEAK' >"$canary_dir/leak"
    printf 'fine' >"$canary_dir/fine"
    if timeout 60 "$canary" "$canary_dir/fine" >"$log_dir/canary-fine.log" 2>&1 &&
        ! timeout 60 "$canary" "$canary_dir/leak" >"$log_dir/canary-leak.log" 2>&1 &&
        grep -q 'LeakSanitizer' "$log_dir/canary-leak.log"; then
        echo "ok - fuzz-replay/canary-leak-detected"
    else
        echo "not ok - fuzz-replay/canary-leak-detected (a planted leak went unreported:" \
            "are ASan and leak detection on? logs $log_dir/canary-*.log)"
        failed=1
    fi
    rm -rf "$canary_dir"
fi
exit "$failed"
