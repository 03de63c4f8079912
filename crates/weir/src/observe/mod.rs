//! What a pipeline reports about itself: [`Metrics`] (a snapshot of
//! every stage's and edge's record) and [`Diagnosis`] (what a pipeline
//! that would not stop was doing). Re-exported from
//! [`pipeline`](crate::pipeline); kept apart from it so that
//! [`Error`](crate::Error), which carries a diagnosis, does not import
//! from the module that imports it.

mod diagnosis;
mod metrics;
#[cfg(any(feature = "metrics", feature = "dashboard"))]
pub(crate) mod series;

pub use diagnosis::{Diagnosis, EdgeState};
pub use metrics::{EdgeMetrics, Metrics, StageMetrics};
