//! # skillsft-eval
//!
//! Scoring the study: students answer the holdout with and without the skill's procedure,
//! before and after SFT; every reply is an [`episode`] in `episodes.jsonl`, scored by one or
//! more [`scoring`] paths; the [`report`] gives pass rates, procedural Δ = pass(curated) −
//! pass(baseline), SFT lift = Δpost − Δpre and judge agreement with the [`stats`] the paper
//! reports, and [`plot`] draws them. [`study`] runs the whole pipeline.
//!
//! ```
//! use skillsft_eval::stats;
//!
//! let (lo, hi) = stats::wilson(83, 100);
//! assert!(lo < 0.83 && 0.83 < hi);
//! assert_eq!(stats::mcnemar_exact(0, 0), 1.0);
//! ```

#![deny(missing_docs)]

pub mod episode;
pub mod error;
pub mod plot;
pub mod power;
pub mod report;
pub mod runner;
pub mod scoring;
pub mod stats;
pub mod student;
pub mod study;

use std::path::{Path, PathBuf};

pub use error::{EvalError, Result};

/// Writes `report.json`, `report.csv`, `report.md` and the plots of every scoring path into
/// `dir` (plots are suffixed by path when there are several); returns the plot files.
pub fn write_report(report: &report::Report, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(error::io(dir))?;
    let write =
        |name: &str, text: String| -> Result<()> { Ok(qwen35::write_atomic(&dir.join(name), text.as_bytes())?) };
    write("report.json", serde_json::to_string_pretty(report).expect("report serializes") + "\n")?;
    write("report.csv", report::to_csv(report))?;
    write("report.md", report::to_markdown(report))?;
    let mut paths: Vec<&str> = Vec::new();
    for r in &report.rates {
        if !paths.contains(&r.judge.as_str()) {
            paths.push(&r.judge);
        }
    }
    let mut plots = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let suffix = if i == 0 { String::new() } else { format!("-{}", slug(path)) };
        plots.extend(plot::write_plots(report, path, dir, &suffix)?);
    }
    Ok(plots)
}

/// A file-name-safe form of a scoring path.
fn slug(path: &str) -> String {
    path.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}
