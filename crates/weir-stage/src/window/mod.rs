//! [`window`] and [`window_fold`]: items grouped by processing time or
//! by count — tumbling, sliding and session windows.
//!
//! # Which window
//!
//! | spec | a window is | an item is in |
//! |---|---|---|
//! | [`Tumbling::every(d)`](Tumbling::every) | a period of `d`, back to back | one window |
//! | [`Tumbling::count(n)`](Tumbling::count) | `n` items in a row | one window |
//! | [`Sliding { size, step }`](Sliding) | a period of `size`, one starting every `step` | `size / step` windows |
//! | [`Session { gap }`](Session) | items with less than `gap` between each | one window |
//!
//! Time is *processing time*: the [`tokio::time::Instant`] at which the
//! stage received an item (so a paused test clock controls it), never a
//! timestamp inside the item. Time windows are aligned to the instant the
//! stage started, not to the wall clock: `Tumbling::every(1 min)` started
//! at 12:00:20 has windows 12:00:20–12:01:20, 12:01:20–12:02:20, …
//!
//! A time window goes out once its end has passed (a timer wakes the stage
//! even when no item comes); a count window once it holds `n` items.
//! An empty window is never sent: a period with no item produces nothing.
//! A window open when the input ends — at the end of the input or on a
//! graceful [`OwnedScope::shutdown`](crate::OwnedScope::shutdown), which
//! ends the input — is sent then, not lost, with the `end` it would have
//! had.
//!
//! [`window`] keeps each window's items; [`window_fold`] keeps only a
//! running fold of them (a count, a sum, a map of counts per key), which
//! is what most programs want and costs no memory per item.

mod session;
mod sliding;
mod tumbling;

use std::time::Duration;

use tokio::time::Instant;
use weir_core::chan::Receiver;

use crate::engine::{Door, Received, BATCH};
use crate::error::ConfigError;
use crate::scope::{Role, Scope};

pub use session::Session;
pub use sliding::Sliding;
pub use tumbling::Tumbling;

/// A window of items, as [`window`] sends it: the items in arrival order
/// and the window's bounds.
///
/// `start` and `end` are [`tokio::time::Instant`]s (processing time). For
/// a time window they are its bounds, `start` included, `end` excluded;
/// for a count window, when its first and its last item arrived; for a
/// session, when its first item arrived and its last item's arrival plus
/// the gap.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope, Tumbling};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 1..=5);
/// let windows = stage::window(&scope, nums, Tumbling::count(2)).unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, windows).await.unwrap();
/// let items: Vec<Vec<i32>> = all.into_iter().map(|w| w.items).collect();
/// assert_eq!(items, [vec![1, 2], vec![3, 4], vec![5]]);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window<T> {
    /// When the window starts.
    pub start: Instant,
    /// When the window ends.
    pub end: Instant,
    /// Its items, in arrival order; never empty.
    pub items: Vec<T>,
}

/// A window's fold, as [`window_fold`] sends it: the fold of its items
/// and the window's bounds (as [`Window`]'s).
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope, Tumbling};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 1..=5);
/// let sums = stage::window_fold(&scope, nums, Tumbling::count(2), 0, |a, n| a + n).unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, sums).await.unwrap();
/// assert_eq!(all.iter().map(|w| w.value).collect::<Vec<_>>(), [3, 7, 5]);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded<S> {
    /// When the window starts.
    pub start: Instant,
    /// When the window ends.
    pub end: Instant,
    /// The fold of the window's items (at least one).
    pub value: S,
}

/// How [`window`] and [`window_fold`] cut their input into windows:
/// [`Tumbling`], [`Sliding`] or [`Session`]. Implemented by those types
/// only; [`Sliding`] needs `T: Clone`, since an item is in several of its
/// windows.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::{Session, Tumbling, WindowSpec};
///
/// fn takes<W: WindowSpec<String>>(_spec: W) {}
/// takes(Tumbling::every(Duration::from_secs(60)));
/// takes(Session { gap: Duration::from_secs(30) });
/// ```
pub trait WindowSpec<T>: sealed::Sealed + Send + 'static {
    #[doc(hidden)]
    fn kind(self) -> sealed::Kind<T>;

    /// Why the spec is invalid, if it is (what [`window`] would refuse
    /// it for): lets a builder refuse it before it spawns anything.
    #[doc(hidden)]
    fn invalid(&self) -> Option<&'static str>;
}

pub(crate) mod sealed {
    use std::time::Duration;

    /// Only this crate's window specs.
    pub trait Sealed {}

    /// What a spec is, for the stage.
    #[allow(unreachable_pub, missing_debug_implementations)]
    pub enum Kind<T> {
        Every(Duration),
        Count(usize),
        Sliding {
            size: Duration,
            step: Duration,
            clone: fn(&T) -> T,
        },
        Session(Duration),
    }
}
use sealed::Kind;

/// Groups items into windows (see the [module docs](self) for the kinds)
/// and sends each window's items, with its bounds, as a [`Window`]. For
/// a fold of each window instead of its items, see [`window_fold`].
///
/// Items keep input order within a window; windows go out in the order
/// they end. No window is empty. A window open when the input ends (or
/// on a graceful shutdown) is sent before the output closes.
///
/// When every receiver of the output is dropped, the stage stops (even
/// while it waits for input or a window's end) and drops its input,
/// which stops the upstream stage in turn; open windows are dropped.
///
/// # Errors
///
/// A [`ConfigError`] naming the stage when the spec is invalid: a zero
/// count or duration, or a [`Sliding`] step longer than its size or
/// shorter than a 10,000th of it.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// Requests per second, on a paused clock:
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Scope, Tumbling};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (tx, rx) = chan::bounded(8);
/// let windows = stage::window(&scope, rx, Tumbling::every(Duration::from_secs(1))).unwrap();
/// tokio::spawn(async move {
///     for n in 0..5 {
///         tx.send(n).await.unwrap();
///         tokio::time::sleep(Duration::from_millis(400)).await;
///     }
/// });
/// let all = stage::collect::<_, Vec<_>>(&scope, windows).await.unwrap();
/// let items: Vec<Vec<i32>> = all.into_iter().map(|w| w.items).collect();
/// assert_eq!(items, [vec![0, 1, 2], vec![3, 4]]); // at 0, 0.4, 0.8 s; at 1.2, 1.6 s
/// # }
/// ```
pub fn window<T, W>(
    scope: &Scope,
    input: Receiver<T>,
    spec: W,
) -> Result<Receiver<Window<T>>, ConfigError>
where
    T: Send + 'static,
    W: WindowSpec<T>,
{
    let fold = Fns {
        init: Vec::new,
        f: |mut items: Vec<T>, item| {
            items.push(item);
            items
        },
    };
    spawn(
        scope,
        input,
        "window",
        spec.kind(),
        fold,
        |start, end, items| Window { start, end, items },
    )
}

/// Groups items into windows (see the [module docs](self) for the kinds)
/// and sends, for each window, the fold of its items, starting from a
/// clone of `init`, with its bounds, as a [`Folded`]. The items are not
/// kept: memory is one accumulator per open window.
///
/// Each item is folded in input order. No window is empty (`init` alone
/// is never sent). A window open when the input ends (or on a graceful
/// shutdown) is sent before the output closes. A downstream that goes
/// away stops the stage, as for [`window`].
///
/// # Errors
///
/// A [`ConfigError`] naming the stage when the spec is invalid: a zero
/// count or duration, or a [`Sliding`] step longer than its size or
/// shorter than a 10,000th of it.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// Counts per key, per window of 3 items:
///
/// ```
/// use std::collections::HashMap;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope, Tumbling};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let hits = stage::generate(&scope, ["a", "b", "a", "b", "b", "b"]);
/// let per_key = stage::window_fold(&scope, hits, Tumbling::count(3), HashMap::new(), |mut m, k| {
///     *m.entry(k).or_insert(0) += 1;
///     m
/// })
/// .unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, per_key).await.unwrap();
/// assert_eq!(all[0].value, HashMap::from([("a", 2), ("b", 1)]));
/// assert_eq!(all[1].value, HashMap::from([("b", 3)]));
/// # }
/// ```
pub fn window_fold<T, S, F, W>(
    scope: &Scope,
    input: Receiver<T>,
    spec: W,
    init: S,
    f: F,
) -> Result<Receiver<Folded<S>>, ConfigError>
where
    T: Send + 'static,
    S: Clone + Send + 'static,
    F: FnMut(S, T) -> S + Send + 'static,
    W: WindowSpec<T>,
{
    let fold = Fns {
        init: move || init.clone(),
        f,
    };
    spawn(
        scope,
        input,
        "window_fold",
        spec.kind(),
        fold,
        |start, end, value| Folded { start, end, value },
    )
}

/// The one loop behind [`window`] and [`window_fold`].
fn spawn<T, S, O, A>(
    scope: &Scope,
    input: Receiver<T>,
    stage: &'static str,
    kind: Kind<T>,
    mut fold: A,
    emit: fn(Instant, Instant, S) -> O,
) -> Result<Receiver<O>, ConfigError>
where
    T: Send + 'static,
    S: Send + 'static,
    O: Send + 'static,
    A: Folder<T, S> + Send + 'static,
{
    check(&kind).map_err(|what| ConfigError::Invalid {
        stage: scope.config_name(stage),
        what: what.into(),
    })?;
    let (tx, rx) = scope.channel();
    scope.spawn_stage(stage, Role::Stage, move |_| async move {
        let mut windows = Assigner::new(kind, Instant::now());
        let mut buf = Vec::with_capacity(BATCH);
        let mut closed = Vec::new();
        let door = Door::new(&input, &tx);
        loop {
            let due = windows.due();
            let timer = async move {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let ended = match door.recv_or(&mut buf, BATCH, timer).await {
                Received::Closed => return Ok(()),
                Received::Items(n) => n == 0,
                Received::Other => false,
            };
            let now = Instant::now();
            windows.tick(now, &mut closed);
            if !buf.is_empty() {
                windows.add(now, &mut buf, &mut fold, &mut closed);
            }
            if ended {
                windows.finish(&mut closed);
            }
            if !closed.is_empty() {
                let out = closed.drain(..).map(|w: Open<S>| w.emit(emit)).collect();
                if !door.send(out).await {
                    return Ok(());
                }
            }
            if ended {
                return Ok(());
            }
        }
    });
    Ok(rx)
}

/// The most windows a [`Sliding`] spec may put an item in (`size /
/// step`): past it, each item would be folded into (and a [`window`]'s
/// item cloned into) so many windows that the stage would stall or run
/// out of memory.
const MAX_SLIDES: u128 = 10_000;

/// Why `kind` is not a valid spec.
fn check<T>(kind: &Kind<T>) -> Result<(), &'static str> {
    match *kind {
        Kind::Every(d) | Kind::Session(d) if d.is_zero() => {
            Err("window duration must be longer than zero")
        }
        Kind::Count(0) => Err("window count must be at least 1"),
        Kind::Sliding { size, step, .. } if size.is_zero() || step.is_zero() => {
            Err("sliding window size and step must be longer than zero")
        }
        Kind::Sliding { size, step, .. } if step > size => {
            Err("sliding window step must not be longer than its size (items would be lost)")
        }
        Kind::Sliding { size, step, .. } if size.as_nanos() / step.as_nanos() > MAX_SLIDES => Err(
            "sliding window size / step must be at most 10000 (each item is in that many windows)",
        ),
        _ => Ok(()),
    }
}

/// A fold: a fresh accumulator, and how an item goes into it.
trait Folder<T, S> {
    fn fresh(&mut self) -> S;
    fn add(&mut self, acc: S, item: T) -> S;
}

struct Fns<I, F> {
    init: I,
    f: F,
}

impl<T, S, I: FnMut() -> S, F: FnMut(S, T) -> S> Folder<T, S> for Fns<I, F> {
    fn fresh(&mut self) -> S {
        (self.init)()
    }

    fn add(&mut self, acc: S, item: T) -> S {
        (self.f)(acc, item)
    }
}

/// An open window: its bounds and its accumulator (`None` until its
/// first item, so an empty window costs no `init`).
struct Open<S> {
    start: Instant,
    end: Instant,
    acc: Option<S>,
}

impl<S> Open<S> {
    /// When the one window `open` (if any) ends.
    fn due(open: &Option<Open<S>>) -> Option<Instant> {
        open.as_ref().map(|w| w.end)
    }

    /// Moves the one window `open` to `out` if it has ended by `now`.
    fn close_due(open: &mut Option<Open<S>>, now: Instant, out: &mut Vec<Open<S>>) {
        if open.as_ref().is_some_and(|w| w.end <= now) {
            out.extend(open.take());
        }
    }

    fn new(start: Instant, end: Instant) -> Open<S> {
        Open {
            start,
            end,
            acc: None,
        }
    }

    fn add<T>(&mut self, fold: &mut impl Folder<T, S>, item: T) {
        self.add_all(fold, std::iter::once(item));
    }

    /// Folds `items` in, at least one (the accumulator stays in a local
    /// for the whole run).
    fn add_all<T>(&mut self, fold: &mut impl Folder<T, S>, items: impl Iterator<Item = T>) {
        let mut acc = match self.acc.take() {
            Some(acc) => acc,
            None => fold.fresh(),
        };
        for item in items {
            acc = fold.add(acc, item);
        }
        self.acc = Some(acc);
    }

    /// Into what the stage sends; only called on a window with an item.
    fn emit<O>(self, emit: fn(Instant, Instant, S) -> O) -> O {
        let acc = self
            .acc
            .expect("a window is closed only once it has an item");
        emit(self.start, self.end, acc)
    }
}

/// The open windows of one kind.
enum Assigner<T, S> {
    Every(tumbling::Every<S>),
    Count(tumbling::Count<S>),
    Sliding(sliding::Slides<T, S>),
    Session(session::Sessions<S>),
}

impl<T, S> Assigner<T, S> {
    fn new(kind: Kind<T>, origin: Instant) -> Assigner<T, S> {
        match kind {
            Kind::Every(size) => Assigner::Every(tumbling::Every::new(origin, size)),
            Kind::Count(n) => Assigner::Count(tumbling::Count::new(n)),
            Kind::Sliding { size, step, clone } => {
                Assigner::Sliding(sliding::Slides::new(origin, size, step, clone))
            }
            Kind::Session(gap) => Assigner::Session(session::Sessions::new(gap)),
        }
    }

    /// When the next window ends by time, if one is open.
    fn due(&self) -> Option<Instant> {
        match self {
            Assigner::Every(w) => w.due(),
            Assigner::Count(_) => None,
            Assigner::Sliding(w) => w.due(),
            Assigner::Session(w) => w.due(),
        }
    }

    /// Closes into `out` the windows that ended by `now`.
    fn tick(&mut self, now: Instant, out: &mut Vec<Open<S>>) {
        match self {
            Assigner::Every(w) => w.tick(now, out),
            Assigner::Count(_) => {}
            Assigner::Sliding(w) => w.tick(now, out),
            Assigner::Session(w) => w.tick(now, out),
        }
    }

    /// Adds `items` (at least one, all received at `now`, after
    /// [`tick`](Assigner::tick)), leaving the vector empty.
    fn add(
        &mut self,
        now: Instant,
        items: &mut Vec<T>,
        fold: &mut impl Folder<T, S>,
        out: &mut Vec<Open<S>>,
    ) {
        match self {
            Assigner::Every(w) => w.add(now, items, fold),
            Assigner::Count(w) => w.add(now, items, fold, out),
            Assigner::Sliding(w) => {
                for item in items.drain(..) {
                    w.add(now, item, fold);
                }
            }
            Assigner::Session(w) => w.add(now, items, fold),
        }
    }

    /// Closes every open window into `out`: the input ended.
    fn finish(&mut self, out: &mut Vec<Open<S>>) {
        match self {
            Assigner::Every(w) => out.extend(w.take()),
            Assigner::Count(w) => out.extend(w.take()),
            Assigner::Sliding(w) => w.finish(out),
            Assigner::Session(w) => out.extend(w.take()),
        }
    }
}

/// The start of the period of length `step`, counted from `origin`, that
/// holds `now` (`now` is never before `origin`).
fn align(origin: Instant, now: Instant, step: Duration) -> Instant {
    let into = now.saturating_duration_since(origin).as_nanos() % step.as_nanos();
    // `into` < the time since `origin`, so it fits in a u64 of nanoseconds.
    now - Duration::from_nanos(u64::try_from(into).unwrap_or(u64::MAX))
}

/// `at + d`, or about thirty years after `at` when that is not
/// representable (a window that ends "never").
fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(86_400 * 365 * 30)))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_finds_the_period_start() {
        let origin = Instant::now();
        let step = Duration::from_millis(10);
        assert_eq!(align(origin, origin, step), origin);
        let at = origin + Duration::from_millis(25);
        assert_eq!(align(origin, at, step), origin + Duration::from_millis(20));
        let at = origin + Duration::from_millis(30);
        assert_eq!(align(origin, at, step), at);
    }

    #[test]
    fn bad_specs_are_refused() {
        let ms = Duration::from_millis(1);
        assert!(check::<u8>(&Kind::Every(Duration::ZERO)).is_err());
        assert!(check::<u8>(&Kind::Session(Duration::ZERO)).is_err());
        assert!(check::<u8>(&Kind::Count(0)).is_err());
        let clone = u8::clone as fn(&u8) -> u8;
        let sliding = |size, step| Kind::Sliding { size, step, clone };
        assert!(check(&sliding(ms, 2 * ms)).is_err());
        assert!(check(&sliding(Duration::ZERO, Duration::ZERO)).is_err());
        assert!(check(&sliding(2 * ms, ms)).is_ok());
        assert!(check::<u8>(&Kind::Count(1)).is_ok());
        assert!(check(&sliding(10_000 * ms, ms)).is_ok());
        assert!(check(&sliding(10_001 * ms, ms)).is_err());
        assert!(check(&sliding(Duration::MAX, Duration::from_nanos(1))).is_err());
    }

    #[test]
    fn after_saturates() {
        let now = Instant::now();
        assert!(after(now, Duration::MAX) > now);
        assert_eq!(
            after(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }
}
