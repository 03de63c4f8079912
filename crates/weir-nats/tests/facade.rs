//! `weir::nats` (the facade's `nats` feature) is this crate: the very same
//! items, not copies, so code using either path interoperates.

/// Compiles only if `$a` and `$b` are the same type.
macro_rules! same_type {
    ($($a:ty => $b:ty),+ $(,)?) => {
        $( let _ = |x: $a| -> $b { x }; )+
    };
}

#[test]
fn weir_nats_is_reexported_as_weir_nats() {
    same_type! {
        weir::nats::Pool => weir_nats::Pool,
        weir::nats::LagProbe => weir_nats::LagProbe,
        weir::nats::Error => weir_nats::Error,
        weir::nats::RemoteError => weir_nats::RemoteError,
        weir::nats::Delivery<u8> => weir_nats::Delivery<u8>,
        weir::nats::Source<u8, weir::nats::Json> => weir_nats::Source<u8, weir_nats::Json>,
        weir::nats::Publisher<u8, weir::nats::Json> => weir_nats::Publisher<u8, weir_nats::Json>,
        weir::nats::Remote<u8, u8, weir::nats::Json> => weir_nats::Remote<u8, u8, weir_nats::Json>,
        weir::nats::async_nats::Client => async_nats::Client,
    }
}
