//! [`map_concurrent`]: an async transform with up to n futures in flight
//! that keeps the input order; and the window loop it shares with
//! [`map_unordered`](crate::map_unordered) and
//! [`for_each_concurrent`](crate::for_each_concurrent).

use std::future::Future;

use futures::stream::{FuturesOrdered, FuturesUnordered};
use futures::{FutureExt, Stream, StreamExt};
use weir_core::chan::{Receiver, Sender};

use crate::driver::BATCH;
use crate::engine::door::{Door, Exit, Turn};
use crate::error::{BoxError, ConfigError};
use crate::limit::{Controller, Limit, Measured};
use crate::scope::{Role, Scope, StageCx};

/// Runs the async `f` on up to `n` items at once and sends the results in
/// input order.
///
/// # Choosing: ordered, unordered, or a worker pool
///
/// * `map_concurrent` (this stage) keeps the input order. It holds a
///   *reorder window* of at most `n` items: the futures in flight plus the
///   results that finished early and wait for an earlier one. A slow item
///   therefore holds back the results behind it (head-of-line blocking),
///   and while it runs at most `n - 1` later items can start. Use it when
///   order matters: responses matched to requests, lines of a file.
/// * [`map_unordered`](crate::map_unordered) sends each result as soon as
///   it is ready, so a slow item never holds up the others and all `n`
///   slots stay busy. Use it when order does not matter; it has the better
///   throughput and latency.
/// * Both run their futures *concurrently on the stage's one task*, not in
///   parallel across cores: they suit I/O-bound work (requests, queries,
///   timers) where each future mostly waits. For CPU-bound work, or work
///   that blocks, use [`worker_pool`](crate::worker_pool): each worker is
///   its own task, so on a multi-thread runtime the workers run in parallel
///   (unordered, like Go's worker pool). A pool also offers retries,
///   dead letters and resizing ([`WorkerPool`](crate::WorkerPool)).
///
/// `f` itself is called in the stage's task as items arrive, so it should
/// only build the future; the work goes in the future. While the stage
/// waits for room in a full output channel, its futures are not polled:
/// a slow consumer slows the stage down rather than letting results pile
/// up (the same holds for `futures`' `buffered`).
///
/// Order: output order is input order. When every receiver of the output
/// is dropped, the stage ends at once — even while a future is pending —
/// dropping the futures in flight and its input, which stops upstream in
/// turn.
///
/// `n` is a number or a [`Limit`](crate::Limit): under
/// [`Limit::adaptive`](crate::Limit::adaptive) the stage moves `n` itself,
/// from each item's latency (and, under a [`Recovery`](crate::Recovery),
/// its overload errors), and starts a new item only while fewer than the
/// current `n` are in flight.
///
/// # Errors
///
/// [`ConfigError::Zero`] when `n` is 0, and the errors of
/// [`Limit::check`](crate::Limit::check) for an adaptive limit that does
/// not hold. A panic in `f` or in one of its
/// futures becomes [`Error::Panicked`](crate::Error::Panicked) naming this
/// stage. For fallible jobs — retries with backoff, skipping or
/// dead-lettering the ones that fail — use
/// [`try_map_concurrent`](crate::try_map_concurrent).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let ids = stage::generate(&scope, 1..=5u64);
/// let fetched = stage::map_concurrent(&scope, ids, 3, |id| async move {
///     // later ids finish first, yet come out in order
///     tokio::time::sleep(Duration::from_millis(100 / id)).await;
///     format!("user {id}")
/// })
/// .unwrap();
/// let all = stage::collect::<_, Vec<_>>(&scope, fetched);
/// assert_eq!(all.await.unwrap(), ["user 1", "user 2", "user 3", "user 4", "user 5"]);
/// # }
/// ```
pub fn map_concurrent<T, U, F, Fut>(
    scope: &Scope,
    input: Receiver<T>,
    n: impl Into<Limit>,
    f: F,
) -> Result<Receiver<U>, ConfigError>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> Fut + Send + 'static,
    Fut: Future<Output = U> + Send + 'static,
{
    spawn_window::<FuturesOrdered<_>, _, _, _, _, _, _>(
        scope,
        "map_concurrent",
        input,
        n.into(),
        |cx| measured(cx, f),
    )
}

/// The function of a plain window stage: `f`, each of its futures
/// measured as one item by the stage's limit
/// ([`Outcome::Ok`](crate::Outcome::Ok) when it is ready; no sample at all
/// under a fixed limit).
pub(crate) fn measured<T, F, Fut>(cx: &StageCx, mut f: F) -> impl FnMut(T) -> Measured<Fut>
where
    F: FnMut(T) -> Fut,
    Fut: Future,
{
    let limit = crate::recovery::adaptive_limit(cx);
    move |item| match &limit {
        Some(limit) => limit.measured(f(item)),
        None => Measured::unmeasured(f(item)),
    }
}

/// Spawns a window stage of `kind` with `n` futures in flight at most,
/// running the function `make` builds from the stage's context; a
/// future's output of `None` sends nothing (a failed job a
/// [`Recovery`](crate::Recovery) dealt with).
pub(crate) fn spawn_window<W, T, U, O, M, F, Fut>(
    scope: &Scope,
    kind: &'static str,
    input: Receiver<T>,
    limit: Limit,
    make: M,
) -> Result<Receiver<U>, ConfigError>
where
    W: Window<Fut> + Send + 'static,
    T: Send + 'static,
    U: Send + 'static,
    O: Into<Option<U>> + Send + 'static,
    M: FnOnce(&StageCx) -> F,
    F: FnMut(T) -> Fut + Send + 'static,
    Fut: Future<Output = O> + Send + 'static,
{
    let limit = check(scope, kind, &limit)?;
    let (tx, rx) = scope.channel();
    scope.spawn_stage(kind, Role::Stage, move |cx| {
        cx.set_limit(limit.clone());
        drive(W::default(), input, Some(tx), limit, make(&cx))
    });
    Ok(rx)
}

/// Checks a `kind` stage's limit ([`ConfigError::Zero`] for a fixed 0,
/// see [`Limit::check`]) and makes the stage's controller.
pub(crate) fn check(scope: &Scope, kind: &str, limit: &Limit) -> Result<Controller, ConfigError> {
    limit.check(&scope.config_name(kind), "concurrency")?;
    Ok(limit.controller())
}

/// A set of futures in flight that yields their outputs: in push order
/// ([`FuturesOrdered`]) or as they finish ([`FuturesUnordered`]).
pub(crate) trait Window<Fut: Future>: Stream<Item = Fut::Output> + Unpin + Default {
    fn push(&mut self, future: Fut);
    fn len(&self) -> usize;
}

impl<Fut: Future> Window<Fut> for FuturesOrdered<Fut> {
    fn push(&mut self, future: Fut) {
        self.push_back(future);
    }

    fn len(&self) -> usize {
        FuturesOrdered::len(self)
    }
}

impl<Fut: Future> Window<Fut> for FuturesUnordered<Fut> {
    fn push(&mut self, future: Fut) {
        FuturesUnordered::push(self, future);
    }

    fn len(&self) -> usize {
        FuturesUnordered::len(self)
    }
}

/// The loop of every window stage: keeps up to `limit` (its current
/// value, read before each take) futures of `f` in
/// `window`, takes input while there is room, and sends what the window
/// yields to `output` (a batch of the outputs ready at once), or drops it
/// when there is no output (a sink). Ends when the input is closed and the
/// window is empty, or when the output's receivers are gone.
pub(crate) async fn drive<W, T, U, O, F, Fut>(
    mut window: W,
    input: Receiver<T>,
    output: Option<Sender<U>>,
    limit: Controller,
    mut f: F,
) -> Result<(), BoxError>
where
    W: Window<Fut>,
    O: Into<Option<U>> + Send + 'static,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = O>,
{
    let door = Door::new(&input, &output);
    let mut taken = Vec::with_capacity(limit.limit().min(BATCH));
    let mut open = true;
    while open || window.len() > 0 {
        // An adaptive limit may have come down below what is in flight:
        // then nothing new starts until enough have finished.
        let room = limit.limit().saturating_sub(window.len());
        let next = (window.len() > 0).then(|| window.next());
        let max = if open { room.min(BATCH) } else { 0 };
        let turn = door.take_or(next, &mut taken, max).await;
        match turn {
            None => return Ok(()),
            Some(Turn::Done(first)) => {
                let (Some(first), Some(output)) = (first, &output) else {
                    continue;
                };
                let mut done: Vec<U> = first.into().into_iter().collect();
                while done.len() < BATCH {
                    match window.next().now_or_never() {
                        Some(Some(more)) => done.extend(more.into()),
                        _ => break,
                    }
                }
                if !done.is_empty() && !Exit::new(output).send(done).await {
                    return Ok(());
                }
            }
            Some(Turn::Took(got)) => {
                if got == 0 {
                    open = false;
                }
                for item in taken.drain(..) {
                    window.push(f(item));
                }
            }
        }
    }
    Ok(())
}
