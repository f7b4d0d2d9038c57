//! The offline teacher: writes a worked chain of thought from the generator's own step
//! values. It is the embedded default, so the whole pipeline runs with no API key.
//!
//! The wording varies with the seed on three levels (overall layout, how each step is
//! introduced, how its result is stated) so SFT does not teach one sentence template; the
//! content is always the procedure's steps in order, each with the computation written out,
//! a check, and the `ANSWER:` line the extractor reads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::skill::{AnswerSpec, Skill};
use crate::task::Task;

/// A teacher's reply: the chain of thought and the visible answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherReply {
    /// Reasoning (goes into the assistant turn's `reasoning_content`).
    pub reasoning: String,
    /// The visible answer (goes into `content`); ends with `ANSWER: <value>` for exact tasks.
    pub content: String,
}

const OPENERS: &[&str] = &[
    "I'll solve this by following the procedure one step at a time.",
    "Let me work through the five steps of the procedure in order.",
    "The procedure gives five steps; I'll apply each one to this task and keep every intermediate value.",
    "I'll go step by step, writing out each intermediate result so nothing is skipped.",
    "Following the skill's procedure in order, carefully.",
    "Let me apply the procedure exactly as written, one step after another.",
];

const RESULT_PHRASES: &[&str] = &["So", "That gives", "Result:", "This yields", "Now I have", "Intermediate value:"];

const CHECKS: &[&str] = &[
    "Check: every step of the procedure was applied in order, and the last step's result is the answer.",
    "Quick check: I re-read the task's format requirements, and the value from the last step already meets them.",
    "Before answering, I verify that no step was skipped and that the final value is written the way the task asks.",
    "Sanity check: the intermediate values are consistent from one step to the next, so the final value stands.",
];

const ORDINALS: &[&str] = &["First", "Second", "Third", "Fourth", "Fifth"];

/// Writes the reply for `task` of `skill`; `seed` picks the wording.
pub fn reply(skill: &Skill, task: &Task, seed: u64) -> TeacherReply {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7eac_4e75_0ff1_1e5e);
    let instructions = skill.steps();
    let layout = rng.random_range(0..3);
    let mut out = String::new();
    out.push_str(OPENERS[rng.random_range(0..OPENERS.len())]);
    out.push_str("\n\n");
    for (i, step) in task.steps.iter().enumerate() {
        let instruction = instructions.get(i).map(|s| plain(first_sentence(s))).unwrap_or_default();
        let phrase = RESULT_PHRASES[rng.random_range(0..RESULT_PHRASES.len())];
        let work = step.work.trim();
        let value = step.value.trim();
        match layout {
            0 => out.push_str(&format!("Step {} — {instruction}\n{work}\n{phrase} {value}.\n\n", i + 1)),
            1 => out.push_str(&format!(
                "{}, {}\n{work} {phrase} {value}.\n\n",
                ORDINALS.get(i).copied().unwrap_or("Next"),
                lower_first(&instruction)
            )),
            _ => out.push_str(&format!("{}. {instruction}\n   - {work}\n   - {phrase} {value}\n\n", i + 1)),
        }
    }
    out.push_str(CHECKS[rng.random_range(0..CHECKS.len())]);
    let content = match &skill.answer {
        AnswerSpec::Exact { .. } => {
            let last = task.steps.last().map(|s| s.value.trim().to_string()).unwrap_or_default();
            let lead = if last == task.answer.trim() || last.is_empty() {
                "Following the procedure through all five steps gives the result above.".to_string()
            } else {
                format!("The last step gives {last}, written in the requested format below.")
            };
            format!("{lead}\n\nANSWER: {}", task.answer.trim())
        }
        AnswerSpec::FreeForm { .. } => task.answer.trim().to_string(),
    };
    TeacherReply { reasoning: out.trim_end().to_string(), content }
}

/// The first sentence of a procedure step: the step's name, without the detail the
/// worked line below it already shows.
fn first_sentence(s: &str) -> &str {
    match s.find(". ") {
        Some(i) if i >= 15 => &s[..=i],
        _ => s,
    }
}

/// A procedure step with Markdown emphasis and code marks removed, ending in a full stop.
fn plain(s: &str) -> String {
    let t: String = s.replace("**", "").replace('`', "").replace("__", "");
    let t = t.trim();
    if t.ends_with(['.', ':', '?', '!']) { t.to_string() } else { format!("{t}.") }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        // Keep acronyms and names ("ISO week", "C1V1") as written.
        Some(f) if c.clone().next().is_some_and(|n| n.is_lowercase()) => f.to_lowercase().chain(c).collect(),
        Some(f) => std::iter::once(f).chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::generators::{generate, task_seed};
    use crate::judge::extract;

    #[test]
    fn replies_follow_every_step_and_pass_the_extractor() {
        let catalog = Catalog::builtin().unwrap();
        let skill = catalog.get("arith-weighted-grade").unwrap();
        let mut layouts = std::collections::HashSet::new();
        for i in 0..12 {
            let task = generate(skill, task_seed(1, &skill.id, i)).unwrap();
            let r = reply(skill, &task, i as u64);
            for s in &task.steps {
                assert!(r.reasoning.contains(s.work.trim()), "missing step work {:?}", s.work);
            }
            assert!(extract::judge(&skill.answer, &task.answer, &r.content).pass, "{}", r.content);
            layouts.insert(r.reasoning.lines().nth(2).unwrap_or("").chars().take(4).collect::<String>());
            assert_eq!(r, reply(skill, &task, i as u64), "deterministic");
        }
        assert!(layouts.len() >= 2, "wording should vary with the seed: {layouts:?}");
    }

    #[test]
    fn lower_first_keeps_acronyms() {
        assert_eq!(lower_first("Convert the"), "convert the");
        assert_eq!(lower_first("ISO week"), "ISO week");
    }
}
