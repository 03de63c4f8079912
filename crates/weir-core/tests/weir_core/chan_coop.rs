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

/// Counts the wake-ups a future asks for.
struct Counting(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Counting {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn counting() -> (std::sync::Arc<Counting>, std::task::Waker) {
    let c = std::sync::Arc::new(Counting(std::sync::atomic::AtomicUsize::new(0)));
    (c.clone(), std::task::Waker::from(c))
}

fn wakes(c: &Counting) -> usize {
    c.0.load(std::sync::atomic::Ordering::SeqCst)
}

/// On a multi-thread runtime a receive that finds nothing yields once (its
/// task is woken at once, nothing is registered) before it waits; the next
/// poll waits for the item, which wakes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_worker_threads_an_empty_receive_yields_once_then_waits() {
    use std::future::Future;
    use std::task::{Context, Poll};
    let (tx, rx) = chan::bounded::<u32>(1);
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut recv = Box::pin(rx.recv());
    assert!(recv.as_mut().poll(&mut cx).is_pending());
    assert_eq!(wakes(&count), 1, "the yield wakes its own task");
    assert!(recv.as_mut().poll(&mut cx).is_pending());
    assert_eq!(wakes(&count), 1, "now it waits");
    tx.try_send(7).unwrap();
    assert_eq!(wakes(&count), 2, "the item wakes it");
    assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Some(7)));
}

/// The same for a send that finds the buffer full: the yield holds no slot
/// and no place in line, so a receive meanwhile lets the next poll push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_worker_threads_a_full_send_yields_once_holding_nothing() {
    use std::future::Future;
    use std::task::{Context, Poll};
    let (tx, rx) = chan::bounded::<u32>(1);
    tx.try_send(1).unwrap();
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut send = Box::pin(tx.send(2));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    assert_eq!(wakes(&count), 1, "the yield wakes its own task");
    assert!(tx.is_full());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(wakes(&count), 1, "not in line: nobody to wake");
    assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

/// On the current-thread runtime there is no yield: the first poll waits.
#[tokio::test(flavor = "current_thread")]
async fn on_the_current_thread_an_empty_receive_waits_at_once() {
    use std::future::Future;
    use std::task::Context;
    let (tx, rx) = chan::bounded::<u32>(1);
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut recv = Box::pin(rx.recv());
    assert!(recv.as_mut().poll(&mut cx).is_pending());
    assert_eq!(wakes(&count), 0);
    tx.try_send(7).unwrap();
    assert_eq!(wakes(&count), 1);
    let _ = poll!(recv);
}
