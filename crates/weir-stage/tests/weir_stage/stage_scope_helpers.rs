//! A stage's helper tasks (`Scope::spawn_helper`): they belong to the
//! scope — ended by their guard, by the scope's cancel, or once every
//! stage has ended, and joined by its wait — and are not stages.

use tokio::sync::oneshot;
use weir_cancel::Context;
use weir_stage::{self as stage, Error, Scope};

/// A helper that runs until it is ended; `ended` resolves (with an error:
/// its sender dropped) once it has.
fn endless() -> (impl std::future::Future<Output = ()>, oneshot::Receiver<()>) {
    let (alive, ended) = oneshot::channel::<()>();
    let helper = async move {
        let _alive = alive;
        std::future::pending::<()>().await;
    };
    (helper, ended)
}

#[tokio::test(start_paused = true)]
async fn a_helper_whose_guard_is_kept_ends_once_every_stage_has() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let (helper, ended) = endless();
    let _kept = scope.named("numbers").spawn_helper(helper); // never dropped
    let nums = stage::generate(&scope.named("numbers"), 0..3u32);
    let all = stage::collect::<_, Vec<_>>(&scope.named("all"), nums);
    scope.wait().await.unwrap(); // does not wait for the guard
    assert!(ended.await.is_err(), "the helper has ended");
    assert_eq!(all.await.unwrap(), [0, 1, 2]);
    let mut names: Vec<String> = stats.stages().into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, ["all", "numbers"], "a helper is no stage");
}

#[tokio::test(start_paused = true)]
async fn a_helper_ends_when_its_guard_is_dropped() {
    let scope = Scope::new(&Context::background());
    let (helper, ended) = endless();
    let guard = scope.spawn_helper(helper);
    let endless = stage::generate(&scope, 0u64..);
    let _sink = stage::for_each(&scope, endless, |_| {});
    drop(guard);
    assert!(ended.await.is_err(), "ended while the stages run");
    assert!(!scope.context().is_cancelled());
    scope.cancel();
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_scope_ends_its_helpers() {
    let scope = Scope::new(&Context::background());
    let (helper, ended) = endless();
    let _guard = scope.named("lease").spawn_helper(helper);
    let endless = stage::generate(&scope, 0u64..);
    let _sink = stage::for_each(&scope, endless, |_| {});
    scope.cancel();
    assert!(ended.await.is_err());
    assert!(matches!(scope.wait().await, Err(Error::Cancelled(_))));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_helper_fails_the_scope_naming_its_stage() {
    let scope = Scope::new(&Context::background());
    let _guard = scope
        .named("lease")
        .spawn_helper(async { panic!("renewal broke") });
    tokio::task::yield_now().await; // the helper runs
    let err = scope.wait().await.unwrap_err();
    assert_eq!(err.stage(), Some("lease"));
    assert!(err.to_string().contains("panicked"), "{err}");
}
