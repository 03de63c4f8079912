//! `stage::merge`: fan-in, Go's `fanIn`.

use std::time::Duration;

use proptest::prelude::*;
use weir_cancel::Context;
use weir_core::chan::{self, Receiver, TryRecvError};
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Error, Scope};

/// Merges `sizes.len()` generated inputs of `(input, seq)` items.
async fn run_merge(sizes: Vec<u32>, capacity: usize) -> Vec<(usize, u32)> {
    let scope = Scope::builder(&Context::background())
        .capacity(capacity)
        .build();
    let inputs: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| stage::generate(&scope, (0..size).map(move |seq| (i, seq))))
        .collect();
    let out = stage::collect::<_, Vec<_>>(&scope, stage::merge(&scope, inputs));
    scope.wait().await.unwrap();
    out.await.unwrap()
}

/// Every item of every input, each input's items in order.
fn check(sizes: &[u32], out: &[(usize, u32)]) -> Result<(), String> {
    for (i, &size) in sizes.iter().enumerate() {
        let seen: Vec<u32> = out
            .iter()
            .filter(|(from, _)| *from == i)
            .map(|&(_, s)| s)
            .collect();
        if seen != (0..size).collect::<Vec<_>>() {
            return Err(format!("input {i}: {seen:?}"));
        }
    }
    if out.len() != sizes.iter().map(|&s| s as usize).sum::<usize>() {
        return Err("extra items".into());
    }
    Ok(())
}

// Go: `fanIn` delivers every value of every channel; each channel's values
// in the order they were sent.
#[tokio::test]
async fn every_item_of_every_input_in_per_input_order() {
    let baseline = TaskBaseline::take();
    let sizes = vec![500, 0, 1_000, 3];
    let out = run_merge(sizes.clone(), 8).await;
    check(&sizes, &out).unwrap();
    baseline.assert_settled().await;
}

// Go: `fanIn`'s output is closed by `wg.Wait(); close(out)` — only after
// every input channel has closed.
#[tokio::test]
async fn the_output_closes_when_every_input_has_closed() {
    let scope = Scope::new(&Context::background());
    let (tx_a, rx_a) = chan::bounded(4);
    let (tx_b, rx_b) = chan::bounded(4);
    let out = stage::merge(&scope, [rx_a, rx_b]);
    tx_a.send(1).await.unwrap();
    drop(tx_a);
    assert_eq!(out.recv().await, Some(1));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(out.try_recv(), Err(TryRecvError::Empty), "b is still open");
    tx_b.send(2).await.unwrap();
    drop(tx_b);
    assert_eq!(out.recv().await, Some(2));
    assert_eq!(out.recv().await, None);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn no_inputs_gives_a_closed_output() {
    let scope = Scope::new(&Context::background());
    let out = stage::merge(&scope, Vec::<Receiver<u32>>::new());
    assert!(out.is_closed());
    assert_eq!(out.recv().await, None);
    scope.wait().await.unwrap();
}

// Go: a channel's blocked senders are served in FIFO order, so no `fanIn`
// goroutine starves another.
#[tokio::test]
async fn no_busy_input_starves_another() {
    let scope = Scope::builder(&Context::background()).capacity(4).build();
    let a = stage::generate(&scope, std::iter::repeat('a'));
    let b = stage::generate(&scope, std::iter::repeat('b'));
    let out = stage::merge(&scope, [a, b]);
    let mut seen = (0u32, 0u32);
    for _ in 0..2_000 {
        match out.recv().await {
            Some('a') => seen.0 += 1,
            Some(_) => seen.1 += 1,
            None => unreachable!(),
        }
    }
    // Turns: each input gets its share of every round.
    assert!(seen.0.abs_diff(seen.1) <= 64, "{seen:?}");
    drop(out);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn output_dropped_stops_every_input_even_while_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx_a, rx_a) = chan::bounded::<u32>(4);
    let (tx_b, rx_b) = chan::bounded::<u32>(4);
    let out = stage::merge(&scope, [rx_a, rx_b]);
    tx_a.send(1).await.unwrap();
    assert_eq!(out.recv().await, Some(1));
    drop(out);
    eventually("tx_a.is_closed() && tx_b.is_closed()", || {
        tx_a.is_closed() && tx_b.is_closed()
    })
    .await;
    scope.wait().await.unwrap();
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_while_blocked_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::builder(&Context::background()).capacity(2).build();
    let (tx_a, rx_a) = chan::bounded(16);
    let (tx_b, rx_b) = chan::bounded(16);
    tx_a.send_all((0..16u32).collect()).await.unwrap();
    tx_b.send_all((0..16u32).collect()).await.unwrap();
    let out = stage::merge(&scope, [rx_a, rx_b]);
    eventually("out.len() == 2", || out.len() == 2).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx_a.is_closed() && tx_b.is_closed(), "inputs dropped");
    assert!(out.is_closed());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_while_waiting_on_empty_inputs() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx_a, rx_a) = chan::bounded::<u32>(4);
    let (tx_b, rx_b) = chan::bounded::<u32>(4);
    let out = stage::merge(&scope.named("join"), [rx_a, rx_b]);
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx_a.is_closed() && tx_b.is_closed());
    assert_eq!(out.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test(start_paused = true)]
async fn a_lone_item_is_not_held_back() {
    let scope = Scope::new(&Context::background());
    let (tx_a, rx_a) = chan::bounded(4);
    let (_tx_b, rx_b) = chan::bounded(4);
    let out = stage::merge(&scope, [rx_a, rx_b]);
    tx_a.send(7u32).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(60), out.recv()).await;
    assert_eq!(got.expect("the item was held back"), Some(7));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn nothing_lost_and_per_input_order(
        sizes in prop::collection::vec(0u32..300, 0..6),
        capacity in 0usize..10,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let out = rt.block_on(run_merge(sizes.clone(), capacity));
        prop_assert_eq!(check(&sizes, &out), Ok(()));
    }
}
