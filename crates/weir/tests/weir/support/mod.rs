//! Random pipeline graphs with one injected fault, run against an
//! accounting ledger and a task-leak check. Shared by `pipeline_faults.rs`
//! (proptest) and `stress.rs` (a seeded generator).
#![allow(dead_code)] // each test binary uses its own subset

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weir::cancel::{CancelHandle, Context};
use weir::pipeline::{Flow, Pipeline};
use weir::testing::{within, Accounting, LeakedTasks, Ledger, TaskBaseline, Tracked};

/// An item of the graphs: a tracked number.
pub(crate) type Item = Tracked<u64>;

/// A fused stage between the source and the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Map(u64),
    Filter(u64),
    TryMap(u64),
    Inspect,
}

/// The one stage in the middle that has tasks of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Middle {
    None,
    WorkerPool(usize),
    MapConcurrent(usize),
    FanOut(usize),
    Balance(usize),
    Partition(usize),
}

/// Where a fault is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    Source,
    Before(usize),
    Middle,
    After(usize),
    Sink,
}

/// What the fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// The site's closure panics at its `at`-th item.
    Panic,
    /// The site's closure returns an error at its `at`-th item (a panic
    /// where the site can't return errors).
    Error,
    /// The site's closure cancels the pipeline's context at its `at`-th
    /// item.
    Cancel,
    /// The test cancels the context after `at` yields, from outside.
    CancelFromOutside,
    /// The test drops the join future (so the pipeline) after `at` yields.
    DropHandle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) site: Site,
    pub(crate) action: Action,
    pub(crate) at: usize,
}

/// A graph: `source(0..input) -> before… -> middle -> after… -> sink`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) input: u64,
    pub(crate) capacity: usize,
    pub(crate) before: Vec<Op>,
    pub(crate) middle: Middle,
    pub(crate) after: Vec<Op>,
    pub(crate) fault: Option<Fault>,
}

impl Spec {
    /// Whether the graph promises input order at the sink.
    pub(crate) fn ordered(&self) -> bool {
        matches!(self.middle, Middle::None | Middle::MapConcurrent(_))
    }

    /// `(id, value)` of each item the sink gets when nothing fails.
    pub(crate) fn reference(&self) -> Vec<(u64, u64)> {
        let mut items: Vec<(u64, u64)> = (0..self.input).map(|n| (n, n)).collect();
        let apply = |items: Vec<(u64, u64)>, op: &Op| -> Vec<(u64, u64)> {
            items
                .into_iter()
                .filter(|&(_, v)| match *op {
                    Op::Filter(m) => keep(v, m),
                    _ => true,
                })
                .map(|(id, v)| (id, op.value(v)))
                .collect()
        };
        for op in &self.before {
            items = apply(items, op);
        }
        for item in &mut items {
            item.1 = self.middle.value(item.1);
        }
        for op in &self.after {
            items = apply(items, op);
        }
        items
    }

    /// The fault moved to a site that exists, and an error turned into a
    /// panic where the site can't return one.
    pub(crate) fn normalized(mut self) -> Spec {
        if let Some(fault) = &mut self.fault {
            fault.site = match fault.site {
                Site::Before(_) if self.before.is_empty() => Site::Source,
                Site::Before(i) => Site::Before(i % self.before.len()),
                Site::After(_) if self.after.is_empty() => Site::Sink,
                Site::After(i) => Site::After(i % self.after.len()),
                Site::Middle if self.middle == Middle::None => Site::Sink,
                site => site,
            };
            let can_fail = match fault.site {
                Site::Before(i) => self.before[i] == Op::TryMap(self.before[i].key()),
                Site::After(i) => self.after[i] == Op::TryMap(self.after[i].key()),
                Site::Middle => !matches!(self.middle, Middle::MapConcurrent(_)),
                Site::Source | Site::Sink => false,
            };
            if fault.action == Action::Error && !can_fail {
                fault.action = Action::Panic;
            }
        }
        self
    }
}

impl Op {
    fn key(&self) -> u64 {
        match *self {
            Op::Map(k) | Op::Filter(k) | Op::TryMap(k) => k,
            Op::Inspect => 0,
        }
    }

    fn value(&self, v: u64) -> u64 {
        match *self {
            Op::Map(k) => v.wrapping_mul(3).wrapping_add(k),
            Op::TryMap(k) => v ^ k,
            Op::Filter(_) | Op::Inspect => v,
        }
    }

    fn add(self, flow: Flow<Item>, trigger: Arc<Trigger>) -> Flow<Item> {
        match self {
            Op::Map(_) => flow.map(move |item: Item| {
                trigger.hit_or_panic();
                item.map(|v| self.value(v))
            }),
            Op::Filter(m) => flow.filter(move |item: &Item| {
                trigger.hit_or_panic();
                keep(**item, m)
            }),
            Op::TryMap(_) => flow.try_map(move |item: Item| {
                trigger.hit()?;
                Ok::<_, String>(item.map(|v| self.value(v)))
            }),
            Op::Inspect => flow.inspect(move |_: &Item| trigger.hit_or_panic()),
        }
    }
}

impl Middle {
    fn value(&self, v: u64) -> u64 {
        match self {
            Middle::WorkerPool(_) => v.wrapping_add(1),
            Middle::MapConcurrent(_) => v.wrapping_add(2),
            _ => v,
        }
    }

    fn add(self, flow: Flow<Item>, trigger: Arc<Trigger>) -> Flow<Item> {
        match self {
            Middle::None => flow,
            Middle::WorkerPool(n) => flow.worker_pool(n, move |item: Item| {
                let trigger = Arc::clone(&trigger);
                async move {
                    tokio::task::yield_now().await;
                    trigger.hit()?;
                    Ok::<_, String>(item.map(|v| self.value(v)))
                }
            }),
            Middle::MapConcurrent(n) => flow.map_concurrent(n, move |item: Item| {
                let trigger = Arc::clone(&trigger);
                async move {
                    tokio::task::yield_now().await;
                    trigger.hit_or_panic();
                    item.map(|v| self.value(v))
                }
            }),
            Middle::FanOut(n) => flow.fan_out(n, move |branch| {
                let trigger = Arc::clone(&trigger);
                branch.try_map(move |item: Item| trigger.hit().map(|()| item))
            }),
            Middle::Balance(n) => join(flow.balance_n(n), &trigger),
            Middle::Partition(n) => join(
                flow.partition_n(n, move |item: &Item| item.id() % n as u64),
                &trigger,
            ),
        }
    }
}

/// Each branch fails through `trigger`, then the branches merge back.
fn join(branches: Vec<Flow<Item>>, trigger: &Arc<Trigger>) -> Flow<Item> {
    let mut branches = branches.into_iter().map(|branch| {
        let trigger = Arc::clone(trigger);
        branch.try_map(move |item: Item| trigger.hit().map(|()| item))
    });
    let first = branches.next().expect("at least one branch");
    first.merge(branches)
}

fn keep(v: u64, m: u64) -> bool {
    v % m != 0
}

/// The fault at one site: counts the site's items and acts at the `at`-th.
pub(crate) struct Trigger {
    seen: AtomicUsize,
    armed: Option<(Action, usize)>,
    fired: Arc<AtomicBool>,
    cancel: CancelHandle,
}

impl Trigger {
    fn hit(&self) -> Result<(), String> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        match self.armed {
            Some((action, at)) if at == n => {
                self.fired.store(true, Ordering::SeqCst);
                match action {
                    Action::Panic => panic!("injected panic"),
                    Action::Error => return Err("injected error".to_string()),
                    Action::Cancel => {
                        self.cancel.cancel();
                    }
                    Action::CancelFromOutside | Action::DropHandle => {}
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn hit_or_panic(&self) {
        if let Err(e) = self.hit() {
            panic!("{e}");
        }
    }
}

/// What happened in one run.
pub(crate) struct Outcome {
    /// The pipeline's result; `None` when the test dropped it.
    pub(crate) result: Option<Result<(), weir::Error>>,
    /// Whether the fault fired.
    pub(crate) fired: bool,
    /// `(id, value)` in the order the sink got them.
    pub(crate) delivered: Vec<(u64, u64)>,
    pub(crate) books: Accounting,
    pub(crate) leak: Result<(), LeakedTasks>,
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("result", &self.result)
            .field("fired", &self.fired)
            .field("delivered", &self.delivered.len())
            .field("books", &self.books.to_string())
            .field("leak", &self.leak)
            .finish()
    }
}

/// Builds and runs `spec` on the current runtime. Panics (naming the spec)
/// if the run does not end within `limit`.
pub(crate) async fn run(spec: &Spec, limit: Duration) -> Outcome {
    let baseline = TaskBaseline::take();
    let ledger = Ledger::new();
    let (ctx, cancel) = Context::background().with_cancel();
    let fired = Arc::new(AtomicBool::new(false));
    let trigger = |site: Site| {
        let armed = spec
            .fault
            .filter(|f| f.site == site)
            .filter(|f| matches!(f.action, Action::Panic | Action::Error | Action::Cancel))
            .map(|f| (f.action, f.at));
        Arc::new(Trigger {
            seen: AtomicUsize::new(0),
            armed,
            fired: Arc::clone(&fired),
            cancel: cancel.clone(),
        })
    };

    let pipeline = Pipeline::with_capacity(&ctx, spec.capacity);
    let source = trigger(Site::Source);
    let mut flow = pipeline.source(
        ledger
            .track_all(0..spec.input)
            .inspect(move |_| source.hit_or_panic()),
    );
    for (i, op) in spec.before.iter().enumerate() {
        flow = op.add(flow, trigger(Site::Before(i)));
    }
    flow = spec.middle.add(flow, trigger(Site::Middle));
    for (i, op) in spec.after.iter().enumerate() {
        flow = op.add(flow, trigger(Site::After(i)));
    }
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let (sink, books, out) = (trigger(Site::Sink), ledger.clone(), Arc::clone(&delivered));
    let join = flow
        .for_each(move |item| {
            sink.hit_or_panic();
            let id = item.id();
            let value = books.deliver(item);
            out.lock().unwrap().push((id, value));
        })
        .run()
        .join();

    let outside = spec
        .fault
        .filter(|f| matches!(f.action, Action::CancelFromOutside | Action::DropHandle));
    let driven = async {
        match outside {
            None => Some(join.await.map(drop)),
            Some(fault) => {
                tokio::pin!(join);
                for _ in 0..fault.at {
                    if let std::task::Poll::Ready(r) = weir::testing::poll_once(&mut join).await {
                        return Some(r.map(drop));
                    }
                    tokio::task::yield_now().await;
                }
                fired.store(true, Ordering::SeqCst);
                if fault.action == Action::DropHandle {
                    return None;
                }
                cancel.cancel();
                Some(join.await.map(drop))
            }
        }
    };
    let result = match within(limit, driven).await {
        Ok(result) => result,
        Err(hung) => panic!("{hung}: {spec:?}"),
    };
    drop(pipeline);
    let leak = baseline.settle().await;
    let delivered = std::mem::take(&mut *delivered.lock().unwrap());
    Outcome {
        result,
        fired: fired.load(Ordering::SeqCst),
        delivered,
        books: ledger.accounting(),
        leak,
    }
}

/// Checks every promise on one outcome; the message says which broke.
pub(crate) fn check(spec: &Spec, out: &Outcome) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{what}\n{spec:?}\n{out:?}"));
    if out.leak.is_err() {
        return fail("tasks leaked");
    }
    if !out.books.is_exact() {
        return fail("items still alive after the run");
    }
    let mut ids: Vec<u64> = out.delivered.iter().map(|&(id, _)| id).collect();
    ids.sort_unstable();
    if ids != out.books.delivered() {
        return fail("the sink's items and the ledger's deliveries differ");
    }
    if out.books.issued() as u64 > spec.input {
        return fail("more items issued than the input has");
    }
    let reference = spec.reference();
    let expected: std::collections::HashMap<u64, u64> = reference.iter().copied().collect();
    if out
        .delivered
        .iter()
        .any(|(id, v)| expected.get(id) != Some(v))
    {
        return fail("an item arrived that the sequential reference does not produce");
    }
    if spec.ordered() && out.delivered[..] != reference[..out.delivered.len().min(reference.len())]
    {
        return fail("order broken: the output is not a prefix of the reference");
    }
    let action = spec.fault.map(|f| f.action);
    match (&out.result, out.fired, action) {
        (None, _, Some(Action::DropHandle)) => Ok(()),
        (None, _, _) => fail("no result"),
        (Some(Ok(())), fired, action) => {
            let harmless =
                !fired || matches!(action, Some(Action::Cancel | Action::CancelFromOutside));
            if !harmless {
                return fail("Ok although the fault fired");
            }
            let mut got = out.delivered.clone();
            let mut want = reference;
            got.sort_unstable();
            want.sort_unstable();
            if got != want {
                return fail("Ok but the output is not the reference's");
            }
            Ok(())
        }
        (Some(Err(err)), true, Some(Action::Panic)) => match err {
            weir::Error::Stage(weir::stage::Error::Panicked { .. }) => Ok(()),
            _ => fail("an injected panic did not come back as Panicked"),
        },
        (Some(Err(err)), true, Some(Action::Error)) => match err {
            weir::Error::Stage(weir::stage::Error::Failed { .. }) => Ok(()),
            _ => fail("an injected error did not come back as Failed"),
        },
        (Some(Err(err)), true, Some(Action::Cancel | Action::CancelFromOutside)) => {
            if err.cancelled().is_some() {
                Ok(())
            } else {
                fail("a cancel did not come back as Cancelled")
            }
        }
        (Some(Err(_)), _, _) => fail("an error without a fault"),
    }
}

/// Keeps the injected panics out of the test output (they are expected);
/// any other panic is printed as usual.
pub(crate) fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
            if !message.is_some_and(|m| m.starts_with("injected ")) {
                default(info);
            }
        }));
    });
}
