//! The logic of the `broadcast` example (tested in `tests/broadcast.rs`):
//! one stream of orders, broadcast to three branches that each need every
//! order — an async archive, a fallible audit and a revenue fold.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use tokio::sync::Mutex;
use weir::cancel::Context;
use weir::pipeline::{Metrics, Pipeline};

/// One order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// Its number, unique.
    pub id: u64,
    /// Who placed it.
    pub customer: &'static str,
    /// Its amount; an order of zero or less is invalid.
    pub cents: i64,
}

/// `n` made-up orders, the same every run.
pub fn orders(n: u64) -> impl Iterator<Item = Order> + Send + 'static {
    const CUSTOMERS: [&str; 4] = ["ada", "bob", "cy", "dee"];
    (0..n).map(|id| Order {
        id,
        customer: CUSTOMERS[(id % 4) as usize],
        cents: 100 + (id * 37 % 900) as i64,
    })
}

/// Why the audit refused an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOrder {
    /// The order refused.
    pub id: u64,
    /// Its amount.
    pub cents: i64,
}

impl fmt::Display for InvalidOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "order {} has an amount of {} cents", self.id, self.cents)
    }
}

impl std::error::Error for InvalidOrder {}

/// The audit: every order must have a positive amount.
pub fn audit(order: &Order) -> Result<(), InvalidOrder> {
    if order.cents > 0 {
        Ok(())
    } else {
        Err(InvalidOrder {
            id: order.id,
            cents: order.cents,
        })
    }
}

/// A store reached through async calls (here, memory behind an async lock).
#[derive(Debug, Clone, Default)]
pub struct Archive {
    ids: Arc<Mutex<Vec<u64>>>,
}

impl Archive {
    /// Stores one order's id.
    pub async fn store(&self, order: Order) {
        self.ids.lock().await.push(order.id);
    }

    /// The ids stored so far, in the order they were stored.
    pub async fn ids(&self) -> Vec<u64> {
        self.ids.lock().await.clone()
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Report {
    /// Total cents per customer (the fold).
    pub revenue: BTreeMap<&'static str, i64>,
    /// The ids the archive stored, in order (the async sink).
    pub archived: Vec<u64>,
    /// Every stage's and edge's counters after the run.
    pub metrics: Metrics,
    /// The graph, as a Mermaid flowchart, after the run.
    pub mermaid: String,
}

/// Runs the graph over `orders`:
///
/// ```text
/// orders ─ broadcast ─┬─ archive  (async sink: for_each_async)
///                     ├─ audit    (fallible sink: try_for_each)
///                     └─ revenue  (fold)
/// ```
///
/// # Errors
///
/// The audit's first refusal, as a `weir::Error` naming the `audit`
/// stage whose source is an [`InvalidOrder`].
pub async fn run<I>(ctx: &Context, orders: I, archive: &Archive) -> Result<Report, weir::Error>
where
    I: IntoIterator<Item = Order>,
    I::IntoIter: Send + 'static,
{
    let p = Pipeline::new(ctx);
    let [to_archive, to_audit, to_sum] = p.source(orders).named("orders").broadcast();

    let store = archive.clone();
    let archived = to_archive
        .for_each_async(move |order| {
            let store = store.clone();
            async move { store.store(order).await }
        })
        .named("archive");
    let audited = to_audit.try_for_each(|order| audit(&order)).named("audit");
    let revenue = to_sum
        .fold(BTreeMap::new(), |mut totals, order| {
            *totals.entry(order.customer).or_insert(0) += order.cents;
            totals
        })
        .named("revenue");

    // Awaiting one sink runs the whole graph and returns the first error
    // of any stage; the other two then resolve with their own results.
    let revenue = revenue.await?;
    archived.await?;
    audited.await?;
    Ok(Report {
        revenue,
        archived: archive.ids().await,
        metrics: p.metrics(),
        mermaid: p.to_mermaid(),
    })
}
