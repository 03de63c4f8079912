//! Supervision: `stage::restart_source` and `stage::restart_flow`, on
//! tokio's paused clock (the backoff waits are virtual time).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream;
use tokio::time::Instant;
use weir_cancel::Context;
use weir_core::chan;
use weir_stage::testing::eventually;
use weir_stage::{self as stage, Backoff, ConfigError, Error, Restart, Scope, TooManyRestarts};

const MS: Duration = Duration::from_millis(1);

/// A factory whose `k`-th stream (from 1) is `script(k)`, logging when
/// each was made.
fn scripted(
    made: Arc<Mutex<Vec<Instant>>>,
    script: impl Fn(usize) -> Vec<Result<u32, &'static str>> + Send + 'static,
) -> impl FnMut() -> stream::Iter<std::vec::IntoIter<Result<u32, &'static str>>> + Send + 'static {
    move || {
        let mut made = made.lock().unwrap();
        made.push(Instant::now());
        stream::iter(script(made.len()))
    }
}

fn gaps(made: &[Instant]) -> Vec<Duration> {
    made.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn a_source_failing_twice_then_working_delivers_everything_after_two_backoffs() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let made = Arc::new(Mutex::new(Vec::new()));
    let factory = scripted(made.clone(), |k| match k {
        1 => vec![Ok(1), Err("reset")], // what came before the error stays sent
        2 => vec![Err("refused")],
        _ => vec![Ok(2), Ok(3)],
    });
    let feed = stage::restart_source(
        &scope.named("feed"),
        factory,
        Backoff::exponential(100 * MS),
    )
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, feed);
    assert_eq!(all.await.unwrap(), [1, 2, 3]);
    scope.wait().await.unwrap();
    assert_eq!(stats.stage("feed").unwrap().restarts, 2);
    // The waits were the backoff's first and second delays.
    assert_eq!(gaps(&made.lock().unwrap()), [100 * MS, 200 * MS]);
}

#[tokio::test(start_paused = true)]
async fn too_many_restarts_within_the_window_fails_naming_the_stage() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let made = Arc::new(Mutex::new(Vec::new()));
    let restart = Restart::new(Backoff::fixed(10 * MS)).max_restarts(3, Duration::from_secs(60));
    let feed = stage::restart_source(
        &scope.named("feed"),
        scripted(made.clone(), |_| vec![Err("down")]),
        restart,
    )
    .unwrap();
    let _sink = stage::for_each(&scope, feed, drop);
    let err = scope.wait().await.unwrap_err();
    assert_eq!(err.stage(), Some("feed"));
    let cause = std::error::Error::source(&err).unwrap();
    let gave_up = cause
        .downcast_ref::<TooManyRestarts>()
        .expect("a TooManyRestarts");
    assert_eq!(
        (gave_up.restarts(), gave_up.within()),
        (3, Duration::from_secs(60))
    );
    assert_eq!(
        std::error::Error::source(cause).unwrap().to_string(),
        "down"
    );
    assert_eq!(
        made.lock().unwrap().len(),
        4,
        "the first stream and three restarts"
    );
    assert_eq!(stats.stage("feed").unwrap().restarts, 3);
}

#[tokio::test(start_paused = true)]
async fn restarts_older_than_the_window_do_not_count() {
    // One restart allowed per 5 ms, and each wait is 10 ms: the window is
    // always empty again, so six failures in a row are fine.
    let scope = Scope::new(&Context::background());
    let made = Arc::new(Mutex::new(Vec::new()));
    let restart = Restart::new(Backoff::fixed(10 * MS)).max_restarts(1, 5 * MS);
    let factory = scripted(made.clone(), |k| {
        if k <= 6 {
            vec![Err("flaky")]
        } else {
            vec![Ok(9)]
        }
    });
    let feed = stage::restart_source(&scope, factory, restart).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, feed);
    assert_eq!(all.await.unwrap(), [9]);
    scope.wait().await.unwrap();
    assert_eq!(made.lock().unwrap().len(), 7);
}

#[tokio::test(start_paused = true)]
async fn on_end_restarts_a_source_that_ends_and_without_it_the_source_ends() {
    let made = Arc::new(Mutex::new(Vec::new()));
    let scope = Scope::new(&Context::background());
    let factory = scripted(made.clone(), |k| vec![Ok(u32::try_from(k).unwrap())]);
    let restart = Restart::new(Backoff::fixed(MS)).on_end(true);
    let feed = stage::restart_source(&scope.named("feed"), factory, restart).unwrap();
    let first = stage::take(&scope, feed, 3);
    let all = stage::collect::<_, Vec<_>>(&scope, first);
    assert_eq!(all.await.unwrap(), [1, 2, 3]);
    scope.wait().await.unwrap();

    let made = Arc::new(Mutex::new(Vec::new()));
    let scope = Scope::new(&Context::background());
    let factory = scripted(made.clone(), |k| vec![Ok(u32::try_from(k).unwrap())]);
    let feed = stage::restart_source(&scope, factory, Backoff::fixed(MS)).unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, feed);
    assert_eq!(all.await.unwrap(), [1]);
    assert_eq!(made.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_a_source_that_keeps_failing() {
    let scope = Scope::new(&Context::background());
    let made = Arc::new(Mutex::new(Vec::new()));
    let restart = Restart::new(Backoff::fixed(Duration::from_secs(3600)))
        .max_restarts(usize::MAX, Duration::from_secs(1));
    let feed = stage::restart_source(
        &scope,
        scripted(made.clone(), |_| vec![Err("down")]),
        restart,
    )
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, feed);
    let m = made.clone();
    eventually("the first stream was made", move || {
        !m.lock().unwrap().is_empty()
    })
    .await;
    scope.shutdown().await.unwrap();
    assert!(all.await.unwrap().is_empty());
}

#[tokio::test]
async fn zero_restarts_or_window_is_a_config_error() {
    let scope = Scope::new(&Context::background());
    let never = || stream::iter(Vec::<Result<u8, &str>>::new());
    let zero = Restart::new(Backoff::none()).max_restarts(0, Duration::from_secs(1));
    let err = stage::restart_source(&scope.named("feed"), never, zero).unwrap_err();
    assert!(
        matches!(err, ConfigError::Zero { ref stage, what: "max restarts" } if &**stage == "feed")
    );
    let no_window = Restart::new(Backoff::none()).max_restarts(1, Duration::ZERO);
    let (_tx, rx) = chan::bounded::<u8>(1);
    let err = stage::restart_flow(&scope, rx, no_window, |_, rx| rx).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Zero {
            what: "restart window",
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_restarted_flow_loses_the_failing_item_and_serves_the_rest() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let (tx, rx) = chan::bounded(16);
    let failed_once = Arc::new(AtomicBool::new(false));
    let out = stage::restart_flow(
        &scope.named("parse"),
        rx,
        Backoff::fixed(10 * MS),
        move |scope, input| {
            let failed_once = failed_once.clone();
            stage::try_map(scope, input, move |n: u32| {
                if n == 3 && !failed_once.swap(true, Ordering::SeqCst) {
                    Err("bad record")
                } else {
                    Ok(n)
                }
            })
        },
    )
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, out);
    for n in 0..=3 {
        tx.send(n).await.unwrap();
    }
    // Virtual time passes while waiting (the backoff is a sleep).
    for _ in 0..10_000 {
        if stats.stage("parse").is_some_and(|st| st.restarts == 1) {
            break;
        }
        tokio::time::sleep(MS).await;
    }
    assert_eq!(stats.stage("parse").unwrap().restarts, 1, "never restarted");
    for n in 4..10 {
        tx.send(n).await.unwrap();
    }
    drop(tx);
    let all = all.await.unwrap();
    scope.wait().await.unwrap();
    assert!(
        !all.contains(&3),
        "the failing item is lost, not retried: {all:?}"
    );
    assert!(
        all.windows(2).all(|w| w[0] < w[1]),
        "in order, once each: {all:?}"
    );
    assert!(
        all.ends_with(&[4, 5, 6, 7, 8, 9]),
        "sent after the restart: {all:?}"
    );
    assert_eq!(stats.stage("parse").unwrap().restarts, 1);
}

#[tokio::test(start_paused = true)]
async fn a_flow_that_keeps_failing_gives_up_with_its_last_error() {
    let scope = Scope::new(&Context::background());
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let input = stage::generate(&scope, 0..1000u32);
    let restart = Restart::new(Backoff::fixed(MS)).max_restarts(2, Duration::from_secs(60));
    let out = stage::restart_flow(
        &scope.named("decode"),
        input,
        restart,
        move |scope, input| {
            c.fetch_add(1, Ordering::SeqCst);
            stage::try_map(&scope.named("inner"), input, |_: u32| {
                Err::<u32, _>("corrupt")
            })
        },
    )
    .unwrap();
    let _sink = stage::for_each(&scope, out, drop);
    let err = scope.wait().await.unwrap_err();
    assert!(matches!(&err, Error::Failed { stage, .. } if &**stage == "decode"));
    let cause = std::error::Error::source(&err).unwrap();
    assert!(cause.is::<TooManyRestarts>());
    // Its source: the inner stage's failure, naming that stage.
    let last = std::error::Error::source(cause).unwrap();
    assert_eq!(last.to_string(), "stage `inner` failed");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

// A source or sub-flow that fails (or ends) at once must never be restarted
// in a busy loop, whatever the settings: each restart waits at least
// `Restart::MIN_DELAY`, and a zero backoff needs a limit that runs out.

/// A zero backoff with a limit: the restarts come `MIN_DELAY` apart (time
/// moves on the paused clock), and the stage gives up once the limit is
/// used up — for a source that fails at once and one that ends at once.
#[tokio::test(start_paused = true)]
async fn a_zero_backoff_with_a_limit_restarts_that_often_a_millisecond_apart_then_gives_up() {
    for ends in [false, true] {
        let scope = Scope::new(&Context::background());
        let stats = scope.stats();
        let made = Arc::new(Mutex::new(Vec::new()));
        let restart = Restart::new(Backoff::none())
            .max_restarts(5, Duration::from_secs(60))
            .on_end(ends);
        let script = move |_| if ends { vec![] } else { vec![Err("refused")] };
        let feed = stage::restart_source(
            &scope.named("feed"),
            scripted(made.clone(), script),
            restart,
        )
        .unwrap();
        let _sink = stage::for_each(&scope, feed, drop);
        let err = scope.wait().await.unwrap_err();
        let cause = std::error::Error::source(&err).unwrap();
        assert_eq!(
            cause.downcast_ref::<TooManyRestarts>().unwrap().restarts(),
            5
        );
        assert_eq!(stats.stage("feed").unwrap().restarts, 5, "ends: {ends}");
        let made = made.lock().unwrap();
        assert_eq!(made.len(), 6, "ends: {ends}");
        assert_eq!(gaps(&made), [Restart::MIN_DELAY; 5], "ends: {ends}");
    }
}

/// A zero backoff whose limit a stage failing at once never reaches (no
/// limit, or as many restarts as the window holds milliseconds) is refused
/// when the stage is built, for `restart_source` and `restart_flow`;
/// nothing runs. One restart fewer is allowed.
#[tokio::test]
async fn a_zero_backoff_without_a_limit_that_runs_out_is_refused_at_build() {
    let minute = Duration::from_secs(60);
    let refused = [
        Restart::new(Backoff::none()).max_restarts(usize::MAX, minute),
        Restart::new(Backoff::none()).max_restarts(60_000, minute),
        Restart::new(Backoff::exponential(Duration::ZERO).jitter(1.0))
            .max_restarts(usize::MAX, minute)
            .on_end(true),
        Restart::new(Backoff::fixed(Duration::ZERO)).max_restarts(10, 10 * MS),
    ];
    let made = Arc::new(Mutex::new(Vec::new()));
    for restart in refused {
        let scope = Scope::new(&Context::background());
        let factory = scripted(made.clone(), |_| vec![Err("refused")]);
        let err = stage::restart_source(&scope.named("feed"), factory, restart).unwrap_err();
        match &err {
            ConfigError::Invalid { stage, what } => {
                assert_eq!(&**stage, "feed");
                assert!(what.contains("zero restart backoff"), "{what}");
            }
            other => panic!("{restart:?}: {other:?}"),
        }
        let (_tx, rx) = chan::bounded::<u8>(1);
        let err = stage::restart_flow(&scope.named("parse"), rx, restart, |_, rx| rx).unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { ref stage, .. } if &**stage == "parse"),
            "{err:?}"
        );
        scope.wait().await.unwrap();
    }
    assert!(made.lock().unwrap().is_empty(), "a factory ran");
    // The boundary: a limit one short of the window's milliseconds runs out.
    let ok = Restart::new(Backoff::none()).max_restarts(59_999, minute);
    assert!(ok.check("feed").is_ok());
    // With any backoff, restarting for ever is a choice, not a busy loop.
    let forever =
        Restart::new(Backoff::fixed(Duration::from_nanos(1))).max_restarts(usize::MAX, minute);
    assert!(forever.check("feed").is_ok());
}

/// A tiny backoff with full jitter and no limit: in one second of time, a
/// source failing at once is made at most a thousand and one times (each
/// restart waits at least `MIN_DELAY`, however short the backoff's sample),
/// and every restart is counted. (tokio's timer rounds a nanosecond's sleep
/// up to its millisecond tick as well; this pins the rate the docs
/// promise, whichever of the two gives it.)
#[tokio::test(start_paused = true)]
async fn a_tiny_jittered_backoff_without_a_limit_restarts_at_most_once_a_millisecond() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let made = Arc::new(Mutex::new(Vec::new()));
    let restart = Restart::new(Backoff::fixed(Duration::from_nanos(1)).jitter(1.0))
        .max_restarts(usize::MAX, Duration::from_secs(60));
    let feed = stage::restart_source(
        &scope.named("feed"),
        scripted(made.clone(), |_| vec![Err("refused")]),
        restart,
    )
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, feed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    scope.shutdown().await.unwrap();
    assert!(all.await.unwrap().is_empty());
    let made = made.lock().unwrap();
    assert!(
        (1000..=1001).contains(&made.len()),
        "{} streams made",
        made.len()
    );
    assert!(gaps(&made).iter().all(|&gap| gap >= Restart::MIN_DELAY));
    assert_eq!(stats.stage("feed").unwrap().restarts, made.len() as u64 - 1);
}

/// A tiny base that doubles, with full jitter: the early restarts (whose
/// delays are nanoseconds) wait the floor, the later ones their backoff;
/// every restart is counted, and the source recovers.
#[tokio::test(start_paused = true)]
async fn a_tiny_growing_backoff_waits_the_floor_until_it_grows_past_it() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let made = Arc::new(Mutex::new(Vec::new()));
    let restart = Restart::new(Backoff::exponential(Duration::from_nanos(1)).jitter(1.0))
        .max_restarts(usize::MAX, Duration::from_secs(3600));
    let script = |k| {
        if k <= 30 {
            vec![Err("refused")]
        } else {
            vec![Ok(7)]
        }
    };
    let feed = stage::restart_source(
        &scope.named("feed"),
        scripted(made.clone(), script),
        restart,
    )
    .unwrap();
    let all = stage::collect::<_, Vec<_>>(&scope, feed);
    assert_eq!(all.await.unwrap(), [7]);
    scope.wait().await.unwrap();
    assert_eq!(stats.stage("feed").unwrap().restarts, 30);
    let gaps = gaps(&made.lock().unwrap());
    assert_eq!(gaps.len(), 30);
    // The first ten delays are under a microsecond: exactly the floor.
    assert_eq!(gaps[..10], [Restart::MIN_DELAY; 10]);
    // The k-th never waits less than the floor, nor more than its delay
    // (2^(k-1) ns) — give or take one tick of tokio's timer, which ends a
    // sleep on a whole millisecond: a jittered 1.04 ms wakes at 2 ms.
    const TICK: Duration = Duration::from_millis(1);
    for (k, gap) in (1u32..).zip(&gaps) {
        let delay = Duration::from_nanos(1u64 << (k - 1));
        assert!(
            *gap >= Restart::MIN_DELAY && *gap <= delay.max(Restart::MIN_DELAY) + TICK,
            "{k}: {gap:?}"
        );
    }
}

/// A zero backoff with a small window: a sub-flow failing on every item
/// is rebuilt `max_restarts` times within the window, a millisecond apart,
/// then the stage gives up.
#[tokio::test(start_paused = true)]
async fn a_zero_backoff_sub_flow_gives_up_after_its_restarts_within_the_window() {
    let scope = Scope::new(&Context::background());
    let stats = scope.stats();
    let built = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::unbounded();
    // More items than the failed incarnations take with them (a batch each).
    for n in 0..10_000u32 {
        tx.send(n).await.unwrap();
    }
    drop(tx);
    let restart = Restart::new(Backoff::none()).max_restarts(3, 10 * MS);
    let count = built.clone();
    let began = Instant::now();
    let out = stage::restart_flow(&scope.named("parse"), rx, restart, move |scope, rx| {
        count.fetch_add(1, Ordering::SeqCst);
        stage::try_map(scope, rx, |_: u32| Err::<u32, _>("bad"))
    })
    .unwrap();
    let _sink = stage::for_each(&scope, out, drop);
    let err = scope.wait().await.unwrap_err();
    assert!(std::error::Error::source(&err)
        .unwrap()
        .is::<TooManyRestarts>());
    assert_eq!(built.load(Ordering::SeqCst), 4);
    assert_eq!(stats.stage("parse").unwrap().restarts, 3);
    assert_eq!(began.elapsed(), 3 * Restart::MIN_DELAY);
}
