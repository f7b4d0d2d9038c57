//! The study pipeline: the study file, recipes over `train`'s settings, pairing of pre- and
//! post-SFT verdicts, plots, and a miniature study run end to end twice (the second run
//! reuses everything).

use std::path::Path;

use skillsft_data::progress::silent;
use skillsft_eval::episode::EpisodeLog;
use skillsft_eval::report::{ReportConfig, Verdict, report};
use skillsft_eval::student::Thinking;
use skillsft_eval::study::{StudyConfig, pair_verdicts, run_study};
use skillsft_train::Mode;

#[test]
fn a_study_file_names_sizes_and_recipes_over_train_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.toml");
    std::fs::write(
        &path,
        r#"
out = "s"
sizes = ["0.8b", "2b"]
device = "cuda"

[eval]
judges = ["offline", "llm-only:anthropic:claude-haiku-4-5"]
thinking = "off"

[[recipes]]
name = "r16"

[[recipes]]
name = "r64-lr1e-4"
lr = 1e-4
epochs = 2
lora = { rank = 64, alpha = 128 }

[[recipes]]
name = "full"
mode = "full"
lr = 1e-5
"#,
    )
    .unwrap();
    let cfg = StudyConfig::from_file(&path).unwrap();
    cfg.validate().unwrap();
    assert_eq!(cfg.eval.thinking, Thinking::Off);
    let m = Some(Path::new("/models/0.8b"));
    let c = Some(Path::new("corpus.jsonl"));
    let r16 = cfg.train_config("0.8b", &cfg.recipes[0], 0, m, c).unwrap();
    assert_eq!((r16.lr, r16.lora.rank, r16.epochs, r16.mode), (2e-4, 16, 3, Mode::Lora));
    assert_eq!(r16.out, Path::new("s/runs/0.8b-r16"));
    assert_eq!(r16.device, qwen35::DeviceChoice::Cuda(0));
    let r64 = cfg.train_config("2b", &cfg.recipes[1], 0, m, c).unwrap();
    assert_eq!((r64.lr, r64.lora.rank, r64.lora.alpha, r64.epochs), (1e-4, 64, 128.0, 2));
    assert_eq!(r64.lora.dropout, 0.05, "unset LoRA keys keep their defaults");
    let full = cfg.train_config("2b", &cfg.recipes[2], 0, m, c).unwrap();
    assert_eq!(full.mode, Mode::Full);
    // Seed 0 keeps the single-seed run directory (a study grown to more seeds reuses it).
    let seeded = cfg.train_config("0.8b", &cfg.recipes[0], 3, m, c).unwrap();
    assert_eq!((seeded.seed, seeded.out.as_path()), (3, Path::new("s/runs/0.8b-r16-seed3")));

    // Typos are errors that name the key, not silently ignored settings.
    std::fs::write(&path, "sizes = [\"0.8b\"]\n[[recipes]]\nname = \"x\"\nlearning_rate = 1e-4\n").unwrap();
    let err = StudyConfig::from_file(&path).and_then(|c| c.validate()).unwrap_err().to_string();
    assert!(err.contains("learning_rate"), "{err}");
    std::fs::write(&path, "sizes = [\"7b\"]\n").unwrap();
    let err = StudyConfig::from_file(&path).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("7b"), "{err}");
    std::fs::write(&path, "size = [\"0.8b\"]\n").unwrap();
    assert!(StudyConfig::from_file(&path).unwrap_err().to_string().contains("size"));
    // Seeds belong to the study, samples need sampling.
    // Recipes are read as training settings when the file is read, naming the recipe.
    std::fs::write(&path, "sizes = [\"0.8b\"]\n[[recipes]]\nname = \"x\"\nseed = 3\n").unwrap();
    let err = StudyConfig::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("seeds = [...]"), "{err}");
    std::fs::write(&path, "sizes = [\"0.8b\"]\n[[recipes]]\nname = \"y\"\nmode = \"fulll\"\n").unwrap();
    let err = StudyConfig::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("recipe \"y\"") && err.contains("fulll"), "{err}");
    std::fs::write(&path, "sizes = [\"0.8b\"]\nseeds = [1, 1]\n").unwrap();
    let err = StudyConfig::from_file(&path).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("distinct"), "{err}");
    std::fs::write(&path, "sizes = [\"0.8b\"]\n[eval]\nsamples = 3\n").unwrap();
    let err = StudyConfig::from_file(&path).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("temperature"), "{err}");
}

#[test]
fn each_recipe_is_paired_with_its_sizes_pre_sft_episodes() {
    let v = |student: &str, stage: &str, condition: &str, task: &str, pass: bool| Verdict {
        student: student.into(),
        stage: stage.parse().unwrap(),
        condition: condition.parse().unwrap(),
        task_id: task.into(),
        skill_id: None,
        seed: 0,
        sample: 0,
        judge: "offline".into(),
        pass: Some(pass),
    };
    let all = vec![
        v("qwen3.5-0.8b", "pre", "curated", "t", true),
        v("qwen3.5-0.8b", "pre", "baseline", "t", false),
        v("qwen3.5-0.8b/a", "post", "curated", "t", true),
        v("qwen3.5-0.8b/a", "post", "baseline", "t", true),
        v("qwen3.5-0.8b/b", "post", "curated", "t", false),
        v("qwen3.5-0.8b/b", "post", "baseline", "t", true),
    ];
    let pairs = vec![
        ("qwen3.5-0.8b".to_string(), "qwen3.5-0.8b/a".to_string()),
        ("qwen3.5-0.8b".to_string(), "qwen3.5-0.8b/b".to_string()),
    ];
    let paired = pair_verdicts(&all, &pairs);
    assert_eq!(paired.len(), 8);
    let r = report(&paired, ReportConfig { resamples: 100, seed: 0, ..ReportConfig::default() }).unwrap();
    let lift = |s: &str| r.lifts.iter().find(|l| l.student == s).unwrap().lift;
    assert_eq!(lift("qwen3.5-0.8b/a"), -1.0);
    assert_eq!(lift("qwen3.5-0.8b/b"), -2.0);
}

/// The quickstart cut down to `rows` corpus rows, `skills` holdout tasks, `steps` training
/// steps of one row and `tokens`-token replies, written under `dir`.
fn miniature(dir: &Path, rows: usize, skills: usize, steps: usize, tokens: usize) -> StudyConfig {
    let mut cfg = StudyConfig::quickstart();
    cfg.out = dir.join("study");
    cfg.data.rows = rows;
    cfg.data.holdout_skills = skills;
    cfg.eval.max_new_tokens = tokens;
    cfg.eval.resamples = 200;
    cfg.recipes[0].train.max_steps = Some(steps);
    cfg.recipes[0].train.micro_batch = 1;
    cfg
}

/// The whole pipeline on a miniature: 6 corpus rows, 3 holdout tasks, 2 training steps,
/// 4-token replies. The second run finds every stage done and gives the same report.
#[test]
fn a_miniature_study_runs_end_to_end_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = miniature(dir.path(), 6, 3, 2, 4);
    let first = run_study(&cfg, silent(), None).unwrap();
    assert_eq!(first.report.lifts.len(), 1);
    assert_eq!(first.report.lifts[0].student, "qwen3.5-tiny/lora");
    assert_eq!(first.report.lifts[0].n, 3);
    for f in ["report.json", "report.csv", "report.md", "delta.svg", "delta.png", "pass_rates.svg", "pass_rates.png"] {
        assert!(first.report_dir.join(f).is_file(), "{f}");
    }
    let png = std::fs::read(first.report_dir.join("delta.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(first.report_dir.join("delta.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("qwen3.5-tiny/lora"));
    let episodes = std::fs::read_to_string(cfg.out.join("episodes.jsonl")).unwrap();
    assert_eq!(episodes.lines().count(), 3 * 2 * 2);
    let metrics = std::fs::read_to_string(cfg.out.join("runs/tiny-lora/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);

    let second = run_study(&cfg, silent(), None).unwrap();
    assert_eq!(second.report, first.report);
    assert_eq!(std::fs::read_to_string(cfg.out.join("episodes.jsonl")).unwrap(), episodes);
    assert_eq!(std::fs::read_to_string(cfg.out.join("runs/tiny-lora/metrics.jsonl")).unwrap(), metrics);
}

/// Two training seeds and two sampled replies per task: each seed trains its own run, every
/// episode records its seed and sample, the report has a row per seed plus the pooled one and
/// a seed summary, and a rerun redoes nothing.
#[test]
fn a_study_with_seeds_and_samples_reports_each_seed_and_their_spread() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = miniature(dir.path(), 4, 2, 1, 3);
    cfg.eval.temperature = 0.9;
    cfg.eval.samples = 2;
    cfg.seeds = vec![0, 7];
    let first = run_study(&cfg, silent(), None).unwrap();
    for run in ["runs/tiny-lora", "runs/tiny-lora-seed7"] {
        assert!(cfg.out.join(run).join("adapter/adapter_model.safetensors").is_file(), "{run}");
    }
    let log = EpisodeLog::open(&cfg.out.join("episodes.jsonl")).unwrap();
    // 2 tasks × 2 conditions × 2 samples: once before SFT, once per seed after.
    assert_eq!(log.episodes().len(), 8 * 3);
    let post: std::collections::BTreeSet<(u64, u32)> =
        log.episodes().iter().filter(|e| e.stage == "post").map(|e| (e.seed, e.sample)).collect();
    assert_eq!(post.into_iter().collect::<Vec<_>>(), vec![(0, 0), (0, 1), (7, 0), (7, 1)]);
    let r = &first.report;
    let post_deltas: Vec<Option<u64>> = r.deltas.iter().filter(|d| d.stage == "post").map(|d| d.seed).collect();
    assert_eq!(post_deltas, vec![None, Some(0), Some(7)], "pooled row first, then one per seed");
    let pooled = r.deltas.iter().find(|d| d.stage == "post" && d.seed.is_none()).unwrap();
    assert_eq!((pooled.n, pooled.tasks, pooled.skills), (8, 2, 2));
    assert_eq!(r.lifts.iter().map(|l| l.seed).collect::<Vec<_>>(), vec![None, Some(0), Some(7)]);
    let summary = r.seed_summary.iter().find(|s| s.stage == "post").unwrap();
    assert_eq!(summary.seeds, 2);
    assert!(summary.delta_sd.is_some() && summary.lift_sd.is_some());
    let pre = r.seed_summary.iter().find(|s| s.stage == "pre").unwrap();
    assert_eq!((pre.seeds, pre.delta_sd, pre.lift_mean), (1, None, None));

    let again = run_study(&cfg, silent(), None).unwrap();
    assert_eq!(again.report, first.report, "nothing was redone");
    assert_eq!(EpisodeLog::open(&cfg.out.join("episodes.jsonl")).unwrap().episodes().len(), 24);
}
