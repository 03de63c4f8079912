// A worker pool whose job takes `String` on a flow of `u32`.
use weir::cancel::Context;
use weir::pipeline::Pipeline;

fn main() {
    let p = Pipeline::new(&Context::background());
    let _sink = p
        .source(0..3u32)
        .worker_pool(2, |job: String| async move {
            Ok::<_, std::io::Error>(job.len())
        })
        .collect::<Vec<usize>>();
}
