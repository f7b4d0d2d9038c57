//! The skill schema: one JSON object per line of `datasets/skills/*.jsonl`.
//!
//! A skill is a written procedure (five numbered Markdown steps, like an agent `SKILL.md`)
//! plus a seeded task generator whose intermediate values line up with those steps. The
//! generator *kind* is Rust code (`gen`); everything else is data a user can write.
//!
//! ```json
//! {"id": "dates-add-business-days", "title": "Add business days to a date", "domain": "dates",
//!  "split": "holdout", "procedure": "1. ...\n2. ...\n3. ...\n4. ...\n5. ...",
//!  "answer": {"kind": "exact", "format": "date"},
//!  "generator": {"kind": "add_business_days", "params": {"max_days": 40}}}
//! ```

use serde::{Deserialize, Serialize};

/// Which side of the study a skill belongs to. Holdout and training skills never share an id
/// or a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Evaluated only; never seen in SFT.
    Holdout,
    /// Source of SFT corpus rows.
    Train,
}

/// How a reference answer is written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerFormat {
    /// A whole number; thousands separators allowed.
    Integer,
    /// A decimal number compared within `tolerance`.
    Decimal,
    /// A calendar date written `YYYY-MM-DD`.
    Date,
    /// A time of day written `HH:MM` (24-hour).
    Time,
    /// A comma-separated list compared item by item.
    List,
    /// Free text compared after whitespace (and, unless `case_sensitive`, case) folding.
    #[default]
    Text,
}

/// What kind of answer a skill's tasks end in and how a judge scores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerSpec {
    /// One value on an `ANSWER:` line, scored by the deterministic extractor.
    Exact {
        /// How the value is written and compared.
        #[serde(default)]
        format: AnswerFormat,
        /// A unit the answer may carry (`"km"`, `"%"`, `"USD"`); the extractor strips it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        /// Absolute tolerance for `decimal` answers; default: half a unit in the last
        /// decimal place of the reference.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tolerance: Option<f64>,
        /// Compare `text`/`list` answers case-sensitively (ciphers, codes).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        case_sensitive: bool,
    },
    /// A written answer judged against a rubric (by an LLM judge, or offline by the
    /// rubric's required facts).
    FreeForm {
        /// What a good answer does, in words, shown to the LLM judge.
        rubric: String,
    },
}

impl AnswerSpec {
    /// True for tasks scored by the `ANSWER:` extractor.
    pub fn is_exact(&self) -> bool {
        matches!(self, AnswerSpec::Exact { .. })
    }
}

/// Which generator makes a skill's tasks, and with what parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSpec {
    /// A kind registered in `generators::kinds()`.
    pub kind: String,
    /// Kind-specific parameters (ranges, tables, word lists). A catalog checks them against
    /// the kind's parameter struct when it loads: an unknown key is an error, a missing one
    /// takes the kind's default.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// One skill: a procedure and the generator of tasks it solves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skill {
    /// Stable id, lowercase with dashes; unique across the catalog.
    pub id: String,
    /// Human title; the heading of the procedure block in prompts.
    pub title: String,
    /// Procedural domain (`arithmetic`, `dates`, `ciphers`, ...).
    pub domain: String,
    /// Holdout or training.
    pub split: Split,
    /// Five numbered Markdown steps.
    pub procedure: String,
    /// How answers are written and scored.
    pub answer: AnswerSpec,
    /// The task generator.
    pub generator: GeneratorSpec,
}

impl Skill {
    /// The procedure's steps, each without its `N. ` prefix (continuation lines joined).
    pub fn steps(&self) -> Vec<String> {
        parse_steps(&self.procedure).unwrap_or_default()
    }

    /// The procedure block as it appears in a curated prompt: a heading and the steps.
    pub fn procedure_block(&self) -> String {
        format!("## Skill: {}\n\n{}", self.title, self.procedure.trim())
    }

    /// Checks the rules a data file cannot express in JSON types alone.
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !self.id.starts_with('-')
            && !self.id.ends_with('-');
        if !id_ok {
            return Err(format!("skill id {:?} must be lowercase letters, digits and dashes", self.id));
        }
        if self.title.trim().is_empty() {
            return Err(format!("skill {:?}: empty title", self.id));
        }
        if self.domain.trim().is_empty() {
            return Err(format!("skill {:?}: empty domain", self.id));
        }
        let steps = parse_steps(&self.procedure).map_err(|e| format!("skill {:?}: procedure: {e}", self.id))?;
        if steps.len() != PROCEDURE_STEPS {
            return Err(format!(
                "skill {:?}: procedure has {} numbered steps, expected {PROCEDURE_STEPS}",
                self.id,
                steps.len()
            ));
        }
        if let AnswerSpec::FreeForm { rubric } = &self.answer
            && rubric.trim().is_empty()
        {
            return Err(format!("skill {:?}: free_form answer needs a rubric", self.id));
        }
        Ok(())
    }
}

/// Every procedure has this many numbered steps; generators yield one value per step.
pub const PROCEDURE_STEPS: usize = 5;

/// Splits `1. a\n2. b\n   more b\n3. c` into `["a", "b more b", "c"]`, checking the numbering.
pub fn parse_steps(procedure: &str) -> Result<Vec<String>, String> {
    let mut steps: Vec<String> = Vec::new();
    for raw in procedure.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let numbered =
            line.split_once(". ").and_then(|(n, rest)| n.parse::<usize>().ok().map(|n| (n, rest.trim().to_string())));
        match numbered {
            Some((n, rest)) if raw.starts_with(|c: char| c.is_ascii_digit()) => {
                if n != steps.len() + 1 {
                    return Err(format!("step numbered {n} where {} was expected", steps.len() + 1));
                }
                steps.push(rest);
            }
            _ => match steps.last_mut() {
                Some(last) => {
                    last.push(' ');
                    last.push_str(line);
                }
                None => return Err(format!("text before step 1: {line:?}")),
            },
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_with_continuations() {
        let s = parse_steps("1. Read the **date**.\n2. Add.\n   Carry over.\n3. c\n4. d\n5. e").unwrap();
        assert_eq!(s, vec!["Read the **date**.", "Add. Carry over.", "c", "d", "e"]);
    }

    #[test]
    fn steps_reject_gaps_and_preamble() {
        assert!(parse_steps("1. a\n3. b").unwrap_err().contains("numbered 3"));
        assert!(parse_steps("intro\n1. a").unwrap_err().contains("before step 1"));
    }

    #[test]
    fn answer_spec_round_trips() {
        let a: AnswerSpec = serde_json::from_str(r#"{"kind":"exact","format":"decimal","unit":"km"}"#).unwrap();
        assert_eq!(
            a,
            AnswerSpec::Exact {
                format: AnswerFormat::Decimal,
                unit: Some("km".into()),
                tolerance: None,
                case_sensitive: false
            }
        );
        let back = serde_json::to_string(&a).unwrap();
        assert_eq!(back, r#"{"kind":"exact","format":"decimal","unit":"km"}"#);
        assert!(serde_json::from_str::<AnswerSpec>(r#"{"kind":"free_form"}"#).is_err());
    }
}
