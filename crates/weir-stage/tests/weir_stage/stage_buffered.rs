//! The engine's fused buffer, [`Buffered`]: straight through while its
//! consumer keeps up; while the consumer waits (`poll_fill`), it pulls its
//! input into its queue under the policy, exactly.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::task::noop_waker_ref;
use weir_core::chan::{self, Sender};
use weir_stage::engine::{BatchSource, Buffered, Fused, RecvSource, Stage};
use weir_stage::steps::Map;
use weir_stage::{Error, Overflow, Overflowed};

/// A buffer of `capacity` under `overflow` over a channel, and that
/// channel's sender.
fn buffered(capacity: usize, overflow: Overflow) -> (Buffered<u32>, Sender<u32>, Arc<Stage>) {
    let (tx, rx) = chan::bounded(64);
    let stage = Stage::new("buffer", "buf");
    let buf = Buffered::new(
        Box::new(RecvSource::new(rx)),
        stage.clone(),
        capacity,
        overflow,
    );
    (buf, tx, stage)
}

/// One `poll_fill`, as a waiting consumer calls it.
fn fill(src: &mut dyn BatchSource<u32>) -> Result<(), Error> {
    src.poll_fill(&mut Context::from_waker(noop_waker_ref()))
}

/// One `poll_batch`: the items of the batch, `None` at the end, or
/// `Pending`.
fn pull(src: &mut dyn BatchSource<u32>) -> Poll<Option<Vec<u32>>> {
    let mut out = Vec::new();
    match src.poll_batch(&mut Context::from_waker(noop_waker_ref()), &mut out) {
        Poll::Ready(Ok(true)) => Poll::Ready(Some(out)),
        Poll::Ready(Ok(false)) => Poll::Ready(None),
        Poll::Ready(Err(e)) => panic!("{e}"),
        Poll::Pending => Poll::Pending,
    }
}

/// (in, out, dropped) of `stage`.
fn counted(stage: &Stage) -> (u64, u64, u64) {
    let c = stage.counters().snapshot();
    (c.items_in, c.items_out, c.dropped)
}

#[tokio::test]
async fn a_consumer_that_keeps_up_gets_each_batch_straight_through() {
    let (mut buf, tx, stage) = buffered(2, Overflow::DropOldest);
    tx.send_all((0..10).collect()).await.unwrap();
    // Ten items into a buffer of two: nothing is dropped, since the
    // consumer never waited.
    assert_eq!(pull(&mut buf), Poll::Ready(Some((0..10).collect())));
    assert_eq!(pull(&mut buf), Poll::Pending);
    assert_eq!(counted(&stage), (10, 10, 0));
    drop(tx);
    assert_eq!(pull(&mut buf), Poll::Ready(None));
}

#[tokio::test]
async fn drop_oldest_keeps_the_newest_while_the_consumer_waits() {
    let (mut buf, tx, stage) = buffered(4, Overflow::DropOldest);
    tx.send_all((0..10).collect()).await.unwrap();
    fill(&mut buf).unwrap();
    assert!(
        tx.is_empty(),
        "the waiting consumer's buffer pulled its input"
    );
    assert_eq!(counted(&stage), (10, 0, 6));
    tx.send_all(vec![10, 11]).await.unwrap();
    // The queue first, in order, then straight through again.
    assert_eq!(pull(&mut buf), Poll::Ready(Some(vec![6, 7, 8, 9])));
    assert_eq!(pull(&mut buf), Poll::Ready(Some(vec![10, 11])));
    assert_eq!(counted(&stage), (12, 6, 6));
}

#[tokio::test]
async fn drop_newest_keeps_the_oldest_while_the_consumer_waits() {
    let (mut buf, tx, stage) = buffered(4, Overflow::DropNewest);
    tx.send_all((0..3).collect()).await.unwrap();
    fill(&mut buf).unwrap();
    tx.send_all((3..10).collect()).await.unwrap();
    fill(&mut buf).unwrap(); // room for one more of these seven
    assert_eq!(counted(&stage), (10, 0, 6));
    assert_eq!(pull(&mut buf), Poll::Ready(Some(vec![0, 1, 2, 3])));
    assert_eq!(pull(&mut buf), Poll::Pending);
}

#[tokio::test]
async fn fail_names_the_stage_when_the_queue_is_full() {
    let (mut buf, tx, stage) = buffered(4, Overflow::Fail);
    tx.send_all((0..4).collect()).await.unwrap();
    fill(&mut buf).unwrap(); // exactly full
    tx.send(4).await.unwrap();
    let err = fill(&mut buf).unwrap_err();
    assert_eq!(err.stage(), Some("buf"));
    let source = std::error::Error::source(&err).unwrap();
    let overflowed = source.downcast_ref::<Overflowed>().unwrap();
    assert_eq!(overflowed.capacity, 4);
    assert_eq!(stage.counters().snapshot().errors, 1);
}

#[tokio::test]
async fn backpressure_stops_pulling_once_full_and_loses_nothing() {
    let (mut buf, tx, stage) = buffered(4, Overflow::Backpressure);
    tx.send_all((0..3).collect()).await.unwrap();
    fill(&mut buf).unwrap();
    tx.send_all((3..6).collect()).await.unwrap();
    fill(&mut buf).unwrap(); // one batch past the capacity at most
    tx.send_all((6..9).collect()).await.unwrap();
    fill(&mut buf).unwrap(); // full: not pulled
    assert_eq!(tx.len(), 3);
    assert_eq!(counted(&stage), (6, 0, 0));
    assert_eq!(pull(&mut buf), Poll::Ready(Some((0..6).collect())));
    assert_eq!(pull(&mut buf), Poll::Ready(Some((6..9).collect())));
}

#[tokio::test]
async fn what_is_queued_when_the_input_ends_is_handed_on_then_the_end() {
    let (mut buf, tx, _) = buffered(8, Overflow::DropOldest);
    tx.send_all((0..5).collect()).await.unwrap();
    drop(tx);
    fill(&mut buf).unwrap();
    fill(&mut buf).unwrap(); // sees the end
    assert_eq!(pull(&mut buf), Poll::Ready(Some((0..5).collect())));
    assert_eq!(pull(&mut buf), Poll::Ready(None));
}

/// A fused step after the buffer hands the fill on: the buffer fills
/// through the chain its consumer holds.
#[tokio::test]
async fn a_fused_chain_hands_the_fill_to_its_buffer() {
    let (buf, tx, stage) = buffered(2, Overflow::DropOldest);
    let mut chain = Fused::new(
        Box::new(buf),
        Map::new(|n: u32| n * 10),
        Stage::new("map", "x10"),
    );
    tx.send_all((0..5).collect()).await.unwrap();
    fill(&mut chain).unwrap();
    assert_eq!(counted(&stage), (5, 0, 3));
    assert_eq!(pull(&mut chain), Poll::Ready(Some(vec![30, 40])));
}
