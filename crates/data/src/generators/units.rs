//! Generators for the `units` domain.

use super::fmt::{fixed, mixed_number, near_half, trim};
use super::params::{NoParams, kinds};
use super::{Gen, Kind, criterion, exact, free_form, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[Kind] = kinds![
    "recipe_scale_grams" => recipe_scale_grams(NoParams),
    "dose_by_weight_check" => dose_by_weight_check(NoParams),
    "average_speed_trip" => average_speed_trip(NoParams),
    "temperature_reading_or_change" => temperature_reading_or_change(NoParams),
    "feet_inches_combine" => feet_inches_combine(NoParams),
    "fuel_economy_convert" => fuel_economy_convert(NoParams),
    "area_volume_convert" => area_volume_convert(NoParams),
];

/// Scales a recipe amount to a new number of servings and converts it to grams.
fn recipe_scale_grams(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let foods: &[(&str, i64)] = &[
        ("flour", 125),
        ("sugar", 200),
        ("brown sugar", 220),
        ("rolled oats", 90),
        ("cocoa powder", 85),
        ("rice", 185),
        ("butter", 227),
        ("honey", 340),
        ("grated cheese", 113),
    ];
    let cup_amounts: &[(i64, i64)] =
        &[(1, 4), (1, 3), (1, 2), (2, 3), (3, 4), (1, 1), (5, 4), (3, 2), (7, 4), (2, 1), (5, 2), (3, 1)];
    loop {
        let &(food, gpc) = g.pick(foods);
        let (unit, per_cup, num, den) = match g.range(0, 3) {
            0 => ("tablespoons", 16, g.range(2, 12), 1),
            1 => ("teaspoons", 48, g.range(2, 9), 1),
            _ => {
                let &(n, d) = g.pick(cup_amounts);
                ("cups", 1, n, d)
            }
        };
        let orig = *g.pick(&[2i64, 3, 4, 6, 8, 12]);
        let target = g.range(1, 30);
        if target == orig {
            continue;
        }
        let amount = num as f64 / den as f64;
        let factor = target as f64 / orig as f64;
        let scaled = amount * factor;
        let cups = scaled / per_cup as f64;
        let grams = cups * gpc as f64;
        if near_half(grams, 0) || grams < 3.0 {
            continue;
        }
        let amount_s = mixed_number(num, den);
        let unit_word = if num <= den && unit == "cups" { "cup" } else { unit };
        let prompt = format!(
            "A recipe for {orig} servings uses {amount_s} {unit_word} of {food}. You want to make {target} servings. \
             Kitchen facts: 1 cup = 16 tablespoons, 1 tablespoon = 3 teaspoons, and 1 cup of {food} weighs {gpc} g. \
             How many grams of {food} do you need? Round to the nearest gram."
        );
        let w3 = if per_cup == 1 {
            format!("The amount is already in cups: {} cups.", trim(cups, 6))
        } else {
            format!("{} {unit} ÷ {per_cup} {unit} per cup = {} cups.", trim(scaled, 6), trim(cups, 6))
        };
        let answer = fixed(grams, 0);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(format!("Scale factor = {target} ÷ {orig} = {}.", trim(factor, 6)), trim(factor, 6)),
                step(
                    format!("{amount_s} {unit} × {} = {} {unit}.", trim(factor, 6), trim(scaled, 6)),
                    format!("{} {unit}", trim(scaled, 6)),
                ),
                step(w3, format!("{} cups", trim(cups, 6))),
                step(
                    format!("{} cups × {gpc} g per cup = {} g.", trim(cups, 6), trim(grams, 4)),
                    format!("{} g", trim(grams, 4)),
                ),
                step(format!("{} g rounded to the nearest gram = {answer} g.", trim(grams, 4)), format!("{answer} g")),
            ],
        ));
    }
}

/// How a dose check is worked and written up, after the order itself.
const DOSE_NOTE_RULES: &str = "\
Use 1 kg = 2.2 lb; round the weight to 1 decimal place before using it, and round the dose in mg and the volume in \
mL to 1 decimal place (compute the volume from the rounded dose). An order matches if it is within 10% of your \
computed volume. Write a short note (2–5 sentences) for the nurse that gives the weight in kg, the dose per \
administration in mg, the volume per dose in mL, and says whether the ordered volume matches, is too high or is too \
low (use one of those words).";

/// How an ordered volume compares with the computed one (within 10% matches).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderCheck {
    Matches,
    TooHigh,
    TooLow,
}

impl OrderCheck {
    /// The words the note must use.
    fn words(self) -> &'static str {
        match self {
            OrderCheck::Matches => "matches",
            OrderCheck::TooHigh => "too high",
            OrderCheck::TooLow => "too low",
        }
    }
}

/// Checks a liquid medicine order against a weight-based dose: a short note for the nurse.
fn dose_by_weight_check(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let patients = ["Mia", "Leo", "Aisha", "Tomas", "Yuki", "Omar", "Lena", "Kofi"];
    let drugs = ["Drug A", "Drug B", "Drug K", "Drug M", "Drug R"];
    loop {
        let lb = g.range(18, 95);
        let kg = (lb as f64 / 2.2 * 10.0).round() / 10.0;
        let rate = *g.pick(&[20i64, 25, 30, 40, 45, 50, 60, 75, 80, 90]);
        let doses = g.range(2, 4);
        let max_single = *g.pick(&[250i64, 300, 400, 500, 600]);
        let conc_mg = *g.pick(&[100i64, 125, 160, 200, 250]);
        let daily = kg * rate as f64;
        let per = daily / doses as f64;
        let capped = per > max_single as f64;
        let dose = if capped { max_single as f64 } else { per };
        let dose_r = (dose * 10.0 + 1e-9).round() / 10.0;
        let mg_per_ml = conc_mg as f64 / 5.0;
        let vol = dose_r / mg_per_ml;
        if near_half(daily, 1) || near_half(per, 1) || near_half(vol, 1) || vol < 1.0 {
            continue;
        }
        let vol_r = (vol * 10.0 + 1e-9).round() / 10.0;
        let case = g.range(0, 2);
        let ordered = match case {
            0 => (vol_r * 2.0).round() / 2.0,
            1 => ((vol_r * (1.3 + 0.1 * g.range(0, 5) as f64)) * 2.0).round() / 2.0,
            _ => ((vol_r * (0.4 + 0.05 * g.range(0, 6) as f64)) * 2.0).round() / 2.0,
        };
        let ratio = ordered / vol_r;
        if ordered <= 0.0
            || (0.9..0.95).contains(&ratio)
            || (1.05..=1.1).contains(&ratio)
            || (0.85..0.9).contains(&ratio)
            || (1.1..1.15).contains(&ratio)
        {
            continue;
        }
        let check = if ratio > 1.1 {
            OrderCheck::TooHigh
        } else if ratio < 0.9 {
            OrderCheck::TooLow
        } else {
            OrderCheck::Matches
        };
        let verdict = check.words();
        let who = *g.pick(&patients);
        let drug = *g.pick(&drugs);
        let times = match doses {
            2 => "twice daily",
            3 => "three times daily",
            _ => "four times daily",
        };
        let prompt = format!(
            "{who} weighs {lb} lb. {drug} is dosed at {rate} mg/kg/day, divided into {doses} equal doses a day, with \
             a maximum single dose of {max_single} mg (if the weight-based dose is higher, give the maximum instead). \
             The liquid contains {conc_mg} mg per 5 mL. The order reads: {} mL {times}. {DOSE_NOTE_RULES}",
            trim(ordered, 1)
        );
        let kg_s = fixed(kg, 1);
        let daily_s = fixed(daily, 1);
        let per_s = fixed(per, 1);
        let dose_s = fixed(dose_r, 1);
        let vol_s = fixed(vol_r, 1);
        let ord_s = trim(ordered, 1);
        let dose_sentence = if capped {
            format!(
                "{daily_s} mg/day ÷ {doses} = {per_s} mg is above the {max_single} mg maximum, so each dose is \
                 {dose_s} mg"
            )
        } else {
            format!("{daily_s} mg/day ÷ {doses} = {dose_s} mg per dose, within the {max_single} mg maximum")
        };
        let verdict_sentence = match check {
            OrderCheck::Matches => {
                format!("The ordered {ord_s} mL matches (within 10% of {vol_s} mL), so it can be given as written.")
            }
            OrderCheck::TooHigh => format!(
                "The ordered {ord_s} mL is too high (more than 10% above {vol_s} mL); check with the prescriber."
            ),
            OrderCheck::TooLow => format!(
                "The ordered {ord_s} mL is too low (more than 10% below {vol_s} mL); check with the prescriber."
            ),
        };
        let answer = format!(
            "{who} weighs {lb} lb ÷ 2.2 = {kg_s} kg. The daily dose is {kg_s} kg × {rate} mg/kg/day = {daily_s} mg; \
             {dose_sentence}. At {conc_mg} mg per 5 mL ({} mg/mL), that is {dose_s} mg ÷ {} mg/mL = {vol_s} mL per \
             dose. {verdict_sentence}",
            trim(mg_per_ml, 2),
            trim(mg_per_ml, 2)
        );
        return Ok(free_form(
            prompt,
            answer,
            [
                step(format!("{lb} lb ÷ 2.2 = {} kg → {kg_s} kg.", trim(lb as f64 / 2.2, 4)), format!("{kg_s} kg")),
                step(format!("{kg_s} kg × {rate} mg/kg/day = {daily_s} mg/day."), format!("{daily_s} mg/day")),
                step(format!("{dose_sentence}."), format!("{dose_s} mg")),
                step(
                    format!(
                        "{conc_mg} mg/5 mL = {} mg/mL; {dose_s} mg ÷ {} mg/mL = {vol_s} mL.",
                        trim(mg_per_ml, 2),
                        trim(mg_per_ml, 2)
                    ),
                    format!("{vol_s} mL"),
                ),
                step(
                    format!("Ordered {ord_s} mL vs computed {vol_s} mL (ratio {}): {verdict}.", fixed(ratio, 2)),
                    verdict.to_string(),
                ),
            ],
            vec![
                criterion("gives the patient's weight in kg, rounded to 1 decimal place", &[&kg_s]),
                criterion(
                    "gives the dose per administration in mg, applying the maximum single dose when needed",
                    &[&dose_s],
                ),
                criterion("gives the volume per dose in mL", &[&vol_s]),
                criterion("says whether the ordered volume matches, is too high or too low", &[verdict]),
            ],
        ));
    }
}

/// How a traveller makes a trip; bicycles go slower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vehicle {
    Car,
    Bicycle,
    Motorbike,
}

impl Vehicle {
    /// The verb of a trip's sentence.
    fn verb(self) -> &'static str {
        match self {
            Vehicle::Car => "drives",
            Vehicle::Bicycle => "cycles",
            Vehicle::Motorbike => "rides a motorbike",
        }
    }
}

/// Average speed over a multi-leg trip: total distance over total time, never the mean of the speeds.
fn average_speed_trip(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let who = ["Priya", "Jonas", "Ama", "Carlos", "Mei", "Sven"];
    loop {
        let n = g.range(2, 3) as usize;
        let vehicle = [Vehicle::Car, Vehicle::Bicycle, Vehicle::Motorbike][g.range(0, 2) as usize];
        // Speeds in steps of 5 km/h.
        let (vlo, vhi) = if vehicle == Vehicle::Bicycle { (3, 7) } else { (6, 22) };
        // legs: (speed km/h, Some(distance km) or None, Some(minutes) or None)
        let mut legs: Vec<(i64, Option<i64>, Option<i64>)> = Vec::new();
        for _ in 0..n {
            let v = g.range(vlo, vhi) * 5;
            if g.chance(0.55) {
                let d = g.range(v / 5, v * 2);
                legs.push((v, Some(d), None));
            } else {
                legs.push((v, None, Some(g.range(3, 24) * 5)));
            }
        }
        let stop = if g.chance(0.5) { g.range(1, 9) * 5 } else { 0 };
        let times_h: Vec<f64> = legs
            .iter()
            .map(|l| match l {
                (v, Some(d), _) => *d as f64 / *v as f64,
                (_, None, Some(m)) => *m as f64 / 60.0,
                _ => 0.0,
            })
            .collect();
        let dists: Vec<f64> =
            legs.iter().zip(&times_h).map(|(l, t)| l.1.map(|d| d as f64).unwrap_or(l.0 as f64 * t)).collect();
        let total_d: f64 = dists.iter().sum();
        let total_t: f64 = times_h.iter().sum::<f64>() + stop as f64 / 60.0;
        let avg = total_d / total_t;
        let naive: f64 = legs.iter().map(|l| l.0 as f64).sum::<f64>() / n as f64;
        if near_half(avg, 1) || (avg - naive).abs() < 0.15 {
            continue;
        }
        let name = *g.pick(&who);
        let verb = vehicle.verb();
        let ord = ["First", "Then", "Finally"];
        let parts: Vec<String> = legs
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let o = if i == n - 1 { "Finally" } else { ord[i.min(1)] };
                match l {
                    (v, Some(d), _) => format!("{o} {d} km at {v} km/h."),
                    (v, None, Some(m)) => format!("{o} {m} minutes at {v} km/h."),
                    _ => String::new(),
                }
            })
            .collect();
        let stop_s = if stop > 0 {
            format!(
                " Between the first and second legs there is a {stop}-minute stop, which counts as part of the trip \
                 time."
            )
        } else {
            String::new()
        };
        let prompt = format!(
            "{name} {verb} along a route in {n} legs. {}{stop_s} What is the average speed for the whole trip, in \
             km/h? Round to 1 decimal place.",
            parts.join(" ")
        );
        let w1: Vec<String> = legs
            .iter()
            .filter_map(|l| l.2.map(|m| format!("{m} min = {} h", trim(m as f64 / 60.0, 6))))
            .chain((stop > 0).then(|| format!("stop {stop} min = {} h", trim(stop as f64 / 60.0, 6))))
            .collect();
        let w1 =
            if w1.is_empty() { "No times are given in minutes.".to_string() } else { format!("{}.", w1.join(", ")) };
        let w2: Vec<String> = legs
            .iter()
            .zip(&times_h)
            .zip(&dists)
            .enumerate()
            .map(|(i, ((l, t), d))| match l.1 {
                Some(dd) => format!("leg {}: time = {dd} km ÷ {} km/h = {} h", i + 1, l.0, trim(*t, 6)),
                None => format!("leg {}: distance = {} km/h × {} h = {} km", i + 1, l.0, trim(*t, 6), trim(*d, 6)),
            })
            .collect();
        let d_sum = dists.iter().map(|d| trim(*d, 6)).collect::<Vec<_>>().join(" + ");
        let mut t_parts: Vec<String> = times_h.iter().map(|t| trim(*t, 6)).collect();
        if stop > 0 {
            t_parts.push(trim(stop as f64 / 60.0, 6));
        }
        let answer = fixed(avg, 1);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(w1, {
                    let hrs: Vec<String> = legs
                        .iter()
                        .filter_map(|l| l.2.map(|m| format!("{} h", trim(m as f64 / 60.0, 6))))
                        .chain((stop > 0).then(|| format!("{} h stop", trim(stop as f64 / 60.0, 6))))
                        .collect();
                    if hrs.is_empty() { "no minutes to convert".to_string() } else { hrs.join(", ") }
                }),
                step(
                    format!("{}.", w2.join("; ")),
                    dists
                        .iter()
                        .zip(&times_h)
                        .map(|(d, t)| format!("{} km in {} h", trim(*d, 4), trim(*t, 4)))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                step(
                    format!("Total distance = {d_sum} = {} km.", trim(total_d, 6)),
                    format!("{} km", trim(total_d, 6)),
                ),
                step(
                    format!("Total time = {} = {} h.", t_parts.join(" + "), trim(total_t, 6)),
                    format!("{} h", trim(total_t, 6)),
                ),
                step(
                    format!(
                        "Average speed = {} km ÷ {} h = {} km/h → {answer} km/h.",
                        trim(total_d, 6),
                        trim(total_t, 6),
                        trim(avg, 4)
                    ),
                    format!("{answer} km/h"),
                ),
            ],
        ));
    }
}

/// A temperature scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    Celsius,
    Fahrenheit,
    Kelvin,
}

impl Scale {
    /// Every scale, in the order tasks draw them.
    const ALL: [Scale; 3] = [Scale::Celsius, Scale::Fahrenheit, Scale::Kelvin];

    /// The unit symbol: `°C`, `°F`, `K`.
    fn symbol(self) -> &'static str {
        match self {
            Scale::Celsius => "°C",
            Scale::Fahrenheit => "°F",
            Scale::Kelvin => "K",
        }
    }

    /// The unit in words, as a question asks for it.
    fn words(self) -> &'static str {
        match self {
            Scale::Celsius => "degrees Celsius",
            Scale::Fahrenheit => "degrees Fahrenheit",
            Scale::Kelvin => "kelvins",
        }
    }
}

/// Celsius from a reading (`change == false`) or a change (`change == true`) on scale `s`.
fn to_celsius(x: f64, s: Scale, change: bool) -> f64 {
    match (s, change) {
        (Scale::Celsius, _) => x,
        (Scale::Fahrenheit, false) => (x - 32.0) * 5.0 / 9.0,
        (Scale::Fahrenheit, true) => x * 5.0 / 9.0,
        (Scale::Kelvin, false) => x - 273.15,
        (Scale::Kelvin, true) => x,
    }
}

/// A reading or a change in Celsius written on scale `s`.
fn from_celsius(c: f64, s: Scale, change: bool) -> f64 {
    match (s, change) {
        (Scale::Celsius, _) => c,
        (Scale::Fahrenheit, false) => c * 9.0 / 5.0 + 32.0,
        (Scale::Fahrenheit, true) => c * 9.0 / 5.0,
        (Scale::Kelvin, false) => c + 273.15,
        (Scale::Kelvin, true) => c,
    }
}

/// Converts a temperature reading or a temperature change between °C, °F and K: offsets apply
/// to readings only.
fn temperature_reading_or_change(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    loop {
        let change = g.chance(0.5);
        let from = g.range(0, 2) as usize;
        let mut to = g.range(0, 1) as usize;
        if to >= from {
            to += 1;
        }
        let (from, to) = (Scale::ALL[from], Scale::ALL[to]);
        let x = if change {
            g.range(4, 120) as f64 / if g.chance(0.3) { 2.0 } else { 1.0 }
        } else {
            let c = g.range(-400, 1200) as f64 / 10.0;
            match from {
                Scale::Celsius => c,
                Scale::Fahrenheit => (c * 9.0 / 5.0 + 32.0).round(),
                Scale::Kelvin => c + 273.15,
            }
        };
        let c = to_celsius(x, from, change);
        let y = from_celsius(c, to, change);
        if near_half(y, 2) || near_half(c, 4) && (c * 1e4).fract() != 0.0 {
            continue;
        }
        let (fs, ts) = (from.symbol(), to.symbol());
        let xs = trim(x, 2);
        let to_word = to.words();
        let prompt = if change {
            let ctx = *g.pick(&[
                "During an experiment the temperature of a sample rose by",
                "Overnight the outdoor temperature dropped by",
                "While idling, an engine's coolant warmed by",
                "The temperature difference between two rooms is",
            ]);
            format!(
                "{ctx} {xs} {fs}. Express this temperature difference in {to_word}. Reading formulas: °F = °C × 9/5 + \
                 32 and K = °C + 273.15. Round to 2 decimal places."
            )
        } else {
            let ctx = *g.pick(&[
                "A thermometer reads",
                "The oven display shows",
                "A weather station records",
                "A lab freezer is set to",
            ]);
            format!(
                "{ctx} {xs} {fs}. What is this temperature in {to_word}? Reading formulas: °F = °C × 9/5 + 32 and K = \
                 °C + 273.15. Round to 2 decimal places."
            )
        };
        let kind = if change { "a change (difference) of temperature" } else { "a temperature reading" };
        let rule = if change {
            "For a change, use only the size of the degrees: 1 °C = 1 K = 9/5 °F; no +32 or +273.15 offsets."
        } else {
            "For a reading, use the full formulas with their offsets."
        };
        let w3 = match (from, change) {
            (Scale::Celsius, _) => format!("Already in °C: {} °C.", trim(c, 6)),
            (Scale::Fahrenheit, false) => format!("({xs} − 32) × 5/9 = {} °C.", trim(c, 6)),
            (Scale::Fahrenheit, true) => format!("{xs} × 5/9 = {} °C.", trim(c, 6)),
            (Scale::Kelvin, false) => format!("{xs} − 273.15 = {} °C.", trim(c, 6)),
            (Scale::Kelvin, true) => format!("A change of {xs} K is a change of {} °C.", trim(c, 6)),
        };
        let w4 = match (to, change) {
            (Scale::Celsius, _) => format!("Target is °C: {} °C.", trim(y, 6)),
            (Scale::Fahrenheit, false) => format!("{} × 9/5 + 32 = {} °F.", trim(c, 6), trim(y, 6)),
            (Scale::Fahrenheit, true) => format!("{} × 9/5 = {} °F.", trim(c, 6), trim(y, 6)),
            (Scale::Kelvin, false) => format!("{} + 273.15 = {} K.", trim(c, 6), trim(y, 6)),
            (Scale::Kelvin, true) => format!("A change of {} °C is a change of {} K.", trim(c, 6), trim(y, 6)),
        };
        let answer = fixed(y, 2);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(format!("{xs} {fs} is {kind}."), if change { "change" } else { "reading" }.to_string()),
                step(rule, if change { "scale factors only" } else { "formulas with offsets" }.to_string()),
                step(w3, format!("{} °C", trim(c, 6))),
                step(w4, format!("{} {ts}", trim(y, 6))),
                step(format!("{} rounded to 2 decimals = {answer} {ts}.", trim(y, 6)), format!("{answer} {ts}")),
            ],
        ));
    }
}

fn ft_in(inches: i64) -> String {
    format!("{} ft {} in", inches / 12, inches % 12)
}

/// Adds or subtracts lengths in feet and inches, carrying and borrowing at 12 inches.
fn feet_inches_combine(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    loop {
        let mode = g.range(0, 2);
        let piece = |g: &mut Gen| g.range(1, 7) * 12 + g.range(0, 11);
        let (prompt, items, total, w2, w3) = match mode {
            0 => {
                let n = g.range(2, 4) as usize;
                let ps: Vec<i64> = (0..n).map(|_| piece(g)).collect();
                let total: i64 = ps.iter().sum();
                let what = *g.pick(&["Shelves", "Pipes", "Rails", "Planks"]);
                let prompt = format!(
                    "{what} of length {} are laid end to end. What is their total length? Write the answer as `X ft Y \
                     in` with Y from 0 to 11.",
                    ps.iter().map(|p| ft_in(*p)).collect::<Vec<_>>().join(", ")
                );
                let sum = ps.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" + ");
                (
                    prompt,
                    ps.clone(),
                    total,
                    format!("Total = {sum} = {total} in."),
                    format!("Nothing to subtract: {total} in."),
                )
            }
            1 => {
                let n = g.range(1, 3) as usize;
                let ps: Vec<i64> = (0..n).map(|_| piece(g)).collect();
                let used: i64 = ps.iter().sum();
                let board = used + g.range(13, 60);
                let prompt = format!(
                    "A board is {} long. Pieces of {} are cut from it (ignore the width of the saw cuts). How much of \
                     the board is left? Write the answer as `X ft Y in` with Y from 0 to 11.",
                    ft_in(board),
                    ps.iter().map(|p| ft_in(*p)).collect::<Vec<_>>().join(" and ")
                );
                let mut items = vec![board];
                items.extend(&ps);
                let sum = ps.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" + ");
                (
                    prompt,
                    items,
                    board - used,
                    format!("Pieces used = {sum} = {used} in."),
                    format!("Left = {board} − {used} = {} in.", board - used),
                )
            }
            _ => {
                let k = g.range(2, 5);
                let p = g.range(1, 3) * 12 + g.range(1, 11);
                let board = k * p + g.range(13, 50);
                let prompt = format!(
                    "A roll of trim is {} long. {k} identical pieces, each {}, are cut from it (ignore the width of \
                     the cuts). How much trim is left? Write the answer as `X ft Y in` with Y from 0 to 11.",
                    ft_in(board),
                    ft_in(p)
                );
                (
                    prompt,
                    vec![board, p],
                    board - k * p,
                    format!("Pieces used = {k} × {p} = {} in.", k * p),
                    format!("Left = {board} − {} = {} in.", k * p, board - k * p),
                )
            }
        };
        if total < 12 {
            continue;
        }
        let conv = items
            .iter()
            .map(|i| format!("{} ft {} in = {} × 12 + {} = {i} in", i / 12, i % 12, i / 12, i % 12))
            .collect::<Vec<_>>()
            .join("; ");
        let answer = ft_in(total);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(format!("{conv}."), items.iter().map(|i| format!("{i} in")).collect::<Vec<_>>().join(", ")),
                step(w2.clone(), w2.rsplit("= ").next().unwrap_or("").trim_end_matches('.').to_string()),
                step(w3, format!("{total} in")),
                step(
                    format!("{total} ÷ 12 = {} remainder {}.", total / 12, total % 12),
                    format!("{} ft, {} in", total / 12, total % 12),
                ),
                step(format!("Written as feet and inches: {answer}."), answer),
            ],
        ));
    }
}

const KM_PER_MILE: f64 = 1.609344;
const L_PER_US_GAL: f64 = 3.785411784;
const L_PER_UK_GAL: f64 = 4.54609;

/// Converts fuel economy between miles per gallon, km per litre and litres per 100 km.
fn fuel_economy_convert(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    loop {
        let case = g.range(0, 3);
        let car = *g.pick(&["A hatchback", "A pickup truck", "A hybrid sedan", "A delivery van", "A rental car"]);
        let facts = "Use 1 mile = 1.609344 km, 1 US gallon = 3.785411784 L and 1 imperial (UK) gallon = 4.54609 L.";
        let (prompt, w1, w2, w3, w4, y, v1) = match case {
            0 | 2 => {
                let uk = case == 2;
                let mpg = g.range(18, 62) as f64;
                let (gal, gal_l) = if uk { ("imperial gallon", L_PER_UK_GAL) } else { ("US gallon", L_PER_US_GAL) };
                let km = mpg * KM_PER_MILE;
                let kmpl = km / gal_l;
                let l100 = 100.0 / kmpl;
                (
                    format!(
                        "{car} is rated at {} miles per {gal}. What is its fuel consumption in litres per 100 km? \
                         {facts} Give just the number, rounded to 2 decimal places.",
                        trim(mpg, 1)
                    ),
                    format!("{} miles per 1 {gal}.", trim(mpg, 1)),
                    format!("{} mi × 1.609344 = {} km per {gal}.", trim(mpg, 1), trim(km, 6)),
                    format!("{} km per 1 {gal}, and 1 {gal} = {} L.", trim(km, 6), trim(gal_l, 9)),
                    format!("Litres per 100 km = {} L ÷ {} km × 100 = {}.", trim(gal_l, 9), trim(km, 6), trim(l100, 6)),
                    l100,
                    format!("{} mi per gal", trim(mpg, 1)),
                )
            }
            1 => {
                let l100 = g.range(40, 160) as f64 / 10.0;
                let mi = 100.0 / KM_PER_MILE;
                let gal = l100 / L_PER_US_GAL;
                let mpg = mi / gal;
                (
                    format!(
                        "{car} uses {} litres per 100 km. What is its fuel economy in miles per US gallon? {facts} \
                         Give just the number, rounded to 2 decimal places.",
                        trim(l100, 1)
                    ),
                    format!("100 km per {} L.", trim(l100, 1)),
                    format!("100 km ÷ 1.609344 = {} miles.", trim(mi, 6)),
                    format!("{} L ÷ 3.785411784 = {} US gallons.", trim(l100, 1), trim(gal, 6)),
                    format!("Miles per gallon = {} ÷ {} = {}.", trim(mi, 6), trim(gal, 6), trim(mpg, 6)),
                    mpg,
                    format!("100 km per {} L", trim(l100, 1)),
                )
            }
            _ => {
                let mpg = g.range(18, 62) as f64;
                let km = mpg * KM_PER_MILE;
                let kmpl = km / L_PER_US_GAL;
                (
                    format!(
                        "{car} is rated at {} miles per US gallon. What is that in kilometres per litre? {facts} Give \
                         just the number, rounded to 2 decimal places.",
                        trim(mpg, 1)
                    ),
                    format!("{} miles per 1 US gallon.", trim(mpg, 1)),
                    format!("{} mi × 1.609344 = {} km per US gallon.", trim(mpg, 1), trim(km, 6)),
                    format!("{} km per 1 US gallon, and 1 US gallon = 3.785411784 L.", trim(km, 6)),
                    format!(
                        "Kilometres per litre = {} ÷ 3.785411784 = {} (distance per volume, no inversion).",
                        trim(km, 6),
                        trim(kmpl, 6)
                    ),
                    kmpl,
                    format!("{} mi per gal", trim(mpg, 1)),
                )
            }
        };
        if near_half(y, 2) {
            continue;
        }
        let answer = fixed(y, 2);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(w1, v1),
                step(w2.clone(), w2.rsplit("= ").next().unwrap_or("").trim_end_matches('.').to_string()),
                step(w3.clone(), w3.rsplit("= ").next().unwrap_or("").trim_end_matches('.').to_string()),
                step(w4, trim(y, 6)),
                step(format!("{} rounded to 2 decimals = {answer}.", trim(y, 6)), answer),
            ],
        ));
    }
}

/// Converts an area or a volume: the linear factor is squared or cubed.
fn area_volume_convert(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    // (from, to, linear factor, fact, power)
    let cases: &[(&str, &str, f64, &str, u32)] = &[
        ("m", "ft", 3.28084, "1 m = 3.28084 ft", 2),
        ("ft", "m", 0.3048, "1 ft = 0.3048 m", 2),
        ("yd", "ft", 3.0, "1 yd = 3 ft", 2),
        ("in", "cm", 2.54, "1 in = 2.54 cm", 3),
        ("ft", "m", 0.3048, "1 ft = 0.3048 m", 3),
        ("m", "cm", 100.0, "1 m = 100 cm", 2),
        ("yd", "m", 0.9144, "1 yd = 0.9144 m", 3),
    ];
    loop {
        let &(from, to, k, fact, p) = g.pick(cases);
        let dims: Vec<f64> = (0..p)
            .map(|_| match from {
                "m" | "yd" => g.range(8, 95) as f64 / 10.0,
                "in" => g.range(3, 30) as f64,
                _ => g.range(4, 30) as f64,
            })
            .collect();
        let given_direct = g.chance(0.35);
        let q: f64 = dims.iter().product();
        let kp = k.powi(p as i32);
        let y = q * kp;
        if near_half(y, 2) {
            continue;
        }
        let (sq, word) = if p == 2 { ("²", "area") } else { ("³", "volume") };
        let dims_s = dims.iter().map(|d| format!("{} {from}", trim(*d, 2))).collect::<Vec<_>>().join(" by ");
        let thing = if p == 2 {
            *g.pick(&["A floor", "A garden plot", "A wall panel", "A solar array"])
        } else {
            *g.pick(&["A shipping crate", "A water tank", "A storage unit", "A concrete slab form"])
        };
        let prompt = if given_direct {
            format!(
                "{thing} has {} {word} of {} {from}{sq}. What is its {word} in {to}{sq}? Use {fact}. Give just the \
                 number, rounded to 2 decimal places.",
                if p == 2 { "an" } else { "a" },
                trim(q, 4)
            )
        } else {
            format!(
                "{thing} measures {dims_s}. What is its {word} in {to}{sq}? Use {fact}. Give just the number, rounded \
                 to 2 decimal places."
            )
        };
        let w1 = if given_direct {
            format!("The {word} is given: {} {from}{sq}; it is {word}, so the power is {p}.", trim(q, 4))
        } else {
            format!(
                "{word} = {} = {} {from}{sq}; power {p}.",
                dims.iter().map(|d| trim(*d, 2)).collect::<Vec<_>>().join(" × "),
                trim(q, 4)
            )
        };
        let answer = fixed(y, 2);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(w1, format!("{} {from}{sq}", trim(q, 4))),
                step(format!("Linear factor: {fact}."), format!("{} {to}/{from}", trim(k, 6))),
                step(
                    format!("{word} factor = {}^{p} = {} {to}{sq} per {from}{sq}.", trim(k, 6), trim(kp, 9)),
                    trim(kp, 9),
                ),
                step(
                    format!("{} × {} = {} {to}{sq}.", trim(q, 4), trim(kp, 9), trim(y, 6)),
                    format!("{} {to}{sq}", trim(y, 6)),
                ),
                step(format!("Rounded to 2 decimals: {answer}."), answer),
            ],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_changes_skip_offsets() {
        // A reading of 98.6 °F is 37 °C = 310.15 K; a rise of 18 °F is a rise of 10 K.
        let c = to_celsius(98.6, Scale::Fahrenheit, false);
        assert_eq!(fixed(from_celsius(c, Scale::Kelvin, false), 2), "310.15");
        assert_eq!(fixed(from_celsius(to_celsius(18.0, Scale::Fahrenheit, true), Scale::Kelvin, true), 2), "10.00");
        // -40 is the same reading on both scales.
        assert_eq!(
            fixed(from_celsius(to_celsius(-40.0, Scale::Fahrenheit, false), Scale::Celsius, false), 2),
            "-40.00"
        );
    }

    #[test]
    fn feet_and_inches_carry_at_twelve() {
        assert_eq!(ft_in(94 + 46 + 50 + 82), "22 ft 8 in");
        assert_eq!(ft_in(84), "7 ft 0 in");
    }

    #[test]
    fn fuel_economy_constants() {
        // 30 US mpg ≈ 7.84 L/100 km; 48 imperial mpg ≈ 5.89 L/100 km.
        assert_eq!(fixed(100.0 / (30.0 * KM_PER_MILE / L_PER_US_GAL), 2), "7.84");
        assert_eq!(fixed(100.0 / (48.0 * KM_PER_MILE / L_PER_UK_GAL), 2), "5.89");
    }
}
