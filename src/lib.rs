//! weblab: a web server, a web client and the tests that grade them.
pub mod client;
pub mod files;
pub mod http;
pub mod log;
pub mod server;

pub use log::{AccessLog, LogEntry, NoLog, StderrLog};
pub use server::{Config, Mode, Server, ServerError, ServerHandle};
