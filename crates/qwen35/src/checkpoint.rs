//! Hugging Face safetensors checkpoints: single file or sharded, VLM or flat layout.
//!
//! Files are memory-mapped; a tensor is converted to the run dtype only when the model asks
//! for it, so loading a 4B model holds the mapped file plus one converted tensor at a time,
//! never two full copies. Key handling does one thing: strip `model.language_model.` (VLM
//! layout, `Qwen3_5ForConditionalGeneration`) or `model.` (flat layout, `Qwen3_5ForCausalLM`)
//! and skip `model.visual.*` and `mtp.*`, which the text decoder does not use.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use burn::tensor::{DType, TensorData};
use memmap2::Mmap;
use safetensors::tensor::{Dtype, Metadata, SafeTensors};

use crate::error::{Qwen35Error, Result};

/// Prefixes of tensors that belong to other parts of a Qwen3.5 checkpoint.
const SKIPPED_PREFIXES: [&str; 3] = ["model.visual.", "mtp.", "visual."];

/// One memory-mapped safetensors file with its parsed header.
struct Shard {
    path: PathBuf,
    mmap: Mmap,
    header_len: usize,
    metadata: Metadata,
}

/// Where a text-model tensor lives.
struct Entry {
    shard: usize,
    /// The key as stored in the file.
    stored_key: String,
}

/// An opened checkpoint directory (or single file), indexed by text-model key
/// (`layers.0.mlp.up_proj.weight`, `embed_tokens.weight`, `lm_head.weight`, ...).
pub struct Checkpoint {
    dir: PathBuf,
    shards: Vec<Shard>,
    entries: BTreeMap<String, Entry>,
    taken: BTreeSet<String>,
}

impl Checkpoint {
    /// Opens `model.safetensors`, or the shards listed in `model.safetensors.index.json`, in `dir`.
    /// `dir` may also be a path to a single `.safetensors` file.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        if dir.is_file() {
            let parent = dir.parent().unwrap_or(Path::new(".")).to_path_buf();
            return Self::from_files(parent, vec![dir.to_path_buf()]);
        }
        let index = dir.join("model.safetensors.index.json");
        let single = dir.join("model.safetensors");
        if index.exists() {
            let files = read_index(&index, dir)?;
            Self::from_files(dir.to_path_buf(), files)
        } else if single.exists() {
            Self::from_files(dir.to_path_buf(), vec![single])
        } else {
            Err(Qwen35Error::Io {
                path: single,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no model.safetensors or model.safetensors.index.json in the model directory",
                ),
            })
        }
    }

    fn from_files(dir: PathBuf, files: Vec<PathBuf>) -> Result<Self> {
        let mut shards = Vec::with_capacity(files.len());
        let mut entries = BTreeMap::new();
        for (i, path) in files.into_iter().enumerate() {
            let file = File::open(&path).map_err(|source| Qwen35Error::Io { path: path.clone(), source })?;
            // SAFETY: the map is read-only; a checkpoint modified while we read it is outside
            // what any loader can defend against (safetensors and transformers map it too).
            let mmap = unsafe { Mmap::map(&file) }.map_err(|source| Qwen35Error::Io { path: path.clone(), source })?;
            let (header_len, metadata) = SafeTensors::read_metadata(&mmap)
                .map_err(|e| Qwen35Error::CorruptCheckpoint { path: path.clone(), message: e.to_string() })?;
            for stored_key in metadata.tensors().keys() {
                if let Some(key) = text_key(stored_key) {
                    entries.insert(key, Entry { shard: i, stored_key: stored_key.clone() });
                }
            }
            shards.push(Shard { path, mmap, header_len, metadata });
        }
        Ok(Self { dir, shards, entries, taken: BTreeSet::new() })
    }

    /// The directory the checkpoint was opened from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a text-model key is present.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Reads `key`, checks its shape and converts it to `dtype` (F32 or BF16).
    pub fn take(&mut self, key: &str, shape: &[usize], dtype: DType) -> Result<TensorData> {
        let entry = self
            .entries
            .get(key)
            .ok_or_else(|| Qwen35Error::MissingTensor { key: key.to_string(), dir: self.dir.clone() })?;
        let shard = &self.shards[entry.shard];
        let info = shard.metadata.info(&entry.stored_key).ok_or_else(|| Qwen35Error::CorruptCheckpoint {
            path: shard.path.clone(),
            message: format!("{key} vanished from header"),
        })?;
        if info.shape != shape {
            return Err(Qwen35Error::ShapeMismatch {
                key: entry.stored_key.clone(),
                path: shard.path.clone(),
                expected: shape.to_vec(),
                found: info.shape.clone(),
            });
        }
        let start = 8 + shard.header_len + info.data_offsets.0;
        let end = 8 + shard.header_len + info.data_offsets.1;
        let bytes = &shard.mmap[start..end]; // read_metadata checked the offsets against the file
        let data = convert(bytes, info.dtype, shape, dtype).ok_or_else(|| Qwen35Error::UnsupportedDtype {
            key: entry.stored_key.clone(),
            path: shard.path.clone(),
            dtype: format!("{:?}", info.dtype),
        })?;
        self.taken.insert(key.to_string());
        Ok(data)
    }

    /// The stored dtype of a text-model key, if present.
    pub fn stored_dtype(&self, key: &str) -> Option<Dtype> {
        let e = self.entries.get(key)?;
        self.shards[e.shard].metadata.info(&e.stored_key).map(|i| i.dtype)
    }

    /// Text-model keys that were never taken, excluding `allowed` (e.g. a stray tied head).
    pub fn untaken(&self, allowed: &[&str]) -> Vec<String> {
        self.entries.keys().filter(|k| !self.taken.contains(*k) && !allowed.contains(&k.as_str())).cloned().collect()
    }
}

/// Maps a stored key to the text-model key, or `None` for tensors the decoder skips.
fn text_key(stored: &str) -> Option<String> {
    if SKIPPED_PREFIXES.iter().any(|p| stored.starts_with(p)) {
        return None;
    }
    if let Some(rest) = stored.strip_prefix("model.language_model.") {
        return Some(rest.to_string());
    }
    if let Some(rest) = stored.strip_prefix("model.") {
        return Some(rest.to_string());
    }
    // `lm_head.weight` sits at the top level in both layouts; anything else is kept as is
    // so that it is reported as unused rather than silently dropped.
    Some(stored.to_string())
}

/// Reads the shard list of `model.safetensors.index.json`.
fn read_index(index: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let err = |message: String| Qwen35Error::ShardIndex { path: index.to_path_buf(), message };
    let text =
        std::fs::read_to_string(index).map_err(|source| Qwen35Error::Io { path: index.to_path_buf(), source })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let map =
        value.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| err("no \"weight_map\" object".into()))?;
    let mut files: Vec<String> = Vec::new();
    for (key, file) in map {
        let file = file.as_str().ok_or_else(|| err(format!("weight_map[{key:?}] is not a file name")))?;
        if file.contains("..") || file.starts_with('/') {
            return Err(err(format!("shard name {file:?} leaves the model directory")));
        }
        if !files.iter().any(|f| f == file) {
            files.push(file.to_string());
        }
    }
    files.sort();
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        return Err(err(format!("shard {} does not exist", missing.display())));
    }
    Ok(paths)
}

/// Converts little-endian stored bytes to `TensorData` of `target` (F32 or BF16).
fn convert(bytes: &[u8], stored: Dtype, shape: &[usize], target: DType) -> Option<TensorData> {
    use half::{bf16, f16};
    let n: usize = shape.iter().product();
    // Decode into f32 unless the stored and target types already agree.
    let as_f32 = |bytes: &[u8]| -> Option<Vec<f32>> {
        Some(match stored {
            Dtype::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::BF16 => bytes.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::F16 => bytes.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            _ => return None,
        })
    };
    let data = match target {
        DType::BF16 => {
            let v: Vec<bf16> = if stored == Dtype::BF16 {
                bytes.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]])).collect()
            } else {
                as_f32(bytes)?.into_iter().map(bf16::from_f32).collect()
            };
            TensorData::new(v, shape.to_vec())
        }
        _ => TensorData::new(as_f32(bytes)?, shape.to_vec()),
    };
    debug_assert_eq!(data.num_elements(), n);
    Some(data)
}

/// A floating-point tensor view (F32, BF16 or F16) as f32 values.
pub(crate) fn view_to_f32(view: &safetensors::tensor::TensorView<'_>, key: &str, path: &Path) -> Result<Vec<f32>> {
    convert(view.data(), view.dtype(), view.shape(), DType::F32).and_then(|d| d.try_to_vec::<f32>().ok()).ok_or_else(
        || Qwen35Error::UnsupportedDtype {
            key: key.to_string(),
            path: path.to_path_buf(),
            dtype: format!("{:?}", view.dtype()),
        },
    )
}

/// A tensor on the host: shape and f32 values.
pub type ShapedF32 = (Vec<usize>, Vec<f32>);

/// Reads every tensor of a safetensors file into `name -> (shape, f32 values)`; integer
/// tensors are converted too. For small files (fixtures, `qwen35 logits` inputs).
pub fn read_all_f32(path: &Path) -> Result<HashMap<String, ShapedF32>> {
    let bytes = std::fs::read(path).map_err(|source| Qwen35Error::Io { path: path.to_path_buf(), source })?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Qwen35Error::CorruptCheckpoint { path: path.to_path_buf(), message: e.to_string() })?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let d = view.data();
        let vals: Vec<f32> = match view.dtype() {
            Dtype::I64 => {
                d.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32).collect()
            }
            Dtype::I32 => {
                d.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap_or([0; 4])) as f32).collect()
            }
            dt => match convert(d, dt, view.shape(), DType::F32) {
                Some(td) => td.try_to_vec::<f32>().unwrap_or_default(),
                None => {
                    return Err(Qwen35Error::UnsupportedDtype {
                        key: name,
                        path: path.to_path_buf(),
                        dtype: format!("{dt:?}"),
                    });
                }
            },
        };
        out.insert(name, (view.shape().to_vec(), vals));
    }
    Ok(out)
}

/// Reads an integer tensor (I64 or I32) from a safetensors file as `(shape, values)`.
pub fn read_int_tensor(path: &Path, name: &str) -> Result<(Vec<usize>, Vec<i64>)> {
    let bytes = std::fs::read(path).map_err(|source| Qwen35Error::Io { path: path.to_path_buf(), source })?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Qwen35Error::CorruptCheckpoint { path: path.to_path_buf(), message: e.to_string() })?;
    let view = st.tensor(name).map_err(|_| Qwen35Error::MissingTensor { key: name.into(), dir: path.to_path_buf() })?;
    let d = view.data();
    let vals = match view.dtype() {
        Dtype::I64 => {
            d.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
        }
        Dtype::I32 => d.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64).collect(),
        Dtype::U32 => d.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64).collect(),
        dt => {
            return Err(Qwen35Error::UnsupportedDtype {
                key: name.into(),
                path: path.to_path_buf(),
                dtype: format!("{dt:?} (expected an integer tensor)"),
            });
        }
    };
    Ok((view.shape().to_vec(), vals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keys_strip_one_prefix_and_skip_vision_and_mtp() {
        assert_eq!(
            text_key("model.language_model.layers.0.mlp.up_proj.weight").as_deref(),
            Some("layers.0.mlp.up_proj.weight")
        );
        assert_eq!(text_key("model.layers.0.mlp.up_proj.weight").as_deref(), Some("layers.0.mlp.up_proj.weight"));
        assert_eq!(text_key("lm_head.weight").as_deref(), Some("lm_head.weight"));
        assert_eq!(text_key("model.visual.blocks.0.attn.qkv.weight"), None);
        assert_eq!(text_key("mtp.fc.weight"), None);
    }

    #[test]
    fn bf16_to_f32_conversion_is_exact() {
        let vals = [1.5f32, -0.125, 3.0e-3];
        let bytes: Vec<u8> = vals.iter().flat_map(|v| half::bf16::from_f32(*v).to_le_bytes()).collect();
        let d = convert(&bytes, Dtype::BF16, &[3], DType::F32).unwrap();
        let back = d.try_to_vec::<f32>().unwrap();
        for (a, b) in vals.iter().zip(back) {
            assert_eq!(half::bf16::from_f32(*a).to_f32(), b);
        }
        assert!(convert(&bytes, Dtype::I16, &[3], DType::F32).is_none());
    }
}
