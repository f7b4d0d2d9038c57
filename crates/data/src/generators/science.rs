//! Generators for the `science` domain.

use super::fmt::{fixed, near_half, trim};
use super::params::{NoParams, NonEmpty, kinds, params, words};
use super::{Gen, Kind, criterion, exact, free_form, retry, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[Kind] = kinds![
    "dilution_volume" => dilution_volume(DilutionVolumeParams),
    "ideal_gas_pressure" => ideal_gas_pressure(NoParams),
    "half_life_remaining" => half_life_remaining(HalfLifeRemainingParams),
    "buoyancy_float_check" => buoyancy_float_check(BuoyancyFloatCheckParams),
    "molar_mass_formula" => molar_mass_formula(MolarMassFormulaParams),
    "series_parallel_circuit" => series_parallel_circuit(NoParams),
    "projectile_range" => projectile_range(NoParams),
    "ph_from_concentration" => ph_from_concentration(NoParams),
    "bsa_dose" => bsa_dose(BsaDoseParams),
    "sig_fig_result" => sig_fig_result(NoParams),
    "solution_prep_plan" => solution_prep_plan(NoParams),
];

// ---------------------------------------------------------------------------------------
// Dilution C1V1 = C2V2

fn conc_text(m: f64, in_mm: bool) -> String {
    if in_mm { format!("{} mM", trim(m * 1000.0, 3)) } else { format!("{} M", trim(m, 4)) }
}

params! {
    /// Parameters of `dilution_volume`.
    struct DilutionVolumeParams {
        /// Solute names.
        solutes: NonEmpty<String> = words(&["NaCl", "HCl", "glucose", "KNO3", "CuSO4", "NaOH", "acetic acid"]),
        /// Largest target concentration in mM (at least 10).
        max_target_mm: i64 = 400,
    }
}

/// Stock volume (or solvent to add) for a dilution, with mixed M/mM and mL/L units.
fn dilution_volume(g: &mut Gen, p: &DilutionVolumeParams) -> Result<Generated> {
    let max_target_mm = p.max_target_mm.max(10);
    let solute = g.pick(&p.solutes).clone();
    let (c1, c2_mm, v2_ml, ask_solvent, c1_mm, c2_m, v2_l, v1) = retry(g, |g| {
        let c1 = *g.pick(&[0.5, 1.0, 2.0, 2.5, 5.0, 6.0, 10.0, 12.0]);
        let c2_mm = g.range(1, max_target_mm / 5) as f64 * 5.0;
        if c2_mm / 1000.0 >= c1 {
            return None;
        }
        let v2_ml = *g.pick(&[50.0, 100.0, 150.0, 200.0, 250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0]);
        let ask_solvent = g.chance(0.4);
        let (c1_mm, c2_m, v2_l) = (g.chance(0.25), g.chance(0.35), g.chance(0.5));
        let v1 = c2_mm / 1000.0 * v2_ml / c1;
        let ans = if ask_solvent { v2_ml - v1 } else { v1 };
        if near_half(ans, 2) {
            return None;
        }
        Some((c1, c2_mm, v2_ml, ask_solvent, c1_mm, c2_m, v2_l, v1))
    })?;
    let v2_text = if v2_l { format!("{} L", trim(v2_ml / 1000.0, 3)) } else { format!("{} mL", trim(v2_ml, 1)) };
    let c1_text = conc_text(c1, c1_mm);
    let c2_text = conc_text(c2_mm / 1000.0, !c2_m);
    let question = if ask_solvent {
        "How many millilitres of water must be added to the measured stock to reach the final volume (assume the \
         volumes add)?"
    } else {
        "How many millilitres of the stock solution must be measured out?"
    };
    let prompt = format!(
        "A lab has a {c1_text} stock solution of {solute}. You need to prepare {v2_text} of a {c2_text} {solute} \
         solution by diluting the stock with water.\n{question} Round to 2 decimal places."
    );
    let answer = if ask_solvent { v2_ml - v1 } else { v1 };
    let ans = fixed(answer, 2);
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(format!("C1 = {c1_text} (stock), C2 = {c2_text} (target), V2 = {v2_text} (final)."), "C1, C2, V2"),
            step(
                format!(
                    "In M and mL: C1 = {} M, C2 = {} mM = {} M, V2 = {} mL.",
                    trim(c1, 4),
                    trim(c2_mm, 3),
                    trim(c2_mm / 1000.0, 4),
                    trim(v2_ml, 1)
                ),
                format!("C2 = {} M, V2 = {} mL", trim(c2_mm / 1000.0, 4), trim(v2_ml, 1)),
            ),
            step(
                format!(
                    "V1 = C2 × V2 ÷ C1 = {} M × {} mL ÷ {} M = {} mL.",
                    trim(c2_mm / 1000.0, 4),
                    trim(v2_ml, 1),
                    trim(c1, 4),
                    trim(v1, 4)
                ),
                format!("V1 = {} mL", trim(v1, 4)),
            ),
            if ask_solvent {
                step(
                    format!("Water to add = V2 − V1 = {} − {} = {} mL.", trim(v2_ml, 1), trim(v1, 4), trim(answer, 4)),
                    format!("{} mL water", trim(answer, 4)),
                )
            } else {
                step("The task asks for the stock volume, so the answer is V1.", format!("{} mL stock", trim(v1, 4)))
            },
            step(format!("{} rounded to 2 decimal places = {ans}.", trim(answer, 4)), ans),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Ideal gas

const GASES: &[(&str, f64)] = &[
    ("nitrogen (N2)", 28.02),
    ("oxygen (O2)", 32.00),
    ("carbon dioxide (CO2)", 44.01),
    ("helium (He)", 4.003),
    ("argon (Ar)", 39.95),
    ("methane (CH4)", 16.04),
    ("neon (Ne)", 20.18),
];

/// Pressure of a gas sample from mass, °C and mL/L, with R in L·kPa/(mol·K).
fn ideal_gas_pressure(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let (gas, mm, mass, tc, v_l, v_in_ml, p) = retry(g, |g| {
        let &(gas, mm) = g.pick(GASES);
        let mass = g.range(5, 400) as f64 / 10.0;
        let tc = g.range(-30, 180) as f64;
        let v_in_ml = g.chance(0.5);
        let v_l = if v_in_ml { g.range(5, 100) as f64 * 50.0 / 1000.0 } else { g.range(5, 200) as f64 / 10.0 };
        let p = mass / mm * 8.314 * (tc + 273.15) / v_l;
        if !(20.0..=3000.0).contains(&p) || near_half(p, 1) {
            return None;
        }
        Some((gas, mm, mass, tc, v_l, v_in_ml, p))
    })?;
    let v_text = if v_in_ml { format!("{} mL", trim(v_l * 1000.0, 1)) } else { format!("{} L", trim(v_l, 2)) };
    let n = mass / mm;
    let tk = tc + 273.15;
    let prompt = format!(
        "A sealed container of {v_text} holds {} g of {gas} (molar mass {} g/mol) at {} °C. Treat the gas as ideal, \
         with R = 8.314 L·kPa/(mol·K) and T(K) = T(°C) + 273.15.\n\
         What is the pressure in the container in kPa? Round to 1 decimal place.",
        trim(mass, 1),
        trim(mm, 3),
        trim(tc, 0)
    );
    let ans = fixed(p, 1);
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(format!("T = {} °C + 273.15 = {} K.", trim(tc, 0), trim(tk, 2)), format!("{} K", trim(tk, 2))),
            step(format!("V = {v_text} = {} L.", trim(v_l, 3)), format!("{} L", trim(v_l, 3))),
            step(
                format!("n = {} g ÷ {} g/mol = {} mol.", trim(mass, 1), trim(mm, 3), trim(n, 5)),
                format!("{} mol", trim(n, 5)),
            ),
            step(
                format!(
                    "P = nRT ÷ V = {} × 8.314 × {} ÷ {} = {} kPa.",
                    trim(n, 5),
                    trim(tk, 2),
                    trim(v_l, 3),
                    trim(p, 3)
                ),
                format!("{} kPa", trim(p, 3)),
            ),
            step(format!("{} kPa rounded to 1 decimal place = {ans}.", trim(p, 3)), ans),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Half-life

params! {
    /// Parameters of `half_life_remaining`.
    struct HalfLifeRemainingParams {
        /// Isotope names.
        isotopes: NonEmpty<String> = words(&["Tc-99m", "I-131", "F-18", "Na-24", "P-32", "Ga-67", "Xe-133", "Y-90"]),
    }
}

/// Remaining (or decayed) amount after a whole or half-integer number of half-lives, with the
/// half-life and elapsed time in different units and the answer in mg.
fn half_life_remaining(g: &mut Gen, p: &HalfLifeRemainingParams) -> Result<Generated> {
    let iso = g.pick(&p.isotopes).clone();
    // (half-life unit, elapsed unit, elapsed units per half-life unit)
    let (hl_unit, el_unit, factor, hl, halves, elapsed) = retry(g, |g| {
        let (hl_unit, el_unit, factor, hl) = *g.pick(&[
            ("hours", "days", 1.0 / 24.0, 6.0),
            ("hours", "days", 1.0 / 24.0, 12.0),
            ("hours", "hours", 1.0, 8.0),
            ("minutes", "hours", 1.0 / 60.0, 20.0),
            ("minutes", "hours", 1.0 / 60.0, 30.0),
            ("days", "weeks", 1.0 / 7.0, 3.5),
            ("days", "days", 1.0, 8.0),
            ("days", "weeks", 1.0 / 7.0, 7.0),
            ("hours", "days", 1.0 / 24.0, 16.0),
        ]);
        let halves = g.range(2, 12) as f64 / 2.0; // 1 to 6 in steps of 0.5
        let elapsed = halves * hl * factor;
        // Only elapsed times with at most 3 decimals, so the task states them exactly.
        ((elapsed * 1000.0 - (elapsed * 1000.0).round()).abs() < 1e-6)
            .then_some((hl_unit, el_unit, factor, hl, halves, elapsed))
    })?;
    let start_in_g = g.chance(0.5);
    let n0_mg = if start_in_g { g.range(1, 40) as f64 * 500.0 } else { g.range(20, 900) as f64 };
    let ask_decayed = g.chance(0.3);
    let remaining = n0_mg * 0.5f64.powf(halves);
    let answer = if ask_decayed { n0_mg - remaining } else { remaining };
    let n0_text = if start_in_g { format!("{} g", trim(n0_mg / 1000.0, 3)) } else { format!("{} mg", trim(n0_mg, 1)) };
    let what = if ask_decayed { "How many milligrams have decayed" } else { "How many milligrams remain" };
    let prompt = format!(
        "A sample contains {n0_text} of {iso}, whose half-life is {} {hl_unit}. {what} after {} {el_unit}? Use N = N0 \
         × (1/2)^(t ÷ T½) and, if needed, (1/2)^0.5 = 0.70711. Answer in mg, rounded to 2 decimal places.",
        trim(hl, 2),
        trim(elapsed, 4)
    );
    let ans = fixed(answer, 2);
    let el_in_hl = elapsed / factor;
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!(
                    "Elapsed time {} {el_unit} = {} {hl_unit} (same unit as the half-life).",
                    trim(elapsed, 4),
                    trim(el_in_hl, 4)
                ),
                format!("t = {} {hl_unit}", trim(el_in_hl, 4)),
            ),
            step(
                format!("Half-lives = {} ÷ {} = {}.", trim(el_in_hl, 4), trim(hl, 2), trim(halves, 1)),
                trim(halves, 1),
            ),
            step(format!("N0 = {n0_text} = {} mg.", trim(n0_mg, 1)), format!("{} mg", trim(n0_mg, 1))),
            step(
                format!("Remaining = {} mg × (1/2)^{} = {} mg.", trim(n0_mg, 1), trim(halves, 1), trim(remaining, 4)),
                format!("{} mg", trim(remaining, 4)),
            ),
            if ask_decayed {
                step(
                    format!(
                        "Decayed = {} − {} = {} mg, rounded to 2 decimals: {ans}.",
                        trim(n0_mg, 1),
                        trim(remaining, 4),
                        trim(answer, 4)
                    ),
                    ans.clone(),
                )
            } else {
                step(format!("The task asks for the remaining amount: {} mg → {ans}.", trim(remaining, 4)), ans.clone())
            },
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Buoyancy

const FLUIDS: &[(&str, f64)] = &[
    ("fresh water", 1000.0),
    ("seawater", 1025.0),
    ("vegetable oil", 920.0),
    ("glycerin", 1260.0),
    ("ethanol", 789.0),
];

params! {
    /// Parameters of `buoyancy_float_check`.
    struct BuoyancyFloatCheckParams {
        /// Names of the block.
        objects: NonEmpty<String> = words(&[
            "wooden block", "plastic brick", "wax block", "resin block", "foam-core block",
        ]),
    }
}

/// Float-or-sink decision for a block, with the fluid density given in kg/m³ (free-form).
fn buoyancy_float_check(g: &mut Gen, p: &BuoyancyFloatCheckParams) -> Result<Generated> {
    let obj = g.pick(&p.objects).clone();
    let (fluid, rho_f, dims, mass_g, rho_o, mass_in_kg) = retry(g, |g| {
        let &(fluid, rho_f) = g.pick(FLUIDS);
        let dims = [g.range(4, 20), g.range(4, 15), g.range(2, 10)];
        let vol = (dims[0] * dims[1] * dims[2]) as f64;
        let target = rho_f / 1000.0 * (0.5 + g.range(0, 100) as f64 / 100.0);
        let mass_g = (vol * target).round();
        let rho_o = mass_g / vol;
        let rf = rho_f / 1000.0;
        if (rho_o - rf).abs() < 0.03 || near_half(rho_o, 2) {
            return None;
        }
        if rho_o < rf && near_half(rho_o / rf * 100.0, 1) {
            return None;
        }
        let w = (mass_g - rf * vol) / 1000.0 * 9.81;
        if rho_o > rf && near_half(w, 2) {
            return None;
        }
        Some((fluid, rho_f, dims, mass_g, rho_o, g.chance(0.4)))
    })?;
    let vol = (dims[0] * dims[1] * dims[2]) as f64;
    let rf = rho_f / 1000.0;
    let floats = rho_o < rf;
    let mass_text =
        if mass_in_kg { format!("{} kg", trim(mass_g / 1000.0, 3)) } else { format!("{} g", trim(mass_g, 0)) };
    let prompt = format!(
        "A solid {obj} measures {} cm × {} cm × {} cm and has a mass of {mass_text}. It is placed in {fluid}, whose \
         density is {} kg/m³. Take g = 9.81 m/s².\nDoes the block float or sink? Give the block's density in g/cm³ (2 \
         decimal places). If it floats, give the percentage of its volume that is submerged (1 decimal place, from \
         the unrounded densities); if it sinks, give its apparent weight in the fluid in newtons (2 decimal places).",
        dims[0],
        dims[1],
        dims[2],
        trim(rho_f, 0)
    );
    let d2 = fixed(rho_o, 2);
    let rf_text = fixed(rf, 3);
    let verdict = if floats { "floats" } else { "sinks" };
    let (result_work, result_value, answer, third) = if floats {
        let pct = rho_o / rf * 100.0;
        let p = fixed(pct, 1);
        (
            format!("Floats: submerged fraction = {} ÷ {rf_text} × 100% = {p}%.", trim(rho_o, 4)),
            format!("{p}% submerged"),
            format!(
                "Volume = {} × {} × {} = {} cm³ and mass = {} g, so the density is {d2} g/cm³. The {fluid} is {} \
                 kg/m³ = {rf_text} g/cm³. Since {d2} < {rf_text}, the block floats, with {p}% of its volume \
                 submerged.",
                dims[0],
                dims[1],
                dims[2],
                trim(vol, 0),
                trim(mass_g, 0),
                trim(rho_f, 0)
            ),
            criterion("gives the percentage of the volume submerged", &[&p.clone()]),
        )
    } else {
        let buoy_g = rf * vol;
        let w = (mass_g - buoy_g) / 1000.0 * 9.81;
        let wt = fixed(w, 2);
        (
            format!(
                "Sinks: displaced fluid = {rf_text} × {} = {} g; apparent weight = ({} − {}) g = {} kg × 9.81 = {wt} \
                 N.",
                trim(vol, 0),
                trim(buoy_g, 3),
                trim(mass_g, 0),
                trim(buoy_g, 3),
                trim((mass_g - buoy_g) / 1000.0, 6)
            ),
            format!("{wt} N apparent weight"),
            format!(
                "Volume = {} × {} × {} = {} cm³ and mass = {} g, so the density is {d2} g/cm³. The {fluid} is {} \
                 kg/m³ = {rf_text} g/cm³. Since {d2} > {rf_text}, the block sinks; its apparent weight is ({} g − {} \
                 g) × 9.81 m/s² = {wt} N.",
                dims[0],
                dims[1],
                dims[2],
                trim(vol, 0),
                trim(mass_g, 0),
                trim(rho_f, 0),
                trim(mass_g, 0),
                trim(buoy_g, 3)
            ),
            criterion("gives the apparent weight in newtons", &[&wt.clone()]),
        )
    };
    Ok(free_form(
        prompt,
        answer,
        [
            step(
                format!(
                    "V = {} × {} × {} = {} cm³; m = {mass_text} = {} g.",
                    dims[0],
                    dims[1],
                    dims[2],
                    trim(vol, 0),
                    trim(mass_g, 0)
                ),
                format!("{} cm³, {} g", trim(vol, 0), trim(mass_g, 0)),
            ),
            step(
                format!("ρ_block = {} g ÷ {} cm³ = {} g/cm³ ≈ {d2}.", trim(mass_g, 0), trim(vol, 0), trim(rho_o, 4)),
                format!("{d2} g/cm³"),
            ),
            step(format!("ρ_fluid = {} kg/m³ ÷ 1000 = {rf_text} g/cm³.", trim(rho_f, 0)), format!("{rf_text} g/cm³")),
            step(
                format!("{} {} {rf_text}, so the block {verdict}.", trim(rho_o, 4), if floats { "<" } else { ">" }),
                verdict,
            ),
            step(result_work, result_value),
        ],
        vec![
            criterion("states whether the block floats or sinks", &[verdict]),
            criterion("gives the block's density in g/cm³ to 2 decimals", &[&d2]),
            criterion("compares against the fluid density converted from kg/m³ to g/cm³", &[&rf_text]),
            third,
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Molar mass

const ATOMIC_MASSES: &[(&str, f64)] = &[
    ("H", 1.008),
    ("C", 12.011),
    ("N", 14.007),
    ("O", 15.999),
    ("Na", 22.990),
    ("Mg", 24.305),
    ("Al", 26.982),
    ("P", 30.974),
    ("S", 32.06),
    ("Cl", 35.45),
    ("K", 39.098),
    ("Ca", 40.078),
    ("Cr", 51.996),
    ("Fe", 55.845),
    ("Cu", 63.546),
    ("Zn", 65.38),
    ("Ba", 137.33),
];

/// Atom counts of a formula like `Al2(SO4)3` or `CuSO4·5H2O`, in order of first appearance.
pub(crate) fn parse_formula(formula: &str) -> Option<Vec<(String, u32)>> {
    fn add(out: &mut Vec<(String, u32)>, el: &str, n: u32) {
        match out.iter_mut().find(|(e, _)| e == el) {
            Some(slot) => slot.1 += n,
            None => out.push((el.to_string(), n)),
        }
    }
    fn group(chars: &[char], i: &mut usize) -> Option<Vec<(String, u32)>> {
        let mut out = Vec::new();
        while *i < chars.len() {
            let c = chars[*i];
            if c == ')' {
                return Some(out);
            }
            let part: Vec<(String, u32)> = if c == '(' {
                *i += 1;
                let inner = group(chars, i)?;
                if chars.get(*i) != Some(&')') {
                    return None;
                }
                *i += 1;
                inner
            } else if c.is_ascii_uppercase() {
                let mut el = c.to_string();
                *i += 1;
                while *i < chars.len() && chars[*i].is_ascii_lowercase() {
                    el.push(chars[*i]);
                    *i += 1;
                }
                vec![(el, 1)]
            } else {
                return None;
            };
            let mut n = 0u32;
            while *i < chars.len() && chars[*i].is_ascii_digit() {
                n = n * 10 + chars[*i].to_digit(10)?;
                *i += 1;
            }
            let n = n.max(1);
            for (e, k) in part {
                add(&mut out, &e, k * n);
            }
        }
        Some(out)
    }
    let mut out = Vec::new();
    for piece in formula.split(['·', '.']) {
        let digits: String = piece.chars().take_while(|c| c.is_ascii_digit()).collect();
        let mult: u32 = if digits.is_empty() { 1 } else { digits.parse().ok()? };
        let chars: Vec<char> = piece[digits.len()..].chars().collect();
        let mut i = 0;
        let counts = group(&chars, &mut i)?;
        if i != chars.len() {
            return None;
        }
        for (e, k) in counts {
            add(&mut out, &e, k * mult);
        }
    }
    Some(out)
}

fn atomic_mass(el: &str) -> Option<f64> {
    ATOMIC_MASSES.iter().find(|(e, _)| *e == el).map(|(_, m)| *m)
}

params! {
    /// Parameters of `molar_mass_formula`.
    struct MolarMassFormulaParams {
        /// Formulas drawn from; their elements must be in the kind's atomic-mass table.
        formulas: NonEmpty<String> = words(&[
            "Ca(OH)2", "Al2(SO4)3", "CuSO4·5H2O", "Mg3(PO4)2", "(NH4)2SO4", "Fe2(SO4)3", "Ca3(PO4)2", "K4Fe(CN)6",
            "Na2CO3·10H2O", "Ba(NO3)2", "Zn(C2H3O2)2", "MgSO4·7H2O", "Al(OH)3", "KAl(SO4)2·12H2O", "Cu(NO3)2",
            "(NH4)3PO4", "Fe(OH)3", "CaCl2·2H2O", "Mg(ClO4)2", "K2Cr2O7", "Ba(OH)2·8H2O", "Ca(NO3)2·4H2O",
        ]),
    }
}

/// Molar mass (or the mass of a number of moles) of a formula with parentheses or hydrate
/// water, from a given atomic-mass table.
fn molar_mass_formula(g: &mut Gen, p: &MolarMassFormulaParams) -> Result<Generated> {
    let formulas = &p.formulas;
    let formula = g.pick(formulas).clone();
    let counts = parse_formula(&formula).ok_or_else(|| g.param_error("formulas", format!("cannot parse {formula}")))?;
    let mut masses = Vec::new();
    for (e, _) in &counts {
        masses.push(atomic_mass(e).ok_or_else(|| g.param_error("formulas", format!("no atomic mass for {e}")))?);
    }
    let molar: f64 = counts.iter().zip(&masses).map(|((_, n), m)| *n as f64 * m).sum();
    // Table: the formula's elements plus two distractors, in table order.
    let extra = g.distinct(ATOMIC_MASSES.len(), ATOMIC_MASSES.len());
    let mut shown: Vec<usize> =
        (0..ATOMIC_MASSES.len()).filter(|i| counts.iter().any(|(e, _)| e == ATOMIC_MASSES[*i].0)).collect();
    for i in extra {
        if shown.len() >= counts.len() + 2 {
            break;
        }
        if !shown.contains(&i) {
            shown.push(i);
        }
    }
    shown.sort();
    let table = shown
        .iter()
        .map(|&i| format!("{} = {}", ATOMIC_MASSES[i].0, ATOMIC_MASSES[i].1))
        .collect::<Vec<_>>()
        .join(", ");
    let moles = if g.chance(0.5) { Some(g.range(1, 40) as f64 * 0.125) } else { None };
    let final_value = molar * moles.unwrap_or(1.0);
    let question = match moles {
        Some(n) => format!("What is the mass, in grams, of {} mol of {formula}?", trim(n, 3)),
        None => format!("What is the molar mass of {formula} in g/mol?"),
    };
    let prompt = format!(
        "Atomic masses (g/mol): {table}.\n{question} A centred dot (·) joins water of hydration, which is part of the \
         formula. Round the final answer to 2 decimal places."
    );
    let ans = fixed(final_value, 2);
    let count_text = counts.iter().map(|(e, n)| format!("{e}: {n}")).collect::<Vec<_>>().join(", ");
    let products: Vec<String> =
        counts.iter().zip(&masses).map(|((e, n), m)| format!("{e} {n} × {m} = {}", trim(*n as f64 * m, 3))).collect();
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!(
                    "Expand {formula}: multiply each subscript inside parentheses by the group's subscript and add \
                     hydrate water → {count_text}."
                ),
                count_text.clone(),
            ),
            step(
                counts.iter().zip(&masses).map(|((e, _), m)| format!("{e} = {m}")).collect::<Vec<_>>().join(", "),
                "masses looked up",
            ),
            step(products.join("; "), "element contributions"),
            step(format!("Molar mass = {} g/mol.", trim(molar, 3)), format!("{} g/mol", trim(molar, 3))),
            match moles {
                Some(n) => step(
                    format!(
                        "Mass = {} mol × {} g/mol = {} g → {ans}.",
                        trim(n, 3),
                        trim(molar, 3),
                        trim(final_value, 4)
                    ),
                    ans.clone(),
                ),
                None => step(format!("{} rounded to 2 decimals = {ans}.", trim(molar, 3)), ans.clone()),
            },
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Series-parallel circuit

fn ohm_text(r: f64, in_k: bool) -> String {
    if in_k { format!("{} kΩ", trim(r / 1000.0, 3)) } else { format!("{} Ω", trim(r, 1)) }
}

/// What a circuit task asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CircuitAsk {
    /// The current drawn from the source, in mA.
    TotalCurrent,
    /// The current through R2, in mA.
    BranchCurrent,
    /// The voltage across R1, in V.
    SeriesVoltage,
}

/// R1 in series with R2 ∥ R3: total current, current in R2, or voltage across R1.
fn series_parallel_circuit(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    const E12: &[f64] = &[100.0, 120.0, 150.0, 180.0, 220.0, 270.0, 330.0, 390.0, 470.0, 560.0, 680.0, 820.0];
    let (r, v, ask, ans_val) = retry(g, |g| {
        let r: Vec<f64> = (0..3).map(|_| g.pick(E12) * *g.pick(&[1.0, 10.0])).collect();
        let v = *g.pick(&[5.0, 9.0, 12.0, 15.0, 24.0, 30.0, 48.0]);
        let rp = r[1] * r[2] / (r[1] + r[2]);
        let i = v / (r[0] + rp);
        let ask =
            [CircuitAsk::TotalCurrent, CircuitAsk::BranchCurrent, CircuitAsk::SeriesVoltage][g.range(0, 2) as usize];
        let ans = match ask {
            CircuitAsk::TotalCurrent => i * 1000.0,
            CircuitAsk::BranchCurrent => i * r[2] / (r[1] + r[2]) * 1000.0,
            CircuitAsk::SeriesVoltage => i * r[0],
        };
        if near_half(ans, 2) {
            return None;
        }
        Some((r, v, ask, ans))
    })?;
    let ks: Vec<bool> = r.iter().map(|x| *x >= 1000.0 && g.chance(0.7)).collect();
    let rp = r[1] * r[2] / (r[1] + r[2]);
    let rt = r[0] + rp;
    let i = v / rt;
    let question = match ask {
        CircuitAsk::TotalCurrent => "What is the total current drawn from the source, in mA?",
        CircuitAsk::BranchCurrent => "What is the current through R2, in mA?",
        CircuitAsk::SeriesVoltage => "What is the voltage across R1, in V?",
    };
    let prompt = format!(
        "A {} V source drives a circuit in which R1 = {} is in series with a parallel pair R2 = {} and R3 = {}.\n\
         {question} Round to 2 decimal places.",
        trim(v, 1),
        ohm_text(r[0], ks[0]),
        ohm_text(r[1], ks[1]),
        ohm_text(r[2], ks[2])
    );
    let ans = fixed(ans_val, 2);
    let last = match ask {
        CircuitAsk::TotalCurrent => {
            step(format!("Total current = {} A = {} mA → {ans} mA.", trim(i, 6), trim(i * 1000.0, 4)), ans.clone())
        }
        CircuitAsk::BranchCurrent => step(
            format!(
                "I2 = I × R3 ÷ (R2 + R3) = {} mA × {} ÷ {} = {} mA → {ans} mA.",
                trim(i * 1000.0, 4),
                trim(r[2], 0),
                trim(r[1] + r[2], 0),
                trim(ans_val, 4)
            ),
            ans.clone(),
        ),
        CircuitAsk::SeriesVoltage => step(
            format!("V1 = I × R1 = {} A × {} Ω = {} V → {ans} V.", trim(i, 6), trim(r[0], 0), trim(ans_val, 4)),
            ans.clone(),
        ),
    };
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!("In ohms: R1 = {} Ω, R2 = {} Ω, R3 = {} Ω.", trim(r[0], 0), trim(r[1], 0), trim(r[2], 0)),
                "all in Ω",
            ),
            step(
                format!(
                    "R2 ∥ R3 = {} × {} ÷ ({} + {}) = {} Ω.",
                    trim(r[1], 0),
                    trim(r[2], 0),
                    trim(r[1], 0),
                    trim(r[2], 0),
                    trim(rp, 4)
                ),
                format!("{} Ω", trim(rp, 4)),
            ),
            step(
                format!("R_total = {} + {} = {} Ω.", trim(r[0], 0), trim(rp, 4), trim(rt, 4)),
                format!("{} Ω", trim(rt, 4)),
            ),
            step(
                format!("I = V ÷ R_total = {} ÷ {} = {} A.", trim(v, 1), trim(rt, 4), trim(i, 6)),
                format!("{} A", trim(i, 6)),
            ),
            last,
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Projectile range

/// Level-ground range R = v² sin(2θ) / g with the speed in km/h or m/s and a sine table.
fn projectile_range(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    // A four-digit sine table the task prints, not an approximation of a constant.
    #[allow(clippy::approx_constant)]
    const SINES: &[(i64, f64)] =
        &[(15, 0.2588), (30, 0.5), (45, 0.7071), (60, 0.866), (75, 0.9659), (90, 1.0), (120, 0.866), (150, 0.5)];
    let bodies = [("Earth", 9.81), ("the Moon", 1.62), ("Mars", 3.71)];
    let (theta, v_ms, kmh, body, gv, range) = retry(g, |g| {
        let theta = *g.pick(&[15i64, 30, 45, 60, 75]);
        let kmh = g.chance(0.55);
        let v_ms = if kmh { g.range(20, 150) as f64 / 3.6 } else { g.range(5, 45) as f64 };
        let &(body, gv) = g.pick(&bodies);
        let s2 = SINES.iter().find(|(a, _)| *a == 2 * theta).unwrap().1;
        let range = v_ms * v_ms * s2 / gv;
        if near_half(range, 1) || range > 5000.0 {
            return None;
        }
        Some((theta, v_ms, kmh, body, gv, range))
    })?;
    let s2 = SINES.iter().find(|(a, _)| *a == 2 * theta).unwrap().1;
    let table = SINES.iter().map(|(a, s)| format!("sin {a}° = {}", fixed(*s, 4))).collect::<Vec<_>>().join(", ");
    let v_text = if kmh { format!("{} km/h", trim(v_ms * 3.6, 1)) } else { format!("{} m/s", trim(v_ms, 1)) };
    let prompt = format!(
        "On {body} (g = {gv} m/s²), a ball is launched from ground level at {v_text} at {theta}° above the horizontal \
         and lands at the same height. Ignore air resistance. Use R = v² × sin(2θ) ÷ g and these values: {table}.\n\
         How far from the launch point does it land, in metres? Round to 1 decimal place."
    );
    let ans = fixed(range, 1);
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                if kmh {
                    format!("v = {v_text} ÷ 3.6 = {} m/s.", trim(v_ms, 4))
                } else {
                    format!("v = {v_text}, already in m/s.")
                },
                format!("{} m/s", trim(v_ms, 4)),
            ),
            step(format!("2θ = 2 × {theta}° = {}°; sin {}° = {}.", 2 * theta, 2 * theta, fixed(s2, 4)), fixed(s2, 4)),
            step(format!("v² = {}² = {} m²/s².", trim(v_ms, 4), trim(v_ms * v_ms, 4)), trim(v_ms * v_ms, 4)),
            step(
                format!("R = {} × {} ÷ {gv} = {} m.", trim(v_ms * v_ms, 4), fixed(s2, 4), trim(range, 4)),
                format!("{} m", trim(range, 4)),
            ),
            step(format!("{} m rounded to 1 decimal place = {ans}.", trim(range, 4)), ans),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// pH

/// How a task writes a concentration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notation {
    /// `2.5 × 10^-3 M`.
    Scientific,
    /// `2.5 mM`.
    Millimolar,
    /// `0.0025 M`.
    Decimal,
}

/// pH of a strong acid or base solution, counting H⁺/OH⁻ per formula unit, with a log table.
fn ph_from_concentration(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    // (name, acid?, ions per formula unit)
    const SOLUTES: &[(&str, bool, u32)] = &[
        ("HCl", true, 1),
        ("HNO3", true, 1),
        ("H2SO4", true, 2),
        ("NaOH", false, 1),
        ("KOH", false, 1),
        ("Ca(OH)2", false, 2),
        ("Ba(OH)2", false, 2),
    ];
    const MANTISSAS: &[f64] = &[1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0];
    let (name, acid, k, m, exp, style, ph) = retry(g, |g| {
        let &(name, acid, k) = g.pick(SOLUTES);
        let m = *g.pick(MANTISSAS);
        let exp = g.range(2, 5) as i32;
        let style = [Notation::Scientific, Notation::Millimolar, Notation::Decimal][g.range(0, 2) as usize];
        let c = m * 10f64.powi(-exp);
        let ion = c * k as f64;
        let p = -ion.log10();
        let ph = if acid { p } else { 14.0 - p };
        if near_half(ph, 2) {
            return None;
        }
        Some((name, acid, k, m, exp, style, ph))
    })?;
    let c = m * 10f64.powi(-exp);
    let ion = c * k as f64;
    // Normalised mantissa of the ion concentration.
    let (im, iexp) = if m * k as f64 >= 10.0 { (m * k as f64 / 10.0, exp - 1) } else { (m * k as f64, exp) };
    let conc_text = match style {
        Notation::Scientific => format!("{} × 10^-{exp} M", trim(m, 1)),
        Notation::Millimolar => format!("{} mM", trim(c * 1000.0, 4)),
        Notation::Decimal => format!("{} M", trim(c, 7)),
    };
    let mut logs: Vec<f64> = vec![m, im];
    for d in [1.2, 3.5, 9.0] {
        if logs.len() < 4 && !logs.contains(&d) {
            logs.push(d);
        }
    }
    logs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    logs.dedup();
    let table =
        logs.iter().map(|x| format!("log10({}) = {}", trim(*x, 1), fixed(x.log10(), 4))).collect::<Vec<_>>().join(", ");
    let ion_name = if acid { "H⁺" } else { "OH⁻" };
    let note = if acid && k == 2 { " Assume both protons of H2SO4 dissociate completely." } else { "" };
    let prompt = format!(
        "A solution is {conc_text} {name}, a strong {} that dissociates completely.{note} At 25 °C, pH + pOH = 14.00. \
         Useful values: {table}.\nWhat is the pH of the solution? Round to 2 decimal places.",
        if acid { "acid" } else { "base" }
    );
    let p = -ion.log10();
    let ans = fixed(ph, 2);
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!("{name} concentration = {conc_text} = {} × 10^-{exp} M.", trim(m, 1)),
                format!("{} × 10^-{exp} M", trim(m, 1)),
            ),
            step(
                format!(
                    "Each {name} releases {k} {ion_name}: [{ion_name}] = {k} × {} × 10^-{exp} = {} × 10^-{iexp} M.",
                    trim(m, 1),
                    trim(im, 2)
                ),
                format!("{} × 10^-{iexp} M", trim(im, 2)),
            ),
            step(
                format!(
                    "p{} = −log10({} × 10^-{iexp}) = {iexp} − {} = {}.",
                    if acid { "H" } else { "OH" },
                    trim(im, 2),
                    fixed(im.log10(), 4),
                    fixed(p, 4)
                ),
                fixed(p, 4),
            ),
            if acid {
                step("The solute is an acid, so pH = −log10[H⁺] directly.", format!("pH = {}", fixed(ph, 4)))
            } else {
                step(
                    format!("Base: pH = 14.00 − pOH = 14.00 − {} = {}.", fixed(p, 4), fixed(ph, 4)),
                    format!("pH = {}", fixed(ph, 4)),
                )
            },
            step(format!("{} rounded to 2 decimal places = {ans}.", fixed(ph, 4)), ans),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Body surface area dosing

params! {
    /// Parameters of `bsa_dose`.
    struct BsaDoseParams {
        /// Drug names.
        drugs: NonEmpty<String> = words(&["Drug A", "Drug B", "Drug C", "Drug K", "Drug M"]),
    }
}

/// Mosteller BSA from imperial or metric measurements, dose per m², rounding to 10 mg and a cap.
fn bsa_dose(g: &mut Gen, p: &BsaDoseParams) -> Result<Generated> {
    let drug = g.pick(&p.drugs).clone();
    let (h_cm, w_kg, imperial_h, imperial_w, h_in, w_lb, per_m2, cap, bsa, bsa2, raw) = retry(g, |g| {
        let imperial_h = g.chance(0.5);
        let imperial_w = g.chance(0.5);
        let h_in = g.range(58, 76);
        let h_cm_raw = g.range(145, 195) as f64;
        let h_cm = if imperial_h { h_in as f64 * 2.54 } else { h_cm_raw };
        let w_lb = g.range(100, 260);
        let w_kg = if imperial_w { w_lb as f64 * 0.4536 } else { g.range(45, 120) as f64 };
        let bsa = (h_cm * w_kg / 3600.0).sqrt();
        if near_half(bsa, 2) {
            return None;
        }
        let bsa2 = (bsa * 100.0).round() / 100.0;
        let per_m2 = *g.pick(&[50.0, 60.0, 75.0, 100.0, 135.0, 175.0, 250.0, 400.0]);
        let raw = bsa2 * per_m2;
        if near_half(raw / 10.0, 0) {
            return None;
        }
        let rounded = (raw / 10.0).round() * 10.0;
        let cap =
            if g.chance(0.35) { rounded - g.range(1, 5) as f64 * 10.0 } else { rounded + g.range(1, 8) as f64 * 10.0 };
        Some((h_cm, w_kg, imperial_h, imperial_w, h_in, w_lb, per_m2, cap, bsa, bsa2, raw))
    })?;
    let rounded = (raw / 10.0).round() * 10.0;
    let dose = rounded.min(cap);
    let h_text =
        if imperial_h { format!("{} ft {} in", h_in / 12, h_in % 12) } else { format!("{} cm", trim(h_cm, 1)) };
    let w_text = if imperial_w { format!("{w_lb} lb") } else { format!("{} kg", trim(w_kg, 1)) };
    let prompt = format!(
        "A patient is {h_text} tall and weighs {w_text}. {drug} is dosed at {} mg per m² of body surface area, with a \
         maximum single dose of {} mg.\nUse the Mosteller formula BSA (m²) = √(height in cm × weight in kg ÷ 3600), \
         with 1 in = 2.54 cm and 1 lb = 0.4536 kg. Round the BSA to 2 decimal places before computing the dose, then \
         round the dose to the nearest 10 mg and apply the maximum. What single dose should be given, in mg?",
        trim(per_m2, 0),
        trim(cap, 0)
    );
    let ans = trim(dose, 0);
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!(
                    "Height = {h_text}{} = {} cm; weight = {w_text}{} = {} kg.",
                    if imperial_h { format!(" = {h_in} in × 2.54") } else { String::new() },
                    trim(h_cm, 2),
                    if imperial_w { " × 0.4536".to_string() } else { String::new() },
                    trim(w_kg, 4)
                ),
                format!("{} cm, {} kg", trim(h_cm, 2), trim(w_kg, 4)),
            ),
            step(
                format!(
                    "BSA = √({} × {} ÷ 3600) = √{} = {} → {} m².",
                    trim(h_cm, 2),
                    trim(w_kg, 4),
                    trim(h_cm * w_kg / 3600.0, 4),
                    trim(bsa, 4),
                    fixed(bsa2, 2)
                ),
                format!("{} m²", fixed(bsa2, 2)),
            ),
            step(
                format!("Dose = {} m² × {} mg/m² = {} mg.", fixed(bsa2, 2), trim(per_m2, 0), trim(raw, 2)),
                format!("{} mg", trim(raw, 2)),
            ),
            step(
                format!("{} mg to the nearest 10 mg = {} mg.", trim(raw, 2), trim(rounded, 0)),
                format!("{} mg", trim(rounded, 0)),
            ),
            step(
                if rounded > cap {
                    format!("{} mg exceeds the maximum {} mg, so give {} mg.", trim(rounded, 0), trim(cap, 0), ans)
                } else {
                    format!("{} mg is within the maximum {} mg, so give {} mg.", trim(rounded, 0), trim(cap, 0), ans)
                },
                ans.clone(),
            ),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Significant figures

/// A measurement with a known number of significant figures and decimal places.
#[derive(Clone, Copy)]
struct Measure {
    value: f64,
    sig: u32,
    dp: u32,
}

impl Measure {
    fn text(&self) -> String {
        fixed(self.value, self.dp)
    }
}

fn draw_measure(g: &mut Gen) -> Measure {
    loop {
        let sig = g.range(2, 4) as u32;
        let dp = g.range(0, 4) as u32;
        let lo = 10i64.pow(sig - 1);
        let m = g.range(lo, 10 * lo - 1);
        if dp == 0 && m % 10 == 0 {
            continue; // "1200" would have ambiguous trailing zeros
        }
        let value = m as f64 / 10f64.powi(dp as i32);
        if value > 5000.0 {
            continue;
        }
        return Measure { value, sig, dp };
    }
}

/// `x` written with exactly `sig` significant figures in plain notation, or `None` when that
/// needs ambiguous trailing zeros before the decimal point.
fn with_sig(x: f64, sig: u32) -> Option<String> {
    let e = x.abs().log10().floor() as i32;
    let decimals = sig as i32 - 1 - e;
    if decimals < 0 {
        return None;
    }
    let s = fixed(x, decimals as u32);
    // Rounding may carry into a new digit (9.96 → 10.0): recount.
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let significant = digits.trim_start_matches('0').len() as u32;
    if significant != sig || (decimals == 0 && s.ends_with('0')) {
        return None;
    }
    Some(s)
}

/// The result of a product/quotient or a sum/difference of measurements, written with the
/// significant figures (or decimal places) the rules allow.
fn sig_fig_result(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let (ms, mul, ops, unrounded, ans) = retry(g, |g| {
        let mul = g.chance(0.55);
        let n = if g.chance(0.3) { 3 } else { 2 };
        let ms: Vec<Measure> = (0..n).map(|_| draw_measure(g)).collect();
        let ops: Vec<char> = (1..n).map(|_| if mul { *g.pick(&['×', '÷']) } else { *g.pick(&['+', '−']) }).collect();
        let mut v = ms[0].value;
        for (o, m) in ops.iter().zip(&ms[1..]) {
            v = match o {
                '×' => v * m.value,
                '÷' => v / m.value,
                '+' => v + m.value,
                _ => v - m.value,
            };
        }
        if v <= 0.0 || !(0.001..100_000.0).contains(&v) {
            return None;
        }
        let ans = if mul {
            let sig = ms.iter().map(|m| m.sig).min().unwrap();
            let e = v.log10().floor() as i32;
            if near_half(v, sig as i32 - 1 - e) {
                return None;
            }
            with_sig(v, sig)?
        } else {
            let dp = ms.iter().map(|m| m.dp).min().unwrap();
            if near_half(v, dp as i32) {
                return None;
            }
            fixed(v, dp)
        };
        Some((ms, mul, ops, v, ans))
    })?;
    let mut expr = ms[0].text();
    for (o, m) in ops.iter().zip(&ms[1..]) {
        expr.push_str(&format!(" {o} {}", m.text()));
    }
    let prompt = format!(
        "Compute {expr}, where every number is a measured value, and report the result with the precision the \
         measurements justify. Write it in ordinary (not scientific) notation, keeping any significant trailing \
         zeros."
    );
    let counts = ms
        .iter()
        .map(|m| if mul { format!("{} → {} s.f.", m.text(), m.sig) } else { format!("{} → {} d.p.", m.text(), m.dp) })
        .collect::<Vec<_>>()
        .join("; ");
    let (rule_work, rule_value) = if mul {
        let sig = ms.iter().map(|m| m.sig).min().unwrap();
        (
            "Multiplication/division: the result keeps the fewest significant figures.".to_string(),
            format!("{sig} significant figures"),
        )
    } else {
        let dp = ms.iter().map(|m| m.dp).min().unwrap();
        (
            "Addition/subtraction: the result keeps the fewest decimal places.".to_string(),
            format!("{dp} decimal places"),
        )
    };
    Ok(exact(
        prompt,
        ans.clone(),
        [
            step(
                format!(
                    "The operations are {}, so the {} rule applies.",
                    if mul { "× / ÷" } else { "+ / −" },
                    if mul { "significant-figure" } else { "decimal-place" }
                ),
                if mul { "sig-fig rule" } else { "decimal-place rule" },
            ),
            step(counts, if mul { "sig figs counted" } else { "decimal places counted" }),
            step(rule_work, rule_value.clone()),
            step(format!("Unrounded: {expr} = {}.", trim(unrounded, 8)), trim(unrounded, 8)),
            step(format!("{} rounded to {rule_value} = {ans}.", trim(unrounded, 8)), ans.clone()),
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// Solution preparation plan (free-form)

/// (solute as the concentration is stated, its molar mass, the reagent on the shelf, its molar mass)
const REAGENTS: &[(&str, f64, &str, f64)] = &[
    ("CuSO4", 159.61, "CuSO4·5H2O", 249.69),
    ("MgSO4", 120.37, "MgSO4·7H2O", 246.48),
    ("Na2CO3", 105.99, "Na2CO3·10H2O", 286.14),
    ("CaCl2", 110.98, "CaCl2·2H2O", 147.01),
    ("NaCl", 58.44, "NaCl", 58.44),
    ("KCl", 74.55, "KCl", 74.55),
    ("glucose", 180.16, "glucose", 180.16),
    ("KH2PO4", 136.09, "KH2PO4", 136.09),
];

/// How to make a solution of given molarity in a volumetric flask, weighing a hydrate when
/// that is what the shelf holds (free-form).
fn solution_prep_plan(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let (solute, m_solute, reagent, m_reagent, c, v_ml, mm_units, l_units, mass) = retry(g, |g| {
        let &(solute, ms, reagent, mr) = g.pick(REAGENTS);
        let c = *g.pick(&[0.01, 0.02, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0]);
        let v_ml = *g.pick(&[50.0, 100.0, 250.0, 500.0, 1000.0]);
        let mass = c * v_ml / 1000.0 * mr;
        if near_half(mass, 2) || mass < 0.05 {
            return None;
        }
        Some((solute, ms, reagent, mr, c, v_ml, g.chance(0.4), g.chance(0.3), mass))
    })?;
    let hydrate = reagent != solute;
    let c_text = if mm_units { format!("{} mM", trim(c * 1000.0, 2)) } else { format!("{} M", trim(c, 3)) };
    let v_text = if l_units { format!("{} L", trim(v_ml / 1000.0, 3)) } else { format!("{} mL", trim(v_ml, 0)) };
    let shelf = if hydrate {
        format!(
            "The only {solute} reagent available is the hydrate {reagent}. Molar masses: {solute} = {m_solute} g/mol, \
             {reagent} = {m_reagent} g/mol."
        )
    } else {
        format!("Solid {reagent} is available (molar mass {m_reagent} g/mol).")
    };
    let prompt = format!(
        "Write brief instructions for preparing {v_text} of a {c_text} {solute} solution (concentration of {solute}) \
         in water, using a volumetric flask of exactly that volume. {shelf}\n\
         State the mass to weigh (in grams, 2 decimal places), which compound and molar mass it is based on, the \
         flask size in mL, and how the solution is made up."
    );
    let moles = c * v_ml / 1000.0;
    let mass2 = fixed(mass, 2);
    let flask = format!("{} mL", trim(v_ml, 0));
    let answer = format!(
        "Moles of {solute} needed = {} mol/L × {} L = {} mol. {}Weigh {mass2} g of {reagent} ({} mol × {m_reagent} \
         g/mol), dissolve it in about half the final volume of distilled water, transfer quantitatively to a {flask} \
         volumetric flask, rinse the beaker into the flask, then fill with water to the mark and mix by inverting.",
        trim(c, 3),
        trim(v_ml / 1000.0, 3),
        trim(moles, 6),
        if hydrate {
            format!("Each mole of {reagent} supplies one mole of {solute}, so use the hydrate's molar mass. ")
        } else {
            String::new()
        },
        trim(moles, 6)
    );
    let m_text = trim(m_reagent, 2);
    Ok(free_form(
        prompt,
        answer,
        [
            step(
                format!("C = {c_text} = {} mol/L; V = {v_text} = {} L.", trim(c, 3), trim(v_ml / 1000.0, 3)),
                format!("{} M, {} L", trim(c, 3), trim(v_ml / 1000.0, 3)),
            ),
            step(
                format!(
                    "n = {} mol/L × {} L = {} mol of {solute}.",
                    trim(c, 3),
                    trim(v_ml / 1000.0, 3),
                    trim(moles, 6)
                ),
                format!("{} mol", trim(moles, 6)),
            ),
            step(
                if hydrate {
                    format!("The shelf holds {reagent}; 1 mol of it gives 1 mol {solute}, so use {m_reagent} g/mol.")
                } else {
                    format!("Weigh {reagent} itself: {m_reagent} g/mol.")
                },
                format!("{m_text} g/mol"),
            ),
            step(
                format!("mass = {} mol × {m_reagent} g/mol = {} g → {mass2} g.", trim(moles, 6), trim(mass, 4)),
                format!("{mass2} g"),
            ),
            step(
                format!(
                    "Dissolve {mass2} g {reagent} in less water than {flask}, transfer to the {flask} volumetric \
                     flask, fill to the mark, mix."
                ),
                format!("{mass2} g in a {flask} flask"),
            ),
        ],
        vec![
            criterion("gives the mass to weigh to 2 decimals", &[&mass2]),
            criterion(
                "uses the molar mass of the compound actually weighed (the hydrate when only the hydrate is available)",
                &[&m_text],
            ),
            criterion("names the volumetric flask size in mL", &[&flask]),
            criterion("dissolves in less than the final volume, then fills to the mark", &["mark"]),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_expand_groups_and_hydrates() {
        let c = parse_formula("Al2(SO4)3").unwrap();
        assert_eq!(c, vec![("Al".into(), 2), ("S".into(), 3), ("O".into(), 12)]);
        let c = parse_formula("CuSO4·5H2O").unwrap();
        assert_eq!(c, vec![("Cu".into(), 1), ("S".into(), 1), ("O".into(), 9), ("H".into(), 10)]);
        let c = parse_formula("(NH4)2SO4").unwrap();
        assert_eq!(c, vec![("N".into(), 2), ("H".into(), 8), ("S".into(), 1), ("O".into(), 4)]);
        // Al2(SO4)3 = 2 × 26.982 + 3 × 32.06 + 12 × 15.999 = 342.132
        let m: f64 = parse_formula("Al2(SO4)3").unwrap().iter().map(|(e, n)| *n as f64 * atomic_mass(e).unwrap()).sum();
        assert_eq!(fixed(m, 2), "342.13");
        // CuSO4·5H2O = 63.546 + 32.06 + 9 × 15.999 + 10 × 1.008 = 249.677
        let m: f64 =
            parse_formula("CuSO4·5H2O").unwrap().iter().map(|(e, n)| *n as f64 * atomic_mass(e).unwrap()).sum();
        assert_eq!(fixed(m, 2), "249.68");
    }

    #[test]
    fn significant_figures_in_plain_notation() {
        assert_eq!(with_sig(4.4999, 3).as_deref(), Some("4.50"));
        assert_eq!(with_sig(0.012345, 2).as_deref(), Some("0.012"));
        assert_eq!(with_sig(9.96, 2), None); // would be "10." with 2 s.f.
        assert_eq!(with_sig(345.0, 2), None); // "350" is ambiguous
        assert_eq!(with_sig(12.34, 3).as_deref(), Some("12.3"));
    }
}
