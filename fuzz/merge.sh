#!/usr/bin/env bash
# Adds to corpus/<target>/ the inputs of a fuzzing run that reach coverage the corpus does not
# (libFuzzer -merge=1), renamed to their SHA-256 like the hand-made seeds. Existing files are
# all kept. First every input that reaches a new edge is added; then, smallest first, inputs
# that only add hit-count features, while the corpus stays under MAX_FILES files (default 250)
# and MAX_BYTES bytes (default 2 MiB).
#   usage: fuzz/merge.sh BIN_DIR TARGET NEW_INPUTS_DIR...
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$1
target=$2
shift 2
max_files=${MAX_FILES:-250}
max_bytes=${MAX_BYTES:-2097152}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/edges" "$tmp/features" "corpus/$target"
cp "corpus/$target"/* "$tmp/edges/" 2>/dev/null || true
cp "corpus/$target"/* "$tmp/features/" 2>/dev/null || true

merge() {
    "$bin_dir/$target" -merge=1 -timeout=10 -artifact_prefix="$tmp/" "$@" >>"$tmp/merge.log" 2>&1 \
        || { tail -n 20 "$tmp/merge.log"; exit 1; }
}
merge -use_counters=0 "$tmp/edges" "$@"
merge "$tmp/features" "$@"

added=0
add() {
    local f=$1 name
    name=$(sha256sum "$f" | cut -c1-64)
    [ -e "corpus/$target/$name" ] && return 0
    local files bytes size
    files=$(find "corpus/$target" -type f | wc -l)
    bytes=$(du -sb "corpus/$target" | cut -f1)
    size=$(stat -c %s "$f")
    if [ "$files" -ge "$max_files" ] || [ $((bytes + size)) -gt "$max_bytes" ]; then
        return 1
    fi
    cp "$f" "corpus/$target/$name"
    added=$((added + 1))
}
for f in "$tmp/edges"/*; do
    add "$f" || true
done
while read -r _ f; do
    add "$f" || break
done < <(find "$tmp/features" -type f -printf '%s %p\n' | sort -n)
files=$(find "corpus/$target" -type f | wc -l)
bytes=$(du -sb "corpus/$target" | cut -f1)
echo "corpus/$target: $added added, $files files, $bytes bytes"
