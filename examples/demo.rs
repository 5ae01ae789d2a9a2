//! `make demo`: the kit at work, using the real `server` and `client` commands, with
//! nothing left running afterwards.
//!
//! 1. Tasks 1 and 2: `server` serves `fixtures/www` on a free port; `client` fetches a page
//!    and a missing page and prints both responses.
//! 2. Task 3: `server` in `single` and then `pool` mode, each holding every response for a
//!    moment (`--delay-ms`, a demo aid), is hit by 8 clients at once; the total times show
//!    one-at-a-time against all-at-once.
//!
//! Run it with `make demo`, which builds the commands first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const CLIENTS: usize = 8;
const DELAY_MS: u64 = 250;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A running `server` process, stopped when dropped, even if the demo fails half-way.
struct RunningServer {
    child: Child,
    host: String,
    port: String,
}

impl RunningServer {
    fn start(www: &Path, args: &[&str]) -> Result<RunningServer> {
        let mut child = Command::new(binary("server"))
            .args(["--port", "0", "--quiet", "--root"])
            .arg(www)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        print!("{line}");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .ok_or("the server did not say where it listens")?;
        let (host, port) = addr.rsplit_once(':').ok_or("no port in the address")?;
        Ok(RunningServer {
            child,
            host: host.to_string(),
            port: port.to_string(),
        })
    }

    fn client(&self, path: &str) -> Command {
        let mut command = Command::new(binary("client"));
        command.args([self.host.as_str(), self.port.as_str(), path]);
        command
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of one of the kit's commands, built next to this example.
fn binary(name: &str) -> PathBuf {
    let examples = std::env::current_exe().unwrap_or_default();
    let target = examples
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    target.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn main() -> Result<()> {
    let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/www");

    println!("== Tasks 1 and 2: server on fixtures/www, fetched with client ==\n");
    let server = RunningServer::start(&www, &[])?;
    for path in ["/HelloWorld.html", "/no-such-page.html"] {
        println!("\n$ client {} {} {path}", server.host, server.port);
        let status = server.client(path).status()?;
        if !status.success() {
            return Err(format!("client failed: {status}").into());
        }
    }
    drop(server);

    println!("\n== Task 3: {CLIENTS} clients at once, each response held {DELAY_MS} ms ==\n");
    let mut totals = Vec::new();
    for mode in ["single", "pool"] {
        let delay = DELAY_MS.to_string();
        let server = RunningServer::start(&www, &["--mode", mode, "--delay-ms", &delay])?;
        let started = Instant::now();
        let clients = (0..CLIENTS)
            .map(|_| server.client("/").stdout(Stdio::null()).spawn())
            .collect::<std::io::Result<Vec<_>>>()?;
        for mut client in clients {
            if !client.wait()?.success() {
                return Err("a client failed".into());
            }
        }
        let took = started.elapsed();
        println!("{mode:>8} mode: {CLIENTS} requests took {took:>8.2?}\n");
        totals.push(took.as_secs_f64());
    }
    println!("single mode serves one client at a time: about {CLIENTS} x {DELAY_MS} ms.");
    println!(
        "pool mode serves them together, about 1 x {DELAY_MS} ms: {:.1}x faster here.",
        totals[0] / totals[1]
    );
    Ok(())
}
