//! Power, MDE, sample size and the clustered bootstraps against oracles no one here wrote
//! (`tests/fixtures/design.json`, from `tools/fixtures/make_design_fixtures.py`: scipy 1.17
//! `binomtest`/`binom` enumeration and `brentq`, statsmodels 0.15 `mcnemar(exact=True)`
//! simulation, scipy `bootstrap`, and a plainly written numpy simulation of the two-stage
//! bootstrap scipy lacks).

use serde_json::Value;
use skillsft_eval::power::McNemarPower;
use skillsft_eval::stats::{self, SkillValues};

/// Enumerated power: both sides sum the same binomial terms; we drop terms below e^-45 of
/// the largest and build pmfs from summed log-factorials, so ~1e-12 separates us.
const POWER_TOL: f64 = 1e-9;
/// MDE: both sides solve power(Δ) = 0.8 to 1e-10 in Δ (bisection here, brentq there).
const MDE_TOL: f64 = 1e-8;
/// Bootstrap bounds: 10,000 resamples each from different random streams, so the 2.5th and
/// 97.5th percentiles differ by Monte Carlo error, on a grid of 1/(units): two steps of the
/// coarsest grid here (S=10 × T=3: 1/30) is too loose for the big cases, so the tolerance is
/// 0.02 or two grid steps of the case, whichever is smaller but at least 0.01.
fn bootstrap_tol(units: usize) -> f64 {
    (2.0 / units as f64).clamp(0.01, 0.02)
}

fn fixture() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/design.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn int(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

#[test]
fn power_matches_scipy_enumeration() {
    let mut worst = 0.0f64;
    for c in fixture()["power"].as_array().unwrap() {
        let mut p = McNemarPower::new(num(&c["alpha"]));
        let got = p.power(int(&c["n"]), num(&c["delta"]), num(&c["r"]));
        let err = (got - num(&c["power"])).abs();
        assert!(err < POWER_TOL, "{c}: {got}");
        worst = worst.max(err);
    }
    eprintln!("power: max deviation {worst:.1e}");
}

#[test]
fn power_agrees_with_a_statsmodels_simulation() {
    for c in fixture()["power_mc"].as_array().unwrap() {
        let got = McNemarPower::new(num(&c["alpha"])).power(int(&c["n"]), num(&c["delta"]), num(&c["r"]));
        // 20,000 simulated tables: the rejection rate is within 4 standard errors of the truth
        // with probability 1 − 6e-5.
        let z = (got - num(&c["rejection_rate"])) / num(&c["se"]);
        assert!(z.abs() < 4.0, "{c}: enumerated {got}, z = {z:.2}");
        eprintln!("power_mc n={} r={} Δ={}: z = {z:+.2}", c["n"], c["r"], c["delta"]);
    }
}

#[test]
fn mde_matches_brentq() {
    let mut worst = 0.0f64;
    for c in fixture()["mde"].as_array().unwrap() {
        let mut p = McNemarPower::new(num(&c["alpha"]));
        let got = p.mde(int(&c["n"]), num(&c["r"]), num(&c["power_target"]));
        match c["mde"].as_f64() {
            None => assert_eq!(got, None, "{c}"),
            Some(want) => {
                let got = got.unwrap_or_else(|| panic!("{c}: no MDE"));
                assert!((got - want).abs() < MDE_TOL, "{c}: {got}");
                worst = worst.max((got - want).abs());
            }
        }
    }
    eprintln!("mde: max deviation {worst:.1e}");
}

#[test]
fn tasks_needed_match_a_linear_scan() {
    for c in fixture()["plan"].as_array().unwrap() {
        let mut p = McNemarPower::new(num(&c["alpha"]));
        let n = p.tasks_needed(num(&c["delta"]), num(&c["r"]), num(&c["power_target"]), 100_000);
        assert_eq!(n, Some(int(&c["n"])), "{c}");
    }
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(|row| row.as_array().unwrap().iter().map(num).collect()).collect()
}

fn check(name: &str, got: stats::Interval, c: &Value, low: &str, high: &str, units: usize) -> f64 {
    let tol = bootstrap_tol(units);
    assert!((got.estimate - num(&c["estimate"])).abs() < 1e-12, "{name}: estimate {}", got.estimate);
    let err = (got.low - num(&c[low])).abs().max((got.high - num(&c[high])).abs());
    assert!(err <= tol, "{name}: ({}, {}) vs ({}, {}), tol {tol}", got.low, got.high, c[low], c[high]);
    err
}

#[test]
fn skill_clustered_bootstrap_matches_scipy_over_skill_means() {
    for c in fixture()["cluster_bootstrap"]["skill_clusters"].as_array().unwrap() {
        let diffs = matrix(&c["diffs"]);
        let skills: Vec<SkillValues> =
            diffs.iter().map(|tasks| tasks.iter().map(|&d| vec![Some(d)]).collect()).collect();
        let units = diffs.iter().map(Vec::len).sum();
        let got = stats::skill_bootstrap(&skills, int(&c["resamples"]), 0);
        let err = check("skill", got, c, "low", "high", units);
        // The task-level interval of the same data, as the report's `ci_*`.
        let flat: Vec<f64> = diffs.iter().flatten().copied().collect();
        let task = stats::paired_bootstrap(&flat, int(&c["resamples"]), 0);
        let task_err = check("task", task, c, "task_low", "task_high", units);
        eprintln!(
            "S={} T={}: skill CI [{:+.3}, {:+.3}] (dev {err:.3}), task CI [{:+.3}, {:+.3}] (dev {task_err:.3})",
            c["skills"], c["tasks"], got.low, got.high, task.low, task.high
        );
        assert!(got.high - got.low > task.high - task.low, "clustering widens the interval here");
    }
}

#[test]
fn task_bootstrap_with_replicates_matches_scipy_over_task_means() {
    for c in fixture()["cluster_bootstrap"]["task_replicates"].as_array().unwrap() {
        let diffs = matrix(&c["diffs"]);
        let units = diffs.iter().map(Vec::len).sum();
        let got = stats::task_bootstrap(&diffs, int(&c["resamples"]), 0);
        let err = check("task replicates", got, c, "low", "high", units);
        eprintln!("T={} R={}: [{:+.3}, {:+.3}] (dev {err:.3})", c["tasks"], c["replicates"], got.low, got.high);
    }
}

#[test]
fn two_stage_bootstrap_matches_the_numpy_simulation() {
    for c in fixture()["cluster_bootstrap"]["two_stage"].as_array().unwrap() {
        let skills: Vec<SkillValues> = c["diffs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tasks| matrix(tasks).into_iter().map(|reps| reps.into_iter().map(Some).collect()).collect())
            .collect();
        let units = int(&c["skills"]) * int(&c["tasks"]) * int(&c["replicates"]);
        let got = stats::skill_bootstrap(&skills, int(&c["resamples"]), 0);
        let err = check("two-stage", got, c, "low", "high", units);
        eprintln!("two-stage: [{:+.3}, {:+.3}] (dev {err:.3})", got.low, got.high);
    }
}
