//! weblab: a web server, a web client, and the tests that grade them, for learning
//! socket programming and HTTP.
//!
//! ```no_run
//! use std::sync::Arc;
//! use weblab::{Config, Server, StderrLog};
//!
//! // Serve the current folder on a free port until Ctrl-C.
//! let server = Server::bind("127.0.0.1:0", ".", Config::default(), Arc::new(StderrLog))?;
//! println!("listening on http://{}", server.local_addr());
//! server.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # From the assignment to the modules
//!
//! | assignment step | where it lives |
//! |-----------------|----------------|
//! | Task 1, steps 1–3: create a socket, bind, listen, accept | [`Server::bind`], [`Server::run`] in [`server`] |
//! | Task 1, step 4: parse the request | [`http::parse_request_head`], [`http::decode_target`] |
//! | Task 1, step 5: is the file there? | [`files::Root::resolve`] (and why that is the security boundary) |
//! | Task 1, steps 6–7: 404 or the file, with header lines | [`server::handler::respond`], [`http::ResponseHead`] |
//! | Task 1, step 8: close, go back to accepting | `server::connection` (private) |
//! | Task 2: the client | [`client`] |
//! | Task 3: a thread per connection | [`Mode::Threaded`] in [`server`] |
//! | Beyond: a pool of event loops that no client can hold | [`Mode::Pool`], [`server::pool::ThreadPool`], `server::event_loop` (private) |
//! | Grading a submission (the `grade` command) | [`grade`]: rubric, outcomes, reports |
//! | Grading a whole class, each submission contained (`grade class`) | [`class`] |
//! | The HTTP the server and the client share: tokens, lines, header fields, one parse result shape | [`http::syntax`], [`http::Parse`] |
//! | Where a body ends (RFC 9112, 6.3), for a request and for a response | [`http::framing`], [`http::BodyFraming`] |
//! | HTTP dates, written and read | [`http::date`] |
//!
//! # Reading the server, in order
//!
//! Each step builds on the one before; the exercises follow the same path.
//!
//! 1. [`server::handler`]: a request in, a reply out, with no socket in sight.
//! 2. `server::connection`: one connection's life as a few named phases (reading a head,
//!    dropping a body, sending, lingering), moved along by one function; and serving it
//!    with blocking calls.
//! 3. `server::single`: the accept loop, one connection at a time ([`Mode::Single`]).
//! 4. `server::threaded`: a thread per connection ([`Mode::Threaded`]).
//! 5. [`server::pool`]: a fixed pool of threads, the Rust Book's, with its weak spots fixed.
//! 6. `server::event_loop`: each thread of the pool runs an event loop, and a waiting client
//!    costs no thread ([`Mode::Pool`]); the [`server`] module docs say why. What it waits
//!    in is `server::poller`: on Linux, epoll in three system calls.
//!
//! The library never prints: the binaries pass an [`AccessLog`] and turn errors into one
//! line on stderr and an exit code.

#![warn(missing_docs)]

pub mod class;
pub mod cli;
pub mod client;
pub mod escape;
pub mod files;
pub mod grade;
pub mod http;
pub mod log;
pub mod server;

pub use log::{AccessLog, LogEntry, NoLog, StderrLog};
pub use server::{Config, Mode, Server, ServerError, ServerHandle};
