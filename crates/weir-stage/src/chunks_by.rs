//! [`chunks_by`]: runs of consecutive items with equal keys, as `Vec`s.

use std::fmt;

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::scope::Scope;

/// Groups consecutive items whose `key` is equal into one `Vec`: a new
/// group starts whenever the key changes (`slice::chunk_by` over a
/// stream; the lines of one request, the events of one session in a
/// sorted log). Items with equal keys that are not adjacent land in
/// different groups: group by key over the whole stream with a keyed
/// window instead.
///
/// A group is sent once the first item of the next group arrives, or when
/// the input ends: the last group is sent then, not lost (this is also what
/// flushes it on a graceful [`OwnedScope::shutdown`](crate::OwnedScope::shutdown)).
/// The step is told of the end ([`Step::finish`]), so the builder's
/// `Flow::chunks_by` runs it fused with its neighbours. No group is empty; a group's memory is
/// not bounded by the stage (a long run of one key is one big `Vec`).
///
/// Order: input order, within and across groups.
///
/// When every receiver of the output is dropped, the stage stops and drops
/// its input, which stops the upstream stage in turn; the open group is
/// dropped.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `key` becomes
/// [`Error::Panicked`](crate::Error::Panicked) naming this stage.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let log = stage::generate(&scope, [(1, "open"), (1, "read"), (2, "open"), (1, "close")]);
/// let runs = stage::chunks_by(&scope, log, |(session, _)| *session);
/// let all = stage::collect::<_, Vec<_>>(&scope, runs).await.unwrap();
/// assert_eq!(all, [
///     vec![(1, "open"), (1, "read")],
///     vec![(2, "open")],
///     vec![(1, "close")],
/// ]);
/// # }
/// ```
pub fn chunks_by<T, K, F>(scope: &Scope, input: Receiver<T>, key: F) -> Receiver<Vec<T>>
where
    T: Send + 'static,
    K: PartialEq + Send + 'static,
    F: FnMut(&T) -> K + Send + 'static,
{
    scope.spawn_step(input, ChunksBy::new(key))
}

/// The [`chunks_by`] step: the open group and its key, carried from batch
/// to batch, and sent when its input ends ([`Step::finish`]). What both
/// [`stage::chunks_by`](chunks_by) and the builder's `Flow::chunks_by` run
/// (fused there with its neighbours).
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::ChunksBy;
///
/// let (mut step, mut out) = (ChunksBy::new(|w: &&str| w.len()), Vec::new());
/// step.step(vec!["a", "b", "cd"].drain(..), &mut out, &mut Faults::fail_fast());
/// step.step(vec!["ef", "g"].drain(..), &mut out, &mut Faults::fail_fast());
/// step.finish(&mut out);
/// assert_eq!(out, [vec!["a", "b"], vec!["cd", "ef"], vec!["g"]]);
/// ```
pub struct ChunksBy<T, K, F> {
    key: F,
    current: Option<K>,
    group: Vec<T>,
}

impl<T, K, F> ChunksBy<T, K, F> {
    /// The step, grouping by `key`.
    ///
    /// # Examples
    ///
    /// See [`ChunksBy`].
    pub fn new(key: F) -> ChunksBy<T, K, F> {
        ChunksBy {
            key,
            current: None,
            group: Vec::new(),
        }
    }
}

impl<T, K, F> fmt::Debug for ChunksBy<T, K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunksBy")
            .field("open", &self.group.len())
            .finish_non_exhaustive()
    }
}

impl<T, K, F> Step<T> for ChunksBy<T, K, F>
where
    T: Send + 'static,
    K: PartialEq + Send + 'static,
    F: FnMut(&T) -> K + Send + 'static,
{
    type Out = Vec<T>;
    const KIND: &'static str = "chunks_by";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<Vec<T>>, _: &mut Faults) {
        for item in input {
            let k = (self.key)(&item);
            if self.current.as_ref() != Some(&k) {
                if !self.group.is_empty() {
                    out.push(std::mem::take(&mut self.group));
                }
                self.current = Some(k);
            }
            self.group.push(item);
        }
    }

    fn finish(&mut self, out: &mut Vec<Vec<T>>) {
        if !self.group.is_empty() {
            out.push(std::mem::take(&mut self.group));
        }
    }
}
