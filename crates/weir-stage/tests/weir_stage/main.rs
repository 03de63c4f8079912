//! Every integration test of `weir-stage` in one binary: each file is a
//! module, so `cargo test` compiles and links one test binary for the
//! crate. One file's tests: `cargo test -p weir-stage --test weir_stage -- <file>::`.

mod support;

mod props;
mod stage_balance;
mod stage_batch;
mod stage_broadcast;
mod stage_buffer;
mod stage_buffered;
mod stage_collect;
mod stage_combine;
mod stage_engine_hop;
mod stage_faults;
mod stage_filter;
mod stage_filter_map;
mod stage_flat_map;
mod stage_fold;
mod stage_for_each;
mod stage_for_each_concurrent;
mod stage_forward;
mod stage_forward_sink;
mod stage_from_fn;
mod stage_from_stream;
mod stage_generate;
mod stage_group_by;
mod stage_inspect;
mod stage_limit;
mod stage_map;
mod stage_map_concurrent;
mod stage_map_unordered;
mod stage_merge;
mod stage_partition;
mod stage_recovery;
mod stage_restart;
mod stage_round_robin;
mod stage_route;
mod stage_scope_cancel;
mod stage_scope_helpers;
mod stage_scope_join;
mod stage_scope_owner;
mod stage_shaping;
mod stage_square;
mod stage_stats;
mod stage_take;
mod stage_then;
mod stage_throttle;
mod stage_timeout;
mod stage_try_for_each;
mod stage_try_map;
mod stage_unbatch;
mod stage_window;
mod stage_worker_pool;
