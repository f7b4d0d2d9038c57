//! The gated delta rule (Yang, Kautz & Hatamizadeh, "Gated Delta Networks", ICLR 2025), in plain
//! Burn ops with f32 state: the reference that fused kernels are tested against.
//!
//! Per head, with state `S` (`dk × dv`), decay `g ≤ 0` (log space) and write strength `β`:
//!
//! ```text
//! S_t = e^{g_t} (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ        o_t = S_tᵀ q_t
//! ```
//!
//! Two forms compute it. [`recurrent`] steps token by token (decode). [`chunked`] splits the
//! sequence in chunks of [`CHUNK`] tokens: within a chunk, with cumulative decay `γ`,
//! `A = β (K Kᵀ) ⊙ exp(γ_i − γ_j)` (strictly lower), `T = (I + A)⁻¹`, `u = T (β V)`,
//! `w = T (β e^γ K)`; one sequential pass over chunks carries `S`:
//! `o = (Q e^γ) S + ((Q Kᵀ) ⊙ decay ⊙ causal) (u − w S)` (the transformers
//! `torch_chunk_gated_delta_rule` and fla's `chunk_gated_delta_rule`).
//!
//! `T` is computed by forward substitution on 16 × 16 diagonal blocks merged by block
//! inversion. The tempting product `(I − A)(I + A²)(I + A⁴)…` loses everything in f32 when decay
//! is slow and keys are correlated (errors of 1e15 measured), so it is not used.
//!
//! Packed rows: `segments` (one id per token) resets the state at every change of id, so
//! examples packed in one row do not see each other. Both forms honour it.

use burn::tensor::{Bool, DType, Tensor};

/// Tokens per chunk of the chunked form (the training path).
pub const CHUNK: usize = 64;

/// Largest block solved by plain forward substitution inside [`unit_lower_inverse`].
const SUBSTITUTION_BLOCK: usize = 16;

/// Inputs of the rule, all `f32`, heads already expanded to the value heads.
///
/// # Shapes
/// `q`, `k`: `[b, h, t, dk]` (q and k L2-normalised; `q` is scaled by `dk^-1/2` here),
/// `v`: `[b, h, t, dv]`, `g`, `beta`: `[b, h, t]`, `initial_state`: `[b, h, dk, dv]`,
/// `segments`: `[b, t]` segment ids as floats (equal id = same example).
#[derive(Debug, Clone)]
pub struct RuleInput {
    /// Queries.
    pub q: Tensor<4>,
    /// Keys.
    pub k: Tensor<4>,
    /// Values.
    pub v: Tensor<4>,
    /// Log decay per token (≤ 0).
    pub g: Tensor<3>,
    /// Write strength per token, in (0, 1).
    pub beta: Tensor<3>,
    /// State carried in from earlier tokens (decode cache), zeros when `None`.
    pub initial_state: Option<Tensor<4>>,
    /// Segment ids for packed rows; `None` means one segment per row.
    pub segments: Option<Tensor<2>>,
}

/// Output `[b, h, t, dv]` and the final state `[b, h, dk, dv]`.
pub type RuleOutput = (Tensor<4>, Tensor<4>);

/// Token-by-token form. Exact but sequential: used for decoding and as a test oracle.
pub fn recurrent(input: RuleInput) -> RuleOutput {
    let RuleInput { q, k, v, g, beta, initial_state, segments } = input;
    let [b, h, t, dk] = q.dims();
    let dv = v.dims()[3];
    let device = q.device();
    let q = q * (dk as f64).powf(-0.5);
    let mut s = initial_state.unwrap_or_else(|| Tensor::zeros([b, h, dk, dv], (&device, DType::F32)));
    let mut outs = Vec::with_capacity(t);
    for i in 0..t {
        if let (Some(seg), true) = (&segments, i > 0) {
            // keep[b] = 1 while the segment continues, 0 where a new example starts.
            let cur = seg.clone().narrow(1, i, 1);
            let prev = seg.clone().narrow(1, i - 1, 1);
            let keep = cur.equal(prev).float().reshape([b, 1, 1, 1]);
            s = s * keep;
        }
        let q_t = q.clone().narrow(2, i, 1); // [b, h, 1, dk]
        let k_t = k.clone().narrow(2, i, 1); // [b, h, 1, dk]
        let v_t = v.clone().narrow(2, i, 1); // [b, h, 1, dv]
        let decay = g.clone().narrow(2, i, 1).exp().unsqueeze_dim::<4>(3); // [b, h, 1, 1]
        let beta_t = beta.clone().narrow(2, i, 1).unsqueeze_dim::<4>(3); // [b, h, 1, 1]
        s = s * decay;
        let predicted = k_t.clone().matmul(s.clone()); // [b, h, 1, dv]
        let delta = (v_t - predicted) * beta_t;
        s = s + k_t.swap_dims(2, 3).matmul(delta); // [b, h, dk, dv]
        outs.push(q_t.matmul(s.clone())); // [b, h, 1, dv]
    }
    (Tensor::cat(outs, 2), s)
}

/// Chunked form (chunks of [`CHUNK`]), the training and prefill path. The triangular solve and
/// the pass over chunks run as fused kernels ([`unit_lower_inverse`](mod@crate::kernels::unit_lower_inverse),
/// [`chunk_states`](mod@crate::kernels::chunk_states)).
pub fn chunked(input: RuleInput) -> RuleOutput {
    chunked_with_kernels(input, true)
}

/// [`chunked`] in plain Burn ops only: the reference the fused kernels are tested against.
pub fn chunked_reference(input: RuleInput) -> RuleOutput {
    chunked_with_kernels(input, false)
}

/// [`chunked`] (`fused`) or [`chunked_reference`] (not): the GDN layers pass the kernel policy.
pub fn chunked_with_kernels(input: RuleInput, fused: bool) -> RuleOutput {
    let RuleInput { q, k, v, g, beta, initial_state, segments } = input;
    let [b, h, t, dk] = q.dims();
    let dv = v.dims()[3];
    let device = q.device();
    let c = CHUNK;
    let n = t.div_ceil(c);
    let pad = n * c - t;

    // 1. Pad to whole chunks with zero tokens (no write, no decay) and split into chunks.
    let pad4 = |x: Tensor<4>| -> Tensor<4> {
        if pad == 0 {
            return x;
        }
        let [b, h, _, d] = x.dims();
        Tensor::cat(vec![x.clone(), Tensor::zeros([b, h, pad, d], (&x.device(), DType::F32))], 2)
    };
    let pad3 = |x: Tensor<3>| -> Tensor<3> {
        if pad == 0 {
            return x;
        }
        let [b, h, _] = x.dims();
        Tensor::cat(vec![x.clone(), Tensor::zeros([b, h, pad], (&x.device(), DType::F32))], 2)
    };
    let q = pad4(q * (dk as f64).powf(-0.5)).reshape([b, h, n, c, dk]);
    let k = pad4(k).reshape([b, h, n, c, dk]);
    let v = pad4(v).reshape([b, h, n, c, dv]);
    let beta = pad3(beta).reshape([b, h, n, c]);
    let gamma = pad3(g).reshape([b, h, n, c]).cumsum(3); // cumulative log decay in each chunk

    // 2. Pairwise decay exp(γ_i − γ_j) for j ≤ i (0 above the diagonal, and across segments).
    let upper: Tensor<5, Bool> = Tensor::<2, Bool>::tril_mask([c, c], 0, &device).unsqueeze::<5>();
    // tril_mask marks what to mask *out*: true strictly above the diagonal.
    let diff = gamma.clone().unsqueeze_dim::<5>(4) - gamma.clone().unsqueeze_dim::<5>(3); // [b,h,n,c,c]
    let mut decay = diff.mask_fill(upper.clone(), f32::NEG_INFINITY).exp();
    let masks = segments.map(|seg| SegmentMasks::new(seg, n, c, pad));
    if let Some(m) = &masks {
        decay = decay * m.same.clone();
    }

    // 3. Intra-chunk system: A strictly lower, T = (I + A)⁻¹, u = T βV, w = T β e^γ K.
    let beta5 = beta.unsqueeze_dim::<5>(4); // [b,h,n,c,1]
    let k_beta = k.clone() * beta5.clone();
    let a =
        (k_beta.clone().matmul(k.clone().swap_dims(3, 4)) * decay.clone()).mask_fill(upper_or_diag(&device, c), 0.0);
    let tinv = if fused {
        crate::kernels::unit_lower_inverse(a.reshape([b * h * n, c, c])).reshape([b, h, n, c, c])
    } else {
        unit_lower_inverse(a)
    };
    let u = tinv.clone().matmul(v * beta5);
    let exp_gamma = gamma.clone().exp().unsqueeze_dim::<5>(4); // [b,h,n,c,1]
    let mut decayed_k_beta = k_beta * exp_gamma.clone();
    let mut q_decayed = q.clone() * exp_gamma;
    let attn = q.matmul(k.clone().swap_dims(3, 4)) * decay; // [b,h,n,c,c]
    let last = gamma.clone().narrow(3, c - 1, 1); // [b,h,n,1]
    let mut k_decayed = k * (last.clone() - gamma).exp().unsqueeze_dim::<5>(4);
    let mut chunk_decay = last.exp(); // [b,h,n,1]
    if let Some(m) = &masks {
        // Only tokens of the segment that continues from the previous chunk read the state;
        // only tokens of the chunk's last segment write to it; the old state survives the
        // chunk only when one segment spans it.
        decayed_k_beta = decayed_k_beta * m.continues.clone().unsqueeze_dim::<5>(4);
        q_decayed = q_decayed * m.continues.clone().unsqueeze_dim::<5>(4);
        k_decayed = k_decayed * m.in_last.clone().unsqueeze_dim::<5>(4);
        chunk_decay = chunk_decay * m.carries.clone();
    }
    let w = tinv.matmul(decayed_k_beta);

    // 4. Sequential pass over chunks carrying the state: one fused kernel for the states, then
    //    every chunk's output at once; or, in plain ops, chunk by chunk.
    let s0 = initial_state.unwrap_or_else(|| Tensor::zeros([b, h, dk, dv], (&device, DType::F32)));
    let (out, last) = if fused {
        let x = b * h;
        let states = crate::kernels::chunk_states(
            u.clone().reshape([x, n, c, dv]),
            w.clone().reshape([x, n, c, dk]),
            k_decayed.reshape([x, n, c, dk]),
            chunk_decay.reshape([x, n]),
            s0.reshape([x, dk, dv]),
        ); // [x, n + 1, dk, dv]
        let entering = states.clone().narrow(1, 0, n).reshape([b, h, n, dk, dv]);
        let v_new = u - w.matmul(entering.clone());
        let out = (q_decayed.matmul(entering) + attn.matmul(v_new)).reshape([b, h, n * c, dv]);
        (out, states.narrow(1, n, 1).reshape([b, h, dk, dv]))
    } else {
        let chunk = |x: &Tensor<5>, i: usize| -> Tensor<4> {
            let [b, h, _, r, d] = x.dims();
            x.clone().narrow(2, i, 1).reshape([b, h, r, d])
        };
        let mut s = s0;
        let mut outs = Vec::with_capacity(n);
        for i in 0..n {
            let v_new = chunk(&u, i) - chunk(&w, i).matmul(s.clone()); // [b,h,c,dv]
            outs.push(chunk(&q_decayed, i).matmul(s.clone()) + chunk(&attn, i).matmul(v_new.clone()));
            let keep = chunk_decay.clone().narrow(2, i, 1); // [b,h,1,1]
            s = s * keep + chunk(&k_decayed, i).swap_dims(2, 3).matmul(v_new);
        }
        (Tensor::cat(outs, 2), s) // [b,h,n*c,dv]
    };
    (if pad > 0 { out.narrow(2, 0, t) } else { out }, last)
}

/// Mask that is true on and above the diagonal of a `c × c` block, broadcast to rank 5.
fn upper_or_diag(device: &burn::tensor::Device, c: usize) -> Tensor<5, Bool> {
    Tensor::<2, Bool>::tril_mask([c, c], -1, device).unsqueeze::<5>()
}

/// Per-chunk masks derived from segment ids, as f32 0/1 tensors broadcast over heads.
struct SegmentMasks {
    /// `[b,1,n,c,c]`: token i and j are in the same segment.
    same: Tensor<5>,
    /// `[b,1,n,c]`: token is in the segment that continues from the previous chunk.
    continues: Tensor<4>,
    /// `[b,1,n,c]`: token is in the chunk's last segment.
    in_last: Tensor<4>,
    /// `[b,1,n,1]`: one segment spans the whole chunk and the previous token.
    carries: Tensor<4>,
}

impl SegmentMasks {
    fn new(seg: Tensor<2>, n: usize, c: usize, pad: usize) -> Self {
        let [b, _] = seg.dims();
        // Padding tokens join the last segment; they write nothing anyway.
        let seg = if pad > 0 {
            let last = seg.clone().narrow(1, seg.dims()[1] - 1, 1);
            Tensor::cat(vec![seg, last.repeat_dim(1, pad)], 1)
        } else {
            seg
        };
        let seg = seg.reshape([b, n, c]);
        let same = seg.clone().unsqueeze_dim::<4>(3).equal(seg.clone().unsqueeze_dim::<4>(2)).float(); // [b,n,c,c]
        let last = seg.clone().narrow(2, c - 1, 1); // [b,n,1]
        let prev_last = if n > 1 {
            Tensor::cat(vec![seg.clone().narrow(1, 0, 1).narrow(2, 0, 1), last.clone().narrow(1, 0, n - 1)], 1)
        } else {
            seg.clone().narrow(2, 0, 1)
        };
        let continues = seg.clone().equal(prev_last.clone()).float(); // [b,n,c]
        let in_last = seg.equal(last.clone()).float();
        let carries = last.equal(prev_last).float(); // [b,n,1]
        Self {
            same: same.unsqueeze_dim(1),
            continues: continues.unsqueeze_dim(1),
            in_last: in_last.unsqueeze_dim(1),
            carries: carries.unsqueeze_dim(1),
        }
    }
}

/// `(I + A)⁻¹` for strictly lower-triangular `A` `[.., m, m]` (m a power-of-two multiple of 16).
///
/// Diagonal blocks of `SUBSTITUTION_BLOCK` rows are solved by forward substitution, all at once;
/// halves are merged with `[[X₁₁, 0], [−X₂₂ A₂₁ X₁₁, X₂₂]]`.
pub fn unit_lower_inverse(a: Tensor<5>) -> Tensor<5> {
    let [b, h, n, m, _] = a.dims();
    if m <= SUBSTITUTION_BLOCK {
        return forward_substitution(a);
    }
    let half = m / 2;
    let a11 = a.clone().narrow(3, 0, half).narrow(4, 0, half);
    let a22 = a.clone().narrow(3, half, half).narrow(4, half, half);
    let a21 = a.narrow(3, half, half).narrow(4, 0, half);
    // Solve both diagonal blocks in one call by stacking them on the batch axis.
    let both = unit_lower_inverse(Tensor::cat(vec![a11, a22], 0));
    let x11 = both.clone().narrow(0, 0, b);
    let x22 = both.narrow(0, b, b);
    let x21 = x22.clone().matmul(a21).matmul(x11.clone()).neg();
    let zeros = Tensor::zeros([b, h, n, half, half], (&x11.device(), x11.dtype()));
    let top = Tensor::cat(vec![x11, zeros], 4);
    let bottom = Tensor::cat(vec![x21, x22], 4);
    Tensor::cat(vec![top, bottom], 3)
}

/// Row by row: `X_i = e_i − A_i X` (rows of X above i are already known).
fn forward_substitution(a: Tensor<5>) -> Tensor<5> {
    let [_, _, _, m, _] = a.dims();
    let eye = Tensor::<2>::eye(m, &a.device()).cast(a.dtype()).unsqueeze::<5>(); // [1,1,1,m,m]
    let [b, h, n, _, _] = a.dims();
    // x holds the rows solved so far: [.., i, m]
    let mut x = eye.clone().narrow(3, 0, 1).expand([b, h, n, 1, m]);
    for i in 1..m {
        let a_i = a.clone().narrow(3, i, 1).narrow(4, 0, i); // [.., 1, i]
        let row = eye.clone().narrow(3, i, 1) - a_i.matmul(x.clone()); // [.., 1, m]
        x = Tensor::cat(vec![x, row], 3);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    #[test]
    fn unit_lower_inverse_inverts() {
        let device = Device::flex();
        let a = Tensor::<5>::random([1, 2, 3, 64, 64], Distribution::Normal(0.0, 0.3), &device)
            .mask_fill(upper_or_diag(&device, 64), 0.0);
        let x = unit_lower_inverse(a.clone());
        let eye = Tensor::<2>::eye(64, &device).unsqueeze::<5>();
        let prod = (eye.clone() + a).matmul(x);
        let err = max_abs_diff(prod, eye.expand([1, 2, 3, 64, 64]));
        assert!(err < 1e-4, "(I + A) X - I = {err}");
    }
}
