//! Positive controls for `tests/loom_select.rs`: the same models with a
//! rule broken on purpose. Each is `#[ignore]`d and expected to FAIL (loom
//! finds the interleaving that loses, reorders or duplicates an item);
//! `.ci/run` runs each alone with `--ignored --exact` and checks that it
//! fails. The switches are process-wide: one control per process.
#![cfg(loom)]

mod loom_select_models;

#[test]
#[ignore = "positive control: expected to fail (loom finds the lost item)"]
fn broken_give_back_drops_the_item() {
    weir_core::chan::__loom_break_give_back(1);
    loom_select_models::dropped_receive_gives_the_item_back_first();
}

#[test]
#[ignore = "positive control: expected to fail (loom finds the reordered item)"]
fn broken_give_back_queues_at_the_tail() {
    weir_core::chan::__loom_break_give_back(2);
    loom_select_models::dropped_receive_gives_the_item_back_first();
}

#[test]
#[ignore = "positive control: expected to fail (loom finds both cases fired)"]
fn broken_claim_fires_two_cases() {
    weir_core::chan::__loom_break_claim();
    loom_select_models::a_select_with_both_cases_matched_fires_one();
}
