//! Resolves `--size 0.8b|2b|4b` to a local Hugging Face model directory.
//!
//! Order: an explicit `--model DIR`, then the Hugging Face hub cache (shared with `hf download`
//! and Python's `huggingface_hub`, so a model fetched by either is reused), then a download into
//! that same cache. Downloads go file by file and each file lands atomically, so an interrupted
//! download resumes where it stopped instead of starting over.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use skillsft_data::progress::{Progress, Unit};

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

const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

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
        "HTTP {status} from {url}: {repo_id} may be gated or private (or may not exist). Accept its terms \
         on the model page, then set HF_TOKEN to a token with read access"
    )]
    Unauthorized { repo_id: String, url: String, status: u16 },

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

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> HubError + '_ {
    move |source| HubError::Io { path: path.to_path_buf(), source }
}

/// The repo for a `--size` value, case-insensitively.
pub fn repo_for_size(size: &str) -> Option<&'static str> {
    SIZES.iter().find(|(s, _)| s.eq_ignore_ascii_case(size.trim())).map(|(_, r)| *r)
}

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

/// `Qwen/Qwen3.5-4B` -> `<cache>/models--Qwen--Qwen3.5-4B`.
pub fn repo_cache_dir(cache: &Path, repo_id: &str) -> PathBuf {
    cache.join(format!("models--{}", repo_id.replace('/', "--")))
}

/// A complete cached snapshot of `repo_id` at `revision`, if there is one.
///
/// `refs/<revision>` names the snapshot; a revision that is itself a commit has no ref, and a
/// cache copied in by hand may have no refs at all, so then the newest complete snapshot is used.
pub fn find_cached(cache: &Path, repo_id: &str, revision: &str) -> Option<PathBuf> {
    let repo = repo_cache_dir(cache, repo_id);
    let snapshots = repo.join("snapshots");
    if let Ok(sha) = fs::read_to_string(repo.join("refs").join(revision)) {
        let dir = snapshots.join(sha.trim());
        return is_complete(&dir).then_some(dir);
    }
    let direct = snapshots.join(revision);
    if is_safe_name(revision) && is_complete(&direct) {
        return Some(direct);
    }
    fs::read_dir(&snapshots)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_complete(p))
        .map(|p| (fs::metadata(&p).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH), p))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p)
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

/// Where and how to download a repo.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Hub base URL; a mirror can be set with `HF_ENDPOINT`.
    pub endpoint: String,
    /// `owner/name`, e.g. `Qwen/Qwen3.5-4B`.
    pub repo_id: String,
    /// Branch, tag or commit.
    pub revision: String,
    /// The hub cache root (`models--owner--name/` inside).
    pub cache: PathBuf,
    /// Needed only for gated or private repos.
    pub token: Option<String>,
    /// Limit on connecting, on waiting for a reply, and on each read of a body (not on a whole
    /// multi-gigabyte file).
    pub timeout: Duration,
}

impl DownloadOptions {
    /// Options for `repo_id` from `HF_ENDPOINT`, `HF_TOKEN` and [`cache_dir`].
    pub fn from_env(repo_id: &str) -> Self {
        let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        DownloadOptions {
            endpoint: var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.to_string()),
            repo_id: repo_id.to_string(),
            revision: "main".to_string(),
            cache: cache_dir(),
            token: var("HF_TOKEN"),
            timeout: Duration::from_secs(30),
        }
    }

    fn base(&self) -> &str {
        self.endpoint.trim_end_matches('/')
    }

    fn offline(&self, reason: String) -> HubError {
        HubError::Offline {
            repo_id: self.repo_id.clone(),
            cache: self.cache.clone(),
            endpoint: self.endpoint.clone(),
            reason,
        }
    }
}

impl Default for DownloadOptions {
    /// [`DownloadOptions::from_env`] with no repo; set `repo_id` before downloading.
    fn default() -> Self {
        DownloadOptions::from_env("")
    }
}

/// The model directory to train: `model` if given (it must hold config.json), else the cached
/// snapshot of the repo for `size`, else a download when `allow_download`.
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

#[derive(Deserialize)]
struct RevisionInfo {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
    /// Present when asked for with `?blobs=true`; lets finished files be skipped without a request.
    #[serde(default)]
    size: Option<u64>,
}

/// Downloads the files a text model needs into the hub cache and returns the snapshot dir.
///
/// Layout matches `huggingface_hub`: `snapshots/<sha>/<file>` and `refs/<revision>`. Files are
/// streamed to `blobs/<file>.incomplete` and renamed into the snapshot as plain files rather
/// than symlinks to content-addressed blobs; `huggingface_hub` reads plain files in snapshots
/// (it writes them itself where symlinks are unavailable). A file already in the snapshot with
/// the size the hub lists is skipped, and `refs/<revision>` is written last, so a rerun after an
/// interruption fetches only what is missing.
pub fn download(opts: &DownloadOptions, progress: &dyn Progress) -> Result<PathBuf, HubError> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_resolve(Some(opts.timeout))
        .timeout_connect(Some(opts.timeout))
        .timeout_recv_response(Some(opts.timeout))
        .timeout_per_read(Some(opts.timeout))
        // Sizes are checked against the hub's listing, which counts uncompressed bytes.
        .accept_encoding("identity")
        .user_agent(concat!("skillsft/", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);

    let info_url =
        format!("{}/api/models/{}/revision/{}?blobs=true", opts.base(), opts.repo_id, encode_segment(&opts.revision));
    let mut resp = get(&agent, &info_url, opts)?;
    let info: RevisionInfo = resp
        .body_mut()
        .read_json()
        .map_err(|e| HubError::BadResponse { url: info_url.clone(), reason: e.to_string() })?;
    if !is_safe_name(&info.sha) || !info.sha.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(HubError::BadResponse { url: info_url, reason: format!("`{}` is not a commit sha", info.sha) });
    }

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
        fetch_file(&agent, opts, &info.sha, sibling, &blobs, &dest, progress)?;
    }

    if info.sha != opts.revision {
        let ref_path = repo_dir.join("refs").join(&opts.revision);
        if let Some(parent) = ref_path.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        fs::write(&ref_path, &info.sha).map_err(io_err(&ref_path))?;
    }
    Ok(snapshot)
}

fn fetch_file(
    agent: &ureq::Agent,
    opts: &DownloadOptions,
    sha: &str,
    sibling: &Sibling,
    blobs: &Path,
    dest: &Path,
    progress: &dyn Progress,
) -> Result<(), HubError> {
    let name = &sibling.rfilename;
    let url = format!("{}/{}/resolve/{}/{}", opts.base(), opts.repo_id, sha, name);
    let mut resp = get(agent, &url, opts)?;
    let expected = resp.body().content_length().or(sibling.size);

    progress.start(name, Unit::Bytes, expected, 0);

    let tmp = blobs.join(format!("{name}.incomplete"));
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut reader = resp.body_mut().as_reader();
    let mut buf = vec![0u8; 1 << 18];
    let mut received = 0u64;
    let transfer = |received, reason: String| HubError::Transfer { url: url.clone(), received, reason };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                drop(file);
                let _ = fs::remove_file(&tmp);
                return Err(transfer(received, e.to_string()));
            }
        };
        file.write_all(&buf[..n]).map_err(io_err(&tmp))?;
        received += n as u64;
        progress.advance(n as u64, "");
    }
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    if let Some(want) = expected.filter(|&want| want != received) {
        let _ = fs::remove_file(&tmp);
        return Err(transfer(received, format!("expected {want} bytes")));
    }
    fs::rename(&tmp, dest).map_err(io_err(dest))?;
    progress.finish();
    Ok(())
}

/// GET with the token, mapping failures to [`HubError`]s that say what to do.
fn get(agent: &ureq::Agent, url: &str, opts: &DownloadOptions) -> Result<ureq::http::Response<ureq::Body>, HubError> {
    let mut req = agent.get(url);
    if let Some(token) = &opts.token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let mut resp = req.call().map_err(|e| match e {
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::ConnectProxyFailed(_) => opts.offline(e.to_string()),
        other => HubError::BadResponse { url: url.to_string(), reason: other.to_string() },
    })?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => Ok(resp),
        401 | 403 => Err(HubError::Unauthorized { repo_id: opts.repo_id.clone(), url: url.to_string(), status }),
        404 => Err(HubError::NotFound {
            repo_id: opts.repo_id.clone(),
            revision: opts.revision.clone(),
            url: url.to_string(),
        }),
        _ => {
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            let body: String = body.trim().chars().take(300).collect();
            Err(HubError::Http { url: url.to_string(), status, body })
        }
    }
}

/// A single path component that cannot climb out of the cache.
fn is_safe_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']) && name != ".."
}

/// Percent-encodes a revision such as `refs/pr/1` into one URL path segment, as `huggingface_hub` does.
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillsft_data::progress::Silent;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
    const REPO: &str = "test-org/fake-model";

    /// A request as the server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        authorization: Option<String>,
    }

    struct FakeHub {
        url: String,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl FakeHub {
        fn paths(&self) -> Vec<String> {
            self.seen.lock().unwrap().iter().map(|s| s.path.clone()).collect()
        }

        fn resolve_paths(&self) -> Vec<String> {
            self.paths().into_iter().filter(|p| p.contains("/resolve/")).collect()
        }

        fn clear(&self) {
            self.seen.lock().unwrap().clear();
        }
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

    /// Serves the revision API and resolve URLs for `files` (plus a README and a nested
    /// safetensors that must not be fetched); `api_status` replaces the API reply's status.
    fn serve(files: Vec<(String, Vec<u8>)>, api_status: u16) -> FakeHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let files = Arc::new(files);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let log = log.clone();
                let files = files.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let target = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let path = target.split('?').next().unwrap().to_string();
                    let mut authorization = None;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            break;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.trim().eq_ignore_ascii_case("authorization")
                        {
                            authorization = Some(v.trim().to_string());
                        }
                    }
                    log.lock().unwrap().push(Seen { path: path.clone(), authorization });

                    let api = format!("/api/models/{REPO}/revision/main");
                    let resolve = format!("/{REPO}/resolve/{SHA}/");
                    let (status, body) = if path == api {
                        let mut siblings: Vec<serde_json::Value> =
                            files.iter().map(|(n, b)| serde_json::json!({"rfilename": n, "size": b.len()})).collect();
                        siblings.push(serde_json::json!({"rfilename": "README.md", "size": 3}));
                        siblings.push(serde_json::json!({"rfilename": "onnx/model.safetensors", "size": 3}));
                        let body = serde_json::json!({"id": REPO, "sha": SHA, "siblings": siblings});
                        (api_status, body.to_string().into_bytes())
                    } else if let Some(name) = path.strip_prefix(&resolve) {
                        match files.iter().find(|(n, _)| n == name) {
                            Some((_, b)) => (200, b.clone()),
                            None => (404, b"Entry not found".to_vec()),
                        }
                    } else {
                        (404, b"Repository not found".to_vec())
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body);
                });
            }
        });
        FakeHub { url, seen }
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

    /// An endpoint nothing listens on: a port that was bound and released.
    fn dead_endpoint() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        url
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

    #[test]
    fn cache_dir_precedence() {
        let s = |v: &'static str| Some(OsStr::new(v));
        assert_eq!(cache_dir_from(s("/c"), s("/h"), s("/u")), PathBuf::from("/c"));
        assert_eq!(cache_dir_from(None, s("/h"), s("/u")), PathBuf::from("/h/hub"));
        assert_eq!(cache_dir_from(s(""), s("/h"), s("/u")), PathBuf::from("/h/hub"));
        assert_eq!(cache_dir_from(None, None, s("/u")), PathBuf::from("/u/.cache/huggingface/hub"));
    }
}
