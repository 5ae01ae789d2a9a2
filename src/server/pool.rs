//! A fixed pool of worker threads.
//!
//! Starting a thread per connection is simple, but a flood of connections
//! then means a flood of threads. A pool starts a fixed number of *worker*
//! threads once; the server hands each connection to the pool as a *job* (a
//! closure), and whichever worker is idle runs it. When every worker is busy,
//! new jobs wait in a queue instead of costing a thread each.
//!
//! # Design
//!
//! This is the thread pool from the Rust Book's web-server chapter, with its
//! three weak spots fixed:
//!
//! 1. **The queue lock is never held while a job runs.** The Book's worker loop,
//!    `while let Ok(job) = receiver.lock().unwrap().recv()`, keeps the lock
//!    for the whole loop body, so one worker runs jobs while every other
//!    worker waits for the lock: the pool quietly does one job at a time.
//!    Here the lock is taken inside a small function, `next_job`, and is
//!    released when that function returns, before the job starts.
//! 2. **A panicking job does not kill its worker.** Each job runs inside
//!    [`std::panic::catch_unwind`]; after a panic the worker takes the next job.
//!    Without this, each bad request would shrink the pool by one thread until
//!    nothing was left. (The default panic hook still prints the panic message
//!    on stderr, as it would for any thread.)
//! 3. **A poisoned lock is recovered, not unwrapped.** A `Mutex` is "poisoned"
//!    when a thread panics while holding it. Our lock only guards the channel's
//!    receiving end, which a panic cannot leave half-updated, so
//!    [`PoisonError::into_inner`] takes the lock anyway instead of panicking.
//!
//! The queue is a [`std::sync::mpsc`] channel: the pool keeps the sending end,
//! and the workers share the receiving end behind an `Arc<Mutex<..>>` (a
//! `Receiver` can't be shared otherwise). We chose this over writing our own
//! queue from a `Mutex<VecDeque>` and a `Condvar` because the channel already
//! does the two subtle parts: it wakes a sleeping worker when a job arrives,
//! and it turns "the pool is shutting down" into a plain value. Dropping the
//! only `Sender` closes the channel; each worker's `recv()` then hands out the
//! jobs still queued and, once the queue is empty, returns `Err`, which ends
//! the worker's loop. A hand-made queue would need its own "closed" flag and a
//! `notify_all` in the right place, two more chances for a hang.
//!
//! Shutting down ([`ThreadPool::shutdown`], or simply dropping the pool) closes
//! the channel and then joins every worker, so when it returns every job that
//! was queued has run and every worker thread has ended.
//!
//! # Example
//!
//! ```
//! use std::sync::mpsc;
//! use weblab::server::pool::ThreadPool;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = ThreadPool::new(4);
//! let (results, received) = mpsc::channel();
//! for n in 1..=8 {
//!     let results = results.clone();
//!     pool.execute(move || {
//!         results.send(n * n).expect("the receiver outlives the pool");
//!     })?;
//! }
//! pool.shutdown(); // waits for all eight jobs
//! drop(results);
//!
//! let mut squares: Vec<u32> = received.iter().collect();
//! squares.sort();
//! assert_eq!(squares, [1, 4, 9, 16, 25, 36, 49, 64]);
//! # Ok(())
//! # }
//! ```

use std::error::Error;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

/// A job: any closure that can be sent to another thread and run once.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed number of worker threads that run queued jobs.
///
/// See the [module documentation](self) for the design and an example.
pub struct ThreadPool {
    /// The sending end of the job queue; `None` once shutdown has begun.
    sender: Option<Sender<Job>>,
    /// One handle per worker thread, to join them on shutdown.
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts a pool of `size` worker threads, named `weblab-worker-0`,
    /// `weblab-worker-1`, and so on.
    ///
    /// A `size` of 0 is treated as 1: a pool without workers would accept
    /// jobs and never run them.
    ///
    /// # Panics
    ///
    /// Panics if the operating system refuses to start a thread, just as
    /// [`std::thread::spawn`] does.
    pub fn new(size: usize) -> ThreadPool {
        let size = size.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|id| spawn_worker(id, Arc::clone(&queue)))
            .collect();
        ThreadPool {
            sender: Some(sender),
            workers,
        }
    }

    /// Queues `job` to run on the next idle worker, and returns at once.
    ///
    /// The signature mirrors [`std::thread::spawn`]: the closure must be
    /// `Send` (it moves to a worker thread) and `'static` (it may outlive the
    /// caller's stack frame).
    ///
    /// # Errors
    ///
    /// Returns [`PoolClosed`] if the pool has started shutting down; the job
    /// is dropped without running.
    pub fn execute<F>(&self, job: F) -> Result<(), PoolClosed>
    where
        F: FnOnce() + Send + 'static,
    {
        let sender = self.sender.as_ref().ok_or(PoolClosed)?;
        // `send` only fails if every worker (every receiver) has gone.
        sender.send(Box::new(job)).map_err(|_| PoolClosed)
    }

    /// The number of worker threads.
    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// Stops taking jobs, lets the queued and running ones finish, and joins
    /// every worker thread.
    ///
    /// Dropping the pool does the same; this method just says so out loud.
    pub fn shutdown(self) {
        drop(self);
    }

    /// Closes the job queue: later calls to `execute` return [`PoolClosed`],
    /// and each worker stops once the queue is empty.
    fn close(&mut self) {
        // Dropping the only `Sender` is what closes the channel.
        self.sender = None;
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("size", &self.size())
            .field("open", &self.sender.is_some())
            .finish()
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.close();
        let current = thread::current().id();
        for worker in self.workers.drain(..) {
            // A job that drops the pool is running on one of its workers,
            // and a thread cannot wait for itself to finish.
            if worker.thread().id() == current {
                continue;
            }
            // `join` fails only if the worker panicked outside a job, which
            // `run_job` prevents. Either way the thread has ended, and a
            // `drop` must not panic, so there is nothing more to do.
            let _ = worker.join();
        }
    }
}

/// Starts worker number `id`, which runs jobs from `queue` until it closes.
fn spawn_worker(id: usize, queue: Arc<Mutex<Receiver<Job>>>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("weblab-worker-{id}"))
        .spawn(move || run_jobs(&queue))
        .expect("the operating system refused to start a worker thread")
}

/// A worker's whole life: take a job, run it, repeat until the queue closes.
fn run_jobs(queue: &Mutex<Receiver<Job>>) {
    // Why not the Book's `while let Ok(job) = queue.lock().unwrap().recv()`?
    // A `while let` keeps the temporaries of its condition (here, the lock
    // guard) alive until the end of the loop body, so the lock would be held
    // while the job runs. Calling `next_job` releases it before the body.
    while let Some(job) = next_job(queue) {
        run_job(job);
    }
}

/// Waits for the next job; `None` once the queue is closed and empty.
///
/// Holding the lock while blocked in `recv` is intended: one idle worker
/// waits for the next job while the other idle ones wait for the lock.
fn next_job(queue: &Mutex<Receiver<Job>>) -> Option<Job> {
    let receiver = queue.lock().unwrap_or_else(PoisonError::into_inner);
    receiver.recv().ok()
    // `receiver`, the lock guard, is dropped here: the lock is free again
    // before the caller runs the job.
}

/// Runs one job, containing any panic so that the worker survives it.
fn run_job(job: Job) {
    // `AssertUnwindSafe` promises that nothing broken by a panic will be
    // used afterwards. That holds: the job itself is gone after a panic,
    // and it shares no state with the pool.
    let _ = panic::catch_unwind(AssertUnwindSafe(job));
}

/// The error from [`ThreadPool::execute`] once the pool is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolClosed;

impl fmt::Display for PoolClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the thread pool is shutting down and takes no new jobs")
    }
}

impl Error for PoolClosed {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const PATIENCE: Duration = Duration::from_secs(10);

    #[test]
    fn execute_after_shutdown_started_is_refused() {
        let mut pool = ThreadPool::new(1);
        pool.close();
        assert_eq!(pool.execute(|| {}), Err(PoolClosed));
    }

    #[test]
    fn the_queue_lock_is_free_while_a_job_runs() {
        let (sender, receiver) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(receiver));
        let worker = spawn_worker(0, Arc::clone(&queue));

        let (report, lock_was_free) = mpsc::channel();
        let queue_seen_by_job = Arc::clone(&queue);
        let job: Job = Box::new(move || {
            let free = queue_seen_by_job.try_lock().is_ok();
            report.send(free).expect("the test is waiting");
        });
        sender.send(job).expect("the worker is running");

        let free = lock_was_free.recv_timeout(PATIENCE);
        drop(sender);
        worker
            .join()
            .expect("the worker ends when the queue closes");
        assert_eq!(
            free,
            Ok(true),
            "the worker held the queue lock while running a job"
        );
    }

    #[test]
    fn a_poisoned_queue_lock_is_recovered() {
        let (sender, receiver) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(receiver));
        let poisoner = Arc::clone(&queue);
        let panicked = thread::spawn(move || {
            let _guard = poisoner.lock();
            panic!("poisoning the queue lock on purpose");
        })
        .join();
        assert!(panicked.is_err() && queue.is_poisoned());

        sender.send(Box::new(|| {})).expect("the queue is open");
        assert!(next_job(&queue).is_some());
        drop(sender);
        assert!(next_job(&queue).is_none());
    }
}
