//! Criterion benches of weir-core's channels: one item across the
//! multi-thread runtime (bounded 1024, rendezvous, unbounded, and raw flume
//! for reference), the batch API, and the uncontended non-blocking path.
//!
//! `cargo bench -p weir-benches --bench chan`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use weir_core::chan::{self, Receiver, Sender};

/// Items per measured hop run.
const ITEMS: u64 = 20_000;
/// Items per `send_all` / `recv_many`.
const BATCH: usize = 256;

fn runtime() -> tokio::runtime::Runtime {
    weir_benches::work::runtime()
}

/// One producer task, one consumer task, `ITEMS` items, per item.
async fn hop(tx: Sender<u64>, rx: Receiver<u64>) -> u64 {
    let producer = tokio::spawn(async move {
        for i in 0..ITEMS {
            tx.send(i).await.expect("receiver alive");
        }
    });
    let consumer = tokio::spawn(async move {
        let mut sum = 0u64;
        while let Some(v) = rx.recv().await {
            sum = sum.wrapping_add(v);
        }
        sum
    });
    producer.await.expect("producer");
    consumer.await.expect("consumer")
}

async fn hop_batch(tx: Sender<u64>, rx: Receiver<u64>) -> u64 {
    let producer = tokio::spawn(async move {
        let mut i = 0;
        while i < ITEMS {
            let end = ITEMS.min(i + BATCH as u64);
            tx.send_all((i..end).collect())
                .await
                .expect("receiver alive");
            i = end;
        }
    });
    let consumer = tokio::spawn(async move {
        let mut buf = Vec::with_capacity(BATCH);
        let mut sum = 0u64;
        while rx.recv_many(&mut buf, BATCH).await > 0 {
            sum = buf.drain(..).fold(sum, u64::wrapping_add);
        }
        sum
    });
    producer.await.expect("producer");
    consumer.await.expect("consumer")
}

async fn hop_flume(tx: flume::Sender<u64>, rx: flume::Receiver<u64>) -> u64 {
    let producer = tokio::spawn(async move {
        for i in 0..ITEMS {
            tx.send_async(i).await.expect("receiver alive");
        }
    });
    let consumer = tokio::spawn(async move {
        let mut sum = 0u64;
        while let Ok(v) = rx.recv_async().await {
            sum = sum.wrapping_add(v);
        }
        sum
    });
    producer.await.expect("producer");
    consumer.await.expect("consumer")
}

/// Runs `f` `iters` times on `rt` and returns the total time.
fn timed<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, f: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let t = Instant::now();
        black_box(rt.block_on(f()));
        total += t.elapsed();
    }
    total
}

fn channel_hop(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("hop");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(ITEMS));
    g.bench_function(BenchmarkId::new("weir-core", "bounded(1024)"), |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || {
                let (tx, rx) = chan::bounded(1024);
                hop(tx, rx)
            })
        });
    });
    g.bench_function(BenchmarkId::new("weir-core", "rendezvous"), |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || {
                let (tx, rx) = chan::rendezvous();
                hop(tx, rx)
            })
        });
    });
    g.bench_function(BenchmarkId::new("weir-core", "unbounded"), |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || {
                let (tx, rx) = chan::unbounded();
                hop(tx, rx)
            })
        });
    });
    g.bench_function(
        BenchmarkId::new("weir-core send_all/recv_many", "bounded(1024)"),
        |b| {
            b.iter_custom(|iters| {
                timed(&rt, iters, || {
                    let (tx, rx) = chan::bounded(1024);
                    hop_batch(tx, rx)
                })
            });
        },
    );
    g.bench_function(
        BenchmarkId::new("flume (reference)", "bounded(1024)"),
        |b| {
            b.iter_custom(|iters| {
                timed(&rt, iters, || {
                    let (tx, rx) = flume::bounded(1024);
                    hop_flume(tx, rx)
                })
            });
        },
    );
    g.finish();
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("uncontended");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let (tx, rx) = chan::bounded::<u64>(1024);
    g.bench_function("try_send+try_recv", |b| {
        b.iter(|| {
            tx.try_send(black_box(1)).expect("space");
            black_box(rx.try_recv().expect("an item"))
        });
    });
    g.bench_function("clone+drop sender", |b| {
        b.iter(|| drop(black_box(tx.clone())));
    });
    g.finish();
}

criterion_group!(benches, channel_hop, uncontended);
criterion_main!(benches);
