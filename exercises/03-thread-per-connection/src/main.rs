//! Exercise 03: a thread per connection. Run it with `cargo run --bin ex03-threads --
//! PORT ROOT`, and run `cargo run --bin addresses` to see which ports connections use.
//!
//! `handler.rs` is exercise 01's solution. The accept loop below is yours: while one
//! client is slow to send its request, the single-threaded server of exercise 01 makes
//! every other client wait. Serve each connection in a thread of its own.

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
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on port {port}: {error}");
            return ExitCode::from(1);
        }
    };
    println!("listening on http://127.0.0.1:{port}");

    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                // TODO: call handler::handle_connection in a new thread (std::thread::spawn)
                // so that this loop goes straight back to accepting. The thread must own
                // what it uses: move the stream in, and a clone of `root`.
                let _ = (stream, &root);
                todo!("serve the connection in a thread of its own")
            }
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
    ExitCode::SUCCESS
}
