//! [`PoolHandle`]: watch and resize a running worker pool.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use tokio::sync::Notify;

use crate::error::ConfigError;

/// What the handle and the workers share, whatever the item types.
pub(super) struct Control {
    counts: Mutex<Counts>,
    /// Woken when the target shrinks, so idle workers re-check it.
    pub(super) shrunk: Notify,
    /// Set while there may be more workers than the target: lets busy
    /// workers skip the lock when there is nothing to check.
    excess: AtomicBool,
    failed: AtomicU64,
    /// The pool's stage name, once it is spawned.
    name: OnceLock<Arc<str>>,
    /// The running pool, once it is spawned (weak: the workers own it).
    pool: Mutex<Option<Weak<dyn Grow>>>,
}

struct Counts {
    /// How many workers the pool should have.
    target: usize,
    /// How many worker tasks exist (counted from their spawn).
    alive: usize,
}

impl Control {
    /// Control for a pool of `workers` workers, not spawned yet.
    pub(super) fn new(workers: usize) -> Control {
        Control {
            counts: Mutex::new(Counts {
                target: workers,
                alive: 0,
            }),
            shrunk: Notify::new(),
            excess: AtomicBool::new(false),
            failed: AtomicU64::new(0),
            name: OnceLock::new(),
            pool: Mutex::new(None),
        }
    }

    /// The pool named `name` starts: its workers (as many as the target,
    /// which a handle may have changed since) are counted and returned.
    pub(super) fn start(&self, name: Arc<str>, pool: Weak<dyn Grow>) -> usize {
        let _ = self.name.set(name);
        // Under the counts' lock (taken first, as `resize` does): a resize
        // sees either no pool yet, or the pool with its workers counted.
        let mut counts = self.counts();
        *self.pool.lock().unwrap_or_else(PoisonError::into_inner) = Some(pool);
        counts.alive = counts.target;
        counts.target
    }

    /// The target number of workers.
    pub(super) fn target(&self) -> usize {
        self.counts().target
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn count_failure(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// The pool as the handle sees it: something that can spawn workers, as
/// long as a worker still holds it (the last worker to end drops the pool,
/// and with it the results sender and the jobs receiver).
pub(super) trait Grow: Send + Sync {
    /// Spawns `n` more workers (already counted in `alive`).
    fn grow(self: Arc<Self>, n: usize);
}

/// A worker's place in the count: dropping it (the worker ended, was
/// cancelled, or was never polled) takes it out.
pub(super) struct Slot {
    control: Arc<Control>,
    left: bool,
}

impl Slot {
    /// A slot for a worker the caller already counted in `alive`.
    pub(super) fn new(control: Arc<Control>) -> Slot {
        Slot {
            control,
            left: false,
        }
    }

    /// Whether the pool has more workers than its target; if so this
    /// worker leaves the count and must end.
    pub(super) fn surplus(&mut self) -> bool {
        if self.left || !self.control.excess.load(Ordering::Acquire) {
            return self.left;
        }
        let mut counts = self.control.counts();
        if counts.alive > counts.target {
            counts.alive -= 1;
            self.left = true;
        }
        if counts.alive <= counts.target {
            self.control.excess.store(false, Ordering::Release);
        }
        self.left
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.left {
            self.control.counts().alive -= 1;
        }
    }
}

/// Watches and resizes a running [`WorkerPool`](crate::WorkerPool): the
/// second half of what [`WorkerPool::spawn`](crate::WorkerPool::spawn)
/// returns, or taken before the pool runs with
/// [`WorkerPool::handle`](crate::WorkerPool::handle) (what the `weir`
/// builder's `Flow::worker_pool_with` needs, since its stages are spawned
/// only when the pipeline starts).
///
/// Dropping the handle changes nothing: the pool runs on with the workers
/// it has. Cloning it gives another handle to the same pool.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope, WorkerPool};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let jobs = stage::generate(&scope, 0..100u64);
/// let (results, pool) = WorkerPool::new(2)
///     .spawn(&scope, jobs, |n| async move { Ok::<_, std::io::Error>(n * 2) })
///     .unwrap();
/// pool.resize(8).unwrap(); // more load: more workers
/// assert_eq!(pool.workers(), 8);
/// let sum = stage::fold(&scope, results, 0, |a, n| a + n);
/// assert_eq!(sum.await, Ok(9900));
/// scope.wait().await.unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct PoolHandle {
    pub(super) control: Arc<Control>,
}

impl PoolHandle {
    /// Changes the number of workers while the pool runs.
    ///
    /// Growing spawns the missing workers into the pool's scope at once.
    /// Shrinking lets the surplus workers finish the job they are running
    /// (and send its result), then end; idle ones end right away. Before
    /// the pool is spawned, the call sets the number it starts with; once
    /// it has ended (its jobs ran out, or the scope stopped) there is
    /// nothing to resize and the call only records the new target.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] naming the pool when `workers` is 0 (the
    /// pool's size is then unchanged).
    ///
    /// # Panics
    ///
    /// When growing outside a tokio runtime, like `tokio::spawn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, ConfigError, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let jobs = stage::generate(&scope, 0..10u32);
    /// let (results, pool) = WorkerPool::new(4)
    ///     .spawn(&scope.named("resize"), jobs, |n| async move { Ok::<_, std::io::Error>(n) })
    ///     .unwrap();
    /// pool.resize(1).unwrap();
    /// assert_eq!(pool.workers(), 1);
    /// let err = pool.resize(0).unwrap_err();
    /// assert_eq!(err, ConfigError::Zero { stage: "resize".into(), what: "workers" });
    /// assert_eq!(stage::collect::<_, Vec<_>>(&scope, results).await.unwrap().len(), 10);
    /// # }
    /// ```
    #[track_caller]
    pub fn resize(&self, workers: usize) -> Result<(), ConfigError> {
        if workers == 0 {
            return Err(ConfigError::Zero {
                stage: self.name().into(),
                what: "workers",
            });
        }
        let mut counts = self.control.counts();
        counts.target = workers;
        let missing = workers.saturating_sub(counts.alive);
        if missing == 0 {
            if counts.alive > workers {
                self.control.excess.store(true, Ordering::Release);
            }
            drop(counts);
            self.control.shrunk.notify_waiters();
        } else if let Some(pool) = self.running_pool() {
            counts.alive += missing;
            drop(counts);
            pool.grow(missing);
        }
        Ok(())
    }

    /// The pool, while it runs.
    fn running_pool(&self) -> Option<Arc<dyn Grow>> {
        let pool = self
            .control
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        pool.as_ref().and_then(Weak::upgrade)
    }

    /// The number of workers the pool is set to have (the last successful
    /// [`resize`](PoolHandle::resize), or the size it was spawned with).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let jobs = stage::generate(&scope, 0..10u32);
    /// let (_results, pool) = WorkerPool::new(3)
    ///     .spawn(&scope, jobs, |n| async move { Ok::<_, std::io::Error>(n) })
    ///     .unwrap();
    /// assert_eq!(pool.workers(), 3);
    /// # }
    /// ```
    pub fn workers(&self) -> usize {
        self.control.counts().target
    }

    /// The number of worker tasks that exist right now. It differs from
    /// [`workers`](PoolHandle::workers) for a moment after a shrink (surplus
    /// workers finish the jobs they took first) and is 0 once the pool has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let jobs = stage::generate(&scope, 0..10u32);
    /// let (results, pool) = WorkerPool::new(3)
    ///     .spawn(&scope, jobs, |n| async move { Ok::<_, std::io::Error>(n) })
    ///     .unwrap();
    /// assert_eq!(pool.running(), 3);
    /// stage::collect::<_, Vec<_>>(&scope, results).await.unwrap();
    /// scope.wait().await.unwrap();
    /// assert_eq!(pool.running(), 0);
    /// # }
    /// ```
    pub fn running(&self) -> usize {
        self.control.counts().alive
    }

    /// How many jobs have failed for good so far (after their retries),
    /// whatever the [`Policy`](crate::Policy) then did with them.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Policy, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let jobs = stage::generate(&scope, ["1", "two", "3"]);
    /// let (nums, pool) = WorkerPool::new(2)
    ///     .on_error(Policy::skip())
    ///     .spawn(&scope, jobs, |s| async move { s.parse::<u32>() })
    ///     .unwrap();
    /// let sum = stage::fold(&scope, nums, 0, |a, n| a + n);
    /// assert_eq!(sum.await, Ok(4));
    /// assert_eq!(pool.failed(), 1);
    /// # }
    /// ```
    pub fn failed(&self) -> u64 {
        self.control.failed.load(Ordering::Relaxed)
    }

    /// The pool's stage name, as errors report it (`worker_pool` until
    /// the pool is spawned and so named).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope, WorkerPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let jobs = stage::generate(&scope, 0..1u8);
    /// let (_results, pool) = WorkerPool::new(1)
    ///     .spawn(&scope.named("hash"), jobs, |n| async move { Ok::<_, std::io::Error>(n) })
    ///     .unwrap();
    /// assert_eq!(pool.name(), "hash");
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        self.control.name.get().map_or("worker_pool", |name| name)
    }
}

impl fmt::Debug for PoolHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = self.control.counts();
        f.debug_struct("PoolHandle")
            .field("name", &self.name())
            .field("workers", &counts.target)
            .field("running", &counts.alive)
            .field("failed", &self.failed())
            .finish()
    }
}
