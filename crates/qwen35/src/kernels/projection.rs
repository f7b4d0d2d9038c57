//! `x · Wᵀ`, the product every projection goes through, with its own backward.
//!
//! On `flex` three things in Burn's matmul cost more than they should for our shapes:
//! - every output is created by `FlexTensor::empty`, which zero-fills a byte vector and then
//!   copies it into a 16-byte-aligned one; for the 0.8B head at 1×512 (508 MB of logits) that
//!   is a calloc, a copy and a fault on every page, about 12% of the forward (perf, this
//!   machine). Here the `gemm` crate writes straight into a fresh `Vec<f32>`.
//! - below 512 rows the `gemm` crate packs the whole weight with a scalar gather; here the
//!   product is written column by column, reading the weight in place, and transposed after.
//! - for a handful of rows (decoding) the `gemm` crate packs the weight on every call, which
//!   costs more than the product (8 rows against the 248,320 × 1,024 head: 166 ms, against
//!   114 ms for PyTorch); here each weight row is read once and dotted with every input row.
//!
//! The backward (`dX = dY·W`, `dW = dYᵀ·X`, each only where its input is tracked) goes through
//! the same helpers. On the GPU runtimes both directions are Burn's matmul.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::tensor::Tensor;

/// Rows up to which the CPU reads each weight row once instead of running a GEMM: a decode
/// step of up to 16 sequences. (At 64 rows the `gemm` crate is within 1.4× of PyTorch's GEMM.)
pub const FEW_ROWS: usize = 16;

/// The kernel as a Burn backend extension (dispatched on the tensor's device).
#[backend_extension(
    Autodiff,
    Cube: cfg(feature = "cube"),
    Flex: cfg(feature = "flex")
)]
pub trait Projection: Backend {
    /// `x · Wᵀ` for `x` `[m, k]` and `w` `[n, k]` (the checkpoint's `[out, in]`): `[m, n]`.
    fn project(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The backward's two products, on the inner backend.
pub trait ProjectionGrads: Backend {
    /// `dX = dY · W`: `[m, k]` from `dy` `[m, n]` and `w` `[n, k]`.
    fn project_grad_input(dy: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `dW = dYᵀ · X`: `[n, k]` from `dy` `[m, n]` and `x` `[m, k]`.
    fn project_grad_weight(dy: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `x · Wᵀ` for `x` `[m, k]` and `w` `[n, k]` (see [`Projection`]). Differentiable.
pub fn project(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as Projection>::project(x.into_dispatch(), w.into_dispatch()))
}

impl<B: Backend + Projection + ProjectionGrads, C: CheckpointStrategy> Projection for Autodiff<B, C> {
    fn project(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ProjectBackward;
        impl<B: Backend + ProjectionGrads> Backward<B, 2> for ProjectBackward {
            /// The input (kept when the weight needs a gradient) and the weight (kept when
            /// the input does), as checkpointed nodes.
            type State = (Option<NodeId>, Option<NodeId>);
            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
                let dy = grads.consume::<B>(&ops.node);
                let (x, w) = ops.state;
                let [x_node, w_node] = ops.parents;
                if let (Some(node), Some(x)) = (w_node, x) {
                    let x = checkpointer.retrieve_node_output(x);
                    grads.register::<B>(node.id, B::project_grad_weight(dy.clone(), x));
                }
                if let (Some(node), Some(w)) = (x_node, w) {
                    let w = checkpointer.retrieve_node_output(w);
                    grads.register::<B>(node.id, B::project_grad_input(dy, w));
                }
            }
        }
        let (x_tracked, w_tracked) = (x.is_tracked(), w.is_tracked());
        match ProjectBackward.prepare::<C>([x.node(), w.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = w_tracked.then(|| prep.checkpoint(&x));
                let w_state = x_tracked.then(|| prep.checkpoint(&w));
                prep.finish((x_state, w_state), B::project(x.into_primitive(), w.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::project(x.into_primitive(), w.into_primitive())),
        }
    }
}

#[cfg(feature = "cube")]
mod cube {
    use super::*;
    use burn_cubecl::CubeBackend;

    // Burn's autotuned matmul already handles every shape well on the GPU.
    impl Projection for CubeBackend {
        fn project(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
            Self::float_matmul(x, Self::float_transpose(w))
        }
    }

    impl ProjectionGrads for CubeBackend {
        fn project_grad_input(dy: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
            Self::float_matmul(dy, w)
        }
        fn project_grad_weight(dy: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self> {
            Self::float_matmul(Self::float_transpose(dy), x)
        }
    }
}

#[cfg(feature = "flex")]
mod flex {
    use super::*;
    use crate::kernels::flex_ops::{Strided, dot, host, product, product_columns, slice, transpose, with_avx2};
    use burn::backend::{Flex, TensorMetadata};
    use burn::tensor::{DType, TensorData};
    use rayon::prelude::*;

    /// Weight rows per rayon task in the few-rows product (256 KiB of weight at k = 1,024).
    const WEIGHT_ROWS: usize = 64;

    /// Rows below which the product is computed column by column and transposed after. Into a
    /// row-major output the `gemm` crate makes the weight its packed operand and packs it with
    /// a scalar gather (the weight's rows are along `k`): a third of the 0.8B forward at
    /// 1 × 128 in `perf`. Written column by column, the weight is read in place and only the
    /// output (`m × n`, against the weight's `n × k`) is transposed. 0.8B forward: 1.74 → 1.26 s
    /// at 1 × 128, 2.80 → 2.42 s at 1 × 256, 4.96 vs 4.97 s at 1 × 512.
    const COLUMN_FORM_ROWS: usize = 512;

    fn is_f32(xs: [&FloatTensor<Flex>; 2]) -> bool {
        xs.iter().all(|x| x.dtype() == DType::F32)
    }

    fn matrix(x: Vec<f32>, rows: usize, cols: usize) -> FloatTensor<Flex> {
        Flex::float_from_data(TensorData::new(x, [rows, cols]), &Default::default())
    }

    impl Projection for Flex {
        fn project(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
            if !is_f32([&x, &w]) {
                return Self::float_matmul(x, Self::float_transpose(w));
            }
            let (xs, ws) = (x.shape(), w.shape());
            let (m, k, n) = (xs[0], xs[1], ws[0]);
            assert_eq!(ws[1], k, "project: x {xs:?} and w {ws:?} do not fit");
            let (x, w) = (host(&x), host(&w));
            let (x, w) = (slice(&x), slice(&w));
            let (xl, wl) = (Strided::rows(0, k), Strided::transposed(0, k));
            let out = if m <= FEW_ROWS {
                few_rows(x, w, m, n, k)
            } else if m < COLUMN_FORM_ROWS {
                transpose(&product_columns(x, xl, w, wl, (m, n, k)), n, m)
            } else {
                product(x, xl, w, wl, (m, n, k))
            };
            matrix(out, m, n)
        }
    }

    impl ProjectionGrads for Flex {
        fn project_grad_input(dy: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
            if !is_f32([&dy, &w]) {
                return Self::float_matmul(dy, w);
            }
            let (m, n, k) = (dy.shape()[0], dy.shape()[1], w.shape()[1]);
            let (dy, w) = (host(&dy), host(&w));
            matrix(product(slice(&dy), Strided::rows(0, n), slice(&w), Strided::rows(0, k), (m, k, n)), m, k)
        }

        fn project_grad_weight(dy: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self> {
            if !is_f32([&dy, &x]) {
                return Self::float_matmul(Self::float_transpose(dy), x);
            }
            let (m, n, k) = (dy.shape()[0], dy.shape()[1], x.shape()[1]);
            let (dy, x) = (host(&dy), host(&x));
            let dyt = Strided::transposed(0, n);
            matrix(product(slice(&dy), dyt, slice(&x), Strided::rows(0, k), (n, k, m)), n, k)
        }
    }

    /// `x · Wᵀ` reading each weight row once: computed as `[n, m]` (a task's outputs are
    /// contiguous), then turned to `[m, n]`.
    fn few_rows(x: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
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
        if m == 1 {
            return out_t;
        }
        let mut out = vec![0f32; m * n];
        for (j, row) in out_t.chunks_exact(m).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                out[i * n + j] = v;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// Largest |a − b| relative to the largest |b|.
    fn rel_err(a: Tensor<2>, b: Tensor<2>) -> f32 {
        let scale: f32 = b.clone().abs().max().into_scalar();
        let diff: f32 = (a - b).abs().max().into_scalar();
        diff / scale
    }

    /// Values and both gradients against Burn's own matmul, at few rows (the row-dot path),
    /// under 512 rows (the GEMM column by column, then transposed) and over (the GEMM into rows),
    /// with shapes that split into several rayon tasks.
    #[test]
    fn flex_projection_matches_burn_matmul_values_and_gradients() {
        let device = Device::flex().autodiff();
        for (m, k, n) in [(1, 40, 70), (5, 33, 130), (16, 64, 200), (17, 64, 200), (300, 96, 250), (520, 48, 90)] {
            let normal = |r, c| Tensor::<2>::random([r, c], Distribution::Normal(0.0, 1.0), &device);
            let (x0, w0, dy) = (normal(m, k), normal(n, k), normal(m, n));
            let (x, w) = (x0.clone().require_grad(), w0.clone().require_grad());
            let y = project(x.clone(), w.clone());
            let grads = (y.clone() * dy.clone()).sum().backward();
            let (gx, gw) = (x.grad(&grads).unwrap(), w.grad(&grads).unwrap());

            let (xr, wr) = (x0.require_grad(), w0.require_grad());
            let yr = xr.clone().matmul(wr.clone().transpose());
            let grads = (yr.clone() * dy).sum().backward();
            let (gxr, gwr) = (xr.grad(&grads).unwrap(), wr.grad(&grads).unwrap());

            // Both are f32 sums of k (or m) products in different orders: a few ulps of the
            // largest entry. A transposed operand or a missing term is off by O(1).
            for (name, a, b) in [("y", y.inner(), yr.inner()), ("dx", gx, gxr), ("dw", gw, gwr)] {
                let e = rel_err(a, b);
                assert!(e < 1e-5, "{m}×{k}·{n}: {name} differs by {e} (relative)");
            }
        }
    }

    /// A frozen weight gets no gradient, and the input's is still right.
    #[test]
    fn flex_projection_with_a_frozen_weight() {
        let device = Device::flex().autodiff();
        let x0 = Tensor::<2>::random([20, 8], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<2>::random([12, 8], Distribution::Normal(0.0, 1.0), &device);
        let x = x0.clone().require_grad();
        let grads = project(x.clone(), w.clone()).sum().backward();
        assert!(w.grad(&grads).is_none());
        let xr = x0.require_grad();
        let gxr = xr.grad(&xr.clone().matmul(w.transpose()).sum().backward()).unwrap();
        assert!(rel_err(x.grad(&grads).unwrap(), gxr) < 1e-5);
    }
}
