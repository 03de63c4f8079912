//! The dashboard in a real browser: headless Chromium loads the page of
//! a running, deliberately unbalanced pipeline and the test reads the DOM
//! the page's script drew, twice while it runs and once after, over
//! Chromium's DevTools protocol.
//!
//! Needs `chromium` (or `chromium-browser`) on the PATH. Without it the
//! test prints `SKIPPED: chromium not installed` and passes — unless `CI`
//! is set, where it fails (`.ci/run` installs Debian's `chromium`).
#![cfg(feature = "dashboard")]

mod dashboard_support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use dashboard_support::*;

/// The first of `chromium` and `chromium-browser` on the PATH.
fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// How long the page may take to show what a test waits for before the
/// test fails (instead of hanging): a bound on a real browser's real time,
/// far above the second or so it takes.
const GIVE_UP_MS: u64 = 30_000;

/// Headless Chromium, driven over its DevTools protocol (a WebSocket,
/// written here in a few lines: no driver to download).
struct Browser {
    child: Child,
    ws: TcpStream,
    next_id: u64,
}

impl Browser {
    async fn start(bin: &Path, profile: &Path) -> Browser {
        let mut child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--hide-scrollbars",
                "--window-size=1500,640",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…"
        let stderr = child.stderr.take().unwrap();
        let port = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stderr).lines();
            let port = lines
                .by_ref()
                .map_while(Result::ok)
                .find_map(|l| {
                    let rest = l.split("DevTools listening on ws://127.0.0.1:").nth(1)?;
                    rest.split('/').next()?.parse::<u16>().ok()
                })
                .expect("chromium printed its DevTools port");
            // Keep draining its log so it never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            port
        })
        .await
        .unwrap();
        let devtools = SocketAddr::from(([127, 0, 0, 1], port));
        let list = json_list(devtools).await;
        let target = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target");
        let ws_url = target["webSocketDebuggerUrl"].as_str().unwrap();
        let path = &ws_url[ws_url.find("/devtools/").unwrap()..];
        let mut ws = TcpStream::connect(devtools).await.unwrap();
        let hello = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        ws.write_all(hello.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(ws.read_u8().await.unwrap());
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        Browser {
            child,
            ws,
            next_id: 0,
        }
    }

    /// Sends one DevTools command and returns its result.
    async fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = serde_json::json!({ "id": id, "method": method, "params": params }).to_string();
        // One masked text frame (a client must mask; the mask may be zero).
        let mut frame = vec![0x81u8];
        let n = msg.len();
        if n < 126 {
            frame.push(0x80 | n as u8);
        } else if n < 65536 {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(msg.as_bytes());
        self.ws.write_all(&frame).await.unwrap();
        loop {
            let reply: serde_json::Value = serde_json::from_slice(&self.message().await).unwrap();
            if reply["id"] == id {
                assert!(reply["error"].is_null(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// The next whole message from the browser (frames joined).
    async fn message(&mut self) -> Vec<u8> {
        let mut data = Vec::new();
        loop {
            let b0 = self.ws.read_u8().await.unwrap();
            let b1 = self.ws.read_u8().await.unwrap();
            let len = match b1 & 0x7f {
                126 => u64::from(self.ws.read_u16().await.unwrap()),
                127 => self.ws.read_u64().await.unwrap(),
                n => u64::from(n),
            };
            let mut payload = vec![0; len as usize];
            self.ws.read_exact(&mut payload).await.unwrap();
            if b0 & 0x0f == 0x9 {
                continue; // a ping
            }
            data.extend_from_slice(&payload);
            if b0 & 0x80 != 0 {
                return data;
            }
        }
    }

    /// Waits, in the page, for the script `until` to be true, then returns
    /// the DOM as the page has drawn it.
    async fn dom_when(&mut self, until: &str) -> String {
        let expression = format!(
            "new Promise((done) => {{ const start = Date.now(); const check = () => {{ \
             if (document.body && ({until})) done(document.documentElement.outerHTML); \
             else if (Date.now() - start > {GIVE_UP_MS}) done('GAVE UP ' + document.documentElement.outerHTML); \
             else setTimeout(check, 20); }}; check(); }})"
        );
        let r = self
            .call(
                "Runtime.evaluate",
                serde_json::json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        let dom = r["result"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"));
        assert!(!dom.starts_with("GAVE UP"), "never true: {until}\n{dom}");
        dom.to_string()
    }

    /// Opens `url` and waits for its load event (its script has run).
    async fn navigate(&mut self, url: &str) {
        self.call("Page.enable", serde_json::json!({})).await;
        self.call("Page.navigate", serde_json::json!({ "url": url }))
            .await;
        loop {
            let event: serde_json::Value = serde_json::from_slice(&self.message().await).unwrap();
            if event["method"] == "Page.loadEventFired" {
                return;
            }
        }
    }

    /// The value of a script in the page.
    async fn eval(&mut self, expression: &str) -> serde_json::Value {
        let r = self
            .call(
                "Runtime.evaluate",
                serde_json::json!({ "expression": expression, "returnByValue": true }),
            )
            .await;
        r["result"]["value"].clone()
    }

    async fn screenshot(&mut self, to: &Path) {
        let r = self
            .call(
                "Page.captureScreenshot",
                serde_json::json!({ "format": "png" }),
            )
            .await;
        std::fs::write(to, base64(r["data"].as_str().unwrap())).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// DevTools' `/json/list`, read by its `Content-Length` (the browser
/// keeps the connection open).
async fn json_list(devtools: SocketAddr) -> serde_json::Value {
    let mut s = TcpStream::connect(devtools).await.unwrap();
    let req = format!("GET /json/list HTTP/1.1\r\nHost: {devtools}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(s.read_u8().await.unwrap());
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .expect("a content-length")
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0; len];
    s.read_exact(&mut body).await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// Standard base64, decoded.
fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// `s` as a serialized DOM text node shows it.
fn as_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The drawn stage boxes: (their `class`, their markup).
fn stage_boxes(dom: &str) -> Vec<(&str, &str)> {
    dom.split("<g class=\"stage")
        .skip(1)
        .map(|part| {
            let class = &part[..part.find('"').unwrap()];
            let end = part.find("<g class=").unwrap_or(part.len());
            (class, &part[..end])
        })
        .collect()
}

/// The box of the stage named `name`.
fn stage_box<'a>(dom: &'a str, name: &str) -> (&'a str, &'a str) {
    let title = format!("<title>{} (", as_text(name));
    stage_boxes(dom)
        .into_iter()
        .find(|(_, markup)| markup.contains(&title))
        .unwrap_or_else(|| panic!("no box for {name} in {dom}"))
}

/// The `in` count drawn on `name`'s box.
fn drawn_in(dom: &str, name: &str) -> u64 {
    let (_, markup) = stage_box(dom, name);
    let at = markup
        .find(">in ")
        .unwrap_or_else(|| panic!("no count in {markup}"));
    let digits: String = markup[at + 4..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// The page's `data-state` and update count.
fn body_attr<'a>(dom: &'a str, attr: &str) -> &'a str {
    let body = &dom[dom.find("<body").expect("a body")..];
    let body = &body[..body.find('>').unwrap()];
    let at = body
        .find(&format!("{attr}=\""))
        .unwrap_or_else(|| panic!("no {attr} in {body}"));
    let value = &body[at + attr.len() + 2..];
    &value[..value.find('"').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_draws_the_live_graph_in_headless_chromium() {
    let Some(bin) = find_chromium() else {
        assert!(
            !in_ci(),
            "chromium is not installed, and CI is set: .ci/run installs it"
        );
        println!("SKIPPED: chromium not installed");
        return;
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard_browser");
    std::fs::create_dir_all(&out).unwrap();
    let profile = out.join("profile");

    let p = pipeline();
    // With a token, as the page is when it is served beyond loopback.
    let page = p
        .dashboard()
        .name("unbalanced")
        .token("t0k3n")
        .await
        .unwrap();
    assert!(page.url().ends_with("?token=t0k3n"));
    let run = unbalanced(&p, Duration::from_millis(2)).run();
    // Wait until the slow stage is the bottleneck by the counters, so the
    // page has something to mark.
    weir::testing::eventually("the slow stage is the bottleneck", || {
        let m = run.metrics();
        m.bottleneck().is_some_and(|b| b.name == SLOW)
            && m.edges
                .iter()
                .any(|e| e.to == SLOW && !e.send_wait.is_zero())
    })
    .await;

    let mut browser = Browser::start(&bin, &profile).await;
    browser.navigate(page.url()).await;
    // Two updates in, with the bottleneck drawn.
    let first = browser
        .dom_when(
            "+document.body.dataset.updates >= 2 && document.querySelector('g.stage.bottleneck')",
        )
        .await;
    assert_eq!(body_attr(&first, "data-state"), "running", "{first}");
    // Every stage is drawn, hostile names as text.
    for name in ["numbers", "parse", SLOW, HOSTILE, HOSTILE_IMG, "sink"] {
        stage_box(&first, name);
    }
    assert_eq!(stage_boxes(&first).len(), 6);
    assert!(
        first.contains(&format!(">{}</text>", as_text(HOSTILE))),
        "{first}"
    );
    assert!(!first.contains(HOSTILE), "a hostile name became markup");
    assert!(!first.contains("<img"), "a hostile name became an element");
    assert!(
        !first.contains("data-pwned"),
        "a hostile name's handler ran"
    );
    // The bottleneck mark is on the slow stage, and only there.
    let (class, markup) = stage_box(&first, SLOW);
    assert!(class.contains("bottleneck"), "{class}: {markup}");
    assert!(markup.contains("▲ bottleneck"), "{markup}");
    let marked = stage_boxes(&first)
        .iter()
        .filter(|(c, _)| c.contains("bottleneck"))
        .count();
    assert_eq!(marked, 1);
    assert!(
        first.contains("bottleneck: slow-lookup</b> — `parse` waited"),
        "{first}"
    );

    // The same page, two updates later: the counts moved by themselves.
    let seen: u64 = body_attr(&first, "data-updates").parse().unwrap();
    let second = browser
        .dom_when(&format!("+document.body.dataset.updates >= {}", seen + 2))
        .await;
    let (before, after) = (drawn_in(&first, "sink"), drawn_in(&second, "sink"));
    assert!(after > before, "sink count {before} then {after}");

    let shot = out.join("dashboard.png");
    browser.screenshot(&shot).await;
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    println!("screenshot: {}", shot.display());

    // After a graceful stop the page says so, with the final count.
    run.shutdown();
    let counted = run.join().await.unwrap();
    let last = browser
        .dom_when("document.body.dataset.state === 'finished'")
        .await;
    assert!(
        last.contains("class=\"state finished\">finished</span>"),
        "{last}"
    );
    assert_eq!(drawn_in(&last, "sink"), counted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifty_stage_graph_is_drawn_at_full_size_without_overlaps() {
    let Some(bin) = find_chromium() else {
        assert!(
            !in_ci(),
            "chromium is not installed, and CI is set: .ci/run installs it"
        );
        println!("SKIPPED: chromium not installed");
        return;
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard_browser_50");
    std::fs::create_dir_all(&out).unwrap();
    let p = pipeline();
    let page = p.dashboard().name("fifty").await.unwrap();
    fifty_stages(&p).await.unwrap();
    let mut browser = Browser::start(&bin, &out.join("profile")).await;
    browser.navigate(page.url()).await;
    let dom = browser
        .dom_when("document.body.dataset.state === 'finished' && document.querySelectorAll('g.stage').length === 50")
        .await;
    assert_eq!(stage_boxes(&dom).len(), 50);
    // Every box at its full size (the page scrolls rather than shrinking
    // them), and no two overlap.
    let check = browser
        .eval(
            "(() => { const r = [...document.querySelectorAll('g.stage rect.box')].map((e) => e.getBoundingClientRect()); \
             let overlaps = 0; for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) \
             if (r[i].left < r[j].right && r[j].left < r[i].right && r[i].top < r[j].bottom && r[j].top < r[i].bottom) overlaps++; \
             return { boxes: r.length, overlaps, narrowest: Math.min(...r.map((b) => b.width)) }; })()",
        )
        .await;
    assert_eq!(check["boxes"], 50, "{check}");
    assert_eq!(check["overlaps"], 0, "{check}");
    assert!(check["narrowest"].as_f64().unwrap() >= 199.0, "{check}");
    browser.screenshot(&out.join("fifty.png")).await;
}

/// Two sources, each broadcast to two merges, crossed: the queue from the
/// first broadcast to the second merge and the one from the second
/// broadcast to the first run through the same middle point.
fn crossed_fan_out(p: &weir::pipeline::Pipeline) -> weir::pipeline::Sink<u64> {
    let mut a = p.source(0..500u64).named("left").broadcast_n(2);
    let mut b = p.source(0..500u64).named("right").broadcast_n(2);
    let (a1, a0) = (a.pop().unwrap(), a.pop().unwrap());
    let (b1, b0) = (b.pop().unwrap(), b.pop().unwrap());
    let m0 = a0.merge([b0]).named("merge 0");
    let m1 = b1.merge([a1]).named("merge 1");
    m0.merge([m1]).named("all").count().named("sink")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_labels_on_a_dense_fan_out_overlap_nothing() {
    let Some(bin) = find_chromium() else {
        assert!(
            !in_ci(),
            "chromium is not installed, and CI is set: .ci/run installs it"
        );
        println!("SKIPPED: chromium not installed");
        return;
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard_browser_fan_out");
    std::fs::create_dir_all(&out).unwrap();
    let p = pipeline();
    let page = p.dashboard().name("crossed").await.unwrap();
    assert_eq!(crossed_fan_out(&p).await.unwrap(), 2_000);
    let queues = graph(page.local_addr(), "/graph.json").await["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["capacity"].is_null())
        .count();
    assert!(queues >= 6, "{queues} queues");
    let mut browser = Browser::start(&bin, &out.join("profile")).await;
    browser.navigate(page.url()).await;
    browser
        .dom_when("document.body.dataset.state === 'finished'")
        .await;
    // Each queue's bar and its text, and every stage box: no two parts of
    // different edges overlap, and no label lies on a box.
    let check = browser
        .eval(
            "(() => { \
               const parts = [...document.querySelectorAll('g.edge rect.bar-bg, g.edge text')] \
                 .filter((e) => e.tagName === 'rect' || e.textContent.includes('peak')) \
                 .map((e) => ({ edge: e.closest('g.edge'), r: e.getBoundingClientRect() })); \
               const boxes = [...document.querySelectorAll('g.stage rect.box')].map((e) => e.getBoundingClientRect()); \
               const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom; \
               let labels = 0, on_labels = 0, on_boxes = 0; \
               for (let i = 0; i < parts.length; i++) { \
                 if (parts[i].r.width > 0 && parts[i].r.height > 0) labels++; \
                 for (let j = i + 1; j < parts.length; j++) \
                   if (parts[i].edge !== parts[j].edge && hit(parts[i].r, parts[j].r)) on_labels++; \
                 for (const b of boxes) if (hit(parts[i].r, b)) on_boxes++; \
               } \
               return { parts: parts.length, labels, on_labels, on_boxes }; })()",
        )
        .await;
    // A bar and a text per queue.
    assert_eq!(check["parts"], 2 * queues, "{check}");
    assert_eq!(check["labels"], 2 * queues, "{check}");
    assert_eq!(check["on_labels"], 0, "{check}");
    assert_eq!(check["on_boxes"], 0, "{check}");
    browser.screenshot(&out.join("fan_out.png")).await;
}
