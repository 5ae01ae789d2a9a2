//! `client HOST PORT PATH`: fetch one page over HTTP/1.1 and print it.
//!
//! Command line -> [`weblab::client`] -> exit code. Exit status: 0 when a
//! complete response arrived, whatever its status (like curl); 1 for a
//! network or protocol failure, or a status of 400 or more with `--fail`;
//! 2 for a usage error. Errors are one line on stderr.
//!
//! What comes from the server is untrusted: the head is printed with its control
//! characters escaped, and so is the body when it goes to a terminal.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use weblab::cli::{parse_seconds, usage_line};
use weblab::client::{self, ClientError, ClientRequest, ClientResponseHead, Method, TimeLimit};
use weblab::escape::TerminalSafe;
use weblab::http::BodyFraming;

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
    /// Give up when connecting, or any single read or write, waits longer than SECS seconds
    #[arg(long, value_name = "SECS", default_value = "30",
          value_parser = parse_seconds)]
    timeout: Duration,
    /// Give up when the whole exchange (connect, request, head, body) takes longer than
    /// SECS seconds, however steadily the server drips; raise it for a long download
    #[arg(long, value_name = "SECS", default_value = "300",
          value_parser = parse_seconds)]
    max_time: Duration,
    /// Exit with status 1 when the server answers with a status of 400 or more
    #[arg(long)]
    fail: bool,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) if !error.use_stderr() => error.exit(), // --help, --version
        Err(error) => {
            let line = usage_line(&error.render().to_string());
            eprintln!("client: {line} (see client --help)");
            return ExitCode::from(2);
        }
    };
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
            eprintln!("client: {err}{}", flag_to_blame(&err));
            ExitCode::FAILURE
        }
    }
}

/// Names the option behind a time limit, so the message says what to change.
fn flag_to_blame(err: &ClientError) -> &'static str {
    match err {
        ClientError::TimedOut(Some(TimeLimit::Idle(_))) => " (--timeout)",
        ClientError::TimedOut(Some(TimeLimit::Total(_))) => " (--max-time)",
        ClientError::Connect { source, .. } if source.kind() == io::ErrorKind::TimedOut => {
            " (--timeout)"
        }
        _ => "",
    }
}

fn run(args: &Args) -> Result<ClientResponseHead, ClientError> {
    let request = ClientRequest {
        method: if args.head { Method::Head } else { Method::Get },
        timeout: args.timeout,
        max_time: args.max_time,
        ..ClientRequest::get(&args.host, args.port, &args.path)
    };
    let mut response = client::send(&request)?;

    let to_terminal = io::stdout().is_terminal();
    let mut stdout = BufWriter::new(io::stdout().lock());
    stdout
        .write_all(response.head.printable().as_bytes())
        .map_err(ClientError::Output)?;
    match &args.output {
        // On a terminal the body is shown, not delivered: its control characters are
        // escaped like the head's (see TerminalSafe). In a pipe or a file it is exact.
        None if to_terminal => {
            let mut shown = TerminalSafe::new(&mut stdout);
            response.copy_body_to(&mut shown)?;
            let escaped = shown.finish().map_err(ClientError::Output)?;
            stdout.flush().map_err(ClientError::Output)?;
            if escaped > 0 {
                eprintln!(
                    "client: {escaped} control characters in the body are shown as \\xNN; \
                     -o FILE saves the exact bytes"
                );
            }
        }
        None => {
            response.copy_body_to(&mut stdout)?;
            stdout.flush().map_err(ClientError::Output)?;
        }
        Some(path) => {
            stdout.flush().map_err(ClientError::Output)?;
            let file = create(path)?;
            let total = known_size(&response.body_framing);
            let bar = io::stderr().is_terminal().then(io::stderr);
            let mut out = Progress::new(BufWriter::new(file), total, bar);
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

/// The body's size, when the response says it in advance.
fn known_size(length: &BodyFraming) -> Option<u64> {
    match length {
        BodyFraming::Length(n) => Some(*n),
        _ => None,
    }
}

/// A writer that passes bytes through and, when it has a `bar` to draw on
/// (stderr, when that is a terminal), redraws a progress bar there. The bar
/// only appears once a download has taken a while, so quick fetches print
/// nothing extra.
struct Progress<W: Write, B: Write = io::Stderr> {
    inner: W,
    bar: Option<B>,
    total: Option<u64>,
    written: u64,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl<W: Write, B: Write> Progress<W, B> {
    const FIRST_DRAW_AFTER: Duration = Duration::from_millis(500);
    const REDRAW_EVERY: Duration = Duration::from_millis(100);

    fn new(inner: W, total: Option<u64>, bar: Option<B>) -> Self {
        Progress {
            inner,
            bar,
            total,
            written: 0,
            started: Instant::now(),
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

    /// Whether the bar should be drawn at `now`: first after a while, then now and then.
    fn due(&self, now: Instant) -> bool {
        match self.last_drawn {
            None => now.saturating_duration_since(self.started) >= Self::FIRST_DRAW_AFTER,
            Some(at) => now.saturating_duration_since(at) >= Self::REDRAW_EVERY,
        }
    }

    fn draw(&mut self) {
        self.last_drawn = Some(Instant::now());
        let line = bar_line(self.written, self.total);
        if let Some(bar) = &mut self.bar {
            // The bar is a courtesy: a terminal that cannot take it loses nothing else.
            let _ = bar.write_all(line.as_bytes()).and_then(|()| bar.flush());
        }
    }
}

/// One state of the bar, drawn over the last one (`\r`): a 30-character bar and a
/// percentage when the size is known, else just the MiB so far.
fn bar_line(written: u64, total: Option<u64>) -> String {
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    match total {
        Some(total) if total > 0 => {
            let fraction = (written as f64 / total as f64).min(1.0);
            let filled = (fraction * 30.0) as usize;
            format!(
                "\r[{:<30}] {:3.0}% {:.1} of {:.1} MiB",
                "#".repeat(filled),
                fraction * 100.0,
                mib(written),
                mib(total)
            )
        }
        _ => format!("\r{:.1} MiB", mib(written)),
    }
}

/// Ends the bar's line, so what comes next (maybe an error) starts on its own.
impl<W: Write, B: Write> Drop for Progress<W, B> {
    fn drop(&mut self) {
        if let (Some(bar), Some(_)) = (&mut self.bar, self.last_drawn) {
            let _ = bar.write_all(b"\n");
        }
    }
}

impl<W: Write, B: Write> Write for Progress<W, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        if self.bar.is_some() && self.due(Instant::now()) {
            self.draw();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_on_the_command_line_are_the_library_defaults() {
        let args = Args::try_parse_from(["client", "localhost", "80", "/"]).expect("valid");
        assert_eq!(args.timeout, client::DEFAULT_TIMEOUT);
        assert_eq!(args.max_time, client::DEFAULT_MAX_TIME);
    }

    #[test]
    fn the_size_is_known_only_from_a_content_length() {
        assert_eq!(known_size(&BodyFraming::Length(7)), Some(7));
        for unknown in [
            BodyFraming::None,
            BodyFraming::Chunked,
            BodyFraming::UntilClose,
        ] {
            assert_eq!(known_size(&unknown), None);
        }
    }

    #[test]
    fn flushing_the_progress_flushes_the_output_under_it() {
        let mut progress = Progress::new(io::BufWriter::new(Vec::new()), None, None::<Vec<u8>>);
        progress.write_all(b"abc").expect("write");
        assert!(
            progress.inner.get_ref().is_empty(),
            "held in the buffer until a flush"
        );
        progress.flush().expect("flush");
        assert_eq!(progress.inner.get_ref(), b"abc");
    }

    #[test]
    fn the_bar_shows_the_share_done_or_the_mib_so_far() {
        const MIB: u64 = 1 << 20;
        assert_eq!(
            bar_line(0, Some(10 * MIB)),
            format!("\r[{}]   0% 0.0 of 10.0 MiB", " ".repeat(30))
        );
        assert_eq!(
            bar_line(5 * MIB, Some(10 * MIB)),
            format!(
                "\r[{}{}]  50% 5.0 of 10.0 MiB",
                "#".repeat(15),
                " ".repeat(15)
            )
        );
        // More than announced still stops at a full bar.
        assert_eq!(
            bar_line(12 * MIB, Some(10 * MIB)),
            format!("\r[{}] 100% 12.0 of 10.0 MiB", "#".repeat(30))
        );
        assert_eq!(bar_line(5 * MIB / 2, None), "\r2.5 MiB");
        assert_eq!(bar_line(MIB, Some(0)), "\r1.0 MiB");
    }

    #[test]
    fn the_bar_waits_half_a_second_then_redraws_every_tenth() {
        let mut progress = Progress::new(Vec::new(), None, Some(Vec::new()));
        let start = progress.started;
        assert!(!progress.due(start + Duration::from_millis(499)));
        assert!(progress.due(start + Duration::from_millis(500)));
        let drawn = start + Duration::from_secs(2);
        progress.last_drawn = Some(drawn);
        assert!(!progress.due(drawn + Duration::from_millis(99)));
        assert!(progress.due(drawn + Duration::from_millis(100)));
    }

    /// A progress writer whose first draw is already due.
    fn slow_download<'a>(
        out: &'a mut Vec<u8>,
        total: Option<u64>,
        bar: Option<&'a mut Vec<u8>>,
    ) -> Progress<&'a mut Vec<u8>, &'a mut Vec<u8>> {
        let mut progress = Progress::new(out, total, bar);
        progress.started = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .expect("the clock has run for a second");
        progress
    }

    #[test]
    fn a_slow_download_draws_the_bar_then_a_last_time_then_ends_the_line() {
        let (mut out, mut bar) = (Vec::new(), Vec::new());
        let mut progress = slow_download(&mut out, Some(20), Some(&mut bar));
        progress.write_all(b"0123456789").expect("write");
        progress.finish().expect("finish");
        assert_eq!(out, b"0123456789");
        let line = bar_line(10, Some(20));
        assert_eq!(String::from_utf8_lossy(&bar), format!("{line}{line}\n"));
    }

    #[test]
    fn without_a_terminal_nothing_is_drawn() {
        let mut out = Vec::new();
        let mut progress = slow_download(&mut out, Some(20), None);
        progress.write_all(b"0123456789").expect("write");
        assert_eq!(progress.last_drawn, None);
        progress.finish().expect("finish");
        assert_eq!(out, b"0123456789");
    }

    #[test]
    fn a_quick_download_draws_nothing() {
        let (mut out, mut bar) = (Vec::new(), Vec::new());
        let mut progress = Progress::new(&mut out, Some(20), Some(&mut bar));
        // However slow the machine running this test, the download has only just begun.
        progress.started = Instant::now() + Duration::from_secs(3600);
        progress.write_all(b"0123456789").expect("write");
        progress.finish().expect("finish");
        assert!(bar.is_empty(), "{bar:?}");
        assert_eq!(out, b"0123456789");
    }
}
