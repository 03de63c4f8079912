//! Pipelined JetStream publishes: a bounded window of outstanding acks,
//! re-publishing (same message id) what the server did not acknowledge.
//!
//! Every publish's ack is awaited concurrently, each with its own deadline
//! counted from when it was sent. A publish is re-sent when its ack fails
//! or times out, and — all of them at once — when the client has
//! reconnected since it was sent: a server killed mid-run loses the
//! publishes it had not stored and the acks it had not sent, and they are
//! all found and re-sent together, not one timeout after another.

use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::publish::PublishAck;
use async_nats::HeaderMap;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::time::Instant;

use crate::error::Error;

/// How long a message may keep failing to publish (server away, or no
/// stream answering) before the edge gives up with an error.
pub(crate) const RETRY_FOR: Duration = Duration::from_secs(30);

/// How long a publish waits for its ack, from when it was sent.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a waiting window checks whether the client reconnected.
const RECONNECT_CHECK: Duration = Duration::from_millis(100);

/// The pause before re-sending a publish the server refused (no stream
/// answering yet, say, while a restarted server loads its streams).
const REFUSED_PAUSE: Duration = Duration::from_millis(100);

/// One ack: the entry's sequence number, which send of it, the answer.
type AckFuture = Pin<Box<dyn Future<Output = (u64, u32, Result<PublishAck, PublishError>)> + Send>>;

/// One message to publish.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub(crate) subject: String,
    pub(crate) headers: HeaderMap,
    pub(crate) payload: bytes::Bytes,
}

enum State {
    /// Sent (under the client's `connects`-th connection), awaiting its ack.
    Waiting {
        connects: u64,
    },
    Acked(PublishAck),
    /// To be sent again at `at`.
    Resend {
        at: Instant,
        last: PublishError,
    },
}

struct Entry<K> {
    key: K,
    msg: Outgoing,
    state: State,
    /// Sends so far: an ack of an earlier send that failed is stale.
    sends: u32,
    failing_since: Option<Instant>,
}

/// At most `cap` publishes awaiting their server ack, handed back in the
/// order they were sent.
pub(crate) struct Window<K> {
    js: async_nats::jetstream::Context,
    client: async_nats::Client,
    stage: Arc<str>,
    cap: usize,
    queue: VecDeque<Entry<K>>,
    /// The sequence number of `queue[0]`.
    first: u64,
    acks: FuturesUnordered<AckFuture>,
    check: Option<tokio::time::Interval>,
}

impl<K> Window<K> {
    pub(crate) fn new(
        js: async_nats::jetstream::Context,
        stage: Arc<str>,
        cap: usize,
    ) -> Window<K> {
        Window {
            client: js.client(),
            js,
            stage,
            cap: cap.max(1),
            queue: VecDeque::new(),
            first: 0,
            acks: FuturesUnordered::new(),
            check: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.queue.len() >= self.cap
    }

    /// Sends `msg` (the window must not be full). A send the client
    /// refuses is retried by [`next`](Window::next).
    pub(crate) async fn send(&mut self, key: K, msg: Outgoing) -> Result<(), Error> {
        let seq = self.first + self.queue.len() as u64;
        self.queue.push_back(Entry {
            key,
            msg,
            state: State::Resend {
                at: Instant::now(),
                last: PublishError::new(PublishErrorKind::BrokenPipe),
            },
            sends: 0,
            failing_since: None,
        });
        self.publish(seq).await;
        Ok(())
    }

    /// Waits for the oldest publish's ack (re-publishing whatever needs
    /// it meanwhile); `None` when nothing is in flight.
    ///
    /// # Errors
    ///
    /// When a publish has failed for [`RETRY_FOR`].
    ///
    /// Cancel safe: dropped part-way, every publish stays in the window
    /// and is re-published if it needs to be.
    pub(crate) async fn next(&mut self) -> Option<Result<(K, PublishAck), Error>> {
        loop {
            if matches!(self.queue.front()?.state, State::Acked(_)) {
                let head = self.queue.pop_front()?;
                self.first += 1;
                let State::Acked(ack) = head.state else {
                    unreachable!("checked above")
                };
                return Some(Ok((head.key, ack)));
            }
            if let Err(e) = self.resend_due().await {
                return Some(Err(e));
            }
            let resend_at = self
                .queue
                .iter()
                .filter_map(|e| match e.state {
                    State::Resend { at, .. } => Some(at),
                    _ => None,
                })
                .min();
            let check = self.check.get_or_insert_with(|| {
                let mut check = tokio::time::interval(RECONNECT_CHECK);
                check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                check
            });
            tokio::select! {
                Some((seq, sends, answer)) = self.acks.next(), if !self.acks.is_empty() => {
                    self.settle(seq, sends, answer);
                }
                _ = check.tick() => self.lost_in_reconnect(),
                () = tokio::time::sleep_until(resend_at.unwrap_or_else(Instant::now)), if resend_at.is_some() => {}
            }
        }
    }

    /// Records an ack (or its failure) for send `sends` of entry `seq`.
    fn settle(&mut self, seq: u64, sends: u32, answer: Result<PublishAck, PublishError>) {
        let Some(entry) = seq
            .checked_sub(self.first)
            .and_then(|i| self.queue.get_mut(usize::try_from(i).ok()?))
        else {
            return;
        };
        match answer {
            // A late ack of an earlier send is as good: the message is stored.
            Ok(ack) => entry.state = State::Acked(ack),
            Err(e) if sends == entry.sends && matches!(entry.state, State::Waiting { .. }) => {
                let pause = if e.kind() == PublishErrorKind::TimedOut {
                    Duration::ZERO
                } else {
                    REFUSED_PAUSE
                };
                entry.failing_since.get_or_insert_with(Instant::now);
                entry.state = State::Resend {
                    at: Instant::now() + pause,
                    last: e,
                };
            }
            Err(_) => {}
        }
    }

    /// Marks every publish still awaiting its ack from before the client's
    /// last reconnect for re-sending now: its ack cannot come any more.
    fn lost_in_reconnect(&mut self) {
        let now = self.client.statistics().connects.load(Ordering::Relaxed);
        for entry in &mut self.queue {
            if let State::Waiting { connects } = entry.state {
                if connects < now {
                    entry.failing_since.get_or_insert_with(Instant::now);
                    entry.state = State::Resend {
                        at: Instant::now(),
                        last: PublishError::new(PublishErrorKind::BrokenPipe),
                    };
                }
            }
        }
    }

    /// Re-sends every publish whose time has come, all at once.
    async fn resend_due(&mut self) -> Result<(), Error> {
        let now = Instant::now();
        for i in 0..self.queue.len() {
            let entry = &self.queue[i];
            let State::Resend { at, .. } = &entry.state else {
                continue;
            };
            if *at > now {
                continue;
            }
            if entry.failing_since.is_some_and(|s| s.elapsed() > RETRY_FOR) {
                let Some(Entry {
                    msg,
                    state: State::Resend { last, .. },
                    ..
                }) = self.queue.remove(i)
                else {
                    unreachable!("checked above")
                };
                return Err(if last.kind() == PublishErrorKind::StreamNotFound {
                    Error::Misconfigured {
                        stage: self.stage.clone(),
                        what: format!("no stream captures subject `{}`", msg.subject),
                    }
                } else {
                    Error::nats(&self.stage, last)
                });
            }
            self.publish(self.first + i as u64).await;
        }
        Ok(())
    }

    /// Sends entry `seq` (again); a send the client refuses is retried
    /// after a pause.
    async fn publish(&mut self, seq: u64) {
        let connects = self.client.statistics().connects.load(Ordering::Relaxed);
        let i = usize::try_from(seq - self.first).unwrap_or(usize::MAX);
        let Some(entry) = self.queue.get_mut(i) else {
            return;
        };
        let publish = async_nats::jetstream::message::PublishMessage::build()
            .payload(entry.msg.payload.clone())
            .headers(entry.msg.headers.clone());
        match self
            .js
            .send_publish(entry.msg.subject.clone(), publish)
            .await
        {
            Ok(ack) => {
                entry.sends += 1;
                entry.state = State::Waiting { connects };
                let sends = entry.sends;
                let ack = tokio::time::timeout(ACK_TIMEOUT, ack.into_future());
                self.acks.push(Box::pin(async move {
                    let answer = match ack.await {
                        Ok(answer) => answer,
                        Err(_) => Err(PublishError::new(PublishErrorKind::TimedOut)),
                    };
                    (seq, sends, answer)
                }));
            }
            Err(e) => {
                entry.failing_since.get_or_insert_with(Instant::now);
                entry.state = State::Resend {
                    at: Instant::now() + REFUSED_PAUSE,
                    last: e,
                };
            }
        }
    }
}
