//! HTTP against the hub (or a mirror): the revision listing, file downloads, and the mapping of
//! failures to [`HubError`]s that say what to do.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use skillsft_data::progress::{Progress, Unit};

use crate::cache::{cache_dir, is_safe_name};
use crate::error::{HubError, io_err};

const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Where and how to download a repo.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Hub base URL; a mirror can be set with `HF_ENDPOINT`.
    pub endpoint: String,
    /// `owner/name`, e.g. `Qwen/Qwen3.5-4B`. [`crate::resolve_model`] and
    /// [`crate::resolve_dataset`] replace it with the repo they resolve.
    pub repo_id: String,
    /// Branch, tag or commit of a model. A dataset's revision comes from its
    /// [`crate::DatasetSpec`] instead.
    pub revision: String,
    /// The hub cache root (`models--owner--name/` and `datasets--owner--name/` inside).
    pub cache: PathBuf,
    /// Needed only for gated or private repos.
    pub token: Option<String>,
    /// Limit on connecting, on waiting for a reply, and on each read of a body (not on a whole
    /// multi-gigabyte file).
    pub timeout: Duration,
}

impl DownloadOptions {
    /// Options for `repo_id` at `main` from `HF_ENDPOINT`, `HF_TOKEN` and [`cache_dir`].
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

    pub(crate) fn base(&self) -> &str {
        self.endpoint.trim_end_matches('/')
    }
}

impl Default for DownloadOptions {
    /// [`DownloadOptions::from_env`] with no repo; set `repo_id` before downloading.
    fn default() -> Self {
        DownloadOptions::from_env("")
    }
}

/// The two kinds of repo this crate fetches; they differ in URLs and in the advice of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RepoKind {
    Model,
    Dataset,
}

/// One repo at one revision, as the HTTP code needs it.
pub(crate) struct Remote<'a> {
    pub kind: RepoKind,
    pub opts: &'a DownloadOptions,
    pub repo_id: &'a str,
    pub revision: &'a str,
}

impl Remote<'_> {
    /// `{endpoint}/api/{models|datasets}/{repo}/revision/{rev}?blobs=true`: the commit and the
    /// files, with sizes and blob ids.
    fn info_url(&self) -> String {
        let kind = match self.kind {
            RepoKind::Model => "models",
            RepoKind::Dataset => "datasets",
        };
        format!(
            "{}/api/{kind}/{}/revision/{}?blobs=true",
            self.opts.base(),
            self.repo_id,
            encode_segment(self.revision)
        )
    }

    /// The URL of `path` at commit `sha`. Dataset paths are nested and encoded segment by
    /// segment; model files are single top-level names and go as they are.
    pub fn file_url(&self, sha: &str, path: &str) -> String {
        match self.kind {
            RepoKind::Model => format!("{}/{}/resolve/{sha}/{path}", self.opts.base(), self.repo_id),
            RepoKind::Dataset => {
                let path: Vec<String> = path.split('/').map(encode_segment).collect();
                format!("{}/datasets/{}/resolve/{sha}/{}", self.opts.base(), self.repo_id, path.join("/"))
            }
        }
    }

    /// The page where a gated repo's terms are accepted.
    fn page(&self) -> String {
        match self.kind {
            RepoKind::Model => format!("{}/{}", self.opts.base(), self.repo_id),
            RepoKind::Dataset => format!("{}/datasets/{}", self.opts.base(), self.repo_id),
        }
    }

    fn offline(&self, reason: String) -> HubError {
        let (repo_id, cache, endpoint) =
            (self.repo_id.to_string(), self.opts.cache.clone(), self.opts.endpoint.clone());
        match self.kind {
            RepoKind::Model => HubError::Offline { repo_id, cache, endpoint, reason },
            RepoKind::Dataset => {
                HubError::DatasetOffline { repo_id, revision: self.revision.to_string(), cache, endpoint, reason }
            }
        }
    }

    /// The commit `revision` points at and the files there.
    pub fn revision_info(&self, agent: &ureq::Agent) -> Result<RevisionInfo, HubError> {
        let url = self.info_url();
        let mut resp = self.get(agent, &url)?;
        let info: RevisionInfo = resp
            .body_mut()
            .read_json()
            .map_err(|e| HubError::BadResponse { url: url.clone(), reason: e.to_string() })?;
        if !is_safe_name(&info.sha) || !info.sha.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(HubError::BadResponse { url, reason: format!("`{}` is not a commit sha", info.sha) });
        }
        Ok(info)
    }

    /// GET with the token, mapping failures to [`HubError`]s that say what to do.
    pub fn get(&self, agent: &ureq::Agent, url: &str) -> Result<ureq::http::Response<ureq::Body>, HubError> {
        let mut req = agent.get(url);
        if let Some(token) = &self.opts.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let mut resp = req.call().map_err(|e| match e {
            ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectProxyFailed(_) => self.offline(e.to_string()),
            other => HubError::BadResponse { url: url.to_string(), reason: other.to_string() },
        })?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => Ok(resp),
            401 | 403 => Err(HubError::Unauthorized {
                repo_id: self.repo_id.to_string(),
                url: url.to_string(),
                status,
                page: self.page(),
            }),
            404 => Err(HubError::NotFound {
                repo_id: self.repo_id.to_string(),
                revision: self.revision.to_string(),
                url: url.to_string(),
            }),
            _ => {
                let body = resp.body_mut().read_to_string().unwrap_or_default();
                let body: String = body.trim().chars().take(300).collect();
                Err(HubError::Http { url: url.to_string(), status, body })
            }
        }
    }

    /// Streams `path` at commit `sha` into `tmp`, checks its length, and renames it to `dest`.
    /// With `hash`, returns the SHA-256 of the bytes as lowercase hex.
    #[allow(clippy::too_many_arguments)]
    pub fn fetch(
        &self,
        agent: &ureq::Agent,
        sha: &str,
        path: &str,
        size: Option<u64>,
        tmp: &Path,
        dest: &Path,
        hash: bool,
        progress: &dyn Progress,
    ) -> Result<Option<String>, HubError> {
        let url = self.file_url(sha, path);
        let mut resp = self.get(agent, &url)?;
        let expected = resp.body().content_length().or(size);

        progress.start(path, Unit::Bytes, expected, 0);

        let mut file = File::create(tmp).map_err(io_err(tmp))?;
        let mut reader = resp.body_mut().as_reader();
        let mut buf = vec![0u8; 1 << 18];
        let mut received = 0u64;
        let mut hasher = hash.then(Sha256::new);
        let transfer = |received, reason: String| HubError::Transfer { url: url.clone(), received, reason };
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    drop(file);
                    let _ = fs::remove_file(tmp);
                    return Err(transfer(received, e.to_string()));
                }
            };
            file.write_all(&buf[..n]).map_err(io_err(tmp))?;
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            received += n as u64;
            progress.advance(n as u64, "");
        }
        file.sync_all().map_err(io_err(tmp))?;
        drop(file);
        if let Some(want) = expected.filter(|&want| want != received) {
            let _ = fs::remove_file(tmp);
            return Err(transfer(received, format!("expected {want} bytes")));
        }
        fs::rename(tmp, dest).map_err(io_err(dest))?;
        progress.finish();
        Ok(hasher.map(|h| hex::encode(h.finalize())))
    }
}

/// The agent every download uses: HTTP errors come back as responses (mapped by
/// [`Remote::get`]), and bodies are not compressed, so lengths match the hub's listing.
pub(crate) fn agent(opts: &DownloadOptions) -> ureq::Agent {
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
    ureq::Agent::new_with_config(config)
}

/// The reply of the revision API.
#[derive(Deserialize)]
pub(crate) struct RevisionInfo {
    pub sha: String,
    #[serde(default)]
    pub siblings: Vec<Sibling>,
}

/// One file of a revision.
#[derive(Deserialize)]
pub(crate) struct Sibling {
    /// The path in the repo, `/`-separated.
    pub rfilename: String,
    /// Present when asked for with `?blobs=true`; lets finished files be skipped without a request.
    #[serde(default)]
    pub size: Option<u64>,
    /// The git blob id (`?blobs=true`); `huggingface_hub` names a non-LFS file's blob by it.
    #[serde(default, rename = "blobId")]
    pub blob_id: Option<String>,
    /// LFS details (`?blobs=true`); an LFS file's blob is named by its SHA-256.
    #[serde(default)]
    pub lfs: Option<Lfs>,
}

/// The LFS part of a [`Sibling`].
#[derive(Deserialize)]
pub(crate) struct Lfs {
    pub sha256: String,
}

impl Sibling {
    /// The blob name `huggingface_hub` gives this file (its etag): the LFS SHA-256, else the
    /// git blob id; `None` when the listing has neither or they are not plain hex.
    pub fn etag(&self) -> Option<&str> {
        let id = self.lfs.as_ref().map(|l| l.sha256.as_str()).or(self.blob_id.as_deref())?;
        (!id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
    }
}

/// Percent-encodes a revision such as `refs/pr/1`, or one component of a file path, into one
/// URL path segment, as `huggingface_hub` does.
pub(crate) fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
