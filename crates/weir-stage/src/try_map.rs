//! [`try_map`]: a fallible one-to-one transform.

use weir_core::chan::Receiver;

use crate::driver::pump;
use crate::error::BoxError;
use crate::scope::{Role, Scope};

/// Applies the fallible `f` to every item and sends the `Ok` values on.
///
/// An `Err` is handled by the scope's policy: by default it fails the stage
/// and cancels the scope ([`Error::Failed`](crate::Error::Failed) naming
/// this stage); under
/// [`collect_errors`](crate::ScopeBuilder::collect_errors) it is recorded,
/// the item is skipped and the stage keeps going.
///
/// Order: output order is input order.
///
/// # Examples
///
/// ```
/// use weir_cancel::Context;
/// use weir_stage::{self as stage, Scope};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let scope = Scope::new(&Context::background());
/// let text = stage::generate(&scope, ["1", "2", "x"]);
/// let nums = stage::try_map(&scope.named("parse"), text, str::parse::<u8>);
/// let all = stage::collect::<_, Vec<_>>(&scope, nums);
/// let err = scope.wait().await.unwrap_err();
/// assert_eq!(err.to_string(), "stage `parse` failed: invalid digit found in string");
/// assert!(all.await.is_err());
/// # }
/// ```
pub fn try_map<T, U, E, F>(scope: &Scope, input: Receiver<T>, mut f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    E: Into<BoxError>,
    F: FnMut(T) -> Result<U, E> + Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("try_map", Role::Stage, move |stage| {
        pump(input, tx, move |batch, out| {
            for item in batch {
                match f(item) {
                    Ok(v) => out.push(v),
                    Err(e) => {
                        stage.report(e.into());
                        if stage.context().is_cancelled() {
                            break;
                        }
                    }
                }
            }
            Ok(())
        })
    });
    rx
}
