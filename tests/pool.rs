//! Behaviour of `weblab::server::pool::ThreadPool`.
//!
//! No test sleeps to synchronise: threads meet at a `Gate` or talk over
//! channels, and every wait has a time limit, so a broken pool fails a test
//! instead of hanging it.

use std::cell::RefCell;
use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use weblab::server::pool::{PoolClosed, ThreadPool};

/// How long any one wait may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(10);

/// A meeting point for `needed` threads, like `std::sync::Barrier`, except
/// that waiting gives up after [`PATIENCE`].
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    needed: usize,
}

struct GateState {
    arrived: usize,
    gave_up: bool,
}

impl Gate {
    fn new(needed: usize) -> Arc<Gate> {
        Arc::new(Gate {
            state: Mutex::new(GateState {
                arrived: 0,
                gave_up: false,
            }),
            changed: Condvar::new(),
            needed,
        })
    }

    /// Waits for all `needed` threads to arrive. Returns false if they did
    /// not within [`PATIENCE`]; after one thread gives up, so do the rest,
    /// so that a failing test ends quickly.
    fn wait(&self) -> bool {
        let mut state = self.state.lock().expect("no thread panics at the gate");
        state.arrived += 1;
        self.changed.notify_all();
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, PATIENCE, |s| s.arrived < self.needed && !s.gave_up)
            .expect("no thread panics at the gate");
        let everyone_came = state.arrived >= self.needed;
        if !everyone_came {
            state.gave_up = true;
            self.changed.notify_all();
        }
        everyone_came
    }
}

/// Queues `n` jobs that can only finish if all `n` run at the same moment.
/// Each job reports whether the others came, and the name of its thread.
fn queue_jobs_that_must_meet(pool: &ThreadPool, n: usize) -> Receiver<(bool, String)> {
    let gate = Gate::new(n);
    let (report, reports) = mpsc::channel();
    for _ in 0..n {
        let gate = Arc::clone(&gate);
        let report = report.clone();
        pool.execute(move || {
            let met = gate.wait();
            let worker = thread::current().name().unwrap_or("<unnamed>").to_owned();
            report.send((met, worker)).expect("the test is listening");
        })
        .expect("the pool is open");
    }
    reports
}

/// Receives `n` reports, failing the test if one is slow to come.
fn receive<T>(reports: &Receiver<T>, n: usize) -> Vec<T> {
    (0..n)
        .map(|i| {
            reports
                .recv_timeout(PATIENCE * 2)
                .unwrap_or_else(|e| panic!("report {} of {n} never came: {e}", i + 1))
        })
        .collect()
}

#[test]
fn n_jobs_run_at_once_on_n_workers() {
    let pool = ThreadPool::new(4);

    let reports = queue_jobs_that_must_meet(&pool, 4);

    for (met, worker) in receive(&reports, 4) {
        assert!(
            met,
            "a job on {worker} waited {PATIENCE:?} for the other 3 jobs to start; \
             is a worker holding the queue lock while it runs a job?"
        );
    }
}

#[test]
fn jobs_are_spread_over_all_workers() {
    let pool = ThreadPool::new(3);

    let reports = queue_jobs_that_must_meet(&pool, 3);

    let mut workers: Vec<String> = receive(&reports, 3).into_iter().map(|(_, w)| w).collect();
    workers.sort();
    assert_eq!(
        workers,
        ["weblab-worker-0", "weblab-worker-1", "weblab-worker-2"]
    );
}

#[test]
fn a_panicking_job_does_not_kill_its_worker() {
    let pool = ThreadPool::new(1);
    let (report, reports) = mpsc::channel();

    pool.execute(|| panic!("this job panics on purpose"))
        .expect("the pool is open");
    pool.execute(move || {
        let worker = thread::current().name().map(str::to_owned);
        report.send(worker).expect("the test is listening");
    })
    .expect("the pool is open");

    let worker = reports.recv_timeout(PATIENCE);
    assert_eq!(
        worker,
        Ok(Some("weblab-worker-0".to_owned())),
        "the job after the panicking one never ran"
    );
    pool.shutdown();
}

thread_local! {
    /// Whatever a job leaves here is dropped only when its thread ends.
    static KEPT_UNTIL_THREAD_ENDS: RefCell<Option<Arc<()>>> = const { RefCell::new(None) };
}

#[test]
fn shutdown_runs_queued_jobs_and_joins_every_worker() {
    let pool = ThreadPool::new(3);
    // Each worker keeps a clone of `worker_token` in a thread-local until its
    // thread ends, so the count drops back to 1 only once all three ended.
    let worker_token = Arc::new(());
    let gate = Gate::new(3);
    let (report, reports) = mpsc::channel();
    for _ in 0..3 {
        let (gate, report, token) = (Arc::clone(&gate), report.clone(), Arc::clone(&worker_token));
        pool.execute(move || {
            KEPT_UNTIL_THREAD_ENDS.with(|kept| *kept.borrow_mut() = Some(token));
            report.send(gate.wait()).expect("the test is listening");
        })
        .expect("the pool is open");
    }
    // These wait in the queue behind the three jobs at the gate.
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..30 {
        let ran = Arc::clone(&ran);
        pool.execute(move || {
            ran.fetch_add(1, Ordering::SeqCst);
        })
        .expect("the pool is open");
    }

    pool.shutdown();

    // Checked at once: `shutdown` has returned, so nothing is left running.
    assert_eq!(ran.load(Ordering::SeqCst), 30, "not every queued job ran");
    assert_eq!(Arc::strong_count(&ran), 1, "a job was never dropped");
    assert_eq!(
        Arc::strong_count(&worker_token),
        1,
        "a worker thread was still alive after shutdown"
    );
    let met: Vec<bool> = reports.try_iter().collect();
    assert_eq!(met, [true, true, true], "the workers never met");
}

#[test]
fn dropping_the_pool_also_waits_for_its_jobs() {
    let pool = ThreadPool::new(2);
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..20 {
        let ran = Arc::clone(&ran);
        pool.execute(move || {
            ran.fetch_add(1, Ordering::SeqCst);
        })
        .expect("the pool is open");
    }

    drop(pool);

    assert_eq!(ran.load(Ordering::SeqCst), 20, "not every queued job ran");
}

#[test]
fn size_is_the_number_of_workers_asked_for() {
    assert_eq!(ThreadPool::new(1).size(), 1);
    assert_eq!(ThreadPool::new(5).size(), 5);
}

#[test]
fn a_pool_of_size_zero_gets_one_worker() {
    let pool = ThreadPool::new(0);
    assert_eq!(pool.size(), 1);

    let (report, reports) = mpsc::channel();
    pool.execute(move || report.send(()).expect("the test is listening"))
        .expect("the pool is open");

    assert_eq!(reports.recv_timeout(PATIENCE), Ok(()), "the job never ran");
}

#[test]
fn the_pool_can_be_shared_between_threads() {
    let pool = ThreadPool::new(2);
    let (report, reports) = mpsc::channel();

    thread::scope(|scope| {
        for n in 0..4 {
            let (pool, report) = (&pool, report.clone());
            scope.spawn(move || {
                pool.execute(move || report.send(n).expect("the test is listening"))
                    .expect("the pool is open");
            });
        }
    });

    let mut received = receive(&reports, 4);
    received.sort();
    assert_eq!(received, [0, 1, 2, 3]);
}

#[test]
fn pool_closed_explains_itself_as_an_error() {
    // `execute` can only return this once shutdown has begun, which takes the
    // pool by value; a unit test in `src/server/pool.rs` covers that path.
    let error: Box<dyn Error> = Box::new(PoolClosed);

    assert_eq!(
        error.to_string(),
        "the thread pool is shutting down and takes no new jobs"
    );
}
