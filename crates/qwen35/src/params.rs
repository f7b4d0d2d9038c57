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
    Random { rng: ChaCha8Rng, std: f64 },
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
        Self { source: Source::Random { rng: ChaCha8Rng::seed_from_u64(seed), std }, device: device.clone(), dtype }
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
            Source::Random { rng, std } => random_data(rng, *std, &shape, init).convert_dtype(self.dtype),
        };
        let tensor = Tensor::<D>::from_data(data, (&self.device, self.dtype));
        Ok(Param::from_tensor(tensor))
    }
}

fn random_data(rng: &mut ChaCha8Rng, std: f64, shape: &[usize], init: Init) -> TensorData {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = match init {
        Init::Zeros => vec![0.0; n],
        Init::Ones => vec![1.0; n],
        Init::ALog => (0..n).map(|_| rng.random_range(0.01f32..16.0).ln()).collect(),
        Init::Normal => (0..n).map(|_| (standard_normal(rng) * std) as f32).collect(),
    };
    TensorData::new(values, shape.to_vec())
}

/// Box-Muller; `rand_distr` would be one more dependency for one function.
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
