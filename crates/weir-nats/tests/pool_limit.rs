//! `Pool::in_flight` takes a `Limit`: an adaptive in-flight window runs
//! every job once and shows its limit in the stage's statistics; a limit
//! that does not hold is a `ConfigError` before anything runs.

use std::time::Duration;

use weir_cancel::Context;
use weir_nats::testing::NatsServer;
use weir_nats::Pool;
use weir_stage::{self as stage, ConfigError, Limit, Scope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adaptive_window_runs_every_job_once_and_shows_its_limit() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    let pool = Pool::new("adaptive")
        .memory()
        .in_flight(Limit::adaptive().min(2).max(32).initial(4));
    // A hang guard, not a timing assertion.
    let (ctx, stop) = Context::background()
        .with_timeout(Duration::from_secs(60))
        .with_cancel();
    let workers = tokio::spawn({
        let (ctx, client, pool) = (ctx.clone(), client.clone(), pool.clone());
        async move {
            let f = |n: u64| async move { Ok::<_, std::io::Error>(n * 2) };
            weir_nats::serve(&ctx, client, &pool, 4, f).await
        }
    });
    let scope = Scope::new(&ctx);
    let stats = scope.stats();
    let view = scope.named("remote");
    let results = pool
        .remote::<u64, u64>(client)
        .run(&view, stage::generate(&scope, 0..300u64))
        .unwrap();
    let mut got: Vec<u64> = stage::collect::<_, Vec<_>>(&scope, results)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    scope.wait().await.unwrap();
    got.sort_unstable();
    assert_eq!(got, (0..300).map(|n| n * 2).collect::<Vec<_>>());
    let remote = stats.stage("remote").unwrap();
    assert!(remote.adaptive_limit);
    assert!(
        (2..=32).contains(&remote.concurrency_limit.unwrap()),
        "{remote:?}"
    );
    assert!(
        remote.latency_baseline.is_some(),
        "every answered job is a sample"
    );
    stop.cancel();
    let _ = workers.await;
}

#[tokio::test]
async fn a_bad_window_is_a_config_error() {
    let client = weir_nats::Pool::new("never-runs").in_flight(Limit::adaptive().min(5).max(1));
    let scope = Scope::new(&Context::background());
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let nats = weir_nats::connect(&server.url()).await.unwrap();
    let err = client
        .remote::<u64, u64>(nats)
        .run(&scope, stage::generate(&scope, 0..3u64))
        .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
    scope.cancel();
}
