//! [`restart_source`]: a source that is made again when it fails.

use futures::{FutureExt, Stream, StreamExt};
use weir_core::chan::Receiver;

use super::{Budget, Restart};
use crate::driver::BATCH;
use crate::engine::door::Exit;
use crate::error::{BoxError, ConfigError};
use crate::scope::{Role, Scope};

/// A source made by `factory`, made again when it fails: Akka's
/// `RestartSource.withBackoff` (a feed that must reconnect).
///
/// `factory` returns a [`Stream`] of `Result`s: its `Ok` items are sent
/// on; its first `Err` is a failure: the stream is dropped and, after the
/// [`Restart`]'s backoff, `factory` is called for a new one. A stream that
/// *ends* ends the source, unless [`Restart::on_end`] asks for a restart
/// then too. A factory that cannot even connect returns a stream whose
/// first item is the `Err` (`futures::stream::once(async { Err(e) })`, or
/// `try_stream`-style code).
///
/// What a failed stream already yielded has been sent; nothing is
/// replayed: a new stream starts wherever `factory` makes it start (keep a
/// cursor in the factory's state to resume).
///
/// Each restart is counted in the stage's
/// [`restarts`](crate::StageStats::restarts). One restart more than
/// [`Restart::max_restarts`] allows fails the stage with
/// [`TooManyRestarts`](crate::TooManyRestarts) as the source of
/// [`Error::Failed`](crate::Error::Failed) naming it.
///
/// The stage is a source: [`OwnedScope::shutdown`](crate::OwnedScope::shutdown)
/// stops it (also while it waits out a backoff), as a success. When every
/// receiver of the output is dropped, it stops and drops the stream.
///
/// # Cancel safety
///
/// Cancelling the scope drops the stream wherever it waits.
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
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `factory` or
/// in the stream becomes [`Error::Panicked`](crate::Error::Panicked) naming
/// this stage (a panic is a bug, not a failure to restart from).
///
/// # Examples
///
/// A feed that fails twice before it works:
///
/// ```
/// use std::time::Duration;
/// use futures::stream;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Backoff, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let stats = scope.stats();
/// let mut attempt = 0;
/// let feed = stage::restart_source(&scope.named("feed"), move || {
///     attempt += 1;
///     let items = if attempt < 3 { vec![Err("reset by peer")] } else { vec![Ok(1), Ok(2)] };
///     stream::iter(items)
/// }, Backoff::exponential(Duration::from_millis(100)))
/// .unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, feed);
/// assert_eq!(all.await.unwrap(), [1, 2]);
/// scope.wait().await.unwrap();
/// assert_eq!(stats.stage("feed").unwrap().restarts, 2);
/// # }
/// ```
pub fn restart_source<T, E, S, F>(
    scope: &Scope,
    mut factory: F,
    restart: impl Into<Restart>,
) -> Result<Receiver<T>, ConfigError>
where
    T: Send + 'static,
    E: Into<BoxError>,
    S: Stream<Item = Result<T, E>> + Send + 'static,
    F: FnMut() -> S + Send + 'static,
{
    let restart = restart.into();
    restart.check(&scope.config_name("restart_source"))?;
    let (tx, rx) = scope.channel();
    scope.spawn_stage("restart_source", Role::Source, move |cx| async move {
        let exit = Exit::new(&tx);
        let mut budget = Budget::new(restart);
        loop {
            let mut stream = Box::pin(factory());
            let failure: BoxError = loop {
                let Some(first) = exit.unless_closed(stream.next()).await else {
                    return Ok(()); // downstream is gone
                };
                // What the stream has ready goes on in one batch.
                let (batch, stop) = ready(stream.as_mut(), first);
                if !batch.is_empty() && !exit.send(batch).await {
                    return Ok(());
                }
                match stop {
                    None => {}
                    Some(Some(failure)) => break failure,
                    Some(None) if restart.restarts_on_end() => break "the source ended".into(),
                    Some(None) => return Ok(()),
                }
            };
            drop(stream);
            if !budget.wait(failure, &tx, cx.stats()).await? {
                return Ok(());
            }
        }
    });
    Ok(rx)
}

/// The items `stream` has ready after `first`, up to a batch, and why the
/// batch stopped: `None` when it is full or nothing more is ready,
/// `Some(Some(e))` at a failure, `Some(None)` at the stream's end.
#[allow(clippy::type_complexity)]
fn ready<T, E, S>(
    mut stream: std::pin::Pin<&mut S>,
    first: Option<Result<T, E>>,
) -> (Vec<T>, Option<Option<BoxError>>)
where
    E: Into<BoxError>,
    S: Stream<Item = Result<T, E>>,
{
    let (mut next, mut batch) = (Some(first), Vec::new());
    loop {
        match next {
            None => return (batch, None), // nothing more ready
            Some(Some(Ok(item))) => batch.push(item),
            Some(Some(Err(e))) => return (batch, Some(Some(e.into()))),
            Some(None) => return (batch, Some(None)),
        }
        if batch.len() == BATCH {
            return (batch, None);
        }
        next = stream.next().now_or_never();
    }
}
