//! The pool's streams and its workers' consumer on the server: created
//! with this process's settings when missing, and checked against them when
//! not, so that a producer and workers configured differently fail at once
//! with the setting named rather than run side by side.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy};

use super::Pool;
use crate::error::Error;

/// Queued jobs older than this are dropped by the server (a job left
/// behind by a crash of every party).
pub(crate) const JOBS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Results not read within this are dropped (their run is long gone).
pub(crate) const RESULTS_MAX_AGE: Duration = Duration::from_secs(3600);
/// Dead-lettered jobs are kept this long for inspection.
pub(crate) const DEAD_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// At most this many jobs (or results) wait in a pool at once; past it a
/// publish is refused (and retried, then an error) rather than an old
/// message dropped.
pub(crate) const MAX_MESSAGES: i64 = 1_000_000;
/// At most this many dead letters are kept (the oldest go first).
pub(crate) const DEAD_MAX_MESSAGES: i64 = 100_000;

impl<C> Pool<C> {
    /// The pool's three streams, as this process would create them.
    pub(crate) fn stream_configs(&self) -> [stream::Config; 3] {
        let config = |kind: &str, subject: String, retention, max_age, max_messages, discard| {
            stream::Config {
                name: self.stream_name(kind),
                subjects: vec![subject],
                retention,
                max_age,
                max_messages,
                discard,
                storage: self.storage,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            }
        };
        [
            config(
                "JOBS",
                self.subject("jobs", ">"),
                RetentionPolicy::WorkQueue,
                JOBS_MAX_AGE,
                MAX_MESSAGES,
                DiscardPolicy::New,
            ),
            config(
                "RESULTS",
                self.subject("results", ">"),
                RetentionPolicy::WorkQueue,
                RESULTS_MAX_AGE,
                MAX_MESSAGES,
                DiscardPolicy::New,
            ),
            config(
                "DEAD",
                self.dead_subject(),
                RetentionPolicy::Limits,
                DEAD_MAX_AGE,
                DEAD_MAX_MESSAGES,
                DiscardPolicy::Old,
            ),
        ]
    }

    /// Creates the pool's streams if they are missing; checks them against
    /// this process's settings if not.
    pub(crate) async fn ensure_streams(
        &self,
        js: &async_nats::jetstream::Context,
        stage: &Arc<str>,
    ) -> Result<(), Error> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::Misconfigured {
                stage: stage.clone(),
                what: format!(
                    "pool name `{}` must be non-empty letters, digits, `-` or `_`",
                    self.name
                ),
            });
        }
        for want in self.stream_configs() {
            let mut handle = js
                .get_or_create_stream(want.clone())
                .await
                .map_err(|e| Error::nats(stage, e))?;
            let info = handle.info().await.map_err(|e| Error::nats(stage, e))?;
            compare_stream(&want, &info.config, stage)?;
        }
        Ok(())
    }

    /// The jobs consumer every worker binds to (created if missing).
    pub(crate) fn workers_config(&self) -> pull::Config {
        pull::Config {
            durable_name: Some(Self::WORKERS.to_owned()),
            filter_subject: self.subject("jobs", ">"),
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            // One spare delivery: a job delivered past `max_deliver` had
            // its workers lost every time; that delivery dead-letters it.
            max_deliver: i64::try_from(self.max_deliver.saturating_add(1)).unwrap_or(i64::MAX),
            max_ack_pending: self.max_ack_pending,
            ..Default::default()
        }
    }

    /// Checks the workers' consumer as the server has it against this
    /// process's settings.
    pub(crate) fn check_workers(
        &self,
        have: &async_nats::jetstream::consumer::Config,
        stage: &Arc<str>,
    ) -> Result<(), Error> {
        let want = self.workers_config();
        let differs = |setting: &str, have: String, want: String| Error::Misconfigured {
            stage: stage.clone(),
            what: format!(
                "pool `{}`: setting `{setting}` differs: the workers' consumer has {have}, \
                 this process says {want} (give every process the same pool settings)",
                self.name
            ),
        };
        if have.ack_wait != want.ack_wait {
            return Err(differs(
                "ack_wait",
                format!("{:?}", have.ack_wait),
                format!("{:?}", want.ack_wait),
            ));
        }
        if have.max_deliver != want.max_deliver {
            // Stored with one spare delivery (see `workers_config`).
            let show = |n: i64| (n - 1).to_string();
            return Err(differs(
                "max_deliver",
                show(have.max_deliver),
                show(want.max_deliver),
            ));
        }
        if have.max_ack_pending != want.max_ack_pending {
            return Err(differs(
                "max_ack_pending",
                have.max_ack_pending.to_string(),
                want.max_ack_pending.to_string(),
            ));
        }
        if have.filter_subject != want.filter_subject {
            return Err(differs(
                "filter_subject",
                format!("`{}`", have.filter_subject),
                format!("`{}`", want.filter_subject),
            ));
        }
        Ok(())
    }
}

/// A stream as the server has it against the one this process would have
/// created: the first setting that differs, named.
fn compare_stream(
    want: &stream::Config,
    have: &stream::Config,
    stage: &Arc<str>,
) -> Result<(), Error> {
    let checks: [(&str, String, String); 5] = [
        (
            "retention",
            format!("{:?}", have.retention),
            format!("{:?}", want.retention),
        ),
        (
            "subjects",
            format!("{:?}", have.subjects),
            format!("{:?}", want.subjects),
        ),
        (
            "storage",
            format!("{:?}", have.storage),
            format!("{:?}", want.storage),
        ),
        (
            "max_age",
            format!("{:?}", have.max_age),
            format!("{:?}", want.max_age),
        ),
        (
            "max_messages",
            have.max_messages.to_string(),
            want.max_messages.to_string(),
        ),
    ];
    for (setting, have, want_value) in checks {
        if have != want_value {
            return Err(Error::Misconfigured {
                stage: stage.clone(),
                what: format!(
                    "setting `{setting}` differs: stream `{}` exists with {have}, \
                     this process's pool needs {want_value} (give every process the \
                     same pool settings, or delete the stream)",
                    want.name
                ),
            });
        }
    }
    Ok(())
}
