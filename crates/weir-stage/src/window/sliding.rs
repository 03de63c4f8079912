//! [`Sliding`] windows: overlapping periods of time.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::sealed::{Kind, Sealed};
use super::{after, align, Folder, Open, WindowSpec};

/// Sliding (hopping) windows over processing time: windows of `size`, a
/// new one starting every `step` (aligned to when the stage started), so
/// they overlap and each item is in `size / step` of them ("the last 5
/// minutes, every minute"). When `step` does not divide `size`, an item
/// is in `⌊size / step⌋` or `⌈size / step⌉` windows. `step == size` is a
/// tumbling window.
///
/// `size` and `step` are durations, as in Flink's and Akka's sliding time
/// windows; for a count, use [`Tumbling::count`](crate::Tumbling::count)
/// then a [`scan`](crate::scan) over the last windows. An item is cloned
/// into each window but the last, hence `T: Clone`; with
/// [`window_fold`](crate::window_fold) each open window keeps one
/// accumulator, and the items are not kept.
///
/// A window goes out when its end passes (the windows that hold the
/// first items start before the first item, up to `size` before it). A
/// zero `size` or `step`, a `step` longer than `size` (items between
/// windows would be lost), or a `step` shorter than a 10,000th of `size`
/// (each item would be in more than 10,000 windows, folded or cloned into
/// each: for such a fine grain, fold into a [`Tumbling`](crate::Tumbling)
/// window of `step` and combine the last `size / step` of them
/// downstream), is a [`ConfigError`](crate::ConfigError) from the stage.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Scope, Sliding};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (tx, rx) = chan::bounded(8);
/// let s = Duration::from_secs(1);
/// let spec = Sliding { size: 2 * s, step: s };
/// let sums = stage::window_fold(&scope, rx, spec, 0, |a, n| a + n).unwrap();
/// tokio::spawn(async move {
///     for n in [1, 10, 100] {
///         tokio::time::sleep(s / 2).await; // at 0.5 s, 1.5 s, 2.5 s
///         tx.send(n).await.unwrap();
///         tokio::time::sleep(s / 2).await;
///     }
/// });
/// let all = stage::collect::<_, Vec<_>>(&scope, sums).await.unwrap();
/// let totals: Vec<i32> = all.iter().map(|w| w.value).collect();
/// assert_eq!(totals, [1, 11, 110, 100]); // [-1, 1) [0, 2) [1, 3) [2, 4)
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sliding {
    /// How long each window lasts.
    pub size: Duration,
    /// How often a window starts.
    pub step: Duration,
}

impl Sealed for Sliding {}

impl<T: Clone> WindowSpec<T> for Sliding {
    fn invalid(&self) -> Option<&'static str> {
        super::check(&WindowSpec::<T>::kind(*self)).err()
    }

    fn kind(self) -> Kind<T> {
        Kind::Sliding {
            size: self.size,
            step: self.step,
            clone: T::clone,
        }
    }
}

/// The open windows, oldest first; their starts are consecutive steps.
pub(super) struct Slides<T, S> {
    origin: Instant,
    size: Duration,
    step: Duration,
    clone: fn(&T) -> T,
    open: VecDeque<Open<S>>,
}

impl<T, S> Slides<T, S> {
    pub(super) fn new(
        origin: Instant,
        size: Duration,
        step: Duration,
        clone: fn(&T) -> T,
    ) -> Slides<T, S> {
        Slides {
            origin,
            size,
            step,
            clone,
            open: VecDeque::new(),
        }
    }

    pub(super) fn due(&self) -> Option<Instant> {
        self.open.front().map(|w| w.end)
    }

    pub(super) fn tick(&mut self, now: Instant, out: &mut Vec<Open<S>>) {
        while self.open.front().is_some_and(|w| w.end <= now) {
            out.extend(self.open.pop_front());
        }
    }

    pub(super) fn add(&mut self, now: Instant, item: T, fold: &mut impl Folder<T, S>) {
        self.open_up_to(now);
        let last = self.open.len() - 1;
        for w in self.open.range_mut(..last) {
            w.add(fold, (self.clone)(&item));
        }
        self.open[last].add(fold, item);
    }

    /// Opens the windows holding `now` that are not open yet (those that
    /// start after the newest open one; the older ones holding `now` are
    /// open already, or `now` would not be in them).
    fn open_up_to(&mut self, now: Instant) {
        let newest = self.open.back().map(|w| w.start);
        let mut start = align(self.origin, now, self.step);
        let mut new = Vec::new();
        while after(start, self.size) > now && newest.is_none_or(|n| start > n) {
            new.push(Open::new(start, after(start, self.size)));
            match start.checked_sub(self.step) {
                Some(earlier) => start = earlier,
                None => break,
            }
        }
        self.open.extend(new.into_iter().rev());
    }

    pub(super) fn finish(&mut self, out: &mut Vec<Open<S>>) {
        out.extend(self.open.drain(..));
    }
}
