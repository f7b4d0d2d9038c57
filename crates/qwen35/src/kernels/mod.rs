//! Fused kernels, one file per kernel. Each file holds the kernel's Burn backend extension
//! trait, the differentiable function the model calls, the autodiff implementation with its
//! handwritten backward, the plain-Rust version for `flex` and the CubeCL version for the GPU
//! runtimes (wgpu, CUDA):
//!
//! | kernel | file | CPU (`flex`) | GPU (CubeCL) |
//! |---|---|---|---|
//! | causal attention (GQA, packing groups) | [`causal_attention`](mod@causal_attention) | ✓ | ✓ |
//! | `(I + A)⁻¹` of the chunked delta rule | [`unit_lower_inverse`](mod@unit_lower_inverse) | ✓ | ✓ |
//! | the delta rule's pass over chunks | [`chunk_states`](mod@chunk_states) | ✓ | ✓ |
//! | the whole delta rule (token by token, or chunks of GEMMs for large states) | [`gated_delta_rule`](mod@gated_delta_rule) | ✓ | — |
//! | `x · Wᵀ` and its backward (every projection) | [`projection`](mod@projection) | ✓ | Burn's matmul |
//! | `silu(x)` with a vectorised `e^x` | [`silu`](mod@silu) | ✓ | — |
//!
//! Which form runs (a fused kernel or Burn's plain ops) is decided in one place,
//! [`kernel_choice`](mod@crate::kernel_choice). The plain-op versions in [`crate::gated_delta_rule`] and
//! [`crate::attention`] stay as the reference the tests hold these to.
//!
//! Burn's `fusion` feature is off in this workspace (so `Cube` is the bare `CubeBackend`);
//! turning it on needs `Fusion` in the extensions' backend lists.

pub mod causal_attention;
pub mod chunk_states;
#[cfg(feature = "cube")]
mod cube_ops;
#[cfg(feature = "flex")]
mod flex_ops;
pub mod gated_delta_rule;
pub mod projection;
pub mod silu;
pub mod unit_lower_inverse;

pub use causal_attention::{CausalAttention, CausalAttentionGrads, causal_attention};
pub use chunk_states::{ChunkStates, ChunkStatesGrads, chunk_states};
pub use gated_delta_rule::{GatedDeltaRule, GatedDeltaRuleGrads, gated_delta_rule};
pub use projection::{FEW_ROWS, Projection, ProjectionGrads, project};
pub use silu::{Silu, SiluGrads, silu};
pub use unit_lower_inverse::{UnitLowerInverse, unit_lower_inverse};

/// Whether the CPU-only kernels ([`gated_delta_rule()`]) run on `device`
/// (the `flex` CPU backend, with or without autodiff).
pub fn has_cpu_kernels(device: &burn::tensor::Device) -> bool {
    #[cfg(feature = "flex")]
    {
        matches!(device.clone().without_autodiff().as_dispatch(), burn::backend::DispatchDevice::Flex(_))
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}
