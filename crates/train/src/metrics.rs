//! Per-step metrics (`metrics.jsonl`) and the loss-curve plot (`loss.svg`).

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, io};

/// One optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based step number.
    pub step: usize,
    /// Epoch (0-based).
    pub epoch: usize,
    /// Mean cross-entropy over the step's trained tokens.
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Real tokens in the step.
    pub tokens: usize,
    /// Trained tokens in the step.
    pub trained_tokens: usize,
    /// Real tokens per second of this step.
    pub tokens_per_s: f64,
    /// Seconds since the run started (over resumes).
    pub elapsed_s: f64,
    /// Validation loss after this step, on the steps where it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_loss: Option<f64>,
}

/// Reads `metrics.jsonl` (missing file: empty).
pub fn read(path: &Path) -> Result<Vec<StepRecord>> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(Vec::new()) };
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// Rewrites `metrics.jsonl` keeping the records up to `step` (a resumed run drops what it
/// will redo), then returns them.
pub fn truncate(path: &Path, step: usize) -> Result<Vec<StepRecord>> {
    let kept: Vec<StepRecord> = read(path)?.into_iter().filter(|r| r.step <= step).collect();
    let mut text = String::new();
    for r in &kept {
        text.push_str(&serde_json::to_string(r).unwrap_or_default());
        text.push('\n');
    }
    qwen35::write_atomic(path, text.as_bytes())?;
    Ok(kept)
}

/// Appends one record.
pub fn append(path: &Path, record: &StepRecord) -> Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io(path))?;
    writeln!(f, "{}", serde_json::to_string(record).unwrap_or_default()).map_err(io(path))
}

/// An SVG line plot of the training loss against step (and the validation loss as a second
/// line with points, where measured), with axis ticks. Hand-written: two polylines do not
/// justify a plotting stack.
pub fn loss_svg(records: &[StepRecord], title: &str) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 420.0, 64.0, 16.0, 36.0, 44.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let max_step = records.iter().map(|r| r.step).max().unwrap_or(1).max(1) as f64;
    let min_step = records.iter().map(|r| r.step).min().unwrap_or(1) as f64;
    let finite = records.iter().flat_map(|r| [Some(r.loss), r.eval_loss]).flatten().filter(|l| l.is_finite());
    let hi = finite.clone().fold(f64::MIN, f64::max).max(1e-9);
    let lo = finite.fold(f64::MAX, f64::min).min(hi);
    let (lo, hi) = if hi - lo < 1e-9 { (lo - 0.5, hi + 0.5) } else { (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)) };
    let x = |s: f64| left + if max_step > min_step { (s - min_step) / (max_step - min_step) * pw } else { pw / 2.0 };
    let y = |l: f64| top + (hi - l) / (hi - lo) * ph;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n\
         <rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#444\"/>\n",
        w / 2.0,
        escape(title)
    );
    for i in 0..=4 {
        let l = lo + (hi - lo) * i as f64 / 4.0;
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{l:.3}</text>\n",
            left + pw,
            left - 6.0,
            y(l) + 4.0,
            y = y(l)
        ));
        let s = min_step + (max_step - min_step) * i as f64 / 4.0;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{:.0}</text>\n",
            x(s),
            top + ph + 16.0,
            s
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">optimizer step</text>\n<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">loss</text>\n",
        left + pw / 2.0,
        h - 8.0,
        top + ph / 2.0,
        top + ph / 2.0
    ));
    let points: Vec<String> = records
        .iter()
        .filter(|r| r.loss.is_finite())
        .map(|r| format!("{:.1},{:.1}", x(r.step as f64), y(r.loss)))
        .collect();
    svg.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.8\" points=\"{}\"/>\n",
        points.join(" ")
    ));
    let evals: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| r.eval_loss.filter(|l| l.is_finite()).map(|l| (x(r.step as f64), y(l))))
        .collect();
    if !evals.is_empty() {
        let line: Vec<String> = evals.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.8\" points=\"{}\"/>\n",
            line.join(" ")
        ));
        for (a, b) in &evals {
            svg.push_str(&format!("<circle cx=\"{a:.1}\" cy=\"{b:.1}\" r=\"3\" fill=\"#d62728\"/>\n"));
        }
        let lx = left + pw - 150.0;
        svg.push_str(&format!(
            "<line x1=\"{lx}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#1f77b4\" stroke-width=\"1.8\"/><text x=\"{}\" y=\"{}\">training loss</text>\n\
             <line x1=\"{lx}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#d62728\" stroke-width=\"1.8\"/><text x=\"{}\" y=\"{}\">validation loss</text>\n",
            lx + 24.0,
            top + 14.0,
            top + 14.0,
            lx + 30.0,
            top + 18.0,
            lx + 24.0,
            top + 32.0,
            top + 32.0,
            lx + 30.0,
            top + 36.0
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
