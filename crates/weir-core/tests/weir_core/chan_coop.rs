//! Inside tokio, channel operations spend the task's cooperative budget, as
//! tokio's own channels do: a loop that always finds an item (a consumer
//! slower than its producer) still yields now and then, so the runtime can
//! run other tasks and cancel or abort it.

use futures::poll;
use weir_core::chan;

#[tokio::test(flavor = "current_thread")]
async fn a_receive_loop_that_never_waits_still_yields() {
    let (tx, rx) = chan::unbounded();
    for i in 0..10_000u32 {
        tx.try_send(i).unwrap();
    }
    let consumer = tokio::spawn(async move {
        let mut drain = Box::pin(async {
            let mut n = 0;
            while rx.recv().await.is_some() {
                n += 1;
                if n == 10_000 {
                    break;
                }
            }
        });
        // One poll of a loop over 10,000 ready items: without a budget it
        // would run to the end in this poll.
        poll!(drain.as_mut()).is_pending()
    });
    assert!(consumer.await.unwrap(), "the loop never yielded");
}

#[tokio::test(flavor = "current_thread")]
async fn a_send_loop_that_never_waits_still_yields() {
    let (tx, _rx) = chan::unbounded::<u32>();
    let producer = tokio::spawn(async move {
        let mut fill = Box::pin(async {
            for i in 0..10_000 {
                tx.send(i).await.unwrap();
            }
        });
        poll!(fill.as_mut()).is_pending()
    });
    assert!(producer.await.unwrap(), "the loop never yielded");
}

#[tokio::test(flavor = "current_thread")]
async fn batches_spend_the_budget_too() {
    let (tx, rx) = chan::unbounded();
    for i in 0..100_000u32 {
        tx.try_send(i).unwrap();
    }
    let consumer = tokio::spawn(async move {
        let mut drain = Box::pin(async {
            let mut buf = Vec::new();
            while buf.len() < 100_000 {
                rx.recv_many(&mut buf, 10).await;
            }
        });
        poll!(drain.as_mut()).is_pending()
    });
    assert!(consumer.await.unwrap(), "the loop never yielded");
}

#[test]
fn outside_tokio_there_is_no_budget() {
    let (tx, rx) = chan::unbounded();
    for i in 0..1_000u32 {
        tx.try_send(i).unwrap();
    }
    drop(tx);
    let n = futures::executor::block_on(async {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    assert_eq!(n, 1_000);
}
