//! `Flow::worker_pool_with`: a configured `WorkerPool` in the builder, and
//! its `PoolHandle` resizing the pool while the pipeline runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;
use weir::cancel::Context;
use weir::pipeline::Pipeline;
use weir::stage::{ConfigError, WorkerPool};
use weir::testing::eventually;

type Io = std::io::Error;

/// Counts the jobs in progress and holds them until the gate lets them go.
#[derive(Clone)]
struct Gate {
    permits: Arc<Semaphore>,
    busy: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            permits: Arc::new(Semaphore::new(0)),
            busy: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    async fn pass(&self) {
        let now = self.busy.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.permits.acquire().await.unwrap().forget();
        self.busy.fetch_sub(1, Ordering::SeqCst);
    }

    fn busy(&self) -> usize {
        self.busy.load(Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_pool_grows_and_shrinks_through_its_handle() {
    let gate = Gate::new();
    let pool = WorkerPool::new(1);
    let handle = pool.handle();
    let jobs = gate.clone();
    let run = Pipeline::new(&Context::background())
        .source(0..20u32)
        .worker_pool_with(pool, move |n| {
            let gate = jobs.clone();
            async move {
                gate.pass().await;
                Ok::<_, Io>(n)
            }
        })
        .named("held")
        .collect::<Vec<_>>()
        .run();

    eventually("one worker holds a job", || gate.busy() == 1).await;
    assert_eq!((handle.workers(), handle.running()), (1, 1));
    handle.resize(4).unwrap();
    eventually("four workers hold a job each", || gate.busy() == 4).await;
    assert_eq!(handle.running(), 4);
    assert_eq!(handle.name(), "held");

    // Shrink: the surplus workers end once their job is done.
    handle.resize(2).unwrap();
    gate.permits.add_permits(4);
    eventually("two workers left", || handle.running() == 2).await;
    gate.permits.add_permits(100);
    let mut got = run.join().await.unwrap();
    got.sort_unstable();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    assert_eq!(gate.peak.load(Ordering::SeqCst), 4);
    assert_eq!((handle.workers(), handle.running()), (2, 0));
}

#[tokio::test(flavor = "current_thread")]
async fn a_resize_before_the_pipeline_starts_sets_the_starting_size() {
    let gate = Gate::new();
    let pool = WorkerPool::new(1);
    let handle = pool.handle();
    handle.resize(3).unwrap();
    let jobs = gate.clone();
    let run = Pipeline::new(&Context::background())
        .source(0..6u32)
        .worker_pool_with(pool, move |n| {
            let gate = jobs.clone();
            async move {
                gate.pass().await;
                Ok::<_, Io>(n)
            }
        })
        .count()
        .run();
    eventually("three workers hold a job each", || gate.busy() == 3).await;
    assert_eq!(handle.running(), 3);
    gate.permits.add_permits(6);
    assert_eq!(run.join().await.unwrap(), 6);
}

#[tokio::test(flavor = "current_thread")]
async fn a_pool_of_zero_workers_is_a_config_error_naming_the_stage() {
    let err = Pipeline::new(&Context::background())
        .source(0..3u32)
        .worker_pool_with(WorkerPool::new(0), |n| async move { Ok::<_, Io>(n) })
        .named("empty")
        .count()
        .await
        .unwrap_err();
    assert_eq!(
        err.config(),
        Some(&ConfigError::Zero {
            stage: "empty".into(),
            what: "workers"
        })
    );
}

#[tokio::test(flavor = "current_thread")]
async fn worker_pool_is_worker_pool_with_a_default_pool() {
    let p = Pipeline::new(&Context::background());
    let sum = p
        .source(1..=100u64)
        .worker_pool(3, |n| async move { Ok::<_, Io>(n) })
        .fold(0, |a, n| a + n)
        .await
        .unwrap();
    assert_eq!(sum, 5050);
    let pool = p
        .metrics()
        .stages
        .into_iter()
        .find(|s| s.kind == "worker_pool");
    let pool = pool.unwrap();
    assert_eq!((pool.items_in, pool.items_out), (100, 100));
}
