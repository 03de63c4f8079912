//! `Sender::into_sink` as a `futures::Sink`, and `Receiver` as a `Stream`
//! and `FusedStream`.

use std::pin::pin;

use futures::stream::{self, FusedStream};
use futures::{poll, SinkExt, StreamExt};
use weir_core::chan::{self, SendError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_forwarded_into_a_sink_comes_out_of_the_receiver_stream() {
    for cap in [0, 1, 8] {
        let (tx, rx) = chan::bounded(cap);
        let mut sink = tx.into_sink();
        let producer = tokio::spawn(async move {
            sink.send_all(&mut stream::iter(0..500).map(Ok))
                .await
                .unwrap();
            sink.close().await.unwrap();
        });
        let got: Vec<i32> = rx.collect().await;
        producer.await.unwrap();
        assert_eq!(got, (0..500).collect::<Vec<_>>(), "cap {cap}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn closing_the_sink_drops_its_sender() {
    let (tx, rx) = chan::bounded(4);
    let mut sink = tx.into_sink();
    sink.send(1).await.unwrap();
    assert!(sink.sender().is_some());
    sink.close().await.unwrap();
    assert!(sink.sender().is_none());
    // It was the last sender: the channel is closed.
    assert!(rx.is_closed());
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, None);
    // A closed sink refuses items and hands them back.
    assert_eq!(sink.send(2).await, Err(SendError(2)));
}

#[tokio::test(flavor = "current_thread")]
async fn closing_one_sink_leaves_other_senders_open() {
    let (tx, rx) = chan::bounded(4);
    let mut sink = tx.clone().into_sink();
    sink.send(1).await.unwrap();
    sink.close().await.unwrap();
    assert!(!rx.is_closed());
    tx.send(2).await.unwrap();
    drop(tx);
    assert_eq!(rx.collect::<Vec<_>>().await, [1, 2]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_sink_hands_the_item_back_when_the_receivers_are_gone() {
    let (tx, rx) = chan::bounded(4);
    let mut sink = tx.into_sink();
    drop(rx);
    assert_eq!(sink.send("late").await, Err(SendError("late")));
}

#[tokio::test(flavor = "current_thread")]
async fn a_sink_waits_for_room_on_flush() {
    let (tx, rx) = chan::bounded(1);
    let mut sink = tx.into_sink();
    sink.send(1).await.unwrap(); // fills the channel
    sink.feed(2).await.unwrap(); // parked in the sink
    {
        let mut flush = pin!(sink.flush());
        assert!(poll!(&mut flush).is_pending());
        assert_eq!(rx.recv().await, Some(1));
        flush.await.unwrap();
    }
    assert_eq!(rx.recv().await, Some(2));
    // A full channel and a parked item: `poll_ready` waits too.
    sink.send(3).await.unwrap();
    sink.feed(4).await.unwrap();
    {
        let mut ready = pin!(sink.feed(5));
        assert!(poll!(&mut ready).is_pending());
        assert_eq!(rx.recv().await, Some(3));
        ready.await.unwrap();
    }
    // The channel holds 4 and the sink 5: close flushes 5 once 4 is taken.
    {
        let mut close = pin!(sink.close());
        assert!(poll!(&mut close).is_pending());
        assert_eq!(rx.recv().await, Some(4));
        close.await.unwrap();
    }
    assert_eq!(rx.recv().await, Some(5));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_sink_item_parked_at_close_comes_back() {
    let (tx, rx) = chan::bounded(1);
    let closer = tx.clone();
    let mut sink = tx.into_sink();
    sink.send(1).await.unwrap();
    sink.feed(2).await.unwrap(); // parked: the channel is full
    closer.close();
    assert_eq!(sink.flush().await, Err(SendError(2)));
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test(flavor = "current_thread")]
async fn the_receiver_stream_ends_after_close_and_stays_ended() {
    let (tx, mut rx) = chan::bounded(4);
    tx.send_all(vec![1, 2]).await.unwrap();
    tx.close();
    assert_eq!(rx.next().await, Some(1));
    assert_eq!(rx.next().await, Some(2));
    assert_eq!(rx.next().await, None);
    assert_eq!(rx.next().await, None);
}

#[tokio::test(flavor = "current_thread")]
async fn fused_stream_is_terminated_only_when_closed_and_drained() {
    let (tx, mut rx) = chan::bounded(4);
    assert!(!rx.is_terminated());
    tx.send(1).await.unwrap();
    assert!(!rx.is_terminated());
    drop(tx);
    assert!(!rx.is_terminated(), "closed, but an item is still buffered");
    assert_eq!(rx.next().await, Some(1));
    assert!(rx.is_terminated());
    assert_eq!(rx.next().await, None);
    assert!(rx.is_terminated());
}

/// `futures::select!` needs `FusedStream`: a select loop over two channels
/// runs until both are closed and drained.
#[tokio::test(flavor = "current_thread")]
async fn futures_select_over_two_receiver_streams() {
    let (tx_a, mut a) = chan::bounded(2);
    let (tx_b, mut b) = chan::bounded(2);
    tokio::spawn(async move {
        for i in 0..20 {
            tx_a.send(i).await.unwrap();
        }
    });
    tokio::spawn(async move {
        for i in 100..120 {
            tx_b.send(i).await.unwrap();
        }
    });
    let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
    loop {
        futures::select! {
            v = a.select_next_some() => from_a.push(v),
            v = b.select_next_some() => from_b.push(v),
            complete => break,
        }
    }
    assert_eq!(from_a, (0..20).collect::<Vec<_>>());
    assert_eq!(from_b, (100..120).collect::<Vec<_>>());
}

/// Cloned receivers merged into one stream see every item exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloned_receiver_streams_merged_see_each_item_once() {
    let (tx, rx) = chan::bounded(4);
    let streams = vec![rx.clone(), rx.clone(), rx];
    tokio::spawn(async move {
        for i in 0..1_000 {
            tx.send(i).await.unwrap();
        }
    });
    let mut all: Vec<i32> = stream::select_all(streams).collect().await;
    all.sort_unstable();
    assert_eq!(all, (0..1_000).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendezvous_receiver_stream() {
    let (tx, rx) = chan::rendezvous();
    tokio::spawn(async move {
        for i in 0..200 {
            tx.send(i).await.unwrap();
        }
    });
    let got: Vec<i32> = rx.map(|v| v * 2).collect().await;
    assert_eq!(got, (0..200).map(|v| v * 2).collect::<Vec<_>>());
}
