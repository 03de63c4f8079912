//! The live pipeline page: indexes the text files under a directory of
//! this machine (word counts, as `file_indexer` does) with weir's
//! dashboard open, prints the page's URL, and keeps the page up after the
//! run until Ctrl-C.
//!
//! ```text
//! walk ─▶ at most 1 MiB ═▶ read + tokenize (N workers) ═▶ text only ─▶ fold
//! ```
//!
//! ```text
//! dashboard [DIR] [--workers N] [--bind ADDR] [--exit-after SECS]
//! ```
//!
//! `DIR` defaults to `/usr/share`; empty files are skipped (so the
//! kernel's `/proc` and `/sys` files, which say they are empty and may
//! block when read); `--bind` to `127.0.0.1:0` (a free
//! port); `--exit-after SECS` (or `WEIR_DASHBOARD_EXIT_AFTER=SECS`) exits
//! that long after the run instead of waiting for Ctrl-C, for scripted
//! runs and screenshots.
//!
//! Run with `cargo run --release --example dashboard`.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use weir::cancel::Context;
use weir::pipeline::Pipeline;

const USAGE: &str = "usage: dashboard [DIR] [--workers N] [--bind ADDR] [--exit-after SECS]";

/// Files larger than this are skipped.
const MAX_FILE: u64 = 1 << 20;

struct Args {
    dir: PathBuf,
    workers: usize,
    bind: String,
    exit_after: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dir: PathBuf::from("/usr/share"),
        workers: std::thread::available_parallelism().map_or(4, |n| n.get()),
        bind: "127.0.0.1:0".to_string(),
        exit_after: std::env::var("WEIR_DASHBOARD_EXIT_AFTER")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs_f64),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("`{flag}` needs a value"));
        match arg.as_str() {
            "--workers" => {
                let v = value("--workers")?;
                args.workers = v
                    .parse()
                    .map_err(|_| format!("`--workers {v}`: not a number"))?;
            }
            "--bind" => args.bind = value("--bind")?,
            "--exit-after" => {
                let v = value("--exit-after")?;
                let secs: f64 = v
                    .parse()
                    .map_err(|_| format!("`--exit-after {v}`: not seconds"))?;
                args.exit_after = Some(Duration::from_secs_f64(secs));
            }
            flag if flag.starts_with('-') => return Err(format!("unknown flag `{flag}`")),
            dir => args.dir = PathBuf::from(dir),
        }
    }
    Ok(args)
}

/// Every file under `root`, depth first, found as the pipeline pulls them
/// (symbolic links not followed, unreadable directories skipped).
fn walk(root: &Path) -> impl Iterator<Item = (PathBuf, u64)> {
    let mut dirs = vec![root.to_path_buf()];
    let mut files = Vec::<(PathBuf, u64)>::new().into_iter();
    std::iter::from_fn(move || loop {
        if let Some(f) = files.next() {
            return Some(f);
        }
        let dir = dirs.pop()?;
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(entry.path()),
                Ok(t) if t.is_file() => {
                    // Empty files have no words; the kernel's /proc and
                    // /sys files say they are empty, and some block when
                    // read (/proc/kmsg), so they are skipped too.
                    match entry.metadata() {
                        Ok(meta) if meta.len() > 0 => found.push((entry.path(), meta.len())),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        files = found.into_iter();
    })
}

/// One file's words, or `None` for a binary or unreadable one.
fn words(path: &Path) -> Option<HashMap<String, u64>> {
    let bytes = fs::read(path).ok()?;
    if bytes.iter().take(8000).any(|&b| b == 0) {
        return None;
    }
    let mut counts = HashMap::new();
    for word in String::from_utf8_lossy(&bytes)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    Some(counts)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let p = Pipeline::new(&Context::background());
    let page = match p
        .dashboard()
        .bind(args.bind.as_str())
        .name("file indexer")
        .await
    {
        Ok(page) => page,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    println!("dashboard: {}", page.url());
    println!(
        "indexing {} with {} workers",
        args.dir.display(),
        args.workers
    );

    let totals = p
        .source(walk(&args.dir))
        .named("walk")
        .filter(|(_, len)| *len <= MAX_FILE)
        .named("at most 1 MiB")
        .worker_pool(args.workers, |(path, _)| async move {
            Ok::<_, std::convert::Infallible>(
                tokio::task::spawn_blocking(move || words(&path))
                    .await
                    .ok()
                    .flatten(),
            )
        })
        .named("read + tokenize")
        .filter_map(|counts| counts)
        .named("text only")
        .fold(HashMap::<String, u64>::new(), |mut all, counts| {
            for (word, n) in counts {
                *all.entry(word).or_insert(0) += n;
            }
            all
        })
        .named("fold")
        .run();
    let stop = tokio::spawn(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    let totals = tokio::select! {
        totals = totals.join() => totals,
        _ = tokio::signal::ctrl_c() => {
            println!("interrupted");
            return ExitCode::from(130);
        }
    };
    let code = match totals {
        Ok(all) => {
            let mut top: Vec<_> = all.into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            for (word, n) in top.iter().take(10) {
                println!("{n:>10} {word}");
            }
            println!("{}", p.metrics());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    };
    match args.exit_after {
        Some(after) => {
            println!("the page stays up for {after:?}: {}", page.url());
            tokio::time::sleep(after).await;
        }
        None => {
            println!("done; the page stays up until Ctrl-C: {}", page.url());
            let _ = stop.await;
        }
    }
    page.stop().await;
    code
}
