//! Typed values: Go's `context.WithValue`, keyed by type.

use std::sync::Arc;

use crate::context::Context;
use crate::value_node::ValueNode;

impl Context {
    /// A child carrying `value`, found by its type: Go's
    /// `context.WithValue`, with the type as the key.
    ///
    /// The child is cancelled with this context and has the same deadline.
    /// Use a newtype per meaning (`struct RequestId(u64)`) rather than bare
    /// `u64` or `String`, as Go advises unexported key types. Values are for
    /// request-scoped data that crosses API boundaries, not for optional
    /// parameters.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct RequestId(u64);
    ///
    /// let ctx = Context::background().with_value(RequestId(7));
    /// assert_eq!(ctx.value::<RequestId>(), Some(&RequestId(7)));
    /// ```
    pub fn with_value<T: Send + Sync + 'static>(&self, value: T) -> Context {
        Context {
            cancel: self.cancel.clone(),
            deadline: self.deadline,
            deadline_cause: self.deadline_cause.clone(),
            values: Some(Arc::new(ValueNode::new(
                Box::new(value),
                self.values.clone(),
            ))),
        }
    }

    /// The nearest value of type `T` along the chain, or `None`: Go's
    /// `ctx.Value(key)`.
    ///
    /// The lookup walks from this context towards the root, so a value set
    /// on a child shadows one of the same type set on an ancestor. It costs
    /// one step per value in the chain.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_cancel::Context;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct User(&'static str);
    ///
    /// let parent = Context::background().with_value(User("ada"));
    /// let child = parent.with_value(User("grace")).with_value(42u32);
    /// assert_eq!(child.value::<User>(), Some(&User("grace")), "nearest wins");
    /// assert_eq!(parent.value::<User>(), Some(&User("ada")));
    /// assert_eq!(parent.value::<u32>(), None);
    /// ```
    pub fn value<T: Send + Sync + 'static>(&self) -> Option<&T> {
        ValueNode::find(self.values.as_deref())
    }
}
