// Balancing into two branches, turning one into `String`s, and merging
// them back with the other, still `u32`.
use weir::cancel::Context;
use weir::pipeline::Pipeline;

fn main() {
    let p = Pipeline::new(&Context::background());
    let mut branches = p.source(0..10u32).balance(2);
    let b = branches.pop().unwrap();
    let a = branches.pop().unwrap().map(|n| n.to_string());
    let _sink = a.merge([b]).collect::<Vec<_>>();
}
