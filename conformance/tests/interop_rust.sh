#!/usr/bin/env bash
# Interop checks between the Rust peer (conformance/peers/rust, the real ttrpc crate 0.9.0, both
# its sync and its async API) and our C reference binaries:
#   (a) rust-FLAVOR-client/c-server/SCENARIO     Rust client scenarios against ttrpc-ref-server
#   (b) c-client/rust-FLAVOR-server/NAME         ttrpc-ref-client calls against the Rust servers
#   (c) rust-FLAVOR-client/rust-FLAVOR-server/SCENARIO and rust-FLAVOR-client/go-server/SCENARIO:
#       sanity checks of the peer and this script against itself and the Go peer
# plus rust-peer-build (only when it had to build), rust-client/list, rust-FLAVOR-client/no-server,
# rust-sync-client/streaming-unsupported, rust-FLAVOR-server/fd (serving an inherited socket;
# needs python3), and the clean-exit checks of every server started.
# Prints one line per check, "ok - NAME" or "not ok - NAME" (details follow as "# " lines).
# A check that passes only because the Rust crate behaves differently from Go and our C
# reference, as recorded in the notes, says so: "ok - NAME # known divergence: ...".
# Exit status: 0 when every check passed, 1 otherwise.
#   usage: BUILD=build bash conformance/tests/interop_rust.sh      (from the repository root)
# The Rust peer is built into $BUILD/bin when missing or older than its sources (cargo, crates.io
# or a filled cargo registry; target directory build/rust-target), the Go peer likewise (Go >=
# 1.22). Missing C binaries give one "not ok - c-binaries-missing" line and the checks needing
# them are skipped.
set -u

# shellcheck source=conformance/tests/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

peer="$build/bin/ttrpc-peer-rust"
go_peer="$build/bin/ttrpc-peer-go"
ref_server="$build/bin/ttrpc-ref-server"
ref_client="$build/bin/ttrpc-ref-client"
service=ttrpc.conformance.v1.Echo
# The scenarios of each client flavor, in list order (ttrpc-peer-rust client --flavor F --list).
# deadline-remote is not offered: the crate's clients wait locally for exactly the timeout_nano
# they send. The sync API has no streaming.
sync_scenarios="echo echo-empty echo-large metadata fail fail-code-3 unknown-method deadline"
async_scenarios="$sync_scenarios server-stream client-stream bidi-stream"

interop_tmp_prefix=ttrpc-rust
# shellcheck source=conformance/tests/lib/interop.sh
source "$root/conformance/tests/lib/interop.sh"

# rust_client_checks PREFIX FLAVOR SOCKET "SCENARIOS" [SCENARIO=CODE:REASON]...: runs the Rust
# client of FLAVOR with the given scenarios against SOCKET and prints one line per scenario.
# SCENARIO=CODE:REASON names a known divergence: that scenario is expected to fail with CODE.
rust_client_checks() {
    local prefix=$1 flavor=$2 sock=$3 names=$4 out rc name line args=() known code reason
    shift 4
    out="$tmp/${prefix//\//_}.json"
    for name in $names; do
        args+=(--scenario "$name")
    done
    run_wait timeout -k 5 120 "$peer" client --flavor "$flavor" --connect "unix:$sock" "${args[@]}" \
        >"$out" 2>"$out.err"
    rc=$?
    for name in $names; do
        line=$(grep -F "{\"scenario\":\"$name\"," "$out" | head -n 1)
        known=
        for k in "$@"; do
            [ "${k%%=*}" = "$name" ] && known=${k#*=}
        done
        code=${known%%:*}
        reason=${known#*:}
        if [ -n "$known" ]; then
            case $line in
                "{\"scenario\":\"$name\",\"ok\":false,\"code\":$code,"*) ok "$prefix/$name # known divergence: $reason" ;;
                "") not_ok "$prefix/$name" "no result line (client exit status $rc)" \
                        "stderr: $(head -c 2000 "$out.err")" ;;
                *) not_ok "$prefix/$name" "expected a failure with code $code ($reason), got:" "$line" ;;
            esac
            continue
        fi
        scenario_result "$prefix" "$name" "$line" "$rc" "$out.err"
    done
    # Exit 1 when any scenario failed (known divergences included), else 0.
    client_exit_check "$prefix" "$out" "$rc"
}

# --- the peer binaries ----------------------------------------------------------------------
peer_src=conformance/peers/rust
if [ ! -x "$peer" ] || [ -n "$(find "$peer_src" -newer "$peer" \( -name '*.rs' -o -name 'Cargo.toml' -o -name 'Cargo.lock' \) 2>/dev/null)" ]; then
    cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
    mkdir -p "$build/bin"
    if CARGO_TARGET_DIR="$root/build/rust-target" run_wait timeout -k 5 540 "$cargo" build --release --locked \
            --manifest-path "$peer_src/Cargo.toml" >"$tmp/rust-build.log" 2>&1 &&
        cp "$root/build/rust-target/release/ttrpc-peer-rust" "$peer"; then
        ok rust-peer-build
    else
        not_ok rust-peer-build "$(tail -n 20 "$tmp/rust-build.log")"
        exit 1
    fi
fi
go_src=conformance/peers/go
if [ ! -x "$go_peer" ] || [ -n "$(find "$go_src" -newer "$go_peer" \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) 2>/dev/null)" ]; then
    gobin=$(command -v go || echo /usr/local/go/bin/go)
    mkdir -p "$build/bin"
    if GOTOOLCHAIN=local run_wait timeout -k 5 300 "$gobin" build -C "$go_src" -trimpath -o "$go_peer" . >"$tmp/go-build.log" 2>&1; then
        ok go-peer-build
    else
        not_ok go-peer-build "$(tail -n 20 "$tmp/go-build.log")"
    fi
fi

# --- the client's command line --------------------------------------------------------------
list_async=$(run_wait timeout -k 2 10 "$peer" client --list 2>&1 | tr '\n' ' ')
list_sync=$(run_wait timeout -k 2 10 "$peer" client --flavor sync --list 2>&1 | tr '\n' ' ')
if [ "$list_async" = "$(echo $async_scenarios) " ] && [ "$list_sync" = "$(echo $sync_scenarios) " ]; then
    ok rust-client/list
else
    not_ok rust-client/list "async: $list_async" "sync: $list_sync"
fi

for flavor in async sync; do
    run_wait timeout -k 2 20 "$peer" client --flavor "$flavor" --connect "unix:$tmp/absent.sock" >"$tmp/absent.out" 2>"$tmp/absent.err"
    rc=$?
    if [ "$rc" -eq 2 ] && [ ! -s "$tmp/absent.out" ] && grep -q 'cannot connect' "$tmp/absent.err"; then
        ok "rust-$flavor-client/no-server"
    else
        not_ok "rust-$flavor-client/no-server" "exit status $rc (expected 2), stdout: $(head -c 500 "$tmp/absent.out")" \
            "stderr: $(head -c 500 "$tmp/absent.err")"
    fi
done

# The check comes before any connection attempt, so no server is needed.
run_wait timeout -k 2 20 "$peer" client --flavor sync --connect "unix:$tmp/absent.sock" --scenario server-stream \
    >"$tmp/unsup.out" 2>"$tmp/unsup.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q 'unsupported' "$tmp/unsup.err"; then
    ok rust-sync-client/streaming-unsupported
else
    not_ok rust-sync-client/streaming-unsupported "exit status $rc (expected 2)" "stderr: $(head -c 500 "$tmp/unsup.err")"
fi

# --- (a) Rust clients against the C server ---------------------------------------------------
missing=()
[ -x "$ref_server" ] || missing+=("$ref_server")
[ -x "$ref_client" ] || missing+=("$ref_client")
[ ${#missing[@]} -eq 0 ] || not_ok c-binaries-missing "${missing[@]/%/ not built}"

if [ -x "$ref_server" ]; then
    c_sock="$tmp/c-server.sock"
    if start_server c-server "$c_sock" "$ref_server" --listen "unix:$c_sock"; then
        c_pid=$started_pid
        rust_client_checks rust-async-client/c-server async "$c_sock" "$async_scenarios"
        rust_client_checks rust-sync-client/c-server sync "$c_sock" "$sync_scenarios"
        server_exit_check c-server "$c_pid" "0 143" ""
    else
        not_ok rust-client/c-server/start "$start_error"
    fi
fi

# --- the Rust servers, used by (b) and (c) ---------------------------------------------------
async_pid=
sync_pid=
for flavor in async sync; do
    sock="$tmp/rust-$flavor-server.sock"
    if start_server "rust-$flavor-server" "$sock" "$peer" server --flavor "$flavor" --listen "unix:$sock"; then
        printf -v "${flavor}_pid" '%s' "$started_pid"
    else
        not_ok "rust-$flavor-server/start" "$start_error"
    fi
done

# (b) the C client against the Rust servers.
if [ -x "$ref_client" ]; then
    for flavor in async sync; do
        srv="rust-$flavor-server"
        pid_var="${flavor}_pid"
        [ -n "${!pid_var}" ] || continue
        c_client_check "$srv" echo 0 0 0a0568656c6c6f - - --hex 0a0568656c6c6f "$service" Echo
        c_client_check "$srv" echo-empty 0 0 "" - - "$service" Echo
        c_client_check "$srv" metadata 0 0 0a05782d613d310a05782d623d32 - - \
            --metadata x-a=1 --metadata x-b=2 "$service" Metadata
        c_client_check "$srv" fail 1 12 - - - --hex 080c120178 "$service" Fail
    done
    if [ -n "$async_pid" ]; then
        srv=rust-async-server
        c_client_check "$srv" unknown-method 1 12 - - - "$service" NoSuchMethod
        c_client_check "$srv" "unknown-service # known divergence: Rust answers 3, Go and our C server 12" \
            1 3 - - - NoSuchService Echo
        # The crate enforces timeout_nano on unary methods itself: a status 4 well before the
        # C client's own limit (200 + 1000 ms), not the client giving up.
        c_client_check "$srv" deadline 1 4 - - '!gave up' --timeout-ms 200 --hex 08d00f "$service" Sleep
        # Count 0 encodes to zero bytes: the first data line is empty.
        c_client_check "$srv" server-stream 0 0 - ",0801,0802" - --stream server --hex 0803 "$service" ServerStream
        c_client_check "$srv" client-stream 0 0 0806 "" - --stream client --send 0801 --send 0802 --send 0803 \
            "$service" ClientStream
        c_client_check "$srv" bidi-stream 0 0 - "0a0161,0a0162" - --stream bidi --send 0a0161 --send 0a0162 \
            "$service" BidiStream
    fi
    if [ -n "$sync_pid" ]; then
        srv=rust-sync-server
        c_client_check "$srv" "unknown-method # known divergence: the sync server answers 3, not 12" \
            1 3 - - - "$service" NoSuchMethod
        c_client_check "$srv" "unknown-service # known divergence: Rust answers 3, Go and our C server 12" \
            1 3 - - - NoSuchService Echo
        # The sync server enforces no timeout_nano and our handler sleeps the full 2 s, so the
        # 4 is the C client giving up after 200 + 1000 ms.
        c_client_check "$srv" "deadline # known divergence: no server-side deadline on sync; the C client gave up" \
            1 4 - - '+gave up' --timeout-ms 200 --hex 08d00f "$service" Sleep
        c_client_check "$srv" "server-stream # the sync API has no streaming: 3 (no such method)" \
            1 3 - - - --stream server --hex 0803 "$service" ServerStream
    fi
fi

# (c) Rust clients against the Rust servers.
if [ -n "$async_pid" ]; then
    rust_client_checks rust-async-client/rust-async-server async "$tmp/rust-async-server.sock" "$async_scenarios"
    rust_client_checks rust-sync-client/rust-async-server sync "$tmp/rust-async-server.sock" "$sync_scenarios"
fi
if [ -n "$sync_pid" ]; then
    unknown_method_sync="unknown-method=3:the sync server answers 3 to an unknown method"
    rust_client_checks rust-async-client/rust-sync-server async "$tmp/rust-sync-server.sock" "$sync_scenarios" \
        "$unknown_method_sync"
    rust_client_checks rust-sync-client/rust-sync-server sync "$tmp/rust-sync-server.sock" "$sync_scenarios" \
        "$unknown_method_sync"
fi

# (c) Rust clients against the Go server.
if [ -x "$go_peer" ]; then
    go_sock="$tmp/go-server.sock"
    if start_server go-server "$go_sock" "$go_peer" server --listen "unix:$go_sock"; then
        go_pid=$started_pid
        rust_client_checks rust-async-client/go-server async "$go_sock" "$async_scenarios"
        rust_client_checks rust-sync-client/go-server sync "$go_sock" "$sync_scenarios"
        server_exit_check go-server "$go_pid" "0" "$go_sock"
    else
        not_ok go-server/start "$start_error"
    fi
fi

# The Rust servers must still be alive after all that, exit 0 on SIGTERM and remove their socket.
[ -z "$async_pid" ] || server_exit_check rust-async-server "$async_pid" "0" "$tmp/rust-async-server.sock"
[ -z "$sync_pid" ] || server_exit_check rust-sync-server "$sync_pid" "0" "$tmp/rust-sync-server.sock"

# --- serving an inherited listening socket (--fd), as the conformance harness does -----------
for flavor in async sync; do
    name="rust-$flavor-server-fd"
    if ! command -v python3 >/dev/null; then
        ok "rust-$flavor-server/fd # SKIP python3 not found"
        continue
    fi
    sock="$tmp/$name.sock"
    # python3 creates, binds and listens, then execs the server with the socket inherited
    # (@FD@ in the arguments becomes its descriptor number).
    if start_server "$name" "$sock" python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(16)
os.set_inheritable(s.fileno(), True)
os.execv(sys.argv[2], [a.replace("@FD@", str(s.fileno())) for a in sys.argv[2:]])' \
            "$sock" "$peer" server --flavor "$flavor" --fd @FD@; then
        pid=$started_pid
        run_wait timeout -k 5 30 "$peer" client --flavor "$flavor" --connect "unix:$sock" --scenario echo \
            --scenario metadata >"$tmp/$name.json" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ] && [ "$(grep -c '"ok":true' "$tmp/$name.json")" -eq 2 ]; then
            ok "rust-$flavor-server/fd"
        else
            not_ok "rust-$flavor-server/fd" "client exit status $rc" "$(head -c 2000 "$tmp/$name.json")"
        fi
        server_exit_check "$name" "$pid" "0" ""
    else
        not_ok "rust-$flavor-server/fd" "$start_error"
    fi
done

[ "$failures" -eq 0 ]
