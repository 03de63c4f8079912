//! [`debounce`]: an item goes on only once its input has been quiet for a
//! while.

use std::time::Duration;

use tokio::time::Instant;
use weir_core::chan::Receiver;

use crate::driver::BATCH;
use crate::engine::{Door, Received};
use crate::error::ConfigError;
use crate::scope::{Role, Scope};

/// Sends an item on only once `quiet` has passed with no newer item: of
/// a burst of items closer together than `quiet`, only the last goes on,
/// `quiet` after it arrived (search-as-you-type, a file watcher's burst
/// of events, a flapping health check). RxJS's `debounceTime`.
///
/// When the input ends, the item still waiting goes on at once (it is
/// the newest, and no newer one can come), so a graceful
/// [`shutdown`](crate::OwnedScope::shutdown) delivers it. Items
/// superseded by a newer one are counted in the stage's `dropped`
/// statistic ([`StageStats`](crate::StageStats)). Time is [`tokio::time`],
/// so a paused test clock controls it; items that arrive in one batch
/// count as arriving together.
///
/// Order: what goes on keeps input order.
///
/// When every receiver of the output is dropped, the stage stops (even
/// while it waits) and drops its input, which stops the upstream stage in
/// turn.
///
/// # Errors
///
/// [`ConfigError::Invalid`] naming the stage when `quiet` is zero.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (keys, rx) = chan::bounded(8);
/// let queries = stage::debounce(&scope, rx, Duration::from_millis(300)).unwrap();
/// for typed in ["w", "we", "wei", "weir"] {
///     keys.send(typed).await.unwrap();
///     tokio::time::sleep(Duration::from_millis(100)).await; // typing
/// }
/// assert_eq!(queries.recv().await, Some("weir")); // 300 ms after the last key
/// # }
/// ```
pub fn debounce<T>(
    scope: &Scope,
    input: Receiver<T>,
    quiet: Duration,
) -> Result<Receiver<T>, ConfigError>
where
    T: Send + 'static,
{
    if quiet.is_zero() {
        return Err(ConfigError::Invalid {
            stage: scope.config_name("debounce"),
            what: "debounce time must be longer than zero".into(),
        });
    }
    let (tx, rx) = scope.channel();
    scope.spawn_stage("debounce", Role::Stage, move |cx| async move {
        let door = Door::new(&input, &tx);
        let mut buf = Vec::with_capacity(BATCH);
        // The newest item, and when it goes on if nothing newer comes.
        let mut pending: Option<(T, Option<Instant>)> = None;
        loop {
            let due = pending.as_ref().map(|(_, due)| *due);
            let timer = async move {
                match due {
                    Some(Some(at)) => tokio::time::sleep_until(at).await,
                    // Nothing waiting, or a `quiet` of ~forever.
                    _ => std::future::pending().await,
                }
            };
            match door.recv_or(&mut buf, BATCH, timer).await {
                Received::Closed => return Ok(()),
                Received::Items(0) => {
                    if let Some((item, _)) = pending {
                        door.send_one(item).await;
                    }
                    return Ok(());
                }
                Received::Items(n) => {
                    let superseded = n - 1 + usize::from(pending.is_some());
                    if superseded > 0 {
                        cx.stats().dropped(superseded as u64);
                    }
                    let newest = buf.pop().expect("a batch has an item");
                    buf.clear();
                    pending = Some((newest, Instant::now().checked_add(quiet)));
                }
                Received::Other => {
                    let (item, _) = pending.take().expect("the timer runs for an item");
                    if !door.send_one(item).await {
                        return Ok(());
                    }
                }
            }
        }
    });
    Ok(rx)
}
