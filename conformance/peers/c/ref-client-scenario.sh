#!/bin/sh
# Runs one named client scenario with ttrpc-ref-client, so that `ttrpc-conform client` can
# drive it like the Go and Rust peers' `client --scenario NAME`:
#   ref-client-scenario.sh unix:PATH SCENARIO CLIENT [CLIENT-OPTIONS...]
# CLIENT is the ttrpc-ref-client binary; CLIENT-OPTIONS go before the call (e.g. --fault NAME).
# The client replaces this shell (exec), so its exit status and signals are the harness's to
# see. Scenarios (the Go peer's names):
#   echo           Echo(Bytes "hello ttrpc"), 2 s deadline
#   deadline       Sleep(Count 2000) with a 200 ms deadline
#   server-stream  ServerStream(Count 5), 2 s deadline
#   client-stream  ClientStream of Count 1, 2, 3, 4, 2 s deadline
#   bidi-stream    BidiStream of Bytes "a", "b", "c", 2 s deadline
set -u
if [ "$#" -lt 3 ]; then
    echo "usage: $0 unix:PATH SCENARIO CLIENT [CLIENT-OPTIONS...]" >&2
    exit 2
fi
address=$1
scenario=$2
client=$3
shift 3
service=ttrpc.conformance.v1.Echo
case $scenario in
echo) exec "$client" "$@" --connect "$address" --timeout-ms 2000 \
    --hex 0a0b68656c6c6f207474727063 "$service" Echo ;;
deadline) exec "$client" "$@" --connect "$address" --timeout-ms 200 --hex 08d00f "$service" Sleep ;;
server-stream) exec "$client" "$@" --connect "$address" --timeout-ms 2000 --stream server \
    --hex 0805 "$service" ServerStream ;;
client-stream) exec "$client" "$@" --connect "$address" --timeout-ms 2000 --stream client \
    --send 0801 --send 0802 --send 0803 --send 0804 "$service" ClientStream ;;
bidi-stream) exec "$client" "$@" --connect "$address" --timeout-ms 2000 --stream bidi \
    --send 0a0161 --send 0a0162 --send 0a0163 "$service" BidiStream ;;
*)
    echo "$0: unknown scenario '$scenario' (echo, deadline, server-stream, client-stream," \
        "bidi-stream)" >&2
    exit 2
    ;;
esac
