//! Gated softmax attention (the `full_attention` layers): GQA, q/k RMSNorm over the head dim,
//! partial RoPE, and a sigmoid output gate.
//!
//! Mirrors `Qwen3_5Attention` in transformers' `modeling_qwen3_5.py` (5.24). `q_proj` yields,
//! per head, the query followed by its gate (`[q_h0 | gate_h0 | q_h1 | gate_h1 ...]`); the
//! attention output is multiplied by `sigmoid(gate)` before `o_proj`.

use burn::module::Module;
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{DType, Tensor};

use crate::cache::LayerCache;
use crate::config::Qwen35Config;
use crate::context::Context;
use crate::error::Result;
use crate::nn::{Linear, RmsNorm};
use crate::params::ParamSource;

/// One gated attention layer's weights.
#[derive(Module, Debug)]
pub struct Attention {
    /// `[2 · heads · head_dim, hidden]`: query and gate, head-major.
    pub q_proj: Linear,
    /// `[kv_heads · head_dim, hidden]`.
    pub k_proj: Linear,
    /// `[kv_heads · head_dim, hidden]`.
    pub v_proj: Linear,
    /// `[hidden, heads · head_dim]`.
    pub o_proj: Linear,
    /// Zero-centred RMSNorm over each query head.
    pub q_norm: RmsNorm,
    /// Zero-centred RMSNorm over each key head.
    pub k_norm: RmsNorm,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads.
    pub num_kv_heads: usize,
    /// Width of each head.
    pub head_dim: usize,
}

impl Attention {
    pub(crate) fn load(src: &mut ParamSource, key: &str, cfg: &Qwen35Config) -> Result<Self> {
        let (h, q, kv, d) = (cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim);
        Ok(Self {
            q_proj: Linear::load(src, &format!("{key}.q_proj"), h, 2 * q * d)?,
            k_proj: Linear::load(src, &format!("{key}.k_proj"), h, kv * d)?,
            v_proj: Linear::load(src, &format!("{key}.v_proj"), h, kv * d)?,
            o_proj: Linear::load(src, &format!("{key}.o_proj"), q * d, h)?,
            q_norm: RmsNorm::load(src, &format!("{key}.q_norm"), d, cfg.rms_norm_eps)?,
            k_norm: RmsNorm::load(src, &format!("{key}.k_norm"), d, cfg.rms_norm_eps)?,
            num_heads: q,
            num_kv_heads: kv,
            head_dim: d,
        })
    }

    /// # Shapes
    /// `x`: `[b, t, hidden]` -> `[b, t, hidden]`. With a cache, keys and values of earlier
    /// tokens are read from it and the new ones appended.
    pub(crate) fn forward(&self, x: Tensor<3>, ctx: &Context, cache: Option<&mut LayerCache>) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (nh, nkv, hd) = (self.num_heads, self.num_kv_heads, self.head_dim);
        let dtype = x.dtype();

        // 1. Projections; split each head's [query | gate].
        let qg = self.q_proj.forward(x.clone()).reshape([b, t, nh, 2 * hd]);
        let q = qg.clone().narrow(3, 0, hd); // [b, t, nh, hd]
        let gate = qg.narrow(3, hd, hd).reshape([b, t, nh * hd]);
        let k = self.k_proj.forward(x.clone()).reshape([b, t, nkv, hd]);
        let v = self.v_proj.forward(x).reshape([b, t, nkv, hd]).swap_dims(1, 2); // [b, nkv, t, hd]

        // 2. Per-head norms, then RoPE on the first rotary dims.
        let mut q = self.q_norm.forward(q).swap_dims(1, 2); // [b, nh, t, hd]
        let mut k = self.k_norm.forward(k).swap_dims(1, 2); // [b, nkv, t, hd]
        if let Some(rope) = &ctx.rope {
            q = rope.apply(q);
            k = rope.apply(k);
        }

        // 3. Attention in f32: the fused kernel without a cache (GQA and packing inside), plain
        //    ops over the cache when generating.
        let out = match (&ctx.attn_groups, cache) {
            (Some(groups), None) => crate::kernels::causal_attention(q, k, v, groups.clone()),
            (_, cache) => self.plain_attention(q, k, v, ctx, cache),
        };
        let out = out.cast(dtype).swap_dims(1, 2).reshape([b, t, nh * hd]); // [b, t, nh*hd]

        // 4. Output gate.
        let gate = sigmoid(gate.cast(DType::F32)).cast(dtype);
        self.o_proj.forward(out * gate)
    }

    /// Softmax attention in plain ops with f32 scores, probabilities and accumulation (as fused
    /// SDPA kernels do): `q` `[b, nh, t, hd]`, `k`/`v` `[b, nkv, t, hd]` appended to the cache
    /// first; masking from `ctx.attn_bias`. Returns `[b, nh, t, hd]` in f32.
    fn plain_attention(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        ctx: &Context,
        cache: Option<&mut LayerCache>,
    ) -> Tensor<4> {
        let [b, nh, _, hd] = q.dims();
        let nkv = self.num_kv_heads;
        let (k, v) = match cache {
            Some(c) => c.append_kv(k, v),
            None => (k, v),
        };
        let total = k.dims()[2];

        // GQA: each kv head serves nh / nkv consecutive query heads.
        let rep = nh / nkv;
        let expand = |x: Tensor<4>| -> Tensor<4> {
            if rep == 1 {
                return x;
            }
            x.unsqueeze_dim::<5>(2).expand([b, nkv, rep, total, hd]).reshape([b, nh, total, hd])
        };
        let (k, v) = (expand(k), expand(v));
        let (q, k, v) = (q.cast(DType::F32), k.cast(DType::F32), v.cast(DType::F32));
        let scores = q.matmul(k.swap_dims(2, 3)) * (hd as f64).powf(-0.5); // [b, nh, t, total]
        let scores = match &ctx.attn_bias {
            Some(bias) => scores + bias.clone(),
            None => scores,
        };
        softmax(scores, 3).matmul(v)
    }
}
