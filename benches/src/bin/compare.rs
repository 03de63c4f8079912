//! `compare`: runs every workload of the performance issue for weir and for
//! each baseline (Go seed code unbuffered and 1024-buffered, tokio + flume,
//! tokio + kanal and tokio's mpsc in the hand-written pipeline, a plain loop), prints a table of medians and ratios, and writes
//! `docs/benchmarks.md` plus `docs/benchmarks.svg`.
//!
//! ```text
//! cargo run --release -p weir-benches --bin compare                # full run, writes docs/
//! cargo run --release -p weir-benches --bin compare -- --quick     # tiny sizes, writes nothing
//! options: --quick  --runs R  --out DIR  --no-write  --only pipeline,hop,pool,fan,cancel,million,latency,memory,handpipe,select,windowed,adaptive
//! ```
//!
//! Every measurement runs in a child process: this binary re-executed with
//! the hidden `--child <workload> <impl> <args...>`, or the Go binary built
//! from `benches/go` into the target directory. The hidden mode is also the
//! way to profile one implementation alone, e.g. the hand-written pipeline
//! on weir-core's `bounded(1024)` / `rendezvous()` (`<n> [cap] [workers]`):
//!
//! ```text
//! compare --child handpipe weir 10000000
//! compare --child handpipe weir 2000000 0
//! compare --child select weir 1000000 64      # the select loop: <n> <cap>
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use weir_benches::go::GoSide;
use weir_benches::harness::{self, Fate, Impl, Sizes};
use weir_benches::report;
use weir_benches::sysinfo::{load_avg, SysInfo};
use weir_benches::workloads;
use weir_benches::workloads::adaptive;

struct Options {
    quick: bool,
    runs: Option<usize>,
    out: Option<PathBuf>,
    no_write: bool,
    only: Vec<String>,
}

const USAGE: &str =
    "usage: compare [--quick] [--runs R] [--out DIR] [--no-write] [--only w1,w2,...]
workloads: pipeline hop pool fan cancel million latency memory handpipe select windowed adaptive
full runs write docs/benchmarks.md and docs/benchmarks.svg (or into --out DIR);
--quick uses tiny sizes and writes nothing unless --out is given.";

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        runs: None,
        out: None,
        no_write: false,
        only: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--no-write" => o.no_write = true,
            "--runs" => {
                let v = it.next().ok_or("--runs needs a number")?;
                let r: usize = v.parse().map_err(|_| format!("bad --runs {v}"))?;
                if r == 0 {
                    return Err("--runs must be at least 1".into());
                }
                o.runs = Some(r);
            }
            "--out" => o.out = Some(it.next().ok_or("--out needs a directory")?.into()),
            "--only" => {
                let v = it.next().ok_or("--only needs a list")?;
                o.only = v.split(',').map(str::to_string).collect();
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn child(args: &[String]) -> ExitCode {
    let (Some(workload), Some(imp)) = (args.first(), args.get(1)) else {
        eprintln!("--child <workload> <impl> <args...>");
        return ExitCode::from(2);
    };
    let nums: Result<Vec<u64>, _> = args[2..].iter().map(|a| a.parse::<u64>()).collect();
    let Ok(nums) = nums else {
        eprintln!("--child: numeric arguments expected: {:?}", &args[2..]);
        return ExitCode::from(2);
    };
    match workloads::run(workload, imp, &nums) {
        Ok(o) => {
            println!("{}", o.to_line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let target_dir = exe
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    eprintln!(
        "building benches/go with `go build` into {} ...",
        target_dir.display()
    );
    let go = GoSide::build(&target_dir);
    match &go {
        GoSide::Built { version, .. } => eprintln!("go: {version}"),
        GoSide::Unavailable(why) => eprintln!("NOTE: {why}"),
    }
    let info = SysInfo::collect(&go.describe());
    let sizes = if opts.quick {
        Sizes::QUICK
    } else {
        Sizes::FULL
    };
    let runs = opts.runs.unwrap_or(if opts.quick { 1 } else { 5 });
    let cases = harness::plan(&sizes, runs, &exe, &go, &opts.only);
    let results = harness::execute(cases, |line| eprintln!("{line}"));
    // Workload 12 is a simulation on a paused clock, not a timing: it runs
    // here, in this process (its numbers do not depend on the machine).
    let adaptive = (opts.only.is_empty() || opts.only.iter().any(|w| w == "adaptive")).then(|| {
        let mut plan = if opts.quick {
            adaptive::Plan::QUICK
        } else {
            adaptive::Plan::FULL
        };
        if let Some(r) = opts.runs {
            plan.runs = r;
        }
        eprintln!(
            "adaptive: {} s simulated per run, {} run(s) ...",
            plan.run.as_secs(),
            plan.runs
        );
        adaptive::run(plan)
    });
    let load_end = load_avg();
    let elapsed = started.elapsed().as_secs_f64();

    let rows = report::rows(&results);
    println!(
        "\nweir benchmarks ({} mode): median of {runs} run(s); ratios = baseline median / this median (>1: faster or leaner)",
        if opts.quick { "quick" } else { "full" }
    );
    println!(
        "machine: {} CPUs, {}; {}; {}; load {} -> {}\n",
        info.nproc, info.cpu, info.rustc, info.go, info.load_start, load_end
    );
    println!("{}", report::text_table(&rows));
    let mut targets = report::targets(&results);
    if let Some(a) = &adaptive {
        println!("12 adaptive concurrency (simulated service, paused clock; medians):");
        println!("{}", adaptive::text_table(a));
        targets.extend(adaptive::targets(a));
    }
    println!("targets (performance issue):");
    for t in targets {
        let mark = match t.met {
            Some(true) => "met   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        println!("  [{mark}] {:<62} {}", t.what, t.measured);
    }
    println!("\nharness time: {elapsed:.0} s");

    let out_dir = match (&opts.out, opts.quick, opts.no_write) {
        (_, _, true) => None,
        (Some(d), _, _) => Some(d.clone()),
        (None, true, _) => None,
        (None, false, _) => Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs")),
    };
    if let Some(dir) = out_dir {
        let mut command = String::from("cargo run --release -p weir-benches --bin compare");
        if !args.is_empty() {
            command.push_str(" -- ");
            command.push_str(&args.join(" "));
        }
        let reference = if matches!(go, GoSide::Built { .. }) {
            Impl::GoBuf
        } else {
            Impl::TokioFlume
        };
        let svg_name = "benchmarks.svg";
        let mut md = report::markdown(
            &results,
            &info,
            &command,
            runs,
            &load_end,
            Some(svg_name),
            elapsed,
        );
        if let Some(a) = &adaptive {
            md.push_str(&adaptive::markdown(a));
        }
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join("benchmarks.md"), md))
            .and_then(|()| std::fs::write(dir.join(svg_name), report::svg(&results, reference)));
        match written {
            Ok(()) => eprintln!(
                "wrote {} and {}",
                dir.join("benchmarks.md").display(),
                dir.join(svg_name).display()
            ),
            Err(e) => {
                eprintln!("cannot write the report into {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }

    // A failed Rust child (or a wrong checksum) means the harness rotted:
    // fail, so CI notices. Timeouts are results, not failures.
    let failed: Vec<String> = results
        .iter()
        .flat_map(|cr| {
            cr.fates.iter().filter_map(move |(imp, f)| match f {
                Fate::Failed(why) if !why.starts_with("timed out") => Some(format!(
                    "{} {} / {}: {why}",
                    cr.case.workload,
                    cr.case.title,
                    imp.label()
                )),
                _ => None,
            })
        })
        .collect();
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("\nFAILURES:");
        for f in &failed {
            eprintln!("  {f}");
        }
        ExitCode::FAILURE
    }
}
