//! On-disk response cache: one JSON file per request, keyed by the SHA-256 of the provider,
//! URL and canonical request body (never the API key).
//!
//! Files are written to a temporary name and renamed, so a build killed mid-write leaves
//! either the whole entry or none; re-running the build replays every cached reply, which is
//! how an interrupted build resumes without losing (or re-paying for) a finished row.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::ChatResponse;
use crate::error::{DataError, Result};

/// A cache directory.
#[derive(Debug, Clone)]
pub struct ResponseCache {
    dir: PathBuf,
}

/// The cache key of a request: hex SHA-256 over provider, URL and body.
pub fn request_key(provider: &str, url: &str, body: &Value) -> String {
    let mut h = Sha256::new();
    // serde_json's map is ordered (BTreeMap without `preserve_order`), so this is canonical.
    h.update(format!("{provider}\0{url}\0{body}").as_bytes());
    hex::encode(h.finalize())
}

impl ResponseCache {
    /// A cache in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        Ok(ResponseCache { dir: dir.to_path_buf() })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    /// The cached reply for `key`, if there is a readable one. A corrupt entry counts as a
    /// miss (it is overwritten by the next `put`).
    pub fn get(&self, key: &str) -> Option<ChatResponse> {
        let text = std::fs::read_to_string(self.path(key)).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        serde_json::from_value(v.get("response")?.clone()).ok()
    }

    /// Stores a reply atomically.
    pub fn put(&self, key: &str, request: &Value, response: &ChatResponse) -> Result<()> {
        let path = self.path(key);
        let dir = path.parent().expect("cache path has a parent");
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        let entry = json!({"request": request, "response": response});
        crate::dataset::write_atomic(&path, &serde_json::to_vec_pretty(&entry).expect("JSON value serializes"))
    }

    /// Number of cached entries.
    pub fn len(&self) -> usize {
        walk(&self.dir)
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { usize::from(p.extension().is_some_and(|x| x == "json")) }
                })
                .sum()
        })
        .unwrap_or(0)
}
