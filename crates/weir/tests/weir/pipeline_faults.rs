//! Fault injection over random graphs: a panic, an error or a cancel at a
//! random item of a random stage (source, fused stages, worker pool,
//! `map_concurrent`, fan-out branches, balance / partition branches, sink),
//! or a cancel / a dropped pipeline at a random moment from outside.
//!
//! Every run is checked against the promises (`support::check`): no task
//! left behind, every item released exactly once (the ledger), nothing
//! delivered that the sequential reference doesn't produce, order kept
//! where promised, `Ok` only with the whole output, and the fault reported
//! as the right error naming a stage.

use crate::support;

use std::time::Duration;

use proptest::prelude::*;
use support::{Action, Fault, Middle, Op, Site, Spec};
use weir::testing::block_on_threads;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..100u64).prop_map(Op::Map),
        (2..6u64).prop_map(Op::Filter),
        (0..100u64).prop_map(Op::TryMap),
        Just(Op::Inspect),
    ]
}

fn middle() -> impl Strategy<Value = Middle> {
    prop_oneof![
        Just(Middle::None),
        (1..5usize).prop_map(Middle::WorkerPool),
        (1..5usize).prop_map(Middle::MapConcurrent),
        (1..4usize).prop_map(Middle::FanOut),
        (1..4usize).prop_map(Middle::Balance),
        (1..4usize).prop_map(Middle::Partition),
    ]
}

fn fault() -> impl Strategy<Value = Option<Fault>> {
    let site = prop_oneof![
        Just(Site::Source),
        (0..4usize).prop_map(Site::Before),
        Just(Site::Middle),
        (0..4usize).prop_map(Site::After),
        Just(Site::Sink),
    ];
    let action = prop_oneof![
        Just(Action::Panic),
        Just(Action::Error),
        Just(Action::Cancel),
        Just(Action::CancelFromOutside),
        Just(Action::DropHandle),
    ];
    prop::option::weighted(0.9, (site, action, 0..300usize))
        .prop_map(|f| f.map(|(site, action, at)| Fault { site, action, at }))
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..600u64,
        0..6usize,
        prop::collection::vec(op(), 0..4),
        middle(),
        prop::collection::vec(op(), 0..4),
        fault(),
    )
        .prop_map(|(input, capacity, before, middle, after, fault)| {
            Spec {
                input,
                capacity,
                before,
                middle,
                after,
                fault,
            }
            .normalized()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_fault_keeps_the_promises(spec in spec()) {
        support::quiet_injected_panics();
        let out = block_on_threads(2, support::run(&spec, Duration::from_secs(30)));
        if let Err(broken) = support::check(&spec, &out) {
            return Err(TestCaseError::fail(broken));
        }
    }
}

/// The checker itself: a run that loses an item must fail it (the positive
/// control for `every_fault_keeps_the_promises`).
#[test]
fn the_checker_notices_a_lost_item() {
    let spec = Spec {
        input: 10,
        capacity: 2,
        before: vec![],
        middle: Middle::None,
        after: vec![],
        fault: None,
    };
    let mut out = block_on_threads(2, support::run(&spec, Duration::from_secs(30)));
    assert_eq!(support::check(&spec, &out), Ok(()));
    out.delivered.pop();
    assert!(support::check(&spec, &out).is_err());
}
