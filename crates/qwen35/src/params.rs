//! Where weights come from when a model is built: a checkpoint, or a seeded random initialiser
//! with transformers' scales (`Qwen3_5PreTrainedModel._init_weights`).
//!
//! The model is constructed once, tensor by tensor, from this source: loading never builds a
//! random model first and overwrites it, and every missing or misshapen tensor is reported with
//! its key.

use burn::module::Param;
use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::checkpoint::Checkpoint;
use crate::error::Result;

/// How transformers initialises a parameter of this kind.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Init {
    /// `normal(0, initializer_range)`: Linear, Conv1d and Embedding weights.
    Normal,
    /// Zeros: the zero-centred RMSNorm weights (`x̂ · (1 + w)`).
    Zeros,
    /// Ones: the gated RMSNorm weight and `dt_bias`.
    Ones,
    /// `log(uniform(0.01, 16))`: the GDN decay rate `A_log`.
    ALog,
}

enum Source<'a> {
    /// `index` counts the parameters drawn so far: each gets its own streams.
    Random {
        seed: u64,
        index: u64,
        std: f64,
    },
    Checkpoint(&'a mut Checkpoint),
}

/// Produces parameters by key, from a checkpoint or at random.
pub(crate) struct ParamSource<'a> {
    source: Source<'a>,
    device: Device,
    dtype: DType,
}

impl<'a> ParamSource<'a> {
    /// Random weights from `seed` with normal std `std`, stored as `dtype` on `device`.
    pub(crate) fn random(seed: u64, std: f64, device: &Device, dtype: DType) -> Self {
        Self { source: Source::Random { seed, index: 0, std }, device: device.clone(), dtype }
    }

    /// Weights read from `checkpoint`, converted to `dtype` on `device`.
    pub(crate) fn checkpoint(checkpoint: &'a mut Checkpoint, device: &Device, dtype: DType) -> Self {
        Self { source: Source::Checkpoint(checkpoint), device: device.clone(), dtype }
    }

    /// The parameter `key` with `shape`.
    pub(crate) fn param<const D: usize>(
        &mut self,
        key: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Param<Tensor<D>>> {
        let data = match &mut self.source {
            Source::Checkpoint(c) => c.take(key, &shape, self.dtype)?,
            Source::Random { seed, index, std } => {
                *index += 1;
                random_data(*seed, *index, *std, &shape, init).convert_dtype(self.dtype)
            }
        };
        let tensor = Tensor::<D>::from_data(data, (&self.device, self.dtype));
        Ok(Param::from_tensor(tensor))
    }
}

/// Values drawn per block of [`BLOCK`] from a generator seeded by (seed, parameter, block), so
/// the result is the same whatever the thread count, and a 4B model initialises on all cores.
fn random_data(seed: u64, index: u64, std: f64, shape: &[usize], init: Init) -> TensorData {
    const BLOCK: usize = 1 << 16;
    let n: usize = shape.iter().product();
    let mut values = vec![0f32; n];
    match init {
        Init::Zeros => {}
        Init::Ones => values.fill(1.0),
        Init::ALog | Init::Normal => values.par_chunks_mut(BLOCK).enumerate().for_each(|(block, out)| {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, index, block as u64));
            match init {
                Init::ALog => out.iter_mut().for_each(|v| *v = rng.random_range(0.01f32..16.0).ln()),
                _ => {
                    for pair in out.chunks_mut(2) {
                        let (a, b) = standard_normal_pair(&mut rng);
                        pair[0] = (a * std) as f32;
                        if let Some(second) = pair.get_mut(1) {
                            *second = (b * std) as f32;
                        }
                    }
                }
            }
        }),
    }
    TensorData::new(values, shape.to_vec())
}

/// SplitMix64 over the three coordinates: independent seeds for every block.
fn mix(seed: u64, index: u64, block: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ block.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Box-Muller, both outputs; `rand_distr` would be one more dependency for one function.
fn standard_normal_pair(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random::<f64>();
    let r = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (2.0 * std::f64::consts::PI * u2).sin_cos();
    (r * c, r * s)
}
