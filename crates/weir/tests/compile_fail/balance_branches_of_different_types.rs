// Balancing into two branches, turning one into `String`s, and merging
// them back with the other, still `u32`.
use weir::cancel::Context;
use weir::pipeline::Pipeline;

fn main() {
    let p = Pipeline::new(&Context::background());
    let [a, b] = p.source(0..10u32).balance();
    let a = a.map(|n| n.to_string());
    let _sink = a.merge([b]).collect::<Vec<_>>();
}
