//! Shared by the pool tests: the job type the test worker binary runs, a
//! worker process handle, a producer run, and the exactly-once check.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weir_nats::RemoteError;

/// The test worker's job: its result is `2n` after `sleep_ms`, or an error
/// when `fail`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Job {
    pub n: u64,
    pub sleep_ms: u64,
    pub fail: bool,
}

pub fn jobs(n: u64, sleep_ms: u64) -> Vec<Job> {
    (0..n)
        .map(|n| Job {
            n,
            sleep_ms,
            fail: false,
        })
        .collect()
}

/// A context for a test's producer: a hang becomes a deadline error after
/// 60 s instead of a stuck test (a guard, not a timing assertion).
pub fn hang_guard() -> weir_cancel::Context {
    weir_cancel::Context::background().with_timeout(Duration::from_secs(60))
}

/// Polls `cond` every 10 ms until it holds; panics after `limit` (a hang
/// guard, not a timing assertion).
pub async fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let give_up = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < give_up,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every job's result exactly once: `2n` for each `n` not in `failing`,
/// and one error per failing job.
pub fn assert_exactly_once(results: &[Result<u64, RemoteError>], jobs: u64, failing: &[u64]) {
    let mut ok: BTreeMap<u64, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => *ok.entry(*v / 2).or_default() += 1,
            Err(e) => errors.push(e.clone()),
        }
    }
    let dup: Vec<_> = ok.iter().filter(|(_, &c)| c > 1).collect();
    assert!(dup.is_empty(), "duplicated results: {dup:?}");
    let expected: Vec<u64> = (0..jobs).filter(|n| !failing.contains(n)).collect();
    assert_eq!(
        ok.keys().copied().collect::<Vec<_>>(),
        expected,
        "errors: {errors:?}"
    );
    assert_eq!(errors.len(), failing.len(), "errors: {errors:?}");
    assert_eq!(results.len() as u64, jobs);
}

/// A `weir-nats-test-worker` process; killed (SIGKILL) on drop.
pub struct WorkerProcess {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl WorkerProcess {
    pub fn spawn(
        url: &str,
        pool: &str,
        workers: usize,
        ack_wait_ms: u64,
        max_deliver: u64,
    ) -> WorkerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weir-nats-test-worker"))
            .args([
                url,
                pool,
                &workers.to_string(),
                &ack_wait_ms.to_string(),
                &max_deliver.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the test worker");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        WorkerProcess {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Lines the worker printed so far (`started <n>`, `finished <n>`).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Jobs started and not finished.
    pub fn running(&self) -> Vec<u64> {
        let lines = self.lines();
        let mut running = Vec::new();
        for l in &lines {
            if let Some(n) = l.strip_prefix("started ") {
                running.push(n.parse::<u64>().unwrap());
            } else if let Some(n) = l.strip_prefix("finished ") {
                let n: u64 = n.parse().unwrap();
                running.retain(|&r| r != n);
            }
        }
        running
    }

    /// SIGKILL, reap, and read everything it printed: [`lines`] and
    /// [`running`] are then exact.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A producer process (`weir-nats-test-worker produce …`) sending `jobs`
/// jobs of `sleep_ms` each through pool `pool`; killed (SIGKILL) on drop.
pub struct ProducerProcess(Child);

impl ProducerProcess {
    pub fn spawn(
        url: &str,
        pool: &str,
        ack_wait_ms: u64,
        max_deliver: u64,
        jobs: u64,
        sleep_ms: u64,
    ) -> ProducerProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_weir-nats-test-worker"))
            .args([
                "produce",
                url,
                pool,
                &ack_wait_ms.to_string(),
                &max_deliver.to_string(),
                &jobs.to_string(),
                &sleep_ms.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the test producer");
        ProducerProcess(child)
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ProducerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
