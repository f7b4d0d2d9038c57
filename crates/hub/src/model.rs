//! Models: `--size 0.8b|2b|4b` to a local Hugging Face model directory.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use skillsft_data::progress::Progress;

use crate::cache::{find_cached, is_safe_name, is_safe_revision, repo_cache_dir};
use crate::download::{DownloadOptions, Remote, RepoKind, Sibling, agent};
use crate::error::{HubError, io_err};

/// `--size` values and the repos they name.
pub const SIZES: &[(&str, &str)] =
    &[("0.8b", "Qwen/Qwen3.5-0.8B"), ("2b", "Qwen/Qwen3.5-2B"), ("4b", "Qwen/Qwen3.5-4B")];

/// Non-weight files a text model needs; the ones a repo does not list are skipped. The merge
/// copies the same files next to merged weights.
pub const SMALL_FILES: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "model.safetensors.index.json",
];

/// The repo for a `--size` value, case-insensitively.
pub fn repo_for_size(size: &str) -> Option<&'static str> {
    SIZES.iter().find(|(s, _)| s.eq_ignore_ascii_case(size.trim())).map(|(_, r)| *r)
}

/// Whether `dir` holds a loadable model: config.json plus either model.safetensors or an index
/// whose every shard is present. `is_file` follows symlinks, so dangling links into `blobs/`
/// (an interrupted `huggingface_hub` download) count as missing.
pub fn is_complete(dir: &Path) -> bool {
    if !dir.join("config.json").is_file() {
        return false;
    }
    if dir.join("model.safetensors").is_file() {
        return true;
    }
    #[derive(Deserialize)]
    struct Index {
        weight_map: std::collections::BTreeMap<String, String>,
    }
    let Ok(text) = fs::read_to_string(dir.join("model.safetensors.index.json")) else { return false };
    let Ok(index) = serde_json::from_str::<Index>(&text) else { return false };
    !index.weight_map.is_empty() && index.weight_map.values().all(|shard| dir.join(shard).is_file())
}

/// The model directory for a run, in this order:
///
/// 1. `model`, when given: returned as it is if it is a directory holding config.json (its
///    weights are not checked here; loading them reports what is missing), else
///    [`HubError::NotAModelDir`]. Nothing else is consulted.
/// 2. The repo `size` names ([`SIZES`], case-insensitive; else [`HubError::UnknownSize`]) at
///    `opts.revision`, found in `opts.cache` by [`find_cached`]: a snapshot that
///    [`is_complete`]. This needs no network. `opts.repo_id` is ignored.
/// 3. When `allow_download`, [`download`] of that repo into `opts.cache` (from
///    `opts.endpoint`, with `opts.token`); unreachable, it fails with [`HubError::Offline`].
///    Without `allow_download` the result is [`HubError::NotCached`].
///
/// Both offline errors name the repo, the cache directory, and the `hf download` command that
/// fills it.
pub fn resolve_model(
    model: Option<&Path>,
    size: &str,
    opts: &DownloadOptions,
    allow_download: bool,
    progress: &dyn Progress,
) -> Result<PathBuf, HubError> {
    if let Some(dir) = model {
        let reason = if !dir.is_dir() {
            "no such directory"
        } else if !dir.join("config.json").is_file() {
            "no config.json in it"
        } else {
            return Ok(dir.to_path_buf());
        };
        return Err(HubError::NotAModelDir { dir: dir.to_path_buf(), reason });
    }
    let repo = repo_for_size(size).ok_or_else(|| HubError::UnknownSize { size: size.to_string() })?;
    let opts = DownloadOptions { repo_id: repo.to_string(), ..opts.clone() };
    if let Some(dir) = find_cached(&opts.cache, repo, &opts.revision) {
        return Ok(dir);
    }
    if !allow_download {
        return Err(HubError::NotCached { repo_id: repo.to_string(), cache: opts.cache.clone() });
    }
    download(&opts, progress)
}

/// Downloads the files a text model needs into the hub cache and returns the snapshot dir.
///
/// The files are [`SMALL_FILES`] and the top-level `*.safetensors` of `opts.repo_id` at
/// `opts.revision`. Layout matches `huggingface_hub`: `snapshots/<sha>/<file>` and
/// `refs/<revision>`. Files are streamed to `blobs/<file>.incomplete` and renamed into the
/// snapshot as plain files rather than symlinks to content-addressed blobs; `huggingface_hub`
/// reads plain files in snapshots (it writes them itself where symlinks are unavailable). A file
/// already in the snapshot with the size the hub lists is skipped, and `refs/<revision>` is
/// written last, so a rerun after an interruption fetches only what is missing.
pub fn download(opts: &DownloadOptions, progress: &dyn Progress) -> Result<PathBuf, HubError> {
    let agent = agent(opts);
    let remote = Remote { kind: RepoKind::Model, opts, repo_id: &opts.repo_id, revision: &opts.revision };
    let info = remote.revision_info(&agent)?;

    let wanted: Vec<&Sibling> = info
        .siblings
        .iter()
        .filter(|s| {
            SMALL_FILES.contains(&s.rfilename.as_str())
                || (s.rfilename.ends_with(".safetensors") && is_safe_name(&s.rfilename))
        })
        .collect();
    let not_a_model =
        |missing| HubError::NotAModelRepo { repo_id: opts.repo_id.clone(), revision: opts.revision.clone(), missing };
    if !wanted.iter().any(|s| s.rfilename == "config.json") {
        return Err(not_a_model("config.json"));
    }
    if !wanted.iter().any(|s| s.rfilename.ends_with(".safetensors")) {
        return Err(not_a_model("*.safetensors"));
    }

    let repo_dir = repo_cache_dir(&opts.cache, &opts.repo_id);
    let blobs = repo_dir.join("blobs");
    let snapshot = repo_dir.join("snapshots").join(&info.sha);
    fs::create_dir_all(&blobs).map_err(io_err(&blobs))?;
    fs::create_dir_all(&snapshot).map_err(io_err(&snapshot))?;

    for sibling in wanted {
        let dest = snapshot.join(&sibling.rfilename);
        if let Ok(meta) = fs::metadata(&dest) {
            // Files only ever appear here by atomic rename, so presence alone means complete
            // when the hub gave no size.
            if meta.is_file() && sibling.size.is_none_or(|n| n == meta.len()) {
                continue;
            }
        }
        let tmp = blobs.join(format!("{}.incomplete", sibling.rfilename));
        remote.fetch(&agent, &info.sha, &sibling.rfilename, sibling.size, &tmp, &dest, false, progress)?;
    }

    write_ref(&repo_dir, &opts.revision, &info.sha)?;
    Ok(snapshot)
}

/// Points `refs/<revision>` at `sha`, unless the revision is that commit itself (or a name that
/// would climb out of `refs/`).
pub(crate) fn write_ref(repo_dir: &Path, revision: &str, sha: &str) -> Result<(), HubError> {
    if sha == revision || !is_safe_revision(revision) {
        return Ok(());
    }
    let ref_path = repo_dir.join("refs").join(revision);
    if let Some(parent) = ref_path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    fs::write(&ref_path, sha).map_err(io_err(&ref_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_hub::{FakeHub, SHA, dead_endpoint};
    use skillsft_data::progress::Silent;
    use std::fs::File;
    use std::time::{Duration, SystemTime};

    const REPO: &str = "test-org/fake-model";

    fn serve(files: Vec<(String, Vec<u8>)>, api_status: u16) -> FakeHub {
        crate::fake_hub::serve_model(REPO, files, api_status)
    }

    fn weights() -> Vec<u8> {
        (0..4096u32).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn repo_files() -> Vec<(String, Vec<u8>)> {
        vec![
            ("config.json".into(), br#"{"model_type":"qwen3_5"}"#.to_vec()),
            ("model.safetensors".into(), weights()),
            ("tokenizer.json".into(), br#"{"version":"1.0"}"#.to_vec()),
        ]
    }

    fn opts(endpoint: &str, repo: &str, cache: &Path) -> DownloadOptions {
        DownloadOptions {
            endpoint: endpoint.to_string(),
            repo_id: repo.to_string(),
            revision: "main".to_string(),
            cache: cache.to_path_buf(),
            token: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn write_snapshot(cache: &Path, repo: &str, sha: &str, files: &[(&str, &[u8])]) -> PathBuf {
        let dir = repo_cache_dir(cache, repo).join("snapshots").join(sha);
        fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            fs::write(dir.join(name), bytes).unwrap();
        }
        dir
    }

    #[test]
    fn sizes_map_to_repos_case_insensitively() {
        assert_eq!(repo_for_size("0.8b"), Some("Qwen/Qwen3.5-0.8B"));
        assert_eq!(repo_for_size("2B"), Some("Qwen/Qwen3.5-2B"));
        assert_eq!(repo_for_size("4b"), Some("Qwen/Qwen3.5-4B"));
        assert_eq!(repo_for_size("7b"), None);
    }

    #[test]
    fn download_writes_snapshot_and_ref_then_find_cached_finds_it() {
        let hub = serve(repo_files(), 200);
        let cache = tempfile::tempdir().unwrap();
        let mut o = opts(&hub.url, REPO, cache.path());
        o.token = Some("hf_secret".into());

        let dir = download(&o, &Silent).unwrap();
        let repo_dir = repo_cache_dir(cache.path(), REPO);
        assert_eq!(dir, repo_dir.join("snapshots").join(SHA));
        for (name, bytes) in repo_files() {
            assert_eq!(fs::read(dir.join(&name)).unwrap(), bytes, "{name}");
        }
        assert!(!dir.join("README.md").exists());
        assert!(!dir.join("onnx").exists());
        assert_eq!(fs::read_to_string(repo_dir.join("refs/main")).unwrap(), SHA);
        let leftovers: Vec<_> = fs::read_dir(repo_dir.join("blobs")).unwrap().collect();
        assert!(leftovers.is_empty(), "no .incomplete files left: {leftovers:?}");

        let mut resolved = hub.resolve_paths();
        resolved.sort();
        let mut want: Vec<String> = repo_files().iter().map(|(n, _)| format!("/{REPO}/resolve/{SHA}/{n}")).collect();
        want.sort();
        assert_eq!(resolved, want);
        assert!(hub.seen.lock().unwrap().iter().all(|s| s.authorization.as_deref() == Some("Bearer hf_secret")));

        assert_eq!(find_cached(cache.path(), REPO, "main"), Some(dir));
    }

    #[test]
    fn second_download_skips_finished_files_and_refetches_a_wrong_sized_one() {
        let hub = serve(repo_files(), 200);
        let cache = tempfile::tempdir().unwrap();
        let o = opts(&hub.url, REPO, cache.path());
        let dir = download(&o, &Silent).unwrap();

        hub.clear();
        assert_eq!(download(&o, &Silent).unwrap(), dir);
        assert_eq!(hub.paths(), vec![format!("/api/models/{REPO}/revision/main")]);

        hub.clear();
        fs::write(dir.join("model.safetensors"), &weights()[..100]).unwrap();
        download(&o, &Silent).unwrap();
        assert_eq!(hub.resolve_paths(), vec![format!("/{REPO}/resolve/{SHA}/model.safetensors")]);
        assert_eq!(fs::read(dir.join("model.safetensors")).unwrap(), weights());
    }

    #[test]
    fn snapshot_missing_an_indexed_shard_is_incomplete() {
        let cache = tempfile::tempdir().unwrap();
        let index = br#"{"metadata":{},"weight_map":{"a.weight":"model-00001-of-00002.safetensors","b.weight":"model-00002-of-00002.safetensors"}}"#;
        let dir = write_snapshot(
            cache.path(),
            REPO,
            SHA,
            &[
                ("config.json", b"{}"),
                ("model.safetensors.index.json", index),
                ("model-00001-of-00002.safetensors", b"x"),
            ],
        );
        assert!(!is_complete(&dir));
        assert_eq!(find_cached(cache.path(), REPO, "main"), None);

        fs::write(dir.join("model-00002-of-00002.safetensors"), b"y").unwrap();
        assert_eq!(find_cached(cache.path(), REPO, "main"), Some(dir.clone()));

        fs::remove_file(dir.join("config.json")).unwrap();
        assert_eq!(find_cached(cache.path(), REPO, "main"), None);
    }

    #[cfg(unix)]
    #[test]
    fn refs_pick_the_snapshot_over_a_newer_one() {
        let cache = tempfile::tempdir().unwrap();
        let files: &[(&str, &[u8])] = &[("config.json", b"{}"), ("model.safetensors", b"w")];
        let old = write_snapshot(cache.path(), REPO, "aaaa", files);
        let new = write_snapshot(cache.path(), REPO, "bbbb", files);
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        File::open(&old).unwrap().set_modified(an_hour_ago).unwrap();
        assert_eq!(find_cached(cache.path(), REPO, "main"), Some(new), "no refs: newest snapshot");
        let refs = repo_cache_dir(cache.path(), REPO).join("refs");
        fs::create_dir_all(&refs).unwrap();
        fs::write(refs.join("main"), "aaaa\n").unwrap();
        assert_eq!(find_cached(cache.path(), REPO, "main"), Some(old));
    }

    #[cfg(unix)]
    #[test]
    fn snapshot_symlinks_into_blobs_are_followed() {
        let cache = tempfile::tempdir().unwrap();
        let repo_dir = repo_cache_dir(cache.path(), REPO);
        let blobs = repo_dir.join("blobs");
        fs::create_dir_all(&blobs).unwrap();
        fs::write(blobs.join("c0ffee"), b"{}").unwrap();
        let dir = repo_dir.join("snapshots").join(SHA);
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("../../blobs/c0ffee", dir.join("config.json")).unwrap();
        std::os::unix::fs::symlink("../../blobs/beef", dir.join("model.safetensors")).unwrap();
        assert_eq!(find_cached(cache.path(), REPO, "main"), None, "dangling weight link");
        fs::write(blobs.join("beef"), b"w").unwrap();
        assert_eq!(find_cached(cache.path(), REPO, "main"), Some(dir));
    }

    #[test]
    fn resolve_model_explicit_dir_wins_and_must_hold_config() {
        let cache = tempfile::tempdir().unwrap();
        let o = opts(&dead_endpoint(), "", cache.path());
        let model = tempfile::tempdir().unwrap();
        let err = resolve_model(Some(model.path()), "4b", &o, true, &Silent).unwrap_err();
        assert!(matches!(err, HubError::NotAModelDir { .. }));
        assert!(err.to_string().contains(&model.path().display().to_string()), "{err}");
        assert!(err.to_string().contains("config.json"), "{err}");

        fs::write(model.path().join("config.json"), b"{}").unwrap();
        assert_eq!(resolve_model(Some(model.path()), "4b", &o, true, &Silent).unwrap(), model.path());
    }

    #[test]
    fn resolve_model_uses_the_cache_without_network() {
        let cache = tempfile::tempdir().unwrap();
        let repo = "Qwen/Qwen3.5-0.8B";
        let dir = write_snapshot(cache.path(), repo, SHA, &[("config.json", b"{}"), ("model.safetensors", b"w")]);
        let o = opts(&dead_endpoint(), "", cache.path());
        assert_eq!(resolve_model(None, "0.8B", &o, true, &Silent).unwrap(), dir);
        assert_eq!(resolve_model(None, "0.8b", &o, false, &Silent).unwrap(), dir);
    }

    #[test]
    fn resolve_model_offline_says_what_to_do() {
        let cache = tempfile::tempdir().unwrap();
        let o = opts(&dead_endpoint(), "", cache.path());
        let cache_str = cache.path().display().to_string();

        let err = resolve_model(None, "2b", &o, true, &Silent).unwrap_err();
        assert!(matches!(err, HubError::Offline { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("Qwen/Qwen3.5-2B") && msg.contains(&cache_str) && msg.contains("--model"), "{msg}");

        let err = resolve_model(None, "2b", &o, false, &Silent).unwrap_err();
        assert!(matches!(err, HubError::NotCached { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("Qwen/Qwen3.5-2B") && msg.contains(&cache_str) && msg.contains("--model"), "{msg}");

        let err = resolve_model(None, "3b", &o, true, &Silent).unwrap_err();
        assert!(err.to_string().contains("0.8b, 2b, 4b"), "{err}");
    }

    #[test]
    fn unauthorized_says_gated_and_hf_token() {
        let hub = serve(repo_files(), 401);
        let cache = tempfile::tempdir().unwrap();
        let err = download(&opts(&hub.url, REPO, cache.path()), &Silent).unwrap_err();
        assert!(matches!(err, HubError::Unauthorized { status: 401, .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("gated") && msg.contains("HF_TOKEN") && msg.contains(REPO), "{msg}");
    }

    #[test]
    fn not_found_and_non_model_repos_are_reported() {
        let hub = serve(repo_files(), 200);
        let cache = tempfile::tempdir().unwrap();
        let err = download(&opts(&hub.url, "test-org/missing", cache.path()), &Silent).unwrap_err();
        assert!(matches!(err, HubError::NotFound { .. }), "{err:?}");

        let hub = serve(vec![("config.json".into(), b"{}".to_vec())], 200);
        let err = download(&opts(&hub.url, REPO, cache.path()), &Silent).unwrap_err();
        assert!(matches!(err, HubError::NotAModelRepo { missing: "*.safetensors", .. }), "{err:?}");
        assert!(hub.resolve_paths().is_empty());
    }
}
