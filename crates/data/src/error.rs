//! Typed errors for skills, tasks, teachers, judges, templates and tokenization.
//!
//! Every variant names where the bad input came from (file and line, skill id, URL), so a
//! user who brought their own skills can fix the exact line without reading our source.

use std::path::PathBuf;

/// Everything that can go wrong in this crate on input the caller controls.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },

    /// A line of a JSONL file is not valid JSON for its schema, or breaks a rule of the schema.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file (or `<builtin>/name` for the embedded catalog).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong, in words.
        message: String,
    },

    /// Two skills share an id.
    #[error("duplicate skill id {id:?}: {first} and {second}")]
    DuplicateSkill {
        /// The id.
        id: String,
        /// `file:line` of the first definition.
        first: String,
        /// `file:line` of the second definition.
        second: String,
    },

    /// A holdout skill and a training skill share a procedure (the bench would leak).
    #[error("holdout skill {holdout:?} ({holdout_at}) and training skill {train:?} ({train_at}) {what}")]
    SplitOverlap {
        /// The holdout skill id.
        holdout: String,
        /// Where it is defined.
        holdout_at: String,
        /// The training skill id.
        train: String,
        /// Where it is defined.
        train_at: String,
        /// What they share.
        what: String,
    },

    /// A skill names a generator kind this build does not have.
    #[error("skill {skill:?}: unknown generator kind {kind:?} (known: {known})")]
    UnknownGenerator {
        /// The skill id.
        skill: String,
        /// The kind asked for.
        kind: String,
        /// Comma-separated list of known kinds.
        known: String,
    },

    /// A generator's parameters are missing or of the wrong type.
    #[error("skill {skill:?}: generator {kind:?}: parameter {name:?}: {message}")]
    Param {
        /// The skill id.
        skill: String,
        /// The generator kind.
        kind: String,
        /// The parameter name.
        name: String,
        /// What is wrong.
        message: String,
    },

    /// A generator produced a task that breaks the task invariants (wrong step count, empty answer).
    #[error("skill {skill:?} (seed {seed}): generated task is invalid: {message}")]
    BadTask {
        /// The skill id.
        skill: String,
        /// The task seed.
        seed: u64,
        /// What is wrong.
        message: String,
    },

    /// The build cannot satisfy what was asked (e.g. too few skills for the holdout).
    #[error("{0}")]
    Build(String),

    /// An HTTP API call failed for good (after retries) or returned a body we cannot parse.
    #[error("{provider} request to {url} failed: {message}")]
    Api {
        /// `anthropic` or `openai`.
        provider: String,
        /// The endpoint.
        url: String,
        /// What went wrong, including the status and a snippet of the body when there is one.
        message: String,
    },

    /// The chat template failed to load or render.
    #[error("chat template {source_name}: {message}")]
    Template {
        /// Where the template came from.
        source_name: String,
        /// The template engine's message.
        message: String,
    },

    /// A data file cannot be read as a dataset at all: an unknown extension, a corrupt
    /// Parquet file, a `.json` array that does not parse, a directory with no data file.
    #[error("{path}: {message}")]
    Dataset {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// One row of a dataset is unusable (bad JSON, no known format, roles out of order, …);
    /// callers that skip bad rows get these one by one from [`crate::formats`].
    #[error(transparent)]
    Row(#[from] crate::formats::RowError),

    /// The tokenizer failed to load or encode.
    #[error("tokenizer {path}: {message}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, DataError>;
