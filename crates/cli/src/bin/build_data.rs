//! `build-data`: build the SFT corpus and the holdout, or tokenize a corpus into SFT examples.
//!
//! ```text
//! build-data --out data/                                   # offline teacher, 353 rows, seed 0
//! build-data --out data/ --teacher anthropic:claude-opus-4-1 --judge anthropic:claude-haiku-4-5
//! build-data --out data/ --teacher openai:Qwen/Qwen3.5-4B --base-url http://127.0.0.1:8000/v1
//! build-data tokenize --model DIR --in data/corpus.jsonl --out data/examples.jsonl
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use skillsft_data::api::cache::ResponseCache;
use skillsft_data::api::http::Transport;
use skillsft_data::api::{ChatClient, ModelSpec};
use skillsft_data::catalog::Catalog;
use skillsft_data::chat::ChatTemplate;
use skillsft_data::dataset::{self, BuildConfig};
use skillsft_data::judge::Judge;
use skillsft_data::sft::{Truncation, fit, tokenize_conversation};
use skillsft_data::teacher::Teacher;
use skillsft_data::teacher::api::ApiTeacher;
use skillsft_data::tokenizer::ChatTokenizer;

#[derive(Parser, Debug)]
#[command(
    name = "build-data",
    version,
    about = "Build the skills SFT corpus and holdout (offline by default), or tokenize a corpus",
    long_about = "Build the skills SFT corpus and holdout.\n\n\
        Writes DIR/corpus.jsonl (judge-passed SFT rows in the Hugging Face `messages` convention, \
        the chain of thought in `reasoning_content`), DIR/holdout.jsonl (tasks with curated and \
        baseline prompts), DIR/skills.jsonl and DIR/manifest.json (counts, seeds, SHA-256 of each \
        file). The same flags give byte-identical files.\n\n\
        API teachers and judges read their key from ANTHROPIC_API_KEY / OPENAI_API_KEY (or \
        --api-key-env). Replies are cached under DIR/.cache, so re-running an interrupted build \
        resumes it without repeating finished requests.",
    after_help = "Examples:\n  \
        build-data --out data/\n  \
        build-data --out data/ --rows 1000 --seed 7\n  \
        build-data --out data-opus/ --teacher anthropic:claude-opus-4-1 --judge anthropic:claude-haiku-4-5\n  \
        build-data --out data-vllm/ --teacher openai:Qwen/Qwen3.5-27B --base-url http://127.0.0.1:8000/v1\n  \
        build-data --out mine/ --skills my-skills/ --holdout-skills 10\n  \
        build-data tokenize --model datasets/tokenizer/qwen3.5 --in data/corpus.jsonl --out data/examples.jsonl",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    build: BuildArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render corpus rows with the model's chat template and write SFT examples
    /// (`{"input_ids": [...], "labels": [...]}`, -100 on masked positions).
    Tokenize(TokenizeArgs),
}

#[derive(Args, Debug)]
struct BuildArgs {
    /// Output directory.
    #[arg(long, required = false)]
    out: Option<PathBuf>,
    /// Corpus rows to keep (judge-passed).
    #[arg(long, default_value_t = 353)]
    rows: usize,
    /// Build seed: task seeds and the offline teacher's wording derive from it.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Who writes the chain of thought: `offline`, `anthropic:MODEL` or `openai:MODEL`
    /// (any OpenAI-compatible server: OpenRouter, vLLM, llama.cpp; see --base-url).
    #[arg(long, default_value = "offline")]
    teacher: String,
    /// Who judges free-form answers: `offline` (rubric facts) or `anthropic:MODEL` /
    /// `openai:MODEL`. Exact answers always go to the ANSWER: extractor unless --judge-all.
    #[arg(long, default_value = "offline")]
    judge: String,
    /// Send every row to the LLM judge, exact answers included.
    #[arg(long)]
    judge_all: bool,
    /// Teacher base URL (default: the provider's; e.g. `https://openrouter.ai/api/v1`).
    #[arg(long)]
    base_url: Option<String>,
    /// Judge base URL (default: the provider's).
    #[arg(long)]
    judge_base_url: Option<String>,
    /// Environment variable holding the teacher's API key.
    #[arg(long)]
    api_key_env: Option<String>,
    /// Environment variable holding the judge's API key.
    #[arg(long)]
    judge_api_key_env: Option<String>,
    /// Load skills from this directory of *.jsonl files instead of the built-in catalog.
    #[arg(long)]
    skills: Option<PathBuf>,
    /// Holdout skills to use (the first N holdout skills of the catalog).
    #[arg(long, default_value_t = 40)]
    holdout_skills: usize,
    /// Tasks per holdout skill, all distinct within a skill (a repeated draw is redrawn). The
    /// study's 5 × 40 = 200 tasks detect a Δ of about 0.09 at 20% discordance; 25 (1,000 tasks)
    /// about 0.04 (`eval plan` computes it for your numbers).
    #[arg(long, default_value_t = 5)]
    tasks_per_skill: usize,
    /// Give up after this many candidates per requested row.
    #[arg(long, default_value_t = 3)]
    max_candidates_per_row: usize,
    /// Teacher/judge requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Teacher max_tokens (answer plus thinking).
    #[arg(long, default_value_t = 16000)]
    max_tokens: u32,
    /// Teacher thinking budget in tokens (0: do not ask for extended thinking).
    #[arg(long, default_value_t = 8000)]
    reasoning_tokens: u32,
    /// Teacher temperature (ignored by Anthropic with thinking on).
    #[arg(long)]
    temperature: Option<f32>,
    /// Response cache directory (default: OUT/.cache).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Retries on 429 / 5xx / timeouts / unreadable bodies.
    #[arg(long, default_value_t = 6)]
    max_retries: u32,
    /// Do not draw a progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct TokenizeArgs {
    /// Model directory with tokenizer.json and the chat template (chat_template.jinja or
    /// tokenizer_config.json).
    #[arg(long)]
    model: PathBuf,
    /// Corpus JSONL (rows with `messages`).
    #[arg(long = "in")]
    input: PathBuf,
    /// Output JSONL of SFT examples.
    #[arg(long)]
    out: PathBuf,
    /// Longest example in tokens; longer ones are handled by --truncate.
    #[arg(long, default_value_t = 4096)]
    max_len: usize,
    /// What to do with examples over --max-len: `drop` them, or cut the `right` end (keeps
    /// the prompt; the cut answer loses its <|im_end|>).
    #[arg(long, default_value = "drop")]
    truncate: String,
    /// Render the assistant turn with an empty think block and no reasoning (non-thinking SFT).
    #[arg(long)]
    no_thinking: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Tokenize(args)) => tokenize(args),
        None => build(cli.build),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn build(args: BuildArgs) -> Result<()> {
    let Some(out) = args.out.clone() else { bail!("--out DIR is required (see --help)") };
    let catalog = match &args.skills {
        Some(dir) => Catalog::from_dir(dir)?,
        None => Catalog::builtin()?,
    };
    let transport = Transport::new(
        Duration::from_secs(args.timeout_secs),
        args.max_retries,
        Duration::from_secs(2),
        Duration::from_secs(120),
    );
    let cache_dir = args.cache.clone().unwrap_or_else(|| out.join(".cache"));
    let teacher = if args.teacher == "offline" {
        Teacher::Offline
    } else {
        let spec: ModelSpec = args.teacher.parse().map_err(anyhow::Error::msg).context("--teacher")?;
        let client = ChatClient::from_env(
            &spec,
            args.base_url.as_deref(),
            args.api_key_env.as_deref(),
            transport.clone(),
            Some(ResponseCache::open(&cache_dir)?),
        )?;
        Teacher::Api(Box::new(ApiTeacher {
            client,
            max_tokens: args.max_tokens,
            reasoning_tokens: Some(args.reasoning_tokens).filter(|r| *r > 0),
            temperature: args.temperature,
        }))
    };
    let judge = if args.judge == "offline" {
        if args.judge_all {
            bail!("--judge-all needs an LLM judge (--judge anthropic:MODEL or openai:MODEL)");
        }
        Judge::Offline
    } else {
        let spec: ModelSpec = args.judge.parse().map_err(anyhow::Error::msg).context("--judge")?;
        let client = ChatClient::from_env(
            &spec,
            args.judge_base_url.as_deref(),
            args.judge_api_key_env.as_deref(),
            transport,
            Some(ResponseCache::open(&cache_dir)?),
        )?;
        Judge::Llm { client, all_tasks: args.judge_all }
    };
    let cfg = BuildConfig {
        rows: args.rows,
        seed: args.seed,
        holdout_skills: args.holdout_skills,
        tasks_per_skill: args.tasks_per_skill,
        max_candidates_per_row: args.max_candidates_per_row,
        concurrency: args.concurrency,
    };
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(cfg.rows as u64) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} candidates ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("teacher {}", teacher.describe()));
    let started = Instant::now();
    let built = dataset::build(&catalog, &cfg, &teacher, &judge, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let manifest = dataset::write(&out, &built, &cfg, &teacher.describe(), &judge.describe())?;
    let c = &manifest.counts;
    eprintln!(
        "wrote {}: {} corpus rows ({} candidates, {} rejected) from {} training skills; {} holdout tasks over {} skills ({:.1}% exact-answer) in {:.1}s",
        out.display(),
        c.corpus_rows,
        c.candidates,
        c.rejected,
        c.train_skills,
        c.holdout_tasks,
        c.holdout_skills,
        100.0 * c.holdout_exact_share,
        started.elapsed().as_secs_f64()
    );
    if c.holdout_duplicates_redrawn > 0 {
        let per_skill: Vec<String> = c.holdout_duplicates.iter().map(|(s, n)| format!("{s} {n}")).collect();
        eprintln!(
            "{} holdout draws repeated an earlier task of their skill and were redrawn ({})",
            c.holdout_duplicates_redrawn,
            per_skill.join(", ")
        );
    }
    for (name, f) in &manifest.files {
        println!("{}  {name}", f.sha256);
    }
    Ok(())
}

fn tokenize(args: TokenizeArgs) -> Result<()> {
    let policy = match args.truncate.as_str() {
        "drop" => Truncation::Drop,
        "right" => Truncation::Right,
        other => bail!("--truncate must be `drop` or `right`, got {other:?}"),
    };
    let template = ChatTemplate::from_model_dir(&args.model)?;
    let tokenizer = ChatTokenizer::from_path(&args.model)?;
    let text = std::fs::read_to_string(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    let bar = ProgressBar::new(lines.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("tokenizing [{bar:40}] {pos}/{len} rows ({eta})").expect("valid template"),
    );
    let mut out = String::new();
    let (mut kept, mut dropped, mut cut, mut tokens, mut trained) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for (i, line) in lines {
        let row: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not valid JSON", args.input.display(), i + 1))?;
        let messages = row
            .get("messages")
            .and_then(|m| m.as_array())
            .with_context(|| format!("{}:{}: no `messages` list", args.input.display(), i + 1))?;
        let ex = tokenize_conversation(&template, &tokenizer, messages, !args.no_thinking)
            .with_context(|| format!("{}:{}", args.input.display(), i + 1))?;
        let over = ex.len() > args.max_len;
        match fit(ex, args.max_len, policy) {
            Some(ex) => {
                kept += 1;
                cut += usize::from(over);
                tokens += ex.len();
                trained += ex.trained();
                out.push_str(&serde_json::to_string(&ex)?);
                out.push('\n');
            }
            None => dropped += 1,
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    dataset::write_atomic(&args.out, out.as_bytes())?;
    eprintln!(
        "wrote {}: {kept} examples ({dropped} dropped, {cut} truncated at {} tokens), {tokens} tokens, {trained} trained ({:.1}%)",
        args.out.display(),
        args.max_len,
        100.0 * trained as f64 / tokens.max(1) as f64
    );
    Ok(())
}
