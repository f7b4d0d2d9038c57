//! `(I + A)⁻¹` for a batch of strictly lower-triangular matrices (fla's `solve_tril`), the
//! chunked gated delta rule's triangular solve: one launch on the GPU runtimes, one pass per
//! matrix on `flex`. Backward: `dA = −(Xᵀ · dX · Xᵀ)` below the diagonal, only `X` saved.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, TensorMetadata, backend_extension};
use burn::tensor::{DType, Tensor, TensorData};

/// The kernel as a Burn backend extension (dispatched on the tensor's device).
#[backend_extension(
    Autodiff,
    Cube: cfg(feature = "cube"),
    Flex: cfg(feature = "flex")
)]
pub trait UnitLowerInverse: Backend {
    /// `(I + A)⁻¹` for a batch of strictly lower-triangular `A` `[n, m, m]` (what is on and
    /// above the diagonal is not read), by forward substitution: fla's `solve_tril` step of the
    /// chunked gated delta rule.
    fn unit_lower_inverse(a: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `(I + A)⁻¹` for strictly lower-triangular `A` `[n, m, m]` (f32), fused: one kernel launch on
/// GPU backends, one pass per matrix on `flex`. Differentiable.
pub fn unit_lower_inverse(a: Tensor<3>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as UnitLowerInverse>::unit_lower_inverse(a.cast(DType::F32).into_dispatch()))
}

/// Strictly-lower mask `[1, m, m]` (1 below the diagonal) as a backend tensor.
fn strictly_lower_mask<B: Backend>(m: usize, device: &B::Device) -> FloatTensor<B> {
    let values: Vec<f32> = (0..m * m).map(|k| if k % m < k / m { 1.0 } else { 0.0 }).collect();
    B::float_from_data(TensorData::new(values, [1, m, m]), device)
}

impl<B: Backend + UnitLowerInverse, C: CheckpointStrategy> UnitLowerInverse for Autodiff<B, C> {
    fn unit_lower_inverse(a: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct InverseBackward;
        impl<B: Backend> Backward<B, 1> for InverseBackward {
            type State = FloatTensor<B>;
            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [parent] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = parent {
                    let x = ops.state;
                    let m = x.shape()[2];
                    let mask = strictly_lower_mask::<B>(m, &x.device());
                    let xt = B::float_swap_dims(x, 1, 2);
                    let d = B::float_matmul(B::float_matmul(xt.clone(), grad), xt);
                    grads.register::<B>(node.id, B::float_mul(B::float_neg(d), mask));
                }
            }
        }
        match InverseBackward.prepare::<C>([a.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = B::unit_lower_inverse(a.primitive().clone());
                prep.finish(x.clone(), x)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::unit_lower_inverse(a.into_primitive())),
        }
    }
}

#[cfg(feature = "flex")]
mod flex {
    use super::*;
    use burn::backend::Flex;
    use rayon::prelude::*;

    impl UnitLowerInverse for Flex {
        fn unit_lower_inverse(a: FloatTensor<Self>) -> FloatTensor<Self> {
            let device = a.device();
            let shape = a.shape();
            let [n, m, m2] = [shape[0], shape[1], shape[2]];
            assert_eq!(m, m2, "unit_lower_inverse: matrices must be square, got [{n}, {m}, {m2}]");
            let a = a.to_contiguous();
            let src = a.as_slice::<f32>().expect("a contiguous f32 tensor");
            let mut out = vec![0f32; n * m * m];
            out.par_chunks_mut(m * m).zip(src.par_chunks(m * m)).for_each(|(x, a)| solve(a, x, m));
            Flex::float_from_data(TensorData::new(out, [n, m, m]), &device)
        }
    }

    /// Row by row: `X_i = e_i − Σ_{k<i} A_ik X_k`; rows of X are zero right of the diagonal.
    fn solve(a: &[f32], x: &mut [f32], m: usize) {
        for i in 0..m {
            let (done, rest) = x.split_at_mut(i * m);
            let row = &mut rest[..m];
            row[i] = 1.0;
            for k in 0..i {
                let aik = a[i * m + k];
                if aik != 0.0 {
                    let xk = &done[k * m..k * m + k + 1];
                    for (r, &v) in row[..=k].iter_mut().zip(xk) {
                        *r -= aik * v;
                    }
                }
            }
        }
    }
}

#[cfg(feature = "cube")]
mod cube {
    use super::{FloatTensor, UnitLowerInverse};
    use burn::backend::cubecl::dtype_to_storage_type;
    use burn_cubecl::{CubeBackend, kernel::into_contiguous, tensor::CubeTensor};
    use cubecl::prelude::*;

    /// One cube per matrix, one unit per column `c`: `X[i, c] = [i = c] − Σ_{c≤k<i} A[i, k] X[k, c]`.
    /// Each unit reads back only its own column, so no barrier is needed.
    #[cube(launch)]
    fn unit_lower_inverse_kernel<F: Float>(a: &Tensor<F>, x: &mut Tensor<F>, #[define(F)] _dtype: ElemType) {
        let m = a.shape(1);
        let c = UNIT_POS_X as usize;
        let base = CUBE_POS * m * m;
        if c < m {
            for i in 0..m {
                let mut value = F::new(0.0);
                if i == c {
                    value = F::new(1.0);
                }
                if i > c {
                    let mut acc = F::new(0.0);
                    for k in c..i {
                        acc += a[base + i * m + k] * x[base + k * m + c];
                    }
                    value = -acc;
                }
                x[base + i * m + c] = value;
            }
        }
    }

    impl UnitLowerInverse for CubeBackend {
        fn unit_lower_inverse(a: FloatTensor<Self>) -> FloatTensor<Self> {
            let a = into_contiguous(a);
            let dtype = a.dtype;
            let shape = a.meta.shape().clone();
            let (n, m) = (shape[0], shape[1]);
            assert_eq!(m, shape[2], "unit_lower_inverse: matrices must be square, got {shape:?}");
            let handle = a.client.empty(shape.num_elements() * dtype.size());
            let out = CubeTensor::new_contiguous(a.client.clone(), a.device.clone(), shape, handle, dtype);
            unit_lower_inverse_kernel::launch(
                &out.client,
                CubeCount::Static(n as u32, 1, 1),
                CubeDim::new_1d(m as u32),
                a.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                dtype_to_storage_type(dtype),
            );
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    fn strictly_lower(n: usize, m: usize, device: &Device) -> Tensor<3> {
        let mask = Tensor::<2>::from_data(
            TensorData::new((0..m * m).map(|k| if k % m < k / m { 1.0f32 } else { 0.0 }).collect(), [m, m]),
            device,
        );
        // Upper entries are garbage on purpose: the kernel must not read them.
        Tensor::<3>::random([n, m, m], Distribution::Normal(0.0, 0.3), device) * mask.clone().unsqueeze::<3>()
            + Tensor::<3>::random([n, m, m], Distribution::Normal(0.0, 5.0), device)
                * (mask.unsqueeze::<3>() * -1.0 + 1.0)
    }

    #[test]
    fn flex_inverse_times_matrix_is_identity() {
        let device = Device::flex();
        let a = strictly_lower(5, 64, &device);
        let x = unit_lower_inverse(a.clone());
        let lower = a.tril(-1);
        let eye = Tensor::<2>::eye(64, &device).unsqueeze::<3>();
        let err: f32 = ((eye.clone() + lower).matmul(x) - eye).abs().max().into_scalar();
        assert!(err < 1e-4, "(I + A) X − I = {err}");
    }
}
