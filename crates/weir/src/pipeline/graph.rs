//! The pipeline's graph: one record per stage (its engine [`Stage`]) and
//! one per edge (an [`EdgeCell`] fed by the channel the edge crosses), and
//! their export as metrics, Mermaid or DOT.
//!
//! What each number is read from, so that nothing is counted twice or
//! patched from outside:
//!
//! * Every stage has one record, its engine [`Stage`] (every counter it
//!   has), registered in the scope's registry under its
//!   [`StageId`](weir_stage::StageId) when the graph adds it; the scope's
//!   tasks for the stage count into that same record.
//! * A stage that runs in a fused task (a source, a fused step, a sink
//!   step) counts its own items and busy time per batch.
//! * A stage with tasks of its own (a worker pool, a split, a merge, an
//!   async sink…) runs `weir_stage` code that keeps no item counts: what
//!   it took in is what its input edges delivered, what it sent is what
//!   its output edges were sent. Its busy time (its tasks' poll time),
//!   errors, retries and skipped/dead-lettered jobs are in its record.
//! * A channel edge reads its channel, which counts for it (weir-core's
//!   [`Observer::traffic`]): capacity, items sent, items received, items
//!   queued now and the peak fill, measured by every send — all read under
//!   the channel's lock at one instant, so `sent = received + queued`. A fused edge has no queue: what
//!   crosses it is what the stage after it took in. An edge into a shared
//!   fan-in channel has no queue of its own either: what crosses it is
//!   what the stage before it sent.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use weir_core::chan::Observer;
use weir_stage::engine::{Depth, Stage};
use weir_stage::ScopeStats;

use super::subflows::SubFlows;
use crate::observe::{EdgeMetrics, Metrics, StageMetrics};

pub(crate) type NodeId = usize;

pub(crate) struct Node {
    /// The engine's stage: id, name and counters.
    pub(crate) stage: Arc<Stage>,
    /// The stage runs as tasks of its own (a worker pool, a split, a
    /// merge), which keep no item counters: its items are read off its
    /// edges, the rest off its record.
    tasks: bool,
    /// The stage does no work of its own: its branches read its input
    /// channel directly (`fan_out`). What it sends on is what it took in.
    relay: bool,
    /// The channel the stage sends into when no flow's edge knows it (a
    /// stage made by another crate that fills a slot of its own).
    output: Option<Observer>,
    /// A remote stage: the subjects its items are sent on and its results
    /// come back on (the labels of its edges), and what it adds to its
    /// metrics (the server's view: consumer lag).
    remote: Option<Remote>,
    /// A `group_by`: its sub-flows' stages, listed after the graph's own
    /// as `<this stage>/<sub-flow stage>`, summed over keys.
    subflows: Option<Arc<SubFlows>>,
}

/// What the graph knows of a stage whose work happens across the network.
pub(crate) struct Remote {
    pub(crate) sent_on: Arc<str>,
    pub(crate) back_on: Arc<str>,
    pub(crate) annotate: Box<dyn Fn(&mut StageMetrics) + Send>,
}

/// One edge's record, made with the flow that will cross it (before the
/// stage it leads to exists): the channel it crosses once the pipeline
/// runs (which counts what crosses it), and the branch's name.
pub(crate) struct EdgeCell {
    /// The stage the edge leaves.
    from: NodeId,
    /// Its place among a split's outputs.
    branch: Option<usize>,
    name: Mutex<Option<Arc<str>>>,
    link: Mutex<Link>,
}

/// What an edge crosses.
#[derive(Clone)]
enum Link {
    /// No channel (yet): a fused edge, or a channel edge before the run.
    None,
    /// A channel of its own.
    Channel(Observer),
    /// A channel shared with other edges into the same fan-in stage:
    /// what crossed is what the stage before it sent.
    Shared,
    /// A channel shared with other edges out of the same stage (the
    /// branches of a `balance` or a `fan_out` compete for its items):
    /// what crossed is what the stage after it took in. A stage with
    /// tasks of its own reads such a branch through a relay, whose channel
    /// is then the edge's own.
    Reader,
    /// The queue of a fused `buffer` (the stage before the edge): what
    /// crossed is what the buffer kept and handed on, and its queue is
    /// the edge's.
    Queue(Arc<Depth>),
}

impl EdgeCell {
    pub(crate) fn new(from: NodeId, branch: Option<usize>) -> Arc<EdgeCell> {
        EdgeCell::with_link(from, branch, Link::None)
    }

    /// The edge of a reader of a channel shared with other edges out of
    /// `from` (see [`Link::Reader`]).
    pub(crate) fn reader(from: NodeId, branch: Option<usize>) -> Arc<EdgeCell> {
        EdgeCell::with_link(from, branch, Link::Reader)
    }

    fn with_link(from: NodeId, branch: Option<usize>, link: Link) -> Arc<EdgeCell> {
        Arc::new(EdgeCell {
            from,
            branch,
            name: Mutex::new(None),
            link: Mutex::new(link),
        })
    }

    /// The stage this edge leaves.
    pub(crate) fn from(&self) -> NodeId {
        self.from
    }

    /// Its place among a split's outputs, if it is a branch.
    pub(crate) fn branch(&self) -> Option<usize> {
        self.branch
    }

    /// Names the branch.
    pub(crate) fn rename(&self, name: Arc<str>) {
        *lock(&self.name) = Some(name);
    }

    /// The branch's name, if it was given one.
    pub(crate) fn name(&self) -> Option<Arc<str>> {
        lock(&self.name).clone()
    }

    /// The edge crosses the channel `probe` watches.
    pub(crate) fn attach(&self, probe: Observer) {
        *lock(&self.link) = Link::Channel(probe);
    }

    /// Records the queue of the fused buffer this edge leaves.
    pub(crate) fn attach_queue(&self, depth: Arc<Depth>) {
        *lock(&self.link) = Link::Queue(depth);
    }

    /// The capacity of the channel attached so far, if any.
    pub(crate) fn capacity(&self) -> Option<usize> {
        match &*lock(&self.link) {
            Link::Channel(probe) => probe.capacity(),
            _ => None,
        }
    }

    /// The edge sends into a channel shared with other edges.
    pub(crate) fn share(&self) {
        *lock(&self.link) = Link::Shared;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct Edge {
    from: NodeId,
    to: NodeId,
    /// The two stages run in one task, with no channel between them.
    fused: bool,
    cell: Arc<EdgeCell>,
}

pub(crate) struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// The scope's registry of stage records: every stage's record is
    /// registered there when it is added.
    stats: ScopeStats,
    /// The edge each slot's channel will be attached to, by the slot's
    /// address (a slot is filled when the pipeline starts).
    slots: HashMap<usize, Arc<EdgeCell>>,
    /// Flows made and not consumed yet: each is an output not connected
    /// (so far).
    open: Vec<Arc<EdgeCell>>,
}

/// What crossed an edge: sent, received, queued now, the channel's
/// capacity and how long its senders waited (`None`s: no queue).
struct Crossing {
    sent: u64,
    received: u64,
    len: Option<usize>,
    capacity: Option<usize>,
    peak: Option<usize>,
    send_wait: Duration,
    recv_wait: Duration,
}

impl Graph {
    pub(crate) fn new(stats: ScopeStats) -> Graph {
        Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
            stats,
            slots: HashMap::new(),
            open: Vec::new(),
        }
    }

    /// Adds a stage named `name` (or `kind#N` when `None`).
    pub(crate) fn add(&mut self, kind: &'static str, name: Option<Arc<str>>) -> NodeId {
        let id = self.nodes.len();
        let name = name.unwrap_or_else(|| format!("{kind}#{id}").into());
        self.nodes.push(Node {
            stage: self.stats.adopt(&Stage::new(kind, name)),
            tasks: false,
            relay: false,
            output: None,
            remote: None,
            subflows: None,
        });
        id
    }

    /// Adds the edge `cell` describes, into `to`.
    pub(crate) fn connect(&mut self, cell: Arc<EdgeCell>, to: NodeId, fused: bool) {
        self.edges.push(Edge {
            from: cell.from,
            to,
            fused,
            cell,
        });
    }

    /// A flow reading `cell`'s edge was made: an open output until it is
    /// consumed ([`close`](Graph::close)).
    pub(crate) fn open(&mut self, cell: &Arc<EdgeCell>) {
        self.open.push(cell.clone());
    }

    /// The flow reading `cell`'s edge was consumed (or dropped).
    pub(crate) fn close(&mut self, cell: &Arc<EdgeCell>) {
        self.open.retain(|c| !Arc::ptr_eq(c, cell));
    }

    /// The outputs not connected to anything yet.
    pub(crate) fn open_outputs(&self) -> Vec<Arc<EdgeCell>> {
        self.open.clone()
    }

    /// The channel a slot will hold is the channel of `cell`'s edge.
    pub(crate) fn register_slot(&mut self, slot: usize, cell: Arc<EdgeCell>) {
        self.slots.insert(slot, cell);
    }

    /// Stage `node` filled the slot at `slot` with the channel `probe`
    /// watches: the channel of the edge that reads it, or, for a slot no
    /// flow registered, the stage's output.
    pub(crate) fn filled(&mut self, node: NodeId, slot: usize, probe: Observer) {
        match self.slots.get(&slot) {
            Some(cell) => cell.attach(probe),
            None => self.nodes[node].output = Some(probe),
        }
    }

    /// Marks a stage as running tasks of its own (see [`Node::tasks`]).
    pub(crate) fn set_tasks(&mut self, node: NodeId) {
        self.nodes[node].tasks = true;
    }

    /// Lists `subflows`' stages under stage `node` (a `group_by`).
    pub(crate) fn set_subflows(&mut self, node: NodeId, subflows: Arc<SubFlows>) {
        self.nodes[node].subflows = Some(subflows);
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

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Renames a stage (its name was defaulted when it was added).
    pub(crate) fn rename(&mut self, id: NodeId, name: Arc<str>) {
        self.nodes[id].stage.rename(name);
    }

    /// What crossed edge `e`, given the metrics of the stages before it.
    fn crossing(&self, e: &Edge, stages: &[StageMetrics]) -> Crossing {
        let link = lock(&e.cell.link).clone();
        let link = match (link, &self.nodes[e.from].output) {
            (Link::None, Some(output)) if !e.fused => Link::Channel(output.clone()),
            (link, _) => link,
        };
        match link {
            Link::Channel(probe) => {
                let t = probe.traffic();
                Crossing {
                    sent: t.sent,
                    received: t.received,
                    len: Some(t.len),
                    capacity: probe.capacity(),
                    peak: Some(t.peak.unwrap_or(t.len)),
                    send_wait: probe.send_waited(),
                    recv_wait: probe.recv_waited(),
                }
            }
            Link::Queue(depth) => {
                let from = &stages[e.from];
                Crossing {
                    sent: from.items_in.saturating_sub(from.dropped),
                    received: from.items_out,
                    len: Some(depth.len()),
                    capacity: Some(depth.capacity()),
                    peak: Some(depth.peak()),
                    send_wait: Duration::ZERO,
                    recv_wait: Duration::ZERO,
                }
            }
            Link::Shared => self.direct(stages[e.from].items_out),
            Link::Reader => self.direct(self.nodes[e.to].stage.counters().snapshot().items_in),
            Link::None if e.fused => {
                self.direct(self.nodes[e.to].stage.counters().snapshot().items_in)
            }
            // A channel edge before the pipeline runs.
            Link::None => self.direct(0),
        }
    }

    /// An edge with no queue of its own, `n` items across.
    fn direct(&self, n: u64) -> Crossing {
        Crossing {
            sent: n,
            received: n,
            len: None,
            capacity: None,
            peak: None,
            send_wait: Duration::ZERO,
            recv_wait: Duration::ZERO,
        }
    }

    pub(crate) fn metrics(&self) -> Metrics {
        // Stages in build order: every edge runs from an earlier stage to
        // a later one, so a stage's inputs are known when it is reached.
        let mut stages: Vec<StageMetrics> = Vec::with_capacity(self.nodes.len());
        let mut crossings: Vec<Option<Crossing>> = self.edges.iter().map(|_| None).collect();
        for id in 0..self.nodes.len() {
            for (i, e) in self.edges.iter().enumerate() {
                if e.to == id {
                    crossings[i] = Some(self.crossing(e, &stages));
                }
            }
            let m = self.stage_metrics(id, &crossings);
            stages.push(m);
        }
        // A task stage's output, now that every edge is read.
        for (id, m) in stages.iter_mut().enumerate() {
            if self.nodes[id].tasks {
                m.items_out = self.sum(id, true, &crossings, |c| c.sent);
                m.send_wait = self.sum(id, true, &crossings, |c| c.send_wait);
            }
        }
        // Each `group_by`'s sub-flow stages, after every stage of the graph
        // (so an edge's ends keep their places).
        for n in &self.nodes {
            if let Some(subflows) = &n.subflows {
                stages.extend(subflows.snapshot(&n.stage.name()));
            }
        }
        let edges = self
            .edges
            .iter()
            .zip(crossings)
            .map(|(e, c)| {
                let c = c.expect("every edge leads to a stage");
                EdgeMetrics {
                    from: self.nodes[e.from].stage.name().to_string(),
                    to: self.nodes[e.to].stage.name().to_string(),
                    from_id: self.nodes[e.from].stage.id(),
                    to_id: self.nodes[e.to].stage.id(),
                    branch: e.cell.name().map(|n| n.to_string()),
                    sent: c.sent,
                    received: c.received,
                    len: c.len,
                    capacity: c.capacity,
                    peak: c.peak,
                    send_wait: c.send_wait,
                    subject: self.subject(e),
                }
            })
            .collect();
        Metrics { stages, edges }
    }

    /// `f` summed over the edges out of stage `id` (`out`) or into it.
    fn sum<A: std::iter::Sum<A>>(
        &self,
        id: NodeId,
        out: bool,
        crossings: &[Option<Crossing>],
        f: impl Fn(&Crossing) -> A,
    ) -> A {
        self.edges
            .iter()
            .zip(crossings)
            .filter(|(e, _)| if out { e.from == id } else { e.to == id })
            .filter_map(|(_, c)| c.as_ref().map(&f))
            .sum()
    }

    fn stage_metrics(&self, id: NodeId, crossings: &[Option<Crossing>]) -> StageMetrics {
        let n = &self.nodes[id];
        let mut m = StageMetrics::of(&n.stage);
        if n.relay {
            m.items_in = self.sum(id, false, crossings, |c| c.received);
            m.items_out = m.items_in;
        }
        if n.tasks {
            // What its input edges delivered (its output is summed once
            // every edge is read), and how long its channels kept it
            // waiting; the rest is in its record.
            m.items_in = self.sum(id, false, crossings, |c| c.received);
            m.recv_wait = self.sum(id, false, crossings, |c| c.recv_wait);
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
                notes(s, "<br/>")
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
                notes(s, "\\n")
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
const MERMAID_LEGEND: &str = "    %% nodes: name, kind: items in / items out (then dropped / timeouts / restarts, if any; an adaptive limit's value)\n    \
    %% dashed edge `fused`: the two stages run in one task, no channel\n    \
    %% solid edge `now/capacity peak P`: items queued in the channel now, its capacity, \
    and the most seen queued\n    \
    %% edge label starting with a subject: a remote stage's items cross the network on it\n    \
    %% a split's branch given a name shows it before its fill\n";

/// What the edge labels of [`Graph::to_dot`] mean, as comments.
const DOT_LEGEND: &str = "    // nodes: name, kind: items in / items out (then dropped / timeouts / restarts, if any; an adaptive limit's value)\n    \
    // dashed edge `fused`: the two stages run in one task, no channel\n    \
    // solid edge `now/capacity peak P`: items queued in the channel now, its capacity, \
    and the most seen queued\n    \
    // edge label starting with a subject: a remote stage's items cross the network on it\n    \
    // a split's branch given a name shows it before its fill\n";

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
    let label: Vec<String> = [m.subject.clone(), m.branch.clone(), fill]
        .into_iter()
        .flatten()
        .collect();
    (!label.is_empty()).then(|| label.join(" · "))
}

/// What a node's label adds to its counts: the items its overflow policy
/// dropped, its timeouts and restarts (when there are any), an adaptive
/// limit's value now (`limit 17 (adaptive)`), and a remote stage's
/// consumer lag, each after `sep`.
fn notes(s: &StageMetrics, sep: &str) -> String {
    let shaped: Vec<String> = [
        ("dropped", s.dropped),
        ("timeouts", s.timeouts),
        ("restarts", s.restarts),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(what, n)| format!("{what} {n}"))
    .collect();
    let mut out = String::new();
    if !shaped.is_empty() {
        out.push_str(sep);
        out.push_str(&shaped.join(" / "));
    }
    if let (true, Some(limit)) = (s.adaptive_limit, s.concurrency_limit) {
        out.push_str(&format!("{sep}limit {limit} (adaptive)"));
    }
    out + &lag_note(s, sep)
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
