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
//! weak spots fixed:
//!
//! 1. **The queue lock is never held while a job runs.** The Book's worker loop,
//!    `while let Ok(job) = receiver.lock().unwrap().recv()`, keeps the lock
//!    for the whole loop body, so one worker runs jobs while every other
//!    worker waits for the lock: the pool quietly does one job at a time.
//!    Here the lock is taken inside a small function, `next_job`, and is
//!    released when that function returns, before the job starts.
//! 2. **One job wakes one worker.** The Book shares a channel's receiving end
//!    behind a mutex, so a new job wakes the worker blocked in `recv`, whose
//!    unlock then wakes a second worker only for it to block in `recv` again:
//!    two thread switches for every job. Here the queue is a plain
//!    [`VecDeque`] under a [`Mutex`], and idle workers sleep on a [`Condvar`]:
//!    `execute` pushes the job and calls `notify_one`, waking exactly one.
//! 3. **A panicking job does not kill its worker.** Each job runs inside
//!    [`std::panic::catch_unwind`]; after a panic the worker takes the next job.
//!    Without this, each bad request would shrink the pool by one thread until
//!    nothing was left. (The default panic hook still prints the panic message
//!    on stderr, as it would for any thread.)
//! 4. **A poisoned lock is recovered, not unwrapped.** A `Mutex` is "poisoned"
//!    when a thread panics while holding it. Our lock only guards the queue,
//!    which no job touches while holding it, so [`PoisonError::into_inner`]
//!    takes the lock anyway instead of panicking.
//!
//! Shutting down ([`ThreadPool::shutdown`], or simply dropping the pool) marks
//! the queue closed and wakes every worker; each one finishes the jobs still
//! queued and then returns, and the pool joins them all. So when it returns,
//! every job that was queued has run and every worker thread has ended.
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

use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

/// A job: any closure that can be sent to another thread and run once.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The jobs waiting for a worker, and whether more may come.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// What the pool and its workers share: the queue, and the bell idle workers wait on.
#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    job_ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fixed number of worker threads that run queued jobs.
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts a pool of `size` worker threads, named `weblab-worker-0` and up.
    ///
    /// A size of 0 is treated as 1: a pool with no workers would accept jobs
    /// and never run them.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start a thread, as
    /// [`std::thread::spawn`] does.
    pub fn new(size: usize) -> ThreadPool {
        let size = size.max(1);
        let shared = Arc::new(Shared::default());
        let workers = (0..size)
            .map(|id| spawn_worker(id, Arc::clone(&shared)))
            .collect();
        ThreadPool { shared, workers }
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
        let mut queue = self.shared.lock();
        if queue.closed {
            return Err(PoolClosed);
        }
        queue.jobs.push_back(Box::new(job));
        drop(queue);
        self.shared.job_ready.notify_one();
        Ok(())
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

    /// Closes the queue: later calls to `execute` return [`PoolClosed`], and
    /// each worker stops once the queue is empty.
    fn close(&mut self) {
        self.shared.lock().closed = true;
        self.shared.job_ready.notify_all();
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("size", &self.size())
            .field("open", &!self.shared.lock().closed)
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

/// Starts worker number `id`, which runs jobs until the queue closes.
fn spawn_worker(id: usize, shared: Arc<Shared>) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("weblab-worker-{id}"))
        .spawn(move || run_jobs(&shared))
        .expect("the operating system refused to start a worker thread")
}

/// A worker's whole life: take a job, run it, repeat until the queue closes.
fn run_jobs(shared: &Shared) {
    // Why not `while let Some(job) = shared.lock().jobs.pop_front()`, as in the Book?
    // A `while let` keeps the temporaries of its condition (here, the lock guard)
    // alive until the end of the loop body, so the lock would be held while the job
    // runs. Calling `next_job` releases it before the body.
    while let Some(job) = next_job(shared) {
        run_job(job);
    }
}

/// Waits for the next job; `None` once the queue is closed and empty.
fn next_job(shared: &Shared) -> Option<Job> {
    let mut queue = shared.lock();
    loop {
        if let Some(job) = queue.jobs.pop_front() {
            return Some(job);
        }
        if queue.closed {
            return None;
        }
        // Releases the lock while asleep, and takes it again on waking. A wake-up
        // may find the queue empty (another worker was faster), hence the loop.
        queue = shared
            .job_ready
            .wait(queue)
            .unwrap_or_else(PoisonError::into_inner);
    }
    // `queue`, the lock guard, is dropped on return: the lock is free again
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
    use std::sync::mpsc;
    use std::time::Duration;

    const PATIENCE: Duration = Duration::from_secs(10);

    #[test]
    fn execute_after_shutdown_started_is_refused() {
        let mut pool = ThreadPool::new(1);
        pool.close();
        assert_eq!(pool.execute(|| {}), Err(PoolClosed));
    }

    #[test]
    fn debug_shows_the_size_and_whether_jobs_are_taken() {
        let mut pool = ThreadPool::new(2);
        assert_eq!(format!("{pool:?}"), "ThreadPool { size: 2, open: true }");
        pool.close();
        assert_eq!(format!("{pool:?}"), "ThreadPool { size: 2, open: false }");
    }

    #[test]
    fn the_queue_lock_is_free_while_a_job_runs() {
        let pool = ThreadPool::new(1);
        let shared = Arc::clone(&pool.shared);
        let (report, lock_was_free) = mpsc::channel();
        pool.execute(move || {
            let free = shared.queue.try_lock().is_ok();
            report.send(free).expect("the test is waiting");
        })
        .expect("the pool is open");
        assert_eq!(
            lock_was_free.recv_timeout(PATIENCE),
            Ok(true),
            "the worker held the queue lock while running a job"
        );
    }

    #[test]
    fn a_poisoned_queue_lock_is_recovered() {
        let shared = Arc::new(Shared::default());
        let poisoner = Arc::clone(&shared);
        let panicked = thread::spawn(move || {
            let _guard = poisoner.queue.lock();
            panic!("poisoning the queue lock on purpose");
        })
        .join();
        assert!(panicked.is_err() && shared.queue.is_poisoned());

        shared.lock().jobs.push_back(Box::new(|| {}));
        assert!(next_job(&shared).is_some());
        shared.lock().closed = true;
        assert!(next_job(&shared).is_none());
    }
}
