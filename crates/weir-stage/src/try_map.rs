//! [`try_map`]: a fallible one-to-one transform.

use weir_core::chan::Receiver;

use crate::engine::{Faults, Step};
use crate::error::BoxError;
use crate::scope::Scope;

/// Applies the fallible `f` to every item and sends the `Ok` values on.
///
/// An `Err` is handled by the scope's policy: by default it fails the stage
/// and cancels the scope ([`Error::Failed`](crate::Error::Failed) naming
/// this stage); under
/// [`collect_errors`](crate::ScopeBuilder::collect_errors) it is recorded,
/// the item is skipped and the stage keeps going.
///
/// Order: output order is input order.
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
/// let text = stage::generate(&scope, ["1", "2", "x"]);
/// let nums = stage::try_map(&scope.named("parse"), text, str::parse::<u8>);
/// let all = stage::collect::<_, Vec<_>>(&scope, nums);
/// let err = scope.wait().await.unwrap_err();
/// assert_eq!(err.to_string(), "stage `parse` failed");
/// let cause = std::error::Error::source(&err).unwrap();
/// assert_eq!(cause.to_string(), "invalid digit found in string");
/// assert!(all.await.is_err());
/// # }
/// ```
pub fn try_map<T, U, E, F>(scope: &Scope, input: Receiver<T>, f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    E: Into<BoxError>,
    F: FnMut(T) -> Result<U, E> + Send + 'static,
{
    scope.spawn_step(input, TryMap::new(f))
}

/// The [`try_map`] step: the fallible `f` over a batch, each error handed
/// to the stage's [`Faults`]. What both [`stage::try_map`](try_map) and the
/// builder's `Flow::try_map` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::{Faults, Step};
/// use weir_stage::steps::TryMap;
///
/// let (mut out, mut faults) = (Vec::new(), Faults::keep_going());
/// TryMap::new(str::parse::<u8>).step(vec!["1", "x", "3"].drain(..), &mut out, &mut faults);
/// assert_eq!(out, [1, 3]);
/// assert_eq!(faults.take().len(), 1);
/// ```
pub struct TryMap<F>(F);

impl<F> TryMap<F> {
    /// The step applying the fallible `f`.
    ///
    /// # Examples
    ///
    /// See [`TryMap`].
    pub fn new(f: F) -> TryMap<F> {
        TryMap(f)
    }
}

impl<T, U, E, F> Step<T> for TryMap<F>
where
    T: Send + 'static,
    U: Send + 'static,
    E: Into<BoxError>,
    F: FnMut(T) -> Result<U, E> + Send + 'static,
{
    type Out = U;
    const KIND: &'static str = "try_map";

    fn step(&mut self, input: std::vec::Drain<'_, T>, out: &mut Vec<U>, faults: &mut Faults) {
        for item in input {
            match (self.0)(item) {
                Ok(v) => out.push(v),
                Err(e) => {
                    if !faults.report(e.into()) {
                        return;
                    }
                }
            }
        }
    }
}

impl<F> std::fmt::Debug for TryMap<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TryMap")
    }
}
