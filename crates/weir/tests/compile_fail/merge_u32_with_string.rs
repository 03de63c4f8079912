// Merging a `Flow<u32>` with a `Flow<String>`: a merge's inputs carry one
// item type.
use weir::cancel::Context;
use weir::pipeline::Pipeline;

fn main() {
    let p = Pipeline::new(&Context::background());
    let numbers = p.source(0..3u32);
    let words = p.source(vec![String::from("a")]);
    let _sink = numbers.merge([words]).collect::<Vec<_>>();
}
