//! The whole study in one call: build the data, evaluate each size before SFT, train each
//! recipe, evaluate after SFT, and write one report with every (size, recipe) side by side.
//! Every stage resumes: a built data directory, finished episodes, checkpoints and exported
//! adapters are found and reused, so an interrupted study is continued by running it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::tensor::DType;
use qwen35::{DeviceChoice, DtypeChoice, GenerationConfig, Qwen35, Qwen35Config};
use serde::{Deserialize, Serialize};
use skillsft_data::catalog::Catalog;
use skillsft_data::dataset::{self, BuildConfig, HoldoutRow};
use skillsft_data::judge::Judge;
use skillsft_data::progress::{Progress, SharedProgress};
use skillsft_data::teacher::Teacher;
use skillsft_data::tokenizer::ChatTokenizer;
use skillsft_hub::{self as hub, DownloadOptions};
use skillsft_train::{Mode, RunOptions, TrainConfig};

use crate::episode::{Condition, EpisodeLog, Stage, read_verdicts};
use crate::error::{EvalError, Result, io};
use crate::report::{self, Report, ReportConfig, Verdict};
use crate::runner::{RunPlan, run_episodes};
use crate::scoring::{Scorer, parse_scorer};
use crate::student::{LocalSpec, LocalStudent, Thinking};

/// A study file (TOML). Every field has a default; `study --size 0.8b` is this with `sizes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudyConfig {
    /// Output directory: `data/`, `models/`, `runs/`, `episodes.jsonl`, `report/`.
    pub out: PathBuf,
    /// Model sizes: `0.8b`, `2b`, `4b` (or `tiny` with `random_init`).
    pub sizes: Vec<String>,
    /// Model directories by size, overriding the Hugging Face cache lookup.
    pub models: BTreeMap<String, PathBuf>,
    /// Randomly initialised models with the Qwen3.5 tokenizer (no download): shows the
    /// pipeline, not the science.
    pub random_init: bool,
    /// Never download; a model missing from the cache is an error.
    pub offline: bool,
    /// `auto` (the first CUDA GPU if there is one, else the CPU), `cpu`, `cuda`, `cuda:N`,
    /// `wgpu`, ...: training and local generation.
    pub device: DeviceChoice,
    /// `f32` or `bf16`; unset (or `""`): bf16 on GPUs, f32 on CPU.
    #[serde(with = "qwen35::device::dtype_or_auto")]
    pub dtype: Option<DtypeChoice>,
    /// The corpus and holdout.
    pub data: DataSection,
    /// Episodes and report.
    pub eval: EvalSection,
    /// Training recipes, each run on every size and reported side by side.
    pub recipes: Vec<Recipe>,
    /// Training seeds: each recipe is trained once per seed (data order, dropout, LoRA init)
    /// and the report gives Δ and lift per seed, pooled, and their spread across seeds.
    /// Seed 0 trains into `runs/SIZE-RECIPE`, seed s into `runs/SIZE-RECIPE-seedS`.
    pub seeds: Vec<u64>,
}

/// Where the corpus and holdout come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSection {
    /// Use this `build-data` output (any teacher) instead of building offline.
    pub dir: Option<PathBuf>,
    /// Corpus rows to build (offline teacher).
    pub rows: usize,
    /// Build seed.
    pub seed: u64,
    /// Holdout skills.
    pub holdout_skills: usize,
    /// Tasks per holdout skill.
    pub tasks_per_skill: usize,
    /// The tokenizer + chat template for random-init models.
    pub tokenizer: Option<PathBuf>,
}

impl Default for DataSection {
    fn default() -> Self {
        let b = BuildConfig::default();
        DataSection {
            dir: None,
            rows: b.rows,
            seed: b.seed,
            holdout_skills: b.holdout_skills,
            tasks_per_skill: b.tasks_per_skill,
            tokenizer: None,
        }
    }
}

/// How episodes are run and scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalSection {
    /// Scoring paths: `offline`, `PROVIDER:MODEL`, `llm-only:PROVIDER:MODEL`.
    pub judges: Vec<String>,
    /// Base URL of OpenAI-compatible judges.
    pub judge_base_url: Option<String>,
    /// Tokens per reply.
    pub max_new_tokens: usize,
    /// Prompts per generation batch.
    pub batch_size: usize,
    /// `auto` (4B thinks, 0.8B / 2B do not), `on`, `off`.
    pub thinking: Thinking,
    /// 0: greedy.
    pub temperature: f32,
    /// Sampling seed (sample k of a task samples with seed + k).
    pub seed: u64,
    /// Replies per task and condition, each sampled with its own seed; more than one needs
    /// `temperature > 0` (greedy replies would repeat).
    pub samples: u32,
    /// Use only the first N holdout tasks (0: all).
    pub holdout_limit: usize,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// LLM judge requests in flight at once (verdicts are stored in holdout order).
    pub concurrency: usize,
}

impl Default for EvalSection {
    fn default() -> Self {
        EvalSection {
            judges: vec!["offline".into()],
            judge_base_url: None,
            max_new_tokens: 1024,
            batch_size: 8,
            thinking: Thinking::Auto,
            temperature: 0.0,
            seed: 0,
            samples: 1,
            holdout_limit: 0,
            resamples: 10_000,
            concurrency: 4,
        }
    }
}

/// A named set of training settings (any `train` TOML key: `mode`, `lr`, `epochs`,
/// `[lora] rank`, ...); unset keys keep `train`'s defaults. Read as a [`TrainConfig`] when the
/// study file is read, so a misspelt key or a bad value is refused there, naming the recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RecipeToml", into = "RecipeToml")]
pub struct Recipe {
    /// Used in run directories and student names.
    pub name: String,
    /// The settings: the defaults with the recipe's keys over them. The study sets size,
    /// model, data, output directory, device, dtype and seed for each run.
    pub train: TrainConfig,
}

impl Recipe {
    /// A recipe of `train`'s settings.
    pub fn new(name: &str, train: TrainConfig) -> Self {
        Recipe { name: name.into(), train }
    }
}

/// A recipe as the study file writes it: its name and the keys it sets.
#[derive(Serialize, Deserialize)]
struct RecipeToml {
    name: String,
    #[serde(flatten)]
    train: toml::Table,
}

impl TryFrom<RecipeToml> for Recipe {
    type Error = String;
    fn try_from(r: RecipeToml) -> std::result::Result<Self, String> {
        if r.train.contains_key("seed") {
            return Err(format!(
                "recipe {:?} sets `seed`: a study trains every recipe once per seed of its top-level `seeds = [...]`",
                r.name
            ));
        }
        let train = toml::Value::Table(r.train).try_into().map_err(|e| format!("recipe {:?}: {e}", r.name))?;
        Ok(Recipe { name: r.name, train })
    }
}

impl From<Recipe> for RecipeToml {
    /// Only the keys that differ from the defaults (and, in `[lora]`, only the fields that do).
    fn from(r: Recipe) -> Self {
        let table = |c: &TrainConfig| toml::Table::try_from(c).expect("TrainConfig serializes");
        let defaults = table(&TrainConfig::default());
        let mut train = toml::Table::new();
        for (k, v) in table(&r.train) {
            match (defaults.get(&k), v) {
                (Some(d), v) if *d == v => {}
                (Some(toml::Value::Table(d)), toml::Value::Table(v)) => {
                    let changed: toml::Table = v.into_iter().filter(|(k, v)| d.get(k) != Some(v)).collect();
                    train.insert(k, toml::Value::Table(changed));
                }
                (_, v) => {
                    train.insert(k, v);
                }
            }
        }
        RecipeToml { name: r.name, train }
    }
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            out: PathBuf::from("study"),
            sizes: vec!["0.8b".into()],
            models: BTreeMap::new(),
            random_init: false,
            offline: false,
            device: DeviceChoice::Auto,
            dtype: None,
            data: DataSection::default(),
            eval: EvalSection::default(),
            recipes: vec![Recipe::new("lora-r16", TrainConfig::default())],
            seeds: vec![0],
        }
    }
}

impl StudyConfig {
    /// Reads a study TOML file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        toml::from_str(&text).map_err(|e| EvalError::Config(format!("{}: {e}", path.display())))
    }

    /// The quickstart: a tiny random Qwen3.5 with the real tokenizer and template, trained
    /// with the study's LoRA recipe (r16, default targets; lr 1e-2 for a few steps) on a
    /// small offline corpus, evaluated on one task per holdout skill with short replies and
    /// no thinking. A few minutes on 2 CPU cores. It shows the pipeline and one checkable effect of training (the share of replies with a
    /// parsable `ANSWER:` line), not the study's science.
    pub fn quickstart() -> Self {
        let recipe = TrainConfig {
            lr: 1e-2,
            epochs: 3,
            micro_batch: 2,
            grad_accum: 1,
            warmup_ratio: 0.1,
            // A tiny model cannot write a useful chain of thought; it learns the answer turn.
            thinking: false,
            save_every: 0,
            ..TrainConfig::default()
        };
        StudyConfig {
            out: PathBuf::from("study-quickstart"),
            sizes: vec!["tiny".into()],
            random_init: true,
            data: DataSection { rows: 48, tasks_per_skill: 1, ..DataSection::default() },
            eval: EvalSection {
                max_new_tokens: 32,
                batch_size: 8,
                thinking: Thinking::Off,
                resamples: 10_000,
                ..EvalSection::default()
            },
            recipes: vec![Recipe::new("lora", recipe)],
            ..StudyConfig::default()
        }
    }

    /// Checks names and values before anything runs.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EvalError::Config(m));
        if self.sizes.is_empty() {
            return bad("the study lists no sizes".into());
        }
        for s in &self.sizes {
            let known = hub::repo_for_size(s).is_some() || (self.random_init && Qwen35Config::preset(s).is_some());
            if !known && !self.models.contains_key(s) {
                return bad(format!(
                    "unknown size {s:?}: use 0.8b, 2b, 4b (or tiny with random_init), or give [models] {s} = DIR"
                ));
            }
        }
        if self.recipes.is_empty() {
            return bad("the study lists no recipes".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for r in &self.recipes {
            if r.name.is_empty() || r.name.contains(['/', '\\', ' ']) || !names.insert(&r.name) {
                return bad(format!("recipe names must be unique, non-empty, without spaces or slashes: {:?}", r.name));
            }
            self.train_config(&self.sizes[0], r, self.seeds.first().copied().unwrap_or(0), None, None)?;
        }
        let distinct: std::collections::BTreeSet<&u64> = self.seeds.iter().collect();
        if self.seeds.is_empty() || distinct.len() != self.seeds.len() {
            return bad(format!("seeds must be a non-empty list of distinct training seeds, got {:?}", self.seeds));
        }
        if self.eval.samples == 0 {
            return bad("eval.samples must be at least 1".into());
        }
        if self.eval.samples > 1 && self.eval.temperature <= 0.0 {
            return bad(format!(
                "eval.samples = {} needs eval.temperature > 0: greedy decoding gives the same reply every time",
                self.eval.samples
            ));
        }
        if self.eval.judges.is_empty() {
            return bad("eval.judges is empty: give at least one scoring path (e.g. \"offline\")".into());
        }
        Ok(())
    }

    /// The trainer's config for `size` × `recipe` × training `seed`, checked; `model_dir` and
    /// `corpus` are filled in when known (a study checks its recipes before it has either).
    pub fn train_config(
        &self,
        size: &str,
        recipe: &Recipe,
        seed: u64,
        model_dir: Option<&Path>,
        corpus: Option<&Path>,
    ) -> Result<TrainConfig> {
        let mut cfg = recipe.train.clone();
        cfg.size = size.to_string();
        cfg.model = model_dir.map(Path::to_path_buf);
        cfg.random_init = false;
        if let Some(corpus) = corpus {
            cfg.data = vec![corpus.to_path_buf()];
        }
        cfg.seed = seed;
        let run =
            if seed == 0 { format!("{size}-{}", recipe.name) } else { format!("{size}-{}-seed{seed}", recipe.name) };
        cfg.out = self.out.join("runs").join(run);
        cfg.device = self.device;
        if self.dtype.is_some() {
            cfg.dtype = self.dtype;
        }
        cfg.validate().map_err(|e| EvalError::Config(format!("recipe {:?}: {e}", recipe.name)))?;
        Ok(cfg)
    }
}

/// What a study run produced.
#[derive(Debug)]
pub struct StudyOutcome {
    /// The report over every (size, recipe).
    pub report: Report,
    /// Plot files.
    pub plots: Vec<PathBuf>,
    /// `report/` directory.
    pub report_dir: PathBuf,
    /// Share of replies with a parsable `ANSWER:` line, by (student, stage).
    pub parsable: BTreeMap<(String, String), (usize, usize)>,
}

/// Runs (or resumes) the study, reporting stages, training steps, episodes and downloads to
/// `progress` ([`skillsft_data::progress::silent`] for none).
pub fn run_study(cfg: &StudyConfig, progress: SharedProgress, stop: Option<Arc<AtomicBool>>) -> Result<StudyOutcome> {
    cfg.validate()?;
    std::fs::create_dir_all(&cfg.out).map_err(io(&cfg.out))?;
    let resolved = serde_json::to_string_pretty(cfg).expect("config serializes");
    std::fs::write(cfg.out.join("study.json"), resolved + "\n").map_err(io(cfg.out.join("study.json")))?;
    let say = |m: String| progress.note(&m);

    let catalog = Catalog::builtin()?;

    // 1. Data.
    let data_dir = prepare_data(cfg, &catalog, &say)?;
    let corpus = data_dir.join("corpus.jsonl");
    let mut holdout: Vec<HoldoutRow> = dataset::read_jsonl(&data_dir.join("holdout.jsonl"))?;
    if cfg.eval.holdout_limit > 0 {
        holdout.truncate(cfg.eval.holdout_limit);
    }
    let cache = cfg.out.join(".cache");
    let scorers = cfg
        .eval
        .judges
        .iter()
        .map(|j| parse_scorer(j, cfg.eval.judge_base_url.as_deref(), &cache))
        .collect::<Result<Vec<Scorer>>>()?;
    let conditions = Condition::ALL.to_vec();
    let mut log = EpisodeLog::open(&cfg.out.join("episodes.jsonl"))?;
    let device = cfg.device.device()?;
    let dtype = study_dtype(cfg)?;
    let generation = GenerationConfig {
        max_new_tokens: cfg.eval.max_new_tokens,
        temperature: cfg.eval.temperature,
        seed: cfg.eval.seed,
        ..GenerationConfig::default()
    };
    let mut pairs: Vec<(String, String)> = Vec::new(); // (pre student, post student)

    for size in &cfg.sizes {
        // 2. The base model.
        let model_dir = base_model_dir(cfg, size, progress.as_ref(), &say)?;
        let pre_name = format!("qwen3.5-{size}");
        let spec = |name: String, dir: PathBuf, adapter: Option<PathBuf>| LocalSpec {
            name,
            model_dir: dir,
            adapter,
            device: device.clone(),
            dtype,
            thinking: cfg.eval.thinking,
            generation: generation.clone(),
            batch_size: cfg.eval.batch_size,
        };
        let plan = |stage: Stage, seed: u64| RunPlan {
            stage,
            conditions: &conditions,
            holdout: &holdout,
            catalog: &catalog,
            scorers: &scorers,
            progress: progress.as_ref(),
            stop: stop.clone(),
            concurrency: cfg.eval.concurrency,
            seed,
            samples: cfg.eval.samples,
        };

        // Pre-SFT episodes, then each recipe trained and evaluated once per seed.
        say(format!("[eval] {pre_name} pre-SFT: {} tasks × {} conditions", holdout.len(), conditions.len()));
        let student = LocalStudent::load(&spec(pre_name.clone(), model_dir.clone(), None))?;
        let c = run_episodes(&student, &plan(Stage::Pre, 0), &mut log)?;
        drop(student);
        if c.interrupted {
            return Err(interrupted());
        }

        for recipe in &cfg.recipes {
            let post_name = format!("{pre_name}/{}", recipe.name);
            for &seed in &cfg.seeds {
                train_and_evaluate(
                    cfg,
                    &Step { size, recipe, seed, model_dir: &model_dir, corpus: &corpus },
                    |dir, adapter| {
                        say(format!(
                            "[eval] {post_name} post-SFT{}",
                            if cfg.seeds.len() > 1 { format!(" (seed {seed})") } else { String::new() }
                        ));
                        let student = LocalStudent::load(&spec(post_name.clone(), dir, adapter))?;
                        let c = run_episodes(&student, &plan(Stage::Post, seed), &mut log)?;
                        if c.interrupted {
                            return Err(interrupted());
                        }
                        Ok(())
                    },
                    &say,
                    &progress,
                    &stop,
                )?;
            }
            pairs.push((pre_name.clone(), post_name));
        }
    }

    // 3. Report: each post-SFT student is paired with its size's pre-SFT episodes.
    report_study(cfg, &log, &pairs)
}

/// The study's data directory: `data.dir` as given, else built offline into `OUT/data` (or the
/// one a previous run built there).
fn prepare_data(cfg: &StudyConfig, catalog: &Catalog, say: &dyn Fn(String)) -> Result<PathBuf> {
    if let Some(d) = &cfg.data.dir {
        return Ok(d.clone());
    }
    let dir = cfg.out.join("data");
    if dir.join("manifest.json").is_file() {
        say(format!("[data] reusing {}", dir.display()));
        return Ok(dir);
    }
    say(format!("[data] building {} corpus rows and the holdout offline into {}", cfg.data.rows, dir.display()));
    let build = BuildConfig {
        rows: cfg.data.rows,
        seed: cfg.data.seed,
        holdout_skills: cfg.data.holdout_skills,
        tasks_per_skill: cfg.data.tasks_per_skill,
        ..BuildConfig::default()
    };
    let built = dataset::build(catalog, &build, &Teacher::Offline, &Judge::Offline, &|_, _| {})?;
    dataset::write(&dir, &built, &build, "offline", &Judge::Offline.describe())?;
    Ok(dir)
}

/// The base model of `size`: a `[models]` directory, a random-init model written into
/// `OUT/models/SIZE`, or the Hugging Face cache (downloading unless `offline`).
fn base_model_dir(cfg: &StudyConfig, size: &str, progress: &dyn Progress, say: &dyn Fn(String)) -> Result<PathBuf> {
    if let Some(d) = cfg.models.get(size) {
        return Ok(d.clone());
    }
    if cfg.random_init {
        let dir = cfg.out.join("models").join(size);
        if !dir.join("model.safetensors").is_file() {
            say(format!("[model] random-init {size} with the Qwen3.5 tokenizer into {}", dir.display()));
            random_model_dir(size, &tokenizer_dir(cfg)?, 0, &dir)?;
        }
        return Ok(dir);
    }
    let repo = hub::repo_for_size(size).expect("validated");
    hub::resolve_model(None, size, &DownloadOptions::from_env(repo), !cfg.offline, progress)
        .map_err(|e| EvalError::Config(e.to_string()))
}

/// Scores every (pre, post) student pair from the episodes and writes `OUT/report/`.
fn report_study(cfg: &StudyConfig, log: &EpisodeLog, pairs: &[(String, String)]) -> Result<StudyOutcome> {
    let all = read_verdicts(log.path())?;
    let verdicts = pair_verdicts(&all, pairs);
    let report = report::report(
        &verdicts,
        ReportConfig { resamples: cfg.eval.resamples, seed: cfg.eval.seed, ..ReportConfig::default() },
    )?;
    let report_dir = cfg.out.join("report");
    let plots = crate::write_report(&report, &report_dir)?;
    let mut parsable: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for ep in log.episodes() {
        let e = parsable.entry((ep.student.clone(), ep.stage.to_string())).or_default();
        e.0 += ep.extracted.is_some() as usize;
        e.1 += 1;
    }
    Ok(StudyOutcome { report, plots, report_dir, parsable })
}

/// One training run of the study.
struct Step<'a> {
    size: &'a str,
    recipe: &'a Recipe,
    seed: u64,
    model_dir: &'a Path,
    corpus: &'a Path,
}

/// Trains `step` (or reuses its finished run), then hands the post-SFT model (directory and
/// adapter) to `evaluate`.
fn train_and_evaluate(
    cfg: &StudyConfig,
    step: &Step,
    evaluate: impl FnOnce(PathBuf, Option<PathBuf>) -> Result<()>,
    say: &dyn Fn(String),
    progress: &SharedProgress,
    stop: &Option<Arc<AtomicBool>>,
) -> Result<()> {
    let tc = cfg.train_config(step.size, step.recipe, step.seed, Some(step.model_dir), Some(step.corpus))?;
    let run = tc.out.clone();
    let (post_dir, adapter) = match tc.mode {
        Mode::Lora => (step.model_dir.to_path_buf(), Some(run.join("adapter"))),
        Mode::Full => (run.join("model"), None),
    };
    let done = match &adapter {
        Some(a) => a.join("adapter_model.safetensors").is_file(),
        None => post_dir.join("model.safetensors").is_file(),
    };
    if done {
        say(format!("[train] reusing {}", run.display()));
    } else {
        say(format!("[train] {} recipe {:?} seed {} into {}", step.size, step.recipe.name, step.seed, run.display()));
        let resume = skillsft_train::checkpoint::latest(&run).is_some();
        let summary = skillsft_train::train(
            &tc,
            &RunOptions {
                model_dir: Some(step.model_dir.to_path_buf()),
                base_name: Some(step.model_dir.display().to_string()),
                resume,
                progress: progress.clone(),
                stop: stop.clone(),
                stop_after: None,
            },
        )?;
        if summary.interrupted {
            return Err(interrupted());
        }
    }
    evaluate(post_dir, adapter)
}

fn interrupted() -> EvalError {
    EvalError::Interrupted
}

/// Relabels verdicts for the report: for each (pre student, post student) pair, the pre
/// verdicts are copied under the post student's name so that its Δpre, Δpost and lift are
/// computed from the same base episodes.
pub fn pair_verdicts(all: &[Verdict], pairs: &[(String, String)]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for (pre, post) in pairs {
        for v in all {
            if v.stage == Stage::Pre && &v.student == pre {
                out.push(Verdict { student: post.clone(), ..v.clone() });
            } else if v.stage == Stage::Post && &v.student == post {
                out.push(v.clone());
            }
        }
    }
    out
}

fn study_dtype(cfg: &StudyConfig) -> Result<DType> {
    let choice = match cfg.dtype {
        Some(d) => d,
        None if cfg.device.prefers_bf16()? => DtypeChoice::Bf16,
        None => DtypeChoice::F32,
    };

    Ok(choice.dtype())
}

/// The tokenizer directory for random-init models: the study's setting, else the repository's
/// `datasets/tokenizer/qwen3.5` (from the working directory, then from the source tree).
pub fn tokenizer_dir(cfg: &StudyConfig) -> Result<PathBuf> {
    let candidates = match &cfg.data.tokenizer {
        Some(d) => vec![d.clone()],
        None => vec![
            PathBuf::from("datasets/tokenizer/qwen3.5"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/tokenizer/qwen3.5"),
        ],
    };
    candidates.iter().find(|d| d.join("tokenizer.json").is_file()).cloned().ok_or_else(|| {
        EvalError::Config(format!(
            "no tokenizer.json in {}: set data.tokenizer to a directory with the Qwen3.5 tokenizer and chat template",
            candidates[0].display()
        ))
    })
}

/// Writes a random-init model of preset `size` as a Hugging Face directory: `config.json`
/// (vocabulary widened to the tokenizer's, end-of-turn ids from it), `model.safetensors`,
/// and the tokenizer and chat template copied from `tokenizer_dir`. Loading it back is the
/// same path as a downloaded checkpoint, so the quickstart runs the real pipeline.
pub fn random_model_dir(size: &str, tokenizer_dir: &Path, seed: u64, out: &Path) -> Result<PathBuf> {
    let mut config =
        Qwen35Config::preset(size).ok_or_else(|| EvalError::Config(format!("no preset {size:?} for random_init")))?;
    let tok = ChatTokenizer::from_path(tokenizer_dir)?;
    // Every token id must have a row; rounded up to a multiple of 64 as Qwen pads its own.
    config.vocab_size = config.vocab_size.max(tok.vocab_size().div_ceil(64) * 64);
    config.eos_token_ids = vec![tok.im_end, tok.pad];
    let device = DeviceChoice::Cpu.device()?;
    let model = Qwen35::random(&config, seed, &device, DType::F32)?;
    let tmp = out.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    skillsft_train::merge::save_full(&model, None, &tmp)?;
    let config_text = serde_json::to_string_pretty(&config.to_hf_json()).expect("config serializes") + "\n";
    std::fs::write(tmp.join("config.json"), config_text).map_err(io(tmp.join("config.json")))?;
    for f in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"] {
        let src = tokenizer_dir.join(f);
        if src.is_file() {
            std::fs::copy(&src, tmp.join(f)).map_err(io(&src))?;
        }
    }
    let _ = std::fs::remove_dir_all(out);
    std::fs::rename(&tmp, out).map_err(io(out))?;
    Ok(out.to_path_buf())
}
