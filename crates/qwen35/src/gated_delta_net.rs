//! Gated DeltaNet layer (the `linear_attention` layers): projections, causal depthwise
//! convolution, the gated delta rule and a gated RMSNorm.
//!
//! Mirrors `Qwen3_5GatedDeltaNet` in transformers' `modeling_qwen3_5.py` (5.24). `in_proj_qkv`
//! rows are q, k, v contiguous (no per-head regrouping, unlike Qwen3-Next). With more value
//! heads than key heads, value head j reads key head `j / (Hv / Hk)`. The decay and write
//! strength are `g = −exp(A_log) · softplus(a + dt_bias)` and `β = sigmoid(b)`, and everything
//! inside the rule runs in f32 whatever the weight dtype.

// `A_log` is the checkpoint key; the Module derive repeats field names in generated code.
#![allow(non_snake_case)]

use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{DType, Tensor};

use crate::cache::LayerCache;
use crate::config::Qwen35Config;
use crate::context::Context;
use crate::error::Result;
use crate::gated_delta_rule::{self, RuleInput};
use crate::nn::{Linear, RmsNormGated, silu_rounded};
use crate::params::{Init, ParamSource};

/// Depthwise causal convolution weights, `[channels, 1, kernel]` as in `nn.Conv1d`.
#[derive(Module, Debug)]
pub struct DepthwiseConv {
    /// `[channels, 1, kernel]`.
    pub weight: Param<Tensor<3>>,
}

/// One Gated DeltaNet layer's weights.
#[derive(Module, Debug)]
pub struct GatedDeltaNet {
    /// `[2 · Hk · dk + Hv · dv, hidden]`: q, k, v.
    pub in_proj_qkv: Linear,
    /// `[Hv · dv, hidden]`: the output gate z.
    pub in_proj_z: Linear,
    /// `[Hv, hidden]`: β before the sigmoid.
    pub in_proj_b: Linear,
    /// `[Hv, hidden]`: the decay input a.
    pub in_proj_a: Linear,
    /// Causal depthwise conv over q, k, v.
    pub conv1d: DepthwiseConv,
    /// `[Hv]`: log of the decay rate.
    pub A_log: Param<Tensor<1>>,
    /// `[Hv]`: bias of the softplus time step.
    pub dt_bias: Param<Tensor<1>>,
    /// Gated RMSNorm over each value head.
    pub norm: RmsNormGated,
    /// `[hidden, Hv · dv]`.
    pub out_proj: Linear,
    /// Key heads.
    pub num_k_heads: usize,
    /// Value heads.
    pub num_v_heads: usize,
    /// Key head width.
    pub head_k_dim: usize,
    /// Value head width.
    pub head_v_dim: usize,
}

impl GatedDeltaNet {
    pub(crate) fn load(src: &mut ParamSource, key: &str, cfg: &Qwen35Config) -> Result<Self> {
        let h = cfg.hidden_size;
        let (hk, hv, dk, dv) =
            (cfg.linear_num_key_heads, cfg.linear_num_value_heads, cfg.linear_key_head_dim, cfg.linear_value_head_dim);
        let conv_dim = cfg.linear_conv_dim();
        Ok(Self {
            in_proj_qkv: Linear::load(src, &format!("{key}.in_proj_qkv"), h, conv_dim)?,
            in_proj_z: Linear::load(src, &format!("{key}.in_proj_z"), h, hv * dv)?,
            in_proj_b: Linear::load(src, &format!("{key}.in_proj_b"), h, hv)?,
            in_proj_a: Linear::load(src, &format!("{key}.in_proj_a"), h, hv)?,
            conv1d: DepthwiseConv {
                weight: src.param(
                    &format!("{key}.conv1d.weight"),
                    [conv_dim, 1, cfg.linear_conv_kernel_dim],
                    Init::Normal,
                )?,
            },
            A_log: src.param(&format!("{key}.A_log"), [hv], Init::ALog)?,
            dt_bias: src.param(&format!("{key}.dt_bias"), [hv], Init::Ones)?,
            norm: RmsNormGated::load(src, &format!("{key}.norm"), dv, cfg.rms_norm_eps)?,
            out_proj: Linear::load(src, &format!("{key}.out_proj"), hv * dv, h)?,
            num_k_heads: hk,
            num_v_heads: hv,
            head_k_dim: dk,
            head_v_dim: dv,
        })
    }

    /// # Shapes
    /// `x`: `[b, t, hidden]` -> `[b, t, hidden]`. With a cache, the conv window and the
    /// recurrent state continue from earlier tokens and are updated.
    pub(crate) fn forward(&self, x: Tensor<3>, ctx: &Context, mut cache: Option<&mut LayerCache>) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (hk, hv, dk, dv) = (self.num_k_heads, self.num_v_heads, self.head_k_dim, self.head_v_dim);
        let dtype = x.dtype();
        // Padding tokens become zero inputs: zero q/k/v write nothing, so a left-padded row ends
        // in the same state as the unpadded one.
        let x = match &ctx.valid {
            Some(valid) => x * valid.clone().cast(dtype),
            None => x,
        };

        // 1. Projections.
        let qkv = self.in_proj_qkv.forward(x.clone()); // [b, t, conv_dim]
        let z = self.in_proj_z.forward(x.clone()).reshape([b, t, hv, dv]);
        let beta_in = self.in_proj_b.forward(x.clone()); // [b, t, hv]
        let a = self.in_proj_a.forward(x); // [b, t, hv]

        // 2. Causal depthwise conv + SiLU, continuing the cached window.
        let qkv = silu_rounded(self.causal_conv(qkv, ctx, cache.as_deref_mut()));

        // 3. Split heads, L2-normalise q and k in f32, expand key heads to value heads.
        let key_dim = hk * dk;
        let q = qkv.clone().narrow(2, 0, key_dim).reshape([b, t, hk, dk]).cast(DType::F32);
        let k = qkv.clone().narrow(2, key_dim, key_dim).reshape([b, t, hk, dk]).cast(DType::F32);
        let v = qkv.narrow(2, 2 * key_dim, hv * dv).reshape([b, t, hv, dv]).cast(DType::F32);
        let rep = hv / hk;
        let heads = |x: Tensor<4>| -> Tensor<4> {
            let x = l2_normalize(x);
            let x =
                if rep == 1 { x } else { x.unsqueeze_dim::<5>(3).expand([b, t, hk, rep, dk]).reshape([b, t, hv, dk]) };
            x.swap_dims(1, 2) // [b, hv, t, dk]
        };
        let (q, k) = (heads(q), heads(k));
        let v = v.swap_dims(1, 2); // [b, hv, t, dv]

        // 4. Write strength and decay (f32).
        let beta = sigmoid(beta_in).cast(DType::F32).swap_dims(1, 2); // [b, hv, t]
        let a_log = self.A_log.val().cast(DType::F32).exp().unsqueeze::<3>();
        let dt = self.dt_bias.val().cast(DType::F32).unsqueeze::<3>();
        let g = (a_log.neg() * softplus(a.cast(DType::F32) + dt, 1.0)).swap_dims(1, 2); // [b, hv, t]

        // 5. The rule: chunked for prompts and training, recurrent for one-token decode steps.
        //    Without a cache on a CPU backend, the CPU rule kernel (no state out).
        let out = if cache.is_none() && crate::kernel_choice().cpu_rule_kernel(&q.device()) {
            let segments = ctx.segments.clone().unwrap_or_else(|| Tensor::zeros([b, t], (&q.device(), DType::F32)));
            crate::kernels::gated_delta_rule(q, k, v, g, beta, segments)
        } else {
            let initial_state = cache.as_ref().and_then(|c| c.state.clone());
            let input = RuleInput { q, k, v, g, beta, initial_state, segments: ctx.segments.clone() };
            let (out, state) = if t == 1 && input.initial_state.is_some() {
                gated_delta_rule::recurrent(input)
            } else {
                gated_delta_rule::chunked_with_kernels(input, crate::kernel_choice().fused_chunk())
            };
            if let Some(c) = cache {
                c.state = Some(state);
            }
            out
        };

        // 6. Gated RMSNorm per value head, then the output projection.
        let out = out.swap_dims(1, 2).cast(dtype); // [b, t, hv, dv]
        let out = self.norm.forward(out, z).reshape([b, t, hv * dv]);
        self.out_proj.forward(out)
    }

    /// `out[t] = Σ_k w[k] · x[t − (K−1) + k]`: four shifted multiply-adds, which makes resets
    /// at packing boundaries a mask on each shift.
    fn causal_conv(&self, x: Tensor<3>, ctx: &Context, cache: Option<&mut LayerCache>) -> Tensor<3> {
        let [b, t, c] = x.dims();
        let w = self.conv1d.weight.val(); // [c, 1, K]
        let kernel = w.dims()[2];
        let history = match cache.as_ref().and_then(|c| c.conv.clone()) {
            Some(h) => h,
            None => Tensor::zeros([b, kernel - 1, c], (&x.device(), x.dtype())),
        };
        let dtype = x.dtype();
        let padded = Tensor::cat(vec![history, x], 1); // [b, K-1+t, c]
        if let Some(cache) = cache {
            cache.conv = Some(padded.clone().narrow(1, t, kernel - 1));
        }
        // Accumulate in f32 and round once, like PyTorch's conv1d.
        let padded = padded.cast(DType::F32);
        let w = w.cast(DType::F32);
        let mut out: Option<Tensor<3>> = None;
        for k in 0..kernel {
            let shift = kernel - 1 - k; // how many tokens back this tap reads
            let wk = w.clone().narrow(2, k, 1).reshape([1, 1, c]);
            let mut term = padded.clone().narrow(1, k, t) * wk;
            if let (Some(keep), true) = (&ctx.conv_keep, shift > 0) {
                term = term * keep.clone().narrow(2, shift - 1, 1);
            }
            out = Some(match out {
                Some(o) => o + term,
                None => term,
            });
        }
        out.unwrap_or_else(|| Tensor::zeros([b, t, c], (&padded.device(), DType::F32))).cast(dtype)
    }
}

/// `x / sqrt(Σx² + 1e-6)` over the last dim (fla's and transformers' l2norm).
fn l2_normalize(x: Tensor<4>) -> Tensor<4> {
    let norm = x.clone().powi_scalar(2).sum_dim(3);
    x * (norm + 1e-6).sqrt().recip()
}
