//! Runnable examples of weir, one per Go pattern; see the `[[example]]`
//! targets of this package (`cargo run --example <name>`).

pub mod access_log;
pub mod broadcast_orders;
pub mod fetch_sim;
pub mod log_stats;
#[cfg(feature = "prometheus")]
pub mod metrics_endpoint;
