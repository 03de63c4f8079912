//! One job on a worker: run it under its deadline, publish its result,
//! settle it.

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use futures::FutureExt;
use tokio::sync::OwnedSemaphorePermit;
use weir_cancel::{Context, ContextError};

use super::runs::Runs;
use super::{H_ATTEMPTS, H_DEADLINE, H_JOB, H_NONCE, H_RUN, H_STATUS};
use crate::codec::Codec;
use crate::delivery::{Acker, NakBackoff};
use crate::window::{Outgoing, Window};

/// Everything a job task needs.
pub(super) struct JobCx<F, C> {
    pub(super) f: F,
    pub(super) codec: C,
    pub(super) js: async_nats::jetstream::Context,
    pub(super) stage: Arc<str>,
    pub(super) runs: Arc<Runs>,
    pub(super) max_deliver: u64,
    pub(super) backoff: NakBackoff,
    /// The results subject without its run token (ends in `.`).
    pub(super) results: String,
    pub(super) ctx: Context,
}

/// Which job a message is, from its headers.
struct Id {
    job: u64,
    run: String,
    nonce: String,
}

/// How a job ended, as the producer will see it.
enum Settled {
    Ok(bytes::Bytes),
    Failed(String),
    Lost,
    Deadline,
    Decode(String),
}

/// What one attempt at a job came to.
enum Attempt {
    /// A final outcome: publish it as the result.
    Settled(Settled),
    /// `f` failed: retry, unless this was the last attempt.
    Retry(String),
    /// The run was cancelled: drop the job.
    Ack,
    /// This worker is stopping: give the job back.
    GiveBack,
}

impl<F, C> JobCx<F, C> {
    /// Runs one job, then publishes its result and settles it. The worker
    /// and its slot (`permit`) are freed as soon as `f` returns: the next job runs
    /// while this one's result is in flight (the server's
    /// `max_ack_pending` still bounds the jobs held).
    pub(super) async fn handle<T, U, E, Fut>(
        &self,
        acker: Acker,
        permit: (OwnedSemaphorePermit, OwnedSemaphorePermit),
    ) where
        C: Codec<T> + Codec<U>,
        F: Fn(T) -> Fut,
        E: Display,
        Fut: Future<Output = Result<U, E>>,
    {
        let header = |name: &str| {
            acker
                .headers()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
        };
        let job = header(H_JOB).and_then(|j| j.parse::<u64>().ok());
        let (Some(job), Some(run), Some(nonce)) = (job, header(H_RUN), header(H_NONCE)) else {
            let _ = acker
                .dead_letter("not a weir job: no Weir-Job, Weir-Run or Weir-Nonce header")
                .await;
            return;
        };
        let deadline = header(H_DEADLINE)
            .and_then(|d| d.parse::<u64>().ok())
            .map(instant_of);
        let attempt = acker.attempt();
        let outcome = self.attempt(&acker, job, &run, deadline).await;
        drop(permit);
        let settled = match outcome {
            Attempt::Settled(settled) => settled,
            Attempt::Retry(reason) if attempt >= self.max_deliver => Settled::Failed(reason),
            Attempt::Retry(_) => {
                let _ = acker.nak(self.backoff.delay(attempt)).await;
                return;
            }
            Attempt::Ack => {
                let _ = acker.ack().await;
                return;
            }
            Attempt::GiveBack => return,
        };
        self.settle(acker, Id { job, run, nonce }, settled).await;
    }

    /// Publishes a job's result, then acks the job (or dead-letters it);
    /// when the result cannot be stored, the job is given back.
    async fn settle(&self, acker: Acker, id: Id, settled: Settled) {
        let attempt = acker.attempt();
        let (status, payload, dead) = match settled {
            Settled::Ok(bytes) => ("ok", bytes, None),
            Settled::Deadline => ("deadline", bytes::Bytes::new(), None),
            Settled::Failed(reason) => ("failed", reason.clone().into(), Some(reason)),
            Settled::Lost => (
                "lost",
                bytes::Bytes::new(),
                Some(format!("lost by workers {} times", attempt - 1)),
            ),
            Settled::Decode(reason) => (
                "decode",
                reason.clone().into(),
                Some(format!("decode failed: {reason}")),
            ),
        };
        let Id { job, run, nonce } = id;
        let mut headers = HeaderMap::new();
        headers.insert(H_JOB, job.to_string());
        headers.insert(H_STATUS, status);
        headers.insert(H_ATTEMPTS, attempt.min(self.max_deliver).to_string());
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("{run}.{job}.{nonce}.r"),
        );
        headers.insert(H_NONCE, nonce);
        let msg = Outgoing {
            subject: format!("{}{run}", self.results),
            headers,
            payload,
        };
        let mut window: Window<()> = Window::new(self.js.clone(), self.stage.clone(), 1);
        let published = match window.send((), msg).await {
            Ok(()) => window.next().await.map(|r| r.map(|_| ())),
            Err(e) => Some(Err(e)),
        };
        if !matches!(published, Some(Ok(()))) {
            // No result stored: give the job back to be tried again.
            return;
        }
        let _ = match dead {
            None => acker.ack().await,
            Some(reason) => acker.dead_letter(&reason).await,
        };
    }

    async fn attempt<T, U, E, Fut>(
        &self,
        acker: &Acker,
        job: u64,
        run: &str,
        deadline: Option<tokio::time::Instant>,
    ) -> Attempt
    where
        C: Codec<T> + Codec<U>,
        F: Fn(T) -> Fut,
        E: Display,
        Fut: Future<Output = Result<U, E>>,
    {
        if self.runs.is_cancelled(run) || !self.runs.alive(run).await {
            return Attempt::Ack;
        }
        if acker.attempt() > self.max_deliver {
            return Attempt::Settled(Settled::Lost);
        }
        if deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
            return Attempt::Settled(Settled::Deadline);
        }
        let item = match Codec::<T>::decode(&self.codec, &acker.raw_payload()) {
            Ok(item) => item,
            Err(e) => return Attempt::Settled(Settled::Decode(e.to_string())),
        };
        let job_ctx = match deadline {
            Some(d) => self.ctx.with_deadline(d),
            None => self.ctx.child(),
        };
        let (job_ctx, handle) = job_ctx.with_cancel();
        if !self.runs.start(run, job, handle) {
            return Attempt::Ack;
        }
        let ran = AssertUnwindSafe(job_ctx.run((self.f)(item)))
            .catch_unwind()
            .await;
        self.runs.end(run, job);
        match ran {
            Ok(Ok(Ok(value))) => match Codec::<U>::encode(&self.codec, &value) {
                Ok(bytes) => Attempt::Settled(Settled::Ok(bytes)),
                Err(e) => Attempt::Retry(format!("result does not encode: {e}")),
            },
            Ok(Ok(Err(e))) => Attempt::Retry(e.to_string()),
            Ok(Err(ContextError::DeadlineExceeded)) => Attempt::Settled(Settled::Deadline),
            Ok(Err(ContextError::Canceled)) if self.runs.is_cancelled(run) => Attempt::Ack,
            Ok(Err(ContextError::Canceled)) => Attempt::GiveBack,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                Attempt::Retry(format!("panicked: {message}"))
            }
        }
    }
}

/// Wall-clock Unix milliseconds to a tokio instant.
fn instant_of(unix_ms: u64) -> tokio::time::Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let now = tokio::time::Instant::now();
    if unix_ms >= now_ms {
        now + Duration::from_millis(unix_ms - now_ms)
    } else {
        now.checked_sub(Duration::from_millis(now_ms - unix_ms))
            .unwrap_or(now)
    }
}
