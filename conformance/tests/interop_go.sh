#!/usr/bin/env bash
# Interop checks between the Go peer (conformance/peers/go, the real containerd/ttrpc library)
# and our C reference binaries:
#   (a) go-client/c-server/SCENARIO   Go client scenarios against ttrpc-ref-server
#   (b) c-client/go-server/NAME       ttrpc-ref-client calls against the Go server
#   (c) go-client/go-server/SCENARIO  Go against Go: checks the peer and this script
# plus go-peer-build (only when it had to build), go-client/no-server (exit 2 without a server),
# c-server/clean-exit and go-server/clean-exit (alive after the checks, clean end on SIGTERM).
# Prints one line per check, "ok - NAME" or "not ok - NAME" (details follow as "# " lines).
# Exit status: 0 when every check passed, 1 otherwise.
#   usage: BUILD=build bash conformance/tests/interop_go.sh      (from the repository root)
# The Go peer is built into $BUILD/bin when missing or older than its sources (needs Go >= 1.22
# and the Go module proxy or a filled module cache). Missing C binaries give one
# "not ok - c-binaries-missing" line and the checks needing them are skipped.
set -u

# shellcheck source=conformance/tests/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

peer="$build/bin/ttrpc-peer-go"
ref_server="$build/bin/ttrpc-ref-server"
ref_client="$build/bin/ttrpc-ref-client"
service=ttrpc.conformance.v1.Echo
# Every scenario the Go client must pass, in its own order (ttrpc-peer-go client --list).
scenarios="echo echo-empty echo-large metadata fail fail-code-3 unknown-method deadline
           deadline-remote server-stream client-stream bidi-stream"

interop_tmp_prefix=ttrpc-go
# shellcheck source=conformance/tests/lib/interop.sh
source "$root/conformance/tests/lib/interop.sh"

# go_client_checks PREFIX SOCKET: runs every scenario of the Go client against SOCKET and
# prints one line per scenario.
go_client_checks() {
    local prefix=$1 sock=$2 out rc name line
    out="$tmp/${prefix//\//_}.json"
    run_wait timeout -k 5 120 "$peer" client --connect "unix:$sock" >"$out" 2>"$out.err"
    rc=$?
    for name in $scenarios; do
        line=$(grep -F "{\"scenario\":\"$name\"," "$out" | head -n 1)
        scenario_result "$prefix" "$name" "$line" "$rc" "$out.err"
    done
    # Exit 0 exactly when every scenario passed; anything else is a client problem.
    client_exit_check "$prefix" "$out" "$rc"
}

# --- the Go peer binary ---------------------------------------------------------------------
peer_src=conformance/peers/go
if [ ! -x "$peer" ] || [ -n "$(find "$peer_src" -newer "$peer" \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) 2>/dev/null)" ]; then
    gobin=$(command -v go || echo /usr/local/go/bin/go)
    mkdir -p "$build/bin"
    if GOTOOLCHAIN=local run_wait timeout -k 5 300 "$gobin" build -C "$peer_src" -trimpath -o "$peer" . >"$tmp/go-build.log" 2>&1; then
        ok go-peer-build
    else
        not_ok go-peer-build "$(tail -n 20 "$tmp/go-build.log")"
        exit 1
    fi
fi

# --- the client's "could not run" path: nothing listening -----------------------------------
run_wait timeout -k 2 20 "$peer" client --connect "unix:$tmp/absent.sock" >"$tmp/absent.out" 2>"$tmp/absent.err"
rc=$?
if [ "$rc" -eq 2 ] && [ ! -s "$tmp/absent.out" ] && grep -q 'cannot connect' "$tmp/absent.err"; then
    ok go-client/no-server
else
    not_ok go-client/no-server "exit status $rc (expected 2), stdout: $(head -c 500 "$tmp/absent.out")" \
        "stderr: $(head -c 500 "$tmp/absent.err")"
fi

# --- (a) and (b) need the C binaries ---------------------------------------------------------
missing=()
[ -x "$ref_server" ] || missing+=("$ref_server")
[ -x "$ref_client" ] || missing+=("$ref_client")
[ ${#missing[@]} -eq 0 ] || not_ok c-binaries-missing "${missing[@]/%/ not built}"

# (a) Go client against the C server.
if [ -x "$ref_server" ]; then
    c_sock="$tmp/c.sock"
    if start_server c-server "$c_sock" "$ref_server" --listen "unix:$c_sock"; then
        c_pid=$started_pid
        go_client_checks go-client/c-server "$c_sock"
        # Alive after the run, and a clean end on SIGTERM (0, or death by the signal itself);
        # anything else, e.g. a sanitizer report, fails with its stderr shown.
        server_exit_check c-server "$c_pid" "0 143" ""
    else
        not_ok go-client/c-server/start "$start_error"
    fi
fi

# Go server used by (b) and (c).
go_sock="$tmp/go-server.sock" # c_client_check go-server finds it there
if ! start_server go-server "$go_sock" "$peer" server --listen "unix:$go_sock"; then
    not_ok go-server/start "$start_error"
    exit 1
fi
go_pid=$started_pid

# (b) C client against the Go server.
if [ -x "$ref_client" ]; then
    c_client_check go-server echo 0 0 0a0568656c6c6f - - --hex 0a0568656c6c6f "$service" Echo
    c_client_check go-server echo-empty 0 0 "" - - "$service" Echo
    c_client_check go-server metadata 0 0 0a05782d613d310a05782d623d32 - - \
        --metadata x-a=1 --metadata x-b=2 "$service" Metadata
    c_client_check go-server fail 1 12 - - - --hex 080c120178 "$service" Fail
    c_client_check go-server unknown-method 1 12 - - - "$service" NoSuchMethod
    c_client_check go-server deadline 1 4 - - - --timeout-ms 200 --hex 08d00f "$service" Sleep
fi

# (c) Go client against the Go server.
go_client_checks go-client/go-server "$go_sock"

# The Go server must still be alive after all that, exit 0 on SIGTERM and remove its socket.
server_exit_check go-server "$go_pid" "0" "$go_sock"

[ "$failures" -eq 0 ]
