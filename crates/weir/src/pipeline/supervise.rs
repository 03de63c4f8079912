//! Supervision in the builder: [`Pipeline::restart_source`] and
//! [`Flow::restart`], doors to `weir_stage`'s
//! [`restart_source`](weir_stage::restart_source) and
//! [`restart_flow`](weir_stage::restart_flow); nothing is written twice.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_core::Stream;
use weir_cancel::Context;
use weir_core::chan::{self, Receiver};
use weir_stage::{BoxError, Restart, Scope};

use super::boundary::{fill, view};
use super::flow::{Flow, Pipeline};
use super::graph::NodeId;
use super::shared::Shared;
use super::source::Slot;

/// # Supervision: sources that reconnect
///
/// [`restart_source`](Pipeline::restart_source) (Akka's
/// `RestartSource.withBackoff`).
impl Pipeline {
    /// A source made by `factory` — a [`Stream`] of `Result`s — made again,
    /// after the [`Restart`]'s backoff, when it yields an `Err` (and, with
    /// [`Restart::on_end`], when it ends): a feed that must reconnect. Pass
    /// a [`Backoff`](weir_stage::Backoff) for the default limits (10
    /// restarts a minute), or a [`Restart`].
    ///
    /// Items a failed stream yielded before its error have gone on; nothing
    /// is replayed. Restarts are counted in the stage's
    /// [`restarts`](super::StageMetrics::restarts) (the metrics table, the
    /// graph exports and `weir_stage_restarts_total`).
    /// [`shutdown`](Pipeline::shutdown) stops it, also during a backoff. A
    /// stage with a task of its own. See [`weir_stage::restart_source`].
    /// A `shutdown` that stops a stream before it ended marks the run
    /// [`cut_short`](Pipeline::cut_short).
    ///
    /// # Errors
    ///
    /// One restart more than [`Restart::max_restarts`] allows fails the
    /// pipeline: [`Error::Failed`](weir_stage::Error::Failed) naming this
    /// stage, whose source is a [`TooManyRestarts`](weir_stage::TooManyRestarts)
    /// holding the last failure. Settings [`Restart::check`] refuses — a
    /// restart count or window of zero, or a zero backoff whose limit a
    /// source failing at once never reaches (it would restart for ever) —
    /// are a [`ConfigError`](weir_stage::ConfigError) naming the stage,
    /// returned by the sink before anything runs. Whatever the settings,
    /// each restart waits at least [`Restart::MIN_DELAY`]: no setting makes
    /// a busy loop.
    ///
    /// # Examples
    ///
    /// A feed that drops its connection twice, then works; the waits
    /// between attempts are 100 ms and 200 ms:
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::stream;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Backoff;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let mut attempt = 0;
    /// let feed = p.restart_source(move || {
    ///     attempt += 1;
    ///     let items = if attempt < 3 { vec![Err("connection reset")] } else { vec![Ok(7), Ok(8)] };
    ///     stream::iter(items)
    /// }, Backoff::exponential(Duration::from_millis(100)));
    /// let got = feed.named("feed").collect::<Vec<_>>().await.unwrap();
    /// assert_eq!(got, [7, 8]);
    /// let m = p.metrics();
    /// assert_eq!(m.stages.iter().find(|s| s.name == "feed").unwrap().restarts, 2);
    /// # }
    /// ```
    pub fn restart_source<T, E, S, F>(&self, factory: F, restart: impl Into<Restart>) -> Flow<T>
    where
        T: Send + 'static,
        E: Into<BoxError>,
        S: Stream<Item = Result<T, E>> + Send + 'static,
        F: FnMut() -> S + Send + 'static,
    {
        let restart = restart.into();
        let node = self.shared.add_stage("restart_source", &[], false);
        self.shared.graph().set_tasks(node);
        check_restart(&self.shared, node, &restart);
        let slot = Slot::<T>::default();
        let out = slot.clone();
        let (stop, cut_short) = (self.shared.stop.clone(), self.shared.cut_short.clone());
        let mut factory = factory;
        let watched = move || Watched {
            inner: Box::pin(factory()),
            stop: stop.clone(),
            cut_short: cut_short.clone(),
            ended: false,
        };
        self.shared.defer(move |shared, scope| {
            match weir_stage::restart_source(&view(shared, scope, node), watched, restart) {
                Ok(rx) => fill(shared, node, &out, rx),
                Err(e) => shared.fault(e.into()),
            }
        });
        Flow::from_channel(self.shared.clone(), node, slot, None)
    }
}

/// # Supervision: sub-flows that are rebuilt
///
/// [`restart`](Flow::restart) (Akka's `RestartFlow.withBackoff`).
impl<T: Send + 'static> Flow<T> {
    /// Runs the stages `factory` adds to a flow of this flow's items and,
    /// when one of them fails, builds them again after the [`Restart`]'s
    /// backoff, over the rest of the input.
    ///
    /// The items in flight are lost, not retried: the item that failed
    /// and whatever else the failed sub-flow had taken in (up to a batch,
    /// plus its channels) are dropped; the next sub-flow starts at the
    /// input's next item (for retries of one job, use
    /// [`retry`](Flow::retry) inside the sub-flow). Each sub-flow runs as
    /// a pipeline of its own under this one's context: it shows in this
    /// pipeline's metrics and graph as the one `restart` stage, counting
    /// its [`restarts`](super::StageMetrics::restarts). See
    /// [`weir_stage::restart_flow`].
    ///
    /// # Errors
    ///
    /// One restart more than [`Restart::max_restarts`] allows fails the
    /// pipeline: [`Error::Failed`](weir_stage::Error::Failed) naming this
    /// stage, whose source is a [`TooManyRestarts`](weir_stage::TooManyRestarts)
    /// holding the sub-flow's last error. Settings [`Restart::check`]
    /// refuses (a zero count or window, or a zero backoff whose limit is
    /// never reached) are a [`ConfigError`](weir_stage::ConfigError)
    /// naming the stage, returned by the sink before anything runs; each
    /// restart waits at least [`Restart::MIN_DELAY`]; a sub-flow whose own
    /// stages are misconfigured fails this stage the first time it is built (with that
    /// `ConfigError` as its source), without restarts.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::{Backoff, Restart};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let restart = Restart::new(Backoff::fixed(Duration::from_millis(10)))
    ///     .max_restarts(3, Duration::from_secs(60));
    /// let parsed = p
    ///     .source(["1", "2", "3"])
    ///     .restart(|lines| lines.try_map(str::parse::<u32>), restart)
    ///     .named("parse")
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(parsed, [1, 2, 3]);
    /// let m = p.metrics();
    /// assert_eq!(m.stages.iter().find(|s| s.name == "parse").unwrap().restarts, 0);
    /// # }
    /// ```
    pub fn restart<U, F>(self, mut factory: F, restart: impl Into<Restart>) -> Flow<U>
    where
        U: Send + 'static,
        F: FnMut(Flow<T>) -> Flow<U> + Send + 'static,
    {
        let restart = restart.into();
        let capacity = self.shared.capacity;
        let shared = self.shared.clone();
        let flow = self.through("restart", move |scope, input| {
            weir_stage::restart_flow(scope, input, restart, move |scope: &Scope, rx| {
                incarnation(scope, rx, capacity, &mut factory)
            })
        });
        check_restart(&shared, flow.tail(), &restart);
        flow
    }
}

/// One incarnation of a restarted sub-flow: a pipeline of its own under
/// `scope`'s context, reading `rx`, whose sink (spawned in `scope`, so its
/// failure is the incarnation's) forwards into the channel returned.
fn incarnation<T, U, F>(
    scope: &Scope,
    rx: Receiver<T>,
    capacity: usize,
    factory: &mut F,
) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(Flow<T>) -> Flow<U>,
{
    let inner = Pipeline::with_capacity(scope.context(), capacity);
    let (tx, out) = chan::bounded(capacity);
    let sink = factory(inner.from_receiver(rx)).forward(tx);
    scope.spawn_task(async move {
        sink.await.map_err(|e| match e {
            crate::error::Error::Stage(e) => e,
            other => weir_stage::Error::Failed {
                stage: "restart".into(),
                source: other.into(),
            },
        })
    });
    out
}

/// Records restart settings [`Restart::check`] refuses as a configuration
/// error of `node`, so that a refused pipeline runs nothing.
fn check_restart(shared: &Shared, node: NodeId, restart: &Restart) {
    // The stage's name is read when the pipeline starts (it may be
    // `named` after this).
    let Err(refused) = restart.check("") else {
        return;
    };
    let (stage, restart) = (shared.stage(node), *restart);
    shared.fault_with(move || {
        // The same settings, so the same refusal, now with the name.
        weir_stage::Error::Config(restart.check(&stage.name()).err().unwrap_or(refused))
    });
}

/// A restarted source's stream, watched for a graceful stop: dropped by a
/// `shutdown` before it ended, it marks the run cut short (what the
/// pipeline's other sources do).
struct Watched<S> {
    inner: Pin<Box<S>>,
    stop: Context,
    cut_short: Arc<AtomicBool>,
    ended: bool,
}

impl<S: Stream> Stream for Watched<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let next = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = next {
            self.ended = true;
        }
        next
    }
}

impl<S> Drop for Watched<S> {
    fn drop(&mut self) {
        if !self.ended && self.stop.is_cancelled() {
            self.cut_short.store(true, Ordering::Release);
        }
    }
}
