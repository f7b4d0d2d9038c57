//! Generators for the `finance` domain.

use super::calendar::MONTHS;
use super::fmt::{fixed, grouped, money, near_half, trim, usd};
use super::params::{NoParams, kinds};
use super::{Gen, Kind, criterion, exact, free_form, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[Kind] = kinds![
    "compound_balance" => compound_balance(NoParams),
    "progressive_tax" => progressive_tax(NoParams),
    "discount_chain_total" => discount_chain_total(NoParams),
    "loan_offer_memo" => loan_offer_memo(NoParams),
    "break_even_memo" => break_even_memo(NoParams),
    "currency_exchange_fee" => currency_exchange_fee(NoParams),
    "straight_line_partial_year" => straight_line_partial_year(NoParams),
];

/// Balance of a deposit under periodic compounding, or the interest it earned.
fn compound_balance(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let freqs: &[(i64, &str)] = &[(1, "annually"), (2, "semiannually"), (4, "quarterly"), (12, "monthly")];
    loop {
        let p = if g.chance(0.5) { g.range(5, 500) * 100 } else { g.range(500, 50000) } as f64;
        let rate = g.range(6, 36) as f64 * 0.25; // 1.50% .. 9.00%
        let &(n, word) = g.pick(freqs);
        // Term in whole years, or in months that fill whole compounding periods.
        let months = if n >= 4 && g.chance(0.4) {
            let per = 12 / n;
            g.range(3, 60 / per) * per
        } else {
            g.range(1, 15) * 12
        };
        let term = if months % 12 == 0 { format!("{} years", months / 12) } else { format!("{months} months") };
        let periods = months * n / 12;
        let i = rate / 100.0 / n as f64;
        let factor = (1.0 + i).powi(periods as i32);
        let bal = p * factor;
        let ask_interest = g.chance(0.35);
        let y = if ask_interest { bal - p } else { bal };
        if near_half(y, 2) || (months / 12 == 1 && months % 12 == 0 && n == 1) {
            continue;
        }
        let who = *g.pick(&["Rosa", "Daniel", "Keiko", "Ibrahim", "Marta", "Owen"]);
        let what =
            if ask_interest { "How much interest will the deposit have earned" } else { "What will the balance be" };
        let prompt = format!(
            "{who} deposits {} in a savings account paying {}% a year, compounded {word}, and makes no other deposits \
             or withdrawals. {what} after {term}? Round to the nearest cent.",
            usd(p),
            trim(rate, 2)
        );
        let answer = fixed(y, 2);
        let last = if ask_interest {
            format!("Interest = {} − {} = {} → {answer}.", trim(bal, 6), trim(p, 2), trim(y, 6))
        } else {
            format!("The balance is asked: {} → {answer}.", trim(bal, 6))
        };
        let years_note = if months % 12 == 0 {
            format!("{} years", months / 12)
        } else {
            format!("{months} months = {} years", trim(months as f64 / 12.0, 4))
        };
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(
                    format!(
                        "Periodic rate = {}% ÷ {n} = {}% = {} per period.",
                        trim(rate, 2),
                        trim(rate / n as f64, 6),
                        trim(i, 8)
                    ),
                    trim(i, 8),
                ),
                step(format!("Number of periods = {n} × {years_note} = {periods}."), periods.to_string()),
                step(format!("Growth factor = (1 + {})^{periods} = {}.", trim(i, 8), trim(factor, 8)), trim(factor, 8)),
                step(format!("Balance = {} × {} = {}.", trim(p, 2), trim(factor, 8), trim(bal, 6)), trim(bal, 6)),
                step(last, answer),
            ],
        ));
    }
}

/// Splits `taxable` into bracket slices `(bracket index, lower limit, amount)`; `tops` are the
/// upper limits of every bracket but the last, which is open-ended.
fn tax_slices(taxable: i64, tops: &[i64]) -> Vec<(usize, i64, i64)> {
    let mut out = Vec::new();
    let mut lo = 0;
    for k in 0..=tops.len() {
        let hi = tops.get(k).copied().unwrap_or(i64::MAX);
        if taxable <= lo {
            break;
        }
        out.push((k, lo, taxable.min(hi) - lo));
        lo = hi;
    }
    out
}

/// Tax owed under progressive brackets after a standard deduction.
fn progressive_tax(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let rate_sets: &[&[i64]] =
        &[&[10, 12, 22, 24, 32], &[5, 10, 20, 30, 40], &[10, 20, 30, 40, 45], &[8, 15, 25, 33, 39]];
    let rates = *g.pick(rate_sets);
    let nb = g.range(3, 5) as usize;
    let mut tops: Vec<i64> = Vec::new();
    let mut t = 0;
    for (k, (lo, hi)) in [(8, 15), (20, 40), (40, 80), (80, 150)].iter().enumerate().take(nb - 1) {
        t += g.range(*lo, *hi) * 1000 + if k > 0 { g.range(0, 9) * 100 } else { 0 };
        tops.push(t);
    }
    let deduction = g.range(4, 15) * 1000 + g.range(0, 3) * 250;
    let max_taxable = (*tops.last().unwrap_or(&50000) as f64 * 1.3) as i64;
    let taxable_target = if g.chance(0.05) { -g.range(1, 3000) } else { g.range(tops[0] / 2, max_taxable) };
    let income = ((taxable_target + deduction).max(1000) / 50) * 50;
    let taxable = (income - deduction).max(0);
    let mut lines = Vec::new();
    let mut lo = 0;
    for k in 0..nb {
        let r = rates[k];
        if k < nb - 1 {
            lines.push(format!("- {r}% on taxable income over ${} up to ${}", grouped(lo), grouped(tops[k])));
            lo = tops[k];
        } else {
            lines.push(format!("- {r}% on taxable income over ${}", grouped(lo)));
        }
    }
    let who = *g.pick(&["Amara", "Bjorn", "Chen", "Delia", "Emeka", "Fatima", "Gustavo"]);
    let prompt = format!(
        "{who} has a gross income of ${}. The standard deduction is ${}; taxable income is gross income minus the \
         deduction (never below zero). Tax rates (each rate applies only to the part of taxable income inside its \
         bracket):\n{}\nHow much tax does {who} owe? Give the amount in dollars with 2 decimal places.",
        grouped(income),
        grouped(deduction),
        lines.join("\n")
    );
    let slices = tax_slices(taxable, &tops[..nb - 1]);
    let taxes: Vec<f64> = slices.iter().map(|(k, _, amt)| *amt as f64 * rates[*k] as f64 / 100.0).collect();
    let total: f64 = taxes.iter().sum();
    let slice_list = if slices.is_empty() {
        "No taxable income, so no slices.".to_string()
    } else {
        slices
            .iter()
            .map(|(k, lo, a)| format!("${} at {}% (over ${})", grouped(*a), rates[*k], grouped(*lo)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let tax_list = if slices.is_empty() {
        "No tax on any slice.".to_string()
    } else {
        slices
            .iter()
            .zip(&taxes)
            .map(|((k, _, a), t)| format!("{} × {}% = {}", grouped(*a), rates[*k], fixed(*t, 2)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let answer = fixed(total, 2);
    let sum = if taxes.is_empty() {
        "0".to_string()
    } else {
        taxes.iter().map(|t| fixed(*t, 2)).collect::<Vec<_>>().join(" + ")
    };
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!(
                    "Taxable income = {} − {} = {} → {}.",
                    grouped(income),
                    grouped(deduction),
                    grouped(income - deduction),
                    grouped(taxable)
                ),
                format!("${}", grouped(taxable)),
            ),
            step(
                slice_list,
                if slices.is_empty() {
                    "none".to_string()
                } else {
                    slices.iter().map(|s| format!("${}", grouped(s.2))).collect::<Vec<_>>().join(", ")
                },
            ),
            step(
                tax_list,
                if taxes.is_empty() {
                    "0.00".to_string()
                } else {
                    taxes.iter().map(|t| fixed(*t, 2)).collect::<Vec<_>>().join(", ")
                },
            ),
            step(format!("Total tax = {sum} = {answer}."), answer.clone()),
            step(format!("{who} owes ${answer}."), answer),
        ],
    ))
}

/// Price after chained percentage discounts, a conditional coupon and sales tax.
fn discount_chain_total(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let items = ["pair of boots", "desk lamp", "rain jacket", "blender", "backpack", "office chair", "tennis racket"];
    loop {
        let price = g.range(20, 600) as f64 + *g.pick(&[0.0, 0.99, 0.5, 0.49, 0.95]);
        let qty = g.range(1, 3);
        let d1 = g.range(2, 8) * 5;
        let d2 = if g.chance(0.6) { Some(g.range(1, 5) * 5) } else { None };
        let coupon = g.range(1, 6) * 5;
        let threshold = g.range(2, 30) * 10;
        let tax = g.range(16, 40) as f64 * 0.25;
        let sub = price * qty as f64;
        let after1 = sub * (1.0 - d1 as f64 / 100.0);
        let after2 = d2.map(|d| after1 * (1.0 - d as f64 / 100.0)).unwrap_or(after1);
        let applies = after2 >= threshold as f64;
        if (after2 - threshold as f64).abs() < 0.01 {
            continue;
        }
        let after3 = if applies { after2 - coupon as f64 } else { after2 };
        let tax_amt = after3 * tax / 100.0;
        let total = after3 + tax_amt;
        if near_half(total, 2) || after3 <= 0.0 {
            continue;
        }
        let item = *g.pick(&items);
        let qty_s = if qty == 1 { format!("one {item}") } else { format!("{qty} of the {item}") };
        let d2_s = d2.map(|d| format!(" Members get an extra {d}% off the already-reduced price.")).unwrap_or_default();
        let prompt = format!(
            "The {item} you want is listed at {} each. You buy {qty_s} as a member. The store takes {d1}% off.{d2_s} \
             Then a ${coupon} coupon comes off the order, but only if the order is at least ${threshold} after the \
             percentage discounts. Finally {}% sales tax is added to the amount after all discounts. Keep full \
             precision and round only the final total to the nearest cent. What do you pay?",
            usd(price),
            trim(tax, 2)
        );
        let w2 = match d2 {
            Some(d) => format!(
                "{} × (1 − {d1}%) = {}; then × (1 − {d}%) = {}.",
                trim(sub, 2),
                trim(after1, 6),
                trim(after2, 6)
            ),
            None => format!("{} × (1 − {d1}%) = {}.", trim(sub, 2), trim(after2, 6)),
        };
        let w3 = if applies {
            format!(
                "{} ≥ {threshold}, so the coupon applies: {} − {coupon} = {}.",
                trim(after2, 6),
                trim(after2, 6),
                trim(after3, 6)
            )
        } else {
            format!("{} < {threshold}, so the coupon does not apply: {}.", trim(after2, 6), trim(after3, 6))
        };
        let answer = fixed(total, 2);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(format!("Subtotal = {} × {qty} = {}.", trim(price, 2), trim(sub, 2)), trim(sub, 2)),
                step(w2, trim(after2, 6)),
                step(w3, trim(after3, 6)),
                step(
                    format!("Tax = {} × {}% = {}.", trim(after3, 6), trim(tax, 2), trim(tax_amt, 6)),
                    trim(tax_amt, 6),
                ),
                step(
                    format!("Total = {} + {} = {} → {answer}.", trim(after3, 6), trim(tax_amt, 6), trim(total, 6)),
                    answer,
                ),
            ],
        ));
    }
}

/// Monthly payment of an amortizing loan: `A·i / (1 − (1 + i)^−n)`.
fn payment(amount: f64, apr: f64, months: i64) -> f64 {
    let i = apr / 1200.0;
    amount * i / (1.0 - (1.0 + i).powi(-(months as i32)))
}

/// How the loan memo computes and writes its amounts.
const LOAN_MEMO_RULES: &str = "\
Use the payment formula P = A·i / (1 − (1 + i)^(−n)) with i = APR ÷ 12 ÷ 100 and n = number of months; round each \
payment to the cent and use the rounded payment for totals. Write amounts with two decimals and thousands separators \
(e.g. 1,234.56), and end with a sentence of the form \"I recommend Offer X.\"";

/// Compares two loan offers by total cost and recommends one: a short memo.
fn loan_offer_memo(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    loop {
        let amount = g.range(10, 80) as f64 * 500.0;
        let terms = [24i64, 36, 48, 60, 72];
        let mk = |g: &mut Gen| {
            let apr = g.range(39, 149) as f64 / 10.0;
            let n = *g.pick(&terms);
            let fee = if g.chance(0.6) { g.range(1, 30) as f64 * 25.0 } else { 0.0 };
            (apr, n, fee)
        };
        let a = mk(g);
        let mut b = mk(g);
        if g.chance(0.5) {
            // Lower rate but a fee and/or a longer term: the trade-off case.
            b = (a.0 - g.range(5, 25) as f64 / 10.0, *g.pick(&terms), g.range(4, 40) as f64 * 25.0);
        }
        let offers = [a, b];
        let pays: Vec<f64> = offers.iter().map(|o| payment(amount, o.0, o.1)).collect();
        if pays.iter().any(|p| near_half(*p, 2)) || b.0 <= 0.5 {
            continue;
        }
        let pays_r: Vec<f64> = pays.iter().map(|p| (p * 100.0).round() / 100.0).collect();
        let totals: Vec<f64> = offers.iter().zip(&pays_r).map(|(o, p)| p * o.1 as f64).collect();
        let costs: Vec<f64> = offers.iter().zip(&totals).map(|(o, t)| t + o.2 - amount).collect();
        let diff = (costs[0] - costs[1]).abs();
        if diff < 5.0 {
            continue;
        }
        let best = if costs[0] < costs[1] { 0 } else { 1 };
        let labels = ["Offer A", "Offer B"];
        let who = *g.pick(&["Sam", "Priya", "Luca", "Hana", "Tariq", "Ines"]);
        let desc = |k: usize| {
            let o = offers[k];
            let fee =
                if o.2 > 0.0 { format!("a {} origination fee paid up front", usd(o.2)) } else { "no fees".to_string() };
            format!("{}: {}% APR for {} months, {fee}", labels[k], trim(o.0, 2), o.1)
        };
        let prompt = format!(
            "{who} wants to borrow {} and has two offers, both repaid in equal monthly payments:\n\
             - {}\n- {}\nWrite a short memo (3–6 sentences) for {who} that gives each offer's monthly payment and its \
             total cost of borrowing (all payments plus fees, minus the amount borrowed), and recommends the offer \
             with the lower total cost. {LOAN_MEMO_RULES}",
            usd(amount),
            desc(0),
            desc(1)
        );
        let pay_s: Vec<String> = pays_r.iter().map(|p| money(*p)).collect();
        let tot_s: Vec<String> = totals.iter().map(|t| money(*t)).collect();
        let cost_s: Vec<String> = costs.iter().map(|c| money(*c)).collect();
        let rec = format!("I recommend {}.", labels[best]);
        let memo_line = |k: usize| {
            format!(
                "{} costs ${} a month; {} payments total ${}{}, so the total cost of borrowing is ${}.",
                labels[k],
                pay_s[k],
                offers[k].1,
                tot_s[k],
                if offers[k].2 > 0.0 { format!(" plus the ${} fee", money(offers[k].2)) } else { String::new() },
                cost_s[k]
            )
        };
        let answer = format!(
            "{} {} {} is cheaper overall by ${}{}. {rec}",
            memo_line(0),
            memo_line(1),
            labels[best],
            money(diff),
            if pays_r[best] > pays_r[1 - best] {
                ", even though its monthly payment is higher"
            } else {
                " and also has the lower monthly payment"
            }
        );
        let rates_w = offers
            .iter()
            .enumerate()
            .map(|(k, o)| format!("{}: {}% ÷ 12 ÷ 100 = {}", labels[k], trim(o.0, 2), trim(o.0 / 1200.0, 8)))
            .collect::<Vec<_>>()
            .join("; ");
        let pay_w = offers
            .iter()
            .enumerate()
            .map(|(k, o)| {
                format!(
                    "{}: {} × {} / (1 − (1 + {})^−{}) = {} → {}",
                    labels[k],
                    trim(amount, 2),
                    trim(o.0 / 1200.0, 8),
                    trim(o.0 / 1200.0, 8),
                    o.1,
                    trim(pays[k], 5),
                    pay_s[k]
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let tot_w = offers
            .iter()
            .enumerate()
            .map(|(k, o)| format!("{}: {} × {} = {}", labels[k], pay_s[k], o.1, tot_s[k]))
            .collect::<Vec<_>>()
            .join("; ");
        let cost_w = offers
            .iter()
            .enumerate()
            .map(|(k, o)| format!("{}: {} + {} − {} = {}", labels[k], tot_s[k], money(o.2), money(amount), cost_s[k]))
            .collect::<Vec<_>>()
            .join("; ");
        return Ok(free_form(
            prompt,
            answer,
            [
                step(
                    format!("Monthly rates: {rates_w}."),
                    offers.iter().map(|o| trim(o.0 / 1200.0, 8)).collect::<Vec<_>>().join(", "),
                ),
                step(format!("Payments: {pay_w}."), pay_s.join(", ")),
                step(format!("All payments: {tot_w}."), tot_s.join(", ")),
                step(format!("Total cost: {cost_w}."), cost_s.join(", ")),
                step(format!("{} is lower by {}: {rec}", labels[best], money(diff)), labels[best].to_string()),
            ],
            vec![
                criterion("gives each offer's monthly payment, rounded to the cent", &[&pay_s[0], &pay_s[1]]),
                criterion("gives each offer's total cost of borrowing including fees", &[&cost_s[0], &cost_s[1]]),
                criterion("recommends the offer with the lower total cost", &[rec.trim_end_matches('.')]),
            ],
        ));
    }
}

/// What the break-even memo must contain and how it writes numbers.
const BREAK_EVEN_MEMO_RULES: &str = "\
Write a short memo (3–5 sentences) that gives the contribution margin per unit, the monthly break-even volume in \
whole units (round up: a part unit cannot be sold), the profit or loss at the forecast, and says whether the \
forecast is \"above break-even\" or \"below break-even\". Write money with two decimals and thousands separators \
(e.g. 1,234.56) and unit counts as plain whole numbers (e.g. 1234).";

/// Break-even volume from fixed costs and the contribution margin, checked against a forecast: a memo.
fn break_even_memo(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let products = ["scented candles", "phone cases", "meal kits", "yoga mats", "ceramic mugs", "bike lights"];
    loop {
        let price = g.range(16, 240) as f64 * 0.5;
        let var = (price * g.range(30, 80) as f64 / 100.0 * 4.0).round() / 4.0;
        let margin = price - var;
        if margin < 1.0 {
            continue;
        }
        let fixed_costs = g.range(20, 300) as f64 * 100.0;
        let exact = fixed_costs / margin;
        let be = exact.ceil() as i64;
        let forecast = ((be as f64) * g.range(60, 150) as f64 / 100.0).round() as i64;
        if forecast == be || forecast <= 0 || be < 10 {
            continue;
        }
        let profit = forecast as f64 * margin - fixed_costs;
        let above = forecast > be;
        let verdict = if above { "above break-even" } else { "below break-even" };
        let product = *g.pick(&products);
        let prompt = format!(
            "A small business sells {product} at {} each. Each unit costs {} in materials and shipping (variable \
             cost), and fixed costs are {} a month. The sales forecast is {forecast} units a month. \
             {BREAK_EVEN_MEMO_RULES}",
            usd(price),
            usd(var),
            usd(fixed_costs)
        );
        let m_s = money(margin);
        let pl_s = money(profit.abs());
        let pl_word = if profit >= 0.0 { "profit" } else { "loss" };
        let answer = format!(
            "Each unit contributes ${} − ${} = ${m_s} toward fixed costs. Break-even is ${} ÷ ${m_s} = {} units, \
             rounded up to {be} units a month. At the forecast of {forecast} units, {forecast} × ${m_s} − ${} gives a \
             {pl_word} of ${pl_s} a month. The forecast is {verdict}.",
            money(price),
            money(var),
            money(fixed_costs),
            trim(exact, 2),
            money(fixed_costs)
        );
        return Ok(free_form(
            prompt,
            answer,
            [
                step(format!("Contribution margin = {} − {} = {m_s}.", money(price), money(var)), format!("${m_s}")),
                step(format!("Break-even = {} ÷ {m_s} = {}.", money(fixed_costs), trim(exact, 4)), trim(exact, 4)),
                step(format!("Round up to whole units: {be}."), format!("{be} units")),
                step(
                    format!("{forecast} × {m_s} − {} = {}.", money(fixed_costs), money(profit)),
                    format!("{pl_word} ${pl_s}"),
                ),
                step(
                    format!("{forecast} {} {be}, so the forecast is {verdict}.", if above { ">" } else { "<" }),
                    verdict.to_string(),
                ),
            ],
            vec![
                criterion("gives the contribution margin per unit", &[&m_s]),
                criterion("gives the break-even volume rounded up to a whole unit", &[&be.to_string()]),
                criterion("gives the profit or loss at the forecast", &[&pl_s]),
                criterion("says whether the forecast is above or below break-even", &[verdict]),
            ],
        ));
    }
}

/// Money received when exchanging currency with a percentage commission and a flat fee, both
/// taken from the source amount before conversion; the rate may be quoted either way round.
fn currency_exchange_fee(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    // Approximate US dollars per unit.
    let cur: &[(&str, f64)] = &[
        ("USD", 1.0),
        ("EUR", 1.08),
        ("GBP", 1.27),
        ("CAD", 0.73),
        ("AUD", 0.66),
        ("CHF", 1.12),
        ("SGD", 0.74),
        ("NZD", 0.61),
    ];
    loop {
        let idx = g.distinct(cur.len(), 2);
        let (src, s_usd) = cur[idx[0]];
        let (tgt, t_usd) = cur[idx[1]];
        let wobble = 1.0 + g.range(-30, 30) as f64 / 1000.0;
        let rate = ((s_usd / t_usd) * wobble * 10000.0).round() / 10000.0;
        let inverted = g.chance(0.5);
        let quote = if inverted { ((1.0 / rate) * 10000.0).round() / 10000.0 } else { rate };
        let amount = if g.chance(0.5) { g.range(2, 60) * 50 } else { g.range(100, 3000) } as f64;
        let pct = g.range(2, 8) as f64 * 0.5;
        let flat = if g.chance(0.7) { g.range(1, 12) as f64 * 0.5 } else { 0.0 };
        let commission = amount * pct / 100.0;
        let net = amount - commission - flat;
        let out = if inverted { net / quote } else { net * quote };
        if near_half(out, 2) {
            continue;
        }
        let quote_s = if inverted {
            format!("1 {tgt} = {} {src}", fixed(quote, 4))
        } else {
            format!("1 {src} = {} {tgt}", fixed(quote, 4))
        };
        let flat_s = if flat > 0.0 { format!(" plus a flat fee of {} {src}", fixed(flat, 2)) } else { String::new() };
        let who = *g.pick(&["Kai", "Beatriz", "Nadia", "Ravi", "Elsa", "Tunde"]);
        let prompt = format!(
            "{who} exchanges {} {src} into {tgt} at an airport kiosk. The kiosk's rate is {quote_s}. It charges a {}% \
             commission on the amount handed over{flat_s}; all fees are taken in {src} before the rest is converted. \
             How many {tgt} does {who} receive? Round to 2 decimal places.",
            trim(amount, 2),
            trim(pct, 2)
        );
        let w1 = if inverted {
            format!(
                "The rate is quoted per {tgt}, so convert {src} → {tgt} by dividing by {} (1 {src} = 1 ÷ {} = {} \
                 {tgt}).",
                fixed(quote, 4),
                fixed(quote, 4),
                trim(1.0 / quote, 6)
            )
        } else {
            format!("The rate is quoted per {src}, so convert {src} → {tgt} by multiplying by {}.", fixed(quote, 4))
        };
        let w4 = if inverted {
            format!("{} {src} ÷ {} = {} {tgt}.", trim(net, 4), fixed(quote, 4), trim(out, 6))
        } else {
            format!("{} {src} × {} = {} {tgt}.", trim(net, 4), fixed(quote, 4), trim(out, 6))
        };
        let answer = fixed(out, 2);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(
                    w1,
                    if inverted {
                        format!("divide by {}", fixed(quote, 4))
                    } else {
                        format!("multiply by {}", fixed(quote, 4))
                    },
                ),
                step(
                    format!("Commission = {} × {}% = {} {src}.", trim(amount, 2), trim(pct, 2), trim(commission, 4)),
                    format!("{} {src}", trim(commission, 4)),
                ),
                step(
                    format!(
                        "Amount converted = {} − {} − {} = {} {src}.",
                        trim(amount, 2),
                        trim(commission, 4),
                        fixed(flat, 2),
                        trim(net, 4)
                    ),
                    format!("{} {src}", trim(net, 4)),
                ),
                step(w4, format!("{} {tgt}", trim(out, 6))),
                step(format!("Rounded to 2 decimals: {answer} {tgt}."), answer),
            ],
        ));
    }
}

/// Straight-line book value with a prorated first year (months counted from the month the asset
/// goes into service, inclusive) and accumulated depreciation capped at cost minus salvage.
fn straight_line_partial_year(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    loop {
        let cost = g.range(50, 1200) as f64 * 100.0;
        let salvage = (cost * g.range(0, 20) as f64 / 100.0 / 100.0).round() * 100.0;
        let life = g.range(3, 10);
        let m = g.range(1, 12) as usize; // 1-based month placed in service
        let y0 = g.range(2015, 2024);
        let k = if g.chance(0.2) { g.range(life, life + 2) } else { g.range(0, life - 1) };
        let base = cost - salvage;
        let annual = base / life as f64;
        let months = 13 - m as i64;
        let first = annual * months as f64 / 12.0;
        let raw = first + annual * k as f64;
        let capped = raw > base;
        let accum = raw.min(base);
        let bv = cost - accum;
        if near_half(bv, 2) || near_half(first, 2) {
            continue;
        }
        let what = *g.pick(&["delivery truck", "packaging machine", "server rack", "commercial oven", "forklift"]);
        let year = y0 + k;
        let prompt = format!(
            "A company buys a {what} for {} and puts it into service on 1 {} {y0}. It has a useful life of {life} \
             years and a salvage value of {}. The company uses straight-line depreciation with the first year \
             prorated by the number of months in service (count the month it goes into service as a full month); \
             total depreciation can never exceed cost minus salvage. What is the book value at the end of {year} (31 \
             December)? Round to the nearest cent.",
            usd(cost),
            MONTHS[m - 1],
            usd(salvage)
        );
        let w4 = if capped {
            format!(
                "Accumulated through {year} = {} + {} × {k} = {}, which exceeds the depreciable base, so it is capped \
                 at {}.",
                trim(first, 4),
                trim(annual, 4),
                trim(raw, 4),
                trim(base, 2)
            )
        } else if k == 0 {
            format!("{year} is the first year, so accumulated depreciation = {}.", trim(first, 4))
        } else {
            format!(
                "Accumulated through {year} = {} + {} × {k} full year{} = {}.",
                trim(first, 4),
                trim(annual, 4),
                if k == 1 { "" } else { "s" },
                trim(accum, 4)
            )
        };
        let answer = fixed(bv, 2);
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(
                    format!("Depreciable base = {} − {} = {}.", trim(cost, 2), trim(salvage, 2), trim(base, 2)),
                    trim(base, 2),
                ),
                step(
                    format!("Annual depreciation = {} ÷ {life} = {}.", trim(base, 2), trim(annual, 4)),
                    trim(annual, 4),
                ),
                step(
                    format!(
                        "{} to December = 13 − {m} = {months} month{}; first-year depreciation = {} × {months}/12 = \
                         {}.",
                        MONTHS[m - 1],
                        if months == 1 { "" } else { "s" },
                        trim(annual, 4),
                        trim(first, 4)
                    ),
                    trim(first, 4),
                ),
                step(w4, trim(accum, 4)),
                step(
                    format!("Book value = {} − {} = {} → {answer}.", trim(cost, 2), trim(accum, 4), trim(bv, 4)),
                    answer,
                ),
            ],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loan_payment_matches_the_annuity_formula() {
        // 10,000 at 6% APR over 36 months: 304.22 a month (standard amortization tables).
        assert_eq!(fixed(payment(10_000.0, 6.0, 36), 2), "304.22");
        assert_eq!(fixed(payment(25_000.0, 4.5, 60), 2), "466.08");
    }

    #[test]
    fn brackets_tax_only_the_slice_inside_them() {
        // 50,000 taxable with limits 10,000 / 40,000: 10,000 + 30,000 + 10,000.
        assert_eq!(
            tax_slices(50_000, &[10_000, 40_000]),
            vec![(0, 0, 10_000), (1, 10_000, 30_000), (2, 40_000, 10_000)]
        );
        assert_eq!(tax_slices(8_000, &[10_000, 40_000]), vec![(0, 0, 8_000)]);
        assert_eq!(tax_slices(0, &[10_000]), vec![]);
        assert_eq!(tax_slices(40_000, &[10_000, 40_000]).len(), 2);
    }
}
