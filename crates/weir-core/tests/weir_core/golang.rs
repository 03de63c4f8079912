//! Go-parity tests: each test names the Go behaviour it matches, from the Go
//! spec (<https://go.dev/ref/spec#Channel_types>) or Go's runtime channel
//! tests (`src/runtime/chan_test.go`), and checks that weir's channel does
//! the same — or, where Go panics, the documented weir equivalent.
//!
//! Written for weir; the cases follow Go, not another crate's test file.

use std::collections::HashSet;
use std::pin::pin;
use std::thread;

use futures::{poll, StreamExt};
use weir_core::chan::{self, Receiver, SendError, Sender, TryRecvError, TrySendError};

/// Go spec: "Channels act as first-in-first-out queues." With several
/// senders, each sender's items arrive in the order it sent them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifo_order_per_sender() {
    const SENDERS: u32 = 4;
    const PER_SENDER: u32 = 2_000;
    let (tx, rx) = chan::bounded(8);
    for id in 0..SENDERS {
        let tx = tx.clone();
        tokio::spawn(async move {
            for seq in 0..PER_SENDER {
                tx.send((id, seq)).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut next = [0; SENDERS as usize];
    while let Some((id, seq)) = rx.recv().await {
        assert_eq!(seq, next[id as usize], "sender {id} out of order");
        next[id as usize] += 1;
    }
    assert_eq!(next, [PER_SENDER; SENDERS as usize]);
}

/// Go's `TestChan` ("Ensure that send to a full chan blocks", for every
/// capacity): a buffered send completes at once until `cap` items are
/// buffered, and the next one waits for a receive.
#[tokio::test(flavor = "current_thread")]
async fn buffered_send_does_not_block_until_cap() {
    for cap in 1..=5 {
        let (tx, rx) = chan::bounded(cap);
        for i in 0..cap {
            // Each send is ready on its first poll: it never waits.
            assert_eq!(poll!(pin!(tx.send(i))), std::task::Poll::Ready(Ok(())));
        }
        let mut blocked = pin!(tx.send(cap));
        assert!(
            poll!(&mut blocked).is_pending(),
            "cap {cap}: send past cap must wait"
        );
        assert_eq!(rx.recv().await, Some(0));
        assert_eq!(blocked.await, Ok(()));
        for i in 1..=cap {
            assert_eq!(rx.try_recv(), Ok(i));
        }
    }
}

/// Go's `TestChan` for `cap == 0` and the spec: "If the capacity is zero or
/// absent, the channel is unbuffered and communication succeeds only when
/// both a sender and receiver are ready."
#[tokio::test(flavor = "current_thread")]
async fn unbuffered_send_blocks_until_a_receiver_arrives() {
    let (tx, rx) = chan::bounded(0);
    let mut send = pin!(tx.send(7));
    for _ in 0..3 {
        assert!(poll!(&mut send).is_pending());
        tokio::task::yield_now().await;
    }
    // Go: `len` of an unbuffered channel is 0 even with a blocked sender.
    assert_eq!(tx.len(), 0);
    let receiver = tokio::spawn(async move { rx.recv().await });
    assert_eq!(send.await, Ok(()));
    assert_eq!(receiver.await.unwrap(), Some(7));
}

/// Go's `TestChan` ("Ensure that receive from empty chan blocks", for every
/// capacity): a receive waits until an item is sent.
#[tokio::test(flavor = "current_thread")]
async fn receive_from_empty_channel_blocks() {
    for cap in 0..=3 {
        let (tx, rx) = chan::bounded::<u32>(cap);
        let mut recv = pin!(rx.recv());
        assert!(poll!(&mut recv).is_pending());
        tokio::task::yield_now().await;
        assert!(poll!(&mut recv).is_pending());
        let sender = tokio::spawn(async move { tx.send(cap as u32).await });
        assert_eq!(recv.await, Some(cap as u32));
        sender.await.unwrap().unwrap();
    }
}

/// Go spec: after `close`, "a receive operation on a closed channel can
/// always proceed immediately, yielding the element type's zero value after
/// any previously sent values have been received" (`v, ok := <-ch` gives
/// `ok == false`). Here: the buffered items, then `None`, every time.
#[tokio::test(flavor = "current_thread")]
async fn close_then_receivers_drain_then_see_the_end() {
    let (tx, rx) = chan::bounded(4);
    for i in 1..=3 {
        tx.send(i).await.unwrap();
    }
    assert!(tx.close());
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, Some(3));
    for _ in 0..3 {
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
}

/// Go's `TestChan` ("Ensure that close unblocks receive", for every
/// capacity): a receiver blocked on an empty channel wakes up on close.
#[tokio::test(flavor = "current_thread")]
async fn close_unblocks_a_blocked_receive() {
    for cap in 0..=3 {
        let (tx, rx) = chan::bounded::<u8>(cap);
        let receiver = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await; // let it block
        tx.close();
        assert_eq!(receiver.await.unwrap(), None, "cap {cap}");
    }
}

/// Go spec: "Sending to a closed channel causes a run-time panic", and a
/// sender blocked when the channel is closed panics too (`TestChan`, "Ensure
/// that close unblocks send"). weir returns the item in a `SendError`.
#[tokio::test(flavor = "current_thread")]
async fn send_on_closed_channel_returns_the_item() {
    for cap in 0..=3 {
        let (tx, rx) = chan::bounded(cap);
        for i in 0..cap {
            tx.send(i).await.unwrap();
        }
        // A send blocked on the full (or unbuffered) channel...
        let mut blocked = pin!(tx.send(100));
        assert!(poll!(&mut blocked).is_pending());
        tx.close();
        // ...is released with its item,
        assert_eq!(blocked.await, Err(SendError(100)));
        // and a later send fails at once with its item.
        assert_eq!(tx.send(101).await, Err(SendError(101)));
        assert_eq!(tx.try_send(102), Err(TrySendError::Closed(102)));
        assert_eq!(tx.send_blocking(103), Err(SendError(103)));
        drop(rx);
    }
}

/// Go spec: "Closing a closed channel causes a run-time panic." Here the
/// second `close` returns `false`, from any clone.
#[test]
fn close_twice_returns_false_instead_of_panicking() {
    let (tx, rx) = chan::bounded::<()>(1);
    let tx2 = tx.clone();
    assert!(tx.close());
    assert!(!tx.close());
    assert!(!tx2.close());
    drop((tx, tx2)); // the implicit close of the last sender is harmless too
    assert_eq!(rx.recv_blocking(), None);
}

/// Go spec: `len(ch)` is the number of elements queued in the buffer,
/// `cap(ch)` the buffer capacity; an unbuffered channel has capacity zero.
#[test]
fn len_and_cap() {
    let (tx, rx) = chan::bounded(3);
    assert_eq!((tx.len(), tx.capacity()), (0, Some(3)));
    tx.try_send('a').unwrap();
    tx.try_send('b').unwrap();
    assert_eq!((tx.len(), rx.len()), (2, 2));
    assert!(!tx.is_empty() && !tx.is_full());
    tx.try_send('c').unwrap();
    assert!(tx.is_full());
    rx.try_recv().unwrap();
    assert_eq!(rx.len(), 2);

    let (tx0, rx0) = chan::bounded::<u8>(0);
    assert_eq!(
        (tx0.len(), tx0.capacity(), rx0.capacity()),
        (0, Some(0), Some(0))
    );
    let (txu, rxu) = chan::unbounded::<u8>();
    assert_eq!((txu.capacity(), rxu.capacity()), (None, None));
}

/// Go's classic concurrent prime sieve (the Go playground's `sieve.go`):
/// a generator feeds a chain of filter goroutines over unbuffered channels,
/// one filter per prime found. Here the first 100 primes. When the test drops
/// the end of the chain, each stage's send fails and it returns, dropping
/// its input: the whole chain shuts down stage by stage.
#[tokio::test(flavor = "current_thread")]
async fn prime_sieve_first_100_primes() {
    async fn generate(tx: Sender<u32>) {
        for i in 2.. {
            if tx.send(i).await.is_err() {
                return;
            }
        }
    }

    async fn filter(input: Receiver<u32>, output: Sender<u32>, prime: u32) {
        while let Some(i) = input.recv().await {
            if i % prime != 0 && output.send(i).await.is_err() {
                return;
            }
        }
    }

    let (tx, mut ch) = chan::rendezvous();
    let mut stages = vec![tokio::spawn(generate(tx))];
    let mut primes = Vec::new();
    for _ in 0..100 {
        let prime = ch.recv().await.unwrap();
        primes.push(prime);
        let (tx1, ch1) = chan::rendezvous();
        stages.push(tokio::spawn(filter(ch, tx1, prime)));
        ch = ch1;
    }
    drop(ch);
    for stage in stages {
        stage.await.unwrap(); // every stage ends once its output is gone
    }

    let expected: Vec<u32> = (2..)
        .filter(|&n: &u32| (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .take(100)
        .collect();
    assert_eq!(primes, expected);
    assert_eq!(primes[99], 541);
}

/// Go's `TestMultiConsumer`: several workers `range` over one jobs channel
/// and send results to a second channel, closed once every worker is done;
/// every job is delivered exactly once. Here the jobs channel closes when the
/// feeders drop their senders, and the results channel when the workers do.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_senders_many_receivers_deliver_each_item_exactly_once() {
    const FEEDERS: u64 = 3;
    const WORKERS: usize = 7;
    const PER_FEEDER: u64 = 5_000;
    let (jobs_tx, jobs) = chan::bounded(WORKERS * 3);
    let (results_tx, results) = chan::bounded(WORKERS * 3);
    for w in 0..WORKERS {
        let (jobs, results_tx) = (jobs.clone(), results_tx.clone());
        tokio::spawn(async move {
            while let Some(v) = jobs.recv().await {
                if v % 7 == w as u64 {
                    tokio::task::yield_now().await; // mess with the FIFO-ish order
                }
                results_tx.send(v).await.unwrap();
            }
        });
    }
    drop((jobs, results_tx));
    for f in 0..FEEDERS {
        let jobs_tx = jobs_tx.clone();
        tokio::spawn(async move {
            for i in 0..PER_FEEDER {
                jobs_tx.send(f * PER_FEEDER + i).await.unwrap();
            }
        });
    }
    drop(jobs_tx);

    let total = FEEDERS * PER_FEEDER;
    let mut seen = HashSet::new();
    let mut sum = 0;
    while let Some(v) = results.recv().await {
        assert!(seen.insert(v), "{v} delivered twice");
        sum += v;
    }
    assert_eq!(seen.len() as u64, total);
    assert_eq!(sum, total * (total - 1) / 2);
}

/// Go's `select` with a `default` case is a non-blocking send or receive:
/// `select { case ch <- v: default: }` and `select { case v, ok := <-ch:
/// default: }`. Here `try_send` and `try_recv`.
#[test]
fn select_with_default_is_try_send_and_try_recv() {
    let (tx, rx) = chan::bounded(1);
    // Receive from an empty channel: the default case.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Send with room: the send case.
    assert_eq!(tx.try_send(1), Ok(()));
    // Send on a full channel: the default case, the item comes back.
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    // Receive with an item: the receive case.
    assert_eq!(rx.try_recv(), Ok(1));
    // Unbuffered with nobody waiting: the default case.
    let (tx0, _rx0) = chan::bounded(0);
    assert_eq!(tx0.try_send(3), Err(TrySendError::Full(3)));
    // Closed: a receive case is ready with `ok == false`; a send panics in
    // Go and is `Closed` with the item here.
    tx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
}

/// Go's `TestNonblockRecvRace`: a non-blocking receive on a channel holding
/// an item must succeed even while another goroutine closes the channel;
/// one of the two sides gets the item, never neither and never both.
#[test]
fn nonblocking_receive_races_close() {
    for _ in 0..200 {
        let (tx, rx) = chan::bounded(1);
        tx.try_send(1).unwrap();
        let rx2 = rx.clone();
        let racer = thread::spawn(move || match rx2.try_recv() {
            Ok(v) => Some(v),
            Err(TryRecvError::Closed) => None,
            Err(TryRecvError::Empty) => panic!("channel is not ready: the item vanished"),
        });
        tx.close();
        let mine = rx.recv_blocking();
        let theirs = racer.join().unwrap();
        assert_eq!(
            (mine, theirs),
            if mine.is_some() {
                (Some(1), None)
            } else {
                (None, Some(1))
            }
        );
    }
}

/// Go's `for v := range ch` receives until the channel is closed and
/// drained. Here the `Receiver` is a `Stream`.
#[tokio::test(flavor = "current_thread")]
async fn range_over_a_channel_is_a_stream() {
    let (tx, rx) = chan::bounded(2);
    tokio::spawn(async move {
        for i in 0..10 {
            tx.send(i).await.unwrap();
        }
    });
    let mut got = Vec::new();
    let mut rx = rx;
    while let Some(v) = rx.next().await {
        got.push(v);
    }
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    // And with a combinator, like the body of a range loop.
    let (tx, rx) = chan::unbounded();
    (1..=4).for_each(|i| tx.try_send(i).unwrap());
    drop(tx);
    assert_eq!(rx.map(|v| v * v).collect::<Vec<_>>().await, [1, 4, 9, 16]);
}

/// Ping-pong over two unbuffered channels (Go's `BenchmarkChanSync` and the
/// "ping-pong" pattern): each send completes only when the other side
/// receives, so the ball alternates strictly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_pong_over_two_unbuffered_channels() {
    const ROUNDS: u32 = 1_000;
    let (ping_tx, ping_rx) = chan::rendezvous::<u32>();
    let (pong_tx, pong_rx) = chan::rendezvous::<u32>();
    let player = tokio::spawn(async move {
        while let Some(ball) = ping_rx.recv().await {
            pong_tx.send(ball + 1).await.unwrap();
        }
    });
    let mut ball = 0;
    for round in 0..ROUNDS {
        ping_tx.send(ball).await.unwrap();
        ball = pong_rx.recv().await.unwrap();
        assert_eq!(ball, 2 * round + 1);
        ball += 1;
    }
    drop(ping_tx);
    player.await.unwrap();
    assert_eq!(pong_rx.recv().await, None);
}

/// Rob Pike's daisy chain ("Go Concurrency Patterns", 2012): 10,000
/// goroutines linked by unbuffered channels, each doing
/// `left <- 1 + <-right`; a value sent into the right end comes out of the
/// left end increased by one per stage.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipeline_of_chained_stages() {
    const STAGES: usize = 10_000;
    let (leftmost_tx, leftmost) = chan::rendezvous::<usize>();
    let mut left = leftmost_tx;
    for _ in 0..STAGES {
        let (right_tx, right) = chan::rendezvous::<usize>();
        let out = left;
        tokio::spawn(async move {
            let v = right.recv().await.unwrap();
            out.send(v + 1).await.unwrap();
        });
        left = right_tx;
    }
    left.send(1).await.unwrap();
    assert_eq!(leftmost.recv().await, Some(STAGES + 1));
}
