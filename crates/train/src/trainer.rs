//! The training loop: model and data set-up, micro-batches with accumulation, AdamW steps,
//! validation loss, metrics, checkpoints, Ctrl-C, resume, and the adapter export at the end.
//!
//! Two entry points: [`train`] reads everything the config names (model, data files), and
//! [`train_model`] takes a base model and tokenized examples from the caller's own code. Both
//! attach the LoRA adapters and freeze the base themselves (mode `lora`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Gradients;
use burn::tensor::{DType, Device, Tensor};
use qwen35::{Qwen35, Qwen35Config};
use skillsft_data::progress::{SharedProgress, Unit};
use skillsft_data::sft::SftExample;

use crate::checkpoint::{self, BestEval, TrainState};
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
    /// The last validation loss measured (runs with validation data).
    pub eval_loss: Option<f64>,
    /// The lowest validation loss and its step; with `save_best`, the exported weights.
    pub best: Option<BestEval>,
}

/// Tokenized training examples and, optionally, validation examples: what [`train_model`]
/// trains on.
#[derive(Debug, Clone, Default)]
pub struct Examples {
    /// Training examples.
    pub train: Vec<SftExample>,
    /// Validation examples (empty: no validation loss).
    pub eval: Vec<SftExample>,
    /// What loading found (counts); [`Examples::new`] fills the totals.
    pub report: DataReport,
}

impl Examples {
    /// Examples made in memory (fitted to the run's `seq_len` by [`train_model`]).
    pub fn new(train: Vec<SftExample>, eval: Vec<SftExample>) -> Self {
        let report = DataReport { lines: train.len(), ..DataReport::default() };
        Examples { train, eval, report }
    }
}

/// The training device for a config: the backend with autodiff (and checkpointing if asked).
pub fn training_device(cfg: &TrainConfig) -> Result<Device> {
    let device = cfg.device.device()?.autodiff();
    Ok(if cfg.gradient_checkpointing { device.gradient_checkpointing() } else { device })
}

/// Loads the base model for `cfg` on `device` (from `model_dir`, or random with
/// `random_init`), all weights trainable.
pub fn load_base(cfg: &TrainConfig, model_dir: Option<&Path>, device: &Device) -> Result<(Qwen35, Qwen35Config)> {
    let dtype = match cfg.resolved_dtype()? {
        qwen35::DtypeChoice::F32 => DType::F32,
        qwen35::DtypeChoice::Bf16 => DType::BF16,
    };
    if cfg.random_init {
        let config = Qwen35Config::preset(&cfg.size).ok_or_else(|| {
            TrainError::Config(format!(
                "no preset {:?} for --random-init; use one of {:?}",
                cfg.size,
                Qwen35Config::PRESETS
            ))
        })?;
        Ok((Qwen35::random(&config, cfg.init_seed, device, dtype)?, config))
    } else {
        let dir = model_dir.ok_or_else(|| TrainError::Config("no model directory was resolved".into()))?;
        Ok(Qwen35::from_pretrained(dir, device, dtype)?)
    }
}

/// Makes `base` ready for `cfg.mode`: LoRA freezes every base weight and attaches fresh
/// adapters (seeded by `init_seed`); full fine-tuning leaves every weight trainable.
pub fn prepare_model(base: Qwen35, cfg: &TrainConfig) -> Result<Qwen35> {
    Ok(match cfg.mode {
        Mode::Full => base,
        Mode::Lora => {
            let mut model = base.no_grad();
            model.attach_lora(&cfg.lora, cfg.init_seed)?;
            model
        }
    })
}

/// [`load_base`] then [`prepare_model`].
pub fn build_model(cfg: &TrainConfig, model_dir: Option<&Path>, device: &Device) -> Result<(Qwen35, Qwen35Config)> {
    let (base, config) = load_base(cfg, model_dir, device)?;
    Ok((prepare_model(base, cfg)?, config))
}

/// Reads `cfg.data` (and `cfg.eval_data`, or carves `cfg.val_split` out of the training
/// examples) with the model directory's chat template and tokenizer.
pub fn load_data(cfg: &TrainConfig, model_dir: Option<&Path>, vocab_size: usize) -> Result<Examples> {
    let load = LoadOptions::for_run(cfg, vocab_size);
    let (mut train, mut report) = data::load_examples(&cfg.data, model_dir, &load)?;
    let eval = if !cfg.eval_data.is_empty() {
        let (eval, eval_report) = data::load_examples(&cfg.eval_data, model_dir, &load)?;
        report.skipped_bad_rows += eval_report.skipped_bad_rows;
        eval
    } else if cfg.val_split > 0.0 {
        data::split_validation(&mut train, cfg.val_split, cfg.seed)?
    } else {
        Vec::new()
    };
    Ok(Examples { train, eval, report })
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

/// Runs (or resumes) training as `cfg` says: loads the model and the data files, then
/// [`train_model`].
pub fn train(cfg: &TrainConfig, opts: &RunOptions) -> Result<RunSummary> {
    cfg.validate()?;
    check_run_dir(cfg, opts)?;
    let device = training_device(cfg)?;
    let (base, config) = load_base(cfg, opts.model_dir.as_deref(), &device)?;
    let data = load_data(cfg, opts.model_dir.as_deref(), config.vocab_size)?;
    train_model(base, &config, data, cfg, opts)
}

/// Refuses to start a fresh run over an old one's checkpoints.
fn check_run_dir(cfg: &TrainConfig, opts: &RunOptions) -> Result<()> {
    if checkpoint::latest(&cfg.out).is_some() && !opts.resume {
        return Err(TrainError::Config(format!(
            "{} already holds checkpoints: pass --resume to continue that run, or choose another --out",
            cfg.out.display()
        )));
    }
    Ok(())
}

/// Trains `base` (built on [`training_device`]`(cfg)`, e.g. by [`load_base`] or
/// `Qwen35::random`) on in-memory `data` as `cfg` says: attaches and freezes as
/// [`prepare_model`] does, fits the examples to `cfg.seq_len`, then runs, checkpoints and
/// exports into `cfg.out` like [`train`]. `cfg.data` and `cfg.eval_data` are not read.
pub fn train_model(
    base: Qwen35,
    config: &Qwen35Config,
    data: Examples,
    cfg: &TrainConfig,
    opts: &RunOptions,
) -> Result<RunSummary> {
    cfg.validate()?;
    check_run_dir(cfg, opts)?;
    if !base.embed_tokens.weight.val().device().is_autodiff() {
        return Err(TrainError::Config(
            "the base model is not on an autodiff device: build it on skillsft_train::trainer::training_device(&cfg)"
                .into(),
        ));
    }
    let run = cfg.out.clone();
    std::fs::create_dir_all(&run).map_err(io(&run))?;
    let existing = checkpoint::latest(&run);
    let mut model = prepare_model(base, cfg)?;
    let trainable = trainable_params(&model);
    let device = model.embed_tokens.weight.val().device();

    let load = LoadOptions::for_run(cfg, config.vocab_size);
    let Examples { train: examples, eval: eval_examples, mut report } = data;
    let examples = data::fit_examples(examples, &load, &mut report)?;
    let eval_examples = if eval_examples.is_empty() {
        Vec::new()
    } else {
        let mut eval_report = DataReport::default();
        let fitted = data::fit_examples(eval_examples, &load, &mut eval_report)
            .map_err(|e| TrainError::Config(format!("validation set: {e}")))?;
        report.eval_examples = eval_report.examples;
        report.eval_trained_tokens = eval_report.trained_tokens;
        fitted
    };
    if cfg.has_eval() && eval_examples.is_empty() {
        return Err(TrainError::Config("validation was asked for, but there is no validation example".into()));
    }
    // Padding is masked out of attention, state and loss; any in-vocabulary id will do, and
    // some configs name an end-of-text id outside a tiny test vocabulary.
    let pad_id = config.eos_token_ids.first().copied().filter(|&id| (id as usize) < config.vocab_size).unwrap_or(0);
    let rows = data::build_rows(&examples, cfg.seq_len, cfg.packing, pad_id);
    let eval_rows = data::build_rows(&eval_examples, cfg.seq_len, cfg.packing, pad_id);
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
        best: None,
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
                reason: format!(
                    "it was trained on other data than {} (row fingerprints differ)",
                    display_paths(&cfg.data)
                ),
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
        let _ = std::fs::remove_dir_all(checkpoint::best_dir(&run));
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
    let mut last_eval = records.iter().rev().find_map(|r| r.eval_loss);
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
        let evaluate = !eval_rows.is_empty()
            && (state.step == total_steps || (cfg.eval_every > 0 && state.step.is_multiple_of(cfg.eval_every)));
        let eval_loss = if evaluate {
            bar.advance(0, &format!("step {}: validation loss", state.step));
            Some(eval_loss(&model, &eval_rows, cfg.micro_batch, pad_id, cfg.loss_chunk)?)
        } else {
            None
        };
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
            eval_loss,
        };
        if let Some(l) = eval_loss {
            if !l.is_finite() {
                return Err(TrainError::NonFiniteLoss { step: state.step, loss: l });
            }
            if state.best.is_none_or(|b| l < b.eval_loss) {
                let best = BestEval { step: state.step, eval_loss: l };
                if cfg.save_best {
                    checkpoint::save_best(&run, &model, best)?;
                }
                state.best = Some(best);
            }
        }
        metrics::append(&metrics_path, &record)?;
        let mut scalars = vec![
            ("train/loss", loss),
            ("train/lr", lr),
            ("train/grad_norm", stats.grad_norm),
            ("train/tokens_per_s", record.tokens_per_s),
        ];
        if let Some(l) = eval_loss {
            scalars.push(("eval/loss", l));
        }
        events.scalars(state.step as u64, &scalars)?;
        events.flush()?;
        last_eval = eval_loss.or(last_eval);
        let eval_note = last_eval.map(|l| format!("  eval {l:.4}")).unwrap_or_default();
        bar.advance(1, &format!("loss {loss:.4}{eval_note}  lr {lr:.2e}  {:.0} tok/s", record.tokens_per_s));
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
        eval_loss: last_eval,
        best: state.best,
    };
    if !interrupted && cfg.save_best {
        // Export what validation liked best, not the last step.
        if let Some((best, weights)) = checkpoint::load_best(&run)? {
            model = checkpoint::load_trainable(model, weights, &checkpoint::best_dir(&run))?;
            summary.best = Some(best);
        }
    }
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

/// Mean cross-entropy over the trained tokens of `rows`, on the model without autodiff (no
/// graph is kept, no dropout is drawn).
pub fn eval_loss(model: &Qwen35, rows: &[Row], micro_batch: usize, pad_id: u32, chunk: usize) -> Result<f64> {
    let model = model.valid();
    let (mut sum, mut tokens) = (0.0, 0usize);
    for group in rows.chunks(micro_batch.max(1)) {
        let batch = data::make_batch(&group.iter().collect::<Vec<&Row>>(), pad_id)?;
        if batch.trained == 0 {
            continue;
        }
        let hidden = model.forward_hidden(&batch.inputs, None)?;
        let out = chunked_cross_entropy(hidden, head_weight(&model), &batch.targets, 1.0, chunk);
        sum += out.loss_sum;
        tokens += out.tokens;
    }
    Ok(sum / tokens.max(1) as f64)
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Dropout's seed for micro-batch `k` of step `step`: a resumed run draws the same masks.
fn dropout_seed(seed: u64, step: usize, k: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((step as u64) << 16) ^ k as u64
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    Ok(qwen35::write_atomic(path, &serde_json::to_vec_pretty(value).unwrap_or_default())?)
}
