//! The study's table from episode verdicts: pass rates, procedural Δ, SFT lift and judge
//! agreement, each with its statistics.
//!
//! Input: one [`Verdict`] per (student, stage, condition, task, judge). The `judge` string is
//! the *scoring path* (the extractor, or a judge model + prompt hash + `--llm-only`): Δ and
//! lift are computed only between verdicts of one path, and a comparison that would mix paths
//! — a student's pre-SFT scored by one path and its post-SFT only by another — is refused
//! with an error naming both, because the study this reproduces retracted two findings that
//! were exactly that mistake.
//!
//! A verdict may be unscorable (`pass: null`: an LLM judge answered without a verdict). Rates
//! count only scored episodes, Δ and lift only pairs scored on every side, agreement only
//! episodes both paths scored; every row says how many it left out, and a path with more than
//! [`UNSCORABLE_FLAG_SHARE`] of its verdicts unscorable is flagged in words.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::stats::{self, Interval};

/// One judge's verdict on one episode (the fields `report` needs; episode files may carry more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The student model (`qwen3.5-0.8b`, `claude-haiku-4-5`, ...).
    pub student: String,
    /// `pre` or `post` (SFT).
    pub stage: String,
    /// `curated` or `baseline`.
    pub condition: String,
    /// The holdout task.
    pub task_id: String,
    /// The scoring path.
    pub judge: String,
    /// Pass or fail; `None` when the judge gave no usable verdict.
    pub pass: Option<bool>,
}

/// Above this share of unscorable verdicts a scoring path is flagged in the report: its
/// statistics rest on a subset the judge chose by failing, which may not be random.
pub const UNSCORABLE_FLAG_SHARE: f64 = 0.05;

/// Settings of the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReportConfig {
    /// Bootstrap resamples (≥ 10,000 for the paper's intervals).
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { resamples: 10_000, seed: 0 }
    }
}

/// A pass rate with its Wilson 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRow {
    /// Student.
    pub student: String,
    /// Stage.
    pub stage: String,
    /// Condition.
    pub condition: String,
    /// Scoring path.
    pub judge: String,
    /// Scored episodes.
    pub n: usize,
    /// Episodes the judge could not score (not in `n`).
    #[serde(default)]
    pub unscorable: usize,
    /// Passed episodes.
    pub passed: usize,
    /// `passed / n`.
    pub rate: f64,
    /// Wilson 95% lower bound.
    pub wilson_low: f64,
    /// Wilson 95% upper bound.
    pub wilson_high: f64,
}

/// Procedural Δ = pass(curated) − pass(baseline) over the same tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaRow {
    /// Student.
    pub student: String,
    /// Stage.
    pub stage: String,
    /// Scoring path.
    pub judge: String,
    /// Paired tasks (scored in both conditions).
    pub n: usize,
    /// Tasks present in both conditions but unscorable in at least one, left out.
    #[serde(default)]
    pub dropped_pairs: usize,
    /// Δ.
    pub delta: f64,
    /// Paired bootstrap 95% lower bound.
    pub ci_low: f64,
    /// Paired bootstrap 95% upper bound.
    pub ci_high: f64,
    /// Exact McNemar p-value on the discordant pairs.
    pub mcnemar_p: f64,
    /// Tasks passed with the procedure only.
    pub discordant_b: usize,
    /// Tasks passed without the procedure only.
    pub discordant_c: usize,
}

/// SFT lift = Δpost − Δpre over the tasks scored in all four cells, one path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiftRow {
    /// Student.
    pub student: String,
    /// Scoring path.
    pub judge: String,
    /// Tasks (scored in all four cells).
    pub n: usize,
    /// Tasks present in all four cells but unscorable in at least one, left out.
    #[serde(default)]
    pub dropped: usize,
    /// Lift.
    pub lift: f64,
    /// Paired bootstrap 95% lower bound.
    pub ci_low: f64,
    /// Paired bootstrap 95% upper bound.
    pub ci_high: f64,
}

/// Agreement of two scoring paths on the episodes both scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementRow {
    /// First path.
    pub judge_a: String,
    /// Second path.
    pub judge_b: String,
    /// Episodes scored by both.
    pub n: usize,
    /// Episodes both paths judged, left out because at least one was unscorable.
    #[serde(default)]
    pub dropped: usize,
    /// Cohen's κ (`null` when undefined: both paths gave one constant verdict).
    pub kappa: Option<f64>,
    /// Raw agreement.
    pub agreement: f64,
    /// Largest |Δ_b − Δ_a| over the (student, stage) cells both paths scored: how far the
    /// headline Δ moves when the judge changes.
    pub max_delta_shift: Option<f64>,
}

/// Everything `report.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Statistics settings.
    pub config: ReportConfig,
    /// Pass rates.
    pub rates: Vec<RateRow>,
    /// Procedural Δ.
    pub deltas: Vec<DeltaRow>,
    /// SFT lift.
    pub lifts: Vec<LiftRow>,
    /// Judge agreement.
    pub agreement: Vec<AgreementRow>,
    /// Unscorable verdicts per scoring path (every path, also those with none).
    #[serde(default)]
    pub unscorable: Vec<UnscorableRow>,
}

/// How many of a scoring path's verdicts are unscorable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnscorableRow {
    /// Scoring path.
    pub judge: String,
    /// All its verdicts.
    pub verdicts: usize,
    /// Those without a usable verdict.
    pub unscorable: usize,
    /// `unscorable / verdicts`.
    pub share: f64,
    /// `share > UNSCORABLE_FLAG_SHARE`.
    pub flagged: bool,
}

/// Why a report cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// A student's pre- and post-SFT verdicts share no scoring path.
    #[error(
        "student {student:?}: pre-SFT was scored by {pre:?} and post-SFT by {post:?}; an SFT lift across scoring paths is refused (re-judge one stage with the other's path)"
    )]
    MixedPaths {
        /// Student.
        student: String,
        /// Paths of the pre-SFT verdicts.
        pre: Vec<String>,
        /// Paths of the post-SFT verdicts.
        post: Vec<String>,
    },
    /// One episode has two verdicts from the same path.
    #[error(
        "duplicate verdict: student {student:?} stage {stage:?} condition {condition:?} task {task_id:?} judge {judge:?}"
    )]
    Duplicate {
        /// Student.
        student: String,
        /// Stage.
        stage: String,
        /// Condition.
        condition: String,
        /// Task.
        task_id: String,
        /// Path.
        judge: String,
    },
    /// An unknown stage or condition value.
    #[error("{field} must be one of {allowed}, got {value:?}")]
    BadValue {
        /// The field.
        field: &'static str,
        /// Allowed values.
        allowed: &'static str,
        /// What was found.
        value: String,
    },
}

type Cell = BTreeMap<String, Option<bool>>; // task -> pass (None: unscorable)

/// Computes the report.
pub fn report(verdicts: &[Verdict], cfg: ReportConfig) -> Result<Report, ReportError> {
    // (student, stage, judge, condition) -> task -> pass
    let mut cells: BTreeMap<(String, String, String, String), Cell> = BTreeMap::new();
    for v in verdicts {
        if !matches!(v.stage.as_str(), "pre" | "post") {
            return Err(ReportError::BadValue { field: "stage", allowed: "pre, post", value: v.stage.clone() });
        }
        if !matches!(v.condition.as_str(), "curated" | "baseline") {
            return Err(ReportError::BadValue {
                field: "condition",
                allowed: "curated, baseline",
                value: v.condition.clone(),
            });
        }
        let key = (v.student.clone(), v.stage.clone(), v.judge.clone(), v.condition.clone());
        if cells.entry(key).or_default().insert(v.task_id.clone(), v.pass).is_some() {
            return Err(ReportError::Duplicate {
                student: v.student.clone(),
                stage: v.stage.clone(),
                condition: v.condition.clone(),
                task_id: v.task_id.clone(),
                judge: v.judge.clone(),
            });
        }
    }
    let rates = cells
        .iter()
        .map(|((student, stage, judge, condition), cell)| {
            let passed = cell.values().filter(|&&p| p == Some(true)).count();
            let n = cell.values().filter(|p| p.is_some()).count();
            let (lo, hi) = stats::wilson(passed, n);
            RateRow {
                student: student.clone(),
                stage: stage.clone(),
                condition: condition.clone(),
                judge: judge.clone(),
                n,
                unscorable: cell.len() - n,
                passed,
                rate: passed as f64 / n.max(1) as f64,
                wilson_low: lo,
                wilson_high: hi,
            }
        })
        .collect();

    // Δ per (student, stage, judge) over tasks present in both conditions.
    let mut deltas = Vec::new();
    let mut delta_of: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let triples: BTreeSet<(String, String, String)> =
        cells.keys().map(|(s, st, j, _)| (s.clone(), st.clone(), j.clone())).collect();
    for (student, stage, judge) in &triples {
        let get = |c: &str| cells.get(&(student.clone(), stage.clone(), judge.clone(), c.to_string()));
        let (Some(cur), Some(base)) = (get("curated"), get("baseline")) else { continue };
        let (a, b, dropped_pairs) = paired(cur, base);
        if a.is_empty() {
            continue;
        }
        let d = stats::differences(&a, &b);
        let ci = stats::paired_bootstrap(&d, cfg.resamples, cfg.seed);
        let (db, dc) = stats::discordant(&a, &b);
        delta_of.insert((student.clone(), stage.clone(), judge.clone()), ci.estimate);
        deltas.push(DeltaRow {
            student: student.clone(),
            stage: stage.clone(),
            judge: judge.clone(),
            n: a.len(),
            dropped_pairs,
            delta: ci.estimate,
            ci_low: ci.low,
            ci_high: ci.high,
            mcnemar_p: stats::mcnemar_exact(db, dc),
            discordant_b: db,
            discordant_c: dc,
        });
    }

    // Lift per (student, judge) with all four cells on that one path.
    let mut lifts = Vec::new();
    let students: BTreeSet<&String> = cells.keys().map(|k| &k.0).collect();
    for student in students {
        let paths = |stage: &str| -> BTreeSet<String> {
            delta_of.keys().filter(|(s, st, _)| s == student && st == stage).map(|k| k.2.clone()).collect()
        };
        let (pre, post) = (paths("pre"), paths("post"));
        if pre.is_empty() || post.is_empty() {
            continue;
        }
        let common: Vec<&String> = pre.intersection(&post).collect();
        if common.is_empty() {
            return Err(ReportError::MixedPaths {
                student: student.clone(),
                pre: pre.into_iter().collect(),
                post: post.into_iter().collect(),
            });
        }
        for judge in common {
            let cell = |stage: &str, cond: &str| {
                &cells[&(student.clone(), stage.to_string(), judge.clone(), cond.to_string())]
            };
            let (pc, pb, qc, qb) =
                (cell("pre", "curated"), cell("pre", "baseline"), cell("post", "curated"), cell("post", "baseline"));
            let in_all: Vec<&String> =
                pc.keys().filter(|t| pb.contains_key(*t) && qc.contains_key(*t) && qb.contains_key(*t)).collect();
            let scored = |t: &&String| [pc, pb, qc, qb].iter().all(|c| c[*t].is_some());
            let tasks: Vec<&String> = in_all.iter().copied().filter(scored).collect();
            let d: Vec<f64> = tasks
                .iter()
                .map(|t| {
                    let x = |c: &Cell| f64::from(u8::from(c[*t] == Some(true)));
                    (x(qc) - x(qb)) - (x(pc) - x(pb))
                })
                .collect();
            let ci: Interval = stats::paired_bootstrap(&d, cfg.resamples, cfg.seed);
            lifts.push(LiftRow {
                student: student.clone(),
                judge: judge.clone(),
                n: d.len(),
                dropped: in_all.len() - tasks.len(),
                lift: ci.estimate,
                ci_low: ci.low,
                ci_high: ci.high,
            });
        }
    }

    // Agreement per pair of paths over the episodes both scored.
    let judges: BTreeSet<&String> = cells.keys().map(|k| &k.2).collect();
    let judges: Vec<&String> = judges.into_iter().collect();
    let mut agreement = Vec::new();
    for (i, ja) in judges.iter().enumerate() {
        for jb in &judges[i + 1..] {
            let (mut a, mut b, mut dropped) = (Vec::new(), Vec::new(), 0);
            let mut shift: Option<f64> = None;
            for ((student, stage, judge, condition), cell) in &cells {
                if judge != *ja {
                    continue;
                }
                if let Some(other) = cells.get(&(student.clone(), stage.clone(), (*jb).clone(), condition.clone())) {
                    let (x, y, left_out) = paired(cell, other);
                    a.extend(x);
                    b.extend(y);
                    dropped += left_out;
                }
                if condition == "curated"
                    && let (Some(da), Some(db)) = (
                        delta_of.get(&(student.clone(), stage.clone(), (*ja).clone())),
                        delta_of.get(&(student.clone(), stage.clone(), (*jb).clone())),
                    )
                {
                    let s = (db - da).abs();
                    shift = Some(shift.map_or(s, |m: f64| m.max(s)));
                }
            }
            if a.is_empty() {
                continue;
            }
            agreement.push(AgreementRow {
                judge_a: (*ja).clone(),
                judge_b: (*jb).clone(),
                n: a.len(),
                dropped,
                kappa: stats::cohen_kappa(&a, &b),
                agreement: stats::agreement(&a, &b),
                max_delta_shift: shift,
            });
        }
    }
    let mut unscorable: BTreeMap<&String, (usize, usize)> = BTreeMap::new();
    for ((_, _, judge, _), cell) in &cells {
        let e = unscorable.entry(judge).or_default();
        e.0 += cell.len();
        e.1 += cell.values().filter(|p| p.is_none()).count();
    }
    let unscorable = unscorable
        .into_iter()
        .map(|(judge, (verdicts, n))| {
            let share = n as f64 / verdicts.max(1) as f64;
            UnscorableRow {
                judge: judge.clone(),
                verdicts,
                unscorable: n,
                share,
                flagged: share > UNSCORABLE_FLAG_SHARE,
            }
        })
        .collect();
    Ok(Report { config: cfg, rates, deltas, lifts, agreement, unscorable })
}

/// The verdicts of the tasks present and scored in both cells, in task order, and how many
/// tasks present in both were left out because one side is unscorable.
fn paired(a: &Cell, b: &Cell) -> (Vec<bool>, Vec<bool>, usize) {
    let both: Vec<(Option<bool>, Option<bool>)> = a.iter().filter_map(|(t, &x)| b.get(t).map(|&y| (x, y))).collect();
    let scored: (Vec<bool>, Vec<bool>) = both.iter().filter_map(|&(x, y)| Some((x?, y?))).unzip();
    let dropped = both.len() - scored.0.len();
    (scored.0, scored.1, dropped)
}

/// `report.csv`: one table with a `section` column (`rate`, `delta`, `lift`, `agreement`)
/// and the union of the sections' fields; empty where a field does not apply.
pub fn to_csv(r: &Report) -> String {
    let header = "section,student,stage,condition,judge,judge_b,n,passed,value,ci_low,ci_high,mcnemar_p,discordant_b,discordant_c,kappa";
    let mut out = vec![header.to_string()];
    let f = |x: f64| format!("{x:.6}");
    let q =
        |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    for x in &r.rates {
        out.push(format!(
            "rate,{},{},{},{},,{},{},{},{},{},,,,",
            q(&x.student),
            q(&x.stage),
            q(&x.condition),
            q(&x.judge),
            x.n,
            x.passed,
            f(x.rate),
            f(x.wilson_low),
            f(x.wilson_high)
        ));
    }
    for x in &r.deltas {
        out.push(format!(
            "delta,{},{},,{},,{},,{},{},{},{},{},{},",
            q(&x.student),
            q(&x.stage),
            q(&x.judge),
            x.n,
            f(x.delta),
            f(x.ci_low),
            f(x.ci_high),
            f(x.mcnemar_p),
            x.discordant_b,
            x.discordant_c
        ));
    }
    for x in &r.lifts {
        out.push(format!(
            "lift,{},,,{},,{},,{},{},{},,,,",
            q(&x.student),
            q(&x.judge),
            x.n,
            f(x.lift),
            f(x.ci_low),
            f(x.ci_high)
        ));
    }
    for x in &r.agreement {
        let kappa = x.kappa.map(f).unwrap_or_default();
        let shift = x.max_delta_shift.map(f).unwrap_or_default();
        out.push(format!(
            "agreement,,,,{},{},{},,{},{shift},,,,,{kappa}",
            q(&x.judge_a),
            q(&x.judge_b),
            x.n,
            f(x.agreement)
        ));
    }
    out.join("\n") + "\n"
}

/// `report.md`: the four tables for people.
pub fn to_markdown(r: &Report) -> String {
    let mut s = String::from("# Procedural Δ report\n\n");
    s.push_str(&format!(
        "Intervals: Wilson 95% for rates; paired bootstrap 95% (percentile, {} resamples, seed {}) for Δ and lift; exact McNemar on discordant pairs.\n\n",
        r.config.resamples, r.config.seed
    ));
    let some_unscorable: Vec<&UnscorableRow> = r.unscorable.iter().filter(|u| u.unscorable > 0).collect();
    if !some_unscorable.is_empty() {
        s.push_str("## Unscorable verdicts\n\nThe judge gave no usable verdict on these (an empty, refused or cut-off reply, after retries). They are left out: rates count scored episodes, Δ and lift only pairs scored on every side, agreement only episodes both paths scored. `eval judge --retry-unscorable` asks again.\n\n");
        for u in some_unscorable {
            s.push_str(&format!(
                "- `{}`: {} of {} verdicts unscorable ({:.1}%){}\n",
                u.judge,
                u.unscorable,
                u.verdicts,
                100.0 * u.share,
                if u.flagged {
                    format!(
                        ". **Above {:.0}%: this path's figures rest on the episodes its judge chose to score, which need not be a random subset; read them with care.**",
                        100.0 * UNSCORABLE_FLAG_SHARE
                    )
                } else {
                    String::new()
                }
            ));
        }
        s.push('\n');
    }
    s.push_str("## Pass rates\n\n| student | stage | condition | judge | n | passed | rate | 95% CI |\n|---|---|---|---|---|---|---|---|\n");
    for x in &r.rates {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.3} | [{:.3}, {:.3}] |\n",
            x.student, x.stage, x.condition, x.judge, x.n, x.passed, x.rate, x.wilson_low, x.wilson_high
        ));
    }
    s.push_str("\n## Procedural Δ = pass(curated) − pass(baseline)\n\n| student | stage | judge | n | Δ | 95% CI | McNemar p | b / c |\n|---|---|---|---|---|---|---|---|\n");
    for x in &r.deltas {
        let dropped = if x.dropped_pairs > 0 {
            format!(" ({} unscorable pairs left out)", x.dropped_pairs)
        } else {
            String::new()
        };
        s.push_str(&format!(
            "| {} | {} | {} | {}{dropped} | {:+.3} | [{:+.3}, {:+.3}] | {:.4} | {} / {} |\n",
            x.student, x.stage, x.judge, x.n, x.delta, x.ci_low, x.ci_high, x.mcnemar_p, x.discordant_b, x.discordant_c
        ));
    }
    s.push_str("\n## SFT lift = Δpost − Δpre\n\n| student | judge | n | lift | 95% CI |\n|---|---|---|---|---|\n");
    for x in &r.lifts {
        s.push_str(&format!(
            "| {} | {} | {} | {:+.3} | [{:+.3}, {:+.3}] |\n",
            x.student, x.judge, x.n, x.lift, x.ci_low, x.ci_high
        ));
    }
    s.push_str(
        "\n## Judge agreement\n\n| judge A | judge B | n | κ | agreement | max Δ shift |\n|---|---|---|---|---|---|\n",
    );
    for x in &r.agreement {
        let kappa = x.kappa.map(|k| format!("{k:.3}")).unwrap_or_else(|| "undefined".into());
        let shift = x.max_delta_shift.map(|k| format!("{k:.3}")).unwrap_or_else(|| "—".into());
        s.push_str(&format!("| {} | {} | {} | {kappa} | {:.3} | {shift} |\n", x.judge_a, x.judge_b, x.n, x.agreement));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(student: &str, stage: &str, condition: &str, task: usize, judge: &str, pass: bool) -> Verdict {
        Verdict {
            pass: Some(pass),
            student: student.into(),
            stage: stage.into(),
            condition: condition.into(),
            task_id: format!("t{task}"),
            judge: judge.into(),
        }
    }

    /// 10 tasks; pre: curated passes 0..6, baseline 0..4 (Δ +0.2); post: curated 0..9,
    /// baseline 0..4 (Δ +0.5); lift +0.3. A second judge disagrees on one post episode.
    fn episodes() -> Vec<Verdict> {
        let mut out = Vec::new();
        for t in 0..10 {
            for (stage, cur, base) in [("pre", 6, 4), ("post", 9, 4)] {
                out.push(v("s", stage, "curated", t, "extractor", t < cur));
                out.push(v("s", stage, "baseline", t, "extractor", t < base));
                let flip = stage == "post" && t == 0;
                out.push(v("s", stage, "curated", t, "llm", (t < cur) != flip));
                out.push(v("s", stage, "baseline", t, "llm", t < base));
            }
        }
        out
    }

    #[test]
    fn rates_deltas_lifts_agreement() {
        let r = report(&episodes(), ReportConfig { resamples: 2000, seed: 1 }).unwrap();
        let rate =
            r.rates.iter().find(|x| x.stage == "post" && x.condition == "curated" && x.judge == "extractor").unwrap();
        assert_eq!((rate.n, rate.passed), (10, 9));
        let d =
            |stage: &str, judge: &str| r.deltas.iter().find(|x| x.stage == stage && x.judge == judge).unwrap().clone();
        assert!((d("pre", "extractor").delta - 0.2).abs() < 1e-12);
        assert_eq!((d("pre", "extractor").discordant_b, d("pre", "extractor").discordant_c), (2, 0));
        assert!((d("post", "extractor").delta - 0.5).abs() < 1e-12);
        assert!((d("post", "extractor").mcnemar_p - 0.0625).abs() < 1e-12); // b=5, c=0: 2·0.5^5
        let lift = r.lifts.iter().find(|x| x.judge == "extractor").unwrap();
        assert!((lift.lift - 0.3).abs() < 1e-12 && lift.n == 10);
        let ag = &r.agreement[0];
        assert_eq!((ag.judge_a.as_str(), ag.judge_b.as_str(), ag.n), ("extractor", "llm", 40));
        assert!((ag.agreement - 39.0 / 40.0).abs() < 1e-12);
        assert!((ag.max_delta_shift.unwrap() - 0.1).abs() < 1e-12);
        assert!(to_csv(&r).lines().count() == 1 + r.rates.len() + r.deltas.len() + r.lifts.len() + r.agreement.len());
        assert!(to_markdown(&r).contains("| s | extractor | 10 | +0.300 |"));
    }

    #[test]
    fn unscorable_verdicts_are_left_out_and_counted() {
        // The 10-task fixture's extractor path, where pre-SFT task 0 is unscorable in the
        // curated condition and task 7 in the baseline: those two pairs drop out of Δ (pre) and
        // of the lift.
        let full: Vec<Verdict> = episodes().into_iter().filter(|x| x.judge == "extractor").collect();
        let mut eps = full.clone();
        for x in eps.iter_mut() {
            if x.stage == "pre"
                && ((x.condition == "curated" && x.task_id == "t0") || (x.condition == "baseline" && x.task_id == "t7"))
            {
                x.pass = None;
            }
        }
        let full = report(&full, ReportConfig { resamples: 500, seed: 1 }).unwrap();
        let r = report(&eps, ReportConfig { resamples: 500, seed: 1 }).unwrap();
        let rate = r.rates.iter().find(|x| x.stage == "pre" && x.condition == "curated").unwrap();
        assert_eq!((rate.n, rate.unscorable, rate.passed), (9, 1, 5), "t0 passed before; it no longer counts");
        let d = r.deltas.iter().find(|x| x.stage == "pre").unwrap();
        assert_eq!((d.n, d.dropped_pairs), (8, 2));
        // Pre: curated passes t1..t5 of t1..t6, t8, t9 (5/8), baseline t1..t3 (3/8).
        assert!((d.delta - 0.25).abs() < 1e-12, "{d:?}");
        let post = r.deltas.iter().find(|x| x.stage == "post").unwrap();
        let full_post = full.deltas.iter().find(|x| x.stage == "post").unwrap();
        assert_eq!((post.n, post.dropped_pairs, post.delta), (10, 0, full_post.delta), "post is untouched");
        assert_eq!((r.lifts[0].n, r.lifts[0].dropped), (8, 2));
        assert_eq!(r.unscorable.len(), 1);
        let u = &r.unscorable[0];
        assert_eq!((u.verdicts, u.unscorable), (40, 2));
        assert!((u.share - 0.05).abs() < 1e-12 && !u.flagged, "5% is not above the 5% flag");
        let md = to_markdown(&r);
        assert!(md.contains("2 of 40 verdicts unscorable (5.0%)") && !md.contains("read them with care"), "{md}");
        assert!(md.contains("8 (2 unscorable pairs left out)"), "{md}");
    }

    #[test]
    fn lift_across_scoring_paths_is_refused() {
        let eps: Vec<Verdict> = episodes()
            .into_iter()
            .filter(|x| (x.stage == "pre" && x.judge == "extractor") || (x.stage == "post" && x.judge == "llm"))
            .collect();
        let err = report(&eps, ReportConfig::default()).unwrap_err();
        assert!(matches!(err, ReportError::MixedPaths { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("extractor") && msg.contains("llm"), "{msg}");
    }

    #[test]
    fn duplicates_and_bad_values_are_errors() {
        let mut eps = episodes();
        eps.push(eps[0].clone());
        assert!(matches!(report(&eps, ReportConfig::default()), Err(ReportError::Duplicate { .. })));
        let bad = vec![v("s", "mid", "curated", 0, "x", true)];
        assert!(report(&bad, ReportConfig::default()).unwrap_err().to_string().contains("stage"));
    }
}
