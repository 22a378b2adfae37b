package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/containerd/ttrpc"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const (
	scenarioTimeout = 5 * time.Second
	// hardStop is the grace after scenarioTimeout before the connection is torn down under
	// a scenario that ignores its context (e.g. blocked in a socket write).
	hardStop = time.Second
	dialWait = 5 * time.Second
)

// result is one scenario's verdict, printed as one JSON line.
type result struct {
	Scenario string `json:"scenario"`
	OK       bool   `json:"ok"`
	Code     int    `json:"code"`
	Detail   string `json:"detail"`
}

type scenario struct {
	name string
	// opts are extra client options for this scenario's connection.
	opts func() []ttrpc.ClientOpts
	run  func(ctx context.Context, c *ttrpc.Client) result
}

var scenarios = []scenario{
	{name: "echo", run: func(ctx context.Context, c *ttrpc.Client) result {
		return echoCase(ctx, c, []byte("hello ttrpc"))
	}},
	{name: "echo-empty", run: func(ctx context.Context, c *ttrpc.Client) result {
		return echoCase(ctx, c, nil)
	}},
	{name: "echo-large", run: func(ctx context.Context, c *ttrpc.Client) result {
		v := make([]byte, 1<<20)
		for i := range v {
			v[i] = byte(i % 251)
		}
		return echoCase(ctx, c, v)
	}},
	{name: "metadata", run: metadataCase},
	{name: "fail", run: func(ctx context.Context, c *ttrpc.Client) result {
		return failCase(ctx, c, codes.Unimplemented, "x")
	}},
	{name: "fail-code-3", run: func(ctx context.Context, c *ttrpc.Client) result {
		return failCase(ctx, c, codes.InvalidArgument, "bad")
	}},
	{name: "unknown-method", run: unknownMethodCase},
	{name: "deadline", run: deadlineCase},
	{name: "deadline-remote", opts: remoteDeadlineOpts, run: remoteDeadlineCase},
	{name: "server-stream", run: serverStreamCase},
	{name: "client-stream", run: clientStreamCase},
	{name: "bidi-stream", run: bidiStreamCase},
}

func findScenario(name string) *scenario {
	for i := range scenarios {
		if scenarios[i].name == name {
			return &scenarios[i]
		}
	}
	return nil
}

// codeOf gives the gRPC code a call ended with. Status errors carry their own code; the
// library's local errors are mapped: context expiry 4, cancellation 1, a closed connection
// 14 (UNAVAILABLE), anything else 2 (UNKNOWN).
func codeOf(err error) int {
	if err == nil {
		return int(codes.OK)
	}
	if st, ok := status.FromError(err); ok {
		return int(st.Code())
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return int(codes.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return int(codes.Canceled)
	case errors.Is(err, ttrpc.ErrClosed):
		return int(codes.Unavailable)
	}
	return int(codes.Unknown)
}

// origin tells whether an error came from the peer (a status in a Response) or was produced
// on this side.
func origin(err error) string {
	if _, ok := status.FromError(err); ok {
		return "status from the server"
	}
	return "local error"
}

// callFailed is the result for a call that should have succeeded.
func callFailed(what string, err error) result {
	return result{Code: codeOf(err), Detail: fmt.Sprintf("%s: %s: %v", what, origin(err), err)}
}

func pass(format string, args ...interface{}) result {
	return result{OK: true, Detail: fmt.Sprintf(format, args...)}
}

func fail(format string, args ...interface{}) result {
	return result{Detail: fmt.Sprintf(format, args...)}
}

// expectCode is the result for a call that should end with code want.
func expectCode(err error, want codes.Code, elapsed time.Duration) result {
	got := codeOf(err)
	r := result{OK: got == int(want), Code: got}
	if err == nil {
		r.Detail = fmt.Sprintf("call succeeded after %d ms, expected code %d (%s)", elapsed.Milliseconds(), want, want)
	} else {
		r.Detail = fmt.Sprintf("code %d (%s) after %d ms, %s: %v", got, codes.Code(got), elapsed.Milliseconds(), origin(err), err)
		if !r.OK {
			r.Detail = fmt.Sprintf("expected code %d (%s), got %s", want, want, r.Detail)
		}
	}
	return r
}

func describeBytes(b []byte) string {
	const show = 16
	if len(b) <= show {
		return fmt.Sprintf("%d bytes %q", len(b), b)
	}
	return fmt.Sprintf("%d bytes starting %q", len(b), b[:show])
}

func echoCase(ctx context.Context, c *ttrpc.Client, v []byte) result {
	var resp wrapperspb.BytesValue
	if err := c.Call(ctx, serviceName, "Echo", wrapperspb.Bytes(v), &resp); err != nil {
		return callFailed("Echo", err)
	}
	got := resp.GetValue()
	if !bytes.Equal(got, v) {
		at := 0
		for at < len(got) && at < len(v) && got[at] == v[at] {
			at++
		}
		return fail("sent %s, got %s back (first difference at offset %d)", describeBytes(v), describeBytes(got), at)
	}
	return pass("%d bytes echoed unchanged", len(got))
}

func metadataCase(ctx context.Context, c *ttrpc.Client) result {
	md := ttrpc.MD{"x-one": {"1"}, "x-two": {"a", "b"}}
	want := []string{"x-one=1", "x-two=a", "x-two=b"}
	var resp ttrpc.StringList
	if err := c.Call(ttrpc.WithMetadata(ctx, md), serviceName, "Metadata", &wrapperspb.BytesValue{}, &resp); err != nil {
		return callFailed("Metadata", err)
	}
	if !slices.Equal(resp.GetList(), want) {
		return fail("expected %q, got %q", want, resp.GetList())
	}
	return pass("server saw %q", resp.GetList())
}

func failCase(ctx context.Context, c *ttrpc.Client, code codes.Code, msg string) result {
	var resp wrapperspb.BytesValue
	start := time.Now()
	err := c.Call(ctx, serviceName, "Fail", &rpcstatus.Status{Code: int32(code), Message: msg}, &resp)
	r := expectCode(err, code, time.Since(start))
	if r.OK {
		// Messages are informational only: peers may word them differently.
		r.Detail = fmt.Sprintf("code %d, message %q", r.Code, status.Convert(err).Message())
	}
	return r
}

func unknownMethodCase(ctx context.Context, c *ttrpc.Client) result {
	var resp wrapperspb.BytesValue
	start := time.Now()
	err := c.Call(ctx, serviceName, "NoSuchMethod", &wrapperspb.BytesValue{}, &resp)
	return expectCode(err, codes.Unimplemented, time.Since(start))
}

// deadlineCase: the Go client enforces the context deadline itself and also sends it as
// timeout_nano, so a code 4 may come from either side; the detail says which.
func deadlineCase(ctx context.Context, c *ttrpc.Client) result {
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	var resp wrapperspb.BytesValue
	start := time.Now()
	err := c.Call(ctx, serviceName, "Sleep", wrapperspb.UInt64(2000), &resp)
	return expectCode(err, codes.DeadlineExceeded, time.Since(start))
}

// remoteTimeout is the timeout_nano that deadline-remote puts in its Request.
const remoteTimeout = 200 * time.Millisecond

// remoteDeadlineOpts installs an interceptor that replaces the Request's timeout_nano with
// 200 ms while the caller's context keeps the 5 s scenario limit: the client then waits
// for the server, so only a server that enforces timeout_nano itself answers 4 in time.
func remoteDeadlineOpts() []ttrpc.ClientOpts {
	return []ttrpc.ClientOpts{ttrpc.WithUnaryClientInterceptor(
		func(ctx context.Context, req *ttrpc.Request, resp *ttrpc.Response, _ *ttrpc.UnaryClientInfo, invoke ttrpc.Invoker) error {
			req.TimeoutNano = remoteTimeout.Nanoseconds()
			return invoke(ctx, req, resp)
		})}
}

func remoteDeadlineCase(ctx context.Context, c *ttrpc.Client) result {
	var resp wrapperspb.BytesValue
	start := time.Now()
	err := c.Call(ctx, serviceName, "Sleep", wrapperspb.UInt64(2000), &resp)
	elapsed := time.Since(start)
	r := expectCode(err, codes.DeadlineExceeded, elapsed)
	if r.OK {
		if _, fromServer := status.FromError(err); !fromServer {
			r.OK = false
			r.Detail = "expected a status 4 from the server, got a " + r.Detail
		} else if elapsed >= 1500*time.Millisecond {
			r.OK = false
			r.Detail = fmt.Sprintf("status 4 came only after %d ms (timeout_nano was %d ms)", elapsed.Milliseconds(), remoteTimeout.Milliseconds())
		}
	}
	return r
}

// maxExtra bounds how many unexpected stream messages a scenario reads before giving up.
const maxExtra = 16

func serverStreamCase(ctx context.Context, c *ttrpc.Client) result {
	const n = 5
	s, err := c.NewStream(ctx, &ttrpc.StreamDesc{StreamingServer: true}, serviceName, "ServerStream", wrapperspb.UInt64(n))
	if err != nil {
		return callFailed("NewStream", err)
	}
	var got []uint64
	for len(got) < n+maxExtra {
		m := &wrapperspb.UInt64Value{}
		err := s.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r := callFailed(fmt.Sprintf("RecvMsg after %v", got), err)
			return r
		}
		got = append(got, m.GetValue())
	}
	want := []uint64{0, 1, 2, 3, 4}
	if !slices.Equal(got, want) {
		return fail("expected %v then end of stream, got %v", want, got)
	}
	return pass("received %v, then end of stream", got)
}

func clientStreamCase(ctx context.Context, c *ttrpc.Client) result {
	s, err := c.NewStream(ctx, &ttrpc.StreamDesc{StreamingClient: true}, serviceName, "ClientStream", nil)
	if err != nil {
		return callFailed("NewStream", err)
	}
	for _, v := range []uint64{1, 2, 3, 4} {
		if err := s.SendMsg(wrapperspb.UInt64(v)); err != nil {
			return callFailed(fmt.Sprintf("SendMsg(%d)", v), err)
		}
	}
	if err := s.CloseSend(); err != nil {
		return callFailed("CloseSend", err)
	}
	var sum wrapperspb.UInt64Value
	if err := s.RecvMsg(&sum); err != nil {
		return callFailed("RecvMsg", err)
	}
	if sum.GetValue() != 10 {
		return fail("sent 1,2,3,4: expected sum 10, got %d", sum.GetValue())
	}
	return pass("sum of 1,2,3,4 is %d", sum.GetValue())
}

func bidiStreamCase(ctx context.Context, c *ttrpc.Client) result {
	s, err := c.NewStream(ctx, &ttrpc.StreamDesc{StreamingClient: true, StreamingServer: true}, serviceName, "BidiStream", nil)
	if err != nil {
		return callFailed("NewStream", err)
	}
	sent := []string{"a", "b", "c"}
	for _, v := range sent {
		if err := s.SendMsg(wrapperspb.Bytes([]byte(v))); err != nil {
			return callFailed(fmt.Sprintf("SendMsg(%q)", v), err)
		}
		m := &wrapperspb.BytesValue{}
		if err := s.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				return fail("stream ended instead of echoing %q", v)
			}
			return callFailed(fmt.Sprintf("RecvMsg for %q", v), err)
		}
		if string(m.GetValue()) != v {
			return fail("sent %q, got %q back", v, m.GetValue())
		}
	}
	if err := s.CloseSend(); err != nil {
		return callFailed("CloseSend", err)
	}
	var extra []string
	for len(extra) < maxExtra {
		m := &wrapperspb.BytesValue{}
		err := s.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return callFailed("RecvMsg after CloseSend", err)
		}
		extra = append(extra, string(m.GetValue()))
	}
	if len(extra) > 0 {
		return fail("echoes matched, but after CloseSend got %q instead of end of stream", extra)
	}
	return pass("echoed %q one by one, then end of stream", sent)
}

// runScenario runs one scenario on a fresh connection and never takes much longer than
// scenarioTimeout: a scenario stuck past it loses its connection.
func runScenario(path string, sc *scenario) result {
	var r result
	conn, err := net.DialTimeout("unix", path, dialWait)
	if err != nil {
		r = result{Code: int(codes.Unavailable), Detail: fmt.Sprintf("cannot connect to unix:%s: %v", path, err)}
	} else {
		var opts []ttrpc.ClientOpts
		if sc.opts != nil {
			opts = sc.opts()
		}
		client := ttrpc.NewClient(conn, opts...)
		ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
		done := make(chan result, 1)
		go func() { done <- sc.run(ctx, client) }()
		select {
		case r = <-done:
		case <-time.After(scenarioTimeout + hardStop):
			client.Close()
			select {
			case r = <-done:
				r.OK = false
				r.Detail = fmt.Sprintf("scenario ignored its %v limit and was cut off: %s", scenarioTimeout, r.Detail)
			case <-time.After(hardStop):
				r = result{Code: int(codes.DeadlineExceeded), Detail: fmt.Sprintf("scenario still blocked %v after its %v limit", 2*hardStop, scenarioTimeout)}
			}
		}
		cancel()
		client.Close()
	}
	r.Scenario = sc.name
	return r
}

type scenarioList []string

func (l *scenarioList) String() string { return strings.Join(*l, ",") }

func (l *scenarioList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func clientMain(args []string) int {
	fs := flag.NewFlagSet(progName+" client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	connect := fs.String("connect", "", "unix:PATH of the server")
	list := fs.Bool("list", false, "print the scenario names and exit")
	var names scenarioList
	fs.Var(&names, "scenario", "scenario to run (repeatable; default all)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(os.Stdout)
			return exitOK
		}
		return usageError("client: %v", err)
	}
	if fs.NArg() > 0 {
		return usageError("client: unexpected argument %q", fs.Arg(0))
	}
	if *list {
		for _, sc := range scenarios {
			fmt.Println(sc.name)
		}
		return exitOK
	}
	if *connect == "" {
		return usageError("client: --connect unix:PATH is required")
	}
	path, err := parseUnixAddr(*connect)
	if err != nil {
		return usageError("client: --connect: %v", err)
	}

	var selected []*scenario
	if len(names) == 0 {
		for i := range scenarios {
			selected = append(selected, &scenarios[i])
		}
	}
	for _, n := range names {
		sc := findScenario(n)
		if sc == nil {
			return usageError("client: unknown scenario %q (see --list)", n)
		}
		selected = append(selected, sc)
	}

	// One probe connection first: a server that is not there is "could not run", not a
	// list of failed scenarios.
	probe, err := net.DialTimeout("unix", path, dialWait)
	if err != nil {
		return fatal(exitCantRun, "client: cannot connect to unix:%s: %v", path, err)
	}
	probe.Close()

	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	exit := exitOK
	for _, sc := range selected {
		r := runScenario(path, sc)
		if !r.OK {
			exit = exitFailed
		}
		if err := enc.Encode(r); err != nil {
			return fatal(exitCantRun, "client: writing results: %v", err)
		}
	}
	return exit
}
