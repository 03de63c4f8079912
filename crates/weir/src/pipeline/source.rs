//! The builder's sources are the engine's, as `weir_stage`'s stage
//! functions run them: a channel ([`weir_stage::engine::RecvSource`]),
//! given now or through a [`Slot`] filled when the pipeline starts, an
//! iterator ([`weir_stage::engine::IterSource`]) and a stream
//! ([`weir_stage::engine::StreamSource`]).

pub(crate) use weir_stage::engine::{IterSource, RecvSource, Slot, Stop, StreamSource};

/// A channel made inside the pipeline (a stage's output), read by the
/// flow after it: it counts nothing, since the channel counts what crosses
/// it (sent, received, peak) for its edge. `shared` when other readers
/// share the channel (a `fan_out` branch): a stage with tasks of its own
/// then reads it through a relay, so that each reader is an edge of its
/// own.
pub(crate) fn channel_source<T>(slot: Slot<T>, shared: bool) -> RecvSource<T> {
    let src = RecvSource::later(slot);
    if shared {
        src.shared()
    } else {
        src
    }
}
