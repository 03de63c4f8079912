//! [`merge`]: fan-in, many inputs into one output.

use futures::future::select_all;
use weir_core::chan::{Receiver, Sender};

use crate::driver::BATCH;
use crate::engine::door::{take_ready, Exit};
use crate::error::BoxError;
use crate::scope::{Role, Scope};

/// Merges many inputs into one output: Go's `fanIn`. The output closes when
/// every input has closed.
///
/// One stage task (`merge#N`, or the [scope's name](Scope::named)) serves
/// every input, taking turns: each round it takes what is ready on every
/// input — up to an equal share of a 64-item batch from each — and sends
/// that round on as one batch, starting the next round one input further
/// on. An input with nothing ready is skipped, never waited for; when no
/// input has anything the stage waits for whichever is first. A batch
/// never waits to fill, so merging adds no latency.
///
/// Order: each input's items keep their order in the output. Items of
/// different inputs interleave round by round, in runs of up to a share
/// each; there is no order across inputs.
///
/// Fairness: every input that has items ready gets its share of every
/// round, however busy the others are and however slow the consumer, so
/// no input can starve another (Go's `fanIn` gets the same from its
/// channels' FIFO queue of blocked senders). An input that produces faster
/// than its share waits on its own channel: it is backpressured, not
/// favoured.
///
/// An empty list of inputs gives an output that is already closed (Go's
/// `fanIn()` with no channels), not an error.
///
/// When every receiver of the output is dropped, the stage stops (even
/// while its inputs are idle) and drops every input, so each upstream stops
/// in turn.
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
/// let low = stage::generate(&scope, 0..3);
/// let high = stage::generate(&scope, 10..13);
/// let both = stage::merge(&scope, [low, high]);
/// let mut all = stage::collect::<_, Vec<_>>(&scope, both).await.unwrap();
/// all.sort();
/// assert_eq!(all, [0, 1, 2, 10, 11, 12]);
/// # }
/// ```
pub fn merge<T, I>(scope: &Scope, inputs: I) -> Receiver<T>
where
    T: Send + 'static,
    I: IntoIterator<Item = Receiver<T>>,
{
    let (tx, rx) = scope.channel();
    let inputs: Vec<_> = inputs.into_iter().collect();
    if !inputs.is_empty() {
        scope.spawn_stage("merge", Role::Stage, move |_| take_turns(inputs, tx));
    }
    rx // with no inputs, `tx` is dropped: the output is closed
}

/// The merge loop: rounds over the open inputs until all have closed or
/// the output's receivers are gone.
async fn take_turns<T>(mut inputs: Vec<Receiver<T>>, output: Sender<T>) -> Result<(), BoxError> {
    let exit = Exit::new(&output);
    let mut first = 0; // the input that goes first in the next round
    let mut round = Vec::with_capacity(BATCH);
    while !inputs.is_empty() {
        let share = (BATCH / inputs.len()).max(1);
        first %= inputs.len();
        let mut k = first;
        for _ in 0..inputs.len() {
            if take_ready(&inputs[k], &mut round, share) {
                inputs.remove(k); // ended; the next input moved into slot k
                if inputs.is_empty() {
                    break;
                }
                k %= inputs.len();
            } else {
                k = (k + 1) % inputs.len();
            }
        }
        first += 1;
        if round.is_empty() && !inputs.is_empty() {
            // Nothing ready anywhere: wait for the first input that has
            // something (or ends), or for the output to go away.
            let any = select_all(inputs.iter().map(|input| input.recv()));
            let Some((item, k, _)) = exit.unless_closed(any).await else {
                return Ok(());
            };
            match item {
                Some(item) => {
                    round.push(item);
                    first = k; // its turn: take the rest it has next
                }
                None => drop(inputs.remove(k)),
            }
            continue;
        }
        let full = std::mem::replace(&mut round, Vec::with_capacity(BATCH));
        if !full.is_empty() && !exit.send(full).await {
            return Ok(());
        }
    }
    Ok(())
}
