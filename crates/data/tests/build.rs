//! The default build (offline teacher, 353 rows, 40 × 5 holdout): counts, disjointness,
//! row schema, and byte-identical output from two builds.

use std::collections::HashSet;

use skillsft_data::catalog::Catalog;
use skillsft_data::dataset::{self, BuildConfig};
use skillsft_data::judge::Judge;
use skillsft_data::skill::Split;
use skillsft_data::teacher::Teacher;

#[test]
fn default_build_is_complete_disjoint_and_reproducible() {
    let catalog = Catalog::builtin().unwrap();
    assert!(catalog.split(Split::Holdout).len() >= 40, "need 40 holdout skills");
    assert!(catalog.split(Split::Train).len() >= 40, "need at least 40 training skills");
    let cfg = BuildConfig::default();
    let built = dataset::build(&catalog, &cfg, &Teacher::Offline, &Judge::Offline, &|_, _| {}).unwrap();
    assert_eq!(built.corpus.len(), 353);
    assert_eq!(built.holdout.len(), 200);
    let c = &built.counts;
    assert_eq!((c.holdout_skills, c.rejected), (40, 0));
    assert!((0.80..=0.87).contains(&c.holdout_exact_share), "exact share {}", c.holdout_exact_share);

    let holdout_skills: HashSet<&str> = built.holdout.iter().map(|r| r.skill_id.as_str()).collect();
    assert_eq!(holdout_skills.len(), 40);
    let holdout_prompts: HashSet<&str> = built.holdout.iter().map(|r| r.prompt.as_str()).collect();
    for row in &built.corpus {
        assert!(!holdout_skills.contains(row.skill_id.as_str()), "{} leaks a holdout skill", row.id);
        assert_eq!(row.messages.len(), 2);
        assert_eq!((row.messages[0].role.as_str(), row.messages[1].role.as_str()), ("user", "assistant"));
        assert!(row.messages[0].content.contains("## Skill: "), "corpus rows carry the procedure block");
        assert!(row.messages[1].reasoning_content.as_deref().is_some_and(|r| r.len() > 100));
        assert!(row.verdict.passed());
        assert!(!holdout_prompts.iter().any(|p| row.messages[0].content.contains(p)));
        if row.answer_kind == skillsft_data::dataset::AnswerKind::Exact {
            assert!(row.messages[1].content.lines().last().unwrap().starts_with("ANSWER: "));
        }
    }
    // Balanced over training skills: counts differ by at most one.
    let mut per_skill = std::collections::BTreeMap::<&str, usize>::new();
    for row in &built.corpus {
        *per_skill.entry(row.skill_id.as_str()).or_default() += 1;
    }
    let (lo, hi) = (per_skill.values().min().unwrap(), per_skill.values().max().unwrap());
    assert!(hi - lo <= 1, "unbalanced corpus: {lo}..{hi}");
    for r in &built.holdout {
        assert!(r.prompts["curated"].ends_with(&r.prompts["baseline"]));
    }

    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ma = dataset::write(a.path(), &built, &cfg, "offline", "offline").unwrap();
    let again = dataset::build(&catalog, &cfg, &Teacher::Offline, &Judge::Offline, &|_, _| {}).unwrap();
    let mb = dataset::write(b.path(), &again, &cfg, "offline", "offline").unwrap();
    assert_eq!(ma, mb);
    for f in ["corpus.jsonl", "holdout.jsonl", "skills.jsonl", "manifest.json"] {
        assert_eq!(std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap(), "{f}");
    }
    // The manifest's hashes are the files' hashes, and skills.jsonl loads back as a catalog.
    for (name, entry) in &ma.files {
        assert_eq!(dataset::sha256_hex(&std::fs::read(a.path().join(name)).unwrap()), entry.sha256);
    }
    let reloaded = Catalog::from_files(&[a.path().join("skills.jsonl")]).unwrap();
    assert_eq!(reloaded.skills().len(), built.skills.len());
}

#[test]
fn a_different_seed_gives_different_tasks() {
    let catalog = Catalog::builtin().unwrap();
    let a = dataset::build_holdout(&catalog, &BuildConfig::default()).unwrap();
    let b = dataset::build_holdout(&catalog, &BuildConfig { seed: 1, ..BuildConfig::default() }).unwrap();
    let same = a.iter().zip(&b).filter(|(x, y)| x.prompt == y.prompt).count();
    assert!(same < a.len() / 2, "{same} of {} holdout prompts unchanged by the seed", a.len());
}

/// The corpus rows checked token for token against `transformers` in `tests/chat.rs` are
/// real rows of the default build: every 15th row. A generator or teacher change fails
/// here until the fixture is regenerated (commands in `tools/tokenizer/README.md`).
#[test]
fn chat_fixture_rows_are_rows_of_the_default_build() {
    let catalog = Catalog::builtin().unwrap();
    let built =
        dataset::build(&catalog, &BuildConfig::default(), &Teacher::Offline, &Judge::Offline, &|_, _| {}).unwrap();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat/corpus_sample_conversations.jsonl");
    let fixture: Vec<serde_json::Value> =
        std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let sample: Vec<_> = built.corpus.iter().step_by(15).collect();
    assert_eq!(fixture.len(), sample.len());
    for (f, row) in fixture.iter().zip(sample) {
        assert_eq!(f["id"], row.id.as_str());
        assert_eq!(
            f["messages"],
            serde_json::to_value(&row.messages).unwrap(),
            "{}: regenerate the chat fixtures",
            row.id
        );
    }
}
