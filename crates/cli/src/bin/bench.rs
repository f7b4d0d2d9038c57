//! `bench`: throughput figures for the Qwen3.5 decoder, printed as a table and written as JSON.
//!
//! ```text
//! bench forward --size tiny --batch 1 --seq 256 --iters 5
//! bench forward --size 0.8b --batch 1 --seq 128 --iters 3 --json results/forward_0.8b.json
//! ```
//!
//! `benches/forward_cpu.sh` runs this next to `benches/forward_torch.py` (PyTorch +
//! transformers on the same shapes and threads) and prints the ratios. Figures, not asserts:
//! nothing here fails on a slow machine.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::{DType, Device, Tensor};
use clap::{Parser, Subcommand};
use qwen35::{DeviceChoice, DtypeChoice, Inputs, Qwen35, Qwen35Config};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Parser, Debug)]
#[command(name = "bench", about = "Measure Qwen3.5 throughput (tokens/s) on cpu, cuda or wgpu")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Full forward (all logits) of a randomly initialised model on random tokens.
    Forward {
        /// Size preset: tiny, 0.8b, 2b, 4b.
        #[arg(long, default_value = "tiny")]
        size: String,
        /// Rows per forward.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Tokens per row.
        #[arg(long, default_value_t = 256)]
        seq: usize,
        /// Timed iterations (after one warm-up).
        #[arg(long, default_value_t = 5)]
        iters: usize,
        /// cpu, cuda, cuda:N, wgpu.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// f32 or bf16.
        #[arg(long, default_value = "f32")]
        dtype: String,
        /// Also write the result as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Forward { size, batch, seq, iters, device, dtype, json } => {
            let cfg = Qwen35Config::preset(&size).with_context(|| format!("unknown --size {size:?}"))?;
            let dev: Device = device.parse::<DeviceChoice>()?.device()?;
            let dt: DType = dtype.parse::<DtypeChoice>()?.dtype();
            let t0 = Instant::now();
            let model = Qwen35::random(&cfg, 0, &dev, dt)?;
            let init_s = t0.elapsed().as_secs_f64();
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let ids: Vec<i64> = (0..batch * seq).map(|_| rng.random_range(0..cfg.vocab_size as i64)).collect();
            let inputs = Inputs::new(ids, batch, seq)?;
            // Returns (total, decoder-only) seconds.
            let run = || -> Result<(f64, f64)> {
                let start = Instant::now();
                let hidden = model.forward_hidden(&inputs, None)?;
                // Host-device sync points: wait for the decoder, then for the head.
                let _: f32 = hidden.clone().sum().into_scalar();
                let decoder = start.elapsed().as_secs_f64();
                let logits: Tensor<3> = model.logits(hidden);
                let _: f32 = logits.sum().into_scalar();
                Ok((start.elapsed().as_secs_f64(), decoder))
            };
            run()?; // warm-up (allocator, kernel compilation on GPU backends)
            let mut times = Vec::with_capacity(iters);
            let mut decoder_times = Vec::with_capacity(iters);
            for _ in 0..iters {
                let (total, decoder) = run()?;
                times.push(total);
                decoder_times.push(decoder);
            }
            decoder_times.sort_by(f64::total_cmp);
            let decoder_median = decoder_times[decoder_times.len() / 2];
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            let tokens_per_s = (batch * seq) as f64 / median;
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            println!("| impl | size | device | dtype | batch | seq | median s | tokens/s |");
            println!("|---|---|---|---|---|---|---|---|");
            println!(
                "| skillsft (burn {device}) | {size} | {device} | {dtype} | {batch} | {seq} | {median:.4} | {tokens_per_s:.1} |"
            );
            eprintln!(
                "model init {init_s:.1} s; {threads} hardware threads; decoder {decoder_median:.4} s + head {:.4} s; times {times:?}",
                median - decoder_median
            );
            if let Some(path) = json {
                let value = serde_json::json!({
                    "impl": "skillsft", "backend": device, "size": size, "dtype": dtype, "batch": batch, "seq": seq,
                    "iters": iters, "median_s": median, "decoder_median_s": decoder_median, "tokens_per_s": tokens_per_s, "times_s": times,
                    "params": cfg.num_params(), "threads": threads,
                });
                std::fs::write(&path, serde_json::to_string_pretty(&value)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    Ok(())
}
