//! An observation for exercise 03: run `cargo run --bin addresses`.
//!
//! The assignment says that the server "sets up the TCP connection through another
//! port". It does not. This program listens, connects to itself three times, and prints
//! the two ends of each accepted socket: every one has the listening port as its local
//! port. What tells the connections apart is the pair of addresses, (local IP, local
//! port, peer IP, peer port): the peer port differs each time (RFC 9293, section 3.4).

use std::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("listening on {}", listener.local_addr()?);
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(TcpStream::connect(listener.local_addr()?)?);
        let (accepted, _) = listener.accept()?;
        println!(
            "accepted: local {}  peer {}",
            accepted.local_addr()?,
            accepted.peer_addr()?
        );
    }
    Ok(())
}
