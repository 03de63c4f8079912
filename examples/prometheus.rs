//! A running pipeline's metrics served as `/metrics` for Prometheus.
//!
//! The `metrics` feature of `weir` publishes every stage's and channel's
//! counters through the `metrics` facade; `metrics-exporter-prometheus`
//! renders them in Prometheus' text format, and a small HTTP handler
//! serves them on 127.0.0.1.
//!
//! Run it, then scrape it while it runs (Ctrl-C stops it gracefully):
//!
//! ```sh
//! cargo run -p weir-examples --features prometheus --example prometheus -- --port 9898
//! curl -s http://127.0.0.1:9898/metrics | grep weir_
//! ```
//!
//! With `--once`, it runs a finite pipeline, scrapes itself once, prints
//! the `weir_` lines and exits.

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::net::TcpListener;
use weir::cancel::Context;
use weir::metrics_export::MetricsExporter;
use weir::pipeline::Pipeline;
use weir_examples::metrics_endpoint;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let once = args.iter().any(|a| a == "--once");
    let port: u16 = match args.iter().position(|a| a == "--port") {
        Some(i) => args.get(i + 1).ok_or("--port needs a number")?.parse()?,
        None => 0, // any free port
    };

    // 1. The recorder every `metrics` call in the process reports to.
    let handle = PrometheusBuilder::new().install_recorder()?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(metrics_endpoint::serve(listener, handle));
    println!("serving http://{addr}/metrics");

    // 2. A pipeline: parse, a pool of slow lookups, keep the hits, count.
    let p = Pipeline::new(&Context::background());
    let items = if once { 0..2_000u64 } else { 0..u64::MAX };
    let run = p
        .source(items)
        .named("requests")
        .map(|n| n.wrapping_mul(2_654_435_761) % 10_000)
        .named("parse")
        .worker_pool(8, |key| async move {
            tokio::time::sleep(Duration::from_micros(200)).await; // a lookup
            Ok::<_, std::io::Error>(key)
        })
        .named("lookup")
        .filter(|key| key % 3 == 0)
        .named("hits")
        .fold(0u64, |n, _| n + 1)
        .named("count")
        .run();

    // 3. Its counters, published every second under pipeline="lookups".
    let source = p.clone();
    let exporting =
        MetricsExporter::new("lookups").spawn(Duration::from_secs(1), move || source.metrics());

    if !once {
        println!("Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
        run.shutdown(); // the source stops, what it produced drains
    }
    let hits = run.join().await?;
    exporting.stop().await; // the final counts
    println!("{hits} hits\n{}", p.metrics());

    if once {
        let response = metrics_endpoint::get(addr, "/metrics").await?;
        println!("GET /metrics: {}", response.status);
        for line in response.body.lines().filter(|l| l.contains("weir_")) {
            println!("{line}");
        }
    }
    Ok(())
}
