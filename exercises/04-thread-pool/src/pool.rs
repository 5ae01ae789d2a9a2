//! A fixed set of worker threads that run jobs from a shared queue. Its API mirrors
//! `std::thread::spawn`: `pool.execute(move || ...)`.
//!
//! The queue is a channel: `execute` sends each job into it, and every worker loops,
//! taking the next job out and running it. Dropping the pool closes the channel, and
//! each worker, finding it closed, returns; `Drop` waits for all of them.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A job: any closure a worker can run once.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A pool of worker threads.
pub struct ThreadPool {
    /// Where jobs are sent; `None` once the pool is shutting down.
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `size` workers, all taking jobs from one channel.
    pub fn new(size: usize) -> ThreadPool {
        // TODO: make a channel; wrap its receiver in Arc<Mutex<..>> so every worker can
        // share it; spawn `size` threads that each run `work(receiver)`.
        let _ = (size, mpsc::channel::<Job>, work);
        todo!("start the workers")
    }

    /// Queues `job` for the next free worker.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        // TODO: send Box::new(job) into the channel.
        let _ = (&self.sender, job);
        todo!("queue the job")
    }
}

impl Drop for ThreadPool {
    /// Closes the queue, then waits for each worker to finish its job and return.
    fn drop(&mut self) {
        // TODO: drop the sender (self.sender.take()), then join every worker.
        let _ = &self.workers;
        todo!("shut the pool down")
    }
}

/// A worker's loop: take the next job, run it, until the channel closes.
fn work(receiver: Arc<Mutex<Receiver<Job>>>) {
    loop {
        // The lock is held only while taking a job, never while running it: the guard
        // is a temporary that ends with this statement.
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return, // another worker panicked while holding the lock
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // the pool is shutting down
        }
    }
}
