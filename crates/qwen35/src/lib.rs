//! # qwen35
//!
//! The Qwen3.5 dense text decoder (0.8B, 2B, 4B and any dense Qwen3.5 `config.json`) in Burn
//! 0.22: Gated DeltaNet and gated attention layers, loaded from the official Hugging Face
//! safetensors and equal to `transformers` to the last logit (see `tests/parity.rs`).
//!
//! ```no_run
//! use burn::tensor::{DType, Device};
//! use qwen35::{generate, GenerationConfig, Qwen35};
//!
//! # fn main() -> qwen35::Result<()> {
//! let device = Device::flex();
//! let (model, config) = Qwen35::from_pretrained("models/Qwen3.5-0.8B", &device, DType::F32)?;
//! let cfg = GenerationConfig { max_new_tokens: 24, eos_token_ids: config.eos_token_ids.clone(), ..Default::default() };
//! let new_ids = generate(&model, &[vec![9419, 11, 1814, 0]], &cfg, |_| {})?;
//! # Ok(()) }
//! ```
//!
//! The crate knows nothing of skills or training: `train` and `eval` build on it.
#![deny(missing_docs)]

pub mod adapters;
mod atomic;
pub mod attention;
pub mod cache;
pub mod checkpoint;
pub mod config;
mod context;
pub mod decoder_layer;
pub mod device;
pub mod error;
pub mod gated_delta_net;
pub mod gated_delta_rule;
pub mod generate;
pub mod kernel_choice;
pub mod kernels;
pub mod lora;
pub mod model;
pub mod nn;
mod params;
pub mod peft;
mod project;
pub mod rope;

pub use atomic::write_atomic;
pub use cache::Cache;
pub use checkpoint::Checkpoint;
pub use config::{LayerType, Qwen35Config};
pub use device::{DeviceChoice, DtypeChoice};
pub use error::{Qwen35Error, Result};
pub use generate::{GenerationConfig, generate};
pub use kernel_choice::{KernelChoice, kernel_choice, set_kernel_choice};
pub use lora::{LoraAdapter, LoraConfig};
pub use model::{Inputs, Qwen35};
