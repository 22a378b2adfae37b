//! The client role: the Go peer's scenarios, run with the crate's sync or async client against
//! any server of ttrpc.conformance.v1.Echo, one fresh connection and a 5 s limit per scenario,
//! one JSON line per scenario.
//!
//! Differences from the Go peer, all forced by the crate's API:
//! - deadline-remote is not offered: both clients wait locally for exactly the Request's
//!   timeout_nano, so a short remote deadline cannot be sent with a longer local wait.
//! - The sync flavor has no streaming API: it offers the unary scenarios only.
//! - Calls carry timeout_nano 0 unless the scenario sets one (the Go client sends its 5 s
//!   scenario deadline with every call).
//! - The crate's clients report a status whose code number is not in their enum (e.g. 99) as
//!   success; we read the raw code from the Response and report it as the failure it is.

use std::collections::HashMap;
use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use protobuf::Message;
use ttrpc::context::Context;
use ttrpc::r#async::Client as AsyncClient;
use ttrpc::{Client as SyncClient, Error, Request};

use crate::args::{self, Kind as ArgKind, Parsed};
use crate::msgs::{self, BytesValue, StringList, UInt64Value};
use crate::{fatal, usage, usage_error, Flavor, EXIT_CANT_RUN, EXIT_FAILED, EXIT_OK, SERVICE};

const SCENARIO_TIMEOUT: Duration = Duration::from_secs(5);
/// Grace after SCENARIO_TIMEOUT before a scenario stuck in a blocking call is abandoned.
const HARD_STOP: Duration = Duration::from_secs(1);
/// maxExtra in the Go peer: how many unexpected stream messages a scenario reads at most.
const MAX_EXTRA: usize = 16;

const UNARY_SCENARIOS: [&str; 8] = [
    "echo",
    "echo-empty",
    "echo-large",
    "metadata",
    "fail",
    "fail-code-3",
    "unknown-method",
    "deadline",
];
const STREAM_SCENARIOS: [&str; 3] = ["server-stream", "client-stream", "bidi-stream"];

fn scenarios(flavor: Flavor) -> Vec<&'static str> {
    let mut v = UNARY_SCENARIOS.to_vec();
    if flavor == Flavor::Async {
        v.extend_from_slice(&STREAM_SCENARIOS);
    }
    v
}

// gRPC codes used here.
const OK: i32 = 0;
const UNKNOWN: i32 = 2;
const INVALID_ARGUMENT: i32 = 3;
const DEADLINE_EXCEEDED: i32 = 4;
const UNIMPLEMENTED: i32 = 12;
const UNAVAILABLE: i32 = 14;

fn code_name(code: i32) -> String {
    const NAMES: [&str; 17] = [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("Code({})", code))
}

/// One scenario's verdict, printed as one JSON line.
struct Verdict {
    ok: bool,
    code: i32,
    detail: String,
}

fn pass(detail: String) -> Verdict {
    Verdict { ok: true, code: OK, detail }
}

fn fail(detail: String) -> Verdict {
    Verdict { ok: false, code: OK, detail }
}

/// A call that did not succeed: the gRPC code it ended with and where that came from.
struct CallError {
    code: i32,
    from_server: bool,
    text: String,
}

impl CallError {
    fn origin(&self) -> &'static str {
        if self.from_server {
            "status from the server"
        } else {
            "local error"
        }
    }

    /// The verdict for a call that should have succeeded.
    fn failed(&self, what: &str) -> Verdict {
        Verdict {
            ok: false,
            code: self.code,
            detail: format!("{}: {}: {}", what, self.origin(), self.text),
        }
    }
}

/// Maps the crate's errors to gRPC codes. A status in a Response keeps its code; local errors:
/// the client's own timeout 4, a lost or closed connection 14, anything else 2. The crate
/// signals its timeout only through the error text ("Receive packet timeout" async,
/// "Receive packet from Receiver timeout" sync).
fn classify(err: Error) -> CallError {
    match err {
        Error::RpcStatus(st) => CallError {
            code: msgs::status_code(&st),
            from_server: true,
            text: format!("code {}, message {:?}", msgs::status_code(&st), st.message),
        },
        Error::Others(ref s) if s.contains("Receive packet timeout") || s.contains("Receiver timeout") => {
            CallError { code: DEADLINE_EXCEEDED, from_server: false, text: err.to_string() }
        }
        Error::Socket(_) | Error::RemoteClosed | Error::LocalClosed => {
            CallError { code: UNAVAILABLE, from_server: false, text: err.to_string() }
        }
        other => CallError { code: UNKNOWN, from_server: false, text: other.to_string() },
    }
}

/// What a unary call gave back: the Response payload, or why there is none.
fn unary_outcome(r: ttrpc::Result<ttrpc::Response>) -> Result<Vec<u8>, CallError> {
    let res = r.map_err(classify)?;
    // The crate reads the code through its enum, which turns numbers it does not know into OK:
    // look at the raw number.
    if let Some(st) = res.status.as_ref() {
        let code = msgs::status_code(st);
        if code != OK {
            return Err(CallError {
                code,
                from_server: true,
                text: format!(
                    "code {} (which the ttrpc crate reports as success), message {:?}",
                    code, st.message
                ),
            });
        }
    }
    Ok(res.payload)
}

/// The verdict for a call that should end with code `want`.
fn expect_code(r: Result<Vec<u8>, CallError>, want: i32, elapsed: Duration) -> Verdict {
    let ms = elapsed.as_millis();
    match r {
        Ok(_) => Verdict {
            ok: false,
            code: OK,
            detail: format!(
                "call succeeded after {} ms, expected code {} ({})",
                ms,
                want,
                code_name(want)
            ),
        },
        Err(e) => {
            let got = format!(
                "code {} ({}) after {} ms, {}: {}",
                e.code,
                code_name(e.code),
                ms,
                e.origin(),
                e.text
            );
            if e.code == want {
                Verdict { ok: true, code: e.code, detail: got }
            } else {
                Verdict {
                    ok: false,
                    code: e.code,
                    detail: format!("expected code {} ({}), got {}", want, code_name(want), got),
                }
            }
        }
    }
}

fn describe_bytes(b: &[u8]) -> String {
    const SHOW: usize = 16;
    if b.len() <= SHOW {
        format!("{} bytes \"{}\"", b.len(), b.escape_ascii())
    } else {
        format!("{} bytes starting \"{}\"", b.len(), b[..SHOW].escape_ascii())
    }
}

fn decode_reply<M: Message>(payload: &[u8]) -> Result<M, Verdict> {
    msgs::decode::<M>(payload).map_err(|e| Verdict {
        ok: false,
        code: INVALID_ARGUMENT,
        detail: format!("reply: {}", e),
    })
}

// --- unary scenarios: the Request to send and how to judge what comes back --------------------

type Judge = Box<dyn FnOnce(Result<Vec<u8>, CallError>, Duration) -> Verdict + Send>;

struct Unary {
    req: Request,
    judge: Judge,
}

fn request(method: &str, payload: Vec<u8>, ctx: Context) -> Request {
    // Filled the way the crate's generated client code fills it from a Context.
    let mut req = Request::new();
    req.set_service(SERVICE.to_string());
    req.set_method(method.to_string());
    req.set_timeout_nano(ctx.timeout_nano);
    req.set_metadata(ttrpc::context::to_pb(ctx.metadata));
    req.payload = payload;
    req
}

fn echo_case(v: Vec<u8>) -> Unary {
    let req = request("Echo", msgs::encode(&msgs::bytes_msg(&v)), Context::default());
    let judge: Judge = Box::new(move |r, _| {
        let payload = match r {
            Ok(p) => p,
            Err(e) => return e.failed("Echo"),
        };
        let got = match decode_reply::<BytesValue>(&payload) {
            Ok(m) => m.value,
            Err(v) => return v,
        };
        if got != v {
            let at = got.iter().zip(v.iter()).take_while(|(a, b)| a == b).count();
            return fail(format!(
                "sent {}, got {} back (first difference at offset {})",
                describe_bytes(&v),
                describe_bytes(&got),
                at
            ));
        }
        pass(format!("{} bytes echoed unchanged", got.len()))
    });
    Unary { req, judge }
}

fn metadata_case() -> Unary {
    let mut md: HashMap<String, Vec<String>> = HashMap::new();
    md.insert("x-one".into(), vec!["1".into()]);
    md.insert("x-two".into(), vec!["a".into(), "b".into()]);
    let req = request("Metadata", msgs::encode(&BytesValue::new()), ttrpc::context::with_metadata(md));
    let judge: Judge = Box::new(|r, _| {
        let want = ["x-one=1", "x-two=a", "x-two=b"];
        let payload = match r {
            Ok(p) => p,
            Err(e) => return e.failed("Metadata"),
        };
        let got = match decode_reply::<StringList>(&payload) {
            Ok(m) => m.paths,
            Err(v) => return v,
        };
        if got != want {
            return fail(format!("expected {:?}, got {:?}", want, got));
        }
        pass(format!("server saw {:?}", got))
    });
    Unary { req, judge }
}

fn fail_case(code: i32, msg: &str) -> Unary {
    let mut st = ttrpc::Status::new();
    st.code = protobuf::EnumOrUnknown::from_i32(code);
    st.message = msg.to_string();
    let req = request("Fail", msgs::encode(&st), Context::default());
    let judge: Judge = Box::new(move |r, elapsed| {
        let mut v = expect_code(r, code, elapsed);
        if v.ok {
            // Messages are informational only: peers may word them differently.
            v.detail = v.detail.split_once(": ").map(|x| x.1.to_string()).unwrap_or_default();
        }
        v
    });
    Unary { req, judge }
}

fn unknown_method_case() -> Unary {
    let req = request("NoSuchMethod", msgs::encode(&BytesValue::new()), Context::default());
    Unary { req, judge: Box::new(|r, elapsed| expect_code(r, UNIMPLEMENTED, elapsed)) }
}

/// deadline: a 200 ms timeout_nano on a 2 s Sleep. The crate's clients also wait locally for
/// exactly that long, so a 4 may come from either side; the detail says which.
fn deadline_case() -> Unary {
    let ctx = ttrpc::context::with_duration(Duration::from_millis(200));
    let req = request("Sleep", msgs::encode(&msgs::count_msg(2000)), ctx);
    Unary { req, judge: Box::new(|r, elapsed| expect_code(r, DEADLINE_EXCEEDED, elapsed)) }
}

fn unary_case(name: &str) -> Option<Unary> {
    Some(match name {
        "echo" => echo_case(b"hello ttrpc".to_vec()),
        "echo-empty" => echo_case(Vec::new()),
        "echo-large" => echo_case((0..1usize << 20).map(|i| (i % 251) as u8).collect()),
        "metadata" => metadata_case(),
        "fail" => fail_case(UNIMPLEMENTED, "x"),
        "fail-code-3" => fail_case(INVALID_ARGUMENT, "bad"),
        "unknown-method" => unknown_method_case(),
        "deadline" => deadline_case(),
        _ => return None,
    })
}

// --- streaming scenarios (async only) ---------------------------------------------------------

fn stream_failed(what: &str, e: Error) -> Verdict {
    classify(e).failed(what)
}

async fn server_stream_case(c: &AsyncClient) -> Verdict {
    const N: u64 = 5;
    let req = request("ServerStream", msgs::encode(&msgs::count_msg(N)), Context::default());
    let mut s = match c.new_stream(req, false, true).await {
        Ok(s) => s,
        Err(e) => return stream_failed("new_stream", e),
    };
    let mut got: Vec<u64> = Vec::new();
    while got.len() < N as usize + MAX_EXTRA {
        match s.recv().await {
            Ok(buf) => match decode_reply::<UInt64Value>(&buf) {
                Ok(m) => got.push(m.value),
                Err(v) => return v,
            },
            // Data with RC|ND; or the recv after a last message that carried RC.
            Err(Error::Eof) | Err(Error::RemoteClosed) => break,
            Err(e) => return stream_failed(&format!("recv after {:?}", got), e),
        }
    }
    let want: Vec<u64> = (0..N).collect();
    if got != want {
        return fail(format!("expected {:?} then end of stream, got {:?}", want, got));
    }
    pass(format!("received {:?}, then end of stream", got))
}

async fn client_stream_case(c: &AsyncClient) -> Verdict {
    let req = request("ClientStream", Vec::new(), Context::default());
    let mut s = match c.new_stream(req, true, false).await {
        Ok(s) => s,
        Err(e) => return stream_failed("new_stream", e),
    };
    for v in [1u64, 2, 3, 4] {
        if let Err(e) = s.send(msgs::encode(&msgs::count_msg(v))).await {
            return stream_failed(&format!("send({})", v), e);
        }
    }
    if let Err(e) = s.close_send().await {
        return stream_failed("close_send", e);
    }
    let buf = match s.recv().await {
        Ok(b) => b,
        Err(e) => return stream_failed("recv", e),
    };
    let sum = match decode_reply::<UInt64Value>(&buf) {
        Ok(m) => m.value,
        Err(v) => return v,
    };
    if sum != 10 {
        return fail(format!("sent 1,2,3,4: expected sum 10, got {}", sum));
    }
    pass(format!("sum of 1,2,3,4 is {}", sum))
}

async fn bidi_stream_case(c: &AsyncClient) -> Verdict {
    let req = request("BidiStream", Vec::new(), Context::default());
    let mut s = match c.new_stream(req, true, true).await {
        Ok(s) => s,
        Err(e) => return stream_failed("new_stream", e),
    };
    let sent = ["a", "b", "c"];
    for v in sent {
        if let Err(e) = s.send(msgs::encode(&msgs::bytes_msg(v.as_bytes()))).await {
            return stream_failed(&format!("send({:?})", v), e);
        }
        match s.recv().await {
            Ok(buf) => match decode_reply::<BytesValue>(&buf) {
                Ok(m) if m.value == v.as_bytes() => {}
                Ok(m) => {
                    return fail(format!("sent {:?}, got \"{}\" back", v, m.value.escape_ascii()))
                }
                Err(verdict) => return verdict,
            },
            Err(Error::Eof) | Err(Error::RemoteClosed) => {
                return fail(format!("stream ended instead of echoing {:?}", v))
            }
            Err(e) => return stream_failed(&format!("recv for {:?}", v), e),
        }
    }
    if let Err(e) = s.close_send().await {
        return stream_failed("close_send", e);
    }
    let mut extra: Vec<String> = Vec::new();
    while extra.len() < MAX_EXTRA {
        match s.recv().await {
            Ok(buf) => match decode_reply::<BytesValue>(&buf) {
                Ok(m) => extra.push(m.value.escape_ascii().to_string()),
                Err(v) => return v,
            },
            Err(Error::Eof) | Err(Error::RemoteClosed) => break,
            Err(e) => return stream_failed("recv after close_send", e),
        }
    }
    if !extra.is_empty() {
        return fail(format!(
            "echoes matched, but after close_send got {:?} instead of end of stream",
            extra
        ));
    }
    pass(format!("echoed {:?} one by one, then end of stream", sent))
}

// --- running scenarios ------------------------------------------------------------------------

fn cannot_connect(path: &str, e: impl std::fmt::Display) -> Verdict {
    Verdict {
        ok: false,
        code: UNAVAILABLE,
        detail: format!("cannot connect to unix:{}: {}", path, e),
    }
}

fn timed_out() -> Verdict {
    Verdict {
        ok: false,
        code: DEADLINE_EXCEEDED,
        detail: format!("scenario still blocked {:?} after its {:?} limit", HARD_STOP, SCENARIO_TIMEOUT),
    }
}

async fn run_async_scenario(path: &str, name: &str) -> Verdict {
    let c = match AsyncClient::connect(&crate::crate_addr(path)).await {
        Ok(c) => c,
        Err(e) => return cannot_connect(path, e),
    };
    match name {
        "server-stream" => server_stream_case(&c).await,
        "client-stream" => client_stream_case(&c).await,
        "bidi-stream" => bidi_stream_case(&c).await,
        _ => {
            let Some(u) = unary_case(name) else { unreachable!("scenario {name}") };
            let start = Instant::now();
            let r = unary_outcome(c.request(u.req).await);
            (u.judge)(r, start.elapsed())
        }
    }
}

/// Runs one sync scenario in its own thread, so that a call blocked for good (the sync client
/// waits forever when timeout_nano is 0) cannot hold up the rest.
fn run_sync_scenario(path: &str, name: &str) -> Verdict {
    let Some(u) = unary_case(name) else { unreachable!("scenario {name}") };
    let addr = crate::crate_addr(path);
    let path = path.to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let v = match SyncClient::connect(&addr) {
            Err(e) => cannot_connect(&path, e),
            Ok(c) => {
                let start = Instant::now();
                let r = unary_outcome(c.request(u.req));
                (u.judge)(r, start.elapsed())
            }
        };
        let _ = tx.send(v);
    });
    rx.recv_timeout(SCENARIO_TIMEOUT + HARD_STOP).unwrap_or_else(|_| timed_out())
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_line(name: &str, v: &Verdict) -> String {
    format!(
        "{{\"scenario\":{},\"ok\":{},\"code\":{},\"detail\":{}}}",
        json_string(name),
        v.ok,
        v.code,
        json_string(&v.detail)
    )
}

/// One probe connection first: a server that is not there is "could not run", not a list of
/// failed scenarios. Plain std, the same for both flavors.
fn probe(path: &str) -> std::io::Result<()> {
    use std::os::unix::net::{SocketAddr, UnixStream};
    let addr = match path.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)?
        }
        None => SocketAddr::from_pathname(path)?,
    };
    UnixStream::connect_addr(&addr).map(drop)
}

pub fn main(argv: &[String]) -> i32 {
    let spec = [
        ("connect", ArgKind::Value),
        ("list", ArgKind::Bool),
        ("scenario", ArgKind::Repeated),
        ("flavor", ArgKind::Value),
        ("runtime", ArgKind::Value),
    ];
    let flags = match args::parse(argv, &spec) {
        Ok(Parsed::Help) => {
            usage(&mut std::io::stdout());
            return EXIT_OK;
        }
        Ok(Parsed::Flags(f)) => f,
        Err(e) => return usage_error(format!("client: {}", e)),
    };
    if let Some(extra) = flags.rest.first() {
        return usage_error(format!("client: unexpected argument {:?}", extra));
    }
    let flavor = match flags.get("flavor").map(Flavor::parse) {
        None => Flavor::Async,
        Some(Some(f)) => f,
        Some(None) => {
            return usage_error(format!(
                "client: --flavor {:?}: expected sync or async",
                flags.get("flavor").unwrap_or_default()
            ))
        }
    };
    // The async client's runtime: current-thread by default. The crate's async client hands
    // every inbound frame to a task of its own; on a multi-thread runtime those tasks race,
    // so stream messages arrive reordered, and the ones that lose against the stream's end
    // are dropped. That is the crate's bug, not the server's; --runtime multi-thread shows it.
    let multi_thread = match flags.get("runtime") {
        None | Some("current-thread") => false,
        Some("multi-thread") => true,
        Some(other) => {
            return usage_error(format!(
                "client: --runtime {:?}: expected current-thread or multi-thread",
                other
            ))
        }
    };
    let offered = scenarios(flavor);
    if flags.bool("list") {
        let mut out = std::io::stdout().lock();
        for name in &offered {
            let _ = writeln!(out, "{}", name);
        }
        return EXIT_OK;
    }
    let connect = flags.get("connect").unwrap_or("");
    if connect.is_empty() {
        return usage_error("client: --connect unix:PATH is required");
    }
    let path = match crate::parse_unix_addr(connect) {
        Ok(p) => p,
        Err(e) => return usage_error(format!("client: --connect: {}", e)),
    };

    let mut selected: Vec<&'static str> = Vec::new();
    if !flags.is_set("scenario") {
        selected = offered.clone();
    }
    for n in flags.all("scenario") {
        if let Some(&name) = offered.iter().find(|s| **s == n.as_str()) {
            selected.push(name);
        } else if STREAM_SCENARIOS.contains(&n.as_str()) {
            return fatal(
                EXIT_CANT_RUN,
                format!("client: scenario {:?} is unsupported by the sync API (no streaming)", n),
            );
        } else if n == "deadline-remote" {
            return fatal(
                EXIT_CANT_RUN,
                "client: scenario \"deadline-remote\" is unsupported: the ttrpc crate's clients \
                 wait locally for exactly the timeout_nano they send",
            );
        } else {
            return usage_error(format!("client: unknown scenario {:?} (see --list)", n));
        }
    }

    if let Err(e) = probe(&path) {
        return fatal(EXIT_CANT_RUN, format!("client: cannot connect to unix:{}: {}", path, e));
    }

    let rt = match flavor {
        Flavor::Async => match if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        }
        .enable_all()
        .build()
        {
            Ok(rt) => Some(rt),
            Err(e) => return fatal(EXIT_CANT_RUN, format!("client: runtime: {}", e)),
        },
        Flavor::Sync => None,
    };
    let mut exit = EXIT_OK;
    let mut out = std::io::stdout().lock();
    for name in selected {
        let v = match &rt {
            Some(rt) => rt.block_on(async {
                match tokio::time::timeout(SCENARIO_TIMEOUT + HARD_STOP, run_async_scenario(&path, name)).await {
                    Ok(v) => v,
                    Err(_) => timed_out(),
                }
            }),
            None => run_sync_scenario(&path, name),
        };
        if !v.ok {
            exit = EXIT_FAILED;
        }
        if writeln!(out, "{}", json_line(name, &v)).and_then(|_| out.flush()).is_err() {
            return fatal(EXIT_CANT_RUN, "client: writing results failed");
        }
    }
    exit
}
