//! Go's pipeline pattern (generate → square → sum): a generator goroutine
//! feeding a squaring stage.
//!
//! Go:
//!
//! ```go
//! func pipeline(data []int) <-chan int {
//!     out := make(chan int)
//!     go func() { defer close(out); for _, n := range data { out <- n } }()
//!     return out
//! }
//! func square(in <-chan int) <-chan int {
//!     out := make(chan int)
//!     go func() { defer close(out); for n := range in { out <- n * n } }()
//!     return out
//! }
//! ```
//!
//! Three ways, same result: the Go shape with weir channels, the stage
//! functions, and the pipeline builder (which fuses both stages into one
//! task).
//!
//! Run with `cargo run --release -p weir-examples --example pipeline`.

use weir::cancel::Context;
use weir::chan::{self, Receiver};
use weir::pipeline::Pipeline;
use weir::stage::{self, Scope};

/// Go's `pipeline(data)`: dropping `out` at the end is `defer close(out)`.
fn generator(data: Vec<u64>) -> Receiver<u64> {
    let (out, rx) = chan::rendezvous(); // make(chan int): unbuffered
    tokio::spawn(async move {
        for n in data {
            if out.send(n).await.is_err() {
                return; // nobody listens any more: stop, don't leak
            }
        }
    });
    rx
}

/// Go's `square(in)`.
fn square(input: Receiver<u64>) -> Receiver<u64> {
    let (out, rx) = chan::rendezvous();
    tokio::spawn(async move {
        while let Some(n) = input.recv().await {
            if out.send(n * n).await.is_err() {
                return;
            }
        }
    });
    rx
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    let data: Vec<u64> = (1..=10_000).collect();
    let expected: u64 = data.iter().map(|n| n * n).sum();

    // 1. Go's shape.
    let out = square(generator(data.clone()));
    let mut total = 0;
    while let Some(n) = out.recv().await {
        total += n;
    }
    println!("channels: sum of squares of 1..=10000 = {total}");
    assert_eq!(total, expected);

    // 2. Stages under a scope (errors, panics and cancellation handled).
    let scope = Scope::new(&Context::background());
    let squares = stage::square(&scope, stage::generate(&scope, data.clone()));
    let total = stage::fold(&scope, squares, 0, |acc, n| acc + n);
    scope.wait().await?;
    let total = total.await.expect("the sum finished");
    println!("stages:   sum of squares of 1..=10000 = {total}");
    assert_eq!(total, expected);

    // 3. The pipeline builder: generate and square fused into one task.
    let total = Pipeline::new(&Context::background())
        .source(data)
        .square()
        .fold(0, |acc, n| acc + n)
        .await?;
    println!("pipeline: sum of squares of 1..=10000 = {total}");
    assert_eq!(total, expected);
    Ok(())
}
