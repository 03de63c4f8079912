//! The `prometheus` example's endpoint, scraped over loopback: a running
//! pipeline's counters and gauges come out in Prometheus' text format,
//! labelled by pipeline and stage.

use std::collections::HashMap;

use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::net::TcpListener;
use weir::cancel::Context;
use weir::metrics_export::MetricsExporter;
use weir::pipeline::{Metrics, Pipeline};
use weir::testing::eventually;
use weir_examples::metrics_endpoint::{self, CONTENT_TYPE};

/// The samples of a text exposition: `name{labels}` → value.
fn samples(body: &str) -> HashMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("`series value`");
            (series.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

fn stage_series(m: &Metrics, name: &str, metric: &str, pipeline: &str) -> String {
    let (id, s) = m
        .stages
        .iter()
        .enumerate()
        .find(|(_, s)| s.name == name)
        .unwrap_or_else(|| panic!("no stage `{name}`"));
    // The exporter sorts nothing: labels come out in the order published.
    format!(
        "{metric}{{pipeline=\"{pipeline}\",stage=\"{name}\",kind=\"{}\",id=\"{id}\"}}",
        s.kind
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_pipeline_is_scraped_in_prometheus_text_format() {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this test binary");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    tokio::spawn(metrics_endpoint::serve(listener, handle));

    let p = Pipeline::with_capacity(&Context::background(), 16);
    let run = p
        .source(0u64..)
        .named("numbers")
        .map(|n| n % 1_000)
        .named("mod")
        .worker_pool(2, |n| async move { Ok::<_, std::io::Error>(n * 2) })
        .named("double")
        .for_each(|_| {})
        .named("drain")
        .run();
    let mut exporter = MetricsExporter::new("scraped");

    // While it runs.
    eventually("the pool doubled 500 items", || {
        p.metrics()
            .stages
            .iter()
            .any(|s| s.name == "double" && s.items_out >= 500)
    })
    .await;
    let live = p.metrics();
    exporter.publish(&live);
    let response = metrics_endpoint::get(addr, "/metrics").await.unwrap();
    assert_eq!(response.status, "HTTP/1.1 200 OK");
    assert_eq!(response.content_type.as_deref(), Some(CONTENT_TYPE));
    let body = response.body;
    let got = samples(&body);
    let running = stage_series(&live, "double", "weir_stage_running", "scraped");
    assert_eq!(got.get(&running), Some(&1.0), "{running} in\n{body}");
    let pool_out = stage_series(&live, "double", "weir_stage_items_out_total", "scraped");
    assert!(got[&pool_out] >= 500.0, "{pool_out} in\n{body}");
    assert!(
        body.contains("# TYPE weir_stage_items_in_total counter"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE weir_edge_queue_length gauge"),
        "{body}"
    );
    let capacity = got
        .iter()
        .find(|(k, _)| k.starts_with("weir_edge_capacity{") && k.contains("to=\"double\""))
        .unwrap_or_else(|| panic!("no capacity of the pool's input in\n{body}"));
    assert_eq!(*capacity.1, 16.0);

    // After it ends, the counters match the final snapshot exactly.
    run.cancel();
    assert!(run.join().await.is_err());
    let done = p.metrics();
    exporter.publish(&done);
    let body = metrics_endpoint::get(addr, "/metrics").await.unwrap().body;
    let got = samples(&body);
    for s in &done.stages {
        let items_in = stage_series(&done, &s.name, "weir_stage_items_in_total", "scraped");
        assert_eq!(
            got.get(&items_in),
            Some(&(s.items_in as f64)),
            "{items_in} in\n{body}"
        );
        let items_out = stage_series(&done, &s.name, "weir_stage_items_out_total", "scraped");
        assert_eq!(
            got.get(&items_out),
            Some(&(s.items_out as f64)),
            "{items_out} in\n{body}"
        );
        let running = stage_series(&done, &s.name, "weir_stage_running", "scraped");
        assert_eq!(got.get(&running), Some(&0.0), "{running} in\n{body}");
    }

    // Anything but /metrics is a 404.
    let response = metrics_endpoint::get(addr, "/").await.unwrap();
    assert_eq!(response.status, "HTTP/1.1 404 Not Found");
}
