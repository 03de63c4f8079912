//! Workload 11, windowed counts: `N` events over `K` keys, tumbling
//! windows of `W` events, a count per key per window — the "requests per
//! key per window" program of the operators issue.
//!
//! Arguments: `<n> <keys> <window>`. Event `i` (`0..n`) has the key
//! [`key(i, keys)`](key); every implementation folds each window into a
//! map of counts and sums [`window_check`] over the windows, so the
//! checksums agree only if every implementation cut the same windows.
//!
//! * `weir` — the builder as a user writes it: `source → window_fold(
//!   Tumbling::count(W), HashMap::new(), count) → fold(check)`.
//! * `tokio-mpsc` — the same program by hand on tokio + futures: a
//!   producer task sends each key on `tokio::sync::mpsc::channel(1024)`;
//!   one task counts into a `HashMap` and closes a window every `W`
//!   events.
//! * Go — `benches/go/windowed`, the same program with a goroutine and a
//!   `chan int` of 1024 and a `map[int]int`.
//!
//! ```text
//! compare --child windowed weir 1000000 1000 10000
//! compare --child windowed tokio-mpsc 1000000 1000 10000
//! ```

use std::collections::HashMap;
use std::time::Instant;

use weir::stage::Tumbling;

use crate::work::{runtime, CAP};
use crate::Outcome;

/// The key of event `i` among `keys` (a multiplicative hash, so keys
/// interleave; the Go program computes the same).
pub fn key(i: u64, keys: u64) -> u64 {
    (i.wrapping_mul(2_654_435_761) & 0xffff_ffff) % keys
}

/// A window's contribution to the checksum: `Σ (key + 1) · count²`
/// (order-free, and sensitive to where windows are cut).
pub fn window_check(counts: &HashMap<u64, u64>) -> u64 {
    counts.iter().fold(0u64, |acc, (&k, &c)| {
        acc.wrapping_add((k + 1).wrapping_mul(c).wrapping_mul(c))
    })
}

/// The checksum every implementation must produce, computed in a loop.
pub fn expected(n: u64, keys: u64, window: u64) -> u64 {
    let mut check = 0u64;
    let mut counts = HashMap::new();
    for i in 0..n {
        *counts.entry(key(i, keys)).or_insert(0) += 1;
        if (i + 1) % window == 0 {
            check = check.wrapping_add(window_check(&counts));
            counts.clear();
        }
    }
    check.wrapping_add(window_check(&counts))
}

/// weir's builder: `window_fold` over count windows, then a fold of the
/// windows' checks.
pub fn weir(n: u64, keys: u64, window: u64) -> Outcome {
    let size = usize::try_from(window).expect("window fits usize");
    runtime().block_on(async move {
        let t = Instant::now();
        let check = weir::pipeline::Pipeline::new(&weir::cancel::Context::background())
            .source((0..n).map(move |i| key(i, keys)))
            .window_fold(Tumbling::count(size), HashMap::new(), |mut counts, k| {
                *counts.entry(k).or_insert(0u64) += 1;
                counts
            })
            .fold(0u64, |check, w| check.wrapping_add(window_check(&w.value)))
            .await
            .expect("the pipeline runs");
        Outcome {
            elapsed: t.elapsed(),
            check,
            ..Outcome::default()
        }
    })
}

/// By hand on tokio: a producer task, `mpsc::channel(1024)`, and one task
/// counting into a `HashMap`.
pub fn tokio_mpsc(n: u64, keys: u64, window: u64) -> Outcome {
    runtime().block_on(async move {
        let t = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        tokio::spawn(async move {
            for i in 0..n {
                if tx.send(key(i, keys)).await.is_err() {
                    return;
                }
            }
        });
        let counter = tokio::spawn(async move {
            let mut counts: HashMap<u64, u64> = HashMap::new();
            let (mut seen, mut check) = (0u64, 0u64);
            while let Some(k) = rx.recv().await {
                *counts.entry(k).or_insert(0) += 1;
                seen += 1;
                if seen == window {
                    check = check.wrapping_add(window_check(&std::mem::take(&mut counts)));
                    seen = 0;
                }
            }
            check.wrapping_add(window_check(&counts))
        });
        let check = counter.await.expect("the counting task");
        Outcome {
            elapsed: t.elapsed(),
            check,
            ..Outcome::default()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implementation_agrees_with_the_loop() {
        let (n, keys, window) = (25_000, 100, 1000);
        let want = expected(n, keys, window);
        assert_eq!(weir(n, keys, window).check, want);
        assert_eq!(tokio_mpsc(n, keys, window).check, want);
    }

    #[test]
    fn keys_spread_over_the_range() {
        let seen: std::collections::HashSet<u64> = (0..10_000).map(|i| key(i, 1000)).collect();
        assert_eq!(seen.len(), 1000);
    }
}
