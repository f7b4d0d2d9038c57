//! Causal softmax attention with grouped-query heads and packing groups, never storing
//! anything `t × t`: blocks of 64 query rows as GEMMs on `flex`, a CubeCL kernel on the GPU runtimes, and a
//! flash-attention-style backward that recomputes the probabilities from each row's saved
//! log-sum-exp.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::tensor::{DType, Tensor};

/// The kernel as a Burn backend extension (dispatched on the tensor's device).
#[backend_extension(
    Autodiff,
    Cube: cfg(feature = "cube"),
    Flex: cfg(feature = "flex")
)]
pub trait CausalAttention: Backend {
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
}

/// The forward that keeps what the backward needs, and the backward, on the inner backend
/// (called by the autodiff implementation).
pub trait CausalAttentionGrads: Backend {
    /// [`CausalAttention::causal_attention`] that also returns each row's softmax log-sum-exp
    /// `[b, h, t]` (scores scaled by `d^-1/2`), for the backward.
    fn causal_attention_forward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        groups: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 2];

    /// `[dq, dk, dv]` of [`CausalAttention::causal_attention`] from its inputs, its output, the rows'
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
}

/// Fused causal attention (f32; see [`CausalAttention::causal_attention`]): a CubeCL kernel on the GPU
/// runtimes, rayon on `flex`. Differentiable.
pub fn causal_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, groups: Tensor<2>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CausalAttention>::causal_attention(
        q.cast(DType::F32).into_dispatch(),
        k.cast(DType::F32).into_dispatch(),
        v.cast(DType::F32).into_dispatch(),
        groups.cast(DType::F32).into_dispatch(),
    ))
}

impl<B: Backend + CausalAttention + CausalAttentionGrads, C: CheckpointStrategy> CausalAttention for Autodiff<B, C> {
    fn causal_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        groups: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AttentionBackward;
        impl<B: Backend + CausalAttentionGrads> Backward<B, 3> for AttentionBackward {
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
}

#[cfg(feature = "flex")]
mod flex {
    //! Blocked attention on the host, flash-attention style: 64 query rows at a time, their
    //! scores against the keys they may see as one GEMM, the masked softmax on that block, and
    //! `P·V` as a second GEMM. Only one block of scores exists per task.
    use super::*;
    use crate::kernels::flex_ops::{Strided, dot, exp, gemm, host, max, slice, sum, with_avx2};
    use burn::backend::Flex;
    use burn::backend::TensorMetadata;
    use burn::backend::ops::FloatTensorOps;
    use burn::tensor::TensorData;
    use rayon::prelude::*;

    /// Query rows per block: large enough for the GEMMs to run at speed, small enough that a
    /// block of scores (`64 × t` floats) stays in L2 at the study's lengths. (32, 128 and 256
    /// measured no faster at head dims 16 and 256.)
    const BLOCK: usize = 64;

    impl CausalAttention for Flex {
        fn causal_attention(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            groups: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let [o, _] = attention_forward(q, k, v, groups);
            o
        }
    }

    impl CausalAttentionGrads for Flex {
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
            let device = q.device();
            let dm = dims(&q, &k);
            let (q, k, v, g) = (host(&q), host(&k), host(&v), host(&groups));
            let (o, lse, go) = (host(&o), host(&lse), host(&grad));
            let (q, k, v, g) = (slice(&q), slice(&k), slice(&v), slice(&g));
            let (o, lse, go) = (slice(&o), slice(&lse), slice(&go));
            let starts = group_starts(g, dm);
            let (rep, td, d) = (dm.h / dm.hkv, dm.t * dm.d, dm.d);
            let block = BLOCK;
            let blocks = dm.t.div_ceil(block);
            // `D_i = dO_i · O_i`, once per row.
            let mut delta = vec![0f32; dm.b * dm.h * dm.t];
            delta.par_chunks_mut(dm.t).enumerate().for_each(|(bh, delta)| {
                for (i, di) in delta.iter_mut().enumerate() {
                    let row = (bh * dm.t + i) * d;
                    *di = dot(&go[row..][..d], &o[row..][..d]);
                }
            });
            // A task is one (row, kv head) and a share of its query blocks (dealt round-robin,
            // so each share has early and late blocks alike): it writes its blocks' dq and sums
            // into its own dk/dv. Shares exist only where there are fewer (row, kv head) pairs
            // than threads; their dk/dv are added up after.
            let shares = rayon::current_num_threads().div_ceil(dm.b * dm.hkv).clamp(1, blocks);
            let parts: Vec<_> = (0..dm.b * dm.hkv * shares)
                .into_par_iter()
                .map(|task| {
                    with_avx2(
                        #[inline(always)]
                        || {
                            let (bk, share) = (task / shares, task % shares);
                            let bi = bk / dm.hkv;
                            let (kh, vh) = (&k[bk * td..][..td], &v[bk * td..][..td]);
                            let gs = &starts[bi * dm.t..][..dm.t];
                            let mut dq = Vec::new();
                            let mut dk = vec![0f32; td];
                            let mut dv = vec![0f32; td];
                            let mut s = vec![0f32; block * dm.t];
                            let mut dp = vec![0f32; block * dm.t];
                            for blk in (share..blocks).step_by(shares) {
                                let (i0, i1) = (blk * block, ((blk + 1) * block).min(dm.t));
                                let (s0, m) = (gs[i0], i1 - i0);
                                let n = i1 - s0;
                                for r in 0..rep {
                                    let head = bi * dm.h + (bk % dm.hkv) * rep + r;
                                    let (qh, goh) = (&q[head * td..][..td], &go[head * td..][..td]);
                                    let (lse, delta) = (&lse[head * dm.t..][..dm.t], &delta[head * dm.t..][..dm.t]);
                                    let (s, dp) = (&mut s[..m * n], &mut dp[..m * n]);
                                    // P, recomputed from the forward's log-sum-exp.
                                    scores(s, qh, kh, d, i0, s0, m, n);
                                    for (row, i) in s.chunks_exact_mut(n).zip(i0..i1) {
                                        let (lo, hi) = (gs[i] - s0, i - s0);
                                        row[..lo].fill(0.0);
                                        row[hi + 1..].fill(0.0);
                                        let l = lse[i];
                                        row[lo..=hi].iter_mut().for_each(|x| *x = exp(*x - l));
                                    }
                                    // dP = dO·Vᵀ, then dS = P ∘ (dP − D) / √d, in place of dP.
                                    let (dol, vt) = (Strided::rows(i0 * d, d), Strided::transposed(s0 * d, d));
                                    gemm(dp, Strided::rows(0, n), goh, dol, vh, vt, (m, n, d), 0.0, 1.0);
                                    let scale = (d as f32).powf(-0.5);
                                    for ((dsr, pr), i) in dp.chunks_exact_mut(n).zip(s.chunks_exact(n)).zip(i0..i1) {
                                        dsr.iter_mut().zip(pr).for_each(|(ds, p)| *ds = p * (*ds - delta[i]) * scale);
                                    }
                                    // dQ = dS·K, dK += dSᵀ·Q, dV += Pᵀ·dO.
                                    let at = dq.len();
                                    dq.resize(at + m * d, 0.0);
                                    let ks = Strided::rows(s0 * d, d);
                                    let (dql, dsl) = (Strided::rows(0, d), Strided::rows(0, n));
                                    gemm(&mut dq[at..], dql, dp, dsl, kh, ks, (m, d, n), 0.0, 1.0);
                                    let (dst, ql) = (Strided::rows(s0 * d, d), Strided::rows(i0 * d, d));
                                    gemm(&mut dk, dst, dp, Strided::transposed(0, n), qh, ql, (n, d, m), 1.0, 1.0);
                                    gemm(&mut dv, dst, s, Strided::transposed(0, n), goh, dol, (n, d, m), 1.0, 1.0);
                                }
                            }
                            (dq, dk, dv)
                        },
                    )
                })
                .collect();
            // Put the shares' pieces in place: dq blocks in the order each task made them.
            let mut dq = vec![0f32; dm.b * dm.h * td];
            let mut dk = vec![0f32; dm.b * dm.hkv * td];
            let mut dv = vec![0f32; dm.b * dm.hkv * td];
            for (task, (pq, pk, pv)) in parts.into_iter().enumerate() {
                let (bk, share) = (task / shares, task % shares);
                let (bi, kvh) = (bk / dm.hkv, bk % dm.hkv);
                let mut at = 0;
                for blk in (share..blocks).step_by(shares) {
                    let (i0, i1) = (blk * block, ((blk + 1) * block).min(dm.t));
                    for r in 0..rep {
                        let head = bi * dm.h + kvh * rep + r;
                        let len = (i1 - i0) * d;
                        dq[head * td + i0 * d..][..len].copy_from_slice(&pq[at..][..len]);
                        at += len;
                    }
                }
                for (dst, src) in [(&mut dk, pk), (&mut dv, pv)] {
                    dst[bk * td..][..td].iter_mut().zip(src).for_each(|(a, b)| *a += b);
                }
            }
            let out = |x: Vec<f32>, heads: usize| {
                Flex::float_from_data(TensorData::new(x, [dm.b, heads, dm.t, dm.d]), &device)
            };
            [out(dq, dm.h), out(dk, dm.hkv), out(dv, dm.hkv)]
        }
    }

    /// Causal attention on the host: `[o, lse]` (see [`CausalAttentionGrads::causal_attention_forward`]).
    /// One task per block of query rows of a (row, head).
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
        let starts = group_starts(g, dm);
        let (rep, td, d) = (dm.h / dm.hkv, dm.t * dm.d, dm.d);
        let block = BLOCK;
        let mut o = vec![0f32; dm.b * dm.h * td];
        let mut lse = vec![0f32; dm.b * dm.h * dm.t];
        o.par_chunks_mut(td).zip(lse.par_chunks_mut(dm.t)).enumerate().for_each(|(bh, (o, lse))| {
            let bi = bh / dm.h;
            let kv = (bi * dm.hkv + bh % dm.h / rep) * td;
            let (qh, kh, vh) = (&q[bh * td..][..td], &k[kv..][..td], &v[kv..][..td]);
            let gs = &starts[bi * dm.t..][..dm.t];
            o.par_chunks_mut(block * d).zip(lse.par_chunks_mut(block)).enumerate().for_each(|(blk, (o, lse))| {
                with_avx2(
                    #[inline(always)]
                    || {
                        let (i0, m) = (blk * block, lse.len());
                        let (s0, i1) = (gs[i0], i0 + m);
                        let n = i1 - s0;
                        let mut s = vec![0f32; m * n];
                        scores(&mut s, qh, kh, d, i0, s0, m, n);
                        let mut inv = vec![0f32; m];
                        for (r, row) in s.chunks_exact_mut(n).enumerate() {
                            let i = i0 + r;
                            let (lo, hi) = (gs[i] - s0, i - s0);
                            row[..lo].fill(0.0);
                            row[hi + 1..].fill(0.0);
                            let live = &mut row[lo..=hi];
                            let mx = max(live);
                            live.iter_mut().for_each(|x| *x = exp(*x - mx));
                            let total = sum(live);
                            inv[r] = 1.0 / total;
                            lse[r] = mx + total.ln();
                        }
                        // O = P·V with P unnormalised, then each row divided by its sum.
                        let (ol, pl, vl) = (Strided::rows(0, d), Strided::rows(0, n), Strided::rows(s0 * d, d));
                        gemm(o, ol, &s, pl, vh, vl, (m, d, n), 0.0, 1.0);
                        for (row, inv) in o.chunks_exact_mut(d).zip(inv) {
                            row.iter_mut().for_each(|x| *x *= inv);
                        }
                    },
                )
            });
        });
        [
            Flex::float_from_data(TensorData::new(o, [dm.b, dm.h, dm.t, dm.d]), &device),
            Flex::float_from_data(TensorData::new(lse, [dm.b, dm.h, dm.t]), &device),
        ]
    }

    /// `s[m × n]` = the scaled scores `q_i · k_j / √d` of query rows `i0..i0+m` against key rows
    /// `s0..s0+n` of one head.
    #[allow(clippy::too_many_arguments)]
    fn scores(s: &mut [f32], q: &[f32], k: &[f32], d: usize, i0: usize, s0: usize, m: usize, n: usize) {
        let (ql, kt) = (Strided::rows(i0 * d, d), Strided::transposed(s0 * d, d));
        gemm(s, Strided::rows(0, n), q, ql, k, kt, (m, n, d), 0.0, (d as f32).powf(-0.5));
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

    fn dims(q: &FloatTensor<Flex>, k: &FloatTensor<Flex>) -> Dims {
        let (qs, ks) = (q.shape(), k.shape());
        let d = Dims { b: qs[0], h: qs[1], hkv: ks[1], t: qs[2], d: qs[3] };
        assert!(
            ks[0] == d.b && ks[2] == d.t && ks[3] == d.d && d.hkv > 0 && d.h.is_multiple_of(d.hkv),
            "causal_attention: q {qs:?} and k/v {ks:?} do not fit (GQA needs h % h_kv == 0)"
        );
        d
    }

    /// For every token of every row, the first key it may see: the start of its run of equal
    /// group ids (`[b · t]`, one pass).
    fn group_starts(groups: &[f32], dm: Dims) -> Vec<usize> {
        let mut starts = vec![0; dm.b * dm.t];
        for (gs, g) in starts.chunks_exact_mut(dm.t).zip(groups.chunks_exact(dm.t)) {
            for i in 1..dm.t {
                gs[i] = if g[i - 1] == g[i] { gs[i - 1] } else { i };
            }
        }
        starts
    }
}

#[cfg(feature = "cube")]
mod cube {
    use super::{CausalAttention, CausalAttentionGrads, FloatTensor};
    use crate::kernels::cube_ops::empty;
    use burn::backend::cubecl::dtype_to_storage_type;
    use burn::tensor::Shape;
    use burn_cubecl::{CubeBackend, kernel::into_contiguous, tensor::CubeTensor};
    use cubecl::prelude::*;

    /// Stands in for −∞ in score maxima (WGSL has no −∞ literal); `exp` of it minus any real
    /// score is 0 in f32.
    const NEG: f32 = -1.0e30;

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

    impl CausalAttention for CubeBackend {
        fn causal_attention(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            groups: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let [o, _] = attention_forward(q, k, v, groups);
            o
        }
    }

    impl CausalAttentionGrads for CubeBackend {
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
    }
}
