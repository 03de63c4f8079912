//! Loom's positive controls: switches back to the old wake-up rule (wake
//! one waiter per event), which the models in `tests/loom_wake_broken.rs`
//! must catch, to a broken give-back rule (drop the item of a dropped
//! receive, or queue it behind later senders) and to a claim that never
//! fails (a counterpart that hands over without claiming the select's
//! token), which `tests/loom_select_broken.rs` must catch. They exist only
//! under `--cfg loom`.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

static BROKEN: AtomicBool = AtomicBool::new(false);
static CLAIM_BROKEN: AtomicBool = AtomicBool::new(false);
static GIVE_BACK: AtomicU8 = AtomicU8::new(0);

/// Where a dropped receive's item goes.
pub(crate) enum GiveBack {
    Head,
    Drop,
    Tail,
}

pub(crate) fn broken() -> bool {
    BROKEN.load(Ordering::Relaxed)
}

pub(crate) fn break_wake_rule() {
    BROKEN.store(true, Ordering::Relaxed);
}

pub(crate) fn claim_broken() -> bool {
    CLAIM_BROKEN.load(Ordering::Relaxed)
}

pub(crate) fn break_claim() {
    CLAIM_BROKEN.store(true, Ordering::Relaxed);
}

pub(crate) fn give_back_rule() -> GiveBack {
    match GIVE_BACK.load(Ordering::Relaxed) {
        1 => GiveBack::Drop,
        2 => GiveBack::Tail,
        _ => GiveBack::Head,
    }
}

/// `1`: drop the item; `2`: queue it at the tail.
pub(crate) fn break_give_back(how: u8) {
    GIVE_BACK.store(how, Ordering::Relaxed);
}
