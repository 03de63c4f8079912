//! Workload 10, select: Go's typical `select` loop. Two producers send on
//! two channels of capacity `cap` (the first `1..=n/2`, the second
//! `n/2+1..=n`); a `done` channel closes once both producers have
//! returned; one consumer selects over the three and sums what it receives.
//! When `done` fires, the consumer takes what is still buffered without
//! waiting (`try_recv`, Go's `select` with `default`) and stops.
//!
//! Go's side is the plain program `benches/go/select/main.go`. The Rust
//! implementations run the same shape on tokio's multi-thread runtime with
//! 2 worker threads (Go: GOMAXPROCS = nproc), with `tokio::select!` (random
//! branch order, like Go's) over each channel's receive futures:
//!
//! * [`weir()`] — weir-core's `recv()` futures (`chan::rendezvous()` for
//!   `cap == 0`, else `chan::bounded(cap)`), today's way;
//! * [`tokio_kanal`] — `kanal::bounded_async(cap)`;
//! * [`tokio_flume`] — `flume::bounded(cap)` with `recv_async`.
//!
//! weir's own `chan::select!` is in `select_chan.rs` (it needs the macro
//! from another branch).
//!
//! The producers send through clones of the senders; the originals live
//! until the consumer is done, so that, as in Go, no data channel closes
//! and only `done` ends the loop. The checksum is the sum of `1..=n`: an
//! implementation whose losing `select!` branch drops an item reports a
//! smaller one.
//!
//! ```text
//! $CARGO_TARGET_DIR/release/compare --child select weir 1000000 64
//! $CARGO_TARGET_DIR/release/compare --child select tokio-kanal 1000000 0
//! ```

use weir_core::chan;

use super::handpipe::{measure, Flavor, WORKERS};
use crate::Outcome;

/// The capacities the workload runs at.
pub const CAPS: [usize; 2] = [0, 64];

/// The checksum of a run over `n` items: the sum of `1..=n`.
pub fn expected(n: u64) -> u64 {
    (1..=n).fold(0u64, u64::wrapping_add)
}

/// The two producers' ranges: `1..=n/2` and `n/2+1..=n`.
pub fn halves(n: u64) -> [(u64, u64); 2] {
    [(1, n / 2), (n / 2 + 1, n)]
}

fn flavor() -> Flavor {
    Flavor::MultiThread(WORKERS)
}

/// `tokio::select!` over weir-core's `recv()` futures.
pub fn weir(n: u64, cap: usize) -> Outcome {
    measure(flavor(), async move {
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
                tokio::select! {
                    Some(v) = a.recv() => sum = sum.wrapping_add(v),
                    Some(v) = b.recv() => sum = sum.wrapping_add(v),
                    _ = done.recv() => break,
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

/// `tokio::select!` over kanal's async receive futures.
pub fn tokio_kanal(n: u64, cap: usize) -> Outcome {
    measure(flavor(), async move {
        let (a_tx, a) = kanal::bounded_async::<u64>(cap);
        let (b_tx, b) = kanal::bounded_async::<u64>(cap);
        let (done_tx, done) = kanal::bounded_async::<()>(0);
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
                tokio::select! {
                    Ok(v) = a.recv() => sum = sum.wrapping_add(v),
                    Ok(v) = b.recv() => sum = sum.wrapping_add(v),
                    _ = done.recv() => break,
                }
            }
            while let Ok(Some(v)) = a.try_recv() {
                sum = sum.wrapping_add(v);
            }
            while let Ok(Some(v)) = b.try_recv() {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        let sum = consumer.await.expect("consumer task");
        drop((a_tx, b_tx));
        sum
    })
}

/// `tokio::select!` over flume's `recv_async` futures.
pub fn tokio_flume(n: u64, cap: usize) -> Outcome {
    measure(flavor(), async move {
        let (a_tx, a) = flume::bounded::<u64>(cap);
        let (b_tx, b) = flume::bounded::<u64>(cap);
        let (done_tx, done) = flume::bounded::<()>(0);
        let [pa, pb] = [(&a_tx, halves(n)[0]), (&b_tx, halves(n)[1])].map(|(tx, (from, to))| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in from..=to {
                    if tx.send_async(i).await.is_err() {
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
                tokio::select! {
                    Ok(v) = a.recv_async() => sum = sum.wrapping_add(v),
                    Ok(v) = b.recv_async() => sum = sum.wrapping_add(v),
                    _ = done.recv_async() => break,
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

    #[test]
    fn halves_cover_one_to_n_once() {
        for n in [1, 2, 7, 10, 1000] {
            let [(a0, a1), (b0, b1)] = halves(n);
            assert_eq!((a0, b1), (1, n));
            assert_eq!(a1 + 1, b0);
            let items = (a0..=a1).chain(b0..=b1);
            assert_eq!(items.fold(0u64, u64::wrapping_add), expected(n), "n={n}");
        }
        assert_eq!(expected(1_000_000), 500_000_500_000);
    }

    /// weir and flume deliver every item exactly once through the select
    /// loop, unbuffered and buffered.
    #[test]
    fn weir_and_flume_sum_every_item_once() {
        let n = 20_000;
        for cap in CAPS {
            assert_eq!(weir(n, cap).check, expected(n), "weir cap={cap}");
            assert_eq!(tokio_flume(n, cap).check, expected(n), "flume cap={cap}");
        }
    }
}
