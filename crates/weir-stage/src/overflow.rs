//! [`Overflow`]: what a [`buffer`](crate::buffer) does when it is full,
//! and [`Overflowed`], the error of [`Overflow::Fail`].

use std::sync::Arc;

use weir_core::chan::Sender;

/// What a [`buffer`](crate::buffer) of `n` items does with new items when
/// it holds `n` already (its consumer fell `n` items behind). Akka's
/// `OverflowStrategy`, Vector's `when_full`.
///
/// | mode | when full | upstream | kept |
/// |---|---|---|---|
/// | [`Backpressure`](Overflow::Backpressure) | waits for room | slowed down | every item |
/// | [`DropNewest`](Overflow::DropNewest) | drops the new items | never waits | the oldest `n` |
/// | [`DropOldest`](Overflow::DropOldest) | drops the oldest queued items | never waits | the newest `n` |
/// | [`Fail`](Overflow::Fail) | fails the pipeline with [`Overflowed`] | never waits | — |
///
/// Whatever is kept stays in input order. Dropped items are counted in the
/// stage's `dropped` statistic ([`StageStats`](crate::StageStats)).
///
/// # Examples
///
/// ```
/// use weir_stage::Overflow;
///
/// assert_eq!(Overflow::default(), Overflow::Backpressure);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Overflow {
    /// A plain bounded queue: the producer waits for room, nothing is lost.
    #[default]
    Backpressure,
    /// New items that find the buffer full are dropped (the buffer keeps
    /// the oldest): the producer never waits.
    DropNewest,
    /// New items displace the oldest queued ones (the buffer keeps the
    /// newest: a live view of the latest data): the producer never waits.
    DropOldest,
    /// An item that finds the buffer full fails the stage with
    /// [`Overflowed`] naming it (and so ends the pipeline).
    Fail,
}

/// The error [`Overflow::Fail`] ends a pipeline with: a buffer was full
/// when an item came. It reaches you as the source of
/// [`Error::Failed`](crate::Error::Failed) naming the buffer stage.
///
/// # Examples
///
/// ```
/// use weir_stage::Overflowed;
///
/// let e = Overflowed { stage: "ingest".into(), capacity: 8 };
/// assert_eq!(e.to_string(), "buffer of 8 overflowed at stage `ingest`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("buffer of {capacity} overflowed at stage `{stage}`")]
pub struct Overflowed {
    /// The buffer stage's name.
    pub stage: Arc<str>,
    /// How many items the buffer holds.
    pub capacity: usize,
}

/// What [`Overflow::push`] did.
pub(crate) enum Pushed {
    /// Every item went in, or this many were dropped on purpose.
    Sent(usize),
    /// Every receiver is gone.
    Closed,
    /// [`Overflow::Fail`] found the buffer full.
    Overflowed,
}

impl Overflow {
    /// Sends `batch` into `tx` the way this mode does when it is full.
    pub(crate) async fn push<T>(self, tx: &Sender<T>, batch: Vec<T>) -> Pushed {
        let rest = match self {
            Overflow::Backpressure => {
                return match tx.send_all(batch).await {
                    Ok(()) => Pushed::Sent(0),
                    Err(_) => Pushed::Closed,
                };
            }
            Overflow::DropNewest | Overflow::Fail => tx.try_send_all(batch),
            Overflow::DropOldest => tx.force_send_all(batch),
        };
        match rest {
            Err(_) => Pushed::Closed,
            Ok(rest) if !rest.is_empty() && self == Overflow::Fail => Pushed::Overflowed,
            Ok(rest) => Pushed::Sent(rest.len()),
        }
    }
}
