//! Training checkpoints: trainable weights, AdamW moments and the run's position, written
//! atomically so a crash at any moment leaves the previous checkpoint intact.
//!
//! Layout under the run directory:
//! ```text
//! checkpoints/step-000040/{weights.safetensors, optimizer.safetensors, state.json}
//! checkpoints/latest            name of the newest complete checkpoint
//! ```
//! A checkpoint is written to `step-N.partial/` and renamed when complete; `latest` is replaced
//! through a temporary file. Weights and moments are keyed by module path, so they load into a
//! freshly built model. The data position is the optimizer step (the batch order is a function
//! of the seed and the epoch), and dropout is reseeded from `(seed, step, micro-batch)`, so the
//! step is the whole RNG state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::tensor::{DType, Tensor, TensorData};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError, io};
use crate::optim::{AdamW, Moments};
use crate::walk::{self, ParamMapper, ParamVisitor};

/// Where the run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimizer steps completed (the next step to run).
    pub step: usize,
    /// Steps in the whole run.
    pub total_steps: usize,
    /// Real tokens processed so far.
    pub tokens_seen: u64,
    /// Wall seconds spent training so far (over all resumed segments).
    pub elapsed_s: f64,
    /// SHA-256 of the training rows.
    pub data_fingerprint: String,
    /// The resolved config of the run that wrote the checkpoint.
    pub config: TrainConfig,
    /// The lowest validation loss so far and its step (`save_best` runs keep its weights).
    #[serde(default)]
    pub best: Option<BestEval>,
}

/// A validation loss and the step it was measured after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestEval {
    /// Optimizer steps completed when it was measured.
    pub step: usize,
    /// Mean cross-entropy over the validation set's trained tokens.
    pub eval_loss: f64,
}

/// Trainable weights by module path, as `(shape, f32 values)`.
pub type Weights = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// A parameter read back to the host.
#[derive(Debug, Clone)]
pub struct HostTensor {
    /// Dtype it is stored in on the device.
    pub dtype: DType,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values as f32 (exact for f32 and bf16).
    pub values: Vec<f32>,
}

/// The parameters of `module` by module path (`layers.0.mlp.up_proj.weight`), all of them or
/// only those that require a gradient.
pub fn param_tensors<M: Module>(module: &M, only_trainable: bool) -> BTreeMap<String, HostTensor> {
    struct Collect {
        only_trainable: bool,
        out: BTreeMap<String, HostTensor>,
    }
    impl ParamVisitor for Collect {
        fn param<const D: usize>(&mut self, path: &str, param: &Param<Tensor<D>>) {
            let v = param.val();
            if !self.only_trainable || v.is_require_grad() {
                let host = HostTensor { dtype: v.dtype(), shape: v.dims().to_vec(), values: to_f32(v) };
                self.out.insert(path.to_string(), host);
            }
        }
    }
    let mut c = Collect { only_trainable, out: BTreeMap::new() };
    walk::visit(module, &mut c);
    c.out
}

/// Every parameter of `module` that requires a gradient, by path, as `(shape, f32 values)`.
pub fn trainable_tensors<M: Module>(module: &M) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    param_tensors(module, true).into_iter().map(|(k, t)| (k, (t.shape, t.values))).collect()
}

fn to_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.cast(DType::F32).into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
}

/// Replaces the trainable parameters of `module` by `values` (paths and shapes must match
/// exactly: every trainable parameter once, nothing else).
pub fn load_trainable<M: Module>(
    module: M,
    mut values: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    source: &Path,
) -> Result<M> {
    struct Load<'a> {
        values: &'a mut BTreeMap<String, (Vec<usize>, Vec<f32>)>,
        errors: Vec<String>,
    }
    impl ParamMapper for Load<'_> {
        fn param<const D: usize>(&mut self, key: &str, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if !param.val().is_require_grad() {
                return param;
            }
            let Some((shape, data)) = self.values.remove(key) else {
                self.errors.push(format!("{key} is missing"));
                return param;
            };
            let (id, value, mapper) = param.consume();
            if shape != value.dims() {
                self.errors.push(format!("{key} has shape {shape:?}, the model {:?}", value.dims()));
                return Param::from_mapped_value(id, value, mapper);
            }
            let dtype = value.dtype();
            let t = Tensor::<D>::from_data(TensorData::new(data, shape), (&value.device(), DType::F32)).cast(dtype);
            Param::from_mapped_value(id, t.detach().require_grad(), mapper)
        }
    }
    let mut l = Load { values: &mut values, errors: Vec::new() };
    let module = walk::map(module, &mut l);
    let mut errors = l.errors;
    errors.extend(values.keys().take(3).map(|k| format!("{k} is not a trainable parameter of this model")));
    if !errors.is_empty() {
        return Err(TrainError::Checkpoint {
            dir: source.to_path_buf(),
            reason: format!("weights do not fit this model: {}", errors.join("; ")),
        });
    }
    Ok(module)
}

/// Writes `tensors` as an f32 safetensors file at `path` (not atomic on its own: callers write
/// into a directory that is renamed when complete).
pub fn write_safetensors(path: &Path, tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>) -> Result<()> {
    let views = tensors
        .iter()
        .map(|(k, (shape, v))| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytemuck::cast_slice(v))
                .map(|view| (k.clone(), view))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| TrainError::Safetensors { path: path.to_path_buf(), message: e.to_string() })?;
    safetensors::serialize_to_file(views, None, path)
        .map_err(|e| TrainError::Safetensors { path: path.to_path_buf(), message: e.to_string() })
}

/// Reads an f32 safetensors file written by [`write_safetensors`].
pub fn read_safetensors(path: &Path) -> Result<BTreeMap<String, qwen35::checkpoint::ShapedF32>> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| TrainError::Safetensors { path: path.to_path_buf(), message: e.to_string() })?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(TrainError::Safetensors {
                path: path.to_path_buf(),
                message: format!("{name} is {:?}, expected F32", view.dtype()),
            });
        }
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        out.insert(name, (view.shape().to_vec(), values));
    }
    Ok(out)
}

/// The checkpoints directory of a run.
pub fn checkpoints_dir(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

/// The newest complete checkpoint of a run, if any.
pub fn latest(run: &Path) -> Option<PathBuf> {
    let dir = checkpoints_dir(run);
    let name = std::fs::read_to_string(dir.join("latest")).ok()?;
    let path = dir.join(name.trim());
    path.join("state.json").is_file().then_some(path)
}

/// Writes a checkpoint of `model`'s trainable weights, `opt` and `state`, then prunes old
/// ones down to `keep`. Returns its directory.
pub fn save<M: Module>(run: &Path, model: &M, opt: &AdamW, state: &TrainState, keep: usize) -> Result<PathBuf> {
    let root = checkpoints_dir(run);
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    let name = format!("step-{:06}", state.step);
    let final_dir = root.join(&name);
    let partial = root.join(format!("{name}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    write_safetensors(&partial.join("weights.safetensors"), &trainable_tensors(model))?;
    let mut moments = BTreeMap::new();
    for (k, Moments { m, v, master }) in &opt.state {
        let n = m.dims().to_vec();
        moments.insert(format!("m.{k}"), (n.clone(), to_f32(m.clone())));
        moments.insert(format!("v.{k}"), (n.clone(), to_f32(v.clone())));
        if let Some(w) = master {
            moments.insert(format!("w.{k}"), (n, to_f32(w.clone())));
        }
    }
    write_safetensors(&partial.join("optimizer.safetensors"), &moments)?;
    let json = serde_json::json!({ "state": state, "optimizer_step": opt.step, "optimizer": opt.config });
    let state_path = partial.join("state.json");
    std::fs::write(&state_path, serde_json::to_vec_pretty(&json).unwrap_or_default()).map_err(io(&state_path))?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(io(&final_dir))?;
    }
    std::fs::rename(&partial, &final_dir).map_err(io(&final_dir))?;
    qwen35::write_atomic(&root.join("latest"), name.as_bytes())?;
    prune(&root, keep.max(1))?;
    Ok(final_dir)
}

/// The directory of the best weights of a `save_best` run.
pub fn best_dir(run: &Path) -> PathBuf {
    run.join("best")
}

/// Replaces `best/` by `model`'s trainable weights and `best`. The new directory is complete
/// before the old one goes: `best.old/` is kept until the rename, and [`load_best`] falls back
/// to it after a crash in between.
pub fn save_best<M: Module>(run: &Path, model: &M, best: BestEval) -> Result<PathBuf> {
    let dir = best_dir(run);
    let partial = run.join("best.partial");
    let old = run.join("best.old");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    write_safetensors(&partial.join("weights.safetensors"), &trainable_tensors(model))?;
    let json_path = partial.join("best.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&best).unwrap_or_default()).map_err(io(&json_path))?;
    if dir.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        std::fs::rename(&dir, &old).map_err(io(&old))?;
    }
    std::fs::rename(&partial, &dir).map_err(io(&dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(dir)
}

/// The weights saved by [`save_best`] and their step and loss, if any.
pub fn load_best(run: &Path) -> Result<Option<(BestEval, Weights)>> {
    let dir = [best_dir(run), run.join("best.old")].into_iter().find(|d| d.join("best.json").is_file());
    let Some(dir) = dir else { return Ok(None) };
    let path = dir.join("best.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let best: BestEval = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint { dir: dir.clone(), reason: format!("best.json: {e}") })?;
    Ok(Some((best, read_safetensors(&dir.join("weights.safetensors"))?)))
}

fn prune(root: &Path, keep: usize) -> Result<()> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(io(root))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("step-")))
        .collect();
    dirs.sort();
    let stale: Vec<PathBuf> = dirs.iter().filter(|d| d.extension().is_some_and(|e| e == "partial")).cloned().collect();
    for d in stale {
        std::fs::remove_dir_all(&d).map_err(io(&d))?;
    }
    dirs.retain(|d| d.extension().is_none());
    while dirs.len() > keep {
        let d = dirs.remove(0);
        std::fs::remove_dir_all(&d).map_err(io(&d))?;
    }
    Ok(())
}

/// A checkpoint read back: state, weights and optimizer.
pub struct Loaded {
    /// Position and config.
    pub state: TrainState,
    /// Trainable weights by path.
    pub weights: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    /// Optimizer steps taken.
    pub optimizer_step: u64,
    /// Optimizer state by path.
    pub moments: BTreeMap<String, SavedMoments>,
}

/// One parameter's optimizer state as read back, flattened.
pub struct SavedMoments {
    /// First moment.
    pub m: Vec<f32>,
    /// Second moment.
    pub v: Vec<f32>,
    /// The f32 master weight of a parameter stored in bf16 (`None` for f32 parameters).
    pub master: Option<Vec<f32>>,
}

/// Reads a checkpoint directory.
pub fn load(dir: &Path) -> Result<Loaded> {
    let bad = |reason: String| TrainError::Checkpoint { dir: dir.to_path_buf(), reason };
    let text = std::fs::read_to_string(dir.join("state.json")).map_err(io(dir.join("state.json")))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("state.json: {e}")))?;
    let state: TrainState =
        serde_json::from_value(json["state"].clone()).map_err(|e| bad(format!("state.json: {e}")))?;
    let optimizer_step =
        json["optimizer_step"].as_u64().ok_or_else(|| bad("state.json has no optimizer_step".into()))?;
    let weights = read_safetensors(&dir.join("weights.safetensors"))?;
    let mut raw = read_safetensors(&dir.join("optimizer.safetensors"))?;
    let mut moments = BTreeMap::new();
    let keys: Vec<String> = raw.keys().filter_map(|k| k.strip_prefix("m.").map(str::to_string)).collect();
    for k in keys {
        let (_, m) = raw.remove(&format!("m.{k}")).unwrap_or_default();
        let (_, v) =
            raw.remove(&format!("v.{k}")).ok_or_else(|| bad(format!("optimizer state has m.{k} but no v.{k}")))?;
        let master = raw.remove(&format!("w.{k}")).map(|(_, w)| w);
        moments.insert(k, SavedMoments { m, v, master });
    }
    Ok(Loaded { state, weights, optimizer_step, moments })
}
