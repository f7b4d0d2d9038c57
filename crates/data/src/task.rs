//! Tasks: what a generator yields for one seed.

use serde::{Deserialize, Serialize};

/// One step of the worked solution, aligned with the procedure's step of the same index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The work done in this step, written out (`"3.5 ft × 12 in/ft = 42 in"`).
    pub work: String,
    /// The step's intermediate value (`"42 in"`).
    pub value: String,
}

/// One thing a free-form answer must do, with the facts that show it was done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// What the answer must do, in words (shown to an LLM judge).
    pub criterion: String,
    /// Strings that must appear in the answer (compared case- and space-insensitively) for
    /// the offline rubric judge to count the criterion as met. Empty: only an LLM judge can
    /// check it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<String>,
}

/// What a generator returns; `generators::generate` checks it and wraps it into a [`Task`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Generated {
    /// The task as the student reads it (no procedure, no answer format line).
    pub prompt: String,
    /// The reference answer: the exact value, or for free-form tasks a model answer that
    /// meets every rubric criterion.
    pub answer: String,
    /// One entry per procedure step.
    pub steps: Vec<Step>,
    /// Free-form tasks only: the criteria the answer is judged on.
    pub rubric: Vec<Criterion>,
}

/// A generated task with its identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `<skill id>/<seed as 16 hex digits>`.
    pub id: String,
    /// The skill that generated it.
    pub skill_id: String,
    /// The generator seed; the same seed always gives the same task.
    pub seed: u64,
    /// The task text.
    pub prompt: String,
    /// The reference answer (see [`Generated::answer`]).
    pub answer: String,
    /// The worked steps.
    pub steps: Vec<Step>,
    /// The rubric (free-form tasks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<Criterion>,
}
