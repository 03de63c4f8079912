//! Workload 12, adaptive concurrency: contenders keep requests in flight
//! against a simulated service ([`SimService`]: latency flat at 1 ms up to
//! a knee `c*`, a queue above it, refusals above `2·c*`) for the same
//! simulated time on a paused tokio clock, and are scored on successful
//! responses per second, p99 latency, and throughput ÷ p99.
//!
//! Scenarios (the adaptive-concurrency issue): (a) `c* = 24`; (b) `c*`
//! steps 24 → 8 → 40 → 24 every quarter of the run (every 5 s of 20 s);
//! (c) `c* = 24` with 5 % of requests failing for reasons unrelated to
//! load (seeded; each of the runs has its own seed).
//!
//! Contenders, all driven by the one loop of [`driver::drive`], all with
//! the same bounds (1 … 128) and start (8):
//! * the best fixed limit: every limit of 1 … 128 scored, the best kept
//!   (a user who guessed perfectly for that scenario);
//! * tower-acc 0.1.1's `Aimd`, `Vegas` and `Gradient2`, through their
//!   `Algorithm` trait, every error reported as an error;
//! * weir's adaptive limit (`Limit::adaptive().min(1).max(128).initial(8)`)
//!   through a real stage, `try_map_unordered` with a `Recovery` that skips
//!   failed calls and says which errors are overload ([`stage`]) — the row
//!   the targets are checked on — and, for comparison, its `Controller` in
//!   the driver loop.
//!
//! Everything is deterministic: the same run gives the same numbers on any
//! machine; only the harness time depends on the machine.

pub mod driver;
pub mod stage;

use std::fmt::Write as _;
use std::time::Duration;

use weir_stage::testing::SimService;
use weir_stage::Limit;

use crate::report::Target;
use driver::{drive, Fixed, Tower, Trace, Weir};

/// The largest limit of the fixed sweep and of every adaptive contender.
pub const MAX: usize = 128;
/// Where every adaptive contender starts.
pub const INITIAL: usize = 8;
/// The knee of scenarios (a) and (c).
pub const KNEE: usize = 24;
/// The knees of scenario (b), each for a quarter of the run.
pub const STEPS: [usize; 4] = [24, 8, 40, 24];
/// The unrelated error rate of scenario (c).
pub const ERROR_RATE: f64 = 0.05;

/// How long and how often.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Simulated time per run.
    pub run: Duration,
    /// Runs per contender (medians are taken over them).
    pub runs: usize,
}

impl Plan {
    /// The issue's: 20 s of simulated time, medians of 5.
    pub const FULL: Plan = Plan {
        run: Duration::from_secs(20),
        runs: 5,
    };
    /// A cheap form for `--quick`: 4 s, one run.
    pub const QUICK: Plan = Plan {
        run: Duration::from_secs(4),
        runs: 1,
    };
}

/// One scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// (a) `c* = 24` constant.
    Constant,
    /// (b) `c*` 24 → 8 → 40 → 24, a step every quarter of the run.
    Steps,
    /// (c) `c* = 24` and 5 % unrelated errors.
    Errors,
}

impl Scenario {
    /// All three, in order.
    pub const ALL: [Scenario; 3] = [Scenario::Constant, Scenario::Steps, Scenario::Errors];

    /// The label in tables.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Constant => "(a) c*=24",
            Scenario::Steps => "(b) c* 24→8→40→24",
            Scenario::Errors => "(c) c*=24, 5% errors",
        }
    }

    /// The service of run `run` (its seed, for (c)); build it inside the
    /// runtime, when the run starts.
    pub fn service(self, plan: Plan, run: usize) -> SimService {
        match self {
            Scenario::Constant => SimService::new(KNEE),
            Scenario::Steps => {
                let quarter = plan.run / 4;
                let mut b = SimService::builder(STEPS[0]);
                for (i, &knee) in STEPS.iter().enumerate().skip(1) {
                    b = b.step(quarter * i as u32, knee);
                }
                b.build()
            }
            Scenario::Errors => SimService::builder(KNEE)
                .errors(ERROR_RATE, 0x5eed + run as u64)
                .build(),
        }
    }

    /// The steps of (b): when, and the new optimum (responses per second).
    pub fn steps(self, plan: Plan) -> Vec<(Duration, f64)> {
        match self {
            Scenario::Steps => (1..STEPS.len())
                .map(|i| (plan.run / 4 * i as u32, STEPS[i] as f64 * 1000.0))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A contender's medians in one scenario.
#[derive(Debug, Clone)]
pub struct Row {
    /// The scenario.
    pub scenario: Scenario,
    /// Who.
    pub contender: String,
    /// Successful responses per second.
    pub throughput: f64,
    /// p99 latency of successful responses.
    pub p99: Duration,
    /// Throughput ÷ p99 (in ms).
    pub score: f64,
    /// (b) only: time to within 10 % of each step's new optimum.
    pub recovery: Vec<Option<Duration>>,
    /// The limit over the run (the median run's), one per 100 ms bucket.
    pub limits: Vec<usize>,
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn row(scenario: Scenario, plan: Plan, contender: String, traces: &[Trace]) -> Row {
    let steps = scenario.steps(plan);
    let recovery = steps
        .iter()
        .enumerate()
        .map(|(i, &(at, optimum))| {
            let until = steps.get(i + 1).map_or(plan.run, |s| s.0);
            let mut v: Vec<Option<Duration>> = traces
                .iter()
                .map(|t| t.recovery(at, until, optimum))
                .collect();
            // `None` (never) sorts last.
            v.sort_by_key(|r| r.unwrap_or(Duration::MAX));
            v[v.len() / 2]
        })
        .collect();
    let score = median_f(traces.iter().map(Trace::score).collect());
    let median_run = traces
        .iter()
        .min_by(|a, b| {
            (a.score() - score)
                .abs()
                .total_cmp(&(b.score() - score).abs())
        })
        .expect("at least one run");
    let mut p99: Vec<Duration> = traces.iter().map(Trace::p99).collect();
    p99.sort();
    Row {
        scenario,
        contender,
        throughput: median_f(traces.iter().map(Trace::throughput).collect()),
        p99: p99[p99.len() / 2],
        score,
        recovery,
        limits: median_run.limits.clone(),
    }
}

/// The best fixed limit for `scenario` by score among `1..=MAX`, one run
/// each with run 0's service (the runs are deterministic): every 8th
/// limit first, then every limit within 7 of the best of those. (A sweep
/// of every limit finds the same best limit in all three scenarios; see
/// the test `the_coarse_sweep_finds_what_the_full_sweep_finds`.)
pub fn best_fixed(scenario: Scenario, plan: Plan) -> usize {
    let score = |n: usize| drive(|| scenario.service(plan, 0), Fixed(n), plan.run).score();
    let best = |ns: &mut dyn Iterator<Item = usize>| {
        ns.map(|n| (n, score(n)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map_or(1, |(n, _)| n)
    };
    let coarse = best(&mut std::iter::once(1).chain((8..=MAX).step_by(8)));
    best(&mut (coarse.saturating_sub(7).max(1)..=(coarse + 7).min(MAX)))
}

/// The best fixed limit by score, trying every limit in `1..=MAX`.
pub fn best_fixed_exhaustive(scenario: Scenario, plan: Plan) -> usize {
    (1..=MAX)
        .map(|n| {
            let t = drive(|| scenario.service(plan, 0), Fixed(n), plan.run);
            (n, t.score())
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(1, |(n, _)| n)
}

/// weir's contender: the default adaptive limit, with the same bounds and
/// start as the others.
pub fn weir_limit() -> Limit {
    Limit::adaptive().min(1).max(MAX).initial(INITIAL).into()
}

/// Every contender in `scenario`, medians over `plan.runs` runs.
pub fn scenario_rows(scenario: Scenario, plan: Plan) -> Vec<Row> {
    // (a) and (b) are deterministic (same service, same contender: the
    // same trace; see `runs_repeat_exactly`), so one run stands for all
    // of them; (c) runs once per seed.
    let n = if scenario == Scenario::Errors {
        plan.runs
    } else {
        1
    };
    let runs = |f: &dyn Fn(usize) -> Trace| (0..n).map(f).collect::<Vec<_>>();
    let svc = |i: usize| move || scenario.service(plan, i);
    let best = best_fixed(scenario, plan);
    let mut rows = vec![row(
        scenario,
        plan,
        format!("best fixed ({best})"),
        &runs(&|i| drive(svc(i), Fixed(best), plan.run)),
    )];
    let aimd = || {
        tower_acc::Aimd::builder()
            .initial_limit(INITIAL)
            .min_limit(1)
            .max_limit(MAX)
            .build()
    };
    let vegas = || {
        tower_acc::Vegas::builder()
            .initial_limit(INITIAL)
            .max_limit(MAX)
            .build()
    };
    let gradient2 = || {
        tower_acc::Gradient2::builder()
            .initial_limit(INITIAL)
            .min_limit(1)
            .max_limit(MAX)
            .build()
    };
    rows.push(row(
        scenario,
        plan,
        "tower-acc Aimd".into(),
        &runs(&|i| drive(svc(i), Tower(aimd()), plan.run)),
    ));
    rows.push(row(
        scenario,
        plan,
        "tower-acc Vegas".into(),
        &runs(&|i| drive(svc(i), Tower(vegas()), plan.run)),
    ));
    rows.push(row(
        scenario,
        plan,
        "tower-acc Gradient2".into(),
        &runs(&|i| drive(svc(i), Tower(gradient2()), plan.run)),
    ));
    rows.push(row(
        scenario,
        plan,
        "weir adaptive (try_map_unordered)".into(),
        &runs(&|i| stage::drive_stage(svc(i), weir_limit(), plan.run)),
    ));
    rows.push(row(
        scenario,
        plan,
        "weir Controller (driver loop)".into(),
        &runs(&|i| drive(svc(i), Weir(weir_limit().controller()), plan.run)),
    ));
    rows
}

/// Every scenario's rows.
pub fn run(plan: Plan) -> Vec<Row> {
    Scenario::ALL
        .iter()
        .flat_map(|&s| scenario_rows(s, plan))
        .collect()
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn fmt_recovery(r: &[Option<Duration>]) -> String {
    r.iter()
        .map(|r| r.map_or("never".into(), |d| format!("{:.1} s", d.as_secs_f64())))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The limit over the run as a one-line plot (one character per
/// `buckets / width` buckets, the mean limit's height out of 8 levels up
/// to `top`).
pub fn sparkline(limits: &[usize], width: usize, top: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let per = limits.len().div_ceil(width.max(1)).max(1);
    limits
        .chunks(per)
        .map(|c| {
            let mean = c.iter().sum::<usize>() as f64 / c.len() as f64;
            let level = (mean / top.max(1) as f64 * 8.0).ceil() as usize;
            BARS[level.clamp(1, 8) - 1]
        })
        .collect()
}

const HEADERS: [&str; 7] = [
    "scenario",
    "contender",
    "ok/s",
    "p99",
    "score (ok/s per p99 ms)",
    "(b) recovery per step",
    "limit over time",
];

fn cells(r: &Row) -> [String; 7] {
    [
        r.scenario.label().into(),
        r.contender.clone(),
        format!("{:.0}", r.throughput),
        fmt_ms(r.p99),
        format!("{:.0}", r.score),
        if r.recovery.is_empty() {
            String::new()
        } else {
            fmt_recovery(&r.recovery)
        },
        sparkline(&r.limits, 40, 64),
    ]
}

/// The rows as an aligned text table.
pub fn text_table(rows: &[Row]) -> String {
    let all: Vec<[String; 7]> = rows.iter().map(cells).collect();
    let width = |i: usize| {
        all.iter()
            .map(|c| c[i].chars().count())
            .chain([HEADERS[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..7).map(width).collect();
    let line = |c: &[String]| {
        let mut s = String::new();
        for (i, cell) in c.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if (2..5).contains(&i) {
                let _ = write!(s, "{}{cell}  ", " ".repeat(pad));
            } else {
                let _ = write!(s, "{cell}{}  ", " ".repeat(pad));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(&HEADERS.map(String::from)) + "\n";
    for c in &all {
        out.push_str(&line(c));
        out.push('\n');
    }
    out
}

/// The rows as a markdown table.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str("|---|---|---:|---:|---:|---|---|\n");
    for r in rows {
        let c = cells(r);
        let bold = r.contender.starts_with("weir");
        let c: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if bold && (2..5).contains(&i) {
                    format!("**{c}**")
                } else {
                    c.clone()
                }
            })
            .collect();
        let _ = writeln!(out, "| {} |", c.join(" | "));
    }
    out
}

/// The targets, checked on the rows.
pub fn targets(rows: &[Row]) -> Vec<Target> {
    let mut t = Vec::new();
    for s in Scenario::ALL {
        let of = |prefix: &str| {
            rows.iter()
                .find(|r| r.scenario == s && r.contender.starts_with(prefix))
        };
        let (Some(best), Some(weir)) = (of("best fixed"), of("weir")) else {
            continue;
        };
        let tag = s.label().split(' ').next().unwrap_or("");
        let ratio = weir.throughput / best.throughput;
        let goal = if s == Scenario::Errors { 0.8 } else { 0.9 };
        t.push(Target {
            what: format!("12 adaptive {tag}: throughput ≥ {goal}× the best fixed limit's"),
            measured: format!("{ratio:.2}×"),
            met: Some(ratio >= goal),
        });
        let p99 = weir.p99.as_secs_f64() / best.p99.as_secs_f64();
        t.push(Target {
            what: format!("12 adaptive {tag}: p99 ≤ 1.5× the best fixed limit's"),
            measured: format!("{p99:.2}× ({})", fmt_ms(weir.p99)),
            met: Some(p99 <= 1.5),
        });
        let towers: Vec<&Row> = rows
            .iter()
            .filter(|r| r.scenario == s && r.contender.starts_with("tower-acc"))
            .collect();
        let best_tower = towers.iter().map(|r| r.score).fold(0.0, f64::max);
        t.push(Target {
            what: format!("12 adaptive {tag}: score ≥ every tower-acc algorithm's"),
            measured: format!("{:.2}× the best", weir.score / best_tower),
            met: Some(weir.score >= best_tower),
        });
        for (i, r) in weir.recovery.iter().enumerate() {
            t.push(Target {
                what: format!(
                    "12 adaptive {tag}: step {} back within 10 % of optimum ≤ 2 s",
                    i + 1
                ),
                measured: r.map_or("never".into(), |d| format!("{:.1} s", d.as_secs_f64())),
                met: Some(r.is_some_and(|d| d <= Duration::from_secs(2))),
            });
        }
    }
    t
}

/// The report's section: targets, the table, what runs.
pub fn markdown(rows: &[Row]) -> String {
    let mut md = String::from(
        "\n## 12 adaptive concurrency\n\nA simulation on a paused clock: deterministic, the same on every machine.\n\n| target | measured | met |\n|---|---:|:---:|\n",
    );
    for t in targets(rows) {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "n/a",
        };
        let _ = writeln!(md, "| {} | {} | {met} |", t.what, t.measured);
    }
    md.push('\n');
    md.push_str(&markdown_table(rows));
    md.push('\n');
    md.push_str(NOTES);
    md.push('\n');
    md
}

/// What runs, for the report.
pub const NOTES: &str = "\
* 12 adaptive: `weir_stage::testing::SimService` (c* servers behind a FIFO queue: 1 ms per request \
with a free server, a queue above c*, refusals above 2·c*), 20 s of simulated time per run on a paused \
tokio clock (current-thread runtime), the same driver loop for every contender \
(`benches/src/workloads/adaptive/driver.rs`) keeping `limit` requests in flight. Scenarios: (a) c*=24; \
(b) c* 24→8→40→24, a step every 5 s; (c) c*=24 with 5 % of requests failing for reasons unrelated to \
load (a seed per run). **best fixed**: every fixed limit 1…128 scored, the best kept. **tower-acc** \
0.1.1's `Aimd`, `Vegas`, `Gradient2` through their `Algorithm` trait (initial 8, bounds 1…128; every \
error reported as an error). **weir adaptive**: `Limit::adaptive().min(1).max(128).initial(8)` on a \
real `try_map_unordered` stage (its source yields requests while the run lasts; \
`Recovery::new().on_error(Policy::skip()).overload(SimError::is_overload)`), the row the targets are \
checked on; **weir Controller** is the same limit's `Controller` in the driver loop, refusals reported \
as `Outcome::Overload` and unrelated failures as `Outcome::Failed`. Score = ok/s ÷ p99 (ms); (b) recovery = from a step to the end of the first 100 ms \
with ≥ 90 % of the new optimum's throughput (c* × 1000/s). Medians of 5 runs. Deterministic: the \
numbers do not depend on the machine.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_finds_the_knee_when_the_knee_is_constant() {
        let plan = Plan {
            run: Duration::from_millis(500),
            runs: 1,
        };
        assert_eq!(best_fixed(Scenario::Constant, plan), KNEE);
    }

    #[test]
    fn runs_repeat_exactly() {
        let plan = Plan {
            run: Duration::from_millis(300),
            runs: 1,
        };
        for s in [Scenario::Constant, Scenario::Steps] {
            let weir = || {
                drive(
                    || s.service(plan, 0),
                    Weir(weir_limit().controller()),
                    plan.run,
                )
            };
            let (a, b) = (weir(), weir());
            assert_eq!((a.ok_latencies, a.limits), (b.ok_latencies, b.limits));
            let vegas = || {
                drive(
                    || s.service(plan, 0),
                    Tower(tower_acc::Vegas::default()),
                    plan.run,
                )
            };
            assert_eq!(vegas().ok_latencies, vegas().ok_latencies);
        }
    }

    /// Slow (the whole sweep, full length): run with
    /// `cargo test --release -p weir-benches --lib coarse -- --ignored`.
    #[test]
    #[ignore]
    fn the_coarse_sweep_finds_what_the_full_sweep_finds() {
        for s in Scenario::ALL {
            let plan = Plan::FULL;
            assert_eq!(best_fixed(s, plan), best_fixed_exhaustive(s, plan), "{s:?}");
        }
    }

    #[test]
    fn a_sparkline_has_its_width() {
        let s = sparkline(&[1, 2, 3, 64, 64, 64, 8, 8], 4, 64);
        assert_eq!(s.chars().count(), 4);
        assert_eq!(s, "▁▅█▁");
    }
}
