//! One record per stage (issue 19 §1): the scope's tasks, the engine and
//! the pipeline's metrics all count into one `engine::Stage` per stage id,
//! so nothing is counted twice.

use std::hint::black_box;
use std::time::{Duration, Instant};

use weir::cancel::Context;
use weir::pipeline::{Metrics, Pipeline, StageMetrics};

fn stage<'m>(m: &'m Metrics, name: &str) -> &'m StageMetrics {
    m.stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage `{name}` in {m:#?}"))
}

/// Burns CPU: a loop the optimiser can't remove.
fn spin(n: u64) -> u64 {
    (0..20_000u64).fold(n, |a, k| black_box(a.wrapping_mul(31).wrapping_add(k)))
}

/// On a current-thread runtime nothing runs at the same time, so the busy
/// time of all stages together can't exceed the run's wall time, unless
/// some of it is counted twice: the CPU-heavy `spin` is the last stage of
/// a fused task that feeds a worker pool, so its task's poll time and the
/// engine's per-batch time would both land on it. The clock is not
/// paused: busy time is real time spent in the stages' code.
#[tokio::test(flavor = "current_thread")]
async fn busy_time_is_counted_once() {
    let started = Instant::now();
    let p = Pipeline::with_capacity(&Context::background(), 16);
    let sum = p
        .source(0..400u64)
        .named("gen")
        .map(spin)
        .named("spin")
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(spin(n)) })
        .named("pool")
        .fold(0u64, |a, n| a.wrapping_add(n))
        .named("sum")
        .await
        .unwrap();
    let wall = started.elapsed();
    black_box(sum);
    let m = p.metrics();
    let total: Duration = m.stages.iter().map(|s| s.busy).sum();
    assert!(
        total <= wall,
        "busy {total:?} summed over stages > wall time {wall:?}: {m}"
    );
    // Both CPU-heavy stages did count their work.
    assert!(stage(&m, "spin").busy > Duration::ZERO, "{m}");
    assert!(stage(&m, "pool").busy > Duration::ZERO, "{m}");
}

/// A failure is counted once, against the stage that failed: a fused
/// stage's panic on that stage (not on the task's last stage, whose task
/// reported it), a worker's error on the pool.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_error_is_counted_once_against_its_stage() {
    let p = Pipeline::new(&Context::background());
    let result = p
        .source(0..100u32)
        .named("gen")
        .map(|n| {
            assert!(n != 50, "fifty");
            n
        })
        .named("boom")
        .map(|n| n + 1)
        .named("after")
        .collect::<Vec<_>>()
        .named("all")
        .await;
    assert_eq!(result.unwrap_err().stage(), Some("boom"));
    let m = p.metrics();
    let errors: Vec<_> = ["gen", "boom", "after", "all"]
        .iter()
        .map(|name| stage(&m, name).errors)
        .collect();
    assert_eq!(errors, [0, 1, 0, 0], "{m}");

    let p = Pipeline::new(&Context::background());
    let result = p
        .source(0..100u32)
        .named("gen")
        .worker_pool(2, |n| async move {
            if n == 7 {
                Err(std::io::Error::other("seven"))
            } else {
                Ok(n)
            }
        })
        .named("pool")
        .count()
        .named("count")
        .await;
    assert_eq!(result.unwrap_err().stage(), Some("pool"));
    let m = p.metrics();
    assert_eq!(stage(&m, "pool").errors, 1, "{m}");
    assert_eq!(stage(&m, "count").errors, 0, "{m}");
}

/// An edge between two stages with tasks of their own keeps its peak:
/// the channel measures it at every send, so metrics read only after the
/// run (when the channel is empty again) still show that it filled up.
/// Peaks used to be sampled by fused tasks and by metric reads only, so
/// this edge read 0.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_pool_to_pool_edge_keeps_its_peak() {
    let p = Pipeline::with_capacity(&Context::background(), 4);
    let n = p
        .source(0..64u32)
        .named("gen")
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .named("fast")
        .worker_pool(1, |n| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok::<_, std::io::Error>(n)
        })
        .named("slow")
        .count()
        .named("count")
        .await
        .unwrap();
    assert_eq!(n, 64);
    let m = p.metrics();
    let e = m
        .edges
        .iter()
        .find(|e| e.from == "fast" && e.to == "slow")
        .unwrap();
    assert_eq!((e.len, e.capacity), (Some(0), Some(4)), "{e:?}");
    assert_eq!(e.peak, Some(4), "the slow pool's input filled up: {e:?}");
    assert_eq!((e.sent, e.received), (64, 64), "{e:?}");
}
