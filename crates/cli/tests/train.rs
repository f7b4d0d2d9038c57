//! The `train` binary end to end: a LoRA run on the tiny PEFT fixture model with corpus-style
//! tokenized data, the adapter served by `qwen35 logits --adapter`, merge, and refusals.

use std::path::{Path, PathBuf};
use std::process::Command;

use qwen35::checkpoint::read_all_f32;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../qwen35/tests/fixtures").join(name)
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
        let mut a = vec![
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--seq-len",
            "64",
            "--micro-batch",
            "2",
            "--grad-accum",
            "1",
            "--lora-rank",
            "4",
            "--lr",
            "1e-2",
            "--quiet",
        ];
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
    ok(&run(
        train,
        &[
            "merge",
            "--base",
            model.to_str().unwrap(),
            "--adapter",
            adapter.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
    ));
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
