//! The `train` binary end to end: a LoRA run on the tiny PEFT fixture model with corpus-style
//! tokenized data, the adapter served by `qwen35 logits --adapter`, merge, and refusals.

use std::path::{Path, PathBuf};
use std::process::Command;

use qwen35::checkpoint::read_all_f32;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../qwen35/tests/fixtures").join(name)
}

/// A path as an argument (the temporary and fixture paths here are UTF-8).
fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn run(bin: &str, args: &[&str]) -> std::process::Output {
    Command::new(bin).args(args).output().expect("run binary")
}

fn ok(o: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    err
}

#[test]
fn train_serve_and_merge_an_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.jsonl");
    // text_untied_irregular has a 384-token vocabulary.
    let lines: Vec<String> = (0..6)
        .map(|i| {
            let ids: Vec<u32> = (0..30).map(|j| (i * 37 + j * 11) % 384).collect();
            let labels: Vec<i64> = ids.iter().enumerate().map(|(j, &x)| if j < 10 { -100 } else { x as i64 }).collect();
            serde_json::json!({"input_ids": ids, "labels": labels}).to_string()
        })
        .collect();
    std::fs::write(&data, lines.join("\n")).unwrap();
    let model = fixture("text_untied_irregular");
    let out = dir.path().join("run");
    let train = env!("CARGO_BIN_EXE_train");
    let args = |extra: &[&str]| {
        let mut a = vec!["--model", s(&model), "--data", s(&data), "--out", s(&out)];
        a.extend(["--seq-len", "64", "--micro-batch", "2", "--grad-accum", "1", "--lora-rank", "4", "--lr", "1e-2"]);
        a.push("--quiet");
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let stderr = ok(&run(train, &args(&["--epochs", "2"]).iter().map(String::as_str).collect::<Vec<_>>()));
    assert!(stderr.contains("adapter (PEFT)"), "{stderr}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(metrics.lines().count() >= 2);
    for f in [
        "config.json",
        "data_report.json",
        "loss.svg",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }

    // Same run directory again without --resume: refused, nothing overwritten.
    let o = run(train, &args(&["--epochs", "2"]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));

    // The adapter changes the logits, and a merged checkpoint gives the same logits.
    let qwen35 = env!("CARGO_BIN_EXE_qwen35");
    let input = model.join("reference.safetensors");
    let logits = |extra: &[&str], name: &str| {
        let path = dir.path().join(name);
        let mut a = vec!["logits", "--input", input.to_str().unwrap(), "--out", path.to_str().unwrap()];
        a.extend_from_slice(extra);
        ok(&run(qwen35, &a));
        read_all_f32(&path).unwrap()["logits"].1.clone()
    };
    let adapter = out.join("adapter");
    let base = logits(&["--model", model.to_str().unwrap()], "base.safetensors");
    let tuned =
        logits(&["--model", model.to_str().unwrap(), "--adapter", adapter.to_str().unwrap()], "tuned.safetensors");
    let moved = base.iter().zip(&tuned).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(moved > 1e-3, "training moved the logits by only {moved}");
    let merged = dir.path().join("merged");
    ok(&run(train, &["merge", "--base", s(&model), "--adapter", s(&adapter), "--out", s(&merged)]));
    let m = logits(&["--model", merged.to_str().unwrap()], "merged.safetensors");
    let diff = m.iter().zip(&tuned).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(diff < 2.5e-4, "merged vs base + adapter: {diff}");
}

#[test]
fn offline_without_a_cached_model_says_what_to_download() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--size", "2b", "--offline", "--data", "x.jsonl", "--out", dir.path().join("r").to_str().unwrap()])
        .env("HF_HUB_CACHE", dir.path().join("empty-cache"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Qwen/Qwen3.5-2B") && err.contains("empty-cache") && err.contains("--model"), "{err}");
}

/// Every dataset format and file kind in one run: the data crate's fixtures (JSONL, JSON,
/// Parquet, a directory) plus a Parquet split from a Hugging Face dataset in a hub cache,
/// rendered with the model directory's template; a seeded validation split, the best step
/// exported, and the per-format counts in data_report.json.
#[test]
fn train_on_every_format_and_a_hub_dataset_with_validation() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = skillsft_eval::study::random_model_dir(
        "tiny",
        &root.join("datasets/tokenizer/qwen3.5"),
        0,
        &dir.path().join("model"),
    )
    .unwrap();
    // A dataset as `hf download skillsft/chat --repo-type dataset` leaves it.
    let fixtures = root.join("crates/data/tests/fixtures/datasets/files");
    let repo = dir.path().join("hub/datasets--skillsft--chat");
    let snapshot = repo.join("snapshots/0123abcd/data");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    std::fs::copy(fixtures.join("parquet/sharegpt.parquet"), snapshot.join("train-00000-of-00001.parquet")).unwrap();
    std::fs::copy(fixtures.join("parquet/messages.parquet"), snapshot.join("test-00000-of-00001.parquet")).unwrap();

    let out = dir.path().join("run");
    let data = format!("{},hf:skillsft/chat", fixtures.display());
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--model", model.to_str().unwrap(), "--data", &data, "--out", out.to_str().unwrap()])
        .args(["--seq-len", "512", "--micro-batch", "4", "--grad-accum", "1", "--max-steps", "3"])
        .args(["--val-split", "0.2", "--eval-every", "1", "--save-best", "--offline", "--quiet"])
        .env("HF_HUB_CACHE", dir.path().join("hub"))
        .output()
        .unwrap();
    let err = ok(&o);
    assert!(err.contains("validation loss") && err.contains("best validation loss"), "{err}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("data_report.json")).unwrap()).unwrap();
    // 11 files: five JSONL and one JSON array, four Parquet files under the fixtures folder,
    // and the hub dataset's train split (not its test split). Rows per format, JSONL + JSON +
    // Parquet (+ hub): messages 6 + 1 + 3, sharegpt 4 + 1 + 2 + 2, prompt-completion 4 + 1 + 2,
    // text 3 + 1, tokenized 2 + 2.
    assert_eq!(report["files"], 11, "{report}");
    let formats = &report["formats"];
    let counts: Vec<u64> = ["messages", "sharegpt", "prompt-completion", "text", "tokenized"]
        .iter()
        .map(|f| formats[f].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(counts, [10, 9, 7, 4, 4], "{report}");
    assert_eq!(report["lines"], 34, "{report}");
    assert_eq!(report["eval_examples"], 7, "a fifth of the 34 examples, rounded: {report}");

    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let evals: Vec<f64> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["eval_loss"].as_f64().unwrap())
        .collect();
    assert_eq!(evals.len(), 3, "an eval loss after every step: {metrics}");
    assert!(out.join("best/weights.safetensors").is_file() && out.join("adapter/adapter_model.safetensors").is_file());

    // Offline with the dataset not in the cache: an error that says how to fetch it.
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--model", model.to_str().unwrap(), "--data", "hf:skillsft/missing", "--offline"])
        .args(["--out", dir.path().join("run2").to_str().unwrap()])
        .env("HF_HUB_CACHE", dir.path().join("hub"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("skillsft/missing") && err.contains("--repo-type dataset"), "{err}");
}
