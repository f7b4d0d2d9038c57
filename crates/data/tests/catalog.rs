//! Checks every skill in the built-in catalog: its generator runs, is deterministic, varies
//! with the seed, and its reference answer passes its own judge.

use std::collections::HashSet;

use skillsft_data::DataError;
use skillsft_data::catalog::Catalog;
use skillsft_data::generators::{self, generate, task_seed};
use skillsft_data::judge::{extract, rubric};
use skillsft_data::skill::AnswerSpec;

/// Tasks drawn per skill: enough to hit edge cases of most generators in well under a second.
const DRAWS: usize = 40;

#[test]
fn every_builtin_skill_generates_valid_varied_tasks() {
    let catalog = Catalog::builtin().expect("built-in catalog loads");
    for skill in catalog.skills() {
        let mut prompts = HashSet::new();
        for i in 0..DRAWS {
            let seed = task_seed(7, &skill.id, i);
            let task = generate(skill, seed).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(task, generate(skill, seed).unwrap(), "{}: not deterministic", skill.id);
            for s in &task.steps {
                assert!(!s.work.trim().is_empty() && !s.value.trim().is_empty(), "{}: empty step {s:?}", skill.id);
            }
            match &skill.answer {
                AnswerSpec::Exact { .. } => {
                    let response = format!("Some work.\nANSWER: {}", task.answer);
                    let v = extract::judge(&skill.answer, &task.answer, &response);
                    assert!(v.pass, "{}: reference {:?} fails its own extractor ({v:?})", skill.id, task.answer);
                }
                AnswerSpec::FreeForm { .. } => {
                    let v = rubric::judge(&task, &task.answer);
                    assert!(v.passed(), "{}: reference fails its own rubric ({v:?})", skill.id);
                }
            }
            prompts.insert(task.prompt);
        }
        assert!(prompts.len() >= DRAWS / 2, "{}: only {} distinct prompts in {DRAWS}", skill.id, prompts.len());
    }
}

#[test]
fn every_builtin_skill_has_parameters_that_fit_its_kind() {
    let catalog = Catalog::builtin().expect("built-in catalog loads");
    for skill in catalog.skills() {
        let kind = generators::kind(&skill.generator.kind).expect("known kind");
        if let Err(e) = kind.check_params(&skill.generator.params) {
            panic!("{} ({}): {e}", skill.id, catalog.origin(&skill.id).unwrap_or("?"));
        }
    }
}

/// Issue 17: generator parameters are typed, so a misspelt key in a user's skill file is an
/// error naming the file, the line and the key instead of a default used in silence.
#[test]
fn issue_17_a_misspelt_parameter_names_file_line_and_key() {
    let builtin = Catalog::builtin().unwrap();
    let mut skill = builtin.get("check-incident-severity").unwrap().clone();
    let good = serde_json::to_string(&skill).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |params: serde_json::Value, skill: &mut skillsft_data::skill::Skill| {
        skill.generator.params = serde_json::from_value(params).unwrap();
        let text = format!(
            "{}\n\n{}\n",
            good.replace("check-incident-severity", "first"),
            serde_json::to_string(skill).unwrap()
        );
        std::fs::write(dir.path().join("mine.jsonl"), text).unwrap();
    };

    write(serde_json::json!({"high_user": 500}), &mut skill);
    let err = Catalog::from_dir(dir.path()).unwrap_err();
    assert!(matches!(&err, DataError::Line { line: 3, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("mine.jsonl:3: "), "{text}");
    assert!(
        text.ends_with(
            "skill \"check-incident-severity\": generator \"incident_severity\": parameter \"high_user\": unknown \
             field `high_user`, expected one of `services`, `high_users`, `medium_users`"
        ),
        "{text}"
    );

    write(serde_json::json!({"high_users": "many"}), &mut skill);
    let text = Catalog::from_dir(dir.path()).unwrap_err().to_string();
    assert!(text.contains("mine.jsonl:3: ") && text.contains("parameter \"high_users\": invalid type"), "{text}");

    write(serde_json::json!({"high_users": 500}), &mut skill);
    assert!(Catalog::from_dir(dir.path()).is_ok());
}
