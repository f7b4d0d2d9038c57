//! # skillsft-data
//!
//! Everything before the model: the skills catalog and its seeded task generators, teachers
//! that write chains of thought, judges that score them, the corpus and holdout builders, the
//! Qwen3.5 chat template and tokenizer, and SFT examples with loss masks and packing.
//!
//! ```
//! use skillsft_data::{catalog::Catalog, generators, skill::Split};
//!
//! let catalog = Catalog::builtin()?;
//! for skill in catalog.split(Split::Holdout).into_iter().take(1) {
//!     let task = generators::generate(skill, generators::task_seed(0, &skill.id, 0))?;
//!     assert_eq!(task.steps.len(), 5);
//! }
//! # Ok::<(), skillsft_data::DataError>(())
//! ```

#![deny(missing_docs)]

pub mod api;
pub mod catalog;
pub mod chat;
pub mod dataset;
pub mod error;
pub mod formats;
pub mod generators;
pub mod judge;
pub mod parallel;
pub mod progress;
pub mod prompt;
pub mod sft;
pub mod skill;
pub mod task;
pub mod teacher;
pub mod tokenizer;

pub use error::{DataError, Result};
