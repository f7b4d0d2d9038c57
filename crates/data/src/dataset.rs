//! Building the study's two datasets: the SFT corpus (training skills) and the holdout
//! (holdout skills), plus `skills.jsonl` and `manifest.json`.
//!
//! Everything is a function of the catalog, the flags and the teacher's replies: task seeds
//! are hashes of (build seed, skill id, index), rows are kept in candidate order whatever
//! order the workers finish in, and no timestamp is written, so two builds with the same
//! flags (and, for API teachers, the same cached replies) are byte-identical.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::error::{DataError, Result};
use crate::generators::{distinct_tasks, generate, task_seed};
use crate::judge::{Judge, Verdict};
use crate::prompt::{Condition, user_prompt};
use crate::skill::{Skill, Split};
use crate::task::{Criterion, Step, Task};
use crate::teacher::Teacher;

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildConfig {
    /// Corpus rows to keep (judge-passed).
    pub rows: usize,
    /// Build seed.
    pub seed: u64,
    /// Holdout skills (the first N holdout skills of the catalog).
    pub holdout_skills: usize,
    /// Tasks per holdout skill.
    pub tasks_per_skill: usize,
    /// Give up after this many candidates per requested row (teachers that fail the judge
    /// often would otherwise loop forever).
    pub max_candidates_per_row: usize,
    /// Teacher/judge calls in flight at once.
    pub concurrency: usize,
}

impl Default for BuildConfig {
    /// The reference study: 353 rows, 40 × 5 holdout tasks.
    fn default() -> Self {
        BuildConfig {
            rows: 353,
            seed: 0,
            holdout_skills: 40,
            tasks_per_skill: 5,
            max_candidates_per_row: 3,
            concurrency: 4,
        }
    }
}

/// A chat message in the Hugging Face `messages` convention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The assistant's chain of thought (assistant turns only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// The text.
    pub content: String,
}

/// Where a corpus row came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `offline` or `provider:model`.
    pub teacher: String,
    /// The judge's description.
    pub judge: String,
    /// The build seed.
    pub build_seed: u64,
    /// The generator seed of the task.
    pub task_seed: u64,
    /// The seed of the offline teacher's wording.
    pub teacher_seed: u64,
    /// SHA-256 of the user prompt.
    pub prompt_sha256: String,
    /// SHA-256 of the skill's JSON line (procedure, generator and answer spec).
    pub skill_sha256: String,
}

/// One SFT corpus row. `messages` works as-is in TRL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusRow {
    /// `corpus-00001`.
    pub id: String,
    /// The task's skill.
    pub skill_id: String,
    /// The skill's domain.
    pub domain: String,
    /// The task id.
    pub task_id: String,
    /// User turn (task + procedure block) and assistant turn (reasoning + answer).
    pub messages: Vec<ChatMessage>,
    /// The reference answer.
    pub reference: String,
    /// `exact` or `free_form`.
    pub answer_kind: AnswerKind,
    /// The judge's verdict on the assistant turn.
    pub verdict: Verdict,
    /// Where it came from.
    pub provenance: Provenance,
}

/// One holdout task with both prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutRow {
    /// `holdout-001`.
    pub id: String,
    /// The task id.
    pub task_id: String,
    /// The skill.
    pub skill_id: String,
    /// The skill's domain.
    pub domain: String,
    /// `exact` or `free_form`.
    pub answer_kind: AnswerKind,
    /// The generator seed.
    pub seed: u64,
    /// The task text.
    pub prompt: String,
    /// The reference answer.
    pub answer: String,
    /// The reference's worked steps.
    pub steps: Vec<Step>,
    /// Free-form rubric.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<Criterion>,
    /// The user turn under each condition (`curated`, `baseline`).
    pub prompts: BTreeMap<String, String>,
}

impl HoldoutRow {
    /// The task back as a [`Task`].
    pub fn task(&self) -> Task {
        Task {
            id: self.task_id.clone(),
            skill_id: self.skill_id.clone(),
            seed: self.seed,
            prompt: self.prompt.clone(),
            answer: self.answer.clone(),
            steps: self.steps.clone(),
            rubric: self.rubric.clone(),
        }
    }
}

/// Counts reported in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Corpus rows kept.
    pub corpus_rows: usize,
    /// Candidates the teacher answered.
    pub candidates: usize,
    /// Candidates the judge failed or could not score.
    pub rejected: usize,
    /// Of `rejected`, those the judge gave no usable verdict for (an LLM judge's empty,
    /// refused or cut-off reply, after retries).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rejected_unscorable: usize,
    /// Training skills.
    pub train_skills: usize,
    /// Holdout skills.
    pub holdout_skills: usize,
    /// Holdout tasks.
    pub holdout_tasks: usize,
    /// Holdout draws skipped because they repeated an earlier task of their skill (same
    /// prompt) and were replaced by the next seed index. Absent (0) in older manifests.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub holdout_duplicates_redrawn: usize,
    /// `holdout_duplicates_redrawn` per holdout skill, skills with none left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub holdout_duplicates: BTreeMap<String, usize>,
    /// Holdout tasks scored by the extractor.
    pub holdout_exact: usize,
    /// `holdout_exact / holdout_tasks`.
    pub holdout_exact_share: f64,
    /// Skills per domain: `[holdout, train]`.
    pub domains: BTreeMap<String, [usize; 2]>,
}

/// A finished build, before writing.
pub struct Built {
    /// Corpus rows.
    pub corpus: Vec<CorpusRow>,
    /// Holdout rows.
    pub holdout: Vec<HoldoutRow>,
    /// The skills used (holdout then train, catalog order within each).
    pub skills: Vec<Skill>,
    /// Counts.
    pub counts: Counts,
}

/// The holdout and the duplicates redrawn to build it.
#[derive(Debug, Clone, PartialEq)]
pub struct Holdout {
    /// Holdout rows, skill by skill in catalog order.
    pub rows: Vec<HoldoutRow>,
    /// Per holdout skill used (every one, zeros included): draws skipped as repeats.
    pub duplicates_redrawn: BTreeMap<String, usize>,
}

/// The holdout: `tasks_per_skill` distinct tasks of each of the first `holdout_skills`
/// holdout skills (see [`build_holdout_counted`]).
pub fn build_holdout(catalog: &Catalog, cfg: &BuildConfig) -> Result<Vec<HoldoutRow>> {
    build_holdout_counted(catalog, cfg).map(|h| h.rows)
}

/// The holdout with its redraw counts. Each skill's tasks have distinct prompts
/// ([`distinct_tasks`]): a draw that repeats one is skipped and the next seed index drawn, so
/// where no draw repeats the holdout is what plain seed indices `0..tasks_per_skill` give.
pub fn build_holdout_counted(catalog: &Catalog, cfg: &BuildConfig) -> Result<Holdout> {
    let skills = catalog.split(Split::Holdout);
    if skills.len() < cfg.holdout_skills {
        return Err(DataError::Build(format!(
            "the catalog has {} holdout skills; {} were asked for",
            skills.len(),
            cfg.holdout_skills
        )));
    }
    let mut rows = Vec::new();
    let mut duplicates_redrawn = BTreeMap::new();
    for skill in skills.into_iter().take(cfg.holdout_skills) {
        let drawn = distinct_tasks(skill, cfg.seed, cfg.tasks_per_skill)?;
        duplicates_redrawn.insert(skill.id.clone(), drawn.duplicates_redrawn);
        for task in drawn.tasks {
            let prompts =
                Condition::ALL.iter().map(|c| (c.name().to_string(), user_prompt(skill, &task, *c))).collect();
            rows.push(HoldoutRow {
                id: format!("holdout-{:03}", rows.len() + 1),
                task_id: task.id,
                skill_id: skill.id.clone(),
                domain: skill.domain.clone(),
                answer_kind: answer_kind(skill),
                seed: task.seed,
                prompt: task.prompt,
                answer: task.answer,
                steps: task.steps,
                rubric: task.rubric,
                prompts,
            });
        }
    }
    Ok(Holdout { rows, duplicates_redrawn })
}

/// Builds corpus and holdout. `progress(done, total)` is called as candidates finish.
pub fn build(
    catalog: &Catalog,
    cfg: &BuildConfig,
    teacher: &Teacher,
    judge: &Judge,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Built> {
    let Holdout { rows: holdout, duplicates_redrawn } = build_holdout_counted(catalog, cfg)?;
    let train = catalog.split(Split::Train);
    if train.is_empty() && cfg.rows > 0 {
        return Err(DataError::Build("the catalog has no training skills".into()));
    }
    let max_candidates = cfg.rows.saturating_mul(cfg.max_candidates_per_row.max(1));
    // Candidates in waves: ask for what is still missing (plus a margin once some fail),
    // keep passes in candidate order.
    let mut results: Vec<Outcome> = Vec::new();
    let mut passed = 0;
    while passed < cfg.rows && results.len() < max_candidates {
        let missing = cfg.rows - passed;
        let rejected = results.len() - passed;
        let margin = if rejected == 0 { 0 } else { missing.div_ceil(4) };
        let wave = (missing + margin).min(max_candidates - results.len());
        let start = results.len();
        let total = start + wave;
        let wave_rows = run_wave(start..total, cfg, &train, teacher, judge, &|done| progress(start + done, total))?;
        passed += wave_rows.iter().filter(|r| matches!(r, Outcome::Kept(_))).count();
        results.extend(wave_rows);
    }
    let candidates = results.len();
    let unscorable = results.iter().filter(|r| matches!(r, Outcome::Unscorable)).count();
    if unscorable > 0 {
        tracing::warn!(
            "{unscorable} of {candidates} candidates got no usable verdict from the judge (counted as rejected)"
        );
    }
    let mut corpus: Vec<CorpusRow> = results
        .into_iter()
        .filter_map(|r| match r {
            Outcome::Kept(row) => Some(*row),
            Outcome::Failed | Outcome::Unscorable => None,
        })
        .take(cfg.rows)
        .collect();
    if corpus.len() < cfg.rows {
        let unscored = if unscorable > 0 {
            format!(" ({unscorable} of the rejected got no usable verdict from the judge: check the judge too)")
        } else {
            String::new()
        };
        return Err(DataError::Build(format!(
            "only {} of {} candidates passed the judge{unscored}; asked for {} rows (raise --max-candidates-per-row or check the teacher)",
            corpus.len(),
            candidates,
            cfg.rows
        )));
    }
    for (i, row) in corpus.iter_mut().enumerate() {
        row.id = format!("corpus-{:05}", i + 1);
    }
    let used_holdout: Vec<Skill> =
        catalog.split(Split::Holdout).into_iter().take(cfg.holdout_skills).cloned().collect();
    let mut skills = used_holdout.clone();
    skills.extend(train.iter().map(|s| (*s).clone()));
    let mut domains: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    for s in &skills {
        domains.entry(s.domain.clone()).or_default()[usize::from(s.split == Split::Train)] += 1;
    }
    let holdout_exact = holdout.iter().filter(|r| r.answer_kind == AnswerKind::Exact).count();
    let counts = Counts {
        corpus_rows: corpus.len(),
        candidates,
        rejected: candidates - passed,
        rejected_unscorable: unscorable,
        train_skills: train.len(),
        holdout_skills: used_holdout.len(),
        holdout_tasks: holdout.len(),
        holdout_duplicates_redrawn: duplicates_redrawn.values().sum(),
        holdout_duplicates: duplicates_redrawn.into_iter().filter(|(_, n)| *n > 0).collect(),
        holdout_exact,
        holdout_exact_share: if holdout.is_empty() { 0.0 } else { holdout_exact as f64 / holdout.len() as f64 },
        domains,
    };
    Ok(Built { corpus, holdout, skills, counts })
}

/// Candidate `k` is task `k / n` of training skill `k % n`: the corpus cycles through the
/// skills, so every prefix is balanced across them.
fn run_wave(
    range: std::ops::Range<usize>,
    cfg: &BuildConfig,
    train: &[&Skill],
    teacher: &Teacher,
    judge: &Judge,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Outcome>> {
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let candidates: Vec<usize> = range.collect();
    // After a failure no new candidate is started (`None`); the failure is returned below.
    let out = crate::parallel::par_map(&candidates, cfg.concurrency, |&k| {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let r = candidate(k, cfg, train[k % train.len()], k / train.len(), teacher, judge);
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        progress(done.fetch_add(1, Ordering::Relaxed) + 1);
        Some(r)
    });
    let mut rows = Vec::with_capacity(out.len());
    // A `None` was never started because another candidate failed; that error comes first.
    for r in out.into_iter().flatten() {
        rows.push(r?);
    }
    Ok(rows)
}

fn candidate(
    k: usize,
    cfg: &BuildConfig,
    skill: &Skill,
    index: usize,
    teacher: &Teacher,
    judge: &Judge,
) -> Result<Outcome> {
    let seed = task_seed(cfg.seed, &skill.id, index);
    let task = generate(skill, seed)?;
    let prompt = user_prompt(skill, &task, Condition::Curated);
    let teacher_seed = task_seed(cfg.seed ^ 0x7eac_4e75, &skill.id, k);
    let reply = teacher.reply(skill, &task, &prompt, teacher_seed)?;
    let verdict = judge.judge(skill, &task, &reply.content)?;
    if verdict.unscorable() {
        tracing::debug!(task = task.id, error = ?verdict.error, "the judge could not score a candidate");
        return Ok(Outcome::Unscorable);
    }
    if !verdict.passed() {
        tracing::debug!(task = task.id, detail = ?verdict.detail, "judge rejected a candidate");
        return Ok(Outcome::Failed);
    }
    let provenance = Provenance {
        teacher: teacher.describe(),
        judge: judge.describe(),
        build_seed: cfg.seed,
        task_seed: seed,
        teacher_seed,
        prompt_sha256: sha256_hex(prompt.as_bytes()),
        skill_sha256: sha256_hex(serde_json::to_string(skill).expect("skills serialize").as_bytes()),
    };
    Ok(Outcome::Kept(Box::new(CorpusRow {
        id: String::new(),
        skill_id: skill.id.clone(),
        domain: skill.domain.clone(),
        task_id: task.id.clone(),
        messages: vec![
            ChatMessage { role: "user".into(), reasoning_content: None, content: prompt },
            ChatMessage {
                role: "assistant".into(),
                reasoning_content: Some(reply.reasoning).filter(|r| !r.is_empty()),
                content: reply.content,
            },
        ],
        reference: task.answer,
        answer_kind: answer_kind(skill),
        verdict,
        provenance,
    })))
}

/// What became of one teacher candidate.
enum Outcome {
    /// Passed the judge: a corpus row.
    Kept(Box<CorpusRow>),
    /// The judge failed it.
    Failed,
    /// The judge gave no usable verdict.
    Unscorable,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How a task is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// An `ANSWER:` line the extractor compares.
    Exact,
    /// A written reply judged against a rubric.
    FreeForm,
}

fn answer_kind(skill: &Skill) -> AnswerKind {
    if skill.answer.is_exact() { AnswerKind::Exact } else { AnswerKind::FreeForm }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One output file's fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// JSONL lines.
    pub lines: usize,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `skillsft-data <version>`.
    pub tool: String,
    /// The build settings.
    pub config: BuildConfig,
    /// Teacher description.
    pub teacher: String,
    /// Judge description.
    pub judge: String,
    /// Counts.
    pub counts: Counts,
    /// Output files by name.
    pub files: BTreeMap<String, FileEntry>,
}

/// Writes `corpus.jsonl`, `holdout.jsonl`, `skills.jsonl` and `manifest.json` into `dir`,
/// each atomically (temporary file, then rename); the manifest goes last.
pub fn write(dir: &Path, built: &Built, cfg: &BuildConfig, teacher: &str, judge: &str) -> Result<Manifest> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let mut files = BTreeMap::new();
    let corpus = jsonl(&built.corpus);
    let holdout = jsonl(&built.holdout);
    let skills = jsonl(&built.skills);
    for (name, text, lines) in [
        ("corpus.jsonl", corpus, built.corpus.len()),
        ("holdout.jsonl", holdout, built.holdout.len()),
        ("skills.jsonl", skills, built.skills.len()),
    ] {
        write_atomic(&dir.join(name), text.as_bytes())?;
        files.insert(
            name.to_string(),
            FileEntry { sha256: sha256_hex(text.as_bytes()), bytes: text.len() as u64, lines },
        );
    }
    let manifest = Manifest {
        tool: concat!("skillsft-data ", env!("CARGO_PKG_VERSION")).into(),
        config: cfg.clone(),
        teacher: teacher.into(),
        judge: judge.into(),
        counts: built.counts.clone(),
        files,
    };
    let mut text = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
    text.push('\n');
    write_atomic(&dir.join("manifest.json"), text.as_bytes())?;
    Ok(manifest)
}

fn jsonl<T: Serialize>(rows: &[T]) -> String {
    let mut s = String::new();
    for r in rows {
        s.push_str(&serde_json::to_string(r).expect("rows serialize"));
        s.push('\n');
    }
    s
}

/// Writes `bytes` to `path` through a temporary file in the same directory (`tempfile`'s,
/// removed if the write fails) and a rename, so readers never see a half-written file; the
/// model crate's `qwen35::write_atomic` does the same.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| DataError::io(path, e))?;
    tmp.write_all(bytes).map_err(|e| DataError::io(path, e))?;
    tmp.persist(path).map_err(|e| DataError::io(path, e.error))?;
    Ok(())
}

/// Reads a JSONL file of `T`, naming the file and line of the first bad line.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| DataError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?);
    }
    Ok(out)
}
