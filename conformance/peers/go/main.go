// Command ttrpc-peer-go is the Go peer of the ttrpc conformance suite. It wraps the real
// github.com/containerd/ttrpc library in one binary with two roles:
//
//	ttrpc-peer-go server (--listen unix:PATH | --fd N)
//	ttrpc-peer-go client --connect unix:PATH [--scenario NAME]... | --list
//
// The server serves ttrpc.conformance.v1.Echo (conformance/proto/echo.proto); the client runs
// named scenarios against any server of that service and prints one JSON line per scenario.
// Nothing here speaks the wire protocol itself: framing, streams and status handling all come
// from the library.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const (
	progName    = "ttrpc-peer-go"
	serviceName = "ttrpc.conformance.v1.Echo"

	exitOK      = 0
	exitFailed  = 1 // client: a scenario failed; server: serving failed after start
	exitCantRun = 2 // usage errors, cannot listen or connect, unknown scenario
)

// maxSunPath is the size of sockaddr_un.sun_path on Linux, terminating NUL included.
const maxSunPath = 108

func usage(w io.Writer) {
	fmt.Fprintf(w, `usage:
  %[1]s server --listen unix:PATH
  %[1]s server --fd N
  %[1]s client --connect unix:PATH [--scenario NAME]...
  %[1]s client --list
  %[1]s help

Go peer of the ttrpc conformance suite, built on github.com/containerd/ttrpc.

server  Serves %[2]s on a new Unix socket at PATH (--listen) or on an
        already-listening Unix socket inherited as file descriptor N (--fd).
        Prints "ready" on stdout once listening; exits 0 on SIGTERM or SIGINT.
client  Runs scenarios (default: all, in list order) against the server at PATH, each on
        a fresh connection with a 5 s limit, and prints one JSON line per scenario:
          {"scenario":NAME,"ok":BOOL,"code":GRPC_CODE,"detail":TEXT}
        --list prints the scenario names.

Exit status: 0 success; 1 a scenario failed (client) or serving failed (server);
2 usage error, cannot listen, cannot connect or unknown scenario.
`, progName, serviceName)
}

// usageError reports a command-line mistake and returns the usage exit status.
func usageError(format string, args ...interface{}) int {
	fmt.Fprintf(os.Stderr, "%s: %s\n", progName, fmt.Sprintf(format, args...))
	fmt.Fprintf(os.Stderr, "Try '%s --help'.\n", progName)
	return exitCantRun
}

// fatal reports a runtime problem and returns the given exit status.
func fatal(code int, format string, args ...interface{}) int {
	fmt.Fprintf(os.Stderr, "%s: %s\n", progName, fmt.Sprintf(format, args...))
	return code
}

// parseUnixAddr accepts "unix:PATH" and returns PATH.
func parseUnixAddr(addr string) (string, error) {
	path, found := strings.CutPrefix(addr, "unix:")
	if !found {
		return "", fmt.Errorf("address %q: only unix:PATH is supported", addr)
	}
	if path == "" {
		return "", errors.New("address \"unix:\": empty socket path")
	}
	if len(path) >= maxSunPath {
		return "", fmt.Errorf("socket path %q is %d bytes long, the limit is %d", path, len(path), maxSunPath-1)
	}
	return path, nil
}

func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return exitCantRun
	}
	switch args[0] {
	case "server":
		return serverMain(args[1:])
	case "client":
		return clientMain(args[1:])
	case "help", "-h", "-help", "--help":
		usage(os.Stdout)
		return exitOK
	default:
		return usageError("unknown command %q (expected server or client)", args[0])
	}
}

func main() {
	os.Exit(run(os.Args[1:]))
}
