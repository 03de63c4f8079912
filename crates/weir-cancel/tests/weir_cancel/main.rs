//! Every integration test of `weir-cancel` in one binary: each file is a
//! module, so `cargo test` compiles and links one test binary for the
//! crate. One file's tests: `cargo test -p weir-cancel --test weir_cancel -- <file>::`.

mod context_after_cancel;
mod context_deadline;
mod context_deadline_cause;
mod context_limits;
mod context_remove;
mod context_run;
mod context_tree;
mod context_values;
mod context_wakeups;
