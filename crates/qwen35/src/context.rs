//! What every layer needs to know about the batch besides the hidden states: positions, which
//! tokens are padding, and where packed examples begin. Built once per forward in `model.rs`.

use burn::tensor::Tensor;

use crate::rope::Rope;

/// Per-forward tensors shared by all layers.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// RoPE tables for the new tokens (only when the model has attention layers).
    pub rope: Option<Rope>,
    /// Additive attention bias `[b or 1, 1, t, cached + t]` in f32: 0 where a query may attend,
    /// a large negative number elsewhere (causal, padding and packing in one).
    pub attn_bias: Option<Tensor<4>>,
    /// `[b, t]` group ids for the fused attention kernel (runs of equal ids see each other,
    /// causally; each padding token is its own run). Set instead of `attn_bias` when there is
    /// no cache.
    pub attn_groups: Option<Tensor<2>>,
    /// `[b, t, 1]` 1 for real tokens, 0 for padding; `None` when there is no padding.
    pub valid: Option<Tensor<3>>,
    /// `[b, t, kernel-1]`: entry `s-1` is 1 when the token `s` steps back is in the same packed
    /// example (and 0 where the conv window would cross a boundary); `None` when unpacked.
    pub conv_keep: Option<Tensor<3>>,
    /// `[b, t]` segment ids as f32 for packed rows; `None` when unpacked.
    pub segments: Option<Tensor<2>>,
}
