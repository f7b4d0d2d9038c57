//! The offline rubric judge: a free-form answer passes when every rubric criterion's
//! required facts appear in it as whole words (case-, space- and thousands-separator-
//! insensitive; "GO" is not found in "NO-GO", "8 days" not in "18 days", "3" not in "3.5").
//!
//! It checks facts, not reasoning quality. Criteria with no facts listed ("confirms every
//! limit is met") cannot be checked offline: they are skipped and named in the verdict's
//! detail, and a task with no checkable criterion at all fails — such tasks need the LLM judge.

use super::Verdict;
use crate::task::Task;

/// Scores a free-form `response` against `task.rubric`.
pub fn judge(task: &Task, response: &str) -> Verdict {
    let text = fold(response);
    let mut unmet = Vec::new();
    let mut uncheckable = 0;
    for c in &task.rubric {
        if c.expect.is_empty() {
            uncheckable += 1;
        } else if !c.expect.iter().all(|e| contains_words(&text, &fold(e))) {
            unmet.push(c.criterion.clone());
        }
    }
    let checkable = task.rubric.len() - uncheckable;
    let pass = unmet.is_empty() && checkable > 0;
    let mut notes = Vec::new();
    if !unmet.is_empty() {
        notes.push(format!("unmet: {}", unmet.join("; ")));
    }
    if uncheckable > 0 {
        notes.push(format!("{uncheckable} criteria list no facts and were not checked (needs an LLM judge)"));
    }
    let detail = Some(notes.join("; ")).filter(|d| !d.is_empty());
    Verdict { detail, ..Verdict::decided("rubric-facts", pass) }
}

/// Whether `needle` occurs in `hay` with no word character glued to either end. Letters,
/// digits and hyphens are word characters, and so is a `.` or `,` followed by a digit.
fn contains_words(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let glued_before = |c: char| c.is_alphanumeric() || c == '-';
    hay.match_indices(needle).any(|(i, _)| {
        let before_ok = hay[..i].chars().next_back().is_none_or(|c| !glued_before(c));
        let mut after = hay[i + needle.len()..].chars();
        let after_ok = match after.next() {
            None => true,
            Some(c) if c.is_alphanumeric() || c == '-' => false,
            Some('.' | ',') => !after.next().is_some_and(|d| d.is_ascii_digit()),
            Some(_) => true,
        };
        // Needles that start or end with punctuation ("(a)", "$5") bring their own boundary.
        let first = needle.chars().next().is_some_and(|c| !c.is_alphanumeric());
        let last = needle.chars().next_back().is_some_and(|c| !c.is_alphanumeric());
        (before_ok || first) && (after_ok || last)
    })
}

fn fold(s: &str) -> String {
    let lower = s.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut out = String::with_capacity(lower.len());
    for (i, &c) in chars.iter().enumerate() {
        // Drop thousands separators between digits so "1,234" matches "1234".
        let between_digits =
            i > 0 && i + 1 < chars.len() && chars[i - 1].is_ascii_digit() && chars[i + 1].is_ascii_digit();
        if c == ',' && between_digits {
            continue;
        }
        if c.is_whitespace() || matches!(c, '*' | '`' | '_') {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Criterion;

    fn task(rubric: Vec<Criterion>) -> Task {
        Task {
            id: "t".into(),
            skill_id: "s".into(),
            seed: 0,
            prompt: "p".into(),
            answer: "a".into(),
            steps: vec![],
            rubric,
        }
    }

    #[test]
    fn passes_only_with_every_fact() {
        let t = task(vec![
            Criterion { criterion: "decision".into(), expect: vec!["No-Go".into()] },
            Criterion { criterion: "weight".into(), expect: vec!["2,450 lb".into()] },
        ]);
        assert!(judge(&t, "The flight is **no-go**: total 2450  lb exceeds the limit.").passed());
        let v = judge(&t, "The flight is no-go.");
        assert!(v.pass == Some(false) && v.detail.unwrap().contains("weight"));
    }

    #[test]
    fn facts_match_whole_words_only() {
        assert!(contains_words("decision: go.", "go"));
        assert!(!contains_words("decision: no-go.", "go"));
        assert!(!contains_words("notice is 18 days", "8 days"));
        assert!(contains_words("notice is 8 days.", "8 days"));
        assert!(!contains_words("pay 3.5 units", "3"));
        assert!(contains_words("pay 3. then", "3"));
        assert!(contains_words("total $1234.50 due", "1234.50"));
        assert!(!contains_words("rate 15%", "5%"));
    }

    #[test]
    fn criteria_without_facts_are_not_passed_silently() {
        let vague = Criterion { criterion: "explains clearly".into(), expect: vec![] };
        let t = task(vec![vague.clone()]);
        assert_eq!(judge(&t, "anything").pass, Some(false));
        let t = task(vec![vague, Criterion { criterion: "decision".into(), expect: vec!["GO".into()] }]);
        let v = judge(&t, "Decision: GO");
        assert!(v.passed() && v.detail.unwrap().contains("not checked"));
    }
}
