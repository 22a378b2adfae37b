# Shared by the scripts that drive ttrpc-conform itself (harness_c.sh, harness_client.sh),
# sourced after lib/checks.sh once they have set conform (the binary) and tmp (a private
# directory). Not a test on its own.
# shellcheck shell=bash

# The binaries a script needs, or one "not ok - binaries-missing" line and exit 1.
for bin in "$conform" "$@"; do
    if [ ! -x "$bin" ]; then
        not_ok "binaries-missing" "$bin is missing: run make first"
        exit 1
    fi
done

# run_conform NAME ARGS...: runs `ttrpc-conform ARGS...`, stdout and stderr in $tmp/NAME.log;
# sets rc. TIMEOUT_SCALE=3 stretches every case's deadline on a slow or busy machine.
scale=${TIMEOUT_SCALE:-1}
rc=0
last_log=/dev/null
run_conform() {
    local name=$1
    shift
    last_log="$tmp/$name.log"
    timeout -k 5 300 "$conform" "$@" --timeout-scale "$scale" >"$last_log" 2>&1
    rc=$?
}

# expect_exit NAME WANT: checks rc of the last run, with its log's failures as details.
expect_exit() {
    local name=$1 want=$2
    if [ "$rc" -eq "$want" ]; then
        ok "$name"
    else
        not_ok "$name" "exit $rc, expected $want; log $last_log:" \
            "$(grep -E ' (FAIL|XPASS|ERROR)|expected:|actual:|ttrpc-conform' "$last_log" | head -n 30)"
    fi
}
