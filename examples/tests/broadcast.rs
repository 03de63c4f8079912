//! The `broadcast` example's logic: every branch sees every order, the
//! audit's refusal names its stage, and the report's metrics and graph
//! describe the three branches.

use weir::cancel::Context;
use weir::stage::Error as StageError;
use weir::Error;
use weir_examples::broadcast_orders::{self, Archive, InvalidOrder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_branch_sees_every_order() {
    let n = 5_000;
    let archive = Archive::default();
    let report = broadcast_orders::run(
        &Context::background(),
        broadcast_orders::orders(n),
        &archive,
    )
    .await
    .unwrap();

    // The async sink stored every order, in input order.
    assert_eq!(report.archived, (0..n).collect::<Vec<_>>());

    // The fold agrees with a plain loop.
    let mut want = std::collections::BTreeMap::new();
    for order in broadcast_orders::orders(n) {
        *want.entry(order.customer).or_insert(0) += order.cents;
    }
    assert_eq!(report.revenue, want);

    // Each sink took in every order.
    for name in ["archive", "audit", "revenue"] {
        let stage = report.metrics.stages.iter().find(|s| s.name == name);
        let stage = stage.unwrap_or_else(|| panic!("no stage `{name}`"));
        assert_eq!(stage.items_in, n, "{name}");
        assert_eq!(stage.errors, 0, "{name}");
    }

    // The graph shows the split and its three sinks.
    assert!(report.mermaid.starts_with("flowchart"));
    for label in ["orders", "broadcast", "archive", "audit", "revenue"] {
        assert!(
            report.mermaid.contains(label),
            "{label} missing:\n{}",
            report.mermaid
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_order_fails_the_run_naming_the_audit() {
    let mut orders: Vec<_> = broadcast_orders::orders(1_000).collect();
    orders[600].cents = 0;
    let err = broadcast_orders::run(&Context::background(), orders, &Archive::default())
        .await
        .unwrap_err();
    assert_eq!(err.stage(), Some("audit"), "{err}");
    let Error::Stage(StageError::Failed { source, .. }) = &err else {
        panic!("expected the audit's failure, got {err:?}");
    };
    let invalid = source.downcast_ref::<InvalidOrder>().unwrap();
    assert_eq!(*invalid, InvalidOrder { id: 600, cents: 0 });
}

#[test]
fn the_audit_accepts_positive_amounts_only() {
    let order = broadcast_orders::orders(1).next().unwrap();
    assert!(broadcast_orders::audit(&order).is_ok());
    let free = broadcast_orders::Order { cents: 0, ..order };
    assert!(broadcast_orders::audit(&free).is_err());
}
