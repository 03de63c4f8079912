//! A producer run's helper tasks: the result reader, which turns result
//! messages into [`Answer`]s, and the lag sampler, which also notes when a
//! worker was last seen.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use weir_cancel::CancelGuard;
use weir_core::chan::{self, Receiver, Sender};
use weir_stage::ScopeView;

use super::remote::Remote;
use super::{LagProbe, H_ATTEMPTS, H_JOB, H_NONCE, H_STATUS};
use crate::codec::Codec;
use crate::delivery::{AckShared, Acker, NakBackoff};
use crate::error::Error;
use crate::error::RemoteError;
use crate::pull::Fetcher;
use crate::source::acker_for;

/// The results consumer's `ack_wait`: results held (in-progress acks keep
/// them) are fine; a result whose delivery a server crash lost comes again
/// this soon.
pub(super) const RESULT_ACK_WAIT: Duration = Duration::from_secs(5);

/// A result as read from the server: its job, the nonce it carries, what
/// it says, and its ack.
pub(super) struct Answer<U> {
    pub(super) job: u64,
    pub(super) nonce: Option<String>,
    pub(super) outcome: Result<U, RemoteError>,
    pub(super) acker: Acker,
}

/// The run's helper tasks, spawned into the scope of the stage `view`
/// builds (not stages of their own) and ended when [`Helpers`] drops: the
/// result reader (its own task, so that a pull request is never dropped
/// half-way by the run's select), the in-progress acks of the results it
/// holds, and the lag sampler, which also notes when a worker was last
/// seen.
pub(super) fn spawn_reader_and_sampler<T, U, C>(
    remote: &Remote<T, U, C>,
    js: &async_nats::jetstream::Context,
    view: &ScopeView,
    consumer: PullConsumer,
) -> (Receiver<Answer<U>>, Helpers, Seen)
where
    U: Send + 'static,
    C: Codec<U>,
{
    let stage = &view.name();
    let shared = AckShared::new(
        remote.client.clone(),
        js.clone(),
        stage.clone(),
        -1,
        None,
        NakBackoff::default(),
    );
    let renewer = view.spawn_helper(AckShared::keep_alive(&shared, RESULT_ACK_WAIT / 3));
    let (res_tx, res_rx) = chan::bounded::<Answer<U>>(remote.pool.batch);
    let reader = Fetcher::new(consumer, js.clone());
    let codec = remote.pool.codec.clone();
    let reader = view.spawn_helper(read_results(
        reader,
        shared,
        codec,
        remote.pool.batch,
        res_tx,
    ));
    let lag_names = (
        remote.pool.stream_name("JOBS"),
        remote.pool.stream_name("DEAD"),
    );
    let seen = Arc::new(Mutex::new(tokio::time::Instant::now()));
    let every = match remote.no_worker_after {
        Some(_) => remote.lag_every.min(Duration::from_secs(1)),
        None => remote.lag_every,
    };
    let sampler = view.spawn_helper(sample_lag(
        stage.clone(),
        remote.client.clone(),
        lag_names,
        (remote.lag.clone(), seen.clone()),
        every,
    ));
    let helpers = Helpers {
        _tasks: [reader, renewer, sampler],
    };
    (res_rx, helpers, seen)
}

/// The reader's, the renewer's and the sampler's tasks, ended together on
/// drop.
pub(super) struct Helpers {
    _tasks: [CancelGuard; 3],
}

/// When a worker was last seen (or the server last away).
pub(super) type Seen = Arc<Mutex<tokio::time::Instant>>;

/// Samples the pool's lag into `probe` every `every`, for as long as the
/// stage runs (it ends this task when it ends), and notes in `seen` when
/// a worker was last there: a pull request waiting or a job held (or the
/// server away, which is not the workers' fault). `stage` names the
/// stage in errors.
async fn sample_lag(
    stage: Arc<str>,
    client: async_nats::Client,
    names: (String, String),
    (probe, seen): (LagProbe, Arc<Mutex<tokio::time::Instant>>),
    every: Duration,
) {
    loop {
        let there = match super::lag(&stage, client.clone(), names.clone()).await {
            Ok(lag) => {
                probe.set(lag);
                lag.waiting > 0 || lag.ack_pending > 0
            }
            Err(Error::MissingStream { .. } | Error::MissingConsumer { .. }) => false,
            Err(_) => true,
        };
        if there {
            *seen.lock().unwrap_or_else(PoisonError::into_inner) = tokio::time::Instant::now();
        }
        tokio::time::sleep(every).await;
    }
}

/// Reads the run's results and hands them to the stage (with their ack)
/// until the stage drops its receiver.
async fn read_results<U, C: Codec<U>>(
    mut fetch: Fetcher,
    shared: Arc<AckShared>,
    codec: C,
    batch: usize,
    tx: Sender<Answer<U>>,
) {
    let mut closed = std::pin::pin!(tx.closed());
    loop {
        let Some(mut messages) = fetch.next_batch(batch, closed.as_mut()).await else {
            return;
        };
        while let Some(msg) = messages.next().await {
            let Some(acker) = acker_for(&shared, msg) else {
                continue;
            };
            let Some(answer) = answer_of(&codec, acker).await else {
                continue;
            };
            if tx.send(answer).await.is_err() {
                return;
            }
        }
    }
}

/// What a result message says (`None`, acked away, when it names no job).
async fn answer_of<U, C: Codec<U>>(codec: &C, acker: Acker) -> Option<Answer<U>> {
    let header = |name: &str| {
        acker
            .headers()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    let Some(job) = header(H_JOB).and_then(|j| j.parse::<u64>().ok()) else {
        let _ = acker.ack().await;
        return None;
    };
    let attempts = header(H_ATTEMPTS).and_then(|a| a.parse().ok()).unwrap_or(0);
    let text = || String::from_utf8_lossy(&acker.raw_payload()).into_owned();
    let outcome = match header(H_STATUS).as_deref() {
        Some("ok") => codec
            .decode(&acker.raw_payload())
            .map_err(|e| RemoteError::Decode {
                job,
                message: format!("result: {e}"),
            }),
        Some("failed") => Err(RemoteError::Failed {
            job,
            message: text(),
            attempts,
        }),
        Some("lost") => Err(RemoteError::Lost { job, attempts }),
        Some("deadline") => Err(RemoteError::DeadlineExceeded { job }),
        Some("decode") => Err(RemoteError::Decode {
            job,
            message: text(),
        }),
        other => Err(RemoteError::Decode {
            job,
            message: format!("unknown result status {other:?}"),
        }),
    };
    Some(Answer {
        job,
        nonce: header(H_NONCE),
        outcome,
        acker,
    })
}
