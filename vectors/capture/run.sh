#!/usr/bin/env bash
# Records what real ttrpc peers put on the wire for the canonical calls, then compares every
# frame with the golden vectors (vectors/capture/compare.py, README.md there).
#   usage: vectors/capture/run.sh BUILD            (binaries in BUILD/bin)
# Each client x server pair runs each scenario of calls.json on its own, through its own tap:
#   CLIENT --> ttrpc-conform tap --> SERVER, trace in TRACES/CLIENT--SERVER--SCENARIO.json
# Environment (all optional):
#   PAIRS       client:server pairs (default: every client against the C server, the C
#               client against every server, so each implementation is seen in both roles
#               against a known other end, and Go against Rust both ways, where the two
#               libraries' own choices meet)
#   SCENARIOS   scenario names (default: every call in calls.json)
#   TRACES      where traces go (default BUILD/capture); REPORT_DIR (default BUILD/reports)
#   TAP         the recorder command (default "BUILD/bin/ttrpc-conform tap"); it is run as
#               $TAP --listen unix:A --connect unix:B --out FILE and stopped with SIGTERM
#   SERVER_FAULT  extra arguments for the C server (e.g. "--fault echo-corrupt")
# Exit status: compare.py's (0 all match or known, 1 a mismatch, 2 could not compare).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "$#" -ne 1 ]; then
    sed -n '2,18p' "$0" >&2
    exit 2
fi
build=$1
bin=$build/bin
traces=${TRACES:-$build/capture}
report_dir=${REPORT_DIR:-$build/reports}
tap=${TAP:-$bin/ttrpc-conform tap}
service=ttrpc.conformance.v1.Echo
pairs=${PAIRS:-go:c rust-async:c rust-sync:c c:c c:go c:rust-async c:rust-sync \
    go:rust-async rust-async:go go:rust-sync rust-sync:go}
scenarios=${SCENARIOS:-$(python3 -c 'import json,sys
print(" ".join(c["scenario"] for c in json.load(open(sys.argv[1]))["calls"]))' "$here/calls.json")}
streaming=$(python3 -c 'import json,sys
print(" ".join(c["scenario"] for c in json.load(open(sys.argv[1]))["calls"] if c.get("streaming")))' \
    "$here/calls.json")

# Sockets live in a short private directory: sun_path holds 108 bytes.
tmp=$(mktemp -d /tmp/ttrpc-capture.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$traces"
rm -f "$traces"/*--*--*.json

# Starts a server on $tmp/NAME.sock and waits for its "ready" line.
start_server() {
    local name=$1
    shift
    "$@" --listen "unix:$tmp/$name.sock" >"$tmp/$name.out" 2>"$traces/server-$name.stderr" &
    pids+=("$!")
    for _ in $(seq 100); do
        grep -q ready "$tmp/$name.out" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "run.sh: server $name did not print ready" >&2
    exit 2
}

needed_servers=$(for p in $pairs; do echo "${p#*:}"; done | sort -u)
for s in $needed_servers; do
    case $s in
    c) # shellcheck disable=SC2086 # SERVER_FAULT is a list of words
        start_server c "$bin/ttrpc-ref-server" ${SERVER_FAULT:-} ;;
    go) start_server go "$bin/ttrpc-peer-go" server ;;
    rust-async) start_server rust-async "$bin/ttrpc-peer-rust" server --flavor async ;;
    rust-sync) start_server rust-sync "$bin/ttrpc-peer-rust" server --flavor sync ;;
    *) echo "run.sh: unknown server '$s'" >&2; exit 2 ;;
    esac
done

# Runs one scenario with one client against the tap's socket.
run_client() {
    local client=$1 scenario=$2 address=$3
    case $client in
    go) "$bin/ttrpc-peer-go" client --connect "$address" --scenario "$scenario" ;;
    rust-async | rust-sync)
        "$bin/ttrpc-peer-rust" client --flavor "${client#rust-}" --connect "$address" \
            --scenario "$scenario" ;;
    c)
        local args=()
        mapfile -t args < <(python3 "$here/compare.py" c-args "$scenario" "$tmp")
        local n=${#args[@]}
        timeout 10 "$bin/ttrpc-ref-client" --connect "$address" "${args[@]:0:n-1}" \
            "$service" "${args[n-1]}" ;;
    esac
}

for pair in $pairs; do
    client=${pair%%:*}
    server=${pair#*:}
    for scenario in $scenarios; do
        # The sync Rust API has no streaming, in either role.
        if [[ " $streaming " == *" $scenario "* ]] && [[ "$client $server" == *rust-sync* ]]; then
            continue
        fi
        name=$client--$server--$scenario
        rm -f "$tmp/tap.sock"
        # shellcheck disable=SC2086 # $tap is a command and its arguments
        $tap --listen "unix:$tmp/tap.sock" --connect "unix:$tmp/$server.sock" \
            --out "$traces/$name.json" >"$tmp/tap.out" 2>"$traces/$name.tap.stderr" &
        tap_pid=$!
        for _ in $(seq 100); do
            [ -S "$tmp/tap.sock" ] && break
            sleep 0.05
        done
        run_client "$client" "$scenario" "unix:$tmp/tap.sock" >"$traces/$name.client.out" 2>&1
        echo "# $name: client exit $?"
        sleep 0.2 # the last frames of a relay in flight
        kill -TERM "$tap_pid" 2>/dev/null
        for _ in $(seq 60); do
            kill -0 "$tap_pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$tap_pid" 2>/dev/null
        wait "$tap_pid" 2>/dev/null
    done
done

python3 "$here/compare.py" --report-dir "$report_dir" "$traces"
