//! LoRA adapters on the decoder's projections, and their exchange with PEFT.
//!
//! An adapted projection computes `x·Wᵀ + s·(drop(x)·Aᵀ)·Bᵀ` with `A` `[r, in]`, `B` `[out, r]`
//! and `s = alpha / r` (or `alpha / √r` with rsLoRA), as PEFT's `lora.Linear` does. The update
//! is never materialised as a dense `[out, in]` matrix: Burn's own `Module::apply_lora` builds
//! `W + s·B·A` on every forward, which costs `in·out` memory and FLOPs per adapted matrix per
//! step; here the adapter costs `r·(in + out)` per token.
//!
//! Adapter weights are kept in f32 whatever the base dtype (the base is frozen, so a bf16 base
//! plus f32 adapters and f32 optimizer state is the usual mixed scheme).
//!
//! PEFT layout: `adapter_config.json` + `adapter_model.safetensors` with keys
//! `base_model.model.<module path>.lora_A.weight` / `.lora_B.weight`, the module path being the
//! one `transformers` gives the projection (e.g. `model.layers.3.linear_attn.in_proj_qkv`, or
//! `model.language_model.layers.3...` for the multimodal checkpoints).

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Module, Param};
use burn::tensor::{DType, Distribution, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::error::{Qwen35Error, Result};
use crate::model::Qwen35;
use crate::nn::{Linear, project};

/// The projections adapted by default: attention q/k/v/o, the GDN input/output projections
/// that carry the token mix (not the per-head scalars `in_proj_a`/`in_proj_b`, which serving
/// stacks tend to drop), and the MLP.
pub const DEFAULT_TARGETS: [&str; 10] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "in_proj_qkv",
    "in_proj_z",
    "out_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// Every projection inside the decoder layers (PEFT's `all-linear` also leaves out the head).
pub const ALL_LINEAR: [&str; 12] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "in_proj_qkv",
    "in_proj_z",
    "in_proj_a",
    "in_proj_b",
    "out_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// Rank, scaling, dropout and targets of a LoRA run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank `r` of `A` `[r, in]` and `B` `[out, r]`.
    pub rank: usize,
    /// `alpha`: the update is scaled by `alpha / r` (`alpha / √r` with rsLoRA).
    pub alpha: f64,
    /// Dropout on the adapter's input during training (PEFT's `lora_dropout`).
    pub dropout: f64,
    /// Rank-stabilised scaling `alpha / √r`.
    pub rslora: bool,
    /// Projection names (the last path component), or `["all-linear"]`.
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: 16,
            alpha: 32.0,
            dropout: 0.05,
            rslora: false,
            targets: DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl LoraConfig {
    /// The multiplier `s` of `B·A`.
    pub fn scale(&self) -> f64 {
        if self.rslora { self.alpha / (self.rank as f64).sqrt() } else { self.alpha / self.rank as f64 }
    }

    /// Target names with `all-linear` expanded; unknown names are an error (a typo would
    /// otherwise train nothing).
    pub fn target_names(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for t in &self.targets {
            if t == "all-linear" {
                out.extend(ALL_LINEAR.iter().map(|s| s.to_string()));
            } else if ALL_LINEAR.contains(&t.as_str()) {
                out.push(t.clone());
            } else {
                return Err(Qwen35Error::InvalidInput(format!(
                    "unknown LoRA target {t:?}; valid: all-linear, {}",
                    ALL_LINEAR.join(", ")
                )));
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(Qwen35Error::InvalidInput("LoRA needs at least one target module".into()));
        }
        if self.rank == 0 {
            return Err(Qwen35Error::InvalidInput("LoRA rank must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Qwen35Error::InvalidInput(format!("LoRA dropout {} is not in [0, 1)", self.dropout)));
        }
        Ok(out)
    }
}

/// The trainable pair of one adapted projection.
#[derive(Module, Debug)]
pub struct LoraAdapter {
    /// `[r, in]`, PEFT's `lora_A.weight`.
    pub lora_a: Param<Tensor<2>>,
    /// `[out, r]`, PEFT's `lora_B.weight`; starts at zero so the adapted model starts equal to
    /// the base.
    pub lora_b: Param<Tensor<2>>,
    /// `s`.
    pub scale: f64,
    /// Input dropout probability, applied only while the adapter is being trained.
    pub dropout: f64,
}

impl LoraAdapter {
    /// `s · B·A·drop(x)`, computed in the adapter's dtype and returned in `x`'s.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dtype = x.dtype();
        let a = self.lora_a.val();
        let mut x = x.cast(a.dtype());
        if self.dropout > 0.0 && a.is_require_grad() {
            let keep = 1.0 - self.dropout;
            let mask = Tensor::<D>::random(x.dims(), Distribution::Bernoulli(keep), &x.device());
            x = x * mask.cast(a.dtype()) / keep;
        }
        (project(project(x, a), self.lora_b.val()) * self.scale).cast(dtype)
    }

    /// The dense update `s·B·A` `[out, in]` in f32.
    pub fn delta(&self) -> Tensor<2> {
        self.lora_b.val().cast(DType::F32).matmul(self.lora_a.val().cast(DType::F32)) * self.scale
    }
}

/// PEFT's prefix for module paths of a `Qwen3_5ForCausalLM` (text) base.
pub const PEFT_PREFIX_TEXT: &str = "base_model.model.model.";
/// PEFT's prefix for module paths of a `Qwen3_5ForConditionalGeneration` (multimodal) base.
pub const PEFT_PREFIX_VLM: &str = "base_model.model.model.language_model.";

impl Qwen35 {
    /// Every decoder projection with its path inside the text model (`layers.3.mlp.up_proj`).
    /// The output head is not listed: it is never a LoRA target.
    pub fn linears(&self) -> Vec<(String, &Linear)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            if let Some(a) = &layer.self_attn {
                for (n, l) in
                    [("q_proj", &a.q_proj), ("k_proj", &a.k_proj), ("v_proj", &a.v_proj), ("o_proj", &a.o_proj)]
                {
                    out.push((format!("layers.{i}.self_attn.{n}"), l));
                }
            }
            if let Some(g) = &layer.linear_attn {
                for (n, l) in [
                    ("in_proj_qkv", &g.in_proj_qkv),
                    ("in_proj_z", &g.in_proj_z),
                    ("in_proj_b", &g.in_proj_b),
                    ("in_proj_a", &g.in_proj_a),
                    ("out_proj", &g.out_proj),
                ] {
                    out.push((format!("layers.{i}.linear_attn.{n}"), l));
                }
            }
            let m = &layer.mlp;
            for (n, l) in [("gate_proj", &m.gate_proj), ("up_proj", &m.up_proj), ("down_proj", &m.down_proj)] {
                out.push((format!("layers.{i}.mlp.{n}"), l));
            }
        }
        out
    }

    /// Mutable version of [`Qwen35::linears`], same order.
    pub fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            if let Some(a) = &mut layer.self_attn {
                for (n, l) in [
                    ("q_proj", &mut a.q_proj),
                    ("k_proj", &mut a.k_proj),
                    ("v_proj", &mut a.v_proj),
                    ("o_proj", &mut a.o_proj),
                ] {
                    out.push((format!("layers.{i}.self_attn.{n}"), l));
                }
            }
            if let Some(g) = &mut layer.linear_attn {
                for (n, l) in [
                    ("in_proj_qkv", &mut g.in_proj_qkv),
                    ("in_proj_z", &mut g.in_proj_z),
                    ("in_proj_b", &mut g.in_proj_b),
                    ("in_proj_a", &mut g.in_proj_a),
                    ("out_proj", &mut g.out_proj),
                ] {
                    out.push((format!("layers.{i}.linear_attn.{n}"), l));
                }
            }
            let m = &mut layer.mlp;
            for (n, l) in
                [("gate_proj", &mut m.gate_proj), ("up_proj", &mut m.up_proj), ("down_proj", &mut m.down_proj)]
            {
                out.push((format!("layers.{i}.mlp.{n}"), l));
            }
        }
        out
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

    /// Loads a PEFT LoRA adapter directory (`adapter_config.json` + `adapter_model.safetensors`)
    /// onto this model, replacing any attached adapters, and returns its configuration.
    pub fn load_peft(&mut self, dir: impl AsRef<Path>) -> Result<LoraConfig> {
        let dir = dir.as_ref();
        let mut adapter = PeftAdapter::read(dir)?;
        let device = self.device();
        let scale = adapter.config.scale();
        let tensor = |(shape, values): (Vec<usize>, Vec<f32>)| {
            Tensor::<2>::from_data(TensorData::new(values, shape), (&device, DType::F32))
        };
        for (module, linear) in self.linears_mut() {
            linear.lora = None;
            let Some(pair) = adapter.pairs.remove(&module) else { continue };
            let (d_in, d_out) = linear.shape();
            let rank = adapter.config.rank;
            if pair.a.0 != [rank, d_in] || pair.b.0 != [d_out, rank] {
                return Err(Qwen35Error::ShapeMismatch {
                    key: format!("{module}.lora_A/lora_B"),
                    path: dir.join("adapter_model.safetensors"),
                    found: [pair.a.0.clone(), pair.b.0.clone()].concat(),
                    expected: vec![rank, d_in, d_out, rank],
                });
            }
            linear.lora = Some(LoraAdapter {
                lora_a: Param::from_tensor(tensor(pair.a)),
                lora_b: Param::from_tensor(tensor(pair.b)),
                scale,
                dropout: adapter.config.dropout,
            });
        }
        if let Some(unused) = adapter.pairs.keys().next() {
            return Err(Qwen35Error::InvalidInput(format!(
                "adapter {} has weights for {} module(s) this model does not have, e.g. {unused}",
                dir.display(),
                adapter.pairs.len()
            )));
        }
        Ok(adapter.config)
    }

    /// Writes the attached adapters in PEFT's layout: `adapter_config.json` and
    /// `adapter_model.safetensors` (f32), keys `<prefix><path>.lora_A.weight`. `prefix` is
    /// [`PEFT_PREFIX_TEXT`] or [`PEFT_PREFIX_VLM`] to match how transformers loads the base;
    /// `base_model` is recorded as `base_model_name_or_path`. Files are written to temporary
    /// names and renamed, so a crash leaves either the old adapter or the new one.
    pub fn save_peft(&self, dir: impl AsRef<Path>, config: &LoraConfig, prefix: &str, base_model: &str) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Qwen35Error::Io { path: dir.to_path_buf(), source })?;
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        let mut modules = std::collections::BTreeSet::new();
        for (path, a, b) in self.lora_weights() {
            modules.insert(path.rsplit('.').next().unwrap_or_default().to_string());
            for (suffix, t) in [("lora_A", a), ("lora_B", b)] {
                let dims = t.dims().to_vec();
                let values: Vec<f32> = t
                    .cast(DType::F32)
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .map_err(|e| Qwen35Error::InvalidInput(format!("{e:?}")))?;
                tensors.push((format!("{prefix}{path}.{suffix}.weight"), dims, bytemuck::cast_slice(&values).to_vec()));
            }
        }
        if tensors.is_empty() {
            return Err(Qwen35Error::InvalidInput("the model has no LoRA adapters to save".into()));
        }
        let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
            .iter()
            .map(|(k, shape, bytes)| {
                let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .map_err(|e| Qwen35Error::InvalidInput(e.to_string()))?;
                Ok((k.clone(), view))
            })
            .collect::<Result<_>>()?;
        let metadata = Some(std::collections::HashMap::from([("format".to_string(), "pt".to_string())]));
        let bytes = safetensors::serialize(views, metadata).map_err(|e| Qwen35Error::InvalidInput(e.to_string()))?;
        let peft = PeftConfig::from_lora(config, modules.into_iter().collect(), base_model);
        let json = serde_json::to_string_pretty(&peft).map_err(|e| Qwen35Error::InvalidInput(e.to_string()))?;
        write_atomic(&dir.join("adapter_model.safetensors"), &bytes)?;
        write_atomic(&dir.join("adapter_config.json"), json.as_bytes())?;
        Ok(())
    }
}

/// `A` and `B` of one adapted projection as `(shape, f32 values)`.
#[derive(Debug, Clone)]
pub struct LoraPair {
    /// `[r, in]`.
    pub a: (Vec<usize>, Vec<f32>),
    /// `[out, r]`.
    pub b: (Vec<usize>, Vec<f32>),
}

/// A PEFT LoRA adapter read from disk, independent of any model.
#[derive(Debug, Clone)]
pub struct PeftAdapter {
    /// Rank, alpha, dropout, rsLoRA, targets.
    pub config: LoraConfig,
    /// Weights by module path (`layers.3.linear_attn.in_proj_qkv`).
    pub pairs: BTreeMap<String, LoraPair>,
}

impl PeftAdapter {
    /// Reads `adapter_config.json` and `adapter_model.safetensors` from `dir`; refuses adapter
    /// kinds this crate would run wrongly (DoRA, rank patterns, biases, modules_to_save).
    pub fn read(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let config = PeftConfig::read(dir)?.to_lora_config(dir)?;
        let path = dir.join("adapter_model.safetensors");
        let bytes = std::fs::read(&path).map_err(|source| Qwen35Error::Io { path: path.clone(), source })?;
        let file = SafeTensors::deserialize(&bytes)
            .map_err(|e| Qwen35Error::CorruptCheckpoint { path: path.clone(), message: e.to_string() })?;
        let mut a_parts = BTreeMap::new();
        let mut b_parts = BTreeMap::new();
        for (key, view) in file.tensors() {
            let (module, is_a) = peft_key_to_path(&key).ok_or_else(|| Qwen35Error::CorruptCheckpoint {
                path: path.clone(),
                message: format!("unexpected key {key:?} (expected …layers.N.<module>.lora_A/lora_B.weight)"),
            })?;
            let value = (view.shape().to_vec(), crate::checkpoint::view_to_f32(&view, &key, &path)?);
            if is_a {
                a_parts.insert(module, value)
            } else {
                b_parts.insert(module, value)
            };
        }
        let mut pairs = BTreeMap::new();
        for (module, a) in a_parts {
            let b = b_parts.remove(&module).ok_or_else(|| Qwen35Error::CorruptCheckpoint {
                path: path.clone(),
                message: format!("{module} has lora_A but no lora_B"),
            })?;
            pairs.insert(module, LoraPair { a, b });
        }
        if let Some(module) = b_parts.keys().next() {
            return Err(Qwen35Error::CorruptCheckpoint {
                path: path.clone(),
                message: format!("{module} has lora_B but no lora_A"),
            });
        }
        Ok(Self { config, pairs })
    }
}

/// `…layers.N.<mixer>.<proj>.lora_A.weight` -> (`layers.N.<mixer>.<proj>`, is_A), whatever
/// prefix PEFT put before `layers.`.
pub fn peft_key_to_path(key: &str) -> Option<(String, bool)> {
    let start = key.find("layers.")?;
    let rest = &key[start..];
    if let Some(m) = rest.strip_suffix(".lora_A.weight") {
        Some((m.to_string(), true))
    } else {
        rest.strip_suffix(".lora_B.weight").map(|m| (m.to_string(), false))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or_default()));
    std::fs::write(&tmp, bytes).map_err(|source| Qwen35Error::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| Qwen35Error::Io { path: path.to_path_buf(), source })
}

/// The fields of PEFT's `adapter_config.json` that describe a plain LoRA adapter. Unknown
/// fields are kept on read only as far as they are checked (`peft_type`, DoRA, per-module
/// rank patterns), so an adapter this crate cannot run is refused rather than misread.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PeftConfig {
    peft_type: String,
    task_type: Option<String>,
    r: usize,
    #[serde(serialize_with = "integral_as_int")]
    lora_alpha: f64,
    #[serde(default)]
    lora_dropout: f64,
    #[serde(default)]
    use_rslora: bool,
    #[serde(default)]
    use_dora: bool,
    target_modules: serde_json::Value,
    #[serde(default)]
    bias: Option<String>,
    #[serde(default)]
    base_model_name_or_path: Option<String>,
    #[serde(default)]
    fan_in_fan_out: bool,
    #[serde(default)]
    inference_mode: bool,
    #[serde(default)]
    rank_pattern: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    alpha_pattern: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    init_lora_weights: serde_json::Value,
    #[serde(default)]
    modules_to_save: Option<serde_json::Value>,
}

/// PEFT writes `lora_alpha` as an int when it is one (`16`, not `16.0`); so do we.
fn integral_as_int<S: serde::Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() < 1e15 { s.serialize_i64(*x as i64) } else { s.serialize_f64(*x) }
}

impl PeftConfig {
    fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&path).map_err(|source| Qwen35Error::Io { path: path.clone(), source })?;
        serde_json::from_str(&text)
            .map_err(|e| Qwen35Error::Config { path: path.clone(), message: format!("not a PEFT adapter config: {e}") })
    }

    fn from_lora(config: &LoraConfig, modules: Vec<String>, base_model: &str) -> Self {
        Self {
            peft_type: "LORA".into(),
            task_type: Some("CAUSAL_LM".into()),
            r: config.rank,
            lora_alpha: config.alpha,
            lora_dropout: config.dropout,
            use_rslora: config.rslora,
            use_dora: false,
            target_modules: serde_json::Value::from(modules),
            bias: Some("none".into()),
            base_model_name_or_path: Some(base_model.to_string()),
            fan_in_fan_out: false,
            inference_mode: true,
            rank_pattern: Default::default(),
            alpha_pattern: Default::default(),
            init_lora_weights: serde_json::Value::Bool(true),
            modules_to_save: None,
        }
    }

    fn to_lora_config(&self, dir: &Path) -> Result<LoraConfig> {
        let path = dir.join("adapter_config.json");
        let refuse = |why: String| Err(Qwen35Error::Config { path: path.clone(), message: why });
        if self.peft_type != "LORA" {
            return refuse(format!("peft_type {:?} is not LORA", self.peft_type));
        }
        if self.use_dora {
            return refuse("DoRA adapters are not supported".into());
        }
        if self.fan_in_fan_out {
            return refuse("fan_in_fan_out adapters (Conv1D bases) do not apply to Qwen3.5".into());
        }
        if !self.rank_pattern.is_empty() || !self.alpha_pattern.is_empty() {
            return refuse("per-module rank_pattern / alpha_pattern is not supported".into());
        }
        if self.bias.as_deref().is_some_and(|b| b != "none") {
            return refuse(format!("bias {:?} is not supported (only \"none\")", self.bias));
        }
        if self.modules_to_save.as_ref().is_some_and(|m| !m.is_null()) {
            return refuse("modules_to_save is not supported".into());
        }
        let targets = match &self.target_modules {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            other => return refuse(format!("target_modules {other} is neither a string nor a list")),
        };
        Ok(LoraConfig {
            rank: self.r,
            alpha: self.lora_alpha,
            dropout: self.lora_dropout,
            rslora: self.use_rslora,
            targets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peft_keys_map_to_module_paths_whatever_the_prefix() {
        assert_eq!(
            peft_key_to_path("base_model.model.model.layers.3.linear_attn.in_proj_qkv.lora_A.weight"),
            Some(("layers.3.linear_attn.in_proj_qkv".into(), true))
        );
        assert_eq!(
            peft_key_to_path("base_model.model.model.language_model.layers.0.mlp.down_proj.lora_B.weight"),
            Some(("layers.0.mlp.down_proj".into(), false))
        );
        assert_eq!(peft_key_to_path("base_model.model.lm_head.weight"), None);
    }

    #[test]
    fn scaling_and_target_validation() {
        let mut c = LoraConfig { rank: 16, alpha: 32.0, ..Default::default() };
        assert_eq!(c.scale(), 2.0);
        c.rslora = true;
        assert_eq!(c.scale(), 8.0);
        c.targets = vec!["all-linear".into()];
        assert_eq!(c.target_names().unwrap().len(), 12);
        c.targets = vec!["qproj".into()];
        assert!(c.target_names().unwrap_err().to_string().contains("qproj"));
    }
}
