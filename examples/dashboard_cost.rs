//! What the live page costs a running pipeline, with the resolution to
//! say whether it is within the targets of issue 23: the fused pipeline
//! (`source -> map(square) -> fold`, one task) slows by ≤ 5 %, the
//! hand-written channel pipeline (gen, square and sum tasks joined by two
//! weir channels) by ≤ 2 %.
//!
//! ```text
//! cargo run --release --example dashboard_cost
//! cargo run --release --example dashboard_cost -- --pairs 30 --run-ms 1500
//! ```
//!
//! One command, about five minutes with the defaults (20 pairs of each
//! kind, runs of 1.5 s), ending in one verdict per target: **met** (the whole 95 %
//! interval is within the target), **not met** (the whole interval is
//! past it) or **not resolvable** (the interval straddles it; or the A/A
//! control's own interval excludes zero; or the runs with the page were
//! faster, which only a difference between the two kinds of run other
//! than the page can cause).
//!
//! # The method
//!
//! * Each run is one pipeline run of about `--run-ms` (its item count is
//!   calibrated first), long enough for the page to send at least four
//!   updates (four a second; the output says if a run saw fewer). With
//!   the page, a client on a thread of its own reads `/events` as a
//!   browser in another process would, and the run waits for its first
//!   update. Then every run, with the page or not, pauses 100 ms before
//!   it is timed: a thread that slept is favoured by the scheduler for a
//!   moment, and without the pause only the runs with the page (which
//!   waited) were — they came out 8–9 % *faster* on a loaded machine.
//! * Runs come in **pairs** of adjacent runs, with and without the page,
//!   the order alternating from pair to pair, so that whatever else the
//!   machine does moves both runs of a pair alike. The result is the
//!   median of the per-pair ratios (page / no page) with a bootstrap 95 %
//!   interval.
//! * An **A/A control**: pairs of two runs without the page, through the
//!   same code, interleaved with the others. Its interval is the method's
//!   resolution on this machine at this moment: a target closer than that
//!   cannot be resolved.
//! * CPU time per thread as a second measure (from
//!   `/proc/self/task/*/schedstat`, Linux): the pipeline's threads (the
//!   runtime's workers and the main thread) as paired ratios like the wall
//!   time, and the page's server and client threads' own CPU time — the
//!   page's direct cost, as a share of the pipeline's.
//! * Last, the page alone: a 50-stage pipeline's page with one client for
//!   3 s and nothing running — the server's CPU time per update, and how
//!   often the pipeline's runtime workers were woken meanwhile (tokio's
//!   park counts; it should be zero).
//!
//! `--placebo` replaces the page by a thread that wakes eight times a
//! second and does nothing (the server and its client together wake about
//! that often): what merely one more waking thread does to the timings on
//! this machine, to tell it from what the page's work does.
//!
//! The hand-written pipeline has no `Pipeline` to show, so its page is
//! that of a three-stage pipeline built beside it (same server, same
//! updates).

use std::collections::HashMap;
use std::future::IntoFuture;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weir::cancel::Context;
use weir::chan;
use weir::pipeline::Pipeline;

/// The pipeline's runtime threads are named so, to tell them apart.
const WORKER: &str = "bench-worker";
/// The page's client thread.
const CLIENT: &str = "page-client";
/// The dashboard's own thread (see `weir::dashboard`).
const SERVER: &str = "weir-dashboard";
/// The pause before every timed run.
const SETTLE: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Bench {
    Fused,
    Hand,
}

/// One timed run.
#[derive(Clone, Copy, Default, Debug)]
struct Run {
    /// Wall time, seconds.
    wall: f64,
    /// CPU time of the pipeline's threads (workers and main), seconds.
    pipeline_cpu: f64,
    /// CPU time of the page's server thread, seconds.
    server_cpu: f64,
    /// CPU time of the page's client thread, seconds.
    client_cpu: f64,
    /// Updates the client received while timed.
    updates: usize,
}

/// CPU time (ns) of every thread of this process now, by thread id, with
/// its name: from `/proc/self/task/*/schedstat`. Empty off Linux.
fn threads() -> HashMap<String, (String, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in dir.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(ns) = ns {
            let tid = task.file_name().to_string_lossy().into_owned();
            out.insert(tid, (name.trim().to_string(), ns));
        }
    }
    out
}

/// CPU seconds used between two [`threads`] readings by threads named
/// `pick`, over threads alive at the second (those started between count
/// from zero).
fn used(
    before: &HashMap<String, (String, u64)>,
    after: &HashMap<String, (String, u64)>,
    pick: impl Fn(&str) -> bool,
) -> f64 {
    let ns: u64 = after
        .iter()
        .filter(|(_, (name, _))| pick(name))
        .map(|(tid, (_, ns))| ns.saturating_sub(before.get(tid).map_or(0, |b| b.1)))
        .sum();
    ns as f64 / 1e9
}

fn pipeline_thread(name: &str) -> bool {
    name != SERVER && name != CLIENT
}

fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

/// A client reading `/events` on a thread of its own, counting updates.
struct Client {
    seen: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
    /// Ends a placebo.
    stop: Arc<AtomicBool>,
}

/// `--placebo`: the runs "with the page" open no page, only a thread that
/// wakes eight times a second (as the server and its client together do)
/// and does nothing: what one more waking thread does to the timings.
static PLACEBO: AtomicBool = AtomicBool::new(false);

fn placebo() -> Client {
    let seen = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (count, stopped) = (seen.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name(CLIENT.into())
        .spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(125));
                count.fetch_add(1, Ordering::Relaxed);
            }
        })
        .expect("spawn the placebo");
    Client { seen, thread, stop }
}

fn watch(addr: std::net::SocketAddr) -> Client {
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let thread = std::thread::Builder::new()
        .name(CLIENT.into())
        .spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            std::io::Write::write_all(&mut s, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("request");
            // Counts `data: ` at line starts, across reads.
            let mut last = [0u8; 6];
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut joined = last.to_vec();
                joined.extend_from_slice(&buf[..n]);
                let events = joined.windows(7).filter(|w| w == b"\ndata: ").count();
                count.fetch_add(events, Ordering::Relaxed);
                last.copy_from_slice(&joined[joined.len() - 6..]);
            }
        })
        .expect("spawn the client");
    Client {
        seen,
        thread,
        stop: Arc::new(AtomicBool::new(false)),
    }
}

/// The hand-written pipeline: three tasks, two channels.
async fn hand_written(n: u64) -> u64 {
    let (tx1, rx1) = chan::bounded::<u64>(1024);
    let (tx2, rx2) = chan::bounded::<u64>(1024);
    let gen = tokio::spawn(async move {
        for i in 1..=n {
            if tx1.send(i).await.is_err() {
                break;
            }
        }
    });
    let sq = tokio::spawn(async move {
        while let Some(x) = rx1.recv().await {
            if tx2.send(square(x)).await.is_err() {
                break;
            }
        }
    });
    let sum = tokio::spawn(async move {
        let mut sum = 0u64;
        while let Some(x) = rx2.recv().await {
            sum = sum.wrapping_add(x);
        }
        sum
    });
    gen.await.expect("gen");
    sq.await.expect("square");
    sum.await.expect("sum")
}

/// One run of `bench` over `n` items, with or without the page open.
async fn run(bench: Bench, n: u64, page: bool) -> Run {
    let p = Pipeline::new(&Context::background());
    // The fused pipeline is this pipeline; the hand-written one shows the
    // page of a small pipeline beside it (built, not run). Built alike
    // with or without the page.
    let (fused, _beside) = match bench {
        Bench::Fused => (
            Some(p.source(1..=n).map(square).fold(0u64, u64::wrapping_add)),
            None,
        ),
        Bench::Hand => (
            None,
            Some(p.source(0..1u64).map(square).map(square).for_each(drop)),
        ),
    };
    let open = if page && PLACEBO.load(Ordering::Relaxed) {
        Some((None, placebo()))
    } else if page {
        let dash = p.dashboard().await.expect("bind");
        let client = watch(dash.local_addr());
        // Timing starts once the page has its first update.
        while client.seen.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Some((Some(dash), client))
    } else {
        None
    };
    // Both kinds of run pause alike before timing: a thread that slept
    // gets the scheduler's favour for a moment, and without this only the
    // runs with the page (which wait for their first update) would.
    tokio::time::sleep(SETTLE).await;
    let seen = |o: &Option<(Option<weir::dashboard::Dashboard>, Client)>| {
        o.as_ref()
            .map_or(0, |(_, c)| c.seen.load(Ordering::Relaxed))
    };
    let (updates0, cpu0, t) = (seen(&open), threads(), Instant::now());
    let sum = match fused {
        Some(sink) => sink.await.expect("runs"),
        None => hand_written(n).await,
    };
    let wall = t.elapsed().as_secs_f64();
    let (cpu1, updates1) = (threads(), seen(&open));
    std::hint::black_box(sum);
    if let Some((dash, client)) = open {
        drop(dash); // closes the connection: the client ends
        client.stop.store(true, Ordering::Relaxed); // a placebo ends
        client.thread.join().expect("client");
    }
    Run {
        wall,
        pipeline_cpu: used(&cpu0, &cpu1, pipeline_thread),
        server_cpu: used(&cpu0, &cpu1, |name| name == SERVER),
        client_cpu: used(&cpu0, &cpu1, |name| name == CLIENT),
        updates: updates1 - updates0,
    }
}

/// The item count for runs of about `target` seconds.
async fn calibrate(bench: Bench, target: f64) -> u64 {
    let mut n: u64 = match bench {
        Bench::Fused => 20_000_000,
        Bench::Hand => 200_000,
    };
    for _ in 0..3 {
        let wall = run(bench, n, false).await.wall.max(1e-3);
        n = ((n as f64) * target / wall).max(1000.0) as u64;
    }
    n
}

/// A small deterministic generator for the bootstrap (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 0 {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}

/// The median of `ratios` and its bootstrap 95 % interval.
fn estimate(ratios: &[f64]) -> (f64, f64, f64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut medians: Vec<f64> = (0..4000)
        .map(|_| {
            let sample: Vec<f64> = (0..ratios.len())
                .map(|_| ratios[rng.below(ratios.len())])
                .collect();
            median(&sample)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    let at = |q: f64| medians[((medians.len() - 1) as f64 * q).round() as usize];
    (median(ratios), at(0.025), at(0.975))
}

/// `(m, lo, hi)` of ratios as a change in %.
fn pct((m, lo, hi): (f64, f64, f64)) -> String {
    format!(
        "{:+6.2} %  [{:+6.2} %, {:+6.2} %]",
        (m - 1.0) * 100.0,
        (lo - 1.0) * 100.0,
        (hi - 1.0) * 100.0
    )
}

fn verdict((_, lo, hi): (f64, f64, f64), control: (f64, f64, f64), target: f64) -> &'static str {
    if control.1 > 1.0 || control.2 < 1.0 {
        "NOT RESOLVABLE (the A/A control's interval excludes zero: the machine's noise \
         is not what the method assumes)"
    } else if hi < 1.0 {
        "NOT RESOLVABLE (the runs with the page were faster, which the page cannot cause: \
         the two kinds of run differ in something else)"
    } else if hi <= 1.0 + target {
        "MET (the whole interval is within the target)"
    } else if lo > 1.0 + target {
        "NOT MET (the whole interval is past the target)"
    } else {
        "NOT RESOLVABLE (the interval straddles the target)"
    }
}

struct Args {
    pairs: usize,
    run_ms: u64,
}

fn args() -> Args {
    let mut a = Args {
        pairs: 20,
        run_ms: 1500,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--placebo" {
            PLACEBO.store(true, Ordering::Relaxed);
            continue;
        }
        let value = it.next().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--pairs", Some(v)) if v >= 2 => a.pairs = v as usize,
            ("--run-ms", Some(v)) if v >= 100 => a.run_ms = v,
            _ => {
                eprintln!(
                    "usage: dashboard_cost [--pairs N (>= 2)] [--run-ms MS (>= 100)] [--placebo]"
                );
                std::process::exit(2);
            }
        }
    }
    a
}

/// Every pair of one bench: (page run, its no-page partner) and the A/A
/// control's (second, first).
#[derive(Default)]
struct Pairs {
    page: Vec<(Run, Run)>,
    control: Vec<(Run, Run)>,
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(WORKER)
        .enable_all()
        .build()
        .expect("runtime");
    let target = a.run_ms as f64 / 1e3;
    let benches = [Bench::Fused, Bench::Hand];
    let mut pairs: [Pairs; 2] = Default::default();
    let started = Instant::now();
    let sizes = rt.block_on(async {
        let mut sizes = [0u64; 2];
        for (i, &bench) in benches.iter().enumerate() {
            sizes[i] = calibrate(bench, target).await;
        }
        eprintln!(
            "calibrated: fused n = {}, hand-written n = {}; {} pairs of each kind…",
            sizes[0], sizes[1], a.pairs
        );
        for k in 0..a.pairs {
            for (i, &bench) in benches.iter().enumerate() {
                let n = sizes[i];
                // The page pair and the control pair, which first
                // alternating; within each, which run first alternating.
                let flip = k % 2 == 1;
                for control in [flip, !flip] {
                    let (first, second) = if control {
                        (run(bench, n, false).await, run(bench, n, false).await)
                    } else if flip {
                        let page = run(bench, n, true).await;
                        (page, run(bench, n, false).await)
                    } else {
                        let none = run(bench, n, false).await;
                        (run(bench, n, true).await, none)
                    };
                    if control {
                        // (B, A) with B alternately second and first, as
                        // the page run is.
                        if flip {
                            pairs[i].control.push((first, second));
                        } else {
                            pairs[i].control.push((second, first));
                        }
                    } else {
                        pairs[i].page.push((first, second));
                    }
                }
            }
            eprint!(".");
        }
        eprintln!();
        sizes
    });
    let idle = page_alone(&rt);
    println!(
        "dashboard_cost: {} pairs per kind, runs of ~{} ms (fused n = {}, hand-written n = {}), \
         2 worker threads, {:.0} s in all",
        a.pairs,
        a.run_ms,
        sizes[0],
        sizes[1],
        started.elapsed().as_secs_f64()
    );
    if PLACEBO.load(Ordering::Relaxed) {
        println!("--placebo: NO PAGE in these runs, only a thread waking 8 times a second");
    }
    println!("change with the page open: median of per-pair ratios [bootstrap 95 % interval]");
    for (i, (name, limit)) in [("fused", 0.05), ("hand-written", 0.02)]
        .into_iter()
        .enumerate()
    {
        let p = &pairs[i];
        let ratio = |v: &[(Run, Run)], f: fn(&Run) -> f64| -> Vec<f64> {
            v.iter().map(|(b, a)| f(b) / f(a)).collect()
        };
        let wall = estimate(&ratio(&p.page, |r| r.wall));
        let control = estimate(&ratio(&p.control, |r| r.wall));
        let cpu = estimate(&ratio(&p.page, |r| r.pipeline_cpu));
        let cpu_control = estimate(&ratio(&p.control, |r| r.pipeline_cpu));
        let server: f64 = p.page.iter().map(|(b, _)| b.server_cpu).sum();
        let client: f64 = p.page.iter().map(|(b, _)| b.client_cpu).sum();
        let pipeline: f64 = p.page.iter().map(|(b, _)| b.pipeline_cpu).sum();
        let walls: f64 = p.page.iter().map(|(b, _)| b.wall).sum();
        let updates: Vec<usize> = p.page.iter().map(|(b, _)| b.updates).collect();
        let fewest = updates.iter().copied().min().unwrap_or(0);
        let all: usize = updates.iter().sum();
        println!("{name} (target ≤ {:.0} %):", limit * 100.0);
        println!("  wall time, page / no page   {}", pct(wall));
        println!(
            "  wall time, A/A control      {}   (resolution: ±{:.2} %)",
            pct(control),
            (control.2 - control.1) / 2.0 * 100.0
        );
        println!("  pipeline CPU, page/no page  {}", pct(cpu));
        println!("  pipeline CPU, A/A control   {}", pct(cpu_control));
        println!(
            "  server thread: {:.3} % of one core while timed, {:.0} µs per update; \
             updates per run ≥ {fewest}",
            server / walls * 100.0,
            server / all.max(1) as f64 * 1e6
        );
        println!(
            "  the page's own CPU (server + client threads): {:.3} % of the pipeline's",
            (server + client) / pipeline * 100.0
        );
        if fewest < 4 {
            println!(
                "  (a run saw only {fewest} updates: the machine starved the server, \
                 or --run-ms is short for four)"
            );
        }
        println!("  verdict: {}", verdict(wall, control, limit));
    }
    let rest: Vec<String> = std::env::args().skip(1).collect();
    println!(
        "command: cargo run --release --example dashboard_cost{}{}",
        if rest.is_empty() { "" } else { " -- " },
        rest.join(" ")
    );
    println!(
        "the page alone (50 stages, one client, {} updates in 3 s, nothing running): \
         server {:.0} µs CPU per update ({:.3} % of one core); \
         the pipeline's runtime workers woke {} times",
        idle.updates,
        idle.server_cpu / idle.updates.max(1) as f64 * 1e6,
        idle.server_cpu / 3.0 * 100.0,
        idle.wakes
    );
}

/// What the page alone costs, and whether it wakes the pipeline's runtime.
struct Idle {
    updates: usize,
    server_cpu: f64,
    wakes: u64,
}

fn page_alone(rt: &tokio::runtime::Runtime) -> Idle {
    let _in = rt.enter();
    let p = Pipeline::new(&Context::background());
    let mut flow = p.source(0..1u64).map(square);
    for _ in 0..47 {
        flow = flow.map(square);
    }
    let _unstarted = flow.for_each(drop);
    // Bound from this thread, not the runtime's: nothing of the page runs
    // on the pipeline's runtime.
    let dash = futures::executor::block_on(p.dashboard().into_future()).expect("bind");
    let client = watch(dash.local_addr());
    while client.seen.load(Ordering::Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let parks = || {
        let m = rt.metrics();
        (0..m.num_workers())
            .map(|w| m.worker_park_count(w))
            .sum::<u64>()
    };
    // Let the workers settle (park) after the runs before counting.
    std::thread::sleep(Duration::from_millis(200));
    let (parks0, cpu0, seen0) = (parks(), threads(), client.seen.load(Ordering::Relaxed));
    std::thread::sleep(Duration::from_secs(3));
    let (parks1, cpu1, seen1) = (parks(), threads(), client.seen.load(Ordering::Relaxed));
    drop(dash);
    client.thread.join().expect("client");
    Idle {
        updates: seen1 - seen0,
        server_cpu: used(&cpu0, &cpu1, |name| name == SERVER),
        wakes: parks1 - parks0,
    }
}
