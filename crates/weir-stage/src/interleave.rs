//! [`interleave`]: one item from each of two inputs in turn.

use std::collections::VecDeque;

use weir_core::chan::Receiver;

use crate::concat::pass_rest;
use crate::driver::BATCH;
use crate::engine::Door;
use crate::scope::{Role, Scope};

/// Takes one item from `first`, then one from `second`, and so on, in
/// strict turns: Akka's `interleave` with a segment of 1. When one input
/// ends, the rest of the other follows; the output closes once both have
/// ended.
///
/// Strict turns mean a slow input holds the other back (its producer waits
/// on its full channel): for "whichever is ready first", use
/// [`merge`](crate::merge).
///
/// Order: each input's items keep their order, and the output alternates
/// `first, second, first, …` until one ends.
///
/// When every receiver of the output is dropped, the stage stops and drops
/// both inputs, which stops both upstreams in turn.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`].
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let odd = stage::generate(&scope, [1, 3, 5, 7]);
/// let even = stage::generate(&scope, [2, 4]);
/// let both = stage::collect::<_, Vec<_>>(&scope, stage::interleave(&scope, odd, even));
/// assert_eq!(both.await.unwrap(), [1, 2, 3, 4, 5, 7]);
/// # }
/// ```
pub fn interleave<T>(scope: &Scope, first: Receiver<T>, second: Receiver<T>) -> Receiver<T>
where
    T: Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("interleave", Role::Stage, move |_| async move {
        let doors = [Door::new(&first, &tx), Door::new(&second, &tx)];
        let mut queues = [VecDeque::new(), VecDeque::new()];
        let (mut turn, mut buf, mut out) = (0, Vec::with_capacity(BATCH), Vec::new());
        loop {
            while let Some(item) = queues[turn].pop_front() {
                out.push(item);
                turn ^= 1;
            }
            // The input whose turn it is has nothing queued: send what is
            // ready, then wait for it.
            if !doors[0].flush(&mut out).await {
                return Ok(());
            }
            match doors[turn].recv(&mut buf, BATCH).await {
                Some(0) => break,
                Some(_) => queues[turn].extend(buf.drain(..)),
                None => return Ok(()),
            }
        }
        // `turn` ended: the other's queue, then the rest of it.
        let rest = turn ^ 1;
        out.extend(queues[rest].drain(..));
        if doors[rest].flush(&mut out).await {
            pass_rest([&first, &second][rest], &tx).await;
        }
        Ok(())
    });
    rx
}
