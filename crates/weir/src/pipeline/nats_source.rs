//! [`Pipeline::from_nats`]: a JetStream consumer as a pipeline's source
//! (feature `nats`).

use weir_nats::{Codec, Delivery, Source};

use super::boundary::fill;
use super::flow::{Flow, Pipeline};
use super::source::{RecvSource, Slot};

impl Pipeline {
    /// A source stage reading a JetStream stream through a durable pull
    /// consumer ([`weir_nats::Source`]): each message as a
    /// [`Delivery`], which you settle (ack, nak, dead-letter) once its item
    /// is fully handled downstream — at-least-once, end to end.
    ///
    /// Unlike a `Source` plugged in with
    /// [`through_stage`](Flow::through_stage), this one obeys
    /// [`shutdown`](Pipeline::shutdown) (and [`drain_on`](Pipeline::drain_on),
    /// [`shutdown_after`](Pipeline::shutdown_after)): it stops fetching,
    /// the deliveries already read flow on through the pipeline, and the
    /// sinks finish with what they got ([`cut_short`](Pipeline::cut_short)
    /// is then `true`: a consumer has no end of its own). Deliveries the
    /// source had handed out but the pipeline had not yet read are naked
    /// back to the server; messages still arriving from its last pull
    /// request are redelivered after the consumer's `ack_wait`. Nothing
    /// unacked is lost. Without a shutdown it reads for ever.
    ///
    /// # Cancel safety
    ///
    /// When the pipeline is cancelled every stage stops at once; unsettled
    /// deliveries are naked as they are dropped, so the server redelivers
    /// them (to this or another consumer) rather than waiting for
    /// `ack_wait`.
    ///
    /// # Errors
    ///
    /// A missing stream or consumer, a push consumer or one without
    /// explicit acks fails the pipeline with a [`weir_nats::Error`] naming
    /// the stage, within a bounded time; a server that goes away mid-run is
    /// waited for (the client reconnects).
    ///
    /// # Examples
    ///
    /// Sums what a durable consumer delivers, acking each message once it
    /// is added, until a shutdown (here, after 100 items; a service would
    /// shut down on SIGTERM). Needs a server with JetStream:
    ///
    /// ```no_run
    /// use weir::cancel::Context;
    /// use weir::nats::{self, Delivery, Json, Source};
    /// use weir::pipeline::Pipeline;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = nats::connect("nats://127.0.0.1:4222").await?;
    /// let p = Pipeline::new(&Context::background());
    /// let stop = p.clone();
    /// let mut seen = 0;
    /// let sum = p
    ///     .from_nats(Source::<u64, Json>::new(client, "NUMBERS", "summer"))
    ///     .then(|delivery: Delivery<u64>| async move {
    ///         let (n, acker) = delivery.into_parts();
    ///         acker.ack().await.map(|()| n)
    ///     })
    ///     .try_map(|acked| acked)
    ///     .inspect(move |_| {
    ///         seen += 1;
    ///         if seen == 100 {
    ///             stop.shutdown();
    ///         }
    ///     })
    ///     .fold(0, |sum, n| sum + n)
    ///     .await?;
    /// println!("sum of what was read: {sum}");
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
    pub fn from_nats<T, C>(&self, source: Source<T, C>) -> Flow<Delivery<T>>
    where
        T: Send + 'static,
        C: Codec<T>,
    {
        let shared = &self.shared;
        let node = shared.add_stage("nats_source", &[], false);
        let slot = Slot::<Delivery<T>>::default();
        let out = slot.clone();
        let stop = shared.stop.clone();
        shared.defer(move |shared, scope| {
            let source = source.stop_on(&stop);
            let rx = source.run(&scope.stage(&shared.stage(node)));
            fill(shared, node, &out, rx);
        });
        // Stop reading at once on shutdown: what is queued goes back to
        // the server.
        let src = RecvSource::later(slot)
            .counted(shared.stage(node))
            .stop_on(shared.stop_signal());
        Flow::with_segment(shared.clone(), Box::new(src), node, true)
    }
}
