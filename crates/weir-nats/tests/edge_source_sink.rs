//! The durable edges against a real `nats-server -js`: what a
//! [`Publisher`] publishes, a [`Source`] hands out once each, acked end to
//! end; failures are naked, then dead-lettered; undecodable payloads are
//! dead-lettered at once; missing streams and consumers are typed errors.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use weir_cancel::Context;
use weir_nats::testing::{work_queue, NatsServer};
use weir_nats::{Error, Json, NakBackoff, Publisher, Source};
use weir_stage::{self as stage, Scope};

/// A hang becomes a deadline error after 60 s (a guard, not a timing
/// assertion).
fn hang_guard() -> Context {
    Context::background().with_timeout(Duration::from_secs(60))
}

/// A stream capturing `subject` into which dead letters go.
async fn dead_letters(
    client: &async_nats::Client,
    subject: &str,
) -> async_nats::jetstream::stream::Stream {
    let js = async_nats::jetstream::new(client.clone());
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: "DEAD".into(),
        subjects: vec![subject.into()],
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn count(stream: &mut async_nats::jetstream::stream::Stream) -> u64 {
    stream.info().await.unwrap().state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_items_are_consumed_once_each_and_acked() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    work_queue(&client, "ITEMS", "items", "c").await.unwrap();

    let scope = Scope::new(&hang_guard());
    let items = stage::generate(&scope, 0..500u64);
    let acks = Publisher::<u64, Json>::new(client.clone(), "items")
        .sequence("run1")
        .window(32)
        .run(&scope, items)
        .unwrap();
    let acks = stage::collect::<_, Vec<_>>(&scope, acks);
    scope.wait().await.unwrap();
    let acks = acks.await.unwrap();
    assert_eq!(acks.len(), 500);
    assert!(acks.iter().all(|a| !a.duplicate));
    // Acks come in input order: stream sequences rise.
    assert!(acks.windows(2).all(|w| w[0].sequence < w[1].sequence));

    // Publishing the same input again with the same ids stores nothing.
    let scope = Scope::new(&hang_guard());
    let items = stage::generate(&scope, 0..500u64);
    let acks = Publisher::<u64, Json>::new(client.clone(), "items")
        .sequence("run1")
        .run(&scope, items)
        .unwrap();
    let dup = stage::fold(&scope, acks, 0, |n, a| n + u64::from(a.duplicate));
    assert_eq!(dup.await, Ok(500));

    let (ctx, cancel) = hang_guard().with_cancel();
    let scope = Scope::new(&ctx);
    let rx = Source::<u64, Json>::new(client.clone(), "ITEMS", "c")
        .batch(50)
        .run(&scope);
    let mut seen = BTreeMap::new();
    while seen.len() < 500 {
        let (n, acker) = rx.recv().await.unwrap().into_parts();
        *seen.entry(n).or_insert(0) += 1;
        acker.ack().await.unwrap();
    }
    cancel.cancel();
    let _ = scope.wait().await;
    assert!(seen.values().all(|&c| c == 1));
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (0..500).collect::<Vec<_>>()
    );
    // Everything was acked: the work queue is empty.
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream("ITEMS").await.unwrap();
    assert_eq!(count(&mut stream).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_items_are_retried_then_dead_lettered_and_bad_payloads_at_once() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    work_queue(&client, "ITEMS", "items", "c").await.unwrap(); // max_deliver 3
    let mut dead = dead_letters(&client, "dead").await;
    let js = async_nats::jetstream::new(client.clone());
    for payload in ["1", "2", "not json", "3"] {
        js.publish("items", payload.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    let (ctx, cancel) = hang_guard().with_cancel();
    let scope = Scope::new(&ctx);
    let rx = Source::<u64, Json>::new(client.clone(), "ITEMS", "c")
        .dead_letter("dead")
        .backoff(NakBackoff::new(
            Duration::from_millis(10),
            Duration::from_millis(10),
        ))
        .run(&scope);
    // Item 2 always fails: attempts 1, 2, 3, then it is dead-lettered.
    let mut attempts_of_2 = Vec::new();
    let mut done = Vec::new();
    while done.len() < 2 || attempts_of_2.len() < 3 {
        let (n, acker) = rx.recv().await.unwrap().into_parts();
        if n == 2 {
            attempts_of_2.push(acker.attempt());
            acker.fail("two is poison").await.unwrap();
        } else {
            done.push(n);
            acker.ack().await.unwrap();
        }
    }
    cancel.cancel();
    let _ = scope.wait().await;
    done.sort_unstable();
    assert_eq!(done, [1, 3]);
    assert_eq!(attempts_of_2, [1, 2, 3]);
    // Two dead letters: the bad payload and the poison item.
    assert_eq!(count(&mut dead).await, 2);
    let consumer: async_nats::jetstream::consumer::PullConsumer = dead
        .create_consumer(async_nats::jetstream::consumer::pull::Config::default())
        .await
        .unwrap();
    let mut msgs = consumer.fetch().max_messages(2).messages().await.unwrap();
    let mut reasons = Vec::new();
    while let Some(m) = msgs.next().await {
        let m = m.unwrap();
        let h = m.headers.as_ref().unwrap();
        reasons.push((
            String::from_utf8_lossy(&m.payload).into_owned(),
            h.get(weir_nats::DEAD_LETTER_REASON)
                .unwrap()
                .as_str()
                .to_owned(),
        ));
    }
    reasons.sort();
    assert_eq!(reasons[0].0, "2");
    assert_eq!(reasons[0].1, "two is poison");
    assert_eq!(reasons[1].0, "not json");
    assert!(
        reasons[1].1.starts_with("decode failed"),
        "{}",
        reasons[1].1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_delivery_is_redelivered_at_once() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    work_queue(&client, "ITEMS", "items", "c").await.unwrap();
    let js = async_nats::jetstream::new(client.clone());
    js.publish("items", "7".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let (ctx, cancel) = hang_guard().with_cancel();
    let scope = Scope::new(&ctx);
    let rx = Source::<u64, Json>::new(client, "ITEMS", "c").run(&scope);
    let first = rx.recv().await.unwrap();
    assert_eq!(first.acker().attempt(), 1);
    drop(first); // naked
    let second = rx.recv().await.unwrap();
    assert_eq!((*second.item(), second.acker().attempt()), (7, 2));
    second.into_parts().1.ack().await.unwrap();
    cancel.cancel();
    let _ = scope.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_stream_consumer_and_server_are_typed_errors() {
    let Some(server) = NatsServer::start_or_skip() else {
        return;
    };
    let client = weir_nats::connect(&server.url()).await.unwrap();
    let scope = Scope::new(&Context::background());
    let _rx = Source::<u64, Json>::new(client.clone(), "NOPE", "c").run(&scope);
    let err = scope.wait().await.unwrap_err();
    let nats = std::error::Error::source(&err)
        .unwrap()
        .downcast_ref::<Error>()
        .unwrap();
    assert!(
        matches!(nats, Error::MissingStream { stream, .. } if stream == "NOPE"),
        "{nats}"
    );
    assert_eq!(nats.stage(), Some("nats source NOPE/c"));

    // A named view names the stage: the source's own error agrees with the
    // scope's name for it (it said `nats source NOPE/c` before).
    let scope = Scope::new(&Context::background());
    let _rx = Source::<u64, Json>::new(client.clone(), "NOPE", "c").run(&scope.named("orders"));
    let err = scope.wait().await.unwrap_err();
    assert_eq!(err.stage(), Some("orders"));
    let nats = std::error::Error::source(&err)
        .unwrap()
        .downcast_ref::<Error>()
        .unwrap();
    assert_eq!(nats.stage(), Some("orders"));

    work_queue(&client, "ITEMS", "items", "c").await.unwrap();
    let scope = Scope::new(&Context::background());
    let _rx = Source::<u64, Json>::new(client.clone(), "ITEMS", "other").run(&scope);
    let err = scope.wait().await.unwrap_err();
    let nats = std::error::Error::source(&err)
        .unwrap()
        .downcast_ref::<Error>()
        .unwrap();
    assert!(
        matches!(nats, Error::MissingConsumer { consumer, .. } if consumer == "other"),
        "{nats}"
    );

    let url = server.url();
    drop(server);
    let err = weir_nats::connect_timeout(&url, Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
}
