//! The run plan (which workload, which implementation, which sizes) and its
//! execution: every measurement runs in its own child process — the
//! `compare` binary re-executed with `--child`, or the Go binary — and
//! prints one [`Outcome`] line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::go::GoSide;
use crate::work::{spin, sum_of_squares, CAP};
use crate::workloads::driver::Driver;
use crate::Outcome;

/// An implementation of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Impl {
    /// Go, the seed's code as written: unbuffered channels.
    GoUnbuf,
    /// Go, the seed's code with buffered channels: capacity 1024 (128 in
    /// the cancellation workload, 64 in the select loop's buffered case).
    GoBuf,
    /// tokio multi-thread runtime + `flume::bounded(1024)`, one task per
    /// stage (raw flume in the channel-hop workload).
    TokioFlume,
    /// tokio + kanal's async channel (the hand-written pipeline only).
    TokioKanal,
    /// tokio + tokio's own `mpsc` channel (the hand-written pipeline only).
    TokioMpsc,
    /// weir: the facade's `Pipeline` for pipeline workloads, weir-core and
    /// weir-cancel for the primitives.
    Weir,
    /// weir-core's batch API (`send_all` / `recv_many`), channel hop only.
    WeirBatch,
    /// A plain sequential Rust loop: the floor.
    Loop,
    /// The worker pool's job function in a plain Go loop (calibration only).
    GoLoop,
    /// weir's own `chan::select!` (the select loop only).
    WeirChanSelect,
    /// tokio's `JoinHandle::abort` on the same stages, no cancel branch
    /// (the cancellation workload only).
    TokioAbort,
    /// The facade's `Pipeline` whose stages fuse into one task (the
    /// latency workload only).
    WeirFused,
    /// The pipeline workload's `Pipeline` with a `buffer(n,
    /// Overflow::DropOldest)` that never overflows between its `map` and
    /// its `fold` (issue 21: what an overflow stage costs).
    WeirBuffer,
}

/// The baselines every row is compared with, in column order.
pub const BASELINES: [Impl; 5] = [
    Impl::GoUnbuf,
    Impl::GoBuf,
    Impl::TokioFlume,
    Impl::TokioKanal,
    Impl::Loop,
];

impl Impl {
    /// The label in tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            Impl::GoUnbuf => "Go seed (unbuffered)",
            Impl::GoBuf => "Go (buffered)",
            Impl::TokioFlume => "tokio+flume",
            Impl::TokioKanal => "tokio+kanal",
            Impl::TokioMpsc => "tokio mpsc",
            Impl::Weir => "weir",
            Impl::WeirBatch => "weir send_all/recv_many",
            Impl::Loop => "loop",
            Impl::GoLoop => "Go loop",
            Impl::WeirChanSelect => "weir chan::select!",
            Impl::TokioAbort => "tokio abort",
            Impl::WeirFused => "weir Pipeline (fused)",
            Impl::WeirBuffer => "weir + buffer(DropOldest)",
        }
    }

    /// The short column header of this implementation as a baseline.
    pub fn column(self) -> &'static str {
        match self {
            Impl::GoUnbuf => "xGo",
            Impl::GoBuf => "xGo-buf",
            Impl::TokioFlume => "xtokio+flume",
            Impl::TokioKanal => "xkanal",
            Impl::TokioMpsc => "xmpsc",
            Impl::Loop => "xloop",
            Impl::Weir
            | Impl::WeirBatch
            | Impl::WeirChanSelect
            | Impl::WeirFused
            | Impl::WeirBuffer => "xweir",
            Impl::TokioAbort => "xabort",
            Impl::GoLoop => "xGo-loop",
        }
    }

    /// The name the `--child` mode knows this Rust implementation by.
    pub fn child_name(self) -> Option<&'static str> {
        match self {
            Impl::TokioFlume => Some("tokio-flume"),
            Impl::TokioKanal => Some("tokio-kanal"),
            Impl::TokioMpsc => Some("tokio-mpsc"),
            Impl::Weir => Some("weir"),
            Impl::WeirBatch => Some("weir-batch"),
            Impl::WeirChanSelect => Some("weir-chan-select"),
            Impl::TokioAbort => Some("tokio-abort"),
            Impl::WeirFused => Some("weir-fused"),
            Impl::WeirBuffer => Some("weir-buffer"),
            Impl::Loop => Some("loop"),
            Impl::GoUnbuf | Impl::GoBuf | Impl::GoLoop => None,
        }
    }

    /// The channel capacity of a Go implementation.
    pub fn go_cap(self) -> Option<usize> {
        match self {
            Impl::GoUnbuf | Impl::GoLoop => Some(0),
            Impl::GoBuf => Some(CAP),
            _ => None,
        }
    }
}

/// What a row of the table reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Wall time of the timed section.
    Time,
    /// Median latency over the trials of one run.
    P50,
    /// 99th-percentile latency over the trials of one run.
    P99,
    /// Shutdown time (million workers).
    Shutdown,
    /// Peak RSS.
    Rss,
    /// Voluntary context switches of the process in the timed section.
    Csw,
}

impl Metric {
    /// The label in tables.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Time => "time",
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::Shutdown => "shutdown",
            Metric::Rss => "peak RSS",
            Metric::Csw => "vol. csw",
        }
    }

    /// The metric's value in an outcome: nanoseconds, kB for RSS, a count
    /// for context switches.
    pub fn value(self, o: &Outcome) -> f64 {
        match self {
            Metric::Time => o.elapsed.as_nanos() as f64,
            Metric::P50 => o.p50.as_nanos() as f64,
            Metric::P99 => o.p99.as_nanos() as f64,
            Metric::Shutdown => o.shutdown.as_nanos() as f64,
            Metric::Rss => o.rss_kb as f64,
            Metric::Csw => o.vcsw as f64,
        }
    }
}

/// How one implementation of a case runs.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Run `program args`.
    Run {
        /// The program: this executable (`--child`) or the Go binary.
        program: PathBuf,
        /// Its arguments.
        args: Vec<String>,
    },
    /// Not run, and why (shown in the table).
    Skip(String),
}

/// One line of the plan: a workload at one size / configuration, run by
/// several implementations.
#[derive(Debug, Clone)]
pub struct Case {
    /// A stable id (used by the target checks), e.g. `pool-k64-w2`.
    pub id: String,
    /// The workload, e.g. `1 pipeline`.
    pub workload: &'static str,
    /// This case's configuration, e.g. `N=10M`.
    pub title: String,
    /// Items processed, for the ns/item column (0: no such column).
    pub items: u64,
    /// The metrics reported (the first one is charted).
    pub metrics: Vec<Metric>,
    /// Runs per implementation.
    pub runs: usize,
    /// The implementations and how to run each.
    pub impls: Vec<(Impl, Plan)>,
    /// The checksum every implementation must report, if there is one.
    pub expect: Option<u64>,
    /// Implementations known to lose items in this case: their checksum is
    /// not enforced, but a wrong one is shown next to their time
    /// ([`CaseResult::lost`]).
    pub lossy: Vec<Impl>,
    /// A child that runs longer than this is killed.
    pub timeout: Duration,
}

/// How one implementation of a case fared.
#[derive(Debug, Clone)]
pub enum Fate {
    /// Every run succeeded.
    Ran(Vec<Outcome>),
    /// Not run (see [`Plan::Skip`]).
    Skipped(String),
    /// A run failed, timed out, or reported a wrong checksum.
    Failed(String),
}

/// A case with what each implementation measured.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: Case,
    /// One entry per implementation, in the case's order.
    pub fates: Vec<(Impl, Fate)>,
}

/// Workload sizes for a full or a quick run.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Pipeline (workload 1) N.
    pub pipeline: u64,
    /// Channel-hop items.
    pub hop: u64,
    /// Worker-pool jobs for (~100 ns, ~1 µs) jobs.
    pub pool: (u64, u64),
    /// Fan-out/fan-in N.
    pub fan: u64,
    /// Cancellation trials per run.
    pub cancel: u64,
    /// Latency trials per run.
    pub latency: u64,
    /// Million-workers sizes: (every implementation, weir and Go only).
    pub million: (u64, Option<u64>),
    /// Hand-written pipeline N: (bounded(1024), rendezvous).
    pub handpipe: (u64, u64),
    /// Items of the select loop (both producers together).
    pub select: u64,
    /// Events of the windowed count (workload 11).
    pub windowed: u64,
    /// Bounded-memory sizes (none in quick mode).
    pub memory: Option<(u64, u64)>,
    /// Runs of the latency workloads (each already aggregates many trials).
    pub latency_runs: usize,
}

impl Sizes {
    /// The sizes of the performance issue (about ten minutes on 2 cores).
    pub const FULL: Sizes = Sizes {
        pipeline: 10_000_000,
        hop: 5_000_000,
        pool: (1_000_000, 200_000),
        fan: 2_000_000,
        cancel: 1000,
        latency: 1000,
        million: (20_000, Some(1_000_000)),
        handpipe: (10_000_000, 2_000_000),
        select: 1_000_000,
        windowed: 1_000_000,
        memory: Some((10_000_000, 100_000_000)),
        // Issue 24's targets are medians of at least five runs.
        latency_runs: 5,
    };
    /// Tiny sizes that keep the harness from rotting (CI).
    pub const QUICK: Sizes = Sizes {
        pipeline: 100_000,
        hop: 100_000,
        pool: (20_000, 5_000),
        fan: 50_000,
        cancel: 50,
        latency: 50,
        million: (10_000, None),
        handpipe: (50_000, 10_000),
        select: 20_000,
        windowed: 50_000,
        memory: None,
        latency_runs: 1,
    };
}

/// `spin` rounds of a "~100 ns" job (same `k` in Go and Rust).
pub const K_SMALL: u32 = 56;
/// `spin` rounds of a "~1 µs" job.
pub const K_LARGE: u32 = 360;
/// Worker counts of the worker-pool workload.
pub const POOL_WORKERS: [usize; 3] = [1, 2, 4];
/// Channel capacity in the cancellation workload (every implementation,
/// Go's buffered variant included): filling ten buffers of 1024 through
/// `select`-ing stages costs ~20 ms per trial, too much for 1000 trials.
pub const CANCEL_CAP: usize = 128;
/// Worker threads of the multi-thread runtime in the hand-written pipeline
/// (the targets are for 2 cores).
pub const HANDPIPE_WORKERS: usize = crate::workloads::handpipe::WORKERS;
/// Keys of the windowed count (workload 11).
pub const WINDOWED_KEYS: u64 = 1000;
/// Events per tumbling window of the windowed count (workload 11).
pub const WINDOWED_SIZE: u64 = 10_000;
/// Raw flume's async receivers shut down in quadratic time with many
/// waiters: the million-workers baseline stops at this size.
pub const FLUME_MILLION_CAP: u64 = 20_000;

struct Planner<'a> {
    exe: &'a Path,
    go: &'a GoSide,
}

impl Planner<'_> {
    fn plan(&self, imp: Impl, workload: &str, args: &[u64], go_args: &[u64]) -> Plan {
        self.plan_cap(imp, workload, args, go_args, None)
    }

    /// `buffered`: the capacity of the buffered Go variant, if not [`CAP`].
    fn plan_cap(
        &self,
        imp: Impl,
        workload: &str,
        args: &[u64],
        go_args: &[u64],
        buffered: Option<usize>,
    ) -> Plan {
        let strs = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>();
        if let Some(cap) = imp.go_cap() {
            let cap = match (cap, buffered) {
                (0, _) | (_, None) => cap,
                (_, Some(b)) => b,
            };
            return match self.go.command(workload) {
                Some((program, mut a)) => {
                    a.push(cap.to_string());
                    a.extend(strs(go_args));
                    Plan::Run { program, args: a }
                }
                None => Plan::Skip("n/a (no Go)".into()),
            };
        }
        let name = imp.child_name().expect("a Rust implementation");
        let mut a = vec![
            "--child".to_string(),
            workload.to_string(),
            name.to_string(),
        ];
        a.extend(strs(args));
        Plan::Run {
            program: self.exe.to_path_buf(),
            args: a,
        }
    }

    fn impls(&self, list: &[Impl], workload: &str, args: &[u64]) -> Vec<(Impl, Plan)> {
        list.iter()
            .map(|&i| (i, self.plan(i, workload, args, args)))
            .collect()
    }
}

/// A short human form of a count: 10M, 20k, 1000.
pub fn short(n: u64) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// The full plan: every workload, every implementation.
pub fn plan(sizes: &Sizes, runs: usize, exe: &Path, go: &GoSide, only: &[String]) -> Vec<Case> {
    use Impl::*;
    let p = Planner { exe, go };
    let mut cases = Vec::new();
    let wanted = |w: &str| only.is_empty() || only.iter().any(|o| o == w);
    let all = [GoUnbuf, GoBuf, TokioFlume, Weir, Loop];
    let conc = [GoUnbuf, GoBuf, TokioFlume, Weir];
    let minute = Duration::from_secs(60);

    if wanted("pipeline") {
        let n = sizes.pipeline;
        cases.push(Case {
            id: "pipeline".into(),
            workload: "1 pipeline",
            title: format!("gen->square->sum N={}", short(n)),
            items: n,
            metrics: vec![Metric::Time],
            runs,
            impls: p.impls(
                &[
                    GoUnbuf, GoBuf, TokioFlume, Weir, WeirBuffer, WeirBatch, Loop,
                ],
                "pipeline",
                &[n],
            ),
            expect: Some(sum_of_squares(n)),
            lossy: Vec::new(),
            timeout: 3 * minute,
        });
    }
    if wanted("hop") {
        let n = sizes.hop;
        cases.push(Case {
            id: "hop".into(),
            workload: "2 channel hop",
            title: format!("1 producer, 1 consumer, N={}", short(n)),
            items: n,
            metrics: vec![Metric::Time],
            runs,
            impls: p.impls(
                &[GoUnbuf, GoBuf, TokioFlume, Weir, WeirBatch, Loop],
                "hop",
                &[n],
            ),
            expect: Some((0..n).fold(0u64, u64::wrapping_add)),
            lossy: Vec::new(),
            timeout: 2 * minute,
        });
    }
    if wanted("pool") {
        for (k, n, what) in [
            (K_SMALL, sizes.pool.0, "~100ns"),
            (K_LARGE, sizes.pool.1, "~1us"),
        ] {
            let expect = (0..n).fold(0u64, |a, i| a.wrapping_add(spin(i, k)));
            let args = [n, 1, u64::from(k)];
            cases.push(Case {
                id: format!("spin-k{k}"),
                workload: "3 worker pool",
                title: format!(
                    "calibration: {what} job (k={k}) in a loop, {} jobs",
                    short(n)
                ),
                items: n,
                metrics: vec![Metric::Time],
                runs,
                impls: vec![
                    (Loop, p.plan(Loop, "pool", &args, &args)),
                    (GoLoop, p.plan(GoLoop, "spin", &args, &[n, u64::from(k)])),
                ],
                expect: Some(expect),
                lossy: Vec::new(),
                timeout: 2 * minute,
            });
            for w in POOL_WORKERS {
                let args = [n, w as u64, u64::from(k)];
                cases.push(Case {
                    id: format!("pool-k{k}-w{w}"),
                    workload: "3 worker pool",
                    title: format!("{what} jobs (k={k}), W={w}, {} jobs", short(n)),
                    items: n,
                    metrics: vec![Metric::Time],
                    runs,
                    impls: all
                        .iter()
                        .map(|&i| (i, p.plan(i, "pool", &args, &args)))
                        .collect(),
                    expect: Some(expect),
                    lossy: Vec::new(),
                    timeout: 2 * minute,
                });
            }
        }
    }
    if wanted("fan") {
        let n = sizes.fan;
        cases.push(Case {
            id: "fan".into(),
            workload: "4 fan-out/fan-in",
            title: format!("4 squaring workers, N={}", short(n)),
            items: n,
            metrics: vec![Metric::Time],
            runs,
            impls: p.impls(&all, "fan", &[n]),
            expect: Some(sum_of_squares(n)),
            lossy: Vec::new(),
            timeout: 2 * minute,
        });
    }
    if wanted("cancel") {
        let t = sizes.cancel;
        let cap = CANCEL_CAP as u64;
        // Both driver shapes, every contender in each (Go's program is the
        // same in both: its driver is the main goroutine either way).
        for (id, driver) in [
            ("cancel", Driver::BlockOn),
            ("cancel-spawned", Driver::Spawned),
        ] {
            cases.push(Case {
                id: id.into(),
                workload: "5 cancellation",
                title: format!(
                    "10 stages, full buffers of {cap} (Go-buf too), {t} trials/run; {}",
                    driver.label()
                ),
                items: 0,
                metrics: vec![Metric::P50, Metric::P99],
                runs: runs.min(sizes.latency_runs),
                impls: [GoUnbuf, GoBuf, TokioFlume, TokioAbort, Weir]
                    .iter()
                    .map(|&i| {
                        let args = [t, cap, driver.arg()];
                        let plan = p.plan_cap(i, "cancel", &args, &[t], Some(CANCEL_CAP));
                        (i, plan)
                    })
                    .collect(),
                expect: None,
                lossy: Vec::new(),
                timeout: 3 * minute,
            });
        }
    }
    if wanted("million") {
        let (n, big) = sizes.million;
        cases.push(Case {
            id: "million-small".into(),
            workload: "6 many workers",
            title: format!("{} workers on one channel", short(n)),
            items: n,
            metrics: vec![Metric::Time, Metric::Shutdown, Metric::Rss],
            runs: runs.min(3),
            impls: p.impls(&conc, "million", &[n]),
            expect: Some(n),
            lossy: Vec::new(),
            timeout: minute,
        });
        if let Some(n) = big {
            let mut impls = p.impls(&[GoUnbuf, Weir], "million", &[n]);
            impls.push((
                TokioFlume,
                Plan::Skip(format!(
                    "capped at {}: flume's async-recv shutdown is quadratic (29.5 s at 100k)",
                    short(FLUME_MILLION_CAP)
                )),
            ));
            cases.push(Case {
                id: "million".into(),
                workload: "6 many workers",
                title: format!("{} workers on one channel", short(n)),
                items: n,
                metrics: vec![Metric::Time, Metric::Shutdown, Metric::Rss],
                runs: runs.min(3),
                impls,
                expect: Some(n),
                lossy: Vec::new(),
                timeout: 2 * minute,
            });
        }
    }
    if wanted("latency") {
        let t = sizes.latency;
        for (id, driver) in [
            ("latency", Driver::BlockOn),
            ("latency-spawned", Driver::Spawned),
        ] {
            cases.push(Case {
                id: id.into(),
                workload: "7 latency",
                title: format!(
                    "1 item, idle 3-stage pipeline, {t} trials/run; {}",
                    driver.label()
                ),
                items: 0,
                metrics: vec![Metric::P50, Metric::P99],
                runs: runs.min(sizes.latency_runs),
                impls: [GoUnbuf, GoBuf, TokioFlume, Weir, WeirFused, Loop]
                    .iter()
                    .map(|&i| (i, p.plan(i, "latency", &[t, driver.arg()], &[t])))
                    .collect(),
                expect: Some((0..t).map(|i| i + 3).sum()),
                lossy: Vec::new(),
                timeout: minute,
            });
        }
    }
    if wanted("memory") {
        if let Some((a, b)) = sizes.memory {
            for n in [a, b] {
                cases.push(Case {
                    id: format!("memory-{}", short(n)),
                    workload: "8 bounded memory",
                    title: format!("pipeline N={}", short(n)),
                    items: n,
                    metrics: vec![Metric::Rss, Metric::Time],
                    runs: 1,
                    impls: p.impls(&all, "pipeline", &[n]),
                    expect: Some(sum_of_squares(n)),
                    lossy: Vec::new(),
                    timeout: 3 * minute,
                });
            }
        }
    }
    if wanted("handpipe") {
        let (nb, nr) = sizes.handpipe;
        let workers = HANDPIPE_WORKERS as u64;
        let mut hand = |id: &str, title: String, n: u64, list: &[Impl], cap: u64, workers: u64| {
            cases.push(Case {
                id: id.into(),
                workload: "9 hand pipeline",
                title,
                items: n,
                metrics: vec![Metric::Time, Metric::Csw],
                runs,
                impls: list
                    .iter()
                    .map(|&i| (i, p.plan(i, "handpipe", &[n, cap, workers], &[n])))
                    .collect(),
                expect: Some(sum_of_squares(n)),
                lossy: Vec::new(),
                timeout: 2 * minute,
            });
        };
        let mt = format!("{workers} workers");
        hand(
            "handpipe-buf",
            format!("bounded(1024), {mt}, N={}", short(nb)),
            nb,
            &[GoBuf, TokioKanal, TokioFlume, TokioMpsc, Weir],
            CAP as u64,
            workers,
        );
        hand(
            "handpipe-rdv",
            format!("rendezvous (mpsc: channel(1)), {mt}, N={}", short(nr)),
            nr,
            &[GoUnbuf, TokioKanal, TokioFlume, TokioMpsc, Weir],
            0,
            workers,
        );
        hand(
            "handpipe-ct",
            format!("bounded(1024), current-thread, N={}", short(nb)),
            nb,
            &[TokioKanal, TokioFlume, Weir],
            CAP as u64,
            0,
        );
    }
    if wanted("select") {
        select_cases(&mut cases, &p, sizes.select, runs);
    }
    if wanted("windowed") {
        use crate::workloads::windowed::expected;
        let n = sizes.windowed;
        let (keys, window) = (WINDOWED_KEYS, WINDOWED_SIZE);
        let args = [n, keys, window];
        cases.push(Case {
            id: "windowed".into(),
            workload: "11 windowed count",
            title: format!(
                "{} events, {} keys, count per key per {}-event window",
                short(n),
                short(keys),
                short(window)
            ),
            items: n,
            metrics: vec![Metric::Time],
            runs,
            impls: [GoBuf, TokioMpsc, Weir]
                .iter()
                .map(|&i| (i, p.plan(i, "windowed", &args, &args)))
                .collect(),
            expect: Some(expected(n, keys, window)),
            lossy: Vec::new(),
            timeout: 2 * minute,
        });
    }
    cases
}

/// Workload 10, the select loop, at each capacity of
/// [`workloads::select::CAPS`](crate::workloads::select::CAPS): Go's `select`
/// (its plain program) against `tokio::select!` over weir, kanal and flume.
/// weir's `chan::select!` is planned but skipped until the macro lands.
fn select_cases(cases: &mut Vec<Case>, p: &Planner<'_>, n: u64, runs: usize) {
    use crate::workloads::select::{expected, CAPS};
    use Impl::*;
    for cap in CAPS {
        let (id, go, what) = if cap == 0 {
            ("select-rdv", GoUnbuf, "unbuffered (rendezvous)".to_string())
        } else {
            ("select-buf", GoBuf, format!("capacity {cap} (Go too)"))
        };
        let args = [n, cap as u64];
        let mut impls: Vec<(Impl, Plan)> = [go, TokioKanal, TokioFlume, Weir]
            .iter()
            .map(|&i| (i, p.plan_cap(i, "select", &args, &[n], Some(cap))))
            .collect();
        impls.push((
            WeirChanSelect,
            p.plan_cap(WeirChanSelect, "select", &args, &[n], Some(cap)),
        ));
        cases.push(Case {
            id: id.into(),
            workload: "10 select",
            title: format!(
                "2 producers + done, 1 consumer, {what}, 2 workers, N={}",
                short(n)
            ),
            items: n,
            metrics: vec![Metric::Time, Metric::Csw],
            runs,
            impls,
            expect: Some(expected(n)),
            // `tokio::select!` drops the losing branch's receive future, and
            // kanal's drops an item a sender already handed to it.
            lossy: vec![TokioKanal],
            timeout: Duration::from_secs(120),
        });
    }
}

/// Runs `program args`, waits at most `timeout`, and parses its outcome.
pub fn run_child(program: &Path, args: &[String], timeout: Duration) -> Result<Outcome, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", program.display()))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("wait: {e}")),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if !status.success() {
        let last = err.lines().last().unwrap_or("").to_string();
        return Err(format!("exited with {status}: {last}"));
    }
    Outcome::parse(&out).ok_or_else(|| format!("no RESULT line in output: {out:?}"))
}

/// Runs every case: for each run, every implementation in turn
/// (interleaved, so slow drift on a noisy machine hits all of them alike).
pub fn execute(cases: Vec<Case>, mut progress: impl FnMut(&str)) -> Vec<CaseResult> {
    let total = cases.len();
    cases
        .into_iter()
        .enumerate()
        .map(|(ci, case)| {
            let mut runs: Vec<Result<Vec<Outcome>, String>> =
                case.impls.iter().map(|_| Ok(Vec::new())).collect();
            for r in 0..case.runs {
                for (slot, (imp, plan)) in runs.iter_mut().zip(&case.impls) {
                    let Plan::Run { program, args } = plan else {
                        continue;
                    };
                    let Ok(done) = slot else { continue };
                    let t = Instant::now();
                    let enforced = !case.lossy.contains(imp);
                    let result =
                        run_child(program, args, case.timeout).and_then(|o| match case.expect {
                            Some(e) if o.check != e && enforced => {
                                Err(format!("wrong checksum {} (expected {e})", o.check))
                            }
                            _ => Ok(o),
                        });
                    progress(&format!(
                        "[{}/{total}] {} {} | {} run {}/{}: {} ({:.2} s wall)",
                        ci + 1,
                        case.workload,
                        case.title,
                        imp.label(),
                        r + 1,
                        case.runs,
                        match &result {
                            Ok(_) => "ok".to_string(),
                            Err(e) => e.clone(),
                        },
                        t.elapsed().as_secs_f64()
                    ));
                    match result {
                        Ok(o) => done.push(o),
                        Err(e) => *slot = Err(e),
                    }
                }
            }
            let fates = case
                .impls
                .iter()
                .zip(runs)
                .map(|((imp, plan), r)| {
                    let fate = match (plan, r) {
                        (Plan::Skip(why), _) => Fate::Skipped(why.clone()),
                        (Plan::Run { .. }, Ok(v)) => Fate::Ran(v),
                        (Plan::Run { .. }, Err(e)) => Fate::Failed(e),
                    };
                    (*imp, fate)
                })
                .collect();
            CaseResult { case, fates }
        })
        .collect()
}

/// The median, minimum and maximum of `values` (which must not be empty).
pub fn stats(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

impl CaseResult {
    /// The median / min / max of `metric` for `imp`, if it ran.
    pub fn summary(&self, imp: Impl, metric: Metric) -> Option<(f64, f64, f64)> {
        self.fates.iter().find_map(|(i, f)| match f {
            Fate::Ran(v) if *i == imp && !v.is_empty() => {
                let mut vals: Vec<f64> = v.iter().map(|o| metric.value(o)).collect();
                Some(stats(&mut vals))
            }
            _ => None,
        })
    }

    /// For an implementation in [`Case::lossy`]: in how many runs its
    /// checksum was wrong, and how far short of the expected sum it fell at
    /// worst, e.g. "lost items in 3 of 5 runs (sum up to 15.8% short)".
    /// `None` if every run's checksum was right (or nothing is expected).
    pub fn lost(&self, imp: Impl) -> Option<String> {
        let expect = self.case.expect?;
        let runs = self.fates.iter().find_map(|(i, f)| match f {
            Fate::Ran(v) if *i == imp => Some(v),
            _ => None,
        })?;
        let wrong: Vec<u64> = runs
            .iter()
            .map(|o| o.check)
            .filter(|&c| c != expect)
            .collect();
        if wrong.is_empty() {
            return None;
        }
        let worst = wrong
            .iter()
            .map(|&c| (expect as f64 - c as f64).abs() / expect as f64 * 100.0)
            .fold(0.0, f64::max);
        Some(format!(
            "lost items in {} of {} runs (sum up to {worst:.1}% short)",
            wrong.len(),
            runs.len()
        ))
    }

    /// The median of `metric` for `imp`, if it ran.
    pub fn median(&self, imp: Impl, metric: Metric) -> Option<f64> {
        self.summary(imp, metric).map(|s| s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handpipe_plans_three_cases_with_capacity_and_workers() {
        let exe = Path::new("/bin/compare");
        let go = GoSide::Unavailable("test".into());
        let cases = plan(&Sizes::QUICK, 5, exe, &go, &["handpipe".to_string()]);
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["handpipe-buf", "handpipe-rdv", "handpipe-ct"]);
        let args = |case: &Case, imp: Impl| match case.impls.iter().find(|(i, _)| *i == imp) {
            Some((_, Plan::Run { args, .. })) => args.clone(),
            other => panic!("{imp:?} not run: {other:?}"),
        };
        let (nb, nr) = Sizes::QUICK.handpipe;
        let w = HANDPIPE_WORKERS.to_string();
        assert_eq!(
            args(&cases[0], Impl::Weir),
            ["--child", "handpipe", "weir", &nb.to_string(), "1024", &w]
        );
        assert_eq!(
            args(&cases[1], Impl::TokioKanal),
            [
                "--child",
                "handpipe",
                "tokio-kanal",
                &nr.to_string(),
                "0",
                &w
            ]
        );
        assert_eq!(
            args(&cases[2], Impl::TokioFlume),
            [
                "--child",
                "handpipe",
                "tokio-flume",
                &nb.to_string(),
                "1024",
                "0"
            ]
        );
        assert!(cases
            .iter()
            .all(|c| c.runs == 5 && c.metrics.contains(&Metric::Csw)));
        // No Go here: the Go rows say so instead of running.
        assert!(matches!(cases[0].impls[0], (Impl::GoBuf, Plan::Skip(_))));
    }

    #[test]
    fn select_plans_both_capacities_with_go_at_the_same_capacity() {
        let exe = Path::new("/bin/compare");
        let go = GoSide::Built {
            version: "go".into(),
            binary: PathBuf::from("/t/weirbench-go"),
            plain_dir: PathBuf::from("/t"),
        };
        let cases = plan(&Sizes::QUICK, 3, exe, &go, &["select".to_string()]);
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["select-rdv", "select-buf"]);
        let n = Sizes::QUICK.select.to_string();
        for (case, go_imp, cap) in [
            (&cases[0], Impl::GoUnbuf, "0"),
            (&cases[1], Impl::GoBuf, "64"),
        ] {
            let run = |imp: Impl| match case.impls.iter().find(|(i, _)| *i == imp) {
                Some((_, Plan::Run { program, args })) => (program.clone(), args.clone()),
                other => panic!("{imp:?} not run: {other:?}"),
            };
            // Go: its own plain program, `<cap> <n>`.
            assert_eq!(
                run(go_imp),
                (
                    PathBuf::from("/t/weirbench-go-select"),
                    vec![cap.to_string(), n.clone()]
                )
            );
            for imp in [
                Impl::Weir,
                Impl::TokioKanal,
                Impl::TokioFlume,
                Impl::WeirChanSelect,
            ] {
                let name = imp.child_name().expect("rust");
                assert_eq!(run(imp).1, ["--child", "select", name, &n, cap]);
            }
            assert_eq!(case.lossy, [Impl::TokioKanal]);
            assert_eq!(
                case.expect,
                Some(crate::workloads::select::expected(Sizes::QUICK.select))
            );
        }
    }

    fn ran(case: &Case, imp: Impl, checks: &[u64]) -> CaseResult {
        let runs = checks
            .iter()
            .map(|&check| Outcome {
                check,
                ..Outcome::default()
            })
            .collect();
        CaseResult {
            case: case.clone(),
            fates: vec![(imp, Fate::Ran(runs))],
        }
    }

    #[test]
    fn lost_items_are_reported_only_when_a_checksum_is_wrong() {
        let exe = Path::new("/bin/compare");
        let go = GoSide::Unavailable("test".into());
        let case = plan(&Sizes::QUICK, 3, exe, &go, &["select".to_string()]).remove(0);
        let e = case.expect.expect("a checksum");
        assert_eq!(
            ran(&case, Impl::TokioKanal, &[e, e, e]).lost(Impl::TokioKanal),
            None
        );
        let lost = ran(&case, Impl::TokioKanal, &[e, e / 2, e])
            .lost(Impl::TokioKanal)
            .expect("a short sum is reported");
        assert_eq!(lost, "lost items in 1 of 3 runs (sum up to 50.0% short)");
    }

    /// A wrong checksum fails a run unless the implementation is known to
    /// lose items in that case.
    #[test]
    fn a_wrong_checksum_fails_only_implementations_not_marked_lossy() {
        let script =
            std::env::temp_dir().join(format!("weir-bench-wrong-{}.sh", std::process::id()));
        std::fs::write(&script, "#!/bin/sh\necho RESULT elapsed_ns=1 check=7\n").expect("write");
        let program = PathBuf::from("/bin/sh");
        let args = vec![script.display().to_string()];
        let case = |lossy: Vec<Impl>| Case {
            id: "t".into(),
            workload: "t",
            title: "t".into(),
            items: 1,
            metrics: vec![Metric::Time],
            runs: 1,
            impls: vec![(
                Impl::TokioKanal,
                Plan::Run {
                    program: program.clone(),
                    args: args.clone(),
                },
            )],
            expect: Some(8),
            lossy,
            timeout: Duration::from_secs(30),
        };
        let strict = execute(vec![case(Vec::new())], |_| {});
        assert!(
            matches!(&strict[0].fates[0].1, Fate::Failed(why) if why.contains("wrong checksum"))
        );
        let lossy = execute(vec![case(vec![Impl::TokioKanal])], |_| {});
        assert!(matches!(&lossy[0].fates[0].1, Fate::Ran(v) if v[0].check == 7));
        assert!(lossy[0].lost(Impl::TokioKanal).is_some());
        let _ = std::fs::remove_file(&script);
    }
}
