//! Positive controls for `tests/loom_wake.rs`: the same models with the
//! channel switched back to the old wake-up rule (one waiter woken per
//! event). Loom must find the interleaving in which the live waiter sleeps
//! for ever; each test passes only if the model panics.
#![cfg(loom)]

mod loom_wake_models;

#[test]
#[should_panic]
fn old_rule_loses_the_receive_wake_up() {
    loom_wake_models::forgotten_receive(true);
}

#[test]
#[should_panic]
fn old_rule_loses_the_send_wake_up() {
    loom_wake_models::forgotten_send(true);
}
