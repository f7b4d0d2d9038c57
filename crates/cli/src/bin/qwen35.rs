//! `qwen35`: run the Qwen3.5 decoder from the command line.
//!
//! ```text
//! qwen35 info     --model DIR
//! qwen35 logits   --model DIR --input IN.safetensors --out OUT.safetensors
//! qwen35 generate --model DIR --prompt "Hello" --max-new-tokens 32
//! qwen35 generate --model DIR --adapter runs/0.8b-lora/adapter --prompt "Hello"
//! qwen35 generate --size tiny --random-init --prompt-ids 1,2,3
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::tensor::{DType, Device, Tensor};
use clap::{Args, Parser, Subcommand};
use qwen35::checkpoint::read_int_tensor;
use qwen35::{DtypeChoice, GenerationConfig, Inputs, Qwen35, Qwen35Config, generate};

#[derive(Parser, Debug)]
#[command(name = "qwen35", version, about = "Run the Qwen3.5 dense text decoder (Burn) on cpu, cuda or wgpu")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    kernels: skillsft_cli::KernelArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the resolved config, the layer pattern and the parameter count.
    Info(ModelArgs),
    /// Full-sequence logits for `input_ids` [B, T] read from a safetensors file.
    Logits {
        #[command(flatten)]
        model: ModelArgs,
        /// safetensors file with an integer tensor `input_ids` [B, T] (other tensors are ignored).
        #[arg(long)]
        input: PathBuf,
        /// Where to write the f32 tensor `logits` [B, T, V].
        #[arg(long)]
        out: PathBuf,
    },
    /// Continue a prompt; prints the text (when the model has a tokenizer) and, last, a JSON
    /// line `{"generated_ids": [...]}`.
    Generate {
        #[command(flatten)]
        model: ModelArgs,
        /// Prompt text (needs tokenizer.json in the model directory).
        #[arg(long, conflicts_with = "prompt_ids")]
        prompt: Option<String>,
        /// Prompt as comma-separated token ids, e.g. 9419,11,1814.
        #[arg(long, value_delimiter = ',')]
        prompt_ids: Option<Vec<u32>>,
        /// Tokens to generate at most.
        #[arg(long, default_value_t = 32)]
        max_new_tokens: usize,
        /// 0 = greedy; otherwise sampling temperature.
        #[arg(long, default_value_t = 0.0)]
        temperature: f32,
        /// Sample only from the k most likely tokens (0 = all).
        #[arg(long, default_value_t = 0)]
        top_k: usize,
        /// Nucleus sampling mass (1.0 = off).
        #[arg(long, default_value_t = 1.0)]
        top_p: f32,
        /// Sampler seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Keep generating past end-of-sequence tokens.
        #[arg(long)]
        ignore_eos: bool,
    },
}

/// Which model to run and where.
#[derive(Args, Debug)]
struct ModelArgs {
    /// Hugging Face model directory (config.json + *.safetensors [+ tokenizer.json]).
    /// Without it: `--random-init --size S` (or, for `info`, just `--size S`).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Size preset for --random-init: tiny, 0.8b, 2b or 4b.
    #[arg(long, default_value = "tiny")]
    size: String,
    /// Build a randomly initialised model of --size instead of loading weights (no download).
    #[arg(long)]
    random_init: bool,
    /// Seed of the random initialisation.
    #[arg(long, default_value_t = 0)]
    init_seed: u64,
    /// auto (the first CUDA GPU if this binary has `--features cuda` and the driver sees one,
    /// else the CPU), cpu, cuda, cuda:N, wgpu or wgpu-cpu (each needs its cargo feature).
    #[arg(long, default_value = "auto")]
    device: String,
    /// f32 or bf16.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// A PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors) to run
    /// on top of the base, e.g. `runs/0.8b-lora/adapter` from `train`.
    #[arg(long)]
    adapter: Option<PathBuf>,
}

struct Loaded {
    model: Qwen35,
    config: Qwen35Config,
    dir: Option<PathBuf>,
}

fn load(args: &ModelArgs) -> Result<Loaded> {
    let device: Device = skillsft_cli::pick_device(&args.device)?.device()?;
    let dtype: DType = args.dtype.parse::<DtypeChoice>()?.dtype();
    let start = Instant::now();
    let loaded = match (&args.model, args.random_init) {
        (Some(dir), false) => {
            let (model, config) = Qwen35::from_pretrained(dir, &device, dtype)
                .with_context(|| format!("loading model from {}", dir.display()))?;
            Loaded { model, config, dir: Some(dir.clone()) }
        }
        (_, true) => {
            let config = match &args.model {
                Some(dir) => Qwen35Config::from_file(dir.join("config.json"))?,
                None => Qwen35Config::preset(&args.size).with_context(|| {
                    format!("unknown --size {:?}: use one of {:?}", args.size, Qwen35Config::PRESETS)
                })?,
            };
            let model = Qwen35::random(&config, args.init_seed, &device, dtype)?;
            Loaded { model, config, dir: None }
        }
        (None, false) => bail!("give --model DIR, or --random-init with --size"),
    };
    let mut loaded = loaded;
    if let Some(adapter) = &args.adapter {
        let cfg = loaded
            .model
            .load_peft(adapter)
            .with_context(|| format!("loading LoRA adapter from {}", adapter.display()))?;
        tracing::info!(rank = cfg.rank, alpha = cfg.alpha, "adapter attached");
    }
    tracing::info!(elapsed_s = start.elapsed().as_secs_f64(), "model ready");
    Ok(loaded)
}

fn tokenizer(dir: Option<&Path>) -> Result<Option<tokenizers::Tokenizer>> {
    let Some(path) = dir.map(|d| d.join("tokenizer.json")).filter(|p| p.exists()) else {
        return Ok(None);
    };
    let tok =
        tokenizers::Tokenizer::from_file(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    Ok(Some(tok))
}

fn run(cli: Cli) -> Result<()> {
    cli.kernels.apply()?;
    match cli.command {
        Command::Info(args) => {
            let cfg = match &args.model {
                Some(dir) => Qwen35Config::from_file(dir.join("config.json"))?,
                None => Qwen35Config::preset(&args.size).with_context(|| format!("unknown --size {:?}", args.size))?,
            };
            println!("{}", serde_json::to_string_pretty(&cfg)?);
            println!("layers: {} ({})", cfg.num_layers(), cfg.layer_pattern());
            println!("  L = Gated DeltaNet (linear attention), F = gated full attention");
            println!("rotary dims: {} of {}", cfg.rotary_dim(), cfg.head_dim);
            println!("parameters: {} ({:.3} B)", cfg.num_params(), cfg.num_params() as f64 / 1e9);
        }
        Command::Logits { model, input, out } => {
            let loaded = load(&model)?;
            let (shape, ids) =
                read_int_tensor(&input, "input_ids").with_context(|| format!("reading {}", input.display()))?;
            let [b, t] = shape[..] else { bail!("input_ids must be 2-D [B, T], got {shape:?}") };
            let inputs = Inputs::new(ids, b, t)?;
            let hidden = loaded.model.forward_hidden(&inputs, None)?;
            let logits: Tensor<3> = loaded.model.logits(hidden);
            let dims = logits.dims();
            let values = logits.into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            write_f32_safetensors(&out, "logits", &dims, &values)?;
            eprintln!("wrote logits {dims:?} to {}", out.display());
        }
        Command::Generate {
            model,
            prompt,
            prompt_ids,
            max_new_tokens,
            temperature,
            top_k,
            top_p,
            seed,
            ignore_eos,
        } => {
            let loaded = load(&model)?;
            let tok = tokenizer(loaded.dir.as_deref())?;
            let ids: Vec<u32> = match (prompt, prompt_ids) {
                (_, Some(ids)) => ids,
                (Some(text), None) => match &tok {
                    Some(t) => {
                        t.encode(text, false).map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?.get_ids().to_vec()
                    }
                    None => bail!("--prompt needs tokenizer.json in the model directory; use --prompt-ids instead"),
                },
                (None, None) => bail!("give --prompt TEXT or --prompt-ids 1,2,3"),
            };
            let cfg = GenerationConfig {
                max_new_tokens,
                temperature,
                top_k,
                top_p,
                seed,
                eos_token_ids: if ignore_eos { Vec::new() } else { loaded.config.eos_token_ids.clone() },
            };
            let start = Instant::now();
            let out = generate(&loaded.model, &[ids], &cfg, |_| {})?;
            let new = out.into_iter().next().unwrap_or_default();
            let secs = start.elapsed().as_secs_f64();
            if let Some(t) = &tok {
                println!("{}", t.decode(&new, false).map_err(|e| anyhow::anyhow!("detokenizing: {e}"))?);
            }
            eprintln!("{} tokens in {secs:.2} s ({:.1} tok/s)", new.len(), new.len() as f64 / secs.max(1e-9));
            println!("{}", serde_json::json!({ "generated_ids": new }));
        }
    }
    Ok(())
}

/// Writes one f32 tensor as a safetensors file, atomically (temp file + rename).
fn write_f32_safetensors(path: &Path, name: &str, shape: &[usize], values: &[f32]) -> Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.to_vec(), &bytes)?;
    qwen35::write_atomic(path, &safetensors::serialize([(name, view)], None)?)?;
    Ok(())
}

fn main() -> ExitCode {
    skillsft_cli::main_with(|| run(Cli::parse()))
}
