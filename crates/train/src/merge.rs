//! Writing full weights in the Hugging Face layout: a base merged with a PEFT adapter
//! (`train merge`), or a fully fine-tuned model.
//!
//! The merge works on the checkpoint files, not on a model in memory: every shard is copied
//! tensor by tensor with its stored key and dtype, and the adapted projections get
//! `W + s·B·A` (computed in f32, rounded once to the stored dtype). The index, config,
//! tokenizer and template files are copied unchanged, so `transformers` loads the result as it
//! loaded the base.

use std::path::Path;

use burn::tensor::{DType, Device, Tensor, TensorData};
use half::bf16;
use qwen35::Qwen35;
use qwen35::peft::PeftAdapter;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Result, TrainError, io};

/// What a merge did.
#[derive(Debug, Clone, Default)]
pub struct MergeReport {
    /// Projections that received an update.
    pub merged: usize,
    /// Tensors copied unchanged.
    pub copied: usize,
    /// Shards written.
    pub shards: usize,
}

/// The text-model path of a stored key (`model.language_model.layers.0…` -> `layers.0…`).
fn text_path(key: &str) -> Option<&str> {
    key.strip_prefix("model.language_model.").or_else(|| key.strip_prefix("model."))
}

/// Merges the PEFT adapter in `adapter` into the base checkpoint in `base`, writing `out`.
pub fn merge_adapter(base: &Path, adapter: &Path, out: &Path) -> Result<MergeReport> {
    let mut peft = PeftAdapter::read(adapter)?;
    let scale = peft.config.scale() as f32;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let shards = weight_files(base)?;
    let device = Device::flex();
    let mut report = MergeReport::default();
    for shard in &shards {
        let bytes = std::fs::read(shard).map_err(io(shard))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| TrainError::Safetensors { path: shard.clone(), message: e.to_string() })?;
        let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (key, view) in st.tensors() {
            let module = text_path(&key).and_then(|p| p.strip_suffix(".weight"));
            let Some(pair) = module.and_then(|m| peft.pairs.remove(m)) else {
                owned.push((key.clone(), view.dtype(), view.shape().to_vec(), view.data().to_vec()));
                report.copied += 1;
                continue;
            };
            let shape = view.shape().to_vec();
            if shape.len() != 2 || pair.a.0 != [pair.a.0[0], shape[1]] || pair.b.0 != [shape[0], pair.a.0[0]] {
                return Err(TrainError::Config(format!(
                    "adapter shapes A {:?} / B {:?} do not fit {key} {shape:?}",
                    pair.a.0, pair.b.0
                )));
            }
            let w = decode(view.dtype(), view.data())
                .ok_or_else(|| TrainError::Config(format!("{key}: cannot merge into dtype {:?}", view.dtype())))?;
            let t =
                |(s, v): (Vec<usize>, Vec<f32>)| Tensor::<2>::from_data(TensorData::new(v, s), (&device, DType::F32));
            let w = Tensor::<2>::from_data(TensorData::new(w, shape.clone()), (&device, DType::F32));
            let merged = w + t(pair.b).matmul(t(pair.a)) * scale;
            let values = merged.into_data().try_to_vec::<f32>().unwrap_or_default();
            owned.push((key.clone(), view.dtype(), shape, encode(view.dtype(), &values)));
            report.merged += 1;
        }
        let views = owned
            .iter()
            .map(|(k, dt, s, b)| safetensors::tensor::TensorView::new(*dt, s.clone(), b).map(|v| (k.clone(), v)))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| TrainError::Safetensors { path: shard.clone(), message: e.to_string() })?;
        let name = shard.file_name().unwrap_or_default();
        let target = out.join(name);
        let tmp = out.join(format!("{}.tmp", name.to_string_lossy()));
        let metadata = Some(std::collections::HashMap::from([("format".to_string(), "pt".to_string())]));
        safetensors::serialize_to_file(views, metadata, &tmp)
            .map_err(|e| TrainError::Safetensors { path: tmp.clone(), message: e.to_string() })?;
        std::fs::rename(&tmp, &target).map_err(io(&target))?;
        report.shards += 1;
    }
    if let Some(module) = peft.pairs.keys().next() {
        return Err(TrainError::Config(format!(
            "adapter {} has weights for {module}, which the base in {} does not have (wrong base?)",
            adapter.display(),
            base.display()
        )));
    }
    copy_side_files(base, out, true)?;
    Ok(report)
}

/// The weight files of a model directory: the shards its index names, else
/// `model.safetensors` (other `.safetensors` files in the directory are not weights).
fn weight_files(base: &Path) -> Result<Vec<std::path::PathBuf>> {
    let index = base.join("model.safetensors.index.json");
    let mut files: Vec<std::path::PathBuf> = if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(io(&index))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", index.display())))?;
        let map = json["weight_map"]
            .as_object()
            .ok_or_else(|| TrainError::Config(format!("{} has no weight_map", index.display())))?;
        map.values().filter_map(|v| v.as_str()).map(|f| base.join(f)).collect()
    } else {
        vec![base.join("model.safetensors")]
    };
    files.sort();
    files.dedup();
    if let Some(missing) = files.iter().find(|f| !f.is_file()) {
        return Err(TrainError::Config(format!("{} is missing from the base model", missing.display())));
    }
    Ok(files)
}

/// Copies the base's config, tokenizer and template files (and the shard index when the
/// weights keep the base's sharding).
fn copy_side_files(base: &Path, out: &Path, with_index: bool) -> Result<()> {
    for name in skillsft_hub::SMALL_FILES.iter().filter(|n| with_index || !n.ends_with(".index.json")) {
        let src = base.join(name);
        if src.is_file() {
            std::fs::copy(&src, out.join(name)).map_err(io(&src))?;
        }
    }
    Ok(())
}

fn decode(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        Dtype::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::BF16 => bytes.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::F16 => bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        _ => return None,
    })
}

fn encode(dtype: Dtype, values: &[f32]) -> Vec<u8> {
    match dtype {
        Dtype::BF16 => values.iter().flat_map(|v| bf16::from_f32(*v).to_le_bytes()).collect(),
        Dtype::F16 => values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect(),
        _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// Writes every weight of a fully fine-tuned `model` as `model.safetensors` in the Hugging
/// Face layout (keys prefixed as the base stored them), plus the base's config and tokenizer
/// files when `base` is given.
pub fn save_full(model: &Qwen35, base: Option<&Path>, out: &Path) -> Result<()> {
    let tensors = crate::checkpoint::param_tensors(model, false);
    let vlm = base
        .and_then(|b| std::fs::read_to_string(b.join("config.json")).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["model_type"] == "qwen3_5");
    let prefix = if vlm { "model.language_model." } else { "model." };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let encoded: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(path, t)| {
            let key = if path.starts_with("lm_head.") { path } else { format!("{prefix}{path}") };
            let dt = if t.dtype == DType::BF16 { Dtype::BF16 } else { Dtype::F32 };
            (key, dt, t.shape, encode(dt, &t.values))
        })
        .collect();
    let views = encoded
        .iter()
        .map(|(key, dt, shape, bytes)| {
            safetensors::tensor::TensorView::new(*dt, shape.clone(), bytes).map(|v| (key.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| TrainError::Safetensors { path: out.to_path_buf(), message: e.to_string() })?;
    let tmp = out.join("model.safetensors.tmp");
    let metadata = Some(std::collections::HashMap::from([("format".to_string(), "pt".to_string())]));
    safetensors::serialize_to_file(views, metadata, &tmp)
        .map_err(|e| TrainError::Safetensors { path: tmp.clone(), message: e.to_string() })?;
    std::fs::rename(&tmp, out.join("model.safetensors")).map_err(io(out.join("model.safetensors")))?;
    if let Some(b) = base {
        copy_side_files(b, out, false)?;
    }
    Ok(())
}
