//! # skillsft-train
//!
//! Supervised fine-tuning of Qwen3.5 ([`qwen35`]) on the corpus of `skillsft-data`: LoRA or full
//! fine-tuning, AdamW with warmup + cosine, global-norm clipping, gradient accumulation over
//! packed rows, a chunked cross-entropy that never holds the full logits, atomic checkpoints
//! with exact resume, PEFT adapter export and merging into Hugging Face weights.
//!
//! ```no_run
//! use skillsft_train::{RunOptions, TrainConfig, train};
//!
//! # fn main() -> skillsft_train::Result<()> {
//! let cfg = TrainConfig {
//!     size: "tiny".into(),
//!     random_init: true,
//!     data: vec!["examples.jsonl".into()], // any format of skillsft_data::formats
//!     out: "runs/tiny".into(),
//!     ..TrainConfig::default()
//! };
//! let summary = train(&cfg, &RunOptions::default())?;
//! println!("final loss {:?}", summary.records.last().map(|r| r.loss));
//! # Ok(()) }
//! ```
//!
//! The crate knows nothing of evaluation; `skillsft-eval` consumes its adapters.
#![deny(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod loss;
pub mod merge;
pub mod metrics;
pub mod optim;
pub mod schedule;
pub mod tensorboard;
pub mod trainer;
pub mod walk;

pub use config::{Mode, TrainConfig};
pub use error::{Result, TrainError};
pub use trainer::{Examples, RunOptions, RunSummary, train, train_model};
