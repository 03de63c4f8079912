//! `window` and `window_fold`: tumbling, sliding and session windows by
//! processing time (paused clock) and by count.

use std::time::Duration;

use proptest::prelude::*;
use tokio::time::{timeout, Instant};
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::TaskBaseline;
use weir_stage::{self as stage, ConfigError, Scope, Session, Sliding, Tumbling, Window};

const MS: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Sends `items[i].1` at `items[i].0` ms after the start, then closes.
fn feed<T: Send + 'static>(items: Vec<(u64, T)>) -> chan::Receiver<T> {
    let (tx, rx) = chan::bounded(1024);
    let start = Instant::now();
    tokio::spawn(async move {
        for (at, item) in items {
            tokio::time::sleep_until(start + ms(at)).await;
            tx.send(item).await.unwrap();
        }
    });
    rx
}

fn items<T: Clone>(windows: &[Window<T>]) -> Vec<Vec<T>> {
    windows.iter().map(|w| w.items.clone()).collect()
}

#[tokio::test(start_paused = true)]
async fn tumbling_every_cuts_by_period_and_skips_empty_periods() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let start = Instant::now();
    let rx = feed(vec![(0, 'a'), (40, 'b'), (99, 'c'), (100, 'd'), (350, 'e')]);
    let windows = stage::window(&scope, rx, Tumbling::every(100 * MS)).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, windows);
    scope.wait().await.unwrap();
    let all = all.await.unwrap();
    assert_eq!(items(&all), [vec!['a', 'b', 'c'], vec!['d'], vec!['e']]);
    let bounds: Vec<_> = all
        .iter()
        .map(|w| (w.start - start, w.end - start))
        .collect();
    // The period 200–300 had no item: no window for it.
    assert_eq!(
        bounds,
        [
            (Duration::ZERO, 100 * MS),
            (100 * MS, 200 * MS),
            (300 * MS, 400 * MS)
        ]
    );
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn a_time_window_goes_out_at_its_end_while_the_input_is_open() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let windows = stage::window(&scope, rx, Tumbling::every(100 * MS)).unwrap();
    tx.send(1).await.unwrap();
    assert!(
        timeout(99 * MS, windows.recv()).await.is_err(),
        "not before its end"
    );
    let w = windows.recv().await.unwrap();
    assert_eq!(w.items, [1]);
    assert!(!tx.is_closed(), "the input is still open");
    drop(tx);
    assert_eq!(windows.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn count_windows_carry_arrival_times_and_flush_the_rest() {
    let scope = Scope::new(&Context::background());
    let start = Instant::now();
    let rx = feed(vec![(0, 1), (10, 2), (20, 3), (30, 4), (45, 5)]);
    let windows = stage::window(&scope, rx, Tumbling::count(2)).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, windows).await.unwrap();
    assert_eq!(items(&all), [vec![1, 2], vec![3, 4], vec![5]]);
    let bounds: Vec<_> = all
        .iter()
        .map(|w| (w.start - start, w.end - start))
        .collect();
    assert_eq!(
        bounds,
        [
            (Duration::ZERO, 10 * MS),
            (20 * MS, 30 * MS),
            (45 * MS, 45 * MS)
        ]
    );
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn sessions_end_after_a_quiet_gap() {
    let scope = Scope::new(&Context::background());
    let start = Instant::now();
    let rx = feed(vec![(0, 'a'), (20, 'b'), (49, 'c'), (100, 'd'), (129, 'e')]);
    let windows = stage::window(&scope, rx, Session { gap: 30 * MS }).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, windows).await.unwrap();
    assert_eq!(items(&all), [vec!['a', 'b', 'c'], vec!['d', 'e']]);
    let bounds: Vec<_> = all
        .iter()
        .map(|w| (w.start - start, w.end - start))
        .collect();
    assert_eq!(bounds, [(Duration::ZERO, 79 * MS), (100 * MS, 159 * MS)]);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn sliding_windows_overlap_and_go_out_in_order() {
    let scope = Scope::new(&Context::background());
    let start = Instant::now();
    let rx = feed(vec![(5, 1), (15, 2), (35, 3)]);
    let spec = Sliding {
        size: 20 * MS,
        step: 10 * MS,
    };
    let windows = stage::window(&scope, rx, spec).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, windows).await.unwrap();
    let got: Vec<_> = all
        .iter()
        .map(|w| {
            let from = i64::try_from((w.start - start).as_millis()).unwrap();
            // Windows before the start: [-10, 10) holds the first item.
            let from = if w.start < start { -10 } else { from };
            (from, w.items.clone())
        })
        .collect();
    assert_eq!(
        got,
        [
            (-10, vec![1]),
            (0, vec![1, 2]),
            (10, vec![2]),
            (20, vec![3]),
            (30, vec![3])
        ]
    );
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn window_fold_folds_each_window_without_keeping_items() {
    let scope = Scope::new(&Context::background());
    let rx = feed(vec![(0, 1u64), (10, 2), (150, 3), (160, 4), (170, 5)]);
    let sums = stage::window_fold(&scope, rx, Tumbling::every(100 * MS), 0, |a, n| a + n).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, sums).await.unwrap();
    assert_eq!(all.iter().map(|w| w.value).collect::<Vec<_>>(), [3, 12]);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_the_open_window() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0u64..);
    let windows = stage::window(&scope, nums, Tumbling::every(Duration::from_secs(3600))).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, windows);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    scope.shutdown().await.unwrap();
    let all = all.await.unwrap();
    assert_eq!(all.len(), 1, "the hour-long window went out at shutdown");
    let n = all[0].items.len() as u64;
    assert!(n > 0);
    assert_eq!(all[0].items, (0..n).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn a_dropped_output_stops_the_stage_and_its_input() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded::<u32>(8);
    let windows = stage::window(&scope, rx, Session { gap: 10 * MS }).unwrap();
    tx.send(1).await.unwrap();
    drop(windows);
    tx.closed().await; // the stage dropped its input
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn bad_specs_are_config_errors_naming_the_stage() {
    let scope = Scope::new(&Context::background());
    let cases: Vec<Result<_, ConfigError>> = vec![
        stage::window(
            &scope.named("w"),
            chan::bounded::<u8>(1).1,
            Tumbling::count(0),
        ),
        stage::window(
            &scope.named("w"),
            chan::bounded(1).1,
            Tumbling::every(Duration::ZERO),
        ),
        stage::window(
            &scope.named("w"),
            chan::bounded(1).1,
            Session {
                gap: Duration::ZERO,
            },
        ),
        stage::window(
            &scope.named("w"),
            chan::bounded(1).1,
            Sliding {
                size: MS,
                step: 2 * MS,
            },
        ),
    ];
    for case in cases {
        let err = case.map(drop).unwrap_err();
        assert!(err.to_string().starts_with("stage `w`: "), "{err}");
    }
    let err = stage::window_fold(
        &scope,
        chan::bounded::<u8>(1).1,
        Tumbling::count(0),
        0,
        |a, _| a,
    )
    .map(drop)
    .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { ref stage, .. } if &**stage == "window_fold"));
    scope.wait().await.unwrap();
}

/// Runs `case` on a current-thread runtime with a paused clock.
fn paused<F: std::future::Future>(case: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(case)
}

/// Arrival offsets in ms, non-decreasing, with their index as the item.
fn arrivals() -> impl Strategy<Value = Vec<(u64, usize)>> {
    prop::collection::vec(0u64..40, 0..200).prop_map(|gaps| {
        let mut at = 0;
        gaps.into_iter()
            .enumerate()
            .map(|(i, gap)| {
                at += gap;
                (at, i)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every item is in exactly one tumbling window, in input order, and
    /// inside the window's bounds.
    #[test]
    fn tumbling_every_item_once_in_order(input in arrivals(), period in 1u64..100) {
        let n = input.len();
        let (all, start) = paused(async move {
            let scope = Scope::new(&Context::background());
            let start = Instant::now();
            let windows = stage::window(&scope, feed(input.clone()), Tumbling::every(ms(period))).unwrap();
            let all = stage::collect::<_, Vec<_>>(&scope, windows).await.unwrap();
            scope.wait().await.unwrap();
            (all.into_iter().map(|w| (w.start - start, w.end - start, w.items.iter().map(|&i| (input[i].0, i)).collect::<Vec<_>>())).collect::<Vec<_>>(), start)
        });
        let _ = start;
        let flat: Vec<usize> = all.iter().flat_map(|(_, _, items)| items.iter().map(|&(_, i)| i)).collect();
        prop_assert_eq!(flat, (0..n).collect::<Vec<_>>());
        for (from, to, items) in &all {
            prop_assert!(!items.is_empty());
            prop_assert_eq!(*to - *from, ms(period));
            for &(at, _) in items {
                prop_assert!(*from <= ms(at) && ms(at) < *to);
            }
        }
    }

    /// Count windows hold `n` items each but the last, all in order.
    #[test]
    fn tumbling_count_item_once_in_order(input in arrivals(), size in 1usize..20) {
        let len = input.len();
        let all = paused(async move {
            let scope = Scope::new(&Context::background());
            let windows = stage::window(&scope, feed(input), Tumbling::count(size)).unwrap();
            stage::collect::<_, Vec<_>>(&scope, windows).await.unwrap()
        });
        let flat: Vec<usize> = all.iter().flat_map(|w| w.items.clone()).collect();
        prop_assert_eq!(flat, (0..len).collect::<Vec<_>>());
        if let Some((last, full)) = all.split_last() {
            prop_assert!(full.iter().all(|w| w.items.len() == size));
            prop_assert!(!last.items.is_empty() && last.items.len() <= size);
        }
    }

    /// With `size = k * step`, every item is in exactly `k` sliding
    /// windows, each of which holds its arrival time; items keep order
    /// within a window.
    #[test]
    fn sliding_each_item_in_size_over_step_windows(input in arrivals(), step in 1u64..50, k in 1u64..5) {
        let n = input.len();
        let times: Vec<u64> = input.iter().map(|&(at, _)| at).collect();
        let all = paused(async move {
            let scope = Scope::new(&Context::background());
            let start = Instant::now();
            let spec = Sliding { size: ms(k * step), step: ms(step) };
            let windows = stage::window(&scope, feed(input), spec).unwrap();
            let all = stage::collect::<_, Vec<_>>(&scope, windows).await.unwrap();
            // Offsets from the start in ms, possibly negative.
            let ms = |at: Instant| -> i128 {
                if at >= start { (at - start).as_millis() as i128 } else { -((start - at).as_millis() as i128) }
            };
            all.into_iter().map(|w| (ms(w.start), ms(w.end), w.items)).collect::<Vec<_>>()
        });
        let mut seen = vec![0u64; n];
        for (from, to, items) in &all {
            prop_assert_eq!(to - from, i128::from(k * step));
            prop_assert!(items.windows(2).all(|p| p[0] < p[1]));
            for &i in items {
                seen[i] += 1;
                let at = i128::from(times[i]);
                prop_assert!(*from <= at && at < *to);
            }
        }
        prop_assert!(seen.iter().all(|&c| c == k), "{:?}", seen);
    }
}
