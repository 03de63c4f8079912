//! The leak check: tasks alive on the runtime before and after.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

/// How long [`TaskBaseline::settle`] waits for ended tasks to be reaped.
const PATIENCE: Duration = Duration::from_secs(10);

/// The number of tasks alive on the current tokio runtime, taken before the
/// code under test runs.
///
/// After the code has finished (or been cancelled, or dropped),
/// [`settle`](TaskBaseline::settle) waits until the runtime is back at the
/// baseline: every task the code spawned has ended. This is Go's `goleak`
/// for tokio. The count is the runtime's own
/// ([`RuntimeMetrics::num_alive_tasks`](tokio::runtime::RuntimeMetrics::num_alive_tasks)),
/// so tasks spawned by anything on the runtime count, not only weir's: take
/// the baseline on a runtime the test owns.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::testing::TaskBaseline;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let baseline = TaskBaseline::take();
/// let scope = Scope::new(&Context::background());
/// let nums = stage::generate(&scope, 0..u64::MAX); // never ends by itself
/// let _squares = stage::square(&scope, nums);
/// drop(scope); // cancels and aborts every stage
/// baseline.assert_settled().await;
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskBaseline {
    alive: usize,
}

impl TaskBaseline {
    /// Counts the tasks alive on the current runtime now.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::TaskBaseline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let baseline = TaskBaseline::take();
    /// assert_eq!(baseline.alive(), 0);
    /// # }
    /// ```
    #[track_caller]
    pub fn take() -> TaskBaseline {
        TaskBaseline {
            alive: alive_tasks(),
        }
    }

    /// The number of tasks that were alive when the baseline was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::TaskBaseline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let _other = tokio::spawn(std::future::pending::<()>());
    /// assert_eq!(TaskBaseline::take().alive(), 1);
    /// # }
    /// ```
    pub fn alive(&self) -> usize {
        self.alive
    }

    /// Waits until no more tasks are alive than at the baseline.
    ///
    /// Aborted tasks end at their next poll, so this yields to the runtime
    /// and checks again, for up to ten seconds of real time (a paused clock
    /// does not shorten it). It does not advance a paused clock: a task
    /// blocked on a timer counts as leaked.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    ///
    /// # Errors
    ///
    /// [`LeakedTasks`] if tasks beyond the baseline are still alive when
    /// the time is up.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::TaskBaseline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let baseline = TaskBaseline::take();
    /// let task = tokio::spawn(std::future::pending::<()>());
    /// task.abort();
    /// assert_eq!(baseline.settle().await, Ok(()));
    /// # }
    /// ```
    pub async fn settle(&self) -> Result<(), LeakedTasks> {
        let started = Instant::now();
        loop {
            let alive = alive_tasks();
            if alive <= self.alive {
                return Ok(());
            }
            if started.elapsed() >= PATIENCE {
                return Err(LeakedTasks {
                    baseline: self.alive,
                    alive,
                });
            }
            tokio::task::yield_now().await;
        }
    }

    /// Like [`settle`](TaskBaseline::settle), but panics with the
    /// [`LeakedTasks`] message instead of returning it: for tests.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    ///
    /// # Panics
    ///
    /// If tasks beyond the baseline are still alive after ten seconds, or
    /// outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::TaskBaseline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let baseline = TaskBaseline::take();
    /// tokio::spawn(async {}).await.unwrap();
    /// baseline.assert_settled().await;
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_settled(&self) -> impl Future<Output = ()> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            if let Err(leak) = self.settle().await {
                panic!("{leak} (checked at {caller})");
            }
        }
    }
}

/// Runs `test`, then checks that every task it spawned has ended.
///
/// Shorthand for [`TaskBaseline::take`], `test.await`,
/// [`TaskBaseline::assert_settled`]. The baseline is taken when the
/// returned future is first polled.
///
/// # Cancel safety
///
/// Dropping the returned future drops `test` and skips the check.
///
/// # Panics
///
/// If tasks beyond the baseline are still alive ten seconds after `test`
/// finished, or outside a tokio runtime.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::testing::assert_no_leaked_tasks;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sum = assert_no_leaked_tasks(async {
///     let scope = Scope::new(&Context::background());
///     let nums = stage::generate(&scope, 1..=10u64);
///     let sum = stage::fold(&scope, nums, 0, |acc, n| acc + n);
///     scope.wait().await.unwrap();
///     sum.await.unwrap()
/// })
/// .await;
/// assert_eq!(sum, 55);
/// # }
/// ```
#[track_caller]
pub fn assert_no_leaked_tasks<F: Future>(test: F) -> impl Future<Output = F::Output> {
    let caller = std::panic::Location::caller();
    async move {
        let baseline = TaskBaseline::take();
        let out = test.await;
        if let Err(leak) = baseline.settle().await {
            panic!("{leak} (checked at {caller})");
        }
        out
    }
}

/// Tasks still alive after the code under test had finished: the error of
/// [`TaskBaseline::settle`].
///
/// # Examples
///
/// ```
/// use weir_stage::testing::TaskBaseline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let baseline = TaskBaseline::take();
/// let leak = tokio::spawn(std::future::pending::<()>());
/// // `baseline.settle().await` would now wait ten seconds, then return:
/// let err = weir_stage::testing::LeakedTasks::new(baseline.alive(), 1);
/// assert_eq!(err.leaked(), 1);
/// assert_eq!(err.to_string(), "1 task(s) still alive beyond the baseline of 0");
/// # leak.abort();
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeakedTasks {
    baseline: usize,
    alive: usize,
}

impl LeakedTasks {
    /// A report of `alive` tasks against a baseline of `baseline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::testing::LeakedTasks;
    ///
    /// let err = LeakedTasks::new(2, 5);
    /// assert_eq!((err.baseline(), err.alive(), err.leaked()), (2, 5, 3));
    /// ```
    pub fn new(baseline: usize, alive: usize) -> LeakedTasks {
        LeakedTasks { baseline, alive }
    }

    /// Tasks alive when the baseline was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::LeakedTasks;
    /// assert_eq!(LeakedTasks::new(2, 5).baseline(), 2);
    /// ```
    pub fn baseline(&self) -> usize {
        self.baseline
    }

    /// Tasks alive when the check gave up.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::LeakedTasks;
    /// assert_eq!(LeakedTasks::new(2, 5).alive(), 5);
    /// ```
    pub fn alive(&self) -> usize {
        self.alive
    }

    /// Tasks beyond the baseline: the leak.
    ///
    /// # Examples
    ///
    /// ```
    /// # use weir_stage::testing::LeakedTasks;
    /// assert_eq!(LeakedTasks::new(2, 5).leaked(), 3);
    /// ```
    pub fn leaked(&self) -> usize {
        self.alive.saturating_sub(self.baseline)
    }
}

impl fmt::Display for LeakedTasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} task(s) still alive beyond the baseline of {}",
            self.leaked(),
            self.baseline
        )
    }
}

impl std::error::Error for LeakedTasks {}

#[track_caller]
fn alive_tasks() -> usize {
    Handle::current().metrics().num_alive_tasks()
}
