//! Fan-out: splitting one input over `n` branches — which split to use.
//!
//! Go's `fanOut` starts `n` workers on one channel; weir-stage has four ways
//! to split a stream, and they differ in who gets each item, in order, and
//! in what a slow or dropped branch does. [`balance`], [`round_robin`] and
//! [`partition`] send **each item to exactly one branch**; only
//! [`broadcast`] sends (clones of) every item to every branch. (Not to be
//! confused with futures' `StreamExt::split`, which halves a `Stream + Sink`
//! into its reading and writing ends.)
//!
//! | | [`balance`] | [`round_robin`] | [`partition`] | [`broadcast`] |
//! |---|---|---|---|---|
//! | who gets an item | the first branch ready to take it | branch `i % n` for item `i` | the branch its key hashes to | every branch (a clone) |
//! | order | each branch sees its items in input order | each branch sees its items in input order | per key (and per branch): input order | every branch sees every item in input order |
//! | a slow branch | takes less; the others take more | stalls every branch (strict turns) | stalls every branch | stalls every branch: the slowest sets the pace |
//! | a dropped branch | the others take its share | skipped: its turns go to the next live branch | never rerouted: the first item for it is an error under the scope's policy | skipped: the others keep receiving everything |
//! | needs | — | — | `key_fn: FnMut(&T) -> K`, `K: Hash` | `T: Clone` |
//!
//! * Use [`balance`] for a pool of identical workers (Go's `fanOut`, competing
//!   consumers): it keeps every worker busy whatever their speed.
//! * Use [`round_robin`] when a fixed, predictable assignment matters more
//!   than throughput (tests, even sharding of uniform work).
//! * Use [`partition`] when items of one key must be handled by one branch,
//!   in order (per-user state, per-account ledgers).
//! * Use [`broadcast`] when every branch needs every item (fan-out to
//!   different sinks: store *and* index *and* count).
//! * Use [`route`] when your code picks the branch (`Ok` to one sink, `Err`
//!   to another): like [`partition`], but the function returns the branch
//!   index itself; an index out of range fails the stage with a
//!   [`BranchOutOfRange`](crate::BranchOutOfRange), never a panic.
//!
//! The inverse, fan-in, is [`merge`](crate::merge).
//!
//! # Common rules
//!
//! * `n == 0` is a [`ConfigError::Zero`] with `what: "branches"`.
//! * Each branch is a [`Receiver`] (clone it to share a branch) with the
//!   scope's channel capacity ([`Scope::with_capacity`] sets it); the
//!   branches of [`balance`] share one such channel.
//! * A branch is *dropped* when all its receivers are gone. No item the
//!   stage holds is silently lost because of it: it goes to another branch
//!   ([`balance`], [`round_robin`]), or is reported as an error
//!   ([`partition`]), or the other branches have their own copy
//!   ([`broadcast`]). Items already buffered in the dropped branch's own
//!   channel go with it, as with any channel (not with [`balance`], whose
//!   branches share one channel).
//! * When every branch is dropped the stage stops, even while its input is
//!   idle, and drops its input so upstream stops too.
//! * Items move in batches and a batch never waits to fill, so splitting
//!   adds no latency when the producer is idle.
//!
//! # Examples
//!
//! Go's fan-out/fan-in: three competing workers, merged back.
//!
//! ```
//! use weir_cancel::Context;
//! use weir_stage::{self as stage, Scope};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let scope = Scope::new(&Context::background());
//! let jobs = stage::generate(&scope, 1..=10u64);
//! let workers = stage::split::balance(&scope, jobs, 3).unwrap();
//! let done = workers.into_iter().map(|jobs| stage::map(&scope, jobs, |n| n * 10));
//! let results = stage::merge(&scope, done);
//! let total = stage::fold(&scope, results, 0, |acc, n| acc + n);
//! assert_eq!(total.await, Ok(550));
//! # }
//! ```

use futures::future::join_all;
use weir_core::chan::{Receiver, Sender};

use crate::driver::BATCH;
use crate::engine::Door;
use crate::error::ConfigError;
use crate::scope::Scope;

mod balance;
mod broadcast;
mod partition;
mod round_robin;
mod route;

pub use balance::balance;
pub use broadcast::broadcast;
pub use partition::partition;
pub use round_robin::round_robin;
pub use route::route;

/// The error for `n == 0` branches.
fn zero_branches(scope: &Scope, kind: &str) -> ConfigError {
    ConfigError::Zero {
        stage: scope.config_name(kind),
        what: "branches",
    }
}

/// The sending ends of a fan-out stage with one channel per branch. A branch
/// whose receivers are all gone is *dead*: its sender is dropped and it gets
/// nothing more.
struct Branches<T> {
    senders: Vec<Option<Sender<T>>>,
    live: usize,
}

impl<T> Branches<T> {
    /// `n` branches on the scope's channels, or the `n == 0` error.
    fn open(
        scope: &Scope,
        kind: &str,
        n: usize,
    ) -> Result<(Branches<T>, Vec<Receiver<T>>), ConfigError> {
        if n == 0 {
            return Err(zero_branches(scope, kind));
        }
        let (senders, receivers) = (0..n)
            .map(|_| scope.channel())
            .map(|(tx, rx)| (Some(tx), rx))
            .unzip();
        Ok((Branches { senders, live: n }, receivers))
    }

    fn len(&self) -> usize {
        self.senders.len()
    }

    fn is_live(&self, k: usize) -> bool {
        self.senders[k].is_some()
    }

    fn kill(&mut self, k: usize) {
        if self.senders[k].take().is_some() {
            self.live -= 1;
        }
    }

    /// Marks every branch whose receivers are gone as dead; returns how many
    /// are still live.
    fn prune(&mut self) -> usize {
        for k in 0..self.len() {
            if self.senders[k].as_ref().is_some_and(Sender::is_closed) {
                self.kill(k);
            }
        }
        self.live
    }

    /// Waits for the next input batch (appended to `buf`). Returns 0 when
    /// the input ended, or when every branch is dead (checked while the
    /// input is idle too).
    async fn recv(&self, input: &Receiver<T>, buf: &mut Vec<T>) -> usize {
        let door = Door::new(input, self.senders.as_slice());
        door.recv(buf, BATCH).await.unwrap_or(0)
    }

    /// Sends `batches[k]` to branch `k`, to every live branch at once (the
    /// stage goes on when the slowest has taken its share), leaving
    /// `batches` empty. A branch that dies meanwhile is marked dead; the
    /// items it refused come back as `(k, items)`, in order.
    async fn send(&mut self, batches: &mut [Vec<T>]) -> Vec<(usize, Vec<T>)> {
        let sends = self
            .senders
            .iter()
            .zip(batches.iter_mut())
            .enumerate()
            .filter(|(_, (_, batch))| !batch.is_empty())
            .map(|(k, (tx, batch))| {
                let items = std::mem::take(batch);
                async move {
                    match tx {
                        Some(tx) => tx.send_all(items).await.err().map(|e| (k, e.into_inner())),
                        None => Some((k, items)),
                    }
                }
            });
        let refused: Vec<_> = join_all(sends).await.into_iter().flatten().collect();
        for &(k, _) in &refused {
            self.kill(k);
        }
        refused
    }
}
