//! A scope's cancel reaches every stage blocked in a channel, however many
//! there are: Go's `cancel()` closing `ctx.Done()` for every goroutine
//! selecting on it. Counts, never times.
//!
//! 10,000 stages by default; 100,000 with `WEIR_LONG_TESTS=1` (as
//! `.ci/run` sets it).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weir_cancel::Context;
use weir_core::{chan, WaitGroup};
use weir_stage::{Error, Scope};

fn stages() -> usize {
    if std::env::var_os("WEIR_LONG_TESTS").is_some_and(|v| v != "0") {
        100_000
    } else {
        10_000
    }
}

/// Counts the task as ended when its future is dropped, however it ends.
struct Ended(Arc<AtomicUsize>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// `n` stages, each blocked sending into a full channel of one that
/// nobody reads; returns the receivers (kept so no channel closes) once
/// every stage has sent its first item.
async fn blocked_stages(
    scope: &Scope,
    n: usize,
    ended: &Arc<AtomicUsize>,
) -> Vec<chan::Receiver<u64>> {
    let filled = WaitGroup::new();
    filled.add(n);
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = chan::bounded::<u64>(1);
        receivers.push(rx);
        let (ended, filled) = (Ended(ended.clone()), filled.clone());
        scope.spawn(async move {
            let _ended = ended;
            tx.send(0).await?;
            filled.done().expect("one done per stage");
            // The channel is full: this waits until the scope is cancelled.
            tx.send(1).await?;
            Ok::<_, chan::SendError<u64>>(())
        });
    }
    filled.wait().await.expect("every stage sent once");
    receivers
}

/// The cancel is made outside the stages' tasks (in the test's `block_on`,
/// as an `async main` would): every blocked stage ends, once, and the
/// scope reports the cancellation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_outside_reaches_every_blocked_stage() {
    let n = stages();
    let ended = Arc::new(AtomicUsize::new(0));
    let scope = Scope::new(&Context::background());
    let receivers = blocked_stages(&scope, n, &ended).await;
    assert_eq!(
        ended.load(Ordering::Relaxed),
        0,
        "no stage ended before the cancel"
    );
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert_eq!(ended.load(Ordering::Relaxed), n);
    assert!(
        receivers.iter().all(|rx| rx.len() == 1),
        "no stage sent twice"
    );
}

/// The same, cancelled from inside one of the runtime's tasks (a stage
/// failing does this).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_a_task_reaches_every_blocked_stage() {
    let n = stages();
    let ended = Arc::new(AtomicUsize::new(0));
    let scope = Scope::new(&Context::background());
    let _receivers = blocked_stages(&scope, n, &ended).await;
    let handle = scope.handle();
    tokio::spawn(async move { handle.cancel() })
        .await
        .expect("cancelling task");
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert_eq!(ended.load(Ordering::Relaxed), n);
}
