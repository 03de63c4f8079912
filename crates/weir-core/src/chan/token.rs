//! The token a waiting `select` shares between its cases: Go's
//! `selectgo` "done" flag, crossbeam's `Context`.
//!
//! A select waiting on several channels leaves one waiter on each, all
//! holding the same [`Token`]. A counterpart (a send for a receive case, a
//! receive for a send case) must [claim](Token::claim) the token before it
//! hands over or takes an item; the claim is a compare-and-swap from
//! `WAITING`, so at most one case of a select ever fires. The select itself
//! [aborts](Token::abort) the token before it gives up waiting (to look at
//! its cases again, or when it is dropped): after a successful abort no
//! counterpart can claim it, and a failed abort names the case that fired.
//!
//! A plain `send`/`recv` future is the one-case special case: its waiter
//! is owned under the channel's lock alone, so it carries no token (see
//! [`Claim`]) and is always claimable.

use crate::loom::{Arc, AtomicUsize, Ordering};

const WAITING: usize = 0;
const ABORTED: usize = 1;
/// `CLAIMED + i`: case `i` fired.
const CLAIMED: usize = 2;

/// A select's shared state (see the module docs).
#[derive(Debug)]
pub(crate) struct Token {
    state: AtomicUsize,
}

impl Token {
    pub(crate) fn new() -> Token {
        Token {
            state: AtomicUsize::new(WAITING),
        }
    }

    /// Whether a counterpart could still claim it.
    pub(crate) fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Acquire) == WAITING
    }

    /// Claims the token for case `case`: `true` if this call won it.
    pub(crate) fn claim(&self, case: usize) -> bool {
        #[cfg(loom)]
        if super::loom_control::claim_broken() {
            // The broken variant for loom's positive control: mark the
            // token without the compare-and-swap, so a second counterpart
            // claims a token already claimed.
            self.state.store(CLAIMED + case, Ordering::Release);
            return true;
        }
        self.state
            .compare_exchange(WAITING, CLAIMED + case, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Stops waiting: `Ok` if nothing fired, else the case that did.
    pub(crate) fn abort(&self) -> Result<(), usize> {
        match self
            .state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(ABORTED) => Ok(()),
            Err(claimed) => Err(claimed - CLAIMED),
        }
    }
}

/// Who may take a waiter's item, or hand it one: `None` for a plain
/// future (anyone, under the channel's lock), else the select's token and
/// the case this waiter is.
pub(crate) type Claim = Option<(Arc<Token>, usize)>;

/// Whether a counterpart could claim this waiter now.
#[inline]
pub(crate) fn claimable(claim: &Claim) -> bool {
    match claim {
        None => true,
        Some((token, _)) => token.is_waiting(),
    }
}

/// Claims this waiter for a hand-over: `true` if the caller may go on.
#[inline]
pub(crate) fn try_claim(claim: &Claim) -> bool {
    match claim {
        None => true,
        Some((token, case)) => token.claim(*case),
    }
}
