//! With the `tracing` feature, every stage task runs inside a span named
//! `stage` whose `name` field is the stage's name.
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use weir_cancel::Context;
use weir_stage::{self as stage, Scope};

/// Records the `name` field of every `stage` span.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

struct NameField<'a>(&'a mut Option<String>);

impl Visit for NameField<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "name" {
            *self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut name = None;
        span.record(&mut NameField(&mut name));
        let mut spans = self.0.lock().unwrap();
        if span.metadata().name() == "stage" {
            spans.push(name.unwrap_or_default());
        }
        Id::from_u64(spans.len() as u64 + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn every_stage_task_runs_in_a_span_named_after_the_stage() {
    let spans = Spans::default();
    let _guard = tracing::subscriber::set_default(spans.clone());
    let scope = Scope::new(&Context::background());
    let nums = stage::generate(&scope.named("numbers"), 1..=3u32);
    let squares = stage::square(&scope.named("squares"), nums);
    let sum = stage::fold(&scope, squares, 0, |a, n| a + n);
    scope.wait().await.unwrap();
    assert_eq!(sum.await, Ok(14));
    let names = spans.0.lock().unwrap().clone();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], "numbers");
    assert_eq!(names[1], "squares");
    assert!(names[2].starts_with("fold#"), "{names:?}");
}
