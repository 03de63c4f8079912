//! Go's timer channels (`time.After`, `time.Tick`, a `nil` channel) as weir
//! channels, on tokio's paused clock; and the `select!` examples of the
//! `chan` docs (`src/chan/select.md`), checked here as they are written there.

use std::time::Duration;

use tokio::time::{advance, sleep, timeout, Instant};
use weir_core::chan::{self, TickError, TryRecvError};

const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Lets every woken task run (current-thread runtime).
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// Go: `<-time.After(d)` receives the time once `d` has passed.
#[tokio::test(start_paused = true)]
async fn after_fires_once_then_closes() {
    let start = Instant::now();
    let rx = chan::after(Duration::from_secs(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    advance(Duration::from_secs(4)).await;
    settle().await;
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "not yet");
    assert_eq!(rx.recv().await, Some(start + Duration::from_secs(5)));
    assert_eq!(rx.recv().await, None, "one value, then closed");
    assert!(rx.is_closed());
    settle().await;
    assert_eq!(alive_tasks(), 0);
}

/// Go: the value of `time.After` is buffered for a late reader.
#[tokio::test(start_paused = true)]
async fn after_value_waits_for_a_late_reader() {
    let start = Instant::now();
    let rx = chan::after(Duration::from_secs(1));
    sleep(Duration::from_secs(30)).await;
    assert_eq!(rx.try_recv(), Ok(start + Duration::from_secs(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

/// Go: `time.After(0)` fires at once.
#[tokio::test(start_paused = true)]
async fn after_zero_fires_at_once() {
    let start = Instant::now();
    let rx = chan::after(Duration::ZERO);
    assert_eq!(rx.recv().await, Some(start));
}

/// A delay too large to represent never fires and does not panic; dropping
/// the receiver ends the timer task.
#[tokio::test(start_paused = true)]
async fn after_max_never_fires() {
    let rx = chan::after(Duration::MAX);
    assert!(timeout(CENTURY, rx.recv()).await.is_err());
    assert_eq!(alive_tasks(), 1);
    drop(rx);
    settle().await;
    assert_eq!(alive_tasks(), 0);
}

/// An abandoned timeout (every receiver dropped, including clones) leaves
/// no task waiting for its delay.
#[tokio::test(start_paused = true)]
async fn dropped_after_stops_its_task() {
    let rx = chan::after(Duration::from_secs(3600));
    let other = rx.clone();
    settle().await;
    assert_eq!(alive_tasks(), 1);
    drop(rx);
    settle().await;
    assert_eq!(alive_tasks(), 1, "a clone still listens");
    drop(other);
    settle().await;
    assert_eq!(alive_tasks(), 0);
}

/// Go: `time.Tick(d)` delivers the time every `d`, the first after `d`.
#[tokio::test(start_paused = true)]
async fn tick_every_period() {
    let start = Instant::now();
    let ticks = chan::tick(Duration::from_millis(250)).unwrap();
    for k in 1..=8 {
        assert_eq!(
            ticks.recv().await,
            Some(start + Duration::from_millis(250) * k)
        );
    }
}

/// Go: a ticker's channel holds one tick; a slow reader finds that one and
/// the ticks it missed are dropped, not queued. The grid does not drift.
#[tokio::test(start_paused = true)]
async fn tick_drops_ticks_for_a_slow_reader() {
    let start = Instant::now();
    let ticks = chan::tick(Duration::from_secs(1)).unwrap();
    sleep(Duration::from_millis(10_500)).await;
    assert_eq!(ticks.len(), 1, "one tick buffered, nine dropped");
    assert_eq!(ticks.try_recv(), Ok(start + Duration::from_secs(1)));
    assert_eq!(ticks.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(ticks.recv().await, Some(start + Duration::from_secs(11)));
    assert_eq!(ticks.recv().await, Some(start + Duration::from_secs(12)));
}

/// A zero period is a typed error, not a panic or a spinning task.
#[tokio::test(start_paused = true)]
async fn tick_zero_is_an_error() {
    assert_eq!(
        chan::tick(Duration::ZERO).unwrap_err(),
        TickError::ZeroPeriod
    );
    assert_eq!(
        chan::tick(Duration::ZERO).unwrap_err().to_string(),
        "tick period is zero"
    );
    assert_eq!(alive_tasks(), 0);
    // The smallest period works.
    let start = Instant::now();
    let ticks = chan::tick(Duration::from_nanos(1)).unwrap();
    let first = ticks.recv().await.unwrap();
    assert!(first > start);
}

/// A period too large to represent never ticks and does not panic.
#[tokio::test(start_paused = true)]
async fn tick_max_never_ticks() {
    let ticks = chan::tick(Duration::MAX).unwrap();
    assert!(timeout(CENTURY, ticks.recv()).await.is_err());
    drop(ticks);
    settle().await;
    assert_eq!(alive_tasks(), 0);
}

/// The ticker task ends once every receiver is dropped.
#[tokio::test(start_paused = true)]
async fn tick_stops_when_every_receiver_is_dropped() {
    let ticks = chan::tick(Duration::from_secs(1)).unwrap();
    let clone = ticks.clone();
    assert!(ticks.recv().await.is_some());
    drop(ticks);
    assert!(clone.recv().await.is_some(), "a clone keeps it ticking");
    assert_eq!(alive_tasks(), 1);
    drop(clone);
    settle().await;
    assert_eq!(alive_tasks(), 0);
}

/// Go: receiving from a `nil` channel blocks for ever; it is never closed.
#[tokio::test(start_paused = true)]
async fn never_never_yields_nor_closes() {
    let rx = chan::never::<u32>();
    assert!(timeout(CENTURY, rx.recv()).await.is_err());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.is_closed());
    let clone = rx.clone();
    drop(rx);
    settle().await;
    assert!(!clone.is_closed());
    assert_eq!(alive_tasks(), 1);
    drop(clone);
    settle().await;
    assert_eq!(alive_tasks(), 0);
}

/// Go's idiom: a `nil` channel switches a `select` branch off.
#[tokio::test(start_paused = true)]
async fn never_switches_a_select_branch_off() {
    let (tx, rx) = chan::bounded(4);
    for i in 0..4 {
        tx.send(i).await.unwrap();
    }
    drop(tx);
    let mut timeout = chan::never();
    let mut got = Vec::new();
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => got.push(item),
                None => break,
            },
            _ = timeout.recv() => unreachable!("a never channel never fires"),
        }
        if got.len() == 2 {
            // From now on, give up after a second of silence... never needed.
            timeout = chan::after(Duration::from_secs(1));
        }
    }
    assert_eq!(got, [0, 1, 2, 3]);
}

/// `select.md`, first example: Go's `for { select { … } }` over a jobs
/// channel, a heartbeat ticker and an overall timeout.
#[tokio::test(start_paused = true)]
async fn select_md_for_select_loop() {
    use std::time::Duration;
    use weir_core::chan;

    let (tx, jobs) = chan::bounded::<u32>(8);
    tokio::spawn(async move {
        for job in 1..=3 {
            tx.send(job).await.unwrap();
            chan::after(Duration::from_millis(700)).recv().await; // Go's time.Sleep
        }
    }); // dropping `tx` closes `jobs`

    let heartbeat = chan::tick(Duration::from_secs(1)).unwrap();
    let give_up = chan::after(Duration::from_secs(10));
    let (mut sum, mut beats) = (0, 0);
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => sum += job,
                None => break, // closed and drained: every job is in
            },
            Some(_) = heartbeat.recv() => beats += 1,
            _ = give_up.recv() => panic!("jobs took too long"),
        }
    }
    assert_eq!((sum, beats), (6, 2));
}

/// A send with a deadline on a rendezvous channel, which completes only
/// when a receiver takes the item (an example `select.md` had before its
/// rewrite for `chan::select!`).
#[tokio::test(start_paused = true)]
async fn select_md_rendezvous_send_with_deadline() {
    use std::time::Duration;
    use weir_core::chan;

    let (tx, rx) = chan::rendezvous::<&str>();
    // Nobody is receiving: the send cannot complete, the deadline wins and
    // the losing send future drops its item.
    let deadline = chan::after(Duration::from_secs(1));
    let sent = tokio::select! {
        res = tx.send("ping") => res.is_ok(),
        _ = deadline.recv() => false,
    };
    assert!(!sent);
    assert!(
        rx.try_recv().is_err(),
        "the abandoned send left nothing behind"
    );

    // A receiver on the other side of a `select!`: the send completes once
    // the receive has taken the item.
    let (reply_tx, reply) = chan::bounded::<&str>(1);
    let deadline = chan::after(Duration::from_secs(1));
    let consumer = tokio::spawn(async move {
        let got = rx.recv().await;
        reply_tx.send(got.unwrap()).await.unwrap();
    });
    tokio::select! {
        res = tx.send("pong") => res.unwrap(),
        _ = deadline.recv() => panic!("the consumer is waiting"),
    }
    assert_eq!(reply.recv().await, Some("pong"));
    consumer.await.unwrap();
}

/// `select.md`, the `futures::select!` example: `futures::select!` needs fused futures, and
/// a future kept across turns must be pinned.
#[tokio::test(start_paused = true)]
async fn select_md_futures_select() {
    use futures::FutureExt;
    use std::time::Duration;
    use weir_core::chan;

    let (tx, jobs) = chan::bounded::<u32>(8);
    tx.send_all(vec![1, 2, 3]).await.unwrap();
    drop(tx);

    let timeout = chan::after(Duration::from_secs(10));
    let mut give_up = std::pin::pin!(timeout.recv().fuse()); // one timer for the whole loop
    let mut sum = 0;
    loop {
        futures::select! {
            job = jobs.recv().fuse() => match job {
                Some(job) => sum += job,
                None => break, // closed and drained
            },
            _ = give_up => panic!("jobs took too long"),
        }
    }
    assert_eq!(sum, 6);
}

/// A task never pairs with itself (issue 18 §2): a `tokio::select!` that
/// sends and receives on one unbuffered channel, with nobody else there,
/// completes neither (`chan::select!` is the Go-exact form).
#[tokio::test(start_paused = true)]
async fn select_md_no_self_receive() {
    use std::time::Duration;
    use weir_core::chan;

    let (tx, rx) = chan::rendezvous::<u32>();
    for _ in 0..100 {
        let quiet = chan::after(Duration::from_secs(1));
        tokio::select! {
            res = tx.send(7) => panic!("no one else receives, yet the send returned {res:?}"),
            item = rx.recv() => panic!("received its own send: {item:?}"),
            _ = quiet.recv() => {}
        }
    }
}
