//! The builder's overflow and rate-shaping stages: `buffer`.

use std::time::Duration;

use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Metrics, Pipeline, StageMetrics};
use weir::stage::{ConfigError, Error, Overflow};

const MS: Duration = Duration::from_millis(1);

fn stage(metrics: &Metrics, name: &str) -> StageMetrics {
    metrics
        .stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
        .clone()
}

/// Every edge balances: sent = received + queued.
fn balanced(metrics: &Metrics) {
    for e in &metrics.edges {
        assert_eq!(e.sent, e.received + e.len.unwrap_or(0) as u64, "{e:?}");
    }
}

#[tokio::test]
async fn a_backpressure_buffer_on_a_fused_chain_loses_nothing() {
    let p = Pipeline::new(&Context::background());
    let sum = p
        .source(1..=100_000u64)
        .map(|n| n * 2)
        .buffer(64, Overflow::Backpressure)
        .named("buf")
        .filter(|n| n % 3 != 0)
        .fold(0u64, |a, n| a + n)
        .await
        .unwrap();
    let want: u64 = (1..=100_000u64).map(|n| n * 2).filter(|n| n % 3 != 0).sum();
    assert_eq!(sum, want);
    let m = p.metrics();
    let buf = stage(&m, "buf");
    assert_eq!(
        (buf.items_in, buf.items_out, buf.dropped),
        (100_000, 100_000, 0)
    );
    balanced(&m);
    assert!(p
        .to_mermaid()
        .contains("buf<br/>buffer: in 100000 / out 100000"));
}

/// A slow async sink behind a buffer that keeps the newest items: what
/// reaches it is in order, ends with the newest item, and kept + dropped
/// is what came in; the metrics say so.
#[tokio::test(start_paused = true)]
async fn drop_oldest_before_a_slow_stage_counts_what_it_drops() {
    let p = Pipeline::new(&Context::background());
    let seen = p
        .source(0..5_000u32)
        .map(|n| n + 1)
        .buffer(8, Overflow::DropOldest)
        .named("latest")
        .then(|n| async move {
            tokio::time::sleep(MS).await;
            n
        })
        .named("slow")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "order kept");
    assert_eq!(seen.last(), Some(&5_000));
    let m = p.metrics();
    let latest = stage(&m, "latest");
    assert_eq!(latest.items_in, 5_000);
    assert!(latest.dropped > 0);
    assert_eq!(latest.items_out + latest.dropped, 5_000);
    assert_eq!(stage(&m, "slow").items_out, seen.len() as u64);
    balanced(&m);
    // Both graph exports and the table show what it dropped.
    let label = format!(
        "latest<br/>buffer: in 5000 / out {}<br/>dropped {}",
        latest.items_out, latest.dropped
    );
    assert!(p.to_mermaid().contains(&label), "{}", p.to_mermaid());
    let label = format!(
        "latest\\nbuffer: in 5000 / out {}\\ndropped {}",
        latest.items_out, latest.dropped
    );
    assert!(p.to_dot().contains(&label), "{}", p.to_dot());
    assert!(m.to_string().contains("dropped"), "{m}");
}

#[tokio::test]
async fn fail_ends_the_pipeline_naming_the_buffer() {
    let (tx, rx) = chan::bounded(100);
    tx.send_all((0..100u32).collect()).await.unwrap();
    drop(tx);
    let p = Pipeline::new(&Context::background());
    let (gate_tx, gate_rx) = chan::bounded::<()>(1);
    let err = p
        .from_receiver(rx)
        .buffer(4, Overflow::Fail)
        .named("ingest")
        .then(move |n| {
            let gate = gate_rx.clone();
            async move {
                gate.recv().await; // never opens: the consumer is stuck
                n
            }
        })
        .count()
        .await
        .unwrap_err();
    drop(gate_tx);
    assert_eq!(err.stage(), Some("ingest"));
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(
        source.to_string(),
        "buffer of 4 overflowed at stage `ingest`"
    );
    assert!(matches!(err, weir::Error::Stage(Error::Failed { .. })));
}

#[tokio::test]
async fn zero_capacity_is_a_config_error_before_anything_runs() {
    let err = Pipeline::new(&Context::background())
        .source(0..3)
        .buffer(0, Overflow::DropNewest)
        .named("buf")
        .count()
        .await
        .unwrap_err();
    assert_eq!(
        err.config(),
        Some(&ConfigError::Zero {
            stage: "buf".into(),
            what: "buffer capacity"
        })
    );
}

/// A graceful shutdown delivers what the buffer holds.
#[tokio::test(start_paused = true)]
async fn shutdown_flushes_the_buffer() {
    let (tx, rx) = chan::bounded(16);
    tx.send_all((0..10u32).collect()).await.unwrap(); // the producer stays open
    let p = Pipeline::new(&Context::background());
    let run = p
        .from_receiver(rx)
        .buffer(32, Overflow::DropOldest)
        .named("buf")
        .then(|n| async move {
            tokio::time::sleep(100 * MS).await;
            n
        })
        .collect::<Vec<_>>()
        .run();
    while stage(&p.metrics(), "buf").items_in < 10 {
        tokio::time::sleep(MS).await;
    }
    p.shutdown();
    let got = run.join().await.unwrap();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert!(p.cut_short());
    drop(tx);
}

#[tokio::test]
async fn zero_durations_are_config_errors_naming_the_stage() {
    let err = Pipeline::new(&Context::background())
        .source(0..3)
        .debounce(Duration::ZERO)
        .named("quiet")
        .count()
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("quiet"));
    assert!(err.config().is_some());
    let err = Pipeline::new(&Context::background())
        .source(0..3)
        .sample(Duration::ZERO)
        .named("pace")
        .count()
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("pace"));
    assert!(err.config().is_some());
}

/// A fast source sampled every 100 ms, then debounced: each stage's
/// `dropped` is what it took in minus what it sent, and every edge
/// balances.
#[tokio::test(start_paused = true)]
async fn shaping_stages_count_what_they_drop() {
    let ticks = futures::stream::unfold(0u32, |n| async move {
        tokio::time::sleep(7 * MS).await;
        (n < 300).then_some((n, n + 1))
    });
    let p = Pipeline::new(&Context::background());
    let got = p
        .from_stream(ticks)
        .sample(100 * MS)
        .named("pace")
        .conflate(
            |n| vec![n],
            |mut v, n| {
                v.push(n);
                v
            },
        )
        .named("merge")
        .collect::<Vec<_>>()
        .await
        .unwrap();
    let flat: Vec<u32> = got.into_iter().flatten().collect();
    assert!(flat.windows(2).all(|w| w[0] < w[1]), "order kept");
    assert_eq!(
        flat.last(),
        Some(&299),
        "the last item is flushed at the end"
    );
    let m = p.metrics();
    for name in ["pace", "merge"] {
        let s = stage(&m, name);
        assert_eq!(s.items_in, s.items_out + s.dropped, "{name}: {s:?}");
    }
    let pace = stage(&m, "pace");
    assert_eq!(pace.items_in, 300);
    assert!(pace.dropped > 250, "{pace:?}"); // ~21 periods for 300 items
    balanced(&m);
}

/// A graceful shutdown flushes what the shaping stages hold: the item a
/// debounce is still waiting on, and the summary a conflate has not sent.
#[tokio::test(start_paused = true)]
async fn shutdown_flushes_what_debounce_and_conflate_hold() {
    let (tx, rx) = chan::bounded(16);
    tx.send_all(vec![1u32, 2, 3]).await.unwrap(); // the producer stays open
    let p = Pipeline::new(&Context::background());
    let run = p
        .from_receiver(rx)
        .debounce(Duration::from_secs(3600))
        .named("quiet")
        .conflate(
            |n| vec![n],
            |mut v, n| {
                v.push(n);
                v
            },
        )
        .collect::<Vec<_>>()
        .run();
    while stage(&p.metrics(), "quiet").items_in < 3 {
        tokio::time::sleep(MS).await;
    }
    p.shutdown(); // long before the hour of quiet is up
    let got = run.join().await.unwrap();
    assert_eq!(got, [vec![3]]);
    assert!(p.cut_short());
    drop(tx);
}
