//! weir's typed pipelines across processes and machines, on NATS JetStream.
//!
//! When a worker pool outgrows one machine, the channel between the
//! producer and the workers has to become a network edge that survives
//! crashes. This crate does not build that edge itself: it runs on NATS
//! JetStream (a production message store Go teams already operate) and
//! gives you weir stages on top of it:
//!
//! * **Durable edges.** [`Publisher`] publishes a stage's items to a
//!   JetStream subject (pipelined, with a bounded window of outstanding
//!   acks and `Nats-Msg-Id`s so re-publishes are dropped as duplicates);
//!   [`Source`] reads a stream through a durable pull consumer, in batches,
//!   as [`Delivery`]s whose [`Acker`] you settle once the item is fully
//!   handled: acknowledgement is end to end (at-least-once), a failed item
//!   is naked with a backoff, and after `max_deliver` it is dead-lettered.
//! * **A distributed worker pool.** Worker processes run [`serve`]; the
//!   producer's [`Remote`] stage sends jobs and outputs each job's
//!   `Result<U, RemoteError>` exactly once, in completion or input order.
//!   The producer's deadline and cancellation reach the workers.
//!
//! | Go / NATS | weir-nats |
//! |---|---|
//! | `nats.Connect(url)` | [`connect`] (bounded first connection, typed [`Error::Unreachable`]) |
//! | `js.PublishAsync` + `PublishAsyncMaxPending` | [`Publisher`] with [`window`](Publisher::window) |
//! | `nats.MsgId(id)` | [`Publisher::key`] / [`Publisher::sequence`] |
//! | `sub, _ := js.PullSubscribe(subj, durable)`; `sub.Fetch(n)` | [`Source`] with [`batch`](Source::batch) |
//! | `msg.Ack()` / `msg.NakWithDelay(d)` / `msg.Term()` / `msg.InProgress()` | [`Acker::ack`] / [`Acker::nak`] / [`Acker::dead_letter`] / [`Acker::in_progress`] |
//! | `processJobs(jobs, results, n)` over a work queue | [`serve`]`(ctx, client, pool, n, f)` + [`Pool::remote`] |
//! | `context.WithDeadline` sent along with a request | the `Weir-Deadline` header; workers run jobs under it |
//!
//! Every edge is a weir stage: it takes a [`Receiver`](weir_core::chan::Receiver)
//! and a [`Scope`](weir_stage::Scope) and returns a `Receiver`, so it fits
//! anywhere a `weir-stage` stage does. In a `weir` pipeline (the facade's
//! `nats` feature) the builder has doors for them: `flow.remote_pool(remote)`
//! and `pipeline.from_nats(source)`, which name, count, graph and stop them
//! like any stage (`Flow::through_stage` takes the others). Failures are
//! typed [`Error`]s naming the stage,
//! reported through the scope within a bounded time: never a hang.
//!
//! # Example
//!
//! A worker and a producer in one program (in production they are separate
//! processes, on separate machines):
//!
//! ```
//! use weir_cancel::Context;
//! use weir_nats::Pool;
//! use weir_stage::{self as stage, Scope};
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() {
//! # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
//! # let url = server.url();
//! let pool = Pool::new("lengths");
//! let (ctx, stop_workers) = Context::background().with_cancel();
//! let worker = tokio::spawn({
//!     let (pool, client) = (pool.clone(), weir_nats::connect(&url).await.unwrap());
//!     async move { weir_nats::serve(&ctx, client, &pool, 8, |s: String| async move { Ok::<_, std::io::Error>(s.len()) }).await }
//! });
//!
//! let scope = Scope::new(&Context::background());
//! let words = stage::generate(&scope, ["go", "rust", "nats"].map(String::from));
//! let lengths = pool.remote::<String, usize>(weir_nats::connect(&url).await.unwrap()).run(&scope, words).unwrap();
//! let total = stage::fold(&scope, lengths, 0, |sum, n| sum + n.unwrap());
//! assert_eq!(total.await, Ok(10));
//! stop_workers.cancel();
//! worker.await.unwrap().unwrap();
//! # }
//! ```
//!
//! # Features
//!
//! * `testing`: `testing::NatsServer` starts a throw-away
//!   `nats-server -js` (needs the binary on `PATH`) for your own tests.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod codec;
mod connect;
mod delivery;
mod error;
mod future;
mod pool;
mod pull;
mod sink;
mod source;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod window;

pub use codec::{Bytes, Codec, Json};
pub use connect::{connect, connect_timeout, DEFAULT_CONNECT_TIMEOUT};
pub use delivery::{
    Acker, Delivery, NakBackoff, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_REASON, DEAD_LETTER_SUBJECT,
};
pub use error::{BoxError, Error, RemoteError};
pub use future::{Connect, Serve, Settle};
pub use pool::{serve, Caller, GetLag, Lag, LagProbe, Order, Pool, Remote};
pub use sink::{Published, Publisher};
pub use source::Source;

/// The client library, re-exported so that its version always matches
/// (`weir_nats::async_nats::Client`, headers, JetStream configuration).
pub use async_nats;
