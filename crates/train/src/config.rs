//! The resolved configuration of a run: defaults, a TOML file, then command-line flags, in that
//! order. Saved as `config.json` next to the run; a resume checks the settings that shape the
//! optimisation trajectory and refuses a checkpoint made with different ones.

use std::path::{Path, PathBuf};

use qwen35::peft::PeftLayout;
use qwen35::{DeviceChoice, DtypeChoice, LoraConfig};
use serde::{Deserialize, Serialize};
use skillsft_data::formats::DataFormat;
use skillsft_data::sft::Truncation;

use crate::error::{Result, TrainError, io};

/// LoRA adapters on a frozen base, or every weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Low-rank adapters; base frozen (no gradient, no optimizer state).
    Lora,
    /// Full fine-tuning.
    Full,
}

/// Everything a run needs. Field names are the TOML keys and (with `-` for `_`) the flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// `0.8b`, `2b`, `4b`, or `tiny` (with `random_init`).
    pub size: String,
    /// A Hugging Face model directory; overrides `size`'s lookup.
    pub model: Option<PathBuf>,
    /// Train a randomly initialised model of `size` (no download; for tests and the quickstart).
    pub random_init: bool,
    /// Seed of the random initialisation and of fresh LoRA `A` matrices.
    pub init_seed: u64,
    /// Training data: files (JSONL, JSON, Parquet) or directories, in any format of
    /// [`skillsft_data::formats`]. One path or a list; `hf:ORG/NAME` ids are resolved to files
    /// by the caller (`skillsft_hub::resolve_dataset`) before training.
    #[serde(deserialize_with = "one_or_many")]
    pub data: Vec<PathBuf>,
    /// Read every row as this format (`messages`, `sharegpt`, `prompt-completion`, `text`,
    /// `tokenized`); unset: detected per row.
    pub data_format: Option<DataFormat>,
    /// Count and skip rows that fit no format or break its rules (listed in
    /// `data_report.json`), instead of stopping at the first.
    pub skip_bad_rows: bool,
    /// Held-out data for the validation loss (same formats as `data`); empty: none, unless
    /// `val_split` carves it from `data`.
    #[serde(deserialize_with = "one_or_many")]
    pub eval_data: Vec<PathBuf>,
    /// Share of the training examples held out for validation (seeded by `seed`, by example);
    /// 0 holds none out. Not combined with `eval_data`.
    pub val_split: f64,
    /// Validation loss every N optimizer steps (0: only at the end); needs validation data.
    pub eval_every: usize,
    /// Keep the weights of the step with the lowest validation loss (`best/`) and export those.
    pub save_best: bool,
    /// Run directory: config, metrics, checkpoints, adapter.
    pub out: PathBuf,
    /// LoRA or full fine-tuning.
    pub mode: Mode,
    /// Adapter shape (mode `lora`).
    pub lora: LoraConfig,
    /// Peak learning rate.
    pub lr: f64,
    /// Share of steps spent warming up linearly from 0.
    pub warmup_ratio: f64,
    /// Decoupled weight decay (rank ≥ 2 parameters only).
    pub weight_decay: f64,
    /// AdamW β₁.
    pub beta1: f64,
    /// AdamW β₂.
    pub beta2: f64,
    /// AdamW ε.
    pub eps: f64,
    /// Global gradient-norm clip; 0 turns it off.
    pub max_grad_norm: f64,
    /// Passes over the data.
    pub epochs: usize,
    /// Stop after this many optimizer steps (before the epochs end).
    pub max_steps: Option<usize>,
    /// Tokens per row; longer examples follow `truncation`.
    pub seq_len: usize,
    /// Rows per forward pass.
    pub micro_batch: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Pack several examples per row (segment-aware: no attention, state or conv leak).
    pub packing: bool,
    /// `drop` or `right` for examples longer than `seq_len`.
    pub truncation: Truncation,
    /// Train on the teacher's reasoning (`<think>` block) as well as the answer.
    pub thinking: bool,
    /// Seed of the data order and of dropout.
    pub seed: u64,
    /// Checkpoint every N optimizer steps (0: only at the end and on Ctrl-C).
    pub save_every: usize,
    /// Checkpoints kept on disk (oldest removed first).
    pub keep_checkpoints: usize,
    /// Trained tokens per cross-entropy chunk.
    pub loss_chunk: usize,
    /// `auto` (the first CUDA GPU if this binary has CUDA and one is present, else the CPU),
    /// `cpu`, `cuda`, `cuda:N`, `wgpu`, `wgpu-cpu`.
    pub device: DeviceChoice,
    /// `f32` or `bf16`; unset (or `""`) picks bf16 on GPUs and f32 on CPU.
    #[serde(with = "qwen35::device::dtype_or_auto")]
    pub dtype: Option<DtypeChoice>,
    /// Balanced gradient checkpointing (recompute elementwise ops in backward).
    pub gradient_checkpointing: bool,
    /// PEFT key prefix of the exported adapter: `text` (`AutoModelForCausalLM`, the default for
    /// every Qwen3.5 checkpoint) or `vlm` (`Qwen3_5ForConditionalGeneration`).
    pub peft_layout: PeftLayout,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            size: "0.8b".into(),
            model: None,
            random_init: false,
            init_seed: 0,
            data: vec![PathBuf::from("data/corpus.jsonl")],
            data_format: None,
            skip_bad_rows: false,
            eval_data: Vec::new(),
            val_split: 0.0,
            eval_every: 0,
            save_best: false,
            out: PathBuf::new(),
            mode: Mode::Lora,
            lora: LoraConfig::default(),
            lr: 2e-4,
            warmup_ratio: 0.05,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_grad_norm: 1.0,
            epochs: 3,
            max_steps: None,
            seq_len: 2048,
            micro_batch: 1,
            grad_accum: 8,
            packing: true,
            truncation: Truncation::Drop,
            thinking: true,
            seed: 0,
            save_every: 25,
            keep_checkpoints: 2,
            loss_chunk: 1024,
            device: DeviceChoice::Auto,
            dtype: None,
            gradient_checkpointing: false,
            peft_layout: PeftLayout::Text,
        }
    }
}

/// The settings that shape the trajectory: a checkpoint is only resumed under equal values.
#[derive(Serialize)]
struct Trajectory<'a> {
    size: &'a str,
    model: &'a Option<PathBuf>,
    random_init: bool,
    init_seed: u64,
    mode: Mode,
    lora: Option<&'a LoraConfig>,
    lr: f64,
    warmup_ratio: f64,
    weight_decay: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    max_grad_norm: f64,
    epochs: usize,
    max_steps: Option<usize>,
    seq_len: usize,
    micro_batch: usize,
    grad_accum: usize,
    packing: bool,
    truncation: Truncation,
    thinking: bool,
    seed: u64,
    #[serde(with = "qwen35::device::dtype_or_auto")]
    dtype: Option<DtypeChoice>,
    val_split: f64,
}

impl TrainConfig {
    /// Reads a TOML file over the defaults.
    pub fn from_toml(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        toml::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))
    }

    /// Checks ranges and names; call after all overrides.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(TrainError::Config(m));
        if self.seq_len < 2 {
            return fail(format!("seq_len {} is too short", self.seq_len));
        }
        if self.micro_batch == 0 || self.grad_accum == 0 {
            return fail("micro_batch and grad_accum must be at least 1".into());
        }
        if self.epochs == 0 && self.max_steps.is_none() {
            return fail("epochs is 0 and no max_steps is set: nothing to train".into());
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return fail(format!("lr {} must be positive", self.lr));
        }
        if !(0.0..1.0).contains(&self.warmup_ratio) {
            return fail(format!("warmup_ratio {} is not in [0, 1)", self.warmup_ratio));
        }
        if !(0.0..1.0).contains(&self.beta1) || !(0.0..1.0).contains(&self.beta2) {
            return fail("beta1 and beta2 must be in [0, 1)".into());
        }
        if self.loss_chunk == 0 {
            return fail("loss_chunk must be at least 1".into());
        }
        if self.mode == Mode::Lora {
            self.lora.target_names()?;
        }
        if self.data.is_empty() {
            return fail("no training data (--data)".into());
        }
        if !(0.0..1.0).contains(&self.val_split) {
            return fail(format!("val_split {} is not in [0, 1)", self.val_split));
        }
        if self.val_split > 0.0 && !self.eval_data.is_empty() {
            return fail("give either eval_data or val_split, not both".into());
        }
        let has_eval = self.val_split > 0.0 || !self.eval_data.is_empty();
        if (self.eval_every > 0 || self.save_best) && !has_eval {
            return fail(
                "eval_every and save_best need validation data: pass --eval-data FILE or --val-split FRACTION".into(),
            );
        }
        if self.out.as_os_str().is_empty() {
            return fail("no output directory (--out)".into());
        }
        Ok(())
    }

    /// The dtype actually used: the configured one, else bf16 on a GPU and f32 on CPU.
    pub fn resolved_dtype(&self) -> Result<qwen35::DtypeChoice> {
        if let Some(d) = self.dtype {
            return Ok(d);
        }
        Ok(if self.device.prefers_bf16()? { qwen35::DtypeChoice::Bf16 } else { qwen35::DtypeChoice::F32 })
    }

    /// True when a validation loss is computed.
    pub fn has_eval(&self) -> bool {
        self.val_split > 0.0 || !self.eval_data.is_empty()
    }

    /// Names of trajectory settings that differ between `self` and `other`.
    pub fn trajectory_differences(&self, other: &TrainConfig) -> Vec<String> {
        let a = serde_json::to_value(self.trajectory()).unwrap_or_default();
        let b = serde_json::to_value(other.trajectory()).unwrap_or_default();
        let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return vec!["<unreadable>".into()] };
        a.iter()
            .filter(|(k, v)| b.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: checkpoint {} vs now {v}", b.get(k).cloned().unwrap_or_default()))
            .collect()
    }

    fn trajectory(&self) -> Trajectory<'_> {
        Trajectory {
            size: &self.size,
            model: &self.model,
            random_init: self.random_init,
            init_seed: self.init_seed,
            mode: self.mode,
            lora: (self.mode == Mode::Lora).then_some(&self.lora),
            lr: self.lr,
            warmup_ratio: self.warmup_ratio,
            weight_decay: self.weight_decay,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            max_grad_norm: self.max_grad_norm,
            epochs: self.epochs,
            max_steps: self.max_steps,
            seq_len: self.seq_len,
            micro_batch: self.micro_batch,
            grad_accum: self.grad_accum,
            packing: self.packing,
            truncation: self.truncation,
            thinking: self.thinking,
            seed: self.seed,
            dtype: self.dtype,
            val_split: self.val_split,
        }
    }
}

/// A path or a list of paths (TOML `data = "a.jsonl"` or `data = ["a.jsonl", "dir/"]`).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    })
}
