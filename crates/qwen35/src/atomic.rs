//! Write-then-rename: a reader (or a resumed run) sees a file's old content or its new
//! content, never half of it.

use std::path::Path;

use crate::error::{Qwen35Error, Result};

/// Writes `bytes` to `path` through `path.EXT.tmp` (or `path.tmp`) in the same directory and a
/// rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => path.with_extension(format!("{ext}.tmp")),
        None => path.with_extension("tmp"),
    };
    std::fs::write(&tmp, bytes).map_err(|source| Qwen35Error::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| Qwen35Error::Io { path: path.to_path_buf(), source })
}
