//! Run leases: a producer process killed mid-run stops being served within
//! its lease (its queued jobs skipped and purged, its result consumer
//! removed), and a producer started after it does not wait behind its jobs.
//! (On the code before issue 20 every one of the dead producer's 1,000
//! jobs ran first, and its result consumer stayed for an hour.)

mod support;

use std::time::Duration;

use futures::StreamExt;
use support::{eventually, hang_guard, ProducerProcess, WorkerProcess};
use weir_nats::testing::NatsServer;
use weir_nats::{NakBackoff, Pool};
use weir_stage::{self as stage, Scope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_producer_stops_being_served_and_its_successor_does_not_wait_behind_it() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    let worker = WorkerProcess::spawn(&url, "lease", 4, 2_000, 3);
    // 1,000 jobs of 100 ms on 4 workers: 25 s if they all run.
    let mut dead = ProducerProcess::spawn(&url, "lease", 2_000, 3, 1_000, 100);
    let started = |below: u64| {
        worker
            .lines()
            .iter()
            .filter_map(|l| l.strip_prefix("started "))
            .filter(|n| n.parse::<u64>().unwrap() < below)
            .count()
    };
    eventually(
        "the first producer's jobs run",
        Duration::from_secs(30),
        || started(10_000) >= 8,
    )
    .await;
    dead.kill();

    // The successor: 20 quick jobs, numbered from 10,000.
    let pool = Pool::new("lease")
        .ack_wait(Duration::from_millis(2_000))
        .max_deliver(3)
        .backoff(NakBackoff::new(
            Duration::from_millis(10),
            Duration::from_millis(100),
        ));
    let client = weir_nats::connect(&url).await.unwrap();
    let scope = Scope::new(&hang_guard());
    let jobs = support::jobs(10_020, 0).split_off(10_000);
    let results = pool
        .remote::<support::Job, u64>(client.clone())
        .run(&scope, stage::generate(&scope, jobs))
        .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, results);
    if let Err(e) = scope.wait().await {
        let lines = worker.lines();
        panic!(
            "{e}: worker printed {} lines, last {:?}",
            lines.len(),
            &lines[lines.len().saturating_sub(10)..]
        );
    }
    let mut all: Vec<u64> = all.await.unwrap().into_iter().map(Result::unwrap).collect();
    all.sort_unstable();
    assert_eq!(all, (10_000..10_020).map(|n| n * 2).collect::<Vec<_>>());
    // Count-based: the dead producer's jobs stopped being started once its
    // lease ran out; without leases all 1,000 ran before the successor's.
    let ran = started(10_000);
    assert!(ran < 600, "{ran} of the dead producer's 1,000 jobs started");

    // Its queued jobs are purged and its result consumer removed.
    let js = async_nats::jetstream::new(client);
    let mut jobs = js.get_stream("WEIR_POOL_lease_JOBS").await.unwrap();
    let results = js.get_stream("WEIR_POOL_lease_RESULTS").await.unwrap();
    let give_up = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let queued = jobs.info().await.unwrap().state.messages;
        let consumers: Vec<_> = results
            .consumer_names()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        if queued == 0 && consumers.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "left behind: {queued} jobs, consumers {consumers:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
