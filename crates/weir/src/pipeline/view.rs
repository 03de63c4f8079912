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
