//! `eval report` end to end on a small episode file; `eval run` on a tiny random model;
//! `study --print-config`.

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
        .args(["report", "--episodes", episodes.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--resamples", "2000"])
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
    for plot in ["delta.svg", "delta.png", "pass_rates.svg", "pass_rates.png"] {
        assert!(std::fs::metadata(out.join(plot)).unwrap().len() > 1000, "{plot}");
    }

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

#[test]
fn study_print_config_round_trips_as_a_study_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_study"))
        .args(["--size", "2b", "--size", "4b", "--judge", "offline", "--judge", "llm-only:anthropic:claude-haiku-4-5"])
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("[[recipes]]") && text.contains("llm-only:anthropic"), "{text}");
    let path = dir.path().join("study.toml");
    std::fs::write(&path, &text).unwrap();
    let again = Command::new(env!("CARGO_BIN_EXE_study"))
        .args(["--config", path.to_str().unwrap(), "--print-config"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);

    std::fs::write(&path, "sizes = [\"0.8b\"]\n[[recipes]]\nname = \"r\"\nrank = 8\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_study")).args(["--config", path.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("rank"), "{err}");
}

#[test]
fn eval_run_on_a_local_model_writes_episodes_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let tokenizer = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/tokenizer/qwen3.5");
    let model = skillsft_eval::study::random_model_dir("tiny", &tokenizer, 1, &dir.path().join("tiny")).unwrap();
    let catalog = skillsft_data::catalog::Catalog::builtin().unwrap();
    let cfg = skillsft_data::dataset::BuildConfig { holdout_skills: 2, tasks_per_skill: 1, ..Default::default() };
    let rows = skillsft_data::dataset::build_holdout(&catalog, &cfg).unwrap();
    let holdout = dir.path().join("holdout.jsonl");
    let text: String = rows.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(&holdout, text).unwrap();
    let out = dir.path().join("eval");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_eval"))
            .args(["run", "--student", &format!("qwen:{}", model.display()), "--stage", "pre", "--holdout"])
            .arg(&holdout)
            .args(["--out", out.to_str().unwrap(), "--max-new-tokens", "3", "--thinking", "off", "--quiet"])
            .output()
            .unwrap()
    };
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("tiny: 4 episodes run, 0 already done"), "{err}");
    let episodes = std::fs::read_to_string(out.join("episodes.jsonl")).unwrap();
    assert_eq!(episodes.lines().count(), 4);
    assert!(out.join("report/report.json").is_file() && out.join("report/pass_rates.png").is_file());
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("0 episodes run, 4 already done"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("episodes.jsonl")).unwrap(), episodes);
}

/// `eval plan` gives the first design that reaches the power (the fixture's scipy scan says
/// 658 tasks for Δ 0.05 at discordance 0.2), and refuses a Δ the discordance cannot carry.
#[test]
fn plan_prints_the_tasks_needed_and_refuses_impossible_designs() {
    let eval = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_eval")).args(args).output().unwrap();
    let o = eval(&["plan", "--delta", "0.05", "--discordance", "0.2"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.starts_with("658 paired tasks"), "{stdout}");
    assert!(stdout.contains("--tasks-per-skill 17") && stdout.contains("200 tasks: 0.091"), "{stdout}");
    let o = eval(&["plan", "--delta", "0.3", "--discordance", "0.2"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("at most --discordance"), "{stderr}");
    // Several samples of a greedy student would repeat one reply.
    let o = eval(&["run", "--student", "qwen:/nonexistent", "--out", "/tmp/x", "--samples", "2"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--temperature"), "{stderr}");
}
