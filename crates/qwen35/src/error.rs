//! Typed errors for configuration, checkpoint loading and generation.
//!
//! Every variant names what went wrong and where (file, tensor key, shapes), so a user with a
//! broken download can tell which file to fetch again without reading our source.

use std::path::PathBuf;

/// Everything that can go wrong in this crate on input the caller controls.
#[derive(Debug, thiserror::Error)]
pub enum Qwen35Error {
    /// A file could not be opened, mapped or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file we tried to read.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },

    /// `config.json` is not valid JSON or lacks a required field.
    #[error("invalid config {path}: {message}")]
    Config {
        /// The config file (or `<preset>` / `<json>` when not from a file).
        path: PathBuf,
        /// What is wrong, in words.
        message: String,
    },

    /// The config's `model_type` is not a dense Qwen3.5 text decoder.
    #[error("unsupported model_type {model_type:?} in {path} (expected qwen3_5 or qwen3_5_text)")]
    UnsupportedModelType {
        /// The config file.
        path: PathBuf,
        /// The `model_type` found.
        model_type: String,
    },

    /// A safetensors file is truncated, has a corrupt header or inconsistent offsets.
    #[error("corrupt safetensors file {path}: {message}")]
    CorruptCheckpoint {
        /// The safetensors file.
        path: PathBuf,
        /// The parser's description of the problem.
        message: String,
    },

    /// A tensor the model needs is in none of the checkpoint files.
    #[error("tensor {key:?} is missing from the checkpoint in {dir}")]
    MissingTensor {
        /// The checkpoint key, with its original prefix.
        key: String,
        /// The model directory.
        dir: PathBuf,
    },

    /// A tensor has a different shape from what the config implies.
    #[error("tensor {key:?} in {path} has shape {found:?}, the config implies {expected:?}")]
    ShapeMismatch {
        /// The checkpoint key.
        key: String,
        /// The file holding it.
        path: PathBuf,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape stored in the file.
        found: Vec<usize>,
    },

    /// A tensor is stored in a dtype we cannot convert to a float weight.
    #[error("tensor {key:?} in {path} has unsupported dtype {dtype} (expected F32, F16 or BF16)")]
    UnsupportedDtype {
        /// The checkpoint key.
        key: String,
        /// The file holding it.
        path: PathBuf,
        /// The stored dtype.
        dtype: String,
    },

    /// Text-model tensors were left over after building the model: the checkpoint and the
    /// config disagree (for example a config with fewer layers than the checkpoint).
    #[error("checkpoint in {dir} has {} tensor(s) the config does not use, e.g. {:?}", keys.len(), keys.first())]
    UnusedTensors {
        /// The model directory.
        dir: PathBuf,
        /// The unused keys.
        keys: Vec<String>,
    },

    /// `model.safetensors.index.json` names a shard that does not exist or is malformed.
    #[error("invalid shard index {path}: {message}")]
    ShardIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A token id is outside the vocabulary.
    #[error("token id {id} at position {position} is out of vocabulary (vocab_size {vocab_size})")]
    OutOfVocab {
        /// The offending id.
        id: i64,
        /// Flat position of the id in the input.
        position: usize,
        /// The model's vocabulary size.
        vocab_size: usize,
    },

    /// The caller passed inputs with inconsistent shapes (e.g. a mask of the wrong size).
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The device asked for cannot be used here: no driver, no such GPU, or a backend this
    /// binary was built without. The message says what to do instead.
    #[error("{0}")]
    DeviceUnavailable(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Qwen35Error>;
