//! [`GraphView`]: reading a pipeline's graph — its counters and drawings.

use std::fmt;
use std::sync::Arc;

use super::shared::Shared;
use crate::observe::Metrics;

/// A pipeline's graph, read: the counters of every stage and edge, and the
/// graph drawn as Mermaid or DOT, with the counts so far.
///
/// Both a [`Pipeline`](super::Pipeline) and its
/// [`RunHandle`](super::RunHandle) dereference to the one `GraphView` of
/// their graph, so `p.metrics()` and `run.metrics()` are this type's
/// methods: live while the pipeline runs, final after it ends.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::{GraphView, Pipeline};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let p = Pipeline::new(&Context::background());
/// let run = p.source(0..10).collect::<Vec<_>>().run();
/// let (from_pipeline, from_run): (&GraphView, &GraphView) = (&p, &run);
/// assert_eq!(from_pipeline.to_dot(), from_run.to_dot());
/// run.join().await.unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct GraphView {
    shared: Arc<Shared>,
}

impl GraphView {
    /// The view of the graph in `shared`.
    pub(crate) fn new(shared: Arc<Shared>) -> GraphView {
        GraphView { shared }
    }

    /// A snapshot of every stage's and edge's counters: live while the
    /// pipeline runs, final after it ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let p = Pipeline::new(&Context::background());
    /// let evens = p.source(0..100).filter(|n| n % 2 == 0).named("evens").collect::<Vec<_>>().await;
    /// assert_eq!(evens.unwrap().len(), 50);
    /// let m = p.metrics();
    /// let stage = m.stages.iter().find(|s| s.name == "evens").unwrap();
    /// assert_eq!((stage.items_in, stage.items_out), (100, 50));
    /// # }
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.shared.graph().metrics()
    }

    /// The graph as a Mermaid flowchart, with the counts so far. Fused
    /// stages are joined by dashed edges, channels by solid ones labelled
    /// with their fill.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// let p = Pipeline::new(&Context::background());
    /// let _sink = p.source(0..3).square().collect::<Vec<i32>>();
    /// let chart = p.to_mermaid();
    /// assert!(chart.starts_with("flowchart LR"));
    /// assert!(chart.contains("fused"));
    /// ```
    pub fn to_mermaid(&self) -> String {
        self.shared.graph().to_mermaid()
    }

    /// The graph in Graphviz DOT, with the counts so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// let p = Pipeline::new(&Context::background());
    /// let _sink = p.source(0..3).collect::<Vec<_>>();
    /// assert!(p.to_dot().starts_with("digraph pipeline"));
    /// ```
    pub fn to_dot(&self) -> String {
        self.shared.graph().to_dot()
    }
}

impl fmt::Debug for GraphView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.metrics();
        f.debug_struct("GraphView")
            .field("stages", &m.stages.len())
            .field("edges", &m.edges.len())
            .finish()
    }
}

#[cfg(feature = "dashboard")]
impl GraphView {
    /// Where the run is: not started, running, draining, finished or
    /// failed (with its first error).
    pub(crate) fn run_state(&self) -> RunState {
        if let Some(ended) = self.shared.ended.borrow().clone() {
            return match ended {
                None => RunState::Finished,
                Some(e) => RunState::Failed(with_causes(&*e)),
            };
        }
        if let Some(refused) = self.shared.refusal() {
            return RunState::Failed(with_causes(&refused));
        }
        let started = self
            .shared
            .scope
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none();
        if !started {
            RunState::Idle
        } else if self.shared.stop.is_cancelled() {
            RunState::Draining
        } else {
            RunState::Running
        }
    }
}

/// An error's message followed by its causes': `a: b: c`.
#[cfg(feature = "dashboard")]
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        // Some errors repeat their cause in their own message.
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// Where a run is, as the dashboard's banner shows it.
#[cfg(feature = "dashboard")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Built, not started.
    Idle,
    Running,
    /// A graceful stop is under way: the sources stopped, the rest drains.
    Draining,
    Finished,
    /// Failed (or cancelled), with the first error's text.
    Failed(String),
}

#[cfg(feature = "dashboard")]
impl RunState {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Draining => "draining",
            RunState::Finished => "finished",
            RunState::Failed(_) => "failed",
        }
    }

    pub(crate) fn error(&self) -> Option<&str> {
        match self {
            RunState::Failed(e) => Some(e),
            _ => None,
        }
    }
}
