//! The crate's errors: [`Error`] for the edges' own failures, [`RemoteError`]
//! for a job that did not produce a value on a remote worker.

use std::sync::Arc;
use std::time::Duration;

/// A boxed error, as the client library and codecs return them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a NATS edge (a [`connect`](crate::connect), a publishing sink, a
/// consuming source, a remote pool or a [`serve`](crate::serve) loop) could
/// not run. Every variant that comes from a stage names it, so an error
/// surfacing from a pipeline says which edge failed.
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
    #[error("nats server at {url} unreachable after {timeout:?}: {source}")]
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
    #[error("stage `{stage}`: codec failed: {source}")]
    Codec {
        /// The stage's name.
        stage: Arc<str>,
        /// What the codec reported.
        #[source]
        source: BoxError,
    },
    /// Any other failure reported by the server or the client.
    #[error("stage `{stage}`: {source}")]
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
            | Error::Nats { stage, .. } => Some(stage),
        }
    }

    pub(crate) fn nats(stage: &Arc<str>, source: impl Into<BoxError>) -> Error {
        Error::Nats {
            stage: stage.clone(),
            source: source.into(),
        }
    }
}

/// Why a job sent to a remote worker pool did not produce a value. The
/// producer gets exactly one `Result<U, RemoteError>` per job.
///
/// # Examples
///
/// ```
/// use weir_nats::RemoteError;
///
/// let err = RemoteError::Failed { message: "bad input".into(), attempts: 3 };
/// assert_eq!(err.to_string(), "job failed after 3 attempts: bad input");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The job's function returned an error (or panicked) on every attempt,
    /// up to `max_deliver`; the job was dead-lettered.
    #[error("job failed after {attempts} attempts: {message}")]
    Failed {
        /// The last error's text.
        message: String,
        /// How many times the job was tried.
        attempts: u64,
    },
    /// Workers holding the job were lost (crashed, or kept it past
    /// `ack_wait`) on every attempt; the job was dead-lettered.
    #[error("job lost by workers after {attempts} attempts")]
    Lost {
        /// How many times the job was delivered.
        attempts: u64,
    },
    /// The producer's deadline passed before the job finished.
    #[error("job deadline exceeded")]
    DeadlineExceeded,
    /// The job or its result could not be decoded; it was dead-lettered.
    #[error("job could not be decoded: {0}")]
    Decode(String),
}
