//! [`Session`] windows: bursts of activity separated by a quiet gap.

use std::time::Duration;

use tokio::time::Instant;

use super::sealed::{Kind, Sealed};
use super::{after, Folder, Open, WindowSpec};

/// Session windows: a window holds items that arrive less than `gap`
/// apart; once `gap` passes with no item, it goes out (a timer wakes the
/// stage), and the next item opens a new one. Each item is in exactly one
/// window. A window's `start` is when its first item arrived, its `end`
/// when its last item arrived plus `gap`. For [`window`](crate::window())
/// and [`window_fold`](crate::window_fold).
///
/// A session that never pauses never ends until the input does: bound it
/// with a [`Tumbling`](crate::Tumbling) window downstream if you must.
/// A zero `gap` is a [`ConfigError`](crate::ConfigError) from the stage.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_cancel::Context;
/// use weir_core::chan;
/// use weir_stage::{self as stage, Scope, Session};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let (tx, rx) = chan::bounded(8);
/// let gap = Duration::from_secs(30);
/// let visits = stage::window(&scope, rx, Session { gap }).unwrap();
/// tokio::spawn(async move {
///     for (page, pause) in [("home", 5), ("cart", 40), ("home", 0)] {
///         tx.send(page).await.unwrap();
///         tokio::time::sleep(Duration::from_secs(pause)).await;
///     }
/// });
/// let all = stage::collect::<_, Vec<_>>(&scope, visits).await.unwrap();
/// let pages: Vec<Vec<&str>> = all.into_iter().map(|w| w.items).collect();
/// assert_eq!(pages, [vec!["home", "cart"], vec!["home"]]);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Session {
    /// How long without an item ends a session.
    pub gap: Duration,
}

impl Sealed for Session {}

impl<T> WindowSpec<T> for Session {
    fn invalid(&self) -> Option<&'static str> {
        super::check(&WindowSpec::<T>::kind(*self)).err()
    }

    fn kind(self) -> Kind<T> {
        Kind::Session(self.gap)
    }
}

/// The open session.
pub(super) struct Sessions<S> {
    gap: Duration,
    open: Option<Open<S>>,
}

impl<S> Sessions<S> {
    pub(super) fn new(gap: Duration) -> Sessions<S> {
        Sessions { gap, open: None }
    }

    pub(super) fn due(&self) -> Option<Instant> {
        Open::due(&self.open)
    }

    pub(super) fn tick(&mut self, now: Instant, out: &mut Vec<Open<S>>) {
        Open::close_due(&mut self.open, now, out);
    }

    /// Adds `items`, all received at `now`: one session holds them all.
    pub(super) fn add<T>(
        &mut self,
        now: Instant,
        items: &mut Vec<T>,
        fold: &mut impl Folder<T, S>,
    ) {
        let w = self.open.get_or_insert_with(|| Open::new(now, now));
        w.add_all(fold, items.drain(..));
        w.end = after(now, self.gap);
    }

    pub(super) fn take(&mut self) -> Option<Open<S>> {
        self.open.take()
    }
}
