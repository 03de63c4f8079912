//! What the dashboard tests share: a bare HTTP/1.1 client, a reader of
//! server-sent events, and a deliberately unbalanced pipeline.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir::cancel::Context;
use weir::pipeline::{Pipeline, Sink};

/// The hostile stage name: it must show as text, never run.
pub(crate) const HOSTILE: &str = "<script>alert(1)</script>";
/// A second one whose handler would mark the page if it were ever parsed
/// as HTML (a `<script>` set by `innerHTML` would not run; this would).
pub(crate) const HOSTILE_IMG: &str = "<img src=x onerror=\"document.body.dataset.pwned='yes'\">";
/// The stage that cannot keep up.
pub(crate) const SLOW: &str = "slow-lookup";

/// A response: status, headers (as text, lowercase names), body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: String,
}

/// One request, `Connection: close`, read to the end.
pub(crate) async fn request(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Reply {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let status = head[9..12].parse().unwrap();
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

pub(crate) async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, "").await
}

/// `/graph.json` now, parsed.
pub(crate) async fn graph(addr: SocketAddr, path: &str) -> serde_json::Value {
    let r = get(addr, path).await;
    assert_eq!(r.status, 200, "{r:?}");
    serde_json::from_str(&r.body).expect("graph.json parses")
}

/// The stream of `/events`: each `data:` line, parsed.
pub(crate) struct Events {
    stream: TcpStream,
    buf: String,
}

impl Events {
    pub(crate) async fn open(addr: SocketAddr, path: &str) -> Events {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut events = Events {
            stream,
            buf: String::new(),
        };
        let head = events.block().await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/event-stream"),
            "{head}"
        );
        events
    }

    /// The next block up to a blank line (chunked framing lines included).
    async fn block(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.find("\r\n\r\n").or_else(|| self.buf.find("\n\n")) {
                let sep = if self.buf[end..].starts_with("\r\n\r\n") {
                    4
                } else {
                    2
                };
                let block = self.buf[..end].to_string();
                self.buf.drain(..end + sep);
                return block;
            }
            let mut chunk = [0u8; 16384];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the event stream ended");
            self.buf.push_str(std::str::from_utf8(&chunk[..n]).unwrap());
        }
    }

    /// The next event's document.
    pub(crate) async fn next(&mut self) -> serde_json::Value {
        loop {
            let block = self.block().await;
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(data).expect("an event parses");
            }
        }
    }
}

/// The stage named `name` in a document.
pub(crate) fn stage<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {doc}"))
}

/// An endless source → a cheap `parse` → a one-worker pool that sleeps
/// `per_item` per item (the bottleneck) → two stages with hostile names →
/// a counting sink. Ends when the pipeline is shut down.
pub(crate) fn unbalanced(p: &Pipeline, per_item: Duration) -> Sink<u64> {
    p.source(0u64..)
        .named("numbers")
        .map(|n| n.wrapping_mul(3))
        .named("parse")
        .worker_pool(1, move |n| async move {
            tokio::time::sleep(per_item).await;
            Ok::<_, std::io::Error>(n)
        })
        .named(SLOW)
        .map(|n| n + 1)
        .named(HOSTILE)
        .filter(|n| n % 2 == 0)
        .named(HOSTILE_IMG)
        .count()
        .named("sink")
}

/// A pipeline over `ctx` with small queues, so the slow stage's input fills.
pub(crate) fn pipeline() -> Pipeline {
    Pipeline::with_capacity(&Context::background(), 8)
}

/// A 50-stage graph: a source, a 4-way broadcast, eleven stages on each
/// branch, a merge, two more stages and a counting sink. Ends on its own.
pub(crate) fn fifty_stages(p: &Pipeline) -> Sink<u64> {
    let branches = p.source(0..2_000u64).named("source").broadcast_n(4);
    let mut ends = branches.into_iter().enumerate().map(|(b, mut flow)| {
        for i in 0..11 {
            flow = flow.map(|n| n + 1).named(format!("branch {b} step {i}"));
        }
        flow
    });
    let first = ends.next().unwrap();
    first
        .merge(ends.collect::<Vec<_>>())
        .named("merge")
        .map(|n| n * 2)
        .named("after merge 1")
        .filter(|n| n % 3 != 0)
        .named("after merge 2")
        .count()
        .named("sink")
}
