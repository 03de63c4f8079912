//! The snapshots the page shows: the counters read a few times a second,
//! turned into rates, busy shares and a minute of history per stage.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::json::Json;
use super::layout::layers;
use crate::observe::{Metrics, StageMetrics};
use crate::pipeline::RunState;

/// Rates and busy shares are measured over this much time.
const RATE_WINDOW: Duration = Duration::from_secs(2);
/// One history point a second, this many kept.
const HISTORY: usize = 60;

/// One reading of every stage's counters.
struct Reading {
    at: Instant,
    /// Per stage position: (items counted for its rate, busy time).
    stages: Vec<(u64, Duration)>,
}

/// Turns successive [`Metrics`] into the `/graph.json` document.
pub(crate) struct Sampler {
    started: Instant,
    recent: VecDeque<Reading>,
    /// Per stage position: items/s, one a second, oldest first.
    history: Vec<VecDeque<f64>>,
    next_point: Instant,
}

/// What a stage's rate counts: items taken in, or, for a stage that
/// takes none (a source), items sent.
fn counted(s: &StageMetrics) -> u64 {
    if s.items_in > 0 {
        s.items_in
    } else {
        s.items_out
    }
}

impl Sampler {
    pub(crate) fn new(now: Instant) -> Sampler {
        Sampler {
            started: now,
            recent: VecDeque::new(),
            history: Vec::new(),
            next_point: now + Duration::from_secs(1),
        }
    }

    /// Records `m`, read at `now`, and writes the document.
    pub(crate) fn snapshot(
        &mut self,
        name: &str,
        m: &Metrics,
        state: &RunState,
        now: Instant,
    ) -> String {
        let reading = Reading {
            at: now,
            stages: m.stages.iter().map(|s| (counted(s), s.busy)).collect(),
        };
        while self
            .recent
            .front()
            .is_some_and(|r| now.duration_since(r.at) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        let rates: Vec<(f64, f64)> = match self.recent.front() {
            Some(old) if now > old.at => {
                let dt = now.duration_since(old.at).as_secs_f64();
                reading
                    .stages
                    .iter()
                    .enumerate()
                    .map(|(i, &(n, busy))| {
                        let (n0, busy0) = old.stages.get(i).copied().unwrap_or_default();
                        let rate = n.saturating_sub(n0) as f64 / dt;
                        let busy = busy.saturating_sub(busy0).as_secs_f64() / dt * 100.0;
                        (rate, busy)
                    })
                    .collect()
            }
            _ => vec![(0.0, 0.0); reading.stages.len()],
        };
        self.recent.push_back(reading);
        self.history.resize_with(m.stages.len(), VecDeque::new);
        if now >= self.next_point {
            for (h, &(rate, _)) in self.history.iter_mut().zip(&rates) {
                if h.len() == HISTORY {
                    h.pop_front();
                }
                h.push_back(rate);
            }
            while self.next_point <= now {
                self.next_point += Duration::from_secs(1);
            }
        }
        self.write(name, m, state, now, &rates)
    }

    fn write(
        &self,
        name: &str,
        m: &Metrics,
        state: &RunState,
        now: Instant,
        rates: &[(f64, f64)],
    ) -> String {
        let position: HashMap<_, _> = m
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let edges: Vec<(usize, usize)> = m
            .edges
            .iter()
            .filter_map(|e| Some((*position.get(&e.from_id)?, *position.get(&e.to_id)?)))
            .collect();
        let cells = layers(m.stages.len(), &edges);
        let mut j = Json::with_capacity(256 + 400 * m.stages.len());
        j.open('{');
        j.key("version").u64(1);
        j.key("pipeline").str(name);
        j.key("state").str(state.name());
        j.key("error").opt_str(state.error());
        j.key("uptime_ms")
            .u64(now.duration_since(self.started).as_millis() as u64);
        j.key("stages").open('[');
        for (i, s) in m.stages.iter().enumerate() {
            let (rate, busy) = rates.get(i).copied().unwrap_or_default();
            j.open('{');
            j.key("id").u64(i as u64);
            j.key("name").str(&s.name);
            j.key("kind").str(s.kind);
            j.key("running").bool(s.running);
            j.key("items_in").u64(s.items_in);
            j.key("items_out").u64(s.items_out);
            j.key("rate").f64(rate);
            j.key("busy_pct").f64(busy);
            j.key("errors").u64(s.errors);
            j.key("retries").u64(s.retries);
            j.key("skipped").u64(s.skipped);
            j.key("dead_lettered").u64(s.dead_lettered);
            j.key("dropped").u64(s.dropped);
            j.key("timeouts").u64(s.timeouts);
            j.key("restarts").u64(s.restarts);
            j.key("lag");
            write_lag(&mut j, s);
            let (layer, row) = cells[i];
            j.key("layer").u64(layer as u64);
            j.key("row").u64(row as u64);
            j.key("history").open('[');
            if let Some(h) = self.history.get(i) {
                for &r in h {
                    j.f64(r);
                }
            }
            j.close(']');
            j.close('}');
        }
        j.close(']');
        j.key("edges").open('[');
        for e in &m.edges {
            let (Some(&from), Some(&to)) = (position.get(&e.from_id), position.get(&e.to_id))
            else {
                continue;
            };
            j.open('{');
            j.key("from").u64(from as u64);
            j.key("to").u64(to as u64);
            j.key("branch").opt_str(e.branch.as_deref());
            j.key("sent").u64(e.sent);
            j.key("received").u64(e.received);
            j.key("queued").opt_u64(e.len.map(|n| n as u64));
            j.key("capacity").opt_u64(e.capacity.map(|n| n as u64));
            j.key("peak").opt_u64(e.peak.map(|n| n as u64));
            j.close('}');
        }
        j.close(']');
        j.key("bottleneck");
        match bottleneck(m) {
            Some((stage, reason)) => {
                j.open('{');
                j.key("stage").u64(position[&m.stages[stage].id] as u64);
                j.key("name").str(&m.stages[stage].name);
                j.key("reason").str(&reason);
                j.close('}');
            }
            None => {
                j.null();
            }
        }
        j.close('}');
        j.finish()
    }
}

#[cfg(feature = "nats")]
fn write_lag(j: &mut Json, s: &StageMetrics) {
    match &s.lag {
        Some(lag) => {
            j.open('{');
            j.key("pending").u64(lag.pending);
            j.key("ack_pending").u64(lag.ack_pending);
            j.key("redelivered").u64(lag.redelivered);
            j.key("dead_lettered").u64(lag.dead_lettered);
            j.key("waiting").u64(lag.waiting);
            j.close('}');
        }
        None => {
            j.null();
        }
    }
}

#[cfg(not(feature = "nats"))]
fn write_lag(j: &mut Json, _: &StageMetrics) {
    j.null();
}

/// [`Metrics::bottleneck`] (its position in `m.stages`) and why it was
/// chosen, in words.
pub(crate) fn bottleneck(m: &Metrics) -> Option<(usize, String)> {
    let b = m.bottleneck()?;
    let at = m.stages.iter().position(|s| s.id == b.id)?;
    // Why: the queue into it that its upstream waited on longest (as the
    // channel measured it), else the time it spent in its own code.
    let waited = m
        .edges
        .iter()
        .filter(|e| e.to_id == b.id && !e.send_wait.is_zero())
        .max_by_key(|e| e.send_wait);
    let reason = match waited {
        Some(edge) => {
            let mut r = format!(
                "`{}` waited {:.1?} to send into it",
                edge.from, edge.send_wait
            );
            if let (Some(peak), Some(cap)) = (edge.peak, edge.capacity) {
                r.push_str(&format!("; its queue peaked at {peak}/{cap}"));
            }
            r
        }
        None => format!(
            "the busiest stage ({:.1?} in its code); no stage waited to send to it",
            b.busy
        ),
    };
    Some((at, reason))
}
