//! Verdicts in, report and plots out: the statistics of `eval report` from your own code.
//! The verdicts here are made up (40 tasks in 8 skills, a procedure that helps more after SFT);
//! read yours from episode or verdict files instead.
//!
//! ```text
//! cargo run --release --example report            # writes into a temporary folder
//! cargo run --release --example report -- OUT_DIR
//! ```

use skillsft_eval::episode::{Condition, Stage};
use skillsft_eval::report::{ReportConfig, Verdict, report};

fn main() -> anyhow::Result<()> {
    let out = std::env::args().nth(1).map_or_else(|| std::env::temp_dir().join("skillsft-report"), Into::into);
    let mut verdicts = Vec::new();
    for task in 0..40 {
        for (stage, condition, passes_below) in [
            (Stage::Pre, Condition::Baseline, 14),
            (Stage::Pre, Condition::Curated, 18),
            (Stage::Post, Condition::Baseline, 16),
            (Stage::Post, Condition::Curated, 26),
        ] {
            verdicts.push(Verdict {
                student: "qwen3.5-0.8b".into(),
                stage,
                condition,
                task_id: format!("task-{task:02}"),
                skill_id: Some(format!("skill-{}", task % 8)),
                seed: 0,
                sample: 0,
                judge: "exact".into(),
                // A fixed, scattered order of tasks, so passes are not one skill's block.
                pass: Some((task * 17 % 40) < passes_below),
            });
        }
    }
    let r = report(&verdicts, ReportConfig { resamples: 2_000, ..ReportConfig::default() })?;
    for d in &r.deltas {
        println!(
            "{:?} Δ = {:+.3}  task CI [{:+.3}, {:+.3}]  McNemar p = {:.3}",
            d.stage, d.delta, d.ci_low, d.ci_high, d.mcnemar_p
        );
    }
    for l in &r.lifts {
        println!("SFT lift = {:+.3}  skill CI [{:+.3}, {:+.3}]", l.lift, l.skill_ci_low, l.skill_ci_high);
    }
    let plots = skillsft_eval::write_report(&r, &out)?;
    println!("report.json, report.csv, report.md and {} plot files in {}", plots.len(), out.display());
    Ok(())
}
