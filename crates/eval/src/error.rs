//! The eval crate's errors: each names the file, line or setting it is about.

use std::path::PathBuf;

/// Why an eval step failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of an episodes file that is not an episode (or a verdict record).
    #[error("{path}:{line}: {message}")]
    Episodes {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A bad setting (flag, study file, student spec).
    #[error("{0}")]
    Config(String),
    /// Stopped on request (Ctrl-C) before the end; everything finished so far is kept.
    #[error("interrupted; run the same command again to continue")]
    Interrupted,
    /// The data crate (holdout, skills, judges, API clients).
    #[error(transparent)]
    Data(Box<skillsft_data::DataError>),
    /// The model (loading, generation).
    #[error(transparent)]
    Model(Box<qwen35::Qwen35Error>),
    /// The trainer (study runs).
    #[error(transparent)]
    Train(Box<skillsft_train::TrainError>),
    /// The statistics refused the verdicts (e.g. mixed scoring paths).
    #[error(transparent)]
    Report(Box<crate::report::ReportError>),
    /// Drawing or encoding a plot.
    #[error("plot {path}: {message}")]
    Plot {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

// The wrapped errors are boxed so that `Result<T, EvalError>` stays small.
impl From<crate::report::ReportError> for EvalError {
    fn from(e: crate::report::ReportError) -> Self {
        EvalError::Report(Box::new(e))
    }
}

impl From<skillsft_data::DataError> for EvalError {
    fn from(e: skillsft_data::DataError) -> Self {
        EvalError::Data(Box::new(e))
    }
}

impl From<qwen35::Qwen35Error> for EvalError {
    fn from(e: qwen35::Qwen35Error) -> Self {
        EvalError::Model(Box::new(e))
    }
}

impl From<skillsft_train::TrainError> for EvalError {
    fn from(e: skillsft_train::TrainError) -> Self {
        EvalError::Train(Box::new(e))
    }
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, EvalError>;

/// Maps an `io::Error` on `path`.
pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> EvalError {
    let path = path.into();
    move |source| EvalError::Io { path, source }
}
