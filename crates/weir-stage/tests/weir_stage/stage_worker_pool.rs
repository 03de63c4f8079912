//! `worker_pool` and `WorkerPool`: the seed's `processJobs` — n workers
//! competing for jobs, results closed when every worker is done — plus
//! failure policies, retries and resizing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use weir_cancel::Context;
use weir_core::chan::{self, TryRecvError};
use weir_stage::testing::{eventually, TaskBaseline};
use weir_stage::{self as stage, Backoff, ConfigError, Error, Policy, Scope, WorkerPool};

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

    fn open(&self, n: usize) {
        self.permits.add_permits(n);
    }

    fn busy(&self) -> usize {
        self.busy.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn every_job_is_processed_exactly_once() {
    // Go: processJobs(jobs, results, 3) reads every job once; results carry
    // one value per job.
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, 0..1_000u64);
    let results = stage::worker_pool(&scope, jobs, 3, |n| async move {
        tokio::task::yield_now().await;
        Ok::<_, Io>(n * 2)
    })
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    let mut all = all.await.unwrap();
    all.sort_unstable();
    assert_eq!(all, (0..1_000).map(|n| n * 2).collect::<Vec<_>>());
    baseline.assert_settled().await;
}

#[tokio::test]
async fn results_close_exactly_when_the_last_worker_is_done() {
    // Go: `wg.Wait(); close(results)` after every worker returned.
    let scope = Scope::new(&Context::background());
    let gate = Gate::new();
    let (tx, jobs) = chan::bounded(4);
    let g = gate.clone();
    let (results, pool) = WorkerPool::new(2)
        .spawn(&scope, jobs, move |n: u32| {
            let g = g.clone();
            async move {
                if n == 2 {
                    g.pass().await;
                }
                Ok::<_, Io>(n)
            }
        })
        .unwrap();
    tx.send_all(vec![1, 2]).await.unwrap();
    drop(tx);
    assert_eq!(results.recv().await, Some(1));
    eventually("the idle worker ended", || pool.running() == 1).await;
    assert_eq!(
        results.try_recv(),
        Err(TryRecvError::Empty),
        "one worker is still busy"
    );
    gate.open(1);
    assert_eq!(results.recv().await, Some(2));
    assert_eq!(results.recv().await, None);
    assert_eq!(pool.running(), 0);
    scope.wait().await.unwrap();
}

#[tokio::test]
async fn n_workers_take_n_jobs_at_once_and_no_more() {
    let scope = Scope::new(&Context::background());
    let gate = Gate::new();
    let jobs = stage::generate(&scope, 0..20u32);
    let g = gate.clone();
    let results = stage::worker_pool(&scope, jobs, 3, move |n| {
        let g = g.clone();
        async move {
            g.pass().await;
            Ok::<_, Io>(n)
        }
    })
    .unwrap();
    eventually("three jobs run", || gate.busy() == 3).await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(gate.busy(), 3, "a worker runs one job at a time");
    gate.open(20);
    let all = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap().len(), 20);
    assert_eq!(gate.peak.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_run_in_parallel_on_a_multi_thread_runtime() {
    // Each job blocks its thread until the other job is running too: this
    // only finishes if two workers run at the same time on two threads.
    let scope = Scope::new(&Context::background());
    let started = Arc::new(AtomicUsize::new(0));
    let jobs = stage::generate(&scope, 0..2u32);
    let s = started.clone();
    let results = stage::worker_pool(&scope, jobs, 2, move |n| {
        let started = s.clone();
        async move {
            started.fetch_add(1, Ordering::SeqCst);
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while started.load(Ordering::SeqCst) < 2 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the workers never overlapped"
                );
                std::thread::yield_now();
            }
            Ok::<_, Io>(n)
        }
    })
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap().len(), 2);
}

#[tokio::test]
async fn zero_workers_or_attempts_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, 0..3u32);
    let f = |n: u32| async move { Ok::<_, Io>(n) };
    let err = stage::worker_pool(&scope, jobs.clone(), 0, f).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "worker_pool".into(),
            what: "workers"
        }
    );
    let err = WorkerPool::new(0)
        .spawn(&scope.named("hash"), jobs.clone(), f)
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "hash".into(),
            what: "workers"
        }
    );
    let err = WorkerPool::new(2)
        .retry(0, Backoff::none())
        .spawn(&scope, jobs.clone(), f)
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "worker_pool".into(),
            what: "retry attempts"
        }
    );
    assert_eq!(
        err.to_string(),
        "stage `worker_pool`: retry attempts must be at least 1"
    );
    // Nothing was spawned: the jobs are still there.
    let (_results, pool) = WorkerPool::new(1).spawn(&scope, jobs, f).unwrap();
    assert_eq!(
        pool.name(),
        "worker_pool#1",
        "a failed build used no number"
    );
}

#[tokio::test]
async fn cancel_stops_it_on_an_empty_input() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, jobs) = chan::bounded::<u32>(4);
    let (results, pool) = WorkerPool::new(3)
        .spawn(&scope, jobs, |n| async move { Ok::<_, Io>(n) })
        .unwrap();
    tokio::task::yield_now().await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed(), "the jobs receiver was dropped");
    assert_eq!(results.recv().await, None, "the results were closed");
    assert_eq!(pool.running(), 0);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn cancel_stops_it_on_a_full_output() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, jobs) = chan::bounded(8);
    tx.send_all(vec![1, 2, 3, 4]).await.unwrap();
    let (results, _pool) = WorkerPool::new(2)
        .capacity(1)
        .spawn(&scope, jobs, |n: u32| async move { Ok::<_, Io>(n) })
        .unwrap();
    eventually("the output is full", || results.len() == 1).await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert!(tx.is_closed());
    assert!(
        results.recv().await.is_some(),
        "what was sent stays buffered"
    );
    assert_eq!(results.recv().await, None);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_results_stops_it_and_its_upstream_even_when_idle() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, jobs) = chan::bounded::<u32>(4);
    let (results, pool) = WorkerPool::new(3)
        .spawn(&scope, jobs, |n| async move { Ok::<_, Io>(n) })
        .unwrap();
    drop(results);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    assert_eq!(pool.running(), 0);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn dropping_the_results_stops_a_busy_upstream() {
    let scope = Scope::new(&Context::background());
    let (results, _pool) = WorkerPool::new(2)
        .spawn(&scope, stage::generate(&scope, 0u64..), |n| async move {
            Ok::<_, Io>(n)
        })
        .unwrap();
    assert!(results.recv().await.is_some());
    drop(results);
    scope.wait().await.unwrap(); // the endless source stopped too
}

#[tokio::test]
async fn dropping_the_results_stops_the_jobs_in_flight() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (tx, jobs) = chan::bounded::<u32>(4);
    let (results, pool) = WorkerPool::new(2)
        .spawn(&scope, jobs, |n| async move {
            std::future::pending::<()>().await;
            Ok::<_, Io>(n)
        })
        .unwrap();
    tx.send_all(vec![1, 2]).await.unwrap();
    eventually("both workers took a job", || tx.is_empty()).await;
    drop(results);
    eventually("upstream sees its receivers gone", || tx.is_closed()).await;
    scope.wait().await.unwrap();
    assert_eq!(pool.running(), 0);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_failing_job_fails_the_pool_by_default() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, 0..100u32);
    let results = stage::worker_pool(&scope.named("parse"), jobs, 4, |n| async move {
        if n == 7 {
            Err(format!("bad job {n}"))
        } else {
            Ok(n)
        }
    })
    .unwrap();
    let _sink = stage::for_each(&scope, results, drop);
    match scope.wait().await {
        Err(Error::Failed { stage, source }) => {
            assert_eq!(&*stage, "parse");
            assert_eq!(source.to_string(), "bad job 7");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_panicking_job_is_a_panic_naming_the_pool() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, 0..100u32);
    let results = stage::worker_pool(&scope, jobs, 4, |n| async move {
        assert!(n != 5, "boom at {n}");
        Ok::<_, Io>(n)
    })
    .unwrap();
    let _sink = stage::for_each(&scope, results, drop);
    match scope.wait().await {
        Err(Error::Panicked { stage, message }) => {
            assert!(stage.starts_with("worker_pool#"), "{stage}");
            assert_eq!(message, "boom at 5");
        }
        other => panic!("unexpected: {other:?}"),
    }
    baseline.assert_settled().await;
}

#[tokio::test]
async fn under_collect_errors_failures_are_recorded_and_the_pool_keeps_its_size() {
    let baseline = TaskBaseline::take();
    let scope = Scope::builder(&Context::background())
        .collect_errors()
        .build();
    let (tx, jobs) = chan::bounded(64);
    tx.send_all((0..30u32).collect()).await.unwrap();
    let (results, pool) = WorkerPool::new(2)
        .spawn(&scope.named("p"), jobs, |n| async move {
            assert!(n % 10 != 3, "panic at {n}");
            if n % 10 == 6 {
                Err("error")
            } else {
                Ok(n)
            }
        })
        .unwrap();
    let kept = stage::collect::<_, Vec<_>>(&scope, results);
    eventually("the pool got past every failure", || {
        tx.is_empty() && pool.failed() == 6
    })
    .await;
    assert_eq!(
        pool.running(),
        2,
        "a worker whose job panicked was replaced"
    );
    drop(tx);
    match scope.wait().await {
        Err(Error::Multiple(errors)) => {
            assert_eq!(errors.len(), 6);
            assert!(errors.iter().all(|e| e.stage() == Some("p")));
            let panics = errors
                .iter()
                .filter(|e| matches!(e, Error::Panicked { .. }))
                .count();
            assert_eq!(panics, 3);
        }
        other => panic!("unexpected: {other:?}"),
    }
    assert_eq!(kept.await.unwrap().len(), 24);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn skip_drops_failed_jobs_and_counts_them() {
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, 0..50u32);
    let (results, pool) = WorkerPool::new(3)
        .on_error(Policy::skip())
        .spawn(&scope, jobs, |n| async move {
            assert!(n != 11, "a panic is skipped too");
            if n % 5 == 0 {
                Err("multiple of five")
            } else {
                Ok(n)
            }
        })
        .unwrap();
    let kept = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    let mut kept = kept.await.unwrap();
    kept.sort_unstable();
    assert_eq!(
        kept,
        (0..50)
            .filter(|n| n % 5 != 0 && *n != 11)
            .collect::<Vec<_>>()
    );
    assert_eq!(pool.failed(), 11);
}

#[tokio::test]
async fn dead_letter_hands_back_every_failed_job_with_its_error() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let (dead_tx, dead_rx) = chan::unbounded();
    let jobs = stage::generate(&scope, 0..20u32);
    let (results, pool) = WorkerPool::new(3)
        .on_error(Policy::dead_letter(dead_tx))
        .spawn(&scope, jobs, |n| async move {
            assert!(n != 4, "boom");
            if n % 3 == 0 {
                Err(format!("job {n} failed"))
            } else {
                Ok(n)
            }
        })
        .unwrap();
    let kept = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    assert_eq!(kept.await.unwrap().len(), 12);
    let mut dead: Vec<(u32, String)> = std::iter::from_fn(|| dead_rx.try_recv().ok())
        .map(|(n, e)| (n, e.to_string()))
        .collect();
    dead.sort();
    let mut expected: Vec<(u32, String)> = (0..20)
        .filter(|n| n % 3 == 0)
        .map(|n| (n, format!("job {n} failed")))
        .collect();
    expected.push((4, "job panicked: boom".into()));
    expected.sort();
    assert_eq!(
        dead, expected,
        "the dead-letter channel closed when the pool ended"
    );
    assert_eq!(pool.failed(), 8);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn a_closed_dead_letter_channel_falls_back_to_failing() {
    let scope = Scope::new(&Context::background());
    let (dead_tx, dead_rx) = chan::unbounded::<(u32, _)>();
    drop(dead_rx);
    let jobs = stage::generate(&scope, [1, 2]);
    let (results, _pool) = WorkerPool::new(1)
        .on_error(Policy::dead_letter(dead_tx))
        .spawn(&scope.named("p"), jobs, |n| async move {
            if n == 2 {
                Err("lost")
            } else {
                Ok(n)
            }
        })
        .unwrap();
    let _sink = stage::for_each(&scope, results, drop);
    let err = scope.wait().await.unwrap_err();
    assert_eq!(err.to_string(), "stage `p` failed");
    assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "lost");
}

#[tokio::test(start_paused = true)]
async fn retry_waits_an_exponential_backoff_between_attempts() {
    let scope = Scope::new(&Context::background());
    let tries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let t = tries.clone();
    let start = Instant::now();
    let jobs = stage::generate(&scope, ["flaky"]);
    let (results, pool) = WorkerPool::new(1)
        .retry(4, Backoff::exponential(Duration::from_millis(10)))
        .spawn(&scope, jobs, move |job| {
            let mut tries = t.lock().unwrap();
            tries.push(start.elapsed());
            let fail = tries.len() < 4;
            async move {
                if fail {
                    Err("not yet")
                } else {
                    Ok(job)
                }
            }
        })
        .unwrap();
    assert_eq!(results.recv().await, Some("flaky"));
    let ms = Duration::from_millis;
    assert_eq!(*tries.lock().unwrap(), [ms(0), ms(10), ms(30), ms(70)]);
    assert_eq!(pool.failed(), 0);
    scope.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_job_failing_every_attempt_goes_to_the_policy() {
    let scope = Scope::new(&Context::background());
    let tries = Arc::new(AtomicUsize::new(0));
    let t = tries.clone();
    let (dead_tx, dead_rx) = chan::unbounded();
    let jobs = stage::generate(&scope, [1u32, 2]);
    let (results, pool) = WorkerPool::new(2)
        .retry(3, Backoff::fixed(Duration::from_secs(1)))
        .on_error(Policy::dead_letter(dead_tx))
        .spawn(&scope, jobs, move |n| {
            t.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(n != 2, "always panics");
                Ok::<_, Io>(n)
            }
        })
        .unwrap();
    let kept = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    assert_eq!(kept.await.unwrap(), [1]);
    assert_eq!(tries.load(Ordering::SeqCst), 4, "1 + 3 attempts");
    let (job, err) = dead_rx.recv().await.unwrap();
    assert_eq!(
        (job, err.to_string()),
        (2, "job panicked: always panics".to_string())
    );
    assert_eq!(pool.failed(), 1);
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_job_waiting_to_retry() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let tries = Arc::new(AtomicUsize::new(0));
    let t = tries.clone();
    let jobs = stage::generate(&scope, [1u32]);
    let (_results, _pool) = WorkerPool::new(1)
        .retry(10, Backoff::fixed(Duration::from_secs(3600)))
        .spawn(&scope, jobs, move |_| {
            t.fetch_add(1, Ordering::SeqCst);
            async { Err::<u32, _>("down") }
        })
        .unwrap();
    eventually("the first attempt failed", || {
        tries.load(Ordering::SeqCst) == 1
    })
    .await;
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
    assert_eq!(tries.load(Ordering::SeqCst), 1);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn resize_grows_the_pool_while_it_runs() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let gate = Gate::new();
    let jobs = stage::generate(&scope, 0..10u32);
    let g = gate.clone();
    let (results, pool) = WorkerPool::new(1)
        .spawn(&scope, jobs, move |n| {
            let g = g.clone();
            async move {
                g.pass().await;
                Ok::<_, Io>(n)
            }
        })
        .unwrap();
    eventually("one job runs", || gate.busy() == 1).await;
    pool.resize(4).unwrap();
    assert_eq!((pool.workers(), pool.running()), (4, 4));
    eventually("four jobs run", || gate.busy() == 4).await;
    gate.open(10);
    let all = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    let mut all = all.await.unwrap();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert_eq!(pool.running(), 0);
    baseline.assert_settled().await;
}

#[tokio::test]
async fn resize_shrinks_after_the_current_jobs_and_at_once_when_idle() {
    let scope = Scope::new(&Context::background());
    let gate = Gate::new();
    let (tx, jobs) = chan::bounded(16);
    let g = gate.clone();
    let (results, pool) = WorkerPool::new(4)
        .spawn(&scope, jobs, move |n: u32| {
            let g = g.clone();
            async move {
                g.pass().await;
                Ok::<_, Io>(n)
            }
        })
        .unwrap();
    tx.send_all(vec![0, 1]).await.unwrap();
    eventually("two busy workers", || gate.busy() == 2).await;
    pool.resize(1).unwrap();
    eventually("the idle workers left", || pool.running() == 2).await;
    assert_eq!(pool.workers(), 1);
    gate.open(2);
    assert!(results.recv().await.is_some());
    assert!(
        results.recv().await.is_some(),
        "the busy workers finished their jobs"
    );
    eventually("one worker is left", || pool.running() == 1).await;
    tx.send_all(vec![2, 3, 4]).await.unwrap();
    eventually("one job runs", || gate.busy() == 1).await;
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert_eq!(gate.peak.load(Ordering::SeqCst), 2);
    assert_eq!(gate.busy(), 1, "one worker, one job at a time");
    gate.open(3);
    drop(tx);
    let rest = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    assert_eq!(rest.await.unwrap().len(), 3);
}

#[tokio::test]
async fn resize_to_zero_is_an_error_and_changes_nothing() {
    let scope = Scope::new(&Context::background());
    let (_tx, jobs) = chan::bounded::<u32>(1);
    let (_results, pool) = WorkerPool::new(2)
        .spawn(
            &scope.named("pool"),
            jobs,
            |n| async move { Ok::<_, Io>(n) },
        )
        .unwrap();
    let err = pool.resize(0).unwrap_err();
    assert_eq!(
        err,
        ConfigError::Zero {
            stage: "pool".into(),
            what: "workers"
        }
    );
    assert_eq!((pool.workers(), pool.running()), (2, 2));
    scope.cancel();
}

#[tokio::test]
async fn resizing_an_ended_pool_spawns_nothing() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, 0..3u32);
    let (results, pool) = WorkerPool::new(2)
        .spawn(&scope, jobs, |n| async move { Ok::<_, Io>(n) })
        .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, results);
    scope.wait().await.unwrap();
    assert_eq!(all.await.unwrap().len(), 3);
    pool.resize(5).unwrap();
    assert_eq!((pool.workers(), pool.running()), (5, 0));
    baseline.assert_settled().await;
}

#[tokio::test]
async fn capacity_sets_the_results_channel() {
    let scope = Scope::new(&Context::background());
    let jobs = stage::generate(&scope, 0..3u32);
    let (results, _pool) = WorkerPool::new(1)
        .capacity(2)
        .spawn(&scope, jobs, |n| async move { Ok::<_, Io>(n) })
        .unwrap();
    assert_eq!(results.capacity(), Some(2));
    let default = stage::worker_pool(
        &scope,
        stage::generate(&scope, 0..1u32),
        1,
        |n| async move { Ok::<_, Io>(n) },
    )
    .unwrap();
    assert_eq!(default.capacity(), Some(stage::DEFAULT_CAPACITY));
}

#[tokio::test(flavor = "current_thread")]
async fn a_handle_taken_before_spawn_sets_the_size_then_resizes_the_running_pool() {
    let scope = Scope::new(&Context::background());
    let gate = Gate::new();
    let pool = WorkerPool::new(1);
    let handle = pool.handle();
    assert_eq!(
        (handle.workers(), handle.running(), handle.name()),
        (1, 0, "worker_pool")
    );
    handle.resize(2).unwrap();
    let jobs = stage::generate(&scope, 0..8u32);
    let g = gate.clone();
    let (results, same) = pool
        .spawn(&scope.named("gated"), jobs, move |n| {
            let g = g.clone();
            async move {
                g.pass().await;
                Ok::<_, Io>(n)
            }
        })
        .unwrap();
    assert_eq!((handle.running(), same.running()), (2, 2));
    assert_eq!(handle.name(), "gated");
    eventually("two jobs held", || gate.busy.load(Ordering::SeqCst) == 2).await;
    handle.resize(3).unwrap();
    eventually("three jobs held", || gate.busy.load(Ordering::SeqCst) == 3).await;
    assert_eq!(same.workers(), 3);
    gate.permits.add_permits(8);
    assert_eq!(stage::count(&scope, results).await.unwrap(), 8);
    scope.wait().await.unwrap();
    assert_eq!(handle.running(), 0);
}
