//! [`batch`]: groups items into `Vec`s, by size and by time.

use std::time::Duration;

use tokio::time::Instant;
use weir_core::chan::Receiver;

use crate::engine::{Door, Received};
use crate::error::ConfigError;
use crate::scope::{Role, Scope};

/// Groups items into `Vec`s of `size` items, sending a partial batch when
/// `max_wait` has passed since its first item arrived: for bulk inserts,
/// batched requests, or writes that are cheaper in groups.
///
/// A batch is sent when:
///
/// * it holds `size` items;
/// * `max_wait` has passed since its first item arrived (measured with
///   [`tokio::time`], so a paused test clock controls it). A partial batch
///   is therefore never held back longer than `max_wait`, however slow the
///   producer. [`Duration::ZERO`] never waits: each time items arrive, what
///   has arrived is sent at once (at most `size` items per batch).
///   [`Duration::MAX`] means "no time limit": only a full batch or the end of
///   the input sends it;
/// * the input closes: the last, partial batch is sent before the output
///   closes. This is also what flushes it on a graceful
///   [`OwnedScope::shutdown`](crate::OwnedScope::shutdown): the sources stop, the
///   input closes, the partial batch goes out.
///
/// No batch is ever empty. Memory is bounded by `size` plus the channels.
///
/// Order: items keep input order, within and across batches.
///
/// When every receiver of the output is dropped, the stage stops (even
/// while waiting for items or for `max_wait`) and drops its input, which
/// stops the upstream stage in turn; the batch being built is dropped.
///
/// # Errors
///
/// [`ConfigError::Zero`] naming the stage when `size` is 0.
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
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let rows = stage::generate(&scope, 1..=5);
/// let batches = stage::batch(&scope, rows, 2, Duration::from_millis(50)).unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, batches);
/// assert_eq!(all.await.unwrap(), [vec![1, 2], vec![3, 4], vec![5]]);
/// # }
/// ```
pub fn batch<T>(
    scope: &Scope,
    input: Receiver<T>,
    size: usize,
    max_wait: Duration,
) -> Result<Receiver<Vec<T>>, ConfigError>
where
    T: Send + 'static,
{
    if size == 0 {
        return Err(ConfigError::Zero {
            stage: scope.config_name("batch"),
            what: "size",
        });
    }
    // Grow towards `size` as items come instead of reserving a huge size.
    let reserve = size.min(1024);
    let (tx, rx) = scope.channel();
    scope.spawn_stage("batch", Role::Stage, move |_| async move {
        let mut buf: Vec<T> = Vec::with_capacity(reserve);
        // When the batch being built must go out; `None` while it is empty
        // or when `max_wait` is too long to matter.
        let mut deadline: Option<Instant> = None;
        let door = Door::new(&input, &tx);
        loop {
            let was_empty = buf.is_empty();
            let room = size - buf.len();
            let timer = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let flush = match door.recv_or(&mut buf, room, timer).await {
                Received::Closed => return Ok(()),
                Received::Items(0) => {
                    if !buf.is_empty() {
                        door.send_one(buf).await;
                    }
                    return Ok(());
                }
                Received::Items(_) => {
                    if was_empty {
                        deadline = Instant::now().checked_add(max_wait);
                    }
                    buf.len() == size || deadline.is_some_and(|at| at <= Instant::now())
                }
                Received::Other => true,
            };
            if flush {
                deadline = None;
                let full = std::mem::replace(&mut buf, Vec::with_capacity(reserve));
                if !door.send_one(full).await {
                    return Ok(());
                }
            }
        }
    });
    Ok(rx)
}
