//! [`Stage`] and [`StageId`]: what every stage is, whichever door built
//! it: one record per stage.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::Counters;
use crate::limit::Controller;

/// A stage's identity: unique in the process, never reused. Statistics,
/// metrics and graphs are keyed by it; a stage's name only labels it.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::StageId;
///
/// assert_ne!(StageId::next(), StageId::next());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId(u64);

impl StageId {
    /// A fresh id, different from every id handed out before.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::StageId;
    ///
    /// let (a, b) = (StageId::next(), StageId::next());
    /// assert!(a < b);
    /// ```
    pub fn next() -> StageId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StageId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage-{}", self.0)
    }
}

/// One stage's record: its [`StageId`], its kind (`"map"`), its display
/// name and every counter it has ([`Counters`]). There is one per stage,
/// shared (`Arc`) between the tasks that run the stage, the scope's
/// registry ([`Scope::stats`](crate::Scope::stats)) and whoever else
/// watches it (a pipeline's graph, a metrics exporter): every view of a
/// stage reads this one record.
///
/// # Examples
///
/// ```
/// use weir_stage::engine::Stage;
///
/// let a = Stage::new("map", "parse");
/// let b = Stage::new("map", "parse");
/// assert_ne!(a.id(), b.id()); // same name, two stages
/// a.counters().batch(3, 2, std::time::Duration::ZERO);
/// assert_eq!(a.counters().snapshot().items_out, 2);
/// assert_eq!(b.counters().snapshot().items_out, 0);
/// ```
pub struct Stage {
    id: StageId,
    kind: &'static str,
    name: Mutex<Arc<str>>,
    counters: Counters,
    /// The concurrency limit of a concurrent stage, set once when the
    /// stage is built.
    limit: OnceLock<Controller>,
}

impl Stage {
    /// A new stage of `kind`, labelled `name`, with a fresh id.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert_eq!(&*Stage::new("fold", "total").name(), "total");
    /// ```
    pub fn new(kind: &'static str, name: impl Into<Arc<str>>) -> Arc<Stage> {
        Arc::new(Stage {
            id: StageId::next(),
            kind,
            name: Mutex::new(name.into()),
            counters: Counters::default(),
            limit: OnceLock::new(),
        })
    }

    /// A stage with a known id (the id of the view that builds it).
    pub(crate) fn with_id(id: StageId, kind: &'static str, name: Arc<str>) -> Arc<Stage> {
        Arc::new(Stage {
            id,
            kind,
            name: Mutex::new(name),
            counters: Counters::default(),
            limit: OnceLock::new(),
        })
    }

    /// Its identity.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// let s = Stage::new("map", "m");
    /// assert_eq!(s.id(), s.id());
    /// ```
    pub fn id(&self) -> StageId {
        self.id
    }

    /// Its kind, the operator it runs (`"map"`, `"fold"`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert_eq!(Stage::new("map", "m").kind(), "map");
    /// ```
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Its name, as errors, spans and graphs show it.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert_eq!(&*Stage::new("map", "m").name(), "m");
    /// ```
    pub fn name(&self) -> Arc<str> {
        self.name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Relabels it (its id, and so its counters, stay the same).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// let s = Stage::new("map", "map#1");
    /// s.rename("parse".into());
    /// assert_eq!(&*s.name(), "parse");
    /// ```
    pub fn rename(&self, name: Arc<str>) {
        *self.name.lock().unwrap_or_else(PoisonError::into_inner) = name;
    }

    /// Every counter of this stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert_eq!(Stage::new("map", "m").counters().snapshot().items_in, 0);
    /// ```
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Gives the stage its concurrency limit: what a concurrent stage
    /// does once, when it is built (a later call keeps the first).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    /// use weir_stage::Limit;
    ///
    /// let s = Stage::new("map_unordered", "fetch");
    /// s.set_limit(Limit::fixed(8).controller());
    /// s.set_limit(Limit::fixed(2).controller());
    /// assert_eq!(s.limit().unwrap().limit(), 8);
    /// ```
    pub fn set_limit(&self, controller: Controller) {
        let _ = self.limit.set(controller);
    }

    /// The stage's concurrency limit, live, if it is a concurrent stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::engine::Stage;
    ///
    /// assert!(Stage::new("map", "m").limit().is_none());
    /// ```
    pub fn limit(&self) -> Option<&Controller> {
        self.limit.get()
    }
}

impl fmt::Debug for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stage")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}
