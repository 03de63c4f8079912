//! [`Step`] and [`SinkStep`]: an operator's per-batch logic, written once.

use std::vec::Drain;

use crate::error::BoxError;

/// A fusible stage: what it does to one batch of items. The engine runs it
/// over a channel in a task of its own ([`stage::map`](crate::map) and
/// friends) or fused with its neighbours in one task (the `weir` builder's
/// `Flow::map` and friends): one piece of code, two doors.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
///
/// struct Double;
/// impl Step<u32> for Double {
///     type Out = u32;
///     const KIND: &'static str = "double";
///     fn step(&mut self, input: std::vec::Drain<'_, u32>, out: &mut Vec<u32>, _: &mut Faults) {
///         out.extend(input.map(|n| n * 2));
///     }
/// }
///
/// let (mut v, mut out) = (vec![1, 2], Vec::new());
/// Double.step(v.drain(..), &mut out, &mut Faults::fail_fast());
/// assert_eq!(out, [2, 4]);
/// ```
pub trait Step<T>: Send + 'static {
    /// What it sends on.
    type Out: Send + 'static;
    /// The operator's name, the stage's default label (`"map"`).
    const KIND: &'static str;

    /// Turns one batch into outputs (appended to `out`), in order. Per-item
    /// errors go to `faults`; stop early when
    /// [`report`](Faults::report) says so.
    fn step(&mut self, input: Drain<'_, T>, out: &mut Vec<Self::Out>, faults: &mut Faults);

    /// `true` once the step will send nothing more, whatever comes in (a
    /// [`Take`](crate::steps::Take) that has had its fill). The engine
    /// asks before each batch; once it says so, the stage ends (its output
    /// closes) and drops its input, which stops upstream in turn. The
    /// default: never.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::{Faults, Step};
    /// use weir_stage::steps::Take;
    ///
    /// let mut take = Take::new(2);
    /// let mut out = Vec::new();
    /// take.step(vec![1, 2, 3].drain(..), &mut out, &mut Faults::fail_fast());
    /// assert_eq!(out, [1, 2]);
    /// assert!(Step::<i32>::is_done(&take));
    /// ```
    fn is_done(&self) -> bool {
        false
    }

    /// The input ended: appends what the step still holds (a
    /// [`ChunksBy`](crate::steps::ChunksBy)'s open group) to `out`, the
    /// last outputs of the stage. Called once, after the last batch, when
    /// the input ends cleanly (its end, or a graceful shutdown) — not on an
    /// error, nor once [`is_done`](Step::is_done). The default: nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::{Faults, Step};
    /// use weir_stage::steps::ChunksBy;
    ///
    /// let mut step = ChunksBy::new(|n: &u8| *n);
    /// let mut out = Vec::new();
    /// step.step(vec![1, 1, 2].drain(..), &mut out, &mut Faults::fail_fast());
    /// assert_eq!(out, [vec![1, 1]]); // the group of 2 may go on
    /// step.finish(&mut out);
    /// assert_eq!(out, [vec![1, 1], vec![2]]);
    /// ```
    fn finish(&mut self, out: &mut Vec<Self::Out>) {
        let _ = out;
    }
}

/// A sink stage: consumes batches and ends in one result.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::SinkStep;
///
/// struct Count(usize);
/// impl SinkStep<char> for Count {
///     type Output = usize;
///     const KIND: &'static str = "count";
///     fn consume(&mut self, input: std::vec::Drain<'_, char>) {
///         self.0 += input.count();
///     }
///     fn finish(self) -> usize {
///         self.0
///     }
/// }
///
/// let mut c = Count(0);
/// c.consume(vec!['a', 'b'].drain(..));
/// assert_eq!(c.finish(), 2);
/// ```
pub trait SinkStep<T>: Send + 'static {
    /// The sink's result.
    type Output: Send + 'static;
    /// The operator's name, the stage's default label (`"fold"`).
    const KIND: &'static str;

    /// Takes one batch, in order.
    fn consume(&mut self, input: Drain<'_, T>);

    /// The result, once the input has ended.
    fn finish(self) -> Self::Output;

    /// The error that ends this sink early, if [`consume`](SinkStep::consume)
    /// met one (a fallible sink such as
    /// [`TryForEach`](crate::steps::TryForEach)): the engine asks after
    /// each batch and, on `Some`, fails the stage naming it. The default:
    /// never.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::SinkStep;
    /// use weir_stage::steps::TryForEach;
    ///
    /// let mut sink = TryForEach::new(|n: u8| if n < 2 { Ok(()) } else { Err("too big") });
    /// sink.consume(vec![1, 2, 3].drain(..));
    /// assert_eq!(sink.failed().unwrap().to_string(), "too big");
    /// ```
    fn failed(&mut self) -> Option<BoxError> {
        None
    }
}

/// Where a [`Step`] puts per-item errors. Whether the stage goes on after
/// one depends on its scope: it fails at the first error, unless the scope
/// [collects errors](crate::ScopeBuilder::collect_errors).
///
/// # Examples
///
/// ```
/// use weir_stage::engine::Faults;
///
/// let mut faults = Faults::fail_fast();
/// assert!(!faults.report("bad".into())); // stop
/// assert_eq!(faults.take().len(), 1);
/// ```
#[derive(Debug)]
pub struct Faults {
    errors: Vec<BoxError>,
    keep_going: bool,
}

impl Faults {
    /// Faults of a stage that fails at the first error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Faults;
    /// assert!(Faults::fail_fast().take().is_empty());
    /// ```
    pub fn fail_fast() -> Faults {
        Faults {
            errors: Vec::new(),
            keep_going: false,
        }
    }

    /// Faults of a stage that reports each error and goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Faults;
    /// assert!(Faults::keep_going().report("bad".into()));
    /// ```
    pub fn keep_going() -> Faults {
        Faults {
            errors: Vec::new(),
            keep_going: true,
        }
    }

    /// Records `error`; `true` if the step should go on with its batch.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Faults;
    /// let mut f = Faults::fail_fast();
    /// assert!(!f.report(std::io::Error::other("x").into()));
    /// ```
    pub fn report(&mut self, error: BoxError) -> bool {
        self.errors.push(error);
        self.keep_going
    }

    /// The errors recorded since the last call.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::engine::Faults;
    /// let mut f = Faults::keep_going();
    /// f.report("a".into());
    /// assert_eq!(f.take().len(), 1);
    /// assert!(f.take().is_empty());
    /// ```
    pub fn take(&mut self) -> Vec<BoxError> {
        std::mem::take(&mut self.errors)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn keeps_going(&self) -> bool {
        self.keep_going
    }
}
