# Shared by the interop scripts (conformance/tests/interop_*.sh), sourced after they set
# interop_tmp_prefix (and lib/checks.sh): a private temp dir, and starting, waiting for and
# stopping peer servers so that no process outlives the script. Not a test on its own.
# shellcheck shell=bash

# Short socket paths: sun_path holds 108 bytes.
tmp=$(mktemp -d "/tmp/${interop_tmp_prefix:-ttrpc}.XXXXXX") || exit 1
server_pids=()

# stop_server PID: SIGTERM to the timeout wrapper (it passes the signal on to the server),
# wait up to 5 s, then SIGKILL the server itself and its wrapper. Returns the exit status.
stop_server() {
    local pid=$1 i child rc
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        for child in $(pgrep -P "$pid"); do
            kill -KILL "$child" 2>/dev/null
        done
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    local kept=()
    for i in "${server_pids[@]}"; do
        [ "$i" = "$pid" ] || kept+=("$i")
    done
    server_pids=("${kept[@]}")
    return "$rc"
}

# run_wait CMD...: runs CMD in the background and waits for it, so that a signal to this
# script is acted on at once instead of after the command (bash defers traps until a
# foreground command ends).
fg_pid=
run_wait() {
    "$@" &
    fg_pid=$!
    wait "$fg_pid"
    local rc=$?
    fg_pid=
    return "$rc"
}

cleanup() {
    local pid
    if [ -n "$fg_pid" ]; then
        kill -TERM "$fg_pid" 2>/dev/null
        wait "$fg_pid" 2>/dev/null
    fi
    for pid in "${server_pids[@]}"; do
        stop_server "$pid"
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# start_server NAME SOCKET CMD...: starts CMD in the background with its stdout in
# $tmp/NAME.out and stderr in $tmp/NAME.err, waits up to 10 s for its "ready" line and sets
# started_pid. Returns 1, with the reason in start_error, when it never got ready.
started_pid=
start_error=
start_server() {
    local name=$1 sock=$2 i
    shift 2
    timeout -k 5 300 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    started_pid=$!
    server_pids+=("$started_pid")
    for ((i = 0; i < 100; i++)); do
        if grep -qx ready "$tmp/$name.out" 2>/dev/null && [ -S "$sock" ]; then
            return 0
        fi
        if ! kill -0 "$started_pid" 2>/dev/null; then
            wait "$started_pid"
            start_error="$name exited with status $? before printing ready; stderr: $(head -c 2000 "$tmp/$name.err")"
            return 1
        fi
        sleep 0.1
    done
    stop_server "$started_pid"
    start_error="$name printed no ready line within 10 s; stdout: $(head -c 500 "$tmp/$name.out"); stderr: $(head -c 2000 "$tmp/$name.err")"
    return 1
}

# server_exit_check NAME PID "ACCEPTED_STATUSES" SOCKET|"": the server must have survived the
# checks and end within 5 s of SIGTERM with one of the accepted statuses; a SOCKET given must be
# gone afterwards.
server_exit_check() {
    local name=$1 pid=$2 accepted=$3 sock=$4 rc
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        rc=$?
        stop_server "$pid"
        not_ok "$name/clean-exit" "$name died during the checks, exit status $rc" \
            "stderr: $(tail -c 3000 "$tmp/$name.err")"
        return
    fi
    stop_server "$pid"
    rc=$?
    if [[ " $accepted " != *" $rc "* ]]; then
        not_ok "$name/clean-exit" "exit status $rc after SIGTERM, expected one of: $accepted (137: needed SIGKILL)" \
            "stderr: $(tail -c 3000 "$tmp/$name.err")"
    elif [ -n "$sock" ] && [ -e "$sock" ]; then
        not_ok "$name/clean-exit" "exit status $rc, but the socket $sock was left behind"
    else
        ok "$name/clean-exit"
    fi
}

# scenario_result PREFIX NAME LINE RC ERRFILE: one ok/not ok line for a peer client's scenario
# result LINE (empty when the client printed none; RC is then its exit status).
scenario_result() {
    local prefix=$1 name=$2 line=$3 rc=$4 err=$5
    case $line in
        "{\"scenario\":\"$name\",\"ok\":true,"*) ok "$prefix/$name" ;;
        "") not_ok "$prefix/$name" "no result line (client exit status $rc)" \
                "stderr: $(head -c 2000 "$err")" ;;
        *) not_ok "$prefix/$name" "$line" ;;
    esac
}

# client_exit_check PREFIX OUT RC: a peer client exits 1 when any scenario in OUT failed, known
# divergences included, and 0 otherwise.
client_exit_check() {
    local prefix=$1 out=$2 rc=$3
    if grep -q '"ok":false' "$out"; then
        [ "$rc" -eq 1 ] || not_ok "$prefix/client-exit-status" "expected 1 after failures, got $rc"
    elif [ "$rc" -ne 0 ]; then
        not_ok "$prefix/client-exit-status" "all scenarios passed but exit status was $rc" \
            "stderr: $(head -c 2000 "$out.err")"
    fi
}

# c_client_check SERVER NAME WANT_RC WANT_CODE WANT_PAYLOAD WANT_DATA WANT_MESSAGE ARGS...: runs
# $ref_client (set by the caller) against the socket of SERVER ($tmp/SERVER.sock) and compares exit status,
# status code, payload hex ("-": not checked), the stream's data lines joined by commas ("-":
# not checked) and the status message: "-" not checked, "+TEXT" must contain TEXT, "!TEXT" must
# not contain TEXT. A NAME ending in "# ..." carries a comment for the ok line.
c_client_check() {
    local server=$1 name=$2 want_rc=$3 want_code=$4 want_payload=$5 want_data=$6 want_msg=$7
    local out rc code payload data msg problems=() sock
    shift 7
    sock="$tmp/$server.sock"
    run_wait timeout -k 2 10 "$ref_client" --connect "unix:$sock" "$@" >"$tmp/ref-client.out" 2>"$tmp/ref-client.err"
    rc=$?
    out=$(head -c 4000 "$tmp/ref-client.out")
    code=$(printf '%s\n' "$out" | sed -n 's/^status: \([0-9][0-9]*\).*/\1/p' | head -n 1)
    [ "$rc" -eq "$want_rc" ] || problems+=("exit status $rc, expected $want_rc")
    [ "$code" = "$want_code" ] || problems+=("status code '${code}', expected $want_code")
    if [ "$want_payload" != - ]; then
        if ! printf '%s\n' "$out" | grep -q '^payload:'; then
            problems+=("no payload line")
        else
            payload=$(printf '%s\n' "$out" | sed -n 's/^payload: *//p' | head -n 1 | tr -d ' ')
            [ "$payload" = "$want_payload" ] || problems+=("payload '$payload', expected '$want_payload'")
        fi
    fi
    if [ "$want_data" != - ]; then
        data=$(printf '%s\n' "$out" | sed -n 's/^data: *//p' | tr -d ' ' | paste -sd, -)
        [ "$data" = "$want_data" ] || problems+=("data lines '$data', expected '$want_data'")
    fi
    msg=$(printf '%s\n' "$out" | sed -n 's/^message: //p' | head -n 1)
    case $want_msg in
        +*) [[ $msg == *"${want_msg#+}"* ]] || problems+=("message '$msg' does not contain '${want_msg#+}'") ;;
        !*) [[ $msg != *"${want_msg#!}"* ]] || problems+=("message '$msg' contains '${want_msg#!}'") ;;
    esac
    if [ ${#problems[@]} -eq 0 ]; then
        ok "c-client/$server/$name"
    else
        not_ok "c-client/$server/${name%% #*}" "${problems[@]}" "command: ttrpc-ref-client --connect unix:$sock $*" \
            "output: $out" "stderr: $(head -c 1000 "$tmp/ref-client.err")"
    fi
}
