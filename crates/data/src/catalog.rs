//! The skill catalog: skills loaded from JSONL files, checked as a whole.
//!
//! The built-in catalog is `datasets/skills/*.jsonl`, embedded at compile time so the
//! binaries run anywhere; `Catalog::from_dir` loads a user's own directory in the same schema.
//! Each line is checked on its own (schema, procedure, a known generator kind, and parameters
//! that fit the kind's parameter struct: a misspelt key is an error naming the file, line and
//! key); loading then checks what one line cannot: unique ids, and that no holdout skill
//! shares a procedure or a generator kind with a training skill.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::generators;
use crate::skill::{Skill, Split};

/// The embedded `datasets/skills/` files, in load order.
const BUILTIN: &[(&str, &str)] = &[
    ("arithmetic.jsonl", include_str!("../../../datasets/skills/arithmetic.jsonl")),
    ("units.jsonl", include_str!("../../../datasets/skills/units.jsonl")),
    ("finance.jsonl", include_str!("../../../datasets/skills/finance.jsonl")),
    ("dates.jsonl", include_str!("../../../datasets/skills/dates.jsonl")),
    ("tables.jsonl", include_str!("../../../datasets/skills/tables.jsonl")),
    ("strings.jsonl", include_str!("../../../datasets/skills/strings.jsonl")),
    ("algorithms.jsonl", include_str!("../../../datasets/skills/algorithms.jsonl")),
    ("checklists.jsonl", include_str!("../../../datasets/skills/checklists.jsonl")),
    ("science.jsonl", include_str!("../../../datasets/skills/science.jsonl")),
];

/// A checked set of skills, in file order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    skills: Vec<Skill>,
    /// `file:line` of each skill, parallel to `skills`.
    origins: Vec<String>,
}

impl Catalog {
    /// The catalog shipped in `datasets/skills/`.
    pub fn builtin() -> Result<Catalog> {
        let mut c = Catalog::default();
        for (name, text) in BUILTIN {
            c.add_jsonl(&PathBuf::from("datasets/skills").join(name), text)?;
        }
        c.check()?;
        Ok(c)
    }

    /// Every `*.jsonl` file in `dir`, in file-name order.
    pub fn from_dir(dir: &Path) -> Result<Catalog> {
        let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DataError::Build(format!("no *.jsonl skill files in {}", dir.display())));
        }
        Catalog::from_files(&files)
    }

    /// The skills in the given JSONL files.
    pub fn from_files(files: &[PathBuf]) -> Result<Catalog> {
        let mut c = Catalog::default();
        for f in files {
            let text = std::fs::read_to_string(f).map_err(|e| DataError::io(f, e))?;
            c.add_jsonl(f, &text)?;
        }
        c.check()?;
        Ok(c)
    }

    /// Parses one JSONL text (blank lines allowed) and appends its skills unchecked.
    fn add_jsonl(&mut self, path: &Path, text: &str) -> Result<()> {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |message: String| DataError::Line { path: path.to_path_buf(), line: i + 1, message };
            let skill: Skill = serde_json::from_str(line).map_err(|e| at(format!("not a valid skill: {e}")))?;
            skill.validate().map_err(at)?;
            let Some(kind) = generators::kind(&skill.generator.kind) else {
                return Err(at(format!("skill {:?}: unknown generator kind {:?}", skill.id, skill.generator.kind)));
            };
            kind.check_params(&skill.generator.params)
                .map_err(|e| at(format!("skill {:?}: generator {:?}: {e}", skill.id, kind.name)))?;
            self.skills.push(skill);
            self.origins.push(format!("{}:{}", path.display(), i + 1));
        }
        Ok(())
    }

    /// Catalog-wide rules: unique ids; holdout and training skills share neither a procedure
    /// nor a generator kind (`fixed` aside, whose tasks are the skill's own).
    fn check(&self) -> Result<()> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, s) in self.skills.iter().enumerate() {
            if let Some(&j) = seen.get(s.id.as_str()) {
                return Err(DataError::DuplicateSkill {
                    id: s.id.clone(),
                    first: self.origins[j].clone(),
                    second: self.origins[i].clone(),
                });
            }
            seen.insert(&s.id, i);
        }
        let norm = |p: &str| p.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let mut train_procs: HashMap<String, usize> = HashMap::new();
        let mut train_kinds: HashMap<&str, usize> = HashMap::new();
        for (i, s) in self.skills.iter().enumerate().filter(|(_, s)| s.split == Split::Train) {
            train_procs.insert(norm(&s.procedure), i);
            if s.generator.kind != "fixed" {
                train_kinds.insert(&s.generator.kind, i);
            }
        }
        for (i, s) in self.skills.iter().enumerate().filter(|(_, s)| s.split == Split::Holdout) {
            let clash =
                train_procs.get(&norm(&s.procedure)).map(|&j| (j, "share a procedure".to_string())).or_else(|| {
                    train_kinds
                        .get(s.generator.kind.as_str())
                        .map(|&j| (j, format!("share the generator kind {:?}", s.generator.kind)))
                });
            if let Some((j, what)) = clash {
                return Err(DataError::SplitOverlap {
                    holdout: s.id.clone(),
                    holdout_at: self.origins[i].clone(),
                    train: self.skills[j].id.clone(),
                    train_at: self.origins[j].clone(),
                    what,
                });
            }
        }
        Ok(())
    }

    /// All skills in load order.
    pub fn skills(&self) -> &[Skill] {
        &self.skills
    }

    /// Skills of one split, in load order.
    pub fn split(&self, split: Split) -> Vec<&Skill> {
        self.skills.iter().filter(|s| s.split == split).collect()
    }

    /// A skill by id.
    pub fn get(&self, id: &str) -> Option<&Skill> {
        self.skills.iter().find(|s| s.id == id)
    }

    /// Where a skill was defined (`file:line`).
    pub fn origin(&self, id: &str) -> Option<&str> {
        self.skills.iter().position(|s| s.id == id).map(|i| self.origins[i].as_str())
    }

    /// Number of skills per domain and split: `domain -> (holdout, train)`.
    pub fn domain_counts(&self) -> BTreeMap<String, (usize, usize)> {
        let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for s in &self.skills {
            let e = out.entry(s.domain.clone()).or_default();
            match s.split {
                Split::Holdout => e.0 += 1,
                Split::Train => e.1 += 1,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC: &str = "1. a\n2. b\n3. c\n4. d\n5. e";

    fn line(id: &str, split: &str, procedure: &str, kind: &str) -> String {
        let tasks = serde_json::json!([{"prompt": "p", "answer": "1",
            "steps": [{"work": "w", "value": "1"}, {"work": "w", "value": "1"}, {"work": "w", "value": "1"},
                      {"work": "w", "value": "1"}, {"work": "w", "value": "1"}]}]);
        serde_json::json!({"id": id, "title": "T", "domain": "d", "split": split, "procedure": procedure,
            "answer": {"kind": "exact", "format": "integer"},
            "generator": {"kind": kind, "params": {"tasks": tasks}}})
        .to_string()
    }

    fn load(lines: &[String]) -> Result<Catalog> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mine.jsonl");
        std::fs::write(&f, lines.join("\n")).unwrap();
        Catalog::from_files(&[f])
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let err = load(&[line("a", "train", PROC, "fixed"), "{not json".into()]).unwrap_err().to_string();
        assert!(err.contains("mine.jsonl:2:"), "{err}");
        let err = load(&[line("a", "train", "1. only one", "fixed")]).unwrap_err().to_string();
        assert!(err.contains("mine.jsonl:1:") && err.contains("1 numbered steps"), "{err}");
        let err = load(&[line("a", "train", PROC, "no_such_kind")]).unwrap_err().to_string();
        assert!(err.contains("unknown generator kind"), "{err}");
    }

    #[test]
    fn duplicate_ids_and_split_overlap_are_errors() {
        let err = load(&[line("a", "train", PROC, "fixed"), line("a", "holdout", PROC, "fixed")]).unwrap_err();
        assert!(matches!(err, DataError::DuplicateSkill { .. }), "{err}");
        assert!(err.to_string().contains("mine.jsonl:1") && err.to_string().contains("mine.jsonl:2"));
        let err = load(&[line("a", "train", PROC, "fixed"), line("b", "holdout", PROC, "fixed")]).unwrap_err();
        assert!(matches!(err, DataError::SplitOverlap { .. }), "{err}");
        let other = "1. v\n2. w\n3. x\n4. y\n5. z";
        assert!(load(&[line("a", "train", PROC, "fixed"), line("b", "holdout", other, "fixed")]).is_ok());
    }
}
