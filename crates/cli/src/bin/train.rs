//! `train`: supervised fine-tuning of Qwen3.5 on the skills corpus.
//!
//! ```text
//! train --size 4b --data data/corpus.jsonl --device cuda            # LoRA r16, the study run
//! train --size tiny --random-init --data examples.jsonl --device cpu # no download
//! train --config study.toml --resume                                 # continue after Ctrl-C
//! train merge --base DIR --adapter runs/4b-lora/adapter --out merged/
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use qwen35::peft::PeftLayout;
use qwen35::{DeviceChoice, DtypeChoice};
use skillsft_data::formats::DataFormat;
use skillsft_data::sft::Truncation;
use skillsft_hub::{self as hub, DatasetSpec, DownloadOptions};
use skillsft_train::{Mode, RunOptions, TrainConfig, train};

#[derive(Parser, Debug)]
#[command(
    name = "train",
    version,
    about = "Fine-tune Qwen3.5 (LoRA or full) on the skills SFT corpus",
    long_about = "Fine-tune Qwen3.5 (LoRA or full) on the skills SFT corpus.\n\n\
        Settings come from the defaults, then --config FILE.toml (keys = the long flag names with \
        '_' for '-', LoRA settings in a [lora] table), then the flags given. The run directory \
        (--out, default runs/<size>-<mode>) receives config.json, data_report.json, metrics.jsonl, \
        loss.svg, checkpoints/ and, at the end, adapter/ (PEFT layout) or model/ (full weights).\n\n\
        Ctrl-C finishes the current step, writes a checkpoint and exits; --resume continues it \
        exactly.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    kernels: skillsft_cli::KernelArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fold a PEFT LoRA adapter into its base and write full weights in the Hugging Face layout.
    Merge {
        /// Base model directory (config.json + *.safetensors).
        #[arg(long)]
        base: PathBuf,
        /// Adapter directory (adapter_config.json + adapter_model.safetensors).
        #[arg(long)]
        adapter: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// TOML file with any of the settings below.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Model size: 0.8b, 2b, 4b (Hugging Face Qwen/Qwen3.5-*), or tiny with --random-init.
    #[arg(long)]
    size: Option<String>,
    /// Model directory; otherwise the Hugging Face cache, then a download.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Train a randomly initialised model of --size (no download).
    #[arg(long)]
    random_init: bool,
    /// Never download: fail with instructions when the model is not cached.
    #[arg(long)]
    offline: bool,
    /// Training data: files (.jsonl, .json, .parquet), directories, or Hugging Face datasets
    /// `hf:ORG/NAME[@REVISION][:SPLIT]` (hub cache, else downloaded; split train by default),
    /// repeated or comma-separated. Rows may be conversations (`messages`, ShareGPT
    /// `conversations`), `prompt`/`completion`, plain `text`, or tokenized (`input_ids` +
    /// `labels`) [default: data/corpus.jsonl].
    #[arg(long, value_delimiter = ',')]
    data: Option<Vec<PathBuf>>,
    /// auto (detect per row), messages, sharegpt, prompt-completion, text or tokenized.
    #[arg(long)]
    data_format: Option<String>,
    /// Count and skip rows that fit no format (listed in data_report.json) instead of stopping.
    #[arg(long)]
    skip_bad_rows: bool,
    /// Validation data (same formats as --data); its loss is logged as eval_loss.
    #[arg(long, value_delimiter = ',')]
    eval_data: Option<Vec<PathBuf>>,
    /// Hold out this share of the training examples for validation (seeded by --seed).
    #[arg(long)]
    val_split: Option<f64>,
    /// Validation loss every N optimizer steps as well as at the end [default: 0, only at the end].
    #[arg(long)]
    eval_every: Option<usize>,
    /// Keep the weights with the lowest validation loss (best/) and export those.
    #[arg(long)]
    save_best: bool,
    /// Run directory [default: runs/SIZE-MODE].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in --out from its latest checkpoint.
    #[arg(long)]
    resume: bool,
    /// lora or full.
    #[arg(long)]
    mode: Option<String>,
    /// LoRA rank [default: 16].
    #[arg(long)]
    lora_rank: Option<usize>,
    /// LoRA alpha [default: 32].
    #[arg(long)]
    lora_alpha: Option<f64>,
    /// LoRA dropout [default: 0.05].
    #[arg(long)]
    lora_dropout: Option<f64>,
    /// Scale by alpha/sqrt(r) (rsLoRA) instead of alpha/r.
    #[arg(long)]
    rslora: bool,
    /// LoRA targets, comma-separated projection names or all-linear
    /// [default: q_proj,k_proj,v_proj,o_proj,in_proj_qkv,in_proj_z,out_proj,gate_proj,up_proj,down_proj].
    #[arg(long, value_delimiter = ',')]
    lora_targets: Option<Vec<String>>,
    /// Peak learning rate [default: 2e-4 for LoRA, 1e-5 for full].
    #[arg(long)]
    lr: Option<f64>,
    /// Warmup share of the steps [default: 0.05].
    #[arg(long)]
    warmup_ratio: Option<f64>,
    /// AdamW weight decay [default: 0].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Global gradient-norm clip, 0 = off [default: 1.0].
    #[arg(long)]
    max_grad_norm: Option<f64>,
    /// Epochs [default: 3].
    #[arg(long)]
    epochs: Option<usize>,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    max_steps: Option<usize>,
    /// Tokens per row [default: 2048].
    #[arg(long)]
    seq_len: Option<usize>,
    /// Rows per forward pass [default: 1].
    #[arg(long)]
    micro_batch: Option<usize>,
    /// Micro-batches per optimizer step [default: 8].
    #[arg(long)]
    grad_accum: Option<usize>,
    /// One example per row instead of packing several.
    #[arg(long)]
    no_packing: bool,
    /// drop or right: what happens to examples longer than --seq-len [default: drop].
    #[arg(long)]
    truncation: Option<Truncation>,
    /// Train without the teacher's reasoning block.
    #[arg(long)]
    no_thinking: bool,
    /// Seed of data order and dropout [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Seed of the random init and of the LoRA A matrices [default: 0].
    #[arg(long)]
    init_seed: Option<u64>,
    /// Checkpoint every N steps, 0 = only at the end [default: 25].
    #[arg(long)]
    save_every: Option<usize>,
    /// Checkpoints kept [default: 2].
    #[arg(long)]
    keep_checkpoints: Option<usize>,
    /// Trained tokens per cross-entropy chunk [default: 1024].
    #[arg(long)]
    loss_chunk: Option<usize>,
    /// auto (the first CUDA GPU if this binary has `--features cuda` and the driver sees one,
    /// else the CPU; the run prints which), cpu, cuda, cuda:N, wgpu, wgpu-cpu [default: auto].
    #[arg(long)]
    device: Option<DeviceChoice>,
    /// f32 or bf16 [default: bf16 on GPUs, f32 on CPU].
    #[arg(long)]
    dtype: Option<DtypeChoice>,
    /// Recompute elementwise activations in backward (less memory, more time).
    #[arg(long)]
    gradient_checkpointing: bool,
    /// PEFT key layout of the exported adapter: text (AutoModelForCausalLM) or vlm.
    #[arg(long)]
    peft_layout: Option<PeftLayout>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn resolve_config(a: &RunArgs) -> Result<TrainConfig> {
    let mut c = match &a.config {
        Some(p) => TrainConfig::from_toml(p)?,
        None => TrainConfig::default(),
    };
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = a.$field.clone() { c.$field = v; } )* };
    }
    set!(size, data, out, lr, warmup_ratio, weight_decay, max_grad_norm, epochs, seq_len, micro_batch, grad_accum);
    set!(truncation, seed, init_seed, save_every, keep_checkpoints, loss_chunk, device, peft_layout);
    set!(eval_data, val_split, eval_every);
    if let Some(f) = &a.data_format {
        c.data_format = DataFormat::parse_or_auto(f).map_err(anyhow::Error::msg)?;
    }
    c.save_best |= a.save_best;
    c.skip_bad_rows |= a.skip_bad_rows;
    if let Some(d) = a.dtype {
        c.dtype = Some(d);
    }
    if let Some(m) = &a.model {
        c.model = Some(m.clone());
    }
    if a.max_steps.is_some() {
        c.max_steps = a.max_steps;
    }
    if let Some(m) = &a.mode {
        c.mode = match m.as_str() {
            "lora" => Mode::Lora,
            "full" => Mode::Full,
            other => bail!("--mode {other:?}: use lora or full"),
        };
        if c.mode == Mode::Full && a.lr.is_none() && a.config.is_none() {
            c.lr = 1e-5;
        }
    }
    c.random_init |= a.random_init;
    c.lora.rslora |= a.rslora;
    c.packing &= !a.no_packing;
    c.thinking &= !a.no_thinking;
    c.gradient_checkpointing |= a.gradient_checkpointing;
    if let Some(r) = a.lora_rank {
        c.lora.rank = r;
    }
    if let Some(x) = a.lora_alpha {
        c.lora.alpha = x;
    }
    if let Some(x) = a.lora_dropout {
        c.lora.dropout = x;
    }
    if let Some(t) = &a.lora_targets {
        c.lora.targets = t.clone();
    }
    if c.out.as_os_str().is_empty() {
        let mode = if c.mode == Mode::Lora { "lora" } else { "full" };
        c.out = PathBuf::from(format!("runs/{}-{mode}", c.size));
    }
    c.validate()?;
    Ok(c)
}

/// Replaces each `hf:ORG/NAME[@REV][:SPLIT]` entry by the split's files in the hub cache
/// (downloaded first unless offline); other paths are kept as given.
fn resolve_data(
    paths: &[PathBuf],
    offline: bool,
    progress: &dyn skillsft_data::progress::Progress,
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        match p.to_str().filter(|s| hub::is_hf_spec(s)) {
            Some(s) => {
                let spec = DatasetSpec::parse(s)?;
                let files = hub::resolve_dataset(&spec, &DownloadOptions::from_env(&spec.repo_id), !offline, progress)?;
                progress.note(&format!("{s}: {} file(s) in {}", files.len(), hub::cache_dir().display()));
                out.extend(files);
            }
            None => out.push(p.clone()),
        }
    }
    Ok(out)
}

fn run(cli: Cli) -> Result<()> {
    cli.kernels.apply()?;
    if let Some(Command::Merge { base, adapter, out }) = cli.command {
        let report = skillsft_train::merge::merge_adapter(&base, &adapter, &out)
            .with_context(|| format!("merging {} into {}", adapter.display(), base.display()))?;
        eprintln!(
            "merged {} projections ({} tensors copied, {} shard(s)) into {}",
            report.merged,
            report.copied,
            report.shards,
            out.display()
        );
        return Ok(());
    }
    let args = cli.run;
    let progress = skillsft_cli::Bars::shared(args.quiet);
    let mut cfg = resolve_config(&args)?;
    cfg.device = skillsft_cli::pick_device(&cfg.device.to_string())?;
    let offline = args.offline || hub::offline_from_env();
    cfg.data = resolve_data(&cfg.data, offline, progress.as_ref())?;
    cfg.eval_data = resolve_data(&cfg.eval_data, offline, progress.as_ref())?;
    let (model_dir, base_name) = if cfg.random_init {
        (None, None)
    } else {
        let repo = hub::repo_for_size(&cfg.size).unwrap_or_default();
        let opts = DownloadOptions::from_env(repo);
        let dir = hub::resolve_model(cfg.model.as_deref(), &cfg.size, &opts, !offline, progress.as_ref())?;
        let name = if cfg.model.is_some() { dir.display().to_string() } else { repo.to_string() };
        (Some(dir), Some(name))
    };
    let stop = skillsft_cli::stop_on_ctrl_c("Ctrl-C: finishing this step and writing a checkpoint")?;
    eprintln!(
        "training {} ({:?}) on {} -> {}{}",
        cfg.model.as_ref().map_or_else(|| cfg.size.clone(), |m| m.display().to_string()),
        cfg.mode,
        cfg.data.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        cfg.out.display(),
        if args.resume { " (resume)" } else { "" }
    );
    let opts = RunOptions {
        model_dir,
        base_name,
        resume: args.resume,
        progress: progress.clone(),
        stop: Some(stop),
        stop_after: None,
    };
    let summary = train(&cfg, &opts)?;
    let d = &summary.data;
    let formats: Vec<String> = d.formats.iter().map(|(f, n)| format!("{n} {f}")).collect();
    eprintln!(
        "data: {} rows in {} file(s) ({}); {} examples ({} tokens, {} trained); dropped {} too long, truncated {}, skipped {} without trained tokens",
        d.lines,
        d.files,
        formats.join(", "),
        d.examples,
        d.tokens,
        d.trained_tokens,
        d.dropped_too_long,
        d.truncated,
        d.no_trained_tokens
    );
    if d.skipped_bad_rows > 0 {
        eprintln!("skipped {} bad rows (--skip-bad-rows), first: {}", d.skipped_bad_rows, d.bad_rows.join("; "));
    }
    let last = summary.records.last();
    let tok_s: f64 = {
        let r: Vec<_> = summary.records.iter().collect();
        let secs: f64 = r.iter().map(|x| x.tokens as f64 / x.tokens_per_s.max(1e-9)).sum();
        r.iter().map(|x| x.tokens as f64).sum::<f64>() / secs.max(1e-9)
    };
    eprintln!(
        "step {}/{}  loss {:.4}  {:.0} tokens/s  trainable params {}",
        summary.step,
        summary.total_steps,
        last.map_or(f64::NAN, |r| r.loss),
        tok_s,
        summary.trainable_params
    );
    if let Some(l) = summary.eval_loss {
        eprintln!("validation loss {l:.4} ({} examples)", d.eval_examples);
    }
    if let Some(b) = &summary.best {
        let exported = if cfg.save_best { ", exported" } else { "" };
        eprintln!("best validation loss {:.4} at step {}{exported}", b.eval_loss, b.step);
    }
    if summary.interrupted {
        eprintln!("stopped early; continue with the same flags plus --resume");
    }
    if let Some(a) = &summary.adapter_dir {
        eprintln!("adapter (PEFT): {}", a.display());
    }
    if let Some(m) = &summary.model_dir {
        eprintln!("weights: {}", m.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    skillsft_cli::main_with(|| run(Cli::parse()))
}
