//! [`Adaptive`]: the settings of a limit a stage moves itself.

use std::sync::Arc;

use crate::error::ConfigError;

/// The settings of an adaptive [`Limit`](super::Limit): its bounds, where it
/// starts, and how much latency growth it reads as a queue forming.
///
/// Built by [`Limit::adaptive`](super::Limit::adaptive); every setting has
/// a default, so `Limit::adaptive()` alone is a complete limit.
///
/// # Examples
///
/// ```
/// use weir_stage::Limit;
///
/// let limit: Limit = Limit::adaptive().min(1).max(128).initial(8).into();
/// assert_eq!(limit.initial(), 8);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adaptive {
    pub(super) min: usize,
    pub(super) max: usize,
    pub(super) initial: usize,
    pub(super) tolerance: f64,
}

impl Default for Adaptive {
    fn default() -> Adaptive {
        Adaptive {
            min: 1,
            max: 256,
            initial: 8,
            tolerance: 1.5,
        }
    }
}

impl Adaptive {
    /// The lowest the limit goes (default 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().min(4);
    /// ```
    pub fn min(mut self, n: usize) -> Adaptive {
        self.min = n;
        self
    }

    /// The highest the limit goes (default 256).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().max(64);
    /// ```
    pub fn max(mut self, n: usize) -> Adaptive {
        self.max = n;
        self
    }

    /// Where the limit starts (default 8, raised to `min` or lowered to
    /// `max` when outside them).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().initial(16);
    /// ```
    pub fn initial(mut self, n: usize) -> Adaptive {
        self.initial = n;
        self
    }

    /// How many times the no-load latency the recent latency may reach
    /// before the limit is lowered (default 1.5; at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// let _ = Limit::adaptive().tolerance(2.0);
    /// ```
    pub fn tolerance(mut self, ratio: f64) -> Adaptive {
        self.tolerance = ratio;
        self
    }

    pub(super) fn initial_value(&self) -> usize {
        self.initial.clamp(self.min.max(1), self.max.max(1))
    }

    pub(super) fn max_value(&self) -> usize {
        self.max
    }

    pub(super) fn check(&self, stage: &str, what: &'static str) -> Result<(), ConfigError> {
        let invalid = |why: String| ConfigError::Invalid {
            stage: Arc::from(stage),
            what: format!("{what}: {why}"),
        };
        if self.min == 0 {
            return Err(ConfigError::Zero {
                stage: Arc::from(stage),
                what,
            });
        }
        if self.min > self.max {
            return Err(invalid(format!(
                "adaptive min {} is above max {}",
                self.min, self.max
            )));
        }
        if !(self.tolerance >= 1.0 && self.tolerance.is_finite()) {
            return Err(invalid(format!(
                "adaptive tolerance {} must be a finite ratio of at least 1",
                self.tolerance
            )));
        }
        Ok(())
    }
}

impl Adaptive {
    /// A controller for one stage, as
    /// [`Limit::controller`](super::Limit::controller) makes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_stage::Limit;
    ///
    /// assert_eq!(Limit::adaptive().initial(6).into_controller().limit(), 6);
    /// ```
    pub fn into_controller(self) -> super::Controller {
        super::Controller::adaptive(self)
    }
}
