//! [`HubError`]: every failure, worded so the reader knows what to do next.

use std::io;
use std::path::{Path, PathBuf};

use crate::model::SIZES;
use crate::splits::DATA_EXTENSIONS;

/// Everything that can go wrong, each worded so the reader knows what to do next.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // the #[error] message of each variant says what it means
pub enum HubError {
    #[error("unknown model size `{size}`; valid sizes: {}", valid_sizes())]
    UnknownSize { size: String },

    #[error(
        "--model {}: {reason}; point --model at a Hugging Face model directory (config.json + *.safetensors)",
        dir.display()
    )]
    NotAModelDir { dir: PathBuf, reason: &'static str },

    #[error(
        "cannot reach {endpoint} ({reason}). Download {repo_id} \
         (e.g. `hf download {repo_id} --cache-dir {}`) into {}, or pass --model DIR pointing at a \
         directory with config.json + *.safetensors",
        cache.display(),
        cache.display()
    )]
    Offline { repo_id: String, cache: PathBuf, endpoint: String, reason: String },

    #[error(
        "{repo_id} is not in the Hugging Face cache {} and downloading is off. Download it \
         (e.g. `hf download {repo_id} --cache-dir {}`), or pass --model DIR pointing at a directory \
         with config.json + *.safetensors",
        cache.display(),
        cache.display()
    )]
    NotCached { repo_id: String, cache: PathBuf },

    #[error(
        "cannot reach {endpoint} ({reason}). Download the dataset {repo_id} (e.g. `{}`) into {}, \
         or pass --data PATH pointing at local data files",
        dataset_download_command(repo_id, revision, cache),
        cache.display()
    )]
    DatasetOffline { repo_id: String, revision: String, cache: PathBuf, endpoint: String, reason: String },

    #[error(
        "split `{split}` of the dataset {repo_id}@{revision} is not in the Hugging Face cache {} and \
         downloading is off. Download it (e.g. `{}`), or pass --data PATH pointing at local data files",
        cache.display(),
        dataset_download_command(repo_id, revision, cache)
    )]
    DatasetNotCached { repo_id: String, revision: String, split: String, cache: PathBuf },

    #[error("`{spec}` is not a Hugging Face dataset: {reason}; write it as hf:ORG/NAME[@REVISION][:SPLIT]")]
    BadDatasetSpec { spec: String, reason: String },

    #[error("the dataset {repo_id}@{revision} has no split `{split}`; its splits: {}", found.join(", "))]
    SplitNotFound { repo_id: String, revision: String, split: String, found: Vec<String> },

    #[error("the dataset {repo_id}@{revision} has no data files ({})", data_extensions())]
    NoDataFiles { repo_id: String, revision: String },

    #[error(
        "HTTP {status} from {url}: {repo_id} may be gated or private (or may not exist). Accept its terms \
         on {page}, then set HF_TOKEN to a token with read access"
    )]
    Unauthorized { repo_id: String, url: String, status: u16, page: String },

    #[error("HTTP 404 from {url}: repo `{repo_id}` or revision `{revision}` not found; check both")]
    NotFound { repo_id: String, revision: String, url: String },

    #[error("HTTP {status} from {url}: {body}")]
    Http { url: String, status: u16, body: String },

    #[error("unexpected reply from {url}: {reason}")]
    BadResponse { url: String, reason: String },

    #[error("{repo_id}@{revision} lists no {missing}; it is not a safetensors text model this tool can load")]
    NotAModelRepo { repo_id: String, revision: String, missing: &'static str },

    #[error("download of {url} stopped after {received} bytes ({reason}); rerun to resume, finished files are kept")]
    Transfer { url: String, received: u64, reason: String },

    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn valid_sizes() -> String {
    SIZES.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", ")
}

fn data_extensions() -> String {
    DATA_EXTENSIONS.iter().map(|e| format!("*.{e}")).collect::<Vec<_>>().join(", ")
}

/// The `hf` command that puts a dataset where [`crate::resolve_dataset`] looks for it.
fn dataset_download_command(repo_id: &str, revision: &str, cache: &Path) -> String {
    let revision = if revision == "main" { String::new() } else { format!(" --revision {revision}") };
    format!("hf download {repo_id} --repo-type dataset{revision} --cache-dir {}", cache.display())
}

/// Maps an I/O error on `path` to [`HubError::Io`].
pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> HubError + '_ {
    move |source| HubError::Io { path: path.to_path_buf(), source }
}
