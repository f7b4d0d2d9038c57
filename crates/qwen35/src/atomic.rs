//! Write-then-rename: a reader (or a resumed run) sees a file's old content or its new
//! content, never half of it. `tempfile` makes the uniquely named file in the same directory
//! (so the rename stays on one file system) and removes it if the write fails; the data crate
//! writes its files the same way.

use std::io::Write;
use std::path::Path;

use crate::error::{Qwen35Error, Result};

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Qwen35Error::Io { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
