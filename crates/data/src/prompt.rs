//! The user turn a student (or teacher) reads: the task, with or without the skill's
//! procedure, and the answer-format instruction the judges rely on.
//!
//! The two conditions differ only by the procedure block, so procedural Δ measures the
//! procedure and nothing else.

use serde::{Deserialize, Serialize};

use crate::skill::{AnswerSpec, Skill};
use crate::task::Task;

/// Whether the prompt shows the skill's procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Task plus the skill's procedure block ("curated").
    Curated,
    /// Task alone ("baseline").
    Baseline,
}

// Ordered by name (`baseline` < `curated`), as reports have always listed them.
impl Ord for Condition {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Condition {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Compares with the wire name (`curated`, `baseline`).
impl PartialEq<&str> for Condition {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl std::str::FromStr for Condition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Condition::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("condition must be curated or baseline, got {s:?}"))
    }
}

impl Condition {
    /// Both conditions, curated first.
    pub const ALL: [Condition; 2] = [Condition::Curated, Condition::Baseline];

    /// `curated` or `baseline`.
    pub fn name(self) -> &'static str {
        match self {
            Condition::Curated => "curated",
            Condition::Baseline => "baseline",
        }
    }
}

/// The instruction that ends every exact-answer prompt; the extractor reads the line it asks for.
pub const EXACT_INSTRUCTION: &str = "Work through the task step by step. End your reply with a final line of the form `ANSWER: <value>`, giving only the value in the format the task asks for.";

/// The instruction that ends every free-form prompt.
pub const FREE_FORM_INSTRUCTION: &str = "Work through the task step by step, then give your answer as a short written reply that states your conclusion and the facts it rests on.";

/// The user message for `task` of `skill` under `condition`.
pub fn user_prompt(skill: &Skill, task: &Task, condition: Condition) -> String {
    let instruction = match skill.answer {
        AnswerSpec::Exact { .. } => EXACT_INSTRUCTION,
        AnswerSpec::FreeForm { .. } => FREE_FORM_INSTRUCTION,
    };
    match condition {
        Condition::Curated => format!(
            "Use the following skill to solve the task.\n\n{}\n\n# Task\n\n{}\n\n{instruction}",
            skill.procedure_block(),
            task.prompt.trim()
        ),
        Condition::Baseline => format!("# Task\n\n{}\n\n{instruction}", task.prompt.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skill::{AnswerFormat, GeneratorSpec, Split};

    #[test]
    fn conditions_differ_only_by_the_procedure_block() {
        let skill = Skill {
            id: "s".into(),
            title: "Add".into(),
            domain: "arithmetic".into(),
            split: Split::Holdout,
            procedure: "1. a\n2. b\n3. c\n4. d\n5. e".into(),
            answer: AnswerSpec::Exact {
                format: AnswerFormat::Integer,
                unit: None,
                tolerance: None,
                case_sensitive: false,
            },
            generator: GeneratorSpec { kind: "fixed".into(), params: Default::default() },
        };
        let task = Task {
            id: "s/0".into(),
            skill_id: "s".into(),
            seed: 0,
            prompt: "What is 2 + 2?".into(),
            answer: "4".into(),
            steps: vec![],
            rubric: vec![],
        };
        let curated = user_prompt(&skill, &task, Condition::Curated);
        let baseline = user_prompt(&skill, &task, Condition::Baseline);
        assert!(curated.contains("## Skill: Add\n\n1. a") && !baseline.contains("Skill"));
        assert!(curated.ends_with(&baseline), "{curated}");
        assert!(baseline.ends_with(EXACT_INSTRUCTION));
    }
}
