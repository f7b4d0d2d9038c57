//! How big a procedural Δ the design can detect: power of the exact two-sided McNemar test,
//! its minimum detectable effect (MDE), and the number of paired tasks a wanted Δ needs.
//!
//! The model of a paired design with `n` tasks: each task is discordant (passes in exactly
//! one condition) with probability `r`, so the number of discordant pairs is
//! `D ~ Binomial(n, r)`; a discordant pair favours the procedure with probability
//! `π = 1/2 + Δ/(2r)`, so that E[(b − c)/n] = Δ. Power is computed by exact enumeration,
//! not a normal approximation:
//!
//! power = Σ_D P(D) · P(the exact two-sided binomial test at p = ½ rejects | D, π).
//!
//! Checked against scipy's `binomtest` enumeration and a statsmodels `mcnemar(exact=True)`
//! simulation (`tests/design.rs`, fixtures from `tools/fixtures/make_design_fixtures.py`).

/// A power calculator at one significance level; caches the rejection region per number of
/// discordant pairs, so scanning sample sizes stays cheap.
#[derive(Debug, Clone)]
pub struct McNemarPower {
    alpha: f64,
    /// `ln k!` for k = 0..=len−1.
    ln_fact: Vec<f64>,
    /// For D discordant pairs: the largest k with 2·P(X ≤ k | D, ½) ≤ α (the test rejects when
    /// min(b, c) ≤ k); −1 when no split of D pairs can reject.
    critical: Vec<i64>,
}

/// Below this log-probability a term is left out of a sum (e^-45 ≈ 3e-20: below f64 rounding
/// of the sums it would join).
const NEGLIGIBLE_LN: f64 = -45.0;

impl McNemarPower {
    /// A calculator for two-sided level `alpha` (e.g. 0.05).
    pub fn new(alpha: f64) -> Self {
        McNemarPower { alpha, ln_fact: vec![0.0], critical: vec![-1] }
    }

    /// The significance level.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    fn grow(&mut self, n: usize) {
        while self.ln_fact.len() <= n {
            let k = self.ln_fact.len();
            self.ln_fact.push(self.ln_fact[k - 1] + (k as f64).ln());
        }
        while self.critical.len() <= n {
            let d = self.critical.len();
            // Adding a pair can only make a tail rarer: the region never shrinks as D grows.
            let mut k = self.critical[d - 1];
            while k + 1 < d as i64 && 2.0 * self.cdf(d, (k + 1) as usize, 0.5) <= self.alpha {
                k += 1;
            }
            self.critical.push(k);
        }
    }

    fn ln_pmf(&self, n: usize, k: usize, p: f64) -> f64 {
        let ln_choose = self.ln_fact[n] - self.ln_fact[k] - self.ln_fact[n - k];
        // 0·ln 0 = 0, so p = 0 or 1 gives the point masses.
        let a = if k > 0 { k as f64 * p.ln() } else { 0.0 };
        let b = if n > k { (n - k) as f64 * (1.0 - p).ln() } else { 0.0 };
        ln_choose + a + b
    }

    /// P(X ≤ k) for X ~ Binomial(n, p), summing from k away from the mode so the terms
    /// shrink and the sum stops once they no longer count.
    fn cdf(&self, n: usize, k: usize, p: f64) -> f64 {
        if k >= n {
            return 1.0;
        }
        let mode = ((n + 1) as f64 * p).floor() as usize;
        if k < mode { self.tail_sum(n, p, (0..=k).rev()) } else { 1.0 - self.tail_sum(n, p, k + 1..=n) }
    }

    /// Σ pmf over `ks`, which walk away from the mode (so terms decrease).
    fn tail_sum(&self, n: usize, p: f64, ks: impl Iterator<Item = usize>) -> f64 {
        let mut sum = 0.0;
        for k in ks {
            let ln = self.ln_pmf(n, k, p);
            if ln < NEGLIGIBLE_LN + sum_ln(sum) {
                break;
            }
            sum += ln.exp();
        }
        sum
    }

    /// Power to detect a true Δ = `delta` (0 ≤ Δ ≤ r) with `n` paired tasks at discordance
    /// rate `r` (0 < r ≤ 1). At Δ = 0 it is the test's size (≤ α).
    pub fn power(&mut self, n: usize, delta: f64, r: f64) -> f64 {
        if n == 0 || r <= 0.0 {
            return 0.0;
        }
        self.grow(n);
        let r = r.min(1.0);
        let pi = (0.5 + delta.abs() / (2.0 * r)).clamp(0.5, 1.0);
        let mode = ((n + 1) as f64 * r).floor().min(n as f64) as usize;
        let peak = self.ln_pmf(n, mode, r);
        let mut power = 0.0;
        // Walk out from the mode of D in both directions until P(D) no longer counts.
        let term = |d: usize, this: &Self| -> Option<f64> {
            let ln = this.ln_pmf(n, d, r);
            if ln < peak + NEGLIGIBLE_LN {
                return None;
            }
            let k = this.critical[d];
            if k < 0 {
                return Some(0.0);
            }
            let k = k as usize;
            // Reject when X ≤ k or X ≥ D − k; P(X ≥ D − k | π) = P(Y ≤ k | 1 − π).
            Some(ln.exp() * (this.cdf(d, k, pi) + this.cdf(d, k, 1.0 - pi)))
        };
        for d in mode..=n {
            match term(d, self) {
                Some(t) => power += t,
                None => break,
            }
        }
        for d in (0..mode).rev() {
            match term(d, self) {
                Some(t) => power += t,
                None => break,
            }
        }
        power.min(1.0)
    }

    /// The minimum detectable effect: the smallest Δ in (0, r] at which the power with `n`
    /// tasks at discordance `r` reaches `target`; `None` when even Δ = r (every discordant
    /// pair favouring the procedure) falls short. Found by bisection to 1e-10, power rising
    /// with Δ (π moves away from ½; `make_design_fixtures.py` checks it on a grid).
    pub fn mde(&mut self, n: usize, r: f64, target: f64) -> Option<f64> {
        if n == 0 || r <= 0.0 || self.power(n, r, r) < target {
            return None;
        }
        let (mut lo, mut hi) = (0.0, r.min(1.0));
        while hi - lo > 1e-10 {
            let mid = 0.5 * (lo + hi);
            if self.power(n, mid, r) >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }

    /// The smallest number of paired tasks whose power to detect `delta` at discordance `r`
    /// reaches `target`, scanning n = 1, 2, ... (exact tests' power is not monotone in n, so
    /// this is the first n that reaches it); `None` when no n up to `max_n` does (Δ > r is
    /// impossible: the discordant pairs bound |Δ|).
    pub fn tasks_needed(&mut self, delta: f64, r: f64, target: f64, max_n: usize) -> Option<usize> {
        if !(delta > 0.0 && delta <= r && r <= 1.0) {
            return None;
        }
        (1..=max_n).find(|&n| self.power(n, delta, r) >= target)
    }
}

/// ln of a running sum (−∞ for an empty one), to compare a new term against it.
fn sum_ln(sum: f64) -> f64 {
    if sum > 0.0 { sum.ln() } else { f64::NEG_INFINITY }
}

/// [`McNemarPower::mde`] at a given α and power, for one-off use.
pub fn mde(n: usize, r: f64, alpha: f64, power: f64) -> Option<f64> {
    McNemarPower::new(alpha).mde(n, r, power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        let mut p = McNemarPower::new(0.05);
        // r = 1, Δ = 1: all n pairs discordant and favouring the procedure; the test rejects
        // when 2·0.5^n ≤ 0.05, i.e. n ≥ 6.
        assert_eq!(p.power(5, 1.0, 1.0), 0.0);
        assert!((p.power(6, 1.0, 1.0) - 1.0).abs() < 1e-12);
        // The size at Δ = 0 never exceeds α.
        for n in [10, 57, 200] {
            let size = p.power(n, 0.0, 0.3);
            assert!(size <= 0.05 && size > 0.0, "n {n}: {size}");
        }
        assert_eq!(p.tasks_needed(1.0, 1.0, 0.8, 100), Some(6));
        assert_eq!(p.tasks_needed(0.3, 0.2, 0.8, 100), None, "Δ cannot exceed r");
        let m = p.mde(200, 0.2, 0.8).unwrap();
        assert!(p.power(200, m, 0.2) >= 0.8 && p.power(200, m - 1e-6, 0.2) < 0.8);
        assert_eq!(p.mde(5, 0.2, 0.8), None);
    }
}
