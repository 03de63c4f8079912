//! A live page of a running pipeline, in a browser (feature `dashboard`).
//!
//! [`GraphView::dashboard`](crate::pipeline::GraphView::dashboard) — so
//! `p.dashboard()` on a [`Pipeline`](crate::pipeline::Pipeline) or
//! `run.dashboard()` on a [`RunHandle`](crate::pipeline::RunHandle) —
//! gives a [`DashboardBuilder`]; `.await` it for a [`Dashboard`], an HTTP
//! server (hyper, HTTP/1) that serves the page for as long as the handle
//! lives. Dropping the handle stops the server and closes its port.
//!
//! | path | what |
//! |---|---|
//! | `/` | the page: the graph left to right, each stage's counts, rate, busy %, errors, retries, dead letters (and NATS lag), each queue as a bar coloured by fullness, the bottleneck and why, the run's state, a 60 s throughput chart per stage |
//! | `/events` | server-sent events: one `/graph.json` document per update (4 a second by default, see [`DashboardBuilder::every`]) |
//! | `/graph.json` | the graph and its counts now (format below) |
//! | `/metrics` | the counters in the Prometheus text format, with the names and labels of `weir::metrics_export` (feature `metrics`) |
//!
//! Everything the page needs (HTML, script, style) is compiled into the
//! binary: it works with no network. The server is read-only (only `GET`
//! and `HEAD`), binds to `127.0.0.1:0` unless told otherwise — binding to
//! another address exposes the pipeline's names and counts to whoever can
//! reach it — and takes an optional bearer [`token`](DashboardBuilder::token).
//! The page inserts every name and error text as text, never as HTML.
//!
//! The updates read the counters the pipeline keeps anyway, a few times a
//! second, in one task: the items flowing through it do no extra work. Each
//! update is encoded once, for every open page, and only while a page is
//! open. The server runs on a thread and a one-thread tokio runtime of its
//! own, so it never wakes the workers the pipeline runs on. What that costs
//! a running pipeline is measured by `examples/dashboard_cost.rs` (see
//! `docs/observability.md`).
//!
//! # `/graph.json`
//!
//! ```text
//! {
//!   "version": 1,
//!   "pipeline": "ingest",       // DashboardBuilder::name
//!   "state": "running",          // "idle" (not started), "running", "draining", "finished", "failed"
//!   "error": null,               // the first error's text when "failed"
//!   "uptime_ms": 1520,           // since the dashboard started
//!   "stages": [{
//!     "id": 0,                   // position in the pipeline; edges refer to it
//!     "name": "parse", "kind": "map", "running": true,
//!     "items_in": 1200, "items_out": 1190,
//!     "rate": 800.0,             // items taken in per second (sent, for a source) over the last 2 s
//!     "busy_pct": 37.5,          // time in the stage's code over the last 2 s, % of one core,
//!                                // at most 100 per task it may run at once (its concurrency limit, else 1)
//!     "errors": 0, "retries": 0, "skipped": 0, "dead_lettered": 0,
//!     "dropped": 0, "timeouts": 0, "restarts": 0,
//!     "lag": null,               // a remote stage's NATS lag: {"pending", "ack_pending", "redelivered", "dead_lettered", "waiting"}
//!     "layer": 1, "row": 0,      // the layout: column (longest path from a source) and place in it
//!     "history": [790.0, 810.0]  // items/s, one value a second, the last 60 s, oldest first
//!   }],
//!   "edges": [{
//!     "from": 0, "to": 1, "branch": null,
//!     "sent": 1200, "received": 1190,
//!     "queued": 10, "capacity": 64, "peak": 64   // all null for a fused hand-off (no queue)
//!   }],
//!   "bottleneck": {"stage": 1, "name": "parse", "reason": "`read` waited 1.2s to send into it; its queue peaked at 64/64"}
//! }
//! ```
//!
//! `bottleneck` is [`Metrics::bottleneck`](crate::pipeline::Metrics::bottleneck)
//! (`null` while nothing has run), with the reason it was chosen.
//!
//! # Examples
//!
//! ```
//! use weir::cancel::Context;
//! use weir::pipeline::Pipeline;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let p = Pipeline::new(&Context::background());
//! let page = p.dashboard().bind("127.0.0.1:0").token("s3cret").await?;
//! println!("open {}", page.url()); // http://127.0.0.1:PORT/?token=s3cret
//! let total = p.source(1..=1_000u64).map(|n| n * 2).fold(0, |a, n| a + n).await?;
//! assert_eq!(total, 1_001_000);
//! drop(page); // the server stops
//! # Ok(())
//! # }
//! ```

mod body;
mod json;
mod layout;
mod prom;
mod sampler;
mod server;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::pipeline::GraphView;

/// How often the page is updated unless told otherwise: four times a
/// second.
pub const DEFAULT_EVERY: Duration = Duration::from_millis(250);

impl GraphView {
    /// A live page of this pipeline — its graph, counts, queues and
    /// bottleneck, updated several times a second — with `/graph.json`,
    /// `/events` and Prometheus `/metrics`: configure it on the returned
    /// [`DashboardBuilder`](crate::dashboard::DashboardBuilder) and
    /// `.await` it for a [`Dashboard`](crate::dashboard::Dashboard) that
    /// serves until dropped. See [`dashboard`](crate::dashboard).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let p = Pipeline::new(&Context::background());
    /// let page = p.dashboard().bind("127.0.0.1:0").await?;
    /// println!("open {}", page.url());
    /// p.source(0..100).map(|n| n + 1).for_each(drop).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "dashboard")))]
    pub fn dashboard(&self) -> DashboardBuilder {
        DashboardBuilder::new(self.clone())
    }
}

/// The settings of a [`Dashboard`], from
/// [`GraphView::dashboard`](crate::pipeline::GraphView::dashboard):
/// `.await` it to start serving.
///
/// # Errors
///
/// Awaiting it fails with [`DashboardError::Bind`] when the address cannot
/// be bound (in use, not an address of this machine, not allowed),
/// [`DashboardError::ZeroInterval`] when [`every`](DashboardBuilder::every)
/// was zero, and [`DashboardError::Start`] when the server's thread could
/// not be started.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir::cancel::Context;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), weir::dashboard::DashboardError> {
/// let p = Pipeline::new(&Context::background());
/// let page = p
///     .dashboard()
///     .bind("127.0.0.1:0")
///     .name("ingest")
///     .every(Duration::from_millis(500))
///     .await?;
/// assert!(page.url().starts_with("http://127.0.0.1:"));
/// # Ok(())
/// # }
/// ```
#[must_use = "a DashboardBuilder serves nothing until it is `.await`ed"]
pub struct DashboardBuilder {
    view: GraphView,
    addr: String,
    token: Option<String>,
    name: String,
    every: Duration,
}

impl DashboardBuilder {
    pub(crate) fn new(view: GraphView) -> DashboardBuilder {
        DashboardBuilder {
            view,
            addr: "127.0.0.1:0".to_string(),
            token: None,
            name: "pipeline".to_string(),
            every: DEFAULT_EVERY,
        }
    }

    /// The address to listen on (`host:port`; port 0 picks a free one).
    /// The default, `127.0.0.1:0`, is reachable from this machine only;
    /// another address (`0.0.0.0:8080`) shows the pipeline to whoever can
    /// reach it — consider a [`token`](DashboardBuilder::token) then.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), weir::dashboard::DashboardError> {
    /// let p = Pipeline::new(&Context::background());
    /// let page = p.dashboard().bind("localhost:0").await?;
    /// assert!(page.local_addr().ip().is_loopback());
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(mut self, addr: impl Into<String>) -> DashboardBuilder {
        self.addr = addr.into();
        self
    }

    /// Requires `token` on every request but those of the page's script
    /// and style (which hold no data): as `Authorization: Bearer
    /// <token>`, or as `?token=<token>` in the URL (what a browser sends;
    /// [`Dashboard::url`] includes it, and the page passes it on). Use
    /// characters that need no escaping in a URL.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), weir::dashboard::DashboardError> {
    /// let p = Pipeline::new(&Context::background());
    /// let page = p.dashboard().token("opensesame").await?;
    /// assert!(page.url().ends_with("/?token=opensesame"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> DashboardBuilder {
        self.token = Some(token.into());
        self
    }

    /// The pipeline's name: the page's title and the `pipeline` label of
    /// `/metrics` (default `pipeline`).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// let p = Pipeline::new(&Context::background());
    /// let _settings = p.dashboard().name("indexer");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> DashboardBuilder {
        self.name = name.into();
        self
    }

    /// How often the counters are read and sent to open pages
    /// (default [`DEFAULT_EVERY`], 250 ms).
    ///
    /// # Errors
    ///
    /// A zero interval makes awaiting the builder fail with
    /// [`DashboardError::ZeroInterval`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    ///
    /// let p = Pipeline::new(&Context::background());
    /// let _settings = p.dashboard().every(Duration::from_millis(100));
    /// ```
    pub fn every(mut self, every: Duration) -> DashboardBuilder {
        self.every = every;
        self
    }

    async fn start(self) -> Result<Dashboard, DashboardError> {
        if self.every.is_zero() {
            return Err(DashboardError::ZeroInterval);
        }
        let bind = |source| DashboardError::Bind {
            addr: self.addr.clone(),
            source,
        };
        let listener = std::net::TcpListener::bind(self.addr.as_str()).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let local_addr = listener.local_addr().map_err(bind)?;
        let mut url = format!("http://{local_addr}/");
        if let Some(token) = &self.token {
            url.push_str("?token=");
            url.push_str(token);
        }
        let settings = server::Settings {
            view: self.view,
            token: self.token.map(Arc::from),
            name: Arc::from(self.name),
            every: self.every,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        // A thread and a one-thread runtime of its own: the server's timer
        // and sockets never wake the pipeline's workers (measured: +7 % on
        // the hand-written channel pipeline when it shared them).
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| DashboardError::Start { source })?;
        let thread = std::thread::Builder::new()
            .name("weir-dashboard".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        () = server::serve(listener, settings) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here drops every connection's task.
            })
            .map_err(|source| DashboardError::Start { source })?;
        Ok(Dashboard {
            url,
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl IntoFuture for DashboardBuilder {
    type Output = Result<Dashboard, DashboardError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Dashboard, DashboardError>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.start())
    }
}

impl fmt::Debug for DashboardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DashboardBuilder")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("name", &self.name)
            .field("every", &self.every)
            .finish()
    }
}

/// A running dashboard server, from awaiting a [`DashboardBuilder`]. It
/// serves while this handle lives, from a thread and a one-thread tokio
/// runtime of its own, so its timer and sockets never wake the workers
/// the pipeline runs on. Dropping it stops the server and waits for its
/// thread, so the port is closed when `drop` returns;
/// [`stop`](Dashboard::stop) does the same without blocking the caller's
/// runtime thread.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), weir::dashboard::DashboardError> {
/// let p = Pipeline::new(&Context::background());
/// let page = p.dashboard().await?;
/// let addr = page.local_addr();
/// page.stop().await;
/// assert!(tokio::net::TcpStream::connect(addr).await.is_err());
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping a Dashboard stops its server"]
pub struct Dashboard {
    url: String,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Dashboard {
    /// The page's address, with the token if there is one:
    /// `http://127.0.0.1:PORT/`.
    ///
    /// # Examples
    ///
    /// See [`Dashboard`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    ///
    /// # Examples
    ///
    /// See [`Dashboard`].
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the server and waits until its port is closed and every
    /// connection dropped.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the server stopping (it has been told
    /// already), only not waited for.
    ///
    /// # Examples
    ///
    /// See [`Dashboard`].
    pub async fn stop(mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for Dashboard {
    /// Stops the server and waits (briefly: its runtime only drops its
    /// tasks) until the port is closed.
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dashboard")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// Why a dashboard could not start.
///
/// # Examples
///
/// ```
/// use weir::cancel::Context;
/// use weir::dashboard::DashboardError;
/// use weir::pipeline::Pipeline;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let p = Pipeline::new(&Context::background());
/// let err = p.dashboard().bind("not an address").await.unwrap_err();
/// assert!(matches!(err, DashboardError::Bind { .. }));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// The address could not be resolved or bound.
    #[error("the dashboard could not listen on {addr}: {source}")]
    Bind {
        /// The address as given to [`DashboardBuilder::bind`].
        addr: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// [`DashboardBuilder::every`] was given a zero interval.
    #[error("the dashboard's update interval must be longer than zero")]
    ZeroInterval,
    /// The server's thread or its runtime could not be started.
    #[error("the dashboard's server thread could not start: {source}")]
    Start {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
