//! The workers of a pool: what they share ([`Pool`]) and their loop.

use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::TryFuture;
use weir_core::chan::{Receiver, Sender, TryRecvError};

use super::handle::{Control, Grow, Slot};
use crate::engine::{Door, Received};
use crate::error::BoxError;
use crate::limit::Controller;
use crate::recovery::Recovery;
use crate::scope::{Role, ScopeView, StageCx};
use weir_cancel::CancelGuard;

/// What the workers share. The last worker to end drops it, and with it
/// the results sender (closing the results) and the jobs receiver.
pub(super) struct Pool<T, U, F> {
    pub(super) f: F,
    pub(super) jobs: Receiver<T>,
    pub(super) results: Sender<U>,
    /// Retries and the policy for failed jobs.
    pub(super) recovery: Recovery<T>,
    pub(super) control: Arc<Control>,
    /// A view of the scope named after the pool: workers report under it.
    pub(super) scope: ScopeView,
    /// The pool's limit (its record shows it; an adaptive one is followed
    /// by the resizer).
    pub(super) limit: Controller,
    /// Stops the helper that resizes an adaptive pool when the pool ends.
    pub(super) _resizer: Option<CancelGuard>,
}

/// A worker sends its results on when this many are ready…
const FLUSH: usize = 32;
/// …or when the oldest has waited this long (checked every few jobs).
const MAX_HOLD: Duration = Duration::from_millis(1);

impl<T, U, F, Fut> Pool<T, U, F>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: TryFuture<Ok = U> + Send + 'static,
    Fut::Error: Into<BoxError>,
{
    fn spawn_worker(self: &Arc<Self>, slot: Slot, done: Vec<U>) {
        let pool = self.clone();
        self.scope
            .spawn_stage("worker_pool", Role::Stage, move |stage| {
                stage.set_limit(pool.limit.clone());
                pool.work(stage, slot, done)
            });
    }

    /// A worker, Go's `for job := range jobs { results <- process(job) }`:
    /// it takes one job at a time (so a slow job never holds others back
    /// while another worker is free), and sends results on in batches:
    /// when [`FLUSH`] are ready, when they have waited about a millisecond,
    /// and always before the worker waits, for more jobs or inside a job. While jobs are
    /// queued, taking one costs a lock and nothing else.
    async fn work(
        self: Arc<Self>,
        stage: StageCx,
        mut slot: Slot,
        mut done: Vec<U>,
    ) -> Result<(), BoxError> {
        let mut oldest: Option<Instant> = None;
        let adaptive = crate::recovery::adaptive_limit(&stage);
        loop {
            let job = match self.next_job(&mut slot, &mut done, &mut oldest).await {
                Next::Job(job) => job,
                Next::Again => continue,
                Next::Stop => return Ok(()),
            };
            // A job done at its first poll (CPU work) costs no more than
            // that poll. One that has to wait (I/O) first hands on the
            // results held back, so none waits behind a slow job.
            let mut run =
                std::pin::pin!(self.recovery.run(&self.f, job, &stage, adaptive.as_ref()));
            let outcome = match futures::poll!(run.as_mut()) {
                Poll::Ready(outcome) => outcome,
                Poll::Pending => {
                    if !self.flush(&mut done).await {
                        return Ok(());
                    }
                    oldest = None;
                    match self.door().unless_closed(run).await {
                        Some(outcome) => outcome,
                        None => return Ok(()),
                    }
                }
            };
            match outcome {
                Ok(result) => {
                    done.push(result);
                    let since = *oldest.get_or_insert_with(Instant::now);
                    let due =
                        done.len() >= FLUSH || (done.len() % 4 == 0 && since.elapsed() >= MAX_HOLD);
                    if due {
                        if !self.flush(&mut done).await {
                            return Ok(());
                        }
                        oldest = None;
                    }
                }
                Err((job, failure)) => {
                    self.control.count_failure();
                    if let Err(payload) = self.recovery.settle(&stage, job, failure).await {
                        // The scope records the panic under the pool's name;
                        // a new worker takes this one's place, with the
                        // results it had not sent yet, in case the scope goes
                        // on (it collects errors).
                        self.spawn_worker(slot, done);
                        std::panic::resume_unwind(payload);
                    }
                    if stage.context().is_cancelled() {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// The next job: one queued now, or, once idle (what is done handed
    /// on first), the next to come. [`Next::Stop`] when this worker is
    /// surplus, the jobs have ended or nobody reads the results;
    /// [`Next::Again`] when the pool shrank while it waited.
    async fn next_job(
        &self,
        slot: &mut Slot,
        done: &mut Vec<U>,
        oldest: &mut Option<Instant>,
    ) -> Next<T> {
        if slot.surplus() {
            self.flush(done).await;
            return Next::Stop;
        }
        match self.jobs.try_recv() {
            Ok(job) => Next::Job(job),
            Err(TryRecvError::Closed) => {
                self.flush(done).await;
                Next::Stop
            }
            Err(TryRecvError::Empty) => {
                // Idle: hand on what is done before waiting.
                if !self.flush(done).await {
                    return Next::Stop;
                }
                *oldest = None;
                let shrunk = self.control.shrunk.notified();
                let mut shrunk = std::pin::pin!(shrunk);
                shrunk.as_mut().enable();
                if slot.surplus() {
                    return Next::Stop;
                }
                match self.door().recv_one_or(shrunk).await {
                    Received::Other => Next::Again,
                    Received::Items(Some(job)) => Next::Job(job),
                    Received::Items(None) | Received::Closed => Next::Stop,
                }
            }
        }
    }

    /// Sends the results held back; `false` when nobody listens any more.
    async fn flush(&self, done: &mut Vec<U>) -> bool {
        self.door().flush(done).await
    }

    /// The pool's jobs and results, as this worker's door.
    fn door(&self) -> Door<'_, T, Sender<U>> {
        Door::new(&self.jobs, &self.results)
    }
}

impl<T, U, F, Fut> Grow for Pool<T, U, F>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: TryFuture<Ok = U> + Send + 'static,
    Fut::Error: Into<BoxError>,
{
    fn grow(self: Arc<Self>, n: usize) {
        for _ in 0..n {
            self.spawn_worker(Slot::new(self.control.clone()), Vec::new());
        }
    }
}

/// What a worker does next (see `Pool::next_job`).
enum Next<T> {
    /// Run this job.
    Job(T),
    /// Look again (the pool shrank: this worker may be surplus).
    Again,
    /// End.
    Stop,
}
