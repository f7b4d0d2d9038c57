//! Datasets: `hf:ORG/NAME[@REVISION][:SPLIT]` to the data files of one split, from the hub
//! cache (`datasets--ORG--NAME/`) or downloaded into it.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use skillsft_data::progress::Progress;

use crate::cache::{dataset_cache_dir, find_snapshot, is_safe_path, is_safe_revision};
use crate::download::{DownloadOptions, Remote, RepoKind, Sibling, agent, encode_segment};
use crate::error::{HubError, io_err};
use crate::model::write_ref;
use crate::splits::{infer_splits, missing_shards};

/// What starts a Hugging Face dataset in `--data`.
const PREFIX: &str = "hf:";

/// A split of a dataset repo on the hub: `hf:ORG/NAME[@REVISION][:SPLIT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSpec {
    /// `ORG/NAME`.
    pub repo_id: String,
    /// Branch, tag or commit; `None` means `main`.
    pub revision: Option<String>,
    /// Split name; `None` means `train`.
    pub split: Option<String>,
}

/// Whether `data` names a Hugging Face dataset (starts with `hf:`) rather than a local path.
/// [`DatasetSpec::parse`] says whether the rest is well formed.
pub fn is_hf_spec(data: &str) -> bool {
    data.starts_with(PREFIX)
}

impl DatasetSpec {
    /// Parses `hf:ORG/NAME[@REVISION][:SPLIT]`. A revision may hold `/` (`refs/convert/parquet`)
    /// but no `:`, which git forbids in ref names, so the first `:` after `hf:` starts the split.
    pub fn parse(spec: &str) -> Result<Self, HubError> {
        let bad = |reason: String| HubError::BadDatasetSpec { spec: spec.to_string(), reason };
        let rest = spec.strip_prefix(PREFIX).ok_or_else(|| bad("it does not start with `hf:`".into()))?;
        let (repo_and_revision, split) = match rest.split_once(':') {
            Some((head, split)) => (head, Some(split)),
            None => (rest, None),
        };
        let (repo_id, revision) = match repo_and_revision.split_once('@') {
            Some((repo, revision)) => (repo, Some(revision)),
            None => (repo_and_revision, None),
        };
        check_repo_id(repo_id).map_err(bad)?;
        if let Some(revision) = revision {
            if revision.is_empty() {
                return Err(bad("nothing follows `@`; name a branch, tag or commit".into()));
            }
            if !is_safe_revision(revision) || revision.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(format!("`{revision}` is not a branch, tag or commit")));
            }
        }
        if let Some(split) = split {
            if split.is_empty() {
                return Err(bad("nothing follows `:`; name a split such as train".into()));
            }
            let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !split.split('.').all(word) {
                return Err(bad(format!("`{split}` is not a split name (letters, digits and `_`, joined by `.`)")));
            }
        }
        Ok(DatasetSpec {
            repo_id: repo_id.to_string(),
            revision: revision.map(str::to_string),
            split: split.map(str::to_string),
        })
    }

    /// The revision, `main` when none was given.
    pub fn revision(&self) -> &str {
        self.revision.as_deref().unwrap_or("main")
    }

    /// The split, `train` when none was given.
    pub fn split(&self) -> &str {
        self.split.as_deref().unwrap_or("train")
    }
}

/// Hub repo names: letters, digits, `-`, `_` and `.`, starting and ending with a letter or
/// digit, without `--` or `..`, at most 96 characters, as `huggingface_hub` checks them.
fn check_repo_id(repo_id: &str) -> Result<(), String> {
    let Some((org, name)) = repo_id.split_once('/') else {
        return Err(if repo_id.is_empty() {
            "no ORG/NAME after `hf:`".into()
        } else {
            format!("`{repo_id}` needs its owner: ORG/NAME")
        });
    };
    for part in [org, name] {
        let ok_chars = part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if part.is_empty()
            || part.len() > 96
            || !ok_chars
            || !ends(part.chars().next())
            || !ends(part.chars().next_back())
            || part.contains("--")
            || part.contains("..")
        {
            return Err(format!(
                "`{repo_id}` is not a repo id (ORG/NAME of letters, digits, `-`, `_` and `.`, without `--` or `..`)"
            ));
        }
    }
    Ok(())
}

impl FromStr for DatasetSpec {
    type Err = HubError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatasetSpec::parse(s)
    }
}

impl fmt::Display for DatasetSpec {
    /// The spec as it parses back: `hf:ORG/NAME`, then `@REVISION` and `:SPLIT` where given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.repo_id)?;
        if let Some(revision) = &self.revision {
            write!(f, "@{revision}")?;
        }
        if let Some(split) = &self.split {
            write!(f, ":{split}")?;
        }
        Ok(())
    }
}

/// The data files of `spec`'s split, found in the hub cache `cache` without network: the
/// snapshot `refs/<revision>` names (`snapshots/<revision>` for a commit; the newest snapshot
/// holding the split when the cache has no refs), its splits read by the rules of
/// [`crate::infer_splits`]. `None` unless every file of the split is there: a link into `blobs/`
/// that dangles, or a `-NNNNN-of-MMMMM` shard missing, makes the split incomplete.
pub fn find_cached_dataset(cache: &Path, spec: &DatasetSpec) -> Option<Vec<PathBuf>> {
    let repo_dir = dataset_cache_dir(cache, &spec.repo_id);
    find_snapshot(&repo_dir, spec.revision(), |dir| cached_split(dir, spec.split())).map(|(_, files)| files)
}

/// The complete files of `split` in the snapshot `dir`, sorted.
fn cached_split(dir: &Path, split: &str) -> Option<Vec<PathBuf>> {
    let mut present = Vec::new();
    list_files(dir, "", 0, &mut present);
    let splits = infer_splits(present.iter().map(|(path, _)| path.as_str()));
    let (_, files) = splits.into_iter().find(|(name, _)| name == split)?;
    let readable: std::collections::HashSet<&str> =
        present.iter().filter(|(_, ok)| *ok).map(|(path, _)| path.as_str()).collect();
    let complete = files.iter().all(|f| readable.contains(f.as_str()));
    (complete && missing_shards(&files).is_empty()).then(|| files.iter().map(|f| dir.join(f)).collect())
}

/// Files under `dir` as `/`-separated paths after `prefix`, each with whether it can be read
/// (`false`: a dangling link). Hidden entries are skipped; the depth is bounded against loops.
fn list_files(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<(String, bool)>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let path = entry.path();
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                if depth < 16 {
                    list_files(&path, &format!("{rel}/"), depth + 1, out);
                }
            }
            Ok(meta) => out.push((rel, meta.is_file())),
            Err(_) => out.push((rel, false)),
        }
    }
}

/// The data files of `spec`'s split, in this order:
///
/// 1. From the hub cache `opts.cache` when every file of the split is there
///    ([`find_cached_dataset`]); this needs no network.
/// 2. When `allow_download`, [`download_dataset`] into that cache (from `opts.endpoint`, with
///    `opts.token`); unreachable, it fails with [`HubError::DatasetOffline`].
///    Without `allow_download` the result is [`HubError::DatasetNotCached`].
///
/// Both offline errors name the dataset, the cache directory, and the
/// `hf download ... --repo-type dataset` command that fills it. The revision and split come from
/// `spec`; `opts.repo_id` and `opts.revision` are ignored. The paths are in the snapshot
/// (symlinks into `blobs/` where the system has them), sorted.
pub fn resolve_dataset(
    spec: &DatasetSpec,
    opts: &DownloadOptions,
    allow_download: bool,
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>, HubError> {
    if let Some(files) = find_cached_dataset(&opts.cache, spec) {
        return Ok(files);
    }
    if !allow_download {
        return Err(HubError::DatasetNotCached {
            repo_id: spec.repo_id.clone(),
            revision: spec.revision().to_string(),
            split: spec.split().to_string(),
            cache: opts.cache.clone(),
        });
    }
    download_dataset(spec, opts, progress)
}

/// Downloads the data files of `spec`'s split into the hub cache and returns their paths.
///
/// The revision's file listing decides the splits ([`crate::infer_splits`]); a split it lacks is
/// [`HubError::SplitNotFound`] (naming the splits there are), and only that split's files are
/// fetched: no README, no other split. The layout is `huggingface_hub`'s:
/// `blobs/<etag>` (the LFS SHA-256, else the git blob id; the SHA-256 of the bytes when the hub
/// lists neither), `snapshots/<sha>/<path>` a relative symlink to it (a hard link, else a copy,
/// where symlinks fail), and `refs/<revision>`. Blobs stream to `blobs/<etag>.incomplete` and
/// are renamed when whole; the split's files enter the snapshot only once all of its blobs are
/// there, so an interrupted download never leaves a partial split to be found, and a rerun
/// fetches only the missing blobs.
pub fn download_dataset(
    spec: &DatasetSpec,
    opts: &DownloadOptions,
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>, HubError> {
    let agent = agent(opts);
    let revision = spec.revision();
    let remote = Remote { kind: RepoKind::Dataset, opts, repo_id: &spec.repo_id, revision };
    let info = remote.revision_info(&agent)?;

    let listed: Vec<&Sibling> = info.siblings.iter().filter(|s| is_safe_path(&s.rfilename)).collect();
    let splits = infer_splits(listed.iter().map(|s| s.rfilename.as_str()));
    if splits.is_empty() {
        return Err(HubError::NoDataFiles { repo_id: spec.repo_id.clone(), revision: revision.to_string() });
    }
    let Some((_, files)) = splits.iter().find(|(name, _)| name == spec.split()) else {
        return Err(HubError::SplitNotFound {
            repo_id: spec.repo_id.clone(),
            revision: revision.to_string(),
            split: spec.split().to_string(),
            found: splits.iter().map(|(name, _)| name.clone()).collect(),
        });
    };

    let repo_dir = dataset_cache_dir(&opts.cache, &spec.repo_id);
    let blobs = repo_dir.join("blobs");
    let snapshot = repo_dir.join("snapshots").join(&info.sha);
    fs::create_dir_all(&blobs).map_err(io_err(&blobs))?;
    fs::create_dir_all(&snapshot).map_err(io_err(&snapshot))?;

    let mut to_link = Vec::new();
    for path in files {
        let sibling = listed.iter().find(|s| &s.rfilename == path).expect("split files come from the listing");
        let whole = |p: &Path| fs::metadata(p).is_ok_and(|m| m.is_file() && sibling.size.is_none_or(|n| n == m.len()));
        let dest = snapshot.join(path);
        if whole(&dest) {
            continue;
        }
        let blob = match sibling.etag() {
            Some(etag) => {
                let blob = blobs.join(etag);
                if !whole(&blob) {
                    let tmp = blobs.join(format!("{etag}.incomplete"));
                    remote.fetch(&agent, &info.sha, path, sibling.size, &tmp, &blob, false, progress)?;
                }
                blob
            }
            None => {
                let tmp = blobs.join(format!("{}.{}.incomplete", info.sha, encode_segment(path)));
                let done = blobs.join(format!("{}.{}.unnamed", info.sha, encode_segment(path)));
                let sha256 = remote.fetch(&agent, &info.sha, path, sibling.size, &tmp, &done, true, progress)?;
                let blob = blobs.join(sha256.expect("asked for a hash"));
                fs::rename(&done, &blob).map_err(io_err(&blob))?;
                blob
            }
        };
        to_link.push((blob, path));
    }
    for (blob, path) in to_link {
        link_into_snapshot(&blob, &snapshot, path)?;
    }
    write_ref(&repo_dir, revision, &info.sha)?;
    Ok(files.iter().map(|f| snapshot.join(f)).collect())
}

/// Makes `snapshot/<path>` show `blob`: a relative symlink (`../../blobs/<etag>`, one more `..`
/// per directory in `path`) so the cache can move, else a hard link, else a copy.
fn link_into_snapshot(blob: &Path, snapshot: &Path, path: &str) -> Result<(), HubError> {
    let dest = snapshot.join(path);
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    if fs::symlink_metadata(&dest).is_ok() {
        fs::remove_file(&dest).map_err(io_err(&dest))?;
    }
    #[cfg(unix)]
    {
        let name = blob.file_name().expect("blobs are named").to_string_lossy();
        let target = format!("{}blobs/{name}", "../".repeat(path.split('/').count() + 1));
        if std::os::unix::fs::symlink(&target, &dest).is_ok() {
            return Ok(());
        }
    }
    if fs::hard_link(blob, &dest).is_ok() {
        return Ok(());
    }
    fs::copy(blob, &dest).map(|_| ()).map_err(io_err(&dest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_hub::{self, FakeHub, SHA};
    use skillsft_data::progress::Silent;
    use std::time::Duration;

    const REPO: &str = "test-org/fake-data";

    fn opts(endpoint: &str, cache: &Path) -> DownloadOptions {
        DownloadOptions {
            endpoint: endpoint.to_string(),
            repo_id: String::new(),
            revision: "main".to_string(),
            cache: cache.to_path_buf(),
            token: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn spec(s: &str) -> DatasetSpec {
        DatasetSpec::parse(s).unwrap()
    }

    fn rows(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| format!("{{\"messages\":[{{\"role\":\"user\",\"content\":\"{i}\"}}]}}\n"))
            .collect::<String>()
            .into()
    }

    /// A repo as `push_to_hub` lays it out, plus a README and a .gitattributes.
    fn repo_files() -> Vec<(String, Vec<u8>)> {
        vec![
            ("README.md".into(), b"---\nlicense: mit\n---\n".to_vec()),
            (".gitattributes".into(), b"*.parquet filter=lfs\n".to_vec()),
            ("data/train-00000-of-00002.jsonl".into(), rows(3)),
            ("data/train-00001-of-00002.jsonl".into(), rows(2)),
            ("data/test-00000-of-00001.jsonl".into(), rows(1)),
        ]
    }

    fn serve(files: Vec<(String, Vec<u8>)>) -> FakeHub {
        fake_hub::serve_dataset(REPO, files, 200, true)
    }

    /// Writes `huggingface_hub`'s layout by hand: blobs, snapshot symlinks into them, refs/main.
    #[cfg(unix)]
    fn write_hub_cache(cache: &Path, files: &[(&str, &[u8])]) -> PathBuf {
        let repo_dir = dataset_cache_dir(cache, REPO);
        let snapshot = repo_dir.join("snapshots").join(SHA);
        fs::create_dir_all(repo_dir.join("blobs")).unwrap();
        fs::create_dir_all(repo_dir.join("refs")).unwrap();
        fs::write(repo_dir.join("refs/main"), SHA).unwrap();
        for (i, (path, bytes)) in files.iter().enumerate() {
            let etag = format!("{i:064x}");
            fs::write(repo_dir.join("blobs").join(&etag), bytes).unwrap();
            let dest = snapshot.join(path);
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            let up = "../".repeat(path.split('/').count() + 1);
            std::os::unix::fs::symlink(format!("{up}blobs/{etag}"), &dest).unwrap();
        }
        snapshot
    }

    #[test]
    fn specs_parse_and_print_back() {
        let s = spec("hf:org/name");
        assert_eq!(s, DatasetSpec { repo_id: "org/name".into(), revision: None, split: None });
        assert_eq!((s.revision(), s.split()), ("main", "train"));
        let s = spec("hf:my-org/data.v2@refs/convert/parquet:test.clean");
        assert_eq!(s.revision.as_deref(), Some("refs/convert/parquet"));
        assert_eq!(s.split.as_deref(), Some("test.clean"));
        assert_eq!(s.to_string(), "hf:my-org/data.v2@refs/convert/parquet:test.clean");
        assert_eq!(spec("hf:o/n:validation").split(), "validation");
        assert_eq!(spec("hf:o/n@v1.0").revision(), "v1.0");
        assert_eq!("hf:o/n@abc".parse::<DatasetSpec>().unwrap().revision(), "abc");
        assert!(is_hf_spec("hf:o/n") && !is_hf_spec("data/train.jsonl") && !is_hf_spec("HF:o/n"));
    }

    #[test]
    fn malformed_specs_say_what_is_wrong() {
        for (bad, says) in [
            ("org/name", "does not start with `hf:`"),
            ("hf:", "no ORG/NAME"),
            ("hf:name", "needs its owner"),
            ("hf:a/b/c", "not a repo id"),
            ("hf:org/na--me", "not a repo id"),
            ("hf:org/-name", "not a repo id"),
            ("hf:org/name@", "nothing follows `@`"),
            ("hf:org/name@../x", "not a branch, tag or commit"),
            ("hf:org/name:", "nothing follows `:`"),
            ("hf:org/name:tr-ain", "not a split name"),
            ("hf:org/name@main:a:b", "not a split name"),
        ] {
            let err = DatasetSpec::parse(bad).unwrap_err();
            assert!(matches!(err, HubError::BadDatasetSpec { .. }), "{bad}: {err:?}");
            let msg = err.to_string();
            assert!(msg.contains(says) && msg.contains(bad) && msg.contains("hf:ORG/NAME"), "{bad}: {msg}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn hand_made_hub_cache_resolves_offline() {
        let cache = tempfile::tempdir().unwrap();
        let snapshot = write_hub_cache(
            cache.path(),
            &[
                ("README.md", b"# card"),
                ("data/train-00000-of-00001.parquet", b"PAR1"),
                ("data/validation-00000-of-00001.parquet", b"PAR1"),
            ],
        );
        let o = opts(&fake_hub::dead_endpoint(), cache.path());
        let files = resolve_dataset(&spec(&format!("hf:{REPO}")), &o, false, &Silent).unwrap();
        assert_eq!(files, [snapshot.join("data/train-00000-of-00001.parquet")]);
        assert_eq!(fs::read(&files[0]).unwrap(), b"PAR1");
        let files = resolve_dataset(&spec(&format!("hf:{REPO}:validation")), &o, true, &Silent).unwrap();
        assert_eq!(files, [snapshot.join("data/validation-00000-of-00001.parquet")]);
        // The ref is followed for `main`; a commit names its snapshot directly.
        assert_eq!(find_cached_dataset(cache.path(), &spec(&format!("hf:{REPO}@{SHA}"))).map(|f| f.len()), Some(1));
    }

    #[cfg(unix)]
    #[test]
    fn dangling_links_and_missing_shards_are_not_cached() {
        let cache = tempfile::tempdir().unwrap();
        let snapshot = write_hub_cache(
            cache.path(),
            &[("data/train-00000-of-00002.jsonl", b"{}\n"), ("data/train-00001-of-00002.jsonl", b"{}\n")],
        );
        let s = spec(&format!("hf:{REPO}"));
        assert_eq!(find_cached_dataset(cache.path(), &s).map(|f| f.len()), Some(2));
        // An interrupted `hf download`: the link is there, its blob is not.
        let blob = fs::canonicalize(snapshot.join("data/train-00001-of-00002.jsonl")).unwrap();
        fs::remove_file(&blob).unwrap();
        assert_eq!(find_cached_dataset(cache.path(), &s), None);
        // `hf download --include` of one shard: the count in the names says one is missing.
        fs::remove_file(snapshot.join("data/train-00001-of-00002.jsonl")).unwrap();
        assert_eq!(find_cached_dataset(cache.path(), &s), None);
    }

    #[test]
    fn download_lands_in_the_hub_layout_and_the_second_resolve_needs_no_network() {
        let hub = serve(repo_files());
        let cache = tempfile::tempdir().unwrap();
        let mut o = opts(&hub.url, cache.path());
        o.token = Some("hf_secret".into());
        let s = spec(&format!("hf:{REPO}"));

        let files = resolve_dataset(&s, &o, true, &Silent).unwrap();
        let repo_dir = dataset_cache_dir(cache.path(), REPO);
        let snapshot = repo_dir.join("snapshots").join(SHA);
        let train = ["data/train-00000-of-00002.jsonl", "data/train-00001-of-00002.jsonl"];
        assert_eq!(files, train.map(|f| snapshot.join(f)));
        let by_name: std::collections::HashMap<_, _> = repo_files().into_iter().collect();
        for f in train {
            assert_eq!(fs::read(snapshot.join(f)).unwrap(), by_name[f], "{f}");
            #[cfg(unix)]
            {
                let link = fs::read_link(snapshot.join(f)).unwrap();
                assert_eq!(link, Path::new("../../../blobs").join(fake_hub::etag(f, &by_name[f])), "{f}");
            }
        }
        assert_eq!(fs::read_to_string(repo_dir.join("refs/main")).unwrap(), SHA);
        assert!(!snapshot.join("README.md").exists() && !snapshot.join("data/test-00000-of-00001.jsonl").exists());
        let incomplete = fs::read_dir(repo_dir.join("blobs")).unwrap().filter_map(Result::ok);
        assert!(incomplete.map(|e| e.file_name()).all(|n| !n.to_string_lossy().contains('.')));

        let mut fetched = hub.resolve_paths();
        fetched.sort();
        assert_eq!(fetched, train.map(|f| format!("/datasets/{REPO}/resolve/{SHA}/{f}")));
        assert!(hub.seen.lock().unwrap().iter().all(|s| s.authorization.as_deref() == Some("Bearer hf_secret")));

        hub.clear();
        assert_eq!(resolve_dataset(&s, &o, true, &Silent).unwrap(), files);
        assert!(hub.paths().is_empty(), "cached: {:?}", hub.paths());

        // Another split of the same commit joins the snapshot; train stays cached.
        let test = resolve_dataset(&spec(&format!("hf:{REPO}:test")), &o, true, &Silent).unwrap();
        assert_eq!(test, [snapshot.join("data/test-00000-of-00001.jsonl")]);
        hub.clear();
        assert_eq!(resolve_dataset(&s, &o, false, &Silent).unwrap(), files);
        assert!(hub.paths().is_empty());
    }

    #[test]
    fn interrupted_download_resumes_from_finished_blobs() {
        let hub = serve(repo_files());
        let cache = tempfile::tempdir().unwrap();
        let o = opts(&hub.url, cache.path());
        let s = spec(&format!("hf:{REPO}"));
        let first = "data/train-00000-of-00002.jsonl";
        let blobs = dataset_cache_dir(cache.path(), REPO).join("blobs");
        fs::create_dir_all(&blobs).unwrap();
        let bytes = repo_files().into_iter().find(|(n, _)| n == first).unwrap().1;
        fs::write(blobs.join(fake_hub::etag(first, &bytes)), &bytes).unwrap();

        resolve_dataset(&s, &o, true, &Silent).unwrap();
        assert_eq!(hub.resolve_paths(), [format!("/datasets/{REPO}/resolve/{SHA}/data/train-00001-of-00002.jsonl")]);
    }

    #[test]
    fn listing_without_blob_ids_names_blobs_by_content() {
        let hub = fake_hub::serve_dataset(REPO, vec![("train.jsonl".into(), rows(2))], 200, false);
        let cache = tempfile::tempdir().unwrap();
        let files =
            resolve_dataset(&spec(&format!("hf:{REPO}")), &opts(&hub.url, cache.path()), true, &Silent).unwrap();
        assert_eq!(fs::read(&files[0]).unwrap(), rows(2));
        let blob = dataset_cache_dir(cache.path(), REPO).join("blobs").join(fake_hub::sha256_hex(&rows(2)));
        assert!(blob.is_file());
        let names: Vec<_> = fs::read_dir(blob.parent().unwrap()).unwrap().filter_map(Result::ok).collect();
        assert_eq!(names.len(), 1, "only the blob: {names:?}");
    }

    #[test]
    fn offline_and_not_cached_errors_say_what_to_do() {
        let cache = tempfile::tempdir().unwrap();
        let cache_str = cache.path().display().to_string();
        let o = opts(&fake_hub::dead_endpoint(), cache.path());

        let err = resolve_dataset(&spec(&format!("hf:{REPO}")), &o, true, &Silent).unwrap_err();
        assert!(matches!(err, HubError::DatasetOffline { .. }), "{err:?}");
        let msg = err.to_string();
        let command = format!("hf download {REPO} --repo-type dataset --cache-dir {cache_str}");
        assert!(msg.contains(&command) && msg.contains("--data"), "{msg}");

        let err = resolve_dataset(&spec(&format!("hf:{REPO}@v2:test")), &o, false, &Silent).unwrap_err();
        assert!(matches!(err, HubError::DatasetNotCached { .. }), "{err:?}");
        let msg = err.to_string();
        let command = format!("hf download {REPO} --repo-type dataset --revision v2 --cache-dir {cache_str}");
        assert!(msg.contains(&command) && msg.contains("`test`") && msg.contains("--data"), "{msg}");
    }

    #[test]
    fn a_missing_split_lists_the_splits_there_are() {
        let hub = serve(repo_files());
        let cache = tempfile::tempdir().unwrap();
        let err =
            resolve_dataset(&spec(&format!("hf:{REPO}:validation")), &opts(&hub.url, cache.path()), true, &Silent)
                .unwrap_err();
        assert!(matches!(err, HubError::SplitNotFound { .. }), "{err:?}");
        assert!(err.to_string().contains("no split `validation`; its splits: train, test"), "{err}");
        assert!(hub.resolve_paths().is_empty());

        let hub = serve(vec![("README.md".into(), b"# card".to_vec()), ("data.csv".into(), b"a,b\n".to_vec())]);
        let err =
            resolve_dataset(&spec(&format!("hf:{REPO}")), &opts(&hub.url, cache.path()), true, &Silent).unwrap_err();
        assert!(matches!(err, HubError::NoDataFiles { .. }), "{err:?}");
        assert!(err.to_string().contains("*.parquet, *.jsonl, *.json"), "{err}");
    }

    #[test]
    fn gated_and_missing_datasets() {
        let hub = fake_hub::serve_dataset(REPO, repo_files(), 403, true);
        let cache = tempfile::tempdir().unwrap();
        let err =
            resolve_dataset(&spec(&format!("hf:{REPO}")), &opts(&hub.url, cache.path()), true, &Silent).unwrap_err();
        assert!(matches!(err, HubError::Unauthorized { status: 403, .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&format!("{}/datasets/{REPO}", hub.url)) && msg.contains("HF_TOKEN"), "{msg}");

        let err =
            resolve_dataset(&spec("hf:test-org/missing"), &opts(&hub.url, cache.path()), true, &Silent).unwrap_err();
        assert!(matches!(err, HubError::NotFound { .. }), "{err:?}");
    }
}
