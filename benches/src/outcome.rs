//! The result of one measurement, and the one-line format every child
//! process (Rust or Go) prints it in.

use std::time::Duration;

/// What one run of one implementation of one workload measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Wall time of the timed section.
    pub elapsed: Duration,
    /// A checksum of the work done (e.g. the sum of the outputs), compared
    /// across implementations.
    pub check: u64,
    /// Median latency over the trials (latency workloads only).
    pub p50: Duration,
    /// 99th-percentile latency over the trials (latency workloads only).
    pub p99: Duration,
    /// Shutdown part of `elapsed` (the million-workers workload only).
    pub shutdown: Duration,
    /// Peak resident set size of the process (`VmHWM`), in kB.
    pub rss_kb: u64,
    /// Voluntary context switches of the whole process during the timed
    /// section (the hand-written pipeline only; 0 elsewhere).
    pub vcsw: u64,
}

/// The prefix of the line a child prints.
pub const PREFIX: &str = "RESULT";

impl Outcome {
    /// The outcome of a latency workload: `elapsed` and `check` as
    /// measured, p50 and p99 of `samples` (sorted in place).
    pub fn latencies(elapsed: Duration, check: u64, samples: &mut [Duration]) -> Outcome {
        let (p50, p99) = crate::work::percentiles(samples);
        Outcome {
            elapsed,
            check,
            p50,
            p99,
            ..Outcome::default()
        }
    }

    /// Formats the outcome as the line a child process prints:
    /// `RESULT elapsed_ns=.. check=.. p50_ns=.. p99_ns=.. shutdown_ns=.. rss_kb=.. vcsw=..`
    /// (a missing key reads as 0).
    pub fn to_line(&self) -> String {
        format!(
            "{PREFIX} elapsed_ns={} check={} p50_ns={} p99_ns={} shutdown_ns={} rss_kb={} vcsw={}",
            self.elapsed.as_nanos(),
            self.check,
            self.p50.as_nanos(),
            self.p99.as_nanos(),
            self.shutdown.as_nanos(),
            self.rss_kb,
            self.vcsw
        )
    }

    /// Finds and parses the `RESULT` line in a child's output.
    pub fn parse(output: &str) -> Option<Outcome> {
        let line = output.lines().rev().find(|l| l.starts_with(PREFIX))?;
        let mut o = Outcome::default();
        for field in line.split_whitespace().skip(1) {
            let (key, value) = field.split_once('=')?;
            let v: u64 = value.parse().ok()?;
            match key {
                "elapsed_ns" => o.elapsed = Duration::from_nanos(v),
                "check" => o.check = v,
                "p50_ns" => o.p50 = Duration::from_nanos(v),
                "p99_ns" => o.p99 = Duration::from_nanos(v),
                "shutdown_ns" => o.shutdown = Duration::from_nanos(v),
                "rss_kb" => o.rss_kb = v,
                "vcsw" => o.vcsw = v,
                _ => {}
            }
        }
        Some(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_round_trips() {
        let o = Outcome {
            elapsed: Duration::from_nanos(123),
            check: 42,
            p50: Duration::from_nanos(7),
            p99: Duration::from_nanos(9),
            shutdown: Duration::from_nanos(5),
            rss_kb: 1000,
            vcsw: 77,
        };
        let out = format!("noise\n{}\n", o.to_line());
        assert_eq!(Outcome::parse(&out), Some(o));
    }
}
