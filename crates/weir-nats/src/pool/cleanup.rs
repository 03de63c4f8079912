//! [`Cleanup`]: tidies a producer's run away, however it ends.

use std::time::Duration;

use super::Pool;

/// Tidies a run away: on success its consumer and leftovers; on cancel (a
/// drop before `finished`) also its queued jobs, and tells workers to drop
/// its running ones.
pub(super) struct Cleanup {
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    /// The run's id: the last token of its subjects.
    pub(super) run: String,
    jobs_stream: String,
    results_stream: String,
    pub(super) jobs_subject: String,
    pub(super) results_subject: String,
    control_subject: String,
    /// The run's durable consumer on the results stream.
    pub(super) consumer: String,
    /// Set once the run ended well: only its consumer and leftovers go.
    pub(super) finished: bool,
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
            jobs_stream: pool.stream_name("JOBS"),
            results_stream: pool.stream_name("RESULTS"),
            jobs_subject: pool.subject("jobs", &run),
            results_subject: pool.subject("results", &run),
            control_subject: pool.subject("control", &run),
            consumer: format!("r-{run}"),
            run,
            finished: false,
        }
    }

    pub(super) async fn finish(&self, cancelled: bool) {
        if cancelled {
            let _ = self
                .client
                .publish(self.control_subject.clone(), "cancel".into())
                .await;
            let _ = self.client.flush().await;
            if let Ok(jobs) = self.js.get_stream(&self.jobs_stream).await {
                let _ = jobs.purge().filter(self.jobs_subject.clone()).await;
            }
            // Jobs that were running when the purge came: tell again.
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
            jobs_stream: std::mem::take(&mut self.jobs_stream),
            results_stream: std::mem::take(&mut self.results_stream),
            jobs_subject: std::mem::take(&mut self.jobs_subject),
            results_subject: std::mem::take(&mut self.results_subject),
            control_subject: std::mem::take(&mut self.control_subject),
            consumer: std::mem::take(&mut self.consumer),
            finished: true,
        };
        self.finished = true;
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            // Bounded: a server that is away does not keep this alive.
            handle.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), this.finish(true)).await;
            });
        }
    }
}
