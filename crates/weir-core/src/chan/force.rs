//! Sends that never wait: [`Sender::try_send_all`] keeps the oldest items
//! when the channel is full, [`Sender::force_send_all`] the newest. What a
//! buffer that drops items on overflow is built on.

use std::collections::VecDeque;

use super::error::SendError;
use super::ident::TaskId;
use super::shared::PushError;
use super::Sender;

impl<T> Sender<T> {
    /// Sends as many of `items` as there is room for now, in order, without
    /// waiting, and returns the rest: the newest items, which did not fit
    /// (empty when all of them did). Go's `select` with a `default` case,
    /// for a batch.
    ///
    /// Senders waiting in line keep their turn: items sent here take only
    /// the room they leave. On a [rendezvous](super::rendezvous) channel an
    /// item is sent when a receive of another task is waiting for it.
    ///
    /// # Errors
    ///
    /// [`SendError`] with every item when the channel is closed or every
    /// receiver is gone (nothing was sent).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(2);
    /// assert_eq!(tx.try_send_all(vec![1, 2, 3]), Ok(vec![3])); // no room for 3
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(tx.try_send_all(vec![4]), Ok(vec![]));
    /// drop(rx);
    /// assert_eq!(tx.try_send_all(vec![5]).unwrap_err().into_inner(), [5]);
    /// ```
    pub fn try_send_all(&self, items: Vec<T>) -> Result<Vec<T>, SendError<Vec<T>>> {
        if self.chan.is_rendezvous() {
            let mut items = items.into_iter();
            while let Some(item) = items.next() {
                match self.chan.try_push(item, TaskId::known()) {
                    Ok(()) => {}
                    Err(PushError::Full(item)) => {
                        return Ok(std::iter::once(item).chain(items).collect());
                    }
                    Err(PushError::Closed(item)) => {
                        return Err(SendError(std::iter::once(item).chain(items).collect()));
                    }
                }
            }
            return Ok(Vec::new());
        }
        let mut items = VecDeque::from(items);
        match self.chan.try_push_many(&mut items) {
            Ok(_) => Ok(Vec::from(items)),
            Err(()) => Err(SendError(Vec::from(items))),
        }
    }

    /// Sends every item of `items` now, in order, without waiting: when the
    /// buffer is full, the oldest items queued make room. They are taken
    /// out of the channel and returned, oldest first (items of `items`
    /// itself when there are more of them than the buffer holds); the
    /// channel then holds the newest items. crossbeam's
    /// `ArrayQueue::force_push`, for a channel and a batch.
    ///
    /// A taken-out item counts as never sent
    /// ([`Observer::sent`](super::Observer::sent)), so what a channel
    /// reports sent is still what was received plus what is queued. This
    /// send does not wait in line behind blocked senders; they keep
    /// waiting for room as before. On an unbounded channel nothing is ever
    /// taken out. A [rendezvous](super::rendezvous) channel buffers
    /// nothing to take out: there it is [`try_send_all`](Sender::try_send_all).
    ///
    /// # Errors
    ///
    /// [`SendError`] with every item when the channel is closed or every
    /// receiver is gone (nothing was sent).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    ///
    /// let (tx, rx) = chan::bounded(2);
    /// tx.try_send_all(vec![1, 2]).unwrap();
    /// assert_eq!(tx.force_send_all(vec![3]), Ok(vec![1])); // 1 made room for 3
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// assert_eq!(tx.force_send_all(vec![4, 5, 6]), Ok(vec![4])); // keeps the newest 2
    /// assert_eq!(rx.observer().sent(), 4); // 1 and 4 were taken back out
    /// ```
    pub fn force_send_all(&self, items: Vec<T>) -> Result<Vec<T>, SendError<Vec<T>>> {
        if self.chan.is_rendezvous() {
            return self.try_send_all(items);
        }
        self.chan.force_push_many(items).map_err(SendError)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use proptest::prelude::*;

    use crate::chan::{self, TryRecvError};

    /// What a receiver takes until the channel is empty.
    fn drain(rx: &chan::Receiver<u32>) -> Vec<u32> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn a_closed_channel_hands_every_item_back() {
        let (tx, rx) = chan::bounded::<u32>(4);
        drop(rx);
        assert_eq!(tx.force_send_all(vec![1, 2]).unwrap_err().0, [1, 2]);
        assert_eq!(tx.try_send_all(vec![3]).unwrap_err().0, [3]);
    }

    #[test]
    fn an_unbounded_channel_takes_everything() {
        let (tx, rx) = chan::unbounded::<u32>();
        assert_eq!(tx.force_send_all((0..1000).collect()), Ok(vec![]));
        assert_eq!(rx.len(), 1000);
    }

    #[test]
    fn a_rendezvous_channel_with_no_receive_waiting_takes_nothing() {
        let (tx, rx) = chan::rendezvous::<u32>();
        assert_eq!(tx.force_send_all(vec![1, 2]), Ok(vec![1, 2]));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn permits_keep_their_slots() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (tx, rx) = chan::bounded::<u32>(3);
        let permit = rt.block_on(tx.reserve()).unwrap();
        assert_eq!(tx.force_send_all(vec![1, 2, 3]), Ok(vec![1]));
        permit.send(9).unwrap();
        assert_eq!(drain(&rx), [2, 3, 9]);
    }

    #[test]
    fn a_waiting_receive_is_woken() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (tx, rx) = chan::bounded::<u32>(2);
            let got = tokio::spawn(async move { rx.recv().await });
            tokio::task::yield_now().await; // the receive waits
            assert_eq!(tx.force_send_all(vec![7]), Ok(vec![]));
            assert_eq!(got.await.unwrap(), Some(7));
        });
    }

    proptest! {
        /// Batches forced into a channel with a receiver taking some items
        /// in between: what was received, what was taken out and what is
        /// left are the input exactly, each in input order, and the
        /// channel's `sent` is received + queued.
        #[test]
        #[cfg_attr(miri, ignore = "hundreds of random cases: too slow under Miri; the unit tests above run")]
        fn force_send_loses_nothing_it_does_not_return(
            cap in 1usize..8,
            steps in proptest::collection::vec((0usize..12, 0usize..6), 1..40),
        ) {
            let (tx, rx) = chan::bounded::<u32>(cap);
            let (mut next, mut received, mut displaced) = (0u32, Vec::new(), Vec::new());
            for (push, take) in steps {
                let batch: Vec<u32> = (next..next + push as u32).collect();
                next += push as u32;
                let out = tx.force_send_all(batch).unwrap();
                prop_assert!(rx.len() <= cap);
                displaced.extend(out);
                received.extend(std::iter::from_fn(|| rx.try_recv().ok()).take(take));
            }
            prop_assert_eq!(rx.observer().sent(), (received.len() + rx.len()) as u64);
            let left = drain(&rx);
            prop_assert!(received.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(displaced.windows(2).all(|w| w[0] < w[1]));
            let mut all: Vec<u32> = received.into_iter().chain(left).chain(displaced).collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..next).collect::<Vec<_>>());
        }

        /// `try_send_all` keeps the oldest items: what was sent and what
        /// came back are the input, each in order.
        #[test]
        #[cfg_attr(miri, ignore = "hundreds of random cases: too slow under Miri; the unit tests above run")]
        fn try_send_all_returns_what_did_not_fit(
            cap in 1usize..8,
            steps in proptest::collection::vec((0usize..12, 0usize..6), 1..40),
        ) {
            let (tx, rx) = chan::bounded::<u32>(cap);
            let (mut next, mut kept, mut refused) = (0u32, Vec::new(), Vec::new());
            for (push, take) in steps {
                let batch: Vec<u32> = (next..next + push as u32).collect();
                next += push as u32;
                let room = cap - rx.len();
                let out = tx.try_send_all(batch).unwrap();
                prop_assert_eq!(out.len(), push.saturating_sub(room));
                refused.extend(out);
                kept.extend(std::iter::from_fn(|| rx.try_recv().ok()).take(take));
            }
            kept.extend(drain(&rx));
            prop_assert!(kept.windows(2).all(|w| w[0] < w[1]));
            let mut all: Vec<u32> = kept.into_iter().chain(refused).collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..next).collect::<Vec<_>>());
        }
    }
}
