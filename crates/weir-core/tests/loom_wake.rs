//! Loom models of the wake-up rule (issue 10 §2): a future kept alive but
//! never polled again swallows no wake-up. Every interleaving of a live
//! waiter registering against the event that frees an item or a slot is
//! explored. Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p weir-core --release --test loom_wake
//! ```
//!
//! `tests/loom_wake_broken.rs` runs the same models against the old rule
//! (one waiter woken per event) and expects loom to find the deadlock.
#![cfg(loom)]

mod loom_wake_models;

#[test]
fn a_forgotten_receive_does_not_swallow_the_wake_up() {
    loom_wake_models::forgotten_receive(false);
}

#[test]
fn a_forgotten_send_does_not_swallow_the_wake_up() {
    loom_wake_models::forgotten_send(false);
}

#[test]
fn a_rendezvous_item_reaches_a_live_receiver_past_a_forgotten_one() {
    loom_wake_models::forgotten_rendezvous_receive(false);
}
