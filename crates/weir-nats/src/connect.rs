//! [`connect`]: a client with a bounded first connection and quick
//! reconnects.

use std::time::Duration;

use crate::error::Error;
use crate::future::Connect;

/// How long [`connect`] waits for the server by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to the NATS server at `url`, giving up after
/// [`DEFAULT_CONNECT_TIMEOUT`]: see [`connect_timeout`].
///
/// # Cancel safety
///
/// Dropping the future abandons the attempt; nothing is left running.
///
/// # Errors
///
/// [`Error::Unreachable`] when no connection is made in time.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
/// let client = weir_nats::connect(&server.url()).await.unwrap();
/// assert_eq!(client.connection_state(), async_nats::connection::State::Connected);
/// # }
/// ```
pub fn connect(url: &str) -> Connect {
    connect_timeout(url, DEFAULT_CONNECT_TIMEOUT)
}

/// Connects to the NATS server at `url`, giving up after `timeout`.
///
/// Once connected, the client reconnects by itself for ever if the server
/// goes away (after 50 ms, then backing off to at most 1 s between tries),
/// so the edges built on it ride out a server restart.
///
/// # Cancel safety
///
/// Dropping the future abandons the attempt; nothing is left running.
///
/// # Errors
///
/// [`Error::Unreachable`] when no connection is made within `timeout`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weir_nats::Error;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = weir_nats::connect_timeout("nats://127.0.0.1:1", Duration::from_millis(200)).await;
/// assert!(matches!(err, Err(Error::Unreachable { .. })));
/// # }
/// ```
pub fn connect_timeout(url: &str, timeout: Duration) -> Connect {
    let url = url.to_owned();
    Connect::new(async move { connect_inner(&url, timeout).await })
}

async fn connect_inner(url: &str, timeout: Duration) -> Result<async_nats::Client, Error> {
    let options = async_nats::ConnectOptions::new()
        .connection_timeout(timeout)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(50u64.saturating_mul(1 << attempts.min(5)))
                .min(Duration::from_secs(1))
        });
    let unreachable = |source: crate::error::BoxError| Error::Unreachable {
        url: url.to_owned(),
        timeout,
        source: crate::error::cause(source),
    };
    match tokio::time::timeout(timeout, options.connect(url)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(unreachable(e.into())),
        Err(elapsed) => Err(unreachable(elapsed.into())),
    }
}
