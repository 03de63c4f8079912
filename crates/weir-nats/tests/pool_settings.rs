//! A producer and workers that disagree on a pool's settings fail at once
//! with the setting named (on the code before issue 20 they ran side by
//! side without complaint), and a producer with no worker says so.

use std::time::Duration;

use weir_cancel::Context;
use weir_nats::testing::NatsServer;
use weir_nats::{Error, Pool};
use weir_stage::{self as stage, Scope};

/// The first stage error of a producer run of `remote` over 3 jobs.
async fn producer_error(remote: weir_nats::Remote<u64, u64, weir_nats::Json>) -> String {
    // A hang guard, not a timing assertion.
    let scope = Scope::new(&Context::background().with_timeout(Duration::from_secs(30)));
    let results = remote
        .run(&scope, stage::generate(&scope, 0..3u64))
        .unwrap();
    let _sink = stage::for_each(&scope, results, |_| {});
    let err = scope.wait().await.unwrap_err();
    std::error::Error::source(&err)
        .map(ToString::to_string)
        .unwrap_or_else(|| err.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_and_producer_with_other_settings_fail_naming_the_setting() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    let pool = Pool::new("settings").ack_wait(Duration::from_secs(5));
    // A first worker sets the pool up, and stops.
    let ctx = Context::background().with_timeout(Duration::from_millis(200));
    let f = |n: u64| async move { Ok::<_, std::io::Error>(n) };
    weir_nats::serve(&ctx, client.clone(), &pool, 1, f)
        .await
        .unwrap();

    // A worker with another ack_wait.
    let other = Pool::new("settings").ack_wait(Duration::from_secs(9));
    let ctx = Context::background().with_timeout(Duration::from_secs(30));
    let err = weir_nats::serve(&ctx, client.clone(), &other, 1, f)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Misconfigured { .. }), "{err:?}");
    assert!(
        err.to_string().contains("setting `ack_wait` differs"),
        "{err}"
    );

    // A producer with another max_deliver, and one with memory storage.
    let other = Pool::new("settings")
        .ack_wait(Duration::from_secs(5))
        .max_deliver(9);
    let err = producer_error(other.remote(client.clone())).await;
    assert!(err.contains("setting `max_deliver` differs"), "{err}");
    let other = Pool::new("settings")
        .ack_wait(Duration::from_secs(5))
        .memory();
    let err = producer_error(other.remote(client.clone())).await;
    assert!(err.contains("setting `storage` differs"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_with_no_worker_says_so() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    let remote = Pool::new("alone")
        .memory()
        .remote::<u64, u64>(client)
        .lag_every(Duration::from_millis(50))
        .no_worker_after(Some(Duration::from_millis(500)));
    let err = producer_error(remote).await;
    assert!(
        err.starts_with(
            "stage `nats remote_pool alone`: no worker has pulled from pool `alone` for"
        ),
        "{err}"
    );
}
