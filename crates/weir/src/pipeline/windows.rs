//! Builder doors to `weir_stage`'s windows: [`window`](Flow::window) and
//! [`window_fold`](Flow::window_fold). Each runs the stage function of the
//! same name; nothing is written twice.

use weir_stage::window::{Folded, Window, WindowSpec};

use super::boundary::invalid;
use super::flow::Flow;

/// # Windows: items grouped by time or count
///
/// Stages with a task of their own that cut the flow into windows —
/// [`Tumbling`](weir_stage::Tumbling) by time or count,
/// [`Sliding`](weir_stage::Sliding), [`Session`](weir_stage::Session) —
/// and send each window's items ([`window`](Flow::window)) or a fold of
/// them ([`window_fold`](Flow::window_fold)) with its bounds. Time is
/// processing time on [`tokio::time`]; a window open when the input ends,
/// or on [`shutdown`](super::Pipeline::shutdown), is sent, not lost; an
/// empty window is never sent. See [`weir_stage::window`](mod@weir_stage::window)
/// for the kinds and their bounds.
impl<T: Send + 'static> Flow<T> {
    /// Groups items into windows cut by `spec` and sends each window's
    /// items, in order, with its bounds: see [`weir_stage::window()`].
    ///
    /// # Errors
    ///
    /// An invalid spec (a zero count or duration, a sliding step longer
    /// than its size) is a [`ConfigError`](weir_stage::ConfigError) naming
    /// the stage, returned by the sink before anything runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Tumbling;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let v = Pipeline::new(&Context::background())
    ///     .source(1..=5)
    ///     .window(Tumbling::count(2))
    ///     .map(|w| w.items)
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(v, [vec![1, 2], vec![3, 4], vec![5]]);
    /// # }
    /// ```
    pub fn window<W: WindowSpec<T>>(self, spec: W) -> Flow<Window<T>> {
        let (shared, why) = (self.shared.clone(), spec.invalid());
        let flow = self.through("window", move |scope, input| {
            weir_stage::window(scope, input, spec)
        });
        invalid(&shared, flow.tail(), why);
        flow
    }

    /// Groups items into windows cut by `spec` and sends, per window, the
    /// fold of its items from a clone of `init`, with its bounds; the
    /// items are not kept. See [`weir_stage::window_fold`].
    ///
    /// # Errors
    ///
    /// As [`window`](Flow::window).
    ///
    /// # Examples
    ///
    /// Requests per key per minute, on a paused clock:
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::time::Duration;
    /// use weir::cancel::Context;
    /// use weir::pipeline::Pipeline;
    /// use weir::stage::Tumbling;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let hits = futures::stream::iter(["/a", "/b", "/a"]);
    /// let minutes = Pipeline::new(&Context::background())
    ///     .from_stream(hits)
    ///     .window_fold(Tumbling::every(Duration::from_secs(60)), HashMap::new(), |mut m, path| {
    ///         *m.entry(path).or_insert(0u64) += 1;
    ///         m
    ///     })
    ///     .collect::<Vec<_>>()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(minutes[0].value, HashMap::from([("/a", 2), ("/b", 1)]));
    /// # }
    /// ```
    pub fn window_fold<S, F, W>(self, spec: W, init: S, f: F) -> Flow<Folded<S>>
    where
        S: Clone + Send + 'static,
        F: FnMut(S, T) -> S + Send + 'static,
        W: WindowSpec<T>,
    {
        let (shared, why) = (self.shared.clone(), spec.invalid());
        let flow = self.through("window_fold", move |scope, input| {
            weir_stage::window_fold(scope, input, spec, init, f)
        });
        invalid(&shared, flow.tail(), why);
        flow
    }
}
