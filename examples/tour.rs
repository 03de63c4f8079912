//! A tour of weir: each of Go's concurrency patterns on real work, with what each
//! did, its per-stage metrics, and its graph as Mermaid.
//!
//! Run with `cargo run --release --example tour`.

use std::time::{Duration, Instant};

use weir::cancel::{Context, ContextError};
use weir::latch::WaitGroup;
use weir::pipeline::Pipeline;

/// Real work for the worker pool: count the primes below `limit`.
fn primes_below(limit: u64) -> u64 {
    let mut sieve = vec![true; limit as usize];
    let mut count = 0;
    for n in 2..limit as usize {
        if sieve[n] {
            count += 1;
            let mut m = n * n;
            while m < sieve.len() {
                sieve[m] = false;
                m += n;
            }
        }
    }
    count
}

/// Real work for fan-out: the Collatz step count of `n`.
fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

fn heading(title: &str) {
    println!("\n== {title}");
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    let ctx = Context::background();

    heading("pipeline: gen -> square -> sum (Go's generator pipeline)");
    let n = 10_000_000u64;
    let start = Instant::now();
    let p = Pipeline::new(&ctx);
    let sum = p
        .source(1..=n)
        .named("gen")
        .square()
        .fold(0u64, |acc, x| acc.wrapping_add(x))
        .await?;
    let took = start.elapsed();
    println!(
        "sum of squares of 1..={n} (mod 2^64) = {sum} in {took:.2?} ({:.2} ns/item; gen and square fused into one task)",
        took.as_nanos() as f64 / n as f64
    );
    println!("{}", p.metrics());
    println!("{}", p.to_mermaid());

    heading("worker pool: count primes below 1000 different limits (Go's worker pool, 4 workers)");
    let start = Instant::now();
    let run = Pipeline::new(&ctx)
        .source((0..1000u64).map(|i| 10_000 + i * 37))
        .worker_pool(4, |limit| async move {
            Ok::<_, std::io::Error>(primes_below(limit))
        })
        .named("count primes")
        .fold(0u64, |acc, n| acc + n)
        .run();
    // join_timeout: if the pool did not finish in time it would report
    // which stages are still running and how full each channel is.
    let primes = run.join_timeout(Duration::from_secs(120)).await?;
    println!("{primes} primes counted in {:.2?}", start.elapsed());

    heading(
        "fan-out / fan-in: Collatz steps of 1..=1_000_000 over 4 branches (Go's fanOut + fanIn)",
    );
    let start = Instant::now();
    let p = Pipeline::new(&ctx);
    let steps = p
        .source(1..=1_000_000u64)
        .fan_out(4, |branch| branch.map(collatz_steps).named("collatz"))
        .fold(0u64, |acc, n| acc + n)
        .await?;
    println!("{steps} Collatz steps in {:.2?}", start.elapsed());
    println!("{}", p.to_mermaid());

    heading("context: an operation under a timeout (Go's context.WithTimeout + select)");
    let quick = ctx.with_timeout(Duration::from_secs(5));
    let result = quick.run(async { primes_below(100_000) }).await;
    println!("an operation well within its 5 s timeout: {result:?}");
    let tight = ctx.with_timeout(Duration::from_millis(20));
    let result = tight
        .run(async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            0
        })
        .await;
    assert_eq!(result, Err(ContextError::DeadlineExceeded));
    println!("an operation past its 20 ms timeout: {result:?} (the operation was dropped)");
    let outcome = Pipeline::new(&tight.with_timeout(Duration::from_millis(20)))
        .source(0u64..)
        .square()
        .for_each(|_| {})
        .await;
    println!(
        "an endless pipeline under a 20 ms deadline: {}",
        outcome.unwrap_err()
    );

    heading("WaitGroup: 8 tasks tracked with wg.go, one of them panics");
    // The panic is part of the demo: a hook captures it and the tour prints
    // it on stdout as a captured panic, instead of the default report on
    // stderr that would look like the tour itself failing.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        println!("captured panic (expected, the demo's bad record): {message}");
    }));
    let wg = WaitGroup::new();
    for i in 0..8u64 {
        wg.go(async move {
            assert!(i != 5, "task {i} hit a bad record");
            primes_below(10_000 + i)
        });
    }
    println!("wait() -> {:?}", wg.wait().await);
    std::panic::set_hook(default_hook);

    heading("metrics: a pipeline with a pool in the middle, its counters and its graph");
    let p = Pipeline::new(&ctx);
    let even = p
        .source(0..200u64)
        .named("limits")
        .map(|i| 20_000 + i * 101)
        .named("scale")
        .worker_pool(2, |limit| async move {
            Ok::<_, std::io::Error>(primes_below(limit))
        })
        .named("count primes")
        .filter(|&count| count % 2 == 0)
        .named("even counts")
        .collect::<Vec<_>>()
        .await?;
    println!("{} of 200 prime counts are even", even.len());
    println!("{}", p.metrics());
    println!("{}", p.to_mermaid());
    Ok(())
}
