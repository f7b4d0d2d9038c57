//! The study's statistics, each checked against `scipy` / `statsmodels`
//! (`tests/stats.rs`, fixtures from `tools/fixtures/make_stats_fixtures.py`).
//!
//! - [`wilson`]: Wilson score interval for a pass rate (statsmodels `proportion_confint`,
//!   `method="wilson"`).
//! - [`mcnemar_exact`]: exact McNemar test on the discordant pairs of a paired comparison
//!   (statsmodels `mcnemar(exact=True)`: two-sided binomial, p = min(1, 2·P[X ≤ min(b, c)])).
//! - [`paired_bootstrap`]: percentile interval of a mean of per-task differences, resampling
//!   tasks with replacement (scipy `bootstrap(..., method="percentile")`); used for Δ (curated
//!   − baseline per task) and SFT lift (Δpost − Δpre per task), so the pairing by task is kept.
//! - [`cohen_kappa`] and [`agreement`] between two judges' verdicts on the same episodes
//!   (scikit-learn / statsmodels Cohen's κ).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The normal quantile for a two-sided 95% interval, `Φ⁻¹(0.975)`.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score 95% interval for `passed` out of `n`; `(0, 1)` when `n == 0`.
pub fn wilson(passed: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p) = (n as f64, passed as f64 / n as f64);
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Exact two-sided McNemar p-value for `b` and `c` discordant pairs (pass→fail and fail→pass).
pub fn mcnemar_exact(b: usize, c: usize) -> f64 {
    let n = b + c;
    let k = b.min(c);
    // log P[X = i] for X ~ Binomial(n, 1/2), by the ratio recurrence; summed in log space so
    // large n does not underflow 0.5^n.
    let mut log_pmf = n as f64 * 0.5f64.ln();
    let mut terms = Vec::with_capacity(k + 1);
    for i in 0..=k {
        terms.push(log_pmf);
        log_pmf += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
    }
    let max = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let cdf = max.exp() * terms.iter().map(|t| (t - max).exp()).sum::<f64>();
    (2.0 * cdf).min(1.0)
}

/// A point estimate with a bootstrap percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The statistic on the observed data.
    pub estimate: f64,
    /// Lower percentile bound.
    pub low: f64,
    /// Upper percentile bound.
    pub high: f64,
}

impl Interval {
    /// No data: every field NaN.
    pub const EMPTY: Interval = Interval { estimate: f64::NAN, low: f64::NAN, high: f64::NAN };

    /// The interval of the sorted bootstrap statistics `stats` around `estimate`.
    fn percentile_of(estimate: f64, mut stats: Vec<f64>) -> Interval {
        if stats.is_empty() {
            return Interval { estimate, low: f64::NAN, high: f64::NAN };
        }
        stats.sort_by(f64::total_cmp);
        Interval { estimate, low: percentile(&stats, 2.5), high: percentile(&stats, 97.5) }
    }
}

/// Mean of `diffs` with a 95% percentile bootstrap interval from `resamples` resamples of the
/// tasks (with replacement), seeded so a report is reproducible. Percentiles interpolate
/// linearly between order statistics, as `numpy.percentile` does.
pub fn paired_bootstrap(diffs: &[f64], resamples: usize, seed: u64) -> Interval {
    let groups: Vec<Vec<f64>> = diffs.iter().map(|&d| vec![d]).collect();
    task_bootstrap(&groups, resamples, seed)
}

/// Mean over every value of `tasks` (one inner vector per task: its differences over seeds and
/// samples) with a 95% percentile interval from resampling **tasks** with replacement, each
/// with all of its values. With one value per task this is [`paired_bootstrap`] (the same
/// random draws); with several it is scipy's bootstrap over per-task means when tasks are
/// balanced.
pub fn task_bootstrap(tasks: &[Vec<f64>], resamples: usize, seed: u64) -> Interval {
    let n = tasks.len();
    let count: usize = tasks.iter().map(Vec::len).sum();
    if count == 0 {
        return Interval::EMPTY;
    }
    let sums: Vec<(f64, usize)> = tasks.iter().map(|t| (t.iter().sum(), t.len())).collect();
    let estimate = sums.iter().map(|s| s.0).sum::<f64>() / count as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let stats = (0..resamples.max(1))
        .filter_map(|_| {
            let (s, c) = (0..n).fold((0.0, 0usize), |(s, c), _| {
                let t = sums[rng.random_range(0..n)];
                (s + t.0, c + t.1)
            });
            (c > 0).then(|| s / c as f64)
        })
        .collect();
    Interval::percentile_of(estimate, stats)
}

/// One skill's paired differences for [`skill_bootstrap`]: `values[task][replicate]`, `None`
/// where that (task, replicate) pair is missing or unscorable. Every task of a row has the
/// same replicate columns (the row's (seed, sample) combinations).
pub type SkillValues = Vec<Vec<Option<f64>>>;

/// Mean over every present value with a 95% percentile interval from a **skill-clustered**
/// bootstrap: each resample draws as many skills as there are, with replacement, keeping each
/// skill's tasks together (tasks of one skill share a procedure and succeed or fail together,
/// so they are not independent draws); when there are several replicates (seeds, samples), it
/// also draws that many replicate columns with replacement within each drawn skill. With one
/// replicate and equal-sized skills this is scipy's bootstrap over per-skill means.
pub fn skill_bootstrap(skills: &[SkillValues], resamples: usize, seed: u64) -> Interval {
    let (mut sum, mut count) = (0.0, 0usize);
    for v in skills.iter().flatten().flatten().flatten() {
        sum += v;
        count += 1;
    }
    if count == 0 {
        return Interval::EMPTY;
    }
    let reps = skills.iter().flat_map(|s| s.iter().map(Vec::len)).max().unwrap_or(0);
    // Per skill and replicate column: (sum, count) over the skill's tasks.
    let columns: Vec<Vec<(f64, usize)>> = skills
        .iter()
        .map(|tasks| {
            (0..reps)
                .map(|r| {
                    tasks.iter().filter_map(|t| t.get(r).copied().flatten()).fold((0.0, 0), |(s, c), v| (s + v, c + 1))
                })
                .collect()
        })
        .collect();
    let n = skills.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let stats = (0..resamples.max(1))
        .filter_map(|_| {
            let (mut s, mut c) = (0.0, 0usize);
            for _ in 0..n {
                let cols = &columns[rng.random_range(0..n)];
                if reps == 1 {
                    (s, c) = (s + cols[0].0, c + cols[0].1);
                } else {
                    for _ in 0..reps {
                        let col = cols[rng.random_range(0..reps)];
                        (s, c) = (s + col.0, c + col.1);
                    }
                }
            }
            (c > 0).then(|| s / c as f64)
        })
        .collect();
    Interval::percentile_of(sum / count as f64, stats)
}

/// Sample mean and standard deviation (n − 1; `None` below two values).
pub fn mean_sd(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.len() > 1).then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, sd)
}

/// `numpy.percentile(sorted, q)` with linear interpolation (`sorted` ascending, non-empty).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Per-task differences `a[i] − b[i]` of two pass vectors (1 = pass).
pub fn differences(a: &[bool], b: &[bool]) -> Vec<f64> {
    a.iter().zip(b).map(|(&x, &y)| f64::from(u8::from(x)) - f64::from(u8::from(y))).collect()
}

/// Discordant pair counts `(b, c)`: `b` = passed under `a` only, `c` = passed under `b` only.
pub fn discordant(a: &[bool], b: &[bool]) -> (usize, usize) {
    a.iter().zip(b).fold((0, 0), |(x, y), (&p, &q)| (x + usize::from(p && !q), y + usize::from(!p && q)))
}

/// Share of episodes on which two judges agree.
pub fn agreement(a: &[bool], b: &[bool]) -> f64 {
    if a.is_empty() {
        return f64::NAN;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// Cohen's κ between two judges' binary verdicts; `None` when chance agreement is 1 (both
/// judges gave one constant verdict), where κ is undefined (scikit-learn returns NaN).
pub fn cohen_kappa(a: &[bool], b: &[bool]) -> Option<f64> {
    let n = a.len() as f64;
    if a.is_empty() {
        return None;
    }
    let po = agreement(a, b);
    let pa = a.iter().filter(|&&x| x).count() as f64 / n;
    let pb = b.iter().filter(|&&x| x).count() as f64 / n;
    let pe = pa * pb + (1.0 - pa) * (1.0 - pb);
    if (1.0 - pe).abs() < 1e-15 {
        return None;
    }
    Some((po - pe) / (1.0 - pe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_values() {
        // Hand-computed: 0 of 10 → Wilson upper z²/(n+z²) = 3.8415/13.8415.
        let (lo, hi) = wilson(0, 10);
        assert_eq!(lo, 0.0);
        assert!((hi - 3.841_458_820_694_124 / 13.841_458_820_694_124).abs() < 1e-12);
        // b=0, c=5: 2 × 0.5^5 = 0.0625.
        assert!((mcnemar_exact(0, 5) - 0.0625).abs() < 1e-15);
        assert_eq!(discordant(&[true, true, false, false], &[true, false, true, true]), (1, 2));
        assert_eq!(cohen_kappa(&[true, true], &[true, true]), None);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_mean() {
        let d = differences(&[true, true, false, true, false, true], &[false, true, false, false, false, true]);
        let a = paired_bootstrap(&d, 2000, 1);
        assert_eq!(a, paired_bootstrap(&d, 2000, 1));
        assert!(a.low <= a.estimate && a.estimate <= a.high);
        assert!((a.estimate - 2.0 / 6.0).abs() < 1e-12);
    }
}
