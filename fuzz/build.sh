#!/usr/bin/env bash
# Builds every fuzz target (fuzz/fuzz_*.c) the way OSS-Fuzz builds a project: the compiler and
# flags come from the environment, the engine is whatever LIB_FUZZING_ENGINE names.
#   CC                  compiler (OSS-Fuzz: clang; AFL++: afl-clang-fast; replay: cc)
#   CFLAGS              flags for every object, sanitizers and coverage included
#   LIB_FUZZING_ENGINE  link flag (-fsanitize=fuzzer) or a source/archive (fuzz/replay.c)
#   OUT                 where the binaries, dictionaries and seed-corpus zips go
#   WORK                scratch directory (default: $OUT/work)
#   CXX                 used to link when set, as OSS-Fuzz engines may need the C++ runtime
#   PROTOBUF_C_LIB      how to link protobuf-c (default -lprotobuf-c; OSS-Fuzz and
#                       ClusterFuzzLite use -l:libprotobuf-c.a, since their runner images
#                       do not have the shared library)
# Examples:
#   CC=clang CFLAGS="-O1 -g -fsanitize=address,fuzzer-no-link" \
#       LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=build/fuzz/lf fuzz/build.sh
#   CC=cc CFLAGS="-O1 -g -fsanitize=address,undefined" LIB_FUZZING_ENGINE=fuzz/replay.c \
#       OUT=build/fuzz/rp fuzz/build.sh
# Needs protoc-c and libprotobuf-c (ci/install-deps installs both).
set -euo pipefail

cd "$(dirname "$0")/.."
: "${CC:?set CC}" "${OUT:?set OUT}" "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE}"
CFLAGS=${CFLAGS:-}
WORK=${WORK:-$OUT/work}
LINK=${CXX:-$CC}
PROTOBUF_C_LIB=${PROTOBUF_C_LIB:--lprotobuf-c}
mkdir -p "$OUT" "$WORK/gen" "$WORK/obj"
OUT=$(cd "$OUT" && pwd)

# Only the I/O-free modules the targets drive; sockets and event loops are not fuzzed here.
lib_modules=(alloc err frame msg session stream)
# shellcheck disable=SC2206 # CFLAGS is a list of words, as in every OSS-Fuzz build script.
cflags=($CFLAGS)
cppflags=(-D_GNU_SOURCE -Iimpl/include -Iimpl/src -I"$WORK/gen" -Ifuzz)

protoc-c -Iimpl/proto -Iconformance/proto --c_out="$WORK/gen" impl/proto/*.proto

objs=()
for p in impl/proto/*.proto; do
    name=$(basename "$p" .proto)
    "$CC" "${cppflags[@]}" "${cflags[@]}" -Wno-unused-parameter -c "$WORK/gen/$name.pb-c.c" \
        -o "$WORK/obj/$name.pb-c.o"
    objs+=("$WORK/obj/$name.pb-c.o")
done
for m in "${lib_modules[@]}"; do
    "$CC" "${cppflags[@]}" "${cflags[@]}" -c "impl/src/$m.c" -o "$WORK/obj/$m.o"
    objs+=("$WORK/obj/$m.o")
done

# A source file as the engine (replay.c) is compiled like the rest; a flag or an archive is
# passed to the link as it is.
# shellcheck disable=SC2206
engine=($LIB_FUZZING_ENGINE)
if [[ $LIB_FUZZING_ENGINE == *.c ]]; then
    "$CC" "${cppflags[@]}" "${cflags[@]}" -c "$LIB_FUZZING_ENGINE" -o "$WORK/obj/engine.o"
    engine=("$WORK/obj/engine.o")
fi

for src in fuzz/fuzz_*.c; do
    target=$(basename "$src" .c)
    "$CC" "${cppflags[@]}" "${cflags[@]}" -c "$src" -o "$WORK/obj/$target.o"
    "$LINK" "${cflags[@]}" "$WORK/obj/$target.o" "${objs[@]}" "${engine[@]}" \
        $PROTOBUF_C_LIB -o "$OUT/$target"
    cp "fuzz/$target.dict" "$OUT/$target.dict"
    if [ -d "corpus/$target" ] && command -v zip >/dev/null 2>&1; then
        rm -f "$OUT/${target}_seed_corpus.zip"
        (cd "corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
    fi
    echo "built $OUT/$target"
done
