//! [`Cleanup`]: tidies a producer's run away, however it ends.

use std::time::Duration;

use weir_stage::ScopeView;

use super::Pool;

/// Tidies a run away: its result consumer and leftover results; on cancel
/// (a drop before `finished`) it also tells workers to drop the run's
/// running jobs and skip its queued ones.
pub(super) struct Cleanup {
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    /// The run's id: the last token of its subjects.
    pub(super) run: String,
    results_stream: String,
    pub(super) jobs_subject: String,
    pub(super) results_subject: String,
    /// Where the run's `cancel`, `alive` and `done` go.
    pub(super) control_subject: String,
    /// The run's durable consumer on the results stream.
    pub(super) consumer: String,
    /// Set once the run ended well: only its consumer and leftovers go.
    pub(super) finished: bool,
    /// The producer's stage: a cancelled run is tidied away as its last
    /// word, which the scope waits for.
    scope: Option<ScopeView>,
}

impl Cleanup {
    pub(super) fn new<C>(
        client: async_nats::Client,
        js: async_nats::jetstream::Context,
        pool: &Pool<C>,
        run: String,
    ) -> Cleanup {
        Cleanup {
            client,
            js,
            results_stream: pool.stream_name("RESULTS"),
            jobs_subject: pool.subject("jobs", &run),
            results_subject: pool.subject("results", &run),
            control_subject: pool.subject("control", &run),
            consumer: format!("r-{run}"),
            run,
            finished: false,
            scope: None,
        }
    }

    /// Tidies a cancelled run away as a finisher of the stage `view`
    /// builds ([`Scope::spawn_finisher`](weir_stage::Scope::spawn_finisher)).
    pub(super) fn in_scope(mut self, view: &ScopeView) -> Cleanup {
        self.scope = Some(view.clone());
        self
    }

    pub(super) async fn finish(&self, cancelled: bool) {
        if !cancelled {
            // Workers stop tracking the run's lease.
            let _ = self
                .client
                .publish(self.control_subject.clone(), "done".into())
                .await;
        }
        if cancelled {
            // Workers drop the run's running jobs and ack its queued ones
            // unrun as they come. The queued jobs are not purged: a purge
            // filtered on this run's subject moves the workers' consumer
            // (filtered on all runs) past other runs' jobs on nats-server
            // before 2.9.12 (nats-server#3838), and they are never delivered.
            let _ = self
                .client
                .publish(self.control_subject.clone(), "cancel".into())
                .await;
            let _ = self.client.flush().await;
        }
        if let Ok(results) = self.js.get_stream(&self.results_stream).await {
            let _ = results.delete_consumer(&self.consumer).await;
            let _ = results.purge().filter(self.results_subject.clone()).await;
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let this = Cleanup {
            client: self.client.clone(),
            js: self.js.clone(),
            run: std::mem::take(&mut self.run),
            results_stream: std::mem::take(&mut self.results_stream),
            jobs_subject: std::mem::take(&mut self.jobs_subject),
            results_subject: std::mem::take(&mut self.results_subject),
            control_subject: std::mem::take(&mut self.control_subject),
            consumer: std::mem::take(&mut self.consumer),
            finished: true,
            scope: None,
        };
        self.finished = true;
        // Bounded: a server that is away does not keep this alive.
        let last_word = async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), this.finish(true)).await;
        };
        match &self.scope {
            Some(scope) => scope.spawn_finisher(last_word),
            None => {
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(last_word);
                }
            }
        }
    }
}
