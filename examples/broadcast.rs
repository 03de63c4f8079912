//! One input, three branches that each need every item: Go's "tee" of a
//! channel into several consumers, written as `let [a, b, c] =
//! flow.broadcast();`.
//!
//! Each order goes to an archive (an async sink), an audit (a fallible
//! sink: a bad order fails the run, naming the `audit` stage) and a
//! revenue fold. The slowest branch sets the pace; memory stays bounded.
//! The logic is in `broadcast_orders.rs` and tested in `tests/broadcast.rs`.
//!
//! Run with `cargo run -p weir-examples --example broadcast [ORDERS]`
//! (add `--bad` to see the audit refuse an order).

use weir::cancel::Context;
use weir_examples::broadcast_orders::{self, Archive, Order};

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000u64);
    let bad = args.iter().any(|a| a == "--bad");

    let mut orders: Vec<Order> = broadcast_orders::orders(n).collect();
    if bad {
        if let Some(order) = orders.get_mut(n as usize / 2) {
            order.cents = -5;
        }
    }

    let archive = Archive::default();
    let report = match broadcast_orders::run(&Context::background(), orders, &archive).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(cause) = std::error::Error::source(&e) {
                eprintln!("  caused by: {cause}");
            }
            return Err(e);
        }
    };

    println!("{} orders archived", report.archived.len());
    for (customer, cents) in &report.revenue {
        println!("{customer:>4}: {:>10.2}", *cents as f64 / 100.0);
    }
    println!("\n{}", report.metrics);
    println!("\n{}", report.mermaid);
    Ok(())
}
