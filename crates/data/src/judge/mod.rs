//! Judges: the deterministic `ANSWER:` extractor for exact tasks, the offline rubric-facts
//! judge for free-form tasks, and an LLM judge (any [`ChatClient`]) with a rubric prompt.
//!
//! [`Judge::judge`] picks per task: exact tasks go to the extractor unless the judge is an
//! LLM in *LLM-only* mode (the paper's re-judge, which also credits answers stated in prose
//! without an `ANSWER:` line); free-form tasks go to the rubric judge or the LLM.

pub mod extract;
pub mod llm;
pub mod rubric;

use serde::{Deserialize, Serialize};

use crate::api::ChatClient;
use crate::error::Result;
use crate::skill::{AnswerSpec, Skill};
use crate::task::Task;

/// A judge's decision on one response, stored with each corpus row and eval episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Which judge decided (`answer-extractor`, `rubric-facts`, `llm:anthropic:MODEL`).
    pub judge: String,
    /// Pass or fail; `None` when the judge gave no usable verdict (an LLM judge's empty,
    /// refused, cut-off or garbled reply, after retries): see `error`.
    pub pass: Option<bool>,
    /// The extracted answer value (extractor only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// Why: unmet criteria, or the LLM judge's justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Why there is no verdict (`pass` is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Verdict {
    /// A judge's decision (`pass` is set).
    pub fn decided(judge: impl Into<String>, pass: bool) -> Self {
        Verdict { judge: judge.into(), pass: Some(pass), extracted: None, detail: None, error: None }
    }

    /// True only for a scored pass.
    pub fn passed(&self) -> bool {
        self.pass == Some(true)
    }

    /// True when the judge gave no usable verdict.
    pub fn unscorable(&self) -> bool {
        self.pass.is_none()
    }
}

/// Which judge scores responses.
pub enum Judge {
    /// Extractor for exact tasks, rubric facts for free-form tasks. No network.
    Offline,
    /// An LLM judge for free-form tasks (and for every task when `all_tasks`).
    Llm {
        /// The client that asks the judge model.
        client: ChatClient,
        /// LLM-only re-judge: exact tasks go to the LLM too.
        all_tasks: bool,
    },
}

impl Judge {
    /// How this judge is recorded in provenance.
    pub fn describe(&self) -> String {
        match self {
            Judge::Offline => "offline (answer-extractor + rubric-facts)".into(),
            Judge::Llm { client, all_tasks: false } => format!("answer-extractor + llm:{}", client.describe()),
            Judge::Llm { client, all_tasks: true } => format!("llm-only:{}", client.describe()),
        }
    }

    /// Scores `response` (the visible answer text) for `task`.
    pub fn judge(&self, skill: &Skill, task: &Task, response: &str) -> Result<Verdict> {
        match (self, &skill.answer) {
            (Judge::Llm { client, all_tasks }, spec) if *all_tasks || !spec.is_exact() => {
                llm::judge(client, skill, task, response)
            }
            (_, AnswerSpec::Exact { .. }) => {
                let e = extract::judge(&skill.answer, &task.answer, response);
                Ok(Verdict { extracted: e.extracted, ..Verdict::decided("answer-extractor", e.pass) })
            }
            (_, AnswerSpec::FreeForm { .. }) => Ok(rubric::judge(task, response)),
        }
    }
}
