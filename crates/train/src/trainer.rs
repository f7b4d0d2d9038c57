//! The training loop: model and data set-up, micro-batches with accumulation, AdamW steps,
//! metrics, checkpoints, Ctrl-C, resume, and the adapter export at the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Gradients;
use burn::tensor::{DType, Device, Tensor};
use qwen35::{Qwen35, Qwen35Config};
use skillsft_data::progress::{SharedProgress, Unit};

use crate::checkpoint::{self, TrainState};
use crate::config::{Mode, TrainConfig};
use crate::data::{self, Batch, DataReport, LoadOptions, Row};
use crate::error::{Result, TrainError, io};
use crate::loss::{LossOutput, chunked_cross_entropy};
use crate::metrics::{self, StepRecord};
use crate::optim::{AdamW, AdamWConfig, GradAccumulator, Moments};
use crate::schedule::Schedule;

/// How a run is started (what is not part of the trajectory).
#[derive(Clone)]
pub struct RunOptions {
    /// The resolved model directory (`None` with `random_init`).
    pub model_dir: Option<PathBuf>,
    /// How the base is named in the adapter's `base_model_name_or_path`.
    pub base_name: Option<String>,
    /// Continue from the run directory's latest checkpoint.
    pub resume: bool,
    /// Where the steps are reported (loss, learning rate, tokens/s); the binaries draw a bar.
    pub progress: SharedProgress,
    /// Set (e.g. by Ctrl-C) to checkpoint and stop after the current step.
    pub stop: Option<Arc<AtomicBool>>,
    /// Stop (with a checkpoint) after this many steps of this invocation; for tests of resume.
    pub stop_after: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            model_dir: None,
            base_name: None,
            resume: false,
            progress: skillsft_data::progress::silent(),
            stop: None,
            stop_after: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Records of every step of the run so far (including resumed-from segments).
    pub records: Vec<StepRecord>,
    /// Steps completed.
    pub step: usize,
    /// Steps planned.
    pub total_steps: usize,
    /// True when stopped early (Ctrl-C or `stop_after`); a checkpoint was written.
    pub interrupted: bool,
    /// What loading the data found.
    pub data: DataReport,
    /// The exported PEFT adapter (LoRA runs that finished).
    pub adapter_dir: Option<PathBuf>,
    /// The exported full weights (full fine-tuning runs that finished).
    pub model_dir: Option<PathBuf>,
    /// Trainable parameters.
    pub trainable_params: usize,
}

/// The training device for a config: the backend with autodiff (and checkpointing if asked).
pub fn training_device(cfg: &TrainConfig) -> Result<Device> {
    let device = cfg.device.device()?.autodiff();
    Ok(if cfg.gradient_checkpointing { device.gradient_checkpointing() } else { device })
}

/// Builds the model for `cfg` on `device`: loaded or random, then frozen with fresh adapters
/// (LoRA) or left fully trainable.
pub fn build_model(cfg: &TrainConfig, model_dir: Option<&Path>, device: &Device) -> Result<(Qwen35, Qwen35Config)> {
    let dtype = match cfg.resolved_dtype()? {
        qwen35::DtypeChoice::F32 => DType::F32,
        qwen35::DtypeChoice::Bf16 => DType::BF16,
    };
    let (model, config) = if cfg.random_init {
        let config = Qwen35Config::preset(&cfg.size).ok_or_else(|| {
            TrainError::Config(format!(
                "no preset {:?} for --random-init; use one of {:?}",
                cfg.size,
                Qwen35Config::PRESETS
            ))
        })?;
        (Qwen35::random(&config, cfg.init_seed, device, dtype)?, config)
    } else {
        let dir = model_dir.ok_or_else(|| TrainError::Config("no model directory was resolved".into()))?;
        Qwen35::from_pretrained(dir, device, dtype)?
    };
    let model = match cfg.mode {
        Mode::Full => model,
        Mode::Lora => {
            let mut model = model.no_grad();
            model.attach_lora(&cfg.lora, cfg.init_seed)?;
            model
        }
    };
    Ok((model, config))
}

/// The output head's weight `[vocab, hidden]` (the embedding when tied).
pub fn head_weight(model: &Qwen35) -> Tensor<2> {
    match &model.lm_head {
        Some(h) => h.weight.val(),
        None => model.embed_tokens.weight.val(),
    }
}

/// Forward and backward of one micro-batch; the loss is summed and scaled by `1/normaliser`.
pub fn micro_step(model: &Qwen35, batch: &Batch, normaliser: f64, chunk: usize) -> Result<(Gradients, LossOutput)> {
    let hidden = model.forward_hidden(&batch.inputs, None)?;
    let out = chunked_cross_entropy(hidden, head_weight(model), &batch.targets, normaliser, chunk);
    let grads = out.surrogate.clone().backward();
    Ok((grads, out))
}

/// Number of elements of the trainable parameters.
pub fn trainable_params(model: &Qwen35) -> usize {
    checkpoint::trainable_tensors(model).values().map(|(s, _)| s.iter().product::<usize>()).sum()
}

/// Runs (or resumes) training as `cfg` says.
pub fn train(cfg: &TrainConfig, opts: &RunOptions) -> Result<RunSummary> {
    cfg.validate()?;
    let run = cfg.out.clone();
    std::fs::create_dir_all(&run).map_err(io(&run))?;
    let existing = checkpoint::latest(&run);
    if existing.is_some() && !opts.resume {
        return Err(TrainError::Config(format!(
            "{} already holds checkpoints: pass --resume to continue that run, or choose another --out",
            run.display()
        )));
    }
    let device = training_device(cfg)?;
    let (mut model, config) = build_model(cfg, opts.model_dir.as_deref(), &device)?;
    let trainable = trainable_params(&model);

    let load = LoadOptions {
        max_len: cfg.seq_len,
        truncation: cfg.truncation,
        thinking: cfg.thinking,
        vocab_size: config.vocab_size,
    };
    let (examples, report) = data::load_examples(&cfg.data, opts.model_dir.as_deref(), &load)?;
    // Padding is masked out of attention, state and loss; any in-vocabulary id will do, and
    // some configs name an end-of-text id outside a tiny test vocabulary.
    let pad_id = config.eos_token_ids.first().copied().filter(|&id| (id as usize) < config.vocab_size).unwrap_or(0);
    let rows = data::build_rows(&examples, cfg.seq_len, cfg.packing, pad_id);
    let fingerprint = data::fingerprint(&rows);
    let plan = data::plan(rows.len(), cfg.micro_batch, cfg.grad_accum, cfg.epochs, cfg.max_steps, cfg.seed);
    let total_steps = plan.steps.len();
    let schedule = Schedule {
        peak_lr: cfg.lr,
        warmup_steps: (cfg.warmup_ratio * total_steps as f64).ceil() as usize,
        total_steps,
    };
    let mut opt = AdamW::new(AdamWConfig {
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        weight_decay: cfg.weight_decay,
        max_grad_norm: (cfg.max_grad_norm > 0.0).then_some(cfg.max_grad_norm),
    });

    let metrics_path = run.join("metrics.jsonl");
    let mut state = TrainState {
        step: 0,
        total_steps,
        tokens_seen: 0,
        elapsed_s: 0.0,
        data_fingerprint: fingerprint.clone(),
        config: cfg.clone(),
    };
    let mut records = Vec::new();
    if let Some(dir) = existing {
        let loaded = checkpoint::load(&dir)?;
        let diffs = cfg.trajectory_differences(&loaded.state.config);
        if !diffs.is_empty() {
            return Err(TrainError::Checkpoint {
                dir,
                reason: format!("it was written by a run with other settings: {}", diffs.join("; ")),
            });
        }
        if loaded.state.data_fingerprint != fingerprint {
            return Err(TrainError::Checkpoint {
                dir,
                reason: format!("it was trained on other data than {} (row fingerprints differ)", cfg.data.display()),
            });
        }
        model = checkpoint::load_trainable(model, loaded.weights, &dir)?;
        opt.step = loaded.optimizer_step;
        let inner = device.clone().inner();
        for (k, checkpoint::SavedMoments { m, v, master }) in loaded.moments {
            let n = m.len();
            let t = |x: Vec<f32>| Tensor::<1>::from_data(burn::tensor::TensorData::new(x, [n]), (&inner, DType::F32));
            opt.state.insert(k, Moments { m: t(m), v: t(v), master: master.map(t) });
        }
        state = loaded.state;
        state.config = cfg.clone();
        records = metrics::truncate(&metrics_path, state.step)?;
    } else {
        let _ = std::fs::remove_file(&metrics_path);
        let _ = std::fs::remove_dir_all(run.join("tensorboard"));
    }
    // TensorBoard's view of metrics.jsonl; a resumed run adds a file next to the first.
    let mut events = crate::tensorboard::EventWriter::create(&run.join("tensorboard"))?;
    write_json(&run.join("config.json"), cfg)?;
    write_json(&run.join("data_report.json"), &report)?;

    let bar = &opts.progress;
    bar.start("train", Unit::Steps, Some(total_steps as u64), state.step as u64);
    let started = Instant::now();
    let elapsed_before = state.elapsed_s;
    let mut interrupted = false;
    let mut steps_this_run = 0;
    while state.step < total_steps {
        let step = state.step;
        let t0 = Instant::now();
        let micro = &plan.steps[step];
        let batches: Vec<Batch> = micro
            .iter()
            .map(|idx| data::make_batch(&idx.iter().map(|&i| &rows[i]).collect::<Vec<&Row>>(), pad_id))
            .collect::<Result<_>>()?;
        let trained: usize = batches.iter().map(|b| b.trained).sum();
        let tokens: usize = batches.iter().map(|b| b.tokens).sum();
        let mut acc = GradAccumulator::default();
        let mut loss_sum = 0.0;
        for (k, batch) in batches.iter().enumerate() {
            if batch.trained == 0 {
                continue;
            }
            device.seed(dropout_seed(cfg.seed, step, k));
            let (grads, out) = micro_step(&model, batch, trained.max(1) as f64, cfg.loss_chunk)?;
            acc.add(&model, &grads);
            loss_sum += out.loss_sum;
        }
        let loss = loss_sum / trained.max(1) as f64;
        if !loss.is_finite() {
            return Err(TrainError::NonFiniteLoss { step: step + 1, loss });
        }
        let lr = schedule.lr(step);
        let (next, stats) = opt.step(model, acc, lr);
        model = next;
        state.step += 1;
        state.tokens_seen += tokens as u64;
        state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
        let secs = t0.elapsed().as_secs_f64();
        let record = StepRecord {
            step: state.step,
            epoch: plan.epoch_of[step],
            loss,
            lr,
            grad_norm: stats.grad_norm,
            tokens,
            trained_tokens: trained,
            tokens_per_s: tokens as f64 / secs.max(1e-9),
            elapsed_s: state.elapsed_s,
        };
        metrics::append(&metrics_path, &record)?;
        events.scalars(
            state.step as u64,
            &[
                ("train/loss", loss),
                ("train/lr", lr),
                ("train/grad_norm", stats.grad_norm),
                ("train/tokens_per_s", record.tokens_per_s),
            ],
        )?;
        events.flush()?;
        bar.advance(1, &format!("loss {loss:.4}  lr {lr:.2e}  {:.0} tok/s", record.tokens_per_s));
        records.push(record);
        steps_this_run += 1;
        let stop_now = opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
            || opts.stop_after.is_some_and(|n| steps_this_run >= n && state.step < total_steps);
        let periodic = cfg.save_every > 0 && state.step.is_multiple_of(cfg.save_every);
        if periodic || stop_now || state.step == total_steps {
            checkpoint::save(&run, &model, &opt, &state, cfg.keep_checkpoints)?;
        }
        if stop_now {
            interrupted = true;
            break;
        }
    }
    bar.finish();
    std::fs::write(run.join("loss.svg"), metrics::loss_svg(&records, &format!("{} {:?} SFT", cfg.size, cfg.mode)))
        .map_err(io(run.join("loss.svg")))?;

    let mut summary = RunSummary {
        records,
        step: state.step,
        total_steps,
        interrupted,
        data: report,
        adapter_dir: None,
        model_dir: None,
        trainable_params: trainable,
    };
    if !interrupted {
        let base = opts.base_name.clone().unwrap_or_else(|| {
            opts.model_dir.as_ref().map_or_else(|| format!("random-init:{}", cfg.size), |d| d.display().to_string())
        });
        match cfg.mode {
            Mode::Lora => {
                let dir = run.join("adapter");
                model.save_peft(&dir, &cfg.lora, cfg.peft_layout.prefix(), &base)?;
                summary.adapter_dir = Some(dir);
            }
            Mode::Full => {
                let dir = run.join("model");
                crate::merge::save_full(&model, opts.model_dir.as_deref(), &dir)?;
                summary.model_dir = Some(dir);
            }
        }
    }
    Ok(summary)
}

/// Dropout's seed for micro-batch `k` of step `step`: a resumed run draws the same masks.
fn dropout_seed(seed: u64, step: usize, k: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((step as u64) << 16) ^ k as u64
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    Ok(qwen35::write_atomic(path, &serde_json::to_vec_pretty(value).unwrap_or_default())?)
}
