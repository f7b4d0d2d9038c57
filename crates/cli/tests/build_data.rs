//! `build-data` end to end: help, bad input, reproducible builds, tokenize.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_build-data"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tokenizer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/tokenizer/qwen3.5")
}

/// `build-data tokenize` of corpus rows `input` into `out` with the Qwen3.5 tokenizer.
fn tokenize(input: &Path, out: &Path) -> Output {
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_string();
    run(&["tokenize", "--model", &path(&tokenizer_dir()), "--in", &path(input), "--out", &path(out)])
}

#[test]
fn help_teaches_the_flags() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for flag in ["--out", "--rows", "--seed", "--teacher", "--judge", "--base-url", "--concurrency", "tokenize"] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
    let o = run(&[]);
    assert!(!o.status.success() && stderr(&o).contains("--out"), "{}", stderr(&o));
}

#[test]
fn bad_skill_files_are_named_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"id":"a","title":"T","domain":"d","split":"train","procedure":"1. a\n2. b\n3. c\n4. d\n5. e","answer":{"kind":"exact","format":"integer"},"generator":{"kind":"fixed","params":{"tasks":[{"prompt":"p","answer":"1","steps":[{"work":"w","value":"1"},{"work":"w","value":"1"},{"work":"w","value":"1"},{"work":"w","value":"1"},{"work":"w","value":"1"}]}]}}}"#;
    std::fs::write(dir.path().join("mine.jsonl"), format!("{good}\n{{\"id\": \"b\", \"title\": 3}}\n")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = run(&["--out", out.path().to_str().unwrap(), "--skills", dir.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("mine.jsonl:2:"), "{}", stderr(&o));

    std::fs::write(dir.path().join("mine.jsonl"), format!("{good}\n{good}\n")).unwrap();
    let o = run(&["--out", out.path().to_str().unwrap(), "--skills", dir.path().to_str().unwrap()]);
    assert!(stderr(&o).contains("duplicate skill id \"a\""), "{}", stderr(&o));
    assert!(!out.path().join("corpus.jsonl").exists(), "nothing is written on bad input");

    let o = run(&["--out", out.path().to_str().unwrap(), "--teacher", "gemini:x"]);
    assert!(!o.status.success() && stderr(&o).contains("unknown provider"), "{}", stderr(&o));
}

#[test]
fn two_builds_are_byte_identical_and_tokenize() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [&a, &b] {
        let o = run(&["--out", d.path().to_str().unwrap(), "--rows", "40", "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("40 corpus rows"), "{}", stderr(&o));
    }
    for f in ["corpus.jsonl", "holdout.jsonl", "skills.jsonl", "manifest.json"] {
        assert_eq!(std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap(), "{f}");
    }
    let examples = a.path().join("examples.jsonl");
    let o = tokenize(&a.path().join("corpus.jsonl"), &examples);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&examples).unwrap();
    assert_eq!(text.lines().count(), 40);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (ids, labels) = (v["input_ids"].as_array().unwrap(), v["labels"].as_array().unwrap());
        assert_eq!(ids.len(), labels.len());
        assert!(labels.iter().any(|l| l != -100) && labels.iter().any(|l| l == -100));
    }

    // A corrupt corpus line is named.
    std::fs::write(a.path().join("bad.jsonl"), "{\"messages\": []}\nnot json\n").unwrap();
    let o = tokenize(&a.path().join("bad.jsonl"), &a.path().join("x.jsonl"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.jsonl:"), "{}", stderr(&o));
}
