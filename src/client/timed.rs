//! Two time limits on one exchange: how long any single wait may last, and how long the
//! whole exchange may take.
//!
//! A per-read timeout alone does not bound an exchange. A server that sends one byte of
//! its head every second never lets a 3-second read timeout expire, and the 64 KiB head
//! limit then allows about 18 hours; a body dripped, or sent without end, has no limit at
//! all. So every read and write waits for at most the smaller of the two: the per-wait
//! timeout, or whatever is left of the overall one. (curl has the same pair:
//! `--connect-timeout`/`--speed-time` and `--max-time`.)

use std::error::Error;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Which time limit ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    /// One wait (for the connection, for data, for room to write) lasted this long:
    /// [`ClientRequest::timeout`](super::ClientRequest::timeout).
    Idle(Duration),
    /// The whole exchange took this long: [`ClientRequest::max_time`](super::ClientRequest::max_time).
    Total(Duration),
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLimit::Idle(d) => write!(f, "the server sent nothing for {}", seconds(*d)),
            TimeLimit::Total(d) => {
                write!(f, "the whole exchange took more than {}", seconds(*d))
            }
        }
    }
}

/// A `TimeLimit` travels up through the `io::Error` of the read that hit it (see
/// [`TimedStream`]), so it must be an error itself.
impl Error for TimeLimit {}

/// Shows a duration in seconds, as the user typed it: `3 s`, `0.5 s`.
fn seconds(duration: Duration) -> String {
    crate::cli::show_seconds(duration)
}

/// The two limits of one exchange, and the moment its overall limit runs out.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    per_wait: Duration,
    total: Duration,
    ends: Instant,
}

impl Deadline {
    /// Starts the clock now: each wait may last `per_wait`, everything together `total`.
    pub fn start(per_wait: Duration, total: Duration) -> Deadline {
        Deadline {
            per_wait,
            total,
            // `checked_add` only fails for absurd totals; treat those as "never".
            ends: Instant::now()
                .checked_add(total)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365)),
        }
    }

    /// How long the next wait may last, and which limit that is; or, when the overall
    /// time is already used up, that limit as the error.
    pub fn next_wait(&self) -> Result<(Duration, TimeLimit), TimeLimit> {
        let left = self.ends.saturating_duration_since(Instant::now());
        if left.is_zero() {
            // A zero socket timeout is an error, not "no wait": never pass one on.
            Err(TimeLimit::Total(self.total))
        } else if left < self.per_wait {
            Ok((left, TimeLimit::Total(self.total)))
        } else {
            Ok((self.per_wait, TimeLimit::Idle(self.per_wait)))
        }
    }

    /// Connects to `addr`, waiting no longer than the next wait allows. Only running out
    /// of the overall time is named as a [`TimeLimit`]: a connection that times out within
    /// its own wait is the OS's "connection timed out", a failure of this one address,
    /// and the next address may still answer.
    pub fn connect(&self, addr: &SocketAddr) -> io::Result<TcpStream> {
        let (wait, limit) = self.next_wait().map_err(expired)?;
        TcpStream::connect_timeout(addr, wait).map_err(|err| match limit {
            TimeLimit::Total(_) => name_the_limit(err, limit),
            TimeLimit::Idle(_) => err,
        })
    }
}

/// A TCP stream whose every read and write waits at most as long as its [`Deadline`]
/// allows. A wait that runs out fails with an `io::Error` of kind `TimedOut` that carries
/// the [`TimeLimit`] it hit, which becomes [`ClientError::TimedOut`](super::ClientError).
#[derive(Debug)]
pub struct TimedStream {
    stream: TcpStream,
    deadline: Deadline,
    /// The socket's current read and write timeouts, so an unchanged one is not set again.
    read_wait: Option<Duration>,
    write_wait: Option<Duration>,
}

impl TimedStream {
    /// Puts `stream` under `deadline`.
    pub fn new(stream: TcpStream, deadline: Deadline) -> TimedStream {
        TimedStream {
            stream,
            deadline,
            read_wait: None,
            write_wait: None,
        }
    }

    /// The underlying connection.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl Read for TimedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (wait, limit) = self.deadline.next_wait().map_err(expired)?;
        if self.read_wait != Some(wait) {
            // An error here is real (the socket is gone, or the wait is invalid): report it.
            self.stream.set_read_timeout(Some(wait))?;
            self.read_wait = Some(wait);
        }
        self.stream
            .read(buf)
            .map_err(|err| name_the_limit(err, limit))
    }
}

impl Write for TimedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (wait, limit) = self.deadline.next_wait().map_err(expired)?;
        if self.write_wait != Some(wait) {
            self.stream.set_write_timeout(Some(wait))?;
            self.write_wait = Some(wait);
        }
        self.stream
            .write(buf)
            .map_err(|err| name_the_limit(err, limit))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The error for a wait that ran out under `limit`.
fn expired(limit: TimeLimit) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, limit)
}

/// Replaces a socket timeout with one that says which limit it was; passes others on.
fn name_the_limit(err: io::Error, limit: TimeLimit) -> io::Error {
    if is_timeout(&err) {
        expired(limit)
    } else {
        err
    }
}

/// The time limit an error from a [`TimedStream`] or [`Deadline::connect`] ran into, if it
/// is such a timeout.
pub(crate) fn limit_hit(err: &io::Error) -> Option<TimeLimit> {
    err.get_ref()?.downcast_ref::<TimeLimit>().copied()
}

/// Unix reports an expired socket timeout as `WouldBlock`, Windows as `TimedOut`.
pub(crate) fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_the_per_wait_timeout_while_the_overall_time_lasts() {
        let deadline = Deadline::start(Duration::from_secs(3), Duration::from_secs(3600));
        assert_eq!(
            deadline.next_wait(),
            Ok((
                Duration::from_secs(3),
                TimeLimit::Idle(Duration::from_secs(3))
            ))
        );
    }

    #[test]
    fn the_wait_shrinks_to_what_is_left_of_the_overall_time() {
        let deadline = Deadline::start(Duration::from_secs(3600), Duration::from_secs(2));
        let (wait, limit) = deadline.next_wait().expect("time is left");
        assert!(wait <= Duration::from_secs(2), "{wait:?}");
        assert_eq!(limit, TimeLimit::Total(Duration::from_secs(2)));
    }

    /// A connected pair on loopback: our end under `deadline`, and the peer's end,
    /// which a test holds and never reads from or writes to.
    fn stalled_pair(deadline: Deadline) -> (TimedStream, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let ours = TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
        let (theirs, _) = listener.accept().expect("accept");
        (TimedStream::new(ours, deadline), theirs)
    }

    #[test]
    fn a_read_from_a_silent_peer_ends_at_the_per_wait_timeout() {
        let per_wait = Duration::from_millis(200);
        let (mut ours, _theirs) = stalled_pair(Deadline::start(per_wait, Duration::from_secs(60)));
        let err = ours.read(&mut [0; 16]).expect_err("nothing is sent");
        assert_eq!(limit_hit(&err), Some(TimeLimit::Idle(per_wait)), "{err:?}");
    }

    #[test]
    fn writing_to_a_peer_that_never_reads_ends_at_the_overall_limit() {
        // The socket buffers fill, then a write waits for room that never comes.
        let total = Duration::from_millis(300);
        let (mut ours, _theirs) = stalled_pair(Deadline::start(Duration::from_secs(60), total));
        let started = Instant::now();
        let chunk = vec![0; 1 << 20];
        let err = (0..1024)
            .find_map(|_| ours.write_all(&chunk).err())
            .expect("1 GiB cannot fit in the socket buffers");
        assert_eq!(limit_hit(&err), Some(TimeLimit::Total(total)), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn no_connection_is_tried_once_the_overall_time_is_used_up() {
        let deadline = Deadline {
            per_wait: Duration::from_secs(3),
            total: Duration::from_secs(1),
            ends: Instant::now(),
        };
        // Port 9 (discard) on loopback: never reached, since no attempt is made.
        let err = deadline
            .connect(&"127.0.0.1:9".parse().expect("an address"))
            .expect_err("out of time");
        assert_eq!(
            limit_hit(&err),
            Some(TimeLimit::Total(Duration::from_secs(1)))
        );
    }

    #[test]
    fn no_wait_at_all_once_the_overall_time_is_used_up() {
        let deadline = Deadline {
            per_wait: Duration::from_secs(3),
            total: Duration::from_secs(1),
            ends: Instant::now(),
        };
        assert_eq!(
            deadline.next_wait(),
            Err(TimeLimit::Total(Duration::from_secs(1)))
        );
    }
}
