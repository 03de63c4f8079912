//! The models shared by `loom_wake.rs` and its positive control.
#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use loom::thread;
use weir_core::chan;

fn model(broken: bool, f: impl Fn() + Sync + Send + 'static) {
    if broken {
        chan::__loom_break_wake_rule();
    }
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Polls once with a waker nobody will ever act on, as a future kept alive
/// in a losing `select!` branch.
fn poll_once_and_forget<F: Future>(f: std::pin::Pin<&mut F>) {
    let mut cx = Context::from_waker(Waker::noop());
    assert!(f.poll(&mut cx).is_pending());
}

/// `bounded(2)`: a receive polled once and forgotten, a live receiver on
/// another thread, one item sent: the live receiver gets it.
pub(crate) fn forgotten_receive(broken: bool) {
    model(broken, || {
        let (tx, rx) = chan::bounded::<u32>(2);
        let mut forgotten = pin!(rx.recv());
        poll_once_and_forget(forgotten.as_mut());
        let rx2 = rx.clone();
        let live = thread::spawn(move || rx2.recv_blocking());
        tx.try_send(1).unwrap();
        assert_eq!(live.join().unwrap(), Some(1));
    });
}

/// `bounded(1)`, full: a send polled once and forgotten, a live sender on
/// another thread, one receive: the live sender gets the slot.
pub(crate) fn forgotten_send(broken: bool) {
    model(broken, || {
        let (tx, rx) = chan::bounded::<u32>(1);
        tx.try_send(0).unwrap();
        let mut forgotten = pin!(tx.send(100));
        poll_once_and_forget(forgotten.as_mut());
        let tx2 = tx.clone();
        let live = thread::spawn(move || tx2.send_blocking(2));
        assert_eq!(rx.recv_blocking(), Some(0));
        live.join().unwrap().unwrap();
        assert_eq!(rx.try_recv(), Ok(2), "the forgotten send sent nothing");
    });
}

/// Rendezvous: a forgotten receive and a live receiver; a sender sends one
/// item. Go's contract may hand it to the forgotten receive (the send
/// completes at once); that future is then dropped, as a losing branch is,
/// and the item goes back to the head of the line: the live receiver gets
/// it either way.
pub(crate) fn forgotten_rendezvous_receive(broken: bool) {
    model(broken, || {
        let (tx, rx) = chan::rendezvous::<u32>();
        let mut forgotten = Box::pin(rx.recv());
        poll_once_and_forget(forgotten.as_mut());
        let rx2 = rx.clone();
        let live = thread::spawn(move || rx2.recv_blocking());
        tx.send_blocking(5).unwrap();
        drop(forgotten);
        assert_eq!(live.join().unwrap(), Some(5));
    });
}
