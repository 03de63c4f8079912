//! What a worker process knows of the producers' runs: which are cancelled,
//! which jobs run for each, and each run's lease.
//!
//! # Leases
//!
//! A producer publishes `alive` on its run's control subject every
//! [`BEAT_EVERY`], and at once when a worker asks (`ping`). A worker takes
//! a run as dead once it has been listening for [`LEASE`] without hearing
//! it (time the worker was disconnected does not count: the clock restarts
//! when its client reconnects). A dead run is
//! treated as cancelled — its running jobs are dropped, its queued jobs
//! acked unrun as they come (workers get through them at the rate of a
//! round trip per batch) — and the worker tidies it away as its producer
//! would have: its results and result consumer removed.
//!
//! So a producer that dies stops being served within [`LEASE`] of its last
//! beat (plus the [`SWEEP_EVERY`] that notices it), and a producer started
//! after it waits at most that long behind its jobs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use weir_cancel::CancelHandle;

use super::cleanup::Cleanup;
use super::Pool;

/// How often a producer renews its run's lease.
pub(crate) const BEAT_EVERY: Duration = Duration::from_secs(1);
/// How long a worker listens without hearing a run before it takes the run
/// as dead.
pub(crate) const LEASE: Duration = Duration::from_secs(5);
/// How often a worker looks for runs whose lease ran out.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// Cancelled runs remembered (oldest forgotten first).
const REMEMBERED: usize = 4096;

/// Runs cancelled by their producers (or dead), the jobs running for each
/// run, and when each run was last heard.
pub(super) struct Runs {
    inner: Mutex<RunsInner>,
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    /// Names the pool's subjects and streams, for tidying dead runs away.
    pool: Pool<()>,
}

struct RunsInner {
    cancelled: HashSet<String>,
    order: VecDeque<String>,
    running: HashMap<String, HashMap<u64, CancelHandle>>,
    heard: HashMap<String, Instant>,
    /// Since when this worker has been listening without a break.
    listening_since: Instant,
    /// The client's connection count then.
    connects: u64,
}

/// What a worker knows of a run's lease.
enum Lease {
    Alive,
    Dead,
    /// Not heard yet: dead unless heard by then.
    Unknown(Instant),
}

impl Runs {
    pub(super) fn new<C: Clone>(
        client: async_nats::Client,
        js: async_nats::jetstream::Context,
        pool: &Pool<C>,
    ) -> Runs {
        let connects = client.statistics().connects.load(Ordering::Relaxed);
        Runs {
            inner: Mutex::new(RunsInner {
                cancelled: HashSet::new(),
                order: VecDeque::new(),
                running: HashMap::new(),
                heard: HashMap::new(),
                listening_since: Instant::now(),
                connects,
            }),
            client,
            js,
            pool: pool.clone().codec(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels `run`: its running jobs are dropped and its later ones acked
    /// unrun. `true` if it was not cancelled before.
    pub(super) fn cancel(&self, run: &str) -> bool {
        let mut inner = self.lock();
        inner.heard.remove(run);
        let new = inner.cancelled.insert(run.to_owned());
        if new {
            inner.order.push_back(run.to_owned());
            if inner.order.len() > REMEMBERED {
                if let Some(old) = inner.order.pop_front() {
                    inner.cancelled.remove(&old);
                }
            }
        }
        if let Some(jobs) = inner.running.remove(run) {
            for handle in jobs.values() {
                handle.cancel();
            }
        }
        new
    }

    pub(super) fn is_cancelled(&self, run: &str) -> bool {
        self.lock().cancelled.contains(run)
    }

    /// Registers a running job; `false` if its run is already cancelled.
    pub(super) fn start(&self, run: &str, job: u64, handle: CancelHandle) -> bool {
        let mut inner = self.lock();
        if inner.cancelled.contains(run) {
            return false;
        }
        inner
            .running
            .entry(run.to_owned())
            .or_default()
            .insert(job, handle);
        true
    }

    pub(super) fn end(&self, run: &str, job: u64) {
        let mut inner = self.lock();
        if let Some(jobs) = inner.running.get_mut(run) {
            jobs.remove(&job);
            if jobs.is_empty() {
                inner.running.remove(run);
            }
        }
    }

    fn heard(&self, run: &str) {
        let mut inner = self.lock();
        if !inner.cancelled.contains(run) {
            inner.heard.insert(run.to_owned(), Instant::now());
        }
    }

    /// `run` ended well: its lease is no longer followed.
    fn done(&self, run: &str) {
        self.lock().heard.remove(run);
    }

    /// Restarts the listening clock while the client is disconnected and
    /// when it has reconnected.
    fn check_connection(&self, inner: &mut RunsInner) {
        let connects = self.client.statistics().connects.load(Ordering::Relaxed);
        let connected = self.client.connection_state() == async_nats::connection::State::Connected;
        if connects != inner.connects || !connected {
            inner.connects = connects;
            inner.listening_since = Instant::now();
        }
    }

    fn lease(&self, run: &str) -> Lease {
        let mut inner = self.lock();
        self.check_connection(&mut inner);
        let now = Instant::now();
        let since = match inner.heard.get(run) {
            Some(&at) => at.max(inner.listening_since),
            None if now < inner.listening_since + LEASE => {
                return Lease::Unknown(inner.listening_since + LEASE)
            }
            None => return Lease::Dead,
        };
        if now < since + LEASE {
            Lease::Alive
        } else {
            Lease::Dead
        }
    }

    /// Whether `run`'s producer is alive, waiting (at most [`LEASE`], only
    /// on a worker that has just started or reconnected) to hear it. A
    /// dead run is cancelled and tidied away.
    pub(super) async fn alive(self: &Arc<Self>, run: &str) -> bool {
        let mut pinged: Option<Instant> = None;
        loop {
            match self.lease(run) {
                Lease::Alive => return true,
                Lease::Dead => {
                    self.expire(run);
                    return false;
                }
                Lease::Unknown(by) => {
                    // Ask the producer to beat now rather than wait for its
                    // next beat (every 250 ms while waiting).
                    let now = Instant::now();
                    if pinged.is_none_or(|at| now >= at + Duration::from_millis(250)) {
                        pinged = Some(now);
                        let subject = self.pool.subject("control", run);
                        let _ = self.client.publish(subject, "ping".into()).await;
                    }
                    let poll = now + Duration::from_millis(10);
                    tokio::time::sleep_until(by.min(poll)).await;
                }
            }
        }
    }

    /// Cancels a dead run and, the first time, tidies it away.
    fn expire(self: &Arc<Self>, run: &str) {
        if self.cancel(run) {
            let cleanup = Cleanup::new(
                self.client.clone(),
                self.js.clone(),
                &self.pool,
                run.to_owned(),
            );
            tokio::spawn(async move {
                let mut cleanup = cleanup;
                cleanup.finished = true;
                let _ = tokio::time::timeout(Duration::from_secs(5), cleanup.finish(true)).await;
            });
        }
    }

    /// Expires every run heard before whose lease ran out.
    fn sweep(self: &Arc<Self>) {
        let dead: Vec<String> = {
            let mut inner = self.lock();
            self.check_connection(&mut inner);
            let (now, listening) = (Instant::now(), inner.listening_since);
            inner
                .heard
                .iter()
                .filter(|(_, &at)| now >= at.max(listening) + LEASE)
                .map(|(run, _)| run.clone())
                .collect()
        };
        for run in dead {
            self.expire(&run);
        }
    }
}

/// Follows the pool's control subjects (`cancel`, `alive` and `done` from
/// producers) and sweeps for runs whose lease ran out.
pub(super) async fn listen_control(mut control: async_nats::Subscriber, runs: Arc<Runs>) {
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            // Beats already here count before a sweep.
            biased;
            msg = control.next() => {
                let Some(msg) = msg else { return };
                let Some(run) = msg.subject.as_str().rsplit('.').next() else {
                    continue;
                };
                match &msg.payload[..] {
                    b"cancel" => {
                        runs.cancel(run);
                    }
                    b"alive" => runs.heard(run),
                    b"done" => runs.done(run),
                    _ => {}
                }
            }
            _ = sweep.tick() => runs.sweep(),
        }
    }
}

/// A producer's side of its lease: `alive` on its control subject every
/// [`BEAT_EVERY`], and at once when a worker that has not heard it yet
/// asks (`ping`), until the task is dropped.
pub(super) async fn beat(client: async_nats::Client, control_subject: String) {
    let mut pings = client.subscribe(control_subject.clone()).await.ok();
    let mut every = tokio::time::interval(BEAT_EVERY);
    loop {
        let ping = async {
            match pings.as_mut() {
                Some(sub) => sub.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = every.tick() => {}
            msg = ping => match msg {
                Some(msg) if &msg.payload[..] == b"ping" => {}
                Some(_) => continue,
                None => {
                    pings = None;
                    continue;
                }
            },
        }
        let _ = client
            .publish(control_subject.clone(), "alive".into())
            .await;
    }
}
