//! The access log: one line per request, written through a logger the program passes in.
//!
//! The library never prints. The `server` binary passes [`StderrLog`]; tests pass their own
//! [`AccessLog`] to see what was logged, or [`NoLog`].

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::time::SystemTime;

use crate::escape::escape_bytes;
use crate::http::format_http_date;

/// One finished exchange, as the access log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The client's address and port.
    pub peer: SocketAddr,
    /// When the response was finished.
    pub time: SystemTime,
    /// The request line as received (possibly invalid), or `None` if none arrived.
    pub request_line: Option<String>,
    /// The status sent, or `None` if the connection was closed without a response.
    pub status: Option<u16>,
    /// Bytes written to the client, head and body.
    pub bytes_sent: u64,
}

impl fmt::Display for LogEntry {
    /// `127.0.0.1:50000 [Tue, 24 Nov 2026 10:00:00 GMT] "GET / HTTP/1.1" 200 1234`, close to
    /// the Common Log Format. The request line comes from the client, so control characters,
    /// quotes and backslashes in it are escaped: a crafted request cannot forge log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.request_line.as_deref().map(escape_for_log);
        let status = self.status.map(|s| s.to_string());
        write!(
            f,
            "{} [{}] \"{}\" {} {}",
            self.peer,
            http_date(self.time),
            line.as_deref().unwrap_or("-"),
            status.as_deref().unwrap_or("-"),
            self.bytes_sent
        )
    }
}

/// Where access-log entries go.
pub trait AccessLog: Send + Sync {
    /// Records one entry. Called from the thread that served the request.
    fn record(&self, entry: &LogEntry);
}

/// Writes each entry as one line on standard error.
#[derive(Debug, Default, Clone, Copy)]
pub struct StderrLog;

impl AccessLog for StderrLog {
    fn record(&self, entry: &LogEntry) {
        // One write per line, so lines from different threads never interleave.
        let line = format!("{entry}\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// Discards every entry (`--quiet`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLog;

impl AccessLog for NoLog {
    fn record(&self, _entry: &LogEntry) {}
}

/// Escapes control characters, `"` and `\` as `\xNN`, so the text stays on one line and
/// the quotes around it in the log line stay unambiguous (see [`crate::escape`]).
pub fn escape_for_log(text: &str) -> String {
    escape_bytes(text.as_bytes(), |c| c.is_control() || c == '"' || c == '\\')
}

/// The time as an HTTP date, or `-` (the log's mark for "none") if it cannot be one.
fn http_date(time: SystemTime) -> String {
    format_http_date(time).unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn control_characters_and_quotes_are_escaped() {
        assert_eq!(
            escape_for_log("GET /\r\n\"x\\"),
            "GET /\\x0d\\x0a\\x22x\\x5c"
        );
    }

    #[test]
    fn an_entry_is_one_line_in_common_log_order() {
        let entry = LogEntry {
            peer: "127.0.0.1:50000".parse().expect("an address"),
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            request_line: Some("GET /a b HTTP/1.1".into()),
            status: Some(404),
            bytes_sent: 120,
        };
        assert_eq!(
            entry.to_string(),
            "127.0.0.1:50000 [Tue, 14 Nov 2023 22:13:20 GMT] \"GET /a b HTTP/1.1\" 404 120"
        );
        let silent = LogEntry {
            request_line: None,
            status: None,
            ..entry
        };
        assert!(silent.to_string().ends_with("GMT] \"-\" - 120"), "{silent}");
    }
}
