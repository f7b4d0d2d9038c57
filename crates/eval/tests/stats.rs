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

/// Checks every case of the fixture's `section`: `deviation` computes ours and returns its
/// distance from the oracle, which must stay within `tol` (of the case); prints the largest.
fn each_case(section: &str, tol: impl Fn(&Value) -> f64, deviation: impl Fn(&Value) -> f64) {
    let mut worst = 0.0f64;
    for c in fixture()[section].as_array().unwrap() {
        let err = deviation(c);
        assert!(err <= tol(c), "{section}: {c}: deviation {err:e}");
        worst = worst.max(err);
    }
    eprintln!("{section}: max deviation {worst:.1e}");
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn wilson_matches_statsmodels() {
    each_case(
        "wilson",
        |_| EXACT_TOL,
        |c| {
            let (lo, hi) = stats::wilson(usize_of(&c["passed"]), usize_of(&c["n"]));
            (lo - f64_of(&c["low"])).abs().max((hi - f64_of(&c["high"])).abs())
        },
    );
}

#[test]
fn mcnemar_matches_statsmodels() {
    each_case(
        "mcnemar",
        |c| EXACT_TOL + 1e-9 * f64_of(&c["p"]),
        |c| (stats::mcnemar_exact(usize_of(&c["b"]), usize_of(&c["c"])) - f64_of(&c["p"])).abs(),
    );
}

#[test]
fn kappa_and_agreement_match_statsmodels() {
    each_case(
        "kappa",
        |_| EXACT_TOL,
        |c| {
            let (a, b) = (bools(&c["a"]), bools(&c["b"]));
            let k = stats::cohen_kappa(&a, &b).unwrap();
            (k - f64_of(&c["kappa"])).abs().max((stats::agreement(&a, &b) - f64_of(&c["agreement"])).abs())
        },
    );
}

#[test]
fn bootstrap_intervals_match_scipy() {
    each_case(
        "bootstrap",
        |_| BOOTSTRAP_TOL,
        |c| {
            let mut d = stats::differences(&bools(&c["curated"]), &bools(&c["baseline"]));
            if let Some(post) = c.get("curated_post") {
                let post = stats::differences(&bools(post), &bools(&c["baseline_post"]));
                d = post.iter().zip(&d).map(|(x, y)| x - y).collect();
            }
            let r = stats::paired_bootstrap(&d, usize_of(&c["resamples"]), 0);
            assert!((r.estimate - f64_of(&c["estimate"])).abs() < EXACT_TOL, "{}", c["name"]);
            (r.low - f64_of(&c["low"])).abs().max((r.high - f64_of(&c["high"])).abs())
        },
    );
}
