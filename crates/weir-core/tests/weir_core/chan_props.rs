//! Property tests: for random capacities (rendezvous, small bounded,
//! unbounded), random numbers of producers and consumers, random item counts
//! and a random mix of send and receive flavours, every item is received
//! exactly once, and each consumer sees each producer's items in the order
//! they were sent.

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use proptest::prelude::*;
use weir_core::chan::{self, Receiver, Sender, TryRecvError, TrySendError};

#[derive(Clone, Copy, Debug)]
enum SendMode {
    Send,
    TrySendLoop,
    SendAll { chunk: usize },
    Blocking,
}

#[derive(Clone, Copy, Debug)]
enum RecvMode {
    Recv,
    RecvMany { limit: usize },
    Stream,
    TryRecvLoop,
    Blocking,
}

fn send_mode() -> impl Strategy<Value = SendMode> {
    prop_oneof![
        Just(SendMode::Send),
        Just(SendMode::TrySendLoop),
        (1..6usize).prop_map(|chunk| SendMode::SendAll { chunk }),
        Just(SendMode::Blocking),
    ]
}

fn recv_mode() -> impl Strategy<Value = RecvMode> {
    prop_oneof![
        Just(RecvMode::Recv),
        (1..6usize).prop_map(|limit| RecvMode::RecvMany { limit }),
        Just(RecvMode::Stream),
        Just(RecvMode::TryRecvLoop),
        Just(RecvMode::Blocking),
    ]
}

fn capacity() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![Just(None), (0..8usize).prop_map(Some)]
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_time()
            .build()
            .unwrap()
    })
}

type Item = (usize, usize); // (producer, sequence number)

async fn produce(tx: Sender<Item>, id: usize, count: usize, mode: SendMode) {
    let items: Vec<Item> = (0..count).map(|seq| (id, seq)).collect();
    match mode {
        SendMode::Send => {
            for item in items {
                tx.send(item).await.unwrap();
            }
        }
        SendMode::TrySendLoop => {
            for mut item in items {
                loop {
                    match tx.try_send(item) {
                        Ok(()) => break,
                        Err(TrySendError::Full(back)) => {
                            item = back;
                            tokio::task::yield_now().await;
                        }
                        Err(TrySendError::Closed(_)) => panic!("closed while sending"),
                    }
                }
            }
        }
        SendMode::SendAll { chunk } => {
            for batch in items.chunks(chunk) {
                tx.send_all(batch.to_vec()).await.unwrap();
            }
        }
        SendMode::Blocking => {
            tokio::task::spawn_blocking(move || {
                for item in items {
                    tx.send_blocking(item).unwrap();
                }
            })
            .await
            .unwrap();
        }
    }
}

async fn consume(mut rx: Receiver<Item>, mode: RecvMode) -> Vec<Item> {
    let mut got = Vec::new();
    match mode {
        RecvMode::Recv => {
            while let Some(item) = rx.recv().await {
                got.push(item);
            }
        }
        RecvMode::RecvMany { limit } => while rx.recv_many(&mut got, limit).await > 0 {},
        RecvMode::Stream => {
            while let Some(item) = rx.next().await {
                got.push(item);
            }
        }
        RecvMode::TryRecvLoop => loop {
            match rx.try_recv() {
                Ok(item) => got.push(item),
                Err(TryRecvError::Empty) => tokio::task::yield_now().await,
                Err(TryRecvError::Closed) => break,
            }
        },
        RecvMode::Blocking => {
            got = tokio::task::spawn_blocking(move || rx.iter().collect())
                .await
                .unwrap();
        }
    }
    got
}

fn run(
    cap: Option<usize>,
    producers: &[(SendMode, usize)],
    consumers: &[RecvMode],
) -> Result<(), TestCaseError> {
    let (tx, rx) = match cap {
        Some(n) => chan::bounded(n),
        None => chan::unbounded(),
    };
    let results = runtime().block_on(async {
        let work = async {
            let mut handles = Vec::new();
            for (i, &mode) in consumers.iter().enumerate() {
                // `try_recv` never takes an item a rendezvous sender has not
                // handed over, and a hand-over needs a waiting receiver: give
                // a rendezvous channel at least one receiver that waits.
                let mode = match (cap, mode, i) {
                    (Some(0), RecvMode::TryRecvLoop, 0) => RecvMode::Recv,
                    _ => mode,
                };
                handles.push(tokio::spawn(consume(rx.clone(), mode)));
            }
            drop(rx);
            for (id, &(mode, count)) in producers.iter().enumerate() {
                // `try_send` on a rendezvous channel succeeds only against a
                // waiting receive: a loop of it could spin for long.
                let mode = match (cap, mode) {
                    (Some(0), SendMode::TrySendLoop) => SendMode::Send,
                    _ => mode,
                };
                tokio::spawn(produce(tx.clone(), id, count, mode));
            }
            drop(tx);
            let mut results = Vec::new();
            for h in handles {
                results.push(h.await.unwrap());
            }
            results
        };
        tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .expect("watchdog: the case hung")
    });

    let mut all = Vec::new();
    for got in &results {
        for p in 0..producers.len() {
            let seqs: Vec<usize> = got.iter().filter(|i| i.0 == p).map(|i| i.1).collect();
            prop_assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "a consumer saw producer {}'s items out of order: {:?}",
                p,
                seqs
            );
        }
        all.extend_from_slice(got);
    }
    all.sort_unstable();
    let expected: Vec<Item> = producers
        .iter()
        .enumerate()
        .flat_map(|(id, &(_, count))| (0..count).map(move |seq| (id, seq)))
        .collect();
    prop_assert_eq!(all, expected, "lost or duplicated items");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        // A hung case costs its watchdog on every shrink step: bound it.
        max_shrink_time: 30_000,
        // Seeds of racy failures do not replay deterministically; the
        // regressions found so far are pinned as plain tests instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_loss_no_duplication_per_producer_fifo(
        cap in capacity(),
        producers in prop::collection::vec((send_mode(), 0..300usize), 1..=4),
        consumers in prop::collection::vec(recv_mode(), 1..=4),
    ) {
        run(cap, &producers, &consumers)?;
    }
}
