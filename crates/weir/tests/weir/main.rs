//! Every integration test of `weir` in one binary: each file is a
//! module, so `cargo test` compiles and links one test binary for the
//! crate. One file's tests: `cargo test -p weir --test weir -- <file>::`.

mod support;

mod pipeline_buffer_fused;
mod pipeline_cancel;
mod pipeline_combine;
mod pipeline_concurrency_limit;
mod pipeline_drain;
mod pipeline_errors;
mod pipeline_fanout;
mod pipeline_faults;
mod pipeline_invariants;
mod pipeline_limits;
mod pipeline_linear;
mod pipeline_metrics;
mod pipeline_props;
mod pipeline_record;
mod pipeline_recovery;
mod pipeline_shaping;
mod pipeline_sinks;
mod pipeline_split;
mod pipeline_stage_record;
mod pipeline_supervise;
mod pipeline_take;
mod pipeline_timeout;
mod pipeline_transforms;
mod pipeline_windows;
mod pipeline_worker_pool;
mod reexports;
mod stress;
