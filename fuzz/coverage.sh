#!/usr/bin/env bash
# Source coverage of the library reached by the corpora: builds every target with clang's
# coverage instrumentation and fuzz/replay.c (through fuzz/build.sh), replays corpus/<target>/
# and fuzz/regressions/<target>/, and prints llvm-cov's per-file table for the modules the
# targets drive; an HTML report goes to OUT_DIR/html.
#   usage: fuzz/coverage.sh OUT_DIR
# Needs clang, llvm-profdata and llvm-cov of the same LLVM version.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
mkdir -p "$out/profiles"
rm -f "$out/profiles"/*.profraw
CC=${CLANG:-clang} CFLAGS="-O0 -g -fprofile-instr-generate -fcoverage-mapping" \
    LIB_FUZZING_ENGINE=fuzz/replay.c OUT="$out/bin" WORK="$out/work" fuzz/build.sh >/dev/null
objects=()
for src in fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    dirs=()
    for d in "corpus/$t" "fuzz/regressions/$t"; do
        [ -d "$d" ] && dirs+=("$d")
    done
    LLVM_PROFILE_FILE="$out/profiles/$t.profraw" "$out/bin/$t" "${dirs[@]}" >/dev/null 2>&1
    objects+=(-object "$out/bin/$t")
done
llvm-profdata merge -sparse "$out/profiles"/*.profraw -o "$out/all.profdata"
sources=(impl/src/frame.c impl/src/msg.c impl/src/session.c impl/src/stream.c)
# The first -object is positional for llvm-cov; the rest are flags.
llvm-cov report "${objects[@]:1}" -instr-profile="$out/all.profdata" "${sources[@]}"
llvm-cov show "${objects[@]:1}" -instr-profile="$out/all.profdata" -format=html \
    -output-dir="$out/html" "${sources[@]}"
echo "HTML: $out/html/index.html"
