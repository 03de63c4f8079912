//! The named futures the crate's async operations return, so that callers
//! can store them in structs and `select!` on them.

use crate::error::Error;

macro_rules! named_future {
    ($(#[$doc:meta])* $name:ident => $out:ty) => {
        $(#[$doc])*
        #[must_use = "futures do nothing unless you `.await` or poll them"]
        pub struct $name {
            inner: ::std::pin::Pin<Box<dyn ::std::future::Future<Output = $out> + Send>>,
        }

        impl $name {
            pub(crate) fn new(
                future: impl ::std::future::Future<Output = $out> + Send + 'static,
            ) -> $name {
                $name { inner: Box::pin(future) }
            }
        }

        impl ::std::future::Future for $name {
            type Output = $out;

            fn poll(
                mut self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<$out> {
                self.inner.as_mut().poll(cx)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}
/// The named futures of other modules are made with it too.
pub(crate) use named_future;

named_future! {
    /// The future of [`connect`](crate::connect) and
    /// [`connect_timeout`](crate::connect_timeout): the client, or
    /// [`Error::Unreachable`] once the bound has passed.
    ///
    /// # Examples
    ///
    /// See [`connect_timeout`](crate::connect_timeout).
    Connect => Result<async_nats::Client, Error>
}

named_future! {
    /// The future of an [`Acker`](crate::Acker)'s settling methods
    /// (`ack`, `nak`, `fail`, `dead_letter`, `in_progress`).
    ///
    /// # Examples
    ///
    /// See [`Delivery`](crate::Delivery).
    Settle => Result<(), Error>
}

named_future! {
    /// The future of [`serve`](crate::serve): runs the worker loop; resolves
    /// when its context is cancelled (or on a setup error).
    ///
    /// # Examples
    ///
    /// See [`serve`](crate::serve).
    Serve => Result<(), Error>
}
