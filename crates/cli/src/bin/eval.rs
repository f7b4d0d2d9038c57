//! `eval`: score the study from episode verdicts.
//!
//! ```text
//! eval report --episodes episodes.jsonl --out report/
//! ```
//!
//! `eval run` (generating the episodes) arrives with the trainer and generation loop.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use skillsft_data::dataset::write_atomic;
use skillsft_eval::report::{self, ReportConfig, Verdict};

#[derive(Parser, Debug)]
#[command(name = "eval", version, about = "Procedural Δ, SFT lift and judge agreement from episode verdicts")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read episode verdicts and write report.json, report.csv and report.md.
    ///
    /// Each JSONL line needs {"student", "stage": "pre"|"post", "condition":
    /// "curated"|"baseline", "task_id", "judge", "pass"} (one line per judge verdict; other
    /// fields are ignored). `judge` is the scoring path: Δ and lift are only computed within
    /// one path, and a student whose pre- and post-SFT verdicts share no path is an error.
    Report {
        /// Episode verdicts (JSONL).
        #[arg(long)]
        episodes: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Bootstrap resamples for the Δ and lift intervals.
        #[arg(long, default_value_t = 10_000)]
        resamples: usize,
        /// Bootstrap seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Report { episodes, out, resamples, seed } => {
            let verdicts = read_verdicts(&episodes)?;
            let r = report::report(&verdicts, ReportConfig { resamples, seed })?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            write_atomic(&out.join("report.json"), (serde_json::to_string_pretty(&r)? + "\n").as_bytes())?;
            write_atomic(&out.join("report.csv"), report::to_csv(&r).as_bytes())?;
            write_atomic(&out.join("report.md"), report::to_markdown(&r).as_bytes())?;
            eprintln!(
                "{} verdicts → {} rates, {} deltas, {} lifts, {} judge pairs in {}",
                verdicts.len(),
                r.rates.len(),
                r.deltas.len(),
                r.lifts.len(),
                r.agreement.len(),
                out.display()
            );
            Ok(())
        }
    }
}

fn read_verdicts(path: &Path) -> Result<Vec<Verdict>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}: not an episode verdict", path.display(), i + 1))
        })
        .collect()
}
