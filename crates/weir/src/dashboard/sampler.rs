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

/// Per stage position: `(layer, row)`; or per edge: `(from, to)`.
type Pairs = Vec<(usize, usize)>;

/// One reading of every stage's counters.
struct Reading {
    at: Instant,
    /// Per stage position: items counted for its rate, busy time, and how
    /// many tasks it may be busy in at once (see [`parallel`]).
    stages: Vec<(u64, Duration, usize)>,
}

/// Turns successive [`Metrics`] into the `/graph.json` document.
pub(crate) struct Sampler {
    started: Instant,
    recent: VecDeque<Reading>,
    /// Per stage position: items/s, one a second, oldest first.
    history: Vec<VecDeque<f64>>,
    /// Per stage position: `history` as a JSON array, written when a
    /// point is added (once a second) rather than at every update.
    history_json: Vec<String>,
    next_point: Instant,
    /// Per stage position: items/s and busy % over the last window, as of
    /// the latest reading.
    rates: Vec<(f64, f64)>,
    /// The layout of the graph last written, and the edges it was made
    /// for: a running graph keeps its shape, so it is worked out once.
    layout: Option<(Pairs, Pairs)>,
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

/// How many tasks a stage may be busy in at once: its concurrency limit
/// (a worker pool's), else one.
fn parallel(s: &StageMetrics) -> usize {
    s.concurrency_limit.unwrap_or(1).max(1)
}

impl Sampler {
    pub(crate) fn new(now: Instant) -> Sampler {
        Sampler {
            started: now,
            recent: VecDeque::new(),
            history: Vec::new(),
            history_json: Vec::new(),
            next_point: now + Duration::from_secs(1),
            rates: Vec::new(),
            layout: None,
        }
    }

    /// Records `m`, read at `now`: the rates, busy shares and history the
    /// next [`write`](Sampler::write) shows.
    ///
    /// Busy time is counted when a batch ends, so a window can hold a
    /// batch that began before it: a single-task stage would then read a
    /// little over 100 %. A stage's busy share is capped at what it can
    /// truly be, 100 % per task it may run at once ([`parallel`]), for
    /// every stage of the graph (a `group_by`'s sub-flow rows, with no
    /// edges, sum many sub-flows' tasks: not capped).
    pub(crate) fn record(&mut self, m: &Metrics, now: Instant) {
        let reading = Reading {
            at: now,
            stages: m
                .stages
                .iter()
                .map(|s| (counted(s), s.busy, parallel(s)))
                .collect(),
        };
        while self
            .recent
            .front()
            .is_some_and(|r| now.duration_since(r.at) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        let in_graph = |i: usize| {
            let id = m.stages[i].id;
            m.edges.iter().any(|e| e.from_id == id || e.to_id == id)
        };
        self.rates.clear();
        match self.recent.front() {
            Some(old) if now > old.at => {
                let dt = now.duration_since(old.at).as_secs_f64();
                for (i, &(n, busy, tasks)) in reading.stages.iter().enumerate() {
                    let (n0, busy0, tasks0) = old.stages.get(i).copied().unwrap_or_default();
                    let rate = n.saturating_sub(n0) as f64 / dt;
                    let mut busy = busy.saturating_sub(busy0).as_secs_f64() / dt * 100.0;
                    if in_graph(i) {
                        busy = busy.min(100.0 * tasks.max(tasks0) as f64);
                    }
                    self.rates.push((rate, busy));
                }
            }
            _ => self.rates.resize(reading.stages.len(), (0.0, 0.0)),
        }
        self.recent.push_back(reading);
        self.history.resize_with(m.stages.len(), VecDeque::new);
        self.history_json
            .resize_with(m.stages.len(), || "[]".to_string());
        if now >= self.next_point {
            let stages = self.history.iter_mut().zip(&mut self.history_json);
            for ((h, text), &(rate, _)) in stages.zip(&self.rates) {
                if h.len() == HISTORY {
                    h.pop_front();
                }
                h.push_back(rate);
                let mut j = Json::with_capacity(8 * h.len());
                j.open('[');
                for &r in h.iter() {
                    j.f64(r);
                }
                j.close(']');
                *text = j.finish();
            }
            while self.next_point <= now {
                self.next_point += Duration::from_secs(1);
            }
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
        self.record(m, now);
        self.write(name, m, state, now)
    }

    /// The layout for `edges` among `n` stages, worked out again only
    /// when they changed.
    fn lay_out(&mut self, n: usize, edges: Pairs) {
        let stale = match &self.layout {
            Some((cells, made_for)) => cells.len() != n || *made_for != edges,
            None => true,
        };
        if stale {
            self.layout = Some((layers(n, &edges), edges));
        }
    }

    /// The `/graph.json` document of `m`, with what the last
    /// [`record`](Sampler::record) measured.
    pub(crate) fn write(
        &mut self,
        name: &str,
        m: &Metrics,
        state: &RunState,
        now: Instant,
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
        self.lay_out(m.stages.len(), edges);
        let cells = self.layout.as_ref().map_or(&[][..], |(cells, _)| cells);
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
            let (rate, busy) = self.rates.get(i).copied().unwrap_or_default();
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
            let (layer, row) = cells.get(i).copied().unwrap_or_default();
            j.key("layer").u64(layer as u64);
            j.key("row").u64(row as u64);
            j.key("history")
                .raw(self.history_json.get(i).map_or("[]", String::as_str));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::EdgeMetrics;
    use weir_stage::StageId;

    /// Two stages joined by a queue: `a` (one task) and `b` (a pool of
    /// `limit`), the second with `b_busy` busy time so far.
    fn metrics(a_busy: Duration, b_busy: Duration, limit: usize) -> Metrics {
        let mut a = StageMetrics::zero(StageId::next(), "a", "map");
        a.busy = a_busy;
        let mut b = StageMetrics::zero(StageId::next(), "b", "worker_pool");
        b.busy = b_busy;
        b.concurrency_limit = Some(limit);
        let edge = EdgeMetrics {
            from: "a".into(),
            to: "b".into(),
            from_id: a.id,
            to_id: b.id,
            branch: None,
            sent: 0,
            received: 0,
            len: Some(0),
            capacity: Some(8),
            peak: Some(0),
            send_wait: Duration::ZERO,
            subject: None,
        };
        Metrics {
            stages: vec![a, b],
            edges: vec![edge],
        }
    }

    fn busy_of(doc: &str) -> Vec<f64> {
        let v: serde_json::Value = serde_json::from_str(doc).unwrap();
        v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["busy_pct"].as_f64().unwrap())
            .collect()
    }

    #[test]
    fn busy_is_capped_at_one_core_per_task_the_stage_may_run() {
        let t0 = Instant::now();
        let mut s = Sampler::new(t0);
        let ms = Duration::from_millis;
        s.record(&metrics(ms(0), ms(0), 4), t0);
        // One second later the single-task stage counted a batch that
        // began before the window (1.05 s), the pool of four 5 s.
        let m = metrics(ms(1050), ms(5000), 4);
        let doc = s.snapshot("p", &m, &RunState::Running, t0 + ms(1000));
        assert_eq!(busy_of(&doc), [100.0, 400.0]);
        // Within the cap, the share is what was measured.
        let m = metrics(ms(1550), ms(6500), 4);
        let doc = s.snapshot("p", &m, &RunState::Running, t0 + ms(2000));
        // Over the last 2 s: 1.55 s and 6.5 s.
        assert_eq!(busy_of(&doc), [77.5, 325.0]);
        // One history point a second (written once, shown at every update).
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["stages"][0]["history"], serde_json::json!([0.0, 0.0]));
        let later = s.snapshot("p", &m, &RunState::Running, t0 + ms(2500));
        let v: serde_json::Value = serde_json::from_str(&later).unwrap();
        assert_eq!(v["stages"][1]["history"], serde_json::json!([0.0, 0.0]));
    }

    #[test]
    fn the_layout_follows_a_graph_that_changes() {
        let t0 = Instant::now();
        let mut s = Sampler::new(t0);
        let m = metrics(Duration::ZERO, Duration::ZERO, 1);
        let _ = s.snapshot("p", &m, &RunState::Idle, t0);
        assert_eq!(s.layout.as_ref().unwrap().0, [(0, 0), (1, 0)]);
        // A third stage (as a group_by's sub-flow row appears), no edge.
        let mut m3 = m.clone();
        m3.stages
            .push(StageMetrics::zero(StageId::next(), "c", "map"));
        let _ = s.snapshot("p", &m3, &RunState::Idle, t0);
        assert_eq!(s.layout.as_ref().unwrap().0, [(0, 0), (1, 0), (0, 1)]);
    }
}
