// A sink, a flow and a run handle made and dropped on the spot: each does
// nothing (or cancels at once), so each is a `#[must_use]` warning, here an
// error. The first is the mistake users make: a forgotten `.await`.
#![deny(unused_must_use)]

use weir::cancel::Context;
use weir::pipeline::Pipeline;

async fn forgot(p: &Pipeline) {
    p.source(0..3).for_each(|n| println!("{n}"));
    p.source(0..3).map(|n| n * 2);
    p.source(0..3).for_each(drop).run();
}

fn main() {
    let p = Pipeline::new(&Context::background());
    drop(forgot(&p));
}
