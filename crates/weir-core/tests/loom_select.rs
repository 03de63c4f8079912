//! Loom models of `chan::select!`'s claim protocol and of the rendezvous
//! give-back rule (issue 18). Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p weir-core --release --test loom_select
//! ```
//!
//! `tests/loom_select_broken.rs` runs the same models with the rules
//! broken (a give-back that drops or re-queues the item at the tail, a
//! counterpart that hands over without claiming) and expects loom to find
//! the failure.
#![cfg(loom)]

mod loom_select_models;

#[test]
fn a_dropped_receive_gives_the_item_back_first() {
    loom_select_models::dropped_receive_gives_the_item_back_first();
}

#[test]
fn a_select_with_both_cases_matched_fires_one() {
    loom_select_models::a_select_with_both_cases_matched_fires_one();
}

#[test]
fn two_selects_race_for_one_sender() {
    loom_select_models::two_selects_race_for_one_sender();
}
