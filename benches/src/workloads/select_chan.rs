//! Workload 10, the select loop, on weir's own `chan::select!`.
//!
//! The shape is exactly [`super::select`]'s (same producers, same `done`,
//! same drain), with the consumer's loop written as Go's `select`:
//! `chan::select! { v = recv(&a) => …, v = recv(&b) => …, _ = recv(&done) => … }`,
//! an async expression that awaits inside, uniform random choice among
//! ready cases (no `biased;`).

use weir_core::chan;

use super::handpipe::{measure, Flavor, WORKERS};
use super::select::halves;
use crate::Outcome;

/// `chan::select!` over weir-core's channels (`chan::rendezvous()` for
/// `cap == 0`, else `chan::bounded(cap)`).
pub fn weir_chan(n: u64, cap: usize) -> Outcome {
    measure(Flavor::MultiThread(WORKERS), async move {
        let pair = || {
            if cap == 0 {
                chan::rendezvous::<u64>()
            } else {
                chan::bounded::<u64>(cap)
            }
        };
        let (a_tx, a) = pair();
        let (b_tx, b) = pair();
        let (done_tx, done) = chan::rendezvous::<()>();
        let [pa, pb] = [(&a_tx, halves(n)[0]), (&b_tx, halves(n)[1])].map(|(tx, (from, to))| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in from..=to {
                    if tx.send(i).await.is_err() {
                        return;
                    }
                }
            })
        });
        tokio::spawn(async move {
            let _ = pa.await;
            let _ = pb.await;
            drop(done_tx);
        });
        let consumer = tokio::spawn(async move {
            let mut sum = 0u64;
            loop {
                let stop = chan::select! {
                    v = recv(&a) => {
                        if let Some(v) = v {
                            sum = sum.wrapping_add(v);
                        }
                        false
                    },
                    v = recv(&b) => {
                        if let Some(v) = v {
                            sum = sum.wrapping_add(v);
                        }
                        false
                    },
                    _ = recv(&done) => true,
                };
                if stop {
                    break;
                }
            }
            while let Ok(v) = a.try_recv() {
                sum = sum.wrapping_add(v);
            }
            while let Ok(v) = b.try_recv() {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        let sum = consumer.await.expect("consumer task");
        drop((a_tx, b_tx));
        sum
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::select::{expected, CAPS};

    /// Every item arrives exactly once through `chan::select!`.
    #[test]
    fn chan_select_sums_every_item_once() {
        let n = 20_000;
        for cap in CAPS {
            assert_eq!(weir_chan(n, cap).check, expected(n), "cap={cap}");
        }
    }
}
