//! A fixed set of worker threads that run jobs from a shared queue. Its API mirrors
//! `std::thread::spawn`: `pool.execute(move || ...)`.
//!
//! The queue is a channel: `execute` sends each job into it, and every worker loops,
//! taking the next job out and running it. Dropping the pool closes the channel, and
//! each worker, finding it closed, returns; `Drop` waits for all of them.
//! (The solution of exercise 04.)

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
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|_| {
                let receiver = Arc::clone(&receiver);
                std::thread::spawn(move || work(receiver))
            })
            .collect();
        ThreadPool {
            sender: Some(sender),
            workers,
        }
    }

    /// Queues `job` for the next free worker.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        if let Some(sender) = &self.sender {
            // Fails only if every worker has gone, which a panicking job cannot cause
            // (a job's panic ends its worker's thread, but not the others).
            let _ = sender.send(Box::new(job));
        }
    }
}

impl Drop for ThreadPool {
    /// Closes the queue, then waits for each worker to finish its job and return.
    fn drop(&mut self) {
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
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
