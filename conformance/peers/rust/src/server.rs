//! The server role: ttrpc.conformance.v1.Echo on the crate's sync or async server.
//!
//! Handlers are registered by hand (no generated code) and behave like the crate's generated
//! code would: every success carries an explicit OK status, a chosen status is returned inside
//! the Response (returning `Err` from a raw handler would become code 2 on async and a closed
//! connection on sync), and an undecodable input message is returned as an `Err`, so the crate
//! decides what the client sees. Timeouts are the crate's business: the async server enforces
//! a Request's timeout_nano on unary methods (code 4), the sync server enforces nothing, and
//! our handlers do not look at it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ttrpc::r#async::{StreamInner, TtrpcContext as AsyncContext};
use ttrpc::{Error, Request, Response};

use crate::args::{self, Kind as ArgKind, Parsed};
use crate::msgs::{self, Answer, BytesValue, UInt64Value};
use crate::{fatal, usage, usage_error, Flavor, EXIT_CANT_RUN, EXIT_FAILED, EXIT_OK, PROG, SERVICE};

/// How long a SIGTERM waits for connections with calls in flight before exiting anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

#[derive(Clone, Copy)]
enum Unary {
    Echo,
    Fail,
    Metadata,
    Sleep,
}

const UNARY: [(&str, Unary); 4] = [
    ("Echo", Unary::Echo),
    ("Fail", Unary::Fail),
    ("Metadata", Unary::Metadata),
    ("Sleep", Unary::Sleep),
];

// --- sync flavor ------------------------------------------------------------------------------

struct SyncMethod(Unary);

impl ttrpc::MethodHandler for SyncMethod {
    fn handler(&self, ctx: ttrpc::TtrpcContext, req: Request) -> ttrpc::Result<()> {
        let answer = match self.0 {
            Unary::Echo => msgs::echo(&req.payload),
            Unary::Fail => msgs::fail(&req.payload),
            Unary::Metadata => msgs::metadata(&req.payload, &ctx.metadata),
            Unary::Sleep => match msgs::sleep_ms(&req.payload) {
                Ok(ms) => {
                    // ctx.timeout_nano is available but the sync server enforces nothing, and
                    // neither does a generated-code handler that ignores it: sleep it out.
                    std::thread::sleep(Duration::from_millis(ms));
                    Answer::Reply(msgs::sleep_done())
                }
                Err(e) => Answer::Undecodable(e),
            },
        };
        match answer {
            Answer::Reply(res) => ttrpc::response_to_channel(ctx.mh.stream_id, res, ctx.res_tx),
            // The crate closes the connection when a handler fails.
            Answer::Undecodable(e) => Err(Error::Others(e)),
        }
    }
}

fn sync_methods() -> HashMap<String, Box<dyn ttrpc::MethodHandler + Send + Sync>> {
    let mut m: HashMap<String, Box<dyn ttrpc::MethodHandler + Send + Sync>> = HashMap::new();
    for (name, kind) in UNARY {
        // The sync server looks methods up by one key: "/service/method".
        m.insert(format!("/{}/{}", SERVICE, name), Box::new(SyncMethod(kind)));
    }
    m
}

// --- async flavor -----------------------------------------------------------------------------

struct AsyncMethod(Unary);

#[async_trait]
impl ttrpc::r#async::MethodHandler for AsyncMethod {
    async fn handler(&self, ctx: AsyncContext, req: Request) -> ttrpc::Result<Response> {
        let answer = match self.0 {
            Unary::Echo => msgs::echo(&req.payload),
            Unary::Fail => msgs::fail(&req.payload),
            Unary::Metadata => msgs::metadata(&req.payload, &ctx.metadata),
            Unary::Sleep => match msgs::sleep_ms(&req.payload) {
                Ok(ms) => {
                    // The crate drops this future and answers 4 when timeout_nano runs out.
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Answer::Reply(msgs::sleep_done())
                }
                Err(e) => Answer::Undecodable(e),
            },
        };
        match answer {
            Answer::Reply(res) => Ok(res),
            // The crate answers code 2 (UNKNOWN) with the error's text.
            Answer::Undecodable(e) => Err(Error::Others(e)),
        }
    }
}

/// The stream's first message: the crate turns Request.payload into a first Data message
/// unless the Request carried the ND flag.
async fn first_message(s: &mut StreamInner) -> ttrpc::Result<Vec<u8>> {
    s.recv().await
}

/// Receives the next client message; None at the client's close (Data with RC|ND, or after a
/// Data with RC that carried a message).
async fn next_message(s: &mut StreamInner) -> ttrpc::Result<Option<Vec<u8>>> {
    match s.recv().await {
        Ok(buf) => Ok(Some(buf)),
        Err(Error::Eof) | Err(Error::RemoteClosed) => Ok(None),
        Err(e) => Err(e),
    }
}

/// ServerStream(Count) returns (stream Count): 0, 1, ..., value-1, then the end of the stream
/// (the crate sends Data with RC|ND when the handler returns None).
struct ServerStream;

#[async_trait]
impl ttrpc::r#async::StreamHandler for ServerStream {
    async fn handler(&self, _ctx: AsyncContext, mut s: StreamInner) -> ttrpc::Result<Option<Response>> {
        let first = first_message(&mut s).await?;
        let n = msgs::decode::<UInt64Value>(&first).map_err(Error::Others)?.value;
        for i in 0..n {
            s.send(msgs::encode(&msgs::count_msg(i))).await?;
        }
        Ok(None)
    }
}

/// ClientStream(stream Count) returns (Count): the sum of the values received.
struct ClientStream;

#[async_trait]
impl ttrpc::r#async::StreamHandler for ClientStream {
    async fn handler(&self, _ctx: AsyncContext, mut s: StreamInner) -> ttrpc::Result<Option<Response>> {
        let mut sum: u64 = 0;
        while let Some(buf) = next_message(&mut s).await? {
            let m = msgs::decode::<UInt64Value>(&buf).map_err(Error::Others)?;
            sum = sum.wrapping_add(m.value);
        }
        Ok(Some(msgs::ok_response(msgs::encode(&msgs::count_msg(sum)))))
    }
}

/// BidiStream(stream Bytes) returns (stream Bytes): each message back as it arrives; ends when
/// the client closes.
struct BidiStream;

#[async_trait]
impl ttrpc::r#async::StreamHandler for BidiStream {
    async fn handler(&self, _ctx: AsyncContext, mut s: StreamInner) -> ttrpc::Result<Option<Response>> {
        while let Some(buf) = next_message(&mut s).await? {
            let m = msgs::decode::<BytesValue>(&buf).map_err(Error::Others)?;
            s.send(msgs::encode(&m)).await?;
        }
        Ok(None)
    }
}

fn async_services() -> HashMap<String, ttrpc::r#async::Service> {
    let mut methods: HashMap<String, Box<dyn ttrpc::r#async::MethodHandler + Send + Sync>> =
        HashMap::new();
    for (name, kind) in UNARY {
        methods.insert(name.to_string(), Box::new(AsyncMethod(kind)));
    }
    let mut streams: HashMap<String, Arc<dyn ttrpc::r#async::StreamHandler + Send + Sync>> =
        HashMap::new();
    streams.insert("ServerStream".to_string(), Arc::new(ServerStream));
    streams.insert("ClientStream".to_string(), Arc::new(ClientStream));
    streams.insert("BidiStream".to_string(), Arc::new(BidiStream));
    let mut services = HashMap::new();
    services.insert(SERVICE.to_string(), ttrpc::r#async::Service { methods, streams });
    services
}

// --- common -----------------------------------------------------------------------------------

enum Endpoint {
    /// A path the crate binds ("unix://PATH"); removed again on exit unless abstract.
    Listen(String),
    /// An inherited listening socket.
    Fd(i32),
}

/// Checks that fd is an open, listening Unix stream socket.
fn check_listening_fd(fd: i32) -> Result<(), String> {
    fn opt(fd: i32, name: libc::c_int) -> std::io::Result<libc::c_int> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: v and len are valid for the call; a bad fd only yields an error.
        let rc = unsafe {
            libc::getsockopt(fd, libc::SOL_SOCKET, name, &mut v as *mut _ as *mut libc::c_void, &mut len)
        };
        if rc == 0 {
            Ok(v)
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    let domain = opt(fd, libc::SO_DOMAIN).map_err(|e| format!("fd {}: {}", fd, e))?;
    if domain != libc::AF_UNIX {
        return Err(format!("fd {} is not a Unix socket (domain {})", fd, domain));
    }
    if opt(fd, libc::SO_TYPE).map_err(|e| format!("fd {}: {}", fd, e))? != libc::SOCK_STREAM {
        return Err(format!("fd {} is not a stream socket", fd));
    }
    if opt(fd, libc::SO_ACCEPTCONN).map_err(|e| format!("fd {}: {}", fd, e))? == 0 {
        return Err(format!("fd {} is not listening", fd));
    }
    Ok(())
}

fn print_ready() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready");
    let _ = out.flush();
}

fn remove_socket(ep: &Endpoint) {
    if let Endpoint::Listen(path) = ep {
        if !path.starts_with('@') {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn serve_sync(ep: &Endpoint) -> i32 {
    let server = ttrpc::Server::new();
    let server = match ep {
        Endpoint::Listen(path) => server.bind(&crate::crate_addr(path)),
        Endpoint::Fd(fd) => server.add_listener(*fd),
    };
    let mut server = match server {
        Ok(s) => s.register_service(sync_methods()),
        Err(e) => return fatal(EXIT_CANT_RUN, format!("server: cannot listen: {}", e)),
    };
    // The signal handlers are in place before "ready": a SIGTERM right after it is not lost.
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fatal(EXIT_CANT_RUN, format!("server: runtime: {}", e)),
    };
    let signals = rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        Ok::<_, std::io::Error>((signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?))
    });
    let (mut term, mut int) = match signals {
        Ok(s) => s,
        Err(e) => return fatal(EXIT_CANT_RUN, format!("server: signals: {}", e)),
    };
    if let Err(e) = server.start() {
        remove_socket(ep);
        return fatal(EXIT_CANT_RUN, format!("server: start: {}", e));
    }
    print_ready();
    rt.block_on(async {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    });
    // Stop accepting and close the connections; calls in flight get SHUTDOWN_GRACE.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        server.shutdown();
        let _ = done_tx.send(());
    });
    if done_rx.recv_timeout(SHUTDOWN_GRACE).is_err() {
        eprintln!("{}: server: shutdown took longer than {:?}, exiting anyway", PROG, SHUTDOWN_GRACE);
    }
    remove_socket(ep);
    EXIT_OK
}

fn serve_async(ep: &Endpoint) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fatal(EXIT_CANT_RUN, format!("server: runtime: {}", e)),
    };
    rt.block_on(async {
        let server = ttrpc::r#async::Server::new();
        let server = match ep {
            Endpoint::Listen(path) => server.bind(&crate::crate_addr(path)),
            // SAFETY: check_listening_fd has made sure fd is a listening Unix socket, and
            // nothing else in this process uses it.
            Endpoint::Fd(fd) => unsafe { server.add_unix_listener(*fd) },
        };
        let mut server = match server {
            Ok(s) => s.register_service(async_services()),
            Err(e) => return fatal(EXIT_CANT_RUN, format!("server: cannot listen: {}", e)),
        };
        use tokio::signal::unix::{signal, SignalKind};
        let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(t), Ok(i)) => (t, i),
            (Err(e), _) | (_, Err(e)) => return fatal(EXIT_CANT_RUN, format!("server: signals: {}", e)),
        };
        if let Err(e) = server.start().await {
            remove_socket(ep);
            return fatal(EXIT_FAILED, format!("server: start: {}", e));
        }
        print_ready();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, server.shutdown()).await.is_err() {
            eprintln!("{}: server: shutdown took longer than {:?}, exiting anyway", PROG, SHUTDOWN_GRACE);
        }
        remove_socket(ep);
        EXIT_OK
    })
}

pub fn main(argv: &[String]) -> i32 {
    let spec = [("listen", ArgKind::Value), ("fd", ArgKind::Value), ("flavor", ArgKind::Value)];
    let flags = match args::parse(argv, &spec) {
        Ok(Parsed::Help) => {
            usage(&mut std::io::stdout());
            return EXIT_OK;
        }
        Ok(Parsed::Flags(f)) => f,
        Err(e) => return usage_error(format!("server: {}", e)),
    };
    if let Some(extra) = flags.rest.first() {
        return usage_error(format!("server: unexpected argument {:?}", extra));
    }
    let flavor = match flags.get("flavor").map(Flavor::parse) {
        None => Flavor::Async,
        Some(Some(f)) => f,
        Some(None) => {
            return usage_error(format!(
                "server: --flavor {:?}: expected sync or async",
                flags.get("flavor").unwrap_or_default()
            ))
        }
    };
    let ep = match (flags.get("listen"), flags.get("fd")) {
        (Some(l), None) if !l.is_empty() => match crate::parse_unix_addr(l) {
            Ok(path) => Endpoint::Listen(path),
            Err(e) => return usage_error(format!("server: --listen: {}", e)),
        },
        (None, Some(fd)) => match fd.parse::<i32>() {
            Ok(n) if n >= 0 => {
                if let Err(e) = check_listening_fd(n) {
                    return fatal(EXIT_CANT_RUN, format!("server: cannot use listening socket: {}", e));
                }
                Endpoint::Fd(n)
            }
            Ok(n) => return usage_error(format!("server: --fd {}: not a descriptor number", n)),
            Err(_) => {
                return usage_error(format!("server: invalid value {:?} for flag -fd: parse error", fd))
            }
        },
        _ => return usage_error("server: give exactly one of --listen unix:PATH and --fd N"),
    };
    // SIGPIPE: the Rust runtime ignores it before main, so a closed client socket is a write
    // error, not death.
    match flavor {
        Flavor::Sync => serve_sync(&ep),
        Flavor::Async => serve_async(&ep),
    }
}
