//! `profile_csw`: why a rendezvous hand pipeline parks tokio's workers
//! (issue 18 §4, docs/profiling.md §17).
//!
//! ```text
//! cargo run --release -p weir-benches --bin profile_csw -- <weir|kanal> [n] [timeline[=items]] [spin=<iterations>]
//! ```
//!
//! Runs workload 9's `gen -> square -> sum` on rendezvous channels (weir's
//! `rendezvous()` or kanal's `bounded_async(0)`) on two tokio workers, and
//! counts, without touching the channels:
//! * per operation (`send` / `recv` of each stage), how many polls it took
//!   to complete: one (it found its counterpart), two (it waited and was
//!   woken once), or more; every poll after the first that returns
//!   `Pending` is a *futile* poll (a wake that found nothing to do);
//! * per worker, how often it parked (`on_thread_park`) and how many polls
//!   it ran;
//! * how often a stage's poll ran on another worker than its last one,
//!   and how often any poll ran on another worker than the poll just
//!   before it (*interleaved*: the stages split over both workers);
//! * the voluntary context switches of the process.
//!
//! With `timeline` (or `timeline=<items>`) it prints, for 200 items (or
//! `<items>`) from the middle of the run,
//! every poll (time, worker, stage, operation, poll number, result) and
//! every park and unpark, in time order. `spin=<iterations>` adds a busy
//! loop of that many iterations per item to the middle stage: a control
//! that slows a pipeline without touching its channel.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::Poll;
use std::time::Instant;

use weir_benches::work::{square, voluntary_csw};
use weir_core::chan;

const WORKERS: usize = 2;

static NEXT_WORKER: AtomicUsize = AtomicUsize::new(0);
static PARKS: [AtomicU64; WORKERS + 1] = [const { AtomicU64::new(0) }; WORKERS + 1];
static TRACING: AtomicBool = AtomicBool::new(false);
/// The worker of the last operation poll of any stage: a poll on another
/// worker than the one before it is an *interleaved* poll (the stages run
/// split over both workers, not one after another on one).
static LAST_WORKER: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Nanoseconds each worker spent unparked, and parked.
static AWAKE_NS: [AtomicU64; WORKERS + 1] = [const { AtomicU64::new(0) }; WORKERS + 1];
static PARKED_NS: [AtomicU64; WORKERS + 1] = [const { AtomicU64::new(0) }; WORKERS + 1];

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(WORKERS) };
    /// When this worker last parked or unparked.
    static SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Adds the time since the last park or unpark to `to`, for this worker.
fn account(to: &[AtomicU64; WORKERS + 1]) {
    let now = Instant::now();
    if let Some(t) = SINCE.with(|c| c.replace(Some(now))) {
        let ns = u64::try_from(now.duration_since(t).as_nanos()).unwrap_or(u64::MAX);
        to[worker()].fetch_add(ns, Ordering::Relaxed);
    }
}

/// Extra work per item in the middle stage (`spin=<iterations>`): a
/// control that slows a pipeline without touching its channel.
fn busy(iterations: u64) {
    let mut x = 0u64;
    for i in 0..iterations {
        x = std::hint::black_box(x.wrapping_add(i));
    }
    std::hint::black_box(x);
}

fn worker() -> usize {
    WORKER.with(Cell::get)
}

/// One line of the timeline.
#[derive(Clone, Copy)]
struct Event {
    at: Instant,
    worker: usize,
    what: &'static str,
    item: u64,
    poll: u32,
    ready: bool,
}

/// Park and unpark events while tracing (rare: one lock per park).
static PARK_EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());

/// Per-operation counts of one stage's operation.
#[derive(Default, Clone)]
struct Stats {
    name: &'static str,
    ops: u64,
    /// Completed on the first poll / second / later.
    first: u64,
    second: u64,
    later: u64,
    /// Polls after the first that returned `Pending`.
    futile: u64,
    /// Polls that ran on another worker than the stage's previous poll.
    moved: u64,
    last_worker: usize,
    /// Polls that ran on another worker than the poll before them (of
    /// any stage).
    interleaved: u64,
    /// Polls run on each worker.
    on: [u64; WORKERS + 1],
    events: Vec<Event>,
}

impl Stats {
    fn new(name: &'static str) -> Self {
        Stats {
            name,
            last_worker: usize::MAX,
            ..Stats::default()
        }
    }
}

/// Awaits `f`, counting its polls into `st`; `item` names it in the
/// timeline.
async fn counted<F: Future>(f: F, st: &mut Stats, item: u64) -> F::Output {
    let mut f = pin!(f);
    let mut polls = 0u32;
    let tracing = TRACING.load(Ordering::Relaxed);
    std::future::poll_fn(|cx| {
        polls += 1;
        let w = worker();
        st.on[w] += 1;
        if st.last_worker != usize::MAX && st.last_worker != w {
            st.moved += 1;
        }
        st.last_worker = w;
        let before = LAST_WORKER.swap(w, Ordering::Relaxed);
        if before != usize::MAX && before != w {
            st.interleaved += 1;
        }
        let r = f.as_mut().poll(cx);
        if tracing {
            st.events.push(Event {
                at: Instant::now(),
                worker: w,
                what: st.name,
                item,
                poll: polls,
                ready: r.is_ready(),
            });
        }
        match r {
            Poll::Pending => {
                if polls > 1 {
                    st.futile += 1;
                }
            }
            Poll::Ready(_) => {
                st.ops += 1;
                match polls {
                    1 => st.first += 1,
                    2 => st.second += 1,
                    _ => st.later += 1,
                }
            }
        }
        r
    })
    .await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .on_thread_start(|| {
            let w = NEXT_WORKER.fetch_add(1, Ordering::Relaxed).min(WORKERS);
            WORKER.with(|c| c.set(w));
        })
        .on_thread_park(|| {
            account(&AWAKE_NS);
            let w = worker();
            PARKS[w].fetch_add(1, Ordering::Relaxed);
            if TRACING.load(Ordering::Relaxed) {
                PARK_EVENTS.lock().expect("park events").push(Event {
                    at: Instant::now(),
                    worker: w,
                    what: "park",
                    item: 0,
                    poll: 0,
                    ready: false,
                });
            }
        })
        .on_thread_unpark(|| {
            account(&PARKED_NS);
            if TRACING.load(Ordering::Relaxed) {
                PARK_EVENTS.lock().expect("park events").push(Event {
                    at: Instant::now(),
                    worker: worker(),
                    what: "unpark",
                    item: 0,
                    poll: 0,
                    ready: false,
                });
            }
        })
        .build()
        .expect("runtime")
}

/// Tracing covers items `from .. from + items` (set by the generator,
/// which runs ahead by at most two items); `items == 0`: no timeline.
fn trace_window(i: u64, from: u64, items: u64) {
    if items > 0 {
        if i == from {
            TRACING.store(true, Ordering::Relaxed);
        } else if i == from + items {
            TRACING.store(false, Ordering::Relaxed);
        }
    }
}

type Three = (Stats, Stats, Stats, Stats);

async fn weir_pipeline(n: u64, timeline: u64, spin: u64) -> (u64, Three) {
    let (nums_tx, nums) = chan::rendezvous::<u64>();
    let (squares_tx, squares) = chan::rendezvous::<u64>();
    let from = n / 2;
    let g = tokio::spawn(async move {
        let mut st = Stats::new("gen.send");
        for i in 1..=n {
            trace_window(i, from, timeline);
            if counted(nums_tx.send(i), &mut st, i).await.is_err() {
                break;
            }
        }
        st
    });
    let m = tokio::spawn(async move {
        let mut r = Stats::new("sq.recv");
        let mut s = Stats::new("sq.send");
        let mut i = 1;
        while let Some(v) = counted(nums.recv(), &mut r, i).await {
            busy(spin);
            if counted(squares_tx.send(square(v)), &mut s, i)
                .await
                .is_err()
            {
                break;
            }
            i += 1;
        }
        (r, s)
    });
    let sum = tokio::spawn(async move {
        let mut st = Stats::new("sum.recv");
        let mut sum = 0u64;
        let mut i = 1;
        while let Some(v) = counted(squares.recv(), &mut st, i).await {
            sum = sum.wrapping_add(v);
            i += 1;
        }
        (sum, st)
    });
    let (sum, c) = sum.await.expect("sum");
    let (a, b) = m.await.expect("square");
    (sum, (g.await.expect("gen"), a, b, c))
}

async fn kanal_pipeline(n: u64, timeline: u64, spin: u64) -> (u64, Three) {
    let (nums_tx, nums) = kanal::bounded_async::<u64>(0);
    let (squares_tx, squares) = kanal::bounded_async::<u64>(0);
    let from = n / 2;
    let g = tokio::spawn(async move {
        let mut st = Stats::new("gen.send");
        for i in 1..=n {
            trace_window(i, from, timeline);
            if counted(nums_tx.send(i), &mut st, i).await.is_err() {
                break;
            }
        }
        st
    });
    let m = tokio::spawn(async move {
        let mut r = Stats::new("sq.recv");
        let mut s = Stats::new("sq.send");
        let mut i = 1;
        while let Ok(v) = counted(nums.recv(), &mut r, i).await {
            busy(spin);
            if counted(squares_tx.send(square(v)), &mut s, i)
                .await
                .is_err()
            {
                break;
            }
            i += 1;
        }
        (r, s)
    });
    let sum = tokio::spawn(async move {
        let mut st = Stats::new("sum.recv");
        let mut sum = 0u64;
        let mut i = 1;
        while let Ok(v) = counted(squares.recv(), &mut st, i).await {
            sum = sum.wrapping_add(v);
            i += 1;
        }
        (sum, st)
    });
    let (sum, c) = sum.await.expect("sum");
    let (a, b) = m.await.expect("square");
    (sum, (g.await.expect("gen"), a, b, c))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("weir", String::as_str).to_string();
    let n: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let timeline: u64 = args
        .iter()
        .find_map(|a| match a.strip_prefix("timeline") {
            Some("") => Some(200),
            Some(rest) => rest.strip_prefix('=')?.parse().ok(),
            None => None,
        })
        .unwrap_or(0);
    let spin: u64 = args
        .iter()
        .find_map(|a| a.strip_prefix("spin=")?.parse().ok())
        .unwrap_or(0);
    let rt = runtime();
    let csw0 = voluntary_csw();
    let t = Instant::now();
    let (sum, (a, b, c, d)) = rt.block_on(async move {
        match which.as_str() {
            "kanal" => tokio::spawn(kanal_pipeline(n, timeline, spin)).await,
            _ => tokio::spawn(weir_pipeline(n, timeline, spin)).await,
        }
        .expect("pipeline")
    });
    let elapsed = t.elapsed();
    let csw = voluntary_csw().saturating_sub(csw0);
    drop(rt);
    let expect = (1..=n).fold(0u64, |s, i| s.wrapping_add(square(i)));
    assert_eq!(sum, expect, "the pipeline lost or duplicated items");
    println!(
        "{} items in {:.1} ms: {:.1} ns/item, {} voluntary csw ({:.3}/item)",
        n,
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_nanos() as f64 / n as f64,
        csw,
        csw as f64 / n as f64
    );
    println!(
        "{:.1} csw per ms of the run",
        csw as f64 / (elapsed.as_secs_f64() * 1e3)
    );
    for w in 0..WORKERS {
        let parks = PARKS[w].load(Ordering::Relaxed);
        let awake = AWAKE_NS[w].load(Ordering::Relaxed);
        let parked = PARKED_NS[w].load(Ordering::Relaxed);
        println!(
            "worker {w}: {parks} parks ({:.3}/item), awake {:.1} ms, parked {:.1} ms, {:.1} us awake per park",
            parks as f64 / n as f64,
            awake as f64 / 1e6,
            parked as f64 / 1e6,
            awake as f64 / 1e3 / parks.max(1) as f64,
        );
    }
    println!(
        "op        ops     1st poll   2nd poll   later   futile  moved  interleaved  polls on w0 / w1"
    );
    for st in [&a, &b, &c, &d] {
        println!(
            "{:9} {:8} {:9} {:9} {:7} {:8} {:7} {:12}  {} / {}",
            st.name,
            st.ops,
            st.first,
            st.second,
            st.later,
            st.futile,
            st.moved,
            st.interleaved,
            st.on[0],
            st.on[1]
        );
    }
    let interleaved: u64 = [&a, &b, &c, &d].iter().map(|st| st.interleaved).sum();
    println!(
        "interleaved polls: {interleaved} ({:.4}/item, {:.1} per ms of the run)",
        interleaved as f64 / n as f64,
        interleaved as f64 / (elapsed.as_secs_f64() * 1e3)
    );
    if timeline > 0 {
        let mut all: Vec<Event> = PARK_EVENTS.lock().expect("park events").clone();
        for st in [&a, &b, &c, &d] {
            all.extend(st.events.iter().copied());
        }
        all.sort_by_key(|e| e.at);
        let Some(t0) = all.first().map(|e| e.at) else {
            return;
        };
        for e in all {
            let ns = e.at.duration_since(t0).as_nanos();
            if e.item == 0 {
                println!("{ns:>9} w{} {}", e.worker, e.what);
            } else {
                println!(
                    "{ns:>9} w{} {:9} item {:>8} poll {} {}",
                    e.worker,
                    e.what,
                    e.item,
                    e.poll,
                    if e.ready { "Ready" } else { "Pending" }
                );
            }
        }
    }
}
