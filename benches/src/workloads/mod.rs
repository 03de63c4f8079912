//! One module per workload of the performance issue; in each, one small
//! function per implementation:
//!
//! * `weir` — weir as a user writes it: the facade's `Pipeline` where the
//!   workload is a pipeline (1 pipeline, 3 pool, 4 fan-out/fan-in), and
//!   weir-core channels, `WaitGroup` and weir-cancel's `Context` where it is
//!   a primitive (2 hop, 5 cancellation, 6 many workers, 7 latency, 9 the
//!   hand-written pipeline).
//!   `weir_batch` (workloads 1 and 2) is the same work on weir-core's batch
//!   API by hand.
//! * `tokio_flume` — the naive baseline: tokio's multi-thread runtime,
//!   `flume::bounded(1024)` with `send_async` / `recv_async`, one task per
//!   stage, a direct port of the seed's Go code.
//! * `tokio_kanal`, `tokio_mpsc` — the hand-written pipeline (workload 9)
//!   only: the same code on kanal and on tokio's own mpsc; `tokio_kanal`
//!   also in the select loop (workload 10).
//! * `loop_` — the floor: the same work in a plain sequential loop.
//!
//! The Go side lives in `benches/go/main.go` (and a plain program per
//! workload in `benches/go/<name>/` for some: handpipe, select, windowed).
//! `windowed` (workload 11) compares the builder with the same program
//! by hand on tokio's mpsc (`tokio_mpsc`) and in Go.
//! `adaptive` (workload 12) is not timed: it simulates a service on a paused
//! clock and scores concurrency limits on it (see its module).

use crate::work::{vm_hwm_kb, CAP};
use crate::Outcome;

pub mod adaptive;
pub mod cancel;
pub mod driver;
pub mod fan;
pub mod handpipe;
pub mod hop;
pub mod latency;
pub mod million;
pub mod pipeline;
pub mod pool;
pub mod select;
pub mod select_chan;
pub mod windowed;

/// Runs implementation `imp` of `workload` with `args` in this process and
/// returns what it measured, with the peak RSS filled in.
pub fn run(workload: &str, imp: &str, args: &[u64]) -> Result<Outcome, String> {
    let arg = |i: usize| -> Result<u64, String> {
        args.get(i)
            .copied()
            .ok_or_else(|| format!("{workload}: missing argument {}", i + 1))
    };
    let k32 = |v: u64| u32::try_from(v).map_err(|_| format!("k out of range: {v}"));
    let us = |v: u64| usize::try_from(v).map_err(|_| format!("out of range: {v}"));
    // The hand pipeline's optional capacity and worker count.
    let opt = |i: usize, default: usize| args.get(i).map_or(Ok(default), |&v| us(v));
    let mut outcome = match (workload, imp) {
        ("pipeline", "weir") => pipeline::weir(arg(0)?),
        ("pipeline", "weir-batch") => pipeline::weir_batch(arg(0)?),
        // `compare --child pipeline weir-buffer <n> [cap] [policy]` (policy
        // 0-3: Backpressure, DropNewest, DropOldest, Fail; the table's row
        // is `<n>` alone: capacity n, DropOldest) against `weir`, for the
        // cost of an overflow stage that never overflows. Not in the table:
        // `weir-buffer-then` against `weir-then`, and `vec-handoff`, the
        // floor of a two-task hand-off that copies no item.
        ("pipeline", "weir-buffer") => pipeline::weir_buffered(
            arg(0)?,
            opt(1, us(arg(0)?)?)?,
            pipeline::overflow(args.get(2).copied().unwrap_or(2))?,
        ),
        ("pipeline", "weir-then") => pipeline::weir_then(arg(0)?, false),
        ("pipeline", "weir-buffer-then") => pipeline::weir_then(arg(0)?, true),
        ("pipeline", "vec-handoff") => pipeline::vec_handoff(arg(0)?),
        ("pipeline", "tokio-flume") => pipeline::tokio_flume(arg(0)?),
        ("pipeline", "loop") => pipeline::loop_(arg(0)?),
        ("handpipe", _) => {
            let (n, cap) = (arg(0)?, opt(1, CAP)?);
            let flavor = handpipe::Flavor::from_workers(opt(2, handpipe::WORKERS)?);
            match imp {
                "weir" => handpipe::weir(n, cap, flavor),
                "tokio-kanal" => handpipe::tokio_kanal(n, cap, flavor),
                "tokio-flume" => handpipe::tokio_flume(n, cap, flavor),
                "tokio-mpsc" => handpipe::tokio_mpsc(n, cap, flavor),
                _ => return Err(format!("unknown workload/implementation: {workload} {imp}")),
            }
        }
        ("select", _) => {
            let (n, cap) = (arg(0)?, us(arg(1)?)?);
            match imp {
                "weir" => select::weir(n, cap),
                "tokio-kanal" => select::tokio_kanal(n, cap),
                "tokio-flume" => select::tokio_flume(n, cap),
                "weir-chan-select" => select_chan::weir_chan(n, cap),
                _ => return Err(format!("unknown workload/implementation: {workload} {imp}")),
            }
        }
        ("hop", "weir") => hop::weir(arg(0)?),
        ("hop", "weir-batch") => hop::weir_batch(arg(0)?),
        ("hop", "tokio-flume") => hop::tokio_flume(arg(0)?),
        ("hop", "loop") => hop::loop_(arg(0)?),
        ("pool", "weir") => pool::weir(arg(0)?, us(arg(1)?)?, k32(arg(2)?)?),
        ("pool", "tokio-flume") => pool::tokio_flume(arg(0)?, us(arg(1)?)?, k32(arg(2)?)?),
        ("pool", "loop") => pool::loop_(arg(0)?, k32(arg(2)?)?),
        ("fan", "weir") => fan::weir(arg(0)?),
        ("fan", "tokio-flume") => fan::tokio_flume(arg(0)?),
        ("fan", "loop") => fan::loop_(arg(0)?),
        // The cancellation and latency workloads' last, optional argument:
        // where the driver runs (0 `block_on`, 1 a spawned task).
        ("cancel", _) => {
            let (t, cap) = (us(arg(0)?)?, us(arg(1)?)?);
            let driver = driver::Driver::from_arg(args.get(2).copied())?;
            match imp {
                "weir" => cancel::weir(t, cap, driver),
                "tokio-abort" => cancel::tokio_abort(t, cap, driver),
                "tokio-flume" => cancel::tokio_flume(t, cap, driver),
                _ => return Err(format!("unknown workload/implementation: {workload} {imp}")),
            }
        }
        ("latency", _) => {
            let t = us(arg(0)?)?;
            let driver = driver::Driver::from_arg(args.get(1).copied())?;
            match imp {
                "weir" => latency::weir(t, driver),
                "weir-fused" => latency::weir_fused(t, driver),
                "tokio-flume" => latency::tokio_flume(t, driver),
                "loop" => latency::hand_loop(t, driver),
                _ => return Err(format!("unknown workload/implementation: {workload} {imp}")),
            }
        }
        ("million", "weir") => million::weir(us(arg(0)?)?),
        ("windowed", "weir") => windowed::weir(arg(0)?, arg(1)?, arg(2)?),
        ("windowed", "tokio-mpsc") => windowed::tokio_mpsc(arg(0)?, arg(1)?, arg(2)?),
        ("million", "tokio-flume") => million::tokio_flume(us(arg(0)?)?),
        _ => return Err(format!("unknown workload/implementation: {workload} {imp}")),
    };
    outcome.rss_kb = vm_hwm_kb();
    Ok(outcome)
}
