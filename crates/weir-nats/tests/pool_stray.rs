//! Results are bound to the jobs a run sent: stray messages on a pool's
//! subjects — carrying a live run's id and job ids it has not sent yet —
//! neither stand in for the real results nor make the server drop them as
//! duplicates. (On the code before issue 20 the real results of jobs 1 to
//! 4 vanished and the run hung until its guard.)

mod support;

use std::time::Duration;

use async_nats::HeaderMap;
use futures::StreamExt;
use support::{eventually, Job};
use weir_cancel::Context;
use weir_nats::testing::NatsServer;
use weir_nats::{NakBackoff, Pool};
use weir_stage::Scope;

fn job(n: u64) -> Job {
    Job {
        n,
        sleep_ms: 0,
        fail: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_jobs_and_results_with_a_live_run_id_do_not_replace_real_results() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let url = server.url();
    // The worker's settings (the producer checks them).
    let pool = Pool::new("stray")
        .ack_wait(Duration::from_millis(2_000))
        .max_deliver(2)
        .backoff(NakBackoff::new(
            Duration::from_millis(10),
            Duration::from_millis(100),
        ));
    let _worker = support::WorkerProcess::spawn(&url, "stray", 2, 2_000, 2);
    let client = weir_nats::connect(&url).await.unwrap();
    // What a stray publisher can see: the run's subjects, on core NATS.
    let mut jobs_seen = client.subscribe("weir.pool.stray.jobs.*").await.unwrap();
    let mut results_seen = client.subscribe("weir.pool.stray.results.*").await.unwrap();

    // A hang guard, not a timing assertion.
    let scope = Scope::new(&Context::background().with_timeout(Duration::from_secs(30)));
    let (input, jobs) = weir_core::chan::bounded::<Job>(8);
    let remote = pool.remote::<Job, u64>(client.clone());
    let probe = remote.lag_probe();
    let results = remote.run(&scope, jobs).unwrap();
    input.send(job(0)).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(30), jobs_seen.next())
        .await
        .expect("hang guard: the first job")
        .unwrap();
    let run = first
        .subject
        .as_str()
        .rsplit('.')
        .next()
        .unwrap()
        .to_owned();
    let first = tokio::time::timeout(Duration::from_secs(30), results.recv())
        .await
        .expect("hang guard: the first result");
    assert_eq!(first.unwrap(), Ok(0));

    // Jobs 1-3 and the result of job 4, before the run sends them: an
    // undecodable job, a job with other content, a job carrying the id
    // the real one would have had, each with a guessed nonce; and a
    // result straight onto the run's results subject.
    let js = async_nats::jetstream::new(client.clone());
    let jobs_subject = format!("weir.pool.stray.jobs.{run}");
    let stray = |job: u64, id: Option<String>| {
        let mut h = HeaderMap::new();
        h.insert("Weir-Job", job.to_string());
        h.insert("Weir-Run", run.as_str());
        h.insert("Weir-Nonce", "0123456789abcdef");
        if let Some(id) = id {
            h.insert("Nats-Msg-Id", id);
        }
        h
    };
    let payload = |j: &Job| bytes::Bytes::from(serde_json::to_vec(j).unwrap());
    for (subject, headers, body) in [
        (
            jobs_subject.clone(),
            stray(1, None),
            bytes::Bytes::from("not json"),
        ),
        (jobs_subject.clone(), stray(2, None), payload(&job(999))),
        (
            jobs_subject.clone(),
            stray(3, Some(format!("{run}.3"))),
            payload(&job(998)),
        ),
        (
            format!("weir.pool.stray.results.{run}"),
            {
                let mut h = stray(4, Some(format!("{run}.4.r")));
                h.insert("Weir-Status", "ok");
                h
            },
            bytes::Bytes::from("7"),
        ),
    ] {
        js.publish_with_headers(subject, headers, body)
            .await
            .unwrap()
            .await
            .unwrap();
    }
    // The worker answered the three stray jobs (results of 0, 1, 2, 3, 4).
    let mut answered = 1;
    while answered < 5 {
        tokio::time::timeout(Duration::from_secs(30), results_seen.next())
            .await
            .unwrap_or_else(|_| panic!("hang guard: {answered} of 5 results seen"))
            .unwrap();
        answered += 1;
    }

    for n in 1..=4 {
        input.send(job(n)).await.unwrap();
    }
    drop(input);
    let mut rest = Vec::new();
    while let Some(r) = results.recv().await {
        rest.push(r);
    }
    rest.sort_by_key(|r| r.clone().unwrap_or(u64::MAX));
    assert_eq!(rest, [Ok(2), Ok(4), Ok(6), Ok(8)]);
    scope.wait().await.unwrap();
    eventually("the four strays counted", Duration::from_secs(5), || {
        probe.mismatched_results() == 4
    })
    .await;
}
