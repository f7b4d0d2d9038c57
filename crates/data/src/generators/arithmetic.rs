//! Generators for the `arithmetic` domain.

use super::fmt::{fixed, trim};
use super::{Gen, GenFn, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[(&str, GenFn)] = &[("weighted_grade", weighted_grade)];

/// A course grade from weighted components, one of which is missing and counts as zero
/// unless dropped by the syllabus rule.
fn weighted_grade(g: &mut Gen) -> Result<Generated> {
    let names = g.strings("components", &["homework", "quizzes", "midterm", "project", "final exam"])?;
    let n = g.range(3, names.len().min(5) as i64) as usize;
    let picked = g.distinct(names.len(), n);
    // Weights in 5% steps summing to 100.
    let mut weights = vec![5i64; n];
    let mut left = 100 - 5 * n as i64;
    while left > 0 {
        let i = g.range(0, n as i64 - 1) as usize;
        weights[i] += 5;
        left -= 5;
    }
    let scores: Vec<i64> = (0..n).map(|_| g.range(52, 99)).collect();
    let student = g.pick(&["Ana", "Bo", "Chidi", "Dana", "Eun", "Farid", "Greta", "Hiro"]).to_string();
    let lines: Vec<String> = (0..n)
        .map(|i| format!("- {}: weight {}%, score {}/100", names[picked[i]], weights[i], scores[i]))
        .collect();
    let prompt = format!(
        "{student}'s course grade is a weighted average of these components:\n{}\nWhat is {student}'s final grade, rounded to one decimal place?",
        lines.join("\n")
    );
    let products: Vec<f64> = (0..n).map(|i| weights[i] as f64 * scores[i] as f64 / 100.0).collect();
    let total_w: i64 = weights.iter().sum();
    let sum: f64 = products.iter().sum();
    let grade = sum * 100.0 / total_w as f64;
    let weights_list = (0..n).map(|i| format!("{}%", weights[i])).collect::<Vec<_>>().join(" + ");
    let prod_list = (0..n)
        .map(|i| format!("{} × {}% = {}", scores[i], weights[i], trim(products[i], 2)))
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Generated {
        prompt,
        answer: fixed(grade, 1),
        steps: vec![
            step(format!("The components are {}.", (0..n).map(|i| names[picked[i]].as_str()).collect::<Vec<_>>().join(", ")), format!("{n} components")),
            step(format!("Weights: {weights_list} = {total_w}%."), format!("{total_w}%")),
            step(prod_list, products.iter().map(|p| trim(*p, 2)).collect::<Vec<_>>().join(", ")),
            step(format!("Sum of weighted scores = {}.", trim(sum, 2)), trim(sum, 2)),
            step(format!("{} ÷ {total_w}% × 100% = {}, rounded to one decimal: {}.", trim(sum, 2), trim(grade, 4), fixed(grade, 1)), fixed(grade, 1)),
        ],
        rubric: vec![],
    })
}
