//! Go's select tests on `chan::select!`: each test names the Go program it
//! ports (`src/runtime/chan_test.go`, `test/chan/*.go`), written fresh for
//! weir. One goroutine is one task: each program runs on tokio's
//! multi-thread runtime and on one OS thread per goroutine under
//! `futures::executor::block_on` (the [`Rt`] helper); the blocking form
//! (`select_blocking!` on threads) has its own ports at the end.
//!
//! Long variants: `WEIR_LONG_TESTS=1` scales the iteration counts up.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use weir_core::chan::{self, Receiver, Sender};

/// `n`, or `n × 10` with `WEIR_LONG_TESTS=1`.
fn scaled(n: usize) -> usize {
    if std::env::var_os("WEIR_LONG_TESTS").is_some_and(|v| v != "0") {
        n * 10
    } else {
        n
    }
}

type Program = Box<dyn FnOnce(Go) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Where a program's goroutines run.
#[derive(Clone, Copy, Debug)]
enum Rt {
    /// tokio tasks on a 2-thread runtime.
    Tokio,
    /// One OS thread per goroutine, each under `futures::executor::block_on`.
    Threads,
}

/// Starts goroutines.
#[derive(Clone, Copy)]
struct Go(Rt);

enum Handle {
    Tokio(tokio::task::JoinHandle<()>),
    Thread(thread::JoinHandle<()>),
}

impl Go {
    fn go(self, f: impl Future<Output = ()> + Send + 'static) -> Handle {
        match self.0 {
            Rt::Tokio => Handle::Tokio(tokio::spawn(f)),
            Rt::Threads => Handle::Thread(thread::spawn(move || futures::executor::block_on(f))),
        }
    }
}

impl Handle {
    async fn join(self) {
        match self {
            Handle::Tokio(h) => h.await.unwrap(),
            // The joining goroutine is a thread of its own: blocking is fine.
            Handle::Thread(h) => h.join().unwrap(),
        }
    }
}

/// Runs `program` on both runtimes.
fn both(program: impl Fn(Go) -> Program) {
    for rt in [Rt::Tokio, Rt::Threads] {
        let main = program(Go(rt))(Go(rt));
        match rt {
            Rt::Tokio => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(main),
            Rt::Threads => futures::executor::block_on(main),
        }
    }
}

macro_rules! program {
    (|$go:ident| $body:block) => {
        |_| -> Program { Box::new(move |$go: Go| Box::pin(async move $body)) }
    };
}

/// `TestSelfSelect`: two goroutines each select a send and a receive on
/// one channel. On an unbuffered channel a select never receives its own
/// value; a buffered one may.
#[test]
fn test_self_select() {
    both(program!(|go| {
        for cap in [0usize, 10] {
            let (tx, rx) = chan::bounded::<usize>(cap);
            let n = scaled(1000);
            let hs: Vec<_> = (0..2usize)
                .map(|p| {
                    let (tx, rx) = (tx.clone(), rx.clone());
                    go.go(async move {
                        for i in 0..n {
                            // The goroutine that is done first must not
                            // leave the other one without a partner: the
                            // last turn of p == 1 only receives or sends.
                            let _ = i;
                            chan::select! {
                                r = send(tx, p) => r.unwrap(),
                                v = recv(rx) => {
                                    if cap == 0 {
                                        assert_ne!(v, Some(p), "self receive");
                                    }
                                },
                            }
                        }
                    })
                })
                .collect();
            // Each select fires once: on an unbuffered channel each
            // exchange fires one select of each goroutine, so both finish
            // together. On a buffered one, drain what is left over.
            for h in hs {
                h.join().await;
            }
            while rx.try_recv().is_ok() {}
        }
    }));
}

/// `TestPseudoRandomSend`: a select of two sends of 0 and 1 on one
/// unbuffered channel; the receiver sees both values, each often.
#[test]
fn test_pseudo_random_send() {
    both(program!(|go| {
        let n = 100;
        let (tx, rx) = chan::rendezvous::<u8>();
        let receiver = go.go(async move {
            let mut got = [0usize; 2];
            for _ in 0..n {
                got[usize::from(rx.recv().await.unwrap())] += 1;
            }
            assert!(got[0] >= n / 10 && got[1] >= n / 10, "not random: {got:?}");
        });
        for _ in 0..n {
            chan::select! {
                r = send(tx, 0) => r.unwrap(),
                r = send(tx, 1) => r.unwrap(),
            }
        }
        receiver.join().await;
    }));
}

/// `TestSelectStress`: four channels (two unbuffered, capacities 2 and 3);
/// per channel a plain sender and a plain receiver of `n` items, plus one
/// goroutine sending `n` items to each in one select (switching a channel
/// off, Go's `nil`, once it has sent `n` there) and one receiving `n` from
/// each the same way. Everyone finishes; every count adds up.
#[test]
fn test_select_stress() {
    both(program!(|go| {
        let n = scaled(2_000);
        let chans: Vec<(Sender<u32>, Receiver<u32>)> =
            [0, 0, 2, 3].iter().map(|&c| chan::bounded(c)).collect();
        let mut hs = Vec::new();
        for (tx, rx) in &chans {
            let tx = tx.clone();
            hs.push(go.go(async move {
                for _ in 0..n {
                    tx.send(0).await.unwrap();
                }
            }));
            let rx = rx.clone();
            hs.push(go.go(async move {
                for _ in 0..n {
                    rx.recv().await.unwrap();
                }
            }));
        }
        let txs: Vec<Sender<u32>> = chans.iter().map(|(t, _)| t.clone()).collect();
        hs.push(go.go(async move {
            let mut left = [n; 4];
            for _ in 0..4 * n {
                let on = |k: usize| (left[k] > 0).then_some(&txs[k]);
                let (t0, t1, t2, t3) = (on(0), on(1), on(2), on(3));
                let k = chan::select! {
                    r = send(t0, 0) => { r.unwrap(); 0 },
                    r = send(t1, 0) => { r.unwrap(); 1 },
                    r = send(t2, 0) => { r.unwrap(); 2 },
                    r = send(t3, 0) => { r.unwrap(); 3 },
                };
                left[k] -= 1;
            }
        }));
        let rxs: Vec<Receiver<u32>> = chans.iter().map(|(_, r)| r.clone()).collect();
        hs.push(go.go(async move {
            let mut left = [n; 4];
            for _ in 0..4 * n {
                let on = |k: usize| (left[k] > 0).then_some(&rxs[k]);
                let (r0, r1, r2, r3) = (on(0), on(1), on(2), on(3));
                let k = chan::select! {
                    v = recv(r0) => { v.unwrap(); 0 },
                    v = recv(r1) => { v.unwrap(); 1 },
                    v = recv(r2) => { v.unwrap(); 2 },
                    v = recv(r3) => { v.unwrap(); 3 },
                };
                left[k] -= 1;
            }
        }));
        for h in hs {
            h.join().await;
        }
        for (_, rx) in &chans {
            assert!(rx.try_recv().is_err(), "every item was received");
        }
    }));
}

/// `TestSelectFairness`: two always-ready buffered channels and two never
/// ready ones; over many selects each ready case is chosen about half the
/// time (Go's bound: within 4 standard deviations, a 1-in-15,000 miss).
#[test]
fn test_select_fairness() {
    let trials = 10_000usize;
    let (c1_tx, c1) = chan::bounded::<u8>(trials);
    let (c2_tx, c2) = chan::bounded::<u8>(trials);
    for _ in 0..trials {
        c1_tx.try_send(1).unwrap();
        c2_tx.try_send(2).unwrap();
    }
    let (c3, _c3_rx) = chan::rendezvous::<u8>(); // nobody receives
    let (_c4_tx, c4) = chan::rendezvous::<u8>(); // nobody sends
    let mut counts = [0usize; 2];
    for _ in 0..trials {
        let k = chan::select_blocking! {
            _ = recv(c1) => 0,
            _ = recv(c2) => 1,
            _ = send(c3, 0) => unreachable!("nobody receives"),
            _ = recv(c4) => unreachable!("nobody sends"),
        };
        counts[k] += 1;
    }
    let r = counts[0] as f64 / trials as f64;
    let e = (r - 0.5).abs();
    let bound = 4.0 * (0.25 / trials as f64).sqrt();
    assert!(e <= bound, "unfair: {counts:?}");
}

/// `TestNonblockRecvRace`: a select with `default` on a channel that holds
/// an item or is closed never takes `default` (either is ready).
#[test]
fn test_nonblock_recv_race() {
    both(program!(|go| {
        for _ in 0..scaled(300) {
            let (tx, rx) = chan::bounded::<u8>(1);
            tx.try_send(1).unwrap();
            let rx2 = rx.clone();
            let h = go.go(async move {
                chan::select! {
                    _ = recv(rx2) => {},
                    default => panic!("chan is not ready"),
                }
            });
            drop(tx);
            let _ = rx.try_recv();
            h.join().await;
        }
    }));
}

/// `TestSelectDuplicateChannel`: a select that receives twice from one
/// channel (and from another) must leave that channel's queue intact for
/// a plain receiver that waits on it meanwhile.
#[test]
fn test_select_duplicate_channel() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (c_tx, c) = chan::rendezvous::<u32>();
        let (d_tx, d) = chan::rendezvous::<u32>();
        let (e_tx, e) = chan::rendezvous::<u32>();
        let c2 = c.clone();
        tokio::spawn(async move {
            chan::select! {
                _ = recv(c2) => panic!("nobody sends on c first"),
                _ = recv(c2) => panic!("nobody sends on c first"),
                v = recv(d) => assert_eq!(v, Some(7)),
            }
            e_tx.send(9).await.unwrap();
        });
        tokio::task::yield_now().await; // the select waits on c, c and d
        let plain = tokio::spawn(async move { c.recv().await });
        tokio::task::yield_now().await; // the plain receive waits on c too
        d_tx.send(7).await.unwrap();
        assert_eq!(e.recv().await, Some(9));
        c_tx.send(8).await.unwrap();
        assert_eq!(plain.await.unwrap(), Some(8));
    });
}

/// `TestMultiConsumer`: workers share one jobs channel (`for v := range
/// q`), some yielding now and then; the results count and sum match what
/// was sent.
#[test]
fn test_multi_consumer() {
    both(program!(|go| {
        let nwork = 23;
        let niter = scaled(5_000);
        let pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
        let (q_tx, q) = chan::bounded::<usize>(nwork * 3);
        let (r_tx, r) = chan::bounded::<usize>(nwork * 3);
        let workers: Vec<_> = (0..nwork)
            .map(|w| {
                let (q, r_tx) = (q.clone(), r_tx.clone());
                go.go(async move {
                    while let Some(v) = q.recv().await {
                        if pn[w % pn.len()] == v {
                            yield_now().await; // Go's runtime.Gosched()
                        }
                        r_tx.send(v).await.unwrap();
                    }
                })
            })
            .collect();
        drop((q, r_tx));
        let producer = go.go(async move {
            for i in 0..niter {
                q_tx.send(i).await.unwrap();
            }
        });
        let (mut n, mut s) = (0, 0);
        while let Some(v) = r.recv().await {
            n += 1;
            s += v;
        }
        producer.join().await;
        for w in workers {
            w.join().await;
        }
        assert_eq!((n, s), (niter, niter * (niter - 1) / 2));
    }));
}

/// `test/chan/doubleselect.go`: a sender selects each value into one of
/// four unbuffered channels; four forwarders move them into one channel;
/// the checker sees every value exactly once.
#[test]
fn doubleselect() {
    both(program!(|go| {
        let n = scaled(5_000);
        let chans: Vec<(Sender<usize>, Receiver<usize>)> =
            (0..4).map(|_| chan::rendezvous()).collect();
        let txs: Vec<Sender<usize>> = chans.iter().map(|(t, _)| t.clone()).collect();
        let sender = go.go(async move {
            for i in 0..n {
                chan::select! {
                    r = send(txs[0], i) => r.unwrap(),
                    r = send(txs[1], i) => r.unwrap(),
                    r = send(txs[2], i) => r.unwrap(),
                    r = send(txs[3], i) => r.unwrap(),
                }
            }
        }); // dropping txs closes the four channels
        let (mux_tx, mux) = chan::rendezvous::<usize>();
        let mut forwarders = Vec::new();
        for (_, rx) in chans {
            let mux_tx = mux_tx.clone();
            forwarders.push(go.go(async move {
                while let Some(v) = rx.recv().await {
                    mux_tx.send(v).await.unwrap();
                }
            }));
        }
        drop(mux_tx);
        let mut seen = vec![false; n];
        while let Some(v) = mux.recv().await {
            assert!(!seen[v], "{v} received twice");
            seen[v] = true;
        }
        assert!(seen.iter().all(|&s| s), "a value was lost");
        sender.join().await;
        for f in forwarders {
            f.join().await;
        }
    }));
}

/// `test/chan/nonblock.go`: non-blocking receives and sends (select with
/// `default`) on unbuffered and buffered channels: nothing when nobody is
/// there, and success once a goroutine waits on the other side.
#[test]
fn nonblock() {
    both(program!(|go| {
        for cap in [0usize, 1] {
            let (tx, rx) = chan::bounded::<u32>(cap);
            let got = chan::select! { v = recv(rx) => v, default => None };
            assert_eq!(got, None, "nothing to receive");
            // A goroutine sends; retry the non-blocking receive until it
            // is there (Go loops with Gosched).
            let tx2 = tx.clone();
            let h = go.go(async move { tx2.send(123).await.unwrap() });
            loop {
                if let Some(v) = chan::select! { v = recv(rx) => v, default => None } {
                    assert_eq!(v, 123);
                    break;
                }
                yield_now().await;
            }
            h.join().await;
            // A goroutine receives; retry the non-blocking send.
            let rx2 = rx.clone();
            let h = go.go(async move { assert_eq!(rx2.recv().await, Some(7)) });
            loop {
                if chan::select! { r = send(tx, 7) => { r.unwrap(); true }, default => false } {
                    break;
                }
                yield_now().await;
            }
            h.join().await;
        }
    }));
}

/// Yields to the scheduler once (tokio or a plain executor on a thread).
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::thread::yield_now();
            std::task::Poll::Pending
        }
    })
    .await
}

/// `test/chan/select.go`: a select of two sends with `default` fills both
/// buffered channels, one case per select, then takes `default`; a `nil`
/// channel's case never fires; every value expression is evaluated on each
/// entry (the counter ends at 10).
#[test]
fn select() {
    let counter = AtomicUsize::new(0);
    let shift = AtomicUsize::new(0);
    let value = || {
        counter.fetch_add(1, Ordering::SeqCst);
        1u32 << shift.load(Ordering::SeqCst)
    };
    let send = |a: Option<&Sender<u32>>, b: Option<&Sender<u32>>| {
        let (mut a, mut b) = (a, b);
        let mut i = 0;
        loop {
            let more = chan::select_blocking! {
                _ = send(a, value()) => { i += 1; a = None; true },
                _ = send(b, value()) => { i += 1; b = None; true },
                default => false,
            };
            if !more {
                return i;
            }
            shift.fetch_add(1, Ordering::SeqCst);
        }
    };
    let (a_tx, a) = chan::bounded(1);
    let (b_tx, b) = chan::bounded(1);
    assert_eq!(send(Some(&a_tx), Some(&b_tx)), 2);
    let (av, bv) = (a.try_recv().unwrap(), b.try_recv().unwrap());
    assert_eq!(av | bv, 3, "two different values");
    assert_eq!(send(Some(&a_tx), None), 1);
    assert_eq!(counter.load(Ordering::SeqCst), 10);
}

/// `test/chan/select3.go`, the blocking rules: a receive from a closed
/// channel is always ready; a case on a `nil` channel never is; a select
/// of `nil` cases only, or of none, blocks for ever.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn select3() {
    let (tx, closed) = chan::bounded::<u8>(1);
    drop(tx);
    for _ in 0..10 {
        assert_eq!(
            chan::select! { v = recv(closed) => v, default => Some(1) },
            None
        );
    }
    let nil: Option<&Receiver<u8>> = None;
    let blocked = tokio::time::timeout(std::time::Duration::from_secs(3600), async {
        chan::select! { _ = recv(nil) => {} }
    })
    .await;
    assert!(blocked.is_err(), "a select of nil cases never fires");
    let empty = tokio::time::timeout(std::time::Duration::from_secs(3600), async {
        chan::select! {}
    })
    .await;
    assert!(empty.is_err(), "an empty select never returns");
    // A send on a closed channel is ready too, with the item back (Go panics).
    let (tx, rx) = chan::rendezvous::<u8>();
    drop(rx);
    let r = chan::select! { r = send(tx, 5) => r, default => Ok(()) };
    assert_eq!(r.unwrap_err().into_inner(), 5);
}

/// `test/chan/select4.go`: a select proceeds when a value is ready.
#[test]
fn select4() {
    let (tx, c) = chan::bounded::<u32>(1);
    let (_tx1, c1) = chan::rendezvous::<u32>();
    tx.try_send(42).unwrap();
    let v = chan::select_blocking! {
        _ = recv(c1) => panic!("BUG: select4"),
        v = recv(c) => v,
    };
    assert_eq!(v, Some(42));
}

/// `test/chan/select6.go` (Go issue 2075): a select that waited on a
/// channel and fired elsewhere must leave that channel's queue intact.
#[test]
fn select6() {
    both(program!(|go| {
        let (c1_tx, c1) = chan::rendezvous::<bool>();
        let (c2_tx, c2) = chan::rendezvous::<bool>();
        let (c3_tx, c3) = chan::rendezvous::<bool>();
        let c1a = c1.clone();
        let a = go.go(async move {
            c1a.recv().await;
        });
        let c1b = c1.clone();
        let b = go.go(async move {
            chan::select! {
                _ = recv(c1b) => panic!("dummy"),
                _ = recv(c2) => c3_tx.send(true).await.unwrap(),
            }
            c1b.recv().await;
        });
        let c = go.go(async move { c2_tx.send(true).await.unwrap() });
        c3.recv().await;
        c1_tx.send(true).await.unwrap();
        c1_tx.send(true).await.unwrap();
        for h in [a, b, c] {
            h.join().await;
        }
    }));
}

/// `test/chan/select7.go`: the forms of receive in a select (a lone case,
/// next to a `nil` case, next to `default` once the sender waits) on
/// unbuffered and buffered channels.
#[test]
fn select7() {
    both(program!(|go| {
        for cap in [0usize, 1] {
            for form in 0..3 {
                let (tx, rx) = chan::bounded::<u32>(cap);
                let h = go.go(async move { tx.send(1).await.unwrap() });
                let nil: Option<&Receiver<u32>> = None;
                let v = match form {
                    0 => chan::select! { v = recv(rx) => v },
                    1 => chan::select! { _ = recv(nil) => None, v = recv(rx) => v },
                    _ => loop {
                        if let Some(v) = chan::select! { v = recv(rx) => v, default => None } {
                            break Some(v);
                        }
                        yield_now().await;
                    },
                };
                assert_eq!(v, Some(1));
                h.join().await;
            }
        }
    }));
}

/// `test/chan/sieve1.go`: the concurrent prime sieve, one goroutine per
/// filter, unbuffered channels.
#[test]
fn sieve1() {
    both(program!(|go| {
        let (gen_tx, mut ch) = chan::rendezvous::<u32>();
        let generate = go.go(async move {
            let mut i = 2;
            while gen_tx.send(i).await.is_ok() {
                i += 1;
            }
        });
        let mut primes = Vec::new();
        let mut filters = Vec::new();
        for _ in 0..25 {
            let prime = ch.recv().await.unwrap();
            primes.push(prime);
            let (tx, next) = chan::rendezvous::<u32>();
            let input = ch;
            filters.push(go.go(async move {
                while let Some(i) = input.recv().await {
                    if i % prime != 0 && tx.send(i).await.is_err() {
                        return; // downstream is gone: stop
                    }
                }
            }));
            ch = next;
        }
        drop(ch); // the chain winds down from the end
        assert_eq!(
            primes,
            [
                2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79,
                83, 89, 97
            ]
        );
        for f in filters.into_iter().rev() {
            f.join().await;
        }
        generate.join().await;
    }));
}

/// `test/chan/sieve2.go`'s shape: the sieve's consumer selecting over the
/// primes channel and a `done` channel, with buffered and unbuffered links.
#[test]
fn sieve2() {
    both(program!(|go| {
        for cap in [0usize, 4] {
            let (gen_tx, first) = chan::bounded::<u32>(cap);
            let generate = go.go(async move {
                let mut i = 2;
                while gen_tx.send(i).await.is_ok() {
                    i += 1;
                }
            });
            let (done_tx, done) = chan::rendezvous::<()>();
            let (primes_tx, primes) = chan::bounded::<u32>(cap);
            let sieve = go.go(async move {
                let mut ch = first;
                let mut filters = Vec::new();
                loop {
                    let p = chan::select! {
                        p = recv(ch) => p.unwrap(),
                        _ = recv(done) => break,
                    };
                    if primes_tx.send(p).await.is_err() {
                        break;
                    }
                    let (tx, next) = chan::bounded::<u32>(cap);
                    let input = std::mem::replace(&mut ch, next);
                    filters.push(go.go(async move {
                        while let Some(i) = input.recv().await {
                            if i % p != 0 && tx.send(i).await.is_err() {
                                return;
                            }
                        }
                    }));
                }
                drop(ch);
                for f in filters.into_iter().rev() {
                    f.join().await;
                }
            });
            let mut got = Vec::new();
            for _ in 0..15 {
                got.push(primes.recv().await.unwrap());
            }
            drop(done_tx);
            drop(primes);
            sieve.join().await;
            generate.join().await;
            assert_eq!(
                got,
                [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]
            );
        }
    }));
}

/// `test/chan/fifo.go`: a buffered channel is FIFO; and blocked
/// goroutines chained so that each receives from one unbuffered channel in
/// turn get its values in send order.
#[test]
fn fifo() {
    both(program!(|go| {
        let n = 10u32;
        let (tx, rx) = chan::bounded::<u32>(n as usize);
        for i in 0..n {
            tx.send(i).await.unwrap();
        }
        for i in 0..n {
            assert_eq!(rx.recv().await, Some(i));
        }
        let (ch_tx, ch) = chan::rendezvous::<u32>();
        let (start_tx, mut input) = chan::rendezvous::<u32>();
        let mut hs = Vec::new();
        for val in 0..n {
            let (out_tx, out) = chan::rendezvous::<u32>();
            let (ch, this_in) = (ch.clone(), std::mem::replace(&mut input, out));
            hs.push(go.go(async move {
                this_in.recv().await.unwrap();
                assert_eq!(ch.recv().await, Some(val), "out of order");
                out_tx.send(1).await.unwrap();
            }));
        }
        start_tx.send(0).await.unwrap();
        for i in 0..n {
            ch_tx.send(i).await.unwrap();
        }
        assert_eq!(input.recv().await, Some(1));
        for h in hs {
            h.join().await;
        }
    }));
}

/// `test/chan/goroutines.go`: a chain of goroutines each passing one value
/// from its right neighbour to its left over unbuffered channels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goroutines() {
    let n = scaled(2_000);
    let (leftmost_tx, leftmost) = chan::rendezvous::<u32>();
    let mut left = leftmost_tx;
    for _ in 0..n {
        let (right_tx, right) = chan::rendezvous::<u32>();
        tokio::spawn(async move {
            let v = right.recv().await.unwrap();
            left.send(v).await.unwrap();
        });
        left = right_tx;
    }
    left.send(1).await.unwrap();
    assert_eq!(leftmost.recv().await, Some(1));
}

// ----- the blocking form: `select_blocking!` on OS threads ---------------

/// `TestSelfSelect` with `select_blocking!`: a thread never receives its
/// own send.
#[test]
fn blocking_self_select() {
    let (tx, rx) = chan::rendezvous::<usize>();
    let n = scaled(1000);
    let hs: Vec<_> = (0..2usize)
        .map(|p| {
            let (tx, rx) = (tx.clone(), rx.clone());
            thread::spawn(move || {
                for _ in 0..n {
                    chan::select_blocking! {
                        r = send(tx, p) => r.unwrap(),
                        v = recv(rx) => assert_ne!(v, Some(p), "self receive"),
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

/// `doubleselect` with threads and `select_blocking!` on both ends: the
/// receiver selects over the four channels too.
#[test]
fn blocking_doubleselect() {
    let n = scaled(5_000);
    let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..4).map(|_| chan::rendezvous()).collect();
    let txs: Vec<Sender<usize>> = chans.iter().map(|(t, _)| t.clone()).collect();
    let rxs: Vec<Receiver<usize>> = chans.into_iter().map(|(_, r)| r).collect();
    let sender = thread::spawn(move || {
        for i in 0..n {
            chan::select_blocking! {
                r = send(txs[0], i) => r.unwrap(),
                r = send(txs[1], i) => r.unwrap(),
                r = send(txs[2], i) => r.unwrap(),
                r = send(txs[3], i) => r.unwrap(),
            }
        }
    });
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for _ in 0..n {
        let v = chan::select_blocking! {
            v = recv(rxs[0]) => v,
            v = recv(rxs[1]) => v,
            v = recv(rxs[2]) => v,
            v = recv(rxs[3]) => v,
        };
        *seen.entry(v.expect("open until all are sent")).or_default() += 1;
    }
    sender.join().unwrap();
    assert_eq!(seen.len(), n, "a value was lost");
    assert!(seen.values().all(|&c| c == 1), "a value arrived twice");
}

/// Go's "select send to direct receive": selects of two sends on two
/// unbuffered channels, against plain receivers on both: as many items
/// arrive as selects fired (the issue saw 26,000–36,000 for 20,000).
#[test]
fn select_sends_deliver_one_item_each() {
    both(program!(|go| {
        let n = scaled(5_000);
        let (a_tx, a) = chan::rendezvous::<u32>();
        let (b_tx, b) = chan::rendezvous::<u32>();
        let received = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = [a, b]
            .into_iter()
            .map(|rx| {
                let received = received.clone();
                go.go(async move {
                    while rx.recv().await.is_some() {
                        received.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for i in 0..n as u32 {
            chan::select! {
                r = send(a_tx, i) => r.unwrap(),
                r = send(b_tx, i) => r.unwrap(),
            }
        }
        drop((a_tx, b_tx));
        for h in hs {
            h.join().await;
        }
        assert_eq!(received.load(Ordering::SeqCst), n);
    }));
}
