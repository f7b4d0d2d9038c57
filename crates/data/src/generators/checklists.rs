//! Generators for the `checklists` domain: stated rules applied to a described situation.

use super::calendar::{days_from_civil, ymd};
use super::fmt::{fixed, hhmm, list_or, near_half, trim};
use super::params::{NoParams, NonEmpty, kinds, params, words};
use super::{Gen, Kind, criterion, exact, free_form, retry, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[Kind] = kinds![
    "incident_severity" => incident_severity(IncidentSeverityParams),
    "expense_audit" => expense_audit(ExpenseAuditParams),
    "weight_balance_go" => weight_balance_go(WeightBalanceGoParams),
    "dosing_window" => dosing_window(DosingWindowParams),
    "cold_chain_log" => cold_chain_log(ColdChainLogParams),
    "access_review_count" => access_review_count(AccessReviewCountParams),
    "allergen_screen" => allergen_screen(AllergenScreenParams),
    "stair_code_check" => stair_code_check(NoParams),
    "form_validation" => form_validation(NoParams),
    "sample_acceptance" => sample_acceptance(SampleAcceptanceParams),
];

// ---------------------------------------------------------------------------------------
// Incident severity

/// An impact or urgency level of the incident policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    /// The level as the policy writes it.
    fn name(self) -> &'static str {
        match self {
            Level::High => "High",
            Level::Medium => "Medium",
            Level::Low => "Low",
        }
    }
}

/// The severity (1 = worst) from the impact × urgency matrix, then the staging downgrade and
/// the personal-data floor.
pub(crate) fn severity(impact: Level, urgency: Level, staging: bool, data_exposed: bool) -> (u32, u32, u32) {
    // Rows: impact High, Medium, Low; columns: urgency High, Medium, Low.
    const MATRIX: [[u32; 3]; 3] = [[1, 2, 3], [2, 3, 4], [3, 4, 4]];
    let base = MATRIX[impact as usize][urgency as usize];
    let after_env = if staging { (base + 1).min(4) } else { base };
    let fin = if data_exposed { after_env.min(2) } else { after_env };
    (base, after_env, fin)
}

params! {
    /// Parameters of `incident_severity`.
    struct IncidentSeverityParams {
        /// Names of the failing service.
        services: NonEmpty<String> = words(&[
            "checkout API", "login service", "payroll batch job", "search index", "email relay",
            "push-notification gateway", "reporting dashboard", "file-storage service",
        ]),
        /// Affected users from which impact is High.
        high_users: i64 = 1000,
        /// Affected users from which impact is Medium.
        medium_users: i64 = 100,
    }
}

/// The incident policy after its impact rule (whose thresholds are parameters): what [`severity`] computes.
const INCIDENT_RULES: &str = "\
- Urgency: High if there is no workaround, Medium if only a manual workaround exists, Low if an automatic failover \
or workaround is in place.
- Severity matrix (impact × urgency): High/High = SEV1, High/Medium = SEV2, High/Low = SEV3, Medium/High = SEV2, \
Medium/Medium = SEV3, Medium/Low = SEV4, Low/High = SEV3, Low/Medium = SEV4, Low/Low = SEV4.
- Adjustment A: an incident confined to a non-production environment is lowered by one level (SEV1→SEV2, SEV2→SEV3, \
SEV3→SEV4; SEV4 stays SEV4).
- Adjustment B (applied last): if personal data was exposed, the severity is at least SEV2 (SEV3 or SEV4 become \
SEV2).";

fn incident_severity(g: &mut Gen, p: &IncidentSeverityParams) -> Result<Generated> {
    let (hi, med) = (p.high_users, p.medium_users);
    let svc = g.pick(&p.services).clone();
    let users = match g.range(0, 5) {
        0 => hi,
        1 => med,
        2 => *g.pick(&[hi - 1, med - 1]),
        _ => g.range(5, hi * 5),
    };
    let urgency = [Level::High, Level::Medium, Level::Low][g.range(0, 2) as usize];
    let staging = g.chance(0.3);
    let data_exposed = g.chance(0.3);
    let impact = if users >= hi {
        Level::High
    } else if users >= med {
        Level::Medium
    } else {
        Level::Low
    };
    let (base, after_env, fin) = severity(impact, urgency, staging, data_exposed);
    let wa_text = match urgency {
        Level::High => "there is no workaround",
        Level::Medium => "a manual workaround exists (support staff can process requests by hand)",
        Level::Low => "an automatic failover is handling requests",
    };
    let env_text = if staging { "the staging (non-production) environment" } else { "the production environment" };
    let data_text = if data_exposed {
        "Logs show that customer personal data (names and email addresses) was exposed to other users."
    } else {
        "No personal data was exposed."
    };
    let prompt = format!(
        "Incident policy:\n- Impact: High if {hi} or more users are affected, Medium if {med} to {} users, Low if \
         fewer than {med}.\n{INCIDENT_RULES}\n\nIncident: the {svc} in {env_text} is failing for {users} users; \
         {wa_text}. {data_text}\nWhat severity should be assigned? Answer with the level only, e.g. SEV3.",
        hi - 1
    );
    let ans = format!("SEV{fin}");
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!(
                    "{users} users: {} (High ≥ {hi}, Medium {med}–{}, Low < {med}).",
                    match impact {
                        Level::High => format!("{users} ≥ {hi}"),
                        Level::Medium => format!("{med} ≤ {users} < {hi}"),
                        Level::Low => format!("{users} < {med}"),
                    },
                    hi - 1
                ),
                format!("impact {}", impact.name()),
            ),
            step(format!("Workaround: {wa_text} → urgency {}.", urgency.name()), format!("urgency {}", urgency.name())),
            step(format!("Matrix {}/{} = SEV{base}.", impact.name(), urgency.name()), format!("SEV{base}")),
            step(
                if staging {
                    format!("Staging only: lower one level, SEV{base} → SEV{after_env}.")
                } else {
                    "Production: no environment adjustment.".to_string()
                },
                format!("SEV{after_env}"),
            ),
            step(
                if data_exposed {
                    format!("Personal data exposed: at least SEV2, so SEV{after_env} → SEV{fin}.")
                } else {
                    format!("No personal data exposed: stays SEV{fin}.")
                },
                ans,
            ),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Expense audit (free-form)

/// What an expense line is for: the policy treats each kind its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpenseKind {
    Meal,
    Hotel,
    Transport,
    Alcohol,
    Supplies,
}

#[derive(Clone)]
struct Expense {
    id: String,
    desc: String,
    kind: ExpenseKind,
    nights: i64,
    cents: i64,
    receipt: bool,
}

/// Outcome of one expense line: reimbursed cents and the reason when reduced or rejected.
fn audit_line(e: &Expense, meal_cap: i64, hotel_cap: i64, receipt_min: i64) -> (i64, Option<String>) {
    if e.cents >= receipt_min * 100 && !e.receipt {
        return (0, Some(format!("rejected: no receipt for an amount of ${receipt_min} or more")));
    }
    if e.kind == ExpenseKind::Alcohol {
        return (0, Some("rejected: alcohol is not reimbursable".into()));
    }
    if e.kind == ExpenseKind::Meal && e.cents > meal_cap * 100 {
        return (meal_cap * 100, Some(format!("reduced to the meal cap of ${meal_cap}.00")));
    }
    if e.kind == ExpenseKind::Hotel && e.cents > hotel_cap * 100 * e.nights {
        let c = hotel_cap * 100 * e.nights;
        return (
            c,
            Some(format!(
                "reduced to the hotel cap: {} night(s) × ${hotel_cap}.00 = ${}",
                e.nights,
                fixed(c as f64 / 100.0, 2)
            )),
        );
    }
    (e.cents, None)
}

params! {
    /// Parameters of `expense_audit`.
    struct ExpenseAuditParams {
        /// Most reimbursed per meal, in whole dollars.
        meal_cap: i64 = 60,
        /// Most reimbursed per hotel night, in whole dollars.
        hotel_cap: i64 = 180,
        /// Amount in whole dollars from which a line needs a receipt.
        receipt_min: i64 = 25,
    }
}

fn expense_audit(g: &mut Gen, p: &ExpenseAuditParams) -> Result<Generated> {
    let (meal_cap, hotel_cap, receipt_min) = (p.meal_cap, p.hotel_cap, p.receipt_min);
    let cities = ["Denver", "Lyon", "Osaka", "Toronto", "Porto", "Austin"];
    let city = *g.pick(&cities);
    let (items, results) = loop {
        let n = g.range(5, 7) as usize;
        let mut items = Vec::new();
        for i in 0..n {
            use ExpenseKind::{Alcohol, Hotel, Meal, Supplies, Transport};
            let kind = if i == 0 { Hotel } else { *g.pick(&[Meal, Meal, Transport, Transport, Alcohol, Supplies]) };
            let receipt = g.chance(0.75);
            let (desc, nights, cents) = match kind {
                Meal => (
                    format!("{} meal", g.pick(&["Client dinner", "Team lunch", "Breakfast", "Dinner"])),
                    0,
                    if g.chance(0.2) { meal_cap * 100 } else { g.range(12, 95) * 100 + g.range(0, 3) * 25 },
                ),
                Hotel => {
                    let nights = g.range(1, 3);
                    let per = if g.chance(0.2) { hotel_cap } else { g.range(hotel_cap - 50, hotel_cap + 60) };
                    (format!("Hotel in {city}, {nights} night(s)"), nights, per * nights * 100 + g.range(0, 1) * 50)
                }
                Transport => (
                    g.pick(&["Taxi to airport", "Train ticket", "Rideshare to venue", "Airport parking"]).to_string(),
                    0,
                    if g.chance(0.2) { receipt_min * 100 } else { g.range(8, 120) * 100 + g.range(0, 3) * 25 },
                ),
                Alcohol => (
                    g.pick(&["Hotel bar tab", "Wine with dinner", "Drinks reception"]).to_string(),
                    0,
                    g.range(15, 90) * 100,
                ),
                Supplies => (
                    g.pick(&["Printer paper and pens", "USB-C adapter", "Poster printing"]).to_string(),
                    0,
                    g.range(6, 70) * 100 + 50,
                ),
            };
            items.push(Expense { id: format!("E{}", i + 1), desc, kind, nights, cents, receipt });
        }
        let results: Vec<(i64, Option<String>)> =
            items.iter().map(|e| audit_line(e, meal_cap, hotel_cap, receipt_min)).collect();
        if results.iter().any(|r| r.1.is_some()) {
            break (items, results);
        }
    };
    let lines: Vec<String> = items
        .iter()
        .map(|e| {
            format!(
                "- {}: {}, ${}, receipt: {}",
                e.id,
                e.desc,
                fixed(e.cents as f64 / 100.0, 2),
                if e.receipt { "yes" } else { "no" }
            )
        })
        .collect();
    let prompt = format!(
        "Travel expense policy:\n1. Any line of ${receipt_min}.00 or more must have a receipt; a line without one is \
         rejected in full.\n2. Alcohol is never reimbursable.\n3. Meals are reimbursed up to ${meal_cap}.00 per meal; \
         anything above the cap is not paid.\n4. Hotels are reimbursed up to ${hotel_cap}.00 per night.\n\
         5. Everything else is reimbursed in full.\n\nExpense report for a trip to {city}:\n\
         {}\n\nAudit the report: list each line that is rejected or reduced, with the reason, and state the total \
         reimbursable amount in dollars (2 decimal places).",
        lines.join("\n")
    );
    let total: i64 = results.iter().map(|r| r.0).sum();
    let total_text = fixed(total as f64 / 100.0, 2);
    let flagged: Vec<String> = items
        .iter()
        .zip(&results)
        .filter_map(|(e, r)| r.1.as_ref().map(|why| format!("{} ({}): {why}", e.id, e.desc)))
        .collect();
    let flagged_ids: Vec<String> =
        items.iter().zip(&results).filter(|(_, r)| r.1.is_some()).map(|(e, _)| e.id.clone()).collect();
    type Verdict = (i64, Option<String>);
    let pick_lines = |pred: &dyn Fn(&Expense, &Verdict) -> bool| -> Vec<String> {
        items.iter().zip(&results).filter(|(e, r)| pred(e, r)).map(|(e, _)| e.id.clone()).collect()
    };
    let no_receipt = pick_lines(&|e, _| e.cents >= receipt_min * 100 && !e.receipt);
    let alcohol =
        pick_lines(&|e, r| e.kind == ExpenseKind::Alcohol && r.1.as_deref().is_some_and(|w| w.contains("alcohol")));
    let capped = pick_lines(&|_, r| r.1.as_deref().is_some_and(|w| w.starts_with("reduced")));
    let approved: Vec<String> =
        items.iter().zip(&results).map(|(e, r)| format!("{} ${}", e.id, fixed(r.0 as f64 / 100.0, 2))).collect();
    let mut reasons: Vec<&str> = Vec::new();
    if !no_receipt.is_empty() {
        reasons.push("receipt");
    }
    if !alcohol.is_empty() {
        reasons.push("alcohol");
    }
    if !capped.is_empty() {
        reasons.push("cap");
    }
    let answer = format!("Flagged lines:\n- {}\nTotal reimbursable: ${total_text}", flagged.join("\n- "));
    let id_refs: Vec<&str> = flagged_ids.iter().map(String::as_str).collect();
    Ok(free_form(
        prompt,
        answer,
        [
            step(
                format!(
                    "Receipt rule (≥ ${receipt_min}.00 needs a receipt): rejected {}.",
                    list_or(&no_receipt, "none")
                ),
                format!("no-receipt rejects: {}", list_or(&no_receipt, "none")),
            ),
            step(
                format!("Alcohol lines (not reimbursable): {}.", list_or(&alcohol, "none")),
                format!("alcohol rejects: {}", list_or(&alcohol, "none")),
            ),
            step(
                format!(
                    "Caps (meal ${meal_cap}.00/meal, hotel ${hotel_cap}.00/night): reduced {}.",
                    list_or(&capped, "none")
                ),
                format!("capped: {}", list_or(&capped, "none")),
            ),
            step(
                format!("Approved amounts: {} → total ${total_text}.", approved.join(" + ")),
                format!("${total_text}"),
            ),
            step(
                format!("Report: {}; total ${total_text}.", flagged.join("; ")),
                format!("{} flagged, ${total_text}", flagged.len()),
            ),
        ],
        vec![
            criterion("states the total reimbursable amount", &[&total_text]),
            criterion("lists every rejected or reduced line", &id_refs),
            criterion("gives the policy reason for each flagged line", &reasons),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Weight and balance (free-form)

/// Totals and verdict for a loading: (total weight, total moment, CG, violated limits).
pub(crate) fn weight_balance(
    loads: &[(f64, f64)],
    mtow: f64,
    cg_range: (f64, f64),
    baggage: f64,
    baggage_max: f64,
) -> (f64, f64, f64, Vec<&'static str>) {
    let w: f64 = loads.iter().map(|l| l.0).sum();
    let m: f64 = loads.iter().map(|l| l.0 * l.1).sum();
    let cg = m / w;
    let mut bad = Vec::new();
    if w > mtow {
        bad.push("maximum takeoff weight");
    }
    if cg < cg_range.0 {
        bad.push("forward CG limit");
    }
    if cg > cg_range.1 {
        bad.push("aft CG limit");
    }
    if baggage > baggage_max {
        bad.push("baggage limit");
    }
    (w, m, cg, bad)
}

params! {
    /// Parameters of `weight_balance_go`.
    struct WeightBalanceGoParams {
        /// Maximum takeoff weight in lb.
        max_takeoff_weight: f64 = 2550.0,
        /// Forward CG limit in inches aft of datum.
        cg_forward: f64 = 35.0,
        /// Aft CG limit in inches aft of datum.
        cg_aft: f64 = 47.3,
        /// Baggage limit in lb.
        baggage_max: f64 = 120.0,
    }
}

fn weight_balance_go(g: &mut Gen, p: &WeightBalanceGoParams) -> Result<Generated> {
    let mtow = p.max_takeoff_weight;
    let (fwd, aft) = (p.cg_forward, p.cg_aft);
    let baggage_max = p.baggage_max;
    let (empty, empty_arm, front, rear, bag, gal) = retry(g, |g| {
        let empty = g.range(1450, 1700) as f64;
        let empty_arm = g.range(385, 405) as f64 / 10.0;
        let front = (g.range(130, 230) + g.range(0, 220)) as f64;
        let rear = if g.chance(0.7) { (g.range(0, 240) + g.range(0, 200)) as f64 } else { 0.0 };
        let bag = if g.chance(0.15) { baggage_max } else { g.range(0, 150) as f64 };
        let gal = g.range(15, 53) as f64;
        let loads = [(empty, empty_arm), (front, 37.0), (rear, 73.0), (bag, 95.0), (gal * 6.0, 48.0)];
        let (w, _, cg, _) = weight_balance(&loads, mtow, (fwd, aft), bag, baggage_max);
        if (cg - fwd).abs() < 0.15 || (cg - aft).abs() < 0.15 || near_half(cg, 1) || (w - mtow).abs() < 1.0 && w != mtow
        {
            return None;
        }
        Some((empty, empty_arm, front, rear, bag, gal))
    })?;
    let fuel = gal * 6.0;
    let loads = [(empty, empty_arm), (front, 37.0), (rear, 73.0), (bag, 95.0), (fuel, 48.0)];
    let (w, m, cg, bad) = weight_balance(&loads, mtow, (fwd, aft), bag, baggage_max);
    let names = ["Empty aircraft", "Front seats", "Rear seats", "Baggage", "Fuel"];
    let tail = g.pick(&["N512TC", "N73KP", "G-BXRA", "C-FQWE", "N2219L"]);
    let prompt = format!(
        "Aircraft {tail} (single-engine, four seats). Limits: maximum takeoff weight {} lb; CG range {} in to {} in \
         aft of datum (limits inclusive); baggage limit {} lb. Fuel weighs 6 lb per US gallon.\n\
         Arms: empty aircraft {} in, front seats 37.0 in, rear seats 73.0 in, baggage 95.0 in, fuel 48.0 in.\n\
         Loading: empty weight {} lb; pilot and front passenger {} lb together; rear passengers {} lb; baggage {} lb; \
         fuel {} gal.\nDecide GO or NO-GO for takeoff. Give the total weight (lb), the CG (in, 1 decimal place) and \
         name any limit that is exceeded.",
        trim(mtow, 1),
        fixed(fwd, 1),
        fixed(aft, 1),
        trim(baggage_max, 1),
        fixed(empty_arm, 1),
        trim(empty, 0),
        trim(front, 0),
        trim(rear, 0),
        trim(bag, 0),
        trim(gal, 0)
    );
    let decision = if bad.is_empty() { "GO" } else { "NO-GO" };
    let w_text = trim(w, 0);
    let cg_text = fixed(cg, 1);
    let moments: Vec<String> = loads
        .iter()
        .zip(names)
        .map(|((lw, arm), n)| format!("{n} {} × {} = {}", trim(*lw, 0), fixed(*arm, 1), trim(lw * arm, 1)))
        .collect();
    let answer = if bad.is_empty() {
        format!(
            "GO. Total weight {w_text} lb (fuel {} gal × 6 = {} lb) is within the {} lb maximum takeoff weight, the \
             CG is {cg_text} in, inside {}–{} in, and the baggage ({} lb) is within its limit. All limits are met.",
            trim(gal, 0),
            trim(fuel, 0),
            trim(mtow, 0),
            fixed(fwd, 1),
            fixed(aft, 1),
            trim(bag, 0)
        )
    } else {
        format!(
            "NO-GO. Total weight {w_text} lb (fuel {} gal × 6 = {} lb), total moment {} lb·in, CG {cg_text} in \
             (limits {}–{} in, maximum takeoff weight {} lb, baggage limit {} lb). Exceeded: {}.",
            trim(gal, 0),
            trim(fuel, 0),
            trim(m, 1),
            fixed(fwd, 1),
            fixed(aft, 1),
            trim(mtow, 0),
            trim(baggage_max, 0),
            bad.join(", ")
        )
    };
    let mut rubric = vec![
        criterion("states the GO/NO-GO decision", &[decision]),
        criterion("gives the total weight including fuel converted at 6 lb/gal", &[&w_text]),
        criterion("gives the CG to 1 decimal place", &[&cg_text]),
    ];
    rubric.push(if bad.is_empty() {
        criterion("confirms that weight, CG and baggage are all within limits", &[])
    } else {
        criterion("names every limit that is exceeded", &bad)
    });
    Ok(free_form(
        prompt,
        answer,
        [
            step(
                format!("Fuel = {} gal × 6 lb/gal = {} lb.", trim(gal, 0), trim(fuel, 0)),
                format!("{} lb fuel", trim(fuel, 0)),
            ),
            step(
                format!(
                    "Total weight = {} = {w_text} lb; limit {} lb.",
                    loads.iter().map(|l| trim(l.0, 0)).collect::<Vec<_>>().join(" + "),
                    trim(mtow, 0)
                ),
                format!("{w_text} lb"),
            ),
            step(
                format!("{}; total moment = {} lb·in.", moments.join("; "), trim(m, 1)),
                format!("{} lb·in", trim(m, 1)),
            ),
            step(
                format!("CG = {} ÷ {w_text} = {} in ≈ {cg_text} in.", trim(m, 1), trim(cg, 3)),
                format!("{cg_text} in"),
            ),
            step(
                format!(
                    "Weight {w_text} {} {}; CG {cg_text} in range {}–{}: {}; baggage {} {} {} → {}.",
                    if w <= mtow { "≤" } else { ">" },
                    trim(mtow, 0),
                    fixed(fwd, 1),
                    fixed(aft, 1),
                    if cg >= fwd && cg <= aft { "inside" } else { "outside" },
                    trim(bag, 0),
                    if bag <= baggage_max { "≤" } else { ">" },
                    trim(baggage_max, 0),
                    if bad.is_empty() { "all limits met".to_string() } else { format!("exceeded: {}", bad.join(", ")) }
                ),
                decision,
            ),
        ],
        rubric,
    ))
}

// ---------------------------------------------------------------------------------------
// Dosing window

/// Earliest next dose (minutes on the task's clock) and its candidate times:
/// (interval rule, 24-hour maximum rule, interaction rule).
pub(crate) fn next_dose(
    doses: &[i64],
    now: i64,
    interval_h: i64,
    max_per_24h: usize,
    antacid: Option<(i64, i64)>,
) -> (i64, i64, Option<i64>, Option<i64>) {
    let last = *doses.iter().max().expect("at least one dose");
    let by_interval = last + interval_h * 60;
    let mut sorted = doses.to_vec();
    sorted.sort();
    let by_max = (sorted.len() >= max_per_24h).then(|| sorted[sorted.len() - max_per_24h] + 24 * 60);
    let by_antacid = antacid.map(|(t, sep)| t + sep * 60);
    let earliest = [Some(now), Some(by_interval), by_max, by_antacid].into_iter().flatten().max().unwrap();
    (earliest, by_interval, by_max, by_antacid)
}

params! {
    /// Parameters of `dosing_window`.
    struct DosingWindowParams {
        /// Drug names.
        drugs: NonEmpty<String> = words(&["Drug P", "Drug Q", "Drug R", "Drug T", "Drug V"]),
    }
}

fn dosing_window(g: &mut Gen, p: &DosingWindowParams) -> Result<Generated> {
    let drug = g.pick(&p.drugs).clone();
    let patient = *g.pick(&["Mr. Alvarez", "Ms. Okafor", "Mrs. Lindqvist", "Mr. Tanaka", "Ms. Haddad"]);
    let (interval_h, max_n) = *g.pick(&[(4i64, 4usize), (4, 3), (6, 3), (3, 5), (4, 5), (6, 4), (8, 3)]);
    let day = 24 * 60;
    let now = day + g.range(6 * 4, 22 * 4) * 15;
    let count = g.range(2, max_n as i64 + 1) as usize;
    let mut doses = vec![now - g.range(2, interval_h * 4 + 8) * 15];
    while doses.len() < count {
        let prev = *doses.last().unwrap();
        let mut t = prev - interval_h * 60 - g.range(0, 12) * 15;
        // Keep the history itself legal: any max_n + 1 consecutive doses span at least 24 h.
        if doses.len() >= max_n {
            t = t.min(doses[doses.len() - max_n] - day - g.range(0, 8) * 15);
        }
        if t < 0 {
            break;
        }
        doses.push(t);
    }
    doses.reverse();
    let antacid = g.chance(0.45).then(|| (now - g.range(0, 12) * 10, *g.pick(&[2i64, 3])));
    let (earliest, by_interval, by_max, by_antacid) = next_dose(&doses, now, interval_h, max_n, antacid);
    let when = |t: i64| -> String {
        if t < day {
            format!("yesterday {}", hhmm(t))
        } else if t < 2 * day {
            format!("today {}", hhmm(t))
        } else {
            format!("tomorrow {}", hhmm(t))
        }
    };
    let dose_list = doses.iter().map(|d| when(*d)).collect::<Vec<_>>().join(", ");
    let antacid_text = match antacid {
        Some((t, sep)) => format!(
            " {patient} also took an antacid {}; {drug} must not be taken within {sep} hours after an antacid.",
            when(t)
        ),
        None => String::new(),
    };
    let prompt = format!(
        "{drug} rules: at least {interval_h} hours between doses, and no more than {max_n} doses in any 24-hour \
         period (a dose stops counting toward the limit exactly 24 hours after it was taken).\n\
         {patient} took {drug} at: {dose_list}.{antacid_text}\nIt is now today {}. What is the earliest time \
         {patient} may take the next dose? Answer in 24-hour HH:MM (it may fall tomorrow; give the clock time only).",
        hhmm(now)
    );
    let ans = hhmm(earliest);
    let nth = doses.len().checked_sub(max_n).map(|i| doses[i]);
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!("Doses in time order: {dose_list}; now is today {}.", hhmm(now)),
                format!("{} doses, last {}", doses.len(), when(*doses.last().unwrap())),
            ),
            step(
                format!("Interval rule: {} + {interval_h} h = {}.", when(*doses.last().unwrap()), when(by_interval)),
                when(by_interval),
            ),
            step(
                match (by_max, nth) {
                    (Some(t), Some(d)) => format!(
                        "{} doses ≥ limit {max_n}: the dose {max_n} doses back ({}) must age out, at {}.",
                        doses.len(),
                        when(d),
                        when(t)
                    ),
                    _ => format!(
                        "Only {} doses taken, fewer than {max_n}: the 24-hour limit does not bind.",
                        doses.len()
                    ),
                },
                by_max.map(when).unwrap_or_else(|| "no constraint".into()),
            ),
            step(
                match (antacid, by_antacid) {
                    (Some((t, sep)), Some(b)) => format!("Antacid at {} + {sep} h = {}.", when(t), when(b)),
                    _ => "No antacid taken: no interaction constraint.".to_string(),
                },
                by_antacid.map(when).unwrap_or_else(|| "no constraint".into()),
            ),
            step(format!("Latest of now and all constraints = {} → {ans}.", when(earliest)), ans),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Cold-chain log

/// Decision for readings in tenths of a degree (any unit) against limits in the same tenths,
/// each reading covering `interval` minutes: (out-of-range count, excursion minutes, any
/// freeze, any hot, decision).
pub(crate) fn cold_chain_decision(
    tenths: &[i64],
    interval: i64,
    (lo, hi, freeze_lim, hot_lim): (i64, i64, i64, i64),
) -> (usize, i64, bool, bool, &'static str) {
    let out = tenths.iter().filter(|t| **t < lo || **t > hi).count();
    let minutes = out as i64 * interval;
    let freeze = tenths.iter().any(|t| *t < freeze_lim);
    let hot = tenths.iter().any(|t| *t > hot_lim);
    let d = if freeze {
        "DISCARD"
    } else if hot || minutes > 60 {
        "QUARANTINE"
    } else if out > 0 {
        "REPORT"
    } else {
        "USE"
    };
    (out, minutes, freeze, hot, d)
}

params! {
    /// Parameters of `cold_chain_log`.
    struct ColdChainLogParams {
        /// Names of the stored product.
        products: NonEmpty<String> = words(&[
            "influenza vaccine", "hepatitis B vaccine", "insulin pens", "MMR vaccine", "tetanus toxoid",
        ]),
    }
}

/// The cold-chain decision rules, in the order [`cold_chain_decision`] applies them.
const COLD_CHAIN_RULES: &str = "\
Decide in this order:
1. Any reading below 0.0 °C → DISCARD.
2. Otherwise, any reading above 12.0 °C, or more than 60 minutes in total outside 2.0–8.0 °C → QUARANTINE.
3. Otherwise, any time outside 2.0–8.0 °C → REPORT (use, but file an excursion report).
4. Otherwise → USE.
(°F = °C × 9/5 + 32.)";

fn cold_chain_log(g: &mut Gen, p: &ColdChainLogParams) -> Result<Generated> {
    let product = g.pick(&p.products).clone();
    let fahrenheit = g.chance(0.4);
    let interval = *g.pick(&[10i64, 15, 20, 30]);
    let n = g.range(8, 14) as usize;
    // Readings in tenths of the log's unit; classification works on tenths of °C limits mapped to the unit.
    // °F limits in tenths: 0.0 °C = 320, 2.0 °C = 356, 8.0 °C = 464, 12.0 °C = 536.
    let (lo_in, hi_in, freeze_lim, hot_lim) = if fahrenheit { (356, 464, 320, 536) } else { (20, 80, 0, 120) };
    let mut r: Vec<i64> = (0..n).map(|_| g.range(lo_in + 10, hi_in - 10)).collect();
    if g.chance(0.3) {
        let i = g.range(0, n as i64 - 1) as usize;
        r[i] = *g.pick(&[lo_in, hi_in]);
    }
    let blocks = g.range(0, 2);
    for _ in 0..blocks {
        let len = g.range(1, 4) as usize;
        let start = g.range(0, (n - len) as i64) as usize;
        let cat = g.range(0, 9);
        for v in r.iter_mut().skip(start).take(len) {
            *v = match cat {
                0..=3 => g.range(hi_in + 1, hot_lim),          // mild high (up to exactly 12.0 °C)
                4 => g.range(hot_lim + 1, hot_lim + 40),       // hard high
                5 | 6 => g.range(freeze_lim, lo_in - 1),       // low, not frozen (0.0 counts as not frozen)
                _ => g.range(freeze_lim - 15, freeze_lim - 1), // frozen
            };
        }
    }
    // Classify with integer tenths in the log's own unit.
    let (out, minutes, freeze, hot, decision) = cold_chain_decision(&r, interval, (lo_in, hi_in, freeze_lim, hot_lim));
    let unit = if fahrenheit { "°F" } else { "°C" };
    let start = g.range(0, 20) * 30;
    let log = r
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{} {}", hhmm(start + i as i64 * interval), fixed(*v as f64 / 10.0, 1)))
        .collect::<Vec<_>>()
        .join(", ");
    let prompt = format!(
        "Storage rules for {product}: keep between 2.0 °C and 8.0 °C inclusive. Each logged reading stands for the \
         {interval} minutes until the next reading. {COLD_CHAIN_RULES}\n\
         \nThe fridge logger records in {unit}, every {interval} minutes: {log}.\n\
         What is the decision? Answer with one word: DISCARD, QUARANTINE, REPORT or USE."
    );
    let f = |c: f64| {
        if fahrenheit { format!("{} °F", fixed(c * 9.0 / 5.0 + 32.0, 1)) } else { format!("{} °C", fixed(c, 1)) }
    };
    let outs: Vec<String> = r
        .iter()
        .enumerate()
        .filter(|(_, t)| **t < lo_in || **t > hi_in)
        .map(|(i, t)| format!("{} ({})", hhmm(start + i as i64 * interval), fixed(*t as f64 / 10.0, 1)))
        .collect();
    Ok(exact(
        prompt,
        decision.to_string(),
        [
            step(
                format!(
                    "Limits in {unit}: range {}–{}, freeze below {}, hot above {}.",
                    f(2.0),
                    f(8.0),
                    f(0.0),
                    f(12.0)
                ),
                format!("{}–{}", f(2.0), f(8.0)),
            ),
            step(
                format!("Readings outside the range (limits inclusive): {}.", list_or(&outs, "none")),
                format!("{out} out of range"),
            ),
            step(format!("Excursion time = {out} × {interval} min = {minutes} min."), format!("{minutes} min")),
            step(
                format!(
                    "Below {}: {}; above {}: {}.",
                    f(0.0),
                    if freeze { "yes" } else { "no" },
                    f(12.0),
                    if hot { "yes" } else { "no" }
                ),
                format!("freeze {}, hot {}", if freeze { "yes" } else { "no" }, if hot { "yes" } else { "no" }),
            ),
            step(
                format!(
                    "Apply in order: freeze → DISCARD; hot or > 60 min ({minutes} min) → QUARANTINE; any excursion → \
                     REPORT; else USE. Result: {decision}."
                ),
                decision,
            ),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Access review

params! {
    /// Parameters of `access_review_count`.
    struct AccessReviewCountParams {
        /// Account names (6 to 9 are drawn).
        names: NonEmpty<String> = words(&[
            "a.kim", "b.osei", "c.novak", "d.reyes", "e.haas", "f.ito", "g.mensah", "h.silva", "i.petrov", "j.duarte",
            "k.lund", "l.wang",
        ]),
        /// Days since the last login above which an account is revoked.
        max_idle_days: i64 = 90,
    }
}

fn access_review_count(g: &mut Gen, p: &AccessReviewCountParams) -> Result<Generated> {
    let names = &p.names;
    let max_idle = p.max_idle_days;
    let review = days_from_civil(2025, g.range(1, 12), g.range(1, 28));
    let n = g.range(6, 9).min(names.len() as i64) as usize;
    let who = g.distinct(names.len(), n);
    struct Acct {
        name: String,
        contractor: bool,
        admin: bool,
        idle: i64,
        mfa: bool,
        end: Option<i64>,
    }
    let accts: Vec<Acct> = who
        .iter()
        .map(|&i| {
            let contractor = g.chance(0.4);
            let idle = match g.range(0, 5) {
                0 => max_idle,
                1 => max_idle + 1,
                2 => g.range(max_idle + 2, max_idle + 200),
                _ => g.range(0, max_idle - 1),
            };
            let end =
                contractor.then(|| review + *g.pick(&[0, -1, 1]) * if g.chance(0.4) { 1 } else { g.range(1, 60) });
            Acct { name: names[i].clone(), contractor, admin: g.chance(0.35), idle, mfa: g.chance(0.6), end }
        })
        .collect();
    let rows: Vec<String> = accts
        .iter()
        .map(|a| {
            format!(
                "- {}: {}, role {}, last login {} days ago, MFA {}{}",
                a.name,
                if a.contractor { "contractor" } else { "employee" },
                if a.admin { "admin" } else { "standard" },
                a.idle,
                if a.mfa { "on" } else { "off" },
                a.end.map(|e| format!(", contract ends {}", ymd(e))).unwrap_or_default()
            )
        })
        .collect();
    let review_text = ymd(review);
    let prompt = format!(
        "Quarterly access review on {review_text}. Revoke an account if ANY of these holds:\n\
         A. its last login was more than {max_idle} days ago;\nB. it belongs to a contractor whose contract end date \
         is before the review date;\nC. it has the admin role and MFA is off.\n\
         \nAccounts:\n{}\n\nHow many accounts must be revoked? (An account that breaks several rules counts once.) \
         Answer with the number only.",
        rows.join("\n")
    );
    let a_list: Vec<String> = accts.iter().filter(|a| a.idle > max_idle).map(|a| a.name.clone()).collect();
    let b_list: Vec<String> =
        accts.iter().filter(|a| a.end.is_some_and(|e| e < review)).map(|a| a.name.clone()).collect();
    let c_list: Vec<String> = accts.iter().filter(|a| a.admin && !a.mfa).map(|a| a.name.clone()).collect();
    let union: Vec<String> = accts
        .iter()
        .filter(|a| a.idle > max_idle || a.end.is_some_and(|e| e < review) || (a.admin && !a.mfa))
        .map(|a| a.name.clone())
        .collect();
    let ans = union.len().to_string();
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!("Rule A (idle > {max_idle} days; exactly {max_idle} is kept): {}.", list_or(&a_list, "none")),
                format!("A: {}", a_list.len()),
            ),
            step(
                format!(
                    "Rule B (contract ended before {review_text}; ending on it is kept): {}.",
                    list_or(&b_list, "none")
                ),
                format!("B: {}", b_list.len()),
            ),
            step(format!("Rule C (admin with MFA off): {}.", list_or(&c_list, "none")), format!("C: {}", c_list.len())),
            step(
                format!("Union of A, B and C without duplicates: {}.", list_or(&union, "none")),
                list_or(&union, "none"),
            ),
            step(format!("{} distinct accounts to revoke.", union.len()), ans),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Allergen screen (free-form)

const INGREDIENTS: &[(&str, &[&str])] = &[
    ("wheat flour", &["gluten"]),
    ("soy sauce", &["soy", "gluten"]),
    ("butter", &["milk"]),
    ("parmesan", &["milk"]),
    ("pine nuts", &["tree nuts"]),
    ("peanut oil", &["peanuts"]),
    ("egg noodles", &["egg", "gluten"]),
    ("tahini", &["sesame"]),
    ("Worcestershire sauce", &["fish"]),
    ("mayonnaise", &["egg"]),
    ("almond milk", &["tree nuts"]),
    ("miso paste", &["soy"]),
    ("shrimp", &["shellfish"]),
    ("cream", &["milk"]),
    ("olive oil", &[]),
    ("rice", &[]),
    ("tomatoes", &[]),
    ("basil", &[]),
    ("garlic", &[]),
    ("chicken thighs", &[]),
    ("potatoes", &[]),
    ("lemon juice", &[]),
    ("rice flour", &[]),
    ("spinach", &[]),
];

/// Labels of store-bought items: (name, contains, may contain).
const LABELED: &[(&str, &[&str], &[&str])] = &[
    ("dark chocolate chips", &[], &["milk", "tree nuts"]),
    ("granola", &["gluten"], &["peanuts"]),
    ("vegetable stock cubes", &[], &["gluten", "soy"]),
    ("curry paste", &["shellfish"], &[]),
    ("sesame crackers", &["sesame", "gluten"], &[]),
    ("sunflower seed butter", &[], &["peanuts", "tree nuts"]),
    ("corn tortillas", &[], &[]),
];

params! {
    /// Parameters of `allergen_screen`.
    struct AllergenScreenParams {
        /// Names of the dish screened.
        dishes: NonEmpty<String> = words(&["stir-fry", "pasta bake", "grain bowl", "curry", "salad", "tray bake"]),
    }
}

fn allergen_screen(g: &mut Gen, p: &AllergenScreenParams) -> Result<Generated> {
    let dish = g.pick(&p.dishes).clone();
    let guest = *g.pick(&["Priya", "Tom", "Lea", "Kwame", "Sofia", "Jun"]);
    let groups = ["gluten", "milk", "egg", "soy", "tree nuts", "peanuts", "sesame", "fish", "shellfish"];
    let n_plain = g.range(4, 6) as usize;
    let plain: Vec<usize> = g.distinct(INGREDIENTS.len(), n_plain);
    let n_labeled = g.range(1, 2) as usize;
    let labeled: Vec<usize> = g.distinct(LABELED.len(), n_labeled);
    // Usually pick an allergen the recipe actually carries, so most screens have something to find.
    let present: Vec<&str> = groups
        .iter()
        .copied()
        .filter(|a| {
            plain.iter().any(|&i| INGREDIENTS[i].1.contains(a))
                || labeled.iter().any(|&i| LABELED[i].1.contains(a) || LABELED[i].2.contains(a))
        })
        .collect();
    let mut allergies: Vec<&str> = Vec::new();
    if !present.is_empty() && g.chance(0.7) {
        allergies.push(*g.pick(&present));
    }
    let k = if g.chance(0.4) { 2 } else { 1 };
    for i in g.distinct(groups.len(), groups.len()) {
        if allergies.len() >= k {
            break;
        }
        if !allergies.contains(&groups[i]) {
            allergies.push(groups[i]);
        }
    }
    // Recipe lines: plain ingredients then labeled items, with the table of allergen groups.
    let mut offenders: Vec<(String, Vec<String>)> = Vec::new();
    let mut recipe = Vec::new();
    let mut checks = Vec::new();
    for &i in &plain {
        let (name, al) = INGREDIENTS[i];
        recipe.push(name.to_string());
        let hit: Vec<String> = al.iter().filter(|a| allergies.contains(a)).map(|a| a.to_string()).collect();
        checks.push(format!("{name}: {}", list_or(al, "none")));
        if !hit.is_empty() {
            offenders.push((name.to_string(), hit));
        }
    }
    let mut label_lines = Vec::new();
    let mut label_checks = Vec::new();
    for &i in &labeled {
        let (name, contains, may) = LABELED[i];
        recipe.push(name.to_string());
        label_lines.push(format!(
            "- {name}: contains {}; may contain {}",
            list_or(contains, "none"),
            list_or(may, "none")
        ));
        let mut hit: Vec<String> =
            contains.iter().chain(may.iter()).filter(|a| allergies.contains(a)).map(|a| a.to_string()).collect();
        hit.dedup();
        label_checks.push(format!(
            "{name}: contains {}, may contain {}",
            list_or(contains, "none"),
            list_or(may, "none")
        ));
        if !hit.is_empty() {
            offenders.push((name.to_string(), hit));
        }
    }
    let table = plain
        .iter()
        .map(|&i| {
            let (name, al) = INGREDIENTS[i];
            format!("- {name}: {}", list_or(al, "none"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let allergy_text = allergies.join(" and ");
    let prompt = format!(
        "{guest} is coming to dinner and has a severe allergy to {allergy_text}. Kitchen rule: an ingredient is \
         unsafe if it contains the allergen OR its label says it \"may contain\" the allergen.\n\
         The {dish} uses: {}.\nAllergen groups of the fresh ingredients:\n\
         {table}\nPackaged items (from their labels):\n{}\nScreen the recipe for {guest}: give a PASS or FAIL verdict \
         and name every unsafe ingredient with the allergen it carries.",
        recipe.join(", "),
        label_lines.join("\n")
    );
    let verdict = if offenders.is_empty() { "PASS" } else { "FAIL" };
    let off_text: Vec<String> = offenders.iter().map(|(n, a)| format!("{n} ({})", a.join(", "))).collect();
    let answer = if offenders.is_empty() {
        format!(
            "PASS. None of the ingredients, including the packaged items' \"may contain\" warnings, carries \
             {allergy_text}, so the {dish} is safe for {guest}."
        )
    } else {
        format!("FAIL. The {dish} is not safe for {guest}: unsafe ingredients are {}.", off_text.join("; "))
    };
    let mut rubric = vec![criterion("gives the PASS/FAIL verdict", &[verdict])];
    let names: Vec<&str> = offenders.iter().map(|(n, _)| n.as_str()).collect();
    let mut als: Vec<&str> = offenders.iter().flat_map(|(_, a)| a.iter().map(String::as_str)).collect();
    als.sort();
    als.dedup();
    if offenders.is_empty() {
        rubric.push(criterion("confirms no ingredient or label warning carries the guest's allergens", &[]));
    } else {
        rubric.push(criterion("names every unsafe ingredient, including 'may contain' items", &names));
        rubric.push(criterion("names the allergen each unsafe ingredient carries", &als));
    }
    Ok(free_form(
        prompt,
        answer,
        [
            step(
                format!("Guest's allergens: {allergy_text}. Ingredients: {}.", recipe.join(", ")),
                allergy_text.clone(),
            ),
            step(format!("Fresh ingredients: {}.", checks.join("; ")), "groups looked up"),
            step(
                format!("Packaged items (may-contain counts as contains): {}.", label_checks.join("; ")),
                "labels read",
            ),
            step(
                format!("Matches with {allergy_text}: {}.", list_or(&off_text, "none")),
                format!("{} unsafe", offenders.len()),
            ),
            step(format!("Verdict: {verdict}."), verdict),
        ],
        rubric,
    ))
}

// ---------------------------------------------------------------------------------------
// Stair code check

/// An eighth-inch count as a mixed number (`61` → `7 5/8`).
pub(crate) fn eighths(n: i64) -> String {
    let (whole, frac) = (n / 8, n % 8);
    let f = match frac {
        0 => return format!("{whole}"),
        2 => "1/4".to_string(),
        4 => "1/2".to_string(),
        6 => "3/4".to_string(),
        x => format!("{x}/8"),
    };
    if whole == 0 { f } else { format!("{whole} {f}") }
}

/// The five stair rules a task checks.
const STAIR_RULES: &str = "\
Residential stair rules (1 in = 2.54 cm, 1 ft = 12 in):
1. Riser height: at most 7 3/4 in (every riser).
2. Riser variation: the tallest and shortest risers may differ by at most 3/8 in.
3. Tread depth: at least 10 in.
4. Handrail height: 34 in to 38 in, inclusive.
5. Headroom: at least 6 ft 8 in.";

fn stair_code_check(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    // Measurements in eighths of an inch except where given in cm.
    let n = g.range(4, 6) as usize;
    let base = g.range(56, 64); // 7 to 8 in
    let spread = *g.pick(&[0i64, 1, 2, 3, 3, 4]);
    let mut risers: Vec<i64> = (0..n).map(|_| base + g.range(0, spread)).collect();
    if spread > 0 {
        risers[0] = base;
        risers[n - 1] = base + spread;
    }
    let tread_cm = g.chance(0.4);
    let (tread_in, tread_text) = if tread_cm {
        let cm = *g.pick(&[24.0, 25.0, 25.4, 26.0, 27.0, 28.0]);
        (cm / 2.54, format!("{} cm", trim(cm, 1)))
    } else {
        let e = g.range(76, 88);
        (e as f64 / 8.0, format!("{} in", eighths(e)))
    };
    let rail_in_e = *g.pick(&[264i64, 272, 280, 296, 304, 312]); // 33–39 in
    let rail_cm = g.chance(0.35);
    let rail_in = rail_in_e as f64 / 8.0;
    let rail_text =
        if rail_cm { format!("{} cm", fixed(rail_in * 2.54, 2)) } else { format!("{} in", eighths(rail_in_e)) };
    let head_in = g.range(77, 84);
    let head_text = format!("{} ft {} in", head_in / 12, head_in % 12);
    let max_r = *risers.iter().max().unwrap();
    let min_r = *risers.iter().min().unwrap();
    let fail_riser = max_r > 62; // 7 3/4 in = 62 eighths
    let fail_var = max_r - min_r > 3; // 3/8 in
    let fail_tread = tread_in < 10.0 - 1e-9;
    let fail_rail = !(34.0 - 1e-9..=38.0 + 1e-9).contains(&rail_in);
    let fail_head = head_in < 80;
    let fails: Vec<&str> = [
        (fail_riser, "riser height"),
        (fail_var, "riser variation"),
        (fail_tread, "tread depth"),
        (fail_rail, "handrail height"),
        (fail_head, "headroom"),
    ]
    .into_iter()
    .filter(|(f, _)| *f)
    .map(|(_, n)| n)
    .collect();
    let riser_text = risers.iter().map(|r| format!("{} in", eighths(*r))).collect::<Vec<_>>().join(", ");
    let prompt = format!(
        "{STAIR_RULES}\n\nInspection of a stair: risers measured {riser_text}; tread depth {tread_text}; handrail \
         height {rail_text}; headroom {head_text}.\nHow many of the five rules does the stair fail? Answer with the \
         number only."
    );
    let yn = |f: bool| if f { "FAIL" } else { "pass" };
    Ok(exact(
        prompt,
        fails.len().to_string(),
        [
            step(
                format!(
                    "In inches: risers {}; tread {tread_text} = {} in; handrail {rail_text} = {} in; headroom \
                     {head_text} = {head_in} in.",
                    risers.iter().map(|r| trim(*r as f64 / 8.0, 3)).collect::<Vec<_>>().join(", "),
                    trim(tread_in, 3),
                    trim(rail_in, 3)
                ),
                "all in inches",
            ),
            step(
                format!(
                    "Tallest riser {} in vs 7.75 in: {}; variation {} − {} = {} in vs 0.375 in: {}.",
                    trim(max_r as f64 / 8.0, 3),
                    yn(fail_riser),
                    trim(max_r as f64 / 8.0, 3),
                    trim(min_r as f64 / 8.0, 3),
                    trim((max_r - min_r) as f64 / 8.0, 3),
                    yn(fail_var)
                ),
                format!("riser {}, variation {}", yn(fail_riser), yn(fail_var)),
            ),
            step(
                format!("Tread {} in vs at least 10 in: {}.", trim(tread_in, 3), yn(fail_tread)),
                format!("tread {}", yn(fail_tread)),
            ),
            step(
                format!(
                    "Handrail {} in vs 34–38 in: {}; headroom {head_in} in vs 80 in: {}.",
                    trim(rail_in, 3),
                    yn(fail_rail),
                    yn(fail_head)
                ),
                format!("handrail {}, headroom {}", yn(fail_rail), yn(fail_head)),
            ),
            step(format!("Failed rules: {} → {}.", list_or(&fails, "none"), fails.len()), fails.len().to_string()),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Form validation

/// Which fields of a sign-up form break the stated rules, in form order.
pub(crate) fn invalid_fields(f: &[String; 7]) -> Vec<&'static str> {
    const NAMES: [&str; 7] = ["username", "email", "age", "postal_code", "phone", "password", "confirm_password"];
    let u = &f[0];
    let username_ok = (4..=16).contains(&u.chars().count())
        && u.starts_with(|c: char| c.is_ascii_alphabetic())
        && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let email_ok = {
        let parts: Vec<&str> = f[1].split('@').collect();
        parts.len() == 2
            && !parts[0].is_empty()
            && parts[1].contains('.')
            && !parts[1].starts_with('.')
            && !parts[1].ends_with('.')
    };
    let age_ok = f[2].parse::<i64>().is_ok_and(|a| (13..=120).contains(&a));
    let postal_ok = f[3].len() == 5 && f[3].chars().all(|c| c.is_ascii_digit());
    let phone_digits: String = f[4].chars().filter(|c| *c != ' ' && *c != '-').collect();
    let phone_ok = phone_digits.len() == 10 && phone_digits.chars().all(|c| c.is_ascii_digit());
    let p = &f[5];
    let pw_ok =
        p.chars().count() >= 8 && p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| c.is_ascii_uppercase());
    let confirm_ok = f[6] == f[5];
    [username_ok, email_ok, age_ok, postal_ok, phone_ok, pw_ok, confirm_ok]
        .iter()
        .zip(NAMES)
        .filter(|(ok, _)| !**ok)
        .map(|(_, n)| n)
        .collect()
}

/// The sign-up form rules, as [`invalid_fields`] applies them.
const FORM_RULES: &str = "\
Sign-up form rules:
- username: 4 to 16 characters, only letters, digits and underscores, and it must start with a letter.
- email: exactly one @, with at least one character before it and a dot somewhere after it (not first or last).
- age: a whole number from 13 to 120 inclusive.
- postal_code: exactly 5 digits.
- phone: exactly 10 digits once spaces and dashes are removed.
- password: at least 8 characters, including at least one digit and one uppercase letter.
- confirm_password: identical to password (case matters).";

fn form_validation(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let first = *g.pick(&["maria", "jonas", "aiko", "olu", "petra", "samir", "lena", "diego"]);
    let bad = |g: &mut Gen| g.chance(0.3);
    let username = if bad(g) {
        match g.range(0, 3) {
            0 => first[..3].to_string(),
            1 => format!("{first}_the_great_one")[..17].to_string(),
            2 => format!("9{first}"),
            _ => format!("{first}-{}", g.range(1, 99)),
        }
    } else {
        match g.range(0, 2) {
            0 => format!("{}{}", &first[..3], "x"),
            1 => format!("{first}_the_great_one")[..16].to_string(),
            _ => format!("{first}_{}", g.range(1, 99)),
        }
    };
    let domain = *g.pick(&["mail.com", "example.org", "post.net"]);
    let email = if bad(g) {
        match g.range(0, 2) {
            0 => format!("{first}.{}", domain),
            1 => format!("{first}@@{domain}"),
            _ => format!("{first}@{}", domain.replace('.', "")),
        }
    } else {
        format!("{first}{}@{domain}", g.range(1, 9))
    };
    let age = if bad(g) {
        (*g.pick(&["12", "121", "17.5", "0"])).to_string()
    } else {
        (*g.pick(&["13", "120", "34", "58", "19"])).to_string()
    };
    let postal = if bad(g) {
        (*g.pick(&["1234", "123456", "9021O", "02 139"])).to_string()
    } else {
        format!("{:05}", g.range(1000, 99999))
    };
    let phone = if bad(g) {
        (*g.pick(&["555-201-778", "555 201 77881", "555-2O1-7788"])).to_string()
    } else {
        (*g.pick(&["555-201-7788", "555 201 7788", "5552017788", "555 201-7788"])).to_string()
    };
    let password = if bad(g) {
        (*g.pick(&["Sunny12", "sunnyday42", "SunnyDayNow", "sunny-day"])).to_string()
    } else {
        (*g.pick(&["Sunny123", "Harbor2024", "Q9lanterns", "Maple7tree"])).to_string()
    };
    let confirm = if bad(g) {
        let mut c: Vec<char> = password.chars().collect();
        let i = c.iter().position(|c| c.is_ascii_alphabetic()).unwrap_or(0);
        c[i] = if c[i].is_ascii_uppercase() { c[i].to_ascii_lowercase() } else { c[i].to_ascii_uppercase() };
        c.into_iter().collect()
    } else {
        password.clone()
    };
    let fields = [username, email, age, postal, phone, password, confirm];
    let bad_fields = invalid_fields(&fields);
    let prompt = format!(
        "{FORM_RULES}\n\nSubmitted values:\nusername = {}\nemail = {}\n\
         age = {}\npostal_code = {}\nphone = {}\npassword = {}\n\
         confirm_password = {}\n\nWhich fields are invalid? List the field names in form order, separated by commas, \
         or answer none if every field is valid.",
        fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]
    );
    let ans = if bad_fields.is_empty() { "none".to_string() } else { bad_fields.join(", ") };
    let status = |name: &str| if bad_fields.contains(&name) { "invalid" } else { "valid" };
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!(
                    "username \"{}\": {} chars, starts with '{}' → {}.",
                    fields[0],
                    fields[0].chars().count(),
                    fields[0].chars().next().unwrap_or(' '),
                    status("username")
                ),
                format!("username {}", status("username")),
            ),
            step(
                format!(
                    "email \"{}\": {} '@' → {}; age \"{}\" → {}.",
                    fields[1],
                    fields[1].matches('@').count(),
                    status("email"),
                    fields[2],
                    status("age")
                ),
                format!("email {}, age {}", status("email"), status("age")),
            ),
            step(
                format!(
                    "postal_code \"{}\" ({} chars) → {}; phone \"{}\" → {} digits/characters after removing \
                     separators → {}.",
                    fields[3],
                    fields[3].len(),
                    status("postal_code"),
                    fields[4],
                    fields[4].chars().filter(|c| *c != ' ' && *c != '-').count(),
                    status("phone")
                ),
                format!("postal_code {}, phone {}", status("postal_code"), status("phone")),
            ),
            step(
                format!(
                    "password \"{}\": {} chars, digit {}, uppercase {} → {}; confirm \"{}\" {} → {}.",
                    fields[5],
                    fields[5].chars().count(),
                    if fields[5].chars().any(|c| c.is_ascii_digit()) { "yes" } else { "no" },
                    if fields[5].chars().any(|c| c.is_ascii_uppercase()) { "yes" } else { "no" },
                    status("password"),
                    fields[6],
                    if fields[6] == fields[5] { "matches" } else { "differs" },
                    status("confirm_password")
                ),
                format!("password {}, confirm {}", status("password"), status("confirm_password")),
            ),
            step(format!("Invalid fields in form order: {ans}."), ans),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Lab sample acceptance

params! {
    /// Parameters of `sample_acceptance`.
    struct SampleAcceptanceParams {
        /// Hours a sample kept at room temperature may take to arrive.
        room_temp_hours: i64 = 4,
        /// Hours a refrigerated sample may take to arrive.
        refrigerated_hours: i64 = 24,
    }
}

fn sample_acceptance(g: &mut Gen, p: &SampleAcceptanceParams) -> Result<Generated> {
    // (test, minimum volume in tenths of mL, hemolysis matters)
    const TESTS: &[(&str, i64, bool)] = &[
        ("potassium", 5, true),
        ("lipid panel", 10, false),
        ("CBC", 20, false),
        ("glucose", 5, false),
        ("liver panel", 15, false),
    ];
    let (room_h, fridge_h) = (p.room_temp_hours, p.refrigerated_hours);
    let n = g.range(5, 7) as usize;
    let day = 24 * 60;
    struct Sample {
        id: String,
        test: usize,
        two_ids: bool,
        collected: i64,
        received: i64,
        fridge: bool,
        vol: i64,
        hemolyzed: bool,
    }
    let samples: Vec<Sample> = (0..n)
        .map(|i| {
            let test = g.range(0, TESTS.len() as i64 - 1) as usize;
            let fridge = g.chance(0.4);
            let limit = if fridge { fridge_h } else { room_h } * 60;
            let collected = g.range(6 * 4, 23 * 4) * 15 + g.range(0, 2) * 5;
            let transit = match g.range(0, 4) {
                0 => limit,
                1 => limit + g.range(1, 8) * 15,
                _ => g.range(2, limit / 15 - 1) * 15,
            };
            let vol = match g.range(0, 4) {
                0 => TESTS[test].1,
                1 => TESTS[test].1 - g.range(1, 3).min(TESTS[test].1 - 1),
                _ => TESTS[test].1 + g.range(1, 20),
            };
            Sample {
                id: format!("S{}", 101 + i),
                test,
                two_ids: g.chance(0.8),
                collected,
                received: collected + transit,
                fridge,
                vol,
                hemolyzed: g.chance(0.25),
            }
        })
        .collect();
    let when = |t: i64| format!("{} {}", ["Mon", "Tue", "Wed"][(t / day) as usize], hhmm(t));
    let rows: Vec<String> = samples
        .iter()
        .map(|s| {
            format!(
                "- {}: {}; label: {}; collected {}; received {}; kept {}; volume {} mL; hemolyzed: {}",
                s.id,
                TESTS[s.test].0,
                if s.two_ids { "name + date of birth" } else { "name only" },
                when(s.collected),
                when(s.received),
                if s.fridge { "refrigerated" } else { "at room temperature" },
                trim(s.vol as f64 / 10.0, 1),
                if s.hemolyzed { "yes" } else { "no" }
            )
        })
        .collect();
    let table =
        TESTS.iter().map(|t| format!("{} {} mL", t.0, trim(t.1 as f64 / 10.0, 1))).collect::<Vec<_>>().join(", ");
    let prompt = format!(
        "Specimen acceptance rules. Reject a sample if ANY of these holds:\n\
         1. The label lacks two identifiers (name AND date of birth).\n\
         2. It arrived more than {room_h} hours after collection when kept at room temperature, or more than \
         {fridge_h} hours when refrigerated (arriving exactly at the limit is accepted).\n\
         3. Its volume is below the test minimum: {table}.\n4. It is hemolyzed and the test is potassium (hemolysis \
         does not matter for other tests).\n\nSamples received:\n\
         {}\n\nHow many samples must be rejected? (A sample that breaks several rules counts once.) Answer with the \
         number only.",
        rows.join("\n")
    );
    let r1: Vec<String> = samples.iter().filter(|s| !s.two_ids).map(|s| s.id.clone()).collect();
    let over = |s: &Sample| s.received - s.collected > if s.fridge { fridge_h } else { room_h } * 60;
    let r2: Vec<String> = samples.iter().filter(|s| over(s)).map(|s| s.id.clone()).collect();
    let r3: Vec<String> = samples.iter().filter(|s| s.vol < TESTS[s.test].1).map(|s| s.id.clone()).collect();
    let r4: Vec<String> = samples.iter().filter(|s| s.hemolyzed && TESTS[s.test].2).map(|s| s.id.clone()).collect();
    let all: Vec<String> = samples
        .iter()
        .filter(|s| !s.two_ids || over(s) || s.vol < TESTS[s.test].1 || (s.hemolyzed && TESTS[s.test].2))
        .map(|s| s.id.clone())
        .collect();
    let transit: Vec<String> = samples
        .iter()
        .map(|s| {
            let d = s.received - s.collected;
            format!(
                "{} {}h{:02} ({})",
                s.id,
                d / 60,
                d % 60,
                if s.fridge { format!("limit {fridge_h} h") } else { format!("limit {room_h} h") }
            )
        })
        .collect();
    let ans = all.len().to_string();
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!("Labels with only one identifier: {}.", list_or(&r1, "none")),
                format!("rule 1: {}", list_or(&r1, "none")),
            ),
            step(
                format!("Transit times: {}; over the limit: {}.", transit.join(", "), list_or(&r2, "none")),
                format!("rule 2: {}", list_or(&r2, "none")),
            ),
            step(
                format!("Below minimum volume: {}.", list_or(&r3, "none")),
                format!("rule 3: {}", list_or(&r3, "none")),
            ),
            step(
                format!("Hemolyzed potassium samples: {}.", list_or(&r4, "none")),
                format!("rule 4: {}", list_or(&r4, "none")),
            ),
            step(format!("Distinct rejected samples: {} → {}.", list_or(&all, "none"), all.len()), ans),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_matrix_and_adjustments() {
        // Medium impact, high urgency = SEV2; staging lowers to SEV3; data exposure floors it at SEV2.
        assert_eq!(severity(Level::Medium, Level::High, true, true), (2, 3, 2));
        // Low/Low = SEV4, staging keeps SEV4, no data → SEV4.
        assert_eq!(severity(Level::Low, Level::Low, true, false), (4, 4, 4));
        // High/Medium = SEV2 in production; data exposure leaves SEV2.
        assert_eq!(severity(Level::High, Level::Medium, false, true), (2, 2, 2));
    }

    #[test]
    fn dosing_window_takes_the_latest_constraint() {
        // Doses yesterday 20:00, today 02:00 and 08:00 (minutes from yesterday 00:00); max 3 per 24 h,
        // 4 h apart; now today 10:00. Interval → 12:00; the 3rd most recent dose (yesterday 20:00)
        // ages out at today 20:00.
        let doses = [20 * 60, 26 * 60, 32 * 60];
        let (t, by_interval, by_max, _) = next_dose(&doses, 34 * 60, 4, 3, None);
        assert_eq!((hhmm(by_interval), by_max.map(hhmm)), ("12:00".to_string(), Some("20:00".to_string())));
        assert_eq!(hhmm(t), "20:00");
        // An antacid at today 11:30 with a 3 h separation pushes an unconstrained case to 14:30.
        let (t, _, by_max, _) = next_dose(&[26 * 60, 32 * 60], 34 * 60, 4, 3, Some((35 * 60 + 30, 3)));
        assert_eq!((hhmm(t), by_max), ("14:30".to_string(), None));
    }

    #[test]
    fn weight_and_balance_limits() {
        // 1600 lb @ 39.0, 340 @ 37, 300 @ 73, 100 @ 95, 40 gal = 240 lb @ 48:
        // W = 2580, M = 62400 + 12580 + 21900 + 9500 + 11520 = 117900, CG = 45.697.
        let loads = [(1600.0, 39.0), (340.0, 37.0), (300.0, 73.0), (100.0, 95.0), (240.0, 48.0)];
        let (w, m, cg, bad) = weight_balance(&loads, 2550.0, (35.0, 47.3), 100.0, 120.0);
        assert_eq!((w, m, fixed(cg, 1)), (2580.0, 117900.0, "45.7".to_string()));
        assert_eq!(bad, vec!["maximum takeoff weight"]);
    }

    #[test]
    fn form_rules_edges() {
        let f = |v: [&str; 7]| invalid_fields(&v.map(str::to_string));
        let ok = ["abcd", "a@b.co", "13", "02139", "555 201-7788", "Sunny123", "Sunny123"];
        assert!(f(ok).is_empty());
        assert_eq!(
            f(["9abc", "a.b@mailcom", "120", "9021O", "5552017788", "sunny123", "sunny123"]),
            vec!["username", "email", "postal_code", "password"]
        );
        assert_eq!(
            f(["abcd", "a@b.co", "17.5", "02139", "555-201-778", "Sunny123", "sunny123"]),
            vec!["age", "phone", "confirm_password"]
        );
    }

    #[test]
    fn cold_chain_order_and_boundaries() {
        const C: (i64, i64, i64, i64) = (20, 80, 0, 120);
        // 4 readings out at 15 min = 60 min exactly → REPORT, not QUARANTINE.
        assert_eq!(cold_chain_decision(&[50, 85, 90, 95, 100, 60], 15, C).4, "REPORT");
        assert_eq!(cold_chain_decision(&[50, 85, 90, 95, 100, 110, 60], 15, C).4, "QUARANTINE");
        assert_eq!(cold_chain_decision(&[20, 80, 50], 30, C).4, "USE");
        assert_eq!(cold_chain_decision(&[50, 121, -1], 10, C).4, "DISCARD");
        assert_eq!(cold_chain_decision(&[50, 120, 0], 10, C).4, "REPORT");
        assert_eq!(eighths(62), "7 3/4");
        assert_eq!(ymd(days_from_civil(2025, 3, 1) - 1), "2025-02-28");
    }
}
