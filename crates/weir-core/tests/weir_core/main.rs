//! Every integration test of `weir-core` in one binary: each file is a
//! module, so `cargo test` compiles and links one test binary for the
//! crate. One file's tests: `cargo test -p weir-core --test weir_core -- <file>::`.

mod support;

mod chan_api;
mod chan_batch;
mod chan_blocking;
mod chan_cancel_safety;
mod chan_close;
mod chan_coop;
mod chan_props;
mod chan_receiver_drop;
mod chan_regressions;
mod chan_rendezvous;
mod chan_scale;
mod chan_sink_stream;
mod chan_timer;
mod chan_waiters;
mod golang;
mod latch_latch;
mod latch_wait_group;
mod select_api;
mod select_golang;
mod select_props;
