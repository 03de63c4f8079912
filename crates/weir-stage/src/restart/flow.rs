//! [`restart_flow`]: a sub-flow that is built again when it fails.

use weir_core::chan::Receiver;

use super::{Budget, Restart};
use crate::error::{BoxError, ConfigError, Error};
use crate::scope::{Role, Scope};

/// Runs the stages `factory` builds over this stage's input and, when one
/// of them fails, builds them again: Akka's `RestartFlow.withBackoff`
/// (a parser or a client that a bad moment can break).
///
/// Each incarnation runs in a scope of its own, a child of this scope's
/// context: `factory` gets that scope and a receiver of the input, and
/// returns the sub-flow's output, whose items are sent on. When a stage of
/// the incarnation fails or panics, only the incarnation is cancelled; after
/// the [`Restart`]'s backoff, `factory` is called again over the same input.
/// When the input ends and the sub-flow drains, the stage ends.
///
/// **The items in flight are lost, not retried.** The item whose
/// processing failed, and every item the failed incarnation had taken from
/// the input but not sent on (the rest of the batch it was working on, up
/// to [`BATCH`](crate::engine::BATCH) items, and what sat in its inner
/// channels) are dropped with it; the next incarnation starts with the
/// input's next item. Retrying the failing item would most likely fail
/// again (a poison item); for retries of one job, use a
/// [`Recovery`](crate::Recovery) inside the sub-flow instead. Items that
/// were sent on before the failure stay sent, in order: the output keeps
/// input order when the sub-flow does, with gaps where incarnations failed.
///
/// Each restart is counted in the stage's
/// [`restarts`](crate::StageStats::restarts); the sub-flow's own stages
/// are not in this scope's statistics. One restart more than
/// [`Restart::max_restarts`] allows fails the stage with
/// [`TooManyRestarts`](crate::TooManyRestarts) (whose source is the
/// sub-flow's last error) as the source of
/// [`Error::Failed`](crate::Error::Failed) naming it.
/// [`Restart::on_end`] does not apply: a sub-flow ends when its input does.
/// A [`ConfigError`] from the sub-flow (reported by one of its stages, as
/// the builder's do) is not restarted: it fails this stage at once.
///
/// # Cancel safety
///
/// Cancelling this scope cancels the incarnation running (its scope is a
/// child of this one's). [`OwnedScope::shutdown`](crate::OwnedScope::shutdown)
/// ends the input, and the incarnation drains as any stages do.
///
/// # Errors
///
/// [`ConfigError::Zero`] naming the stage when the restart count or window
/// is zero; [`ConfigError::Invalid`] for a zero backoff whose limit a stage
/// failing at once never reaches (see [`Restart::check`]: it would restart
/// for ever). Whatever the settings, each restart waits at least
/// [`Restart::MIN_DELAY`]: no setting makes a busy loop.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `factory`
/// itself becomes [`Error::Panicked`](crate::Error::Panicked) naming this
/// stage; a panic in a stage of the sub-flow is a failure like any other,
/// and restarts it.
///
/// # Examples
///
/// A parser that breaks on the first bad line it meets, restarted: the bad
/// line is lost, the rest goes through.
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Backoff, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let stats = scope.stats();
/// let (tx, lines) = weir_core::chan::bounded(1);
/// let parsed = stage::restart_flow(&scope.named("parse"), lines, Backoff::fixed(Duration::from_millis(10)), |scope, input| {
///     stage::try_map(scope, input, |s: &str| s.parse::<u32>())
/// })
/// .unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, parsed);
/// for line in ["1", "x", "3"] {
///     tx.send(line).await.unwrap();
/// }
/// drop(tx);
/// let all = all.await.unwrap();
/// assert!(all.starts_with(&[1]) && !all.contains(&2) && all.len() <= 2);
/// assert_eq!(stats.stage("parse").unwrap().restarts, 1);
/// # }
/// ```
pub fn restart_flow<T, U, F>(
    scope: &Scope,
    input: Receiver<T>,
    restart: impl Into<Restart>,
    mut factory: F,
) -> Result<Receiver<U>, ConfigError>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(&Scope, Receiver<T>) -> Receiver<U> + Send + 'static,
{
    let restart = restart.into();
    restart.check(&scope.config_name("restart_flow"))?;
    let (tx, rx) = scope.channel();
    let ctx = scope.context().clone();
    scope.spawn_stage("restart_flow", Role::Stage, move |cx| async move {
        let mut budget = Budget::new(restart);
        loop {
            let child = Scope::new(&ctx);
            let out = factory(&child, input.clone());
            drop(crate::forward(&child, out, tx.clone()));
            let failure: BoxError = match child.wait().await {
                Ok(()) => return Ok(()), // the input ended, or downstream is gone
                Err(Error::Cancelled(_)) if ctx.is_cancelled() => return Ok(()),
                // A misbuilt sub-flow would fail the same way every time.
                Err(Error::Config(e)) => return Err(e.into()),
                Err(e) => e.into(),
            };
            if !budget.wait(failure, &tx, cx.stats()).await? {
                return Ok(());
            }
        }
    });
    Ok(rx)
}
