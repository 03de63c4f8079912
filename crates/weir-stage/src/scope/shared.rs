//! What a scope's views and tasks share (its signals, errors and
//! statistics), and what a stage's task sees of it ([`StageCx`]).

#[allow(clippy::wildcard_imports)]
use super::*;

pub(crate) struct Shared {
    pub(super) ctx: Context,
    pub(super) cancel: CancelHandle,
    /// Sources watch this; [`OwnedScope::shutdown`] cancels it.
    pub(super) stop_ctx: Context,
    pub(super) stop: CancelHandle,
    pub(super) errors: Mutex<Vec<Error>>,
    /// Errors that may only be the consequence of another stage's failure
    /// (a branch's receiver gone because its task failed): they are the
    /// outcome only when no stage reports a failure of its own, whatever
    /// the order in which the two were reported.
    pub(super) consequences: Mutex<Vec<Error>>,
    /// The registry of stage records, one per stage id.
    pub(super) stats: ScopeStats,
    /// A stage was stopped by cancellation before it finished.
    pub(super) interrupted: AtomicBool,
    pub(super) collect: bool,
    pub(super) capacity: usize,
    pub(super) counter: AtomicUsize,
    /// The stages' helper tasks still running ([`Scope::spawn_helper`]).
    pub(super) helpers: WaitGroup,
    /// The scope's tasks still running: each holds a guard of it from its
    /// spawn until its future is dropped (ended, cancelled or aborted), so
    /// the joiner is woken once, by the last one, not by each (a `JoinSet`
    /// wakes its joiner at every task that ends).
    pub(super) live: WaitGroup,
    /// Cancelled once every stage task has ended (or with the scope): ends
    /// the helpers still running.
    pub(super) helpers_ctx: Context,
    pub(super) helpers_end: CancelHandle,
}

impl Shared {
    /// A stage's failure: the first one cancels the scope with itself as
    /// the cause (what every stage then sees in its context's
    /// [`cause`](weir_cancel::Context::cause)). It is counted against
    /// stage `id`, if given: `None` for an error the stage's own code
    /// counted where it named it (the engine's).
    pub(super) fn record(&self, id: Option<StageId>, error: Error) {
        if !self.collect && !matches!(error, Error::Cancelled(_)) {
            self.cancel
                .cancel_with(weir_cancel::Cause::new(error.replicate()));
        }
        self.push(&self.errors, id, error);
    }

    pub(super) fn record_consequence(&self, id: StageId, error: Error) {
        self.push(&self.consequences, Some(id), error);
    }

    pub(super) fn push(&self, list: &Mutex<Vec<Error>>, id: Option<StageId>, error: Error) {
        if let Some(id) = id {
            self.count_error(id, &error);
        }
        list.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(error);
        if !self.collect {
            self.cancel.cancel();
        }
    }

    /// Counts an error against the stage whose task reported it.
    pub(super) fn count_error(&self, id: StageId, error: &Error) {
        match error {
            Error::Failed { .. } | Error::Panicked { .. } => self.stats.error(id),
            Error::Multiple(errors) => errors.iter().for_each(|e| self.count_error(id, e)),
            Error::Cancelled(_) | Error::Config(_) => {}
        }
    }

    pub(super) fn outcome(&self) -> Result<(), Error> {
        let take = |list: &Mutex<Vec<Error>>| {
            std::mem::take(&mut *list.lock().unwrap_or_else(PoisonError::into_inner))
        };
        let mut errors = take(&self.errors);
        let consequences = take(&self.consequences);
        if errors.is_empty() || self.collect {
            errors.extend(consequences);
        }
        match errors.len() {
            0 if self.interrupted.load(Ordering::Acquire) => Err(Error::Cancelled(
                self.ctx.err().unwrap_or(ContextError::Canceled),
            )),
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ if self.collect => Err(Error::Multiple(errors)),
            _ => Err(errors.remove(0)),
        }
    }
}

/// What a running stage knows about itself: its name, and where to report
/// an error that should not stop it.
#[derive(Clone)]
pub(crate) struct StageCx {
    pub(crate) name: Arc<str>,
    pub(super) id: StageId,
    pub(super) shared: Arc<Shared>,
    /// The stage's record (every counter it has).
    pub(super) stage: Arc<Stage>,
}

/// How a task body failed: with any error (named after the task), or with
/// an error that already names its stage.
pub(crate) enum Failure {
    Unnamed(BoxError),
    Named(Error),
}

impl StageCx {
    /// Reports an error under the scope's policy: fail fast cancels the
    /// scope, collect-errors records it and the stage keeps going.
    pub(crate) fn report(&self, source: BoxError) {
        self.shared.record(
            Some(self.id),
            Error::Failed {
                stage: self.name.clone(),
                source,
            },
        );
    }

    /// Reports an error the stage's code has counted already (a fused
    /// step's per-item error, under collect-errors).
    pub(crate) fn report_counted(&self, source: BoxError) {
        self.shared.record(
            None,
            Error::Failed {
                stage: self.name.clone(),
                source,
            },
        );
    }

    /// Reports an error that may only be the consequence of another
    /// stage's failure — a branch whose receiver is gone, say, because the
    /// branch's task failed or panicked (which drops the receiver before
    /// the failure is recorded). It is the scope's outcome only if no stage
    /// reports a failure of its own.
    pub(crate) fn report_consequence(&self, source: BoxError) {
        self.shared.record_consequence(
            self.id,
            Error::Failed {
                stage: self.name.clone(),
                source,
            },
        );
    }

    /// The stage's record, for a stage the engine runs.
    pub(crate) fn engine_stage(&self) -> Arc<Stage> {
        self.stage.clone()
    }

    /// The scope's context.
    pub(crate) fn context(&self) -> &Context {
        &self.shared.ctx
    }

    /// The stage's counters, for the counts only it knows (retries,
    /// skipped and dead-lettered jobs).
    pub(crate) fn stats(&self) -> &crate::engine::Counters {
        self.stage.counters()
    }

    /// Gives the stage's record its concurrency limit (once).
    pub(crate) fn set_limit(&self, limit: crate::limit::Controller) {
        self.stage.set_limit(limit);
    }

    /// The stage's concurrency limit, if it has one.
    pub(crate) fn limit(&self) -> Option<&crate::limit::Controller> {
        self.stage.limit()
    }
}

/// Whether a stage is a source (stopped by [`OwnedScope::shutdown`]) or not.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Source,
    Stage,
}
