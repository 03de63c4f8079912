//! The blocking API on std threads: `send_blocking`, `recv_blocking`,
//! `send_timeout`, `recv_timeout`, `iter`, and blocking ends mixed with
//! async ones on the same channel.

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use weir_core::chan::{self, RecvTimeoutError, SendError, SendTimeoutError};

#[test]
fn send_blocking_and_recv_blocking_across_threads_keep_order() {
    for cap in [0, 1, 7] {
        let (tx, rx) = chan::bounded(cap);
        let producer = thread::spawn(move || {
            for i in 0..2_000 {
                tx.send_blocking(i).unwrap();
            }
        });
        let got: Vec<i32> = rx.iter().collect();
        producer.join().unwrap();
        assert_eq!(got, (0..2_000).collect::<Vec<_>>(), "cap {cap}");
    }
}

#[test]
fn send_blocking_waits_for_room_and_recv_blocking_makes_it() {
    let (tx, rx) = chan::bounded(1);
    tx.send_blocking(1).unwrap();
    let producer = thread::spawn(move || {
        tx.send_blocking(2).unwrap(); // blocks until the receive below
        tx.send_blocking(3).unwrap();
    });
    assert_eq!(rx.recv_blocking(), Some(1));
    assert_eq!(rx.recv_blocking(), Some(2));
    assert_eq!(rx.recv_blocking(), Some(3));
    assert_eq!(rx.recv_blocking(), None);
    producer.join().unwrap();
}

#[test]
fn recv_blocking_wakes_on_close_and_on_last_sender_drop() {
    let (tx, rx) = chan::bounded::<u8>(1);
    let receiver = thread::spawn(move || rx.recv_blocking());
    tx.close();
    assert_eq!(receiver.join().unwrap(), None);

    let (tx, rx) = chan::bounded::<u8>(1);
    let receiver = thread::spawn(move || rx.recv_blocking());
    drop(tx);
    assert_eq!(receiver.join().unwrap(), None);
}

#[test]
fn send_blocking_on_a_full_channel_wakes_on_close_with_its_item() {
    let (tx, rx) = chan::bounded(1);
    tx.send_blocking(1).unwrap();
    let tx2 = tx.clone();
    let producer = thread::spawn(move || tx2.send_blocking(2));
    tx.close();
    assert_eq!(producer.join().unwrap(), Err(SendError(2)));
    assert_eq!(rx.recv_blocking(), Some(1));
    assert_eq!(rx.recv_blocking(), None);
}

#[test]
fn recv_timeout_zero_never_waits() {
    let (tx, rx) = chan::bounded(2);
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    tx.send_blocking(5).unwrap();
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(5));
    tx.send_blocking(6).unwrap();
    drop(tx);
    // Closed but not drained: the item first, then `Closed`.
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(6));
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn recv_timeout_expires_on_an_empty_open_channel() {
    let (_tx, rx) = chan::bounded::<u8>(1);
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    let (_tx, rx) = chan::rendezvous::<u8>();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn recv_timeout_max_waits_for_an_item_or_close() {
    let (tx, rx) = chan::bounded(1);
    let receiver = thread::spawn(move || {
        let first = rx.recv_timeout(Duration::MAX);
        let second = rx.recv_timeout(Duration::MAX);
        (first, second)
    });
    tx.send_blocking(1).unwrap();
    tx.close();
    assert_eq!(
        receiver.join().unwrap(),
        (Ok(1), Err(RecvTimeoutError::Closed))
    );
}

#[test]
fn send_timeout_zero_never_waits() {
    let (tx, rx) = chan::bounded(1);
    assert_eq!(tx.send_timeout(1, Duration::ZERO), Ok(()));
    assert_eq!(
        tx.send_timeout(2, Duration::ZERO),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_eq!(rx.recv_blocking(), Some(1));
    tx.close();
    assert_eq!(
        tx.send_timeout(3, Duration::ZERO),
        Err(SendTimeoutError::Closed(3))
    );
    // Rendezvous with nobody waiting: a zero timeout is a timeout.
    let (tx, _rx) = chan::rendezvous();
    assert_eq!(
        tx.send_timeout(4, Duration::ZERO),
        Err(SendTimeoutError::Timeout(4))
    );
}

#[test]
fn send_timeout_expires_on_a_full_channel() {
    let (tx, rx) = chan::bounded(1);
    tx.send_blocking(1).unwrap();
    assert_eq!(
        tx.send_timeout(2, Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_empty());
}

#[test]
fn send_timeout_max_waits_for_room_or_close() {
    // Room: a receive frees the slot.
    let (tx, rx) = chan::bounded(1);
    tx.send_blocking(1).unwrap();
    let producer = {
        let tx = tx.clone();
        thread::spawn(move || tx.send_timeout(2, Duration::MAX))
    };
    assert_eq!(rx.recv_blocking(), Some(1));
    assert_eq!(producer.join().unwrap(), Ok(()));
    assert_eq!(rx.recv_blocking(), Some(2));

    // Close: the waiting send returns its item.
    tx.send_blocking(3).unwrap();
    let producer = {
        let tx = tx.clone();
        thread::spawn(move || tx.send_timeout(4, Duration::MAX))
    };
    tx.close();
    assert_eq!(producer.join().unwrap(), Err(SendTimeoutError::Closed(4)));
    assert_eq!(rx.recv_blocking(), Some(3));
    assert_eq!(rx.recv_blocking(), None);
}

#[test]
fn rendezvous_hand_off_between_threads() {
    let (tx, rx) = chan::rendezvous();
    let producer = thread::spawn(move || {
        for i in 0..500 {
            tx.send_blocking(i).unwrap();
        }
        for i in 500..1_000 {
            tx.send_timeout(i, Duration::MAX).unwrap();
        }
    });
    let mut got = Vec::new();
    while let Ok(v) = rx.recv_timeout(Duration::MAX) {
        got.push(v);
    }
    producer.join().unwrap();
    assert_eq!(got, (0..1_000).collect::<Vec<_>>());
}

#[test]
fn many_blocking_senders_and_receivers_deliver_each_item_once() {
    const SENDERS: usize = 4;
    const RECEIVERS: usize = 4;
    const PER_SENDER: usize = 2_500;
    for cap in [0, 3] {
        let (tx, rx) = chan::bounded(cap);
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..PER_SENDER {
                        tx.send_blocking(s * PER_SENDER + i).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.iter().collect::<Vec<_>>())
            })
            .collect();
        drop(rx);
        senders.into_iter().for_each(|s| s.join().unwrap());
        let mut seen = HashSet::new();
        for r in receivers {
            for v in r.join().unwrap() {
                assert!(seen.insert(v), "{v} received twice (cap {cap})");
            }
        }
        assert_eq!(seen.len(), SENDERS * PER_SENDER);
    }
}

/// An async producer on a tokio runtime feeding a consumer thread that
/// blocks, and the other way round, on the same kinds of channel.
#[test]
fn async_producer_blocking_consumer_and_back() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for cap in [0, 4] {
        // async -> blocking
        let (tx, rx) = chan::bounded(cap);
        let producer = runtime.spawn(async move {
            for i in 0..1_000 {
                tx.send(i).await.unwrap();
            }
        });
        let consumer = thread::spawn(move || rx.iter().collect::<Vec<_>>());
        assert_eq!(consumer.join().unwrap(), (0..1_000).collect::<Vec<_>>());
        runtime.block_on(producer).unwrap();

        // blocking -> async
        let (tx, rx) = chan::bounded(cap);
        let producer = thread::spawn(move || {
            for i in 0..1_000 {
                tx.send_blocking(i).unwrap();
            }
        });
        let got = runtime.block_on(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        });
        producer.join().unwrap();
        assert_eq!(got, (0..1_000).collect::<Vec<_>>());
    }
}

/// Blocking and async receivers competing on one channel each get a share,
/// and together get every item once.
#[test]
fn blocking_and_async_receivers_share_one_channel() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tx, rx) = chan::bounded(2);
    let blocking = {
        let rx = rx.clone();
        thread::spawn(move || rx.iter().collect::<Vec<_>>())
    };
    let asynchronous = runtime.spawn(async move {
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got
    });
    for i in 0..5_000 {
        tx.send_blocking(i).unwrap();
    }
    drop(tx);
    let mut all = blocking.join().unwrap();
    all.extend(runtime.block_on(asynchronous).unwrap());
    all.sort_unstable();
    assert_eq!(all, (0..5_000).collect::<Vec<_>>());
}
