//! `study`: the whole pipeline — build data, evaluate before SFT, train, evaluate after SFT,
//! report — for one or more sizes and training recipes. Re-running continues where it stopped.
//!
//! ```text
//! study --size tiny --random-init                 # the quickstart: ~5 minutes on 2 CPU cores
//! study --size 0.8b --device cuda                 # one size, the default LoRA recipe
//! study --config study.toml                       # several sizes × recipes, side by side
//! study --print-config > study.toml               # every setting with its default
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use skillsft_eval::study::{StudyConfig, run_study};

#[derive(Parser, Debug)]
#[command(
    name = "study",
    version,
    about = "Build data, evaluate before SFT, train, evaluate after SFT, and report procedural Δ and SFT lift",
    after_help = "`--size tiny --random-init` is the quickstart: a tiny random Qwen3.5 with the real tokenizer and chat \
        template, trained for a few steps on the CPU. Its numbers show the pipeline, not the science.\n\n\
        A study file (TOML) lists sizes and [[recipes]] (any `train` setting: mode, lr, epochs, [lora] rank, ...); \
        `--print-config` writes one with every default. Outputs: OUT/data, OUT/runs/SIZE-RECIPE, OUT/episodes.jsonl, \
        OUT/report/{report.json,report.csv,report.md,delta.svg,delta.png,pass_rates.svg,pass_rates.png}."
)]
struct Cli {
    #[command(flatten)]
    kernels: skillsft_cli::KernelArgs,
    /// Model sizes (repeatable): 0.8b, 2b, 4b; `tiny` with --random-init.
    #[arg(long = "size")]
    sizes: Vec<String>,
    /// A study file (TOML); flags given here override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Randomly initialised models (no download). With `--size tiny` and no --config: the quickstart.
    #[arg(long)]
    random_init: bool,
    /// Output directory (default: study/, or study-quickstart/ for the quickstart).
    #[arg(long)]
    out: Option<PathBuf>,
    /// auto (the first CUDA GPU if this binary has `--features cuda` and the driver sees one,
    /// else the CPU; the run prints which), cpu, cuda, cuda:N, wgpu, wgpu-cpu [default: auto].
    #[arg(long)]
    device: Option<qwen35::DeviceChoice>,
    /// `f32` or `bf16` (default: bf16 on GPUs, f32 on CPU).
    #[arg(long)]
    dtype: Option<qwen35::DtypeChoice>,
    /// A model directory for a size: `--model 0.8b=/path/to/Qwen3.5-0.8B` (repeatable).
    #[arg(long = "model", value_parser = parse_model)]
    models: Vec<(String, PathBuf)>,
    /// Use an existing build-data directory (e.g. with API-teacher rows) instead of building offline.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Scoring paths (repeatable): offline, PROVIDER:MODEL, llm-only:PROVIDER:MODEL.
    #[arg(long = "judge")]
    judges: Vec<String>,
    /// Never download models.
    #[arg(long)]
    offline: bool,
    /// Print the resolved study as TOML and exit.
    #[arg(long)]
    print_config: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

fn parse_model(s: &str) -> Result<(String, PathBuf), String> {
    let (size, dir) = s.split_once('=').ok_or_else(|| format!("expected SIZE=DIR, got {s:?}"))?;
    Ok((size.to_string(), PathBuf::from(dir)))
}

fn main() -> ExitCode {
    skillsft_cli::main_with(|| run(Cli::parse()))
}

fn resolve(cli: &Cli) -> Result<StudyConfig> {
    let quickstart = cli.config.is_none() && cli.random_init && cli.sizes.iter().all(|s| s == "tiny");
    let mut cfg = match &cli.config {
        Some(path) => StudyConfig::from_file(path)?,
        None if quickstart => StudyConfig::quickstart(),
        None => StudyConfig::default(),
    };
    if !cli.sizes.is_empty() {
        cfg.sizes = cli.sizes.clone();
    }
    cfg.random_init |= cli.random_init;
    cfg.offline |= cli.offline;
    if let Some(o) = &cli.out {
        cfg.out = o.clone();
    }
    if let Some(d) = &cli.device {
        cfg.device = *d;
    }
    if let Some(d) = &cli.dtype {
        cfg.dtype = Some(*d);
    }
    if let Some(d) = &cli.data {
        cfg.data.dir = Some(d.clone());
    }
    if !cli.judges.is_empty() {
        cfg.eval.judges = cli.judges.clone();
    }
    cfg.models.extend(cli.models.iter().cloned());
    Ok(cfg)
}

fn run(cli: Cli) -> Result<()> {
    cli.kernels.apply()?;
    let mut cfg = resolve(&cli)?;
    if cli.print_config {
        print!("{}", toml::to_string_pretty(&cfg).context("serializing the study")?);
        return Ok(());
    }
    cfg.device = skillsft_cli::pick_device(&cfg.device.to_string())?;
    let stop = skillsft_cli::stop_on_ctrl_c("Ctrl-C: stopping at the next checkpoint or batch")?;
    let started = Instant::now();
    let outcome = run_study(&cfg, skillsft_cli::Bars::shared(cli.quiet), Some(stop))?;
    let r = &outcome.report;
    println!("\nProcedural Δ = pass(curated) − pass(baseline), 95% skill-clustered bootstrap CI:");
    let seed = |s: Option<u64>| s.map_or_else(String::new, |s| format!(" seed {s}"));
    for d in &r.deltas {
        let mde = d.mde.map_or_else(|| "none".into(), |m| format!("{m:.3}"));
        println!(
            "  {:<32} {:<4}{:<8} Δ {:+.3} [{:+.3}, {:+.3}]  McNemar p {:.3}  MDE {mde}  ({})",
            d.student,
            d.stage,
            seed(d.seed),
            d.delta,
            d.skill_ci_low,
            d.skill_ci_high,
            d.mcnemar_p,
            d.judge
        );
    }
    for l in &r.lifts {
        println!(
            "  {:<32} SFT lift{:<8} {:+.3} [{:+.3}, {:+.3}]",
            l.student,
            seed(l.seed),
            l.lift,
            l.skill_ci_low,
            l.skill_ci_high
        );
        if let Some(c) = &l.caution {
            println!("    caution: {c}");
        }
    }
    println!("\nReplies with a parsable `ANSWER:` line:");
    for ((student, stage), (n_ok, n)) in &outcome.parsable {
        println!("  {student:<32} {stage:<4} {n_ok}/{n} ({:.1}%)", 100.0 * *n_ok as f64 / (*n).max(1) as f64);
    }
    println!("\nReport: {}", outcome.report_dir.join("report.md").display());
    for p in &outcome.plots {
        println!("Plot:   {}", p.display());
    }
    if cfg.random_init {
        println!(
            "\nThese are randomly initialised models: the numbers show that the pipeline runs end to end and that\n\
             training changes behaviour (the ANSWER-line share), not what procedural SFT does to Qwen3.5."
        );
    }
    println!("Done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}
