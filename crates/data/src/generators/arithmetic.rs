//! Generators for the `arithmetic` domain.

use std::fmt::Display;

use super::fmt::{fixed, grouped, mixed_number, near_half, trim, usd};
use super::params::{NoParams, NonEmpty, kinds, params, words};
use super::{Gen, Kind, exact, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[Kind] = kinds![
    "weighted_grade" => weighted_grade(WeightedGradeParams),
    "percent_change_chain" => percent_change_chain(PercentChangeChainParams),
    "mixed_fraction_sum" => mixed_fraction_sum(MixedFractionSumParams),
    "round_sig_figs" => round_sig_figs(NoParams),
    "order_of_operations" => order_of_operations(OrderOfOperationsParams),
    "lcm_cycle" => lcm_cycle(LcmCycleParams),
    "reverse_percent" => reverse_percent(NoParams),
];

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

fn lcm(a: i64, b: i64) -> i64 {
    a / gcd(a, b) * b
}

params! {
    /// Parameters of `weighted_grade`.
    struct WeightedGradeParams {
        /// Names of the graded components (3 to 5 are drawn).
        components: NonEmpty<String> = words(&["homework", "quizzes", "midterm", "project", "final exam"]),
    }
}

/// A course grade from weighted components, one of which is missing and counts as zero
/// unless dropped by the syllabus rule.
fn weighted_grade(g: &mut Gen, p: &WeightedGradeParams) -> Result<Generated> {
    let names = &p.components;
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
    let lines: Vec<String> =
        (0..n).map(|i| format!("- {}: weight {}%, score {}/100", names[picked[i]], weights[i], scores[i])).collect();
    let prompt = format!(
        "{student}'s course grade is a weighted average of these components:\n\
         {}\nWhat is {student}'s final grade, rounded to one decimal place?",
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
    Ok(exact(
        prompt,
        fixed(grade, 1),
        [
            step(
                format!(
                    "The components are {}.",
                    (0..n).map(|i| names[picked[i]].as_str()).collect::<Vec<_>>().join(", ")
                ),
                format!("{n} components"),
            ),
            step(format!("Weights: {weights_list} = {total_w}%."), format!("{total_w}%")),
            step(prod_list, products.iter().map(|p| trim(*p, 2)).collect::<Vec<_>>().join(", ")),
            step(format!("Sum of weighted scores = {}.", trim(sum, 2)), trim(sum, 2)),
            step(
                format!(
                    "{} ÷ {total_w}% × 100% = {}, rounded to one decimal: {}.",
                    trim(sum, 2),
                    trim(grade, 4),
                    fixed(grade, 1)
                ),
                fixed(grade, 1),
            ),
        ],
    ))
}

params! {
    /// Parameters of `percent_change_chain`.
    struct PercentChangeChainParams {
        /// Fewest successive changes (at least 2).
        min_changes: i64 = 2,
        /// Most successive changes.
        max_changes: i64 = 4,
        /// Largest single change in percent (2 to 90).
        max_percent: i64 = 40,
    }
}

/// Successive percent changes: the net change is the product of the multipliers, not the
/// sum of the percentages.
fn percent_change_chain(g: &mut Gen, p: &PercentChangeChainParams) -> Result<Generated> {
    let min_n = p.min_changes.max(2);
    let max_n = p.max_changes.max(min_n);
    let max_pct = p.max_percent.clamp(2, 90);
    // (subject, money?, start range, period word)
    let subjects: &[(&str, bool, i64, i64, &str)] = &[
        ("The price of a bicycle", true, 200, 900, "month"),
        ("A town's population", false, 4000, 60000, "year"),
        ("A website's monthly visitor count", false, 10000, 90000, "quarter"),
        ("A share price", true, 20, 300, "week"),
        ("The rent of a flat", true, 600, 2400, "year"),
        ("A farm's wheat harvest (in tonnes)", false, 300, 5000, "season"),
    ];
    let &(subject, money, lo, hi, period) = g.pick(subjects);
    let start = g.range(lo, hi);
    let ordinals = ["first", "second", "third", "fourth", "fifth", "sixth"];
    let n = g.range(min_n, max_n) as usize;
    let mut changes: Vec<i64> = Vec::new();
    for _ in 0..200 {
        changes = (0..n).map(|_| g.range(2, max_pct) * if g.chance(0.5) { 1 } else { -1 }).collect();
        if g.chance(0.3) {
            // The classic trap: up p% then down p% is not back to the start.
            changes[1] = -changes[0];
        }
        let prod: f64 = changes.iter().map(|c| 1.0 + *c as f64 / 100.0).product();
        let net = (prod - 1.0) * 100.0;
        if !near_half(net, 2) && net.abs() > 0.005 {
            break;
        }
    }
    let mults: Vec<f64> = changes.iter().map(|c| 1.0 + *c as f64 / 100.0).collect();
    let prod: f64 = mults.iter().product();
    let start_f = start as f64;
    let fin = start_f * prod;
    let diff = fin - start_f;
    let net = diff / start_f * 100.0;
    let show = |x: i64| if money { format!("${}", grouped(x)) } else { grouped(x) };
    let sentences: Vec<String> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let verb = if *c > 0 { "rose" } else { "fell" };
            format!("in the {} {period} it {verb} by {}%", ordinals[i], c.abs())
        })
        .collect();
    let prompt = format!(
        "{subject} started at {}. Then, {}. By what percent did it change overall, from the start to the end? Give \
         the net percent change rounded to 2 decimal places, with a minus sign if it decreased overall (for example \
         -3.25).",
        show(start),
        sentences.join("; ")
    );
    let mult_list = changes
        .iter()
        .zip(&mults)
        .map(|(c, m)| format!("{}{}% → {}", if *c > 0 { "+" } else { "−" }, c.abs(), trim(*m, 2)))
        .collect::<Vec<_>>()
        .join(", ");
    let mult_prod = mults.iter().map(|m| trim(*m, 2)).collect::<Vec<_>>().join(" × ");
    Ok(exact(
        prompt,
        fixed(net, 2),
        [
            step(
                format!("Multipliers: {mult_list}."),
                mults.iter().map(|m| trim(*m, 2)).collect::<Vec<_>>().join(", "),
            ),
            step(format!("Combined multiplier = {mult_prod} = {}.", trim(prod, 10)), trim(prod, 10)),
            step(format!("Final value = {} × {} = {}.", grouped(start), trim(prod, 10), trim(fin, 6)), trim(fin, 6)),
            step(format!("Net change = {} − {} = {}.", trim(fin, 6), grouped(start), trim(diff, 6)), trim(diff, 6)),
            step(
                format!(
                    "{} ÷ {} × 100 = {}% → rounded to 2 decimals: {}%.",
                    trim(diff, 6),
                    grouped(start),
                    trim(net, 6),
                    fixed(net, 2)
                ),
                format!("{}%", fixed(net, 2)),
            ),
        ],
    ))
}

params! {
    /// Parameters of `mixed_fraction_sum`.
    struct MixedFractionSumParams {
        /// Largest whole part of a term (at least 1).
        max_whole: i64 = 9,
    }
}

/// Adds and subtracts mixed numbers; the answer is a mixed number in lowest terms.
fn mixed_fraction_sum(g: &mut Gen, p: &MixedFractionSumParams) -> Result<Generated> {
    let dens = [2i64, 3, 4, 5, 6, 8, 9, 10, 12];
    let max_whole = p.max_whole.max(1);
    let contexts = [
        "A recipe book asks you to work out",
        "A carpenter's cut list needs",
        "A homework sheet asks for",
        "A tailor's fabric calculation needs",
    ];
    loop {
        let n = g.range(2, 3) as usize;
        let mut terms: Vec<(i64, i64, i64, i64)> = Vec::new(); // (sign, whole, num, den)
        for i in 0..n {
            let d = *g.pick(&dens);
            let w = g.range(if i == 0 { 1 } else { 0 }, max_whole);
            let mut nu = g.range(1, d - 1);
            while gcd(nu, d) != 1 {
                nu -= 1;
            }
            let sign = if i == 0 || g.chance(0.5) { 1 } else { -1 };
            terms.push((sign, w, nu, d));
        }
        let l = terms.iter().fold(1, |acc, t| lcm(acc, t.3));
        let improper: Vec<i64> = terms.iter().map(|t| t.1 * t.3 + t.2).collect();
        let scaled: Vec<i64> = terms.iter().zip(&improper).map(|(t, im)| im * (l / t.3)).collect();
        let total: i64 = terms.iter().zip(&scaled).map(|(t, s)| t.0 * s).sum();
        if total <= 0 || terms.windows(2).all(|w| w[0].3 == w[1].3) {
            continue;
        }
        let gd = gcd(total, l);
        let (rn, rd) = (total / gd, l / gd);
        let answer = mixed_number(rn, rd);
        let sign = |t: &(i64, i64, i64, i64)| if t.0 > 0 { '+' } else { '-' };
        let expr = signed_sum(terms.iter().map(|t| (sign(t), mixed_number(t.1 * t.3 + t.2, t.3))));
        let ctx = *g.pick(&contexts);
        let prompt = format!(
            "{ctx} the value of {expr}. Give the result as a mixed number in lowest terms, written like `3 1/4` \
             (whole part, a space, then the fraction); write just `1/4` if there is no whole part or just `3` if \
             there is no fraction part."
        );
        let imp_list = terms
            .iter()
            .zip(&improper)
            .map(|(t, im)| format!("{} = {im}/{}", mixed_number(t.1 * t.3 + t.2, t.3), t.3))
            .collect::<Vec<_>>()
            .join(", ");
        let den_list = terms.iter().map(|t| t.3.to_string()).collect::<Vec<_>>().join(", ");
        let scaled_list = terms
            .iter()
            .zip(&improper)
            .zip(&scaled)
            .map(|((t, im), s)| format!("{im}/{} = {s}/{l}", t.3))
            .collect::<Vec<_>>()
            .join(", ");
        let sum_expr = signed_sum(terms.iter().zip(&scaled).map(|(t, s)| (sign(t), s)));
        let simplify = if gd > 1 {
            format!("{total}/{l} ÷ {gd}/{gd} = {rn}/{rd}; ")
        } else {
            format!("{total}/{l} is already in lowest terms; ")
        };
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(
                    format!("Improper fractions: {imp_list}."),
                    improper.iter().zip(&terms).map(|(im, t)| format!("{im}/{}", t.3)).collect::<Vec<_>>().join(", "),
                ),
                step(format!("Least common denominator of {den_list} = {l}."), l.to_string()),
                step(
                    format!("Rewrite over {l}: {scaled_list}."),
                    scaled.iter().map(|s| format!("{s}/{l}")).collect::<Vec<_>>().join(", "),
                ),
                step(
                    format!("Numerators: {sum_expr} = {total}, so the result is {total}/{l}."),
                    format!("{total}/{l}"),
                ),
                step(format!("{simplify}{rn} ÷ {rd} = {} remainder {} → {answer}.", rn / rd, rn % rd), answer),
            ],
        ));
    }
}

fn place_name(p: i32) -> String {
    let names = [
        "hundred-millionths",
        "ten-millionths",
        "millionths",
        "hundred-thousandths",
        "ten-thousandths",
        "thousandths",
        "hundredths",
        "tenths",
        "ones",
        "tens",
        "hundreds",
        "thousands",
        "ten-thousands",
        "hundred-thousands",
        "millions",
    ];
    let i = p + 8;
    if (0..names.len() as i32).contains(&i) { names[i as usize].to_string() } else { format!("10^{p}") }
}

/// Writes the digits `d` (first digit at place `top`) as a plain decimal, padding with zeros
/// to the ones place and keeping every given digit after the point.
fn render_digits(d: &[u8], top: i32) -> String {
    let low = top - d.len() as i32 + 1;
    let at = |p: i32| if p <= top && p >= low { (b'0' + d[(top - p) as usize]) as char } else { '0' };
    let int: String = if top < 0 { "0".into() } else { (0..=top).rev().map(at).collect() };
    if low < 0 { format!("{int}.{}", (low..0).rev().map(at).collect::<String>()) } else { int }
}

/// Rounds the digits `d` (first at place `top`) to `n` significant figures, half up.
/// Returns the kept digits, the new top place and whether the next digit rounded up.
fn round_digits(d: &[u8], top: i32, n: usize) -> (Vec<u8>, i32, bool) {
    let mut kept = d[..n].to_vec();
    let up = d.get(n).is_some_and(|x| *x >= 5);
    let mut top = top;
    if up {
        let mut i = n;
        loop {
            if i == 0 {
                kept.insert(0, 1);
                kept.pop();
                top += 1;
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    (kept, top, up)
}

/// Rounds a number to n significant figures: leading zeros do not count, carries can ripple,
/// and trailing zeros after the point stay.
fn round_sig_figs(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let k = g.range(4, 7) as usize;
    let n = g.range(2, (k as i64 - 1).min(4)) as usize;
    let top = if g.chance(0.4) { g.range(-4, -1) } else { g.range(0, 5) } as i32;
    let mut d: Vec<u8> = (0..k).map(|_| g.range(0, 9) as u8).collect();
    d[0] = g.range(1, 9) as u8;
    if g.chance(0.3) {
        // A carry that ripples through nines.
        for x in d.iter_mut().take(n).skip(1) {
            *x = 9;
        }
        d[n] = g.range(5, 9) as u8;
        if g.chance(0.3) {
            d[0] = 9;
        }
    } else if g.chance(0.3) {
        // Zeros inside the kept digits are significant.
        d[n - 1] = 0;
    }
    let given = render_digits(&d, top);
    let (kept, new_top, up) = round_digits(&d, top, n);
    let answer = render_digits(&kept, new_top);
    let last = new_top - n as i32 + 1;
    let orig_last = top - n as i32 + 1;
    let what = *g.pick(&["a measured length in metres", "a lab reading", "a computed speed", "a survey estimate"]);
    let prompt = format!(
        "The value {given} is {what}. Round it to {n} significant figures. Write the result as an ordinary decimal \
         number (no scientific notation), keeping any trailing zeros after the decimal point that are significant."
    );
    let sig: Vec<String> = d[..n].iter().map(|x| x.to_string()).collect();
    let first_note = if top < 0 {
        format!(
            "The leading zeros of {given} are not significant; the first significant digit is {} in the {} place.",
            d[0],
            place_name(top)
        )
    } else {
        format!("The first significant digit of {given} is {} in the {} place.", d[0], place_name(top))
    };
    let digits_now: String = d[..n].iter().map(|x| (b'0' + x) as char).collect();
    let digits_new: String = kept.iter().map(|x| (b'0' + x) as char).collect();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(first_note, format!("{} ({})", d[0], place_name(top))),
            step(
                format!(
                    "Counting {n} significant digits: {}; the last kept digit is in the {} place.",
                    sig.join(", "),
                    place_name(orig_last)
                ),
                digits_now.clone(),
            ),
            step(
                format!(
                    "The next digit is {}, which is {}.",
                    d[n],
                    if up { "5 or more, so round up" } else { "less than 5, so round down (keep)" }
                ),
                if up { "round up".to_string() } else { "keep".to_string() },
            ),
            step(
                match (up, new_top != top) {
                    (false, _) => format!("Keep {digits_now}."),
                    (true, false) => format!("{digits_now} + 1 in the last kept place = {digits_new}."),
                    (true, true) => format!(
                        "{digits_now} + 1 carries through every nine into a new leading 1, so the {n} significant \
                         digits become {digits_new}, starting one place higher."
                    ),
                },
                digits_new,
            ),
            step(
                format!(
                    "Place the digits back with the last kept digit in the {} place, filling with zeros and keeping \
                     significant trailing zeros: {answer}.",
                    place_name(last)
                ),
                answer,
            ),
        ],
    ))
}

/// How far an expression has been simplified when it is written out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// As given.
    Given,
    /// Parentheses evaluated.
    Parens,
    /// Powers evaluated too.
    Powers,
    /// × and ÷ evaluated too: every term is a number.
    Products,
}

#[derive(Clone, Debug)]
enum Factor {
    Num(i64),
    /// `(a + b)` or `(a - b)`.
    Paren(i64, char, i64),
    Pow(Box<Factor>, u32),
}

impl Factor {
    fn value(&self) -> i64 {
        match self {
            Factor::Num(n) => *n,
            Factor::Paren(a, '+', b) => a + b,
            Factor::Paren(a, _, b) => a - b,
            Factor::Pow(b, e) => b.value().pow(*e),
        }
    }

    /// The factor as written at `stage` of the simplification.
    fn show(&self, stage: Stage) -> String {
        match self {
            Factor::Num(n) => n.to_string(),
            Factor::Paren(a, op, b) => {
                if stage >= Stage::Parens {
                    self.value().to_string()
                } else {
                    format!("({a} {op} {b})")
                }
            }
            Factor::Pow(b, e) => {
                if stage >= Stage::Powers {
                    self.value().to_string()
                } else {
                    format!("{}^{e}", b.show(stage))
                }
            }
        }
    }
}

/// A product/quotient chain: the first factor, then `(op, factor)` pairs evaluated left to right.
type Term = (Factor, Vec<(char, Factor)>);

fn term_value(t: &Term) -> i64 {
    t.1.iter().fold(t.0.value(), |acc, (op, f)| if *op == '×' { acc * f.value() } else { acc / f.value() })
}

fn show_term(t: &Term, stage: Stage) -> String {
    if stage >= Stage::Products {
        return term_value(t).to_string();
    }
    let mut s = t.0.show(stage);
    for (op, f) in &t.1 {
        s.push_str(&format!(" {op} {}", f.show(stage)));
    }
    s
}

fn show_expr(e: &[(char, Term)], stage: Stage) -> String {
    signed_sum(e.iter().map(|(sign, t)| (*sign, show_term(t, stage))))
}

/// Terms written as a sum, `a + b - c`: the first term as it is (its sign is not written),
/// each later one after its sign.
fn signed_sum<T: Display>(terms: impl IntoIterator<Item = (char, T)>) -> String {
    let mut s = String::new();
    for (i, (sign, v)) in terms.into_iter().enumerate() {
        if i == 0 {
            s.push_str(&v.to_string());
        } else {
            s.push_str(&format!(" {sign} {v}"));
        }
    }
    s
}

fn gen_factor(g: &mut Gen, max: i64) -> Factor {
    match g.range(0, 9) {
        0..=4 => Factor::Num(g.range(2, max)),
        5 | 6 => {
            let a = g.range(3, 15);
            if g.chance(0.5) { Factor::Paren(a, '+', g.range(1, 9)) } else { Factor::Paren(a, '-', g.range(1, a - 1)) }
        }
        7 => {
            let b = g.range(2, 5);
            Factor::Pow(Box::new(Factor::Num(b)), if b <= 3 && g.chance(0.5) { 3 } else { 2 })
        }
        _ => {
            let a = g.range(2, 6);
            let b = g.range(1, 9 - a);
            Factor::Pow(Box::new(Factor::Paren(a, '+', b)), 2)
        }
    }
}

fn gen_term(g: &mut Gen) -> Term {
    match g.range(0, 4) {
        0 => (gen_factor(g, 30), vec![]),
        1 => {
            let a = gen_factor(g, 12);
            (a, vec![('×', gen_factor(g, 9))])
        }
        2 => {
            // a ÷ b × c: division first because it comes first.
            let b = g.range(2, 9);
            let a = b * g.range(2, 12);
            let divisor = if g.chance(0.3) && b >= 2 { Factor::Paren(b + 3, '-', 3) } else { Factor::Num(b) };
            (Factor::Num(a), vec![('÷', divisor), ('×', gen_factor(g, 9))])
        }
        3 => {
            // a × b ÷ c with c dividing a × b.
            let a = g.range(2, 12);
            let b = g.range(2, 12);
            let divs: Vec<i64> = (2..=12).filter(|c| (a * b) % c == 0).collect();
            let c = if divs.is_empty() { 1 } else { *g.pick(&divs) };
            (Factor::Num(a), vec![('×', Factor::Num(b)), ('÷', Factor::Num(c))])
        }
        _ => {
            let f = gen_factor(g, 9);
            (Factor::Num(g.range(2, 9)), vec![('×', f)])
        }
    }
}

params! {
    /// Parameters of `order_of_operations`.
    struct OrderOfOperationsParams {
        /// Most terms joined by + and − (at least 2).
        max_terms: i64 = 4,
    }
}

/// Evaluates an integer expression with parentheses, powers, × ÷ and + − in the standard
/// order, × ÷ and + − each strictly left to right.
fn order_of_operations(g: &mut Gen, p: &OrderOfOperationsParams) -> Result<Generated> {
    let max_terms = p.max_terms.max(2);
    let mut expr: Vec<(char, Term)>;
    loop {
        let n = g.range(2, max_terms) as usize;
        expr = (0..n).map(|i| (if i == 0 || g.chance(0.5) { '+' } else { '-' }, gen_term(g))).collect();
        let big = expr.iter().any(|(_, t)| term_value(t).abs() > 400);
        let has_md = expr.iter().any(|(_, t)| !t.1.is_empty());
        if !big && has_md && (n >= 3 || expr.iter().any(|(s, _)| *s == '-')) {
            break;
        }
    }
    let values: Vec<i64> = expr.iter().map(|(_, t)| term_value(t)).collect();
    let total = expr.iter().zip(&values).fold(0, |acc, ((s, _), v)| if *s == '-' { acc - v } else { acc + v });
    let given = show_expr(&expr, Stage::Given);
    let prompt = format!(
        "Evaluate {given}. Use the standard order of operations; `^` means \"to the power of\", `×` multiplies and \
         `÷` divides. Every division in this expression comes out exact. Give the exact integer result."
    );
    // Step 1: parentheses.
    let mut parens = Vec::new();
    let mut powers = Vec::new();
    let mut visit = |f: &Factor| {
        if let Factor::Paren(..) = f {
            parens.push(format!("{} = {}", f.show(Stage::Given), f.value()));
        }
        if let Factor::Pow(b, _) = f {
            if let Factor::Paren(..) = **b {
                parens.push(format!("{} = {}", b.show(Stage::Given), b.value()));
            }
            powers.push(format!("{} = {}", f.show(Stage::Parens), f.value()));
        }
    };
    for (_, t) in &expr {
        visit(&t.0);
        for (_, f) in &t.1 {
            visit(f);
        }
    }
    let s1 = show_expr(&expr, Stage::Parens);
    let s2 = show_expr(&expr, Stage::Powers);
    let s3 = show_expr(&expr, Stage::Products);
    let w1 = if parens.is_empty() {
        format!("No parentheses: {s1}.")
    } else {
        format!("Parentheses: {}. Now: {s1}.", parens.join(", "))
    };
    let w2 = if powers.is_empty() {
        format!("No powers: {s2}.")
    } else {
        format!("Powers: {}. Now: {s2}.", powers.join(", "))
    };
    let mut md = Vec::new();
    for (_, t) in &expr {
        if t.1.is_empty() {
            continue;
        }
        let mut acc = t.0.value();
        let mut parts = Vec::new();
        for (op, f) in &t.1 {
            let next = if *op == '×' { acc * f.value() } else { acc / f.value() };
            parts.push(format!("{acc} {op} {} = {next}", f.value()));
            acc = next;
        }
        md.push(parts.join(", then "));
    }
    let w3 = format!("× and ÷ from left to right: {}. Now: {s3}.", md.join("; "));
    let mut acc = values[0];
    let mut adds = Vec::new();
    for ((s, _), v) in expr.iter().zip(&values).skip(1) {
        let next = if *s == '-' { acc - v } else { acc + v };
        adds.push(format!("{acc} {s} {v} = {next}"));
        acc = next;
    }
    let w4 = format!("+ and − from left to right: {}.", adds.join("; "));
    Ok(exact(
        prompt,
        total.to_string(),
        [
            step(w1, s1),
            step(w2, s2),
            step(w3, s3),
            step(w4, total.to_string()),
            step(format!("{given} = {total}."), total.to_string()),
        ],
    ))
}

fn factorize(mut n: i64) -> Vec<(i64, u32)> {
    let mut out = Vec::new();
    let mut p = 2;
    while p * p <= n {
        let mut e = 0;
        while n % p == 0 {
            n /= p;
            e += 1;
        }
        if e > 0 {
            out.push((p, e));
        }
        p += 1;
    }
    if n > 1 {
        out.push((n, 1));
    }
    out
}

fn show_factors(f: &[(i64, u32)]) -> String {
    f.iter().map(|(p, e)| if *e == 1 { p.to_string() } else { format!("{p}^{e}") }).collect::<Vec<_>>().join(" × ")
}

params! {
    /// Parameters of `lcm_cycle`.
    struct LcmCycleParams {
        /// Largest least common multiple a task may have.
        max_lcm: i64 = 2520,
    }
}

/// When repeating events next coincide: the least common multiple, plus the start when the
/// question asks for a day number.
fn lcm_cycle(g: &mut Gen, p: &LcmCycleParams) -> Result<Generated> {
    let pool = [4i64, 6, 8, 9, 10, 12, 14, 15, 16, 18, 20, 21, 24, 25, 28, 30, 35, 36, 40, 42, 45];
    let max_lcm = p.max_lcm;
    let (nums, l) = loop {
        let n = g.range(2, 3) as usize;
        let idx = g.distinct(pool.len(), n);
        let mut nums: Vec<i64> = idx.iter().map(|&i| pool[i]).collect();
        nums.sort();
        let l = nums.iter().fold(1, |a, b| lcm(a, *b));
        let product: i64 = nums.iter().product();
        if l <= max_lcm && l != product {
            break (nums, l);
        }
    };
    let list = match nums.len() {
        2 => format!("{} and {}", nums[0], nums[1]),
        _ => format!("{}, {} and {}", nums[0], nums[1], nums[2]),
    };
    let names3 = [
        ("Lighthouses", "flash", "seconds"),
        ("Buses on different routes", "leave the central station", "minutes"),
        ("Warning beacons", "blink", "seconds"),
    ];
    let machines = ["the pumps", "the filters", "the conveyor belts", "the boilers", "the fans"];
    let by_day = g.chance(0.5);
    let (prompt, start) = if by_day {
        let start = if g.chance(0.5) { 1 } else { g.range(2, 40) };
        let idx = g.distinct(machines.len(), nums.len());
        let parts: Vec<String> =
            idx.iter().zip(&nums).map(|(i, n)| format!("{} every {n} days", machines[*i])).collect();
        (
            format!(
                "A plant services {}. Today is day {start} of the plan, and every one of them was serviced today. On \
                 which day number of the plan will they next all be serviced on the same day? Give the day number as \
                 a whole number.",
                parts.join(", ")
            ),
            Some(start),
        )
    } else {
        let &(who, verb, unit) = g.pick(&names3);
        (
            format!(
                "{who} {verb} every {list} {unit} respectively. They have just done so at the same moment. How many \
                 {unit} from now will they next do so at the same moment? Give a whole number."
            ),
            None,
        )
    };
    let facts: Vec<Vec<(i64, u32)>> = nums.iter().map(|n| factorize(*n)).collect();
    let fact_list =
        nums.iter().zip(&facts).map(|(n, f)| format!("{n} = {}", show_factors(f))).collect::<Vec<_>>().join(", ");
    let mut primes: Vec<(i64, u32)> = Vec::new();
    for f in &facts {
        for &(p, e) in f {
            match primes.iter_mut().find(|(q, _)| *q == p) {
                Some(x) => x.1 = x.1.max(e),
                None => primes.push((p, e)),
            }
        }
    }
    primes.sort();
    let highest = show_factors(&primes);
    let checks = nums.iter().map(|n| format!("{l} ÷ {n} = {}", l / n)).collect::<Vec<_>>().join(", ");
    let (answer, w5) = match start {
        Some(s) => (s + l, format!("The question asks for a day number: day {s} + {l} = day {}.", s + l)),
        None => (l, format!("The question asks for a waiting time, so the answer is the LCM: {l}.")),
    };
    Ok(exact(
        prompt,
        answer.to_string(),
        [
            step(format!("Prime factors: {fact_list}."), fact_list.clone()),
            step(format!("Highest power of each prime: {highest}."), highest.clone()),
            step(format!("LCM = {highest} = {l}."), l.to_string()),
            step(format!("Check: {checks}, all whole numbers."), "divides evenly".to_string()),
            step(w5, answer.to_string()),
        ],
    ))
}

/// Finds the original value from the value after a percent increase or decrease.
fn reverse_percent(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    // (template, money?, increase?, original range)
    let cases: &[(&str, bool, bool, i64, i64)] = &[
        (
            "After a {p}% price increase, a coffee machine costs {v}. What was its price before the increase? Round \
             to the nearest cent.",
            true,
            true,
            40,
            600,
        ),
        (
            "In a sale with {p}% off, a jacket costs {v}. What was its price before the discount? Round to the \
             nearest cent.",
            true,
            false,
            30,
            400,
        ),
        (
            "A town's population grew by {p}% over a decade and is now {v}. What was the population a decade ago? \
             Give a whole number.",
            false,
            true,
            2000,
            90000,
        ),
        (
            "After a {p}% cut, a club has {v} members. How many members did it have before the cut? Give a whole \
             number.",
            false,
            false,
            200,
            9000,
        ),
        (
            "A price of {v} already includes {p}% sales tax. What is the price before tax? Round to the nearest cent.",
            true,
            true,
            10,
            900,
        ),
        (
            "After a {p}% pay rise, Noor earns {v} a year. What did she earn before the rise? Round to the nearest \
             cent.",
            true,
            true,
            20000,
            90000,
        ),
    ];
    let &(tpl, money, inc, lo, hi) = g.pick(cases);
    let p = g.range(3, if inc { 40 } else { 60 });
    let m100 = if inc { 100 + p } else { 100 - p };
    // Counts: the after value must be a whole number, so the original is a multiple of 100/gcd.
    // Money works in cents. The after value must be a whole number of cents (or people), so the
    // original is a multiple of 100/gcd(100, multiplier×100) in those units.
    let scale = if money { 100 } else { 1 };
    let step_n = 100 / gcd(100, m100);
    let units = g.range(lo * scale / step_n + 1, hi * scale / step_n) * step_n;
    let orig = units as f64 / scale as f64;
    let after = orig * m100 as f64 / 100.0;
    let show = |x: f64| if money { usd(x) } else { grouped(x.round() as i64) };
    let prompt = tpl.replace("{p}", &p.to_string()).replace("{v}", &show(after));
    let mult = m100 as f64 / 100.0;
    let answer = if money { fixed(orig, 2) } else { fixed(orig, 0) };
    let after_s = if money { fixed(after, 2) } else { grouped(after.round() as i64) };
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!("The {p}% is {} of the original value.", if inc { "an increase" } else { "a decrease" }),
                format!("{}{p}%", if inc { "+" } else { "−" }),
            ),
            step(format!("Multiplier = 1 {} {p}/100 = {}.", if inc { "+" } else { "−" }, trim(mult, 2)), trim(mult, 2)),
            step(
                format!("The known value is the after value: {after_s} = original × {}.", trim(mult, 2)),
                format!("{after_s} = original × {}", trim(mult, 2)),
            ),
            step(format!("Original = {after_s} ÷ {} = {}.", trim(mult, 2), trim(orig, 6)), trim(orig, 6)),
            step(format!("Check: {} × {} = {after_s}. Answer: {answer}.", trim(orig, 2), trim(mult, 2)), answer),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_numbers_are_written_in_all_three_shapes() {
        assert_eq!(mixed_number(13, 4), "3 1/4");
        assert_eq!(mixed_number(3, 4), "3/4");
        assert_eq!(mixed_number(12, 4), "3");
        // 2 1/3 + 1 3/4 - 5/6 = 28/12 + 21/12 - 10/12 = 39/12 = 13/4.
        let total = 28 + 21 - 10;
        let g = gcd(total, 12);
        assert_eq!(mixed_number(total / g, 12 / g), "3 1/4");
    }

    #[test]
    fn significant_figures_carry_and_keep_zeros() {
        // 2.996 to 3 s.f. is 3.00; 9.996 to 3 s.f. is 10.0; 0.0034567 to 3 s.f. is 0.00346.
        let (k, t, up) = round_digits(&[2, 9, 9, 6], 0, 3);
        assert!(up);
        assert_eq!(render_digits(&k, t), "3.00");
        let (k, t, _) = round_digits(&[9, 9, 9, 6], 0, 3);
        assert_eq!(render_digits(&k, t), "10.0");
        let (k, t, _) = round_digits(&[3, 4, 5, 6, 7], -3, 3);
        assert_eq!(render_digits(&k, t), "0.00346");
        let (k, t, up) = round_digits(&[4, 5, 6, 7, 1], 4, 3);
        assert!(up);
        assert_eq!(render_digits(&k, t), "45700");
        let (k, t, up) = round_digits(&[7, 0, 4, 9], 1, 2);
        assert!(!up);
        assert_eq!(render_digits(&k, t), "70");
    }

    #[test]
    fn lcm_and_factors() {
        assert_eq!(lcm(lcm(12, 18), 30), 180);
        assert_eq!(show_factors(&factorize(360)), "2^3 × 3^2 × 5");
    }

    #[test]
    fn left_to_right_multiplication_and_division() {
        // 48 ÷ 4 × 2 = 24, not 6.
        let t: Term = (Factor::Num(48), vec![('÷', Factor::Num(4)), ('×', Factor::Num(2))]);
        assert_eq!(term_value(&t), 24);
        let p = Factor::Pow(Box::new(Factor::Paren(2, '+', 3)), 2);
        assert_eq!(
            (p.show(Stage::Given).as_str(), p.show(Stage::Parens).as_str(), p.value()),
            ("(2 + 3)^2", "5^2", 25)
        );
    }
}
