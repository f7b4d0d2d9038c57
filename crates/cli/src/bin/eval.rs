//! `eval`: run students on the holdout, re-judge episodes, and score the study.
//!
//! ```text
//! eval run --student qwen:PATH --stage pre --holdout data/holdout.jsonl --out eval/
//! eval run --student qwen:PATH --adapter runs/0.8b-lora/adapter --stage post --holdout data/holdout.jsonl --out eval/
//! eval run --student anthropic:claude-haiku-4-5 --holdout data/holdout.jsonl --out eval/
//! eval judge --episodes eval/episodes.jsonl --holdout data/holdout.jsonl --judge llm-only:anthropic:claude-haiku-4-5
//! eval report --episodes eval/episodes.jsonl --out eval/report/
//! eval plan --delta 0.05 --discordance 0.2
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use qwen35::{DtypeChoice, GenerationConfig};
use skillsft_data::api::cache::ResponseCache;
use skillsft_data::api::http::Transport;
use skillsft_data::api::{ChatClient, ModelSpec};
use skillsft_data::catalog::Catalog;
use skillsft_data::dataset::{self, HoldoutRow};
use skillsft_eval::episode::{Condition, EpisodeLog, Stage, read_verdicts};
use skillsft_eval::power::McNemarPower;
use skillsft_eval::report::{self, ReportConfig};
use skillsft_eval::runner::{Rescore, RunPlan, run_episodes, score_missing};
use skillsft_eval::scoring::{Scorer, parse_scorer};
use skillsft_eval::student::{ApiStudent, LocalSpec, LocalStudent, Student, Thinking, local_name};

#[derive(Parser, Debug)]
#[command(
    name = "eval",
    version,
    about = "Run students on the holdout, judge their replies, and report procedural Δ, SFT lift and judge agreement",
    after_help = "Every reply is one line of OUT/episodes.jsonl (prompt hash, full output, extracted answer, one verdict per \
        scoring path); re-running the same command skips finished episodes. Scoring paths: `offline` (ANSWER: extractor + \
        rubric facts), `PROVIDER:MODEL` (extractor + LLM judge for free-form tasks), `llm-only:PROVIDER:MODEL` (the LLM judges \
        every task). Δ, lift and agreement only compare verdicts of one path; mixing paths is refused."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    kernels: skillsft_cli::KernelArgs,
}

// Parsed once per process: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Run a student on every (condition, task) of the holdout, score each reply, then write the report.
    Run(RunArgs),
    /// Add verdicts of other scoring paths to existing episodes (LLM-only re-judge, a second
    /// judge family); nothing is regenerated.
    Judge(JudgeArgs),
    /// Read episodes (or flat verdict records) and write report.{json,csv,md} and plots (SVG + PNG).
    ///
    /// Each JSONL line is an episode from `eval run` or a record {"student", "stage": "pre"|"post",
    /// "condition": "curated"|"baseline", "task_id", "judge", "pass"}. `judge` is the scoring
    /// path: Δ and lift are only computed within one path, and a student whose pre- and post-SFT
    /// verdicts share no path is an error.
    Report(ReportArgs),
    /// How many paired tasks a design needs to detect a procedural Δ: the exact McNemar
    /// test's power by enumeration (no normal approximation).
    ///
    /// The discordance is the share of tasks that pass in exactly one condition (the report's
    /// (b + c) / n; the May 2026 study's rows ran about 0.1 to 0.3). The answer is the first n
    /// whose power reaches --power; the MDE of a few common holdout sizes is printed with it.
    Plan(PlanArgs),
}

#[derive(Args, Debug)]
struct PlanArgs {
    /// The Δ to detect (pass(curated) − pass(baseline)), e.g. 0.05.
    #[arg(long)]
    delta: f64,
    /// Expected share of discordant tasks, (b + c) / n; at least |Δ|.
    #[arg(long)]
    discordance: f64,
    /// Wanted power.
    #[arg(long, default_value_t = 0.8)]
    power: f64,
    /// Two-sided significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// `qwen:MODEL_DIR` (a Hugging Face Qwen3.5 directory), `anthropic:MODEL` or `openai:MODEL`.
    #[arg(long)]
    student: String,
    /// API requests in flight at once: an API student's replies, and LLM judges' verdicts.
    /// Episodes are written in holdout order whatever the value, so reruns are byte-identical;
    /// HTTP 429 replies are waited out (`Retry-After`).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Name in episodes and reports (default: the base model directory's name, or the API
    /// model's name). Pre- and post-SFT episodes pair by name, so give the post-SFT run the
    /// name of its base (the default with --adapter) or name both alike.
    #[arg(long)]
    name: Option<String>,
    /// A PEFT adapter on top of a local student (e.g. runs/0.8b-lora/adapter).
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// `pre` or `post` (SFT).
    #[arg(long, default_value = "pre")]
    stage: Stage,
    /// The holdout from build-data.
    #[arg(long, default_value = "data/holdout.jsonl")]
    holdout: PathBuf,
    /// Output directory: episodes.jsonl and report/.
    #[arg(long)]
    out: PathBuf,
    /// Conditions to run.
    #[arg(long, value_delimiter = ',', default_value = "curated,baseline")]
    conditions: Vec<Condition>,
    /// Scoring paths (repeat for a second judge family).
    #[arg(long = "judge", default_value = "offline")]
    judges: Vec<String>,
    /// Base URL of OpenAI-compatible judges.
    #[arg(long)]
    judge_base_url: Option<String>,
    /// Only the first N holdout tasks (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Tokens per reply.
    #[arg(long, default_value_t = 1024)]
    max_new_tokens: usize,
    /// Local students: prompts per generation batch.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Local students: `auto` (4B thinks, 0.8B / 2B do not, as their model cards say), `on`, `off`.
    #[arg(long, default_value = "auto")]
    thinking: Thinking,
    /// 0: greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Sampling seed (sample k samples with seed + k).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Replies per (condition, task), each sampled with its own seed; more than one needs
    /// --temperature > 0 and a local student.
    #[arg(long, default_value_t = 1)]
    samples: u32,
    /// The seed of the training run behind this post-SFT student, recorded in its episodes:
    /// run once per seed's adapter, under one --name, and the report gives Δ and lift per seed
    /// and their spread.
    #[arg(long, default_value_t = 0)]
    train_seed: u64,
    /// Local students: auto (the first CUDA GPU if this binary has `--features cuda` and the
    /// driver sees one, else the CPU), cpu, cuda, cuda:N, wgpu, wgpu-cpu.
    #[arg(long, default_value = "auto")]
    device: String,
    /// `f32` or `bf16` (default: bf16 on GPUs, f32 on CPU).
    #[arg(long)]
    dtype: Option<String>,
    /// API students: base URL (OpenAI-compatible servers: vLLM, llama.cpp, OpenRouter).
    #[arg(long)]
    base_url: Option<String>,
    /// API students: thinking budget in tokens (0: none).
    #[arg(long, default_value_t = 0)]
    reasoning_tokens: u32,
    /// Skills directory, if the holdout was built from your own catalog.
    #[arg(long)]
    skills: Option<PathBuf>,
    /// Bootstrap resamples of the report.
    #[arg(long, default_value_t = 10_000)]
    resamples: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct JudgeArgs {
    /// Episodes to re-judge (rewritten in place, atomically).
    #[arg(long)]
    episodes: PathBuf,
    /// The holdout the episodes came from.
    #[arg(long, default_value = "data/holdout.jsonl")]
    holdout: PathBuf,
    /// Scoring paths to add.
    #[arg(long = "judge", required = true)]
    judges: Vec<String>,
    /// Base URL of OpenAI-compatible judges.
    #[arg(long)]
    judge_base_url: Option<String>,
    /// Skills directory, if the holdout was built from your own catalog.
    #[arg(long)]
    skills: Option<PathBuf>,
    /// Judge requests in flight at once (verdicts are stored in episode order).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Also ask again where these paths' verdicts are unscorable (`"pass": null`: the judge
    /// answered without a verdict); those replies were never cached.
    #[arg(long)]
    retry_unscorable: bool,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// Episodes or verdict records (JSONL).
    #[arg(long)]
    episodes: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Bootstrap resamples for the Δ and lift intervals.
    #[arg(long, default_value_t = 10_000)]
    resamples: usize,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Significance level of the minimum detectable effect (MDE) column.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Power of the MDE column.
    #[arg(long, default_value_t = 0.8)]
    power: f64,
}

fn main() -> ExitCode {
    skillsft_cli::main_with(|| run(Cli::parse()))
}

fn run(cli: Cli) -> Result<()> {
    cli.kernels.apply()?;
    match cli.command {
        Command::Run(a) => run_students(a),
        Command::Judge(a) => judge(a),
        Command::Report(a) => report_cmd(
            &a.episodes,
            &a.out,
            ReportConfig { resamples: a.resamples, seed: a.seed, alpha: a.alpha, power: a.power },
        ),
        Command::Plan(a) => plan(a),
    }
}

fn catalog(skills: &Option<PathBuf>) -> Result<Catalog> {
    Ok(match skills {
        Some(d) => Catalog::from_dir(d)?,
        None => Catalog::builtin()?,
    })
}

fn scorers(judges: &[String], base_url: Option<&str>, cache: &std::path::Path) -> Result<Vec<Scorer>> {
    judges.iter().map(|j| parse_scorer(j, base_url, cache).with_context(|| format!("--judge {j}"))).collect()
}

fn run_students(a: RunArgs) -> Result<()> {
    if a.samples == 0 {
        bail!("--samples must be at least 1");
    }
    if a.samples > 1 && a.temperature <= 0.0 {
        bail!("--samples {} needs --temperature > 0: greedy decoding gives the same reply every time", a.samples);
    }
    let mut holdout: Vec<HoldoutRow> = dataset::read_jsonl(&a.holdout)?;
    if a.limit > 0 {
        holdout.truncate(a.limit);
    }
    let catalog = catalog(&a.skills)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let scorers = scorers(&a.judges, a.judge_base_url.as_deref(), &a.out.join(".cache"))?;
    let student: Box<dyn Student> = if let Some(dir) = a.student.strip_prefix("qwen:") {
        let dir = PathBuf::from(dir);
        let device_choice = skillsft_cli::pick_device(&a.device)?;
        let dtype = match &a.dtype {
            Some(d) => d.parse::<DtypeChoice>()?,
            None if device_choice.prefers_bf16()? => DtypeChoice::Bf16,
            None => DtypeChoice::F32,
        };
        let spec = LocalSpec {
            name: a.name.clone().unwrap_or_else(|| local_name(&dir)),
            model_dir: dir.clone(),
            adapter: a.adapter.clone(),
            device: device_choice.device()?,
            dtype: dtype.dtype(),
            thinking: a.thinking,
            generation: GenerationConfig {
                max_new_tokens: a.max_new_tokens,
                temperature: a.temperature,
                seed: a.seed,
                ..GenerationConfig::default()
            },
            batch_size: a.batch_size,
        };
        Box::new(LocalStudent::load(&spec).with_context(|| format!("loading the student from {}", dir.display()))?)
    } else {
        if a.adapter.is_some() {
            bail!("--adapter applies to local students (--student qwen:DIR)");
        }
        let spec: ModelSpec = a.student.parse().map_err(anyhow::Error::msg).with_context(|| {
            format!("--student {:?}: expected qwen:MODEL_DIR, anthropic:MODEL or openai:MODEL", a.student)
        })?;
        let transport = Transport::new(Duration::from_secs(300), 5, Duration::from_secs(2), Duration::from_secs(120));
        let client = ChatClient::from_env(
            &spec,
            a.base_url.as_deref(),
            None,
            transport,
            Some(ResponseCache::open(&a.out.join(".cache"))?),
        )?;
        let name = a.name.clone().unwrap_or_else(|| spec.model.clone());
        Box::new(
            ApiStudent::new(name, client, a.max_new_tokens as u32, Some(a.reasoning_tokens).filter(|r| *r > 0))
                .with_concurrency(a.concurrency),
        )
    };
    let stop = skillsft_cli::stop_on_ctrl_c("Ctrl-C: stopping after the batch in flight")?;
    let episodes = a.out.join("episodes.jsonl");
    let mut log = EpisodeLog::open(&episodes)?;
    let progress = skillsft_cli::Bars::shared(a.quiet);
    let plan = RunPlan {
        stage: a.stage,
        conditions: &a.conditions,
        holdout: &holdout,
        catalog: &catalog,
        scorers: &scorers,
        progress: progress.as_ref(),
        stop: Some(stop),
        concurrency: a.concurrency,
        seed: a.train_seed,
        samples: a.samples,
    };
    let c = run_episodes(student.as_ref(), &plan, &mut log)?;
    eprintln!(
        "{}: {} episodes run, {} already done{}; {}",
        student.name(),
        c.ran,
        c.skipped,
        if c.rescored > 0 { format!(", {} verdicts added", c.rescored) } else { String::new() },
        episodes.display()
    );
    if c.interrupted {
        eprintln!("interrupted: run the same command again to continue");
        return Ok(());
    }
    report_cmd(&episodes, &a.out.join("report"), ReportConfig { resamples: a.resamples, ..ReportConfig::default() })
}

fn judge(a: JudgeArgs) -> Result<()> {
    let holdout: Vec<HoldoutRow> = dataset::read_jsonl(&a.holdout)?;
    let catalog = catalog(&a.skills)?;
    let cache = a.episodes.parent().unwrap_or(std::path::Path::new(".")).join(".cache");
    let scorers = scorers(&a.judges, a.judge_base_url.as_deref(), &cache)?;
    let mut log = EpisodeLog::open(&a.episodes)?;
    let what = Rescore { retry_unscorable: a.retry_unscorable, concurrency: a.concurrency, ..Rescore::default() };
    let added = score_missing(&mut log, &scorers, &catalog, &holdout, what)?;
    let left: usize = log
        .episodes()
        .iter()
        .flat_map(|e| &e.verdicts)
        .filter(|v| v.pass.is_none() && scorers.iter().any(|s| s.path() == v.judge))
        .count();
    eprintln!("{added} verdicts added to {}", a.episodes.display());
    if left > 0 {
        eprintln!(
            "{left} verdicts of these paths are unscorable (the judge gave no verdict); ask again with --retry-unscorable"
        );
    }
    Ok(())
}

fn report_cmd(episodes: &std::path::Path, out: &std::path::Path, cfg: ReportConfig) -> Result<()> {
    check_level(cfg.alpha, cfg.power)?;
    let verdicts = read_verdicts(episodes)?;
    let r = report::report(&verdicts, cfg)?;
    let plots = skillsft_eval::write_report(&r, out)?;
    eprintln!(
        "{} verdicts → {} rates, {} deltas, {} lifts, {} judge pairs in {} ({} plots)",
        verdicts.len(),
        r.rates.len(),
        r.deltas.len(),
        r.lifts.len(),
        r.agreement.len(),
        out.display(),
        plots.len()
    );
    Ok(())
}

fn check_level(alpha: f64, power: f64) -> Result<()> {
    if !(alpha > 0.0 && alpha < 1.0) {
        bail!("--alpha must be in (0, 1), got {alpha}");
    }
    if !(power > 0.0 && power < 1.0) {
        bail!("--power must be in (0, 1), got {power}");
    }
    Ok(())
}

/// Largest design `eval plan` searches (tasks).
const PLAN_MAX_TASKS: usize = 1_000_000;

fn plan(a: PlanArgs) -> Result<()> {
    check_level(a.alpha, a.power)?;
    let (delta, r) = (a.delta.abs(), a.discordance);
    if !(r > 0.0 && r <= 1.0) {
        bail!("--discordance must be in (0, 1], got {r}");
    }
    if delta == 0.0 || delta > r {
        bail!(
            "--delta must be non-zero and at most --discordance ({r}): Δ = (b − c) / n cannot exceed the discordant share (b + c) / n"
        );
    }
    let mut power = McNemarPower::new(a.alpha);
    match power.tasks_needed(delta, r, a.power, PLAN_MAX_TASKS) {
        Some(n) => {
            println!(
                "{n} paired tasks detect Δ = {delta} at discordance {r} with power {:.3} (target {}), exact McNemar, two-sided α = {}.",
                power.power(n, delta, r),
                a.power,
                a.alpha
            );
            let skills = n.div_ceil(40);
            println!("With the holdout's 40 skills: --tasks-per-skill {skills} ({} tasks).", skills * 40);
        }
        None => println!(
            "No design up to {PLAN_MAX_TASKS} tasks reaches power {} for Δ = {delta} at discordance {r}.",
            a.power
        ),
    }
    println!("\nMinimum detectable |Δ| at discordance {r} (power {}, α = {}):", a.power, a.alpha);
    for n in [200, 400, 600, 1000] {
        let mde = power.mde(n, r, a.power).map_or_else(|| "none".into(), |m| format!("{m:.3}"));
        println!("  {n:>5} tasks: {mde}");
    }
    Ok(())
}
