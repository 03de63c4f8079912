//! [`Diagnosis`]: what a pipeline that would not stop was doing.

use std::fmt;

use super::metrics::Metrics;

/// What a pipeline that would not stop was doing, from
/// [`RunHandle::join_timeout`](crate::pipeline::RunHandle::join_timeout): the stages still running and every edge's
/// queue (a full queue before a running stage points at the stage stuck).
///
/// # Examples
///
/// ```
/// use weir::pipeline::{Diagnosis, Metrics};
///
/// let d = Diagnosis::of(&Metrics::default());
/// assert!(d.running.is_empty());
/// assert_eq!(d.to_string(), "no stage is running");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnosis {
    /// Names of the stages whose tasks are still running.
    pub running: Vec<String>,
    /// Every channel edge and how full it is.
    pub edges: Vec<EdgeState>,
}

/// One channel edge of a [`Diagnosis`]: how full it is now.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::{Diagnosis, Pipeline};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let p = Pipeline::with_capacity(&Context::background(), 4);
/// p.source(0..10).worker_pool(1, |n| async move { Ok::<_, std::io::Error>(n) })
///     .for_each(drop).await.unwrap();
/// let d = Diagnosis::of(&p.metrics());
/// let edge = &d.edges[0];
/// assert_eq!((edge.from.as_str(), edge.queued, edge.capacity), ("source#0", 0, Some(4)));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EdgeState {
    /// The upstream stage's name.
    pub from: String,
    /// The downstream stage's name.
    pub to: String,
    /// Items queued in the channel now.
    pub queued: usize,
    /// The channel's capacity (`None`: unbounded).
    pub capacity: Option<usize>,
}

impl EdgeState {
    /// An edge from `from` to `to` holding `queued` of `capacity` items.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::pipeline::EdgeState;
    ///
    /// let e = EdgeState::new("gen", "pool", 4, Some(4));
    /// assert_eq!(e.queued, 4);
    /// ```
    pub fn new(
        from: impl Into<String>,
        to: impl Into<String>,
        queued: usize,
        capacity: Option<usize>,
    ) -> EdgeState {
        EdgeState {
            from: from.into(),
            to: to.into(),
            queued,
            capacity,
        }
    }

    /// `"full"`, `"empty"` or `"partly full"`.
    fn state(&self) -> &'static str {
        match self.capacity {
            Some(c) if self.queued >= c => "full",
            _ if self.queued == 0 => "empty",
            _ => "partly full",
        }
    }
}

impl Diagnosis {
    /// Reads a diagnosis off a metrics snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::pipeline::{Diagnosis, Metrics};
    ///
    /// assert!(Diagnosis::of(&Metrics::default()).edges.is_empty());
    /// ```
    pub fn of(metrics: &Metrics) -> Diagnosis {
        Diagnosis {
            running: metrics
                .stages
                .iter()
                .filter(|s| s.running)
                .map(|s| s.name.clone())
                .collect(),
            edges: metrics
                .edges
                .iter()
                .filter_map(|e| {
                    Some(EdgeState {
                        from: e.from.clone(),
                        to: e.to.clone(),
                        queued: e.len?,
                        capacity: e.capacity,
                    })
                })
                .collect(),
        }
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.running.is_empty() {
            f.write_str("no stage is running")?;
        } else {
            write!(f, "still running: {}", self.running.join(", "))?;
        }
        for e in &self.edges {
            let (from, to, len) = (&e.from, &e.to, e.queued);
            write!(f, "; {from} -> {to}: {} ({len}", e.state())?;
            match e.capacity {
                Some(c) => write!(f, "/{c})")?,
                None => f.write_str(")")?,
            }
        }
        Ok(())
    }
}
