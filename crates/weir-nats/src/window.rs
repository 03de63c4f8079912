//! Pipelined JetStream publishes: a bounded window of outstanding acks,
//! re-publishing (same message id) what the server did not acknowledge.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::publish::PublishAck;
use async_nats::HeaderMap;
use tokio::time::Instant;

use crate::Error;

/// How long a message may keep failing to publish (server away, or no
/// stream answering) before the edge gives up with an error.
pub(crate) const RETRY_FOR: Duration = Duration::from_secs(30);

/// The server's answer to one publish.
type AckFuture = Pin<Box<dyn Future<Output = Result<PublishAck, PublishError>> + Send>>;

/// One message to publish.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub(crate) subject: String,
    pub(crate) headers: HeaderMap,
    pub(crate) payload: bytes::Bytes,
}

struct InFlight<K> {
    key: K,
    msg: Outgoing,
    ack: Option<AckFuture>,
    failing_since: Option<Instant>,
}

/// At most `cap` publishes awaiting their server ack, resolved in the order
/// they were sent.
pub(crate) struct Window<K> {
    js: async_nats::jetstream::Context,
    stage: Arc<str>,
    cap: usize,
    queue: VecDeque<InFlight<K>>,
}

impl<K> Window<K> {
    pub(crate) fn new(
        js: async_nats::jetstream::Context,
        stage: Arc<str>,
        cap: usize,
    ) -> Window<K> {
        Window {
            js,
            stage,
            cap: cap.max(1),
            queue: VecDeque::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.queue.len() >= self.cap
    }

    /// Sends `msg` (the window must not be full).
    pub(crate) async fn send(&mut self, key: K, msg: Outgoing) -> Result<(), Error> {
        let mut entry = InFlight {
            key,
            msg,
            ack: None,
            failing_since: None,
        };
        publish(&self.js, &self.stage, &mut entry).await?;
        self.queue.push_back(entry);
        Ok(())
    }

    /// Waits for the oldest publish's ack (re-publishing it as long as
    /// needed); `None` when nothing is in flight.
    ///
    /// Cancel safe: dropped part-way, the oldest publish stays in the
    /// window (and is re-published if it had failed).
    pub(crate) async fn next(&mut self) -> Option<Result<(K, PublishAck), Error>> {
        loop {
            let head = self.queue.front_mut()?;
            let ack = match head.ack.as_mut() {
                Some(ack) => ack.await,
                None => Err(PublishError::new(PublishErrorKind::BrokenPipe)),
            };
            match ack {
                Ok(ack) => {
                    let head = self.queue.pop_front()?;
                    return Some(Ok((head.key, ack)));
                }
                Err(e) => {
                    head.ack = None;
                    let since = *head.failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > RETRY_FOR {
                        let what = if e.kind() == PublishErrorKind::StreamNotFound {
                            Error::Misconfigured {
                                stage: self.stage.clone(),
                                what: format!("no stream captures subject `{}`", head.msg.subject),
                            }
                        } else {
                            Error::nats(&self.stage, e)
                        };
                        return Some(Err(what));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let js = self.js.clone();
                    let stage = self.stage.clone();
                    let head = self.queue.front_mut()?;
                    if let Err(e) = publish(&js, &stage, head).await {
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}

async fn publish<K>(
    js: &async_nats::jetstream::Context,
    stage: &Arc<str>,
    entry: &mut InFlight<K>,
) -> Result<(), Error> {
    loop {
        let publish = async_nats::jetstream::message::PublishMessage::build()
            .payload(entry.msg.payload.clone())
            .headers(entry.msg.headers.clone());
        match js.send_publish(entry.msg.subject.clone(), publish).await {
            Ok(ack) => {
                entry.ack = Some(ack.into_future());
                return Ok(());
            }
            Err(e) => {
                let since = *entry.failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() > RETRY_FOR {
                    return Err(Error::nats(stage, e));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
