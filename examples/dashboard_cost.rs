//! What the dashboard costs a running pipeline: the fused pipeline
//! (`source -> map(square) -> fold`, one task) and the hand-written
//! channel pipeline (gen, square and sum tasks joined by two weir
//! channels, one `send`/`recv` per item), each timed with no page and with
//! a page open and updating — a client reading `/events` on a thread of
//! its own, as a browser in another process would — alternating, in one
//! run; medians printed.
//!
//! ```text
//! cargo run --release --example dashboard_cost -- [ROUNDS] [FUSED_N] [HAND_N]
//! ```
//!
//! Last, the page on its own: a 50-stage pipeline's page with one client
//! and nothing else running for 10 s, and the CPU time the process used.
//!
//! The hand-written pipeline has no `Pipeline` to show, so its page is
//! that of a three-stage pipeline built beside it (same server, same
//! updates, four a second): what is measured there is the server's own
//! work on the runtime the pipeline runs on.

use std::io::Read;
use std::time::{Duration, Instant};

use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Pipeline, Sink};

/// CPU time of this whole process so far (user + system, every thread),
/// from `/proc/self/stat`, in clock ticks of 10 ms; `None` off Linux.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let (utime, stime) = (
        fields.get(11)?.parse::<u64>().ok()?,
        fields.get(12)?.parse::<u64>().ok()?,
    );
    Some(utime + stime)
}

/// Wall time and CPU time (ms) of one timed section.
#[derive(Clone, Copy, Default)]
struct Cost {
    wall: Duration,
    cpu_ms: u64,
}

fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

/// Reads `/events` from `url` on a thread until the server closes it;
/// returns how many bytes it read.
fn watch(addr: std::net::SocketAddr) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        std::io::Write::write_all(&mut s, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = [0u8; 65536];
        let mut total = 0;
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    })
}

async fn fused(n: u64, page: bool) -> Cost {
    let p = Pipeline::new(&Context::background());
    let sink = p.source(1..=n).map(square).fold(0u64, u64::wrapping_add);
    timed(&p, sink, page).await
}

async fn timed(p: &Pipeline, sink: Sink<u64>, page: bool) -> Cost {
    let (dash, client) = if page {
        let dash = p.dashboard().await.expect("bind");
        let client = watch(dash.local_addr());
        // Let the first update reach the client before timing.
        tokio::time::sleep(Duration::from_millis(300)).await;
        (Some(dash), Some(client))
    } else {
        (None, None)
    };
    let (t, cpu) = (Instant::now(), cpu_ticks());
    let sum = sink.await.expect("runs");
    let elapsed = cost(t, cpu);
    std::hint::black_box(sum);
    if let Some(dash) = dash {
        dash.stop().await;
    }
    if let Some(client) = client {
        assert!(client.join().unwrap() > 0, "the client read no events");
    }
    elapsed
}

async fn hand_written(n: u64, page: bool) -> Cost {
    // The page of a pipeline beside it (the hand-written one has none).
    let beside = Pipeline::new(&Context::background());
    let _unstarted = beside.source(0..1u64).map(square).for_each(drop);
    let (dash, client) = if page {
        let dash = beside.dashboard().await.expect("bind");
        let client = watch(dash.local_addr());
        tokio::time::sleep(Duration::from_millis(300)).await;
        (Some(dash), Some(client))
    } else {
        (None, None)
    };
    let (t, cpu) = (Instant::now(), cpu_ticks());
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
    gen.await.unwrap();
    sq.await.unwrap();
    std::hint::black_box(sum.await.unwrap());
    let elapsed = cost(t, cpu);
    if let Some(dash) = dash {
        dash.stop().await;
    }
    if let Some(client) = client {
        assert!(client.join().unwrap() > 0, "the client read no events");
    }
    elapsed
}

fn cost(t: Instant, cpu: Option<u64>) -> Cost {
    Cost {
        wall: t.elapsed(),
        cpu_ms: cpu.zip(cpu_ticks()).map_or(0, |(a, b)| (b - a) * 10),
    }
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<u64>().expect("a number"));
    let rounds = args.next().unwrap_or(9);
    let fused_n = args.next().unwrap_or(200_000_000);
    let hand_n = args.next().unwrap_or(5_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut times: [Vec<Cost>; 4] = Default::default();
    rt.block_on(async {
        for round in 0..rounds {
            // Alternate which goes first.
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for page in order {
                times[usize::from(page)].push(fused(fused_n, page).await);
            }
            for page in order {
                times[2 + usize::from(page)].push(hand_written(hand_n, page).await);
            }
        }
    });
    // The page on its own: a 50-stage pipeline's page with one client
    // reading its events for a while, nothing else running; the process's
    // CPU time over that span is the server's (and the client's) cost.
    let idle_secs = 10;
    let idle_cpu_ms = rt.block_on(async {
        let beside = Pipeline::new(&Context::background());
        let mut flow = beside.source(0..1u64).map(square);
        for _ in 0..47 {
            flow = flow.map(square);
        }
        let _unstarted = flow.for_each(drop);
        let dash = beside.dashboard().await.expect("bind");
        let client = watch(dash.local_addr());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let cpu = cpu_ticks();
        tokio::time::sleep(Duration::from_secs(idle_secs)).await;
        let used = cpu.zip(cpu_ticks()).map_or(0, |(a, b)| (b - a) * 10);
        dash.stop().await;
        client.join().unwrap();
        used
    });
    let wall = times
        .clone()
        .map(|v| median(v.iter().map(|c| c.wall).collect()));
    let cpu = times.map(|v| median(v.iter().map(|c| c.cpu_ms).collect()));
    let pct = |a: f64, b: f64| (b / a - 1.0) * 100.0;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("rounds: {rounds}, fused n = {fused_n}, hand-written n = {hand_n}, 2 worker threads");
    println!(
        "medians of {rounds} runs each: wall time, and CPU time of the whole process (10 ms ticks)"
    );
    println!("pipeline        wall no page  wall page  change   cpu no page  cpu page  change");
    for (name, i) in [("fused", 0), ("hand-written", 2)] {
        println!(
            "{name:<14}  {:>9.1} ms {:>7.1} ms {:>+6.1} %  {:>8} ms {:>6} ms {:>+6.1} %",
            ms(wall[i]),
            ms(wall[i + 1]),
            pct(ms(wall[i]), ms(wall[i + 1])),
            cpu[i],
            cpu[i + 1],
            pct(cpu[i] as f64, cpu[i + 1] as f64),
        );
    }
    println!(
        "the page alone (50 stages, one client, {idle_secs} s): {idle_cpu_ms} ms of CPU, {:.2} % of one core",
        idle_cpu_ms as f64 / (idle_secs * 1000) as f64 * 100.0
    );
}
