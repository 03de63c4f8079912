//! [`Publisher`]: a stage publishing every item to a JetStream subject.

use std::sync::Arc;

use async_nats::HeaderMap;
use weir_core::chan::{self, Receiver, Sender};
use weir_stage::{ConfigError, Scope};

use crate::codec::Codec;
use crate::error::Error;
use crate::source::API_TIMEOUT;
use crate::window::{Outgoing, Window};

type KeyFn<T> = Arc<dyn Fn(&T) -> String + Send + Sync>;

/// What the server said about one published item.
///
/// # Examples
///
/// See [`Publisher`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The message's sequence number in the stream.
    pub sequence: u64,
    /// Whether the server dropped it as a duplicate of a message with the
    /// same id published within the stream's duplicate window.
    pub duplicate: bool,
    /// The message id sent (`Nats-Msg-Id`), if any.
    pub id: Option<String>,
}

/// A stage that publishes each item to a JetStream subject and outputs
/// what the server acknowledged: Go's `js.PublishAsync` loop with its
/// `PublishAsyncMaxPending`, as one typed stage.
///
/// Publishes are pipelined: up to `window` of them await their server ack
/// at once; when the window is full the stage waits for the oldest, so a
/// slow server slows the pipeline down (bounded memory). Acks are output in
/// input order. A publish the server does not acknowledge (it is
/// restarting, say) is sent again with the same message id for up to 30 s,
/// then the stage fails with a typed [`Error`] naming it.
///
/// Message ids (`Nats-Msg-Id`) make re-publishes harmless: the stream drops
/// a message whose id it saw within its duplicate window. Ids come from
/// [`key`](Publisher::key) (a function of the item: the natural choice),
/// or [`sequence`](Publisher::sequence) (a prefix and the item's position);
/// without either, a re-publish after a lost ack may store an item twice.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_nats::{Json, Publisher};
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
/// let client = weir_nats::connect(&server.url()).await.unwrap();
/// weir_nats::testing::work_queue(&client, "EVENTS", "events", "c").await.unwrap();
///
/// let scope = Scope::new(&Context::background());
/// let events = stage::generate(&scope, [10u32, 20, 10]);
/// let acks = Publisher::<u32, Json>::new(client, "events")
///     .key(|n| n.to_string())
///     .window(64)
///     .run(&scope, events)
///     .unwrap();
/// let acks = stage::collect::<_, Vec<_>>(&scope, acks);
/// scope.wait().await.unwrap();
/// let acks = acks.await.unwrap();
/// assert_eq!(acks.iter().map(|a| a.duplicate).collect::<Vec<_>>(), [false, false, true]);
/// # }
/// ```
pub struct Publisher<T, C> {
    client: async_nats::Client,
    subject: String,
    codec: C,
    window: usize,
    key: Option<KeyFn<T>>,
    sequence: Option<String>,
}

impl<T, C> std::fmt::Debug for Publisher<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("subject", &self.subject)
            .field("window", &self.window)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static, C: Codec<T> + Default> Publisher<T, C> {
    /// A publisher to `subject`, encoding with `C::default()`, with a window
    /// of 256 outstanding acks and no message ids.
    ///
    /// # Examples
    ///
    /// See [`Publisher`].
    pub fn new(client: async_nats::Client, subject: impl Into<String>) -> Self {
        Publisher::with_codec(client, subject, C::default())
    }
}

impl<T: Send + 'static, C: Codec<T>> Publisher<T, C> {
    /// Like [`new`](Publisher::new), encoding with `codec`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// let raw = weir_nats::Publisher::<Vec<u8>, _>::with_codec(client, "raw", weir_nats::Bytes);
    /// # drop(raw);
    /// # }
    /// ```
    pub fn with_codec(client: async_nats::Client, subject: impl Into<String>, codec: C) -> Self {
        Publisher {
            client,
            subject: subject.into(),
            codec,
            window: 256,
            key: None,
            sequence: None,
        }
    }

    /// Publishes awaiting their ack at most (0 is a [`ConfigError`] from
    /// [`run`](Publisher::run)).
    ///
    /// # Examples
    ///
    /// See [`Publisher`].
    pub fn window(mut self, window: usize) -> Self {
        self.window = window;
        self
    }

    /// Message ids from the item: items with equal keys are the same
    /// message to the server's duplicate window.
    ///
    /// # Examples
    ///
    /// See [`Publisher`].
    pub fn key(mut self, key: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        self.key = Some(Arc::new(key));
        self
    }

    /// Message ids `"{prefix}-{n}"` for the `n`-th item (from 0): re-running
    /// the same input with the same prefix publishes nothing twice.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// # let client = weir_nats::connect(&server.url()).await.unwrap();
    /// let p = weir_nats::Publisher::<u64, weir_nats::Json>::new(client, "s").sequence("import-2024-06-01");
    /// # drop(p);
    /// # }
    /// ```
    pub fn sequence(mut self, prefix: impl Into<String>) -> Self {
        self.sequence = Some(prefix.into());
        self
    }

    /// Spawns the stage under `scope`, reading `input`; its output carries
    /// one [`Published`] per item, in input order.
    ///
    /// # Errors
    ///
    /// A zero window is a [`ConfigError`]. At run time the stage fails
    /// (through the scope) with [`Error::Codec`] for an item that does not
    /// encode, [`Error::Misconfigured`] when no stream captures the subject
    /// and [`Error::Nats`] when the server stays away for 30 s.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// See [`Publisher`].
    pub fn run(
        self,
        scope: &Scope,
        input: Receiver<T>,
    ) -> Result<Receiver<Published>, ConfigError> {
        let view = scope.stage_or(format!("nats publish {}", self.subject));
        if self.window == 0 {
            return Err(ConfigError::Zero {
                stage: view.name(),
                what: "window",
            });
        }
        let (tx, rx) = chan::bounded(self.window);
        view.spawn(self.pump(input, tx, view.name()));
        Ok(rx)
    }

    async fn pump(
        self,
        input: Receiver<T>,
        tx: Sender<Published>,
        stage: Arc<str>,
    ) -> Result<(), Error> {
        let mut js = async_nats::jetstream::new(self.client.clone());
        js.set_timeout(API_TIMEOUT);
        let mut window: Window<Option<String>> = Window::new(js, stage.clone(), self.window);
        let mut n: u64 = 0;
        let mut open = true;
        while open || !window.is_empty() {
            tokio::select! {
                biased;
                done = window.next(), if !window.is_empty() => {
                    let Some(done) = done else { continue };
                    let (id, ack) = done?;
                    let published = Published {
                        sequence: ack.sequence,
                        duplicate: ack.duplicate,
                        id,
                    };
                    if tx.send(published).await.is_err() {
                        return Ok(());
                    }
                }
                item = input.recv(), if open && !window.is_full() => {
                    let Some(item) = item else {
                        open = false;
                        continue;
                    };
                    let payload = self.codec.encode(&item).map_err(|source| Error::Codec {
                        stage: stage.clone(),
                        source,
                    })?;
                    let id = match (&self.key, &self.sequence) {
                        (Some(key), _) => Some(key(&item)),
                        (None, Some(prefix)) => Some(format!("{prefix}-{n}")),
                        (None, None) => None,
                    };
                    n += 1;
                    let mut headers = HeaderMap::new();
                    if let Some(id) = &id {
                        headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
                    }
                    let msg = Outgoing { subject: self.subject.clone(), headers, payload };
                    window.send(id, msg).await?;
                }
            }
        }
        Ok(())
    }
}
