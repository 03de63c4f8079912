//! [`Tumbling`] windows: back to back, by time or by count.

use std::time::Duration;

use tokio::time::Instant;

use super::sealed::{Kind, Sealed};
use super::{after, align, Folder, Open, WindowSpec};

/// Tumbling windows: back to back, never overlapping, each item in exactly
/// one — every `d` of processing time ([`every`](Tumbling::every)) or
/// every `n` items ([`count`](Tumbling::count)). For [`window`](crate::window())
/// and [`window_fold`](crate::window_fold).
///
/// Making a `Tumbling` never fails; the stage rejects a zero duration or
/// count with a [`ConfigError`](crate::ConfigError).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_stage::Tumbling;
///
/// let per_minute = Tumbling::every(Duration::from_secs(60));
/// let per_thousand = Tumbling::count(1000);
/// assert_ne!(per_minute, per_thousand);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tumbling(By);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum By {
    Time(Duration),
    Count(usize),
}

impl Tumbling {
    /// A window every `d` of processing time, aligned to when the stage
    /// started: `[origin, origin + d)`, `[origin + d, origin + 2d)`, …
    /// A window goes out when its end passes, even if no item comes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_stage::Tumbling;
    ///
    /// let _per_second = Tumbling::every(Duration::from_secs(1));
    /// ```
    pub const fn every(d: Duration) -> Tumbling {
        Tumbling(By::Time(d))
    }

    /// A window every `n` items: it goes out as its `n`th item arrives
    /// (the last one, at the end of the input, may hold fewer). Its
    /// `start` and `end` are when its first and last items arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Tumbling;
    ///
    /// let _per_hundred = Tumbling::count(100);
    /// ```
    pub const fn count(n: usize) -> Tumbling {
        Tumbling(By::Count(n))
    }
}

impl Sealed for Tumbling {}

impl<T> WindowSpec<T> for Tumbling {
    fn invalid(&self) -> Option<&'static str> {
        super::check(&WindowSpec::<T>::kind(*self)).err()
    }

    fn kind(self) -> Kind<T> {
        match self.0 {
            By::Time(d) => Kind::Every(d),
            By::Count(n) => Kind::Count(n),
        }
    }
}

/// The open window of a [`Tumbling::every`].
pub(super) struct Every<S> {
    origin: Instant,
    size: Duration,
    open: Option<Open<S>>,
}

impl<S> Every<S> {
    pub(super) fn new(origin: Instant, size: Duration) -> Every<S> {
        Every {
            origin,
            size,
            open: None,
        }
    }

    pub(super) fn due(&self) -> Option<Instant> {
        Open::due(&self.open)
    }

    pub(super) fn tick(&mut self, now: Instant, out: &mut Vec<Open<S>>) {
        Open::close_due(&mut self.open, now, out);
    }

    /// Adds `items`, all received at `now`: one window holds them all.
    pub(super) fn add<T>(
        &mut self,
        now: Instant,
        items: &mut Vec<T>,
        fold: &mut impl Folder<T, S>,
    ) {
        let (origin, size) = (self.origin, self.size);
        self.open
            .get_or_insert_with(|| {
                let start = align(origin, now, size);
                Open::new(start, after(start, size))
            })
            .add_all(fold, items.drain(..));
    }

    pub(super) fn take(&mut self) -> Option<Open<S>> {
        self.open.take()
    }
}

/// The open window of a [`Tumbling::count`].
pub(super) struct Count<S> {
    n: usize,
    len: usize,
    open: Option<Open<S>>,
}

impl<S> Count<S> {
    pub(super) fn new(n: usize) -> Count<S> {
        Count {
            n,
            len: 0,
            open: None,
        }
    }

    /// Adds `items`, all received at `now`, a window's worth at a time.
    pub(super) fn add<T>(
        &mut self,
        now: Instant,
        items: &mut Vec<T>,
        fold: &mut impl Folder<T, S>,
        out: &mut Vec<Open<S>>,
    ) {
        let mut items = items.drain(..);
        while items.len() > 0 {
            let take = (self.n - self.len).min(items.len());
            let w = self.open.get_or_insert_with(|| Open::new(now, now));
            w.add_all(fold, items.by_ref().take(take));
            w.end = now;
            self.len += take;
            if self.len == self.n {
                self.len = 0;
                out.extend(self.open.take());
            }
        }
    }

    pub(super) fn take(&mut self) -> Option<Open<S>> {
        self.len = 0;
        self.open.take()
    }
}
