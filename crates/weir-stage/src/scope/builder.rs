//! [`ScopeBuilder`]: a scope's settings.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Builds a [`Scope`] with non-default settings.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::Scope;
///
/// let scope = Scope::builder(&Context::background())
///     .capacity(1024)
///     .collect_errors()
///     .build();
/// # drop(scope);
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ScopeBuilder {
    pub(super) ctx: Context,
    pub(super) capacity: usize,
    pub(super) collect: bool,
}

impl ScopeBuilder {
    /// The capacity of every channel between stages (default
    /// [`DEFAULT_CAPACITY`]). `0` makes them rendezvous channels.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::builder(&Context::background()).capacity(8).build();
    /// # drop(scope);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Keep going after a stage error: record every error and report them
    /// all from [`OwnedScope::wait`] (as [`Error::Multiple`] when there are
    /// several), instead of cancelling everything at the first one.
    ///
    /// A stage whose own loop ended in an error still stops; what keeps
    /// going is the rest of the scope, and stages like
    /// [`try_map`](crate::try_map) that report per-item errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Error, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::builder(&Context::background()).collect_errors().build();
    /// let nums = stage::generate(&scope, 1..=4);
    /// let odd = stage::try_map(&scope, nums, |n: u32| if n % 2 == 0 { Err("even") } else { Ok(n) });
    /// let kept = stage::collect::<_, Vec<_>>(&scope, odd);
    /// assert_eq!(kept.await.unwrap(), [1, 3]);
    /// assert!(matches!(scope.wait().await, Err(Error::Multiple(errors)) if errors.len() == 2));
    /// # }
    /// ```
    pub fn collect_errors(mut self) -> Self {
        self.collect = true;
        self
    }

    /// Makes the scope.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::builder(&Context::background()).build();
    /// assert!(!scope.context().is_cancelled());
    /// ```
    pub fn build(self) -> OwnedScope {
        let (ctx, cancel) = self.ctx.with_cancel();
        let (stop_ctx, stop) = ctx.with_cancel();
        let (helpers_ctx, helpers_end) = ctx.with_cancel();
        let scope = Scope {
            shared: Arc::new(Shared {
                ctx,
                cancel,
                stop_ctx,
                stop,
                errors: Mutex::new(Vec::new()),
                consequences: Mutex::new(Vec::new()),
                stats: ScopeStats::default(),
                interrupted: AtomicBool::new(false),
                collect: self.collect,
                capacity: self.capacity,
                counter: AtomicUsize::new(0),
                helpers: WaitGroup::new(),
                live: WaitGroup::new(),
                helpers_ctx,
                helpers_end,
            }),
            tasks: Arc::new(Mutex::new(JoinSet::new())),
            name: None,
            capacity: None,
            id: None,
            record: None,
        };
        OwnedScope { scope }
    }
}
