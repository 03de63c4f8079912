//! Property: a pipeline computes what the plain sequential loop computes.
//!
//! Random chains of `map`/`filter`/`square`, optionally with a
//! `worker_pool` or a `fan_out` (itself running a random chain) in the
//! middle, random channel capacities (0 = rendezvous) and random inputs:
//! the output is the same multiset as the sequential reference, and the
//! same sequence when nothing in the chain reorders.

use std::num::Wrapping;

use proptest::prelude::*;
use weir::cancel::Context;
use weir::pipeline::{Flow, Pipeline};

type Item = Wrapping<u64>;

#[derive(Debug, Clone)]
enum Op {
    Map(u64),
    Filter(u64),
    Square,
}

impl Op {
    fn apply(&self, items: Vec<Item>) -> Vec<Item> {
        match *self {
            Op::Map(k) => items.into_iter().map(|n| mix(n, k)).collect(),
            Op::Filter(m) => items.into_iter().filter(|n| keep(*n, m)).collect(),
            Op::Square => items.into_iter().map(|n| n * n).collect(),
        }
    }

    fn add(&self, flow: Flow<Item>) -> Flow<Item> {
        match *self {
            Op::Map(k) => flow.map(move |n| mix(n, k)),
            Op::Filter(m) => flow.filter(move |n| keep(*n, m)),
            Op::Square => flow.square(),
        }
    }
}

fn mix(n: Item, k: u64) -> Item {
    n * Wrapping(3) + Wrapping(k)
}

fn keep(n: Item, m: u64) -> bool {
    n.0 % m != 0
}

#[derive(Debug, Clone)]
enum Middle {
    None,
    WorkerPool(usize),
    FanOut(usize, Vec<Op>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..100u64).prop_map(Op::Map),
        (2..6u64).prop_map(Op::Filter),
        Just(Op::Square),
    ]
}

fn middle() -> impl Strategy<Value = Middle> {
    prop_oneof![
        Just(Middle::None),
        (1..5usize).prop_map(Middle::WorkerPool),
        (1..4usize, prop::collection::vec(op(), 0..3)).prop_map(|(n, ops)| Middle::FanOut(n, ops)),
    ]
}

fn reference(input: &[u64], before: &[Op], middle: &Middle, after: &[Op]) -> Vec<Item> {
    let mut items: Vec<Item> = input.iter().copied().map(Wrapping).collect();
    for op in before {
        items = op.apply(items);
    }
    match middle {
        Middle::None => {}
        Middle::WorkerPool(_) => items = items.into_iter().map(|n| n + Wrapping(1)).collect(),
        Middle::FanOut(_, ops) => {
            for op in ops {
                items = op.apply(items);
            }
        }
    }
    for op in after {
        items = op.apply(items);
    }
    items
}

fn run(
    input: Vec<u64>,
    capacity: usize,
    before: &[Op],
    middle: &Middle,
    after: &[Op],
) -> Vec<Item> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async move {
        let p = Pipeline::with_capacity(&Context::background(), capacity);
        let mut flow = p.source(input.into_iter().map(Wrapping));
        for op in before {
            flow = op.add(flow);
        }
        flow = match middle.clone() {
            Middle::None => flow,
            Middle::WorkerPool(n) => flow.worker_pool(n, |item| async move {
                tokio::task::yield_now().await;
                Ok::<_, std::io::Error>(item + Wrapping(1))
            }),
            Middle::FanOut(n, ops) => flow.fan_out(n, move |mut branch| {
                for op in &ops {
                    branch = op.add(branch);
                }
                branch
            }),
        };
        for op in after {
            flow = op.add(flow);
        }
        flow.collect::<Vec<_>>().await.unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_pipeline_computes_the_sequential_result(
        input in prop::collection::vec(0..1_000u64, 0..1_500),
        capacity in 0..8usize,
        before in prop::collection::vec(op(), 0..4),
        middle in middle(),
        after in prop::collection::vec(op(), 0..4),
    ) {
        let expected = reference(&input, &before, &middle, &after);
        let mut got = run(input, capacity, &before, &middle, &after);
        if matches!(middle, Middle::None) {
            // Fused stages keep order.
            prop_assert_eq!(got, expected);
        } else {
            let mut expected = expected;
            got.sort_unstable();
            expected.sort_unstable();
            prop_assert_eq!(got, expected);
        }
    }
}
