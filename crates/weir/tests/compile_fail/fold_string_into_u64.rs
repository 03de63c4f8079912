// Folding a `Flow<String>` with a closure that takes `u64` items.
use weir::cancel::Context;
use weir::pipeline::Pipeline;

fn main() {
    let p = Pipeline::new(&Context::background());
    let _sink = p
        .source(vec![String::from("a")])
        .fold(0u64, |acc: u64, n: u64| acc + n);
}
