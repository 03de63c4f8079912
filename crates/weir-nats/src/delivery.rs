//! [`Delivery`]: an item read from JetStream, carrying its acknowledgement.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::{HeaderMap, Subject};
use weir_cancel::CancelGuard;
use weir_stage::Scope;

use crate::future::Settle;

/// Header on a dead-lettered message: why it was dead-lettered.
pub const DEAD_LETTER_REASON: &str = "Weir-Dead-Reason";
/// Header on a dead-lettered message: the subject it was first published to.
pub const DEAD_LETTER_SUBJECT: &str = "Weir-Dead-Subject";
/// Header on a dead-lettered message: how many times it was delivered.
pub const DEAD_LETTER_ATTEMPTS: &str = "Weir-Dead-Attempts";

/// A nak's delay before redelivery: `base * 2^(attempt-1)`, at most `max`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_nats::NakBackoff;
///
/// let b = NakBackoff::new(Duration::from_millis(100), Duration::from_secs(1));
/// assert_eq!(b.delay(1), Duration::from_millis(100));
/// assert_eq!(b.delay(3), Duration::from_millis(400));
/// assert_eq!(b.delay(10), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NakBackoff {
    base: Duration,
    max: Duration,
}

impl NakBackoff {
    /// Doubling delays from `base`, capped at `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = weir_nats::NakBackoff::new(Duration::ZERO, Duration::ZERO);
    /// assert_eq!(b.delay(5), Duration::ZERO);
    /// ```
    pub fn new(base: Duration, max: Duration) -> NakBackoff {
        NakBackoff { base, max }
    }

    /// The delay after the `attempt`-th failed delivery (1-based).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = weir_nats::NakBackoff::default();
    /// assert!(b.delay(2) >= b.delay(1));
    /// ```
    pub fn delay(&self, attempt: u64) -> Duration {
        let shift = attempt.saturating_sub(1).min(20) as u32;
        self.base.saturating_mul(1u32 << shift).min(self.max)
    }
}

impl Default for NakBackoff {
    /// 100 ms, doubling up to 5 s.
    fn default() -> Self {
        NakBackoff::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}

/// What a consuming edge shares with every delivery it hands out: where to
/// dead-letter, when, and the live deliveries to keep alive.
pub(crate) struct AckShared {
    pub(crate) client: async_nats::Client,
    pub(crate) js: async_nats::jetstream::Context,
    pub(crate) stage: Arc<str>,
    /// The consumer's `max_deliver` (`u64::MAX` when unlimited).
    pub(crate) max_deliver: u64,
    pub(crate) dead_letter: Option<String>,
    pub(crate) backoff: NakBackoff,
    pub(crate) live: Mutex<HashMap<u64, Subject>>,
    next: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    /// Ends the in-progress acks ([`AckShared::renew_in`]) once nothing
    /// holds this any more.
    renewer: Mutex<Option<CancelGuard>>,
}

impl AckShared {
    pub(crate) fn new(
        client: async_nats::Client,
        js: async_nats::jetstream::Context,
        stage: Arc<str>,
        max_deliver: i64,
        dead_letter: Option<String>,
        backoff: NakBackoff,
    ) -> Arc<AckShared> {
        Arc::new(AckShared {
            client,
            js,
            stage,
            max_deliver: u64::try_from(max_deliver)
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or(u64::MAX),
            dead_letter,
            backoff,
            live: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            renewer: Mutex::new(None),
        })
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subject>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends an in-progress ack for every delivery still held, every
    /// `period`, for as long as anything holds this `AckShared`: that is
    /// what lets `ack_wait` stay short while items wait or run downstream.
    /// The loop holds it weakly; whoever spawns it ends it.
    pub(crate) fn keep_alive(
        shared: &Arc<AckShared>,
        period: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        let weak: Weak<AckShared> = Arc::downgrade(shared);
        async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                let replies: Vec<Subject> = shared.live().values().cloned().collect();
                let progress: bytes::Bytes = AckKind::Progress.into();
                for reply in replies {
                    // Best effort: a lost progress ack costs a redelivery,
                    // which the edges are built to absorb.
                    let _ = shared.client.publish(reply, progress.clone()).await;
                }
            }
        }
    }

    /// Runs [`keep_alive`](AckShared::keep_alive) as a helper task of the
    /// stage `scope` builds: it ends when the last holder of `shared` lets
    /// go, or with the scope.
    pub(crate) fn renew_in(shared: &Arc<AckShared>, period: Duration, scope: &Scope) {
        let renewer = scope.spawn_helper(AckShared::keep_alive(shared, period));
        *shared
            .renewer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(renewer);
    }
}

/// The raw message a delivery came from, kept for dead-lettering.
pub(crate) struct Raw {
    pub(crate) subject: Subject,
    pub(crate) headers: Option<HeaderMap>,
    pub(crate) payload: bytes::Bytes,
}

/// The acknowledgement of one JetStream message: whoever handles the item
/// settles it exactly once, with [`ack`](Acker::ack) (done),
/// [`fail`](Acker::fail) (retry later, or dead-letter once `max_deliver`
/// is reached) or [`dead_letter`](Acker::dead_letter).
///
/// While an `Acker` is alive (and the scope of the edge that read it
/// runs), the consuming edge sends in-progress acks for it, so the server does not redeliver a message that is waiting in a
/// channel or running a long job, however short `ack_wait` is. Dropping an
/// `Acker` without settling it naks the message (redelivered at once): a
/// cancelled pipeline gives its messages back.
pub struct Acker {
    shared: Arc<AckShared>,
    key: u64,
    reply: Subject,
    delivered: u64,
    stream_sequence: u64,
    raw: Raw,
    settled: bool,
}

impl Acker {
    pub(crate) fn new(
        shared: Arc<AckShared>,
        reply: Subject,
        delivered: u64,
        stream_sequence: u64,
        raw: Raw,
    ) -> Acker {
        let key = shared.next.fetch_add(1, Ordering::Relaxed);
        shared.live().insert(key, reply.clone());
        Acker {
            shared,
            key,
            reply,
            delivered,
            stream_sequence,
            raw,
            settled: false,
        }
    }

    /// Which delivery of the message this is (1 the first time).
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn attempt(&self) -> u64 {
        self.delivered
    }

    /// The message's sequence number in its stream.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn stream_sequence(&self) -> u64 {
        self.stream_sequence
    }

    pub(crate) fn raw_payload(&self) -> bytes::Bytes {
        self.raw.payload.clone()
    }

    /// The subject the message was published to.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn subject(&self) -> &str {
        self.raw.subject.as_str()
    }

    /// The message's headers.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.raw.headers.as_ref()
    }

    /// Whether this delivery is the consumer's last (`max_deliver` reached):
    /// a [`fail`](Acker::fail) now dead-letters.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn is_last_attempt(&self) -> bool {
        self.delivered >= self.shared.max_deliver
    }

    fn settle(&mut self) {
        self.settled = true;
        self.shared.live().remove(&self.key);
    }

    /// Sends `kind` for this message (queued before the future is first
    /// polled: the returned future only waits for the client to take it).
    fn send(
        &self,
        kind: AckKind,
    ) -> impl Future<Output = Result<(), crate::error::Error>> + Send + 'static {
        let (client, reply, stage) = (
            self.shared.client.clone(),
            self.reply.clone(),
            self.shared.stage.clone(),
        );
        async move {
            client
                .publish(reply, kind.into())
                .await
                .map_err(|e| crate::error::Error::nats(&stage, e))
        }
    }

    /// The item was fully handled: the server forgets the message.
    ///
    /// # Cancel safety
    ///
    /// The delivery counts as settled once this is called: dropping the
    /// future before it completes may leave the message unacked, and the
    /// server then redelivers it after `ack_wait` (at-least-once).
    ///
    /// # Errors
    ///
    /// [`Error::Nats`](crate::error::Error::Nats) when the client is closed. A lost
    /// ack costs a redelivery after `ack_wait`: consumers must be
    /// idempotent (at-least-once).
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn ack(mut self) -> Settle {
        self.settle();
        Settle::new(self.send(AckKind::Ack))
    }

    /// Redeliver the message after `delay` (no dead-lettering).
    ///
    /// # Cancel safety
    ///
    /// As [`ack`](Acker::ack).
    ///
    /// # Errors
    ///
    /// As [`ack`](Acker::ack).
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn nak(mut self, delay: Duration) -> Settle {
        self.settle();
        Settle::new(self.send(AckKind::Nak(Some(delay))))
    }

    /// Handling failed: nak with the edge's [`NakBackoff`] delay, or, on
    /// the last attempt, [`dead_letter`](Acker::dead_letter) it with
    /// `reason`.
    ///
    /// # Cancel safety
    ///
    /// As [`dead_letter`](Acker::dead_letter).
    ///
    /// # Errors
    ///
    /// As [`dead_letter`](Acker::dead_letter).
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn fail(self, reason: &str) -> Settle {
        if self.is_last_attempt() {
            self.dead_letter(reason)
        } else {
            let delay = self.shared.backoff.delay(self.delivered);
            self.nak(delay)
        }
    }

    /// Stop redelivering the message (`+TERM`) and, if the edge has a
    /// dead-letter subject, publish it there (same payload and headers, plus
    /// [`DEAD_LETTER_REASON`], [`DEAD_LETTER_SUBJECT`] and
    /// [`DEAD_LETTER_ATTEMPTS`]), waiting for the server's ack.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped part-way, the message may be terminated
    /// without its dead-letter copy.
    ///
    /// # Errors
    ///
    /// [`Error::Nats`](crate::error::Error::Nats) when the dead-letter publish is
    /// not acknowledged (no stream captures the subject, or the server is
    /// gone); the message is then naked, not lost.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn dead_letter(self, reason: &str) -> Settle {
        let reason = reason.to_owned();
        Settle::new(self.dead_letter_owned(reason))
    }

    async fn dead_letter_owned(mut self, reason: String) -> Result<(), crate::error::Error> {
        let reason = reason.as_str();
        if let Some(subject) = self.shared.dead_letter.clone() {
            let mut headers = self.raw.headers.clone().unwrap_or_default();
            headers.insert(DEAD_LETTER_REASON, reason);
            headers.insert(DEAD_LETTER_SUBJECT, self.raw.subject.as_str());
            headers.insert(DEAD_LETTER_ATTEMPTS, self.delivered.to_string());
            // Several workers may dead-letter the same message (a redelivery
            // racing a slow one): one copy is kept.
            headers.insert(
                async_nats::header::NATS_MESSAGE_ID,
                format!("dead-{}-{}", self.raw.subject, self.stream_sequence),
            );
            let published = async {
                self.shared
                    .js
                    .publish_with_headers(subject, headers, self.raw.payload.clone())
                    .await?
                    .await
            }
            .await;
            if let Err(e) = published {
                // Not dead-lettered: let the server redeliver it.
                return Err(crate::error::Error::nats(&self.shared.stage, e));
            }
        }
        self.settle();
        self.shared.dead_lettered.fetch_add(1, Ordering::Relaxed);
        self.send(AckKind::Term).await
    }

    /// Tells the server the item is still being handled, restarting its
    /// `ack_wait`. The edge already does this for every live `Acker`; call
    /// it yourself only to react faster than that period.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Errors
    ///
    /// As [`ack`](Acker::ack).
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn in_progress(&self) -> Settle {
        Settle::new(self.send(AckKind::Progress))
    }
}

impl Drop for Acker {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.shared.live().remove(&self.key);
        // Give the message back now rather than after `ack_wait`. The
        // client queues the command synchronously when it can.
        let client = self.shared.client.clone();
        let reply = self.reply.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = client.publish(reply, AckKind::Nak(None).into()).await;
            });
        }
    }
}

impl fmt::Debug for Acker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acker")
            .field("stage", &self.shared.stage)
            .field("attempt", &self.delivered)
            .field("stream_sequence", &self.stream_sequence)
            .finish_non_exhaustive()
    }
}

/// An item read from a JetStream consumer together with its [`Acker`]:
/// handle the item, then settle the delivery. Acknowledgement is end to
/// end: the message is acked only when you say the item is done, so a
/// crash anywhere in between means redelivery, not loss (at-least-once).
///
/// Transform the item with [`map`](Delivery::map) to carry the
/// acknowledgement through further stages.
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
/// # weir_nats::testing::work_queue(&client, "ORDERS", "orders", "workers").await.unwrap();
/// # async_nats::jetstream::new(client.clone()).publish("orders", "41".into()).await.unwrap().await.unwrap();
/// let scope = Scope::new(&Context::background());
/// let orders = Source::<u64, Json>::new(client, "ORDERS", "workers").run(&scope);
/// let delivery = orders.recv().await.unwrap();
/// assert_eq!(delivery.acker().attempt(), 1);
/// let delivery = delivery.map(|n| n + 1);
/// assert_eq!(*delivery.item(), 42);
/// let (_item, acker) = delivery.into_parts();
/// acker.ack().await.unwrap();
/// scope.cancel();
/// # }
/// ```
pub struct Delivery<T> {
    item: T,
    acker: Acker,
}

impl<T> Delivery<T> {
    pub(crate) fn new(item: T, acker: Acker) -> Delivery<T> {
        Delivery { item, acker }
    }

    /// The item.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn item(&self) -> &T {
        &self.item
    }

    /// The acknowledgement.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn acker(&self) -> &Acker {
        &self.acker
    }

    /// The item and the acknowledgement, to settle after handling it.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn into_parts(self) -> (T, Acker) {
        (self.item, self.acker)
    }

    /// The same delivery with its item transformed.
    ///
    /// # Examples
    ///
    /// See [`Delivery`].
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Delivery<U> {
        Delivery {
            item: f(self.item),
            acker: self.acker,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Delivery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("item", &self.item)
            .field("acker", &self.acker)
            .finish()
    }
}
