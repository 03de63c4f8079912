//! `Limit` through real stages: a fixed limit behaves as a plain number
//! always did (exactly n in flight when saturated, never more, no sample
//! taken); an adaptive one stays in its bounds, settles near a simulated
//! service's knee, loses and repeats no item, and shrinks a worker pool
//! without dropping a job. Every test runs on tokio's paused clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use weir_cancel::Context;
use weir_stage::testing::{block_on_paused, SimError, SimService};
use weir_stage::{
    self as stage, BoxError, ConfigError, Limit, Outcome, Policy, Recovery, Scope, ScopeStats,
    StageId, WorkerPool,
};

/// Counts the items in flight and the most seen at once.
#[derive(Clone, Default)]
struct InFlight {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl InFlight {
    fn enter(&self) -> usize {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        now
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// The samples the stage `id`'s controller has open now.
fn samples_open(stats: &ScopeStats, id: StageId) -> usize {
    let record = stats.record_of(id).expect("the stage has a record");
    record
        .limit()
        .expect("a concurrent stage")
        .stats()
        .in_flight
}

/// Only a service's overload errors are overload.
fn overloaded(e: &BoxError) -> bool {
    e.downcast_ref::<SimError>()
        .is_some_and(SimError::is_overload)
}

#[test]
fn a_fixed_limit_runs_exactly_n_never_more_and_takes_no_sample() {
    block_on_paused(async {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let view = scope.named("fetch");
        let id = view.id();
        let gauge = InFlight::default();
        let unsampled = Arc::new(AtomicUsize::new(0));
        let (g, s, seen) = (gauge.clone(), stats.clone(), unsampled.clone());
        let out = stage::map_unordered(&view, stage::generate(&scope, 0..200u32), 4, move |n| {
            let (g, s, seen) = (g.clone(), s.clone(), seen.clone());
            async move {
                g.enter();
                if samples_open(&s, id) == 0 {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                g.leave();
                n
            }
        })
        .unwrap();
        let mut got = stage::collect::<_, Vec<_>>(&scope, out).await.unwrap();
        got.sort_unstable();
        assert_eq!(got, (0..200).collect::<Vec<_>>());
        assert_eq!(gauge.peak(), 4, "exactly n in flight when saturated");
        // Under a fixed limit no item ever had a sample open.
        assert_eq!(unsampled.load(Ordering::SeqCst), 200);
        let fetch = stats.stage("fetch").unwrap();
        assert_eq!(fetch.concurrency_limit, Some(4));
        assert!(!fetch.adaptive_limit);
        assert_eq!((fetch.latency_baseline, fetch.latency_recent), (None, None));
    });
}

#[test]
fn a_fixed_worker_pool_keeps_n_workers_and_takes_no_sample() {
    block_on_paused(async {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let view = scope.named("pool");
        let id = view.id();
        let gauge = InFlight::default();
        let (g, s) = (gauge.clone(), stats.clone());
        let out = stage::worker_pool(&view, stage::generate(&scope, 0..100u32), 5, move |n| {
            let (g, s) = (g.clone(), s.clone());
            async move {
                g.enter();
                assert_eq!(samples_open(&s, id), 0, "a fixed pool takes no sample");
                tokio::time::sleep(Duration::from_millis(10)).await;
                g.leave();
                Ok::<_, std::io::Error>(n)
            }
        })
        .unwrap();
        let got = stage::count(&scope, out).await.unwrap();
        assert_eq!(got, 100);
        assert_eq!(gauge.peak(), 5);
        let pool = stats.stage("pool").unwrap();
        assert_eq!((pool.concurrency_limit, pool.tasks), (Some(5), 5));
        assert_eq!(pool.latency_baseline, None);
    });
}

#[test]
fn an_adaptive_stage_measures_its_items() {
    block_on_paused(async {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let view = scope.named("fetch");
        let id = view.id();
        let sampled = Arc::new(AtomicUsize::new(0));
        let (s, seen) = (stats.clone(), sampled.clone());
        let limit = Limit::adaptive().min(2).max(8).initial(4);
        let out = stage::map_unordered(&view, stage::generate(&scope, 0..50u32), limit, move |n| {
            let (s, seen) = (s.clone(), seen.clone());
            async move {
                if samples_open(&s, id) > 0 {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
                n
            }
        })
        .unwrap();
        assert_eq!(stage::count(&scope, out).await.unwrap(), 50);
        assert_eq!(sampled.load(Ordering::SeqCst), 50, "every item is measured");
        let fetch = stats.stage("fetch").unwrap();
        assert!(fetch.adaptive_limit);
        assert_eq!(fetch.latency_baseline, Some(Duration::from_millis(3)));
        assert!(fetch.latency_recent.is_some());
        assert!((2..=8).contains(&fetch.concurrency_limit.unwrap()));
    });
}

/// Runs 20 000 calls of `service` through `try_map_unordered` under an
/// adaptive limit; returns the stage's limit over the run's second half
/// (sampled every 10 ms) and the most calls seen in flight.
fn through_window(service: SimService, limit: Limit) -> (Vec<usize>, usize) {
    block_on_paused(async move {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let view = scope.named("calls");
        let gauge = InFlight::default();
        let recovery = Recovery::new()
            .on_error(Policy::skip())
            .overload(overloaded);
        let g = gauge.clone();
        let out = stage::try_map_unordered(
            &view,
            stage::generate(&scope, 0..20_000u32),
            limit,
            recovery,
            move |_| {
                let (g, service) = (g.clone(), service.clone());
                async move {
                    g.enter();
                    let r = service.call().await;
                    g.leave();
                    r
                }
            },
        )
        .unwrap();
        let count = tokio::spawn(stage::count(&scope, out));
        let mut limits = Vec::new();
        while !count.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            limits.extend(stats.stage("calls").and_then(|s| s.concurrency_limit));
        }
        let half = limits.split_off(limits.len() / 2);
        (half, gauge.peak())
    })
}

#[test]
fn an_adaptive_window_settles_near_the_knee() {
    let (late, _) = through_window(
        SimService::new(24),
        Limit::adaptive().min(1).max(128).initial(4).into(),
    );
    assert!(!late.is_empty());
    let mean = late.iter().sum::<usize>() as f64 / late.len() as f64;
    // Near c* = 24: neither stuck low nor running into the refusals at 2·c*.
    assert!(
        (12.0..=48.0).contains(&mean),
        "late mean limit {mean}, {late:?}"
    );
}

#[test]
fn an_adaptive_window_keeps_to_its_bounds() {
    // A knee far above max: the limit climbs to max and no higher.
    let (late, peak) = through_window(
        SimService::new(1_000),
        Limit::adaptive().min(2).max(10).initial(2).into(),
    );
    assert!(peak <= 10, "{peak} in flight above max 10");
    assert!(late.iter().all(|l| (2..=10).contains(l)), "{late:?}");
    assert_eq!(
        late.last(),
        Some(&10),
        "an unloaded service lets it reach max"
    );
    // A knee of 1, far below min: the limit comes down to min and no lower.
    let (late, _) = through_window(
        SimService::new(1),
        Limit::adaptive().min(3).max(64).initial(32).into(),
    );
    assert!(late.iter().all(|l| (3..=64).contains(l)), "{late:?}");
    assert_eq!(
        late.last(),
        Some(&3),
        "an overloaded service brings it to min"
    );
}

#[test]
fn an_adaptive_pool_settles_near_the_knee() {
    block_on_paused(async {
        let scope = Scope::new(&Context::background());
        let service = SimService::new(16);
        let (out, pool) = WorkerPool::new(Limit::adaptive().min(1).max(64).initial(2))
            .on_error(Policy::skip())
            .overload(overloaded)
            .spawn(&scope, stage::generate(&scope, 0..20_000u32), move |_| {
                let service = service.clone();
                async move { service.call().await }
            })
            .unwrap();
        let count = tokio::spawn(stage::count(&scope, out));
        let mut workers = Vec::new();
        while !count.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            workers.push(pool.workers());
        }
        let late = workers.split_off(workers.len() / 2);
        let mean = late.iter().sum::<usize>() as f64 / late.len() as f64;
        assert!(
            (8.0..=32.0).contains(&mean),
            "late mean workers {mean}, {late:?}"
        );
        scope.wait().await.unwrap();
    });
}

#[test]
fn a_shrinking_adaptive_pool_keeps_every_job() {
    block_on_paused(async {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let view = scope.named("pool");
        let id = view.id();
        let (out, pool) = WorkerPool::new(Limit::adaptive().min(1).max(32).initial(16))
            .spawn(&view, stage::generate(&scope, 0..400u32), |n| async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, std::io::Error>(n)
            })
            .unwrap();
        let got = tokio::spawn(stage::collect::<_, Vec<_>>(&scope, out));
        // Every worker busy with a job, then the service says "overloaded"
        // (as the pool's own failed jobs would) until the limit is down.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(pool.running(), 16);
        let limit = stats.record_of(id).unwrap().limit().unwrap().clone();
        // Before the first job ends (at 50 ms): all 16 are still running.
        for _ in 0..30 {
            if pool.workers() <= 4 {
                break;
            }
            limit.start().finish(Outcome::Overload);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let shrunk = pool.workers();
        let mut got = got.await.unwrap().unwrap();
        got.sort_unstable();
        // No job dropped or repeated, though 12 workers left mid-run.
        assert_eq!(got, (0..400).collect::<Vec<_>>());
        assert!(shrunk <= 4, "the limit came down to {shrunk} only");
        scope.wait().await.unwrap();
    });
}

#[test]
fn a_bad_limit_is_a_config_error_before_anything_runs() {
    block_on_paused(async {
        let scope = Scope::new(&Context::background());
        let nums = || stage::generate(&scope, 0..3u32);
        let zero_min = Limit::adaptive().min(0);
        let err = stage::map_unordered(&scope, nums(), zero_min, |n| async move { n }).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Zero {
                    what: "concurrency",
                    ..
                }
            ),
            "{err}"
        );
        let upside_down = Limit::adaptive().min(9).max(3);
        let err = stage::worker_pool(&scope, nums(), upside_down, |n| async move {
            Ok::<_, std::io::Error>(n)
        })
        .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
        let err = stage::map_concurrent(&scope, nums(), 0, |n| async move { n }).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Zero {
                stage: "map_concurrent".into(),
                what: "concurrency"
            }
        );
        scope.cancel();
    });
}

/// A limit for a property case: fixed, or adaptive with random bounds.
fn any_limit() -> impl Strategy<Value = Limit> {
    prop_oneof![
        (1usize..12).prop_map(Limit::fixed),
        (1usize..6, 0usize..20).prop_map(|(min, span)| Limit::adaptive()
            .min(min)
            .max(min + span)
            .initial(min + span / 2)
            .into()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Under any limit and against a service that is overloaded well below
    /// it at times, every window stage and the pool output each item exactly
    /// once (the service's refusals are retried until they pass).
    #[test]
    fn no_item_is_lost_or_repeated(limit in any_limit(), items in 0u32..300, knee in 1usize..8) {
        let outputs = block_on_paused(async move {
            let scope = Scope::new(&Context::background());
            let service = SimService::new(knee);
            let call = move |n: u32| {
                let service = service.clone();
                async move {
                    loop {
                        match service.call().await {
                            Ok(_) => return Ok::<_, std::io::Error>(n),
                            Err(_) => tokio::task::yield_now().await,
                        }
                    }
                }
            };
            let (c1, c2) = (call.clone(), call.clone());
            let ordered = stage::map_concurrent(&scope, stage::generate(&scope, 0..items), limit.clone(), move |n| {
                let f = c1(n);
                async move { f.await.unwrap() }
            }).unwrap();
            let unordered = stage::map_unordered(&scope, stage::generate(&scope, 0..items), limit.clone(), move |n| {
                let f = c2(n);
                async move { f.await.unwrap() }
            }).unwrap();
            let pooled = stage::worker_pool(&scope, stage::generate(&scope, 0..items), limit, call).unwrap();
            let ordered = stage::collect::<_, Vec<_>>(&scope, ordered);
            let unordered = stage::collect::<_, Vec<_>>(&scope, unordered);
            let pooled = stage::collect::<_, Vec<_>>(&scope, pooled);
            let (a, b, c) = tokio::join!(ordered, unordered, pooled);
            scope.wait().await.unwrap();
            (a.unwrap(), b.unwrap(), c.unwrap())
        });
        let expected: Vec<u32> = (0..items).collect();
        prop_assert_eq!(&outputs.0, &expected, "map_concurrent keeps input order");
        let tally = |v: &[u32]| v.iter().fold(BTreeMap::new(), |mut m, n| { *m.entry(*n).or_insert(0) += 1; m });
        let once: BTreeMap<u32, i32> = expected.iter().map(|n| (*n, 1)).collect();
        prop_assert_eq!(tally(&outputs.1), once.clone());
        prop_assert_eq!(tally(&outputs.2), once);
    }
}

#[test]
fn an_adaptive_limit_is_shared_by_nothing_else() {
    // Each stage takes its own controller: two stages built from one
    // `Limit` move apart.
    block_on_paused(async {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let limit: Limit = Limit::adaptive().min(1).max(32).initial(8).into();
        let fast = stage::map_unordered(
            &scope.named("fast"),
            stage::generate(&scope, 0..2_000u32),
            limit.clone(),
            |n| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                n
            },
        )
        .unwrap();
        let refused = SimService::new(1);
        let recovery = Recovery::new().on_error(Policy::skip());
        let slow = stage::try_map_unordered(
            &scope.named("refused"),
            stage::generate(&scope, 0..2_000u32),
            limit,
            recovery,
            move |_| {
                let s = refused.clone();
                async move { s.call().await }
            },
        )
        .unwrap();
        let (a, b) = tokio::join!(stage::count(&scope, fast), stage::count(&scope, slow));
        assert_eq!(a.unwrap(), 2_000);
        assert!(b.unwrap() < 2_000, "most calls were refused");
        let fast = stats.stage("fast").unwrap().concurrency_limit.unwrap();
        let refused = stats.stage("refused").unwrap().concurrency_limit.unwrap();
        assert!(fast > refused, "fast {fast}, refused {refused}");
    });
}
