//! The builder's sources are the engine's, as `weir_stage`'s stage
//! functions run them: a channel ([`weir_stage::engine::RecvSource`]),
//! given now or through a [`Slot`] filled when the pipeline starts, an
//! iterator ([`weir_stage::engine::IterSource`]) and a stream
//! ([`weir_stage::engine::StreamSource`]).

use std::sync::Arc;

pub(crate) use weir_stage::engine::{IterSource, RecvSource, Slot, Stop, StreamSource};

use super::graph::EdgeCell;

/// A channel made inside the pipeline (a stage's output), read by the
/// flow after it: it counts nothing (what crossed is read off the
/// channel) but samples how full the channel is, for its `edge`'s peak.
/// `shared` when other readers share the channel (a `fan_out` branch): a
/// stage with tasks of its own then reads it through a relay, so that
/// each reader is an edge of its own.
pub(crate) fn channel_source<T>(
    slot: Slot<T>,
    edge: &Arc<EdgeCell>,
    shared: bool,
) -> RecvSource<T> {
    let edge = edge.clone();
    let src = RecvSource::later(slot).sampled(Arc::new(move |queued| edge.queued(queued)));
    if shared {
        src.shared()
    } else {
        src
    }
}
