//! `group_by`: a sub-flow per key, merged; key limit, idle keys, and
//! "count per key per minute" with windows on a paused clock.

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use tokio::time::{timeout, Instant};
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::{self as stage, ConfigError, Error, Keys, Scope, TooManyKeys, Tumbling};

const SEC: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn counts_per_key_per_minute() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(64);
    let start = Instant::now();
    // Minute 0: a×3, b×1; minute 1: a×1, b×2. Each key's first item comes
    // at the minute's start, so each key's windows line up with minutes.
    let events = [
        (0, "a"),
        (0, "b"),
        (10, "a"),
        (59, "a"),
        (60, "a"),
        (60, "b"),
        (119, "b"),
    ];
    tokio::spawn(async move {
        for (at, key) in events {
            tokio::time::sleep_until(start + at * SEC).await;
            tx.send(key).await.unwrap();
        }
    });
    let counts = stage::group_by(
        &scope,
        rx,
        |k| *k,
        10,
        move |&key, events, scope| {
            let per_minute =
                stage::window_fold(scope, events, Tumbling::every(60 * SEC), 0u32, |n, _| n + 1)
                    .unwrap();
            stage::map(scope, per_minute, move |w| {
                let minute = (w.start - start).as_secs() / 60;
                (key, minute, w.value)
            })
        },
    )
    .unwrap();
    let mut all = stage::collect::<_, Vec<_>>(&scope, counts).await.unwrap();
    all.sort_unstable();
    assert_eq!(all, [("a", 0, 3), ("a", 1, 1), ("b", 0, 1), ("b", 1, 2)]);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn a_key_past_the_limit_fails_the_stage_by_name() {
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, [1, 2, 1, 2, 3]);
    let out = stage::group_by(&scope.named("keyed"), nums, |n| *n, 2, |_, rx, _| rx).unwrap();
    let _sink = stage::for_each(&scope, out, drop);
    match scope.wait().await {
        Err(Error::Failed { stage, source }) => {
            assert_eq!(&*stage, "keyed");
            assert_eq!(
                source.downcast_ref::<TooManyKeys>(),
                Some(&TooManyKeys { max_keys: 2 })
            );
        }
        other => panic!("unexpected: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_key_is_closed_which_flushes_its_window_and_frees_its_slot() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let keys = Keys::at_most(1).idle_after(10 * SEC);
    let out = stage::group_by(
        &scope,
        rx,
        |k: &&str| *k,
        keys,
        |&key, events, scope| {
            let hourly = stage::window(scope, events, Tumbling::every(3600 * SEC)).unwrap();
            stage::map(scope, hourly, move |w| (key, w.items.len()))
        },
    )
    .unwrap();
    tx.send("a").await.unwrap();
    tx.send("a").await.unwrap();
    // Nothing more for "a": after 10 s it is closed, and its hour-long
    // window goes out while the input is still open.
    assert_eq!(out.recv().await, Some(("a", 2)));
    // Its slot is free: a second key fits under a limit of one.
    tx.send("b").await.unwrap();
    drop(tx);
    assert_eq!(out.recv().await, Some(("b", 1)));
    assert_eq!(out.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_busy_key_is_not_closed() {
    let scope = Scope::new(&Context::background());
    let (tx, rx) = chan::bounded(8);
    let keys = Keys::at_most(4).idle_after(10 * SEC);
    let out = stage::group_by(
        &scope,
        rx,
        |_: &u32| 0,
        keys,
        |_, events, scope| stage::window(scope, events, Tumbling::every(3600 * SEC)).unwrap(),
    )
    .unwrap();
    for n in 0..5 {
        tx.send(n).await.unwrap();
        tokio::time::sleep(9 * SEC).await;
    }
    assert!(
        timeout(SEC / 2, out.recv()).await.is_err(),
        "the key was never idle for 10 s"
    );
    drop(tx);
    assert_eq!(out.recv().await.unwrap().items, [0, 1, 2, 3, 4]);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn bad_configuration_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let err = stage::group_by(
        &scope.named("g"),
        chan::bounded::<u8>(1).1,
        |n| *n,
        0,
        |_, rx, _| rx,
    )
    .map(drop)
    .unwrap_err();
    assert!(matches!(err, ConfigError::Zero { ref stage, what: "max_keys" } if &**stage == "g"));
    let keys = Keys::at_most(1).idle_after(Duration::ZERO);
    let err = stage::group_by(
        &scope,
        chan::bounded::<u8>(1).1,
        |n| *n,
        keys,
        |_, rx, _| rx,
    )
    .map(drop)
    .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { .. }));
    scope.wait().await.unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Through identity sub-flows, no item is lost or duplicated and
    /// each key's items keep their order.
    #[test]
    fn no_loss_no_duplication_order_per_key(input in prop::collection::vec((0u8..8, any::<u32>()), 0..400), cap in 0usize..4) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let got = rt.block_on(async {
            let scope = Scope::builder(&Context::background()).capacity(cap).build();
            let items = stage::generate(&scope, input.clone());
            let out = stage::group_by(&scope, items, |(k, _)| *k, 8, |_, rx, _| rx).unwrap();
            let all = stage::collect::<_, Vec<_>>(&scope, out);
            timeout(Duration::from_secs(60), scope.wait()).await.unwrap().unwrap();
            all.await.unwrap()
        });
        let per_key = |v: &[(u8, u32)]| {
            let mut m: HashMap<u8, Vec<u32>> = HashMap::new();
            for &(k, x) in v {
                m.entry(k).or_default().push(x);
            }
            m
        };
        prop_assert_eq!(got.len(), input.len());
        prop_assert_eq!(per_key(&got), per_key(&input));
    }
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_the_stage_and_every_sub_flow() {
    let baseline = weir_stage::testing::TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope, 0u64..);
    let out = stage::group_by(
        &scope,
        nums,
        |n| n % 5,
        5,
        |_, rx, scope| stage::window(scope, rx, Tumbling::every(3600 * SEC)).unwrap(),
    )
    .unwrap();
    let _sink = stage::for_each(&scope, out, drop);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    baseline.assert_settled().await;
}

/// A key whose sub-flow stops reading its input loses its later items,
/// and the stage counts each of them as `dropped`; other keys go on.
#[tokio::test]
async fn items_of_a_key_whose_sub_flow_stopped_reading_are_counted_as_dropped() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let view = scope.named("by_key");
    let events = stage::generate(&scope, ["a", "b", "a", "b", "a", "b", "a"]);
    let out = stage::group_by(
        &view,
        events,
        |k| *k,
        10,
        move |&key, items, _scope| {
            if key == "a" {
                // A sub-flow that never reads: its input is gone at once.
                drop(items);
                let (_tx, rx) = chan::bounded::<&str>(1);
                rx
            } else {
                items
            }
        },
    )
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out).await.unwrap();
    assert_eq!(all, ["b", "b", "b"]);
    scope.wait().await.unwrap();
    assert_eq!(stats.by_id(view.id()).unwrap().dropped, 4);
}
