//! Hugging Face models and datasets for skillsft, found where `huggingface_hub` keeps them.
//!
//! Everything goes through the hub cache that `hf download` and Python's `huggingface_hub`
//! share (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`): a model or
//! dataset fetched by either is reused, and what this crate downloads lands in the same layout.
//! The libraries that load models and data take a directory or files; this crate is where a
//! `--size` or an `hf:ORG/NAME` becomes one.
//!
//! - Models: [`resolve_model`] turns `--model DIR` or `--size 0.8b|2b|4b` into a model directory,
//!   from the cache or by [`download`].
//! - Datasets: [`resolve_dataset`] turns a [`DatasetSpec`] (`hf:ORG/NAME[@REVISION][:SPLIT]`)
//!   into the data files of one split, from the cache or by [`download_dataset`]; the split's
//!   files are chosen by `datasets`' rules ([`infer_splits`]).
//!
//! Downloads use `HF_ENDPOINT` and `HF_TOKEN` ([`DownloadOptions::from_env`]), go file by file
//! with progress reported to a [`skillsft_data::progress::Progress`], and resume after an
//! interruption from the files already finished. Without a network, or with downloads off, the
//! errors ([`HubError`]) name the repo, the cache, and the `hf download` command that fills it.
//! See docs/hub.md for why this is a client of our own rather than the `hf-hub` crate.

#![deny(missing_docs)]

mod cache;
mod dataset;
mod download;
mod error;
#[cfg(test)]
mod fake_hub;
mod model;
mod splits;

pub use cache::{cache_dir, cache_dir_from, dataset_cache_dir, find_cached, offline_from_env, repo_cache_dir};
pub use dataset::{DatasetSpec, download_dataset, find_cached_dataset, is_hf_spec, resolve_dataset};
pub use download::DownloadOptions;
pub use error::HubError;
pub use model::{SIZES, SMALL_FILES, download, is_complete, repo_for_size, resolve_model};
pub use splits::{DATA_EXTENSIONS, infer_splits, is_data_file};
