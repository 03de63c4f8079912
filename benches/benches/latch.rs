//! Criterion benches of weir-core's latches: `WaitGroup` add / done / wait
//! (and `go` + `wait` across the runtime), `Latch` count-down.
//!
//! `cargo bench -p weir-benches --bench latch`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weir_core::{Latch, WaitGroup};

/// Tasks per `go` + `wait` round.
const TASKS: u64 = 100;

fn wait_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("wait_group");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let wg = WaitGroup::new();
    g.bench_function("add(1)+done()", |b| {
        b.iter(|| {
            wg.add(1);
            wg.done().expect("balanced");
        });
    });
    g.bench_function("guard()+drop", |b| {
        b.iter(|| drop(black_box(wg.guard())));
    });
    g.bench_function("wait() at zero", |b| {
        b.iter(|| futures::executor::block_on(wg.wait()).expect("no panics"));
    });
    let rt = weir_benches::work::runtime();
    g.throughput(Throughput::Elements(TASKS));
    g.bench_function("go(100 empty tasks)+wait", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                rt.block_on(async {
                    let wg = WaitGroup::new();
                    for i in 0..TASKS {
                        wg.go(async move {
                            black_box(i);
                        });
                    }
                    wg.wait().await.expect("no panics");
                });
                total += t.elapsed();
            }
            total
        });
    });
    g.finish();
}

fn latch(c: &mut Criterion) {
    let mut g = c.benchmark_group("latch");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    g.bench_function("new(1)+count_down+try_wait", |b| {
        b.iter(|| {
            let l = Latch::new(1);
            l.count_down();
            black_box(l.try_wait())
        });
    });
    g.finish();
}

criterion_group!(benches, wait_group, latch);
criterion_main!(benches);
