//! The servers compared: weblab in each mode, Python's `http.server`, and nginx, each
//! started fresh on a free loopback port, serving the same folder.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::ServerProcess;

/// How long a server may take to start listening.
const STARTUP: Duration = Duration::from_secs(10);

/// One server to compare.
#[derive(Debug, Clone)]
pub enum Contender {
    /// weblab's `server` binary in one mode.
    Weblab { binary: PathBuf, mode: &'static str },
    /// `python3 -m http.server`.
    Python { python: PathBuf },
    /// nginx with a minimal generated configuration.
    Nginx { nginx: PathBuf },
}

impl Contender {
    /// The name used in tables, JSON and the chart.
    pub fn name(&self) -> String {
        match self {
            Contender::Weblab { mode, .. } => format!("weblab {mode}"),
            Contender::Python { .. } => "python http.server".to_string(),
            Contender::Nginx { .. } => "nginx".to_string(),
        }
    }

    /// A short name for the chart's axis.
    pub fn short_name(&self) -> String {
        match self {
            Contender::Weblab { mode, .. } => mode.to_string(),
            Contender::Python { .. } => "python".to_string(),
            Contender::Nginx { .. } => "nginx".to_string(),
        }
    }

    /// Starts the server on loopback, serving `root`, with its scratch files in `scratch`;
    /// returns once it accepts connections.
    pub fn start(&self, root: &Path, scratch: &Path) -> Result<Started, String> {
        match self {
            Contender::Weblab { binary, mode } => start_weblab(binary, mode, root),
            Contender::Python { python } => {
                let port = free_port()?;
                let mut command = Command::new(python);
                command
                    .args([
                        "-m",
                        "http.server",
                        &port.to_string(),
                        "--bind",
                        "127.0.0.1",
                    ])
                    .arg("--directory")
                    .arg(root)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                started_on_port(command, port)
            }
            Contender::Nginx { nginx } => {
                let port = free_port()?;
                let prefix = scratch.join("nginx");
                std::fs::create_dir_all(prefix.join("logs"))
                    .map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
                let config = prefix.join("nginx.conf");
                std::fs::write(&config, nginx_config(&prefix, root, port))
                    .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
                let mut command = Command::new(nginx);
                command
                    .arg("-p")
                    .arg(&prefix)
                    .arg("-c")
                    .arg(&config)
                    .arg("-e")
                    .arg(prefix.join("logs/error.log"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                started_on_port(command, port)
            }
        }
    }
}

/// A started server and where it listens.
pub struct Started {
    pub process: ServerProcess,
    pub addr: SocketAddr,
}

fn start_weblab(binary: &Path, mode: &str, root: &Path) -> Result<Started, String> {
    let mut command = Command::new(binary);
    command
        .args(["--port", "0", "--quiet", "--mode", mode, "--root"])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut process = ServerProcess::spawn(command)
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = process.child().stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("server printed {line:?}, not 'listening on http://...'"))?;
    Ok(Started { process, addr })
}

/// Starts `command` and waits until something accepts connections on `port`.
fn started_on_port(command: Command, port: u16) -> Result<Started, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut process =
        ServerProcess::spawn(command).map_err(|e| format!("cannot start {program}: {e}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + STARTUP;
    while Instant::now() < deadline {
        if process.has_exited() {
            return Err(format!("{program} exited at start"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(Started { process, addr });
        }
        thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "{program} did not listen on {addr} within {STARTUP:?}"
    ))
}

/// A port that was free a moment ago (for servers that cannot be told to pick one).
fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port on loopback: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A minimal nginx configuration: a static file server as close to nginx's defaults as
/// it can be while running from a scratch folder as the current user.
pub fn nginx_config(prefix: &Path, root: &Path, port: u16) -> String {
    let prefix = prefix.display();
    let mut config = String::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // As root, nginx would switch its workers to `nobody`, who cannot read the folder.
        config.push_str("user root root;\n");
    }
    let _ = write!(
        config,
        "daemon off;
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
",
        root = root.display()
    );
    config
}
