//! [`group_by`]: a sub-flow per key, merged back into one output.

use std::collections::hash_map::{Entry, HashMap};
use std::hash::Hash;
use std::time::Duration;

use tokio::time::Instant;
use weir_core::chan::{Receiver, Sender};

use crate::engine::{Door, Received, BATCH};
use crate::error::ConfigError;
use crate::forward::relay;
use crate::scope::{Role, Scope};

/// How many keys [`group_by`] keeps open at once, and when it closes an
/// idle one. A bare `usize` converts into `Keys::at_most(n)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::Keys;
///
/// let keys = Keys::at_most(1000).idle_after(Duration::from_secs(300));
/// assert_eq!(keys.max(), 1000);
/// assert_eq!(keys.idle(), Some(Duration::from_secs(300)));
/// assert_eq!(Keys::from(10), Keys::at_most(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Keys {
    max: usize,
    idle: Option<Duration>,
}

impl Keys {
    /// At most `max` keys open at once; keys stay open until the input
    /// ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Keys;
    ///
    /// assert_eq!(Keys::at_most(5).idle(), None);
    /// ```
    pub const fn at_most(max: usize) -> Keys {
        Keys { max, idle: None }
    }

    /// Closes a key that received no item for `idle`: its sub-flow's
    /// input ends, so the sub-flow finishes (flushing its windows); the
    /// key's next item opens a new sub-flow.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Keys;
    ///
    /// let keys = Keys::at_most(5).idle_after(Duration::from_secs(1));
    /// assert_eq!(keys.idle(), Some(Duration::from_secs(1)));
    /// ```
    #[must_use]
    pub const fn idle_after(self, idle: Duration) -> Keys {
        Keys {
            idle: Some(idle),
            ..self
        }
    }

    /// The most keys open at once.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(weir_stage::Keys::at_most(3).max(), 3);
    /// ```
    pub const fn max(&self) -> usize {
        self.max
    }

    /// How long a key may go without an item before it is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(weir_stage::Keys::at_most(3).idle(), None);
    /// ```
    pub const fn idle(&self) -> Option<Duration> {
        self.idle
    }
}

impl From<usize> for Keys {
    fn from(max: usize) -> Keys {
        Keys::at_most(max)
    }
}

/// A [`group_by`] met a new key while [`Keys::max`] keys were open. It
/// reaches you as the source of [`Error::Failed`](crate::Error::Failed)
/// naming the `group_by` stage.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Error, Scope, TooManyKeys};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 0..10u32);
/// let out = stage::group_by(&scope.named("by_n"), nums, |n| *n, 3, |_, rx, _| rx).unwrap();
/// let _sink = stage::for_each(&scope, out, drop);
/// let Err(Error::Failed { stage, source }) = scope.wait().await else { panic!() };
/// assert_eq!(&*stage, "by_n");
/// assert_eq!(source.downcast_ref::<TooManyKeys>(), Some(&TooManyKeys { max_keys: 3 }));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a new key past the limit of {max_keys} open keys")]
pub struct TooManyKeys {
    /// The limit that was reached.
    pub max_keys: usize,
}

/// Splits the input by `key` into one sub-flow per key, built by `sub`
/// when a key is first seen, and merges the sub-flows' outputs into one
/// output (Akka's `groupBy` + `mergeSubstreams`, Flink's `keyBy`).
///
/// `sub(&key, input, scope)` gets the key, the receiver of that key's
/// items (in input order) and a scope to build the sub-flow's stages in
/// with this crate's functions ([`window_fold`](crate::window_fold),
/// [`map`](crate::map), …); it returns the sub-flow's output. Sub-flow
/// stages are stages of the scope like any other: an error in one fails
/// the scope. Outputs are merged as they come: items of one key keep
/// their order, keys interleave.
///
/// Keys are kept open in a map of at most `keys.max()` entries
/// ([`Keys`]; a bare number is the limit). With
/// [`Keys::idle_after`], a key idle that long is closed: its sub-flow's
/// input ends, which flushes its windows. When the input ends (or on a
/// graceful shutdown, which ends it), every sub-flow's input ends and
/// their outputs drain before the output closes.
///
/// Each sub-flow's time windows start when that sub-flow does (its key's
/// first item), so per-key windows are not aligned with one another; for
/// aligned "counts per key per minute" over many keys, one
/// [`window_fold`](crate::window_fold) into a map of counts is cheaper and
/// aligned.
///
/// A slow sub-flow slows the whole stage (backpressure, as for any
/// stage). A sub-flow that stops reading its input drops its key's later
/// items, counted in the stage's `dropped`. When every receiver of the
/// output is dropped, the stage stops and drops its input.
///
/// # Errors
///
/// [`ConfigError::Zero`] naming the stage when `keys.max()` is 0,
/// [`ConfigError::Invalid`] when the idle timeout is zero. While running,
/// a key past the limit fails the stage with [`TooManyKeys`].
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// A running total per key:
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let sales = stage::generate(&scope, [("tea", 2), ("jam", 5), ("tea", 3)]);
/// let totals = stage::group_by(&scope, sales, |s| s.0, 10, |&name, rx, scope| {
///     stage::scan(scope, rx, 0, move |total, (_, n)| {
///         *total += n;
///         (name, *total)
///     })
/// })
/// .unwrap();
/// let mut all = stage::collect::<_, Vec<_>>(&scope, totals).await.unwrap();
/// all.sort();
/// assert_eq!(all, [("jam", 5), ("tea", 2), ("tea", 5)]);
/// # }
/// ```
pub fn group_by<T, U, K, KF, F>(
    scope: &Scope,
    input: Receiver<T>,
    mut key: KF,
    keys: impl Into<Keys>,
    mut sub: F,
) -> Result<Receiver<U>, ConfigError>
where
    T: Send + 'static,
    U: Send + 'static,
    K: Eq + Hash + Send + 'static,
    KF: FnMut(&T) -> K + Send + 'static,
    F: FnMut(&K, Receiver<T>, &Scope) -> Receiver<U> + Send + 'static,
{
    let keys = keys.into();
    check(scope, &keys)?;
    let subs = scope.unnamed();
    let (tx, rx) = scope.channel();
    scope.spawn_stage("group_by", Role::Stage, move |cx| async move {
        let mut groups: HashMap<K, Group<T>> = HashMap::new();
        let mut buf = Vec::with_capacity(BATCH);
        // When to look for idle keys (`None`: no key, or no timeout).
        let mut sweep: Option<Instant> = None;
        let door = Door::new(&input, &tx);
        loop {
            let timer = async move {
                match sweep {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            match door.recv_or(&mut buf, BATCH, timer).await {
                Received::Closed | Received::Items(0) => return Ok(()),
                Received::Items(_) | Received::Other => {}
            }
            let now = Instant::now();
            if let Some(idle) = keys.idle {
                if sweep.is_some_and(|at| at <= now) {
                    groups.retain(|_, g| now.saturating_duration_since(g.seen) < idle);
                    // An idle timeout past what an `Instant` holds: never.
                    sweep = groups
                        .values()
                        .map(|g| g.seen)
                        .min()
                        .and_then(|s| s.checked_add(idle));
                }
            }
            for item in buf.drain(..) {
                let full = groups.len() == keys.max;
                let group = match groups.entry(key(&item)) {
                    Entry::Occupied(open) => open.into_mut(),
                    Entry::Vacant(_) if full => {
                        return Err(TooManyKeys { max_keys: keys.max }.into());
                    }
                    Entry::Vacant(new) => {
                        let (group_tx, group_rx) = subs.channel();
                        let out = sub(new.key(), group_rx, &subs);
                        let merged = tx.clone();
                        subs.spawn_stage("group_by_merge", Role::Stage, move |_| async move {
                            relay(&out, &merged).await;
                            Ok(())
                        });
                        if sweep.is_none() {
                            sweep = keys.idle.and_then(|idle| now.checked_add(idle));
                        }
                        new.insert(Group {
                            tx: group_tx,
                            seen: now,
                        })
                    }
                };
                group.seen = now;
                match door.unless_closed(group.tx.send(item)).await {
                    None => return Ok(()),
                    // The key's sub-flow stopped reading: the item is
                    // dropped, and counted as such.
                    Some(Err(_)) => cx.stats().dropped(1),
                    Some(Ok(())) => {}
                }
            }
        }
    });
    Ok(rx)
}

/// `keys` as a configuration error naming the stage, if it is one: no key
/// at all, or an idle timeout of zero.
fn check(scope: &Scope, keys: &Keys) -> Result<(), ConfigError> {
    if keys.max == 0 {
        return Err(ConfigError::Zero {
            stage: scope.config_name("group_by"),
            what: "max_keys",
        });
    }
    if keys.idle.is_some_and(|d| d.is_zero()) {
        return Err(ConfigError::Invalid {
            stage: scope.config_name("group_by"),
            what: "idle timeout must be longer than zero".into(),
        });
    }
    Ok(())
}

/// An open key: its sub-flow's input, and when it last got an item.
struct Group<T> {
    tx: Sender<T>,
    seen: Instant,
}
