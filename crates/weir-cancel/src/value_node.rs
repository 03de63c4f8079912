//! The chain of typed values a [`Context`](crate::Context) carries (Go's
//! `context.WithValue`): each node holds one value and points at the
//! values of the context it was made from.

use std::any::Any;
use std::sync::Arc;

/// One value in a context's chain of values.
pub(crate) struct ValueNode {
    value: Box<dyn Any + Send + Sync>,
    parent: Option<Arc<ValueNode>>,
}

impl ValueNode {
    /// `value` in front of the chain `parent`.
    pub(crate) fn new(value: Box<dyn Any + Send + Sync>, parent: Option<Arc<ValueNode>>) -> Self {
        ValueNode { value, parent }
    }

    /// The nearest value of type `T` from `node` towards the root.
    pub(crate) fn find<T: 'static>(mut node: Option<&ValueNode>) -> Option<&T> {
        while let Some(current) = node {
            if let Some(value) = current.value.downcast_ref::<T>() {
                return Some(value);
            }
            node = current.parent.as_deref();
        }
        None
    }
}

impl Drop for ValueNode {
    fn drop(&mut self) {
        // Unwind a long chain without recursion.
        let mut next = self.parent.take();
        while let Some(parent) = next {
            match Arc::try_unwrap(parent) {
                Ok(mut parent) => next = parent.parent.take(),
                Err(_) => break,
            }
        }
    }
}
