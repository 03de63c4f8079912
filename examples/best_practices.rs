//! Five best practices of Go concurrency, and how weir enforces each one.
//!
//! 1. Always close channels when done — the last `Sender`'s drop closes.
//! 2. Use context for cancellation — every stage watches its scope's
//!    `Context`, even while blocked on a full or empty channel.
//! 3. Limit goroutine count with worker pools — `worker_pool(n, …)` runs
//!    exactly `n` tasks, and `0` is a typed error, not a hang.
//! 4. Avoid goroutine leaks — dropping a scope (or a pipeline's handle)
//!    cancels and aborts every task it spawned; the runtime's count of
//!    alive tasks comes back to where it was.
//! 5. Use sync.WaitGroup for coordination — `WaitGroup::go` tracks tasks,
//!    and a panicking task is reported instead of hanging `wait`.
//!
//! Run with `cargo run -p weir-examples --example best_practices`.

use std::time::Duration;

use weir::cancel::{Context, ContextError};
use weir::chan;
use weir::latch::WaitGroup;
use weir::pipeline::Pipeline;
use weir::stage::{self, ConfigError, Error, Scope};

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits (up to 5 s) until no more than `n` tasks are alive: aborted tasks
/// end at their next await point.
async fn settle_to(n: usize) -> Duration {
    let start = std::time::Instant::now();
    while alive_tasks() > n && start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    // 1. Closing can't be forgotten: the receiver's loop ends when the
    //    producer task ends, because its sender is dropped with it.
    let (tx, rx) = chan::bounded(4);
    tokio::spawn(async move {
        for word in ["close", "by", "drop"] {
            tx.send(word).await.expect("the receiver is alive");
        }
    });
    let mut words = Vec::new();
    while let Some(w) = rx.recv().await {
        words.push(w);
    }
    println!("1. channel closed by drop after {words:?}");

    // 2. Context cancels a pipeline blocked mid-stream: an endless source
    //    and a deadline of 50 ms.
    let ctx = Context::background().with_timeout(Duration::from_millis(50));
    let outcome = Pipeline::new(&ctx)
        .source(0u64..)
        .map(|n| n.wrapping_mul(n))
        .for_each(|_| {})
        .await;
    match outcome {
        Err(weir::Error::Stage(Error::Cancelled(ContextError::DeadlineExceeded))) => {
            println!(
                "2. endless pipeline stopped by its deadline: {}",
                outcome.unwrap_err()
            )
        }
        other => panic!("expected a deadline, got {other:?}"),
    }

    // 3. Worker pools bound concurrency, and bad settings are errors.
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, 0..10);
    let err = stage::worker_pool(&scope, jobs, 0, |n: u32| async move {
        Ok::<_, std::io::Error>(n)
    })
    .unwrap_err();
    assert!(matches!(err, ConfigError::Zero { .. }));
    println!("3. worker_pool(0) is refused: {err}");
    scope.cancel();
    let _ = scope.wait().await;

    // 4. No leaks: start a busy scope, drop it mid-run.
    let before = alive_tasks();
    {
        let scope = Scope::new(&Context::background());
        let endless = stage::generate(&scope, 0u64..);
        let squares = stage::square(&scope, endless);
        let _slow = stage::for_each(&scope, squares, |n| {
            std::hint::black_box(n);
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        println!("4. running: {} stage tasks alive", alive_tasks() - before);
    } // dropped without wait: cancelled and aborted
    let took = settle_to(before).await;
    let leaked = alive_tasks() - before;
    println!(
        "4. after dropping the scope: {leaked} stage tasks alive, all ended within {took:.1?}"
    );
    assert_eq!(leaked, 0);

    // 5. WaitGroup: tracked tasks, and a panic reported, not a hang.
    // The panic below is on purpose: print it as one line.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("(a tracked task panicked: {info})")
    }));
    let wg = WaitGroup::new();
    for i in 0..3 {
        wg.go(async move {
            if i == 2 {
                panic!("task {i} failed");
            }
        });
    }
    let waited = wg.wait().await;
    println!("5. wait() after a panicking task: {}", waited.unwrap_err());
}
