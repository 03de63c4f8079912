//! The `fetcher` example's logic (`fetch_sim`): bounded concurrency,
//! retries for transient errors only, dead letters counted, input order,
//! and a deadline that returns what finished. On a paused clock.

use std::sync::Arc;
use std::time::Duration;

use weir::pipeline::StageMetrics;
use weir_examples::fetch_sim::{self, outcome, FetchError, Server, Settings};

fn fetch(report: &fetch_sim::Report) -> &StageMetrics {
    report
        .metrics
        .stages
        .iter()
        .find(|s| s.name == "fetch")
        .unwrap()
}

#[test]
fn the_server_fails_as_documented() {
    assert_eq!(outcome(202, 1), Err(FetchError::NotFound));
    assert_eq!(outcome(46, 9), Err(FetchError::Timeout));
    assert_eq!(outcome(34, 2), Err(FetchError::Unavailable));
    assert_eq!(outcome(34, 3).map(|p| p.id), Ok(34));
    assert!(FetchError::Timeout.is_transient() && !FetchError::NotFound.is_transient());
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_fetches_fifty_in_flight_in_order_with_dead_letters() {
    let settings = Settings::default();
    let server = Arc::new(Server::new(settings.fetches));
    let report = fetch_sim::run(&settings, server.clone()).await.unwrap();

    let ids = 0..settings.fetches;
    let not_found: Vec<u32> = ids.clone().filter(|id| id % 101 == 0).collect();
    let timeouts: Vec<u32> = ids
        .clone()
        .filter(|id| id % 101 != 0 && id % 23 == 0)
        .collect();
    let busy = ids
        .clone()
        .filter(|id| id % 101 != 0 && id % 23 != 0 && id % 17 == 0)
        .count() as u64;
    let mut dead: Vec<u32> = not_found.iter().chain(&timeouts).copied().collect();
    dead.sort_unstable();

    // Every other id, in input order.
    let expected: Vec<u32> = ids.filter(|id| dead.binary_search(id).is_err()).collect();
    let got: Vec<u32> = report.pages.iter().map(|p| p.id).collect();
    assert_eq!(got, expected);
    assert!(!report.cut_short);

    // The dead letters arrived, with their reasons.
    let dead_ids: Vec<u32> = report.dead.iter().map(|(id, _)| *id).collect();
    assert_eq!(dead_ids, dead);
    assert!(report.dead.iter().all(|(id, why)| {
        why == if id % 101 == 0 {
            "404 not found"
        } else {
            "timed out"
        }
    }));

    // The metrics count them: permanent errors are never retried.
    let m = fetch(&report);
    let retries = timeouts.len() as u64 * u64::from(settings.attempts - 1) + busy * 2;
    assert_eq!(
        (m.retries, m.dead_lettered, m.errors),
        (retries, dead.len() as u64, 0)
    );
    assert_eq!(m.items_in, 10_000);

    assert!(server.peak_in_flight() <= 50, "{}", server.peak_in_flight());
    assert!(server.peak_in_flight() > 25, "{}", server.peak_in_flight());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_returns_the_fetches_that_finished() {
    let settings = Settings {
        deadline: Some(Duration::from_millis(500)),
        ..Settings::default()
    };
    let server = Arc::new(Server::new(settings.fetches));
    let report = fetch_sim::run(&settings, server).await.unwrap();
    assert!(report.cut_short);
    let n = report.pages.len();
    assert!(n > 100 && n < 10_000, "{n} pages");
    // Input order, and nothing missing before the last page but dead letters.
    let last = report.pages[n - 1].id;
    let dead: Vec<u32> = report.dead.iter().map(|(id, _)| *id).collect();
    let expected: Vec<u32> = (0..=last).filter(|id| !dead.contains(id)).collect();
    let got: Vec<u32> = report.pages.iter().map(|p| p.id).collect();
    assert_eq!(got, expected);
    assert_eq!(
        fetch(&report).items_in,
        fetch(&report).items_out + dead.len() as u64
    );
}
