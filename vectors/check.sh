#!/usr/bin/env bash
# Runs the golden vectors against the C reference implementation and checks the vector files
# themselves. One line per check: "ok - vectors/<id>", "not ok - vectors/<id>: why", or
# "xfail - vectors/<id>: ..." for a mismatch listed in vectors/known-mismatches.txt.
#   usage: BUILD=build vectors/check.sh        (the checker is $BUILD/bin/vector_check)
# Exit status: 0 when no line is "not ok".
set -u
dir=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-build}
bin=$build/bin/vector_check
files=()
for f in "$dir"/*.json; do
    [ "$(basename "$f")" = schema.json ] || files+=("$f")
done
failed=0

if [ ! -x "$bin" ]; then
    echo "not ok - vectors/checker: $bin is missing (make $bin)"
    exit 1
fi

out=$("$bin" --xfail "$dir/known-mismatches.txt" "${files[@]}")
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || failed=1
total=$(grep -cE '^(ok|not ok|xfail) - ' <<<"$out")

# The checker must notice a wrong expectation: with --fault every vector has one corrupted
# expectation, and every vector must come out "not ok".
fault=$("$bin" --fault "${files[@]}")
fault_rc=$?
fault_ok=$(grep -c '^ok - ' <<<"$fault")
fault_bad=$(grep -c '^not ok - ' <<<"$fault")
if [ "$fault_rc" -eq 1 ] && [ "$fault_ok" -eq 0 ] && [ "$fault_bad" -eq "$total" ]; then
    echo "ok - vectors/checker/detects-corrupted-expectations"
else
    echo "not ok - vectors/checker/detects-corrupted-expectations: exit $fault_rc," \
        "$fault_ok of $total vectors still pass with a corrupted expectation"
    failed=1
fi

# Each vector in checker/selftest.json is a real vector with one expectation made wrong on
# purpose, one per comparison the checker makes: every one must be reported not ok.
while IFS= read -r line; do
    case $line in
    "not ok - vectors/selftest/"*)
        id=${line#not ok - vectors/}
        echo "ok - vectors/checker/${id%%:*}-caught"
        ;;
    "ok - vectors/selftest/"*)
        id=${line#ok - vectors/}
        echo "not ok - vectors/checker/$id-caught: the wrong expectation passed"
        failed=1
        ;;
    esac
done < <("$bin" "$dir/checker/selftest.json")

# The files follow vectors/schema.json, and are what vectors/gen/gen.py writes. Both need
# Python (the second also python3-jsonschema); without it the checks are skipped, not failed.
if command -v python3 >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    if python3 "$dir/gen/gen.py" "$tmp" >/dev/null && \
        diff -q <(cd "$tmp" && cat ./*.json) <(for f in "${files[@]}"; do cat "$f"; done) >/dev/null; then
        echo "ok - vectors/generated-files-up-to-date"
    else
        echo "not ok - vectors/generated-files-up-to-date: run make vectors-gen and commit"
        failed=1
    fi
    rm -rf "$tmp"
    if python3 -c 'import jsonschema' 2>/dev/null; then
        for f in "${files[@]}"; do
            if msg=$(python3 - "$dir/schema.json" "$f" <<'PY' 2>&1
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
for e in errors[:3]:
    print("/".join(map(str, e.absolute_path)), e.message[:200])
sys.exit(1 if errors else 0)
PY
            ); then
                echo "ok - vectors/schema/$(basename "$f")"
            else
                echo "not ok - vectors/schema/$(basename "$f"): $msg" | head -n 4
                failed=1
            fi
        done
    else
        echo "# python3-jsonschema missing: schema checks skipped"
    fi
else
    echo "# python3 missing: generator and schema checks skipped"
fi
exit "$failed"
