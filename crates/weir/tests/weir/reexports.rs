//! The facade re-exports the sub-crates: every path under `weir::` names the
//! very item of `weir-core`, `weir-cancel` or `weir-stage` (not a copy with
//! the same shape), so values move freely between code that depends on the
//! facade and code that depends on a sub-crate.
//!
//! Most checks here are compile-time: if a re-export went missing or pointed
//! at a different item, this file would stop compiling.

use std::future::IntoFuture;

/// Compiles only if `$a` and `$b` are the same type.
macro_rules! same_type {
    ($($a:ty => $b:ty),+ $(,)?) => {
        $( let _ = |x: $a| -> $b { x }; )+
    };
}

/// Compiles only if both arguments have the same type: for function items,
/// that they are the same function (each function has its own type).
fn same<T>(_: T, _: T) {}

#[test]
fn chan_is_weir_core_chan() {
    same_type! {
        weir::chan::Sender<u8> => weir_core::chan::Sender<u8>,
        weir::chan::Receiver<u8> => weir_core::chan::Receiver<u8>,
        weir::chan::SendError<u8> => weir_core::chan::SendError<u8>,
        weir::chan::TrySendError<u8> => weir_core::chan::TrySendError<u8>,
        weir::chan::SendTimeoutError<u8> => weir_core::chan::SendTimeoutError<u8>,
        weir::chan::TryRecvError => weir_core::chan::TryRecvError,
        weir::chan::RecvTimeoutError => weir_core::chan::RecvTimeoutError,
        weir::chan::Observer => weir_core::chan::Observer,
        weir::chan::SendSink<u8> => weir_core::chan::SendSink<u8>,
        weir::chan::Send<'static, u8> => weir_core::chan::Send<'static, u8>,
        weir::chan::SendAll<'static, u8> => weir_core::chan::SendAll<'static, u8>,
        weir::chan::Closed<'static, u8> => weir_core::chan::Closed<'static, u8>,
        weir::chan::Recv<'static, u8> => weir_core::chan::Recv<'static, u8>,
        weir::chan::RecvMany<'static, u8> => weir_core::chan::RecvMany<'static, u8>,
        weir::chan::Iter<'static, u8> => weir_core::chan::Iter<'static, u8>,
    }
    same(weir::chan::bounded::<u8>, weir_core::chan::bounded::<u8>);
    same(
        weir::chan::unbounded::<u8>,
        weir_core::chan::unbounded::<u8>,
    );
    same(
        weir::chan::rendezvous::<u8>,
        weir_core::chan::rendezvous::<u8>,
    );

    // A channel made through the facade is the sub-crate's channel.
    let (tx, rx): (weir_core::chan::Sender<u8>, weir_core::chan::Receiver<u8>) =
        weir::chan::bounded(1);
    tx.try_send(7).unwrap();
    let rx: weir::chan::Receiver<u8> = rx;
    assert_eq!(rx.try_recv(), Ok(7));
}

#[test]
fn latch_is_weir_core_latch() {
    same_type! {
        weir::latch::WaitGroup => weir_core::latch::WaitGroup,
        weir::latch::WaitGroupGuard => weir_core::latch::WaitGroupGuard,
        weir::latch::WaitGroupError => weir_core::latch::WaitGroupError,
        weir::latch::Wait<'static> => weir_core::latch::Wait<'static>,
        weir::latch::WaitOwned => weir_core::latch::WaitOwned,
        weir::latch::Latch => weir_core::latch::Latch,
        weir::latch::LatchWait<'static> => weir_core::latch::LatchWait<'static>,
        weir::latch::WaitError => weir_core::latch::WaitError,
        // weir-core's own root re-exports, too.
        weir::latch::WaitGroup => weir_core::WaitGroup,
        weir::latch::Latch => weir_core::Latch,
    }
    same(weir::latch::WaitGroup::new, weir_core::WaitGroup::new);

    let wg: weir_core::latch::WaitGroup = weir::latch::WaitGroup::new();
    let guard = wg.guard();
    drop(guard);
    assert!(weir::latch::Latch::new(0).try_wait());
}

#[test]
fn cancel_is_weir_cancel() {
    same_type! {
        weir::cancel::Context => weir_cancel::Context,
        weir::cancel::ContextError => weir_cancel::ContextError,
        weir::cancel::Cause => weir_cancel::Cause,
        weir::cancel::CancelHandle => weir_cancel::CancelHandle,
        weir::cancel::CancelGuard => weir_cancel::CancelGuard,
        weir::cancel::AfterCancel => weir_cancel::AfterCancel,
        weir::cancel::Cancelled<'static> => weir_cancel::Cancelled<'static>,
        weir::cancel::CancelledOwned => weir_cancel::CancelledOwned,
        weir::cancel::Run<'static, std::future::Ready<()>> => weir_cancel::Run<'static, std::future::Ready<()>>,
    }
    same(
        weir::cancel::Context::background,
        weir_cancel::Context::background,
    );

    let (ctx, cancel) = weir::cancel::Context::background().with_cancel();
    let ctx: weir_cancel::Context = ctx;
    let cancel: weir_cancel::CancelHandle = cancel;
    cancel.cancel();
    assert_eq!(ctx.err(), Some(weir_cancel::ContextError::Canceled));
}

/// The `testing` feature forwards `weir-stage/testing` (this crate's own
/// tests turn it on).
#[test]
fn testing_is_weir_stage_testing() {
    same_type! {
        weir::testing::Ledger => weir_stage::testing::Ledger,
        weir::testing::Tracked<u8> => weir_stage::testing::Tracked<u8>,
        weir::testing::Accounting => weir_stage::testing::Accounting,
        weir::testing::TaskBaseline => weir_stage::testing::TaskBaseline,
        weir::testing::LeakedTasks => weir_stage::testing::LeakedTasks,
        weir::testing::ProbeSink => weir_stage::testing::ProbeSink,
        weir::testing::SinkProbe<u8> => weir_stage::testing::SinkProbe<u8>,
        weir::testing::Probed<u8> => weir_stage::testing::Probed<u8>,
        weir::testing::SourceProbe => weir_stage::testing::SourceProbe,
        weir::testing::Hung => weir_stage::testing::Hung,
    }
    same(
        weir::testing::block_on_paused::<std::future::Ready<u8>>,
        weir_stage::testing::block_on_paused::<std::future::Ready<u8>>,
    );
}

#[test]
fn stage_is_weir_stage() {
    same_type! {
        weir::stage::Scope => weir_stage::Scope,
        weir::stage::ScopeBuilder => weir_stage::ScopeBuilder,
        weir::stage::Wait => weir_stage::Wait,
        weir::stage::Error => weir_stage::Error,
        weir::stage::ConfigError => weir_stage::ConfigError,
        weir::stage::BoxError => weir_stage::BoxError,
        weir::stage::SinkOutput<u8> => weir_stage::SinkOutput<u8>,
        weir::stage::Incomplete => weir_stage::Incomplete,
        weir::stage::WorkerPool<u8> => weir_stage::WorkerPool<u8>,
        weir::stage::PoolHandle => weir_stage::PoolHandle,
        weir::stage::Policy<u8> => weir_stage::Policy<u8>,
        weir::stage::Backoff => weir_stage::Backoff,
        weir::stage::Recovery<u8> => weir_stage::Recovery<u8>,
    }
    assert_eq!(weir::stage::DEFAULT_CAPACITY, weir_stage::DEFAULT_CAPACITY);
    same(weir::stage::square::<u8>, weir_stage::square::<u8>);
    same(
        weir::stage::merge::<u8, Vec<_>>,
        weir_stage::merge::<u8, Vec<_>>,
    );
    same(weir::stage::balance::<u8>, weir_stage::balance::<u8>);
    same(weir::stage::broadcast::<u8>, weir_stage::broadcast::<u8>);
    same(
        weir::stage::round_robin::<u8>,
        weir_stage::round_robin::<u8>,
    );
    same(weir::stage::forward::<u8>, weir_stage::forward::<u8>);
    same(
        weir::stage::split::balance::<u8>,
        weir_stage::split::balance::<u8>,
    );
    same(
        weir::stage::map::<u8, u8, fn(u8) -> u8>,
        weir_stage::map::<u8, u8, fn(u8) -> u8>,
    );

    // The facade's error wraps the sub-crate's error, which it names as
    // `weir::stage::Error`.
    let config = weir_stage::ConfigError::Zero {
        stage: "pool".into(),
        what: "workers",
    };
    let err: weir::Error = config.clone().into();
    assert!(matches!(
        &err,
        weir::Error::Stage(weir::stage::Error::Config(c)) if *c == config
    ));
    assert_eq!(err.stage(), Some("pool"));
    let stage_err: weir_stage::Error = weir::stage::Error::Config(config);
    assert_eq!(weir::Error::from(stage_err).stage(), Some("pool"));
}

#[test]
fn pipeline_items_are_nameable() {
    same_type! {
        weir::pipeline::Pipeline => weir::prelude::Pipeline,
        weir::pipeline::Flow<u8> => weir::prelude::Flow<u8>,
        weir::pipeline::Sink<u8> => weir::pipeline::Sink<u8>,
        weir::pipeline::RunHandle<u8> => weir::pipeline::RunHandle<u8>,
        weir::pipeline::Metrics => weir::pipeline::Metrics,
        weir::pipeline::StageMetrics => weir::pipeline::StageMetrics,
        weir::pipeline::EdgeMetrics => weir::pipeline::EdgeMetrics,
        weir::pipeline::Diagnosis => weir::pipeline::Diagnosis,
        // The future of an awaited sink has a name, so it can be stored.
        <weir::pipeline::Sink<u8> as IntoFuture>::IntoFuture => weir::pipeline::SinkFuture<u8>,
    }
}

#[test]
fn prelude_names_the_sub_crates_items() {
    use weir::prelude::*;

    same_type! {
        Sender<u8> => weir_core::chan::Sender<u8>,
        Receiver<u8> => weir_core::chan::Receiver<u8>,
        chan::Sender<u8> => weir_core::chan::Sender<u8>,
        WaitGroup => weir_core::WaitGroup,
        Latch => weir_core::Latch,
        Context => weir_cancel::Context,
        ContextError => weir_cancel::ContextError,
        Scope => weir_stage::Scope,
        stage::Error => weir_stage::Error,
        Pipeline => weir::pipeline::Pipeline,
        Flow<u8> => weir::pipeline::Flow<u8>,
    }
    same(chan::bounded::<u8>, weir_core::chan::bounded::<u8>);
    same(stage::square::<u8>, weir_stage::square::<u8>);
}

#[tokio::test(flavor = "current_thread")]
async fn sub_crate_values_flow_through_the_facade() {
    // A channel and a context made with the sub-crates feed a pipeline
    // built with the facade.
    let (tx, rx) = weir_core::chan::bounded::<u32>(4);
    let ctx = weir_cancel::Context::background();
    let producer = tokio::spawn(async move { tx.send_all(vec![1, 2, 3]).await });
    let sum = weir::pipeline::Pipeline::new(&ctx)
        .from_receiver(rx)
        .fold(0, |a, n| a + n)
        .await
        .unwrap();
    assert_eq!(sum, 6);
    producer.await.unwrap().unwrap();
}
