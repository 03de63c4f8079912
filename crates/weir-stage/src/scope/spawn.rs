//! Spawning a scope's tasks: stages, sources, sinks and plain tasks.

#[allow(clippy::wildcard_imports)]
use super::*;

impl Scope {
    /// Spawns a plain task into the scope (errgroup's `Go`): its error or
    /// panic is reported like a stage's, and it is cancelled with the scope.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// scope.named("fetch").spawn(async { Err::<(), _>("connection refused") });
    /// let err = scope.wait().await.unwrap_err();
    /// assert_eq!(err.to_string(), "stage `fetch` failed");
    /// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "connection refused");
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F, E>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.spawn_stage("task", Role::Stage, |_| async move {
            future.await.map_err(Into::into)
        });
    }

    /// Spawns a task whose errors already say which stage failed (a
    /// [`weir_stage::Error`](Error) rather than any error): it is reported
    /// as it is, not wrapped. This is how a task running several fused
    /// stages, or stages of its own, reports which one failed. A panic is
    /// reported naming the task (the view's name, or `task#N`) and counted
    /// as an error of the view's stage; an error it returns is not counted
    /// in [`stats`](Scope::stats) here: whoever named the stage in it counts
    /// it (the engine does, for the stages it runs).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{Error, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// scope.named("segment").spawn_task(async {
    ///     Err(Error::Failed { stage: "parse".into(), source: "bad digit".into() })
    /// });
    /// let err = scope.wait().await.unwrap_err();
    /// assert_eq!(err.stage(), Some("parse"));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_task<F>(&self, future: F)
    where
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.spawn_raw("task", Role::Stage, Timing::Polls, |_| async move {
            future.await.map_err(Failure::Named)
        });
    }

    /// Spawns a task that runs engine loops ([`run_into`](crate::engine::run_into),
    /// [`run_sink`](crate::engine::run_sink)) over this view's stage, like
    /// [`spawn_task`](Scope::spawn_task), but without timing its polls:
    /// the engine counts each stage's busy time per batch, so timing the
    /// task too would count it twice. This is how the `weir` builder runs a
    /// fused segment of several stages. Its errors are not counted either:
    /// the engine counts an error where it names the stage.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_core::chan;
    /// use weir_stage::engine::{self, IterSource, Stage};
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let numbers = Stage::new("generate", "numbers");
    /// let ctx = scope.context().clone();
    /// let src = IterSource::new(0..5u32, numbers.clone(), &ctx, &ctx, Default::default());
    /// let (tx, rx) = chan::bounded(8);
    /// let stage = numbers.clone();
    /// scope.stage(&numbers).spawn_engine_task(async move {
    ///     engine::run_into(Box::new(src), tx, &stage).await
    /// });
    /// let stats = scope.stats();
    /// scope.wait().await.unwrap();
    /// assert_eq!(rx.len(), 5);
    /// let counts = stats.record_of(numbers.id()).unwrap().counters().snapshot();
    /// assert_eq!((counts.items_out, counts.tasks), (5, 1));
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_engine_task<F>(&self, future: F)
    where
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.spawn_raw("task", Role::Stage, Timing::Engine, |_| async move {
            future.await.map_err(Failure::Named)
        });
    }

    /// Spawns a producing task into the scope: like [`spawn`](Scope::spawn),
    /// but [`shutdown`](OwnedScope::shutdown) stops it (as a success) so that what
    /// it already produced drains downstream.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like [`tokio::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_core::chan;
    /// use weir_stage::Scope;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let (tx, rx) = chan::bounded(8);
    /// scope.named("ticker").spawn_source(async move {
    ///     for i in 0u64.. {
    ///         tx.send(i).await?;
    ///     }
    ///     Ok::<_, chan::SendError<u64>>(())
    /// });
    /// assert_eq!(rx.recv().await, Some(0));
    /// scope.shutdown().await.unwrap();
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn_source<F, E>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.spawn_stage("source", Role::Source, |_| async move {
            future.await.map_err(Into::into)
        });
    }

    pub(super) fn lock_tasks(&self) -> std::sync::MutexGuard<'_, JoinSet<()>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A channel for a stage's output, with this view's capacity.
    pub(crate) fn channel<T>(&self) -> (Sender<T>, Receiver<T>) {
        chan::bounded(self.capacity.unwrap_or(self.shared.capacity))
    }

    /// The name the next stage of `kind` gets.
    pub(crate) fn stage_name(&self, kind: &str) -> Arc<str> {
        match &self.name {
            Some(name) => name.clone(),
            None => {
                let n = self.shared.counter.fetch_add(1, Ordering::Relaxed);
                format!("{kind}#{n}").into()
            }
        }
    }

    /// The stage name a [`ConfigError`](crate::ConfigError) reports for a
    /// stage of `kind` that was never built: this view's name, or `kind`
    /// itself (no number is used up).
    pub(crate) fn config_name(&self, kind: &str) -> Arc<str> {
        self.name.clone().unwrap_or_else(|| kind.into())
    }

    /// Spawns a stage task. `body` gets the stage's [`StageCx`]; its error
    /// or panic is recorded under the stage's name; cancellation of the
    /// scope drops it wherever it waits. A [`Role::Source`] also stops, as a
    /// success, on [`OwnedScope::shutdown`].
    #[track_caller]
    pub(crate) fn spawn_stage<B, F>(&self, kind: &'static str, role: Role, body: B) -> Arc<str>
    where
        B: FnOnce(StageCx) -> F,
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.spawn_raw(kind, role, Timing::Polls, |cx| {
            let body = body(cx);
            async move { body.await.map_err(Failure::Unnamed) }
        })
    }

    /// Runs a fusible step over `input` in a task of its own: the door
    /// behind `stage::map` and the other step stages.
    #[track_caller]
    pub(crate) fn spawn_step<T, S>(&self, input: Receiver<T>, step: S) -> Receiver<S::Out>
    where
        T: Send + 'static,
        S: Step<T>,
    {
        let (tx, rx) = self.channel();
        self.spawn_raw(S::KIND, Role::Stage, Timing::Engine, move |cx| {
            let stage = cx.engine_stage();
            let fused = Fused::new(Box::new(RecvSource::new(input)), step, stage.clone());
            let fused = if cx.shared.collect {
                let cx = cx.clone();
                // The fused step counts its errors itself.
                fused.keep_going(Arc::new(move |e| cx.report_counted(e)))
            } else {
                fused
            };
            async move {
                run_into(Box::new(fused), tx, &stage)
                    .await
                    .map_err(Failure::Named)
            }
        });
        rx
    }

    /// Runs a sink step over `input` in a task of its own: the door behind
    /// `stage::fold` and the other sink stages.
    #[track_caller]
    pub(crate) fn spawn_sink<T, K>(&self, input: Receiver<T>, sink: K) -> SinkOutput<K::Output>
    where
        T: Send + 'static,
        K: SinkStep<T>,
    {
        let (done, output) = SinkOutput::channel();
        self.spawn_raw(K::KIND, Role::Stage, Timing::Engine, move |cx| async move {
            let result = run_sink(Box::new(RecvSource::new(input)), sink, &cx.engine_stage())
                .await
                .map_err(Failure::Named)?;
            let _ = done.send(result);
            Ok(())
        });
        output
    }

    /// Runs an engine body (one that names its own errors) over the
    /// stage's [`Stage`] in a task of its own: the door behind stage
    /// functions whose loop the builder runs too.
    #[track_caller]
    pub(crate) fn spawn_engine<B, F>(&self, kind: &'static str, body: B)
    where
        B: FnOnce(Arc<Stage>) -> F,
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.spawn_engine_as(kind, Role::Stage, body);
    }

    /// [`spawn_engine`](Scope::spawn_engine) in `role` (a
    /// [`Role::Source`] also stops, as a success, on shutdown).
    #[track_caller]
    pub(crate) fn spawn_engine_as<B, F>(&self, kind: &'static str, role: Role, body: B)
    where
        B: FnOnce(Arc<Stage>) -> F,
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.spawn_raw(kind, role, Timing::Engine, move |cx| {
            let run = body(cx.engine_stage());
            async move { run.await.map_err(Failure::Named) }
        });
    }

    /// Spawns a task of this view's stage (a fresh one for the scope
    /// itself), counted in the stage's record: its tasks, and, with
    /// [`Timing::Polls`], its poll time as busy time. An error it returns
    /// that names its stage ([`Failure::Named`]) was counted where it was
    /// named; any other failure or panic is counted here.
    #[track_caller]
    pub(crate) fn spawn_raw<B, F>(
        &self,
        kind: &'static str,
        role: Role,
        timing: Timing,
        body: B,
    ) -> Arc<str>
    where
        B: FnOnce(StageCx) -> F,
        F: Future<Output = Result<(), Failure>> + Send + 'static,
    {
        let id = self.id.unwrap_or_else(StageId::next);
        let name = self.stage_name(kind);
        let record = match &self.record {
            Some(record) => self.shared.stats.adopt(record),
            None => self.shared.stats.record(id, kind, &name),
        };
        let cx = StageCx {
            name: name.clone(),
            id,
            shared: self.shared.clone(),
            stage: record.clone(),
        };
        let name = cx.name.clone();
        let shared = self.shared.clone();
        let body = AssertUnwindSafe(body(cx.clone())).catch_unwind();
        let stop = (role == Role::Source).then(|| shared.stop_ctx.clone());
        let task = async move {
            let stopped = async {
                match &stop {
                    Some(stop) => stop.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let outcome = tokio::select! {
                biased;
                _ = shared.ctx.cancelled() => None,
                _ = stopped => Some(Ok(Ok(()))),
                done = body => Some(done),
            };
            match outcome {
                None => shared.interrupted.store(true, Ordering::Release),
                Some(Ok(Ok(()))) => {}
                // A task that already names its stage (a fused segment of
                // several stages, say) is reported as it says.
                Some(Ok(Err(Failure::Named(error)))) => shared.record(None, error),
                Some(Ok(Err(Failure::Unnamed(source)))) => shared.record(
                    Some(cx.id),
                    Error::Failed {
                        stage: cx.name,
                        source,
                    },
                ),
                Some(Err(payload)) => shared.record(
                    Some(cx.id),
                    Error::Panicked {
                        stage: cx.name,
                        message: panic_message(&*payload),
                    },
                ),
            }
        };
        let task = crate::stats::track(record, task, timing == Timing::Polls);
        #[cfg(feature = "tracing")]
        let task =
            tracing::Instrument::instrument(task, tracing::info_span!("stage", name = %name));
        // Counted before the task exists; dropped with its future (after a
        // panic of ours is recorded), so the joiner, woken at zero, finds
        // everything recorded and nothing to learn from the tasks' handles.
        let live = self.shared.live.guard();
        let shared = self.shared.clone();
        let task = async move {
            let _live = live;
            if let Err(payload) = AssertUnwindSafe(task).catch_unwind().await {
                // The wrapper above catches the stage's own panics; this is
                // a bug of ours, but still must not be lost.
                shared.record(
                    None,
                    Error::Panicked {
                        stage: "<scope>".into(),
                        message: panic_message(&*payload),
                    },
                );
            }
        };
        // With tokio's unstable task names (what tokio-console shows), the
        // task is named after the stage.
        #[cfg(all(tokio_unstable, feature = "tracing"))]
        if let Err(e) = self.lock_tasks().build_task().name(&name).spawn(task) {
            panic!("spawning stage `{name}`: {e}");
        }
        #[cfg(not(all(tokio_unstable, feature = "tracing")))]
        self.lock_tasks().spawn(task);
        name
    }
}

/// Who counts a task's busy time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timing {
    /// The scope, as the task's poll time: the task runs the stage's code
    /// its own way (a worker pool's worker, a split).
    Polls,
    /// The engine, per batch, for each stage the task runs.
    Engine,
}
