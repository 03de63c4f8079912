//! The dashboard's server, over real sockets: `/graph.json`, `/events`,
//! `/metrics`, the page and its assets, the token, read-only, and the
//! port closed when the handle goes.
#![cfg(feature = "dashboard")]

mod dashboard_support;

use std::time::Duration;

use dashboard_support::*;
use weir::dashboard::DashboardError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_json_shows_counts_bottleneck_and_state_through_the_run() {
    let p = pipeline();
    let page = p.dashboard().name("unbalanced").await.unwrap();
    let addr = page.local_addr();
    let idle = graph(addr, "/graph.json").await;
    assert_eq!(idle["state"], "idle");
    let run = unbalanced(&p, Duration::from_millis(1)).run();

    // Updates arrive by themselves, and the counts grow between two.
    let mut events = Events::open(addr, "/events").await;
    let first = loop {
        let doc = events.next().await;
        if items_in(&doc, "sink") > 0 {
            break doc;
        }
    };
    assert_eq!(first["state"], "running");
    let before = stage(&first, "sink")["items_in"].as_u64().unwrap();
    let later = loop {
        let doc = events.next().await;
        if items_in(&doc, "sink") > before {
            break doc;
        }
    };
    for name in ["numbers", "parse", SLOW, HOSTILE, HOSTILE_IMG, "sink"] {
        stage(&later, name);
    }
    assert_eq!(later["pipeline"], "unbalanced");
    // The slow pool is the bottleneck once its input has backed up.
    let doc = loop {
        let doc = events.next().await;
        if doc["bottleneck"]["name"] == SLOW {
            break doc;
        }
        assert!(
            doc["bottleneck"].is_null() || doc["bottleneck"]["name"] != "sink",
            "{doc}"
        );
    };
    let reason = doc["bottleneck"]["reason"].as_str().unwrap();
    assert!(reason.contains("`parse` waited"), "{reason}");
    // Its input queue, with capacity and peak; fused hand-offs have none.
    let slow_id = stage(&doc, SLOW)["id"].clone();
    let edges = doc["edges"].as_array().unwrap();
    let into_slow = edges.iter().find(|e| e["to"] == slow_id).unwrap();
    assert_eq!(into_slow["capacity"], 8);
    assert!(into_slow["peak"].as_u64().unwrap() >= 1, "{into_slow}");
    assert!(
        edges.iter().any(|e| e["queued"].is_null()),
        "a fused edge: {doc}"
    );
    // Left to right: every edge goes to a later column.
    let stages = doc["stages"].as_array().unwrap();
    for e in edges {
        let layer = |id: &serde_json::Value| {
            stages.iter().find(|s| &s["id"] == id).unwrap()["layer"].as_u64()
        };
        assert!(layer(&e["from"]) < layer(&e["to"]), "{e}");
    }

    run.shutdown();
    let counted = run.join().await.unwrap();
    let done = graph(addr, "/graph.json").await;
    assert_eq!(done["state"], "finished", "{done}");
    assert!(done["error"].is_null());
    // Read now, not at the last tick: the final counts.
    assert_eq!(stage(&done, "sink")["items_in"].as_u64(), Some(counted));
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_exporters_names() {
    let p = pipeline();
    let page = p.dashboard().name("doubler").await.unwrap();
    let sum = p
        .source(1..=100u64)
        .map(|n| n * 2)
        .named("double")
        .fold(0, |a, n| a + n);
    assert_eq!(sum.await.unwrap(), 10_100);
    let r = get(page.local_addr(), "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        r.headers
    );
    assert!(
        r.body.contains("# TYPE weir_stage_items_in_total counter"),
        "{}",
        r.body
    );
    let line = r
        .body
        .lines()
        .find(|l| l.starts_with("weir_stage_items_in_total{") && l.contains("stage=\"double\""))
        .unwrap_or_else(|| panic!("{}", r.body));
    assert!(line.contains("pipeline=\"doubler\""), "{line}");
    assert!(line.contains("kind=\"map\""), "{line}");
    assert!(line.ends_with(" 100"), "{line}");
}

#[tokio::test]
async fn hostile_names_are_escaped_in_json_and_prometheus_labels() {
    let p = pipeline();
    let page = p.dashboard().await.unwrap();
    p.source(0..3)
        .map(|n| n)
        .named("a \"quoted\"\nname")
        .map(|n| n)
        .named(HOSTILE)
        .for_each(drop)
        .await
        .unwrap();
    let addr = page.local_addr();
    let raw = get(addr, "/graph.json").await.body;
    assert!(!raw.contains('<'), "no raw `<` in the JSON text: {raw}");
    stage(&serde_json::from_str(&raw).unwrap(), HOSTILE);
    let metrics = get(addr, "/metrics").await.body;
    assert!(
        metrics.contains(r#"stage="a \"quoted\"\nname""#),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_page_and_its_assets_are_embedded_and_locked_down() {
    let p = pipeline();
    let page = p.dashboard().await.unwrap();
    let addr = page.local_addr();
    let html = get(addr, "/").await;
    assert_eq!(html.status, 200);
    assert!(
        html.headers.contains("content-type: text/html"),
        "{}",
        html.headers
    );
    assert!(html
        .headers
        .contains("content-security-policy: default-src 'none'; script-src 'self'"));
    assert!(html.body.contains("<script src=\"app.js\">"));
    assert!(
        !html.body.contains("http://") && !html.body.contains("https://"),
        "no CDN"
    );
    let js = get(addr, "/app.js").await;
    assert!(js.headers.contains("content-type: text/javascript"));
    assert!(!js.body.contains("innerHTML"), "text is inserted as text");
    assert!(js.body.contains("new EventSource(\"events\""));
    assert_eq!(get(addr, "/style.css").await.status, 200);
    assert_eq!(get(addr, "/nope").await.status, 404);
    // Read-only.
    let post = request(addr, "POST", "/graph.json", "Content-Length: 0\r\n").await;
    assert_eq!(post.status, 405);
    assert!(post.headers.contains("allow: get, head"));
}

#[tokio::test]
async fn a_token_is_required_as_bearer_or_query() {
    let p = pipeline();
    let page = p.dashboard().token("s3cret").await.unwrap();
    let addr = page.local_addr();
    assert_eq!(page.url(), format!("http://{addr}/?token=s3cret"));
    for path in ["/", "/graph.json", "/metrics", "/events", "/index.html"] {
        let r = get(addr, path).await;
        assert_eq!(r.status, 401, "{path}");
        assert!(r.headers.contains("www-authenticate: bearer"));
    }
    // The page's script and style hold no data: the page loads them by
    // their bare names.
    assert_eq!(get(addr, "/app.js").await.status, 200);
    assert_eq!(get(addr, "/style.css").await.status, 200);
    assert_eq!(get(addr, "/graph.json?token=wrong").await.status, 401);
    assert_eq!(get(addr, "/graph.json?token=s3cre").await.status, 401);
    assert_eq!(get(addr, "/graph.json?token=s3cret").await.status, 200);
    assert_eq!(get(addr, "/?x=1&token=s3cret").await.status, 200);
    let bearer = request(addr, "GET", "/metrics", "Authorization: Bearer s3cret\r\n").await;
    assert_eq!(bearer.status, 200);
    let wrong = request(addr, "GET", "/metrics", "Authorization: Bearer nope\r\n").await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn dropping_the_handle_closes_the_port() {
    let p = pipeline();
    let page = p.dashboard().bind("127.0.0.1:0").await.unwrap();
    let addr = page.local_addr();
    assert!(addr.ip().is_loopback());
    // An open event stream is cut too.
    let _events = Events::open(addr, "/events").await;
    assert_eq!(get(addr, "/graph.json").await.status, 200);
    drop(page);
    // The server task is aborted; it is dropped the next time this
    // (current-thread) runtime runs it.
    let mut closed = false;
    for _ in 0..1_000 {
        tokio::task::yield_now().await;
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "{addr} still accepts connections after the handle was dropped"
    );
}

#[tokio::test]
async fn stop_waits_until_the_port_is_closed() {
    let p = pipeline();
    let page = p.dashboard().await.unwrap();
    let addr = page.local_addr();
    assert_eq!(get(addr, "/graph.json").await.status, 200);
    page.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn an_address_in_use_is_a_bind_error() {
    let p = pipeline();
    let first = p.dashboard().await.unwrap();
    let taken = first.local_addr().to_string();
    let err = p.dashboard().bind(taken.clone()).await.unwrap_err();
    let DashboardError::Bind { addr, source } = &err else {
        panic!("{err}");
    };
    assert_eq!(addr, &taken);
    assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
    assert!(err
        .to_string()
        .starts_with(&format!("the dashboard could not listen on {taken}")));
}

/// A zero update interval is a typed error when the builder is awaited,
/// not a panic, and nothing is bound.
#[tokio::test]
async fn a_zero_interval_is_an_error_not_a_panic() {
    let p = pipeline();
    let err = p
        .dashboard()
        .every(std::time::Duration::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(err, DashboardError::ZeroInterval), "{err}");
    assert_eq!(
        err.to_string(),
        "the dashboard's update interval must be longer than zero"
    );
}

#[tokio::test]
async fn a_failed_run_shows_failed_with_its_error() {
    let p = pipeline();
    let page = p.dashboard().await.unwrap();
    let err = p
        .source(0..10u32)
        .try_map(|n| {
            if n == 5 {
                Err("five is right out")
            } else {
                Ok(n)
            }
        })
        .named("picky")
        .for_each(drop)
        .await
        .unwrap_err();
    let doc = graph(page.local_addr(), "/graph.json").await;
    assert_eq!(doc["state"], "failed");
    // The error and its cause.
    let shown = doc["error"].as_str().unwrap();
    assert!(shown.starts_with(&err.to_string()), "{shown} / {err}");
    assert!(
        shown.contains("picky") && shown.ends_with("five is right out"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_graceful_stop_shows_draining_then_finished() {
    let p = pipeline();
    let page = p.dashboard().await.unwrap();
    let addr = page.local_addr();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let held = gate.clone();
    let run = p
        .source(0u64..)
        .worker_pool(1, move |n| {
            let held = held.clone();
            async move {
                // Holds every item until the test lets them through.
                held.acquire().await.unwrap().forget();
                Ok::<_, std::io::Error>(n)
            }
        })
        .count()
        .run();
    // The pool holds an item: the source has run.
    weir::testing::eventually("the pool took an item", || {
        run.metrics().edges.first().is_some_and(|e| e.received > 0)
    })
    .await;
    run.shutdown();
    assert_eq!(graph(addr, "/graph.json").await["state"], "draining");
    gate.add_permits(1_000_000);
    run.join().await.unwrap();
    assert_eq!(graph(addr, "/graph.json").await["state"], "finished");
}

/// A stage's `items_in` in a document, 0 while it is not there yet.
fn items_in(doc: &serde_json::Value, name: &str) -> u64 {
    doc["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .map_or(0, |s| s["items_in"].as_u64().unwrap())
}

#[tokio::test]
async fn a_fifty_stage_graph_gets_distinct_cells_and_edges_point_right() {
    let p = pipeline();
    let page = p.dashboard().await.unwrap();
    fifty_stages(&p).await.unwrap();
    let doc = graph(page.local_addr(), "/graph.json").await;
    let stages = doc["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 50, "{doc}");
    let cells: std::collections::HashSet<(u64, u64)> = stages
        .iter()
        .map(|s| (s["layer"].as_u64().unwrap(), s["row"].as_u64().unwrap()))
        .collect();
    assert_eq!(cells.len(), 50, "two stages share a cell");
    let layer = |id: &serde_json::Value| stages[id.as_u64().unwrap() as usize]["layer"].as_u64();
    for e in doc["edges"].as_array().unwrap() {
        assert!(layer(&e["from"]) < layer(&e["to"]), "{e}");
    }
    // Four branches side by side: 4 rows, and as many columns as the
    // longest path (source, broadcast, 11 steps, merge, 2, sink), not 50.
    assert_eq!(cells.iter().map(|c| c.1).max(), Some(3));
    assert_eq!(cells.iter().map(|c| c.0).max(), Some(16));
}

#[tokio::test]
async fn a_run_handle_hands_out_the_page_too() {
    let p = pipeline();
    let run = p.source(0u64..).named("endless").for_each(drop).run();
    let page = run.dashboard().name("from the handle").await.unwrap();
    let doc = graph(page.local_addr(), "/graph.json").await;
    assert_eq!(doc["pipeline"], "from the handle");
    assert_eq!(doc["state"], "running");
    stage(&doc, "endless");
    run.cancel();
    let err = run.join().await.unwrap_err();
    let doc = graph(page.local_addr(), "/graph.json").await;
    assert_eq!(doc["state"], "failed");
    assert!(
        doc["error"].as_str().unwrap().starts_with(&err.to_string()),
        "{doc}"
    );
}

/// The page's updates never wake the runtime the pipeline runs on: the
/// server has a thread and a runtime of its own. Counted with tokio's park
/// count of the pipeline runtime's one worker over ten updates (one
/// settling park after its start is allowed; a wake per update would be
/// ten).
#[cfg(target_has_atomic = "64")]
#[tokio::test]
async fn updates_do_not_wake_the_pipelines_runtime() {
    let pipeline_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (p, sink) = {
        let _in = pipeline_rt.enter();
        let p = pipeline();
        let sink = unbalanced(&p, Duration::from_millis(1));
        (p, sink)
    };
    let parks = || pipeline_rt.metrics().worker_park_count(0);
    // The worker parks once it has nothing to do.
    while parks() == 0 {
        std::thread::yield_now();
    }
    let page = p
        .dashboard()
        .every(Duration::from_millis(10))
        .await
        .unwrap();
    let mut events = Events::open(page.local_addr(), "/events").await;
    events.next().await;
    let before = parks();
    for _ in 0..10 {
        assert_eq!(events.next().await["state"], "idle");
    }
    let woke = parks() - before;
    assert!(
        woke <= 1,
        "the pipeline's worker woke {woke} times in 10 updates"
    );
    page.stop().await;
    {
        let _in = pipeline_rt.enter();
        drop((sink, p));
    }
    pipeline_rt.shutdown_background();
}
