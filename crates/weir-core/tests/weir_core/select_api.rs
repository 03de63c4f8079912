//! `chan::select!`, `chan::select_blocking!` and `chan::Select`: the API,
//! case by case (Go's own select programs are in `select_golang.rs`).

use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures::poll;
use weir_core::chan::{self, SendError};

#[tokio::test(flavor = "current_thread")]
async fn a_ready_receive_fires_with_its_item() {
    let (tx, rx) = chan::bounded(1);
    tx.send(5).await.unwrap();
    let (_tx2, rx2) = chan::bounded::<i32>(1);
    let got = chan::select! {
        v = recv(rx) => v,
        v = recv(&rx2) => v.map(|v| v + 100),
    };
    assert_eq!(got, Some(5));
}

#[tokio::test(flavor = "current_thread")]
async fn a_closed_receiver_fires_with_none_and_a_closed_sender_returns_the_item() {
    let (tx, rx) = chan::bounded::<u8>(1);
    drop(tx);
    assert_eq!(chan::select! { v = recv(rx) => v }, None);
    let (tx, rx) = chan::rendezvous::<u8>();
    drop(rx);
    let r = chan::select! { r = send(tx, 3) => r };
    assert_eq!(r, Err(SendError(3)));
}

#[tokio::test(flavor = "current_thread")]
async fn default_fires_only_when_nothing_is_ready() {
    let (tx, rx) = chan::bounded::<u8>(1);
    let got = chan::select! { v = recv(rx) => v, default => Some(99) };
    assert_eq!(got, Some(99));
    tx.try_send(1).unwrap();
    let got = chan::select! { v = recv(rx) => v, default => Some(99) };
    assert_eq!(got, Some(1));
}

#[tokio::test(flavor = "current_thread")]
async fn biased_picks_the_first_ready_case() {
    let (a_tx, a) = chan::bounded(4);
    let (b_tx, b) = chan::bounded(4);
    for i in 0..4 {
        a_tx.try_send(i).unwrap();
        b_tx.try_send(10 + i).unwrap();
    }
    for i in 0..4 {
        let got = chan::select! { biased; v = recv(a) => v, v = recv(b) => v };
        assert_eq!(got, Some(i));
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_timer_case_fires_when_nothing_else_does() {
    let (_tx, rx) = chan::rendezvous::<u8>();
    let fired = chan::select! {
        _ = recv(rx) => false,
        _ = recv(chan::after(Duration::from_secs(1))) => true,
    };
    assert!(fired);
}

/// A `None` source switches its case off, like Go's nil channel.
#[tokio::test(flavor = "current_thread")]
async fn a_none_source_never_fires() {
    let (tx, rx) = chan::bounded(1);
    tx.try_send(1).unwrap();
    let off: Option<&chan::Receiver<i32>> = None;
    for _ in 0..10 {
        let got = chan::select! {
            _ = recv(off) => unreachable!("switched off"),
            default => 0,
        };
        assert_eq!(got, 0);
    }
    let got = chan::select! { _ = recv(off) => unreachable!(), v = recv(rx) => v };
    assert_eq!(got, Some(1));
}

/// Go's send into a waiting select's receive case: the sender hands the
/// item straight to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_select_is_handed_an_item() {
    let (a_tx, a) = chan::rendezvous::<u32>();
    let (_b_tx, b) = chan::rendezvous::<u32>();
    let sel = tokio::spawn(async move {
        chan::select! { v = recv(a) => ('a', v), v = recv(b) => ('b', v) }
    });
    a_tx.send(7).await.unwrap();
    assert_eq!(sel.await.unwrap(), ('a', Some(7)));
}

/// A select dropped while waiting fired nothing: an item handed to it goes
/// back to the head of the line; a send case left nothing behind.
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_select_fires_nothing() {
    let (tx, rx) = chan::rendezvous::<u32>();
    let (tx2, rx2) = chan::rendezvous::<u32>();
    {
        let mut sel = Box::pin(async {
            chan::select! { v = recv(rx) => v, r = send(tx2, 1) => r.ok().map(|()| 0) }
        });
        assert!(poll!(&mut sel).is_pending());
        // Another "task" (no task identity here: a try from outside) hands
        // the select an item; the select is dropped before it runs again.
        assert_eq!(tx.try_send(9), Ok(()));
    }
    assert_eq!(rx.try_recv(), Ok(9), "the item went back to the line");
    assert!(rx2.try_recv().is_err(), "the send case sent nothing");
}

#[test]
fn the_dynamic_select_fires_one_case_of_many() {
    let chans: Vec<_> = (0..100).map(|_| chan::bounded::<usize>(1)).collect();
    chans[37].0.try_send(37).unwrap();
    let mut sel = chan::Select::new();
    let idx: Vec<usize> = chans.iter().map(|(_, rx)| sel.recv(rx)).collect();
    let done = sel.select_blocking();
    assert_eq!(done.index(), idx[37]);
    assert_eq!(done.recv(&chans[37].1), Some(37));
}

#[test]
#[should_panic(expected = "not on this receiver's channel")]
fn selected_recv_checks_the_channel() {
    let (tx, rx) = chan::bounded::<u8>(1);
    let (_tx2, rx2) = chan::bounded::<u8>(1);
    tx.try_send(1).unwrap();
    let mut sel = chan::Select::new();
    sel.recv(&rx);
    let _ = sel.try_select().unwrap().recv(&rx2);
}

#[test]
fn blocking_select_waits_for_a_thread() {
    let (tx, rx) = chan::rendezvous::<u32>();
    let (_keep, never) = chan::rendezvous::<u32>();
    let t = std::thread::spawn(move || tx.send_blocking(3));
    let got = chan::select_blocking! { v = recv(never) => v, v = recv(rx) => v };
    assert_eq!(got, Some(3));
    t.join().unwrap().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_pending_select_send_completes_when_a_receiver_comes() {
    let (tx, rx) = chan::rendezvous::<u32>();
    let mut sel = pin!(async {
        chan::select! { r = send(tx, 4) => r }
    });
    assert!(poll!(&mut sel).is_pending());
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(poll!(&mut sel), Poll::Ready(Ok(())));
}
