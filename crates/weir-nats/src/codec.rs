//! [`Codec`]: how items become message payloads and back.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::BoxError;

/// Turns items of type `T` into message payloads and back.
///
/// Two codecs come with the crate: [`Json`] (any serde type) and [`Bytes`]
/// (raw payloads, no encoding). Plug in your own for another format
/// (postcard, protobuf…): implement `encode` and `decode` for the types it
/// handles. A codec is cloned into every task that uses it, so keep it
/// cheap to clone.
///
/// # Errors
///
/// `encode` and `decode` return the format's error, boxed. A payload that
/// does not decode is never retried for ever: the consuming edge
/// dead-letters it.
///
/// # Examples
///
/// A codec for `u64` as 8 little-endian bytes:
///
/// ```
/// use weir_nats::Codec;
///
/// #[derive(Clone, Debug)]
/// struct Le;
///
/// impl Codec<u64> for Le {
///     fn encode(&self, item: &u64) -> Result<bytes::Bytes, weir_nats::BoxError> {
///         Ok(bytes::Bytes::copy_from_slice(&item.to_le_bytes()))
///     }
///     fn decode(&self, payload: &[u8]) -> Result<u64, weir_nats::BoxError> {
///         Ok(u64::from_le_bytes(payload.try_into()?))
///     }
/// }
///
/// let bytes = Le.encode(&7).unwrap();
/// assert_eq!(Le.decode(&bytes).unwrap(), 7);
/// assert!(Le.decode(b"short").is_err());
/// ```
pub trait Codec<T>: Clone + Send + Sync + 'static {
    /// The payload for `item`.
    ///
    /// # Errors
    ///
    /// When `item` can't be represented in the format.
    fn encode(&self, item: &T) -> Result<bytes::Bytes, BoxError>;

    /// The item `payload` holds.
    ///
    /// # Errors
    ///
    /// When `payload` is not a valid encoding of a `T`.
    fn decode(&self, payload: &[u8]) -> Result<T, BoxError>;
}

/// JSON through serde: readable on the wire (`nats sub` shows it), and what
/// a Go service speaks with `encoding/json`.
///
/// # Examples
///
/// ```
/// use weir_nats::{Codec, Json};
///
/// let bytes = Json.encode(&vec![1, 2, 3]).unwrap();
/// assert_eq!(&bytes[..], b"[1,2,3]");
/// let back: Vec<i32> = Json.decode(&bytes).unwrap();
/// assert_eq!(back, [1, 2, 3]);
/// assert!(Codec::<Vec<i32>>::decode(&Json, b"{not json").is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<T: Serialize + DeserializeOwned> Codec<T> for Json {
    fn encode(&self, item: &T) -> Result<bytes::Bytes, BoxError> {
        Ok(serde_json::to_vec(item)?.into())
    }

    fn decode(&self, payload: &[u8]) -> Result<T, BoxError> {
        Ok(serde_json::from_slice(payload)?)
    }
}

/// Raw payloads: items are `bytes::Bytes` (or `Vec<u8>`) and go on the wire
/// as they are.
///
/// # Examples
///
/// ```
/// use weir_nats::Codec;
///
/// let payload = weir_nats::Bytes.encode(&b"raw".to_vec()).unwrap();
/// let back: bytes::Bytes = weir_nats::Bytes.decode(&payload).unwrap();
/// assert_eq!(&back[..], b"raw");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Bytes;

impl Codec<bytes::Bytes> for Bytes {
    fn encode(&self, item: &bytes::Bytes) -> Result<bytes::Bytes, BoxError> {
        Ok(item.clone())
    }

    fn decode(&self, payload: &[u8]) -> Result<bytes::Bytes, BoxError> {
        Ok(bytes::Bytes::copy_from_slice(payload))
    }
}

impl Codec<Vec<u8>> for Bytes {
    fn encode(&self, item: &Vec<u8>) -> Result<bytes::Bytes, BoxError> {
        Ok(bytes::Bytes::copy_from_slice(item))
    }

    fn decode(&self, payload: &[u8]) -> Result<Vec<u8>, BoxError> {
        Ok(payload.to_vec())
    }
}
