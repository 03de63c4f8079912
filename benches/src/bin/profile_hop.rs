//! `profile_hop`: one channel workload for a fixed size, for profilers
//! (`valgrind --tool=callgrind`) and for counting how often each side waits.
//!
//! ```text
//! cargo build --profile bench -p weir-benches --bin profile_hop
//! profile_hop <mode> [n] [mt|ct]
//! modes: weir weir-unc flume batch try   (mt: multi-thread runtime, the default; ct: current_thread)
//! ```
//!
//! Prints the time per item and, per side, how many polls of the send /
//! receive futures returned `Pending` (each `Pending` is one wait: a
//! listener registered, the task parked, later woken and polled again).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use weir_core::chan;

static PENDING: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static POLLS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Counts polls and `Pending`s of the wrapped future under `side`.
struct Counted<F> {
    fut: F,
    side: usize,
}

impl<F: Future + Unpin> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let side = self.side;
        POLLS[side].fetch_add(1, Ordering::Relaxed);
        let r = Pin::new(&mut self.fut).poll(cx);
        if r.is_pending() {
            PENDING[side].fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

fn counted<F>(fut: F, side: usize) -> Counted<Pin<Box<F>>> {
    Counted {
        fut: Box::pin(fut),
        side,
    }
}

const CAP: usize = 1024;
const BATCH: usize = 256;

/// One item per `send` / `recv`. With `budget: false` both tasks run
/// outside tokio's cooperative budget (`tokio::task::unconstrained`): what
/// the budget's forced yields cost.
async fn weir(n: u64, budget: bool) -> u64 {
    let (tx, rx) = chan::bounded::<u64>(CAP);
    let p = spawn(budget, async move {
        for i in 0..n {
            counted(tx.send(i), 0).await.expect("receiver alive");
        }
    });
    let c = spawn(budget, async move {
        let mut sum = 0u64;
        while let Some(v) = counted(rx.recv(), 1).await {
            sum = sum.wrapping_add(v);
        }
        sum
    });
    p.await.expect("producer");
    c.await.expect("consumer")
}

/// `tokio::spawn`, inside tokio's cooperative budget or outside it.
fn spawn<F>(budget: bool, fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if budget {
        tokio::spawn(fut)
    } else {
        tokio::spawn(tokio::task::unconstrained(fut))
    }
}

async fn batch(n: u64) -> u64 {
    let (tx, rx) = chan::bounded::<u64>(CAP);
    let p = tokio::spawn(async move {
        let mut i = 0;
        while i < n {
            let end = n.min(i + BATCH as u64);
            counted(tx.send_all((i..end).collect()), 0)
                .await
                .expect("receiver alive");
            i = end;
        }
    });
    let c = tokio::spawn(async move {
        let mut buf = Vec::with_capacity(BATCH);
        let mut sum = 0u64;
        while counted(rx.recv_many(&mut buf, BATCH), 1).await > 0 {
            sum = buf.drain(..).fold(sum, u64::wrapping_add);
        }
        sum
    });
    p.await.expect("producer");
    c.await.expect("consumer")
}

async fn flume(n: u64) -> u64 {
    let (tx, rx) = flume::bounded::<u64>(CAP);
    let p = tokio::spawn(async move {
        for i in 0..n {
            counted(tx.send_async(i), 0).await.expect("receiver alive");
        }
    });
    let c = tokio::spawn(async move {
        let mut sum = 0u64;
        while let Ok(v) = counted(rx.recv_async(), 1).await {
            sum = sum.wrapping_add(v);
        }
        sum
    });
    p.await.expect("producer");
    c.await.expect("consumer")
}

/// Uncontended: `try_send` + `try_recv` on one thread (no waiting at all).
fn try_only(n: u64) -> u64 {
    let (tx, rx) = chan::bounded::<u64>(CAP);
    let mut sum = 0u64;
    for i in 0..n {
        tx.try_send(i).expect("room");
        sum = sum.wrapping_add(rx.try_recv().expect("an item"));
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("weir", String::as_str);
    let n: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let ct = args.get(2).is_some_and(|a| a == "ct");
    let rt = if ct {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
    .expect("runtime");
    let t = Instant::now();
    let sum = match mode {
        "weir" => rt.block_on(weir(n, true)),
        "weir-unc" => rt.block_on(weir(n, false)),
        "batch" => rt.block_on(batch(n)),
        "flume" => rt.block_on(flume(n)),
        "try" => try_only(n),
        other => {
            eprintln!("unknown mode {other}: weir weir-unc flume batch try");
            std::process::exit(2);
        }
    };
    let el = t.elapsed();
    assert_eq!(sum, (0..n).fold(0u64, u64::wrapping_add), "checksum");
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "{mode} n={n} rt={} {:.1} ns/item  send: polls={} pending={}  recv: polls={} pending={}",
        if ct { "ct" } else { "mt" },
        el.as_nanos() as f64 / n as f64,
        load(&POLLS[0]),
        load(&PENDING[0]),
        load(&POLLS[1]),
        load(&PENDING[1]),
    );
}
