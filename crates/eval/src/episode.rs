//! Episode records and the `episodes.jsonl` log that makes `eval run` resumable.
//!
//! An episode is one (student, stage, condition, task): the prompt the student saw (as a
//! hash), its full output, the visible answer the judges read, and one verdict per scoring
//! path. The log is appended one line per finished episode, so an interrupted run loses at
//! most the batch in flight; a torn last line (the process died mid-write) is dropped on
//! reopening, a corrupt line anywhere else is an error naming it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EvalError, Result, io};
use crate::report::Verdict;
use skillsft_data::dataset::AnswerKind;
pub use skillsft_data::prompt::Condition;

/// Before or after SFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The base model.
    Pre,
    /// The fine-tuned model.
    Post,
}

impl Stage {
    /// `pre` or `post`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Pre => "pre",
            Stage::Post => "post",
        }
    }
}

// Ordered by name (`post` < `pre`), as reports have always listed them.
impl Ord for Stage {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Stage {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Compares with the wire name (`pre`, `post`).
impl PartialEq<&str> for Stage {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "pre" => Ok(Stage::Pre),
            "post" => Ok(Stage::Post),
            other => Err(format!("stage must be pre or post, got {other:?}")),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finish {
    /// The model ended its turn.
    Stop,
    /// The token budget ran out.
    Length,
}

/// One scoring path's verdict on an episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathVerdict {
    /// The scoring path (see [`crate::scoring`]): Δ, lift and agreement only compare verdicts
    /// of one path.
    pub judge: String,
    /// Which judge of that path decided this task (`answer-extractor`, `rubric-facts`,
    /// `llm:anthropic:MODEL`).
    pub by: String,
    /// Pass or fail; `None` when the judge gave no usable verdict (see `error`). Statistics
    /// use only pairs both of whose sides were scored.
    pub pass: Option<bool>,
    /// The answer value the extractor read (extractor verdicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// Unmet criteria or the LLM judge's justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Why there is no verdict (an LLM judge's empty, refused or cut-off reply, after retries);
    /// `eval judge --retry-unscorable` and a rerun of `eval run` ask again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One student reply to one holdout prompt, with its verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The student (`qwen3.5-0.8b`, `claude-haiku-4-5`, ...).
    pub student: String,
    /// Before or after SFT.
    pub stage: Stage,
    /// `curated` (task + procedure) or `baseline` (task alone).
    pub condition: Condition,
    /// The holdout task.
    pub task_id: String,
    /// The task's skill.
    pub skill_id: String,
    /// The seed of the training run behind a post-SFT student (0 when absent, and before SFT).
    #[serde(default)]
    pub seed: u64,
    /// Which reply to this (task, condition) this is, when a task is answered several times
    /// at temperature > 0 (0 when absent).
    #[serde(default)]
    pub sample: u32,
    /// `exact` or `free_form`.
    pub answer_kind: AnswerKind,
    /// SHA-256 of exactly what the student was sent (rendered chat prompt for a local model;
    /// system + user turn + model for an API student). A resumed run refuses a changed prompt.
    pub prompt_hash: String,
    /// Everything the student generated (reasoning included), special tokens removed.
    pub output: String,
    /// The reasoning part, when the student thought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The visible reply the judges read (after `</think>`).
    pub answer_text: String,
    /// The value of the reply's last `ANSWER:` line, if it has one with a non-empty value
    /// (whatever the task kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// `stop` (end of turn) or `length` (the token budget ran out).
    pub finish: Finish,
    /// Tokens generated (local students) or 0 when the API does not say.
    pub output_tokens: usize,
    /// One verdict per scoring path.
    pub verdicts: Vec<PathVerdict>,
}

/// What identifies an episode in a log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EpisodeKey {
    /// Student.
    pub student: String,
    /// Before or after SFT.
    pub stage: Stage,
    /// Curated or baseline.
    pub condition: Condition,
    /// Holdout task.
    pub task_id: String,
    /// Training seed.
    pub seed: u64,
    /// Sample index.
    pub sample: u32,
}

impl std::fmt::Display for EpisodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {} {}", self.student, self.stage, self.condition, self.task_id)?;
        if self.seed != 0 {
            write!(f, " seed {}", self.seed)?;
        }
        if self.sample != 0 {
            write!(f, " sample {}", self.sample)?;
        }
        Ok(())
    }
}

impl Episode {
    /// (student, stage, condition, task_id, seed, sample).
    pub fn key(&self) -> EpisodeKey {
        EpisodeKey {
            student: self.student.clone(),
            stage: self.stage,
            condition: self.condition,
            task_id: self.task_id.clone(),
            seed: self.seed,
            sample: self.sample,
        }
    }

    /// The report's view: one [`Verdict`] per path.
    pub fn report_verdicts(&self) -> impl Iterator<Item = Verdict> + '_ {
        self.verdicts.iter().map(|v| Verdict {
            student: self.student.clone(),
            stage: self.stage,
            condition: self.condition,
            task_id: self.task_id.clone(),
            skill_id: Some(self.skill_id.clone()),
            seed: self.seed,
            sample: self.sample,
            judge: v.judge.clone(),
            pass: v.pass,
        })
    }
}

/// Hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The episodes of one `episodes.jsonl`, kept in file order, appended as they finish.
#[derive(Debug)]
pub struct EpisodeLog {
    path: PathBuf,
    episodes: Vec<Episode>,
    index: BTreeMap<EpisodeKey, usize>,
}

impl EpisodeLog {
    /// Opens (or creates) the log at `path`. A torn last line is cut off (with a warning on
    /// stderr); any other line that is not an episode is an error naming it, and so is an
    /// episode that appears twice.
    pub fn open(path: &Path) -> Result<Self> {
        let mut log = EpisodeLog { path: path.to_path_buf(), episodes: Vec::new(), index: BTreeMap::new() };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(log),
            Err(e) => return Err(io(path)(e)),
        };
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut good_bytes = 0;
        for (i, raw) in lines.iter().enumerate() {
            let line = raw.trim();
            let torn = i + 1 == lines.len() && !raw.ends_with('\n');
            if line.is_empty() {
                good_bytes += raw.len();
                continue;
            }
            match serde_json::from_str::<Episode>(line) {
                Ok(ep) => {
                    let key = ep.key();
                    if log.index.contains_key(&key) {
                        return Err(EvalError::Episodes {
                            path: path.into(),
                            line: i + 1,
                            message: format!("episode ({key}) appears twice"),
                        });
                    }
                    log.index.insert(key, log.episodes.len());
                    log.episodes.push(ep);
                    good_bytes += raw.len();
                }
                Err(_) if torn => {
                    tracing::warn!(
                        "{}:{}: dropping a partly written last line (an interrupted run); that episode will be redone",
                        path.display(),
                        i + 1
                    );
                    let f = std::fs::OpenOptions::new().write(true).open(path).map_err(io(path))?;
                    f.set_len(good_bytes as u64).map_err(io(path))?;
                }
                Err(e) => {
                    return Err(EvalError::Episodes {
                        path: path.into(),
                        line: i + 1,
                        message: format!("not an episode: {e}"),
                    });
                }
            }
        }
        Ok(log)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every episode, in file order.
    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    /// The recorded episode with `key`.
    pub fn get(&self, key: &EpisodeKey) -> Option<&Episode> {
        self.index.get(key).map(|&i| &self.episodes[i])
    }

    /// Appends `episode` to the file (one line, flushed and synced) and the index.
    pub fn append(&mut self, episode: Episode) -> Result<()> {
        let key = episode.key();
        if self.index.contains_key(&key) {
            return Err(EvalError::Config(format!("episode ({key}) is already in {}", self.path.display())));
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut line = serde_json::to_string(&episode).expect("episodes serialize");
        line.push('\n');
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(io(&self.path))?;
        f.write_all(line.as_bytes()).map_err(io(&self.path))?;
        f.sync_data().map_err(io(&self.path))?;
        self.index.insert(key, self.episodes.len());
        self.episodes.push(episode);
        Ok(())
    }

    /// Adds `verdict` to the episode at `index` in memory (see [`EpisodeLog::rewrite`]).
    pub fn add_verdict(&mut self, index: usize, verdict: PathVerdict) {
        let ep = &mut self.episodes[index];
        ep.verdicts.retain(|v| v.judge != verdict.judge);
        ep.verdicts.push(verdict);
    }

    /// Writes the whole log again, atomically (temp file + rename): after re-judging.
    pub fn rewrite(&self) -> Result<()> {
        let mut text = String::new();
        for ep in &self.episodes {
            text.push_str(&serde_json::to_string(ep).expect("episodes serialize"));
            text.push('\n');
        }
        Ok(qwen35::write_atomic(&self.path, text.as_bytes())?)
    }
}

/// Reads verdicts for `eval report`: each line is either an [`Episode`] (one verdict per
/// entry of `verdicts`) or a flat verdict record
/// `{"student","stage","condition","task_id","judge","pass"}` with optional `skill_id`, `seed`
/// and `sample`.
pub fn read_verdicts(path: &Path) -> Result<Vec<Verdict>> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| EvalError::Episodes { path: path.into(), line: i + 1, message };
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        if value.get("verdicts").is_some() {
            let ep: Episode = serde_json::from_value(value).map_err(|e| bad(format!("not an episode: {e}")))?;
            out.extend(ep.report_verdicts());
        } else {
            out.push(serde_json::from_value(value).map_err(|e| {
                bad(format!(
                    "neither an episode nor a verdict record {{student, stage, condition, task_id, judge, pass; optional skill_id, seed, sample}}: {e}"
                ))
            })?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(task: &str, pass: bool) -> Episode {
        Episode {
            student: "s".into(),
            stage: Stage::Pre,
            condition: Condition::Curated,
            task_id: task.into(),
            skill_id: "k".into(),
            seed: 0,
            sample: 0,
            answer_kind: AnswerKind::Exact,
            prompt_hash: sha256_hex(task),
            output: "ANSWER: 4".into(),
            reasoning: None,
            answer_text: "ANSWER: 4".into(),
            extracted: Some("4".into()),
            finish: Finish::Stop,
            output_tokens: 3,
            verdicts: vec![PathVerdict {
                judge: "offline".into(),
                by: "answer-extractor".into(),
                pass: Some(pass),
                extracted: Some("4".into()),
                detail: None,
                error: None,
            }],
        }
    }

    #[test]
    fn log_appends_reopens_and_drops_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("episodes.jsonl");
        let mut log = EpisodeLog::open(&path).unwrap();
        log.append(episode("t1", true)).unwrap();
        log.append(episode("t2", false)).unwrap();
        assert!(log.append(episode("t2", false)).is_err(), "a second t2 is refused");
        // A write cut short by a crash.
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"student\":\"s\",\"sta").unwrap();
        drop(f);
        let log = EpisodeLog::open(&path).unwrap();
        assert_eq!(log.episodes().len(), 2);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"), "torn line cut off");
        let v = read_verdicts(&path).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].pass, v[1].pass), (Some(true), Some(false)));
    }

    #[test]
    fn a_corrupt_middle_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("episodes.jsonl");
        let good = serde_json::to_string(&episode("t1", true)).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let err = EpisodeLog::open(&path).unwrap_err().to_string();
        assert!(err.contains("episodes.jsonl:2:"), "{err}");
        let err = read_verdicts(&path).unwrap_err().to_string();
        assert!(err.contains("episodes.jsonl:2:"), "{err}");
    }

    #[test]
    fn flat_verdict_records_are_read_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.jsonl");
        std::fs::write(
            &path,
            r#"{"student":"a","stage":"post","condition":"baseline","task_id":"x","judge":"j","pass":true,"extra":1}"#,
        )
        .unwrap();
        let v = read_verdicts(&path).unwrap();
        assert_eq!(v[0].stage, Stage::Post);
    }
}
