//! `client HOST PORT PATH`: fetch one page over HTTP/1.1 and print it.
//!
//! Command line -> [`weblab::client`] -> exit code. Exit status: 0 when a
//! complete response arrived, whatever its status (like curl); 1 for a
//! network or protocol failure, or a status of 400 or more with `--fail`;
//! 2 for a usage error.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use weblab::client::{self, BodyLength, ClientError, Method, Request, ResponseHead};

/// Fetch one page over HTTP/1.1 and print its status line, headers and body.
#[derive(Parser)]
#[command(name = "client", version)]
struct Args {
    /// Server name or address: localhost, 127.0.0.1, ::1
    host: String,
    /// Server port
    #[arg(value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// Path to fetch, such as /index.html (a leading / is added if missing)
    path: String,
    /// Send HEAD instead of GET: ask for the headers only
    #[arg(long)]
    head: bool,
    /// Write the body to FILE instead of stdout (headers still go to stdout)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Give up when connecting, or any read, takes longer than SECS seconds
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Exit with status 1 when the server answers with a status of 400 or more
    #[arg(long)]
    fail: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(head) if args.fail && head.status >= 400 => {
            eprintln!(
                "client: the server answered {} {}",
                head.status, head.reason
            );
            ExitCode::FAILURE
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("client: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<ResponseHead, ClientError> {
    let request = Request {
        method: if args.head { Method::Head } else { Method::Get },
        timeout: Duration::from_secs(args.timeout),
        ..Request::get(&args.host, args.port, &args.path)
    };
    let mut response = client::send(&request)?;

    let mut stdout = BufWriter::new(io::stdout().lock());
    stdout
        .write_all(&response.head.raw)
        .map_err(ClientError::Output)?;
    match &args.output {
        None => {
            response.copy_body_to(&mut stdout)?;
            stdout.flush().map_err(ClientError::Output)?;
        }
        Some(path) => {
            stdout.flush().map_err(ClientError::Output)?;
            let total = match response.body_length {
                BodyLength::Exactly(n) => Some(n),
                _ => None,
            };
            let file = create(path)?;
            let mut out = Progress::new(BufWriter::new(file), total, io::stderr().is_terminal());
            response.copy_body_to(&mut out)?;
            out.finish().map_err(ClientError::Output)?;
        }
    }
    Ok(response.head)
}

/// Creates the output file, naming it in the error.
fn create(path: &Path) -> Result<File, ClientError> {
    File::create(path).map_err(|err| {
        ClientError::Output(io::Error::new(
            err.kind(),
            format!("{}: {err}", path.display()),
        ))
    })
}

/// A writer that passes bytes through and, when `visible`, redraws a
/// progress bar on stderr. It only appears once a download has taken a
/// while, so quick fetches print nothing extra.
struct Progress<W: Write> {
    inner: W,
    visible: bool,
    total: Option<u64>,
    written: u64,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl<W: Write> Progress<W> {
    const FIRST_DRAW_AFTER: Duration = Duration::from_millis(500);
    const REDRAW_EVERY: Duration = Duration::from_millis(100);

    fn new(inner: W, total: Option<u64>, visible: bool) -> Self {
        let started = Instant::now();
        Progress {
            inner,
            visible,
            total,
            written: 0,
            started,
            last_drawn: None,
        }
    }

    /// Flushes the output and, if a bar was drawn, draws it a last time.
    fn finish(mut self) -> io::Result<()> {
        self.inner.flush()?;
        if self.last_drawn.is_some() {
            self.draw();
        }
        Ok(())
    }

    fn draw(&mut self) {
        self.last_drawn = Some(Instant::now());
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        match self.total {
            Some(total) if total > 0 => {
                let fraction = (self.written as f64 / total as f64).min(1.0);
                let filled = (fraction * 30.0) as usize;
                eprint!(
                    "\r[{:<30}] {:3.0}% {:.1} of {:.1} MiB",
                    "#".repeat(filled),
                    fraction * 100.0,
                    mib(self.written),
                    mib(total)
                );
            }
            _ => eprint!("\r{:.1} MiB", mib(self.written)),
        }
    }
}

/// Ends the bar's line, so what comes next (maybe an error) starts on its own.
impl<W: Write> Drop for Progress<W> {
    fn drop(&mut self) {
        if self.last_drawn.is_some() {
            eprintln!();
        }
    }
}

impl<W: Write> Write for Progress<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        let due = match self.last_drawn {
            None => self.started.elapsed() >= Self::FIRST_DRAW_AFTER,
            Some(at) => at.elapsed() >= Self::REDRAW_EVERY,
        };
        if self.visible && due {
            self.draw();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
