//! Exercise 01: a single-threaded web server. Run it with `cargo run -- PORT ROOT`.
//!
//! This file is done for you: it reads the command line, listens, and hands each
//! connection to `handler::handle_connection`, one after the other. Your work is in
//! `src/handler.rs`.

// While todo!()s remain, some code is unused or unreachable: no warnings for that.
#![allow(dead_code, unused_variables, unreachable_code)]

mod handler;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

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

    // Task 1, steps 1 to 3: a TCP socket, bound to a port of this machine, listening.
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on port {port}: {error}");
            return ExitCode::from(1);
        }
    };
    // The tests wait for this line before they connect.
    println!("listening on http://127.0.0.1:{port}");

    // Step 3 again, then 8: accept a connection, serve it, go back to accepting.
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => handler::handle_connection(stream, &root),
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
    ExitCode::SUCCESS
}
