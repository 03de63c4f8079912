//! The distributed pool's `compare` workload: weir-nats's pool with 1, 2
//! and 4 worker processes, ~1 µs and ~100 µs jobs, against a hand-written
//! async-nats pull-consumer loop doing the same work with the same batch
//! size, and against the in-process `worker_pool`.
//!
//! ```text
//! cargo run --release -p weir-benches --bin compare_nats [-- --jobs-1us N --jobs-100us N]
//! cargo run --release -p weir-benches --bin compare_nats -- --restart [--jobs N --runs N]
//! ```
//!
//! `--restart` is the server-restart scenario instead: a file-backed pool
//! with two worker processes runs `--jobs` ~100 µs jobs (default 20,000);
//! half-way through, `nats-server` is killed (SIGKILL) and restarted on the
//! same port and store after 1 s or 5 s down. It reports the median total
//! time of `--runs` runs (default 5) of each, against the target: the
//! median time without a restart + the downtime + 5 s. Every run checks
//! that each job's result arrived exactly once.
//!
//! Needs `nats-server` on PATH (it starts its own, memory storage). Each
//! worker process runs 4 jobs at a time and pulls batches of 64. Both
//! sides encode jobs and results as JSON, publish each result to a
//! JetStream stream and wait for its ack before acking the job.

use std::hint::black_box;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use futures::StreamExt;
use weir::cancel::Context;
use weir::nats::async_nats::{self, jetstream};
use weir::nats::{testing::NatsServer, Pool};
use weir::pipeline::Pipeline;
use weir_benches::work::spin;

const WORKERS_PER_PROCESS: usize = 4;
const BATCH: usize = 64;

fn pool(name: &str) -> Pool {
    Pool::new(name)
        .memory()
        .batch(BATCH)
        .in_flight(4096)
        .max_ack_pending(4096)
}

/// `spin` rounds taking about `us` microseconds on this machine.
pub(crate) fn calibrate(us: u64) -> u32 {
    let k = 100_000u32;
    let t = Instant::now();
    black_box(spin(black_box(7), k));
    let per_round = t.elapsed().as_secs_f64() / f64::from(k);
    ((us as f64 * 1e-6) / per_round).max(1.0) as u32
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--worker") {
        return worker(&args[1..]);
    }
    let flag = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    if args.iter().any(|a| a == "--restart") {
        return restart::scenario(flag("--jobs", 20_000), flag("--runs", 5));
    }
    let jobs_1us = flag("--jobs-1us", 20_000);
    let jobs_100us = flag("--jobs-100us", 4_000);
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!("| job | impl | worker processes | jobs | jobs/s | per-job overhead vs in-process |");
    println!("|---|---|---|---|---|---|");
    for (label, us, jobs) in [("~1 µs", 1, jobs_1us), ("~100 µs", 100, jobs_100us)] {
        let k = calibrate(us);
        let local = rt.block_on(in_process(jobs, k));
        println!("| {label} | in-process worker_pool(4) | - | {jobs} | {local:.0} | - |");
        for procs in [1usize, 2, 4] {
            for imp in ["weir", "raw"] {
                let name = format!("{imp}{procs}x{us}");
                let rate = rt.block_on(distributed(&url, imp, &name, procs, jobs, k));
                let overhead_us = (1.0 / rate - 1.0 / local) * 1e6;
                let what = if imp == "weir" {
                    "weir-nats pool"
                } else {
                    "hand-written async-nats loop"
                };
                println!(
                    "| {label} | {what} | {procs} | {jobs} | {rate:.0} | {overhead_us:.1} µs |"
                );
            }
        }
    }
}

async fn in_process(jobs: u64, k: u32) -> f64 {
    let t = Instant::now();
    let n = Pipeline::new(&Context::background())
        .source(0..jobs)
        .worker_pool(WORKERS_PER_PROCESS, move |x| async move {
            Ok::<_, std::io::Error>(spin(x, k))
        })
        .fold(0u64, |n, _| n + 1)
        .await
        .expect("in-process pool");
    assert_eq!(n, jobs);
    jobs as f64 / t.elapsed().as_secs_f64()
}

/// Starts `procs` worker processes of kind `imp`, produces `jobs`, returns
/// jobs/s (from the first job published to the last result read).
async fn distributed(url: &str, imp: &str, name: &str, procs: usize, jobs: u64, k: u32) -> f64 {
    let client = weir::nats::connect(url).await.expect("connect");
    if imp == "raw" {
        raw_setup(&client, name).await;
    } else {
        // Set the pool up before the clock starts.
        let ctx = Context::background().with_timeout(Duration::from_millis(10));
        let _ = weir::nats::serve(&ctx, client.clone(), &pool(name), 1, |x: u64| async move {
            Ok::<_, std::io::Error>(x)
        })
        .await;
    }
    let exe = std::env::current_exe().expect("own executable");
    let mut children: Vec<Child> = (0..procs)
        .map(|_| {
            Command::new(&exe)
                .args(["--worker", imp, url, name, &k.to_string()])
                .spawn()
                .expect("spawn worker")
        })
        .collect();
    let t = Instant::now();
    let done = if imp == "raw" {
        raw_produce(&client, name, jobs).await
    } else {
        let remote = pool(name).remote::<u64, u64>(client.clone());
        Pipeline::new(&Context::background())
            .source(0..jobs)
            .through_stage("remote_pool", move |scope, rx| remote.run(scope, rx))
            .fold(0u64, |n, r| n + u64::from(r.is_ok()))
            .await
            .expect("producer")
    };
    let rate = jobs as f64 / t.elapsed().as_secs_f64();
    assert_eq!(done, jobs);
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    rate
}

fn worker(args: &[String]) {
    let (imp, url, name) = (args[0].clone(), args[1].clone(), args[2].clone());
    let k: u32 = args[3].parse().expect("k");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let client = weir::nats::connect(&url).await.expect("connect");
        if imp == "raw" {
            raw_worker(client, &name, k).await;
        } else if imp == "restart" {
            restart::worker(client, &name, k).await;
        } else {
            weir::nats::serve(
                &Context::background(),
                client,
                &pool(&name),
                WORKERS_PER_PROCESS,
                move |x: u64| async move { Ok::<_, std::io::Error>(spin(x, k)) },
            )
            .await
            .expect("serve");
        }
    });
}

// The hand-written baseline: what a careful async-nats user writes.

async fn raw_setup(client: &async_nats::Client, name: &str) {
    let js = jetstream::new(client.clone());
    for kind in ["jobs", "results"] {
        js.create_stream(jetstream::stream::Config {
            name: format!("{name}_{kind}"),
            subjects: vec![format!("{name}.{kind}")],
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            storage: jetstream::stream::StorageType::Memory,
            ..Default::default()
        })
        .await
        .expect("stream");
    }
    for kind in ["jobs", "results"] {
        js.get_stream(format!("{name}_{kind}"))
            .await
            .expect("stream")
            .create_consumer(jetstream::consumer::pull::Config {
                durable_name: Some("c".into()),
                max_ack_pending: 4096,
                ..Default::default()
            })
            .await
            .expect("consumer");
    }
}

async fn consumer(js: &jetstream::Context, stream: String) -> jetstream::consumer::PullConsumer {
    js.get_stream(stream)
        .await
        .expect("stream")
        .get_consumer("c")
        .await
        .expect("consumer")
}

/// Fetch a batch, run its jobs 4 at a time, publish each result and wait
/// for its ack, then ack the job.
async fn raw_worker(client: async_nats::Client, name: &str, k: u32) {
    let js = jetstream::new(client);
    let jobs = consumer(&js, format!("{name}_jobs")).await;
    let results = format!("{name}.results");
    loop {
        let Ok(batch) = jobs
            .batch()
            .max_messages(BATCH)
            .expires(Duration::from_secs(1))
            .messages()
            .await
        else {
            continue;
        };
        batch
            .for_each_concurrent(WORKERS_PER_PROCESS, |msg| {
                let (js, results) = (js.clone(), results.clone());
                async move {
                    let Ok(msg) = msg else { return };
                    let x: u64 = serde_json::from_slice(&msg.payload).expect("job");
                    let y = spin(x, k);
                    let ack = js
                        .publish(results, serde_json::to_vec(&y).expect("result").into())
                        .await
                        .expect("publish");
                    ack.await.expect("result ack");
                    msg.ack().await.expect("ack");
                }
            })
            .await;
    }
}

/// Publish every job (pipelined, 256 acks outstanding) while reading the
/// results in batches; returns how many results arrived.
async fn raw_produce(client: &async_nats::Client, name: &str, jobs: u64) -> u64 {
    let js = jetstream::new(client.clone());
    let results = consumer(&js, format!("{name}_results")).await;
    let publisher = {
        let (js, subject) = (js.clone(), format!("{name}.jobs"));
        tokio::spawn(async move {
            let mut pending = futures::stream::FuturesOrdered::new();
            for x in 0..jobs {
                if pending.len() >= 256 {
                    let _: Option<()> = pending.next().await;
                }
                let ack = js
                    .publish(subject.clone(), serde_json::to_vec(&x).expect("job").into())
                    .await
                    .expect("publish");
                pending.push_back(async move {
                    ack.await.expect("job ack");
                });
            }
            while pending.next().await.is_some() {}
        })
    };
    let mut seen = 0;
    while seen < jobs {
        let Ok(mut batch) = results
            .batch()
            .max_messages(BATCH)
            .expires(Duration::from_secs(1))
            .messages()
            .await
        else {
            continue;
        };
        while let Some(Ok(msg)) = batch.next().await {
            let _: u64 = serde_json::from_slice(&msg.payload).expect("result");
            msg.ack().await.expect("ack");
            seen += 1;
        }
    }
    publisher.await.expect("publisher");
    seen
}

/// The server-restart scenario (`--restart`).
mod restart {
    use std::time::{Duration, Instant};

    use weir::cancel::Context;
    use weir::nats::{testing::NatsServer, Pool};
    use weir::stage::{self as stage, Scope};
    use weir_benches::work::spin;

    const PROCESSES: usize = 2;

    /// File storage (the streams survive the restart); the other settings
    /// as in the throughput table.
    fn pool(name: &str) -> Pool {
        Pool::new(name)
            .batch(super::BATCH)
            .in_flight(4096)
            .max_ack_pending(4096)
    }

    pub(super) fn scenario(jobs: u64, runs: u64) {
        let k = super::calibrate(100);
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let median = |down: Option<u64>| {
            let mut times: Vec<Duration> = (0..runs)
                .map(|i| rt.block_on(run(jobs, k, down.map(Duration::from_secs), i)))
                .collect();
            times.sort();
            times[times.len() / 2]
        };
        let base = median(None);
        println!(
            "| server restart ({jobs} ~100 µs jobs, {PROCESSES} worker processes x {}, file storage) | median of {runs} | target | met |",
            super::WORKERS_PER_PROCESS
        );
        println!("|---|---|---|---|");
        println!("| no restart | {:.2} s | - | - |", base.as_secs_f64());
        for down in [1, 5] {
            let total = median(Some(down));
            let target = base + Duration::from_secs(down + 5);
            println!(
                "| killed half-way, down {down} s | {:.2} s | <= {:.2} s | {} |",
                total.as_secs_f64(),
                target.as_secs_f64(),
                if total <= target { "yes" } else { "NO" }
            );
        }
    }

    /// One run on a fresh server; the server is killed half-way and kept
    /// down for `down` (if any). Returns the time from the first job
    /// published to the last result read; panics unless every job's result
    /// arrived exactly once.
    async fn run(jobs: u64, k: u32, down: Option<Duration>, i: u64) -> Duration {
        let mut server = NatsServer::start().expect("nats-server");
        let url = server.url();
        let name = format!("restart{i}");
        let client = weir::nats::connect(&url).await.expect("connect");
        // Set the pool up before the clock starts.
        let ctx = Context::background().with_timeout(Duration::from_millis(10));
        let _ = weir::nats::serve(&ctx, client.clone(), &pool(&name), 1, |x: u64| async move {
            Ok::<_, std::io::Error>(x)
        })
        .await;
        let exe = std::env::current_exe().expect("own executable");
        let mut children: Vec<std::process::Child> = (0..PROCESSES)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args(["--worker", "restart", &url, &name, &k.to_string()])
                    .spawn()
                    .expect("spawn worker")
            })
            .collect();
        let t = Instant::now();
        let scope = Scope::new(&Context::background());
        let results = pool(&name)
            .remote::<u64, u64>(client)
            .run(&scope, stage::generate(&scope, 0..jobs))
            .expect("remote");
        let mut seen = vec![0u32; jobs as usize];
        let mut n = 0u64;
        while let Some(r) = results.recv().await {
            seen[r.expect("job result") as usize] += 1;
            n += 1;
            if n == jobs / 2 {
                if let Some(down) = down {
                    server.kill();
                    tokio::time::sleep(down).await;
                    tokio::task::block_in_place(|| server.restart()).expect("restart");
                }
            }
            if n == jobs {
                break;
            }
        }
        let took = t.elapsed();
        drop(results);
        scope.cancel();
        assert!(seen.iter().all(|&c| c == 1), "a result missing or repeated");
        for c in &mut children {
            let _ = c.kill();
            let _ = c.wait();
        }
        took
    }

    /// A worker process: the job's own number back, after ~100 µs of work.
    pub(super) async fn worker(client: weir::nats::async_nats::Client, name: &str, k: u32) {
        weir::nats::serve(
            &Context::background(),
            client,
            &pool(name),
            super::WORKERS_PER_PROCESS,
            move |x: u64| async move {
                std::hint::black_box(spin(x, k));
                Ok::<_, std::io::Error>(x)
            },
        )
        .await
        .expect("serve");
    }
}
