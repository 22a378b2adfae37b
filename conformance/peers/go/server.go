package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// shutdownGrace bounds how long a SIGTERM waits for connections with calls in flight.
const shutdownGrace = 2 * time.Second

// echoService describes ttrpc.conformance.v1.Echo. Its messages are wire-identical to
// well-known types: Bytes = BytesValue, Count = UInt64Value.
func echoService() *ttrpc.ServiceDesc {
	return &ttrpc.ServiceDesc{
		Methods: map[string]ttrpc.Method{
			"Echo":     handleEcho,
			"Fail":     handleFail,
			"Metadata": handleMetadata,
			"Sleep":    handleSleep,
		},
		Streams: map[string]ttrpc.Stream{
			"ServerStream": {Handler: handleServerStream, StreamingServer: true},
			"ClientStream": {Handler: handleClientStream, StreamingClient: true},
			"BidiStream":   {Handler: handleBidiStream, StreamingClient: true, StreamingServer: true},
		},
	}
}

func handleEcho(_ context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	req := &wrapperspb.BytesValue{}
	if err := unmarshal(req); err != nil {
		return nil, err
	}
	return req, nil
}

func handleFail(_ context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	req := &rpcstatus.Status{}
	if err := unmarshal(req); err != nil {
		return nil, err
	}
	if req.GetCode() == int32(codes.OK) {
		return &wrapperspb.BytesValue{}, nil
	}
	// Passed through as given: code, message and details.
	return nil, status.ErrorProto(req)
}

func handleMetadata(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	if err := unmarshal(&wrapperspb.BytesValue{}); err != nil {
		return nil, err
	}
	list := []string{}
	if md, ok := ttrpc.GetMetadata(ctx); ok {
		for key, values := range md {
			for _, v := range values {
				list = append(list, key+"="+v)
			}
		}
	}
	sort.Strings(list) // Go compares strings bytewise
	return &ttrpc.StringList{List: list}, nil
}

func handleSleep(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	req := &wrapperspb.UInt64Value{}
	if err := unmarshal(req); err != nil {
		return nil, err
	}
	ms := req.GetValue()
	const maxMs = uint64(1<<63-1) / uint64(time.Millisecond)
	if ms > maxMs {
		ms = maxMs
	}
	timer := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer timer.Stop()
	select {
	case <-timer.C:
		return &wrapperspb.BytesValue{}, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, status.Errorf(codes.DeadlineExceeded, "sleep of %d ms cut short by the request deadline", req.GetValue())
		}
		// The connection went away or the server is shutting down: nobody reads this.
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func handleServerStream(ctx context.Context, ss ttrpc.StreamServer) (interface{}, error) {
	req := &wrapperspb.UInt64Value{}
	if err := ss.RecvMsg(req); err != nil {
		return nil, err
	}
	for i := uint64(0); i < req.GetValue(); i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := ss.SendMsg(wrapperspb.UInt64(i)); err != nil {
			return nil, err
		}
	}
	return nil, nil // the library ends the stream with Data[RC|ND]
}

func handleClientStream(_ context.Context, ss ttrpc.StreamServer) (interface{}, error) {
	var sum uint64
	for {
		m := &wrapperspb.UInt64Value{}
		err := ss.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			return wrapperspb.UInt64(sum), nil
		}
		if err != nil {
			return nil, err
		}
		sum += m.GetValue()
	}
}

func handleBidiStream(_ context.Context, ss ttrpc.StreamServer) (interface{}, error) {
	for {
		m := &wrapperspb.BytesValue{}
		err := ss.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if err := ss.SendMsg(m); err != nil {
			return nil, err
		}
	}
}

// listenerFromFd adopts an already-listening socket inherited as descriptor fd.
func listenerFromFd(fd int) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), fmt.Sprintf("fd %d", fd))
	if f == nil {
		return nil, fmt.Errorf("fd %d is not a valid descriptor", fd)
	}
	defer f.Close() // FileListener holds its own duplicate
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("fd %d: %w", fd, err)
	}
	if _, ok := l.(*net.UnixListener); !ok {
		l.Close()
		return nil, fmt.Errorf("fd %d is a %T, not a Unix socket", fd, l)
	}
	return l, nil
}

func serverMain(args []string) int {
	fs := flag.NewFlagSet(progName+" server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "", "unix:PATH to create and listen on")
	fd := fs.Int("fd", -1, "inherited listening Unix socket descriptor")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(os.Stdout)
			return exitOK
		}
		return usageError("server: %v", err)
	}
	if fs.NArg() > 0 {
		return usageError("server: unexpected argument %q", fs.Arg(0))
	}
	fdSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "fd" {
			fdSet = true
		}
	})
	if (*listen == "") == !fdSet {
		return usageError("server: give exactly one of --listen unix:PATH and --fd N")
	}

	var (
		l   net.Listener
		err error
	)
	if fdSet {
		if *fd < 0 {
			return usageError("server: --fd %d: not a descriptor number", *fd)
		}
		if l, err = listenerFromFd(*fd); err != nil {
			return fatal(exitCantRun, "server: cannot use listening socket: %v", err)
		}
	} else {
		path, perr := parseUnixAddr(*listen)
		if perr != nil {
			return usageError("server: --listen: %v", perr)
		}
		if l, err = net.Listen("unix", path); err != nil {
			return fatal(exitCantRun, "server: cannot listen: %v", err)
		}
	}

	srv, err := ttrpc.NewServer()
	if err != nil {
		l.Close()
		return fatal(exitCantRun, "server: %v", err)
	}
	srv.RegisterService(serviceName, echoService())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), l) }()

	// os.Stdout is unbuffered: this line is written out at once.
	fmt.Fprintln(os.Stdout, "ready")

	select {
	case <-ctx.Done():
		// Stop accepting, give calls in flight a moment, then cut what is left.
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(os.Stderr, "%s: server: shutdown: %v\n", progName, err)
		}
		srv.Close()
		<-served
		return exitOK
	case err := <-served:
		srv.Close()
		if err == nil || errors.Is(err, ttrpc.ErrServerClosed) {
			return exitOK
		}
		return fatal(exitFailed, "server: serve: %v", err)
	}
}
