//! `profile_cancel`: the timeline of one trial of the cancellation and idle
//! latency workloads — who wakes whom, on which thread, and when.
//!
//! ```text
//! cargo run --release -p weir-benches --bin profile_cancel -- \
//!     <cancel|pinned|wrapped|abort|token|scope|latency|fused> [trials] [--workers N]
//!     [--event-interval N] [--quiet] [--no-log] [--current-thread] [--spawned] [--show P]
//!     [--placement]
//! ```
//!
//! * `cancel`: workload 5 as `compare` runs it (10 stages blocked on full
//!   channels of 128, weir `Context` in each stage's `select!`, a
//!   `WaitGroup` join), with every stage future and the join wrapped;
//! * `pinned`: the same stages with one `cancelled()` per stage, pinned
//!   before its loop and raced by `&mut` in each `select!` (the form
//!   `Context::cancelled`'s docs recommend);
//! * `wrapped`: the same stages without a cancel branch, each whole stage
//!   raced against its context's `cancelled()` in one `select!` (a
//!   weir-stage scope task's shape, joined with the same `WaitGroup`; the
//!   wrapper inside the `select!` logs polls and ends, not the wake-ups);
//! * `abort`: the same stages without a cancel branch, ended by
//!   `JoinHandle::abort` (tokio's own way to end a task), same join;
//! * `token`: the same stages with tokio-util's `CancellationToken`;
//! * `scope`: the same stages spawned into a weir-stage `Scope`
//!   (`Scope::spawn`, so the scope's own select ends them), cancelled with
//!   `Scope::cancel` and joined with `OwnedScope::wait`;
//! * `latency`: workload 7 (one item through an idle 3-stage batched
//!   pipeline, 500 µs idle before each trial);
//! * `fused`: the same trial through the facade's fused `Pipeline`
//!   (`from_receiver → map → map → map → forward`, one task), as
//!   `compare`'s "weir Pipeline (fused)" row; its task is not wrapped, so
//!   each `map` closure logs a poll of "stage 0…2" when it runs instead.
//!
//! Each stage future is wrapped in [`Traced`], which logs when it is
//! polled (and on which thread) and hands the future a waker that logs
//! when it is called before passing the wake on; the runtime's
//! `on_thread_park` / `on_thread_unpark` callbacks log the workers' sleeps.
//! Thread 0 is the main thread (it cancels, and joins in `block_on`);
//! 1, 2, … are the workers in the order they first logged.
//!
//! Per trial it counts task wakes, wakes made from the main thread (each
//! goes through the runtime's injection queue), cross-thread wakes (woken
//! on one worker, polled on another), worker unparks, polls, and the
//! voluntary context switches of the whole process (read before the cancel
//! and after the join, outside the timed window). It prints the medians of
//! those, p50 / p99 of the time, the median of each phase of a cancel
//! trial (to the first stage wake-up, the wake-ups, to the first stage
//! poll, the stages, the join's end), and the full timeline of the trial
//! whose time is the median. The log costs ~50–100 ns per event, so times
//! are a little above `compare`'s; counts are exact. `--no-log` turns the log
//! off (the wrappers stay, the counts read 0) to compare the modes' times.
//! `--current-thread` runs `latency` / `fused` on a current-thread runtime
//! driven by the main thread's `block_on` (the thread that sends and
//! receives also runs the stages).
//! `--spawned` runs the driver (the loop that idles, cancels or sends, and
//! joins) as one spawned task, as `compare`'s "driver in a spawned task"
//! rows and Go's main goroutine: idling with `tokio::time::sleep`, the
//! main thread only waiting for that task. Thread 0 then never wakes in a
//! trial; the joiner is the driver task. `--show 99` prints the timeline
//! of the trial at p99 instead of the median one. The timeline's "cancel
//! returned" marks when the cancel call (or the aborts) came back.
//! `--placement` reads, before each cancel trial and outside its timed
//! window, the CPU each worker thread last ran on (`/proc/self/task/*/stat`),
//! and prints p50 / p99 apart for the trials that began with every worker
//! on one CPU and those that began with them spread over several.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use weir_benches::work::{pause, percentiles, voluntary_csw};
use weir_core::{chan, WaitGroup};

/// Stages in the cancellation workload, capacity of its channels.
const STAGES: usize = 10;
const CAP: usize = 128;
/// The latency workload: stages, batch, idle time before each trial.
const LAT_STAGES: usize = 3;
const BATCH: usize = 512;
const IDLE: Duration = Duration::from_micros(500);
/// The task id of the joiner (the main thread's `block_on` future).
const JOIN: u16 = u16::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The main thread is about to cancel (or send, in `latency`).
    Start,
    /// A task's waker was called.
    Wake(u16),
    /// A task is being polled.
    Poll(u16),
    /// A task's poll returned (`true`: it finished).
    Polled(u16, bool),
    /// A worker is about to park / has unparked.
    Park,
    Unpark,
    /// A task's future was dropped (ended or aborted).
    Dropped(u16),
    /// The cancel call (or the aborts) returned.
    Told,
}

#[derive(Clone, Copy)]
struct Event {
    at: Instant,
    thread: u32,
    kind: Kind,
}

static ON: AtomicBool = AtomicBool::new(false);
/// `--no-log`: `ON` stays false.
static NO_LOG: AtomicBool = AtomicBool::new(false);
static NEXT_THREAD: AtomicU32 = AtomicU32::new(0);

/// One thread's events.
type ThreadLog = Arc<Mutex<Vec<Event>>>;

/// Every thread's own log (registered on its first event), so logging
/// never makes two threads wait for one lock.
fn logs() -> &'static Mutex<Vec<ThreadLog>> {
    static LOGS: OnceLock<Mutex<Vec<ThreadLog>>> = OnceLock::new();
    LOGS.get_or_init(|| Mutex::new(Vec::new()))
}

thread_local! {
    static THREAD: Cell<u32> = const { Cell::new(u32::MAX) };
    static LOG: ThreadLog = {
        let log = Arc::new(Mutex::new(Vec::with_capacity(1 << 14)));
        logs().lock().expect("logs").push(log.clone());
        log
    };
}

fn thread_no() -> u32 {
    THREAD.with(|t| {
        if t.get() == u32::MAX {
            t.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        t.get()
    })
}

fn log(kind: Kind) {
    if ON.load(Ordering::Relaxed) {
        let ev = Event {
            at: Instant::now(),
            thread: thread_no(),
            kind,
        };
        LOG.with(|log| log.lock().expect("log").push(ev));
    }
}

/// A waker that logs, then wakes the task's own waker.
struct LoggingWaker {
    id: u16,
    inner: Waker,
}

impl Wake for LoggingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        log(Kind::Wake(self.id));
        self.inner.wake_by_ref();
    }
}

/// A future whose polls and wake-ups are logged.
struct Traced<F> {
    id: u16,
    waker: Option<Waker>,
    fut: Pin<Box<F>>,
}

impl<F> Traced<F> {
    fn new(id: u16, fut: F) -> Self {
        Traced {
            id,
            waker: None,
            fut: Box::pin(fut),
        }
    }
}

impl<F> Drop for Traced<F> {
    fn drop(&mut self) {
        log(Kind::Dropped(self.id));
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let id = self.id;
        log(Kind::Poll(id));
        let stale = match &self.waker {
            Some(w) => !w.will_wake(cx.waker()),
            None => true,
        };
        if stale {
            self.waker = Some(Waker::from(Arc::new(LoggingWaker {
                id,
                inner: cx.waker().clone(),
            })));
        }
        let this = &mut *self;
        let waker = this.waker.as_ref().expect("set above");
        let out = this.fut.as_mut().poll(&mut Context::from_waker(waker));
        log(Kind::Polled(id, out.is_ready()));
        out
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Cancel,
    Abort,
    Token,
    Scope,
    Wrapped,
    Pinned,
    Latency,
    Fused,
}

struct Options {
    mode: Mode,
    trials: usize,
    workers: Option<usize>,
    event_interval: Option<u32>,
    current_thread: bool,
    spawned: bool,
    quiet: bool,
    /// The percentile of the trial whose timeline is printed (50: the
    /// median trial).
    show: f64,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let mut o = Options {
        mode: Mode::Cancel,
        trials: 1000,
        workers: None,
        event_interval: None,
        current_thread: false,
        spawned: false,
        quiet: false,
        show: 50.0,
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "cancel" => o.mode = Mode::Cancel,
            "abort" => o.mode = Mode::Abort,
            "token" => o.mode = Mode::Token,
            "scope" => o.mode = Mode::Scope,
            "wrapped" => o.mode = Mode::Wrapped,
            "pinned" => o.mode = Mode::Pinned,
            "latency" => o.mode = Mode::Latency,
            "fused" => o.mode = Mode::Fused,
            "--workers" => o.workers = args.next().and_then(|v| v.parse().ok()),
            "--event-interval" => o.event_interval = args.next().and_then(|v| v.parse().ok()),
            "--quiet" => o.quiet = true,
            "--current-thread" => o.current_thread = true,
            "--spawned" => o.spawned = true,
            "--show" => o.show = args.next().and_then(|v| v.parse().ok()).unwrap_or(50.0),
            "--no-log" => NO_LOG.store(true, Ordering::Relaxed),
            "--placement" => PLACEMENT.store(true, Ordering::Relaxed),
            n => match n.parse() {
                Ok(trials) => o.trials = trials,
                Err(_) => {
                    // `--help` too: the usage, and no panic on a bad word.
                    eprintln!(
                        "usage: profile_cancel \
                         <cancel|pinned|wrapped|abort|token|scope|latency|fused> [trials] \
                         [--workers N] [--event-interval N] [--quiet] [--no-log] \
                         [--current-thread] [--spawned] [--show P] [--placement]\n\
                         ({n:?} is none of these)"
                    );
                    std::process::exit(2);
                }
            },
        }
    }
    o
}

fn runtime(o: &Options) -> tokio::runtime::Runtime {
    if o.current_thread {
        // Driven by the main thread's `block_on`: nothing parks or unparks
        // but the main thread itself.
        assert!(
            matches!(o.mode, Mode::Latency | Mode::Fused),
            "--current-thread: latency and fused only (a cancel trial fills its buffers off the runtime)"
        );
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
    }
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all()
        .on_thread_park(|| log(Kind::Park))
        .on_thread_unpark(|| log(Kind::Unpark));
    if let Some(w) = o.workers {
        b.worker_threads(w);
    }
    if let Some(e) = o.event_interval {
        b.event_interval(e);
    }
    b.build().expect("runtime")
}

/// What one trial's log says.
#[derive(Default, Clone, Copy)]
struct Counts {
    total: Duration,
    wakes: u32,
    main_wakes: u32,
    cross_wakes: u32,
    unparks: u32,
    polls: u32,
    join_wakes: u32,
    join_polls: u32,
    csw: u64,
    threads_polling: u32,
}

fn count(events: &[Event], total: Duration, csw: u64) -> Counts {
    let mut c = Counts {
        total,
        csw,
        ..Counts::default()
    };
    let mut pollers = std::collections::HashSet::new();
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            Kind::Wake(id) if id != JOIN => {
                c.wakes += 1;
                if e.thread == 0 {
                    c.main_wakes += 1;
                } else {
                    let next = events[i + 1..]
                        .iter()
                        .find(|n| n.kind == Kind::Poll(id))
                        .map(|n| n.thread);
                    if next.is_some_and(|t| t != e.thread) {
                        c.cross_wakes += 1;
                    }
                }
            }
            Kind::Wake(JOIN) => c.join_wakes += 1,
            Kind::Poll(JOIN) => c.join_polls += 1,
            Kind::Unpark => c.unparks += 1,
            Kind::Poll(id) if id != JOIN => {
                c.polls += 1;
                pollers.insert(e.thread);
            }
            _ => {}
        }
    }
    c.threads_polling = pollers.len() as u32;
    c
}

/// A cancel trial's phases, in ns: start to the first stage wake-up, the
/// wake-ups (first to last), the last wake-up to the first stage poll,
/// the stages (first poll to last drop), and the last drop to the end of
/// the join. `None` for a trial without stage wake-ups and polls (an
/// abort wakes no waker of ours; the latency modes have no drops).
fn phases(events: &[Event], total: Duration) -> Option<[u64; 5]> {
    let first = |p: &dyn Fn(Kind) -> bool| events.iter().find(|e| p(e.kind)).map(|e| e.at);
    let last = |p: &dyn Fn(Kind) -> bool| events.iter().rev().find(|e| p(e.kind)).map(|e| e.at);
    let wake = |k| matches!(k, Kind::Wake(id) if id != JOIN);
    let poll = |k| matches!(k, Kind::Poll(id) if id != JOIN);
    let drop = |k| matches!(k, Kind::Dropped(id) if id != JOIN);
    let t0 = first(&|k| k == Kind::Start)?;
    let (first_wake, last_wake) = (first(&wake)?, last(&wake)?);
    let (first_poll, last_drop) = (first(&poll)?, last(&drop)?);
    let ns = |a: Instant, b: Instant| b.saturating_duration_since(a).as_nanos() as u64;
    Some([
        ns(t0, first_wake),
        ns(first_wake, last_wake),
        ns(last_wake, first_poll),
        ns(first_poll, last_drop),
        (total.as_nanos() as u64).saturating_sub(ns(t0, last_drop)),
    ])
}

fn print_timeline(events: &[Event]) {
    let Some(t0) = events.iter().find(|e| e.kind == Kind::Start).map(|e| e.at) else {
        return;
    };
    let name = |id: u16| {
        if id == JOIN {
            "join".to_string()
        } else {
            format!("stage {id}")
        }
    };
    for e in events {
        let dt = e.at.saturating_duration_since(t0).as_secs_f64() * 1e6;
        let what = match e.kind {
            Kind::Start => "start (cancel / send)".to_string(),
            Kind::Wake(id) => format!("wake {}", name(id)),
            Kind::Poll(id) => format!("poll {}", name(id)),
            Kind::Polled(id, true) => format!("  {} ended", name(id)),
            Kind::Polled(id, false) => format!("  {} pending", name(id)),
            Kind::Park => "park".to_string(),
            Kind::Unpark => "unpark".to_string(),
            Kind::Dropped(id) => format!("  {} dropped", name(id)),
            Kind::Told => "cancel returned".to_string(),
        };
        println!("{dt:>8.2} µs  t{}  {what}", e.thread);
    }
}

/// Every thread's events of the trial just ended, in time order.
fn take_log() -> Vec<Event> {
    let mut all = Vec::new();
    for log in logs().lock().expect("logs").iter() {
        all.append(&mut log.lock().expect("log"));
    }
    all.sort_by_key(|e| e.at);
    all
}

/// One cancellation trial's stages, running, not yet told to end.
struct Stages {
    mode: Mode,
    handle: weir::cancel::CancelHandle,
    token: CancellationToken,
    wg: WaitGroup,
    handles: Vec<tokio::task::JoinHandle<()>>,
    scope: Option<weir::stage::OwnedScope>,
    chans_tx: Vec<chan::Sender<u64>>,
    _chans_rx: Vec<chan::Receiver<u64>>,
}

/// A stage with no cancel branch of its own (the first one makes numbers,
/// the others pass on what they receive): what a `scope` task runs, and
/// what `wrapped` races against its context. Ends when its input closes
/// or its output's receivers are gone.
async fn plain_stage(
    rx: Option<chan::Receiver<u64>>,
    tx: chan::Sender<u64>,
) -> Result<(), chan::SendError<u64>> {
    let mut i = 0u64;
    loop {
        let v = match &rx {
            None => {
                i += 1;
                i
            }
            Some(rx) => match rx.recv().await {
                Some(v) => v,
                None => return Ok(()),
            },
        };
        tx.send(v).await?;
    }
}

impl Stages {
    /// Starts the stages of `mode` (the caller is in the runtime's context).
    fn start(mode: Mode) -> Stages {
        let (ctx, handle) = weir::cancel::Context::background().with_cancel();
        let token = CancellationToken::new();
        let wg = WaitGroup::new();
        let (chans_tx, chans_rx): (Vec<_>, Vec<_>) =
            (0..STAGES).map(|_| chan::bounded::<u64>(CAP)).unzip();
        let mut handles = Vec::new();
        let scope = (mode == Mode::Scope)
            .then(|| weir::stage::Scope::new(&weir::cancel::Context::background()));
        for s in 0..STAGES {
            let tx = chans_tx[s].clone();
            let rx = (s > 0).then(|| chans_rx[s - 1].clone());
            if mode == Mode::Pinned {
                let ctx = ctx.clone();
                let stage = async move {
                    let mut done = std::pin::pin!(ctx.cancelled());
                    let mut i = 0u64;
                    loop {
                        let v = match &rx {
                            None => {
                                i += 1;
                                i
                            }
                            Some(rx) => match tokio::select! {
                                v = rx.recv() => v,
                                _ = &mut done => return,
                            } {
                                Some(v) => v,
                                None => return,
                            },
                        };
                        let sent = tokio::select! {
                            r = tx.send(v) => r,
                            _ = &mut done => return,
                        };
                        if sent.is_err() {
                            return;
                        }
                    }
                };
                handles.push(wg.go(Traced::new(s as u16, stage)));
                continue;
            }
            if mode == Mode::Wrapped {
                let ctx = ctx.clone();
                let inner = Traced::new(s as u16, plain_stage(rx, tx));
                let stage = async move {
                    tokio::select! {
                        _ = ctx.cancelled() => {}
                        _ = inner => {}
                    }
                };
                handles.push(wg.go(stage));
                continue;
            }
            if let Some(scope) = &scope {
                scope.spawn(Traced::new(s as u16, plain_stage(rx, tx)));
                continue;
            }
            let (ctx, token) = (ctx.clone(), token.clone());
            let stage = async move {
                let mut i = 0u64;
                loop {
                    let v = match &rx {
                        None => {
                            i += 1;
                            i
                        }
                        Some(rx) => {
                            let got = match mode {
                                Mode::Cancel => tokio::select! {
                                    v = rx.recv() => v,
                                    _ = ctx.cancelled() => return,
                                },
                                Mode::Token => tokio::select! {
                                    v = rx.recv() => v,
                                    _ = token.cancelled() => return,
                                },
                                _ => rx.recv().await,
                            };
                            match got {
                                Some(v) => v,
                                None => return,
                            }
                        }
                    };
                    let sent = match mode {
                        Mode::Cancel => tokio::select! {
                            r = tx.send(v) => r,
                            _ = ctx.cancelled() => return,
                        },
                        Mode::Token => tokio::select! {
                            r = tx.send(v) => r,
                            _ = token.cancelled() => return,
                        },
                        _ => tx.send(v).await,
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            };
            handles.push(wg.go(Traced::new(s as u16, stage)));
        }
        Stages {
            mode,
            handle,
            token,
            wg,
            handles,
            scope,
            chans_tx,
            _chans_rx: chans_rx,
        }
    }

    fn full(&self) -> bool {
        self.chans_tx.iter().all(|tx| tx.is_full())
    }

    /// Starts the log and tells every stage to end; returns the log's start
    /// time and the context switches so far.
    fn end(&self) -> (Instant, u64) {
        let csw0 = voluntary_csw();
        ON.store(!NO_LOG.load(Ordering::Relaxed), Ordering::Relaxed);
        let t0 = Instant::now();
        log(Kind::Start);
        match (self.mode, &self.scope) {
            (_, Some(scope)) => scope.cancel(),
            (Mode::Cancel | Mode::Wrapped | Mode::Pinned, _) => {
                self.handle.cancel();
            }
            (Mode::Token, _) => self.token.cancel(),
            _ => self.handles.iter().for_each(|h| h.abort()),
        }
        log(Kind::Told);
        (t0, csw0)
    }

    /// Every stage has ended: the join, wrapped as the joiner.
    async fn join(&mut self) {
        match self.scope.take() {
            Some(scope) => {
                let outcome = Traced::new(JOIN, scope.wait()).await;
                assert!(outcome.is_err(), "the scope reports the cancellation");
            }
            None => Traced::new(JOIN, self.wg.wait())
                .await
                .expect("stage tasks"),
        }
    }
}

/// Stops the log: (time, events, context switches) of the trial.
fn finish(t0: Instant, csw0: u64) -> (Duration, Vec<Event>, u64) {
    let total = t0.elapsed();
    ON.store(false, Ordering::Relaxed);
    let csw = voluntary_csw() - csw0;
    (total, take_log(), csw)
}

/// One cancellation trial, the driver on the main thread (as `compare`'s
/// block_on rows: the main thread in the runtime's context cancels, then
/// joins in `block_on`).
fn cancel_trial(rt: &tokio::runtime::Runtime, mode: Mode) -> (Duration, Vec<Event>, u64) {
    let _enter = rt.enter();
    let mut stages = Stages::start(mode);
    pause(Duration::from_micros(10));
    while !stages.full() {
        pause(Duration::from_micros(10));
    }
    pause(Duration::from_micros(100));
    let before = placement();
    let (t0, csw0) = stages.end();
    rt.block_on(stages.join());
    let trial = finish(t0, csw0);
    record_placement(before, trial.0);
    trial
}

/// One cancellation trial in the spawned driver (`--spawned`, as
/// `compare`'s spawned rows): the same steps inside a task, idling with
/// `tokio::time::sleep`.
async fn cancel_trial_spawned(mode: Mode) -> (Duration, Vec<Event>, u64) {
    let mut stages = Stages::start(mode);
    tokio::time::sleep(Duration::from_micros(10)).await;
    while !stages.full() {
        tokio::time::sleep(Duration::from_micros(10)).await;
    }
    tokio::time::sleep(Duration::from_micros(100)).await;
    let before = placement();
    let (t0, csw0) = stages.end();
    stages.join().await;
    let trial = finish(t0, csw0);
    record_placement(before, trial.0);
    trial
}

/// `--placement`: before each cancel trial (outside the timed window), the
/// CPU each worker thread last ran on, from `/proc/self/task/*/stat`.
static PLACEMENT: AtomicBool = AtomicBool::new(false);

/// Per trial with `--placement`: its time, and whether every worker had
/// last run on one CPU.
fn placements() -> &'static Mutex<Vec<(Duration, bool)>> {
    static PLACED: OnceLock<Mutex<Vec<(Duration, bool)>>> = OnceLock::new();
    PLACED.get_or_init(|| Mutex::new(Vec::new()))
}

/// The CPUs the runtime's worker threads last ran on (`None` without
/// `--placement`). Threads are told apart by tokio's default name
/// ("tokio-rt-worker" in `comm`).
fn placement() -> Option<Vec<u32>> {
    if !PLACEMENT.load(Ordering::Relaxed) {
        return None;
    }
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let cpus = tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|comm| comm.starts_with("tokio-rt-w"))
        })
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            // Field 39, "processor"; the fields after the name (field 2,
            // in parentheses) start at field 3.
            let rest = &stat[stat.rfind(')')? + 2..];
            rest.split(' ').nth(36)?.parse().ok()
        })
        .collect();
    Some(cpus)
}

/// Notes a trial's time under its placement (none when no worker thread
/// was found by name).
fn record_placement(before: Option<Vec<u32>>, took: Duration) {
    if let Some(cpus) = before.filter(|cpus| !cpus.is_empty()) {
        let one_cpu = cpus.windows(2).all(|w| w[0] == w[1]);
        placements().lock().unwrap().push((took, one_cpu));
    }
}

/// The latency workload's pipeline, and one trial on it.
struct Pipeline {
    input: chan::Sender<u64>,
    output: chan::Receiver<u64>,
    /// The fused pipeline's run (kept so it is not cancelled).
    _run: Option<weir::pipeline::RunHandle<()>>,
}

fn fused_pipeline(rt: &tokio::runtime::Runtime) -> Pipeline {
    let _enter = rt.enter();
    let (input, rx) = chan::bounded::<u64>(1024);
    let (tx, output) = chan::bounded::<u64>(1024);
    let mapped = |s: u16| {
        move |v: u64| {
            log(Kind::Poll(s));
            v + 1
        }
    };
    let run = weir::pipeline::Pipeline::new(&weir::cancel::Context::background())
        .from_receiver(rx)
        .map(mapped(0))
        .map(mapped(1))
        .map(mapped(2))
        .forward(tx)
        .run();
    Pipeline {
        input,
        output,
        _run: Some(run),
    }
}

fn latency_pipeline(rt: &tokio::runtime::Runtime) -> Pipeline {
    let _enter = rt.enter();
    let (input, mut rx) = chan::bounded::<u64>(1024);
    for s in 0..LAT_STAGES {
        let (tx, next) = chan::bounded::<u64>(1024);
        tokio::spawn(Traced::new(s as u16, async move {
            let mut buf = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut buf, BATCH).await > 0 {
                let out: Vec<u64> = buf.drain(..).map(|v| v + 1).collect();
                if tx.send_all(out).await.is_err() {
                    return;
                }
            }
        }));
        rx = next;
    }
    Pipeline {
        input,
        output: rx,
        _run: None,
    }
}

impl Pipeline {
    /// Starts the log; returns its start time and the context switches so
    /// far.
    fn begin() -> (Instant, u64) {
        let csw0 = voluntary_csw();
        ON.store(!NO_LOG.load(Ordering::Relaxed), Ordering::Relaxed);
        let t0 = Instant::now();
        log(Kind::Start);
        (t0, csw0)
    }

    /// One item in and out, wrapped as the joiner.
    async fn through(&self, i: u64) {
        let v = Traced::new(JOIN, async {
            self.input.send(i).await.expect("pipeline input");
            self.output.recv().await.expect("pipeline output")
        })
        .await;
        assert_eq!(v, i + LAT_STAGES as u64);
    }
}

/// One latency trial, the driver on the main thread.
fn latency_trial(
    rt: &tokio::runtime::Runtime,
    p: &Pipeline,
    i: u64,
) -> (Duration, Vec<Event>, u64) {
    std::thread::sleep(IDLE);
    let (t0, csw0) = Pipeline::begin();
    rt.block_on(p.through(i));
    finish(t0, csw0)
}

/// One latency trial in the spawned driver (`--spawned`).
async fn latency_trial_spawned(p: &Pipeline, i: u64) -> (Duration, Vec<Event>, u64) {
    tokio::time::sleep(IDLE).await;
    let (t0, csw0) = Pipeline::begin();
    p.through(i).await;
    finish(t0, csw0)
}

fn median<T: Copy + Ord>(mut v: Vec<T>) -> T {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let o = options();
    assert_eq!(thread_no(), 0, "the main thread is thread 0");
    let rt = runtime(&o);
    let pipeline = match o.mode {
        Mode::Latency => Some(latency_pipeline(&rt)),
        Mode::Fused => Some(fused_pipeline(&rt)),
        _ => None,
    };
    let (mode, n) = (o.mode, o.trials);
    let trials: Vec<(Duration, Vec<Event>, u64)> = if o.spawned {
        // The whole trial loop is one task: the main thread only waits.
        rt.block_on(rt.spawn(async move {
            let mut trials = Vec::with_capacity(n);
            for i in 0..n {
                trials.push(match &pipeline {
                    Some(p) => latency_trial_spawned(p, i as u64).await,
                    None => cancel_trial_spawned(mode).await,
                });
            }
            trials
        }))
        .expect("the driver task")
    } else {
        (0..n)
            .map(|i| match &pipeline {
                Some(p) => latency_trial(&rt, p, i as u64),
                None => cancel_trial(&rt, mode),
            })
            .collect()
    };
    let counts: Vec<Counts> = trials.iter().map(|(t, e, c)| count(e, *t, *c)).collect();
    let mut times: Vec<Duration> = counts.iter().map(|c| c.total).collect();
    let (p50, p99) = percentiles(&mut times);
    let med = |f: fn(&Counts) -> u64| median(counts.iter().map(f).collect());
    let mean =
        |f: fn(&Counts) -> u64| counts.iter().map(f).sum::<u64>() as f64 / counts.len() as f64;
    println!(
        "{} trials: p50 {:.1} µs  p99 {:.1} µs",
        counts.len(),
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    type Column = fn(&Counts) -> u64;
    let rows: [(&str, Column); 9] = [
        ("task wakes", |c| c.wakes.into()),
        ("  from the main thread", |c| c.main_wakes.into()),
        ("  cross-worker", |c| c.cross_wakes.into()),
        ("worker unparks", |c| c.unparks.into()),
        ("task polls", |c| c.polls.into()),
        ("workers that polled", |c| c.threads_polling.into()),
        ("joiner wakes", |c| c.join_wakes.into()),
        ("joiner polls", |c| c.join_polls.into()),
        ("voluntary ctx switches", |c| c.csw),
    ];
    for (what, f) in rows {
        println!("{what:<24} median {:>3}  mean {:>6.2}", med(f), mean(f));
    }
    let share = |f: fn(&Counts) -> bool| {
        100.0 * counts.iter().filter(|c| f(c)).count() as f64 / counts.len() as f64
    };
    println!(
        "trials with a worker unpark {:.1} %, with a context switch {:.1} %",
        share(|c| c.unparks > 0),
        share(|c| c.csw > 0)
    );
    // The tail against the rest: whether the slow trials are the ones whose
    // wake-ups unparked a worker again and again (a chain), or not.
    let mut by_time = counts.clone();
    by_time.sort_by_key(|c| c.total);
    let cut = by_time.len() - by_time.len().div_ceil(20);
    for (what, part) in [
        ("fastest 95 %", &by_time[..cut]),
        ("slowest 5 %", &by_time[cut..]),
    ] {
        let n = part.len().max(1) as f64;
        let mut unparks: Vec<u64> = part.iter().map(|c| c.unparks.into()).collect();
        unparks.sort_unstable();
        println!(
            "{what:<13} {:>4} trials: unparks median {} mean {:.2} max {}, with >= 3 unparks {:.1} %, cross-worker wakes mean {:.2}",
            part.len(),
            unparks.get(unparks.len() / 2).copied().unwrap_or(0),
            unparks.iter().sum::<u64>() as f64 / n,
            unparks.last().copied().unwrap_or(0),
            100.0 * part.iter().filter(|c| c.unparks >= 3).count() as f64 / n,
            part.iter().map(|c| f64::from(c.cross_wakes)).sum::<f64>() / n,
        );
    }
    let split: Vec<[u64; 5]> = trials
        .iter()
        .filter_map(|(t, e, _)| phases(e, *t))
        .collect();
    if !split.is_empty() {
        let names = [
            "to the first wake-up",
            "the wake-ups",
            "to the first stage poll",
            "the stages",
            "to the join's end",
        ];
        println!("phases, median over {} trials (µs):", split.len());
        for (i, what) in names.iter().enumerate() {
            let m = median(split.iter().map(|p| p[i]).collect());
            println!("  {what:<24} {:>6.2}", m as f64 / 1e3);
        }
    }
    let placed = placements().lock().unwrap().clone();
    if !placed.is_empty() {
        println!("workers' last CPUs before the cancel:");
        for (what, one) in [("all on one CPU", true), ("on two or more", false)] {
            let mut times: Vec<Duration> = placed
                .iter()
                .filter(|(_, o)| *o == one)
                .map(|(t, _)| *t)
                .collect();
            if times.is_empty() {
                println!("  {what:<15} 0 trials");
                continue;
            }
            let n = times.len();
            let (p50, p99) = percentiles(&mut times);
            println!(
                "  {what:<15} {n:>4} trials: p50 {:.1} µs  p99 {:.1} µs",
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6
            );
        }
    }
    if !o.quiet {
        // The trial at the `--show` percentile (the median by default).
        let mut sorted: Vec<Duration> = trials.iter().map(|(t, _, _)| *t).collect();
        sorted.sort_unstable();
        let at = ((o.show / 100.0 * sorted.len() as f64) as usize).min(sorted.len() - 1);
        let goal = if o.show == 50.0 { p50 } else { sorted[at] };
        let mid = trials
            .iter()
            .min_by_key(|(t, _, _)| t.abs_diff(goal))
            .expect("a trial");
        println!(
            "\ntimeline of the trial at p{} ({:.1} µs):",
            o.show,
            mid.0.as_secs_f64() * 1e6
        );
        print_timeline(&mid.1);
    }
}
