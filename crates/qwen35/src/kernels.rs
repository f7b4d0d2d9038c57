//! Fused kernels behind a Burn backend extension: one function per kernel, a CubeCL version for
//! the GPU runtimes (wgpu, CUDA), a plain-Rust version for `flex`, and a handwritten backward for
//! autodiff. The plain-op versions in [`crate::gated_delta_rule`] stay as the reference the tests
//! hold these to.
//!
//! Burn's `fusion` feature is off in this workspace (so `Cube` is the bare `CubeBackend`); turning
//! it on needs `Fusion` in the extension's backend list.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, TensorMetadata, backend_extension};
use burn::tensor::{DType, Shape, Slice, Tensor, TensorData};

/// The kernels, one method each. Inputs are `f32` and contiguous layouts are not required.
#[backend_extension(
    Autodiff,
    Cube: cfg(feature = "cube"),
    Flex: cfg(feature = "flex")
)]
pub trait Kernels: Backend {
    /// `(I + A)⁻¹` for a batch of strictly lower-triangular `A` `[n, m, m]` (what is on and
    /// above the diagonal is not read), by forward substitution: fla's `solve_tril` step of the
    /// chunked gated delta rule.
    fn unit_lower_inverse(a: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Causal softmax attention with grouped-query heads and packing groups, scale `d^-1/2`:
    /// `q` `[b, h, t, d]`, `k`/`v` `[b, h_kv, t, d]`, `groups` `[b, t]` (token `i` sees the
    /// tokens `j ≤ i` of its run of equal group ids). Returns `[b, h, t, d]`. Nothing of size
    /// `t × t` is stored.
    fn causal_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        groups: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

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

/// `(I + A)⁻¹` for strictly lower-triangular `A` `[n, m, m]` (f32), fused: one kernel launch on
/// GPU backends, one pass per matrix on `flex`. Differentiable.
pub fn unit_lower_inverse(a: Tensor<3>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as Kernels>::unit_lower_inverse(a.cast(DType::F32).into_dispatch()))
}

/// Kernels that exist on `flex` only (the GPU backends use the chunked plain-op path for this).
#[backend_extension(Autodiff, Flex: cfg(feature = "flex"))]
pub trait CpuKernels: Backend {
    /// The gated delta rule's output `[b, h, t, dv]` from a zero state, token by token with the
    /// state in registers-sized f32 blocks (no chunk systems, no per-chunk launches): `q`, `k`
    /// `[b, h, t, dk]` (L2-normalised; `q` is scaled by `dk^-1/2` here), `v` `[b, h, t, dv]`,
    /// `g`, `beta` `[b, h, t]`, `segments` `[b, t]` (the state resets where the id changes).
    /// The final state is not returned (training and cache-less forwards do not need it).
    fn gated_delta_rule(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        g: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        segments: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Whether the [`CpuKernels`] ([`gated_delta_rule`]) run on `device`
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

/// Fused causal attention (f32; see [`Kernels::causal_attention`]): a CubeCL kernel on the GPU
/// runtimes, rayon on `flex`. Differentiable.
pub fn causal_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, groups: Tensor<2>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as Kernels>::causal_attention(
        q.cast(DType::F32).into_dispatch(),
        k.cast(DType::F32).into_dispatch(),
        v.cast(DType::F32).into_dispatch(),
        groups.cast(DType::F32).into_dispatch(),
    ))
}

/// Every state of the chunked rule's pass over chunks (see [`Kernels::chunk_states`]), f32, in one
/// launch instead of a handful of ops per chunk. Differentiable.
pub fn chunk_states(u: Tensor<4>, w: Tensor<4>, kd: Tensor<4>, decay: Tensor<2>, s0: Tensor<3>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as Kernels>::chunk_states(
        u.cast(DType::F32).into_dispatch(),
        w.cast(DType::F32).into_dispatch(),
        kd.cast(DType::F32).into_dispatch(),
        decay.cast(DType::F32).into_dispatch(),
        s0.cast(DType::F32).into_dispatch(),
    ))
}

/// The gated delta rule's output from a zero state (see [`CpuKernels::gated_delta_rule`]), f32.
/// Only where [`has_cpu_kernels`] says so. Differentiable.
pub fn gated_delta_rule(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    g: Tensor<3>,
    beta: Tensor<3>,
    segments: Tensor<2>,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::gated_delta_rule(
        q.cast(DType::F32).into_dispatch(),
        k.cast(DType::F32).into_dispatch(),
        v.cast(DType::F32).into_dispatch(),
        g.cast(DType::F32).into_dispatch(),
        beta.cast(DType::F32).into_dispatch(),
        segments.cast(DType::F32).into_dispatch(),
    ))
}

/// Strictly-lower mask `[1, m, m]` (1 below the diagonal) as a backend tensor.
fn strictly_lower_mask<B: Backend>(m: usize, device: &B::Device) -> FloatTensor<B> {
    let values: Vec<f32> = (0..m * m).map(|k| if k % m < k / m { 1.0 } else { 0.0 }).collect();
    B::float_from_data(TensorData::new(values, [1, m, m]), device)
}

// Autodiff. The inverse: X = (I + A)⁻¹ ⇒ dA = −(Xᵀ · dX · Xᵀ), kept strictly below the
// diagonal (the entries the forward reads); only X is saved. Attention: the forward also keeps
// each row's log-sum-exp, and the backward recomputes the probabilities from it (flash-attention
// style); it never holds a `t × t` matrix either.
impl<B: Backend + Kernels + KernelGrads, C: CheckpointStrategy> Kernels for Autodiff<B, C> {
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

    fn causal_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        groups: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AttentionBackward;
        impl<B: Backend + KernelGrads> Backward<B, 3> for AttentionBackward {
            type State = [FloatTensor<B>; 6];
            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [nq, nk, nv] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let [q, k, v, groups, o, lse] = ops.state;
                let [dq, dk, dv] = B::causal_attention_backward(q, k, v, groups, o, lse, grad);
                for (node, g) in [(nq, dq), (nk, dk), (nv, dv)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, g);
                    }
                }
            }
        }
        let groups = groups.into_primitive();
        match AttentionBackward.prepare::<C>([q.node(), k.node(), v.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (q, k, v) = (q.primitive().clone(), k.primitive().clone(), v.primitive().clone());
                let [o, lse] = B::causal_attention_forward(q.clone(), k.clone(), v.clone(), groups.clone());
                prep.finish([q, k, v, groups, o.clone(), lse], o)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::causal_attention(q.into_primitive(), k.into_primitive(), v.into_primitive(), groups))
            }
        }
    }

    fn chunk_states(
        u: FloatTensor<Self>,
        w: FloatTensor<Self>,
        kd: FloatTensor<Self>,
        decay: FloatTensor<Self>,
        s0: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct StatesBackward;
        impl<B: Backend + KernelGrads> Backward<B, 5> for StatesBackward {
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

/// The backward passes of the [`Kernels`] that need one of their own, called by their autodiff
/// backward on the inner backend.
pub trait KernelGrads: Backend {
    /// [`Kernels::causal_attention`] that also returns each row's softmax log-sum-exp
    /// `[b, h, t]` (scores scaled by `d^-1/2`), for the backward.
    fn causal_attention_forward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        groups: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 2];

    /// `[dq, dk, dv]` of [`Kernels::causal_attention`] from its inputs, its output, the rows'
    /// log-sum-exp and the output's gradient, shaped like `q`, `k`, `v`.
    #[allow(clippy::too_many_arguments)]
    fn causal_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        groups: FloatTensor<Self>,
        o: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3];

    /// [`Kernels::chunk_states`] run backwards (fla's `chunk_bwd_dhu`): the gradient of every
    /// state, `G_n = grad_n`, `G_i = γ_i G_{i+1} − W_iᵀ (Kd_i G_{i+1}) + grad_i`, as
    /// `[x, n + 1, dk, dv]`.
    fn chunk_states_reverse(
        w: FloatTensor<Self>,
        kd: FloatTensor<Self>,
        decay: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// `[du, dw, dkd, ddecay, ds0]` of [`Kernels::chunk_states`] from the saved inputs, the states
/// and their gradient `grad` `[x, n + 1, dk, dv]`. The state gradients `G_i` come from the
/// reverse pass; the rest are batched products over all chunks at once (with `V_i = U_i − W_i S_i`
/// recomputed): `dU_i = Kd_i G_{i+1}`, `dW_i = −dU_i S_iᵀ`, `dKd_i = V_i G_{i+1}ᵀ`,
/// `dγ_i = Σ G_{i+1} ∘ S_i`, `ds0 = G_0`.
fn chunk_states_grads<B: Backend + KernelGrads>(
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

/// The backward passes of the [`CpuKernels`], called by their autodiff backward on the inner
/// backend.
pub trait CpuKernelGrads: Backend {
    /// `[dq, dk, dv, dg, dbeta]` of [`CpuKernels::gated_delta_rule`] from its inputs and the
    /// output's gradient (the states are recomputed from checkpoints every 64 tokens).
    #[allow(clippy::too_many_arguments)]
    fn gated_delta_rule_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        g: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        segments: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 5];
}

impl<B: Backend + CpuKernels + CpuKernelGrads, C: CheckpointStrategy> CpuKernels for Autodiff<B, C> {
    fn gated_delta_rule(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        g: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        segments: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct RuleBackward;
        impl<B: Backend + CpuKernelGrads> Backward<B, 5> for RuleBackward {
            type State = [FloatTensor<B>; 6];
            fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
                let grad = grads.consume::<B>(&ops.node);
                let [q, k, v, g, beta, segments] = ops.state;
                let d = B::gated_delta_rule_backward(q, k, v, g, beta, segments, grad);
                for (node, g) in ops.parents.into_iter().zip(d) {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, g);
                    }
                }
            }
        }
        let segments = segments.into_primitive();
        let nodes = [q.node(), k.node(), v.node(), g.node(), beta.node()];
        match RuleBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let [q, k, v, g, beta] = [q, k, v, g, beta].map(|x| x.primitive().clone());
                let o = B::gated_delta_rule(q.clone(), k.clone(), v.clone(), g.clone(), beta.clone(), segments.clone());
                prep.finish([q, k, v, g, beta, segments], o)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gated_delta_rule(
                q.into_primitive(),
                k.into_primitive(),
                v.into_primitive(),
                g.into_primitive(),
                beta.into_primitive(),
                segments,
            )),
        }
    }
}

#[cfg(feature = "flex")]
mod flex {
    use super::*;
    use burn::backend::Flex;
    use rayon::prelude::*;

    impl Kernels for Flex {
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

        fn causal_attention(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            groups: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let [o, _] = attention_forward(q, k, v, groups);
            o
        }

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
                    for r in 0..c {
                        let vr = &mut vn[r * dv..][..dv];
                        vr.copy_from_slice(&u[(rows + r) * dv..][..dv]);
                        for (kk, &wk) in w[(rows + r) * dk..][..dk].iter().enumerate() {
                            axpy(vr, -wk, &st[kk * dv..][..dv]);
                        }
                    }
                    // S ← γ S + Kdᵀ V
                    let g = decay[xi * n + i];
                    st.iter_mut().for_each(|e| *e *= g);
                    for r in 0..c {
                        for (kk, &a) in kd[(rows + r) * dk..][..dk].iter().enumerate() {
                            axpy(&mut st[kk * dv..][..dv], a, &vn[r * dv..][..dv]);
                        }
                    }
                }
                out[n * sz..].copy_from_slice(&st);
            });
            Flex::float_from_data(TensorData::new(out, [x, n + 1, dk, dv]), &device)
        }
    }

    /// Causal attention on the host: `[o, lse]` (see [`KernelGrads::causal_attention_forward`]).
    fn attention_forward(
        q: FloatTensor<Flex>,
        k: FloatTensor<Flex>,
        v: FloatTensor<Flex>,
        groups: FloatTensor<Flex>,
    ) -> [FloatTensor<Flex>; 2] {
        let device = q.device();
        let dm = dims(&q, &k);
        let (q, k, v, g) = (host(&q), host(&k), host(&v), host(&groups));
        let (q, k, v, g) = (slice(&q), slice(&k), slice(&v), slice(&g));
        let mut o = vec![0f32; dm.b * dm.h * dm.t * dm.d];
        let mut lse = vec![0f32; dm.b * dm.h * dm.t];
        let rep = dm.h / dm.hkv;
        o.par_chunks_mut(dm.t * dm.d).zip(lse.par_chunks_mut(dm.t)).enumerate().for_each(|(bh, (o, lse))| {
            let (bi, head) = (bh / dm.h, bh % dm.h);
            let kv = (bi * dm.hkv + head / rep) * dm.t * dm.d;
            let qh = &q[bh * dm.t * dm.d..][..dm.t * dm.d];
            let (kh, vh) = (&k[kv..][..dm.t * dm.d], &v[kv..][..dm.t * dm.d]);
            let gh = &g[bi * dm.t..][..dm.t];
            let mut p = vec![0f32; dm.t];
            for i in 0..dm.t {
                let qi = &qh[i * dm.d..][..dm.d];
                let start = group_start(gh, i);
                lse[i] = softmax_row(qi, kh, dm.d, start, i, &mut p);
                let oi = &mut o[i * dm.d..][..dm.d];
                for j in start..=i {
                    axpy(oi, p[j], &vh[j * dm.d..][..dm.d]);
                }
            }
        });
        [
            Flex::float_from_data(TensorData::new(o, [dm.b, dm.h, dm.t, dm.d]), &device),
            Flex::float_from_data(TensorData::new(lse, [dm.b, dm.h, dm.t]), &device),
        ]
    }

    /// Shapes of one attention call.
    #[derive(Clone, Copy)]
    struct Dims {
        b: usize,
        h: usize,
        hkv: usize,
        t: usize,
        d: usize,
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

    fn host(x: &FloatTensor<Flex>) -> FloatTensor<Flex> {
        let x = x.to_contiguous();
        assert_eq!(x.dtype(), DType::F32, "the fused kernels take f32");
        x
    }

    fn dims(q: &FloatTensor<Flex>, k: &FloatTensor<Flex>) -> Dims {
        let (qs, ks) = (q.shape(), k.shape());
        let d = Dims { b: qs[0], h: qs[1], hkv: ks[1], t: qs[2], d: qs[3] };
        assert!(
            ks[0] == d.b && ks[2] == d.t && ks[3] == d.d && d.hkv > 0 && d.h.is_multiple_of(d.hkv),
            "causal_attention: q {qs:?} and k/v {ks:?} do not fit (GQA needs h % h_kv == 0)"
        );
        d
    }

    impl CpuKernels for Flex {
        fn gated_delta_rule(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            g: FloatTensor<Self>,
            beta: FloatTensor<Self>,
            segments: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            rule_forward(q, k, v, g, beta, segments)
        }
    }

    impl KernelGrads for Flex {
        fn causal_attention_forward(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            groups: FloatTensor<Self>,
        ) -> [FloatTensor<Self>; 2] {
            attention_forward(q, k, v, groups)
        }

        // The rows' probabilities are recomputed whole (one row at a time), so `lse` is not read.
        fn causal_attention_backward(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            groups: FloatTensor<Self>,
            o: FloatTensor<Self>,
            _lse: FloatTensor<Self>,
            grad: FloatTensor<Self>,
        ) -> [FloatTensor<Self>; 3] {
            let device = q.device();
            let dm = dims(&q, &k);
            let (q, k, v, g, o, go) = (host(&q), host(&k), host(&v), host(&groups), host(&o), host(&grad));
            let (q, k, v, g, o, go) = (slice(&q), slice(&k), slice(&v), slice(&g), slice(&o), slice(&go));
            let rep = dm.h / dm.hkv;
            let td = dm.t * dm.d;
            let scale = (dm.d as f32).powf(-0.5);
            let mut dq = vec![0f32; dm.b * dm.h * td];
            let mut dk = vec![0f32; dm.b * dm.hkv * td];
            let mut dv = vec![0f32; dm.b * dm.hkv * td];
            // One task per (row, kv head): it owns that head's dk/dv and its query heads' dq.
            dq.par_chunks_mut(rep * td).zip(dk.par_chunks_mut(td).zip(dv.par_chunks_mut(td))).enumerate().for_each(
                |(bk, (dq, (dk, dv)))| {
                    let bi = bk / dm.hkv;
                    let (kh, vh) = (&k[bk * td..][..td], &v[bk * td..][..td]);
                    let gh = &g[bi * dm.t..][..dm.t];
                    let mut p = vec![0f32; dm.t];
                    for r in 0..rep {
                        let head = bi * dm.h + (bk % dm.hkv) * rep + r;
                        let (qh, oh, goh) = (&q[head * td..][..td], &o[head * td..][..td], &go[head * td..][..td]);
                        let dqh = &mut dq[r * td..][..td];
                        for i in 0..dm.t {
                            let (qi, goi) = (&qh[i * dm.d..][..dm.d], &goh[i * dm.d..][..dm.d]);
                            let start = group_start(gh, i);
                            softmax_row(qi, kh, dm.d, start, i, &mut p);
                            let delta = dot(goi, &oh[i * dm.d..][..dm.d]);
                            let dqi = &mut dqh[i * dm.d..][..dm.d];
                            for j in start..=i {
                                let vj = &vh[j * dm.d..][..dm.d];
                                let ds = p[j] * (dot(goi, vj) - delta) * scale;
                                axpy(dqi, ds, &kh[j * dm.d..][..dm.d]);
                                axpy(&mut dk[j * dm.d..][..dm.d], ds, qi);
                                axpy(&mut dv[j * dm.d..][..dm.d], p[j], goi);
                            }
                        }
                    }
                },
            );
            let out = |x: Vec<f32>, heads: usize| {
                Flex::float_from_data(TensorData::new(x, [dm.b, heads, dm.t, dm.d]), &device)
            };
            [out(dq, dm.h), out(dk, dm.hkv), out(dv, dm.hkv)]
        }

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
                    for r in 0..c {
                        let tr = &mut t[r * dv..][..dv];
                        tr.fill(0.0);
                        for (kk, &a) in kd[(rows + r) * dk..][..dk].iter().enumerate() {
                            axpy(tr, a, &gs[kk * dv..][..dv]);
                        }
                    }
                    // G ← γ G + grad_i − Wᵀ T
                    let g = decay[xi * n + i];
                    for (e, &ext) in gs.iter_mut().zip(&grad[i * sz..][..sz]) {
                        *e = g * *e + ext;
                    }
                    for r in 0..c {
                        for (kk, &wk) in w[(rows + r) * dk..][..dk].iter().enumerate() {
                            axpy(&mut gs[kk * dv..][..dv], -wk, &t[r * dv..][..dv]);
                        }
                    }
                    out[i * sz..][..sz].copy_from_slice(&gs);
                }
            });
            Flex::float_from_data(TensorData::new(out, [x, n1, dk, dv]), &device)
        }
    }

    impl CpuKernelGrads for Flex {
        fn gated_delta_rule_backward(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            g: FloatTensor<Self>,
            beta: FloatTensor<Self>,
            segments: FloatTensor<Self>,
            grad: FloatTensor<Self>,
        ) -> [FloatTensor<Self>; 5] {
            rule_backward(q, k, v, g, beta, segments, grad)
        }
    }

    /// Shapes of one gated-delta-rule call.
    #[derive(Clone, Copy)]
    struct RuleDims {
        h: usize,
        t: usize,
        dk: usize,
        dv: usize,
    }

    /// Tokens between state checkpoints in the backward pass.
    const RULE_BLOCK: usize = 64;

    fn rule_dims(q: &FloatTensor<Flex>, v: &FloatTensor<Flex>) -> (usize, RuleDims) {
        let (qs, vs) = (q.shape(), v.shape());
        (qs[0], RuleDims { h: qs[1], t: qs[2], dk: qs[3], dv: vs[3] })
    }

    /// One token of the rule on state `s` (`dk × dv`, row-major), from `p` = the state it reads
    /// (already reset at a segment start): `s = e^g p + k δᵀ`, `δ = β (v − (e^g p)ᵀ k)`.
    /// Returns `δ` and `pred = (e^g p)ᵀ k` through the out slices.
    #[allow(clippy::too_many_arguments)]
    fn rule_step(
        s: &mut [f32],
        a: f32,
        k: &[f32],
        v: &[f32],
        beta: f32,
        dv: usize,
        delta: &mut [f32],
        pred: &mut [f32],
    ) {
        // Two passes over the state: pred = a·(Pᵀk), then S = a·P + k δᵀ row by row.
        pred.iter_mut().for_each(|x| *x = 0.0);
        for (i, &ki) in k.iter().enumerate() {
            axpy(pred, a * ki, &s[i * dv..][..dv]);
        }
        for j in 0..dv {
            delta[j] = beta * (v[j] - pred[j]);
        }
        for (i, &ki) in k.iter().enumerate() {
            for (x, &d) in s[i * dv..][..dv].iter_mut().zip(delta.iter()) {
                *x = a * *x + ki * d;
            }
        }
    }

    fn rule_forward(
        q: FloatTensor<Flex>,
        k: FloatTensor<Flex>,
        v: FloatTensor<Flex>,
        g: FloatTensor<Flex>,
        beta: FloatTensor<Flex>,
        segments: FloatTensor<Flex>,
    ) -> FloatTensor<Flex> {
        let device = q.device();
        let (b, dm) = rule_dims(&q, &v);
        let host = [&q, &k, &v, &g, &beta, &segments].map(host);
        let [q, k, v, g, beta, seg] = [0, 1, 2, 3, 4, 5].map(|i| slice(&host[i]));
        let RuleDims { h, t, dk, dv } = dm;
        let scale = (dk as f32).powf(-0.5);
        let mut o = vec![0f32; b * h * t * dv];
        o.par_chunks_mut(t * dv).enumerate().for_each(|(bh, o)| {
            let bi = bh / h;
            let (qh, kh) = (&q[bh * t * dk..][..t * dk], &k[bh * t * dk..][..t * dk]);
            let (vh, gh, bh_) = (&v[bh * t * dv..][..t * dv], &g[bh * t..][..t], &beta[bh * t..][..t]);
            let sh = &seg[bi * t..][..t];
            let mut s = vec![0f32; dk * dv];
            let (mut delta, mut pred) = (vec![0f32; dv], vec![0f32; dv]);
            for ti in 0..t {
                if ti > 0 && sh[ti] != sh[ti - 1] {
                    s.iter_mut().for_each(|x| *x = 0.0);
                }
                let kt = &kh[ti * dk..][..dk];
                rule_step(&mut s, gh[ti].exp(), kt, &vh[ti * dv..][..dv], bh_[ti], dv, &mut delta, &mut pred);
                let ot = &mut o[ti * dv..][..dv];
                for (i, &qi) in qh[ti * dk..][..dk].iter().enumerate() {
                    axpy(ot, qi * scale, &s[i * dv..][..dv]);
                }
            }
        });
        Flex::float_from_data(TensorData::new(o, [b, h, t, dv]), &device)
    }

    #[allow(clippy::too_many_arguments)]
    fn rule_backward(
        q: FloatTensor<Flex>,
        k: FloatTensor<Flex>,
        v: FloatTensor<Flex>,
        g: FloatTensor<Flex>,
        beta: FloatTensor<Flex>,
        segments: FloatTensor<Flex>,
        grad: FloatTensor<Flex>,
    ) -> [FloatTensor<Flex>; 5] {
        let device = q.device();
        let (b, dm) = rule_dims(&q, &v);
        let RuleDims { h, t, dk, dv } = dm;
        let host = [&q, &k, &v, &g, &beta, &segments, &grad].map(host);
        let [q, k, v, g, beta, seg, go] = [0, 1, 2, 3, 4, 5, 6].map(|i| slice(&host[i]));
        let scale = (dk as f32).powf(-0.5);
        let (mut dq, mut dk_, mut dv_) =
            (vec![0f32; b * h * t * dk], vec![0f32; b * h * t * dk], vec![0f32; b * h * t * dv]);
        let (mut dg, mut db) = (vec![0f32; b * h * t], vec![0f32; b * h * t]);
        dq.par_chunks_mut(t * dk)
            .zip(dk_.par_chunks_mut(t * dk))
            .zip(dv_.par_chunks_mut(t * dv))
            .zip(dg.par_chunks_mut(t).zip(db.par_chunks_mut(t)))
            .enumerate()
            .for_each(|(bh, (((dq, dkh), dvh), (dg, db)))| {
                let bi = bh / h;
                let (qh, kh) = (&q[bh * t * dk..][..t * dk], &k[bh * t * dk..][..t * dk]);
                let (vh, gh, bt) = (&v[bh * t * dv..][..t * dv], &g[bh * t..][..t], &beta[bh * t..][..t]);
                let (sh, goh) = (&seg[bi * t..][..t], &go[bh * t * dv..][..t * dv]);
                let n = dk * dv;
                let reset = |ti: usize| ti > 0 && sh[ti] != sh[ti - 1];
                // Checkpoints: the state entering every RULE_BLOCK-th token (before its reset).
                let blocks = t.div_ceil(RULE_BLOCK);
                let mut checkpoints = vec![0f32; blocks * n];
                let mut s = vec![0f32; n];
                let (mut delta, mut pred) = (vec![0f32; dv], vec![0f32; dv]);
                for ti in 0..t {
                    if ti % RULE_BLOCK == 0 {
                        checkpoints[(ti / RULE_BLOCK) * n..][..n].copy_from_slice(&s);
                    }
                    if reset(ti) {
                        s.iter_mut().for_each(|x| *x = 0.0);
                    }
                    rule_step(
                        &mut s,
                        gh[ti].exp(),
                        &kh[ti * dk..][..dk],
                        &vh[ti * dv..][..dv],
                        bt[ti],
                        dv,
                        &mut delta,
                        &mut pred,
                    );
                }
                // Reverse pass, one block at a time: recompute the block's states forward, then
                // walk it backwards carrying dS (the gradient of the state leaving the token).
                let mut ds = vec![0f32; n];
                let mut prev = vec![0f32; RULE_BLOCK * n]; // state read by each token (after reset)
                let mut deltas = vec![0f32; RULE_BLOCK * dv];
                let mut preds = vec![0f32; RULE_BLOCK * dv];
                let (mut ddelta, mut dpred, mut row) = (vec![0f32; dv], vec![0f32; dv], vec![0f32; dv]);
                for blk in (0..blocks).rev() {
                    let start = blk * RULE_BLOCK;
                    let end = (start + RULE_BLOCK).min(t);
                    s.copy_from_slice(&checkpoints[blk * n..][..n]);
                    for ti in start..end {
                        if reset(ti) {
                            s.iter_mut().for_each(|x| *x = 0.0);
                        }
                        let r = ti - start;
                        prev[r * n..][..n].copy_from_slice(&s);
                        let (dl, pr) = (&mut deltas[r * dv..][..dv], &mut preds[r * dv..][..dv]);
                        rule_step(&mut s, gh[ti].exp(), &kh[ti * dk..][..dk], &vh[ti * dv..][..dv], bt[ti], dv, dl, pr);
                    }
                    for ti in (start..end).rev() {
                        let r = ti - start;
                        let a = gh[ti].exp();
                        let p = &prev[r * n..][..n];
                        let (kt, vt, qt, got) =
                            (&kh[ti * dk..][..dk], &vh[ti * dv..][..dv], &qh[ti * dk..][..dk], &goh[ti * dv..][..dv]);
                        let (dl, pr) = (&deltas[r * dv..][..dv], &preds[r * dv..][..dv]);
                        // Pass 1, row by row: the state after the token S = a·P + k δᵀ;
                        // o = Sᵀ(scale·q) gives dq = scale·S·do and dS += scale·q doᵀ; then
                        // S = S̃ + k δᵀ gives dδ = dSᵀk and dk = dS·δ.
                        ddelta.iter_mut().for_each(|x| *x = 0.0);
                        let dqt = &mut dq[ti * dk..][..dk];
                        let dkt = &mut dkh[ti * dk..][..dk];
                        for i in 0..dk {
                            let (pi, dsi) = (&p[i * dv..][..dv], &mut ds[i * dv..][..dv]);
                            let ki = kt[i];
                            for ((r, &x), &d) in row.iter_mut().zip(pi).zip(dl) {
                                *r = a * x + ki * d;
                            }
                            dqt[i] = scale * dot(&row, got);
                            axpy(dsi, scale * qt[i], got);
                            axpy(&mut ddelta, ki, dsi);
                            dkt[i] = dot(dsi, dl);
                        }
                        // δ = β (v − pred): dv = β dδ, dβ = dδ·(v − pred), dpred = −β dδ.
                        let dvt = &mut dvh[ti * dv..][..dv];
                        let mut dbeta = 0.0;
                        for j in 0..dv {
                            dvt[j] = bt[ti] * ddelta[j];
                            dbeta += ddelta[j] * (vt[j] - pr[j]);
                            dpred[j] = -bt[ti] * ddelta[j];
                        }
                        db[ti] = dbeta;
                        // Pass 2: pred = S̃ᵀk with S̃ = a·P gives dS̃ = dS + k dpredᵀ and
                        // dk += S̃·dpred; dg = a·⟨dS̃, P⟩; dP = a·dS̃ (0 across a reset).
                        let keep = if reset(ti) { 0.0 } else { a };
                        let mut da = 0.0f32;
                        for i in 0..dk {
                            let (pi, dsi) = (&p[i * dv..][..dv], &mut ds[i * dv..][..dv]);
                            dkt[i] += a * dot(pi, &dpred);
                            axpy(dsi, kt[i], &dpred);
                            da += dot(dsi, pi);
                            dsi.iter_mut().for_each(|x| *x *= keep);
                        }
                        dg[ti] = a * da;
                    }
                }
            });
        let out = |x: Vec<f32>, d: usize| Flex::float_from_data(TensorData::new(x, [b, h, t, d]), &device);
        let out3 = |x: Vec<f32>| Flex::float_from_data(TensorData::new(x, [b, h, t]), &device);
        [out(dq, dk), out(dk_, dk), out(dv_, dv), out3(dg), out3(db)]
    }

    fn slice(x: &FloatTensor<Flex>) -> &[f32] {
        x.as_slice::<f32>().expect("a contiguous f32 tensor")
    }

    /// First key token `i` may see: the start of its run of equal group ids.
    fn group_start(groups: &[f32], i: usize) -> usize {
        let mut j = i;
        while j > 0 && groups[j - 1] == groups[i] {
            j -= 1;
        }
        j
    }

    /// `p[start..=i]` = softmax over `j` of `q·k_j / √d` (f32, max-subtracted); returns the
    /// log-sum-exp of the scores.
    fn softmax_row(qi: &[f32], k: &[f32], d: usize, start: usize, i: usize, p: &mut [f32]) -> f32 {
        let scale = (d as f32).powf(-0.5);
        let mut max = f32::NEG_INFINITY;
        for j in start..=i {
            let s = dot(qi, &k[j * d..][..d]) * scale;
            p[j] = s;
            max = max.max(s);
        }
        let mut sum = 0.0;
        for pj in &mut p[start..=i] {
            *pj = (*pj - max).exp();
            sum += *pj;
        }
        let inv = 1.0 / sum;
        p[start..=i].iter_mut().for_each(|x| *x *= inv);
        max + sum.ln()
    }

    /// Dot product in 8 lanes (the compiler vectorises this shape).
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0f32; 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
        for (x, y) in ca.zip(cb) {
            for l in 0..8 {
                acc[l] += x[l] * y[l];
            }
        }
        acc.iter().sum::<f32>() + tail
    }

    /// `y += a·x`.
    fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y += a * x;
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
    use super::{FloatTensor, KernelGrads, Kernels};
    use burn::backend::cubecl::dtype_to_storage_type;
    use burn::tensor::Shape;
    use burn_cubecl::{CubeBackend, kernel::into_contiguous, tensor::CubeTensor};
    use cubecl::prelude::*;

    /// Stands in for −∞ in score maxima (WGSL has no −∞ literal); `exp` of it minus any real
    /// score is 0 in f32.
    const NEG: f32 = -1.0e30;

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

    // Causal attention. Layouts are contiguous: q, o `[b, h, t, d]`, k, v `[b, h_kv, t, d]`,
    // groups `[b, t]`, lse (each row's log-sum-exp) and delta (rowsum(dO ∘ O)) `[b, h, t]`. A
    // cube takes a block of `ATTENTION_BLOCK` queries (or keys), so every key (query) row read
    // from memory serves the whole block. It is `w` units wide (the head dim `d` rounded up to
    // whole 32-lane planes: lavapipe miscomputes partly filled subgroups around barriers) and
    // walks the other side in blocks of `w`: in a block each unit first takes one key (its dot
    // products with the block's queries), then units `< d` accumulate their feature over the
    // block from shared memory. Nothing `t × t` is stored.

    /// Queries (forward, dq) or keys (dk, dv) per attention cube. Shared memory per cube is
    /// `3 · 4 · ATTENTION_BLOCK · w` bytes at most (24 KiB at head dim 256; lavapipe allows 32).
    const ATTENTION_BLOCK: usize = 8;

    /// First token that token `i` of row `row` sees: the start of its run of equal group ids.
    #[cube]
    fn run_start<F: Float>(groups: &Tensor<F>, row: usize, i: usize) -> usize {
        let id = groups[row + i];
        let mut j = i;
        loop {
            if j == 0 {
                break;
            }
            if groups[row + j - 1] != id {
                break;
            }
            j -= 1;
        }
        j
    }

    /// Last token of the run of equal group ids that token `j` of row `row` belongs to.
    #[cube]
    fn run_end<F: Float>(groups: &Tensor<F>, row: usize, j: usize, t: usize) -> usize {
        let id = groups[row + j];
        let mut i = j;
        loop {
            if i + 1 >= t {
                break;
            }
            if groups[row + i + 1] != id {
                break;
            }
            i += 1;
        }
        i
    }

    /// Forward, one cube per block of `rows` queries of one head and batch row, with an online
    /// softmax over key blocks. Each unit's key row and each unit's value feature are read once
    /// for all the block's queries. Also writes each row's log-sum-exp for the backward.
    #[cube(launch)]
    fn attention_forward_kernel<F: Float>(
        q: &Tensor<F>,
        k: &Tensor<F>,
        v: &Tensor<F>,
        groups: &Tensor<F>,
        o: &mut Tensor<F>,
        lse: &mut Tensor<F>,
        #[comptime] d: usize,
        #[comptime] w: usize,
        #[comptime] rows: usize,
        #[define(F)] _dtype: ElemType,
    ) {
        let u = UNIT_POS_X as usize;
        let (blk, head, r) = (CUBE_POS_X as usize, CUBE_POS_Y as usize, CUBE_POS_Z as usize);
        let (h, t, hkv) = (q.shape(1), q.shape(2), k.shape(1));
        let i0 = blk * rows;
        let mut last = i0 + rows - 1;
        if last >= t {
            last = t - 1;
        }
        let base = (r * h + head) * t;
        let kv = (r * hkv + head / (h / hkv)) * t * d;
        let scale = F::new(1.0) / F::cast_from(d as u32).sqrt();

        let mut qs = Shared::<[F]>::new_slice(rows * d);
        let mut ps = Shared::<[F]>::new_slice(rows * w);
        let mut starts = Shared::<[u32]>::new_slice(rows);
        let mut row_m = Shared::<[F]>::new_slice(rows);
        let mut row_l = Shared::<[F]>::new_slice(rows);
        let mut row_c = Shared::<[F]>::new_slice(rows);
        load_rows::<F>(q, &mut qs, base, i0, t, scale, d, w, rows);
        if u < rows {
            starts[u] = row_start::<F>(groups, r * t, i0 + u, t);
            row_m[u] = F::new(NEG);
            row_l[u] = F::new(0.0);
        }
        sync_cube();

        let mut acc = Array::<F>::new(rows);
        let mut sc = Array::<F>::new(rows);
        for rr in 0..rows {
            acc[rr] = F::new(0.0);
        }
        let mut j0 = starts[0] as usize;
        while j0 <= last {
            let mut n = last + 1 - j0;
            if n > w {
                n = w;
            }
            let j = j0 + u;
            for rr in 0..rows {
                sc[rr] = F::new(0.0);
            }
            if u < n {
                let kj = kv + j * d;
                for c in 0..d {
                    let kc = k[kj + c];
                    for rr in 0..rows {
                        sc[rr] += qs[rr * d + c] * kc;
                    }
                }
            }
            for rr in 0..rows {
                let mut s = F::new(NEG);
                if u < n && j <= i0 + rr && j >= starts[rr] as usize {
                    s = sc[rr];
                }
                ps[rr * w + u] = s;
            }
            sync_cube();
            // New row maxima (one unit per row), then probabilities (masked scores give 0).
            if u < rows {
                let old = row_m[u];
                let mut mx = old;
                for jj in 0..n {
                    if ps[u * w + jj] > mx {
                        mx = ps[u * w + jj];
                    }
                }
                row_c[u] = (old - mx).exp();
                row_m[u] = mx;
            }
            sync_cube();
            for rr in 0..rows {
                let s = ps[rr * w + u];
                let mut p = F::new(0.0);
                if s > F::new(NEG) {
                    p = (s - row_m[rr]).exp();
                }
                ps[rr * w + u] = p;
            }
            sync_cube();
            if u < rows {
                let mut l = row_l[u] * row_c[u];
                for jj in 0..n {
                    l += ps[u * w + jj];
                }
                row_l[u] = l;
            }
            if u < d {
                for rr in 0..rows {
                    acc[rr] *= row_c[rr];
                }
                for jj in 0..n {
                    let vj = v[kv + (j0 + jj) * d + u];
                    for rr in 0..rows {
                        acc[rr] += ps[rr * w + jj] * vj;
                    }
                }
            }
            sync_cube();
            j0 += w;
        }
        for rr in 0..rows {
            let i = i0 + rr;
            if i < t {
                if u < d {
                    o[(base + i) * d + u] = acc[rr] / row_l[rr];
                }
                if u == 0 {
                    lse[base + i] = row_m[rr] + row_l[rr].ln();
                }
            }
        }
    }

    /// Rows `i0 .. i0 + rows` of a `[.., t, d]` tensor (from row `base`) into shared memory,
    /// times `scale`; rows past `t` are zeros.
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn load_rows<F: Float>(
        x: &Tensor<F>,
        dst: &mut [F],
        base: usize,
        i0: usize,
        t: usize,
        scale: F,
        #[comptime] d: usize,
        #[comptime] w: usize,
        #[comptime] rows: usize,
    ) {
        let mut idx = UNIT_POS_X as usize;
        while idx < rows * d {
            let rr = idx / d;
            let mut val = F::new(0.0);
            if i0 + rr < t {
                val = x[(base + i0 + rr) * d + idx % d] * scale;
            }
            dst[idx] = val;
            idx += w;
        }
    }

    /// [`run_start`] of token `i`, or `t` (nothing to see) for a row past the end.
    #[cube]
    fn row_start<F: Float>(groups: &Tensor<F>, row: usize, i: usize, t: usize) -> u32 {
        let mut start = t;
        if i < t {
            start = run_start::<F>(groups, row, i);
        }
        start as u32
    }

    /// Backward over query blocks, one cube per block of `rows` queries of one head and batch
    /// row: `dq_i = scale Σ_j P_ij (dO_i·v_j − D_i) k_j` with `P_ij = exp(s_ij − lse_i)` and
    /// `D_i = dO_i·O_i`, which it stores for the key kernel.
    #[cube(launch)]
    fn attention_backward_query_kernel<F: Float>(
        q: &Tensor<F>,
        k: &Tensor<F>,
        v: &Tensor<F>,
        groups: &Tensor<F>,
        o: &Tensor<F>,
        lse: &Tensor<F>,
        go: &Tensor<F>,
        dq: &mut Tensor<F>,
        delta: &mut Tensor<F>,
        #[comptime] d: usize,
        #[comptime] w: usize,
        #[comptime] rows: usize,
        #[define(F)] _dtype: ElemType,
    ) {
        let u = UNIT_POS_X as usize;
        let (blk, head, r) = (CUBE_POS_X as usize, CUBE_POS_Y as usize, CUBE_POS_Z as usize);
        let (h, t, hkv) = (q.shape(1), q.shape(2), k.shape(1));
        let i0 = blk * rows;
        let mut last = i0 + rows - 1;
        if last >= t {
            last = t - 1;
        }
        let base = (r * h + head) * t;
        let kv = (r * hkv + head / (h / hkv)) * t * d;
        let scale = F::new(1.0) / F::cast_from(d as u32).sqrt();

        let mut qs = Shared::<[F]>::new_slice(rows * d);
        let mut gs = Shared::<[F]>::new_slice(rows * d);
        let mut ps = Shared::<[F]>::new_slice(rows * w);
        let mut starts = Shared::<[u32]>::new_slice(rows);
        let mut row_lse = Shared::<[F]>::new_slice(rows);
        let mut row_delta = Shared::<[F]>::new_slice(rows);
        load_rows::<F>(q, &mut qs, base, i0, t, scale, d, w, rows);
        load_rows::<F>(go, &mut gs, base, i0, t, F::new(1.0), d, w, rows);
        if u < rows {
            let i = i0 + u;
            starts[u] = row_start::<F>(groups, r * t, i, t);
            let mut l = F::new(0.0);
            let mut dl = F::new(0.0);
            if i < t {
                l = lse[base + i];
                for c in 0..d {
                    dl += go[(base + i) * d + c] * o[(base + i) * d + c];
                }
                delta[base + i] = dl;
            }
            row_lse[u] = l;
            row_delta[u] = dl;
        }
        sync_cube();

        // dS_ij = P_ij (dO_i·v_j − D_i), accumulated into dq by feature.
        let mut acc = Array::<F>::new(rows);
        let mut sc = Array::<F>::new(rows);
        let mut dp = Array::<F>::new(rows);
        for rr in 0..rows {
            acc[rr] = F::new(0.0);
        }
        let mut j0 = starts[0] as usize;
        while j0 <= last {
            let mut n = last + 1 - j0;
            if n > w {
                n = w;
            }
            let j = j0 + u;
            for rr in 0..rows {
                sc[rr] = F::new(0.0);
                dp[rr] = F::new(0.0);
            }
            if u < n {
                let kj = kv + j * d;
                for c in 0..d {
                    let (kc, vc) = (k[kj + c], v[kj + c]);
                    for rr in 0..rows {
                        sc[rr] += qs[rr * d + c] * kc;
                        dp[rr] += gs[rr * d + c] * vc;
                    }
                }
            }
            for rr in 0..rows {
                let mut ds = F::new(0.0);
                if u < n && j <= i0 + rr && j >= starts[rr] as usize {
                    ds = (sc[rr] - row_lse[rr]).exp() * (dp[rr] - row_delta[rr]);
                }
                ps[rr * w + u] = ds;
            }
            sync_cube();
            if u < d {
                for jj in 0..n {
                    let kj = k[kv + (j0 + jj) * d + u];
                    for rr in 0..rows {
                        acc[rr] += ps[rr * w + jj] * kj;
                    }
                }
            }
            sync_cube();
            j0 += w;
        }
        for rr in 0..rows {
            let i = i0 + rr;
            if i < t && u < d {
                dq[(base + i) * d + u] = acc[rr] * scale;
            }
        }
    }

    /// Backward over key blocks, one cube per block of `keys` keys of one kv head and batch row,
    /// over every query head of the group: `dv_j = Σ_i P_ij dO_i`, `dk_j = scale Σ_i dS_ij q_i`.
    /// Each unit's query row and each unit's feature of `q`/`dO` are read once for all the
    /// block's keys.
    #[cube(launch)]
    fn attention_backward_key_kernel<F: Float>(
        q: &Tensor<F>,
        k: &Tensor<F>,
        v: &Tensor<F>,
        groups: &Tensor<F>,
        go: &Tensor<F>,
        lse: &Tensor<F>,
        delta: &Tensor<F>,
        dk: &mut Tensor<F>,
        dv: &mut Tensor<F>,
        #[comptime] d: usize,
        #[comptime] w: usize,
        #[comptime] keys: usize,
        #[define(F)] _dtype: ElemType,
    ) {
        let u = UNIT_POS_X as usize;
        let (blk, kvh, r) = (CUBE_POS_X as usize, CUBE_POS_Y as usize, CUBE_POS_Z as usize);
        let (h, t, hkv) = (q.shape(1), q.shape(2), k.shape(1));
        let rep = h / hkv;
        let j0 = blk * keys;
        let kbase = (r * hkv + kvh) * t;
        let scale = F::new(1.0) / F::cast_from(d as u32).sqrt();

        // The block's key and value rows are read straight from memory: every unit reads the
        // same element at once (a broadcast), and lavapipe's 32 KiB of shared memory is spent on
        // the probabilities.
        let mut ps = Shared::<[F]>::new_slice(keys * w);
        let mut dss = Shared::<[F]>::new_slice(keys * w);
        let mut ends = Shared::<[u32]>::new_slice(keys);
        let mut krow = Array::<u32>::new(keys);
        for kk in 0..keys {
            let mut j = j0 + kk;
            if j >= t {
                j = t - 1;
            }
            krow[kk] = ((kbase + j) * d) as u32;
        }
        if u < keys {
            // A key past the end keeps the previous key's end (ends stay non-decreasing).
            let mut j = j0 + u;
            if j >= t {
                j = t - 1;
            }
            ends[u] = run_end::<F>(groups, r * t, j, t) as u32;
        }
        sync_cube();
        let hi = ends[keys - 1] as usize;

        let mut dk_acc = Array::<F>::new(keys);
        let mut dv_acc = Array::<F>::new(keys);
        let mut sc = Array::<F>::new(keys);
        let mut dp = Array::<F>::new(keys);
        for kk in 0..keys {
            dk_acc[kk] = F::new(0.0);
            dv_acc[kk] = F::new(0.0);
        }
        for head in kvh * rep..(kvh + 1) * rep {
            let base = (r * h + head) * t;
            let mut i0 = j0;
            while i0 <= hi {
                let mut n = hi + 1 - i0;
                if n > w {
                    n = w;
                }
                let i = i0 + u;
                for kk in 0..keys {
                    sc[kk] = F::new(0.0);
                    dp[kk] = F::new(0.0);
                }
                let mut row_lse = F::new(0.0);
                let mut row_delta = F::new(0.0);
                if u < n {
                    let qi = (base + i) * d;
                    for c in 0..d {
                        let (qc, gc) = (q[qi + c], go[qi + c]);
                        for kk in 0..keys {
                            let at = krow[kk] as usize + c;
                            sc[kk] += qc * k[at];
                            dp[kk] += gc * v[at];
                        }
                    }
                    row_lse = lse[base + i];
                    row_delta = delta[base + i];
                }
                for kk in 0..keys {
                    let j = j0 + kk;
                    let mut p = F::new(0.0);
                    let mut ds = F::new(0.0);
                    if u < n && j < t && i >= j && i <= ends[kk] as usize {
                        p = (sc[kk] * scale - row_lse).exp();
                        ds = p * (dp[kk] - row_delta);
                    }
                    ps[kk * w + u] = p;
                    dss[kk * w + u] = ds;
                }
                sync_cube();
                if u < d {
                    for ii in 0..n {
                        let at = (base + i0 + ii) * d + u;
                        let (qv, gv) = (q[at], go[at]);
                        for kk in 0..keys {
                            dv_acc[kk] += ps[kk * w + ii] * gv;
                            dk_acc[kk] += dss[kk * w + ii] * qv;
                        }
                    }
                }
                sync_cube();
                i0 += w;
            }
        }
        for kk in 0..keys {
            let j = j0 + kk;
            if j < t && u < d {
                dk[(kbase + j) * d + u] = dk_acc[kk] * scale;
                dv[(kbase + j) * d + u] = dv_acc[kk];
            }
        }
    }

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

    /// An uninitialised f32-or-like tensor on `like`'s device.
    fn empty(like: &CubeTensor, shape: Shape) -> CubeTensor {
        let handle = like.client.empty(shape.num_elements() * like.dtype.size());
        CubeTensor::new_contiguous(like.client.clone(), like.device.clone(), shape, handle, like.dtype)
    }

    /// `(b, h, h_kv, t, d, w)` of an attention call, checked; `w` is the cube width.
    fn attention_dims(q: &CubeTensor, k: &CubeTensor) -> (usize, usize, usize, usize, usize, usize) {
        let (qs, ks) = (q.meta.shape(), k.meta.shape());
        let (b, h, t, d, hkv) = (qs[0], qs[1], qs[2], qs[3], ks[1]);
        assert!(
            ks[0] == b && ks[2] == t && ks[3] == d && hkv > 0 && h.is_multiple_of(hkv),
            "causal_attention: q {qs:?} and k/v {ks:?} do not fit (GQA needs h % h_kv == 0)"
        );
        let w = d.div_ceil(32) * 32;
        let hardware = &q.client.properties().hardware;
        let max = hardware.max_cube_dim.0 as usize;
        assert!(w <= max, "causal_attention: head dim {d} is wider than a cube ({max} units) on this device");
        // The dq kernel's q and dO rows plus its probabilities, the largest of the three.
        let shared = (2 * d + w) * ATTENTION_BLOCK * 4 + 64;
        let limit = hardware.max_shared_memory_size;
        assert!(
            shared <= limit,
            "causal_attention: head dim {d} needs {shared} B of shared memory per cube, this device has {limit} B"
        );
        (b, h, hkv, t, d, w)
    }

    /// Launches the attention forward: `[o, lse]`.
    fn attention_forward(q: CubeTensor, k: CubeTensor, v: CubeTensor, groups: CubeTensor) -> [CubeTensor; 2] {
        let [q, k, v, groups] = [q, k, v, groups].map(into_contiguous);
        let (b, h, _, t, d, w) = attention_dims(&q, &k);
        let out = empty(&q, q.meta.shape().clone());
        let lse = empty(&q, Shape::new([b, h, t]));
        attention_forward_kernel::launch(
            &out.client,
            CubeCount::Static(t.div_ceil(ATTENTION_BLOCK) as u32, h as u32, b as u32),
            CubeDim::new_1d(w as u32),
            q.clone().into_tensor_arg(),
            k.into_tensor_arg(),
            v.into_tensor_arg(),
            groups.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            lse.clone().into_tensor_arg(),
            d,
            w,
            ATTENTION_BLOCK,
            dtype_to_storage_type(q.dtype),
        );
        [out, lse]
    }

    impl Kernels for CubeBackend {
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

        fn causal_attention(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            groups: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let [o, _] = attention_forward(q, k, v, groups);
            o
        }

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

    impl KernelGrads for CubeBackend {
        fn causal_attention_forward(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            groups: FloatTensor<Self>,
        ) -> [FloatTensor<Self>; 2] {
            attention_forward(q, k, v, groups)
        }

        fn causal_attention_backward(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            groups: FloatTensor<Self>,
            o: FloatTensor<Self>,
            lse: FloatTensor<Self>,
            grad: FloatTensor<Self>,
        ) -> [FloatTensor<Self>; 3] {
            let [q, k, v, groups, o, lse, grad] = [q, k, v, groups, o, lse, grad].map(into_contiguous);
            let (b, h, hkv, t, d, w) = attention_dims(&q, &k);
            let dtype = dtype_to_storage_type(q.dtype);
            let dq = empty(&q, q.meta.shape().clone());
            let delta = empty(&q, Shape::new([b, h, t]));
            attention_backward_query_kernel::launch(
                &q.client,
                CubeCount::Static(t.div_ceil(ATTENTION_BLOCK) as u32, h as u32, b as u32),
                CubeDim::new_1d(w as u32),
                q.clone().into_tensor_arg(),
                k.clone().into_tensor_arg(),
                v.clone().into_tensor_arg(),
                groups.clone().into_tensor_arg(),
                o.into_tensor_arg(),
                lse.clone().into_tensor_arg(),
                grad.clone().into_tensor_arg(),
                dq.clone().into_tensor_arg(),
                delta.clone().into_tensor_arg(),
                d,
                w,
                ATTENTION_BLOCK,
                dtype,
            );
            let dk = empty(&k, k.meta.shape().clone());
            let dv = empty(&v, v.meta.shape().clone());
            attention_backward_key_kernel::launch(
                &dk.client,
                CubeCount::Static(t.div_ceil(ATTENTION_BLOCK) as u32, hkv as u32, b as u32),
                CubeDim::new_1d(w as u32),
                q.into_tensor_arg(),
                k.into_tensor_arg(),
                v.into_tensor_arg(),
                groups.into_tensor_arg(),
                grad.into_tensor_arg(),
                lse.into_tensor_arg(),
                delta.into_tensor_arg(),
                dk.clone().into_tensor_arg(),
                dv.clone().into_tensor_arg(),
                d,
                w,
                ATTENTION_BLOCK,
                dtype,
            );
            [dq, dk, dv]
        }

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
