//! AdamW with decoupled weight decay and bias correction, global-norm gradient clipping, and
//! gradient accumulation, over whatever parameters of a Burn module require a gradient.
//!
//! Written here rather than taken from `burn::optim` because the run needs three things it
//! does not give: clipping by the norm over *all* gradients (Burn clips each tensor), state
//! keyed by module path so a checkpoint reloads into a freshly built model (Burn keys by
//! random `ParamId`s), and PyTorch's exact update order so a step matches `torch.optim.AdamW`
//! to float rounding (`tests/optim.rs`). Moments are f32 whatever the parameter dtype, and a
//! parameter stored in bf16 (full fine-tuning with `--dtype bf16`) gets an f32 master copy that
//! the update is applied to, then rounded once into the bf16 weight: an update of lr 1e-5 is
//! below bf16's resolution (2⁻⁸ relative) and would otherwise be lost.

use std::collections::BTreeMap;

use burn::module::{Module, Param};
use burn::tensor::Gradients;
use burn::tensor::{DType, Tensor};
use serde::{Deserialize, Serialize};

use crate::walk::{self, ParamMapper, ParamVisitor};

/// AdamW hyperparameters (PyTorch's names and defaults, except where `TrainConfig` says).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// `β₁`.
    pub beta1: f64,
    /// `β₂`.
    pub beta2: f64,
    /// Added to `√v̂`.
    pub eps: f64,
    /// Decoupled decay, applied as `p ← p·(1 − lr·wd)` to parameters of rank ≥ 2 only (norm
    /// weights, biases and the GDN's per-head scalars are not decayed, as in transformers'
    /// Trainer).
    pub weight_decay: f64,
    /// Clip the global gradient norm to this value (`None`: no clipping).
    pub max_grad_norm: Option<f64>,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, max_grad_norm: Some(1.0) }
    }
}

/// First and second moments of one parameter, flattened.
#[derive(Debug, Clone)]
pub struct Moments {
    /// `m`, f32.
    pub m: Tensor<1>,
    /// `v`, f32.
    pub v: Tensor<1>,
    /// The f32 master copy of a parameter stored in a lower precision (`None` for f32 ones).
    pub master: Option<Tensor<1>>,
}

/// The optimizer: hyperparameters, step count and moments by parameter path.
#[derive(Debug, Clone)]
pub struct AdamW {
    /// Hyperparameters.
    pub config: AdamWConfig,
    /// Optimizer steps taken.
    pub step: u64,
    /// Moments by module path (`layers.0.mlp.up_proj.lora.lora_a`).
    pub state: BTreeMap<String, Moments>,
}

/// Gradients summed over micro-batches, by parameter path, flattened, without autodiff.
#[derive(Debug, Default)]
pub struct GradAccumulator {
    grads: BTreeMap<String, Tensor<1>>,
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy)]
pub struct StepStats {
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Whether clipping scaled the gradients.
    pub clipped: bool,
}

impl GradAccumulator {
    /// Adds the gradients of every trainable parameter of `model` found in `grads`.
    pub fn add<M: Module>(&mut self, model: &M, grads: &Gradients) {
        struct Collect<'a> {
            grads: &'a Gradients,
            out: &'a mut BTreeMap<String, Tensor<1>>,
        }
        impl ParamVisitor for Collect<'_> {
            fn param<const D: usize>(&mut self, path: &str, param: &Param<Tensor<D>>) {
                let value = param.val();
                if !value.is_require_grad() {
                    return;
                }
                if let Some(g) = value.grad(self.grads) {
                    let n = g.shape().num_elements();
                    let g = g.cast(DType::F32).reshape([n]);
                    let sum = match self.out.remove(path) {
                        Some(prev) => prev + g,
                        None => g,
                    };
                    self.out.insert(path.to_string(), sum);
                }
            }
        }
        walk::visit(model, &mut Collect { grads, out: &mut self.grads });
    }

    /// Adds a gradient given directly (flattened, any device without autodiff), e.g. from a
    /// custom backward or a test oracle.
    pub fn insert(&mut self, path: &str, grad: Tensor<1>) {
        let grad = grad.cast(DType::F32);
        let sum = match self.grads.remove(path) {
            Some(prev) => prev + grad,
            None => grad,
        };
        self.grads.insert(path.to_string(), sum);
    }

    /// Paths with a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// True before the first `add` that found a gradient.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }

    /// The accumulated gradient of `path`, flattened.
    pub fn get(&self, path: &str) -> Option<&Tensor<1>> {
        self.grads.get(path)
    }

    /// `‖g‖₂` over every accumulated gradient.
    pub fn global_norm(&self) -> f64 {
        let mut total: Option<Tensor<1>> = None;
        for g in self.grads.values() {
            let s = g.clone().powi_scalar(2).sum();
            total = Some(match total {
                Some(t) => t + s,
                None => s,
            });
        }
        total.map_or(0.0, |t| (t.into_scalar::<f64>()).sqrt())
    }
}

impl AdamW {
    /// A fresh optimizer.
    pub fn new(config: AdamWConfig) -> Self {
        Self { config, step: 0, state: BTreeMap::new() }
    }

    /// One update of every parameter with an accumulated gradient, at learning rate `lr`.
    /// Follows `torch.optim.AdamW` (single-tensor path): decay, moments, bias-corrected step;
    /// clipping as `torch.nn.utils.clip_grad_norm_` (scale `max / (norm + 1e-6)` when above).
    pub fn step<M: Module>(&mut self, model: M, grads: GradAccumulator, lr: f64) -> (M, StepStats) {
        let grad_norm = grads.global_norm();
        let clip = match self.config.max_grad_norm {
            Some(max) if grad_norm > max => Some(max / (grad_norm + 1e-6)),
            _ => None,
        };
        self.step += 1;
        let model = walk::map(model, &mut Update { grads, opt: self, lr, clip });
        (model, StepStats { grad_norm, lr, clipped: clip.is_some() })
    }
}

struct Update<'a> {
    grads: GradAccumulator,
    opt: &'a mut AdamW,
    lr: f64,
    clip: Option<f64>,
}

impl ParamMapper for Update<'_> {
    fn param<const D: usize>(&mut self, key: &str, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(mut g) = self.grads.grads.remove(key) else {
            return param;
        };
        if let Some(c) = self.clip {
            g = g * c;
        }
        let (id, value, mapper) = param.consume();
        let dims = value.dims();
        let dtype = value.dtype();
        let n = g.dims()[0];
        let cfg = self.opt.config;
        let stored = value.inner();
        let moments = self.opt.state.remove(key);
        let p = match moments.as_ref().and_then(|m| m.master.clone()) {
            Some(master) if dtype != DType::F32 => master,
            _ => stored.cast(DType::F32).reshape([n]),
        };
        let moments = moments.unwrap_or_else(|| Moments {
            m: Tensor::zeros([n], (&p.device(), DType::F32)),
            v: Tensor::zeros([n], (&p.device(), DType::F32)),
            master: None,
        });
        let decay = if D >= 2 { cfg.weight_decay } else { 0.0 };
        let p = if decay > 0.0 { p * (1.0 - self.lr * decay) } else { p };
        let m = moments.m.clone() + (g.clone() - moments.m) * (1.0 - cfg.beta1);
        let v = moments.v * cfg.beta2 + g.clone() * g * (1.0 - cfg.beta2);
        let t = self.opt.step as i32;
        let bc1 = 1.0 - cfg.beta1.powi(t);
        let bc2_sqrt = (1.0 - cfg.beta2.powi(t)).sqrt();
        let denom = v.clone().sqrt() / bc2_sqrt + cfg.eps;
        let p = p - m.clone() / denom * (self.lr / bc1);
        let master = (dtype != DType::F32).then(|| p.clone());
        self.opt.state.insert(key.to_string(), Moments { m, v, master });
        let updated = Tensor::from_inner(p.reshape(dims).cast(dtype)).require_grad();
        Param::from_mapped_value(id, updated, mapper)
    }
}
