//! The crate's errors: [`Error`] for the edges' own failures, [`RemoteError`]
//! for a job that did not produce a value on a remote worker.

use std::sync::Arc;
use std::time::Duration;

pub use weir_stage::BoxError;

/// Why a NATS edge (a [`connect`](crate::connect), a publishing sink, a
/// consuming source, a remote pool or a [`serve`](crate::serve) loop) could
/// not run. Every variant that comes from a stage names it, so an error
/// surfacing from a pipeline says which edge failed.
///
/// Each variant's message says what failed; what caused it is its
/// [`source`](std::error::Error::source), printed once when the chain is
/// printed (`{err}: {cause}`), never repeated in the message itself.
///
/// None of these is a hang: an unreachable server is reported within
/// [`connect_timeout`](crate::connect_timeout)'s bound, a missing or
/// misconfigured stream or consumer as soon as the server answers, and a
/// server that stops answering after 30 s of retries.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_nats::Error;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Nothing listens on port 1: a typed error, within the timeout.
/// let err = weir_nats::connect_timeout("nats://127.0.0.1:1", Duration::from_millis(300))
///     .await
///     .unwrap_err();
/// assert!(matches!(err, Error::Unreachable { .. }));
/// assert!(err.to_string().starts_with("nats server at nats://127.0.0.1:1 unreachable"));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server did not accept a connection within the bound.
    #[error("nats server at {url} unreachable after {timeout:?}")]
    Unreachable {
        /// The address tried.
        url: String,
        /// The bound on the attempt.
        timeout: Duration,
        /// What the client reported.
        #[source]
        source: BoxError,
    },
    /// A JetStream stream the stage needs does not exist (and the stage was
    /// not allowed to create it).
    #[error("stage `{stage}`: stream `{stream}` not found")]
    MissingStream {
        /// The stage's name.
        stage: Arc<str>,
        /// The stream's name.
        stream: String,
    },
    /// A durable consumer the stage needs does not exist.
    #[error("stage `{stage}`: consumer `{consumer}` not found on stream `{stream}`")]
    MissingConsumer {
        /// The stage's name.
        stage: Arc<str>,
        /// The stream's name.
        stream: String,
        /// The consumer's name.
        consumer: String,
    },
    /// A stream or consumer exists but does not fit the stage (for example
    /// a consumer without explicit acks, or a stream that does not capture
    /// the subject).
    #[error("stage `{stage}`: {what}")]
    Misconfigured {
        /// The stage's name.
        stage: Arc<str>,
        /// What is wrong, in words.
        what: String,
    },
    /// An item could not be encoded or a message could not be decoded.
    #[error("stage `{stage}`: codec failed")]
    Codec {
        /// The stage's name.
        stage: Arc<str>,
        /// What the codec reported.
        #[source]
        source: BoxError,
    },
    /// The stage had jobs waiting, and for `waited` the server answered
    /// that no worker was there (see
    /// [`Remote::no_worker_after`](crate::Remote::no_worker_after)).
    #[error("stage `{stage}`: no worker has pulled from pool `{pool}` for {waited:?}")]
    NoWorkers {
        /// The stage's name.
        stage: Arc<str>,
        /// The pool's name.
        pool: String,
        /// How long no worker was seen.
        waited: Duration,
    },
    /// Any other failure reported by the server or the client.
    #[error("stage `{stage}`: nats request failed")]
    Nats {
        /// The stage's name.
        stage: Arc<str>,
        /// What the client reported.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// The stage the error came from (`None` for [`Error::Unreachable`],
    /// which comes from [`connect`](crate::connect)).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_nats::Error;
    ///
    /// let err = Error::MissingStream { stage: "orders".into(), stream: "ORDERS".into() };
    /// assert_eq!(err.stage(), Some("orders"));
    /// ```
    pub fn stage(&self) -> Option<&str> {
        match self {
            Error::Unreachable { .. } => None,
            Error::MissingStream { stage, .. }
            | Error::MissingConsumer { stage, .. }
            | Error::Misconfigured { stage, .. }
            | Error::Codec { stage, .. }
            | Error::NoWorkers { stage, .. }
            | Error::Nats { stage, .. } => Some(stage),
        }
    }

    pub(crate) fn nats(stage: &Arc<str>, source: impl Into<BoxError>) -> Error {
        Error::Nats {
            stage: stage.clone(),
            source: cause(source.into()),
        }
    }
}

/// `source` as one cause that prints each part of its chain once: the
/// client library's errors repeat their own source in their message
/// ("IO error: connection refused", then "connection refused" again).
pub(crate) fn cause(source: BoxError) -> BoxError {
    let mut text = source.to_string();
    let mut next = source.source();
    while let Some(inner) = next {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = inner.source();
    }
    Box::new(Cause(text))
}

/// A cause, flattened to its text (see [`cause`]).
#[derive(Debug)]
struct Cause(String);

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cause {}

/// Why a job sent to a remote worker pool did not produce a value. The
/// producer gets exactly one `Result<U, RemoteError>` per job; every
/// variant says which job it is: `job`, the job's input index (the item's
/// position in the stage's input, from 0), so a failure can be tied to its
/// input whatever the output order.
///
/// # Examples
///
/// ```
/// use weir_nats::RemoteError;
///
/// let err = RemoteError::Failed { job: 7, message: "bad input".into(), attempts: 3 };
/// assert_eq!(err.to_string(), "job 7 failed after 3 attempts: bad input");
/// assert_eq!(err.job(), 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The job's function returned an error (or panicked) on every attempt,
    /// up to `max_deliver`; the job was dead-lettered.
    #[error("job {job} failed after {attempts} attempts: {message}")]
    Failed {
        /// The job's input index.
        job: u64,
        /// The last error's text.
        message: String,
        /// How many times the job was tried.
        attempts: u64,
    },
    /// Workers holding the job were lost (crashed, or kept it past
    /// `ack_wait`) on every attempt; the job was dead-lettered.
    #[error("job {job} lost by workers after {attempts} attempts")]
    Lost {
        /// The job's input index.
        job: u64,
        /// How many times the job was delivered.
        attempts: u64,
    },
    /// The producer's deadline passed before the job finished.
    #[error("job {job}: deadline exceeded")]
    DeadlineExceeded {
        /// The job's input index.
        job: u64,
    },
    /// The job or its result could not be decoded; it was dead-lettered.
    #[error("job {job} could not be decoded: {message}")]
    Decode {
        /// The job's input index.
        job: u64,
        /// What the codec reported.
        message: String,
    },
    /// A [`Caller::call`](crate::Caller::call) found the pool's run
    /// stopped (it failed, or its scope was cancelled) before the job was
    /// answered; the run's own error is the scope's.
    #[error("job {job}: the remote pool's run has stopped")]
    Stopped {
        /// The call's number: calls through one caller (and its clones)
        /// counted from 0.
        job: u64,
    },
}

impl RemoteError {
    /// The job's input index: the position, from 0, of the item in the
    /// stage's input.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = weir_nats::RemoteError::DeadlineExceeded { job: 2 };
    /// assert_eq!(err.job(), 2);
    /// assert_eq!(err.to_string(), "job 2: deadline exceeded");
    /// ```
    pub fn job(&self) -> u64 {
        match self {
            RemoteError::Failed { job, .. }
            | RemoteError::Lost { job, .. }
            | RemoteError::DeadlineExceeded { job }
            | RemoteError::Stopped { job }
            | RemoteError::Decode { job, .. } => *job,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message and its causes, as `anyhow`'s `{:#}` prints them.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut next = err.source();
        while let Some(inner) = next {
            text = format!("{text}: {inner}");
            next = inner.source();
        }
        text
    }

    #[test]
    fn a_cause_prints_once_in_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        // What the client library does: its message repeats its source.
        #[derive(Debug, thiserror::Error)]
        #[error("IO error: {0}")]
        struct Client(#[source] std::io::Error);
        let err = Error::Unreachable {
            url: "nats://127.0.0.1:1".into(),
            timeout: Duration::from_millis(300),
            source: cause(Box::new(Client(io))),
        };
        assert_eq!(
            chain(&err),
            "nats server at nats://127.0.0.1:1 unreachable after 300ms: IO error: connection refused"
        );
        let err = Error::nats(&"s".into(), "no stream answered");
        assert_eq!(
            chain(&err),
            "stage `s`: nats request failed: no stream answered"
        );
    }
}
