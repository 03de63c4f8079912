//! Go's fan-out / fan-in: one input, several workers each reading
//! from it, their outputs merged back into one channel.
//!
//! Go:
//!
//! ```go
//! func fanOut(input <-chan int, workers int) []<-chan int {
//!     outputs := make([]<-chan int, workers)
//!     for i := 0; i < workers; i++ {
//!         outputs[i] = worker(input)
//!     }
//!     return outputs
//! }
//!
//! func fanIn(channels ...<-chan int) <-chan int { /* a goroutine per input,
//!     a WaitGroup, close(out) when all are done */ }
//! ```
//!
//! Run with `cargo run --release -p weir-examples --example fan_out_fan_in`.

use weir::cancel::Context;
use weir::pipeline::Pipeline;
use weir::stage::{self, Scope};

/// The worker's job: the number of steps the Collatz sequence takes from `n`.
fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    const N: u64 = 200_000;
    let expected: u64 = (1..=N).map(collatz_steps).sum();

    // With stages: `balance` is fanOut (each item goes to exactly one
    // worker, whichever is free), `merge` is fanIn.
    let scope = Scope::new(&Context::background());
    let input = stage::generate(&scope, 1..=N);
    let branches = stage::balance(&scope, input, 4)?;
    let outputs = branches
        .into_iter()
        .map(|branch| stage::map(&scope.named("collatz"), branch, collatz_steps));
    let merged = stage::merge(&scope, outputs);
    let total = stage::fold(&scope, merged, 0, |acc, n| acc + n);
    scope.wait().await?;
    let total = total.await.expect("the sum finished");
    println!("stages:   fan-out to 4, fan-in: {total} Collatz steps for 1..={N}");
    assert_eq!(total, expected);

    // With the pipeline builder: the same shape in one expression.
    let total = Pipeline::new(&Context::background())
        .source(1..=N)
        .fan_out(4, |branch| branch.map(collatz_steps).named("collatz"))
        .fold(0, |acc, n| acc + n)
        .await?;
    println!("pipeline: fan-out to 4, fan-in: {total} Collatz steps for 1..={N}");
    assert_eq!(total, expected);
    Ok(())
}
