//! The one send that never waits and never fails for lack of room:
//! [`Chan::force_push_many`], behind
//! [`Sender::force_send_all`](super::super::Sender::force_send_all).

use super::{Chan, Side, Wake, Wakers};

impl<T> Chan<T> {
    /// Pushes every item of `items` now, in order, making room by taking
    /// the oldest buffered items out (crossbeam's `ArrayQueue::force_push`
    /// for a channel); returns what was taken out, oldest first (items of
    /// `items` itself when they are more than the buffer holds). `Err`
    /// gives `items` back when the channel is closed.
    ///
    /// Taken-out items count as never sent, so `sent = received + queued`
    /// still holds. Senders in line stay in line (the buffer is no less
    /// full than before); a forced push does not wait behind them. A
    /// rendezvous channel buffers nothing: the caller handles it.
    pub(crate) fn force_push_many(&self, items: Vec<T>) -> Result<Vec<T>, Vec<T>> {
        debug_assert!(!self.is_rendezvous());
        let mut wake = Wake(Wakers::new());
        let mut s = self.lock_as(Side::Send);
        if s.shut() {
            return Err(items);
        }
        let n = items.len();
        // The slots items may use: those not held by permits.
        let room = self
            .cap
            .map_or(usize::MAX, |c| c.saturating_sub(s.reserved));
        if room == 0 || n == 0 {
            return Ok(items);
        }
        s.items.extend(items);
        // At most `n`: the buffer held at most `room` before.
        let excess = s.items.len().saturating_sub(room);
        let displaced: Vec<T> = s.items.drain(..excess).collect();
        s.sent += (n - excess) as u64;
        s.note_peak();
        self.stock();
        Self::wake_receivers(&mut s, n.min(room), &mut wake);
        drop(s);
        Ok(displaced)
    }
}
