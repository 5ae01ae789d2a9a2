//! Exercise 02: a web client. Run it with `cargo run -- HOST PORT PATH`, for example
//! `cargo run -- 127.0.0.1 12345 /index.html` while a server runs on port 12345.
//! (The solution of exercise 02.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Step 2: the server and the path come from the command line.
    let args: Vec<String> = std::env::args().collect();
    let (Some(host), Some(port), Some(path)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: {} HOST PORT PATH", args[0]);
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("'{port}' is not a port number");
        return ExitCode::from(2);
    };
    match fetch(host, port, path) {
        Ok(response) => {
            // Step 6: print the response, bytes as they came (a body need not be text).
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(&response);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("client: {error}");
            ExitCode::from(1)
        }
    }
}

/// Steps 1 and 3 to 5: connects, sends `GET path`, and returns the whole response.
fn fetch(host: &str, port: u16, path: &str) -> std::io::Result<Vec<u8>> {
    let stream = TcpStream::connect((host, port))?;
    send_request(&stream, host, path)?;
    read_response(&stream)
}

/// Step 4: sends `GET path HTTP/1.1` with a `Host` header (RFC 9112, section 3.2) and
/// `Connection: close`, so the server closes the connection after its response.
fn send_request(mut stream: &TcpStream, host: &str, path: &str) -> std::io::Result<()> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())
}

/// Step 5: reads until the server closes the connection (a read returns 0).
fn read_response(mut stream: &TcpStream) -> std::io::Result<Vec<u8>> {
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(response)
}
