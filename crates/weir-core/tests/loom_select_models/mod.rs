//! The models shared by `loom_select.rs` and its positive controls in
//! `loom_select_broken.rs`.
#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::thread;
use weir_core::chan;

pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Give-back (issue 18 §2): a receive polled once, then dropped (a branch
/// that lost a `tokio::select!`), while a sender sends 1 and then 2. If 1
/// was handed to the dropped receive, it goes back to the head of the
/// line: the next receives return 1, then 2 — nothing lost, order kept.
pub(crate) fn dropped_receive_gives_the_item_back_first() {
    model(|| {
        let (tx, rx) = chan::rendezvous::<u32>();
        let sender = thread::spawn(move || {
            tx.send_blocking(1).unwrap();
            tx.send_blocking(2).unwrap();
        });
        let mut got = Vec::new();
        {
            let mut recv = Box::pin(rx.recv());
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(v) = Pin::new(&mut recv).poll(&mut cx) {
                got.extend(v);
            }
            // Dropped here, before it is polled again.
        }
        while let Some(v) = rx.recv_blocking() {
            got.push(v);
        }
        sender.join().unwrap();
        assert_eq!(got, [1, 2], "a given-back item comes first, once");
    });
}

/// The claim protocol (issue 18 §1): a select of two send cases on two
/// unbuffered channels, each drained by a receiver on its own thread.
/// Both receives may be matched at once; exactly one gets the value, and
/// the other sees its channel closed once the select is over.
pub(crate) fn a_select_with_both_cases_matched_fires_one() {
    model(|| {
        let (a_tx, a) = chan::rendezvous::<u32>();
        let (b_tx, b) = chan::rendezvous::<u32>();
        let ra = thread::spawn(move || a.recv_blocking());
        let rb = thread::spawn(move || b.recv_blocking());
        let fired = chan::select_blocking! {
            r = send(a_tx, 1) => { r.unwrap(); 'a' },
            r = send(b_tx, 1) => { r.unwrap(); 'b' },
        };
        drop((a_tx, b_tx)); // the receive that got nothing sees the end
        let (got_a, got_b) = (ra.join().unwrap(), rb.join().unwrap());
        match fired {
            'a' => assert_eq!((got_a, got_b), (Some(1), None)),
            _ => assert_eq!((got_a, got_b), (None, Some(1))),
        }
    });
}

/// Two selects race for one sender: each waits on the sender's channel and
/// on a `done` channel. Exactly one select receives the item; the other is
/// released by `done` closing.
pub(crate) fn two_selects_race_for_one_sender() {
    model(|| {
        let (tx, rx) = chan::rendezvous::<u32>();
        let (done_tx, done) = chan::rendezvous::<()>();
        let selects: Vec<_> = (0..2)
            .map(|_| {
                let (rx, done) = (rx.clone(), done.clone());
                thread::spawn(move || {
                    chan::select_blocking! {
                        v = recv(rx) => v,
                        _ = recv(done) => None,
                    }
                })
            })
            .collect();
        drop((rx, done));
        tx.send_blocking(7).unwrap();
        drop(done_tx);
        let got: Vec<u32> = selects
            .into_iter()
            .filter_map(|s| s.join().unwrap())
            .collect();
        assert_eq!(got, [7], "exactly one select received the item");
    });
}
