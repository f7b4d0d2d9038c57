//! The deterministic `ANSWER:` extractor: the judge for exact-answer tasks.
//!
//! What it accepts, in order:
//! 1. The **last** line whose text (after Markdown emphasis, `>` quotes, list bullets and
//!    backticks are stripped) starts with `ANSWER:` / `Answer:` / `FINAL ANSWER:`, any case.
//!    Text inside a `<think>` block is ignored. No such line: no answer (a fail).
//! 2. The value after the colon is trimmed of whitespace, surrounding quotes / backticks /
//!    `**`, `\boxed{}` and a trailing full stop.
//! 3. Then compared by the skill's [`AnswerFormat`]:
//!    - `integer` / `decimal`: currency signs (`$ € £`), thousands separators (`,` `_` and thin
//!      spaces) and the skill's unit (and `%`) are dropped; the number must be the only thing
//!      left. Integers compare exactly; decimals within the tolerance (default half a unit in
//!      the reference's last decimal place).
//!    - `date`: `YYYY-MM-DD` (single-digit month/day accepted).
//!    - `time`: `HH:MM`, 24-hour, leading zero optional.
//!    - `list`: items split on commas (or semicolons), each trimmed; same items, same order.
//!    - `text`: whitespace runs folded to one space; case folded unless `case_sensitive`.

use serde::{Deserialize, Serialize};

use crate::skill::{AnswerFormat, AnswerSpec};

/// The extractor's reading of one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    /// The value found on the `ANSWER:` line, cleaned; `None` when there is no such line.
    pub extracted: Option<String>,
    /// Whether it matches the reference.
    pub pass: bool,
}

/// Finds the final `ANSWER:` value in `response`, outside any `<think>` block.
pub fn extract(response: &str) -> Option<String> {
    let visible = match response.rfind("</think>") {
        Some(i) => &response[i + "</think>".len()..],
        None if response.contains("<think>") => "",
        None => response,
    };
    visible.lines().rev().find_map(answer_on_line)
}

fn answer_on_line(line: &str) -> Option<String> {
    let t = line.trim().trim_start_matches(['>', '-', '*', '#', '`', '_', ' ']);
    let lower = t.to_ascii_lowercase();
    let prefix = ["final answer:", "answer:"].into_iter().find(|p| lower.starts_with(p))?;
    Some(clean(&t[prefix.len()..]))
}

fn clean(value: &str) -> String {
    let mut v = value.trim().to_string();
    loop {
        let before = v.clone();
        for wrap in ["**", "__", "`", "\"", "'", "*", "_"] {
            if v.len() >= 2 * wrap.len() && v.starts_with(wrap) && v.ends_with(wrap) {
                v = v[wrap.len()..v.len() - wrap.len()].trim().to_string();
            }
        }
        // "**ANSWER:** 42" leaves a leading "**" after the prefix.
        v = v.trim_start_matches("**").trim_start_matches("__").trim().to_string();
        if let Some(inner) = v.strip_prefix("\\boxed{").and_then(|r| r.strip_suffix('}')) {
            v = inner.trim().to_string();
        }
        if let Some(s) = v.strip_suffix('.')
            && !s.ends_with('.')
        {
            v = s.trim_end().to_string();
        }
        if v == before {
            return v;
        }
    }
}

/// Scores `response` against `reference` for an exact-answer skill. Free-form specs never
/// pass here: they need a rubric judge.
pub fn judge(spec: &AnswerSpec, reference: &str, response: &str) -> Extraction {
    let extracted = extract(response);
    let pass = extracted.as_deref().is_some_and(|got| matches(spec, reference, got));
    Extraction { extracted, pass }
}

/// Whether an extracted value equals the reference under the skill's rules.
pub fn matches(spec: &AnswerSpec, reference: &str, got: &str) -> bool {
    let AnswerSpec::Exact { format, unit, tolerance, case_sensitive } = spec else {
        return false;
    };
    let reference = clean(reference);
    match format {
        AnswerFormat::Integer | AnswerFormat::Decimal => {
            let (Some(r), Some(g)) = (number(&reference, unit.as_deref()), number(got, unit.as_deref())) else {
                return false;
            };
            let tol = match (format, tolerance) {
                (AnswerFormat::Integer, _) => 0.0,
                (_, Some(t)) => *t,
                (_, None) => default_tolerance(&reference),
            };
            (r - g).abs() <= tol + 1e-9 * r.abs().max(1.0)
        }
        AnswerFormat::Date => date(&reference).is_some() && date(&reference) == date(got),
        AnswerFormat::Time => time(&reference).is_some() && time(&reference) == time(got),
        AnswerFormat::List => {
            let items = |s: &str| -> Vec<String> {
                s.split([',', ';']).map(|i| fold(i, *case_sensitive)).filter(|i| !i.is_empty()).collect()
            };
            items(&reference) == items(got)
        }
        AnswerFormat::Text => fold(&reference, *case_sensitive) == fold(got, *case_sensitive),
    }
}

fn fold(s: &str, case_sensitive: bool) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if case_sensitive { s } else { s.to_lowercase() }
}

/// Parses a number written with optional currency, grouping, `%` and the skill's unit.
pub fn number(s: &str, unit: Option<&str>) -> Option<f64> {
    let mut t = s.trim().to_string();
    if let Some(u) = unit {
        let u = u.trim();
        if !u.is_empty() {
            let lower = t.to_lowercase();
            let lu = u.to_lowercase();
            if lower.ends_with(&lu) {
                t.truncate(t.len() - u.len());
            } else if lower.starts_with(&lu) {
                t = t[u.len()..].to_string();
            }
        }
    }
    let t: String = t
        .trim()
        .trim_end_matches('%')
        .chars()
        .filter(|c| !matches!(c, '$' | '€' | '£' | ',' | '_' | '\u{2009}' | '\u{202f}' | ' '))
        .collect();
    let t = t.replace('−', "-");
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+')) {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Half a unit in the last decimal place written in `reference` (`"2.50"` → 0.005).
fn default_tolerance(reference: &str) -> f64 {
    let digits = reference
        .rsplit_once('.')
        .map(|(_, frac)| frac.chars().take_while(|c| c.is_ascii_digit()).count())
        .unwrap_or(0);
    0.5 * 10f64.powi(-(digits as i32))
}

fn date(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.trim().split('-');
    let y = it.next()?.parse::<u32>().ok().filter(|y| (1000..10000).contains(y))?;
    let m = it.next()?.parse::<u32>().ok().filter(|m| (1..=12).contains(m))?;
    let d = it.next()?.parse::<u32>().ok().filter(|d| (1..=31).contains(d))?;
    if it.next().is_some() {
        return None;
    }
    Some((y, m, d))
}

fn time(s: &str) -> Option<(u32, u32)> {
    let (h, m) = s.trim().split_once(':')?;
    let h = h.parse::<u32>().ok().filter(|h| *h < 24)?;
    let m = m.parse::<u32>().ok().filter(|m| *m < 60 && m.to_string().len() <= 2)?;
    Some((h, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(format: AnswerFormat, unit: Option<&str>) -> AnswerSpec {
        AnswerSpec::Exact { format, unit: unit.map(str::to_string), tolerance: None, case_sensitive: false }
    }

    #[test]
    fn finds_the_last_answer_line_outside_think() {
        assert_eq!(extract("work\nANSWER: 41\nwait\n**Answer:** `42`."), Some("42".into()));
        assert_eq!(extract("<think>\nANSWER: 1\n</think>\n\nnothing"), None);
        assert_eq!(extract("<think>\nANSWER: 1\n"), None);
        assert_eq!(extract("- Final answer: \\boxed{7}"), Some("7".into()));
        assert_eq!(extract("The answer is 5"), None);
    }

    #[test]
    fn numbers_fold_units_currency_and_grouping() {
        let spec = exact(AnswerFormat::Decimal, Some("km"));
        assert!(matches(&spec, "1234.50", "1,234.5 km"));
        assert!(matches(&spec, "1234.50", "1234.504"));
        assert!(!matches(&spec, "1234.50", "1234.51"));
        assert!(!matches(&spec, "1234.50", "about 1234.50"));
        let money = exact(AnswerFormat::Decimal, Some("USD"));
        assert!(matches(&money, "12.00", "$12"));
        assert!(matches(&money, "12.00", "12.00 USD"));
        let int = exact(AnswerFormat::Integer, Some("%"));
        assert!(matches(&int, "15", "15%"));
        assert!(!matches(&int, "15", "15.4"));
    }

    #[test]
    fn dates_times_lists_text() {
        assert!(matches(&exact(AnswerFormat::Date, None), "2026-03-09", "2026-3-9"));
        assert!(!matches(&exact(AnswerFormat::Date, None), "2026-03-09", "09/03/2026"));
        assert!(matches(&exact(AnswerFormat::Time, None), "07:05", "7:05"));
        assert!(matches(&exact(AnswerFormat::List, None), "a, b, c", "A,b ,  C"));
        assert!(!matches(&exact(AnswerFormat::List, None), "a, b, c", "a, c, b"));
        assert!(matches(&exact(AnswerFormat::Text, None), "Hello  World", "hello world"));
        let cs = AnswerSpec::Exact { format: AnswerFormat::Text, unit: None, tolerance: None, case_sensitive: true };
        assert!(!matches(&cs, "KHOOR", "khoor"));
        let ff = AnswerSpec::FreeForm { rubric: "r".into() };
        assert!(!judge(&ff, "x", "ANSWER: x").pass);
    }
}
