//! Pull requests in a loop, with idle heartbeats: a request the server lost
//! (it restarted, or the connection dropped) is noticed within
//! [`SILENCE`] — or at once when the client has reconnected — and asked
//! again, so a consumer never idles waiting for an answer that cannot come.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::BatchConfig;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::StatusCode;
use futures::StreamExt;
use tokio::time::Instant;

/// How long a pull request waits on the server for messages.
pub(crate) const EXPIRES: Duration = Duration::from_secs(2);
/// The server sends a heartbeat when a pull request has been idle this long.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// Silence after which a pull request is taken as lost (three heartbeats).
pub(crate) const SILENCE: Duration = Duration::from_millis(1_500);
/// How often a waiting request checks whether the client reconnected.
const RECONNECT_CHECK: Duration = Duration::from_millis(100);

/// Pull requests in a loop, riding out a server that goes away.
pub(crate) struct Fetcher {
    consumer: PullConsumer,
    js: async_nats::jetstream::Context,
    /// Pull requests in a row that ended without a proper answer.
    failures: Arc<AtomicU32>,
}

impl Fetcher {
    pub(crate) fn new(consumer: PullConsumer, js: async_nats::jetstream::Context) -> Fetcher {
        Fetcher {
            consumer,
            js,
            failures: Arc::new(AtomicU32::new(0)),
        }
    }

    /// The next pull request's messages (`None` once `stop` resolves).
    /// After a request that failed (server away) the next one waits a
    /// backoff of up to 800 ms.
    pub(crate) async fn next_batch<F: std::future::Future<Output = ()>>(
        &mut self,
        n: usize,
        mut stop: std::pin::Pin<&mut F>,
    ) -> Option<Pull> {
        loop {
            let failures = self.failures.load(Ordering::Relaxed);
            if failures > 0 {
                let pause = Duration::from_millis(50u64 << failures.min(4));
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stop.as_mut() => return None,
                }
            }
            let result = tokio::select! {
                r = Pull::request(&self.consumer, &self.js, n, self.failures.clone()) => r,
                () = stop.as_mut() => return None,
            };
            match result {
                Some(pull) => return Some(pull),
                None => {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// One pull request's messages, ended by the server's answer, by
/// [`EXPIRES`] (plus a grace), by [`SILENCE`], or by a reconnect.
pub(crate) struct Pull {
    subscriber: async_nats::Subscriber,
    context: async_nats::jetstream::Context,
    client: async_nats::Client,
    connects: u64,
    left: usize,
    ends_at: Instant,
    heard_at: Instant,
    failures: Arc<AtomicU32>,
}

impl Pull {
    async fn request(
        consumer: &PullConsumer,
        js: &async_nats::jetstream::Context,
        n: usize,
        failures: Arc<AtomicU32>,
    ) -> Option<Pull> {
        let context = js.clone();
        let client = context.client();
        let connects = client.statistics().connects.load(Ordering::Relaxed);
        let inbox = client.new_inbox();
        let subscriber = client.subscribe(inbox.clone()).await.ok()?;
        let request = BatchConfig {
            batch: n,
            expires: Some(EXPIRES),
            idle_heartbeat: HEARTBEAT,
            ..Default::default()
        };
        consumer.request_batch(request, inbox.into()).await.ok()?;
        let now = Instant::now();
        Some(Pull {
            subscriber,
            context,
            client,
            connects,
            left: n,
            ends_at: now + EXPIRES + HEARTBEAT,
            heard_at: now,
            failures,
        })
    }

    /// The next message (`None` when the request is over).
    ///
    /// Cancel safe: a message is taken off the subscription only when it
    /// is returned.
    pub(crate) async fn next(&mut self) -> Option<async_nats::jetstream::Message> {
        loop {
            if self.left == 0 {
                return None;
            }
            let wake = self
                .ends_at
                .min(self.heard_at + SILENCE)
                .min(Instant::now() + RECONNECT_CHECK);
            let msg = tokio::select! {
                biased;
                m = self.subscriber.next() => m,
                () = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    let reconnected =
                        self.client.statistics().connects.load(Ordering::Relaxed) != self.connects;
                    if reconnected || now >= self.heard_at + SILENCE {
                        return self.fail();
                    }
                    if now >= self.ends_at {
                        self.left = 0;
                        return None;
                    }
                    continue;
                }
            };
            let Some(msg) = msg else {
                return self.fail();
            };
            self.heard_at = Instant::now();
            match msg.status {
                None | Some(StatusCode::OK) => {
                    self.left -= 1;
                    self.failures.store(0, Ordering::Relaxed);
                    return Some(async_nats::jetstream::Message {
                        message: msg,
                        context: self.context.clone(),
                    });
                }
                Some(StatusCode::IDLE_HEARTBEAT) => {}
                // Expired, or no messages: over.
                Some(StatusCode::TIMEOUT | StatusCode::NOT_FOUND) => {
                    self.failures.store(0, Ordering::Relaxed);
                    self.left = 0;
                    return None;
                }
                // A limit reached or the consumer gone (409), no responders
                // (JetStream not ready), anything else: over, and the next
                // request backs off.
                Some(_) => return self.fail(),
            }
        }
    }

    fn fail(&mut self) -> Option<async_nats::jetstream::Message> {
        self.left = 0;
        self.failures.fetch_add(1, Ordering::Relaxed);
        None
    }
}
