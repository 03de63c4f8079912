//! [`Source`]: a durable pull consumer as a source stage of [`Delivery`]s.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::context::{ConsumerInfoErrorKind, GetStreamErrorKind};
use async_nats::jetstream::ErrorCode;
use weir_cancel::Context;
use weir_core::chan::{self, Receiver, Sender};
use weir_stage::{Scope, ScopeView};

use crate::codec::Codec;
use crate::delivery::{AckShared, Acker, Delivery, NakBackoff, Raw};
use crate::error::Error;
use crate::pull::Fetcher;

/// How long each JetStream API request (stream or consumer lookup) may take.
pub(crate) const API_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads a JetStream stream through an existing durable pull consumer and
/// hands out typed [`Delivery`]s: Go's `for msg := range sub` with
/// server-side acknowledgement, redelivery and back-pressure.
///
/// Messages are fetched `batch` at a time (a pull request waits on the
/// server up to 2 s for them, with idle heartbeats, so that a request lost
/// in a server restart is noticed within 1.5 s and asked again), and a new batch is requested only once the
/// previous one has been handed downstream, so the edge holds at most
/// `batch` messages plus what its output channel (of `batch` items) holds.
/// While downstream holds a delivery unsettled, the edge sends in-progress
/// acks for it every third of the consumer's `ack_wait`, from a helper
/// task of the stage's scope ([`Scope::spawn_helper`]): it ends with the
/// scope, or once the scope's stages have all ended.
///
/// A payload that does not decode is dead-lettered at once (never
/// retried). Lookups that fail — no such stream or consumer, a push
/// consumer, a consumer without explicit acks — end the stage with a typed
/// [`Error`] naming it; a server that goes away mid-run is waited for (the
/// client reconnects) and fetching resumes.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_nats::{Json, Source};
/// use weir_stage::Scope;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
/// let client = weir_nats::connect(&server.url()).await.unwrap();
/// weir_nats::testing::work_queue(&client, "JOBS", "jobs", "workers").await.unwrap();
/// let js = async_nats::jetstream::new(client.clone());
/// js.publish("jobs", "[1,2]".into()).await.unwrap().await.unwrap();
///
/// let scope = Scope::new(&Context::background());
/// let jobs = Source::<Vec<u32>, Json>::new(client, "JOBS", "workers").batch(16).run(&scope);
/// let (job, acker) = jobs.recv().await.unwrap().into_parts();
/// assert_eq!(job, [1, 2]);
/// acker.ack().await.unwrap();
/// scope.cancel();
/// # }
/// ```
pub struct Source<T, C> {
    client: async_nats::Client,
    stream: String,
    consumer: String,
    codec: C,
    batch: usize,
    dead_letter: Option<String>,
    backoff: NakBackoff,
    stop: Option<Context>,
    _item: PhantomData<fn() -> T>,
}

impl<T, C> std::fmt::Debug for Source<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("stream", &self.stream)
            .field("consumer", &self.consumer)
            .field("batch", &self.batch)
            .field("dead_letter", &self.dead_letter)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static, C: Codec<T> + Default> Source<T, C> {
    /// A source reading `stream` through the durable pull consumer
    /// `consumer`, decoding with `C::default()`; batches of 64, no
    /// dead-letter subject (a dead-lettered message is only terminated).
    ///
    /// # Examples
    ///
    /// See [`Source`].
    pub fn new(
        client: async_nats::Client,
        stream: impl Into<String>,
        consumer: impl Into<String>,
    ) -> Self {
        Source::with_codec(client, stream, consumer, C::default())
    }
}

impl<T: Send + 'static, C: Codec<T>> Source<T, C> {
    /// Like [`new`](Source::new), decoding with `codec`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// let raw = weir_nats::Source::<bytes::Bytes, _>::with_codec(client, "S", "c", weir_nats::Bytes);
    /// # drop(raw);
    /// # }
    /// ```
    pub fn with_codec(
        client: async_nats::Client,
        stream: impl Into<String>,
        consumer: impl Into<String>,
        codec: C,
    ) -> Self {
        Source {
            client,
            stream: stream.into(),
            consumer: consumer.into(),
            codec,
            batch: 64,
            dead_letter: None,
            backoff: NakBackoff::default(),
            stop: None,
            _item: PhantomData,
        }
    }

    /// Messages asked for per pull request (at least 1).
    ///
    /// # Examples
    ///
    /// See [`Source`].
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Where dead-lettered messages are published (a stream must capture
    /// the subject): undecodable payloads, and items whose
    /// [`Acker::fail`](crate::Acker::fail) comes on the last attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// let source = weir_nats::Source::<u64, weir_nats::Json>::new(client, "S", "c").dead_letter("dead.jobs");
    /// # drop(source);
    /// # }
    /// ```
    pub fn dead_letter(mut self, subject: impl Into<String>) -> Self {
        self.dead_letter = Some(subject.into());
        self
    }

    /// The delays of [`Acker::fail`](crate::Acker::fail)'s naks.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// use std::time::Duration;
    /// let source = weir_nats::Source::<u64, weir_nats::Json>::new(client, "S", "c")
    ///     .backoff(weir_nats::NakBackoff::new(Duration::from_millis(10), Duration::from_secs(1)));
    /// # drop(source);
    /// # }
    /// ```
    pub fn backoff(mut self, backoff: NakBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Stop reading (as a success, like a shutdown) once `stop` is
    /// cancelled: what was handed out drains downstream. A `weir`
    /// pipeline's `shutdown` reaches only its own sources, so a `Source`
    /// plugged in with `Flow::through_stage` needs this to stop gracefully;
    /// `Pipeline::from_nats(source)` (the facade's `nats` feature) sets it
    /// to the pipeline's shutdown for you.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// # weir_nats::testing::work_queue(&client, "S", "s", "c").await.unwrap();
    /// let (stop_ctx, stop) = Context::background().with_cancel();
    /// let scope = Scope::new(&Context::background());
    /// let rx = weir_nats::Source::<u64, weir_nats::Json>::new(client, "S", "c")
    ///     .stop_on(&stop_ctx)
    ///     .run(&scope);
    /// stop.cancel();
    /// assert!(rx.recv().await.is_none()); // ended, not failed
    /// scope.wait().await.unwrap();
    /// # }
    /// ```
    pub fn stop_on(mut self, stop: &Context) -> Self {
        self.stop = Some(stop.clone());
        self
    }

    /// Spawns the source under `scope` and returns its output. The stage
    /// stops (successfully) when the scope shuts down or every receiver is
    /// dropped; unsettled deliveries are then naked as they are dropped.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// See [`Source`].
    pub fn run(self, scope: &Scope) -> Receiver<Delivery<T>> {
        let (tx, rx) = chan::bounded(self.batch);
        let view = scope.stage_or(format!("nats source {}/{}", self.stream, self.consumer));
        view.spawn_source(self.pump(tx, view.clone()));
        rx
    }

    /// The stage's task; `view` builds it, and runs its helper (the
    /// in-progress acks).
    async fn pump(self, tx: Sender<Delivery<T>>, view: ScopeView) -> Result<(), Error> {
        let stage = view.name();
        let mut js = async_nats::jetstream::new(self.client.clone());
        js.set_timeout(API_TIMEOUT);
        let consumer = with_retries(|| bind(&js, &stage, &self.stream, &self.consumer)).await?;
        let info = consumer.cached_info();
        let shared = AckShared::new(
            self.client.clone(),
            js.clone(),
            stage.clone(),
            info.config.max_deliver,
            self.dead_letter.clone(),
            self.backoff,
        );
        let period = (info.config.ack_wait / 3).max(Duration::from_millis(50));
        AckShared::renew_in(&shared, period, &view);
        let mut fetch = Fetcher::new(consumer, js.clone());
        let stop = self.stop.clone().unwrap_or_else(Context::background);
        let mut closed = std::pin::pin!(async {
            tokio::select! {
                () = tx.closed() => {}
                () = stop.cancelled() => {}
            }
        });
        loop {
            let Some(mut batch) = fetch.next_batch(self.batch, closed.as_mut()).await else {
                return Ok(());
            };
            loop {
                let msg = tokio::select! {
                    m = batch.next() => m,
                    () = closed.as_mut() => return Ok(()),
                };
                let Some(msg) = msg else { break };
                let Some(acker) = acker_for(&shared, msg) else {
                    continue;
                };
                match self.codec.decode(&acker.raw_payload()) {
                    Ok(item) => {
                        let sent = tokio::select! {
                            r = tx.send(Delivery::new(item, acker)) => r.is_ok(),
                            () = closed.as_mut() => false,
                        };
                        if !sent {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        let _ = acker.dead_letter(&format!("decode failed: {e}")).await;
                    }
                }
            }
        }
    }
}

/// Makes the [`Acker`] of a fetched message (`None` if it is not a
/// JetStream delivery: no reply subject).
pub(crate) fn acker_for(
    shared: &Arc<AckShared>,
    msg: async_nats::jetstream::Message,
) -> Option<Acker> {
    let (delivered, stream_sequence) = match msg.info() {
        Ok(info) => (
            u64::try_from(info.delivered).unwrap_or(1),
            info.stream_sequence,
        ),
        Err(_) => (1, 0),
    };
    let message = msg.message;
    let reply = message.reply?;
    Some(Acker::new(
        shared.clone(),
        reply,
        delivered,
        stream_sequence,
        Raw {
            subject: message.subject,
            headers: message.headers,
            payload: message.payload,
        },
    ))
}

/// Runs a setup step (stream or consumer lookups and creation), retrying
/// for up to 30 s when the server does not answer (it is starting, or
/// overloaded); a typed answer (missing, misconfigured) is returned at once.
pub(crate) async fn with_retries<T, F, Fut>(mut step: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let started = tokio::time::Instant::now();
    loop {
        match step().await {
            Err(Error::Nats { .. }) if started.elapsed() < crate::window::RETRY_FOR => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            done => return done,
        }
    }
}

/// Looks up a durable pull consumer with explicit acks, with typed errors.
pub(crate) async fn bind(
    js: &async_nats::jetstream::Context,
    stage: &Arc<str>,
    stream: &str,
    consumer: &str,
) -> Result<PullConsumer, Error> {
    let stream_handle = js.get_stream(stream).await.map_err(|e| match e.kind() {
        GetStreamErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND => {
            Error::MissingStream {
                stage: stage.clone(),
                stream: stream.to_owned(),
            }
        }
        _ => Error::nats(stage, e),
    })?;
    let info = stream_handle
        .consumer_info(consumer)
        .await
        .map_err(|e| match e.kind() {
            ConsumerInfoErrorKind::NotFound => Error::MissingConsumer {
                stage: stage.clone(),
                stream: stream.to_owned(),
                consumer: consumer.to_owned(),
            },
            ConsumerInfoErrorKind::StreamNotFound => Error::MissingStream {
                stage: stage.clone(),
                stream: stream.to_owned(),
            },
            _ => Error::nats(stage, e),
        })?;
    if info.config.deliver_subject.is_some() {
        return Err(Error::Misconfigured {
            stage: stage.clone(),
            what: format!(
                "consumer `{consumer}` on `{stream}` is a push consumer; a pull consumer is needed"
            ),
        });
    }
    if info.config.ack_policy != AckPolicy::Explicit {
        return Err(Error::Misconfigured {
            stage: stage.clone(),
            what: format!(
                "consumer `{consumer}` on `{stream}` acks with {:?}; explicit acks are needed",
                info.config.ack_policy
            ),
        });
    }
    stream_handle
        .get_consumer::<pull::Config>(consumer)
        .await
        .map_err(|e| Error::nats(stage, e))
}
