//! epoll, called directly (Linux only). Three system calls make the whole interface:
//!
//! - `epoll_create1` makes an epoll instance: a set of watched descriptors, and a queue of
//!   the ones that became ready;
//! - `epoll_ctl` adds a descriptor to the set, changes what it is watched for, or removes
//!   it; each carries 64 bits of our own (here the key) that come back with its events;
//! - `epoll_wait` sleeps until something in the set is ready (or a timeout), and returns
//!   the ready descriptors' keys and what they are ready for.
//!
//! A wake-up from another thread (a stop) is an `eventfd` in the set: writing to it makes
//! it readable, which ends the wait.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{Event, PollMode};

/// The key of the wake-up descriptor; [`Events::iter`] leaves its events out.
const WAKER_KEY: u64 = u64::MAX;
/// The most events one wait returns.
const CAPACITY: usize = 1024;

/// What makes an event "readable": data, the peer's FIN (`RDHUP`), or an error or hang-up,
/// which a read then reports.
const READ_FLAGS: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
/// What makes it "writable": room in the send buffer, or an error or hang-up.
const WRITE_FLAGS: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;

/// An epoll instance and its wake-up descriptor.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: OwnedFd,
    waker: OwnedFd,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: plain system calls; each new descriptor is owned at once.
        let epoll =
            unsafe { OwnedFd::from_raw_fd(check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above.
        let waker = unsafe {
            OwnedFd::from_raw_fd(check(libc::eventfd(
                0,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK,
            ))?)
        };
        let poller = Poller { epoll, waker };
        // Edge-triggered: every write to an eventfd is a new edge, so a wake-up is never
        // lost, and the counter needs reading only now and then (in `wait`).
        poller.control(
            libc::EPOLL_CTL_ADD,
            poller.waker.as_raw_fd(),
            (libc::EPOLLIN | libc::EPOLLET) as u32,
            WAKER_KEY,
        )?;
        Ok(poller)
    }

    /// Watches `source` for `interest`, reported as `mode` says.
    ///
    /// # Safety
    ///
    /// As for `polling::Poller::add`: delete `source` before closing it, unless it has no
    /// duplicate (closing it then takes it out of the set).
    pub(crate) unsafe fn add_with_mode(
        &self,
        source: &impl AsRawFd,
        interest: Event,
        mode: PollMode,
    ) -> io::Result<()> {
        let flags = flags(interest) | mode_flags(mode);
        self.control(
            libc::EPOLL_CTL_ADD,
            source.as_raw_fd(),
            flags,
            key(interest),
        )
    }

    /// Watches a listening socket, level-triggered and with `EPOLLEXCLUSIVE`: of the epoll
    /// instances waiting on it, a new connection wakes one (or a few), not all of them.
    /// (Linux 4.5 and later; an older kernel ignores the flag and wakes them all.)
    ///
    /// # Safety
    ///
    /// As for [`Poller::add_with_mode`].
    pub(crate) unsafe fn add_exclusive(
        &self,
        source: &impl AsRawFd,
        interest: Event,
    ) -> io::Result<()> {
        // Only EPOLLIN and EPOLLOUT may go with EPOLLEXCLUSIVE (EPOLLRDHUP is refused).
        let mut flags = libc::EPOLLEXCLUSIVE as u32;
        if interest.readable {
            flags |= libc::EPOLLIN as u32;
        }
        if interest.writable {
            flags |= libc::EPOLLOUT as u32;
        }
        self.control(
            libc::EPOLL_CTL_ADD,
            source.as_raw_fd(),
            flags,
            key(interest),
        )
    }

    /// Watches `source` for `interest` again, once.
    pub(crate) fn modify(&self, source: &impl AsFd, interest: Event) -> io::Result<()> {
        let flags = flags(interest) | mode_flags(PollMode::Oneshot);
        let fd = source.as_fd().as_raw_fd();
        self.control(libc::EPOLL_CTL_MOD, fd, flags, key(interest))
    }

    /// Stops watching `source`.
    pub(crate) fn delete(&self, source: &impl AsFd) -> io::Result<()> {
        self.control(libc::EPOLL_CTL_DEL, source.as_fd().as_raw_fd(), 0, 0)
    }

    /// Waits until a watched descriptor is ready, [`Poller::notify`] is called, or
    /// `timeout` passes (`None`: no limit). A signal ends the wait early, with no events.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.list.clear();
        let timeout_ms = match timeout {
            None => -1,
            // Rounded up, so that a deadline is never woken for just before it passes.
            Some(t) => i32::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
        };
        // SAFETY: the kernel writes at most CAPACITY events into the list's spare room.
        let ready = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.list.as_mut_ptr(),
                CAPACITY as i32,
                timeout_ms,
            )
        };
        let ready = match check(ready) {
            Ok(ready) => ready as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        // SAFETY: epoll_wait wrote `ready` events, and `ready` is at most CAPACITY.
        unsafe { events.list.set_len(ready) };
        if events.list.iter().any(|e| e.u64 == WAKER_KEY) {
            // Reset the counter; the next write is a new edge whatever its value.
            let mut count = [0u8; 8];
            // SAFETY: reads at most 8 bytes into `count`.
            let _ = unsafe { libc::read(self.waker.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
        }
        Ok(events.iter().count())
    }

    /// Wakes the thread waiting in [`Poller::wait`] (or its next wait).
    pub(crate) fn notify(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from `one`. A counter that is full (EAGAIN) has a wake-up
        // pending already.
        let _ = unsafe { libc::write(self.waker.as_raw_fd(), one.as_ptr().cast(), 8) };
        Ok(())
    }

    /// epoll reports edges: a descriptor can stay watched for reading and writing, and is
    /// reported each time it becomes ready again.
    pub(crate) fn supports_edge(&self) -> bool {
        true
    }

    fn control(&self, op: i32, fd: RawFd, flags: u32, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: flags,
            u64: key,
        };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        check(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }
}

/// Room for the events of one wait.
#[derive(Debug)]
pub(crate) struct Events {
    list: Vec<libc::epoll_event>,
}

impl Events {
    pub(crate) fn new() -> Events {
        Events {
            list: Vec::with_capacity(CAPACITY),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    /// The events of the last wait, without the wake-ups.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list.iter().filter(|e| e.u64 != WAKER_KEY).map(|e| {
            // Copied out: the struct is packed on x86-64.
            let (bits, key) = (e.events, e.u64);
            Event::new(
                key as usize,
                bits & READ_FLAGS != 0,
                bits & WRITE_FLAGS != 0,
            )
        })
    }
}

/// What to watch for.
fn flags(interest: Event) -> u32 {
    let mut flags = 0;
    if interest.readable {
        flags |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
    }
    if interest.writable {
        flags |= libc::EPOLLOUT as u32;
    }
    flags
}

fn mode_flags(mode: PollMode) -> u32 {
    match mode {
        PollMode::Oneshot => libc::EPOLLONESHOT as u32,
        PollMode::Level => 0,
        PollMode::Edge => libc::EPOLLET as u32,
        PollMode::EdgeOneshot => (libc::EPOLLET | libc::EPOLLONESHOT) as u32,
        // A mode `polling` may add later: once, the default.
        _ => libc::EPOLLONESHOT as u32,
    }
}

fn key(interest: Event) -> u64 {
    interest.key as u64
}

/// A system call's result: its value, or the error it set.
fn check(result: i32) -> io::Result<i32> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_ready_socket_is_reported_with_its_key() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let poller = Poller::new().unwrap();
        // SAFETY: deleted below, before `server` closes.
        unsafe { poller.add_with_mode(&server, Event::readable(7), PollMode::Edge) }.unwrap();
        let mut events = Events::new();
        assert_eq!(
            poller.wait(&mut events, Some(Duration::ZERO)).unwrap(),
            0,
            "nothing yet"
        );
        client.write_all(b"x").unwrap();
        poller
            .wait(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        // Watched for reading only: not reported writable, though it is.
        let got: Vec<(usize, bool, bool)> = (events.iter())
            .map(|e| (e.key, e.readable, e.writable))
            .collect();
        assert_eq!(got, [(7, true, false)]);
        poller.delete(&server).unwrap();
    }

    /// An event says what its socket is ready for: a new connection can be written to, and
    /// a reset connection is both readable and writable, so that the read or the write that
    /// follows reports the error.
    #[test]
    fn an_event_says_what_the_socket_is_ready_for() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let poller = Poller::new().unwrap();
        // SAFETY: deleted below, before `server` closes.
        unsafe { poller.add_with_mode(&server, Event::all(1), PollMode::Edge) }.unwrap();
        let mut events = Events::new();
        let mut next = || {
            poller
                .wait(&mut events, Some(Duration::from_secs(10)))
                .unwrap();
            let got: Vec<(bool, bool)> = events.iter().map(|e| (e.readable, e.writable)).collect();
            got
        };
        assert_eq!(next(), [(false, true)], "a new connection: writable only");
        // SO_LINGER with a zero timeout makes close send a reset.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt reads `linger`, which lives through the call.
        let set = unsafe {
            libc::setsockopt(
                client.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                std::ptr::addr_of!(linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(set, 0);
        drop(client);
        assert_eq!(next(), [(true, true)], "a reset connection: both");
        poller.delete(&server).unwrap();
    }

    #[test]
    fn notify_ends_a_wait_with_no_events() {
        let poller = std::sync::Arc::new(Poller::new().unwrap());
        let waker = std::sync::Arc::clone(&poller);
        let thread = std::thread::spawn(move || waker.notify().unwrap());
        let mut events = Events::new();
        let started = std::time::Instant::now();
        // Woken by the other thread long before the minute passes; a notify that came
        // first is still pending, and ends the wait at once.
        assert_eq!(
            poller
                .wait(&mut events, Some(Duration::from_secs(60)))
                .unwrap(),
            0
        );
        assert!(started.elapsed() < Duration::from_secs(30));
        thread.join().unwrap();
    }

    #[test]
    fn a_timeout_is_rounded_up_to_whole_milliseconds() {
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        let started = std::time::Instant::now();
        poller
            .wait(&mut events, Some(Duration::from_micros(1500)))
            .unwrap();
        assert!(
            started.elapsed() >= Duration::from_micros(1500),
            "{:?}",
            started.elapsed()
        );
    }
}
