//! `conflate`, `debounce` and `sample`: rate shaping, on a paused clock
//! where time matters.

use std::time::Duration;

use proptest::prelude::*;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, ConfigError, Scope};

const MS: Duration = Duration::from_millis(1);

/// Sends each `(at, item)` at `at` ms after the start (times ascending),
/// then closes the channel at `end` ms.
fn feed(items: Vec<(u64, u32)>, end: u64) -> chan::Receiver<u32> {
    let (tx, rx) = chan::bounded(1024);
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        for (at, item) in items {
            tokio::time::sleep_until(start + Duration::from_millis(at)).await;
            tx.send(item).await.unwrap();
        }
        tokio::time::sleep_until(start + Duration::from_millis(end)).await;
    });
    rx
}

/// Receives everything with the time it arrived, in ms since the start.
async fn arrivals(rx: chan::Receiver<u32>) -> Vec<(u64, u32)> {
    let start = tokio::time::Instant::now();
    let mut got = Vec::new();
    while let Some(item) = rx.recv().await {
        got.push((start.elapsed().as_millis() as u64, item));
    }
    got
}

#[tokio::test(start_paused = true)]
async fn debounce_sends_the_last_of_each_burst_after_the_quiet_time() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    // Bursts: 1-3 (10 ms apart), 4 alone, 5-6; the input ends at 500 ms.
    let items = vec![(0, 1), (10, 2), (20, 3), (200, 4), (400, 5), (420, 6)];
    let out = stage::debounce(&scope.named("quiet"), feed(items, 440), 50 * MS).unwrap();
    let got = arrivals(out).await;
    // 3 after its 50 ms of quiet, 4 likewise, and 6 when the input ends
    // at 440 ms (nothing newer can come), before its quiet time is up.
    assert_eq!(got, [(70, 3), (250, 4), (440, 6)]);
    assert_eq!(stats.stage("quiet").unwrap().dropped, 3);
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn debounce_waits_for_a_quiet_input_however_long_the_burst() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let out = stage::debounce(&scope, rx, 30 * MS).unwrap();
    for n in 0..100u32 {
        tx.send(n).await.unwrap();
        tokio::time::sleep(20 * MS).await; // always sooner than 30 ms
        assert!(out.try_recv().is_err(), "nothing while the burst lasts");
    }
    tokio::time::sleep(10 * MS).await; // 30 ms after the last item
    assert_eq!(out.recv().await, Some(99));
}

#[tokio::test(start_paused = true)]
async fn sample_sends_the_latest_item_once_per_period() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    // Items every 30 ms from 5 to 305 ms, nothing until 710 ms, one more
    // at 710 ms, then the input ends at 760 ms.
    let mut items: Vec<(u64, u32)> = (0..11).map(|i| (5 + i * 30, i as u32)).collect();
    items.push((710, 99));
    let out = stage::sample(&scope.named("pace"), feed(items, 760), 100 * MS).unwrap();
    let got = arrivals(out).await;
    // Periods end at 100, 200, 300, 400 (nothing), … 700 (nothing), then
    // 99 when the input ends.
    assert_eq!(got, [(100, 3), (200, 6), (300, 9), (400, 10), (760, 99)]);
    // 0..=10 and 99: 12 in, 5 out.
    assert_eq!(stats.stage("pace").unwrap().dropped, 7);
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn zero_durations_are_config_errors() {
    let scope = Scope::new(&Context::background());
    let (_tx, rx) = chan::bounded::<u32>(1);
    let err = stage::debounce(&scope.named("d"), rx.clone(), Duration::ZERO).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { stage, .. } if &*stage == "d"));
    let err = stage::sample(&scope.named("s"), rx, Duration::ZERO).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { stage, .. } if &*stage == "s"));
}

/// A consumer that never reads: the producer is never held up (it sends
/// 10,000 items through a conflate whose output holds 1), and the
/// summaries, read at the end, add up to everything that was sent.
#[tokio::test(start_paused = true)]
async fn conflate_never_holds_the_producer_up() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let (tx, rx) = chan::bounded(4);
    let sums = stage::conflate(
        &scope.named("sum").with_capacity(1),
        rx,
        u64::from,
        |s, n| s + u64::from(n),
    );
    let produce = async move {
        for n in 1..=10_000u32 {
            tx.send(n).await.unwrap();
        }
    };
    // Had the stage waited for its consumer, the producer would be stuck.
    tokio::time::timeout(Duration::from_secs(1), produce)
        .await
        .expect("the producer was held up");
    let got = stage::collect::<_, Vec<u64>>(&scope, sums).await.unwrap();
    assert_eq!(got.iter().sum::<u64>(), 10_000 * 10_001 / 2);
    assert!(got.len() < 10_000, "the slow consumer saw merged summaries");
    let sum = stats.stage("sum").unwrap();
    assert_eq!(got.len() as u64 + sum.dropped, 10_000, "in = out + merged");
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the pace of the two sides, the summaries are runs of
    /// consecutive items, in order, covering the input exactly once.
    #[test]
    fn conflate_summarises_every_item_once_in_order(
        n in 1u32..1500, feed in 1usize..64, read in 1usize..8, cap in 1usize..4,
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let runs: Vec<Vec<u32>> = rt.block_on(async {
            let scope = Scope::new(&Context::background());
            let (tx, rx) = chan::bounded(feed);
            tokio::spawn(async move {
                let all: Vec<u32> = (0..n).collect();
                for chunk in all.chunks(feed) {
                    tx.send_all(chunk.to_vec()).await.unwrap();
                }
            });
            let out = stage::conflate(&scope.with_capacity(cap), rx, |x| vec![x], |mut v, x| {
                v.push(x);
                v
            });
            let mut got = Vec::new();
            while out.recv_many(&mut got, read).await > 0 {
                tokio::task::yield_now().await;
            }
            scope.wait().await.unwrap();
            got
        });
        let flat: Vec<u32> = runs.iter().flatten().copied().collect();
        prop_assert_eq!(flat, (0..n).collect::<Vec<_>>());
        prop_assert!(runs.iter().all(|r| !r.is_empty()));
    }
}
