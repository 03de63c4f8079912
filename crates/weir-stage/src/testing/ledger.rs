//! The accounting harness: every item issued, and what became of it.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Issues [`Tracked`] items and keeps the books on them: each ends up
/// *delivered* (the sink took it), *returned* (it came back inside an
/// error, like [`SendError`](weir_core::chan::SendError)), or *dropped*
/// (released by the pipeline without either). Nothing else can happen to
/// an owned value, so at the end
/// `delivered + returned + dropped == issued` holds exactly when no item is
/// still alive somewhere — a leak, or a task that has not ended — and
/// [`Accounting`] says which ids went where.
///
/// `Tracked` is deliberately not `Clone`: an item can't be duplicated
/// without the books showing a second id.
///
/// A `Ledger` is cheap to clone (all clones share the books) and can be
/// moved into the closures of a pipeline.
///
/// # Examples
///
/// A pipeline whose consumer stops after three items: the rest are dropped
/// by the stages, none is lost track of.
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::testing::Ledger;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ledger = Ledger::new();
/// let scope = Scope::new(&Context::background());
/// let items = stage::generate(&scope, ledger.track_all(0..100u64));
/// let doubled = stage::map(&scope, items, |item| item.map(|n| n * 2));
/// let mut got = Vec::new();
/// for _ in 0..3 {
///     got.push(ledger.deliver(doubled.recv().await.unwrap()));
/// }
/// drop(doubled); // the consumer goes away mid-stream
/// scope.wait().await.unwrap();
///
/// assert_eq!(got, [0, 2, 4]);
/// let books = ledger.accounting();
/// books.assert_exact();
/// assert_eq!(books.delivered(), [0, 1, 2]);
/// assert_eq!(books.issued(), books.delivered().len() + books.dropped().len());
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Ledger {
    books: Arc<Mutex<Books>>,
}

#[derive(Default)]
struct Books {
    fate: Vec<Fate>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Live,
    Delivered,
    Returned,
    Dropped,
}

impl Ledger {
    /// An empty ledger.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::Ledger;
    ///
    /// let ledger = Ledger::new();
    /// assert_eq!(ledger.accounting().issued(), 0);
    /// ```
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Issues one item: `value` with the next id (0, 1, 2, …).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::Ledger;
    ///
    /// let ledger = Ledger::new();
    /// let a = ledger.track("a");
    /// let b = ledger.track("b");
    /// assert_eq!((a.id(), *b), (0, "b"));
    /// drop((a, b));
    /// assert_eq!(ledger.accounting().dropped(), [0, 1]);
    /// ```
    pub fn track<T>(&self, value: T) -> Tracked<T> {
        let mut books = self.books();
        let id = books.fate.len() as u64;
        books.fate.push(Fate::Live);
        drop(books);
        Tracked {
            value,
            ticket: Ticket {
                id,
                books: Some(Arc::clone(&self.books)),
            },
        }
    }

    /// Issues an item for each of `values`, lazily: an item is issued when
    /// it is pulled from the iterator, so a source stopped early issues only
    /// what it took.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::Ledger;
    ///
    /// let ledger = Ledger::new();
    /// let mut items = ledger.track_all(10..20);
    /// let first = items.next().unwrap();
    /// assert_eq!((first.id(), *first), (0, 10));
    /// assert_eq!(ledger.accounting().issued(), 1);
    /// # ledger.deliver(first);
    /// ```
    pub fn track_all<I>(&self, values: I) -> TrackAll<I::IntoIter>
    where
        I: IntoIterator,
    {
        TrackAll {
            ledger: self.clone(),
            values: values.into_iter(),
        }
    }

    /// Books `item` as delivered and hands back its value: call it where
    /// the pipeline's output is consumed.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::Ledger;
    ///
    /// let ledger = Ledger::new();
    /// let item = ledger.track(7);
    /// assert_eq!(ledger.deliver(item), 7);
    /// assert_eq!(ledger.accounting().delivered(), [0]);
    /// ```
    pub fn deliver<T>(&self, item: Tracked<T>) -> T {
        item.settle(Fate::Delivered)
    }

    /// Books `item` as returned (it came back inside an error) and hands
    /// back its value.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_core::chan;
    /// use weir_stage::testing::Ledger;
    ///
    /// let ledger = Ledger::new();
    /// let (tx, rx) = chan::bounded(1);
    /// drop(rx);
    /// let err = tx.try_send(ledger.track(1)).unwrap_err();
    /// ledger.give_back(err.into_inner());
    /// assert_eq!(ledger.accounting().returned(), [0]);
    /// ```
    pub fn give_back<T>(&self, item: Tracked<T>) -> T {
        item.settle(Fate::Returned)
    }

    /// A snapshot of the books.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::Ledger;
    ///
    /// let ledger = Ledger::new();
    /// let kept = ledger.track(());
    /// let books = ledger.accounting();
    /// assert_eq!(books.live(), [0]);
    /// assert!(!books.is_exact());
    /// # drop(kept);
    /// ```
    pub fn accounting(&self) -> Accounting {
        let books = self.books();
        let mut out = Accounting::default();
        for (id, fate) in books.fate.iter().enumerate() {
            let id = id as u64;
            match fate {
                Fate::Live => out.live.push(id),
                Fate::Delivered => out.delivered.push(id),
                Fate::Returned => out.returned.push(id),
                Fate::Dropped => out.dropped.push(id),
            }
        }
        out.issued = books.fate.len();
        out
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        lock(&self.books)
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("issued", &self.books().fate.len())
            .finish()
    }
}

// A test that panicked while holding the lock must not hide its own failure
// behind a poison error here.
fn lock(books: &Mutex<Books>) -> MutexGuard<'_, Books> {
    books.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An item issued by a [`Ledger`]: a value with an id, whose fate is booked
/// when it is delivered, given back, or dropped.
///
/// It dereferences to the value; [`map`](Tracked::map) transforms the value
/// and keeps the id, which is how a tracked item goes through a `map`
/// stage.
///
/// # Examples
///
/// ```
/// use weir_stage::testing::Ledger;
///
/// let ledger = Ledger::new();
/// let item = ledger.track(20u32);
/// assert_eq!(*item + 1, 21);
/// let item = item.map(|n| n.to_string());
/// assert_eq!((item.id(), item.as_str()), (0, "20"));
/// ```
pub struct Tracked<T> {
    value: T,
    ticket: Ticket,
}

impl<T> Tracked<T> {
    /// The id the ledger gave this item: the order of issue, from 0.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// let _a = ledger.track('a');
    /// assert_eq!(ledger.track('b').id(), 1);
    /// ```
    pub fn id(&self) -> u64 {
        self.ticket.id
    }

    /// Transforms the value, keeping the id.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// let item = ledger.track(3).map(|n| n * n);
    /// assert_eq!(ledger.deliver(item), 9);
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Tracked<U> {
        Tracked {
            value: f(self.value),
            ticket: self.ticket,
        }
    }

    fn settle(mut self, fate: Fate) -> T {
        self.ticket.settle(fate);
        self.value
    }
}

impl<T> Deref for Tracked<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Tracked<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Tracked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("id", &self.ticket.id)
            .field("value", &self.value)
            .finish()
    }
}

/// The drop sentinel: books the item as dropped unless it was settled.
struct Ticket {
    id: u64,
    books: Option<Arc<Mutex<Books>>>,
}

impl Ticket {
    fn settle(&mut self, fate: Fate) {
        if let Some(books) = self.books.take() {
            let mut books = lock(&books);
            let slot = &mut books.fate[self.id as usize];
            // Ownership makes a second settlement impossible; this guards
            // the harness itself.
            debug_assert_eq!(*slot, Fate::Live, "item {} settled twice", self.id);
            *slot = fate;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.settle(Fate::Dropped);
    }
}

/// The iterator of [`Ledger::track_all`]: issues an item per value pulled.
///
/// # Examples
///
/// ```
/// use weir_stage::testing::Ledger;
///
/// let ledger = Ledger::new();
/// let ids: Vec<u64> = ledger.track_all(["a", "b"]).map(|t| t.id()).collect();
/// assert_eq!(ids, [0, 1]);
/// ```
#[derive(Debug)]
pub struct TrackAll<I> {
    ledger: Ledger,
    values: I,
}

impl<I: Iterator> Iterator for TrackAll<I> {
    type Item = Tracked<I::Item>;

    fn next(&mut self) -> Option<Tracked<I::Item>> {
        self.values.next().map(|value| self.ledger.track(value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.values.size_hint()
    }
}

/// What became of every item a [`Ledger`] issued: ids by fate, each list
/// in id order.
///
/// # Examples
///
/// ```
/// use weir_stage::testing::Ledger;
///
/// let ledger = Ledger::new();
/// let a = ledger.track(1);
/// drop(ledger.track(2));
/// ledger.deliver(a);
/// let books = ledger.accounting();
/// assert_eq!((books.delivered(), books.dropped()), (&[0][..], &[1][..]));
/// books.assert_exact();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounting {
    issued: usize,
    delivered: Vec<u64>,
    returned: Vec<u64>,
    dropped: Vec<u64>,
    live: Vec<u64>,
}

impl Accounting {
    /// Items issued.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// drop(ledger.track(()));
    /// assert_eq!(ledger.accounting().issued(), 1);
    /// ```
    pub fn issued(&self) -> usize {
        self.issued
    }

    /// Ids booked with [`Ledger::deliver`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// ledger.deliver(ledger.track(()));
    /// assert_eq!(ledger.accounting().delivered(), [0]);
    /// ```
    pub fn delivered(&self) -> &[u64] {
        &self.delivered
    }

    /// Ids booked with [`Ledger::give_back`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// ledger.give_back(ledger.track(()));
    /// assert_eq!(ledger.accounting().returned(), [0]);
    /// ```
    pub fn returned(&self) -> &[u64] {
        &self.returned
    }

    /// Ids dropped without being delivered or given back.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// drop(ledger.track(()));
    /// assert_eq!(ledger.accounting().dropped(), [0]);
    /// ```
    pub fn dropped(&self) -> &[u64] {
        &self.dropped
    }

    /// Ids still alive: held by a channel, a task, or a leak.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// let held = ledger.track(());
    /// assert_eq!(ledger.accounting().live(), [0]);
    /// # drop(held);
    /// ```
    pub fn live(&self) -> &[u64] {
        &self.live
    }

    /// Whether every issued item has been settled: nothing is still alive.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// let held = ledger.track(());
    /// assert!(!ledger.accounting().is_exact());
    /// drop(held);
    /// assert!(ledger.accounting().is_exact());
    /// ```
    pub fn is_exact(&self) -> bool {
        self.live.is_empty()
    }

    /// Panics unless [`is_exact`](Accounting::is_exact), listing the items
    /// still alive.
    ///
    /// # Panics
    ///
    /// If any issued item is still alive.
    ///
    /// # Examples
    ///
    /// ```should_panic
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// let _leaked = ledger.track(());
    /// ledger.accounting().assert_exact(); // panics: item 0 is alive
    /// ```
    #[track_caller]
    pub fn assert_exact(&self) {
        assert!(self.is_exact(), "items still alive: {self}");
    }

    /// Panics unless every issued item was delivered: none dropped, given
    /// back or alive.
    ///
    /// # Panics
    ///
    /// If any issued item was not delivered.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::Ledger;
    /// let ledger = Ledger::new();
    /// for item in ledger.track_all(0..3) {
    ///     ledger.deliver(item);
    /// }
    /// ledger.accounting().assert_all_delivered();
    /// ```
    #[track_caller]
    pub fn assert_all_delivered(&self) {
        assert!(
            self.delivered.len() == self.issued,
            "not every item was delivered: {self}"
        );
    }
}

impl fmt::Display for Accounting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} issued: {} delivered, {} returned, {} dropped, {} alive",
            self.issued,
            self.delivered.len(),
            self.returned.len(),
            self.dropped.len(),
            self.live.len()
        )?;
        for (what, ids) in [
            ("alive", &self.live),
            ("dropped", &self.dropped),
            ("returned", &self.returned),
        ] {
            if !ids.is_empty() {
                write!(f, "; {what}: {}", Ids(ids))?;
            }
        }
        Ok(())
    }
}

/// The first few ids of a list, for messages.
struct Ids<'a>(&'a [u64]);

impl fmt::Display for Ids<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 10;
        let mut list = f.debug_list();
        list.entries(self.0.iter().take(SHOWN));
        if self.0.len() > SHOWN {
            list.entry(&format_args!("… {} more", self.0.len() - SHOWN));
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fate_is_booked_once() {
        let ledger = Ledger::new();
        let mut items: Vec<_> = ledger.track_all(0..4).collect();
        let d = items.pop().unwrap();
        let r = items.pop().unwrap();
        ledger.deliver(d);
        ledger.give_back(r);
        drop(items.pop());
        let books = ledger.accounting();
        assert_eq!(books.delivered(), [3]);
        assert_eq!(books.returned(), [2]);
        assert_eq!(books.dropped(), [1]);
        assert_eq!(books.live(), [0]);
        assert_eq!(
            books.to_string(),
            "4 issued: 1 delivered, 1 returned, 1 dropped, 1 alive; \
             alive: [0]; dropped: [1]; returned: [2]"
        );
        drop(items);
        assert!(ledger.accounting().is_exact());
    }

    #[test]
    fn map_keeps_the_ticket() {
        let ledger = Ledger::new();
        let item = ledger.track(1).map(|n| n + 1).map(|n| n * 10);
        assert_eq!(ledger.accounting().live(), [0]);
        assert_eq!(ledger.deliver(item), 20);
        assert_eq!(ledger.accounting().delivered(), [0]);
    }

    #[test]
    fn long_lists_are_cut_in_messages() {
        let ledger = Ledger::new();
        let items: Vec<_> = ledger.track_all(0..25).collect();
        let message = ledger.accounting().to_string();
        assert!(message.ends_with("alive: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … 15 more]"));
        drop(items);
    }

    #[test]
    #[should_panic(expected = "not every item was delivered")]
    fn assert_all_delivered_fails_on_a_drop() {
        let ledger = Ledger::new();
        drop(ledger.track(()));
        ledger.accounting().assert_all_delivered();
    }
}
