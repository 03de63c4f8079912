//! `sync.WaitGroup`, the weir way.
//!
//! The Go original:
//!
//! ```go
//! var wg sync.WaitGroup
//! results := make(chan string, len(urls))
//! for _, url := range urls {
//!     wg.Add(1)
//!     go func(url string) {
//!         defer wg.Done()
//!         results <- fetch(url)
//!     }(url)
//! }
//! go func() { wg.Wait(); close(results) }()
//! for r := range results { fmt.Println(r) }
//! ```
//!
//! In weir, `wg.go` is the `Add(1)` + `go` + `defer wg.Done()`; a task that
//! panics still counts down, and `wait` reports the panic instead of
//! hanging. The results channel closes when its last sender (held by the
//! workers) is dropped, so the closing goroutine is not needed at all.
//!
//! Run with `cargo run -p weir-examples --example wait_group`.

use weir::chan;
use weir::latch::{Latch, WaitGroup};

async fn fetch(url: &str) -> String {
    tokio::task::yield_now().await; // stands in for network I/O
    format!("{url}: 200 OK")
}

#[tokio::main]
async fn main() {
    let urls = [
        "https://a.example",
        "https://b.example",
        "https://c.example",
    ];

    // 1. Fan out, collect, wait: Add/Done/Wait without the bookkeeping.
    let wg = WaitGroup::new();
    let (results_tx, results) = chan::bounded::<String>(urls.len());
    for url in urls {
        let results_tx = results_tx.clone();
        wg.go(async move {
            let page = fetch(url).await;
            results_tx.send(page).await.expect("the receiver is alive");
        });
    }
    drop(results_tx); // only the workers hold senders now
    while let Some(page) = results.recv().await {
        println!("{page}");
    }
    wg.wait().await.expect("no worker panicked");

    // 2. A guard for work that isn't a `go` task: dropping it is the Done,
    //    even when the thread panics.
    let guard = wg.guard();
    std::thread::spawn(move || {
        let _guard = guard;
        println!("blocking work on a plain thread");
    });
    wg.wait().await.expect("no worker panicked");

    // 3. A panic is reported, not lost and not a hang. (The panic hook
    //    still prints the panic to stderr first; that is expected.)
    let handle = wg.go(async { panic!("worker 7 hit a bug") });
    match wg.wait().await {
        Ok(()) => unreachable!("the task panicked"),
        Err(e) => println!("wait reported: {e}"),
    }
    assert!(handle.await.unwrap_err().is_panic());
    wg.take_panics(); // clear the record to reuse the group

    // 4. A Latch: start every worker at once, after all are ready.
    let ready = Latch::new(urls.len());
    let start = Latch::new(1);
    for url in urls {
        let (ready, start) = (ready.clone(), start.clone());
        wg.go(async move {
            ready.count_down();
            start.wait().await;
            println!("{}", fetch(url).await);
        });
    }
    ready.wait().await;
    println!("all {} workers ready, go!", urls.len());
    start.count_down();
    wg.wait().await.expect("no worker panicked");
}
