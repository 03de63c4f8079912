//! A minimal `/metrics` endpoint over plain HTTP/1.1, for the `prometheus`
//! example and its test (feature `prometheus`).
//!
//! A real service would mount `PrometheusHandle::render` on its web
//! framework's router, or use `metrics-exporter-prometheus`'s own HTTP
//! listener; this one answers `GET /metrics` with a tokio TCP listener so
//! the example needs nothing else.

use std::io;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The content type of Prometheus' text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Answers every connection on `listener`: `GET /metrics` with
/// `handle.render()`, anything else with 404. Runs until accepting fails.
///
/// # Errors
///
/// The error of a failed `accept`.
pub async fn serve(listener: TcpListener, handle: PrometheusHandle) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let handle = handle.clone();
        tokio::spawn(async move {
            // A client that hangs up early is its own problem.
            let _ = respond(stream, &handle).await;
        });
    }
}

async fn respond(mut stream: TcpStream, handle: &PrometheusHandle) -> io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    // Read the request head (up to the blank line), 16 KiB at most.
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let request_line = String::from_utf8_lossy(&head);
    let mut parts = request_line.split_whitespace();
    let (status, content_type, body) = match (parts.next(), parts.next()) {
        (Some("GET"), Some("/metrics")) => ("200 OK", CONTENT_TYPE, handle.render()),
        _ => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "try GET /metrics\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// A response from [`get`].
#[derive(Debug, Clone)]
pub struct Response {
    /// The status line, such as `HTTP/1.1 200 OK`.
    pub status: String,
    /// The `content-type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: String,
}

/// Fetches `path` from `addr` with a plain HTTP/1.1 GET: what Prometheus
/// does when it scrapes.
///
/// # Errors
///
/// A connection or I/O error, or a response without a blank line after
/// its head.
pub async fn get(addr: std::net::SocketAddr, path: &str) -> io::Result<Response> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no end of head"))?;
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_string();
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_string());
    Ok(Response {
        status,
        content_type,
        body: body.to_string(),
    })
}
