//! `eval report` end to end on a small episode file.

use std::process::Command;

fn line(stage: &str, condition: &str, task: usize, judge: &str, pass: bool) -> String {
    serde_json::json!({"student": "tiny", "stage": stage, "condition": condition, "task_id": format!("t{task}"),
                       "judge": judge, "pass": pass, "output": "ignored extra field"})
    .to_string()
}

#[test]
fn report_writes_json_csv_markdown_and_refuses_mixed_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for t in 0..20 {
        lines.push(line("pre", "curated", t, "extractor", t < 8));
        lines.push(line("pre", "baseline", t, "extractor", t < 6));
        lines.push(line("post", "curated", t, "extractor", t < 14));
        lines.push(line("post", "baseline", t, "extractor", t < 7));
    }
    let episodes = dir.path().join("episodes.jsonl");
    std::fs::write(&episodes, lines.join("\n")).unwrap();
    let out = dir.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_eval"))
        .args([
            "report",
            "--episodes",
            episodes.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--resamples",
            "2000",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for key in ["rates", "deltas", "lifts", "agreement"] {
        assert!(r[key].is_array(), "report.json lacks {key}");
    }
    let lift = r["lifts"][0]["lift"].as_f64().unwrap();
    assert!((lift - (7.0 / 20.0 - 2.0 / 20.0)).abs() < 1e-12, "{lift}");
    assert!(std::fs::read_to_string(out.join("report.md")).unwrap().contains("SFT lift"));
    assert!(std::fs::read_to_string(out.join("report.csv")).unwrap().starts_with("section,"));

    // Post-SFT re-scored by another path only: refused, naming both paths.
    let mixed: Vec<String> = lines
        .iter()
        .map(|l| if l.contains("\"post\"") { l.replace("extractor", "llm:judge") } else { l.clone() })
        .collect();
    std::fs::write(&episodes, mixed.join("\n")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_eval"))
        .args(["report", "--episodes", episodes.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("extractor") && err.contains("llm:judge"), "{err}");

    std::fs::write(&episodes, "{\"student\": 1}\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_eval"))
        .args(["report", "--episodes", episodes.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("episodes.jsonl:1"));
}
