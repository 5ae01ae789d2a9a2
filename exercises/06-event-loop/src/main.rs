//! Exercise 06: an event loop. Run it with `cargo run -- PORT ROOT`; close its standard
//! input (Ctrl-D in a terminal) to stop it gracefully.
//!
//! Exercises 03 to 05 give every connection a thread while it is served, and a thread
//! that waits for a slow client does nothing else. Here one thread serves every
//! connection: it never waits on any one of them, only on the poller, which says which
//! connections can be read or written without waiting. This file and `handler.rs` are
//! done for you; `connection.rs` and `event_loop.rs` are yours.

// While todo!()s remain, some code is unused or unreachable: no warnings for that
// (`unused` is the whole group: dead code, unused imports, variables, `mut`s, ...).
#![allow(unused)]

mod connection;
mod event_loop;
mod handler;

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use polling::Poller;

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
    let poller = match Poller::new() {
        Ok(poller) => Arc::new(poller),
        Err(error) => {
            eprintln!("cannot make a poller: {error}");
            return ExitCode::from(1);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (poller, stop) = (Arc::clone(&poller), Arc::clone(&stop));
        std::thread::spawn(move || stop_when_stdin_closes(&poller, &stop));
    }
    // Port 0 asks the system for any free port: say which one it gave.
    let port = listener.local_addr().map_or(port, |addr| addr.port());
    println!("listening on http://127.0.0.1:{port}");

    match event_loop::run(&listener, &root, &poller, &stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("the event loop failed: {error}");
            ExitCode::from(1)
        }
    }
}

/// Waits until standard input closes, then asks the event loop to stop. The loop sleeps in
/// `poller.wait`; `notify` wakes it, and it sees the flag.
fn stop_when_stdin_closes(poller: &Poller, stop: &AtomicBool) {
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
    stop.store(true, Ordering::SeqCst);
    let _ = poller.notify();
}
