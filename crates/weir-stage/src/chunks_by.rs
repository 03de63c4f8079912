//! [`chunks_by`]: runs of consecutive items with equal keys, as `Vec`s.

use weir_core::chan::Receiver;

use crate::driver::BATCH;
use crate::engine::Door;
use crate::scope::{Role, Scope};

/// Groups consecutive items whose `key` is equal into one `Vec`: a new
/// group starts whenever the key changes (`slice::chunk_by` over a
/// stream; the lines of one request, the events of one session in a
/// sorted log). Items with equal keys that are not adjacent land in
/// different groups: group by key over the whole stream with a keyed
/// window instead.
///
/// A group is sent once the first item of the next group arrives, or when
/// the input ends: the last group is sent then, not lost (this is also what
/// flushes it on a graceful [`OwnedScope::shutdown`](crate::OwnedScope::shutdown)).
/// It is therefore a stage with a task of its own, not fused: a fused step
/// cannot see the end of its input. No group is empty; a group's memory is
/// not bounded by the stage (a long run of one key is one big `Vec`).
///
/// Order: input order, within and across groups.
///
/// When every receiver of the output is dropped, the stage stops and drops
/// its input, which stops the upstream stage in turn; the open group is
/// dropped.
///
/// # Panics
///
/// Outside a tokio runtime, like [`tokio::spawn`]. A panic in `key` becomes
/// [`Error::Panicked`](crate::Error::Panicked) naming this stage.
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
/// let log = stage::generate(&scope, [(1, "open"), (1, "read"), (2, "open"), (1, "close")]);
/// let runs = stage::chunks_by(&scope, log, |(session, _)| *session);
/// let all = stage::collect::<_, Vec<_>>(&scope, runs).await.unwrap();
/// assert_eq!(all, [
///     vec![(1, "open"), (1, "read")],
///     vec![(2, "open")],
///     vec![(1, "close")],
/// ]);
/// # }
/// ```
pub fn chunks_by<T, K, F>(scope: &Scope, input: Receiver<T>, mut key: F) -> Receiver<Vec<T>>
where
    T: Send + 'static,
    K: PartialEq + Send + 'static,
    F: FnMut(&T) -> K + Send + 'static,
{
    let (tx, rx) = scope.channel();
    scope.spawn_stage("chunks_by", Role::Stage, move |_| async move {
        let door = Door::new(&input, &tx);
        let (mut buf, mut out) = (Vec::with_capacity(BATCH), Vec::new());
        let mut group: Vec<T> = Vec::new();
        let mut current: Option<K> = None;
        loop {
            match door.recv(&mut buf, BATCH).await {
                Some(0) => break,
                Some(_) => {
                    for item in buf.drain(..) {
                        let k = key(&item);
                        if current.as_ref() != Some(&k) {
                            if !group.is_empty() {
                                out.push(std::mem::take(&mut group));
                            }
                            current = Some(k);
                        }
                        group.push(item);
                    }
                    if !door.flush(&mut out).await {
                        return Ok(());
                    }
                }
                None => return Ok(()),
            }
        }
        if !group.is_empty() {
            door.send_one(group).await;
        }
        Ok(())
    });
    rx
}
