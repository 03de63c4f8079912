//! A property test of `chan::Select` (the engine under `chan::select!`):
//! random programs of selects over channels of mixed capacities, run
//! against a sequential model. Every select fires exactly one case, one
//! the model says was ready (or `default` when none was); a receive gets
//! the model's oldest item (FIFO per channel); at the end every channel
//! drains exactly the model's items: nothing lost or duplicated.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use weir_core::chan::{self, Receiver, Select, Sender};

#[derive(Clone, Debug)]
enum Case {
    Recv(usize),
    Send(usize),
}

#[derive(Clone, Debug)]
enum Op {
    /// A select over these cases; `wait`: without `default` (then only run
    /// when the model has a ready case, polled once: it must be ready).
    Select(Vec<Case>, bool),
    Close(usize),
}

/// One channel of the model: capacity (`None`: unbounded, `Some(0)`:
/// rendezvous), buffered items, closed.
struct Model {
    cap: Option<usize>,
    items: VecDeque<u32>,
    closed: bool,
}

impl Model {
    fn recv_ready(&self) -> bool {
        !self.items.is_empty() || self.closed
    }
    fn send_ready(&self) -> bool {
        // Nobody else runs: a rendezvous send has no receive to meet.
        self.closed || self.cap.is_none_or(|c| self.items.len() < c)
    }
}

fn caps() -> impl Strategy<Value = Vec<Option<usize>>> {
    prop::collection::vec(
        prop_oneof![Just(Some(0)), (1usize..4).prop_map(Some), Just(None)],
        1..4,
    )
}

fn program(n: usize) -> impl Strategy<Value = Vec<Op>> {
    let case = prop_oneof![(0..n).prop_map(Case::Recv), (0..n).prop_map(Case::Send)];
    let op = prop_oneof![
        10 => (prop::collection::vec(case, 0..5), any::<bool>()).prop_map(|(c, w)| Op::Select(c, w)),
        1 => (0..n).prop_map(Op::Close),
    ];
    prop::collection::vec(op, 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn selects_follow_the_sequential_model(
        (caps, ops) in caps().prop_flat_map(|caps| {
            let n = caps.len();
            (Just(caps), program(n))
        })
    ) {
        let chans: Vec<(Sender<u32>, Receiver<u32>)> = caps
            .iter()
            .map(|&c| match c {
                None => chan::unbounded(),
                Some(c) => chan::bounded(c),
            })
            .collect();
        let mut model: Vec<Model> = caps
            .iter()
            .map(|&cap| Model { cap, items: VecDeque::new(), closed: false })
            .collect();
        let mut next = 0u32;
        for op in ops {
            match op {
                Op::Close(k) => {
                    chans[k].0.close();
                    model[k].closed = true;
                }
                Op::Select(cases, wait) => {
                    let ready: Vec<bool> = cases
                        .iter()
                        .map(|c| match *c {
                            Case::Recv(k) => model[k].recv_ready(),
                            Case::Send(k) => model[k].send_ready(),
                        })
                        .collect();
                    let any_ready = ready.iter().any(|&r| r);
                    let mut sel = Select::new();
                    let mut values = Vec::new();
                    for c in &cases {
                        match *c {
                            Case::Recv(k) => { sel.recv(&chans[k].1); values.push(None); }
                            Case::Send(k) => {
                                sel.send(&chans[k].0, next);
                                values.push(Some(next));
                                next += 1;
                            }
                        }
                    }
                    let done = if wait && any_ready {
                        let mut fut = pin!(sel.select());
                        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                            Poll::Ready(done) => Some(done),
                            Poll::Pending => panic!("a ready case did not fire: {cases:?}"),
                        }
                    } else {
                        sel.try_select()
                    };
                    let Some(done) = done else {
                        prop_assert!(!any_ready, "default fired with a ready case: {cases:?}");
                        continue;
                    };
                    let i = done.index();
                    prop_assert!(ready[i], "case {i} of {cases:?} fired but was not ready");
                    match cases[i] {
                        Case::Recv(k) => {
                            let got = done.recv(&chans[k].1);
                            prop_assert_eq!(got, model[k].items.pop_front(), "FIFO on channel {}", k);
                        }
                        Case::Send(k) => {
                            let item = values[i].unwrap();
                            let r = done.send(&chans[k].0);
                            if model[k].closed {
                                prop_assert_eq!(r.map_err(|e| e.into_inner()), Err(item));
                            } else {
                                prop_assert_eq!(r, Ok(()));
                                model[k].items.push_back(item);
                            }
                        }
                    }
                }
            }
        }
        // Nothing lost or duplicated: each channel drains the model's items.
        for (k, (tx, rx)) in chans.iter().enumerate() {
            tx.close();
            let rest: Vec<u32> = rx.try_iter().collect();
            prop_assert_eq!(rest, Vec::from(std::mem::take(&mut model[k].items)));
        }
    }
}
