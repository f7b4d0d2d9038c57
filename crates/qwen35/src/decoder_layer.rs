//! One pre-norm decoder layer: `x += mixer(norm(x)); x += mlp(norm(x))`, where the mixer is
//! Gated DeltaNet or gated attention (`Qwen3_5DecoderLayer` in transformers).

use burn::module::Module;
use burn::tensor::Tensor;

use crate::attention::Attention;
use crate::cache::LayerCache;
use crate::config::{LayerType, Qwen35Config};
use crate::context::Context;
use crate::error::Result;
use crate::gated_delta_net::GatedDeltaNet;
use crate::nn::{Mlp, RmsNorm};
use crate::params::ParamSource;

/// A decoder layer. Exactly one of `linear_attn` and `self_attn` is set (the constructor
/// guarantees it); two `Option`s keep the checkpoint key paths unchanged.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// Norm before the token mixer.
    pub input_layernorm: RmsNorm,
    /// Gated DeltaNet mixer (linear-attention layers).
    pub linear_attn: Option<GatedDeltaNet>,
    /// Gated attention mixer (full-attention layers).
    pub self_attn: Option<Attention>,
    /// Norm before the MLP.
    pub post_attention_layernorm: RmsNorm,
    /// SwiGLU MLP.
    pub mlp: Mlp,
}

impl DecoderLayer {
    pub(crate) fn load(src: &mut ParamSource, key: &str, cfg: &Qwen35Config, kind: LayerType) -> Result<Self> {
        let (linear_attn, self_attn) = match kind {
            LayerType::LinearAttention => (Some(GatedDeltaNet::load(src, &format!("{key}.linear_attn"), cfg)?), None),
            LayerType::FullAttention => (None, Some(Attention::load(src, &format!("{key}.self_attn"), cfg)?)),
        };
        Ok(Self {
            input_layernorm: RmsNorm::load(src, &format!("{key}.input_layernorm"), cfg.hidden_size, cfg.rms_norm_eps)?,
            linear_attn,
            self_attn,
            post_attention_layernorm: RmsNorm::load(
                src,
                &format!("{key}.post_attention_layernorm"),
                cfg.hidden_size,
                cfg.rms_norm_eps,
            )?,
            mlp: Mlp::load(src, &format!("{key}.mlp"), cfg.hidden_size, cfg.intermediate_size)?,
        })
    }

    /// The kind of token mixer.
    pub fn layer_type(&self) -> LayerType {
        if self.self_attn.is_some() { LayerType::FullAttention } else { LayerType::LinearAttention }
    }

    /// # Shapes
    /// `[b, t, hidden]` -> `[b, t, hidden]`
    pub(crate) fn forward(&self, x: Tensor<3>, ctx: &Context, cache: Option<&mut LayerCache>) -> Tensor<3> {
        let normed = self.input_layernorm.forward(x.clone());
        let mixed = match (&self.linear_attn, &self.self_attn) {
            (Some(gdn), _) => gdn.forward(normed, ctx, cache),
            (None, Some(attn)) => attn.forward(normed, ctx, cache),
            (None, None) => unreachable!("DecoderLayer::load sets exactly one mixer"),
        };
        let x = x + mixed;
        let normed = self.post_attention_layernorm.forward(x.clone());
        x + self.mlp.forward(normed)
    }
}
