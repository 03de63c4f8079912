//! Go's worker pool (a `processJobs` function with n worker goroutines),
//! twice: first written the Go way with weir's channels and `WaitGroup`,
//! then as one stage.
//!
//! Go:
//!
//! ```go
//! func processJobs(jobs <-chan Job, results chan<- Result, numWorkers int) {
//!     var wg sync.WaitGroup
//!     for i := 0; i < numWorkers; i++ {
//!         wg.Add(1)
//!         go func() {
//!             defer wg.Done()
//!             for job := range jobs {
//!                 results <- job.Process()
//!             }
//!         }()
//!     }
//!     wg.Wait()
//!     close(results)
//! }
//! ```
//!
//! The job here is real work: counting the primes below a number.
//!
//! Run with `cargo run --release -p weir-examples --example worker_pool`.

use weir::cancel::Context;
use weir::chan::{self, Receiver, Sender};
use weir::latch::WaitGroup;
use weir::stage::{self, Scope};

/// A job: count the primes below `limit`.
fn process(limit: u64) -> usize {
    (2..limit)
        .filter(|n| (2..).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .count()
}

/// The Go version, line for line. `wg.go` is `wg.Add(1)` + `go` +
/// `defer wg.Done()`; dropping `results` after `wait` is `close(results)`.
async fn process_jobs(jobs: Receiver<u64>, results: Sender<usize>, num_workers: usize) {
    let wg = WaitGroup::new();
    for _ in 0..num_workers {
        let (jobs, results) = (jobs.clone(), results.clone());
        wg.go(async move {
            while let Some(job) = jobs.recv().await {
                // A closed results channel hands the value back instead of
                // panicking; a worker just stops then.
                if results.send(process(job)).await.is_err() {
                    return;
                }
            }
        });
    }
    wg.wait().await.expect("no worker panicked");
    drop(results); // close(results): the last sender is gone
}

#[tokio::main]
async fn main() -> Result<(), weir::stage::Error> {
    let limits: Vec<u64> = (0..64).map(|i| 2_000 + i * 500).collect();
    let expected: usize = limits.iter().map(|&l| process(l)).sum();

    // 1. By hand, as in Go.
    let (jobs_tx, jobs) = chan::bounded(16);
    let (results_tx, results) = chan::bounded(16);
    let pool = tokio::spawn(process_jobs(jobs, results_tx, 4));
    let feeder = {
        let limits = limits.clone();
        tokio::spawn(async move { jobs_tx.send_all(limits).await })
    };
    let mut total = 0;
    while let Some(primes) = results.recv().await {
        total += primes;
    }
    pool.await.expect("the pool task ran");
    feeder
        .await
        .expect("the feeder ran")
        .expect("jobs were taken");
    println!(
        "by hand:  {} jobs, {total} primes counted by 4 workers",
        limits.len()
    );
    assert_eq!(total, expected);

    // 2. As a stage: the same pool, with errors, panics and cancellation
    //    handled by the scope.
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, limits.clone());
    let results = stage::worker_pool(&scope.named("count primes"), jobs, 4, |limit| async move {
        Ok::<_, std::io::Error>(process(limit))
    })?;
    let total = stage::fold(&scope, results, 0, |acc, n| acc + n);
    scope.wait().await?;
    let total = total.await.expect("the sum finished");
    println!(
        "as stage: {} jobs, {total} primes counted by 4 workers",
        limits.len()
    );
    assert_eq!(total, expected);
    Ok(())
}
