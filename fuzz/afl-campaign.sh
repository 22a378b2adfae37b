#!/usr/bin/env bash
# An AFL++ campaign on one target: a main instance with CmpLog (input-to-state comparisons, so
# magic values such as frame types and lengths are solved rather than guessed) and secondary
# instances on the remaining cores, all sharing one output directory. Prints one line of
# figures per instance and a summary at the end; exit 1 if any instance saved a crash.
#   usage: fuzz/afl-campaign.sh AFL_DIR CMPLOG_DIR TARGET SECONDS OUT_DIR [INSTANCES]
# AFL_DIR holds the persistent-mode build (make fuzz-build-afl), CMPLOG_DIR the CmpLog build of
# the same sources (make fuzz-build-afl-cmplog). INSTANCES defaults to the number of CPUs.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -lt 5 ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
afl_dir=$1 cmplog_dir=$2 target=$3 seconds=$4 out=$5
instances=${6:-$(nproc)}
for bin in "$afl_dir/$target" "$cmplog_dir/$target"; do
    if [ ! -x "$bin" ]; then
        echo "afl-campaign: $bin is missing (make fuzz-build-afl fuzz-build-afl-cmplog)" >&2
        exit 2
    fi
done
mkdir -p "$out"
# AFL++ refuses to start on machines tuned for power saving or with a core-dump pipe unless
# told that the operator accepts it; a campaign here is unattended either way.
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    AFL_NO_AFFINITY=1 AFL_AUTORESUME=1
common=(-V "$seconds" -x "fuzz/$target.dict" -i "corpus/$target" -o "$out")
# Each instance in a session of its own: afl-fuzz 4.04 can leave its CmpLog fork server
# behind, stopped, so the whole group is killed once the instance is over.
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -KILL -- "-$p" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
setsid afl-fuzz -M main -c "$cmplog_dir/$target" -l 2AT "${common[@]}" -- "$afl_dir/$target" \
    >"$out/main.log" 2>&1 &
pids+=($!)
for i in $(seq 2 "$instances"); do
    setsid afl-fuzz -S "s$i" "${common[@]}" -- "$afl_dir/$target" >"$out/s$i.log" 2>&1 &
    pids+=($!)
done
echo "afl-campaign: $target, $instances instance(s), $seconds s, output in $out" >&2
status=0
for p in "${pids[@]}"; do
    wait "$p" || status=$?
done
cleanup

crashes=0
for stats in "$out"/*/fuzzer_stats; do
    [ -f "$stats" ] || continue
    name=$(basename "$(dirname "$stats")")
    field() { sed -n "s/^$1 *: *//p" "$stats"; }
    c=$(field saved_crashes)
    crashes=$((crashes + ${c:-0}))
    printf '%s %s: run %s s, execs %s, execs/s %s, corpus %s, edges %s, bitmap %s, crashes %s, hangs %s\n' \
        "$target" "$name" "$(field run_time)" "$(field execs_done)" "$(field execs_per_sec)" \
        "$(field corpus_count)" "$(field edges_found)" "$(field bitmap_cvg)" "$c" \
        "$(field saved_hangs)"
done
if [ "$crashes" -gt 0 ]; then
    echo "afl-campaign: $crashes crash(es) saved under $out/*/crashes: replay them with" \
        "$afl_dir/$target FILE" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "afl-campaign: afl-fuzz exited with status $status; see $out/*.log" >&2
    exit 2
fi
