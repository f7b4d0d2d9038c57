//! The small building blocks shared by every layer: a bias-free `Linear` in the checkpoint's
//! `[out, in]` layout, the token embedding, the two RMSNorm variants and the SwiGLU MLP.
//!
//! Mirrors `Qwen3_5RMSNorm`, `Qwen3_5RMSNormGated` and `Qwen3_5MLP` in transformers'
//! `modeling_qwen3_5.py`. The two norms are different maths and so different types: the layer
//! norms are zero-centred (`x̂ · (1 + w)`, w starts at 0), the GDN output norm is plain and gated
//! (`w · x̂ · silu(z)`, w starts at 1).

use burn::module::{Module, Param};
use burn::tensor::activation::silu;
use burn::tensor::{DType, Int, Tensor};

use crate::error::Result;
use crate::lora::LoraAdapter;
use crate::params::{Init, ParamSource};
pub use crate::project::project;

/// A bias-free projection with the weight stored as in PyTorch, `[out, in]`, and an optional
/// LoRA adapter (see [`crate::lora`]).
#[derive(Module, Debug)]
pub struct Linear {
    /// `[out, in]`.
    pub weight: Param<Tensor<2>>,
    /// Low-rank update added to the output when set.
    pub lora: Option<LoraAdapter>,
}

impl Linear {
    pub(crate) fn load(src: &mut ParamSource, key: &str, d_in: usize, d_out: usize) -> Result<Self> {
        Ok(Self { weight: src.param(&format!("{key}.weight"), [d_out, d_in], Init::Normal)?, lora: None })
    }

    /// `x · Wᵀ` over the last dimension, plus the adapter's `s · B·A·x` when one is attached.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match &self.lora {
            None => project(x, self.weight.val()),
            Some(lora) => project(x.clone(), self.weight.val()) + lora.forward(x),
        }
    }

    /// `(in, out)` features.
    pub fn shape(&self) -> (usize, usize) {
        let [out, d_in] = self.weight.dims();
        (d_in, out)
    }
}

/// Token embedding table `[vocab, hidden]`, also the output head when embeddings are tied.
#[derive(Module, Debug)]
pub struct Embedding {
    /// `[vocab, hidden]`.
    pub weight: Param<Tensor<2>>,
}

impl Embedding {
    pub(crate) fn load(src: &mut ParamSource, key: &str, vocab: usize, hidden: usize) -> Result<Self> {
        Ok(Self { weight: src.param(&format!("{key}.weight"), [vocab, hidden], Init::Normal)? })
    }

    /// # Shapes
    /// ids `[b, t]` -> `[b, t, hidden]`
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        burn::tensor::module::embedding(self.weight.val(), ids)
    }
}

/// `x / sqrt(mean(x²) + eps)` in f32, the shared core of both norms.
fn normalize<const D: usize>(x: Tensor<D>, eps: f64) -> Tensor<D> {
    let x = x.cast(DType::F32);
    let var = x.clone().powi_scalar(2).mean_dim(D - 1);
    x * (var + eps).sqrt().recip()
}

/// Zero-centred RMSNorm: `x̂ · (1 + w)`, computed in f32 and cast back to the input dtype.
#[derive(Module, Debug)]
pub struct RmsNorm {
    /// `[dim]`, stored near zero.
    pub weight: Param<Tensor<1>>,
    /// Added to the mean square.
    pub eps: f64,
}

impl RmsNorm {
    pub(crate) fn load(src: &mut ParamSource, key: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self { weight: src.param(&format!("{key}.weight"), [dim], Init::Zeros)?, eps })
    }

    /// Normalises over the last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dtype = x.dtype();
        let w = self.weight.val().cast(DType::F32) + 1.0;
        (normalize(x, self.eps) * w.unsqueeze::<D>()).cast(dtype)
    }
}

/// Gated RMSNorm of the GDN output: `w · x̂ · silu(z)`, not zero-centred, one weight per value
/// head width shared by all heads.
#[derive(Module, Debug)]
pub struct RmsNormGated {
    /// `[head_v_dim]`, stored near one.
    pub weight: Param<Tensor<1>>,
    /// Added to the mean square.
    pub eps: f64,
}

impl RmsNormGated {
    pub(crate) fn load(src: &mut ParamSource, key: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self { weight: src.param(&format!("{key}.weight"), [dim], Init::Ones)?, eps })
    }

    /// Normalises `x` over the last dimension and gates it with `silu(gate)`; the rounding
    /// follows transformers (normalised value cast to the input dtype before the weight).
    pub fn forward<const D: usize>(&self, x: Tensor<D>, gate: Tensor<D>) -> Tensor<D> {
        let dtype = x.dtype();
        let normed = normalize(x, self.eps).cast(dtype) * self.weight.val().unsqueeze::<D>();
        (normed.cast(DType::F32) * silu_f32(gate)).cast(dtype)
    }
}

/// SwiGLU feed-forward: `down(silu(gate(x)) * up(x))`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// `[intermediate, hidden]`.
    pub gate_proj: Linear,
    /// `[intermediate, hidden]`.
    pub up_proj: Linear,
    /// `[hidden, intermediate]`.
    pub down_proj: Linear,
}

impl Mlp {
    pub(crate) fn load(src: &mut ParamSource, key: &str, hidden: usize, inter: usize) -> Result<Self> {
        Ok(Self {
            gate_proj: Linear::load(src, &format!("{key}.gate_proj"), hidden, inter)?,
            up_proj: Linear::load(src, &format!("{key}.up_proj"), hidden, inter)?,
            down_proj: Linear::load(src, &format!("{key}.down_proj"), inter, hidden)?,
        })
    }

    /// # Shapes
    /// `[b, t, hidden]` -> `[b, t, hidden]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.down_proj.forward(silu_rounded(self.gate_proj.forward(x.clone())) * self.up_proj.forward(x))
    }
}

/// `silu(x)` computed in f32 and rounded once to the input dtype, as PyTorch's bf16 kernels do
/// (`x * sigmoid(x)` in bf16 would round twice).
pub fn silu_rounded<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let dtype = x.dtype();
    silu_f32(x).cast(dtype)
}

/// `silu(x)` in f32: the CPU kernel where [`crate::kernel_choice`] says so, else Burn's.
fn silu_f32<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let x = x.cast(DType::F32);
    if crate::kernel_choice().cpu_silu(&x.device()) { crate::kernels::silu(x) } else { silu(x) }
}
