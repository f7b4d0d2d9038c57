//! The gated delta rule on the CPU (`flex` only), one (row, head) per rayon task, in one of two
//! forms chosen by the state's size: token by token for small states (the state stays in
//! cache-sized f32 blocks; the backward recomputes states from checkpoints every `RULE_BLOCK`
//! tokens), and in chunks of 64 tokens as small GEMMs for states from 48 × 48 on
//! (`gated_delta_rule/chunked.rs`, Qwen3.5's 128 × 128 heads). GPUs run the chunked form
//! ([`crate::gated_delta_rule`] with [`unit_lower_inverse`](mod@super::unit_lower_inverse) and [`chunk_states`](mod@super::chunk_states)).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::tensor::{DType, Tensor};

/// The kernel as a Burn backend extension: `flex` only.
#[backend_extension(Autodiff, Flex: cfg(feature = "flex"))]
pub trait GatedDeltaRule: Backend {
    /// The gated delta rule's output `[b, h, t, dv]` from a zero state, in one call for all
    /// heads (no per-chunk launches): `q`, `k`
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

/// Its backward, on the inner backend (called by the autodiff implementation).
pub trait GatedDeltaRuleGrads: Backend {
    /// `[dq, dk, dv, dg, dbeta]` of [`GatedDeltaRule::gated_delta_rule`] from its inputs and the
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

/// The gated delta rule's output from a zero state (see [`GatedDeltaRule::gated_delta_rule`]), f32.
/// Only where [`super::has_cpu_kernels`] says so. Differentiable.
pub fn gated_delta_rule(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    g: Tensor<3>,
    beta: Tensor<3>,
    segments: Tensor<2>,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as GatedDeltaRule>::gated_delta_rule(
        q.cast(DType::F32).into_dispatch(),
        k.cast(DType::F32).into_dispatch(),
        v.cast(DType::F32).into_dispatch(),
        g.cast(DType::F32).into_dispatch(),
        beta.cast(DType::F32).into_dispatch(),
        segments.cast(DType::F32).into_dispatch(),
    ))
}

impl<B: Backend + GatedDeltaRule + GatedDeltaRuleGrads, C: CheckpointStrategy> GatedDeltaRule for Autodiff<B, C> {
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
        impl<B: Backend + GatedDeltaRuleGrads> Backward<B, 5> for RuleBackward {
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
mod chunked;

#[cfg(feature = "flex")]
mod flex {
    use super::chunked::{self, Head};
    use super::*;
    use crate::kernels::flex_ops::{axpy, dot, host, slice, with_avx2};
    use burn::backend::Flex;
    use burn::backend::TensorMetadata;
    use burn::backend::ops::FloatTensorOps;
    use burn::tensor::TensorData;
    use rayon::prelude::*;

    impl GatedDeltaRule for Flex {
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

    impl GatedDeltaRuleGrads for Flex {
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

    /// Whether a (row, head) runs in chunks of GEMMs rather than token by token: where the
    /// state is large enough for GEMMs to pay (see `CHUNKED_MIN_STATE`).
    fn in_chunks(dm: RuleDims) -> bool {
        dm.dk * dm.dv >= CHUNKED_MIN_STATE
    }

    /// State size (`dk·dv`) from which the chunked form is faster on the CPU. Measured forward +
    /// backward, 2 threads: 32 × 32 token by token 4.9 ms vs chunked 6.2 ms (8 heads, 2 × 256);
    /// 48 × 48 10.8 vs 6.8 ms, 64 × 64 13.3 vs 8.5 ms, 128 × 128 117 vs 35 ms (1 × 512).
    const CHUNKED_MIN_STATE: usize = 48 * 48;

    /// One (row, head)'s inputs for the chunked form.
    #[allow(clippy::too_many_arguments)]
    fn head<'a>(
        bh: usize,
        dm: RuleDims,
        q: &'a [f32],
        k: &'a [f32],
        v: &'a [f32],
        g: &'a [f32],
        beta: &'a [f32],
        seg: &'a [f32],
    ) -> Head<'a> {
        let RuleDims { h, t, dk, dv } = dm;
        Head {
            q: &q[bh * t * dk..][..t * dk],
            k: &k[bh * t * dk..][..t * dk],
            v: &v[bh * t * dv..][..t * dv],
            g: &g[bh * t..][..t],
            beta: &beta[bh * t..][..t],
            seg: &seg[(bh / h) * t..][..t],
            dk,
            dv,
        }
    }

    fn rule_dims(q: &FloatTensor<Flex>, v: &FloatTensor<Flex>) -> (usize, RuleDims) {
        let (qs, vs) = (q.shape(), v.shape());
        (qs[0], RuleDims { h: qs[1], t: qs[2], dk: qs[3], dv: vs[3] })
    }

    /// One token of the rule on state `s` (`dk × dv`, row-major), from `p` = the state it reads
    /// (already reset at a segment start): `s = e^g p + k δᵀ`, `δ = β (v − (e^g p)ᵀ k)`.
    /// Returns `δ` and `pred = (e^g p)ᵀ k` through the out slices.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
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
            if in_chunks(dm) {
                return with_avx2(
                    #[inline(always)]
                    || chunked::forward(&head(bh, dm, q, k, v, g, beta, seg), scale, o),
                );
            }
            with_avx2(
                #[inline(always)]
                || {
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
                },
            )
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
                if in_chunks(dm) {
                    let grads = chunked::Grads { dq, dk: dkh, dv: dvh, dg, db };
                    let x = head(bh, dm, q, k, v, g, beta, seg);
                    return with_avx2(
                        #[inline(always)]
                        || chunked::backward(&x, scale, &go[bh * t * dv..][..t * dv], grads),
                    );
                }
                with_avx2(
                    #[inline(always)]
                    || {
                        let bi = bh / h;
                        let (qh, kh) = (&q[bh * t * dk..][..t * dk], &k[bh * t * dk..][..t * dk]);
                        let (vh, gh, bt) = (&v[bh * t * dv..][..t * dv], &g[bh * t..][..t], &beta[bh * t..][..t]);
                        let (sh, goh) = (&seg[bi * t..][..t], &go[bh * t * dv..][..t * dv]);
                        let n = dk * dv;
                        let reset = |ti: usize| ti > 0 && sh[ti] != sh[ti - 1];
                        let (key, value) = (|ti: usize| &kh[ti * dk..][..dk], |ti: usize| &vh[ti * dv..][..dv]);
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
                            rule_step(&mut s, gh[ti].exp(), key(ti), value(ti), bt[ti], dv, &mut delta, &mut pred);
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
                                rule_step(&mut s, gh[ti].exp(), key(ti), value(ti), bt[ti], dv, dl, pr);
                            }
                            for ti in (start..end).rev() {
                                let r = ti - start;
                                let a = gh[ti].exp();
                                let p = &prev[r * n..][..n];
                                let (kt, vt, qt, got) = (
                                    &kh[ti * dk..][..dk],
                                    &vh[ti * dv..][..dv],
                                    &qh[ti * dk..][..dk],
                                    &goh[ti * dv..][..dv],
                                );
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
                    },
                )
            });
        let out = |x: Vec<f32>, d: usize| Flex::float_from_data(TensorData::new(x, [b, h, t, d]), &device);
        let out3 = |x: Vec<f32>| Flex::float_from_data(TensorData::new(x, [b, h, t]), &device);
        [out(dq, dk), out(dk_, dk), out(dv_, dv), out3(dg), out3(db)]
    }
}
