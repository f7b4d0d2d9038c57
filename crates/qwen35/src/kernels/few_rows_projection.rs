//! `x · Wᵀ` for a handful of rows: decoding, where each step projects one token per sequence.
//! On `flex` the `gemm` crate packs the weight for every call, which costs more than the
//! product when the rows are few (8 rows against the 0.8B model's 248,320 × 1,024 head: 166 ms,
//! against 114 ms for PyTorch); here each weight row is read once and dotted with every input
//! row, in parallel over weight rows. Elsewhere (autodiff, the GPU runtimes) it is Burn's
//! matmul, as before.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::tensor::Tensor;

/// Rows up to which [`project_few_rows`] is used by [`crate::nn::project`]: a decode step
/// of up to 16 sequences. (At 64 rows the `gemm` crate is within 1.4× of PyTorch's GEMM.)
pub const FEW_ROWS: usize = 16;

/// The kernel as a Burn backend extension (dispatched on the tensor's device).
#[backend_extension(
    Autodiff,
    Cube: cfg(feature = "cube"),
    Flex: cfg(feature = "flex")
)]
pub trait FewRowsProjection: Backend {
    /// `x · Wᵀ` for `x` `[m, k]` and `w` `[n, k]` (the checkpoint's `[out, in]`): `[m, n]`.
    fn project_few_rows(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `x · Wᵀ` for `x` `[m, k]` with few rows and `w` `[n, k]` (see [`FewRowsProjection`]).
/// Differentiable (through Burn's matmul under autodiff).
pub fn project_few_rows(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as FewRowsProjection>::project_few_rows(x.into_dispatch(), w.into_dispatch()))
}

// Under autodiff, Burn's own matmul and its backward: training projects many rows at once.
impl<B: Backend + FewRowsProjection, C: CheckpointStrategy> FewRowsProjection for Autodiff<B, C> {
    fn project_few_rows(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(x, Self::float_transpose(w))
    }
}

#[cfg(feature = "cube")]
mod cube {
    use super::*;
    use burn_cubecl::CubeBackend;

    // Burn's autotuned matmul already handles few rows on the GPU.
    impl FewRowsProjection for CubeBackend {
        fn project_few_rows(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
            Self::float_matmul(x, Self::float_transpose(w))
        }
    }
}

#[cfg(feature = "flex")]
mod flex {
    use super::*;
    use crate::kernels::flex_ops::{dot, host, slice, with_avx2};
    use burn::backend::{Flex, TensorMetadata};
    use burn::tensor::{DType, TensorData};
    use rayon::prelude::*;

    /// Weight rows per rayon task (256 KiB of weight at k = 1,024).
    const WEIGHT_ROWS: usize = 64;

    impl FewRowsProjection for Flex {
        fn project_few_rows(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
            if x.dtype() != DType::F32 || w.dtype() != DType::F32 {
                return Self::float_matmul(x, Self::float_transpose(w));
            }
            let device = x.device();
            let (xs, ws) = (x.shape(), w.shape());
            let (m, k, n) = (xs[0], xs[1], ws[0]);
            assert_eq!(ws[1], k, "project_few_rows: x {xs:?} and w {ws:?} do not fit");
            let (x, w) = (host(&x), host(&w));
            let (x, w) = (slice(&x), slice(&w));
            // Computed as [n, m] (a task's outputs are contiguous), then turned to [m, n].
            let mut out_t = vec![0f32; n * m];
            out_t.par_chunks_mut(WEIGHT_ROWS * m.max(1)).enumerate().for_each(|(task, out)| {
                with_avx2(
                    #[inline(always)]
                    || {
                        for (j, o) in out.chunks_exact_mut(m).enumerate() {
                            let wj = &w[(task * WEIGHT_ROWS + j) * k..][..k];
                            for (i, oi) in o.iter_mut().enumerate() {
                                *oi = dot(&x[i * k..][..k], wj);
                            }
                        }
                    },
                )
            });
            let out = if m == 1 {
                out_t
            } else {
                let mut out = vec![0f32; m * n];
                for (j, row) in out_t.chunks_exact(m).enumerate() {
                    for (i, &v) in row.iter().enumerate() {
                        out[i * n + j] = v;
                    }
                }
                out
            };
            Flex::float_from_data(TensorData::new(out, [m, n]), &device)
        }
    }
}
