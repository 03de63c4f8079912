//! [`SubFlows`]: the stages of a `group_by`'s sub-flows in the parent
//! pipeline's metrics, one row per sub-flow stage *shape*, summed over
//! keys — so the record stays bounded however many keys come and go.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use weir_stage::StageId;

use crate::observe::StageMetrics;

/// Reads a running sub-flow's stages (its pipeline's `metrics().stages`).
/// A function rather than the sub-flow's view, so that this file, which
/// the graph lists, does not import the view that reads the graph.
type Read = Arc<dyn Fn() -> Vec<StageMetrics> + Send + Sync>;

/// The sub-flows of one `group_by` stage: those running now (read live)
/// and the sums of those that ended, one row per sub-flow stage (by name
/// and kind, so every key running the same sub-flow shares its rows).
#[derive(Default)]
pub(crate) struct SubFlows {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The sub-flows running now, by the token [`start`](SubFlows::start)
    /// gave them.
    live: HashMap<u64, Read>,
    next: u64,
    /// One row per sub-flow stage seen so far, in the order first seen:
    /// its id (kept, so exporters see one stage), and the sums over the
    /// sub-flows that ended.
    rows: Vec<StageMetrics>,
}

impl State {
    /// The row of a sub-flow stage named `name` of kind `kind`, made if new.
    fn row(&mut self, name: &str, kind: &'static str) -> &mut StageMetrics {
        let at = match self
            .rows
            .iter()
            .position(|r| r.name == name && r.kind == kind)
        {
            Some(at) => at,
            None => {
                self.rows
                    .push(StageMetrics::zero(StageId::next(), name, kind));
                self.rows.len() - 1
            }
        };
        &mut self.rows[at]
    }
}

impl SubFlows {
    /// A sub-flow started (built, its graph complete): its stages get rows
    /// and it is read live until [`finish`](SubFlows::finish).
    pub(crate) fn start(
        &self,
        read: impl Fn() -> Vec<StageMetrics> + Send + Sync + 'static,
    ) -> u64 {
        let shape = read();
        let mut s = self.lock();
        for stage in &shape {
            s.row(&stage.name, stage.kind);
        }
        let token = s.next;
        s.next += 1;
        s.live.insert(token, Arc::new(read));
        token
    }

    /// The sub-flow `token` ended: its final counts are added to the rows.
    pub(crate) fn finish(&self, token: u64) {
        // Under the lock, so that a snapshot sees it live or summed, never
        // neither (the sub-flow's own lock is never held while taking ours).
        let mut s = self.lock();
        let Some(read) = s.live.remove(&token) else {
            return;
        };
        for stage in &read() {
            s.row(&stage.name, stage.kind).add(stage);
        }
    }

    /// The rows now: the ended sub-flows' sums plus what the running ones
    /// counted so far, each named `<parent>/<stage>`.
    pub(crate) fn snapshot(&self, parent: &str) -> Vec<StageMetrics> {
        let (mut rows, live) = {
            let s = self.lock();
            let live: Vec<Read> = s.live.values().cloned().collect();
            (s.rows.clone(), live)
        };
        for read in live {
            for stage in read() {
                if let Some(row) = rows
                    .iter_mut()
                    .find(|r| r.name == stage.name && r.kind == stage.kind)
                {
                    row.add(&stage);
                }
            }
        }
        for row in &mut rows {
            row.name = format!("{parent}/{}", row.name);
        }
        rows
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
