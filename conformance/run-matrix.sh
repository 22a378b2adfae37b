#!/usr/bin/env bash
# `make conformance`: every server-role case against every peer (our C reference, the Go peer,
# the Rust peer's async and sync flavors), then every client-role case against their clients
# (rows labelled LABEL-client), each with its expected-failure list, then every client against
# every server (`ttrpc-conform matrix`, conformance/matrix.conf, conformance/expected/matrix.txt;
# rows labelled matrix/CLIENT), then one summary table.
# Reports per run go to REPORT_DIR (LABEL.json, .xml, .md; the matrix: matrix.json, .xml, .md and
# a wire trace per cell in traces/) and the table to REPORT_DIR/summary.md.
#   usage: BUILD=build REPORT_DIR=build/reports conformance/run-matrix.sh [ttrpc-conform options]
# Extra options (e.g. --strict, --timeout-scale 3, --run frame/) are passed to every run;
# --run and --skip patterns go to the role whose ids they name (client/... is the client role);
# when --run patterns are given and none names a role, that role is not run. The matrix runs
# only without --run/--skip (its cell ids are CLIENT/SERVER/SCENARIO), and takes only
# --timeout-scale of the extra options.
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

# Client role (ttrpc-conform client): label | command | expected-failure list | extra options
clients="c-client|conformance/peers/c/ref-client-scenario.sh {address} {scenario} $build/bin/ttrpc-ref-client|conformance/expected/c-client.txt|
go-client|$build/bin/ttrpc-peer-go client --connect {address} --scenario {scenario}|conformance/expected/go-client.txt|
rust-async-client|$build/bin/ttrpc-peer-rust client --flavor async --connect {address} --scenario {scenario}|conformance/expected/rust-async-client.txt|
rust-sync-client|$build/bin/ttrpc-peer-rust client --flavor sync --connect {address} --scenario {scenario}|conformance/expected/rust-sync-client.txt|--without streaming"

if [ ! -x "$conform" ]; then
    echo "run-matrix: $conform is missing: run make" >&2
    exit 2
fi

# Case selections apply to the role whose ids they name.
server_args=()
client_args=()
server_runs=0
client_runs=0
any_runs=0
while [ "$#" -gt 0 ]; do
    case $1 in
    --run | --skip)
        [ "$1" = --run ] && any_runs=1
        case ${2:-} in
        client*)
            client_args+=("$1" "$2")
            [ "$1" = --run ] && client_runs=1
            ;;
        *)
            server_args+=("$1" "${2:-}")
            [ "$1" = --run ] && server_runs=1
            ;;
        esac
        shift 2 || shift
        ;;
    *)
        server_args+=("$1")
        client_args+=("$1")
        shift
        ;;
    esac
done
[ "$any_runs" -eq 1 ] && [ "$server_runs" -eq 0 ] && peers=""
[ "$any_runs" -eq 1 ] && [ "$client_runs" -eq 0 ] && clients=""

worst=0
labels=()
while IFS='|' read -r label cmd expected extra; do
    [ -n "$label" ] || continue
    bin=${cmd%% *}
    if [ ! -x "$bin" ]; then
        echo "run-matrix: $bin is missing: run make peers" >&2
        worst=2
        continue
    fi
    echo "== $label: $cmd" >&2
    # shellcheck disable=SC2086 # $extra is an option list
    "$conform" run --exec "$cmd" --known-failing "$expected" --name "$label" \
        --report-dir "$reports" $extra "${server_args[@]}" >&2
    rc=$?
    labels+=("$label")
    if [ "$rc" -gt "$worst" ]; then
        worst=$rc
    fi
done <<<"$peers"

while IFS='|' read -r label cmd expected extra; do
    [ -n "$label" ] || continue
    bin=${cmd##* } # the adapter's last word is the client binary
    case $label in c-client) ;; *) bin=${cmd%% *} ;; esac
    if [ ! -x "$bin" ]; then
        echo "run-matrix: $bin is missing: run make peers" >&2
        worst=2
        continue
    fi
    echo "== $label: $cmd" >&2
    # shellcheck disable=SC2086 # $extra is an option list
    "$conform" client --exec "$cmd" --known-failing "$expected" --name "$label" \
        --report-dir "$reports" $extra "${client_args[@]}" >&2
    rc=$?
    labels+=("$label")
    if [ "$rc" -gt "$worst" ]; then
        worst=$rc
    fi
done <<<"$clients"

# Every client x every server, unless cases were selected (--run/--skip name case ids, not
# cells); of the extra options only --timeout-scale applies to it.
matrix_ran=1
matrix_args=()
for ((i = 0; i < ${#server_args[@]}; i++)); do
    case ${server_args[i]} in
    --run | --skip) matrix_ran=0 ;;
    --timeout-scale) matrix_args+=(--timeout-scale "${server_args[i + 1]:-1}") ;;
    esac
done
# client_args longer than server_args: a --skip for the client role.
[ "$any_runs" -eq 1 ] || [ "${#client_args[@]}" -gt "${#server_args[@]}" ] && matrix_ran=0
if [ "$matrix_ran" -eq 1 ]; then
    echo "== matrix: conformance/matrix.conf" >&2
    "$conform" matrix --config conformance/matrix.conf --build-dir "$build" \
        --known-failing conformance/expected/matrix.txt --report-dir "$reports" \
        "${matrix_args[@]}" >&2
    rc=$?
    if [ "$rc" -gt "$worst" ]; then
        worst=$rc
    fi
fi

python3 - "$reports" "$matrix_ran" "${labels[@]}" <<'PY' | tee "$reports/summary.md"
import json, sys
reports, matrix_ran, labels = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
cols = ["PASS", "FAIL", "NON-STRICT", "INFO", "XFAIL", "XPASS", "UNSUPPORTED", "ERROR"]
print("| peer | cases | " + " | ".join(cols) + " | restarts | seconds |")
print("|---|---|" + "---|" * len(cols) + "---|---|")
for label in labels:
    with open(f"{reports}/{label}.json") as f:
        d = json.load(f)
    c = d["counts"]
    print(f"| {label} | {len(d['cases'])} | " + " | ".join(str(c.get(k, 0)) for k in cols)
          + f" | {d.get('peer_restarts', 0)} | {d.get('elapsed_ms', 0) / 1000:.1f} |")
if matrix_ran:
    # One row per client of the client x server matrix: its cells against every server.
    with open(f"{reports}/matrix.json") as f:
        m = json.load(f)
    clients = [c["label"] for c in m["clients"]]
    for client in clients:
        cells = [c for c in m["cells"] if c["client"] == client]
        counts = {}
        for c in cells:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
        secs = sum(c["elapsed_ms"] for c in cells) / 1000
        print(f"| matrix/{client} | {len(cells)} | " + " | ".join(str(counts.get(k, 0)) for k in cols)
              + f" | - | {secs:.1f} |")
PY

python3 conformance/report-html.py "$reports" >&2 || worst=2
exit "$worst"
