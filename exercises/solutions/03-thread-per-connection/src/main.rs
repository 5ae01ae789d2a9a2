//! Exercise 03: a thread per connection. Run it with `cargo run --bin ex03-threads --
//! PORT ROOT`, and run `cargo run --bin addresses` to see which ports connections use.
//!
//! (The solution of exercise 03.)

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
                // The thread owns what it uses; the loop goes straight back to accepting.
                let root = root.clone();
                std::thread::spawn(move || handler::handle_connection(stream, &root));
            }
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
    ExitCode::SUCCESS
}
