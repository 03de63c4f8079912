//! A worker process for weir-nats's failure tests: serves pool `$2` on the
//! server at `$1` with `$3` workers, `ack_wait` of `$4` ms and
//! `max_deliver` `$5`. A job is `{"n": u64, "sleep_ms": u64, "fail": bool}`;
//! its result is `2n`. Prints `started <n>` when a job starts and
//! `finished <n>` when it returns, so a test knows when to kill it.
//!
//! With `produce` as its first argument it is a producer instead:
//! `produce <url> <pool> <ack_wait_ms> <max_deliver> <jobs> <sleep_ms>`
//! sends jobs `0..jobs` (each sleeping `sleep_ms`) through the pool (whose
//! settings must match the workers') and waits for their results.

use std::io::Write;
use std::time::Duration;

use weir_cancel::Context;
use weir_nats::Pool;

#[derive(serde::Serialize, serde::Deserialize)]
struct Job {
    n: u64,
    sleep_ms: u64,
    fail: bool,
}

fn arg(i: usize) -> String {
    std::env::args()
        .nth(i)
        .unwrap_or_else(|| panic!("missing argument {i}"))
}

#[tokio::main]
async fn main() {
    if arg(1) == "produce" {
        return produce().await;
    }
    let url = arg(1);
    let pool = Pool::new(arg(2))
        .ack_wait(Duration::from_millis(arg(4).parse().expect("ack_wait ms")))
        .max_deliver(arg(5).parse().expect("max_deliver"))
        .backoff(weir_nats::NakBackoff::new(
            Duration::from_millis(10),
            Duration::from_millis(100),
        ));
    let workers: usize = arg(3).parse().expect("workers");
    let client = weir_nats::connect(&url).await.expect("connect");
    let served = weir_nats::serve(
        &Context::background(),
        client,
        &pool,
        workers,
        |job: Job| async move {
            println!("started {}", job.n);
            let _ = std::io::stdout().flush();
            tokio::time::sleep(Duration::from_millis(job.sleep_ms)).await;
            if job.fail {
                return Err(format!("job {} is poison", job.n));
            }
            println!("finished {}", job.n);
            let _ = std::io::stdout().flush();
            Ok(job.n * 2)
        },
    )
    .await;
    served.expect("serve");
}

async fn produce() {
    let url = arg(2);
    let pool = Pool::new(arg(3))
        .ack_wait(Duration::from_millis(arg(4).parse().expect("ack_wait ms")))
        .max_deliver(arg(5).parse().expect("max_deliver"));
    let jobs: u64 = arg(6).parse().expect("jobs");
    let sleep_ms: u64 = arg(7).parse().expect("sleep_ms");
    let client = weir_nats::connect(&url).await.expect("connect");
    let scope = weir_stage::Scope::new(&Context::background());
    let input = weir_stage::generate(
        &scope,
        (0..jobs).map(move |n| Job {
            n,
            sleep_ms,
            fail: false,
        }),
    );
    let results = pool
        .remote::<Job, u64>(client)
        .run(&scope, input)
        .expect("remote");
    let _all = weir_stage::count(&scope, results);
    scope.wait().await.expect("producer");
}
