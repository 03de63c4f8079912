//! [`conflate`]: a slow consumer sees merged summaries; the producer
//! never waits for it.

use weir_core::chan::{Receiver, TrySendError};

use crate::driver::BATCH;
use crate::engine::{Door, Received};
use crate::scope::{Role, Scope};

/// Merges the items a slow consumer has not taken yet into one summary,
/// so the producer never waits for it: Akka's `conflateWithSeed`. The
/// first item of a summary becomes `seed(item)`; each item that arrives
/// while the summary waits for room downstream is folded in with
/// `merge(summary, item)`. A consumer that keeps up sees `seed(item)` for
/// every item; one that falls behind sees fewer, merged summaries (a sum,
/// a count, the latest value, a `Vec` of what it missed…).
///
/// A summary is sent as soon as the output has room, and items are merged
/// only while it has none: the stage holds at most one summary besides
/// what its output channel holds. Every item merged into an existing
/// summary is counted in the stage's `dropped` statistic
/// ([`StageStats`](crate::StageStats)), so items in = summaries out +
/// dropped.
///
/// Order: summaries come in input order, and each summarises a run of
/// consecutive items.
///
/// When the input ends, the summary in hand is sent (so a graceful
/// [`shutdown`](crate::OwnedScope::shutdown) delivers it) and the output
/// closes. When every receiver of the output is dropped, the stage stops
/// and drops its input, which stops the upstream stage in turn.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `seed` or
/// `merge` does not unwind here: it becomes
/// [`Error::Panicked`](crate::Error::Panicked) naming this stage.
///
/// # Examples
///
/// Counting what arrived while the consumer was away:
///
/// ```
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (tx, rx) = chan::bounded(16);
/// tx.send_all(vec![1, 2, 3, 4]).await.unwrap();
/// drop(tx);
/// let counts = stage::conflate(&scope.with_capacity(1), rx, |_| 1, |n, _| n + 1);
/// let all = stage::collect::<_, Vec<u32>>(&scope, counts).await.unwrap();
/// assert_eq!(all.iter().sum::<u32>(), 4); // however they were grouped
/// # }
/// ```
pub fn conflate<T, S, Seed, Merge>(
    scope: &Scope,
    input: Receiver<T>,
    mut seed: Seed,
    mut merge: Merge,
) -> Receiver<S>
where
    T: Send + 'static,
    S: Send + 'static,
    Seed: FnMut(T) -> S + Send + 'static,
    Merge: FnMut(S, T) -> S + Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("conflate", Role::Stage, move |cx| async move {
        let door = Door::new(&input, &tx);
        let mut buf = Vec::with_capacity(BATCH);
        // The summary waiting for room downstream.
        let mut pending: Option<S> = None;
        loop {
            let mut summary = match pending.take() {
                Some(summary) => summary,
                None => match door.recv(&mut buf, BATCH).await {
                    Some(0) | None => return Ok(()),
                    Some(_) => seed(buf.drain(..1).next().expect("a batch has an item")),
                },
            };
            let merged = buf.len();
            summary = buf.drain(..).fold(summary, &mut merge);
            if merged > 0 {
                cx.stats().dropped(merged as u64);
            }
            let summary = match tx.try_send(summary) {
                Ok(()) => continue,
                Err(TrySendError::Closed(_)) => return Ok(()),
                Err(TrySendError::Full(summary)) => summary,
            };
            // No room: merge what comes until there is.
            let mut room = None;
            let wait = async { room = Some(tx.reserve().await) };
            match door.recv_or(&mut buf, BATCH, wait).await {
                Received::Closed => return Ok(()),
                Received::Items(0) => {
                    door.send_one(summary).await;
                    return Ok(());
                }
                Received::Items(_) => pending = Some(summary),
                Received::Other => {
                    let sent = match room {
                        Some(Ok(permit)) => permit.send(summary).is_ok(),
                        _ => false,
                    };
                    if !sent {
                        return Ok(());
                    }
                }
            }
        }
    });
    rx
}
