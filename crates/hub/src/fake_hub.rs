//! A loopback stand-in for the hub in tests: the revision API and `resolve` URLs of one repo at
//! `main`, with every request logged.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// The commit `main` points at.
pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
}

pub struct FakeHub {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeHub {
    pub fn paths(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|s| s.path.clone()).collect()
    }

    pub fn resolve_paths(&self) -> Vec<String> {
        self.paths().into_iter().filter(|p| p.contains("/resolve/")).collect()
    }

    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The etag the dataset listing gives `path`: `*.parquet` and `*.jsonl` are LFS files named by
/// their SHA-256, others get a 40-digit stand-in for a git blob id.
pub fn etag(path: &str, bytes: &[u8]) -> String {
    if path.ends_with(".parquet") || path.ends_with(".jsonl") {
        sha256_hex(bytes)
    } else {
        sha256_hex(bytes)[..40].to_string()
    }
}

/// A model repo `repo`: the listing holds `files` (name and size) plus a README and a nested
/// safetensors that are never served, so fetching them fails.
pub fn serve_model(repo: &str, files: Vec<(String, Vec<u8>)>, api_status: u16) -> FakeHub {
    let mut siblings: Vec<serde_json::Value> =
        files.iter().map(|(n, b)| serde_json::json!({"rfilename": n, "size": b.len()})).collect();
    siblings.push(serde_json::json!({"rfilename": "README.md", "size": 3}));
    siblings.push(serde_json::json!({"rfilename": "onnx/model.safetensors", "size": 3}));
    serve(
        format!("/api/models/{repo}/revision/main"),
        format!("/{repo}/resolve/{SHA}/"),
        repo,
        siblings,
        files,
        api_status,
    )
}

/// A dataset repo `repo` listing and serving `files`; `with_ids` adds blob ids and LFS hashes as
/// the hub's `?blobs=true` does.
pub fn serve_dataset(repo: &str, files: Vec<(String, Vec<u8>)>, api_status: u16, with_ids: bool) -> FakeHub {
    let siblings = files
        .iter()
        .map(|(n, b)| {
            let mut s = serde_json::json!({"rfilename": n, "size": b.len()});
            if with_ids {
                let id = etag(n, b);
                if id.len() == 64 {
                    s["lfs"] = serde_json::json!({"sha256": id, "size": b.len(), "pointerSize": 134});
                    s["blobId"] = serde_json::json!(sha256_hex(n.as_bytes())[..40]);
                } else {
                    s["blobId"] = serde_json::json!(id);
                }
            }
            s
        })
        .collect();
    serve(
        format!("/api/datasets/{repo}/revision/main"),
        format!("/datasets/{repo}/resolve/{SHA}/"),
        repo,
        siblings,
        files,
        api_status,
    )
}

fn serve(
    api: String,
    resolve: String,
    repo: &str,
    siblings: Vec<serde_json::Value>,
    files: Vec<(String, Vec<u8>)>,
    api_status: u16,
) -> FakeHub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let listing = Arc::new(serde_json::json!({"id": repo, "sha": SHA, "siblings": siblings}).to_string());
    let files = Arc::new(files);
    let (api, resolve) = (Arc::new(api), Arc::new(resolve));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (log, files, listing, api, resolve) =
                (log.clone(), files.clone(), listing.clone(), api.clone(), resolve.clone());
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

                let (status, body) = if path == *api {
                    (api_status, listing.as_bytes().to_vec())
                } else if let Some(name) = path.strip_prefix(resolve.as_str()) {
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

/// An endpoint nothing listens on: a port that was bound and released.
pub fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}
