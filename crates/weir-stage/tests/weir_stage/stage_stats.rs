//! `Scope::stats`: per-stage tasks, running tasks, busy time and errors.

use weir_cancel::Context;
use weir_stage::testing::{settle, TaskBaseline};
use weir_stage::{self as stage, Scope};

#[tokio::test]
async fn every_stage_is_listed_in_spawn_order_with_its_tasks() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let nums = stage::generate(&scope, 0..100u64);
    let pool = stage::worker_pool(&scope.named("pool"), nums, 3, |n| async move {
        Ok::<_, std::io::Error>(n)
    })
    .unwrap();
    let _sum = stage::fold(&scope, pool, 0, |a, n| a + n);
    scope.wait().await.unwrap();
    let stages = stats.stages();
    let names: Vec<_> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["generate#0", "pool", "fold#1"]);
    let tasks: Vec<_> = stages.iter().map(|s| (s.tasks, s.running)).collect();
    assert_eq!(tasks, [(1, 0), (3, 0), (1, 0)]);
}

#[tokio::test]
async fn busy_time_is_time_spent_polled() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let nums = stage::generate(&scope, 0..10u64);
    let work = stage::map(&scope.named("work"), nums, |n| {
        (1..=n * 1000).fold(n, |a, k| a ^ k)
    });
    let _all = stage::collect::<_, Vec<_>>(&scope, work);
    scope.wait().await.unwrap();
    let busy = stats.stage("work").unwrap().busy;
    assert!(!busy.is_zero());
}

#[tokio::test]
async fn errors_and_panics_are_counted_against_their_stage() {
    let scope = Scope::builder(&Context::background())
        .collect_errors()
        .build();
    let stats = scope.stats();
    let nums = stage::generate(&scope, 0..10u32);
    let checked = stage::try_map(&scope.named("check"), nums, |n| {
        if n % 3 == 0 {
            Err("multiple of three")
        } else {
            Ok(n)
        }
    });
    let _boom = stage::for_each(&scope.named("boom"), checked, |n| {
        if n == 8 {
            panic!("eight");
        }
    });
    assert!(scope.wait().await.is_err());
    assert_eq!(stats.stage("check").unwrap().errors, 4); // 0, 3, 6, 9
    assert_eq!(stats.stage("boom").unwrap().errors, 1);
    assert_eq!(stats.stage("generate#0").unwrap().errors, 0);
}

#[tokio::test]
async fn aborted_tasks_stop_counting_as_running() {
    let baseline = TaskBaseline::take();
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let nums = stage::generate(&scope, 0..u64::MAX);
    let _squares = stage::square(&scope, nums);
    settle(10).await;
    assert!(stats.stages().iter().all(|s| s.running == 1));
    drop(scope);
    baseline.assert_settled().await;
    assert!(stats
        .stages()
        .iter()
        .all(|s| s.running == 0 && s.tasks == 1));
}

#[tokio::test]
async fn two_stages_with_the_same_name_keep_their_own_stats() {
    let scope = Scope::builder(&Context::background())
        .collect_errors()
        .build();
    let stats = scope.stats();
    let (a, b) = (scope.named("twin"), scope.named("twin"));
    let nums = stage::generate(&scope, 0..10u32);
    let first = stage::try_map(&a, nums, |n: u32| if n == 3 { Err("three") } else { Ok(n) });
    let second = stage::map(&b, first, |n| n + 1);
    let _all = stage::collect::<_, Vec<_>>(&scope, second);
    assert!(scope.wait().await.is_err());
    assert_ne!(a.id(), b.id());
    let (a, b) = (stats.by_id(a.id()).unwrap(), stats.by_id(b.id()).unwrap());
    assert_eq!((a.name.as_str(), b.name.as_str()), ("twin", "twin"));
    assert_eq!(
        (a.errors, b.errors),
        (1, 0),
        "one error, on the first twin only"
    );
    assert_eq!((a.tasks, b.tasks), (1, 1));
}
