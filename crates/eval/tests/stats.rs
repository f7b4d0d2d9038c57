//! The statistics against scipy 1.17 / statsmodels 0.15 (`tests/fixtures/stats.json`, from
//! `tools/fixtures/make_stats_fixtures.py`).

use serde_json::Value;
use skillsft_eval::stats;

/// Closed forms (Wilson, κ, agreement, McNemar): only floating-point rounding separates us.
const EXACT_TOL: f64 = 1e-12;
/// Bootstrap bounds: both sides draw 10,000 resamples from different random streams, so the
/// 2.5th/97.5th percentiles differ by Monte Carlo error (standard error ≈ 0.0015 on 200
/// tasks) on a grid of 1/200; two grid steps.
const BOOTSTRAP_TOL: f64 = 0.01;

fn fixture() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() == 1).collect()
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

#[test]
fn wilson_matches_statsmodels() {
    let mut worst = 0.0f64;
    for c in fixture()["wilson"].as_array().unwrap() {
        let (lo, hi) = stats::wilson(usize_of(&c["passed"]), usize_of(&c["n"]));
        let err = (lo - c["low"].as_f64().unwrap()).abs().max((hi - c["high"].as_f64().unwrap()).abs());
        assert!(err < EXACT_TOL, "{c}: ({lo}, {hi})");
        worst = worst.max(err);
    }
    eprintln!("wilson: max deviation {worst:.1e}");
}

#[test]
fn mcnemar_matches_statsmodels() {
    let mut worst = 0.0f64;
    for c in fixture()["mcnemar"].as_array().unwrap() {
        let p = stats::mcnemar_exact(usize_of(&c["b"]), usize_of(&c["c"]));
        let want = c["p"].as_f64().unwrap();
        let err = (p - want).abs();
        assert!(err < EXACT_TOL + 1e-9 * want, "{c}: {p}");
        worst = worst.max(err);
    }
    eprintln!("mcnemar: max deviation {worst:.1e}");
}

#[test]
fn kappa_and_agreement_match_statsmodels() {
    let mut worst = 0.0f64;
    for c in fixture()["kappa"].as_array().unwrap() {
        let (a, b) = (bools(&c["a"]), bools(&c["b"]));
        let k = stats::cohen_kappa(&a, &b).unwrap();
        let err = (k - c["kappa"].as_f64().unwrap()).abs();
        assert!(err < EXACT_TOL, "kappa {k} vs {}", c["kappa"]);
        assert!((stats::agreement(&a, &b) - c["agreement"].as_f64().unwrap()).abs() < EXACT_TOL);
        worst = worst.max(err);
    }
    eprintln!("kappa: max deviation {worst:.1e}");
}

#[test]
fn bootstrap_intervals_match_scipy() {
    let mut worst = 0.0f64;
    for c in fixture()["bootstrap"].as_array().unwrap() {
        let mut d = stats::differences(&bools(&c["curated"]), &bools(&c["baseline"]));
        if let Some(post) = c.get("curated_post") {
            let post = stats::differences(&bools(post), &bools(&c["baseline_post"]));
            d = post.iter().zip(&d).map(|(x, y)| x - y).collect();
        }
        let r = stats::paired_bootstrap(&d, usize_of(&c["resamples"]), 0);
        assert!((r.estimate - c["estimate"].as_f64().unwrap()).abs() < EXACT_TOL, "{}", c["name"]);
        let err = (r.low - c["low"].as_f64().unwrap()).abs().max((r.high - c["high"].as_f64().unwrap()).abs());
        assert!(err <= BOOTSTRAP_TOL, "{}: ({}, {}) vs ({}, {})", c["name"], r.low, r.high, c["low"], c["high"]);
        worst = worst.max(err);
    }
    eprintln!("bootstrap: max deviation {worst:.3}");
}
