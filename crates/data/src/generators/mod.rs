//! Seeded task generators, one Rust function per generator *kind*.
//!
//! A skill file names a kind and its parameters; [`generate`] runs the kind with a
//! `ChaCha8` stream seeded from the task seed, so the same seed gives the same task on every
//! platform. Each kind returns the task text, the reference answer and one [`Step`] per
//! procedure step: the offline teacher writes its chain of thought from those steps, so a
//! step's `work` must show the computation, not just name it.
//!
//! Adding a kind: write `fn my_kind(g: &mut Gen) -> Result<Generated>` in the module of its
//! domain and list it in that module's `KINDS`.

mod algorithms;
mod arithmetic;
mod calendar;
mod checklists;
mod dates;
mod finance;
pub mod fmt;
mod science;
mod strings;
mod tables;
mod units;

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::skill::{AnswerSpec, PROCEDURE_STEPS, Skill};
use crate::task::{Criterion, Generated, Step, Task};

/// A generator kind's function.
pub type GenFn = fn(&mut Gen) -> Result<Generated>;

/// Every kind, by name: the built-in `fixed` kind plus each domain module's list.
pub fn kinds() -> impl Iterator<Item = (&'static str, GenFn)> {
    const BUILTIN: &[(&str, GenFn)] = &[("fixed", fixed)];
    BUILTIN
        .iter()
        .chain(arithmetic::KINDS)
        .chain(dates::KINDS)
        .chain(strings::KINDS)
        .chain(tables::KINDS)
        .chain(algorithms::KINDS)
        .chain(checklists::KINDS)
        .chain(units::KINDS)
        .chain(finance::KINDS)
        .chain(science::KINDS)
        .copied()
}

/// Looks up a kind.
pub fn kind(name: &str) -> Option<GenFn> {
    kinds().find(|(k, _)| *k == name).map(|(_, f)| f)
}

/// The seed of task `index` of `skill_id` in a build seeded with `build_seed`: a hash, so
/// adding a skill or changing the task count leaves every other task unchanged.
pub fn task_seed(build_seed: u64, skill_id: &str, index: usize) -> u64 {
    let mut h = Sha256::new();
    h.update(format!("skillsft-task\0{build_seed}\0{skill_id}\0{index}").as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("sha256 has 32 bytes"))
}

/// Generates the task of `skill` for `seed` and checks its invariants.
pub fn generate(skill: &Skill, seed: u64) -> Result<Task> {
    let f = kind(&skill.generator.kind).ok_or_else(|| DataError::UnknownGenerator {
        skill: skill.id.clone(),
        kind: skill.generator.kind.clone(),
        known: kinds().map(|(k, _)| k).collect::<Vec<_>>().join(", "),
    })?;
    let mut g = Gen { rng: ChaCha8Rng::seed_from_u64(seed), skill, params: &skill.generator.params };
    let out = f(&mut g)?;
    let bad = |message: String| DataError::BadTask { skill: skill.id.clone(), seed, message };
    if out.steps.len() != PROCEDURE_STEPS {
        return Err(bad(format!("{} steps, expected {PROCEDURE_STEPS}", out.steps.len())));
    }
    if out.prompt.trim().is_empty() || out.answer.trim().is_empty() {
        return Err(bad("empty prompt or answer".into()));
    }
    if out.answer.contains('\n') && skill.answer.is_exact() {
        return Err(bad("exact answer spans several lines".into()));
    }
    match (&skill.answer, out.rubric.is_empty()) {
        (AnswerSpec::FreeForm { .. }, true) => return Err(bad("free-form task without rubric criteria".into())),
        (AnswerSpec::Exact { .. }, false) => return Err(bad("exact-answer task with rubric criteria".into())),
        _ => {}
    }
    Ok(Task {
        id: format!("{}/{seed:016x}", skill.id),
        skill_id: skill.id.clone(),
        seed,
        prompt: out.prompt,
        answer: out.answer,
        steps: out.steps,
        rubric: out.rubric,
    })
}

/// Draws allowed per requested task before [`distinct_tasks`] gives up on a skill.
pub const MAX_DRAWS_PER_TASK: usize = 50;

/// `n` tasks of one skill, no two with the same prompt, and what it took to get them.
#[derive(Debug, Clone, PartialEq)]
pub struct DistinctTasks {
    /// The tasks, in draw order.
    pub tasks: Vec<Task>,
    /// Draws skipped because their prompt repeated an earlier task's.
    pub duplicates_redrawn: usize,
}

/// The first `n` tasks of `skill` with distinct prompts, drawn with seed indices 0, 1, 2, …
/// ([`task_seed`]); a repeat is skipped and the next index drawn. While no draw repeats,
/// task `i` is the one of index `i`, as before duplicates were checked.
///
/// A task's identity is its prompt: the student sees nothing else. Two draws with the same
/// prompt but different answers mean the answer depends on something the prompt does not say,
/// a generator bug reported as [`DataError::BadTask`]. A skill that gives fewer than `n`
/// distinct tasks in `n × MAX_DRAWS_PER_TASK` draws is a [`DataError::Build`].
pub fn distinct_tasks(skill: &Skill, build_seed: u64, n: usize) -> Result<DistinctTasks> {
    let max_draws = n.saturating_mul(MAX_DRAWS_PER_TASK);
    let mut tasks: Vec<Task> = Vec::with_capacity(n);
    // Prompt -> index into `tasks`.
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(n);
    let mut draws = 0;
    while tasks.len() < n {
        if draws == max_draws {
            return Err(DataError::Build(format!(
                "skill {:?} (generator {:?}) gave only {} distinct tasks in {draws} draws; {n} were asked for \
                 (lower --tasks-per-skill or widen the generator's parameters)",
                skill.id,
                skill.generator.kind,
                tasks.len()
            )));
        }
        let task = generate(skill, task_seed(build_seed, &skill.id, draws))?;
        draws += 1;
        if let Some(&first) = seen.get(&task.prompt) {
            let first = &tasks[first];
            if first.answer != task.answer {
                return Err(DataError::BadTask {
                    skill: skill.id.clone(),
                    seed: task.seed,
                    message: format!(
                        "same prompt as seed {} but a different answer ({:?} vs {:?})",
                        first.seed, task.answer, first.answer
                    ),
                });
            }
            continue;
        }
        seen.insert(task.prompt.clone(), tasks.len());
        tasks.push(task);
    }
    Ok(DistinctTasks { duplicates_redrawn: draws - tasks.len(), tasks })
}

/// What a generator function gets: a seeded random stream and its skill's parameters.
pub struct Gen<'a> {
    /// The task's random stream. Draw through the helpers below or directly.
    pub rng: ChaCha8Rng,
    skill: &'a Skill,
    params: &'a serde_json::Map<String, Value>,
}

impl Gen<'_> {
    /// The skill being generated for.
    pub fn skill(&self) -> &Skill {
        self.skill
    }

    /// A parameter error naming the skill and kind.
    pub fn param_error(&self, name: &str, message: impl Into<String>) -> DataError {
        DataError::Param {
            skill: self.skill.id.clone(),
            kind: self.skill.generator.kind.clone(),
            name: name.into(),
            message: message.into(),
        }
    }

    /// Integer parameter, or `default` when absent.
    pub fn int(&self, name: &str, default: i64) -> Result<i64> {
        match self.params.get(name) {
            None => Ok(default),
            Some(v) => v.as_i64().ok_or_else(|| self.param_error(name, format!("expected an integer, got {v}"))),
        }
    }

    /// Number parameter, or `default` when absent.
    pub fn float(&self, name: &str, default: f64) -> Result<f64> {
        match self.params.get(name) {
            None => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| self.param_error(name, format!("expected a number, got {v}"))),
        }
    }

    /// String parameter, or `default` when absent.
    pub fn string(&self, name: &str, default: &str) -> Result<String> {
        match self.params.get(name) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(self.param_error(name, format!("expected a string, got {v}"))),
        }
    }

    /// List-of-strings parameter, or `default` when absent; an empty list is an error.
    pub fn strings(&self, name: &str, default: &[&str]) -> Result<Vec<String>> {
        let out: Vec<String> = match self.params.get(name) {
            None => default.iter().map(|s| s.to_string()).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| self.param_error(name, "expected a list of strings"))?,
            Some(v) => return Err(self.param_error(name, format!("expected a list of strings, got {v}"))),
        };
        if out.is_empty() {
            return Err(self.param_error(name, "list is empty"));
        }
        Ok(out)
    }

    /// The raw parameter value, for kinds with structured parameters.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.params.get(name)
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { self.rng.random_range(lo..=hi) }
    }

    /// Uniform pick from a non-empty slice.
    pub fn pick<'s, T>(&mut self, items: &'s [T]) -> &'s T {
        &items[self.rng.random_range(0..items.len())]
    }

    /// `n` distinct indices of `0..len` in random order (`n <= len`).
    pub fn distinct(&mut self, len: usize, n: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..len).collect();
        for i in 0..n.min(len) {
            let j = self.rng.random_range(i..len);
            idx.swap(i, j);
        }
        idx.truncate(n.min(len));
        idx
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }
}

/// Draws with `f` until it accepts (returns `Some`). Generators reject rare draws (a value on
/// a rounding boundary, a degenerate table); 1000 rejections in a row means the skill's
/// parameters leave no valid task, reported as a parameter error.
pub(crate) fn retry<T>(g: &mut Gen, mut f: impl FnMut(&mut Gen) -> Option<T>) -> Result<T> {
    for _ in 0..1000 {
        if let Some(t) = f(g) {
            return Ok(t);
        }
    }
    Err(g.param_error("params", "1000 draws in a row were rejected: the parameters leave no valid task"))
}

/// Shorthand for a [`Step`].
pub fn step(work: impl Into<String>, value: impl Into<String>) -> Step {
    Step { work: work.into(), value: value.into() }
}

/// Shorthand for a rubric [`Criterion`].
pub fn criterion(text: impl Into<String>, expect: &[&str]) -> Criterion {
    Criterion { criterion: text.into(), expect: expect.iter().map(|s| s.to_string()).collect() }
}

/// The `fixed` kind: tasks written out in the skill file (`params.tasks`, a list of
/// `{"prompt", "answer", "steps": [{"work", "value"}], "rubric": [...]}`), one picked per
/// seed. This is how users bring hand-written tasks without writing Rust.
fn fixed(g: &mut Gen) -> Result<Generated> {
    let tasks = g
        .raw("tasks")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
        .cloned()
        .ok_or_else(|| g.param_error("tasks", "expected a non-empty list of tasks"))?;
    let i = g.rng.random_range(0..tasks.len());
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fixed {
        prompt: String,
        answer: String,
        steps: Vec<Step>,
        #[serde(default)]
        rubric: Vec<Criterion>,
    }
    let t: Fixed =
        serde_json::from_value(tasks[i].clone()).map_err(|e| g.param_error("tasks", format!("task {i}: {e}")))?;
    Ok(Generated { prompt: t.prompt, answer: t.answer, steps: t.steps, rubric: t.rubric })
}
