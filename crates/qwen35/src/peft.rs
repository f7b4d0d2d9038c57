//! LoRA adapters in PEFT's layout: `adapter_config.json` + `adapter_model.safetensors` with
//! keys `base_model.model.<module path>.lora_A.weight` / `.lora_B.weight`, the module path being
//! the one `transformers` gives the projection (e.g. `model.layers.3.linear_attn.in_proj_qkv`,
//! or `model.language_model.layers.3...` for the multimodal checkpoints).

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::tensor::{DType, Tensor, TensorData};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::error::{Qwen35Error, Result};
use crate::lora::{LoraAdapter, LoraConfig};
use crate::model::Qwen35;
use crate::write_atomic;

/// PEFT's prefix for module paths of a `Qwen3_5ForCausalLM` (text) base.
pub const PEFT_PREFIX_TEXT: &str = "base_model.model.model.";
/// PEFT's prefix for module paths of a `Qwen3_5ForConditionalGeneration` (multimodal) base.
pub const PEFT_PREFIX_VLM: &str = "base_model.model.model.language_model.";

/// Which PEFT key prefix an exported adapter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeftLayout {
    /// `AutoModelForCausalLM` / `Qwen3_5ForCausalLM` ([`PEFT_PREFIX_TEXT`]): what every Qwen3.5
    /// text fine-tune loads with.
    #[default]
    Text,
    /// `Qwen3_5ForConditionalGeneration`, the multimodal class ([`PEFT_PREFIX_VLM`]).
    Vlm,
}

impl PeftLayout {
    /// The key prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Text => PEFT_PREFIX_TEXT,
            Self::Vlm => PEFT_PREFIX_VLM,
        }
    }
}

impl std::str::FromStr for PeftLayout {
    type Err = Qwen35Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "text" => Ok(Self::Text),
            "vlm" => Ok(Self::Vlm),
            other => Err(Qwen35Error::InvalidInput(format!("unknown PEFT layout {other:?}: use text or vlm"))),
        }
    }
}

impl Qwen35 {
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
}
