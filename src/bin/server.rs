//! `server`: serve a folder over HTTP. Thin: command line in, library call, exit code out.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use weblab::cli::parse_seconds;
use weblab::server::handler::Options;
use weblab::server::{default_threads, ServerError};
use weblab::{AccessLog, Config, Mode, NoLog, Server, StderrLog};

/// A small web server for learning HTTP: serves the files under --root.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// TCP port to listen on; 0 picks any free port.
    #[arg(long, default_value_t = 12345)]
    port: u16,
    /// Address to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::1.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Folder to serve.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// How to serve connections: single, threaded or pool.
    #[arg(long, default_value = "pool")]
    mode: Mode,
    /// Seconds a client has to send its request (also the write timeout and the grace
    /// period at shutdown).
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    timeout: Duration,
    /// Threads in pool mode, each running an event loop [default: 1 per core].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    threads: Option<u32>,
    /// Connections open at once in threaded and pool modes; more get 503.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Seconds a kept-alive connection may wait for its next request.
    #[arg(long, default_value = "5", value_parser = parse_seconds)]
    keep_alive_timeout: Duration,
    /// Requests answered on one connection before it is closed.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    max_requests: u32,
    /// List the contents of directories that have no index.html.
    #[arg(long)]
    list_dirs: bool,
    /// Demo aid: hold each response for this many milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Do not write the access log to stderr.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) if !error.use_stderr() => error.exit(), // --help, --version
        Err(error) => return usage_error(&error.render().to_string()),
    };
    let config = Config {
        mode: args.mode,
        timeout: args.timeout,
        threads: args.threads.map_or_else(default_threads, |n| n as usize),
        max_connections: args.max_connections as usize,
        keep_alive_timeout: args.keep_alive_timeout,
        max_requests: args.max_requests as usize,
        handler: Options {
            list_dirs: args.list_dirs,
        },
        delay: Duration::from_millis(args.delay_ms),
        panic_path: None,
    };
    let log: Arc<dyn AccessLog> = match args.quiet {
        true => Arc::new(NoLog),
        false => Arc::new(StderrLog),
    };

    let server = match Server::bind((args.bind, args.port), &args.root, config, log) {
        Ok(server) => server,
        Err(error @ ServerError::Root(_)) => {
            eprintln!("server: {}: {error}", args.root.display());
            return ExitCode::from(2);
        }
        Err(error @ ServerError::Config(_)) => {
            eprintln!("server: {error}");
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("server: {}:{}: {error}", args.bind, args.port);
            return ExitCode::from(1);
        }
    };

    let handle = server.handle();
    if let Err(error) = ctrlc::set_handler(move || handle.shutdown()) {
        eprintln!("server: cannot install the Ctrl-C handler: {error}");
        return ExitCode::from(1);
    }

    // Scripts and tests read the real port from this line, so it goes out at once.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{}", server.local_addr());
    let _ = stdout.flush();

    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server: {error}");
            ExitCode::from(1)
        }
    }
}

/// Prints clap's complaint as one line, pointing at --help, and exits with 2.
fn usage_error(rendered: &str) -> ExitCode {
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    let message = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("server: {message} (see server --help)");
    ExitCode::from(2)
}
