//! weir's contender as a user writes it: a real `try_map_unordered` stage
//! whose limit is adaptive, calling the simulated service, with a
//! `Recovery` that skips failed calls and tells overload
//! ([`SimError::is_overload`]) from unrelated failures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use weir::cancel::Context;
use weir_stage::testing::{SimError, SimService};
use weir_stage::{self as stage, BoxError, Limit, Policy, Recovery, Scope};

use super::driver::{buckets_in, paused_runtime, Trace, BUCKET};

/// Runs the stage against `svc` (built by `make` inside the runtime) for
/// `run` of simulated time: its source yields a request while the run
/// lasts, and the stage keeps as many in flight as its limit allows.
/// Responses after `run` are not counted, as in the driver loop.
pub fn drive_stage(make: impl FnOnce() -> SimService, limit: Limit, run: Duration) -> Trace {
    let rt = paused_runtime();
    rt.block_on(async move {
        let svc = make();
        let start = Instant::now();
        let end = start + run;
        let n_buckets = buckets_in(run);
        let scope = Scope::new(&Context::background());
        let calls = scope.named("calls");
        let id = calls.id();
        let requests = stage::generate(
            &scope,
            std::iter::from_fn(move || (Instant::now() < end).then_some(())),
        );
        let (overloads, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let recovery = Recovery::new()
            .on_error(Policy::skip())
            .overload(|e: &BoxError| {
                e.downcast_ref::<SimError>()
                    .is_some_and(SimError::is_overload)
            });
        let counts = (overloads.clone(), failed.clone());
        let out = stage::try_map_unordered(&calls, requests, limit, recovery, move |()| {
            let svc = svc.clone();
            let (overloads, failed) = counts.clone();
            async move {
                let t0 = Instant::now();
                let r = svc.call().await;
                let t1 = Instant::now();
                match r {
                    Ok(_) => Ok((t0, t1)),
                    Err(e) => {
                        let counter = if e.is_overload() { &overloads } else { &failed };
                        if t1 <= end {
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e)
                    }
                }
            }
        })
        .expect("a valid limit");
        let ctl = scope
            .stats()
            .record_of(id)
            .and_then(|r| r.limit().cloned())
            .expect("the stage's limit");
        let sampler = tokio::spawn(async move {
            let mut limits = Vec::with_capacity(n_buckets);
            for i in 1..=n_buckets {
                tokio::time::sleep_until(start + BUCKET * i as u32).await;
                limits.push(ctl.limit());
            }
            limits
        });
        let done: Vec<(Instant, Instant)> = stage::collect(&scope, out)
            .await
            .expect("the pipeline runs");
        scope.wait().await.expect("the pipeline runs");
        let mut t = Trace {
            buckets: vec![0; n_buckets],
            limits: sampler.await.expect("the sampler"),
            overloads: overloads.load(Ordering::Relaxed),
            failed: failed.load(Ordering::Relaxed),
            run,
            ..Trace::default()
        };
        for (t0, t1) in done.into_iter().filter(|(_, t1)| *t1 <= end) {
            t.ok_latencies.push(t1 - t0);
            let bucket = ((t1 - start).as_nanos() / BUCKET.as_nanos()) as usize;
            if let Some(b) = t.buckets.get_mut(bucket) {
                *b += 1;
            }
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_keeps_the_knee_busy() {
        let limit: Limit = Limit::adaptive().max(64).into();
        let t = drive_stage(|| SimService::new(8), limit, Duration::from_secs(1));
        assert!(t.throughput() > 0.9 * 8000.0, "{}", t.throughput());
        assert_eq!(t.p99(), Duration::from_millis(1));
        assert!(
            t.limits.iter().skip(2).all(|l| (7..=10).contains(l)),
            "{:?}",
            t.limits
        );
    }
}
