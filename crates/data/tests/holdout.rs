//! Bigger holdouts (`--tasks-per-skill` up to 25 and beyond): each skill's tasks are
//! distinct, repeats are redrawn and counted, a skill that cannot give enough distinct tasks
//! is a clear error, and the default 40 × 5 holdout is what it was before repeats were checked.

use std::collections::{BTreeMap, HashSet};

use skillsft_data::DataError;
use skillsft_data::catalog::Catalog;
use skillsft_data::dataset::{self, BuildConfig, Counts};
use skillsft_data::judge::Judge;
use skillsft_data::skill::Split;
use skillsft_data::teacher::Teacher;

/// A holdout catalog of one `fixed` skill whose tasks are `(prompt, answer)`.
fn fixed_catalog(tasks: &[(&str, &str)]) -> Catalog {
    let step = serde_json::json!({"work": "w", "value": "1"});
    let tasks: Vec<_> = tasks
        .iter()
        .map(|(p, a)| serde_json::json!({"prompt": p, "answer": a, "steps": vec![step.clone(); 5]}))
        .collect();
    let line = serde_json::json!({"id": "tiny", "title": "Tiny", "domain": "d", "split": "holdout",
        "procedure": "1. a\n2. b\n3. c\n4. d\n5. e", "answer": {"kind": "exact", "format": "integer"},
        "generator": {"kind": "fixed", "params": {"tasks": tasks}}});
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tiny.jsonl");
    std::fs::write(&f, line.to_string()).unwrap();
    Catalog::from_files(&[f]).unwrap()
}

fn cfg(tasks_per_skill: usize, holdout_skills: usize) -> BuildConfig {
    BuildConfig { rows: 0, holdout_skills, tasks_per_skill, ..BuildConfig::default() }
}

#[test]
fn every_holdout_skill_gives_25_distinct_tasks() {
    let catalog = Catalog::builtin().unwrap();
    let skills = catalog.split(Split::Holdout).len();
    let holdout = dataset::build_holdout_counted(&catalog, &cfg(25, skills)).unwrap();
    assert_eq!(holdout.rows.len(), 25 * skills);
    assert_eq!(holdout.duplicates_redrawn.len(), skills);
    let mut prompts: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for r in &holdout.rows {
        assert!(prompts.entry(&r.skill_id).or_default().insert(&r.prompt), "{} repeats a prompt", r.task_id);
    }
    assert!(prompts.values().all(|p| p.len() == 25));
    let ids: HashSet<&str> = holdout.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), holdout.rows.len());

    // The build reports the same redraws, per skill (zeros left out) and in total.
    let built = dataset::build(&catalog, &cfg(25, skills), &Teacher::Offline, &Judge::Offline, &|_, _| {}).unwrap();
    assert_eq!(built.holdout, holdout.rows);
    let nonzero: BTreeMap<String, usize> =
        holdout.duplicates_redrawn.iter().filter(|(_, n)| **n > 0).map(|(k, n)| (k.clone(), *n)).collect();
    assert_eq!(built.counts.holdout_duplicates, nonzero);
    assert_eq!(built.counts.holdout_duplicates_redrawn, holdout.duplicates_redrawn.values().sum::<usize>());
}

#[test]
fn repeats_are_redrawn_until_the_skill_runs_out() {
    let catalog = fixed_catalog(&[("one", "1"), ("two", "2"), ("three", "3")]);
    let holdout = dataset::build_holdout_counted(&catalog, &cfg(3, 1)).unwrap();
    let prompts: HashSet<&str> = holdout.rows.iter().map(|r| r.prompt.as_str()).collect();
    assert_eq!(prompts, HashSet::from(["one", "two", "three"]));
    // Three uniform picks from three tasks repeat with this seed; the repeats were redrawn.
    let redrawn = holdout.duplicates_redrawn["tiny"];
    assert!(redrawn > 0, "expected repeats among the first draws");

    let err = dataset::build_holdout(&catalog, &cfg(4, 1)).unwrap_err();
    assert!(matches!(err, DataError::Build(_)), "{err}");
    let msg = err.to_string();
    for part in ["\"tiny\"", "only 3 distinct tasks", "in 200 draws", "4 were asked for"] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
}

#[test]
fn the_same_prompt_with_another_answer_is_a_generator_bug() {
    // Only one prompt: the build stops at the first draw of the other answer.
    let catalog = fixed_catalog(&[("same", "1"), ("same", "2")]);
    let err = dataset::build_holdout(&catalog, &cfg(2, 1)).unwrap_err();
    assert!(matches!(err, DataError::BadTask { .. }), "{err}");
    assert!(err.to_string().contains("same prompt as seed"), "{err}");
}

/// SHA-256 of `task_id \t prompt \n` over the default holdout (40 skills × 5, seed 0), computed
/// with the code before repeats were checked: none of its tasks repeats, so redrawing changes
/// nothing. A generator change fails here; update the hash only for a deliberate change.
const DEFAULT_HOLDOUT_SHA256: &str = "fdd5c3273e97212d8462a6d769e0f78315349357afc298e5deeefb125e353e92";

#[test]
fn the_default_holdout_is_unchanged() {
    let catalog = Catalog::builtin().unwrap();
    let holdout = dataset::build_holdout_counted(&catalog, &BuildConfig::default()).unwrap();
    assert_eq!(holdout.rows.len(), 200);
    assert!(holdout.duplicates_redrawn.values().all(|n| *n == 0), "{:?}", holdout.duplicates_redrawn);
    let text: String = holdout.rows.iter().map(|r| format!("{}\t{}\n", r.task_id, r.prompt)).collect();
    assert_eq!(dataset::sha256_hex(text.as_bytes()), DEFAULT_HOLDOUT_SHA256);
}

#[test]
fn counts_without_redraws_serialize_as_before_and_old_counts_read() {
    let counts = Counts::default();
    let json = serde_json::to_value(&counts).unwrap();
    assert!(json.get("holdout_duplicates_redrawn").is_none() && json.get("holdout_duplicates").is_none());
    let back: Counts = serde_json::from_value(json).unwrap();
    assert_eq!(back, counts);
    let redrawn = Counts {
        holdout_duplicates_redrawn: 2,
        holdout_duplicates: BTreeMap::from([("tiny".to_string(), 2)]),
        ..Counts::default()
    };
    let back: Counts = serde_json::from_str(&serde_json::to_string(&redrawn).unwrap()).unwrap();
    assert_eq!(back, redrawn);
}
