//! Scoring paths: which judges decide an episode, named so that verdicts are only ever
//! compared with verdicts of the same path.
//!
//! | path | exact tasks | free-form tasks |
//! |---|---|---|
//! | `offline` | `ANSWER:` extractor | rubric-facts judge (no network) |
//! | `extractor+llm:PROVIDER:MODEL@PROMPT` | `ANSWER:` extractor | LLM judge |
//! | `llm-only:PROVIDER:MODEL@PROMPT` | LLM judge | LLM judge |
//!
//! `PROMPT` is [`skillsft_data::judge::llm::prompt_id`], so a reworded judge prompt is a new
//! path. The study this reproduces retracted two findings that compared a pre-SFT score from
//! one path with a post-SFT score from another; the report refuses such comparisons.

use skillsft_data::api::ChatClient;
use skillsft_data::judge::{Judge, llm};
use skillsft_data::skill::Skill;
use skillsft_data::task::Task;

use crate::episode::PathVerdict;
use crate::error::Result;

/// A judge configuration with its path name.
pub struct Scorer {
    path: String,
    judge: Judge,
}

impl Scorer {
    /// The offline path: extractor + rubric facts.
    pub fn offline() -> Self {
        Scorer { path: "offline".into(), judge: Judge::Offline }
    }

    /// An LLM judge for free-form tasks (and for every task when `llm_only`).
    pub fn llm(client: ChatClient, llm_only: bool) -> Self {
        let who = format!("{}@{}", client.describe(), llm::prompt_id());
        let path = if llm_only { format!("llm-only:{who}") } else { format!("extractor+llm:{who}") };
        Scorer { path, judge: Judge::Llm { client, all_tasks: llm_only } }
    }

    /// The path name recorded with each verdict.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Scores the visible reply `answer_text` to `task` of `skill`.
    pub fn score(&self, skill: &Skill, task: &Task, answer_text: &str) -> Result<PathVerdict> {
        let v = self.judge.judge(skill, task, answer_text)?;
        Ok(PathVerdict {
            judge: self.path.clone(),
            by: v.judge,
            pass: v.pass,
            extracted: v.extracted,
            detail: v.detail,
            error: v.error,
        })
    }
}

/// Builds the scorer named by `spec`: `offline`, `PROVIDER:MODEL` (extractor + LLM judge for
/// free-form tasks) or `llm-only:PROVIDER:MODEL`. API replies are cached under `cache_dir`,
/// so a re-run re-judges nothing it already asked.
pub fn parse_scorer(spec: &str, base_url: Option<&str>, cache_dir: &std::path::Path) -> Result<Scorer> {
    use skillsft_data::api::{ModelSpec, cache::ResponseCache, http::Transport};
    if spec == "offline" {
        return Ok(Scorer::offline());
    }
    let (llm_only, model) = match spec.strip_prefix("llm-only:") {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let model: ModelSpec =
        model.parse().map_err(|e: String| crate::error::EvalError::Config(format!("judge {spec:?}: {e}")))?;
    let transport = Transport::new(
        std::time::Duration::from_secs(120),
        5,
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(120),
    );
    let client = ChatClient::from_env(&model, base_url, None, transport, Some(ResponseCache::open(cache_dir)?))?;
    Ok(Scorer::llm(client, llm_only))
}
