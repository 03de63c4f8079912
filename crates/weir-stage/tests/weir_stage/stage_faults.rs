//! Faults at the edges of a scope: a consumer that stalls or is slow (the
//! memory held stays within the channel capacities), a branch of a split
//! that stops reading, and the runtime shut down under running stages (no
//! panic from any `Drop`).

use std::time::Duration;

use weir_cancel::Context;
use weir_stage::testing::{
    block_on_threads, probe_source, settle, within, Ledger, ProbeSink, Tracked,
};
use weir_stage::{self as stage, Scope};

/// How many items a stage takes from its input at once (the engine's one
/// batch size): a stage may hold one batch besides its channel.
use weir_stage::engine::BATCH;

/// Items alive anywhere in the pipeline (the ledger's live count).
fn alive(ledger: &Ledger) -> usize {
    ledger.accounting().live().len()
}

#[tokio::test]
async fn a_stalled_consumer_holds_the_pipeline_within_its_capacities() {
    const CAP: usize = 8;
    let ledger = Ledger::new();
    let scope = Scope::builder(&Context::background()).capacity(CAP).build();
    let nums = stage::generate(&scope, ledger.track_all(0..1_000_000u64));
    let doubled = stage::map(&scope, nums, |t: Tracked<u64>| t.map(|n| n * 2));
    let plus = stage::map(&scope, doubled, |t: Tracked<u64>| t.map(|n| n + 1));
    let sink = ProbeSink::new().held().spawn(plus);

    settle(1_000).await;
    // Three stages, each with at most one batch in hand and one channel
    // of `CAP` after it.
    let bound = 3 * (BATCH + CAP);
    let held = alive(&ledger);
    assert!(
        held > 0 && held <= bound,
        "{held} items alive, bound {bound}"
    );

    // It is a stall, not a deadlock: released, everything arrives in order.
    sink.release();
    let probed = within(Duration::from_secs(60), sink.finish())
        .await
        .unwrap();
    assert_eq!(probed.items.len(), 1_000_000);
    assert!(probed
        .items
        .iter()
        .enumerate()
        .all(|(i, t)| t.id() == i as u64 && **t == 2 * i as u64 + 1));
    drop(probed);
    scope.wait().await.unwrap();
    ledger.accounting().assert_exact();
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_paces_the_producer_without_buffering_more() {
    const CAP: usize = 4;
    let ledger = Ledger::new();
    let (source, probe) = probe_source(ledger.track_all(0..2_000u64));
    let scope = Scope::builder(&Context::background()).capacity(CAP).build();
    let nums = stage::generate(&scope, source);
    let squares = stage::map(&scope, nums, |t: Tracked<u64>| t.map(|n| n * n));
    let sink = ProbeSink::new()
        .delay(Duration::from_millis(1))
        .spawn(squares);

    let bound = 2 * (BATCH + CAP) + 1;
    let mut most = 0;
    while !probe.is_exhausted() {
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Everything pulled from the source and not yet received is held
        // by the pipeline.
        let in_flight = probe.pulled() - sink.received();
        most = most.max(in_flight);
        assert!(
            in_flight <= bound,
            "{in_flight} items in flight, bound {bound}"
        );
    }
    assert!(most > 0);
    let probed = sink.finish().await;
    assert_eq!(probed.items.len(), 2_000);
    drop(probed);
    scope.wait().await.unwrap();
    ledger.accounting().assert_exact();
}

#[tokio::test]
async fn a_balance_branch_that_stops_reading_leaves_the_work_to_the_others() {
    let ledger = Ledger::new();
    let scope = Scope::builder(&Context::background()).capacity(4).build();
    let nums = stage::generate(&scope, ledger.track_all(0..5_000u64));
    let mut branches = stage::balance(&scope, nums, 3).unwrap().into_iter();
    let stalled = ProbeSink::new().held().spawn(branches.next().unwrap());
    let busy: Vec<_> = branches.map(|b| ProbeSink::new().spawn(b)).collect();

    // The other branches finish the input while one never reads: nothing
    // waits for it (balance's branches share one channel).
    let mut got = 0;
    for sink in busy {
        got += within(Duration::from_secs(60), sink.finish())
            .await
            .unwrap()
            .items
            .len();
    }
    let stalled = stalled.finish().await;
    assert_eq!(got + stalled.items.len(), 5_000);
    drop(stalled);
    scope.wait().await.unwrap();
    ledger.accounting().assert_exact();
}

#[tokio::test]
async fn a_broadcast_branch_that_stops_reading_stalls_all_within_bounds_until_released() {
    const CAP: usize = 4;
    let scope = Scope::builder(&Context::background()).capacity(CAP).build();
    let (source, probe) = probe_source(0..10_000u64);
    let nums = stage::generate(&scope, source);
    let mut branches = stage::broadcast(&scope, nums, 2).unwrap().into_iter();
    let stalled = ProbeSink::new().held().spawn(branches.next().unwrap());
    let reader = ProbeSink::new().spawn(branches.next().unwrap());

    settle(1_000).await;
    // Documented: the slowest branch sets the pace. The reader got no
    // further than what the stalled branch's channel and the stages hold.
    let bound = 2 * (BATCH + CAP);
    assert!(probe.pulled() <= bound + BATCH, "pulled {}", probe.pulled());
    assert!(reader.received() <= bound, "received {}", reader.received());

    stalled.release();
    let (a, b) = (stalled.finish().await, reader.finish().await);
    assert_eq!(a.items, (0..10_000).collect::<Vec<_>>());
    assert_eq!(b.items, a.items);
    scope.wait().await.unwrap();
}

/// Shutting the runtime down drops every task's future where it stands;
/// the scope, the channels and the items are then dropped outside any
/// runtime. None of their `Drop`s may panic, and every item is released.
#[test]
fn the_runtime_shut_down_under_running_stages_panics_nowhere() {
    for shutdown in ["drop", "shutdown_timeout", "shutdown_background"] {
        let ledger = Ledger::new();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (scope, sink) = runtime.block_on(async {
            let scope = Scope::builder(&Context::background()).capacity(8).build();
            let nums = stage::generate(&scope, ledger.track_all(0..u64::MAX));
            let squares = stage::map(&scope, nums, |t: Tracked<u64>| t.map(|n| n.wrapping_mul(n)));
            let mut split = stage::balance(&scope, squares, 2).unwrap();
            let merged = stage::merge(&scope, std::mem::take(&mut split));
            let sink = ProbeSink::new().spawn(merged);
            // Let it run for a while, then stall the sink: every stage is
            // alive, blocked or running, when the runtime goes.
            while sink.received() < 100 {
                tokio::task::yield_now().await;
            }
            sink.hold();
            (scope, sink)
        });
        match shutdown {
            "drop" => drop(runtime),
            "shutdown_timeout" => runtime.shutdown_timeout(Duration::from_secs(10)),
            _ => runtime.shutdown_background(),
        }
        // Outside any runtime now.
        drop(sink);
        drop(scope);
        if shutdown != "shutdown_background" {
            ledger.accounting().assert_exact();
        }
    }
}

/// The same for a scope that is being waited on when the runtime goes.
#[test]
fn a_wait_in_progress_when_the_runtime_shuts_down_panics_nowhere() {
    let ledger = Ledger::new();
    let books = ledger.clone();
    block_on_threads(2, async move {
        let scope = Scope::new(&Context::background());
        let nums = stage::generate(&scope, ledger.track_all(0..u64::MAX));
        let _sum = stage::fold(&scope, nums, 0u64, |a, t| a.wrapping_add(*t));
        let waiting = tokio::spawn(async move { scope.wait().await });
        settle(100).await;
        // Returning from block_on drops the runtime with `waiting` still
        // pending: the scope is dropped inside the shutdown.
        drop(waiting);
    });
    books.accounting().assert_exact();
}

/// A stage's failure cancels the scope with itself as the cause: a stage
/// still running sees why it is being stopped (it used to see a bare
/// "context canceled").
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_cancel_after_a_failure_carries_it_as_its_cause() {
    let scope = Scope::new(&weir_cancel::Context::background());
    let ctx = scope.context().clone();
    let nums = stage::generate(&scope, 0..10u32);
    let parsed = stage::try_map(&scope.named("parse"), nums, |n: u32| {
        if n == 3 {
            Err("three is not allowed")
        } else {
            Ok(n)
        }
    });
    let _sink = stage::for_each(&scope, parsed, drop);
    let err = scope.wait().await.unwrap_err();
    assert_eq!(err.stage(), Some("parse"));
    let cause = ctx.cause().expect("the scope was cancelled");
    let failure = cause
        .downcast_ref::<stage::Error>()
        .expect("the cause is the stage's error");
    assert_eq!(failure.stage(), Some("parse"));
    let why = std::error::Error::source(failure).unwrap().to_string();
    assert_eq!(why, "three is not allowed");
}
