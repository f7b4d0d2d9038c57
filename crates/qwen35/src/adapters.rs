//! LoRA surgery on a model: its projections listed by path (one walk, which attaching,
//! reading, merging, PEFT I/O and the trainer's parameter paths all use), fresh adapters
//! attached with PEFT's initialisation, and adapters merged into the base weights.

use burn::module::Param;
use burn::tensor::{DType, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Qwen35Error, Result};
use crate::lora::{LoraAdapter, LoraConfig};
use crate::model::Qwen35;
use crate::nn::Linear;

/// The decoder's projections of `$layers` (an iterator over decoder layers) with their paths,
/// borrowed with `$r` (`&` or `&mut`): one list of names for both walks.
macro_rules! linears_of {
    ($layers:expr, [$($r:tt)+]) => {{
        let mut out = Vec::new();
        for (i, layer) in $layers.enumerate() {
            if let Some(a) = $($r)+ layer.self_attn {
                for (n, l) in [
                    ("q_proj", $($r)+ a.q_proj),
                    ("k_proj", $($r)+ a.k_proj),
                    ("v_proj", $($r)+ a.v_proj),
                    ("o_proj", $($r)+ a.o_proj),
                ] {
                    out.push((format!("layers.{i}.self_attn.{n}"), l));
                }
            }
            if let Some(g) = $($r)+ layer.linear_attn {
                for (n, l) in [
                    ("in_proj_qkv", $($r)+ g.in_proj_qkv),
                    ("in_proj_z", $($r)+ g.in_proj_z),
                    ("in_proj_b", $($r)+ g.in_proj_b),
                    ("in_proj_a", $($r)+ g.in_proj_a),
                    ("out_proj", $($r)+ g.out_proj),
                ] {
                    out.push((format!("layers.{i}.linear_attn.{n}"), l));
                }
            }
            let m = $($r)+ layer.mlp;
            for (n, l) in [("gate_proj", $($r)+ m.gate_proj), ("up_proj", $($r)+ m.up_proj), ("down_proj", $($r)+ m.down_proj)] {
                out.push((format!("layers.{i}.mlp.{n}"), l));
            }
        }
        out
    }};
}

impl Qwen35 {
    /// Every decoder projection with its path inside the text model (`layers.3.mlp.up_proj`).
    /// The output head is not listed: it is never a LoRA target.
    pub fn linears(&self) -> Vec<(String, &Linear)> {
        linears_of!(self.layers.iter(), [&])
    }

    /// Mutable version of [`Qwen35::linears`], same order.
    pub fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
        linears_of!(self.layers.iter_mut(), [&mut])
    }

    /// Attaches fresh adapters to every targeted projection with PEFT's initialisation
    /// (`A ~ U(−1/√in, 1/√in)`, i.e. Kaiming-uniform with a = √5; `B = 0`), drawn from `seed`.
    /// Returns the number of adapted projections. Freezing the base is the caller's choice
    /// (`Module::no_grad` before this call).
    pub fn attach_lora(&mut self, config: &LoraConfig, seed: u64) -> Result<usize> {
        let targets = config.target_names()?;
        let device = self.device();
        let mut count = 0;
        for (index, (path, linear)) in self.linears_mut().into_iter().enumerate() {
            let name = path.rsplit('.').next().unwrap_or_default();
            if !targets.iter().any(|t| t == name) {
                continue;
            }
            let (d_in, d_out) = linear.shape();
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let bound = 1.0 / (d_in as f32).sqrt();
            let a: Vec<f32> = (0..config.rank * d_in).map(|_| rng.random_range(-bound..bound)).collect();
            let a = Tensor::<2>::from_data(TensorData::new(a, [config.rank, d_in]), (&device, DType::F32));
            let b = Tensor::<2>::zeros([d_out, config.rank], (&device, DType::F32));
            linear.lora = Some(LoraAdapter {
                lora_a: Param::from_tensor(a),
                lora_b: Param::from_tensor(b),
                scale: config.scale(),
                dropout: config.dropout,
            });
            count += 1;
        }
        if count == 0 {
            return Err(Qwen35Error::InvalidInput(format!(
                "no projection of this model matches the LoRA targets {:?}",
                config.targets
            )));
        }
        Ok(count)
    }

    /// Adapter tensors as `(path, A, B)` with `path` as in [`Qwen35::linears`].
    pub fn lora_weights(&self) -> Vec<(String, Tensor<2>, Tensor<2>)> {
        self.linears()
            .into_iter()
            .filter_map(|(p, l)| l.lora.as_ref().map(|a| (p, a.lora_a.val(), a.lora_b.val())))
            .collect()
    }

    /// Folds every adapter into its base weight (`W += s·B·A`, rounded once to the base dtype)
    /// and removes it.
    pub fn merge_lora(mut self) -> Self {
        for (_, linear) in self.linears_mut() {
            if let Some(adapter) = linear.lora.take() {
                let w = linear.weight.val();
                let dtype = w.dtype();
                let merged = (w.cast(DType::F32) + adapter.delta()).cast(dtype);
                linear.weight = Param::from_tensor(merged.detach());
            }
        }
        self
    }
}
