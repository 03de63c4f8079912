//! What a concurrent stage needs from its [`Controller`]: a sample only
//! where one is measured, and a future that ends its sample with itself.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{Controller, Outcome, Sample};

impl Controller {
    /// A sample for one item, or `None` for a fixed controller, which
    /// measures nothing: a fixed stage takes no sample at all.
    pub(crate) fn sample(&self) -> Option<Sample> {
        self.is_adaptive().then(|| self.start())
    }

    /// `future`, measured as one item: its sample (if this controller
    /// takes one) ends with [`Outcome::Ok`] when it is ready, and counts
    /// the item out if it is dropped first.
    pub(crate) fn measured<F: Future>(&self, future: F) -> Measured<F> {
        Measured {
            future,
            sample: self.sample(),
        }
    }
}

/// A future whose end is an item's [`Outcome::Ok`] (see
/// [`Controller::measured`]).
#[pin_project::pin_project]
#[derive(Debug)]
pub(crate) struct Measured<F> {
    #[pin]
    future: F,
    sample: Option<Sample>,
}

impl<F> Measured<F> {
    /// `future`, not measured (a stage with no limit of its own).
    pub(crate) fn unmeasured(future: F) -> Measured<F> {
        Measured {
            future,
            sample: None,
        }
    }
}

impl<F: Future> Future for Measured<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = std::task::ready!(this.future.poll(cx));
        if let Some(sample) = this.sample.take() {
            sample.finish(Outcome::Ok);
        }
        Poll::Ready(out)
    }
}
