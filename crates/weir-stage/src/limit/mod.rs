//! [`Limit`]: how many items a concurrent stage works on at once — a fixed
//! number, or one the stage finds itself from what it measures.
//!
//! Every concurrent stage ([`worker_pool`](crate::worker_pool),
//! [`map_concurrent`](crate::map_concurrent),
//! [`map_unordered`](crate::map_unordered),
//! [`for_each_concurrent`](crate::for_each_concurrent), …) takes an
//! `impl Into<Limit>`: a plain number is [`Limit::fixed`], exactly as
//! before, and [`Limit::adaptive`] lets the stage move its limit inside
//! `[min, max]` from the latency and the failures of the items it runs.
//!
//! A stage drives its limit through a [`Controller`]: it asks
//! [`Controller::limit`] before starting an item, takes a [`Sample`] with
//! [`Controller::start`] and ends it with [`Sample::finish`] and the item's
//! [`Outcome`].
//!
//! The adaptive limit cuts itself to what the downstream service is
//! actually serving when latency shows a queue (Little's law on the
//! round's mean latency against a no-load baseline), cuts on overload, and
//! probes up again only after a hold; unrelated failures
//! ([`Outcome::Failed`]) never lower it. [`Adaptive`] says how, which
//! knobs move it, and why this rule: on the benchmark's simulated service
//! it matches the best fixed limit's throughput at its p99, where
//! tower-acc's AIMD, Vegas and Gradient2 double the p99.

mod adaptive;
mod controller;
mod gradient;
mod outcome;
mod stage;

pub use adaptive::Adaptive;
pub use controller::{Controller, LimitStats, Sample};
pub use outcome::Outcome;
pub(crate) use stage::Measured;

use std::sync::Arc;

use crate::error::ConfigError;

/// How many items a concurrent stage works on at once.
///
/// A number converts into a fixed limit, so `worker_pool(&scope, jobs, 8, f)`
/// and `worker_pool(&scope, jobs, Limit::fixed(8), f)` are the same stage.
///
/// # Examples
///
/// ```
/// use weir_stage::Limit;
///
/// let fixed: Limit = 8.into();
/// assert_eq!(fixed, Limit::fixed(8));
/// assert_eq!(fixed.initial(), 8);
///
/// let adaptive: Limit = Limit::adaptive().min(2).max(64).initial(4).into();
/// assert!(adaptive.is_adaptive());
/// assert_eq!((adaptive.initial(), adaptive.max()), (4, 64));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Fixed(usize),
    Adaptive(Adaptive),
}

impl Limit {
    /// Exactly `n` at once, never more and never fewer — what a plain
    /// number means.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert_eq!(Limit::fixed(3).max(), 3);
    /// ```
    pub fn fixed(n: usize) -> Limit {
        Limit {
            kind: Kind::Fixed(n),
        }
    }

    /// A limit the stage moves itself; see [`Adaptive`] for its settings
    /// and how it moves.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let limit: Limit = Limit::adaptive().max(32).into();
    /// assert!(limit.is_adaptive());
    /// ```
    pub fn adaptive() -> Adaptive {
        Adaptive::default()
    }

    /// Whether the stage moves this limit itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert!(!Limit::fixed(4).is_adaptive());
    /// ```
    pub fn is_adaptive(&self) -> bool {
        matches!(self.kind, Kind::Adaptive(_))
    }

    /// The limit a stage starts with.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert_eq!(Limit::fixed(4).initial(), 4);
    /// ```
    pub fn initial(&self) -> usize {
        match &self.kind {
            Kind::Fixed(n) => *n,
            Kind::Adaptive(a) => a.initial_value(),
        }
    }

    /// The most the limit can ever be: what a stage sizes its workers or
    /// window for.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert_eq!(Limit::fixed(4).max(), 4);
    /// ```
    pub fn max(&self) -> usize {
        match &self.kind {
            Kind::Fixed(n) => *n,
            Kind::Adaptive(a) => a.max_value(),
        }
    }

    /// Checks the limit before anything runs.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] naming `stage` and `what` for a fixed limit of
    /// 0 or an adaptive minimum of 0; [`ConfigError::Invalid`] for an
    /// adaptive limit whose `min ≤ initial ≤ max` does not hold or whose
    /// knobs are out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::{ConfigError, Limit};
    ///
    /// assert!(Limit::fixed(0).check("pool", "workers").is_err());
    /// let bad: Limit = Limit::adaptive().min(10).max(5).into();
    /// assert!(matches!(bad.check("pool", "workers"), Err(ConfigError::Invalid { .. })));
    /// ```
    pub fn check(&self, stage: &str, what: &'static str) -> Result<(), ConfigError> {
        match &self.kind {
            Kind::Fixed(0) => Err(ConfigError::Zero {
                stage: Arc::from(stage),
                what,
            }),
            Kind::Fixed(_) => Ok(()),
            Kind::Adaptive(a) => a.check(stage, what),
        }
    }

    /// A new controller for one stage, starting at [`Limit::initial`].
    /// Each stage takes its own; clones of a controller share its state.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let ctl = Limit::fixed(4).controller();
    /// assert_eq!(ctl.limit(), 4);
    /// ```
    pub fn controller(&self) -> Controller {
        match &self.kind {
            Kind::Fixed(n) => Controller::fixed(*n),
            Kind::Adaptive(a) => Controller::adaptive(a.clone()),
        }
    }
}

impl From<usize> for Limit {
    fn from(n: usize) -> Limit {
        Limit::fixed(n)
    }
}

impl From<Adaptive> for Limit {
    fn from(a: Adaptive) -> Limit {
        Limit {
            kind: Kind::Adaptive(a),
        }
    }
}
