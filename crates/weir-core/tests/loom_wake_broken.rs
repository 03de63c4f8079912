//! Positive controls for `tests/loom_wake.rs`: the same models with the
//! channel switched back to the old wake-up rule (one waiter woken per
//! event). Loom must find the interleaving in which the live waiter sleeps
//! for ever and report a deadlock: these tests are expected to FAIL. Loom
//! aborts the process on a deadlock, so `#[should_panic]` cannot express
//! that; `.ci/run` runs them with `--ignored` and checks that they fail
//! with loom's deadlock report.
#![cfg(loom)]

mod loom_wake_models;

#[test]
#[ignore = "positive control: expected to fail (loom finds the deadlock)"]
fn old_rule_loses_the_receive_wake_up() {
    loom_wake_models::forgotten_receive(true);
}

#[test]
#[ignore = "positive control: expected to fail (loom finds the deadlock)"]
fn old_rule_loses_the_send_wake_up() {
    loom_wake_models::forgotten_send(true);
}
