//! Learning-rate schedule: linear warmup from 0, then cosine decay to 0, exactly as
//! transformers' `get_cosine_schedule_with_warmup` (checked against it in `tests/optim.rs`).

use serde::{Deserialize, Serialize};

/// Warmup + cosine over `total_steps` optimizer steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Learning rate at the end of warmup.
    pub peak_lr: f64,
    /// Steps of linear warmup (the first step runs at lr 0, as in transformers).
    pub warmup_steps: usize,
    /// Steps in the whole run.
    pub total_steps: usize,
}

impl Schedule {
    /// The learning rate for optimizer step `step` (0-based).
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak_lr * step as f64 / self.warmup_steps.max(1) as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = (step - self.warmup_steps) as f64 / span;
        self.peak_lr * (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
    }
}
