//! [`Flow::worker_pool_with`]: the builder's door to a configured
//! [`WorkerPool`], whose [`PoolHandle`](weir_stage::PoolHandle) resizes it
//! while the pipeline runs.

use std::future::Future;

use weir_stage::{BoxError, WorkerPool};

use super::flow::Flow;

/// # Concurrency: a worker pool you resize
///
/// [`worker_pool_with`](Flow::worker_pool_with) runs a configured
/// [`WorkerPool`], whose handle resizes it while the pipeline runs.
impl<T: Send + 'static> Flow<T> {
    /// [`worker_pool`](Flow::worker_pool) with the settings of `pool`, a
    /// [`weir_stage::WorkerPool`]: its retries, its
    /// [`Policy`](weir_stage::Policy) for failed jobs, its results
    /// capacity, and a [`PoolHandle`](weir_stage::PoolHandle) — take it
    /// with [`WorkerPool::handle`] before handing the pool over — to watch
    /// and resize the pool while the pipeline runs.
    ///
    /// The pool is spawned when the pipeline starts; until then the handle
    /// only sets the number of workers it starts with. Results come out in
    /// completion order.
    ///
    /// # Cancel safety
    ///
    /// Cancelling the pipeline drops the jobs in progress where they wait.
    /// A graceful stop ([`Pipeline::shutdown`](crate::pipeline::Pipeline::shutdown))
    /// lets every job already taken finish.
    ///
    /// # Errors
    ///
    /// A pool of 0 workers or 0 attempts is a
    /// [`ConfigError`](weir_stage::ConfigError) naming the stage, returned
    /// by the sink before anything runs. A failed job is handled by the
    /// pool's policy; with [`Policy::fail`](weir_stage::Policy::fail) (the
    /// default) it fails the pipeline naming this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::WorkerPool;
    ///
    /// # #[tokio::main]
    /// # async fn main() {
    /// let pool = WorkerPool::new(2);
    /// let handle = pool.handle();
    /// let run = Pipeline::new(&Context::background())
    ///     .source(1..=1_000u64)
    ///     .worker_pool_with(pool, |n| async move { Ok::<_, std::io::Error>(n * 2) })
    ///     .named("double")
    ///     .fold(0, |a, n| a + n)
    ///     .run();
    /// handle.resize(8).unwrap(); // more load: more workers, from outside
    /// assert_eq!(handle.workers(), 8);
    /// assert_eq!(run.join().await.unwrap(), 1_001_000);
    /// assert_eq!(handle.name(), "double");
    /// # }
    /// ```
    pub fn worker_pool_with<U, E, F, Fut>(self, pool: WorkerPool<T>, f: F) -> Flow<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        self.through("worker_pool", move |scope, jobs| {
            pool.spawn(scope, jobs, f).map(|(results, _handle)| results)
        })
    }
}
