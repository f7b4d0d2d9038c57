//! The hub cache as `huggingface_hub` lays it out, shared with `hf download`:
//!
//! ```text
//! <cache>/models--ORG--NAME/        (datasets--ORG--NAME/ for a dataset)
//!     refs/<revision>                the commit a branch or tag pointed at, as text
//!     snapshots/<commit>/<path>      the repo's files at that commit: symlinks into blobs/
//!                                    (plain files where symlinks are unavailable)
//!     blobs/<etag>                   file contents, named by git blob id or LFS SHA-256
//! ```

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::model::is_complete;

/// The hub cache directory, found as `huggingface_hub` finds it, so both share one cache.
pub fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    cache_dir_from(std::env::var_os("HF_HUB_CACHE").as_deref(), std::env::var_os("HF_HOME").as_deref(), home.as_deref())
}

/// [`cache_dir`] on given values: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
/// `HOME/.cache/huggingface/hub`. Empty values count as unset.
pub fn cache_dir_from(hf_hub_cache: Option<&OsStr>, hf_home: Option<&OsStr>, home: Option<&OsStr>) -> PathBuf {
    let set = |v: Option<&OsStr>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(hf_hub_cache) {
        return dir;
    }
    if let Some(dir) = set(hf_home) {
        return dir.join("hub");
    }
    set(home).unwrap_or_default().join(".cache").join("huggingface").join("hub")
}

/// Whether `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE` when it is unset) asks for no network,
/// with `huggingface_hub`'s reading: `1`, `ON`, `YES` or `TRUE` in any case. The resolvers take
/// an explicit `allow_download`; callers combine their own `--offline` flag with this.
pub fn offline_from_env() -> bool {
    offline_from(std::env::var("HF_HUB_OFFLINE").ok().as_deref(), std::env::var("TRANSFORMERS_OFFLINE").ok().as_deref())
}

/// [`offline_from_env`] on given values of `HF_HUB_OFFLINE` and `TRANSFORMERS_OFFLINE`.
fn offline_from(hf_hub_offline: Option<&str>, transformers_offline: Option<&str>) -> bool {
    let value = hf_hub_offline.filter(|v| !v.is_empty()).or(transformers_offline);
    value.is_some_and(|v| ["1", "ON", "YES", "TRUE"].contains(&v.to_ascii_uppercase().as_str()))
}

/// `Qwen/Qwen3.5-4B` -> `<cache>/models--Qwen--Qwen3.5-4B`.
pub fn repo_cache_dir(cache: &Path, repo_id: &str) -> PathBuf {
    cache.join(format!("models--{}", repo_id.replace('/', "--")))
}

/// `ORG/NAME` -> `<cache>/datasets--ORG--NAME`.
pub fn dataset_cache_dir(cache: &Path, repo_id: &str) -> PathBuf {
    cache.join(format!("datasets--{}", repo_id.replace('/', "--")))
}

/// A complete cached snapshot of the model `repo_id` at `revision`, if there is one.
///
/// `refs/<revision>` names the snapshot; a revision that is itself a commit has no ref, and a
/// cache copied in by hand may have no refs at all, so then the newest complete snapshot is used.
/// Complete means [`is_complete`].
pub fn find_cached(cache: &Path, repo_id: &str, revision: &str) -> Option<PathBuf> {
    find_snapshot(&repo_cache_dir(cache, repo_id), revision, |dir| is_complete(dir).then_some(())).map(|(dir, ())| dir)
}

/// The snapshot of the repo cached at `repo_dir` for `revision` that `accept` takes, with what
/// `accept` made of it: the one `refs/<revision>` names (and no other when that ref exists),
/// else `snapshots/<revision>` when `revision` is a commit, else the newest accepted snapshot.
pub(crate) fn find_snapshot<T>(
    repo_dir: &Path,
    revision: &str,
    accept: impl Fn(&Path) -> Option<T>,
) -> Option<(PathBuf, T)> {
    let snapshots = repo_dir.join("snapshots");
    if is_safe_revision(revision)
        && let Ok(sha) = fs::read_to_string(repo_dir.join("refs").join(revision))
    {
        let sha = sha.trim();
        if !is_safe_name(sha) {
            return None;
        }
        let dir = snapshots.join(sha);
        return accept(&dir).map(|t| (dir, t));
    }
    let direct = snapshots.join(revision);
    if is_safe_name(revision)
        && let Some(t) = accept(&direct)
    {
        return Some((direct, t));
    }
    fs::read_dir(&snapshots)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|p| accept(&p).map(|t| (p, t)))
        .map(|(p, t)| (fs::metadata(&p).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH), p, t))
        .max_by_key(|(time, _, _)| *time)
        .map(|(_, p, t)| (p, t))
}

/// A single path component that cannot climb out of the cache.
pub(crate) fn is_safe_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']) && name != ".."
}

/// A `/`-separated path whose every component is [`is_safe_name`]: a file inside a snapshot.
pub(crate) fn is_safe_path(path: &str) -> bool {
    path.split('/').all(is_safe_name)
}

/// A revision usable under `refs/`: a branch or tag may hold `/` (`refs/pr/1`), but no
/// component may be empty or climb (`..`).
pub(crate) fn is_safe_revision(revision: &str) -> bool {
    !revision.is_empty()
        && !revision.contains('\\')
        && revision.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_precedence() {
        let s = |v: &'static str| Some(OsStr::new(v));
        assert_eq!(cache_dir_from(s("/c"), s("/h"), s("/u")), PathBuf::from("/c"));
        assert_eq!(cache_dir_from(None, s("/h"), s("/u")), PathBuf::from("/h/hub"));
        assert_eq!(cache_dir_from(s(""), s("/h"), s("/u")), PathBuf::from("/h/hub"));
        assert_eq!(cache_dir_from(None, None, s("/u")), PathBuf::from("/u/.cache/huggingface/hub"));
    }

    #[test]
    fn repo_dirs_by_kind() {
        let cache = Path::new("/c");
        assert_eq!(repo_cache_dir(cache, "Qwen/Qwen3.5-4B"), PathBuf::from("/c/models--Qwen--Qwen3.5-4B"));
        assert_eq!(dataset_cache_dir(cache, "org/some-data"), PathBuf::from("/c/datasets--org--some-data"));
    }

    #[test]
    fn offline_values_as_huggingface_hub_reads_them() {
        assert!(offline_from(Some("1"), None));
        assert!(offline_from(Some("true"), Some("0")));
        assert!(offline_from(Some("Yes"), None) && offline_from(Some("ON"), None));
        assert!(!offline_from(Some("0"), Some("1")));
        assert!(offline_from(Some(""), Some("1")), "an empty HF_HUB_OFFLINE defers to TRANSFORMERS_OFFLINE");
        assert!(!offline_from(None, None) && !offline_from(Some("no"), None));
    }

    #[test]
    fn revisions_and_paths_stay_inside_the_cache() {
        assert!(is_safe_revision("main") && is_safe_revision("refs/pr/1") && is_safe_revision("v1.0"));
        assert!(
            !is_safe_revision("../x")
                && !is_safe_revision("a//b")
                && !is_safe_revision("")
                && !is_safe_revision("a\\b")
        );
        assert!(is_safe_path("data/train-0.parquet") && !is_safe_path("data/../x") && !is_safe_path(".git/x"));
    }
}
