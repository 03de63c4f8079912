// A `Receiver<String>` read into a pipeline where a `Flow<u32>` is
// expected.
use weir::cancel::Context;
use weir::chan;
use weir::pipeline::{Flow, Pipeline};

fn main() {
    let p = Pipeline::new(&Context::background());
    let (_tx, rx) = chan::bounded::<String>(1);
    let numbers: Flow<u32> = p.from_receiver(rx);
    let _sink = numbers.collect::<Vec<u32>>();
}
