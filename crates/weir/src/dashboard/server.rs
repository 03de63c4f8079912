//! The HTTP server: one task accepting connections, one reading the
//! counters, one per connection; all of them end when the task that
//! accepts is aborted (the [`Dashboard`](super::Dashboard) handle is
//! dropped).

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::body::Body;
use super::prom;
use super::sampler::Sampler;
use crate::pipeline::GraphView;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Only the page's own script and style run: an injected `<script>` or
/// inline handler would be refused even if text were ever taken for HTML.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

pub(crate) struct Settings {
    pub(crate) view: GraphView,
    pub(crate) token: Option<Arc<str>>,
    pub(crate) name: Arc<str>,
    pub(crate) every: Duration,
}

/// What every request reads.
struct App {
    settings: Settings,
    /// Read by the ticker and by each `/graph.json` (which gets the counts
    /// of that instant).
    sampler: Mutex<Sampler>,
    /// The latest update, as the server-sent event every open page gets
    /// (encoded once, whatever the number of pages).
    latest: watch::Receiver<Bytes>,
}

/// Serves `listener` until aborted.
pub(crate) async fn serve(listener: TcpListener, settings: Settings) {
    let sampler = Mutex::new(Sampler::new(Instant::now()));
    let (publish, latest) = watch::channel(event(&read(&sampler, &settings)));
    let app = Arc::new(App {
        settings,
        sampler,
        latest,
    });
    let mut tasks = JoinSet::new();
    let reader = app.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(reader.settings.every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        tick.tick().await;
        loop {
            tick.tick().await;
            // The counters are read every tick (the rates and history need
            // them), the document written only while a page is open: the
            // server's own receiver is always there.
            if publish.receiver_count() > 1 {
                publish.send_replace(event(&read(&reader.sampler, &reader.settings)));
            } else {
                record(&reader.sampler, &reader.settings);
            }
        }
    });
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: wait, rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while tasks.try_join_next().is_some() {}
        let app = app.clone();
        tasks.spawn(async move {
            let service = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(respond(&app, &req)) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The counters now, as the `/graph.json` document.
fn read(sampler: &Mutex<Sampler>, settings: &Settings) -> String {
    let metrics = settings.view.metrics();
    let state = settings.view.run_state();
    let mut sampler = sampler.lock().unwrap_or_else(PoisonError::into_inner);
    sampler.snapshot(&settings.name, &metrics, &state, Instant::now())
}

/// The counters now, recorded for the rates and history, nothing written.
fn record(sampler: &Mutex<Sampler>, settings: &Settings) {
    let metrics = settings.view.metrics();
    let mut sampler = sampler.lock().unwrap_or_else(PoisonError::into_inner);
    sampler.record(&metrics, Instant::now());
}

/// `doc` as one server-sent event.
fn event(doc: &str) -> Bytes {
    let mut e = String::with_capacity(doc.len() + 8);
    e.push_str("data: ");
    e.push_str(doc);
    e.push_str("\n\n");
    Bytes::from(e)
}

fn respond(app: &App, req: &Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "read-only: GET or HEAD\n");
        r.headers_mut()
            .insert("allow", HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    // The script and style hold no data of the pipeline's: they load
    // without the token (the page asks for them by their bare names).
    let asset = matches!(req.uri().path(), "/app.js" | "/style.css");
    if let Some(token) = &app.settings.token {
        if !asset && !authorized(req, token) {
            let mut r = plain(StatusCode::UNAUTHORIZED, "a token is required\n");
            r.headers_mut()
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    match req.uri().path() {
        "/" | "/index.html" => {
            let mut r = ok("text/html; charset=utf-8", INDEX_HTML);
            r.headers_mut()
                .insert("content-security-policy", HeaderValue::from_static(CSP));
            r
        }
        "/app.js" => ok("text/javascript; charset=utf-8", APP_JS),
        "/style.css" => ok("text/css; charset=utf-8", STYLE_CSS),
        "/graph.json" => ok("application/json", read(&app.sampler, &app.settings)),
        "/metrics" => {
            let text = prom::render(&app.settings.name, &app.settings.view.metrics());
            ok("text/plain; version=0.0.4; charset=utf-8", text)
        }
        "/events" => events(app),
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// `/events`: the latest document now, then each new one, as server-sent
/// events. A client that reads slowly gets the newest, not a backlog.
fn events(app: &App) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    let mut latest = app.latest.clone();
    latest.mark_unchanged();
    // A new client starts from the counts of this instant.
    let now = read(&app.sampler, &app.settings);
    // Ends when the client goes (the send fails) or the server stops (the
    // sampler's sender is dropped).
    tokio::spawn(async move {
        let first = format!("retry: 1000\n\ndata: {now}\n\n");
        if tx.send(Bytes::from(first)).await.is_err() {
            return;
        }
        while latest.changed().await.is_ok() {
            // A clone of the shared event: no copy, no encoding here.
            let event = latest.borrow_and_update().clone();
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(Body::Events(rx));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn ok(content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Body::full(body));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = ok("text/plain; charset=utf-8", text);
    *r.status_mut() = status;
    r
}

/// The token as a bearer header or as `?token=` in the URL.
fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let query = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("token=")));
    [header, query]
        .into_iter()
        .flatten()
        .any(|given| same(given.as_bytes(), token.as_bytes()))
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}
