//! Partial rotary position embedding in the rotate-half layout (Su et al., "RoFormer", 2021).
//!
//! Qwen3.5 rotates the first `head_dim · partial_rotary_factor` dims of each q/k head (64 of
//! 256) and passes the rest through. Its multimodal RoPE (`mrope_section`) collapses to plain
//! 1-D RoPE for text, where the three position streams are equal
//! (`Qwen3_5TextRotaryEmbedding` in transformers). `burn::nn::RotaryEncoding` rotates
//! interleaved pairs, a different layout, so it is not used.

use burn::tensor::{DType, Device, Tensor, TensorData};

/// cos/sin tables for a batch of positions.
///
/// # Shapes
/// `cos`, `sin`: `[b, 1, t, rotary_dim]` (broadcast over heads).
#[derive(Debug, Clone)]
pub struct Rope {
    /// `cos(pos · inv_freq)`, the half table repeated twice.
    pub cos: Tensor<4>,
    /// `sin(pos · inv_freq)`, the half table repeated twice.
    pub sin: Tensor<4>,
}

impl Rope {
    /// Tables for `positions` (`[b, t]` row-major), computed in f32 and cast to `dtype` as
    /// transformers does.
    pub fn new(
        positions: &[i64],
        batch: usize,
        len: usize,
        rotary_dim: usize,
        theta: f64,
        dtype: DType,
        device: &Device,
    ) -> Self {
        let half = rotary_dim / 2;
        // inv_freq exactly as transformers: 1 / theta^(arange(0, dim, 2) / dim) in f32.
        let inv_freq: Vec<f32> =
            (0..half).map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / rotary_dim as f32)).collect();
        let mut cos = Vec::with_capacity(positions.len() * rotary_dim);
        let mut sin = Vec::with_capacity(positions.len() * rotary_dim);
        for &p in positions {
            let freqs: Vec<f32> = inv_freq.iter().map(|f| p as f32 * f).collect();
            for _ in 0..2 {
                cos.extend(freqs.iter().map(|x| x.cos()));
                sin.extend(freqs.iter().map(|x| x.sin()));
            }
        }
        let make = |v: Vec<f32>| {
            Tensor::<4>::from_data(TensorData::new(v, [batch, 1, len, rotary_dim]), (device, DType::F32)).cast(dtype)
        };
        Self { cos: make(cos), sin: make(sin) }
    }

    /// Rotates the first `rotary_dim` channels of `x` `[b, h, t, head_dim]`.
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, h, t, d] = x.dims();
        let rd = self.cos.dims()[3];
        let x_rot = x.clone().narrow(3, 0, rd);
        let x1 = x_rot.clone().narrow(3, 0, rd / 2);
        let x2 = x_rot.clone().narrow(3, rd / 2, rd / 2);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        let out = x_rot * self.cos.clone() + rotated * self.sin.clone();
        if rd == d {
            return out;
        }
        let out = Tensor::cat(vec![out, x.narrow(3, rd, d - rd)], 3);
        debug_assert_eq!(out.dims(), [b, h, t, d]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_identity_and_norm_is_kept() {
        let device = Device::flex();
        let rope = Rope::new(&[0, 5], 1, 2, 4, 10_000.0, DType::F32, &device);
        let x = Tensor::<4>::from_data(
            TensorData::new((0..16).map(|i| i as f32 * 0.1).collect::<Vec<_>>(), [1, 1, 2, 8]),
            &device,
        );
        let y = rope.apply(x.clone());
        let v = y.clone().into_data().try_to_vec::<f32>().unwrap();
        let x0 = x.clone().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(&v[..8], &x0[..8]); // position 0 leaves the token unchanged
        assert_eq!(&v[12..], &x0[12..]); // pass-through dims untouched
        let n = |s: &[f32]| s.iter().map(|a| a * a).sum::<f32>();
        assert!((n(&v[8..12]) - n(&x0[8..12])).abs() < 1e-5); // rotation keeps the norm
    }
}
