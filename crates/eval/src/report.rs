//! The study's table from episode verdicts: pass rates, procedural Δ, SFT lift and judge
//! agreement, each with its statistics, and how stable Δ and lift are across training seeds.
//!
//! Input: one [`Verdict`] per (student, stage, condition, task, seed, sample, judge). The
//! `judge` string is the *scoring path* (the extractor, or a judge model + prompt hash +
//! `--llm-only`): Δ and lift are computed only between verdicts of one path, and a comparison
//! that would mix paths — a student's pre-SFT scored by one path and its post-SFT only by
//! another — is refused with an error naming both, because the study this reproduces
//! retracted two findings that were exactly that mistake.
//!
//! `seed` is the training run's seed (a study trains each recipe once per seed), `sample` the
//! reply's index when a task is answered several times at temperature > 0. Baseline pairs
//! with curated by task, seed and sample. A lift pairs each post-SFT seed with the pre-SFT
//! episodes of the same seed, or with the only pre-SFT seed there is (an untrained model has
//! no training seed). With several seeds every Δ and lift has one row per seed and one pooled
//! row without a `seed`; with one seed only the pooled row.
//!
//! Each Δ and lift has two 95% intervals: resampling tasks (`ci_*`, the paper's) and
//! resampling skills with their tasks together (`skill_ci_*`): tasks of one skill share a
//! procedure, so they are not independent, and the clustered interval is the honest one (the
//! plots draw it). Each Δ row also gets its minimum detectable effect under the exact McNemar
//! test ([`crate::power`]); a lift whose clustered interval covers 0, or that is smaller than
//! its post-SFT MDE, carries a `caution` in words.
//!
//! A verdict may be unscorable (`pass: null`: an LLM judge answered without a verdict). Rates
//! count only scored episodes, Δ and lift only pairs scored on every side, agreement only
//! episodes both paths scored; every row says how many it left out, and a path with more than
//! [`UNSCORABLE_FLAG_SHARE`] of its verdicts unscorable is flagged in words.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::episode::{Condition, Stage};
use crate::power::McNemarPower;
use crate::stats::{self, Interval, SkillValues};

/// One judge's verdict on one episode (the fields `report` needs; episode files may carry more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The student model (`qwen3.5-0.8b`, `claude-haiku-4-5`, ...), without the seed.
    pub student: String,
    /// `pre` or `post` (SFT).
    pub stage: Stage,
    /// `curated` or `baseline`.
    pub condition: Condition,
    /// The holdout task.
    pub task_id: String,
    /// The task's skill: the unit of the skill-clustered intervals (a task without one is its
    /// own cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_id: Option<String>,
    /// The training run's seed (0 when absent, and for an untrained model).
    #[serde(default)]
    pub seed: u64,
    /// Which reply to the task this is, when each task is answered several times (0 when absent).
    #[serde(default)]
    pub sample: u32,
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
    /// Two-sided significance level of the MDE.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Power at which the MDE is read.
    #[serde(default = "default_power")]
    pub power: f64,
}

fn default_alpha() -> f64 {
    0.05
}

fn default_power() -> f64 {
    0.8
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { resamples: 10_000, seed: 0, alpha: default_alpha(), power: default_power() }
    }
}

/// A pass rate with its Wilson 95% interval, over every seed and sample of the cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRow {
    /// Student.
    pub student: String,
    /// Stage.
    pub stage: Stage,
    /// Condition.
    pub condition: Condition,
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
    pub stage: Stage,
    /// The training seed of a per-seed row; absent on the pooled row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Scoring path.
    pub judge: String,
    /// Paired episodes (task × seed × sample, scored in both conditions).
    pub n: usize,
    /// Distinct tasks among them.
    #[serde(default)]
    pub tasks: usize,
    /// Distinct skills among them (the clusters of `skill_ci_*`).
    #[serde(default)]
    pub skills: usize,
    /// Pairs present in both conditions but unscorable in at least one, left out.
    #[serde(default)]
    pub dropped_pairs: usize,
    /// Δ.
    pub delta: f64,
    /// Task-level paired bootstrap 95% lower bound.
    pub ci_low: f64,
    /// Task-level paired bootstrap 95% upper bound.
    pub ci_high: f64,
    /// Skill-clustered bootstrap 95% lower bound.
    #[serde(default)]
    pub skill_ci_low: f64,
    /// Skill-clustered bootstrap 95% upper bound.
    #[serde(default)]
    pub skill_ci_high: f64,
    /// Exact McNemar p-value on the discordant pairs.
    pub mcnemar_p: f64,
    /// Pairs passed with the procedure only.
    pub discordant_b: usize,
    /// Pairs passed without the procedure only.
    pub discordant_c: usize,
    /// Minimum detectable |Δ| at this `n` and discordant rate (b + c) / n: the smallest Δ the
    /// exact McNemar test finds with the configured power at level α; `null` when no Δ
    /// reaches it (or there are no discordant pairs).
    #[serde(default)]
    pub mde: Option<f64>,
}

/// SFT lift = Δpost − Δpre over the tasks scored in all four cells, one path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiftRow {
    /// Student.
    pub student: String,
    /// The post-SFT training seed of a per-seed row; absent on the pooled row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Scoring path.
    pub judge: String,
    /// Units (task × seed × sample) scored in all four cells.
    pub n: usize,
    /// Distinct tasks among them.
    #[serde(default)]
    pub tasks: usize,
    /// Distinct skills among them.
    #[serde(default)]
    pub skills: usize,
    /// Units present in all four cells but unscorable in at least one, left out.
    #[serde(default)]
    pub dropped: usize,
    /// Lift.
    pub lift: f64,
    /// Task-level paired bootstrap 95% lower bound.
    pub ci_low: f64,
    /// Task-level paired bootstrap 95% upper bound.
    pub ci_high: f64,
    /// Skill-clustered bootstrap 95% lower bound.
    #[serde(default)]
    pub skill_ci_low: f64,
    /// Skill-clustered bootstrap 95% upper bound.
    #[serde(default)]
    pub skill_ci_high: f64,
    /// The MDE of the matching post-SFT Δ row: a lift smaller than this is below what the
    /// post-SFT comparison alone can detect (a lift, a difference of two Δs, needs more).
    #[serde(default)]
    pub mde: Option<f64>,
    /// Why this lift should not be read as real, in words (`null` when neither check fires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caution: Option<String>,
}

/// How Δ and lift vary across training seeds, per student, stage and scoring path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSummaryRow {
    /// Student (seed-free name).
    pub student: String,
    /// Stage.
    pub stage: Stage,
    /// Scoring path.
    pub judge: String,
    /// Seeds with a Δ.
    pub seeds: usize,
    /// Mean of the per-seed Δ.
    pub delta_mean: f64,
    /// Sample standard deviation (n − 1) of the per-seed Δ; `null` with one seed.
    pub delta_sd: Option<f64>,
    /// Smallest per-seed Δ.
    pub delta_min: f64,
    /// Largest per-seed Δ.
    pub delta_max: f64,
    /// Mean of the per-seed lifts (post-SFT rows only).
    pub lift_mean: Option<f64>,
    /// Sample standard deviation of the per-seed lifts (post-SFT rows with two or more seeds).
    pub lift_sd: Option<f64>,
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
    /// Largest |Δ_b − Δ_a| over the (student, stage) cells both paths scored (pooled rows):
    /// how far the headline Δ moves when the judge changes.
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
    /// Δ and lift across seeds.
    #[serde(default)]
    pub seed_summary: Vec<SeedSummaryRow>,
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
    #[error("duplicate verdict of judge {judge:?} on {episode}")]
    Duplicate {
        /// The episode: student, stage, condition, task, seed and sample.
        episode: String,
        /// Path.
        judge: String,
    },
    /// One task is said to belong to two skills.
    #[error("task {task_id:?} is given skill {a:?} in one verdict and {b:?} in another")]
    SkillConflict {
        /// Task.
        task_id: String,
        /// One skill.
        a: String,
        /// The other.
        b: String,
    },
}

/// (student, stage, judge, condition, seed).
type CellKey = (String, Stage, String, Condition, u64);
/// (task, sample) -> pass (None: unscorable).
type Cell = BTreeMap<(String, u32), Option<bool>>;

/// One paired unit of a Δ or lift: a task at one (seed, sample), and its difference.
struct Unit<'a> {
    task: &'a str,
    replicate: (u64, u32),
    diff: f64,
}

/// Point estimate and both intervals of a mean over paired units.
struct Summary {
    n: usize,
    tasks: usize,
    skills: usize,
    by_task: Interval,
    by_skill: Interval,
}

/// Everything the rows are computed from.
struct Data {
    cells: BTreeMap<CellKey, Cell>,
    skill_of: BTreeMap<String, String>,
    cfg: ReportConfig,
}

impl Data {
    fn cell(&self, student: &str, stage: Stage, judge: &str, condition: Condition, seed: u64) -> Option<&Cell> {
        self.cells.get(&(student.into(), stage, judge.into(), condition, seed))
    }

    /// The seeds with both conditions of (student, stage, judge).
    fn seeds(&self, student: &str, stage: Stage, judge: &str) -> Vec<u64> {
        let seeds: BTreeSet<u64> = self
            .cells
            .keys()
            .filter(|k| k.0 == student && k.1 == stage && k.2 == judge)
            .map(|k| k.4)
            .filter(|&s| {
                self.cell(student, stage, judge, Condition::Curated, s).is_some()
                    && self.cell(student, stage, judge, Condition::Baseline, s).is_some()
            })
            .collect();
        seeds.into_iter().collect()
    }

    fn summarize(&self, units: &[Unit]) -> Summary {
        // Tasks in id order (as the single-seed report always resampled them), each with its
        // values in replicate order.
        let mut by_task: BTreeMap<&str, BTreeMap<(u64, u32), f64>> = BTreeMap::new();
        for u in units {
            by_task.entry(u.task).or_default().insert(u.replicate, u.diff);
        }
        let replicates: BTreeSet<(u64, u32)> = units.iter().map(|u| u.replicate).collect();
        let replicates: Vec<(u64, u32)> = replicates.into_iter().collect();
        let mut by_skill: BTreeMap<&str, Vec<Vec<Option<f64>>>> = BTreeMap::new();
        for (task, values) in &by_task {
            let skill = self.skill_of.get(*task).map_or(*task, String::as_str);
            by_skill.entry(skill).or_default().push(replicates.iter().map(|r| values.get(r).copied()).collect());
        }
        let groups: Vec<Vec<f64>> = by_task.values().map(|v| v.values().copied().collect()).collect();
        let skills: Vec<SkillValues> = by_skill.into_values().collect();
        Summary {
            n: units.len(),
            tasks: groups.len(),
            skills: skills.len(),
            by_task: stats::task_bootstrap(&groups, self.cfg.resamples, self.cfg.seed),
            by_skill: stats::skill_bootstrap(&skills, self.cfg.resamples, self.cfg.seed),
        }
    }
}

/// Computes the report.
pub fn report(verdicts: &[Verdict], cfg: ReportConfig) -> Result<Report, ReportError> {
    let mut data = Data { cells: BTreeMap::new(), skill_of: BTreeMap::new(), cfg };
    for v in verdicts {
        if let Some(skill) = &v.skill_id {
            match data.skill_of.get(&v.task_id) {
                Some(known) if known != skill => {
                    return Err(ReportError::SkillConflict {
                        task_id: v.task_id.clone(),
                        a: known.clone(),
                        b: skill.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    data.skill_of.insert(v.task_id.clone(), skill.clone());
                }
            }
        }
        let key = (v.student.clone(), v.stage, v.judge.clone(), v.condition, v.seed);
        if data.cells.entry(key).or_default().insert((v.task_id.clone(), v.sample), v.pass).is_some() {
            return Err(ReportError::Duplicate {
                episode: format!(
                    "student {:?} stage {} condition {} task {:?} seed {} sample {}",
                    v.student, v.stage, v.condition, v.task_id, v.seed, v.sample
                ),
                judge: v.judge.clone(),
            });
        }
    }
    let rates = rates(&data);
    let deltas = deltas(&data);
    let lifts = lifts(&data, &deltas)?;
    let seed_summary = seed_summary(&deltas, &lifts);
    let agreement = agreement(&data, &deltas);
    let unscorable = unscorable(&data);
    Ok(Report { config: cfg, rates, deltas, lifts, seed_summary, agreement, unscorable })
}

/// Pass rates per (student, stage, condition, judge), over every seed and sample.
fn rates(data: &Data) -> Vec<RateRow> {
    // (student, stage, condition, judge) -> (passed, scored, unscorable)
    type Counts<'a> = BTreeMap<(&'a str, Stage, Condition, &'a str), (usize, usize, usize)>;
    let mut pooled: Counts = BTreeMap::new();
    for ((student, stage, judge, condition, _), cell) in &data.cells {
        let e = pooled.entry((student, *stage, *condition, judge)).or_default();
        e.0 += cell.values().filter(|&&p| p == Some(true)).count();
        e.1 += cell.values().filter(|p| p.is_some()).count();
        e.2 += cell.values().filter(|p| p.is_none()).count();
    }
    // Row order as the cells': student, stage, judge, condition.
    let mut keys: Vec<_> = pooled.keys().copied().collect();
    keys.sort_by_key(|k| (k.0, k.1, k.3, k.2));
    keys.into_iter()
        .map(|k| {
            let (passed, n, unscorable) = pooled[&k];
            let (lo, hi) = stats::wilson(passed, n);
            RateRow {
                student: k.0.into(),
                stage: k.1,
                condition: k.2,
                judge: k.3.into(),
                n,
                unscorable,
                passed,
                rate: passed as f64 / n.max(1) as f64,
                wilson_low: lo,
                wilson_high: hi,
            }
        })
        .collect()
}

/// Δ rows: per seed when there are several, and one pooled row per (student, stage, judge).
fn deltas(data: &Data) -> Vec<DeltaRow> {
    let triples: BTreeSet<(&str, Stage, &str)> = data.cells.keys().map(|k| (k.0.as_str(), k.1, k.2.as_str())).collect();
    let mut power = McNemarPower::new(data.cfg.alpha);
    let mut rows = Vec::new();
    for (student, stage, judge) in triples {
        let seeds = data.seeds(student, stage, judge);
        let mut pooled: Vec<Unit> = Vec::new();
        let mut pooled_dropped = 0;
        let mut per_seed = Vec::new();
        for &seed in &seeds {
            let cur = data.cell(student, stage, judge, Condition::Curated, seed).expect("seeds() checked");
            let base = data.cell(student, stage, judge, Condition::Baseline, seed).expect("seeds() checked");
            let (units, dropped) = pair_units(seed, &[cur, base], |v| f(v[0]) - f(v[1]));
            if units.is_empty() {
                continue;
            }
            if seeds.len() > 1 {
                per_seed.push(delta_row(data, &mut power, (student, stage, judge), Some(seed), &units, dropped));
            }
            pooled.extend(units);
            pooled_dropped += dropped;
        }
        if !pooled.is_empty() {
            rows.push(delta_row(data, &mut power, (student, stage, judge), None, &pooled, pooled_dropped));
            rows.extend(per_seed);
        }
    }
    rows
}

fn delta_row(
    data: &Data,
    power: &mut McNemarPower,
    (student, stage, judge): (&str, Stage, &str),
    seed: Option<u64>,
    units: &[Unit],
    dropped_pairs: usize,
) -> DeltaRow {
    let s = data.summarize(units);
    let b = units.iter().filter(|u| u.diff > 0.0).count();
    let c = units.iter().filter(|u| u.diff < 0.0).count();
    let r = (b + c) as f64 / s.n as f64;
    DeltaRow {
        student: student.into(),
        stage,
        seed,
        judge: judge.into(),
        n: s.n,
        tasks: s.tasks,
        skills: s.skills,
        dropped_pairs,
        delta: s.by_task.estimate,
        ci_low: s.by_task.low,
        ci_high: s.by_task.high,
        skill_ci_low: s.by_skill.low,
        skill_ci_high: s.by_skill.high,
        mcnemar_p: stats::mcnemar_exact(b, c),
        discordant_b: b,
        discordant_c: c,
        mde: power.mde(s.n, r, data.cfg.power),
    }
}

fn f(pass: bool) -> f64 {
    f64::from(u8::from(pass))
}

/// A (task, sample) and its verdict in each of several cells.
type Scored<'a> = (&'a str, u32, Vec<bool>);

/// The (task, sample) keys present in every cell of `cells` and scored in all of them, with
/// their verdicts in `cells` order, and how many present in all were left out as unscorable.
fn scored_in_all<'a>(cells: &[&'a Cell]) -> (Vec<Scored<'a>>, usize) {
    let (first, rest) = cells.split_first().expect("at least one cell");
    let mut scored = Vec::new();
    let mut dropped = 0;
    for ((task, sample), &p) in *first {
        let key = (task.clone(), *sample);
        let others: Option<Vec<Option<bool>>> = rest.iter().map(|c| c.get(&key).copied()).collect();
        let Some(others) = others else { continue };
        match std::iter::once(p).chain(others).collect::<Option<Vec<bool>>>() {
            Some(v) => scored.push((task.as_str(), *sample, v)),
            None => dropped += 1,
        }
    }
    (scored, dropped)
}

/// [`scored_in_all`] as paired units of training seed `seed`, each with `diff` of its verdicts.
fn pair_units<'a>(seed: u64, cells: &[&'a Cell], diff: impl Fn(&[bool]) -> f64) -> (Vec<Unit<'a>>, usize) {
    let (scored, dropped) = scored_in_all(cells);
    let units = scored.into_iter().map(|(task, sample, v)| Unit { task, replicate: (seed, sample), diff: diff(&v) });
    (units.collect(), dropped)
}

/// Lift rows per (student, judge): each post-SFT seed against the pre-SFT episodes of the same
/// seed (or of the only pre-SFT seed), per seed when there are several, and pooled.
fn lifts(data: &Data, deltas: &[DeltaRow]) -> Result<Vec<LiftRow>, ReportError> {
    let mut rows = Vec::new();
    let students: BTreeSet<&String> = data.cells.keys().map(|k| &k.0).collect();
    for student in students {
        let paths = |stage: Stage| -> BTreeSet<String> {
            deltas.iter().filter(|d| &d.student == student && d.stage == stage).map(|d| d.judge.clone()).collect()
        };
        let (pre, post) = (paths(Stage::Pre), paths(Stage::Post));
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
            let pre_seeds = data.seeds(student, Stage::Pre, judge);
            let post_seeds = data.seeds(student, Stage::Post, judge);
            let mut pooled: Vec<Unit> = Vec::new();
            let mut pooled_dropped = 0;
            let mut per_seed = Vec::new();
            for &seed in &post_seeds {
                let pre_seed = if pre_seeds.len() == 1 { pre_seeds[0] } else { seed };
                let cell = |stage: Stage, seed: u64, cond: Condition| data.cell(student, stage, judge, cond, seed);
                let (Some(pc), Some(pb), Some(qc), Some(qb)) = (
                    cell(Stage::Pre, pre_seed, Condition::Curated),
                    cell(Stage::Pre, pre_seed, Condition::Baseline),
                    cell(Stage::Post, seed, Condition::Curated),
                    cell(Stage::Post, seed, Condition::Baseline),
                ) else {
                    continue;
                };
                let (units, dropped) =
                    pair_units(seed, &[qc, qb, pc, pb], |v| (f(v[0]) - f(v[1])) - (f(v[2]) - f(v[3])));
                if units.is_empty() {
                    continue;
                }
                if post_seeds.len() > 1 {
                    per_seed.push(lift_row(data, deltas, (student, judge), Some(seed), &units, dropped));
                }
                pooled.extend(units);
                pooled_dropped += dropped;
            }
            if !pooled.is_empty() {
                rows.push(lift_row(data, deltas, (student, judge), None, &pooled, pooled_dropped));
                rows.extend(per_seed);
            }
        }
    }
    Ok(rows)
}

fn lift_row(
    data: &Data,
    deltas: &[DeltaRow],
    (student, judge): (&str, &str),
    seed: Option<u64>,
    units: &[Unit],
    dropped: usize,
) -> LiftRow {
    let s = data.summarize(units);
    let mde = deltas
        .iter()
        .find(|d| d.student == student && d.judge == judge && d.stage == Stage::Post && d.seed == seed)
        .and_then(|d| d.mde);
    let mut row = LiftRow {
        student: student.into(),
        seed,
        judge: judge.into(),
        n: s.n,
        tasks: s.tasks,
        skills: s.skills,
        dropped,
        lift: s.by_task.estimate,
        ci_low: s.by_task.low,
        ci_high: s.by_task.high,
        skill_ci_low: s.by_skill.low,
        skill_ci_high: s.by_skill.high,
        mde,
        caution: None,
    };
    row.caution = lift_caution(&row, data.cfg);
    row
}

/// The words a reader must not miss when a lift may be noise.
fn lift_caution(row: &LiftRow, cfg: ReportConfig) -> Option<String> {
    let mut why = Vec::new();
    if row.skill_ci_low <= 0.0 && 0.0 <= row.skill_ci_high {
        why.push(format!(
            "its skill-clustered 95% interval [{:+.3}, {:+.3}] includes 0, so the data are consistent with no lift at all",
            row.skill_ci_low, row.skill_ci_high
        ));
    }
    match row.mde {
        Some(mde) if row.lift.abs() < mde => why.push(format!(
            "|lift| = {:.3} is below {mde:.3}, the smallest Δ the post-SFT comparison detects with {:.0}% power at α = {}, so a lift this size is more often missed than found",
            row.lift.abs(),
            100.0 * cfg.power,
            cfg.alpha
        )),
        None => why.push(format!(
            "the post-SFT comparison cannot reach {:.0}% power for any Δ with its tasks and discordance",
            100.0 * cfg.power
        )),
        Some(_) => {}
    }
    (!why.is_empty()).then(|| format!("Not evidence of a lift: {}.", why.join("; and ")))
}

/// Seed spread of Δ (and lift, post-SFT) per (student, stage, judge): from the per-seed rows
/// when there are several seeds, from the pooled row when there is one.
fn seed_summary(deltas: &[DeltaRow], lifts: &[LiftRow]) -> Vec<SeedSummaryRow> {
    let mut groups: BTreeMap<(&str, Stage, &str), Vec<&DeltaRow>> = BTreeMap::new();
    for d in deltas {
        groups.entry((&d.student, d.stage, &d.judge)).or_default().push(d);
    }
    groups
        .into_iter()
        .map(|((student, stage, judge), rows)| {
            let per_seed: Vec<f64> = rows.iter().filter(|d| d.seed.is_some()).map(|d| d.delta).collect();
            let values = if per_seed.is_empty() { vec![rows[0].delta] } else { per_seed };
            let (delta_mean, delta_sd) = stats::mean_sd(&values);
            let (lift_mean, lift_sd) = if stage == Stage::Post {
                let mine: Vec<&LiftRow> = lifts.iter().filter(|l| l.student == student && l.judge == judge).collect();
                let per_seed: Vec<f64> = mine.iter().filter(|l| l.seed.is_some()).map(|l| l.lift).collect();
                let values = if per_seed.is_empty() { mine.iter().map(|l| l.lift).collect() } else { per_seed };
                if values.is_empty() {
                    (None, None)
                } else {
                    let (m, sd) = stats::mean_sd(&values);
                    (Some(m), sd)
                }
            } else {
                (None, None)
            };
            SeedSummaryRow {
                student: student.into(),
                stage,
                judge: judge.into(),
                seeds: values.len(),
                delta_mean,
                delta_sd,
                delta_min: values.iter().copied().fold(f64::INFINITY, f64::min),
                delta_max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                lift_mean,
                lift_sd,
            }
        })
        .collect()
}

/// Agreement per pair of paths over the episodes both scored.
fn agreement(data: &Data, deltas: &[DeltaRow]) -> Vec<AgreementRow> {
    let pooled = |student: &str, stage: Stage, judge: &str| {
        deltas
            .iter()
            .find(|d| d.student == student && d.stage == stage && d.judge == judge && d.seed.is_none())
            .map(|d| d.delta)
    };
    let judges: BTreeSet<&String> = data.cells.keys().map(|k| &k.2).collect();
    let judges: Vec<&String> = judges.into_iter().collect();
    let mut rows = Vec::new();
    for (i, ja) in judges.iter().enumerate() {
        for jb in &judges[i + 1..] {
            let (mut a, mut b, mut dropped) = (Vec::new(), Vec::new(), 0);
            let mut shift: Option<f64> = None;
            for ((student, stage, judge, condition, seed), cell) in &data.cells {
                if judge != *ja {
                    continue;
                }
                if let Some(other) = data.cell(student, *stage, jb, *condition, *seed) {
                    let (scored, left_out) = scored_in_all(&[cell, other]);
                    for (_, _, v) in scored {
                        a.push(v[0]);
                        b.push(v[1]);
                    }
                    dropped += left_out;
                }
                if *condition == Condition::Curated
                    && let (Some(da), Some(db)) = (pooled(student, *stage, ja), pooled(student, *stage, jb))
                {
                    let s = (db - da).abs();
                    shift = Some(shift.map_or(s, |m: f64| m.max(s)));
                }
            }
            if a.is_empty() {
                continue;
            }
            rows.push(AgreementRow {
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
    rows
}

fn unscorable(data: &Data) -> Vec<UnscorableRow> {
    let mut counts: BTreeMap<&String, (usize, usize)> = BTreeMap::new();
    for ((_, _, judge, _, _), cell) in &data.cells {
        let e = counts.entry(judge).or_default();
        e.0 += cell.len();
        e.1 += cell.values().filter(|p| p.is_none()).count();
    }
    counts
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
        .collect()
}

/// The columns of `report.csv`, in order.
const CSV_COLUMNS: &[&str] = &[
    "section",
    "student",
    "stage",
    "condition",
    "seed",
    "judge",
    "judge_b",
    "n",
    "passed",
    "value",
    "ci_low",
    "ci_high",
    "skill_ci_low",
    "skill_ci_high",
    "mcnemar_p",
    "discordant_b",
    "discordant_c",
    "mde",
    "kappa",
    "max_delta_shift",
    "seeds",
    "sd",
    "min",
    "max",
    "lift_mean",
    "lift_sd",
];

/// `report.csv`: one table with a `section` column (`rate`, `delta`, `lift`, `seed_summary`,
/// `agreement`) and the union of the sections' fields (`CSV_COLUMNS`); empty where a field
/// does not apply. `value` is the section's figure: rate, Δ, lift, mean Δ, agreement.
pub fn to_csv(r: &Report) -> String {
    let f = |x: f64| format!("{x:.6}");
    let of = |x: Option<f64>| x.map(f).unwrap_or_default();
    let seed = |s: Option<u64>| s.map(|s| s.to_string()).unwrap_or_default();
    // The columns a Δ row and a lift row share after their value.
    let intervals = |ci: [f64; 4], mde: Option<f64>| {
        let names = ["ci_low", "ci_high", "skill_ci_low", "skill_ci_high"];
        let mut cells: Vec<(&str, String)> = names.into_iter().zip(ci.map(f)).collect();
        cells.push(("mde", of(mde)));
        cells
    };
    let mut rows: Vec<Vec<(&str, String)>> = Vec::new();
    for x in &r.rates {
        rows.push(vec![
            ("section", "rate".into()),
            ("student", x.student.clone()),
            ("stage", x.stage.to_string()),
            ("condition", x.condition.to_string()),
            ("judge", x.judge.clone()),
            ("n", x.n.to_string()),
            ("passed", x.passed.to_string()),
            ("value", f(x.rate)),
            ("ci_low", f(x.wilson_low)),
            ("ci_high", f(x.wilson_high)),
        ]);
    }
    for x in &r.deltas {
        let mut row = vec![
            ("section", "delta".into()),
            ("student", x.student.clone()),
            ("stage", x.stage.to_string()),
            ("seed", seed(x.seed)),
            ("judge", x.judge.clone()),
            ("n", x.n.to_string()),
            ("value", f(x.delta)),
            ("mcnemar_p", f(x.mcnemar_p)),
            ("discordant_b", x.discordant_b.to_string()),
            ("discordant_c", x.discordant_c.to_string()),
        ];
        row.extend(intervals([x.ci_low, x.ci_high, x.skill_ci_low, x.skill_ci_high], x.mde));
        rows.push(row);
    }
    for x in &r.lifts {
        let mut row = vec![
            ("section", "lift".into()),
            ("student", x.student.clone()),
            ("seed", seed(x.seed)),
            ("judge", x.judge.clone()),
            ("n", x.n.to_string()),
            ("value", f(x.lift)),
        ];
        row.extend(intervals([x.ci_low, x.ci_high, x.skill_ci_low, x.skill_ci_high], x.mde));
        rows.push(row);
    }
    for x in &r.seed_summary {
        rows.push(vec![
            ("section", "seed_summary".into()),
            ("student", x.student.clone()),
            ("stage", x.stage.to_string()),
            ("judge", x.judge.clone()),
            ("value", f(x.delta_mean)),
            ("seeds", x.seeds.to_string()),
            ("sd", of(x.delta_sd)),
            ("min", f(x.delta_min)),
            ("max", f(x.delta_max)),
            ("lift_mean", of(x.lift_mean)),
            ("lift_sd", of(x.lift_sd)),
        ]);
    }
    for x in &r.agreement {
        rows.push(vec![
            ("section", "agreement".into()),
            ("judge", x.judge_a.clone()),
            ("judge_b", x.judge_b.clone()),
            ("n", x.n.to_string()),
            ("value", f(x.agreement)),
            ("kappa", of(x.kappa)),
            ("max_delta_shift", of(x.max_delta_shift)),
        ]);
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_COLUMNS).expect("writing to memory");
    for row in rows {
        debug_assert!(row.iter().all(|(k, _)| CSV_COLUMNS.contains(k)), "unknown CSV column in {row:?}");
        let cells = CSV_COLUMNS.iter().map(|c| row.iter().find(|(k, _)| k == c).map_or("", |(_, v)| v.as_str()));
        out.write_record(cells).expect("writing to memory");
    }
    String::from_utf8(out.into_inner().expect("writing to memory")).expect("the cells are UTF-8")
}

/// A seed column's text: the seed, or `all` on a pooled row.
fn seed_label(seed: Option<u64>) -> String {
    seed.map_or_else(|| "all".into(), |s| s.to_string())
}

fn mde_label(mde: Option<f64>) -> String {
    mde.map_or_else(|| "none".into(), |m| format!("{m:.3}"))
}

/// `report.md`: the tables for people, the cautions in bold where they cannot be missed.
pub fn to_markdown(r: &Report) -> String {
    let mut s = String::from("# Procedural Δ report\n\n");
    s.push_str(&format!(
        "Intervals: Wilson 95% for rates. For Δ and lift, two percentile bootstraps ({} resamples, seed {}): **task CI** resamples tasks (as the paper did); **skill CI** resamples skills with all their tasks (and, with several seeds or samples, those within each skill): tasks of one skill share a procedure and pass or fail together, so the skill CI is the honest one, and the plots draw it. McNemar: exact, on the discordant pairs. MDE: the smallest |Δ| the exact McNemar test detects with {:.0}% power at α = {} given n and the discordant rate (b + c) / n.\n\n",
        r.config.resamples,
        r.config.seed,
        100.0 * r.config.power,
        r.config.alpha
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
    s.push_str("\n## Procedural Δ = pass(curated) − pass(baseline)\n\n| student | stage | seed | judge | n | Δ | task CI | skill CI | McNemar p | b / c | MDE |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for x in &r.deltas {
        let dropped = if x.dropped_pairs > 0 {
            format!(" ({} unscorable pairs left out)", x.dropped_pairs)
        } else {
            String::new()
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {}{dropped} | {:+.3} | [{:+.3}, {:+.3}] | [{:+.3}, {:+.3}] | {:.4} | {} / {} | {} |\n",
            x.student,
            x.stage,
            seed_label(x.seed),
            x.judge,
            x.n,
            x.delta,
            x.ci_low,
            x.ci_high,
            x.skill_ci_low,
            x.skill_ci_high,
            x.mcnemar_p,
            x.discordant_b,
            x.discordant_c,
            mde_label(x.mde)
        ));
    }
    s.push_str("\n## SFT lift = Δpost − Δpre\n\n| student | seed | judge | n | lift | task CI | skill CI | post MDE |\n|---|---|---|---|---|---|---|---|\n");
    for x in &r.lifts {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:+.3} | [{:+.3}, {:+.3}] | [{:+.3}, {:+.3}] | {} |\n",
            x.student,
            seed_label(x.seed),
            x.judge,
            x.n,
            x.lift,
            x.ci_low,
            x.ci_high,
            x.skill_ci_low,
            x.skill_ci_high,
            mde_label(x.mde)
        ));
    }
    let cautions: Vec<&LiftRow> = r.lifts.iter().filter(|l| l.caution.is_some()).collect();
    if !cautions.is_empty() {
        s.push('\n');
        for x in cautions {
            s.push_str(&format!(
                "- **Caution: {} (seed {}, {}), lift {:+.3}. {}**\n",
                x.student,
                seed_label(x.seed),
                x.judge,
                x.lift,
                x.caution.as_deref().unwrap_or_default()
            ));
        }
    }
    if !r.seed_summary.is_empty() {
        s.push_str("\n## Across training seeds\n\nΔ and lift of each seed's run (sd: sample standard deviation, n − 1). One seed says nothing about seed noise: train more (`seeds = [0, 1, 2]` in the study file).\n\n| student | stage | judge | seeds | Δ mean | Δ sd | Δ min … max | lift mean | lift sd |\n|---|---|---|---|---|---|---|---|---|\n");
        let opt = |x: Option<f64>, signed: bool| {
            x.map_or_else(|| "—".into(), |v| if signed { format!("{v:+.3}") } else { format!("{v:.3}") })
        };
        for x in &r.seed_summary {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {:+.3} | {} | {:+.3} … {:+.3} | {} | {} |\n",
                x.student,
                x.stage,
                x.judge,
                x.seeds,
                x.delta_mean,
                opt(x.delta_sd, false),
                x.delta_min,
                x.delta_max,
                opt(x.lift_mean, true),
                opt(x.lift_sd, false)
            ));
        }
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
            stage: stage.parse().unwrap(),
            condition: condition.parse().unwrap(),
            task_id: format!("t{task}"),
            skill_id: None,
            seed: 0,
            sample: 0,
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
        let r = report(&episodes(), ReportConfig { resamples: 2000, seed: 1, ..ReportConfig::default() }).unwrap();
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
        assert!(
            to_csv(&r).lines().count()
                == 1 + r.rates.len() + r.deltas.len() + r.lifts.len() + r.seed_summary.len() + r.agreement.len()
        );
        assert!(to_markdown(&r).contains("| s | all | extractor | 10 | +0.300 |"));
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
        let full = report(&full, ReportConfig { resamples: 500, seed: 1, ..ReportConfig::default() }).unwrap();
        let r = report(&eps, ReportConfig { resamples: 500, seed: 1, ..ReportConfig::default() }).unwrap();
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
        // A bad stage or condition is refused where it is read.
        let bad = r#"{"student":"s","stage":"mid","condition":"curated","task_id":"t","judge":"x","pass":true}"#;
        let err = serde_json::from_str::<Verdict>(bad).unwrap_err().to_string();
        assert!(err.contains("mid") && err.contains("pre"), "{err}");
    }

    /// A synthetic study: 8 skills × 5 tasks whose procedure helps all-or-nothing per skill
    /// (skills 0..3 pass curated only, the rest pass or fail in both), three training seeds
    /// after SFT, two samples each.
    fn clustered_study() -> Vec<Verdict> {
        let mut out = Vec::new();
        let mut push = |stage: &str, seed: u64, sample: u32, skill: usize, task: usize, cond: &str, pass: bool| {
            out.push(Verdict {
                student: "s".into(),
                stage: stage.parse().unwrap(),
                condition: cond.parse().unwrap(),
                task_id: format!("k{skill}-t{task}"),
                skill_id: Some(format!("k{skill}")),
                seed,
                sample,
                judge: "offline".into(),
                pass: Some(pass),
            });
        };
        for skill in 0..8 {
            for task in 0..5 {
                for sample in 0..2 {
                    // Pre-SFT: the procedure helps skills 0 and 1.
                    push("pre", 0, sample, skill, task, "curated", skill < 2 || skill == 7);
                    push("pre", 0, sample, skill, task, "baseline", skill == 7);
                    for seed in [0, 1, 2] {
                        // Post-SFT: it helps skills 0..=seed+1 (seed noise in how many).
                        let helped = skill <= seed as usize + 1;
                        push("post", seed, sample, skill, task, "curated", helped || skill == 7);
                        push("post", seed, sample, skill, task, "baseline", skill == 7);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn seeds_samples_and_skill_clusters() {
        let r =
            report(&clustered_study(), ReportConfig { resamples: 2000, seed: 3, ..ReportConfig::default() }).unwrap();
        let pre: Vec<&DeltaRow> = r.deltas.iter().filter(|d| d.stage == "pre").collect();
        assert_eq!(pre.len(), 1, "one pre-SFT seed: only the pooled row");
        assert_eq!((pre[0].n, pre[0].tasks, pre[0].skills), (80, 40, 8));
        assert!((pre[0].delta - 0.25).abs() < 1e-12);
        // Every task of a skill moves together: resampling skills sees 8 units, not 40.
        let (task_w, skill_w) = (pre[0].ci_high - pre[0].ci_low, pre[0].skill_ci_high - pre[0].skill_ci_low);
        assert!(skill_w > 1.8 * task_w, "skill CI {skill_w} vs task CI {task_w}");
        let post = |seed: Option<u64>| r.deltas.iter().find(|d| d.stage == "post" && d.seed == seed).unwrap();
        for (seed, helped) in [(0, 2.0), (1, 3.0), (2, 4.0)] {
            assert!((post(Some(seed)).delta - helped / 8.0).abs() < 1e-12);
            let lift = r.lifts.iter().find(|l| l.seed == Some(seed)).unwrap();
            assert!((lift.lift - (helped - 2.0) / 8.0).abs() < 1e-12, "seed {seed} lifts against the one pre seed");
            assert_eq!(lift.n, 80);
        }
        assert!((post(None).delta - 3.0 / 8.0).abs() < 1e-12);
        assert_eq!(post(None).n, 240);
        let pooled_lift = r.lifts.iter().find(|l| l.seed.is_none()).unwrap();
        assert!((pooled_lift.lift - 0.125).abs() < 1e-12);
        let s = r.seed_summary.iter().find(|s| s.stage == "post").unwrap();
        assert_eq!(s.seeds, 3);
        assert!((s.delta_mean - 0.375).abs() < 1e-12 && (s.delta_sd.unwrap() - 0.125).abs() < 1e-12);
        assert_eq!((s.delta_min, s.delta_max), (0.25, 0.5));
        assert!((s.lift_mean.unwrap() - 0.125).abs() < 1e-12 && (s.lift_sd.unwrap() - 0.125).abs() < 1e-12);
        // Seed 0 adds nothing to pre-SFT: the lift is 0 and the report says so in words.
        let zero = r.lifts.iter().find(|l| l.seed == Some(0)).unwrap();
        assert!(zero.caution.as_deref().unwrap().contains("includes 0"), "{zero:?}");
        let md = to_markdown(&r);
        assert!(md.contains("**Caution: s (seed 0, offline), lift +0.000. Not evidence of a lift"), "{md}");
        assert!(md.contains("## Across training seeds"));
        // MDE: n = 80 pairs, discordance 20 / 80 = 0.25.
        let mde = crate::power::mde(80, 0.25, 0.05, 0.8).unwrap();
        assert_eq!(pre[0].mde, Some(mde));
        // Flat records with seed and sample pair by them; a sample missing on one side drops out.
        let mut v = clustered_study();
        v.retain(|x| !(x.stage == "pre" && x.condition == "baseline" && x.sample == 1 && x.task_id == "k0-t0"));
        let r2 = report(&v, ReportConfig { resamples: 200, ..ReportConfig::default() }).unwrap();
        assert_eq!(r2.deltas.iter().find(|d| d.stage == "pre").unwrap().n, 79);
    }

    #[test]
    fn a_task_in_two_skills_is_refused() {
        let mut eps = episodes();
        eps[0].skill_id = Some("a".into());
        eps[1].skill_id = Some("b".into());
        eps[1].task_id = eps[0].task_id.clone();
        eps[1].condition = Condition::Baseline;
        let err = report(&eps, ReportConfig::default()).unwrap_err();
        assert!(matches!(err, ReportError::SkillConflict { .. }), "{err}");
    }
    #[test]
    fn csv_reads_back_as_one_table() {
        let mut eps = episodes();
        eps.iter_mut().for_each(|v| v.student = "qwen, \"tiny\"".into());
        let r = report(&eps, ReportConfig { resamples: 200, ..ReportConfig::default() }).unwrap();
        let text = to_csv(&r);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), CSV_COLUMNS);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(
            rows.len(),
            r.rates.len() + r.deltas.len() + r.lifts.len() + r.seed_summary.len() + r.agreement.len()
        );
        assert!(rows.iter().all(|row| row.len() == CSV_COLUMNS.len()));
        let lift = rows.iter().find(|row| &row[0] == "lift").unwrap();
        assert_eq!(&lift[1], "qwen, \"tiny\"", "a name with a comma and quotes survives");
        let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
        assert!((lift[col("value")].parse::<f64>().unwrap() - r.lifts[0].lift).abs() <= 5e-7);
        // Six decimals in the file.
        assert!((lift[col("skill_ci_low")].parse::<f64>().unwrap() - r.lifts[0].skill_ci_low).abs() <= 5e-7);
    }
}
