//! An adaptive pool's resizer: a helper task that follows the limit.

use super::PoolHandle;
use crate::limit::Controller;

/// Resizes `pool` to every new value of `limit`, until the pool ends (its
/// guard cancels this helper) or the scope does.
pub(super) async fn follow(limit: Controller, pool: PoolHandle) {
    let mut seen = limit.limit();
    loop {
        seen = limit.changed(seen).await;
        // An adaptive limit is at least its min, which is at least 1, so
        // the resize cannot fail.
        let _ = pool.resize(seen);
    }
}
