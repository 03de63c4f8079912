//! [`sample`]: the latest item, once per period.

use std::time::Duration;

use tokio::time::Instant;
use weir_core::chan::Receiver;

use crate::driver::BATCH;
use crate::engine::{Door, Received};
use crate::error::ConfigError;
use crate::scope::{Role, Scope};

/// Sends on the latest item once per `period`, if one arrived during it:
/// a fast producer (a sensor, a price feed, a progress counter) read at a
/// fixed pace. Akka's and RxJS's `sample`. A period in which nothing
/// arrived sends nothing.
///
/// Periods start when the stage starts and follow each other (a period
/// the stage could not keep, because its consumer was slow, is skipped,
/// not made up for). When the input ends, the latest item not sent yet
/// goes on at once, so a graceful
/// [`shutdown`](crate::OwnedScope::shutdown) delivers it. Items
/// superseded by a newer one within a period are counted in the stage's
/// `dropped` statistic ([`StageStats`](crate::StageStats)). Time is
/// [`tokio::time`], so a paused test clock controls it.
///
/// Order: what goes on keeps input order.
///
/// When every receiver of the output is dropped, the stage stops (even
/// while it waits) and drops its input, which stops the upstream stage in
/// turn.
///
/// # Errors
///
/// [`ConfigError::Invalid`] naming the stage when `period` is zero.
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
/// let (readings, rx) = chan::bounded(8);
/// let sampled = stage::sample(&scope, rx, Duration::from_secs(1)).unwrap();
/// tokio::spawn(async move {
///     for celsius in 0..19u32 {
///         readings.send(celsius).await.unwrap(); // at 0, 150, 300, … 2700 ms
///         tokio::time::sleep(Duration::from_millis(150)).await;
///     }
/// });
/// let seen = stage::collect::<_, Vec<_>>(&scope, sampled).await.unwrap();
/// assert_eq!(seen, [6, 13, 18]); // at 1 s and 2 s, then the last at the end
/// # }
/// ```
pub fn sample<T>(
    scope: &Scope,
    input: Receiver<T>,
    period: Duration,
) -> Result<Receiver<T>, ConfigError>
where
    T: Send + 'static,
{
    if period.is_zero() {
        return Err(ConfigError::Invalid {
            stage: scope.config_name("sample"),
            what: "sample period must be longer than zero".into(),
        });
    }
    let (tx, rx) = scope.channel();
    scope.spawn_stage("sample", Role::Stage, move |cx| async move {
        let door = Door::new(&input, &tx);
        let mut buf = Vec::with_capacity(BATCH);
        let mut latest: Option<T> = None;
        // The end of the current period (`None`: too far to represent).
        let mut tick = Instant::now().checked_add(period);
        loop {
            let timer = async move {
                match tick {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            match door.recv_or(&mut buf, BATCH, timer).await {
                Received::Closed => return Ok(()),
                Received::Items(0) => {
                    if let Some(item) = latest {
                        door.send_one(item).await;
                    }
                    return Ok(());
                }
                Received::Items(n) => {
                    let superseded = n - 1 + usize::from(latest.is_some());
                    if superseded > 0 {
                        cx.stats().dropped(superseded as u64);
                    }
                    latest = buf.pop();
                    buf.clear();
                }
                Received::Other => {
                    if let Some(item) = latest.take() {
                        if !door.send_one(item).await {
                            return Ok(());
                        }
                    }
                    // The next period: skip those the send took up.
                    let now = Instant::now();
                    tick = tick.and_then(|at| at.checked_add(period));
                    if tick.is_some_and(|at| at <= now) {
                        tick = now.checked_add(period);
                    }
                }
            }
        }
    });
    Ok(rx)
}
