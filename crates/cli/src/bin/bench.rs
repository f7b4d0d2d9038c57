//! `bench`: throughput figures for the Qwen3.5 decoder and its training step, printed as a
//! Markdown table row and written as JSON.
//!
//! ```text
//! bench forward --size 0.8b --batch 1 --seq 128               # inference forward, all logits
//! bench generate --size 0.8b --batch 8 --seq 64 --new 32      # greedy decoding from the caches
//! bench train   --size 4b --mode lora --batch 4 --seq 2048 --device cuda --dtype bf16
//! bench layer   --size 0.8b --kind gdn --batch 4 --seq 2048    # one decoder layer, fwd + bwd
//! bench rule    --heads 16 --dk 128 --dv 128 --seq 2048        # the chunked gated delta rule
//! bench attention --heads 16 --kv-heads 4 --head-dim 256 --seq 2048  # causal GQA attention
//! ```
//!
//! `benches/train_torch.py` does the same work in PyTorch (transformers + PEFT, with `fla` where
//! it is installed); `benches/cpu.sh` and `benches/gpu.sh` run both sides in one go and print the
//! ratios. Every subcommand times `--iters` runs after `--warmup` untimed ones and reports the
//! median; a device sync closes each timed run. Figures, not asserts: nothing here fails on a
//! slow machine.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::tensor::{DType, Device, Distribution, Tensor};
use clap::{Args, Parser, Subcommand};
use qwen35::gated_delta_rule::{self, RuleInput};
use qwen35::generate::GenerationConfig;
use qwen35::{DeviceChoice, DtypeChoice, Inputs, LayerType, Qwen35, Qwen35Config};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use skillsft_train::data::{Row, make_batch};
use skillsft_train::optim::{AdamW, AdamWConfig, GradAccumulator};
use skillsft_train::{Mode, TrainConfig, trainer};

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "Measure Qwen3.5 throughput on cpu, cuda or wgpu: inference, training steps, single layers, the GDN rule, attention",
    after_help = "Side by side with PyTorch: benches/cpu.sh (this machine's CPU) and benches/gpu.sh (one GPU).\n\
                  MFU counts 6·N FLOPs per token for full fine-tuning and 4·N for LoRA (no weight gradients \
                  for frozen matrices), N = matmul parameters incl. the output head, plus 12·L_attn·T·d_attn \
                  for the attention scores; the GDN's chunk terms are left out (~7% at 0.8B)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    kernels: skillsft_cli::KernelArgs,
}

/// Settings every subcommand shares.
#[derive(Args, Debug, Clone)]
struct Common {
    /// Rows per step.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Tokens per row.
    #[arg(long, default_value_t = 256)]
    seq: usize,
    /// Timed iterations (the median is reported).
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// Untimed iterations first (allocator warm-up, kernel compilation on GPU backends).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// auto (the first CUDA GPU if this binary has `--features cuda` and the driver sees one,
    /// else the CPU), cpu, cuda, cuda:N, wgpu, wgpu-cpu.
    #[arg(long, default_value = "auto")]
    device: String,
    /// f32 or bf16.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Peak dense FLOP/s of the device in TFLOP/s (989 for an H100's bf16), to report MFU.
    #[arg(long)]
    peak_tflops: Option<f64>,
    /// Also write the result as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Full forward (all logits) of a randomly initialised model on random tokens.
    Forward {
        /// Size preset: tiny, 0.8b, 2b, 4b.
        #[arg(long, default_value = "tiny")]
        size: String,
        #[command(flatten)]
        common: Common,
    },
    /// Greedy decoding of a random-init model: one prefill of `--seq` prompt tokens per row,
    /// then `--new` tokens one at a time from the caches, with no end-of-sequence stop (every row
    /// makes all of them). tokens/s counts generated tokens, as the eval's replies cost.
    Generate {
        /// Size preset: tiny, 0.8b, 2b, 4b.
        #[arg(long, default_value = "tiny")]
        size: String,
        /// Tokens generated per row.
        #[arg(long, default_value_t = 32)]
        new: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Training steps (forward, chunked cross-entropy, backward, AdamW) of a random-init model.
    Train {
        /// Size preset: tiny, 0.8b, 2b, 4b.
        #[arg(long, default_value = "tiny")]
        size: String,
        /// lora or full.
        #[arg(long, default_value = "lora")]
        mode: String,
        /// LoRA rank (alpha = 2 × rank, the trainer's default targets).
        #[arg(long, default_value_t = 16)]
        rank: usize,
        /// Recompute activations in the backward pass (Burn's balanced checkpointing).
        #[arg(long)]
        gradient_checkpointing: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Forward + backward of one decoder layer (norms, mixer, MLP) with trainable weights.
    Layer {
        /// Shapes from this size preset.
        #[arg(long, default_value = "0.8b")]
        size: String,
        /// gdn (Gated DeltaNet) or attention (gated softmax attention).
        #[arg(long, default_value = "gdn")]
        kind: String,
        #[command(flatten)]
        common: Common,
    },
    /// Forward + backward of the chunked gated delta rule alone (fla's `chunk_gated_delta_rule`).
    Rule {
        /// Value heads.
        #[arg(long, default_value_t = 16)]
        heads: usize,
        /// Key head width.
        #[arg(long, default_value_t = 128)]
        dk: usize,
        /// Value head width.
        #[arg(long, default_value_t = 128)]
        dv: usize,
        /// auto (what the model runs on this device: the CPU rule kernel on cpu, the
        /// chunked form with the fused solve elsewhere), chunked, or reference (plain ops only).
        #[arg(long, default_value = "auto")]
        form: String,
        #[command(flatten)]
        common: Common,
    },
    /// Causal grouped-query attention alone, forward + backward, f32 inside (the attention
    /// layers' core, without projections, norms or RoPE). TFLOP/s counts 7·b·h·t²·d, the
    /// FlashAttention convention for causal forward + backward.
    Attention {
        /// Query heads.
        #[arg(long, default_value_t = 16)]
        heads: usize,
        /// Key/value heads (query heads share them in groups).
        #[arg(long, default_value_t = 4)]
        kv_heads: usize,
        /// Head width.
        #[arg(long, default_value_t = 256)]
        head_dim: usize,
        /// fused (the kernel the model runs without a cache: nothing t × t stored) or plain
        /// (Burn ops with the scores and probabilities materialised, as the model does with a
        /// cache).
        #[arg(long, default_value = "fused")]
        form: String,
        #[command(flatten)]
        common: Common,
    },
    /// Correctness on this device: the committed fixtures' logits (f32 and bf16) and one LoRA
    /// step from PEFT's adapter, written for benches/gpu_check.py to compare with transformers
    /// + PEFT on the same device. Prints the differences from the committed CPU references.
    Check {
        /// The model fixtures (crates/qwen35/tests/fixtures).
        #[arg(long, default_value = "crates/qwen35/tests/fixtures")]
        fixtures: PathBuf,
        /// The PEFT step fixture (crates/train/tests/fixtures/peft_step).
        #[arg(long, default_value = "crates/train/tests/fixtures/peft_step")]
        peft: PathBuf,
        /// Where the safetensors go.
        #[arg(long, default_value = "target/bench/check")]
        out: PathBuf,
        /// auto, cpu, cuda, cuda:N, wgpu, wgpu-cpu.
        #[arg(long, default_value = "auto")]
        device: String,
        /// Also run the logits in bf16 (default: on devices that compute bf16).
        #[arg(long)]
        bf16: Option<bool>,
    },
}

fn main() -> std::process::ExitCode {
    skillsft_cli::main_with(|| run(Cli::parse()))
}

fn run(mut cli: Cli) -> Result<()> {
    cli.kernels.apply()?;
    // Resolve `--device auto` once, so the tables name the device that ran.
    match &mut cli.command {
        Command::Forward { common, .. }
        | Command::Generate { common, .. }
        | Command::Train { common, .. }
        | Command::Layer { common, .. }
        | Command::Rule { common, .. }
        | Command::Attention { common, .. } => common.device = skillsft_cli::pick_device(&common.device)?.to_string(),
        Command::Check { .. } => {}
    }
    match cli.command {
        Command::Forward { size, common } => forward(&size, &common),
        Command::Generate { size, new, common } => generate(&size, new, &common),
        Command::Train { size, mode, rank, gradient_checkpointing, common } => {
            train(&size, &mode, rank, gradient_checkpointing, &common)
        }
        Command::Layer { size, kind, common } => layer(&size, &kind, &common),
        Command::Rule { heads, dk, dv, form, common } => rule(heads, dk, dv, &form, &common),
        Command::Attention { heads, kv_heads, head_dim, form, common } => {
            attention(heads, kv_heads, head_dim, &form, &common)
        }
        Command::Check { fixtures, peft, out, device, bf16 } => {
            let choice = skillsft_cli::pick_device(&device)?;
            let mut dtypes = vec![DType::F32];
            if bf16.unwrap_or(choice.prefers_bf16()?) {
                dtypes.push(DType::BF16);
            }
            skillsft_cli::check::run(&fixtures, &peft, &out, &choice.device()?, &dtypes)
        }
    }
}

fn preset(size: &str) -> Result<Qwen35Config> {
    Qwen35Config::preset(size)
        .with_context(|| format!("unknown --size {size:?}; use one of {:?}", Qwen35Config::PRESETS))
}

fn device_and_dtype(c: &Common) -> Result<(Device, DType)> {
    Ok((c.device.parse::<DeviceChoice>()?.device()?, c.dtype.parse::<DtypeChoice>()?.dtype()))
}

fn random_ids(n: usize, vocab: usize, seed: u64) -> Vec<i64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0..vocab as i64)).collect()
}

/// Runs `f` `warmup` times, then `iters` times, and returns the sorted timed durations (s).
fn time_runs(c: &Common, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    if c.iters == 0 {
        bail!("--iters must be at least 1");
    }
    for _ in 0..c.warmup {
        f()?;
    }
    let mut times = Vec::with_capacity(c.iters);
    for _ in 0..c.iters {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Matmul parameters one token passes through: every layer's projections and the output head
/// (the embedding lookup is not a matmul; norms, the conv and the per-head scalars are not
/// counted). `benches/train_torch.py` counts the same way.
fn matmul_params(cfg: &Qwen35Config) -> usize {
    let h = cfg.hidden_size;
    let layers: usize = cfg
        .layer_types
        .iter()
        .map(|lt| {
            3 * h * cfg.intermediate_size
                + match lt {
                    LayerType::FullAttention => {
                        let (q, kv, d) = (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim);
                        h * 2 * q * d + 2 * h * kv * d + q * d * h
                    }
                    LayerType::LinearAttention => {
                        let vdim = cfg.linear_num_value_heads * cfg.linear_value_head_dim;
                        h * cfg.linear_conv_dim() + h * vdim + 2 * h * cfg.linear_num_value_heads + vdim * h
                    }
                }
        })
        .sum();
    layers + cfg.vocab_size * h
}

/// Training FLOPs per token (see `--help`).
fn train_flops_per_token(cfg: &Qwen35Config, seq: usize, full: bool) -> f64 {
    let n = matmul_params(cfg) as f64;
    let attn_layers = cfg.layer_types.iter().filter(|t| **t == LayerType::FullAttention).count() as f64;
    let d_attn = (cfg.num_attention_heads * cfg.head_dim) as f64;
    (if full { 6.0 } else { 4.0 }) * n + 12.0 * attn_layers * seq as f64 * d_attn
}

/// Prints the row and writes the JSON, with the fields every subcommand shares.
fn report(
    c: &Common,
    what: &str,
    label: &str,
    times: &[f64],
    tokens: usize,
    flops: Option<f64>,
    mut extra: Value,
) -> Result<()> {
    // `times` is sorted; for an even count the mean of the middle two, as Python's
    // `statistics.median` on the PyTorch side (the upper one alone favoured PyTorch on 2-run rows).
    let mid = times.len() / 2;
    let median = if times.len() % 2 == 1 { times[mid] } else { (times[mid - 1] + times[mid]) / 2.0 };
    let tokens_per_s = tokens as f64 / median;
    let tflops = flops.map(|f| f / median / 1e12);
    let mfu = tflops.zip(c.peak_tflops).map(|(t, p)| t / p);
    let peak = peak_rss_mib();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let fmt = |x: Option<f64>, scale: f64, digits: usize| x.map_or("-".into(), |v| format!("{:.*}", digits, v * scale));
    println!("| impl | work | device | dtype | batch × seq | median s | tokens/s | TFLOP/s | MFU | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| skillsft (burn) | {label} | {} | {} | {} × {} | {median:.4} | {tokens_per_s:.1} | {} | {} | {} |",
        c.device,
        c.dtype,
        c.batch,
        c.seq,
        fmt(tflops, 1.0, 3),
        mfu.map_or("-".into(), |m| format!("{:.1}%", m * 100.0)),
        fmt(peak, 1.0, 0),
    );
    eprintln!("{threads} hardware threads; sorted times {times:?}");
    if let Some(path) = &c.json {
        let mut value = json!({
            "impl": "skillsft", "bench": what, "label": label, "device": c.device, "dtype": c.dtype,
            "batch": c.batch, "seq": c.seq, "iters": c.iters, "warmup": c.warmup, "median_s": median,
            "times_s": times, "tokens_per_s": tokens_per_s, "tflops": tflops, "mfu": mfu,
            "peak_rss_mib": peak, "threads": threads,
            "rayon_threads": std::env::var("RAYON_NUM_THREADS").ok(),
        });
        if let (Value::Object(base), Value::Object(more)) = (&mut value, extra.take()) {
            base.extend(more);
        }
        std::fs::write(path, serde_json::to_string_pretty(&value)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn forward(size: &str, c: &Common) -> Result<()> {
    let cfg = preset(size)?;
    let (dev, dt) = device_and_dtype(c)?;
    let t0 = Instant::now();
    let model = Qwen35::random(&cfg, 0, &dev, dt)?;
    let init_s = t0.elapsed().as_secs_f64();
    let inputs = Inputs::new(random_ids(c.batch * c.seq, cfg.vocab_size, 0), c.batch, c.seq)?;
    let times = time_runs(c, || {
        let logits: Tensor<3> = model.logits(model.forward_hidden(&inputs, None)?);
        let _: f32 = logits.sum().into_scalar(); // host sync
        Ok(())
    })?;
    let flops = 2.0 * matmul_params(&cfg) as f64 * (c.batch * c.seq) as f64;
    eprintln!("model init {init_s:.1} s");
    report(
        c,
        "forward",
        &format!("forward {size}"),
        &times,
        c.batch * c.seq,
        Some(flops),
        json!({"size": size, "params": cfg.num_params()}),
    )
}

fn generate(size: &str, new: usize, c: &Common) -> Result<()> {
    let cfg = preset(size)?;
    let (dev, dt) = device_and_dtype(c)?;
    let model = Qwen35::random(&cfg, 0, &dev, dt)?;
    let prompts: Vec<Vec<u32>> = (0..c.batch)
        .map(|row| random_ids(c.seq, cfg.vocab_size, row as u64).into_iter().map(|id| id as u32).collect())
        .collect();
    let gen_cfg = GenerationConfig { max_new_tokens: new, ..GenerationConfig::default() };
    let times = time_runs(c, || {
        let out = qwen35::generate::generate(&model, &prompts, &gen_cfg, |_| {})?;
        if out.iter().any(|row| row.len() != new) {
            bail!("a row stopped early");
        }
        Ok(())
    })?;
    report(
        c,
        "generate",
        &format!("generate {size}"),
        &times,
        c.batch * new,
        None,
        json!({"size": size, "new": new, "params": cfg.num_params()}),
    )
}

fn train(size: &str, mode: &str, rank: usize, checkpointing: bool, c: &Common) -> Result<()> {
    let cfg = preset(size)?;
    let mut tc = TrainConfig {
        size: size.into(),
        random_init: true,
        mode: match mode {
            "lora" => Mode::Lora,
            "full" => Mode::Full,
            other => bail!("unknown --mode {other:?}; use lora or full"),
        },
        device: c.device.parse()?,
        dtype: Some(c.dtype.parse()?),
        gradient_checkpointing: checkpointing,
        seq_len: c.seq,
        micro_batch: c.batch,
        grad_accum: 1,
        ..TrainConfig::default()
    };
    tc.lora.rank = rank;
    tc.lora.alpha = 2.0 * rank as f64;
    tc.lora.dropout = 0.0;
    let device = trainer::training_device(&tc)?;
    let t0 = Instant::now();
    let (model, _) = trainer::build_model(&tc, None, &device)?;
    let init_s = t0.elapsed().as_secs_f64();
    let trainable = trainer::trainable_params(&model);
    let mut model = Some(model);
    // Random rows of exactly `seq` tokens, every target trained (the heaviest loss).
    let ids = random_ids(c.batch * c.seq, cfg.vocab_size, 1);
    let rows: Vec<Row> = ids
        .chunks(c.seq)
        .map(|r| Row { ids: r.iter().map(|&i| i as u32).collect(), labels: r.to_vec(), segments: None })
        .collect();
    let batch = make_batch(&rows.iter().collect::<Vec<_>>(), 0)?;
    let mut opt = AdamW::new(AdamWConfig::default());
    let mut losses = Vec::new();
    let times = time_runs(c, || {
        let current = model.take().context("model lost after a failed step")?;
        let (grads, out) = trainer::micro_step(&current, &batch, batch.trained.max(1) as f64, tc.loss_chunk)?;
        let mut acc = GradAccumulator::default();
        acc.add(&current, &grads);
        let (next, _) = opt.step(current, acc, 1e-5);
        model = Some(next);
        device.sync().map_err(|e| anyhow::anyhow!("device sync failed: {e:?}"))?;
        losses.push(out.loss_sum / out.tokens.max(1) as f64);
        Ok(())
    })?;
    let full = matches!(tc.mode, Mode::Full);
    let tokens = c.batch * c.seq;
    let flops = train_flops_per_token(&cfg, c.seq, full) * tokens as f64;
    eprintln!("model init {init_s:.1} s; {trainable} trainable parameters; losses {losses:?}");
    report(
        c,
        "train",
        &format!("train {size} {mode}{}", if full { String::new() } else { format!(" r{rank}") }),
        &times,
        tokens,
        Some(flops),
        json!({"size": size, "mode": mode, "rank": rank, "trainable_params": trainable, "params": cfg.num_params(),
               "gradient_checkpointing": checkpointing, "flops_per_step": flops, "losses": losses}),
    )
}

fn layer(size: &str, kind: &str, c: &Common) -> Result<()> {
    let mut cfg = preset(size)?;
    let layer_type = match kind {
        "gdn" | "linear_attention" => LayerType::LinearAttention,
        "attention" | "full_attention" => LayerType::FullAttention,
        other => bail!("unknown --kind {other:?}; use gdn or attention"),
    };
    cfg.layer_types = vec![layer_type];
    cfg.vocab_size = 64; // the embedding and head are not part of the timed work
    let (dev, dt) = device_and_dtype(c)?;
    let device = dev.autodiff();
    let model = Qwen35::random(&cfg, 0, &device, dt)?;
    let inputs = Inputs::new(vec![0; c.batch * c.seq], c.batch, c.seq)?;
    let x0 = Tensor::<3>::random([c.batch, c.seq, cfg.hidden_size], Distribution::Normal(0.0, 1.0), &device).cast(dt);
    let times = time_runs(c, || {
        let x = x0.clone().detach().require_grad();
        let y = model.layer_forward(0, x.clone(), &inputs)?;
        let grads = y.cast(DType::F32).sum().backward();
        let gx = x.grad(&grads).context("no gradient reached the layer input")?;
        let _: f32 = gx.sum().into_scalar(); // host sync
        Ok(())
    })?;
    let tokens = c.batch * c.seq;
    let flops = train_flops_per_token(&cfg, c.seq, true) - 6.0 * (cfg.vocab_size * cfg.hidden_size) as f64;
    report(
        c,
        "layer",
        &format!("layer {size} {kind}"),
        &times,
        tokens,
        Some(flops * tokens as f64),
        json!({"size": size, "kind": kind}),
    )
}

fn rule(heads: usize, dk: usize, dv: usize, form: &str, c: &Common) -> Result<()> {
    let (dev, _) = device_and_dtype(c)?;
    let device = dev.autodiff();
    let form = match form {
        "auto" if qwen35::kernels::has_cpu_kernels(&device) => "cpu-kernel",
        "auto" => "chunked",
        "chunked" | "reference" => form,
        other => bail!("unknown --form {other:?}; use auto, chunked or reference"),
    };
    let (b, t) = (c.batch, c.seq);
    let normal = |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let unit = |x: Tensor<4>| {
        let norm = x.clone().powf_scalar(2.0).sum_dim(3).sqrt() + 1e-6;
        x / norm
    };
    let q0 = unit(normal([b, heads, t, dk]));
    let k0 = unit(normal([b, heads, t, dk]));
    let v0 = normal([b, heads, t, dv]);
    let g0 = Tensor::<3>::random([b, heads, t], Distribution::Uniform(-0.1, -0.001), &device);
    let beta0 = Tensor::<3>::random([b, heads, t], Distribution::Uniform(0.05, 0.95), &device);
    let times = time_runs(c, || {
        let leaf4 = |x: &Tensor<4>| x.clone().detach().require_grad();
        let leaf3 = |x: &Tensor<3>| x.clone().detach().require_grad();
        let (q, k, v, g, beta) = (leaf4(&q0), leaf4(&k0), leaf4(&v0), leaf3(&g0), leaf3(&beta0));
        let out = match form {
            "cpu-kernel" => qwen35::kernels::gated_delta_rule(q.clone(), k, v, g, beta, Tensor::zeros([b, t], &device)),
            _ => {
                let input = RuleInput { q: q.clone(), k, v, g, beta, initial_state: None, segments: None };
                if form == "chunked" {
                    gated_delta_rule::chunked(input).0
                } else {
                    gated_delta_rule::chunked_reference(input).0
                }
            }
        };
        let grads = out.sum().backward();
        let _: f32 = q.grad(&grads).context("no gradient reached q")?.sum().into_scalar();
        Ok(())
    })?;
    report(
        c,
        "rule",
        &format!("GDN rule h{heads} dk{dk} dv{dv} ({form})"),
        &times,
        b * t,
        None,
        json!({"heads": heads, "dk": dk, "dv": dv, "chunk": gated_delta_rule::CHUNK, "form": form}),
    )
}

fn attention(heads: usize, kv_heads: usize, d: usize, form: &str, c: &Common) -> Result<()> {
    if kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
        bail!("--heads {heads} must be a multiple of --kv-heads {kv_heads}");
    }
    if !matches!(form, "fused" | "plain") {
        bail!("unknown --form {form:?}; use fused or plain");
    }
    let (dev, dtype) = device_and_dtype(c)?;
    let device = dev.autodiff();
    let (b, t) = (c.batch, c.seq);
    // Inputs in --dtype, as the attention layers hand them over; the kernel computes in f32.
    let normal = |h: usize| Tensor::<4>::random([b, h, t, d], Distribution::Normal(0.0, 1.0), &device).cast(dtype);
    let (q0, k0, v0) = (normal(heads), normal(kv_heads), normal(kv_heads));
    let groups = Tensor::<2>::zeros([b, t], &device); // one example per row
    let causal = Tensor::<2, burn::tensor::Bool>::tril_mask([t, t], 0, &device).unsqueeze::<4>();
    let times = time_runs(c, || {
        let leaf = |x: &Tensor<4>| x.clone().detach().require_grad();
        let (q, k, v) = (leaf(&q0), leaf(&k0), leaf(&v0));
        let out = if form == "fused" {
            qwen35::kernels::causal_attention(q.clone(), k, v, groups.clone())
        } else {
            let rep = heads / kv_heads;
            let expand =
                |x: Tensor<4>| x.unsqueeze_dim::<5>(2).expand([b, kv_heads, rep, t, d]).reshape([b, heads, t, d]);
            let to_f32 = |x: Tensor<4>| x.cast(DType::F32); // as the model's plain path
            let scores = to_f32(q.clone()).matmul(expand(to_f32(k)).swap_dims(2, 3)) * (d as f64).powf(-0.5);
            burn::tensor::activation::softmax(scores.mask_fill(causal.clone(), f32::NEG_INFINITY), 3)
                .matmul(expand(to_f32(v)))
        };
        let grads = out.sum().backward();
        let _: f32 = q.grad(&grads).context("no gradient reached q")?.sum().into_scalar();
        Ok(())
    })?;
    let flops = 7.0 * (b * heads * t * t * d) as f64;
    report(
        c,
        "attention",
        &format!("attention h{heads}/{kv_heads} d{d} ({form})"),
        &times,
        b * t,
        Some(flops),
        json!({"heads": heads, "kv_heads": kv_heads, "head_dim": d, "form": form}),
    )
}
