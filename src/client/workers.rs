//! The worker pool every per-node job runs on (`--bigkeys -c` and the other key scans,
//! `--stat -c`, `--latency -c`, `--rdb DIR -c`, the cluster manager's loads and waits,
//! `rcli top`'s rounds): at most `--parallel` jobs at once, each worker taking the next
//! job from a shared queue until none is left, whatever the number of nodes; results
//! come back in the order of the jobs. A job that had not started when Ctrl-C was
//! pressed is not started (its result is `None`). The width's rule (default, bounds)
//! lives here too. docs/performance.md, "Threads and descriptors at scale", says what
//! this bounds.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

/// Jobs run at once when `--parallel` is not given.
pub const DEFAULT_WIDTH: usize = 16;
/// The widest `--parallel` accepted (Redis Cluster's design limit is 1,000 nodes).
pub const MAX_WIDTH: usize = 1024;

/// `--parallel N` checked: 1..=[`MAX_WIDTH`].
pub fn parse_width(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(width) if (1..=MAX_WIDTH).contains(&width) => Ok(width),
        _ => Err(format!("--parallel: '{value}' is not a number of jobs from 1 to {MAX_WIDTH}")),
    }
}

/// The name of the pool's threads (seen in `top -H`, debuggers).
const WORKER: &str = "rcli-worker";

/// Jobs waiting for a worker, each with its position.
type Queue<T> = Arc<Mutex<VecDeque<(usize, T)>>>;

/// Workers started in a scope; [`Running::join`] waits for them.
pub struct Running<'scope, R> {
    handles: Vec<ScopedJoinHandle<'scope, Vec<(usize, R)>>>,
    jobs: usize,
}

impl<R> Running<'_, R> {
    /// Whether every worker has ended (no job is running and none will start).
    pub fn is_finished(&self) -> bool {
        self.handles.iter().all(ScopedJoinHandle::is_finished)
    }

    /// Every job's result in the order of the jobs; `None` for one that was not run
    /// (Ctrl-C before it started, or its worker panicked).
    pub fn join(self) -> Vec<Option<R>> {
        in_order(self.jobs, self.handles.into_iter().flat_map(|handle| handle.join().unwrap_or_default()))
    }
}

/// The results of `jobs` jobs in their order, from `(position, result)` pairs; `None`
/// where a job gave none.
fn in_order<R>(jobs: usize, done: impl IntoIterator<Item = (usize, R)>) -> Vec<Option<R>> {
    let mut results: Vec<Option<R>> = std::iter::repeat_with(|| None).take(jobs).collect();
    for (index, result) in done {
        if let Some(slot) = results.get_mut(index) {
            *slot = Some(result);
        }
    }
    results
}

/// Starts up to `count` threads named `name` in `scope`, each running what `make`
/// gives it, and stops at the first the system refuses (the started ones take its
/// share): the one rule for starting workers (the manager's slot movers use it too).
pub fn start<'scope, R, F>(
    scope: &'scope Scope<'scope, '_>,
    name: &str,
    count: usize,
    mut make: impl FnMut() -> F,
) -> Vec<ScopedJoinHandle<'scope, R>>
where
    R: Send + 'scope,
    F: FnOnce() -> R + Send + 'scope,
{
    (0..count).map_while(|_| std::thread::Builder::new().name(name.into()).spawn_scoped(scope, make()).ok()).collect()
}

/// Starts at most `width` workers in `scope` (at least one, no more than there are
/// jobs) that run `job` on each of `items` with its position; none starts a new job
/// once `stop` is set. The calling thread is free to follow their progress.
pub fn spawn<'scope, T, R, F>(
    scope: &'scope Scope<'scope, '_>,
    items: Vec<T>,
    width: usize,
    stop: Option<&'scope AtomicBool>,
    job: F,
) -> Running<'scope, R>
where
    T: Send + 'scope,
    R: Send + 'scope,
    F: Fn(usize, T) -> R + Send + Sync + 'scope,
{
    let jobs = items.len();
    let queue: Queue<T> = Arc::new(Mutex::new(items.into_iter().enumerate().collect()));
    let job = Arc::new(job);
    // A worker the system refuses to start leaves its share to the others; with none
    // at all, no job runs (each result `None`) and the job's captures (a sender the
    // caller follows) are dropped here, so the caller's wait ends.
    let handles = start(scope, WORKER, width.clamp(1, jobs.max(1)), || {
        let (queue, job) = (Arc::clone(&queue), Arc::clone(&job));
        move || drain(&queue, stop, &*job)
    });
    Running { handles, jobs }
}

/// One worker's loop: the next job from `queue` until none is left or `stop` is set;
/// what it did, with each job's position.
fn drain<T, R>(
    queue: &Mutex<VecDeque<(usize, T)>>,
    stop: Option<&AtomicBool>,
    job: &(impl Fn(usize, T) -> R + ?Sized),
) -> Vec<(usize, R)> {
    let mut done = Vec::new();
    loop {
        if stop.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
            break;
        }
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
        let Some((index, item)) = next else { break };
        done.push((index, job(index, item)));
    }
    done
}

/// Runs `job` on each of `items` (with its position), at most `width` at once, and
/// waits: the results in the order of `items`. The calling thread is one of the
/// workers, so `width` 1 starts no thread at all; a worker thread the system refuses
/// to start leaves its share to the others. `None` for a job not run: `stop` was set
/// before it started, or a worker thread panicked (its finished jobs' results are lost
/// with it); a panic on the calling thread is not caught.
pub fn run_each<T, R, F>(items: Vec<T>, width: usize, stop: Option<&AtomicBool>, job: F) -> Vec<Option<R>>
where
    T: Send,
    R: Send,
    F: Fn(usize, T) -> R + Send + Sync,
{
    let jobs = items.len();
    let queue: Mutex<VecDeque<(usize, T)>> = Mutex::new(items.into_iter().enumerate().collect());
    std::thread::scope(|scope| {
        let (queue, job) = (&queue, &job);
        let helpers = start(scope, WORKER, width.clamp(1, jobs.max(1)) - 1, || move || drain(queue, stop, job));
        let mut done = drain(queue, stop, job);
        for helper in helpers {
            done.extend(helper.join().unwrap_or_default());
        }
        in_order(jobs, done)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_job_runs_once_and_results_keep_their_order() {
        let results = run_each((0..100).collect(), 7, None, |index, item: u32| (index, item * 2));
        let expected: Vec<Option<(usize, u32)>> = (0..100).map(|i| Some((i as usize, i * 2))).collect();
        assert_eq!(results, expected);
    }

    #[test]
    fn no_more_than_width_jobs_run_at_once() {
        let (running, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        run_each(vec![(); 64], 5, None, |_, ()| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(1));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert!((1..=5).contains(&peak.load(Ordering::SeqCst)));
    }

    #[test]
    fn the_calling_thread_is_one_of_the_workers() {
        let caller = std::thread::current().id();
        let threads = run_each((0..20).collect(), 1, None, |_, _: u32| std::thread::current().id());
        assert!(threads.iter().all(|t| *t == Some(caller)), "width 1: no thread started");
        let threads = run_each((0..200).collect(), 4, None, |_, _: u32| {
            std::thread::sleep(std::time::Duration::from_micros(200));
            std::thread::current().id()
        });
        let mut distinct: Vec<_> = threads.into_iter().flatten().collect();
        distinct.sort_by_key(|t| format!("{t:?}"));
        distinct.dedup();
        assert!((1..=4).contains(&distinct.len()), "{} threads for width 4", distinct.len());
    }

    #[test]
    fn nothing_starts_after_stop() {
        let stop = AtomicBool::new(false);
        let results = run_each((0..50).collect(), 1, Some(&stop), |index, item: usize| {
            if index == 9 {
                stop.store(true, Ordering::SeqCst);
            }
            item
        });
        assert_eq!(results.iter().filter(|r| r.is_some()).count(), 10);
        assert_eq!(results.get(9), Some(&Some(9)));
        assert_eq!(results.get(10), Some(&None));
    }

    #[test]
    fn widths_outside_1_to_1024_are_refused() {
        assert_eq!(parse_width("1"), Ok(1));
        assert_eq!(parse_width("1024"), Ok(1024));
        for bad in ["0", "1025", "-3", "x", ""] {
            assert!(parse_width(bad).is_err(), "{bad}");
        }
    }
}
