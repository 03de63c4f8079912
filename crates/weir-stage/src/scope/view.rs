//! [`ScopeView`]: a scope under a stage's name (and capacity).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Options for the stages built through it — a name, a channel capacity,
/// one [`StageId`] — over a [`Scope`]: from [`Scope::named`],
/// [`Scope::with_capacity`] or [`Scope::stage`].
///
/// It derefs to the `Scope` for building stages (`stage::map(&view, …)`),
/// but it is not the scope: dropping it does nothing, and it can't
/// [`wait`](OwnedScope::wait) or [`shutdown`](OwnedScope::shutdown) — only the
/// scope's owner joins it.
///
/// Every stage built through one view is one stage for
/// [`stats`](Scope::stats): give each stage its own view.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let view = scope.named("numbers").with_capacity(4);
/// let nums = stage::generate(&view, 0..3);
/// assert_eq!(nums.capacity(), Some(4));
/// let all = stage::collect::<_, Vec<_>>(&scope, nums);
/// scope.wait().await.unwrap(); // `view.wait()` does not compile
/// assert_eq!(all.await.unwrap(), [0, 1, 2]);
/// # }
/// ```
pub struct ScopeView {
    pub(super) scope: Scope,
}

impl ScopeView {
    /// The id every stage built through this view is counted under.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// assert_ne!(scope.named("a").id(), scope.named("a").id());
    /// ```
    pub fn id(&self) -> StageId {
        self.scope.id.expect("a view always has an id")
    }
}

impl ScopeView {
    /// The name every stage built through this view reports, in errors
    /// and in [`stats`](Scope::stats).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// assert_eq!(&*scope.named("fetch").name(), "fetch");
    /// ```
    pub fn name(&self) -> Arc<str> {
        self.scope
            .name
            .clone()
            .expect("a view for one stage has a name")
    }
}

/// Another view of the same stage (same id, name and capacity).
impl Clone for ScopeView {
    fn clone(&self) -> Self {
        self.scope.view()
    }
}

impl std::ops::Deref for ScopeView {
    type Target = Scope;

    fn deref(&self) -> &Scope {
        &self.scope
    }
}

impl fmt::Debug for ScopeView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeView")
            .field("id", &self.scope.id)
            .field("name", &self.scope.name)
            .field("capacity", &self.scope.capacity)
            .finish_non_exhaustive()
    }
}

impl Scope {
    /// A view of this scope whose stages are called `name` (in errors and
    /// diagnostics) instead of a default such as `map#3`.
    ///
    /// Dropping a view does nothing; waiting on it waits for (and, if the wait
    /// is dropped part-way, cancels) the whole scope.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let nums = stage::generate(&scope.named("numbers"), 0..3);
    /// let out = stage::map(&scope.named("explode"), nums, |n: i32| {
    ///     assert!(n < 2, "too big");
    ///     n
    /// });
    /// let _sink = stage::for_each(&scope, out, |_| {});
    /// let err = scope.wait().await.unwrap_err();
    /// assert_eq!(err.stage(), Some("explode"));
    /// assert!(err.to_string().contains("too big"));
    /// # }
    /// ```
    pub fn named(&self, name: impl Into<Arc<str>>) -> ScopeView {
        let mut view = self.view();
        view.scope.name = Some(name.into());
        view.scope.id = Some(StageId::next());
        view.scope.record = None;
        view
    }

    /// A view building `stage`: its tasks are named after it and counted
    /// in it — `stage` becomes the scope's record for its id (what the
    /// `weir` builder uses for its graph's nodes).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::engine::Stage;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let pool = Stage::new("worker_pool", "fetch");
    /// let jobs = stage::generate(&scope, 0..4);
    /// let done = stage::worker_pool(&scope.stage(&pool), jobs, 2, |n| async move {
    ///     Ok::<_, std::io::Error>(n)
    /// });
    /// let _sink = stage::for_each(&scope, done.unwrap(), |_| {});
    /// let stats = scope.stats();
    /// scope.wait().await.unwrap();
    /// assert_eq!(stats.by_id(pool.id()).unwrap().name, "fetch");
    /// # }
    /// ```
    pub fn stage(&self, stage: &Arc<Stage>) -> ScopeView {
        let mut view = self.view();
        view.scope.name = Some(stage.name());
        view.scope.id = Some(stage.id());
        view.scope.record = Some(stage.clone());
        view
    }

    /// A view of this scope whose stages get output channels of
    /// `capacity` items.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::{self as stage, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scope = Scope::new(&Context::background());
    /// let nums = stage::generate(&scope.with_capacity(4), 0..100);
    /// assert_eq!(nums.capacity(), Some(4));
    /// # }
    /// ```
    pub fn with_capacity(&self, capacity: usize) -> ScopeView {
        let mut view = self.view();
        view.scope.capacity = Some(capacity);
        view
    }

    /// A view for one stage built outside this crate (a NATS source, a
    /// sink of your own): named after this view if it has a name, else
    /// `default`, and counted under this view's stage id. Spawn the stage
    /// through it and report [`ScopeView::name`] in its errors, so errors,
    /// statistics and the task's name agree.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    /// use weir_stage::Scope;
    ///
    /// let scope = Scope::new(&Context::background());
    /// assert_eq!(&*scope.stage_or("nats source S/c").name(), "nats source S/c");
    /// let orders = scope.named("orders");
    /// let view = orders.stage_or("nats source S/c");
    /// assert_eq!((&*view.name(), view.id()), ("orders", orders.id()));
    /// ```
    pub fn stage_or(&self, default: impl Into<Arc<str>>) -> ScopeView {
        let name = self.name.clone().unwrap_or_else(|| default.into());
        self.renamed(name)
    }

    /// A view named `name` building the same stage as this one (same id;
    /// a fresh one if this is the scope itself).
    pub(crate) fn renamed(&self, name: Arc<str>) -> ScopeView {
        let mut view = self.view();
        view.scope.name = Some(name);
        view
    }

    /// A view with this scope's options, and the same stage id (a fresh
    /// one if this is the scope itself).
    /// A view of the same scope with no name or stage id of its own (it
    /// keeps the capacity): for a stage that builds stages while it runs
    /// (`group_by`'s sub-flows), which are numbered as usual.
    pub(crate) fn unnamed(&self) -> ScopeView {
        let mut view = self.view();
        view.scope.name = None;
        view.scope.id = None;
        view
    }

    pub(super) fn view(&self) -> ScopeView {
        ScopeView {
            scope: Scope {
                shared: self.shared.clone(),
                tasks: self.tasks.clone(),
                name: self.name.clone(),
                capacity: self.capacity,
                id: Some(self.id.unwrap_or_else(StageId::next)),
                record: self.record.clone(),
            },
        }
    }
}
