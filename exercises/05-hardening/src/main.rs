//! Exercise 05: hardening. Run it with `cargo run -- PORT ROOT`; close its standard input
//! (Ctrl-D in a terminal) to stop it.
//!
//! This file and `pool.rs` are exercise 04's solution. Your work is in `handler.rs`.

// While todo!()s remain, some code is unused or unreachable: no warnings for that.
#![allow(dead_code, unused_variables, unreachable_code)]

mod handler;
mod pool;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pool::ThreadPool;

/// How many workers serve connections.
const WORKERS: usize = 8;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(port), Some(root)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: {} PORT ROOT", args[0]);
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("'{port}' is not a port number");
        return ExitCode::from(2);
    };
    let root = PathBuf::from(root);
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on port {port}: {error}");
            return ExitCode::from(1);
        }
    };
    let pool = ThreadPool::new(WORKERS);
    let stopping = Arc::new(AtomicBool::new(false));
    if let Ok(addr) = listener.local_addr() {
        let stopping = Arc::clone(&stopping);
        std::thread::spawn(move || stop_when_stdin_closes(addr, &stopping));
    }
    println!("listening on http://127.0.0.1:{port}");

    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(stream) => {
                let root = root.clone();
                pool.execute(move || handler::handle_connection(stream, &root));
            }
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
    // Dropping the pool waits for every worker: the responses in flight are finished.
    drop(pool);
    ExitCode::SUCCESS
}

/// Waits until standard input closes, then stops the accept loop. `accept` cannot be
/// interrupted in std, so it is woken by a connection of our own, which sees the flag.
fn stop_when_stdin_closes(addr: SocketAddr, stopping: &AtomicBool) {
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
    stopping.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect(addr);
}
