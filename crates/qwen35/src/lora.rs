//! LoRA adapters on the decoder's projections: the configuration and the trainable pair.
//!
//! An adapted projection computes `x·Wᵀ + s·(drop(x)·Aᵀ)·Bᵀ` with `A` `[r, in]`, `B` `[out, r]`
//! and `s = alpha / r` (or `alpha / √r` with rsLoRA), as PEFT's `lora.Linear` does. The update
//! is never materialised as a dense `[out, in]` matrix: Burn's own `Module::apply_lora` builds
//! `W + s·B·A` on every forward, which costs `in·out` memory and FLOPs per adapted matrix per
//! step; here the adapter costs `r·(in + out)` per token.
//!
//! Adapter weights are kept in f32 whatever the base dtype (the base is frozen, so a bf16 base
//! plus f32 adapters and f32 optimizer state is the usual mixed scheme).
//!
//! Attaching, listing and merging adapters on a model: [`crate::adapters`]. Reading and
//! writing them in PEFT's layout: [`crate::peft`].

use burn::module::{Module, Param};
use burn::tensor::{DType, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Qwen35Error, Result};
use crate::project::project;

/// The projections adapted by default: attention q/k/v/o, the GDN input/output projections
/// that carry the token mix (not the per-head scalars `in_proj_a`/`in_proj_b`, which serving
/// stacks tend to drop), and the MLP.
pub const DEFAULT_TARGETS: [&str; 10] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "in_proj_qkv",
    "in_proj_z",
    "out_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// Every projection inside the decoder layers (PEFT's `all-linear` also leaves out the head).
pub const ALL_LINEAR: [&str; 12] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "in_proj_qkv",
    "in_proj_z",
    "in_proj_a",
    "in_proj_b",
    "out_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// Rank, scaling, dropout and targets of a LoRA run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank `r` of `A` `[r, in]` and `B` `[out, r]`.
    pub rank: usize,
    /// `alpha`: the update is scaled by `alpha / r` (`alpha / √r` with rsLoRA).
    pub alpha: f64,
    /// Dropout on the adapter's input during training (PEFT's `lora_dropout`).
    pub dropout: f64,
    /// Rank-stabilised scaling `alpha / √r`.
    pub rslora: bool,
    /// Projection names (the last path component), or `["all-linear"]`.
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: 16,
            alpha: 32.0,
            dropout: 0.05,
            rslora: false,
            targets: DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl LoraConfig {
    /// The multiplier `s` of `B·A`.
    pub fn scale(&self) -> f64 {
        if self.rslora { self.alpha / (self.rank as f64).sqrt() } else { self.alpha / self.rank as f64 }
    }

    /// Target names with `all-linear` expanded; unknown names are an error (a typo would
    /// otherwise train nothing).
    pub fn target_names(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for t in &self.targets {
            if t == "all-linear" {
                out.extend(ALL_LINEAR.iter().map(|s| s.to_string()));
            } else if ALL_LINEAR.contains(&t.as_str()) {
                out.push(t.clone());
            } else {
                return Err(Qwen35Error::InvalidInput(format!(
                    "unknown LoRA target {t:?}; valid: all-linear, {}",
                    ALL_LINEAR.join(", ")
                )));
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(Qwen35Error::InvalidInput("LoRA needs at least one target module".into()));
        }
        if self.rank == 0 {
            return Err(Qwen35Error::InvalidInput("LoRA rank must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Qwen35Error::InvalidInput(format!("LoRA dropout {} is not in [0, 1)", self.dropout)));
        }
        Ok(out)
    }
}

/// The trainable pair of one adapted projection.
#[derive(Module, Debug)]
pub struct LoraAdapter {
    /// `[r, in]`, PEFT's `lora_A.weight`.
    pub lora_a: Param<Tensor<2>>,
    /// `[out, r]`, PEFT's `lora_B.weight`; starts at zero so the adapted model starts equal to
    /// the base.
    pub lora_b: Param<Tensor<2>>,
    /// `s`.
    pub scale: f64,
    /// Input dropout probability, applied only while the adapter is being trained.
    pub dropout: f64,
}

impl LoraAdapter {
    /// `s · B·A·drop(x)`, computed in the adapter's dtype and returned in `x`'s.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dtype = x.dtype();
        let a = self.lora_a.val();
        let mut x = x.cast(a.dtype());
        if self.dropout > 0.0 && a.is_require_grad() {
            let keep = 1.0 - self.dropout;
            let mask = Tensor::<D>::random(x.dims(), Distribution::Bernoulli(keep), &x.device());
            x = x * mask.cast(a.dtype()) / keep;
        }
        (project(project(x, a), self.lora_b.val()) * self.scale).cast(dtype)
    }

    /// The dense update `s·B·A` `[out, in]` in f32.
    pub fn delta(&self) -> Tensor<2> {
        self.lora_b.val().cast(DType::F32).matmul(self.lora_a.val().cast(DType::F32)) * self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_and_target_validation() {
        let mut c = LoraConfig { rank: 16, alpha: 32.0, ..Default::default() };
        assert_eq!(c.scale(), 2.0);
        c.rslora = true;
        assert_eq!(c.scale(), 8.0);
        c.targets = vec!["all-linear".into()];
        assert_eq!(c.target_names().unwrap().len(), 12);
        c.targets = vec!["qproj".into()];
        assert!(c.target_names().unwrap_err().to_string().contains("qproj"));
    }
}
