//! Errors of the trainer, each naming the file, line or setting at fault.

use std::path::PathBuf;

/// Everything that can stop a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is inconsistent.
    #[error("invalid training config: {0}")]
    Config(String),
    /// The loss stopped being a number: training diverged (or the data holds something the
    /// model cannot take). The last checkpoint is untouched.
    #[error("loss became {loss} at step {step}: lower the learning rate or check the data")]
    NonFiniteLoss {
        /// The 1-based optimizer step.
        step: usize,
        /// The value (NaN or ±inf).
        loss: f64,
    },
    /// A checkpoint cannot be used.
    #[error("checkpoint {dir}: {reason}")]
    Checkpoint {
        /// The checkpoint directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// The model crate failed (loading, shapes, ids).
    #[error(transparent)]
    Model(#[from] qwen35::Qwen35Error),
    /// The data crate failed (template, tokenizer).
    #[error(transparent)]
    DataCrate(#[from] skillsft_data::DataError),
    /// Resolving or downloading the model failed.
    #[error(transparent)]
    Hub(Box<skillsft_hub::HubError>),
    /// A safetensors file could not be read or written.
    #[error("{path}: {message}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl From<skillsft_hub::HubError> for TrainError {
    fn from(e: skillsft_hub::HubError) -> Self {
        TrainError::Hub(Box::new(e))
    }
}

/// `Result` with [`TrainError`].
pub type Result<T> = std::result::Result<T, TrainError>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TrainError {
    let path = path.into();
    move |source| TrainError::Io { path, source }
}
