//! ttrpc-peer-rust: the Rust peer of the ttrpc conformance suite. It wraps the real `ttrpc`
//! crate (pinned in Cargo.toml) in one binary with two roles and two API flavors:
//!
//!   ttrpc-peer-rust server [--flavor sync|async] (--listen unix:PATH | --fd N)
//!   ttrpc-peer-rust client [--flavor sync|async] --connect unix:PATH [--scenario NAME]... | --list
//!
//! The command line, the service (ttrpc.conformance.v1.Echo, conformance/proto/echo.proto), the
//! scenario names, the JSON result lines and the exit statuses are those of the Go peer
//! (conformance/peers/go); `--flavor` is the only addition and defaults to async. Framing,
//! streams and status handling all come from the crate; message bodies are protobuf
//! well-known types encoded by the protobuf crate.

mod args;
mod client;
mod msgs;
mod server;

use std::io::Write;

pub const PROG: &str = "ttrpc-peer-rust";
pub const SERVICE: &str = "ttrpc.conformance.v1.Echo";

pub const EXIT_OK: i32 = 0;
/// client: a scenario failed; server: serving failed after start.
pub const EXIT_FAILED: i32 = 1;
/// Usage errors, cannot listen or connect, unknown or unsupported scenario.
pub const EXIT_CANT_RUN: i32 = 2;

/// Size of sockaddr_un.sun_path on Linux, terminating NUL included.
const MAX_SUN_PATH: usize = 108;

/// Which of the crate's two APIs a role uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flavor {
    Sync,
    Async,
}

impl Flavor {
    pub fn parse(s: &str) -> Option<Flavor> {
        match s {
            "sync" => Some(Flavor::Sync),
            "async" => Some(Flavor::Async),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Flavor::Sync => "sync",
            Flavor::Async => "async",
        }
    }
}

pub fn usage(w: &mut dyn Write) {
    let _ = write!(
        w,
        "usage:
  {p} server [--flavor sync|async] --listen unix:PATH
  {p} server [--flavor sync|async] --fd N
  {p} client [--flavor sync|async] [--runtime current-thread|multi-thread]
         --connect unix:PATH [--scenario NAME]...
  {p} client [--flavor sync|async] --list
  {p} help

Rust peer of the ttrpc conformance suite, built on the ttrpc crate 0.9.0.

--flavor picks the crate's API: async (the default; tokio) or sync (threads). The sync API
has no streaming, so a sync server serves the unary methods only and a sync client offers
the unary scenarios only.

server  Serves {s} on a new Unix socket at PATH (--listen) or on an
        already-listening Unix socket inherited as file descriptor N (--fd).
        Prints \"ready\" on stdout once listening; exits 0 on SIGTERM or SIGINT.
client  Runs scenarios (default: all of the flavor, in list order) against the server at
        PATH, each on a fresh connection with a 5 s limit, and prints one JSON line per
        scenario:
          {{\"scenario\":NAME,\"ok\":BOOL,\"code\":GRPC_CODE,\"detail\":TEXT}}
        --list prints the scenario names of the flavor. --runtime current-thread (default)
        or multi-thread picks the async client's tokio runtime; on multi-thread the crate
        delivers stream messages out of order (see README.md).

Exit status: 0 success; 1 a scenario failed (client) or serving failed (server);
2 usage error, cannot listen, cannot connect, unknown or unsupported scenario.
",
        p = PROG,
        s = SERVICE
    );
}

/// Reports a command-line mistake and returns the usage exit status.
pub fn usage_error(msg: impl AsRef<str>) -> i32 {
    eprintln!("{}: {}", PROG, msg.as_ref());
    eprintln!("Try '{} --help'.", PROG);
    EXIT_CANT_RUN
}

/// Reports a runtime problem and returns the given exit status.
pub fn fatal(code: i32, msg: impl AsRef<str>) -> i32 {
    eprintln!("{}: {}", PROG, msg.as_ref());
    code
}

/// Accepts "unix:PATH" and returns PATH (a leading '@' names an abstract socket, as in Go).
pub fn parse_unix_addr(addr: &str) -> Result<String, String> {
    let path = addr
        .strip_prefix("unix:")
        .ok_or_else(|| format!("address {:?}: only unix:PATH is supported", addr))?;
    if path.is_empty() {
        return Err("address \"unix:\": empty socket path".to_string());
    }
    if path.len() >= MAX_SUN_PATH {
        return Err(format!(
            "socket path {:?} is {} bytes long, the limit is {}",
            path,
            path.len(),
            MAX_SUN_PATH - 1
        ));
    }
    Ok(path.to_string())
}

/// The crate's own address syntax for a Unix socket path: "unix://" + path
/// ("unix://@name" is abstract, anything else a filesystem path, relative ones included).
pub fn crate_addr(path: &str) -> String {
    format!("unix://{}", path)
}

fn run(args: Vec<String>) -> i32 {
    let Some(cmd) = args.first() else {
        usage(&mut std::io::stderr());
        return EXIT_CANT_RUN;
    };
    match cmd.as_str() {
        "server" => server::main(&args[1..]),
        "client" => client::main(&args[1..]),
        "help" | "-h" | "-help" | "--help" => {
            usage(&mut std::io::stdout());
            EXIT_OK
        }
        other => usage_error(format!("unknown command {:?} (expected server or client)", other)),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = run(args);
    let _ = std::io::stdout().flush();
    // Exit at once: neither a blocked scenario thread nor the runtime's tasks may hold us.
    std::process::exit(code);
}
