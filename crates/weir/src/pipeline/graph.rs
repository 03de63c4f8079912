//! The pipeline's graph: stages, edges, and their export as Mermaid or DOT.

use std::fmt::Write as _;
use std::sync::Arc;

use weir_core::chan::Observer;
use weir_stage::ScopeStats;

use weir_stage::engine::Stage;

use super::metrics::{EdgeMetrics, Metrics, StageMetrics};

pub(crate) type NodeId = usize;

pub(crate) struct Node {
    /// The engine's stage: id, name and counters.
    pub(crate) stage: Arc<Stage>,
    /// The channels the stage sends into, once the pipeline runs (one per
    /// branch for a split).
    outputs: Vec<Observer>,
    /// The channel a stage with tasks of its own reads, once the pipeline
    /// runs: what was sent on it is what the stage took in (exact also
    /// when it is one branch of a split, whose stage counts all branches).
    input: Option<Observer>,
    /// The stage runs as tasks of its own (a worker pool, a split, a
    /// merge), which keep no counters: its metrics are read off its
    /// channels and the scope's [`ScopeStats`].
    tasks: bool,
    /// The stage does no work of its own: its branches read its input
    /// channel directly (`fan_out`). What it takes in is what its upstream
    /// sent.
    relay: bool,
    /// A remote stage: the subjects its items are sent on and its results
    /// come back on (the labels of its edges), and what it adds to its
    /// metrics (the server's view: consumer lag).
    remote: Option<Remote>,
}

/// What the graph knows of a stage whose work happens across the network.
pub(crate) struct Remote {
    pub(crate) sent_on: Arc<str>,
    pub(crate) back_on: Arc<str>,
    pub(crate) annotate: Box<dyn Fn(&mut StageMetrics) + Send>,
}

pub(crate) struct Edge {
    from: NodeId,
    to: NodeId,
    /// The two stages run in one task, with no channel between them.
    fused: bool,
}

pub(crate) struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// Tasks, busy time and errors of the stages with tasks of their own.
    stats: ScopeStats,
}

impl Graph {
    pub(crate) fn new(stats: ScopeStats) -> Graph {
        Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
            stats,
        }
    }

    /// Adds a stage named `name` (or `kind#N` when `None`).
    pub(crate) fn add(&mut self, kind: &'static str, name: Option<Arc<str>>) -> NodeId {
        let id = self.nodes.len();
        let name = name.unwrap_or_else(|| format!("{kind}#{id}").into());
        self.nodes.push(Node {
            stage: Stage::new(kind, name),
            outputs: Vec::new(),
            input: None,
            tasks: false,
            relay: false,
            remote: None,
        });
        id
    }

    pub(crate) fn connect(&mut self, from: NodeId, to: NodeId, fused: bool) {
        self.edges.push(Edge { from, to, fused });
    }

    /// Records the channel a stage sends into, once it exists.
    pub(crate) fn set_output(&mut self, node: NodeId, probe: Observer) {
        self.nodes[node].outputs.push(probe);
    }

    /// Makes `probe` the one output of `node`: a segment's task sends into
    /// one channel (a `from_receiver` source read through a relay feeds
    /// the relay's channel, not the outside one, from then on).
    pub(crate) fn set_only_output(&mut self, node: NodeId, probe: Observer) {
        self.nodes[node].outputs = vec![probe];
    }

    /// Records the channel a stage with tasks of its own reads (see
    /// [`Node::input`]).
    pub(crate) fn set_input(&mut self, node: NodeId, probe: Observer) {
        self.nodes[node].input = Some(probe);
    }

    /// Marks a stage as running tasks of its own (see [`Node::tasks`]).
    pub(crate) fn set_tasks(&mut self, node: NodeId) {
        self.nodes[node].tasks = true;
    }

    /// Marks a stage as a relay (see [`Node::relay`]).
    pub(crate) fn set_relay(&mut self, node: NodeId) {
        self.nodes[node].relay = true;
    }

    /// Marks a stage as remote (see [`Node::remote`]).
    #[cfg(feature = "nats")]
    pub(crate) fn set_remote(&mut self, node: NodeId, remote: Remote) {
        self.nodes[node].remote = Some(remote);
    }

    /// The subject an edge's items cross the network on: the one a remote
    /// stage sends its input on, or the one its output came back on.
    fn subject(&self, e: &Edge) -> Option<String> {
        let (from, to) = (&self.nodes[e.from].remote, &self.nodes[e.to].remote);
        to.as_ref()
            .map(|r| r.sent_on.to_string())
            .or_else(|| from.as_ref().map(|r| r.back_on.to_string()))
    }

    /// What the stages before `id` sent it.
    fn sent_to(&self, id: NodeId) -> u64 {
        self.edges
            .iter()
            .filter(|e| e.to == id)
            .map(|e| self.nodes[e.from].stage.counters().snapshot().items_out)
            .sum()
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Renames a stage (its name was defaulted when it was added).
    pub(crate) fn rename(&mut self, id: NodeId, name: Arc<str>) {
        self.nodes[id].stage.rename(name);
    }

    pub(crate) fn metrics(&self) -> Metrics {
        Metrics {
            stages: (0..self.nodes.len())
                .map(|id| self.stage_metrics(id))
                .collect(),
            edges: self
                .edges
                .iter()
                .map(|e| {
                    let probe = (!e.fused)
                        .then(|| self.nodes[e.from].outputs.last())
                        .flatten();
                    EdgeMetrics {
                        from: self.nodes[e.from].stage.name().to_string(),
                        to: self.nodes[e.to].stage.name().to_string(),
                        from_id: self.nodes[e.from].stage.id(),
                        to_id: self.nodes[e.to].stage.id(),
                        len: probe.map(Observer::len),
                        capacity: probe.and_then(Observer::capacity),
                        peak: probe
                            .map(|_| self.nodes[e.from].stage.counters().snapshot().peak_queue),
                        subject: self.subject(e),
                    }
                })
                .collect(),
        }
    }

    fn stage_metrics(&self, id: NodeId) -> StageMetrics {
        let n = &self.nodes[id];
        let mut m = StageMetrics::of(&n.stage);
        if n.relay {
            m.items_in = self.sent_to(id);
        }
        if n.tasks {
            // What was sent on its input channel (else what its upstream
            // stages sent it); the rest from the scope's statistics of its
            // tasks and from its channels.
            m.items_in = n
                .input
                .as_ref()
                .map_or_else(|| self.sent_to(id), Observer::sent);
            m.running = n.outputs.iter().any(|o| o.counts().0 > 0);
            if let Some(stats) = self.stats.by_id(m.id) {
                m.busy = stats.busy;
                m.errors = stats.errors;
                m.retries = stats.retries;
                m.skipped = stats.skipped;
                m.dead_lettered = stats.dead_lettered;
            }
            m.send_wait = n.outputs.iter().map(Observer::send_waited).sum();
            // Time its tasks waited on their input channel: known when the
            // upstream stage has a single output (not a split's branch).
            m.recv_wait = self
                .edges
                .iter()
                .filter(|e| e.to == id && !e.fused)
                .filter_map(|e| match &self.nodes[e.from].outputs[..] {
                    [only] => Some(only.recv_waited()),
                    _ => None,
                })
                .sum();
        }
        if let Some(remote) = &n.remote {
            (remote.annotate)(&mut m);
        }
        m
    }

    pub(crate) fn to_mermaid(&self) -> String {
        let metrics = self.metrics();
        let mut out = String::from("flowchart LR\n");
        out.push_str(MERMAID_LEGEND);
        for (i, s) in metrics.stages.iter().enumerate() {
            let _ = writeln!(
                out,
                "    s{i}[\"{}<br/>{}: in {} / out {}{}\"]",
                escape(&s.name),
                s.kind,
                s.items_in,
                s.items_out,
                lag_note(s, "<br/>")
            );
        }
        for (e, m) in self.edges.iter().zip(&metrics.edges) {
            let (from, to) = (e.from, e.to);
            let _ = match (e.fused, edge_label(m)) {
                (true, _) => writeln!(out, "    s{from} -.->|fused| s{to}"),
                (false, Some(label)) => writeln!(out, "    s{from} -->|\"{label}\"| s{to}"),
                (false, None) => writeln!(out, "    s{from} --> s{to}"),
            };
        }
        out
    }

    pub(crate) fn to_dot(&self) -> String {
        let metrics = self.metrics();
        let mut out = String::from("digraph pipeline {\n");
        out.push_str(DOT_LEGEND);
        out.push_str("    rankdir=LR;\n    node [shape=box];\n");
        for (i, s) in metrics.stages.iter().enumerate() {
            let _ = writeln!(
                out,
                "    s{i} [label=\"{}\\n{}: in {} / out {}{}\"];",
                escape(&s.name),
                s.kind,
                s.items_in,
                s.items_out,
                lag_note(s, "\\n")
            );
        }
        for (e, m) in self.edges.iter().zip(&metrics.edges) {
            let (from, to) = (e.from, e.to);
            let _ = match (e.fused, edge_label(m)) {
                (true, _) => writeln!(out, "    s{from} -> s{to} [style=dashed, label=\"fused\"];"),
                (false, Some(label)) => writeln!(out, "    s{from} -> s{to} [label=\"{label}\"];"),
                (false, None) => writeln!(out, "    s{from} -> s{to};"),
            };
        }
        out.push_str("}\n");
        out
    }
}

/// Keeps a stage name from breaking the diagram's quoting.
/// What the edge labels of [`Graph::to_mermaid`] mean, as comments.
const MERMAID_LEGEND: &str = "    %% nodes: name, kind: items in / items out\n    \
    %% dashed edge `fused`: the two stages run in one task, no channel\n    \
    %% solid edge `now/capacity peak P`: items queued in the channel now, its capacity, \
    and the most seen queued\n    \
    %% edge label starting with a subject: a remote stage's items cross the network on it\n";

/// What the edge labels of [`Graph::to_dot`] mean, as comments.
const DOT_LEGEND: &str = "    // nodes: name, kind: items in / items out\n    \
    // dashed edge `fused`: the two stages run in one task, no channel\n    \
    // solid edge `now/capacity peak P`: items queued in the channel now, its capacity, \
    and the most seen queued\n    \
    // edge label starting with a subject: a remote stage's items cross the network on it\n";

/// A channel edge's label: `now/capacity peak P` (`inf` for an unbounded
/// channel); `None` for an edge with no channel to read.
/// Prefixed with the subject a remote stage's items cross the network on.
fn edge_label(m: &EdgeMetrics) -> Option<String> {
    let fill = m.len.map(|len| {
        let cap = m
            .capacity
            .map_or_else(|| "inf".to_string(), |c| c.to_string());
        match m.peak {
            Some(peak) => format!("{len}/{cap} peak {peak}"),
            None => format!("{len}/{cap}"),
        }
    });
    match (&m.subject, fill) {
        (Some(subject), Some(fill)) => Some(format!("{subject} · {fill}")),
        (Some(subject), None) => Some(subject.clone()),
        (None, fill) => fill,
    }
}

/// A remote stage's consumer lag, for its node's label (after `sep`);
/// empty for other stages and before the first sample.
fn lag_note(s: &StageMetrics, sep: &str) -> String {
    #[cfg(feature = "nats")]
    if let Some(lag) = &s.lag {
        return format!(
            "{sep}pending {} / ack-pending {} / redelivered {} / dead-lettered {}",
            lag.pending, lag.ack_pending, lag.redelivered, lag.dead_lettered
        );
    }
    let _ = (s, sep);
    String::new()
}

fn escape(name: &str) -> String {
    name.replace('"', "'")
}
