//! [`Shared`]: what a pipeline's builder, its runs and its stages share —
//! the scope, the stop signals and the graph under construction.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use weir_cancel::Context;
use weir_stage::engine::Stage;
use weir_stage::{ConfigError, Error, OwnedScope, Scope, ScopeHandle};

use super::graph::{EdgeCell, Graph, NodeId};
use super::source::Stop;

pub(crate) struct Shared {
    /// Taken by whoever joins the pipeline.
    pub(crate) scope: Mutex<Option<OwnedScope>>,
    /// The scope's context and shutdown signal (the sources watch it),
    /// kept for after the scope is taken.
    pub(crate) ctx: Context,
    pub(crate) stop: Context,
    /// Cancels or shuts down the scope, wherever the scope itself is.
    pub(crate) handle: ScopeHandle,
    /// Everything the builder records, in one value.
    state: Mutex<Builder>,
    pub(crate) capacity: usize,
    /// Set when a graceful stop ended a source before its input ended.
    pub(crate) cut_short: Arc<AtomicBool>,
    /// How the run ended, told by the sink that ran it to the others:
    /// `None` while running; `Some(None)` a clean end; `Some(Some(e))` its
    /// first error.
    pub(crate) ended: tokio::sync::watch::Sender<Option<Option<Arc<Error>>>>,
}

/// What the builder records: the graph, the spawns waiting for the start,
/// the problems found while building, and the drain-mode contexts. One
/// lock; the start itself is serialized by [`Shared::scope`]'s lock.
struct Builder {
    graph: Graph,
    /// Problems found while building (unconnected outputs, bad settings),
    /// reported when the pipeline is joined, before anything runs.
    faults: Vec<Fault>,
    /// Why the pipeline was refused to start, if it was.
    refused: Option<ConfigError>,
    /// Stage spawns, run in build order (upstream first) when the pipeline
    /// starts: nothing runs until a sink is awaited or run.
    deferred: Vec<Deferred>,
    /// Contexts whose end stops the sources gracefully (drain mode).
    drain: Vec<Context>,
}

/// The builder's graph, locked (a guard on the builder's one lock that
/// shows only the graph).
pub(crate) struct GraphGuard<'a>(std::sync::MutexGuard<'a, Builder>);

impl std::ops::Deref for GraphGuard<'_> {
    type Target = Graph;

    fn deref(&self) -> &Graph {
        &self.0.graph
    }
}

impl std::ops::DerefMut for GraphGuard<'_> {
    fn deref_mut(&mut self) -> &mut Graph {
        &mut self.0.graph
    }
}

pub(crate) type Deferred = Box<dyn FnOnce(&Arc<Shared>, &Scope) + Send>;

/// A problem found while building, turned into an error when the pipeline
/// starts (so that a later `.named(…)` is reflected in it).
pub(crate) type Fault = Box<dyn FnOnce() -> Error + Send>;

impl Shared {
    /// A pipeline's shared state over `scope`, with an empty graph.
    pub(crate) fn new(scope: OwnedScope, capacity: usize) -> Shared {
        Shared {
            handle: scope.handle(),
            stop: scope.shutdown_signal().clone(),
            ctx: scope.context().clone(),
            state: Mutex::new(Builder {
                graph: Graph::new(scope.stats()),
                faults: Vec::new(),
                refused: None,
                deferred: Vec::new(),
                drain: Vec::new(),
            }),
            scope: Mutex::new(Some(scope)),
            capacity,
            cut_short: Arc::default(),
            ended: tokio::sync::watch::Sender::new(None),
        }
    }

    /// The graceful stop, as a source fed from outside watches it.
    pub(crate) fn stop_signal(&self) -> Stop {
        Stop::new(&self.stop, self.cut_short.clone())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Builder> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The graph (holding the builder's lock).
    pub(crate) fn graph(&self) -> GraphGuard<'_> {
        GraphGuard(self.state())
    }

    /// Queues a spawn for when the pipeline starts.
    pub(crate) fn defer(&self, spawn: impl FnOnce(&Arc<Shared>, &Scope) + Send + 'static) {
        self.state().deferred.push(Box::new(spawn));
    }

    /// Takes the queued spawns (to run them, or, refused, to drop them).
    pub(crate) fn take_deferred(&self) -> Vec<Deferred> {
        std::mem::take(&mut self.state().deferred)
    }

    /// Takes the drain-mode contexts (when the pipeline starts).
    /// Adds a context whose end starts a graceful stop.
    pub(crate) fn drain_on(&self, ctx: &Context) {
        self.state().drain.push(ctx.clone());
    }

    pub(crate) fn take_drains(&self) -> Vec<Context> {
        std::mem::take(&mut self.state().drain)
    }

    /// Adds a stage fed by the edges `from` (through a channel unless
    /// `fused`).
    pub(crate) fn add_stage(
        &self,
        kind: &'static str,
        from: &[Arc<EdgeCell>],
        fused: bool,
    ) -> NodeId {
        let mut g = self.graph();
        let node = g.add(kind, None);
        for cell in from {
            g.connect(cell.clone(), node, fused);
        }
        node
    }

    /// The engine's stage behind graph node `node`.
    pub(crate) fn stage(&self, node: NodeId) -> Arc<Stage> {
        self.graph().node(node).stage.clone()
    }

    pub(crate) fn fault(&self, error: Error) {
        self.fault_with(move || error);
    }

    /// Records a fault whose error is made when the pipeline starts.
    pub(crate) fn fault_with(&self, fault: impl FnOnce() -> Error + Send + 'static) {
        self.state().faults.push(Box::new(fault));
    }

    /// Records why the pipeline was refused, for its other sinks.
    pub(crate) fn refuse(&self, why: ConfigError) {
        self.state().refused = Some(why);
    }

    /// Why the pipeline was refused, if it was.
    pub(crate) fn refusal(&self) -> Option<crate::error::Error> {
        self.state().refused.clone().map(crate::error::Error::from)
    }

    /// The run ended, with `error` its first error if it failed: told to
    /// every sink waiting in [`outcome`](Shared::outcome).
    pub(crate) fn finish(&self, error: Option<&Error>) {
        let error = error.map(|e| Arc::new(e.replicate()));
        self.ended.send_replace(Some(error));
    }

    /// Waits for the run to end; its first error (a copy), if it failed.
    /// `None` also when the sink running it was dropped first (the run was
    /// cancelled).
    pub(crate) async fn outcome(&self) -> Option<Error> {
        let mut ended = self.ended.subscribe();
        let seen = ended.wait_for(Option::is_some).await.ok()?;
        seen.as_ref()?.as_ref().map(|e| e.replicate())
    }

    /// The first fault recorded so far, if any (the rest are dropped).
    pub(crate) fn first_fault(&self) -> Option<Error> {
        let faults = std::mem::take(&mut self.state().faults);
        faults.into_iter().next().map(|make| make())
    }
}
