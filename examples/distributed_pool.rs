//! Go's worker pool (a `processJobs` function with n worker goroutines)
//! across processes, on NATS JetStream.
//!
//! One command that shows it working (starts a throw-away `nats-server`
//! and two worker processes, then produces; needs `nats-server` on PATH):
//!
//! ```text
//! cargo run -p weir-examples --features nats --example distributed_pool -- --local
//! ```
//!
//! Or run the roles yourself, on as many machines as you like:
//!
//! ```text
//! nats-server -js &
//! cargo run -p weir-examples --features nats --example distributed_pool -- --role worker --url nats://127.0.0.1:4222
//! cargo run -p weir-examples --features nats --example distributed_pool -- --role worker --url nats://127.0.0.1:4222
//! cargo run -p weir-examples --features nats --example distributed_pool -- --role producer --url nats://127.0.0.1:4222 --jobs 1000
//! ```
//!
//! Kill a worker (Ctrl-C, or `kill -9`) while the producer runs: its jobs
//! are redelivered to the other after `ack_wait` (5 s here), and every
//! job's result still arrives exactly once.

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use weir::cancel::Context;
use weir::nats::{self, Order, Pool};
use weir::pipeline::Pipeline;

/// The pool both roles use: same name, same settings.
fn pool() -> Pool {
    Pool::new("distributed_pool_demo")
        .ack_wait(Duration::from_secs(5))
        .max_deliver(3)
}

/// A job: `n` to square, with some work to do (~1 ms).
async fn process(n: u64) -> Result<(u64, u32), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok((n * n, std::process::id()))
}

struct Args {
    role: String,
    url: String,
    jobs: u64,
    workers: usize,
    local: bool,
}

fn args() -> Args {
    let mut a = Args {
        role: "producer".into(),
        url: "nats://127.0.0.1:4222".into(),
        jobs: 1000,
        workers: 8,
        local: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--role" => a.role = value(),
            "--url" => a.url = value(),
            "--jobs" => a.jobs = value().parse().expect("--jobs N"),
            "--workers" => a.workers = value().parse().expect("--workers N"),
            "--local" => a.local = true,
            other => panic!("unknown flag {other}; see the example's header"),
        }
    }
    a
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args();
    if args.local {
        return local(args).await;
    }
    match args.role.as_str() {
        "worker" => worker(&args.url, args.workers).await,
        "producer" => producer(&args.url, args.jobs).await,
        other => Err(format!("unknown role {other}: worker or producer").into()),
    }
}

/// `processJobs`'s workers, in this process: until Ctrl-C.
async fn worker(url: &str, workers: usize) -> Result<(), Box<dyn std::error::Error>> {
    let client = nats::connect(url).await?;
    let (ctx, stop) = Context::background().with_cancel();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    eprintln!("worker {} serving {workers} at a time", std::process::id());
    nats::serve(&ctx, client, &pool(), workers, process).await?;
    Ok(())
}

/// The producer: squares 0..jobs on the pool's workers, in input order.
async fn producer(url: &str, jobs: u64) -> Result<(), Box<dyn std::error::Error>> {
    let client = nats::connect(url).await?;
    let started = Instant::now();
    let mut by_worker: BTreeMap<u32, u64> = BTreeMap::new();
    let p = Pipeline::new(&Context::background());
    let results = p
        .source(0..jobs)
        .remote_pool(pool().remote::<u64, (u64, u32)>(client).order(Order::Input))
        .named("squares")
        .collect::<Vec<_>>()
        .await?;
    for (n, result) in (0u64..).zip(results) {
        let (square, pid) = result?;
        assert_eq!(square, n * n, "results come in input order");
        *by_worker.entry(pid).or_default() += 1;
    }
    let elapsed = started.elapsed();
    println!(
        "{jobs} jobs, each result exactly once, in {elapsed:.2?} ({:.0} jobs/s)",
        jobs as f64 / elapsed.as_secs_f64()
    );
    for (pid, n) in &by_worker {
        println!("  worker process {pid}: {n} jobs");
    }
    // The remote stage in the pipeline's graph: its edges are labelled
    // with the pool's subjects, its node with the pool's lag.
    println!("{}", p.to_mermaid());
    let metrics = p.metrics();
    let remote = metrics.stages.iter().find(|s| s.name == "squares");
    println!("lag after the run: {:?}", remote.and_then(|s| s.lag));
    Ok(())
}

/// Starts a server and two worker processes, produces, cleans up.
async fn local(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let Some(server) = nats::testing::NatsServer::start_or_skip() else {
        return Ok(());
    };
    let url = server.url();
    println!("nats-server on {url}");
    let spawn = || -> std::io::Result<Child> {
        Command::new(std::env::current_exe()?)
            .args([
                "--role",
                "worker",
                "--url",
                &url,
                "--workers",
                &args.workers.to_string(),
            ])
            .spawn()
    };
    let mut workers = [spawn()?, spawn()?];
    let run = producer(&url, args.jobs).await;
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    run
}
