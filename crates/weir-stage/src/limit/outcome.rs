//! [`Outcome`]: how an item ended, as a stage's limit sees it.

/// How an item a stage ran ended, as its limit sees it.
///
/// # Examples
///
/// ```
/// use weir_stage::{Limit, Outcome};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let ctl = Limit::adaptive().into_controller();
/// ctl.start().finish(Outcome::Ok);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded; its latency is a measurement.
    Ok,
    /// The service was overloaded (an overload error or a per-item
    /// timeout): the limit comes down.
    Overload,
    /// It failed for a reason unrelated to load: not a measurement.
    Failed,
}
