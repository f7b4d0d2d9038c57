//! Seeded task generators, one Rust function per generator *kind*.
//!
//! A skill file names a kind and its parameters; [`generate`] runs the kind with a
//! `ChaCha8` stream seeded from the task seed, so the same seed gives the same task on every
//! platform. Each kind returns the task text, the reference answer and one [`Step`] per
//! procedure step: the offline teacher writes its chain of thought from those steps, so a
//! step's `work` must show the computation, not just name it.
//!
//! A kind's parameters are a struct of its own ([`params`]): the catalog checks every skill's
//! `params` against it when it loads, so a misspelt key is an error, not a silent default.
//!
//! Adding a kind: in the module of its domain, declare its parameter struct with
//! `params!` (each field with its default; `NoParams` when it has none), write
//! `fn my_kind(g: &mut Gen, p: &MyKindParams) -> Result<Generated>` and list it in the
//! module's `KINDS` as `"my_kind" => my_kind(MyKindParams)`. Build its result with `exact`
//! (or `free_form` when it has a rubric), whose array of steps holds one per procedure step.

mod algorithms;
mod arithmetic;
mod calendar;
mod checklists;
mod dates;
mod finance;
pub mod fmt;
pub mod params;
mod science;
mod strings;
mod tables;
mod units;

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::skill::{AnswerSpec, PROCEDURE_STEPS, Skill};
use crate::task::{Criterion, Generated, Step, Task};
use params::{NonEmpty, ParamsError, kinds};

/// A generator kind: the name skill files use, the check of its parameters and its function.
pub struct Kind {
    /// The name in a skill's `generator.kind`.
    pub name: &'static str,
    check: fn(&Map<String, Value>) -> std::result::Result<(), ParamsError>,
    run: fn(&mut Gen) -> Result<Generated>,
}

impl Kind {
    /// Checks a skill's `params` against this kind's parameter struct: every key known, every
    /// value of its key's type, no required key missing.
    pub fn check_params(&self, params: &Map<String, Value>) -> std::result::Result<(), ParamsError> {
        (self.check)(params)
    }
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kind").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Every kind: the built-in `fixed` kind plus each domain module's list.
pub fn kinds() -> impl Iterator<Item = &'static Kind> {
    const BUILTIN: &[Kind] = kinds!["fixed" => fixed(FixedParams)];
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
}

/// Looks up a kind.
pub fn kind(name: &str) -> Option<&'static Kind> {
    kinds().find(|k| k.name == name)
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
    let kind = kind(&skill.generator.kind).ok_or_else(|| DataError::UnknownGenerator {
        skill: skill.id.clone(),
        kind: skill.generator.kind.clone(),
        known: kinds().map(|k| k.name).collect::<Vec<_>>().join(", "),
    })?;
    let mut g = Gen { rng: ChaCha8Rng::seed_from_u64(seed), skill };
    let out = (kind.run)(&mut g)?;
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

/// What a generator function gets besides its parameters: a seeded random stream and its skill.
pub struct Gen<'a> {
    /// The task's random stream. Draw through the helpers below or directly.
    pub rng: ChaCha8Rng,
    skill: &'a Skill,
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

    /// The skill's parameters as the struct `P` of its kind (see [`params`]).
    fn params<P: DeserializeOwned>(&self) -> Result<P> {
        params::parse(&self.skill.generator.params)
            .map_err(|e| self.param_error(e.key.as_deref().unwrap_or("params"), e.message))
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

/// An exact-answer task: its prompt, reference answer and one worked [`Step`] per procedure
/// step, with no rubric.
pub(crate) fn exact(prompt: String, answer: impl Into<String>, steps: [Step; PROCEDURE_STEPS]) -> Generated {
    Generated { prompt, answer: answer.into(), steps: steps.into(), rubric: Vec::new() }
}

/// A free-form task: as [`exact`], plus the rubric [`Criterion`]s its answer is judged on.
pub(crate) fn free_form(
    prompt: String,
    answer: impl Into<String>,
    steps: [Step; PROCEDURE_STEPS],
    rubric: Vec<Criterion>,
) -> Generated {
    Generated { rubric, ..exact(prompt, answer, steps) }
}

/// Shorthand for a [`Step`].
pub fn step(work: impl Into<String>, value: impl Into<String>) -> Step {
    Step { work: work.into(), value: value.into() }
}

/// Shorthand for a rubric [`Criterion`].
pub fn criterion(text: impl Into<String>, expect: &[&str]) -> Criterion {
    Criterion { criterion: text.into(), expect: expect.iter().map(|s| s.to_string()).collect() }
}

/// Parameters of the `fixed` kind: the tasks written out in the skill file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedParams {
    /// The tasks, one picked per seed.
    tasks: NonEmpty<FixedTask>,
}

/// One hand-written task of a `fixed` skill.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedTask {
    prompt: String,
    answer: String,
    steps: Vec<Step>,
    #[serde(default)]
    rubric: Vec<Criterion>,
}

/// The `fixed` kind: tasks written out in the skill file (`params.tasks`, a list of
/// `{"prompt", "answer", "steps": [{"work", "value"}], "rubric": [...]}`), one picked per
/// seed. This is how users bring hand-written tasks without writing Rust.
fn fixed(g: &mut Gen, p: &FixedParams) -> Result<Generated> {
    let t = p.tasks[g.rng.random_range(0..p.tasks.len())].clone();
    Ok(Generated { prompt: t.prompt, answer: t.answer, steps: t.steps, rubric: t.rubric })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::skill::{AnswerFormat, GeneratorSpec, Split};

    /// A skill built in code, so it skips the catalog's parameter check.
    fn skill(kind: &str, params: Value) -> Skill {
        let Value::Object(params) = params else { panic!("params must be an object") };
        Skill {
            id: "unchecked".into(),
            title: "T".into(),
            domain: "d".into(),
            split: Split::Train,
            procedure: "1. a\n2. b\n3. c\n4. d\n5. e".into(),
            answer: AnswerSpec::Exact {
                format: AnswerFormat::Text,
                unit: None,
                tolerance: None,
                case_sensitive: false,
            },
            generator: GeneratorSpec { kind: kind.into(), params },
        }
    }

    #[test]
    fn every_kind_denies_unknown_keys_and_defaults_the_rest() {
        let unknown: Map<String, Value> = serde_json::from_value(json!({"no_such_param": 1})).unwrap();
        let mut names = std::collections::HashSet::new();
        for k in kinds() {
            assert!(names.insert(k.name), "kind {} listed twice", k.name);
            let e = k.check_params(&unknown).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("no_such_param"), "{}: {e}", k.name);
            // Every parameter has a default, except the hand-written tasks of `fixed`.
            assert_eq!(k.check_params(&Map::new()).is_ok(), k.name != "fixed", "{}", k.name);
        }
    }

    #[test]
    fn parameters_reach_the_generator() {
        let t = generate(&skill("incident_severity", json!({"high_users": 5000, "medium_users": 50})), 3).unwrap();
        assert!(t.prompt.contains("High if 5000 or more users"), "{}", t.prompt);
        let t = generate(&skill("incident_severity", json!({})), 3).unwrap();
        assert!(t.prompt.contains("High if 1000 or more users"), "{}", t.prompt);
    }

    #[test]
    fn generate_names_the_bad_parameter_of_an_unchecked_skill() {
        let err = generate(&skill("incident_severity", json!({"high_user": 500})), 1).unwrap_err();
        assert!(matches!(&err, DataError::Param { name, .. } if name == "high_user"), "{err}");
        assert!(err.to_string().contains("unknown field `high_user`"), "{err}");
        let err = generate(&skill("incident_severity", json!({"high_users": "many"})), 1).unwrap_err();
        assert!(matches!(&err, DataError::Param { name, .. } if name == "high_users"), "{err}");
        let err = generate(&skill("base_conversion", json!({"bases": []})), 1).unwrap_err();
        assert!(err.to_string().contains("non-empty list"), "{err}");
        // Bases out of range, or only one distinct base, used to be dropped or loop forever.
        for bases in [json!([2, 40]), json!([8, 8])] {
            let err = generate(&skill("base_conversion", json!({ "bases": bases })), 1).unwrap_err();
            assert!(matches!(&err, DataError::Param { name, .. } if name == "bases"), "{err}");
        }
    }
}
