//! `Limit` through the builder: every concurrent door takes one, a bad one
//! fails the run before anything runs, and the limit shows in the metrics,
//! the table and the graph labels.

use std::time::Duration;

use weir::cancel::Context;
use weir::pipeline::Pipeline;
use weir::stage::{BoxError, ConfigError, Limit, Policy};
use weir::testing::{SimError, SimService};

#[tokio::test(start_paused = true)]
async fn an_adaptive_stage_shows_its_limit_everywhere() {
    let p = Pipeline::new(&Context::background());
    let service = SimService::new(12);
    let overloaded = |e: &BoxError| {
        e.downcast_ref::<SimError>()
            .is_some_and(SimError::is_overload)
    };
    let n = p
        .source(0..5_000u32)
        .map_unordered(4, |n| async move { n }) // fixed: shows its limit too
        .named("fixed")
        .on_error(Policy::skip())
        .overload(overloaded)
        .map_unordered(Limit::adaptive().min(2).max(64), move |_| {
            let service = service.clone();
            async move { service.call().await }
        })
        .named("calls")
        .count()
        .await
        .unwrap();
    assert!(n > 4_000, "{n} calls passed");
    let metrics = p.metrics();
    let stage = |name: &str| {
        metrics
            .stages
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .clone()
    };
    let (fixed, calls) = (stage("fixed"), stage("calls"));
    assert_eq!(
        (fixed.concurrency_limit, fixed.adaptive_limit),
        (Some(4), false)
    );
    assert_eq!(fixed.latency_baseline, None);
    let limit = calls.concurrency_limit.unwrap();
    assert!(calls.adaptive_limit && (2..=64).contains(&limit));
    assert_eq!(calls.latency_baseline, Some(Duration::from_millis(1)));
    assert!(calls.latency_recent.is_some());
    assert_eq!(stage("source#0").concurrency_limit, None);
    let table = metrics.to_string();
    assert!(table.lines().next().unwrap().contains("limit"), "{table}");
    assert!(table.contains(&format!("~{limit}")), "{table}");
    let label = format!("limit {limit} (adaptive)");
    assert!(p.to_mermaid().contains(&label), "{}", p.to_mermaid());
    assert!(p.to_dot().contains(&label), "{}", p.to_dot());
    assert!(
        !p.to_mermaid().contains("limit 4"),
        "a fixed limit stays out of the label"
    );
}

#[tokio::test]
async fn a_fixed_only_pipeline_keeps_its_table() {
    let p = Pipeline::new(&Context::background());
    let n = p
        .source(0..10u32)
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n) })
        .count()
        .await
        .unwrap();
    assert_eq!(n, 10);
    let table = p.metrics().to_string();
    assert!(!table.lines().next().unwrap().contains("limit"), "{table}");
    let pool = p
        .metrics()
        .stages
        .into_iter()
        .find(|s| s.kind == "worker_pool")
        .unwrap();
    assert_eq!(pool.concurrency_limit, Some(2));
}

#[tokio::test]
async fn a_bad_limit_fails_the_run_before_anything_runs() {
    let p = Pipeline::new(&Context::background());
    let err = p
        .source(0..10u32)
        .map_unordered(Limit::adaptive().min(8).max(2), |n| async move { n })
        .named("calls")
        .count()
        .await
        .unwrap_err();
    assert!(
        matches!(err.config(), Some(ConfigError::Invalid { stage, .. }) if &**stage == "calls"),
        "{err}"
    );
    let err = Pipeline::new(&Context::background())
        .source(0..10u32)
        .worker_pool(Limit::adaptive().min(0), |n| async move {
            Ok::<_, std::io::Error>(n)
        })
        .count()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.config(),
            Some(ConfigError::Zero {
                what: "workers",
                ..
            })
        ),
        "{err}"
    );
}
