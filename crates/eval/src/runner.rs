//! Running episodes: every (condition, task) of the holdout for one student and stage,
//! batched, scored by every scoring path, appended to the log as each batch finishes, and
//! skipped on a rerun when already there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use skillsft_data::catalog::Catalog;
use skillsft_data::dataset::HoldoutRow;
use skillsft_data::judge::extract;
use skillsft_data::progress::{Progress, Unit};

use crate::episode::{Condition, Episode, EpisodeKey, EpisodeLog, Stage};
use crate::error::{EvalError, Result};
use crate::scoring::Scorer;
use crate::student::Student;

/// What to run.
pub struct RunPlan<'a> {
    /// `pre` or `post`.
    pub stage: Stage,
    /// Conditions, e.g. `["curated", "baseline"]`.
    pub conditions: &'a [Condition],
    /// The holdout tasks.
    pub holdout: &'a [HoldoutRow],
    /// The skills the holdout refers to (for the judges).
    pub catalog: &'a Catalog,
    /// One verdict per path on every episode.
    pub scorers: &'a [Scorer],
    /// Where finished episodes are reported (the binaries draw a bar;
    /// [`skillsft_data::progress::Silent`] for none).
    pub progress: &'a dyn Progress,
    /// Set (e.g. by Ctrl-C) to stop after the batch in flight.
    pub stop: Option<Arc<AtomicBool>>,
    /// Replies scored at once (LLM judges: requests in flight); 1 scores one after another.
    /// Episodes are written in holdout order whatever the concurrency.
    pub concurrency: usize,
    /// The seed of the training run behind the student (recorded in every episode; 0 before
    /// SFT).
    pub seed: u64,
    /// Replies per (condition, task): sample k is drawn with sampling seed `seed + k` (see
    /// [`Student::respond`]); more than one needs temperature > 0.
    pub samples: u32,
}

/// Which verdicts [`score_missing`] asks for.
#[derive(Debug, Clone, Copy)]
pub struct Rescore<'a> {
    /// Only this student's episodes (all when `None`).
    pub student: Option<&'a str>,
    /// Only this stage's episodes (all when `None`).
    pub stage: Option<Stage>,
    /// Also ask again where a path's verdict is unscorable (`pass: null`).
    pub retry_unscorable: bool,
    /// Judge requests in flight at once (verdicts are stored in episode order).
    pub concurrency: usize,
}

impl Default for Rescore<'_> {
    fn default() -> Self {
        Rescore { student: None, stage: None, retry_unscorable: false, concurrency: 1 }
    }
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Episodes run now.
    pub ran: usize,
    /// Episodes found in the log and skipped.
    pub skipped: usize,
    /// Episodes already there that lacked a path's verdict and were scored now.
    pub rescored: usize,
    /// True when stopped before the end.
    pub interrupted: bool,
}

/// An episode still to run.
struct Pending<'a> {
    sample: u32,
    condition: Condition,
    row: &'a HoldoutRow,
    user: String,
}

/// Runs the episodes of `plan` for `student` that `log` does not hold yet.
pub fn run_episodes(student: &dyn Student, plan: &RunPlan, log: &mut EpisodeLog) -> Result<RunCounts> {
    if plan.scorers.is_empty() {
        return Err(EvalError::Config("no scoring path: give at least one judge".into()));
    }
    let mut counts = RunCounts::default();
    if plan.samples == 0 {
        return Err(EvalError::Config("samples must be at least 1".into()));
    }
    let mut pending: Vec<Pending> = Vec::new();
    for sample in 0..plan.samples {
        for condition in plan.conditions {
            for row in plan.holdout {
                let user = row.prompts.get(condition.name()).ok_or_else(|| {
                    EvalError::Config(format!("holdout task {} has no {condition} prompt", row.task_id))
                })?;
                let key = EpisodeKey {
                    student: student.name().to_string(),
                    stage: plan.stage,
                    condition: *condition,
                    task_id: row.task_id.clone(),
                    seed: plan.seed,
                    sample,
                };
                match log.get(&key) {
                    Some(done) => {
                        let hash = student.prompt_hash(user)?;
                        if done.prompt_hash != hash {
                            return Err(EvalError::Config(format!(
                                "{}: episode ({key}) was run with another prompt (hash {} there, {hash} now): the holdout, template or student settings changed; use a new --out",
                                log.path().display(),
                                &done.prompt_hash[..12.min(done.prompt_hash.len())]
                            )));
                        }
                        counts.skipped += 1;
                    }
                    None => pending.push(Pending { sample, condition: *condition, row, user: user.clone() }),
                }
            }
        }
    }
    let rescore = Rescore {
        student: Some(student.name()),
        stage: Some(plan.stage),
        retry_unscorable: true,
        concurrency: plan.concurrency,
    };
    counts.rescored = score_missing(log, plan.scorers, plan.catalog, plan.holdout, rescore)?;

    let bar = plan.progress;
    if !pending.is_empty() {
        bar.start(&format!("{} {}", student.name(), plan.stage), Unit::Episodes, Some(pending.len() as u64), 0);
    }
    let mut passed = 0usize;
    // A batch never mixes samples: one generation call draws with one sampling seed.
    let batches = pending.chunk_by(|a, b| a.sample == b.sample).flat_map(|same| same.chunks(student.batch_size()));
    for batch in batches {
        if plan.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            counts.interrupted = true;
            break;
        }
        let users: Vec<String> = batch.iter().map(|p| p.user.clone()).collect();
        let replies = student.respond(&users, batch[0].sample)?;
        let scored: Vec<(&Pending, &crate::student::Reply)> = batch.iter().zip(&replies).collect();
        let verdicts = skillsft_data::parallel::par_map(&scored, plan.concurrency, |(Pending { row, .. }, reply)| {
            let skill = plan.catalog.get(&row.skill_id).ok_or_else(|| {
                EvalError::Config(format!(
                    "holdout task {} names skill {:?}, not in the catalog",
                    row.task_id, row.skill_id
                ))
            })?;
            let task = row.task();
            plan.scorers.iter().map(|s| s.score(skill, &task, &reply.answer_text)).collect::<Result<Vec<_>>>()
        });
        for ((Pending { sample, condition, row, user }, reply), verdicts) in batch.iter().zip(replies).zip(verdicts) {
            let verdicts = verdicts?;
            passed += usize::from(verdicts[0].pass == Some(true));
            log.append(Episode {
                student: student.name().to_string(),
                stage: plan.stage,
                condition: *condition,
                task_id: row.task_id.clone(),
                skill_id: row.skill_id.clone(),
                seed: plan.seed,
                sample: *sample,
                answer_kind: row.answer_kind,
                prompt_hash: student.prompt_hash(user)?,
                // "ANSWER:" with nothing after it (the budget ran out) is not an answer.
                extracted: extract::extract(&reply.answer_text).filter(|v| !v.is_empty()),
                output: reply.output,
                reasoning: reply.reasoning,
                answer_text: reply.answer_text,
                finish: reply.finish,
                output_tokens: reply.tokens,
                verdicts,
            })?;
            counts.ran += 1;
        }
        bar.advance(batch.len() as u64, &format!("pass {passed}/{} ({})", counts.ran, plan.scorers[0].path()));
    }
    if !pending.is_empty() {
        bar.finish();
    }
    Ok(counts)
}

/// Adds the verdict of every scorer missing from the episodes of (`student`, `stage`) (all
/// students and stages when `None`), and with `retry_unscorable` asks again where a scorer's
/// verdict is unscorable (`pass: null`), rewriting the log once if anything changed. This is
/// the re-judge (e.g. `--llm-only`) and the second-judge pass: no generation is redone.
pub fn score_missing(
    log: &mut EpisodeLog,
    scorers: &[Scorer],
    catalog: &Catalog,
    holdout: &[HoldoutRow],
    what: Rescore,
) -> Result<usize> {
    let Rescore { student, stage, retry_unscorable, concurrency } = what;
    let tasks: std::collections::HashMap<&str, &HoldoutRow> = holdout.iter().map(|r| (r.task_id.as_str(), r)).collect();
    let mut todo = Vec::new();
    for (i, ep) in log.episodes().iter().enumerate() {
        if student.is_some_and(|s| ep.student != s) || stage.is_some_and(|s| ep.stage != s) {
            continue;
        }
        for (s, scorer) in scorers.iter().enumerate() {
            let done = ep.verdicts.iter().any(|v| v.judge == scorer.path() && (v.pass.is_some() || !retry_unscorable));
            if !done {
                todo.push((i, s));
            }
        }
    }
    let episodes = log.episodes();
    let verdicts = skillsft_data::parallel::par_map(&todo, concurrency, |&(i, s)| {
        let ep = &episodes[i];
        let row = tasks
            .get(ep.task_id.as_str())
            .ok_or_else(|| EvalError::Config(format!("episode task {} is not in the holdout given", ep.task_id)))?;
        let skill = catalog
            .get(&row.skill_id)
            .ok_or_else(|| EvalError::Config(format!("skill {:?} is not in the catalog", row.skill_id)))?;
        scorers[s].score(skill, &row.task(), &ep.answer_text)
    });
    for (&(i, _), verdict) in todo.iter().zip(verdicts) {
        log.add_verdict(i, verdict?);
    }
    if !todo.is_empty() {
        log.rewrite()?;
    }
    Ok(todo.len())
}
