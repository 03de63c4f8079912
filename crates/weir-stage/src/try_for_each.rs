//! [`try_for_each`]: a sink that runs a fallible closure on every item.

use weir_core::chan::Receiver;

use crate::driver::SinkOutput;
use crate::engine::SinkStep;
use crate::error::BoxError;
use crate::scope::Scope;

/// Runs the fallible `f` on every item, in order, as the last stage; the
/// first `Err` ends it. The returned [`SinkOutput`] resolves when the
/// input is exhausted.
///
/// # Errors
///
/// The first `Err` of `f` fails the stage: [`Error::Failed`](crate::Error::Failed)
/// naming it, with that error as its source; the scope is cancelled and
/// the [`SinkOutput`] resolves to an [`Incomplete`](crate::Incomplete)
/// error. A panic in `f` becomes [`Error::Panicked`](crate::Error::Panicked)
/// naming this stage.
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
/// let lines = stage::generate(&scope, ["1", "2", "x"]);
/// let _done = stage::try_for_each(&scope.named("store"), lines, |s: &str| {
///     let n: u32 = s.parse()?;
///     println!("stored {n}");
///     Ok::<_, std::num::ParseIntError>(())
/// });
/// let err = scope.wait().await.unwrap_err();
/// assert_eq!(err.to_string(), "stage `store` failed");
/// # }
/// ```
pub fn try_for_each<T, E, F>(scope: &Scope, input: Receiver<T>, f: F) -> SinkOutput<()>
where
    T: Send + 'static,
    E: Into<BoxError>,
    F: FnMut(T) -> Result<(), E> + Send + 'static,
{
    scope.spawn_sink(input, TryForEach::new(f))
}

/// The [`try_for_each`] sink: `f` on every item until the first `Err`,
/// which it hands the engine through [`SinkStep::failed`]. What both
/// [`stage::try_for_each`](try_for_each) and the builder's
/// `Flow::try_for_each` run.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::SinkStep;
/// use weir_stage::steps::TryForEach;
///
/// let mut sink = TryForEach::new(|n: i32| if n < 0 { Err("negative") } else { Ok(()) });
/// sink.consume(vec![1, -2, 3].drain(..));
/// assert_eq!(sink.failed().unwrap().to_string(), "negative");
/// assert!(sink.failed().is_none()); // handed over once
/// ```
pub struct TryForEach<F> {
    f: F,
    error: Option<BoxError>,
    /// Set at the first error: nothing more is consumed.
    stopped: bool,
}

impl<F> TryForEach<F> {
    /// The sink running `f`.
    ///
    /// # Examples
    ///
    /// See [`TryForEach`].
    pub fn new(f: F) -> TryForEach<F> {
        TryForEach {
            f,
            error: None,
            stopped: false,
        }
    }
}

impl<T, E, F> SinkStep<T> for TryForEach<F>
where
    T: Send + 'static,
    E: Into<BoxError>,
    F: FnMut(T) -> Result<(), E> + Send + 'static,
{
    type Output = ();
    const KIND: &'static str = "try_for_each";

    fn consume(&mut self, input: std::vec::Drain<'_, T>) {
        if self.stopped {
            return;
        }
        for item in input {
            if let Err(e) = (self.f)(item) {
                self.error = Some(e.into());
                self.stopped = true;
                return;
            }
        }
    }

    fn finish(self) {}

    fn failed(&mut self) -> Option<BoxError> {
        self.error.take()
    }
}

impl<F> std::fmt::Debug for TryForEach<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TryForEach")
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}
