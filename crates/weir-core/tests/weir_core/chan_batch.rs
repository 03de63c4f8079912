//! Batches: `Sender::send_all` and `Receiver::recv_many`.

use std::pin::pin;

use futures::poll;
use weir_core::chan::{self, SendError, TryRecvError};

#[tokio::test(flavor = "current_thread")]
async fn send_all_then_recv_many_keeps_order_and_appends() {
    let (tx, rx) = chan::bounded(16);
    tx.send_all((0..10).collect()).await.unwrap();
    let mut buf = vec![-1];
    assert_eq!(rx.recv_many(&mut buf, 4).await, 4);
    assert_eq!(buf, [-1, 0, 1, 2, 3]);
    assert_eq!(rx.recv_many(&mut buf, 100).await, 6);
    assert_eq!(buf, [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

#[tokio::test(flavor = "current_thread")]
async fn recv_many_respects_its_limit() {
    let (tx, rx) = chan::unbounded();
    tx.send_all((0..10).collect()).await.unwrap();
    let mut buf = Vec::new();
    for expected in [3, 3, 3, 1] {
        buf.clear();
        assert_eq!(rx.recv_many(&mut buf, 3).await, expected);
        assert_eq!(buf.len(), expected);
    }
    assert_eq!(rx.len(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn recv_many_with_limit_zero_returns_zero_at_once_and_takes_nothing() {
    let (tx, rx) = chan::bounded(4);
    let mut buf = Vec::new();
    // Empty and open: does not wait.
    assert!(poll!(pin!(rx.recv_many(&mut buf, 0))).is_ready());
    tx.send_all(vec![1, 2]).await.unwrap();
    assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
    assert!(buf.is_empty());
    assert_eq!(rx.len(), 2);
    drop(tx);
    assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
    assert_eq!(rx.len(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn recv_many_waits_for_at_least_one_item() {
    let (tx, rx) = chan::bounded(4);
    let mut buf = Vec::new();
    {
        let mut many = pin!(rx.recv_many(&mut buf, 4));
        assert!(poll!(&mut many).is_pending());
        tx.send(1).await.unwrap();
        assert_eq!(many.await, 1);
    }
    assert_eq!(buf, [1]);
}

#[tokio::test(flavor = "current_thread")]
async fn recv_many_returns_zero_only_when_closed_and_drained() {
    let (tx, rx) = chan::bounded(4);
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    drop(tx);
    let mut buf = Vec::new();
    assert_eq!(rx.recv_many(&mut buf, 2).await, 2);
    assert_eq!(rx.recv_many(&mut buf, 2).await, 1);
    assert_eq!(rx.recv_many(&mut buf, 2).await, 0);
    assert_eq!(rx.recv_many(&mut buf, 2).await, 0);
    assert_eq!(buf, [1, 2, 3]);

    // A close while waiting ends the wait with 0.
    let (tx, rx) = chan::bounded::<u8>(4);
    let mut buf = Vec::new();
    let mut many = pin!(rx.recv_many(&mut buf, 4));
    assert!(poll!(&mut many).is_pending());
    tx.close();
    assert_eq!(many.await, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn send_all_of_nothing_is_done_at_once() {
    let (tx, rx) = chan::bounded::<u8>(1);
    tx.send(0).await.unwrap(); // even when full
    assert!(poll!(pin!(tx.send_all(Vec::new()))).is_ready());
    assert_eq!(rx.len(), 1);
}

/// A batch larger than the capacity goes in as room appears, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_all_larger_than_capacity_waits_for_room() {
    for cap in [0, 1, 3] {
        let (tx, rx) = chan::bounded(cap);
        let producer = tokio::spawn(async move {
            tx.send_all((0..1_000).collect()).await.unwrap();
            tx.send_all((1_000..2_000).collect()).await.unwrap();
        });
        let mut got = Vec::new();
        while rx.recv_many(&mut got, 7).await > 0 {}
        producer.await.unwrap();
        assert_eq!(got, (0..2_000).collect::<Vec<_>>(), "cap {cap}");
    }
}

/// A close part-way through a batch returns the unsent remainder, in order;
/// the sent prefix is still received.
#[tokio::test(flavor = "current_thread")]
async fn send_all_interrupted_by_close_returns_the_remainder_in_order() {
    let (tx, rx) = chan::bounded(2);
    let mut all = pin!(tx.send_all(vec![1, 2, 3, 4, 5]));
    assert!(poll!(&mut all).is_pending()); // 1 and 2 fit
    assert_eq!(rx.recv().await, Some(1)); // room for 3
    assert!(poll!(&mut all).is_pending());
    assert!(tx.close());
    assert_eq!(all.await, Err(SendError(vec![4, 5])));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, Some(3));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test(flavor = "current_thread")]
async fn send_all_interrupted_by_the_receivers_going_returns_the_remainder() {
    let (tx, rx) = chan::bounded(2);
    let mut all = pin!(tx.send_all(vec!['a', 'b', 'c', 'd']));
    assert!(poll!(&mut all).is_pending());
    drop(rx);
    assert_eq!(all.await, Err(SendError(vec!['c', 'd'])));
}

/// On a rendezvous channel a batch hands over one item per waiting receiver,
/// and waits for more receivers for the rest.
#[tokio::test(flavor = "current_thread")]
async fn send_all_on_rendezvous_offers_one_item_at_a_time_in_order() {
    let (tx, rx) = chan::rendezvous();
    let mut all = pin!(tx.send_all(vec![10, 20, 30]));
    assert!(poll!(&mut all).is_pending()); // 10 offered, waiting
    assert_eq!(rx.try_recv(), Ok(10));
    assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Empty)); // 20 not yet offered
    assert!(poll!(&mut all).is_pending()); // 10 done, 20 offered
                                           // Another task receives the rest (a task never receives its own send).
    let receiver = tokio::spawn(async move {
        let mut buf = Vec::new();
        while buf.len() < 2 {
            rx.recv_many(&mut buf, 8).await;
        }
        buf
    });
    all.await.unwrap();
    assert_eq!(receiver.await.unwrap(), [20, 30]);
}

/// One `send_all` wakes as many waiting receivers as it delivered items.
#[tokio::test(flavor = "current_thread")]
async fn send_all_wakes_one_receiver_per_item() {
    let (tx, rx) = chan::bounded(8);
    let receivers: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move { rx.recv().await })
        })
        .collect();
    tokio::task::yield_now().await;
    tx.send_all(vec![1, 2, 3, 4]).await.unwrap();
    let mut got = Vec::new();
    for r in receivers {
        got.push(r.await.unwrap().unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3, 4]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// Many batch producers and batch consumers: every item once, and each
/// producer's items in order as seen by each consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_from_many_producers_to_many_consumers() {
    const PRODUCERS: u32 = 4;
    const BATCHES: u32 = 50;
    const BATCH: u32 = 40;
    let (tx, rx) = chan::bounded(16);
    for p in 0..PRODUCERS {
        let tx = tx.clone();
        tokio::spawn(async move {
            for b in 0..BATCHES {
                let batch = (0..BATCH).map(|i| (p, b * BATCH + i)).collect();
                tx.send_all(batch).await.unwrap();
            }
        });
    }
    drop(tx);
    let consumers: Vec<_> = (0..3)
        .map(|c| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = Vec::new();
                while rx.recv_many(&mut buf, 5 + c).await > 0 {
                    got.append(&mut buf);
                }
                got
            })
        })
        .collect();
    drop(rx);
    let mut all = Vec::new();
    for c in consumers {
        let got = c.await.unwrap();
        for p in 0..PRODUCERS {
            let seq: Vec<_> = got.iter().filter(|(q, _)| *q == p).map(|x| x.1).collect();
            assert!(
                seq.windows(2).all(|w| w[0] < w[1]),
                "producer {p} reordered"
            );
        }
        all.extend(got);
    }
    all.sort_unstable();
    let expected: Vec<_> = (0..PRODUCERS)
        .flat_map(|p| (0..BATCHES * BATCH).map(move |i| (p, i)))
        .collect();
    assert_eq!(all, expected);
}
