//! The gated delta rule on the CPU in chunks of 64 tokens, forward and backward as small GEMMs
//! (the WY form: `T = (I + A)⁻¹` per chunk, then the chunk's products against its state).
//! Token by token the state is read three times per token in the forward and about eleven in
//! the backward, which at `dk = dv = 128` (64 KiB of state) is bound by the L2 cache; in chunks
//! the same work is GEMMs. Per chunk of `L` tokens, with `G` the cumulative log-decay inside
//! it, `Γ = e^G`, `D_ij = e^(G_i − G_j)` where `j ≤ i` in the same packed example (else 0),
//! and `S₀` the state entering it (`dk × dv`):
//!
//! ```text
//! A  = strictly-lower(β_i (K Kᵀ)_ij D_ij)       T = (I + A)⁻¹
//! W  = T diag(βΓ) K                              U = T diag(β) V
//! V' = U − diag(a) W S₀                          (a: the tokens that continue S₀'s example)
//! O  = diag(Γa) Q S₀ + (Q Kᵀ ∘ D) V'
//! S  = c Γ_L S₀ + (diag(e·e^(G_L − G)) K)ᵀ V'   (e: the tokens of the chunk's last example;
//!                                                c: whether the whole chunk continues S₀)
//! ```
//!
//! The backward walks the chunks in reverse with the gradient of the state leaving each,
//! from the chunk start states, `T`, `W` and `V'` its first pass stored.

use crate::kernels::flex_ops::{Strided, gemm};

/// Tokens per chunk.
pub(super) const CHUNK: usize = 64;

/// Where one (row, head) of the inputs lies: `q`, `k` `[t, dk]` (q unscaled), `v` `[t, dv]`,
/// `g`, `beta`, `seg` `[t]`.
#[derive(Clone, Copy)]
pub(super) struct Head<'a> {
    pub q: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub g: &'a [f32],
    pub beta: &'a [f32],
    pub seg: &'a [f32],
    pub dk: usize,
    pub dv: usize,
}

/// One chunk's masks and decays, and the products both passes need (sized for a full chunk).
struct Chunk {
    t0: usize,
    len: usize,
    /// Leading tokens that continue the example of the state entering the chunk.
    na: usize,
    /// First token of the chunk's last example.
    e0: usize,
    /// Cumulative log-decay and its exponential.
    gc: Vec<f32>,
    gam: Vec<f32>,
    /// `D` (0 outside the causal, same-example pattern), `L × L`.
    d: Vec<f32>,
    /// `K Kᵀ` and `P = scale · Q Kᵀ ∘ D` (`L × L`).
    kk: Vec<f32>,
    p: Vec<f32>,
    /// `scale · Q` (`L × dk`).
    qs: Vec<f32>,
    /// `diag(βΓ) K` (`L × dk`), `diag(β) V` (`L × dv`), `diag(e^(G_L − G)) K` (`L × dk`).
    kb: Vec<f32>,
    vb: Vec<f32>,
    kd: Vec<f32>,
}

impl Chunk {
    fn new(dk: usize, dv: usize) -> Self {
        let l = CHUNK;
        Chunk {
            t0: 0,
            len: 0,
            na: 0,
            e0: 0,
            gc: vec![0.0; l],
            gam: vec![0.0; l],
            d: vec![0.0; l * l],
            kk: vec![0.0; l * l],
            p: vec![0.0; l * l],
            qs: vec![0.0; l * dk],
            kb: vec![0.0; l * dk],
            vb: vec![0.0; l * dv],
            kd: vec![0.0; l * dk],
        }
    }

    /// Fills what the state pass needs for the chunk starting at `t0`: masks, decays, `K Kᵀ`,
    /// `Kb`, `Vb`, `Kd` (the backward's first pass needs nothing more).
    fn load(&mut self, x: &Head, t0: usize, t: usize) {
        let (dk, dv) = (x.dk, x.dv);
        let l = CHUNK.min(t - t0);
        let seg = &x.seg[t0..t0 + l];
        self.t0 = t0;
        self.len = l;
        let continues = t0 == 0 || x.seg[t0] == x.seg[t0 - 1];
        self.na = if continues { seg.iter().take_while(|&&s| s == seg[0]).count() } else { 0 };
        self.e0 = l - seg.iter().rev().take_while(|&&s| s == seg[l - 1]).count();
        let mut acc = 0.0;
        for i in 0..l {
            acc += x.g[t0 + i];
            self.gc[i] = acc;
            self.gam[i] = acc.exp();
        }
        for i in 0..l {
            let row = &mut self.d[i * l..][..l];
            for (j, dij) in row.iter_mut().enumerate() {
                *dij = if j <= i && seg[i] == seg[j] { (self.gc[i] - self.gc[j]).exp() } else { 0.0 };
            }
        }
        let (kl, ql) = (Strided::rows(t0 * dk, dk), Strided::transposed(t0 * dk, dk));
        let sq = Strided::rows(0, l);
        gemm(&mut self.kk, sq, x.k, kl, x.k, ql, (l, l, dk), 0.0, 1.0);
        let gl = self.gc[l - 1];
        for i in 0..l {
            let (ki, vi) = (&x.k[(t0 + i) * dk..][..dk], &x.v[(t0 + i) * dv..][..dv]);
            let b = x.beta[t0 + i];
            let (bg, f) = (b * self.gam[i], if i >= self.e0 { (gl - self.gc[i]).exp() } else { 0.0 });
            let (kb, kd) = (&mut self.kb[i * dk..][..dk], &mut self.kd[i * dk..][..dk]);
            for ((kb, kd), &k) in kb.iter_mut().zip(kd.iter_mut()).zip(ki) {
                *kb = bg * k;
                *kd = f * k;
            }
            self.vb[i * dv..][..dv].iter_mut().zip(vi).for_each(|(o, v)| *o = b * v);
        }
    }

    /// After [`Chunk::load`], what the outputs (and their gradients) need: `scale · Q` and `P`.
    fn load_output(&mut self, x: &Head, scale: f32) {
        let (dk, l, t0) = (x.dk, self.len, self.t0);
        let (kl, ql) = (Strided::rows(t0 * dk, dk), Strided::transposed(t0 * dk, dk));
        gemm(&mut self.p, Strided::rows(0, l), x.q, kl, x.k, ql, (l, l, dk), 0.0, scale);
        self.p[..l * l].iter_mut().zip(&self.d[..l * l]).for_each(|(p, d)| *p *= d);
        let q = &x.q[t0 * dk..][..l * dk];
        self.qs[..l * dk].iter_mut().zip(q).for_each(|(o, q)| *o = scale * q);
    }

    /// `T = (I + A)⁻¹` by forward substitution, `A_ij = β_i (K Kᵀ)_ij D_ij` for `j < i`.
    fn inverse(&self, x: &Head, tm: &mut [f32]) {
        let l = self.len;
        tm[..l * l].fill(0.0);
        for i in 0..l {
            let b = x.beta[self.t0 + i];
            for m in 0..i {
                let aim = b * self.kk[i * l + m] * self.d[i * l + m];
                if aim != 0.0 {
                    let (rows_m, row_i) = tm.split_at_mut(i * l);
                    let (src, dst) = (&rows_m[m * l..][..=m], &mut row_i[..=m]);
                    for (t, s) in dst.iter_mut().zip(src) {
                        *t -= aim * s;
                    }
                }
            }
            tm[i * l + i] = 1.0;
        }
    }
}

/// One chunk forward: from the state `s` entering it, writes `T`, `W`, `V'` and (if asked,
/// after [`Chunk::load_output`]) the output rows, and leaves the state leaving it in `s`.
#[allow(clippy::too_many_arguments)]
fn chunk_forward(
    x: &Head,
    c: &Chunk,
    s: &mut [f32],
    tm: &mut [f32],
    w: &mut [f32],
    vn: &mut [f32],
    o: Option<&mut [f32]>,
) {
    let (dk, dv, l, na) = (x.dk, x.dv, c.len, c.na);
    c.inverse(x, tm);
    let (sq, sk, sv) = (Strided::rows(0, l), Strided::rows(0, dk), Strided::rows(0, dv));
    gemm(w, sk, tm, sq, &c.kb, sk, (l, dk, l), 0.0, 1.0);
    gemm(vn, sv, tm, sq, &c.vb, sv, (l, dv, l), 0.0, 1.0);
    gemm(vn, sv, w, sk, s, sv, (na, dv, dk), 1.0, -1.0);
    if let Some(o) = o {
        // O = diag(Γ) Qs S₀ on the leading rows, then + (Qs Kᵀ ∘ D) V'.
        gemm(o, sv, &c.qs, sk, s, sv, (na, dv, dk), 0.0, 1.0);
        for i in 0..na {
            o[i * dv..][..dv].iter_mut().for_each(|v| *v *= c.gam[i]);
        }
        o[na * dv..l * dv].fill(0.0);
        gemm(o, sv, &c.p, sq, vn, sv, (l, dv, l), 1.0, 1.0);
    }
    // S = c Γ_L S₀ + Kdᵀ V' over the last example's rows.
    let keep = if na == l { c.gam[l - 1] } else { 0.0 };
    let (e0, ne) = (c.e0, l - c.e0);
    gemm(s, sv, &c.kd, Strided::transposed(e0 * dk, dk), vn, Strided::rows(e0 * dv, dv), (dk, dv, ne), keep, 1.0);
}

/// The output of one (row, head) from a zero state: `o` `[t, dv]`.
pub(super) fn forward(x: &Head, scale: f32, o: &mut [f32]) {
    let (dk, dv, t) = (x.dk, x.dv, x.g.len());
    let mut c = Chunk::new(dk, dv);
    let mut s = vec![0.0; dk * dv];
    let (mut tm, mut w, mut vn) = (vec![0.0; CHUNK * CHUNK], vec![0.0; CHUNK * dk], vec![0.0; CHUNK * dv]);
    for t0 in (0..t).step_by(CHUNK) {
        c.load(x, t0, t);
        c.load_output(x, scale);
        chunk_forward(x, &c, &mut s, &mut tm, &mut w, &mut vn, Some(&mut o[t0 * dv..]));
    }
}

/// Gradients of one (row, head), written into its slices of `dq`, `dk` (`[t, dk]`), `dv`
/// (`[t, dv]`), `dg` and `db` (`[t]`), from the output's gradient `go` (`[t, dv]`).
pub(super) struct Grads<'a> {
    pub dq: &'a mut [f32],
    pub dk: &'a mut [f32],
    pub dv: &'a mut [f32],
    pub dg: &'a mut [f32],
    pub db: &'a mut [f32],
}

/// Scratch of the backward, sized for a full chunk.
struct Scratch {
    dvn: Vec<f32>,
    dp: Vec<f32>,
    dt: Vec<f32>,
    tmp: Vec<f32>,
    dw: Vec<f32>,
    dkb: Vec<f32>,
    dvb: Vec<f32>,
    dkd: Vec<f32>,
    qa: Vec<f32>,
    dgc: Vec<f32>,
}

pub(super) fn backward(x: &Head, scale: f32, go: &[f32], out: Grads) {
    let (dk, dv, t) = (x.dk, x.dv, x.g.len());
    let (l2, n) = (CHUNK * CHUNK, dk * dv);
    let chunks = t.div_ceil(CHUNK);
    let mut c = Chunk::new(dk, dv);
    // First pass: each chunk's entering state, T, W and V'.
    let (mut s0, mut tm) = (vec![0.0; chunks * n], vec![0.0; chunks * l2]);
    let (mut w, mut vn) = (vec![0.0; chunks * CHUNK * dk], vec![0.0; chunks * CHUNK * dv]);
    let mut s = vec![0.0; n];
    for ci in 0..chunks {
        c.load(x, ci * CHUNK, t);
        s0[ci * n..][..n].copy_from_slice(&s);
        let (tm, w, vn) = (
            &mut tm[ci * l2..][..l2],
            &mut w[ci * CHUNK * dk..][..CHUNK * dk],
            &mut vn[ci * CHUNK * dv..][..CHUNK * dv],
        );
        chunk_forward(x, &c, &mut s, tm, w, vn, None);
    }
    // Second pass, last chunk first, carrying dS (the gradient of the state leaving a chunk).
    let mut sc = Scratch {
        dvn: vec![0.0; CHUNK * dv],
        dp: vec![0.0; l2],
        dt: vec![0.0; l2],
        tmp: vec![0.0; l2],
        dw: vec![0.0; CHUNK * dk],
        dkb: vec![0.0; CHUNK * dk],
        dvb: vec![0.0; CHUNK * dv],
        dkd: vec![0.0; CHUNK * dk],
        qa: vec![0.0; CHUNK * dk],
        dgc: vec![0.0; CHUNK],
    };
    let (mut ds, mut ds_prev) = (vec![0.0; n], vec![0.0; n]);
    let Grads { dq, dk: dkey, dv: dval, dg, db } = out;
    for ci in (0..chunks).rev() {
        let t0 = ci * CHUNK;
        c.load(x, t0, t);
        c.load_output(x, scale);
        let l = c.len;
        let st = Saved {
            s0: &s0[ci * n..][..n],
            t: &tm[ci * l2..][..l2],
            w: &w[ci * CHUNK * dk..][..CHUNK * dk],
            vn: &vn[ci * CHUNK * dv..][..CHUNK * dv],
        };
        let g = Grads {
            dq: &mut dq[t0 * dk..][..l * dk],
            dk: &mut dkey[t0 * dk..][..l * dk],
            dv: &mut dval[t0 * dv..][..l * dv],
            dg: &mut dg[t0..][..l],
            db: &mut db[t0..][..l],
        };
        chunk_backward(x, &c, &st, &go[t0 * dv..][..l * dv], &ds, &mut ds_prev, &mut sc, g, scale);
        std::mem::swap(&mut ds, &mut ds_prev);
    }
}

/// What the first pass kept for one chunk.
struct Saved<'a> {
    s0: &'a [f32],
    t: &'a [f32],
    w: &'a [f32],
    vn: &'a [f32],
}

/// One chunk backward: from `ds` (the gradient of the state leaving the chunk) and the
/// chunk's output gradient rows `go`, writes the chunk's input gradients and `ds_prev` (that
/// of the state entering it).
#[allow(clippy::too_many_arguments)]
fn chunk_backward(
    x: &Head,
    c: &Chunk,
    st: &Saved,
    go: &[f32],
    ds: &[f32],
    ds_prev: &mut [f32],
    sc: &mut Scratch,
    out: Grads,
    scale: f32,
) {
    let (dk, dv, l, na, e0, t0) = (x.dk, x.dv, c.len, c.na, c.e0, c.t0);
    let (sq, sk, sv) = (Strided::rows(0, l), Strided::rows(0, dk), Strided::rows(0, dv));
    let (tq, tk, tv) = (Strided::transposed(0, l), Strided::transposed(0, dk), Strided::transposed(0, dv));
    let kl = Strided::rows(t0 * dk, dk);
    let gl = c.gc[l - 1];
    let dgc = &mut sc.dgc[..l];
    dgc.fill(0.0);
    // dV' = Pᵀ dO + Kd dS (the last example's rows).
    let dvn = &mut sc.dvn[..];
    gemm(dvn, sv, &c.p, tq, go, sv, (l, dv, l), 0.0, 1.0);
    gemm(dvn, Strided::rows(e0 * dv, dv), &c.kd, Strided::rows(e0 * dk, dk), ds, sv, (l - e0, dv, dk), 1.0, 1.0);
    // dP = dO V'ᵀ; through P = scale·QKᵀ ∘ D: dG from D, and dP ∘ D in place.
    let dp = &mut sc.dp[..];
    gemm(dp, sq, go, sv, st.vn, tv, (l, l, dv), 0.0, 1.0);
    for i in 0..l {
        for j in 0..=i {
            let e = dp[i * l + j] * c.p[i * l + j];
            dgc[i] += e;
            dgc[j] -= e;
            dp[i * l + j] *= c.d[i * l + j];
        }
        dp[i * l + i + 1..(i + 1) * l].fill(0.0);
    }
    // dS₀ = (diag(Γ) Qs)ᵀ dO − Wᵀ dV' over the rows that continue S₀, + Γ_L dS if all do.
    if na == 0 {
        ds_prev.fill(0.0);
    } else {
        let qa = &mut sc.qa[..];
        for i in 0..na {
            qa[i * dk..][..dk].iter_mut().zip(&c.qs[i * dk..][..dk]).for_each(|(a, q)| *a = c.gam[i] * q);
        }
        gemm(ds_prev, sv, qa, tk, go, sv, (dk, dv, na), 0.0, 1.0);
        gemm(ds_prev, sv, st.w, tk, dvn, sv, (dk, dv, na), 1.0, -1.0);
        if na == l {
            let gam_l = c.gam[l - 1];
            ds_prev.iter_mut().zip(ds).for_each(|(a, b)| *a += gam_l * b);
            dgc[l - 1] += gam_l * st.s0.iter().zip(ds).map(|(a, b)| a * b).sum::<f32>();
        }
    }
    // dQs = diag(Γ) dO S₀ᵀ (continuing rows) + (dP ∘ D) K.
    let dq = &mut out.dq[..];
    gemm(dq, sk, go, sv, st.s0, tv, (na, dk, dv), 0.0, 1.0);
    for i in 0..na {
        let row = &mut dq[i * dk..][..dk];
        dgc[i] += c.gam[i] * row.iter().zip(&c.qs[i * dk..][..dk]).map(|(a, b)| a * b).sum::<f32>();
        row.iter_mut().for_each(|v| *v *= c.gam[i]);
    }
    dq[na * dk..].fill(0.0);
    gemm(dq, sk, dp, sq, x.k, kl, (l, dk, l), 1.0, 1.0);
    dq.iter_mut().for_each(|v| *v *= scale);
    // dK = (dP ∘ D)ᵀ Qs, + through Kd = diag(e^(G_L − G)) K on the last example's rows.
    let dkey = &mut out.dk[..];
    gemm(dkey, sk, dp, tq, &c.qs, sk, (l, dk, l), 0.0, 1.0);
    let dkd = &mut sc.dkd[..];
    gemm(dkd, Strided::rows(e0 * dk, dk), st.vn, Strided::rows(e0 * dv, dv), ds, tv, (l - e0, dk, dv), 0.0, 1.0);
    for j in e0..l {
        let f = (gl - c.gc[j]).exp();
        let (dkdj, kdj) = (&dkd[j * dk..][..dk], &c.kd[j * dk..][..dk]);
        let lj: f32 = dkdj.iter().zip(kdj).map(|(a, b)| a * b).sum();
        dgc[l - 1] += lj;
        dgc[j] -= lj;
        dkey[j * dk..][..dk].iter_mut().zip(dkdj).for_each(|(a, b)| *a += f * b);
    }
    // V' = U − W S₀ (continuing rows): dU = dV', dW = −dV' S₀ᵀ.
    let dw = &mut sc.dw[..];
    gemm(dw, sk, dvn, sv, st.s0, tv, (na, dk, dv), 0.0, -1.0);
    dw[na * dk..l * dk].fill(0.0);
    // W = T Kb, U = T Vb: dT = dW Kbᵀ + dU Vbᵀ, dKb = Tᵀ dW, dVb = Tᵀ dU.
    let (dt, tmp) = (&mut sc.dt[..], &mut sc.tmp[..]);
    gemm(dt, sq, dw, sk, &c.kb, tk, (l, l, dk), 0.0, 1.0);
    gemm(dt, sq, dvn, sv, &c.vb, tv, (l, l, dv), 1.0, 1.0);
    gemm(&mut sc.dkb, sk, st.t, tq, dw, sk, (l, dk, l), 0.0, 1.0);
    gemm(&mut sc.dvb, sv, st.t, tq, dvn, sv, (l, dv, l), 0.0, 1.0);
    // T = (I + A)⁻¹: dA = −Tᵀ dT Tᵀ, kept strictly lower (in `dt`).
    gemm(tmp, sq, dt, sq, st.t, tq, (l, l, l), 0.0, 1.0);
    gemm(dt, sq, st.t, tq, tmp, sq, (l, l, l), 0.0, -1.0);
    // A_ij = β_i (KKᵀ)_ij D_ij: dβ, dG, and dKK = dA ∘ D ∘ β_i in place of dA.
    for i in 0..l {
        let b = x.beta[t0 + i];
        let mut dbi = 0.0;
        for j in 0..i {
            let at = i * l + j;
            let f = dt[at] * c.kk[at] * c.d[at];
            dbi += f;
            dgc[i] += b * f;
            dgc[j] -= b * f;
            dt[at] *= c.d[at] * b;
        }
        dt[i * l + i..(i + 1) * l].fill(0.0);
        out.db[i] = dbi;
    }
    gemm(dkey, sk, dt, sq, x.k, kl, (l, dk, l), 1.0, 1.0);
    gemm(dkey, sk, dt, tq, x.k, kl, (l, dk, l), 1.0, 1.0);
    // Kb = diag(βΓ) K and Vb = diag(β) V.
    for i in 0..l {
        let (b, gam) = (x.beta[t0 + i], c.gam[i]);
        let (dkbi, ki) = (&sc.dkb[i * dk..][..dk], &x.k[(t0 + i) * dk..][..dk]);
        let lk = gam * dkbi.iter().zip(ki).map(|(a, b)| a * b).sum::<f32>();
        dkey[i * dk..][..dk].iter_mut().zip(dkbi).for_each(|(a, d)| *a += b * gam * d);
        let (dvbi, vi) = (&sc.dvb[i * dv..][..dv], &x.v[(t0 + i) * dv..][..dv]);
        let lv: f32 = dvbi.iter().zip(vi).map(|(a, b)| a * b).sum();
        out.dv[i * dv..][..dv].iter_mut().zip(dvbi).for_each(|(a, d)| *a = b * d);
        out.db[i] += lk + lv;
        dgc[i] += b * lk;
    }
    // G = cumsum(g): dg_i = Σ_{i' ≥ i} dG_i'.
    let mut acc = 0.0;
    for i in (0..l).rev() {
        acc += dgc[i];
        out.dg[i] = acc;
    }
}
