//! Host-side helpers the `flex` kernels share: contiguous f32 views, the two vector loops
//! the compiler vectorises, and a strided matrix product (the `gemm` crate flex itself uses).

use burn::backend::Flex;
use burn::backend::tensor::FloatTensor;
use burn::tensor::DType;

pub(crate) fn host(x: &FloatTensor<Flex>) -> FloatTensor<Flex> {
    let x = x.to_contiguous();
    assert_eq!(x.dtype(), DType::F32, "the fused kernels take f32");
    x
}

pub(crate) fn slice(x: &FloatTensor<Flex>) -> &[f32] {
    x.as_slice::<f32>().expect("a contiguous f32 tensor")
}

/// Dot product in 8 lanes (the compiler vectorises this shape).
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
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

/// Largest element (`-∞` for none) in 8 lanes.
#[inline(always)]
pub(crate) fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
    for c in chunks {
        for l in 0..8 {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    acc.iter().fold(tail, |a, &x| a.max(x))
}

/// Sum in 8 lanes.
#[inline(always)]
pub(crate) fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `y += a·x`.
#[inline(always)]
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `e^x` in f32 from integer and float arithmetic only, so that a loop over a slice vectorises
/// (`f32::exp` is a scalar libm call, and the softmax of attention makes `t²/2` of them per
/// head). Round-to-nearest range reduction `x = n·ln 2 + r`, `|r| ≤ ln 2 / 2`, a degree-6 Taylor
/// polynomial for `e^r` (truncation below 1.2e-7 relative) and `2^n` built in the exponent
/// bits. Within 3e-7 relative of `f32::exp` on `[-87, 88]`; below -87 it returns about 0
/// (at most 1.7e-38), above 88 about 1.7e38.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
    const SHIFTER: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + SHIFTER;
    let n = shifted - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // n sits in the low bits of `shifted` (offset by 0x4B40_0000); 2ⁿ = (n + 127) << 23.
    let two_n = f32::from_bits((shifted.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127)) << 23);
    p * two_n
}

/// Runs `body` compiled for AVX2 + FMA where the CPU has them (checked once per call), else as
/// built (x86-64's baseline is SSE2, which the compiler's vector loops fall back to). The hot
/// loops of the CPU kernels are `#[inline]` and the closures passed here `#[inline(always)]`,
/// so that they are compiled into the AVX2 copy.
#[inline(always)]
pub(crate) fn with_avx2<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(body: impl FnOnce() -> R) -> R {
            body()
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU was just checked for both features.
            return unsafe { avx2(body) };
        }
    }
    body()
}

/// A matrix inside a slice: element `(r, c)` at `offset + r·rs + c·cs`.
#[derive(Clone, Copy)]
pub(crate) struct Strided {
    pub offset: usize,
    pub rs: usize,
    pub cs: usize,
}

impl Strided {
    /// Row-major with `cols` elements per row, from `offset`.
    pub fn rows(offset: usize, cols: usize) -> Self {
        Strided { offset, rs: cols, cs: 1 }
    }

    /// The transpose of row-major `[_, cols]` from `offset`.
    pub fn transposed(offset: usize, cols: usize) -> Self {
        Strided { offset, rs: 1, cs: cols }
    }

    /// One past the largest index of an `r × c` matrix (0 when empty).
    fn end(&self, r: usize, c: usize) -> usize {
        if r == 0 || c == 0 { 0 } else { self.offset + (r - 1) * self.rs + (c - 1) * self.cs + 1 }
    }
}

/// `c[m×n] ← keep·c + scale·a[m×k]·b[k×n]` on one thread (the kernels run it inside their own
/// rayon tasks); with `keep == 0` the old `c` is not read.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    c: &mut [f32],
    cl: Strided,
    a: &[f32],
    al: Strided,
    b: &[f32],
    bl: Strided,
    (m, n, k): (usize, usize, usize),
    keep: f32,
    scale: f32,
) {
    assert!(cl.end(m, n) <= c.len() && al.end(m, k) <= a.len() && bl.end(k, n) <= b.len(), "gemm out of bounds");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the assert above keeps every element the product reads or writes inside its
    // slice; `c` is borrowed mutably, so it cannot alias `a` or `b`.
    unsafe {
        raw_gemm(c.as_mut_ptr().add(cl.offset), cl, a, al, b, bl, (m, n, k), keep, scale, gemm::Parallelism::None)
    }
}

/// The one call into the `gemm` crate: `c ← keep·c + scale·a·b` with `c` at `dst` laid out as
/// `cl` (its offset already applied), `c` not read when `keep == 0`.
///
/// # Safety
/// Every element `(r, c)` of `a` (`m × k`), `b` (`k × n`) and `dst` (`m × n`) must lie inside
/// its allocation, and `dst` must not overlap `a` or `b`.
#[allow(clippy::too_many_arguments)]
unsafe fn raw_gemm(
    dst: *mut f32,
    cl: Strided,
    a: &[f32],
    al: Strided,
    b: &[f32],
    bl: Strided,
    (m, n, k): (usize, usize, usize),
    keep: f32,
    scale: f32,
    parallelism: gemm::Parallelism,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            cl.cs as isize,
            cl.rs as isize,
            keep != 0.0,
            a.as_ptr().add(al.offset),
            al.cs as isize,
            al.rs as isize,
            b.as_ptr().add(bl.offset),
            bl.cs as isize,
            bl.rs as isize,
            keep,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// A new `m × n` row-major `a[m×k]·b[k×n]`, in parallel over rayon's threads when the product
/// is large (Burn's flex threshold, 192³ multiply-adds). The output is written by the GEMM
/// without being zero-filled first.
pub(crate) fn product(a: &[f32], al: Strided, b: &[f32], bl: Strided, dims: (usize, usize, usize)) -> Vec<f32> {
    product_in(a, al, b, bl, dims, false)
}

/// [`product`] stored column by column: the `n × m` row-major transpose of `a·b`.
pub(crate) fn product_columns(a: &[f32], al: Strided, b: &[f32], bl: Strided, dims: (usize, usize, usize)) -> Vec<f32> {
    product_in(a, al, b, bl, dims, true)
}

fn product_in(
    a: &[f32],
    al: Strided,
    b: &[f32],
    bl: Strided,
    (m, n, k): (usize, usize, usize),
    columns: bool,
) -> Vec<f32> {
    assert!(al.end(m, k) <= a.len() && bl.end(k, n) <= b.len(), "product out of bounds");
    if k == 0 || m == 0 || n == 0 {
        return vec![0.0; m * n];
    }
    let parallelism = if m.saturating_mul(n).saturating_mul(k) >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    let cl = if columns { Strided::transposed(0, m) } else { Strided::rows(0, n) };
    let mut c = Vec::<f32>::with_capacity(m * n);
    // SAFETY: the assert above keeps every element read inside `a` and `b`; `c` has room for
    // `m·n` elements, the GEMM writes each of them once without reading `c` (`keep` is 0), and
    // the length is set only after that.
    unsafe {
        raw_gemm(c.as_mut_ptr(), cl, a, al, b, bl, (m, n, k), 0.0, 1.0, parallelism);
        c.set_len(m * n);
    }
    c
}

/// The `cols × rows` transpose of row-major `src` (`rows × cols`), in 32 × 32 tiles (the 32
/// source rows of a tile stay in L1 while its columns are written out), in parallel over
/// strips of 32 output rows.
pub(crate) fn transpose(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    use rayon::prelude::*;
    const TILE: usize = 32;
    assert_eq!(src.len(), rows * cols, "transpose: {rows} × {cols} from {} elements", src.len());
    let mut dst = vec![0f32; rows * cols];
    if rows == 0 {
        return dst;
    }
    dst.par_chunks_mut(TILE * rows).enumerate().for_each(|(blk, out)| {
        let c0 = blk * TILE;
        let nc = out.len() / rows;
        for r0 in (0..rows).step_by(TILE) {
            let nr = TILE.min(rows - r0);
            for c in 0..nc {
                let o = &mut out[c * rows + r0..][..nr];
                for (r, o) in o.iter_mut().enumerate() {
                    *o = src[(r0 + r) * cols + c0 + c];
                }
            }
        }
    });
    dst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_a_few_ulp_of_libm() {
        // What the softmax feeds it: scores minus their max or log-sum-exp (≤ 0, down to where
        // e^x leaves f32's normal range), and a little above 0.
        let mut worst = 0f32;
        for i in 0..=97_000 {
            let x = -87.0 + i as f32 * 0.001;
            let (ours, libm) = (exp(x), x.exp());
            worst = worst.max(((ours - libm) / libm).abs());
        }
        assert!(worst < 3e-7, "largest relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 2e-38 && exp(f32::NEG_INFINITY) < 2e-38);
    }

    #[test]
    fn transpose_covers_blocks_and_edges() {
        for (rows, cols) in [(1, 1), (8, 8), (13, 70), (64, 9), (130, 200)] {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let t = transpose(&src, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(t[c * rows + r], src[r * cols + c], "{rows} × {cols} at ({r}, {c})");
                }
            }
        }
    }

    #[test]
    fn lane_reductions_cover_the_tail() {
        let xs: Vec<f32> = (0..21).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        assert_eq!(max(&xs), 5.0);
        assert_eq!(sum(&xs), xs.iter().sum::<f32>());
        assert_eq!(max(&[]), f32::NEG_INFINITY);
    }
}
