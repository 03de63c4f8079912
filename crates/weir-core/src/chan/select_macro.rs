//! The `select!` and `select_blocking!` macros: Go's `select` statement
//! written out, over the engine in `select.rs`.

/// Parses the cases into a list, then hands them to `__weir_select_emit`.
#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select_parse {
    // All parsed.
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)*) @cases($($cases:tt)*)) => {
        $crate::__weir_select_emit!(@mode($mode) @biased($b) @default($($def)*) @cases($($cases)*))
    };
    (@mode($mode:ident) @biased($b:expr) @default() @cases($($cases:tt)*) biased; $($rest:tt)*) => {
        $crate::__weir_select_parse!(@mode($mode) @biased(true) @default() @cases($($cases)*) $($rest)*)
    };
    // `default => …`
    (@mode($mode:ident) @biased($b:expr) @default() @cases($($cases:tt)*)
        default => $body:block, $($rest:tt)*) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default($body) @cases($($cases)*) $($rest)*)
    };
    (@mode($mode:ident) @biased($b:expr) @default() @cases($($cases:tt)*)
        default => $body:block $($rest:tt)*) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default($body) @cases($($cases)*) $($rest)*)
    };
    (@mode($mode:ident) @biased($b:expr) @default() @cases($($cases:tt)*)
        default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default({ $body }) @cases($($cases)*) $($($rest)*)?)
    };
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)+) @cases($($cases:tt)*)
        default => $($rest:tt)*) => {
        ::core::compile_error!("a select has at most one `default` case")
    };
    // `pattern = recv(rx) => …`
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)*) @cases($($cases:tt)*)
        $p:pat = recv($r:expr) => $body:block, $($rest:tt)*) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default($($def)*)
            @cases($($cases)* (__case __src recv ($r) ($p) $body)) $($rest)*)
    };
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)*) @cases($($cases:tt)*)
        $p:pat = recv($r:expr) => $body:block $($rest:tt)*) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default($($def)*)
            @cases($($cases)* (__case __src recv ($r) ($p) $body)) $($rest)*)
    };
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)*) @cases($($cases:tt)*)
        $p:pat = recv($r:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default($($def)*)
            @cases($($cases)* (__case __src recv ($r) ($p) { $body })) $($($rest)*)?)
    };
    // `pattern = send(tx, item) => …`
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)*) @cases($($cases:tt)*)
        $p:pat = send($t:expr, $v:expr $(,)?) => $body:block, $($rest:tt)*) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default($($def)*)
            @cases($($cases)* (__case __src send ($t, $v) ($p) $body)) $($rest)*)
    };
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)*) @cases($($cases:tt)*)
        $p:pat = send($t:expr, $v:expr $(,)?) => $body:block $($rest:tt)*) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default($($def)*)
            @cases($($cases)* (__case __src send ($t, $v) ($p) $body)) $($rest)*)
    };
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)*) @cases($($cases:tt)*)
        $p:pat = send($t:expr, $v:expr $(,)?) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__weir_select_parse!(@mode($mode) @biased($b) @default($($def)*)
            @cases($($cases)* (__case __src send ($t, $v) ($p) { $body })) $($($rest)*)?)
    };
    (@mode($mode:ident) @biased($b:expr) @default($($def:tt)*) @cases($($cases:tt)*) $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "expected `pattern = recv(rx) => body`, `pattern = send(tx, item) => body` or `default => body`, found: ",
            ::core::stringify!($($rest)+)
        ))
    };
}

/// One case's value: the receive or send case over a borrowed source.
#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select_case {
    ($src:ident recv ($r:expr)) => {
        $crate::chan::__private::__recv($src)
    };
    ($src:ident send ($t:expr, $v:expr)) => {
        $crate::chan::__private::__send($src, $v)
    };
}

/// The source a case borrows (`&rx`, `&tx`), so that a temporary such as
/// `chan::after(d)` lives for the whole select.
#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select_source {
    (recv ($r:expr)) => {
        &$r
    };
    (send ($t:expr, $v:expr)) => {
        &$t
    };
}

/// Runs the parsed select.
#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select_emit {
    (@mode($mode:ident) @biased($b:expr) @default($($def:block)?)
        @cases($(($c:ident $s:ident $kind:ident $args:tt ($p:pat) $body:block))*)) => {{
        $( let $s = $crate::__weir_select_source!($kind $args); )*
        $( #[allow(unused_mut)] let mut $c = $crate::__weir_select_case!($s $kind $args); )*
        let _ = $crate::__weir_select_run!($mode, [$($c.__as_case()),*], $b, $crate::__weir_select_has!($($def)?));
        $(
            if let ::core::option::Option::Some(__out) = $c.__take() {
                let $p = __out;
                $body
            } else
        )* {
            $crate::__weir_select_default!($($def)?)
        }
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select_run {
    (async, [$($case:expr),*], $b:expr, $d:expr) => {
        $crate::chan::__private::__select(&mut [$($case),*], $b, $d).await
    };
    (blocking, [$($case:expr),*], $b:expr, $d:expr) => {
        $crate::chan::__private::__select_blocking(&mut [$($case),*], $b, $d)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select_has {
    () => {
        false
    };
    ($def:block) => {
        true
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select_default {
    () => {
        ::core::unreachable!("a select without `default` returns only when a case fired")
    };
    ($def:block) => {
        $def
    };
}

/// Go's `select`: waits until one of several channel operations can
/// proceed, and does exactly that one.
///
/// ```text
/// chan::select! {
///     v = recv(rx) => …,            // v: Option<T>, None once closed and drained
///     r = send(tx, item) => …,      // r: Result<(), SendError<T>>, the item back if closed
///     _ = recv(timeout) => …,       // chan::after / chan::tick are channels
///     default => …,                 // optional: never wait
/// }
/// ```
///
/// Each case names a receiver (`recv(rx)`) or a sender and an item
/// (`send(tx, item)`), then an irrefutable pattern for the result and a
/// body; the select's value is the body of the case that fired. `rx` and
/// `tx` are borrowed: a [`Receiver`](crate::chan::Receiver) or
/// [`Sender`](crate::chan::Sender), a reference to one, or an `Option` of
/// either, where `None` switches the case off like Go's `nil` channel (see
/// [`RecvSource`](crate::chan::RecvSource)). Every channel and item
/// expression is evaluated once, in order, before the select starts, as in
/// Go.
///
/// - **Exactly one case fires.** Every other case took nothing and sent
///   nothing, whatever other tasks and threads do meanwhile, on every kind
///   of channel (rendezvous, bounded, unbounded, timers) and mixtures of
///   them; a send case's item that was not sent is dropped.
/// - Among cases ready at once, one is chosen uniformly at random; start
///   with `biased;` to try them in order instead.
/// - A select never pairs with itself, nor with another operation of its
///   own task: `send(tx, v)` and `recv(rx)` on one unbuffered channel wait
///   for another task (Go's `TestSelfSelect`).
/// - `default` fires when no case can complete at once; without one, the
///   select waits. A select without cases (and without `default`) waits
///   for ever, like Go's `select {}`.
///
/// It is an expression to `.await` (the macro awaits inside), usable in
/// any async code: tokio, `futures::executor::block_on`, any executor. On
/// threads use [`select_blocking!`](crate::chan::select_blocking); for a
/// number of cases known only at run time, [`Select`](crate::chan::Select).
///
/// # Cancel safety
///
/// Dropping the select (say, inside a `tokio::select!` or a timeout) fires
/// no case: an item a send handed to one of its receive cases goes back to
/// the head of that channel's line. The one exception is a send case on a
/// rendezvous channel whose item a receive already took: that send
/// happened, as with [`Sender::send`](crate::chan::Sender::send).
///
/// # Panics
///
/// Only if a body panics.
///
/// # Examples
///
/// Go's worker loop: jobs, a `done` channel and a timeout.
///
/// ```
/// use std::time::Duration;
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (jobs_tx, jobs) = chan::bounded::<u32>(4);
/// let (done_tx, done) = chan::rendezvous::<()>();
/// tokio::spawn(async move {
///     for j in 1..=3 {
///         jobs_tx.send(j).await.unwrap();
///     }
///     drop(done_tx); // closing `done` tells the worker to stop
/// });
/// let give_up = chan::after(Duration::from_secs(10));
/// let mut sum = 0;
/// loop {
///     let stop = chan::select! {
///         job = recv(jobs) => { sum += job.unwrap_or(0); false },
///         _ = recv(done) => jobs.is_empty(),
///         _ = recv(give_up) => panic!("too slow"),
///     };
///     if stop {
///         break;
///     }
/// }
/// assert_eq!(sum, 6);
/// # }
/// ```
///
/// A non-blocking send: Go's `select { case ch <- v: default: }`.
///
/// ```
/// use weir_core::chan;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, _rx) = chan::bounded(1);
/// let first = chan::select! { r = send(tx, 1) => r.is_ok(), default => false };
/// let second = chan::select! { r = send(tx, 2) => r.is_ok(), default => false };
/// assert_eq!((first, second), (true, false)); // full the second time
/// # }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select {
    ($($t:tt)*) => {
        $crate::__weir_select_parse!(@mode(async) @biased(false) @default() @cases() $($t)*)
    };
}

/// [`select!`](crate::chan::select) for threads: blocks the current thread
/// until one case fires.
///
/// Same cases, same rules (exactly one case fires, random among the ready
/// ones unless `biased;`, `default` never waits). Use it outside async
/// code: in a tokio task it would block a worker thread.
///
/// # Panics
///
/// Only if a body panics.
///
/// # Examples
///
/// ```
/// use std::thread;
/// use weir_core::chan;
///
/// let (a_tx, a) = chan::rendezvous::<u32>();
/// let (b_tx, b) = chan::rendezvous::<u32>();
/// let producer = thread::spawn(move || {
///     a_tx.send_blocking(1).unwrap();
///     b_tx.send_blocking(2).unwrap();
/// }); // a closed channel is always ready (with `None`): keep both open
/// let mut got = Vec::new();
/// for _ in 0..2 {
///     chan::select_blocking! {
///         v = recv(a) => got.push(('a', v)),
///         v = recv(b) => got.push(('b', v)),
///     }
/// }
/// producer.join().unwrap();
/// assert_eq!(got, [('a', Some(1)), ('b', Some(2))]);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __weir_select_blocking {
    ($($t:tt)*) => {
        $crate::__weir_select_parse!(@mode(blocking) @biased(false) @default() @cases() $($t)*)
    };
}
