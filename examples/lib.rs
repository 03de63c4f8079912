//! Runnable examples of weir, one per Go pattern; see the `[[example]]`
//! targets of this package (`cargo run --example <name>`).

#[cfg(feature = "prometheus")]
pub mod metrics_endpoint;
