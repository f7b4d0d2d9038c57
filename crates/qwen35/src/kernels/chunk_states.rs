//! The chunked gated delta rule's pass over chunks (fla's `chunk_fwd_h`) and its reverse
//! (`chunk_bwd_dhu`): one launch for all chunks instead of a handful of ops per chunk. The
//! other gradients are batched products over all chunks at once.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, Slice, Tensor};

/// The kernel as a Burn backend extension (dispatched on the tensor's device).
#[backend_extension(
    Autodiff,
    Cube: cfg(feature = "cube"),
    Flex: cfg(feature = "flex")
)]
pub trait ChunkStates: Backend {
    /// The chunked rule's pass over chunks (fla's `chunk_fwd_h`): per batch-head `x`, from
    /// `S_0 = s0`, `S_{i+1} = γ_i S_i + Kd_iᵀ (U_i − W_i S_i)`. `u` `[x, n, c, dv]`, `w` and `kd`
    /// `[x, n, c, dk]`, `decay` (γ) `[x, n]`, `s0` `[x, dk, dv]`. Returns every state
    /// `[x, n + 1, dk, dv]`: the one entering each chunk, then the final one.
    fn chunk_states(
        u: FloatTensor<Self>,
        w: FloatTensor<Self>,
        kd: FloatTensor<Self>,
        decay: FloatTensor<Self>,
        s0: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// The pass run backwards, on the inner backend (called by the autodiff implementation).
pub trait ChunkStatesGrads: Backend {
    /// [`ChunkStates::chunk_states`] run backwards (fla's `chunk_bwd_dhu`): the gradient of every
    /// state, `G_n = grad_n`, `G_i = γ_i G_{i+1} − W_iᵀ (Kd_i G_{i+1}) + grad_i`, as
    /// `[x, n + 1, dk, dv]`.
    fn chunk_states_reverse(
        w: FloatTensor<Self>,
        kd: FloatTensor<Self>,
        decay: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Every state of the chunked rule's pass over chunks (see [`ChunkStates::chunk_states`]), f32, in one
/// launch instead of a handful of ops per chunk. Differentiable.
pub fn chunk_states(u: Tensor<4>, w: Tensor<4>, kd: Tensor<4>, decay: Tensor<2>, s0: Tensor<3>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as ChunkStates>::chunk_states(
        u.cast(DType::F32).into_dispatch(),
        w.cast(DType::F32).into_dispatch(),
        kd.cast(DType::F32).into_dispatch(),
        decay.cast(DType::F32).into_dispatch(),
        s0.cast(DType::F32).into_dispatch(),
    ))
}

impl<B: Backend + ChunkStates + ChunkStatesGrads, C: CheckpointStrategy> ChunkStates for Autodiff<B, C> {
    fn chunk_states(
        u: FloatTensor<Self>,
        w: FloatTensor<Self>,
        kd: FloatTensor<Self>,
        decay: FloatTensor<Self>,
        s0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct StatesBackward;
        impl<B: Backend + ChunkStatesGrads> Backward<B, 5> for StatesBackward {
            type State = [FloatTensor<B>; 5];
            fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
                let grad = grads.consume::<B>(&ops.node);
                let [u, w, kd, decay, states] = ops.state;
                let d = chunk_states_grads::<B>(u, w, kd, decay, states, grad);
                for (node, g) in ops.parents.into_iter().zip(d) {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, g);
                    }
                }
            }
        }
        let nodes = [u.node(), w.node(), kd.node(), decay.node(), s0.node()];
        match StatesBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let [u, w, kd, decay, s0] = [u, w, kd, decay, s0].map(|x| x.primitive().clone());
                let states = B::chunk_states(u.clone(), w.clone(), kd.clone(), decay.clone(), s0);
                prep.finish([u, w, kd, decay, states.clone()], states)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::chunk_states(
                u.into_primitive(),
                w.into_primitive(),
                kd.into_primitive(),
                decay.into_primitive(),
                s0.into_primitive(),
            )),
        }
    }
}

/// `[du, dw, dkd, ddecay, ds0]` of [`ChunkStates::chunk_states`] from the saved inputs, the states
/// and their gradient `grad` `[x, n + 1, dk, dv]`. The state gradients `G_i` come from the
/// reverse pass; the rest are batched products over all chunks at once (with `V_i = U_i − W_i S_i`
/// recomputed): `dU_i = Kd_i G_{i+1}`, `dW_i = −dU_i S_iᵀ`, `dKd_i = V_i G_{i+1}ᵀ`,
/// `dγ_i = Σ G_{i+1} ∘ S_i`, `ds0 = G_0`.
fn chunk_states_grads<B: Backend + ChunkStatesGrads>(
    u: FloatTensor<B>,
    w: FloatTensor<B>,
    kd: FloatTensor<B>,
    decay: FloatTensor<B>,
    states: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> [FloatTensor<B>; 5] {
    let shape = states.shape();
    let (x, n, dk, dv) = (shape[0], shape[1] - 1, shape[2], shape[3]);
    let g = B::chunk_states_reverse(w.clone(), kd.clone(), decay, grad);
    let chunks = |t: FloatTensor<B>, start: usize, len: usize| {
        B::float_slice(t, &[Slice::full(), Slice::new(start as isize, Some((start + len) as isize), 1)])
    };
    let next = chunks(g.clone(), 1, n); // G_{i+1}
    let s = chunks(states, 0, n); // S_i
    let v = B::float_sub(u, B::float_matmul(w, s.clone()));
    let du = B::float_matmul(kd, next.clone());
    let dw = B::float_neg(B::float_matmul(du.clone(), B::float_swap_dims(s.clone(), 2, 3)));
    let dkd = B::float_matmul(v, B::float_swap_dims(next.clone(), 2, 3));
    let ddecay = B::float_reshape(B::float_sum_dims(B::float_mul(next, s), &[2, 3]), Shape::new([x, n]));
    let ds0 = B::float_reshape(chunks(g, 0, 1), Shape::new([x, dk, dv]));
    [du, dw, dkd, ddecay, ds0]
}

#[cfg(feature = "flex")]
mod flex {
    use super::*;
    use crate::kernels::flex_ops::{Strided, gemm, host, slice};
    use burn::backend::Flex;
    use burn::backend::ops::FloatTensorOps;
    use burn::tensor::TensorData;
    use rayon::prelude::*;

    impl ChunkStates for Flex {
        fn chunk_states(
            u: FloatTensor<Self>,
            w: FloatTensor<Self>,
            kd: FloatTensor<Self>,
            decay: FloatTensor<Self>,
            s0: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let device = u.device();
            let dm = state_dims(&u, &w);
            let (u, w, kd, decay, s0) = (host(&u), host(&w), host(&kd), host(&decay), host(&s0));
            let (u, w, kd, decay, s0) = (slice(&u), slice(&w), slice(&kd), slice(&decay), slice(&s0));
            let StateDims { x, n, c, dk, dv } = dm;
            let sz = dk * dv;
            let mut out = vec![0f32; x * (n + 1) * sz];
            out.par_chunks_mut((n + 1) * sz).enumerate().for_each(|(xi, out)| {
                let mut st = s0[xi * sz..][..sz].to_vec();
                let mut vn = vec![0f32; c * dv];
                for i in 0..n {
                    out[i * sz..][..sz].copy_from_slice(&st);
                    let rows = (xi * n + i) * c;
                    // V = U − W S
                    vn.copy_from_slice(&u[rows * dv..][..c * dv]);
                    let (wl, ss) = (Strided::rows(rows * dk, dk), Strided::rows(0, dv));
                    gemm(&mut vn, ss, w, wl, &st, ss, (c, dv, dk), 1.0, -1.0);
                    // S ← γ S + Kdᵀ V
                    let g = decay[xi * n + i];
                    gemm(&mut st, ss, kd, Strided::transposed(rows * dk, dk), &vn, ss, (dk, dv, c), g, 1.0);
                }
                out[n * sz..].copy_from_slice(&st);
            });
            Flex::float_from_data(TensorData::new(out, [x, n + 1, dk, dv]), &device)
        }
    }

    impl ChunkStatesGrads for Flex {
        fn chunk_states_reverse(
            w: FloatTensor<Self>,
            kd: FloatTensor<Self>,
            decay: FloatTensor<Self>,
            grad: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let device = w.device();
            let (x, n1, dk, dv) = {
                let sh = grad.shape();
                (sh[0], sh[1], sh[2], sh[3])
            };
            let (n, c) = (n1 - 1, w.shape()[2]);
            let (w, kd, decay, grad) = (host(&w), host(&kd), host(&decay), host(&grad));
            let (w, kd, decay, grad) = (slice(&w), slice(&kd), slice(&decay), slice(&grad));
            let sz = dk * dv;
            let mut out = vec![0f32; x * n1 * sz];
            out.par_chunks_mut(n1 * sz).enumerate().for_each(|(xi, out)| {
                let grad = &grad[xi * n1 * sz..][..n1 * sz];
                let mut gs = grad[n * sz..].to_vec();
                out[n * sz..].copy_from_slice(&gs);
                let mut t = vec![0f32; c * dv];
                for i in (0..n).rev() {
                    let rows = (xi * n + i) * c;
                    // T = Kd G
                    let ss = Strided::rows(0, dv);
                    gemm(&mut t, ss, kd, Strided::rows(rows * dk, dk), &gs, ss, (c, dv, dk), 0.0, 1.0);
                    // G ← γ G + grad_i − Wᵀ T
                    let g = decay[xi * n + i];
                    for (e, &ext) in gs.iter_mut().zip(&grad[i * sz..][..sz]) {
                        *e = g * *e + ext;
                    }
                    gemm(&mut gs, ss, w, Strided::transposed(rows * dk, dk), &t, ss, (dk, dv, c), 1.0, -1.0);
                    out[i * sz..][..sz].copy_from_slice(&gs);
                }
            });
            Flex::float_from_data(TensorData::new(out, [x, n1, dk, dv]), &device)
        }
    }

    /// Shapes of one state-pass call: batch-heads, chunks, chunk size, key and value widths.
    #[derive(Clone, Copy)]
    struct StateDims {
        x: usize,
        n: usize,
        c: usize,
        dk: usize,
        dv: usize,
    }

    fn state_dims(u: &FloatTensor<Flex>, w: &FloatTensor<Flex>) -> StateDims {
        let (us, ws) = (u.shape(), w.shape());
        assert!(ws[0] == us[0] && ws[1] == us[1] && ws[2] == us[2], "chunk_states: u {us:?} and w {ws:?} do not fit");
        StateDims { x: us[0], n: us[1], c: us[2], dk: ws[3], dv: us[3] }
    }
}

#[cfg(feature = "cube")]
mod cube {
    use super::{ChunkStates, ChunkStatesGrads, FloatTensor};
    use crate::kernels::cube_ops::empty;
    use burn::backend::cubecl::dtype_to_storage_type;
    use burn::tensor::Shape;
    use burn_cubecl::{CubeBackend, kernel::into_contiguous};
    use cubecl::prelude::*;

    // The chunked rule's pass over chunks, one unit per value column `v` of one batch-head (the
    // state is column-local: every product below reads only column `v` of `S` or `G`), its state
    // column `dk` floats and one chunk column `c` floats in local arrays. Units past `dv` idle.
    // Layouts are contiguous: u `[x, n, c, dv]`, w and kd `[x, n, c, dk]`, decay `[x, n]`,
    // states and grads `[x, n + 1, dk, dv]`.

    /// `S_{i+1} = γ_i S_i + Kd_iᵀ (U_i − W_i S_i)`; writes every `S_i` and the final state.
    #[cube(launch)]
    fn chunk_states_kernel<F: Float>(
        u: &Tensor<F>,
        w: &Tensor<F>,
        kd: &Tensor<F>,
        decay: &Tensor<F>,
        s0: &Tensor<F>,
        states: &mut Tensor<F>,
        #[comptime] dk: usize,
        #[comptime] c: usize,
        #[define(F)] _dtype: ElemType,
    ) {
        let col = (CUBE_POS_X * CUBE_DIM_X + UNIT_POS_X) as usize;
        let xi = CUBE_POS_Y as usize;
        let (n, dv) = (u.shape(1), u.shape(3));
        if col < dv {
            let mut st = Array::<F>::new(dk);
            let mut vn = Array::<F>::new(c);
            for kk in 0..dk {
                st[kk] = s0[(xi * dk + kk) * dv + col];
            }
            for i in 0..n {
                let out = (xi * (n + 1) + i) * dk;
                for kk in 0..dk {
                    states[(out + kk) * dv + col] = st[kk];
                }
                let rows = (xi * n + i) * c;
                for r in 0..c {
                    let mut acc = u[(rows + r) * dv + col];
                    for kk in 0..dk {
                        acc -= w[(rows + r) * dk + kk] * st[kk];
                    }
                    vn[r] = acc;
                }
                let g = decay[xi * n + i];
                for kk in 0..dk {
                    let mut acc = g * st[kk];
                    for r in 0..c {
                        acc += kd[(rows + r) * dk + kk] * vn[r];
                    }
                    st[kk] = acc;
                }
            }
            let out = (xi * (n + 1) + n) * dk;
            for kk in 0..dk {
                states[(out + kk) * dv + col] = st[kk];
            }
        }
    }

    /// `G_n = grad_n`, `G_i = γ_i G_{i+1} − W_iᵀ (Kd_i G_{i+1}) + grad_i`; writes every `G_i`.
    #[cube(launch)]
    fn chunk_states_reverse_kernel<F: Float>(
        w: &Tensor<F>,
        kd: &Tensor<F>,
        decay: &Tensor<F>,
        grad: &Tensor<F>,
        out: &mut Tensor<F>,
        #[comptime] dk: usize,
        #[comptime] c: usize,
        #[define(F)] _dtype: ElemType,
    ) {
        let col = (CUBE_POS_X * CUBE_DIM_X + UNIT_POS_X) as usize;
        let xi = CUBE_POS_Y as usize;
        let (n, dv) = (grad.shape(1) - 1, grad.shape(3));
        if col < dv {
            let mut gs = Array::<F>::new(dk);
            let mut tc = Array::<F>::new(c);
            let last = (xi * (n + 1) + n) * dk;
            for kk in 0..dk {
                gs[kk] = grad[(last + kk) * dv + col];
                out[(last + kk) * dv + col] = gs[kk];
            }
            for step in 0..n {
                let i = n - 1 - step;
                let rows = (xi * n + i) * c;
                for r in 0..c {
                    let mut acc = F::new(0.0);
                    for kk in 0..dk {
                        acc += kd[(rows + r) * dk + kk] * gs[kk];
                    }
                    tc[r] = acc;
                }
                let g = decay[xi * n + i];
                let at = (xi * (n + 1) + i) * dk;
                for kk in 0..dk {
                    let mut acc = g * gs[kk] + grad[(at + kk) * dv + col];
                    for r in 0..c {
                        acc -= w[(rows + r) * dk + kk] * tc[r];
                    }
                    gs[kk] = acc;
                    out[(at + kk) * dv + col] = acc;
                }
            }
        }
    }

    /// Units per cube of the state pass (value columns).
    const STATE_UNITS: usize = 32;

    /// Launch grid of the state pass: `x` batch-heads × enough cubes for `dv` columns.
    fn state_grid(x: usize, dv: usize) -> (CubeCount, CubeDim) {
        (CubeCount::Static(dv.div_ceil(STATE_UNITS) as u32, x as u32, 1), CubeDim::new_1d(STATE_UNITS as u32))
    }

    impl ChunkStates for CubeBackend {
        fn chunk_states(
            u: FloatTensor<Self>,
            w: FloatTensor<Self>,
            kd: FloatTensor<Self>,
            decay: FloatTensor<Self>,
            s0: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let [u, w, kd, decay, s0] = [u, w, kd, decay, s0].map(into_contiguous);
            let (us, dk) = (u.meta.shape().clone(), w.meta.shape()[3]);
            let (x, n, c, dv) = (us[0], us[1], us[2], us[3]);
            let states = empty(&u, Shape::new([x, n + 1, dk, dv]));
            let (count, dim) = state_grid(x, dv);
            chunk_states_kernel::launch(
                &states.client,
                count,
                dim,
                u.clone().into_tensor_arg(),
                w.into_tensor_arg(),
                kd.into_tensor_arg(),
                decay.into_tensor_arg(),
                s0.into_tensor_arg(),
                states.clone().into_tensor_arg(),
                dk,
                c,
                dtype_to_storage_type(u.dtype),
            );
            states
        }
    }

    impl ChunkStatesGrads for CubeBackend {
        fn chunk_states_reverse(
            w: FloatTensor<Self>,
            kd: FloatTensor<Self>,
            decay: FloatTensor<Self>,
            grad: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let [w, kd, decay, grad] = [w, kd, decay, grad].map(into_contiguous);
            let (gs, c) = (grad.meta.shape().clone(), w.meta.shape()[2]);
            let (x, dk, dv) = (gs[0], gs[2], gs[3]);
            let out = empty(&grad, gs);
            let (count, dim) = state_grid(x, dv);
            chunk_states_reverse_kernel::launch(
                &out.client,
                count,
                dim,
                w.into_tensor_arg(),
                kd.into_tensor_arg(),
                decay.into_tensor_arg(),
                grad.clone().into_tensor_arg(),
                out.clone().into_tensor_arg(),
                dk,
                c,
                dtype_to_storage_type(grad.dtype),
            );
            out
        }
    }
}
