//! Generators for the `tables` domain.
//!
//! Every kind writes a small table inline (Markdown or CSV) and asks for one lookup or
//! aggregation. Money is kept in integer cents so sums are exact.

use super::calendar::month_len;
use super::fmt::{cents, csv_table, fixed, join, md_table, money, trim};
use super::params::{NoParams, NonEmpty, kinds, params, words};
use super::{Gen, Kind, criterion, exact, free_form, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[Kind] = kinds![
    "table_filtered_sum" => filtered_sum(FilteredSumParams),
    "table_group_extreme" => group_extreme(GroupExtremeParams),
    "table_join_total" => join_total(JoinTotalParams),
    "table_filtered_median" => filtered_median(FilteredMedianParams),
    "table_shipping_rate" => shipping_rate(ShippingRateParams),
    "table_plan_compare" => plan_compare(NoParams),
    "table_first_negative_balance" => first_negative_balance(NoParams),
    "table_category_share" => category_share(CategoryShareParams),
    "table_cheapest_tiebreak" => cheapest_tiebreak(CheapestTiebreakParams),
    "table_competition_rank" => competition_rank(NoParams),
    "table_percent_change" => percent_change(PercentChangeParams),
];

const NAMES: &[&str] = &[
    "Abebe", "Birgit", "Chen", "Dalia", "Emeka", "Freya", "Goran", "Hiroko", "Ivan", "Jamila", "Kofi", "Leila",
    "Mateo", "Noor", "Olek", "Paloma", "Ravi", "Sigrid", "Tariq", "Ulla", "Vera", "Wen",
];

params! {
    /// Parameters of `table_filtered_sum`.
    struct FilteredSumParams {
        /// Region names.
        regions: NonEmpty<String> = words(&["North", "South", "East", "West"]),
        /// Product names.
        products: NonEmpty<String> = words(&["Widget", "Gadget", "Bracket", "Valve", "Sensor", "Cable"]),
        /// Fewest orders.
        min_rows: i64 = 8,
        /// Most orders.
        max_rows: i64 = 12,
    }
}

/// Revenue of the CSV rows matching a text filter and an inclusive or exclusive quantity bound.
fn filtered_sum(g: &mut Gen, params: &FilteredSumParams) -> Result<Generated> {
    let (regions, products) = (&params.regions, &params.products);
    let (rows_lo, rows_hi) = (params.min_rows, params.max_rows);
    loop {
        let n = g.range(rows_lo, rows_hi) as usize;
        let first_id = g.range(10, 80) * 100;
        let rows: Vec<(i64, String, String, i64, i64)> = (0..n)
            .map(|i| {
                let r = g.pick(regions).clone();
                let p = g.pick(products).clone();
                (first_id + i as i64 + 1, r, p, g.range(1, 60), g.range(150, 4999))
            })
            .collect();
        let target = rows[g.range(0, n as i64 - 1) as usize].1.clone();
        let in_region: Vec<&(i64, String, String, i64, i64)> = rows.iter().filter(|r| r.1 == target).collect();
        if in_region.len() < 3 {
            continue;
        }
        // The bound is the quantity of one of the region's rows, so the boundary case occurs.
        let bound = in_region[g.range(0, in_region.len() as i64 - 1) as usize].3;
        let inclusive = g.chance(0.5);
        let keep = |q: i64| if inclusive { q >= bound } else { q > bound };
        let kept: Vec<&&(i64, String, String, i64, i64)> = in_region.iter().filter(|r| keep(r.3)).collect();
        if kept.is_empty() || kept.len() == in_region.len() {
            continue;
        }
        let csv = csv_table(
            &["order_id", "region", "product", "quantity", "unit_price"],
            &rows
                .iter()
                .map(|r| vec![r.0.to_string(), r.1.clone(), r.2.clone(), r.3.to_string(), cents(r.4)])
                .collect::<Vec<_>>(),
        );
        let cond = if inclusive { format!("at least {bound} units") } else { format!("more than {bound} units") };
        let prompt = format!(
            "Orders for the month (CSV):\n\n```\n{csv}\n```\n\nWhat is the total revenue (quantity × unit_price) of \
             the orders from the {target} region with {cond}? Give the amount rounded to 2 decimal places."
        );
        let excluded: Vec<String> =
            in_region.iter().filter(|r| !keep(r.3)).map(|r| format!("#{} (quantity {})", r.0, r.3)).collect();
        let amounts: Vec<i64> = kept.iter().map(|r| r.3 * r.4).collect();
        let total: i64 = amounts.iter().sum();
        let answer = cents(total);
        let op = if inclusive { "≥" } else { ">" };
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(
                    format!(
                        "Conditions: region = {target} and quantity {op} {bound} ({}).",
                        if inclusive { "inclusive" } else { "exclusive" }
                    ),
                    format!("{target}, quantity {op} {bound}"),
                ),
                step(
                    format!(
                        "Kept: {}; {target} rows dropped by the quantity bound: {}.",
                        join(&kept.iter().map(|r| format!("#{} (quantity {})", r.0, r.3)).collect::<Vec<_>>(), ", "),
                        join(&excluded, ", ")
                    ),
                    format!("{} rows", kept.len()),
                ),
                step(
                    join(
                        &kept
                            .iter()
                            .map(|r| format!("{} × {} = {}", r.3, cents(r.4), cents(r.3 * r.4)))
                            .collect::<Vec<_>>(),
                        "; ",
                    ),
                    join(&amounts.iter().map(|a| cents(*a)).collect::<Vec<_>>(), ", "),
                ),
                step(
                    format!("{} = {answer}.", join(&amounts.iter().map(|a| cents(*a)).collect::<Vec<_>>(), " + ")),
                    answer.clone(),
                ),
                step(format!("Total revenue: {answer}."), answer.clone()),
            ],
        ));
    }
}

params! {
    /// Parameters of `table_group_extreme`.
    struct GroupExtremeParams {
        /// Group names (3 or 4 are drawn).
        groups: NonEmpty<String> = words(&["Atlas", "Borealis", "Cobalt", "Delta", "Ember", "Fjord"]),
    }
}

/// The group with the highest (or lowest) total, ties broken alphabetically.
fn group_extreme(g: &mut Gen, p: &GroupExtremeParams) -> Result<Generated> {
    let all_groups = &p.groups;
    let k = g.range(3, 4.min(all_groups.len() as i64)) as usize;
    let groups: Vec<String> = g.distinct(all_groups.len(), k).into_iter().map(|i| all_groups[i].clone()).collect();
    let n = g.range(8, 12) as usize;
    let reps: Vec<&str> = g.distinct(NAMES.len(), n).into_iter().map(|i| NAMES[i]).collect();
    let mut rows: Vec<(String, usize, i64)> = (0..n)
        .map(|i| (reps[i].to_string(), if i < k { i } else { g.range(0, k as i64 - 1) as usize }, g.range(120, 980)))
        .collect();
    let order = g.distinct(n, n);
    rows = order.into_iter().map(|i| rows[i].clone()).collect();
    let highest = g.chance(0.7);
    let totals = |rows: &[(String, usize, i64)]| -> Vec<i64> {
        (0..k).map(|gi| rows.iter().filter(|r| r.1 == gi).map(|r| r.2).sum()).collect()
    };
    let mut t = totals(&rows);
    if g.chance(0.4) {
        // Force a tie for first place between the best group and the runner-up.
        let mut idx: Vec<usize> = (0..k).collect();
        idx.sort_by_key(|&i| if highest { -t[i] } else { t[i] });
        let (best, second) = (idx[0], idx[1]);
        let diff = (t[best] - t[second]).abs();
        let bump = if highest { second } else { best };
        if let Some(r) = rows.iter_mut().find(|r| r.1 == bump) {
            r.2 += diff;
        }
        t = totals(&rows);
    }
    let target = if highest { *t.iter().max().unwrap_or(&0) } else { *t.iter().min().unwrap_or(&0) };
    let mut tied: Vec<&String> = (0..k).filter(|&i| t[i] == target).map(|i| &groups[i]).collect();
    tied.sort();
    let answer = tied[0].clone();
    let unit = g.pick(&[
        ("Sales rep", "Team", "Sales (units)"),
        ("Volunteer", "Club", "Hours"),
        ("Driver", "Depot", "Deliveries"),
    ]);
    let table = md_table(
        &[unit.0, unit.1, unit.2],
        &rows.iter().map(|r| vec![r.0.clone(), groups[r.1].clone(), r.2.to_string()]).collect::<Vec<_>>(),
    );
    let word = if highest { "highest" } else { "lowest" };
    let prompt = format!(
        "{table}\n\nWhich {} has the {word} total {}? If several tie for the {word} total, answer with the name that \
         comes first alphabetically. Answer with the {} name only.",
        unit.1.to_lowercase(),
        unit.2.to_lowercase(),
        unit.1.to_lowercase()
    );
    let sums: Vec<String> = (0..k)
        .map(|gi| {
            let parts: Vec<String> = rows.iter().filter(|r| r.1 == gi).map(|r| r.2.to_string()).collect();
            format!("{}: {} = {}", groups[gi], parts.join(" + "), t[gi])
        })
        .collect();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(format!("Groups: {}.", join(&groups, ", ")), format!("{k} groups")),
            step(sums.join("; "), "totals computed"),
            step(join(&(0..k).map(|i| format!("{} {}", groups[i], t[i])).collect::<Vec<_>>(), ", "), "totals listed"),
            step(
                if tied.len() > 1 {
                    format!(
                        "The {word} total is {target}, shared by {}; alphabetically first: {answer}.",
                        join(&tied, " and ")
                    )
                } else {
                    format!("The {word} total is {target}, held only by {answer}.")
                },
                format!("{answer} ({target})"),
            ),
            step(format!("Answer: {answer}."), answer.clone()),
        ],
    ))
}

params! {
    /// Parameters of `table_join_total`.
    struct JoinTotalParams {
        /// Customer cities.
        cities: NonEmpty<String> = words(&["Lisbon", "Porto", "Braga", "Faro"]),
    }
}

/// Sum of orders joined to customers by id and filtered by the customer's city.
fn join_total(g: &mut Gen, p: &JoinTotalParams) -> Result<Generated> {
    let cities = &p.cities;
    loop {
        let nc = g.range(6, 9) as usize;
        let names: Vec<&str> = g.distinct(NAMES.len(), nc).into_iter().map(|i| NAMES[i]).collect();
        let mut customers: Vec<(String, String, String)> = (0..nc)
            .map(|i| {
                (format!("C{:02}", i + 1 + g.range(0, 2) as usize * 10), names[i].to_string(), g.pick(cities).clone())
            })
            .collect();
        customers.sort();
        customers.dedup_by(|a, b| a.0 == b.0);
        if g.chance(0.4) && customers.len() >= 2 {
            // Two customers with the same name in different cities: only the id joins.
            let l = customers.len();
            customers[l - 1].1 = customers[0].1.clone();
        }
        let city = customers[g.range(0, customers.len() as i64 - 1) as usize].2.clone();
        let no = g.range(8, 13) as usize;
        let first = g.range(100, 900);
        let orders: Vec<(String, String, i64)> = (0..no)
            .map(|i| {
                (
                    format!("O-{}", first + i as i64),
                    customers[g.range(0, customers.len() as i64 - 1) as usize].0.clone(),
                    g.range(500, 45000),
                )
            })
            .collect();
        let ids: Vec<&String> = customers.iter().filter(|c| c.2 == city).map(|c| &c.0).collect();
        let kept: Vec<&(String, String, i64)> = orders.iter().filter(|o| ids.contains(&&o.1)).collect();
        if kept.is_empty() || kept.len() == orders.len() {
            continue;
        }
        let total: i64 = kept.iter().map(|o| o.2).sum();
        let answer = cents(total);
        let t1 = md_table(
            &["customer_id", "name", "city"],
            &customers.iter().map(|c| vec![c.0.clone(), c.1.clone(), c.2.clone()]).collect::<Vec<_>>(),
        );
        let t2 = md_table(
            &["order_id", "customer_id", "amount"],
            &orders.iter().map(|o| vec![o.0.clone(), o.1.clone(), cents(o.2)]).collect::<Vec<_>>(),
        );
        let prompt = format!(
            "Customers:\n\n{t1}\n\nOrders:\n\n{t2}\n\nWhat is the total amount of all orders placed by customers \
             located in {city}? Match orders to customers by customer_id. Give the amount rounded to 2 decimal \
             places."
        );
        let amounts: Vec<String> = kept.iter().map(|o| cents(o.2)).collect();
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(format!("Customers in {city}: {}.", join(&ids, ", ")), join(&ids, ", ")),
                step(
                    format!(
                        "Orders with those ids: {}.",
                        join(&kept.iter().map(|o| format!("{} ({})", o.0, o.1)).collect::<Vec<_>>(), ", ")
                    ),
                    format!("{} orders", kept.len()),
                ),
                step(format!("Amounts: {}.", amounts.join(", ")), amounts.join(", ")),
                step(format!("{} = {answer}.", amounts.join(" + ")), answer.clone()),
                step(format!("Total for {city}: {answer}."), answer.clone()),
            ],
        ));
    }
}

params! {
    /// Parameters of `table_filtered_median`.
    struct FilteredMedianParams {
        /// District names.
        districts: NonEmpty<String> = words(&["Harbor", "Old Town", "Riverside", "Hillcrest"]),
    }
}

/// Median of a column over the rows matching a filter (odd or even count).
fn filtered_median(g: &mut Gen, p: &FilteredMedianParams) -> Result<Generated> {
    let districts = &p.districts;
    loop {
        let n = g.range(9, 14) as usize;
        let rows: Vec<(String, String, i64)> =
            (0..n).map(|i| (format!("D{}", 101 + i), g.pick(districts).clone(), g.range(12, 75))).collect();
        let target = rows[g.range(0, n as i64 - 1) as usize].1.clone();
        let mut vals: Vec<i64> = rows.iter().filter(|r| r.1 == target).map(|r| r.2).collect();
        if vals.len() < 4 {
            continue;
        }
        let unsorted = vals.clone();
        vals.sort_unstable();
        let c = vals.len();
        let (median, mid_text) = if c % 2 == 1 {
            (vals[c / 2] as f64, format!("{c} values (odd): the middle one is value {} = {}", c / 2 + 1, vals[c / 2]))
        } else {
            let (a, b) = (vals[c / 2 - 1], vals[c / 2]);
            (
                (a + b) as f64 / 2.0,
                format!(
                    "{c} values (even): values {} and {} are {a} and {b}; ({a} + {b}) ÷ 2 = {}",
                    c / 2,
                    c / 2 + 1,
                    trim((a + b) as f64 / 2.0, 1)
                ),
            )
        };
        let answer = fixed(median, 1);
        let ctx = g.pick(&[
            ("Delivery", "District", "Minutes", "delivery time in minutes"),
            ("Ticket", "Area", "Minutes", "response time in minutes"),
        ]);
        let table = md_table(
            &[ctx.0, ctx.1, ctx.2],
            &rows.iter().map(|r| vec![r.0.clone(), r.1.clone(), r.2.to_string()]).collect::<Vec<_>>(),
        );
        let prompt = format!(
            "{table}\n\nWhat is the median {} for the {target} {}? Give the answer with 1 decimal place.",
            ctx.3,
            ctx.1.to_lowercase()
        );
        let ids: Vec<String> = rows.iter().filter(|r| r.1 == target).map(|r| r.0.clone()).collect();
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(format!("Rows with {} = {target}: {}.", ctx.1, ids.join(", ")), format!("{c} rows")),
                step(
                    format!("Values: {}.", join(&unsorted.iter().map(|v| v.to_string()).collect::<Vec<_>>(), ", ")),
                    format!("{c} values"),
                ),
                step(
                    format!("Sorted: {}.", join(&vals.iter().map(|v| v.to_string()).collect::<Vec<_>>(), ", ")),
                    join(&vals.iter().map(|v| v.to_string()).collect::<Vec<_>>(), ", "),
                ),
                step(mid_text, trim(median, 1)),
                step(format!("Median = {answer}."), answer.clone()),
            ],
        ));
    }
}

params! {
    /// Parameters of `table_shipping_rate`.
    struct ShippingRateParams {
        /// Volumetric weight in kg is L × W × H (cm) divided by this.
        volumetric_divisor: i64 = 5000,
    }
}

/// Shipping price from a weight-band table: billable weight, band lookup with inclusive upper
/// limits and a per-started-kg tail, then a zone multiplier.
fn shipping_rate(g: &mut Gen, params: &ShippingRateParams) -> Result<Generated> {
    let divisor = params.volumetric_divisor;
    loop {
        let limits: Vec<i64> =
            g.pick(&[vec![1i64, 3, 5, 10, 20], vec![2, 5, 10, 15, 25], vec![1, 2, 5, 10, 30]]).clone();
        let mut prices = Vec::new();
        let mut p = g.range(35, 65) * 10;
        for _ in &limits {
            prices.push(p);
            p += g.range(20, 90) * 10;
        }
        let per_kg = g.range(9, 25) * 5;
        let zones: Vec<(&str, i64)> = vec![
            ("A", 100),
            ("B", *g.pick(&[115i64, 120, 125])),
            ("C", *g.pick(&[135i64, 140, 150])),
            ("D", *g.pick(&[160i64, 175, 180])),
        ];
        let zone = zones[g.range(0, 3) as usize];
        let last = *limits.last().unwrap_or(&20);
        // Actual weight in grams (100 g steps); dims in cm.
        let mut actual = g.range(2, last * 10 + 60) * 100;
        let (l, w, h) = (g.range(10, 70), g.range(10, 60), g.range(5, 50));
        if g.chance(0.25) {
            actual = limits[g.range(0, limits.len() as i64 - 1) as usize] * 1000;
        }
        let vol_units = l * w * h; // in 1/divisor kg
        let act_units = actual * divisor / 1000;
        if actual * divisor % 1000 != 0 {
            continue;
        }
        let billable = vol_units.max(act_units);
        let bill_kg = billable as f64 / divisor as f64;
        let vol_kg = vol_units as f64 / divisor as f64;
        let band = limits.iter().position(|lim| billable <= lim * divisor);
        let (base, band_text) = match band {
            Some(i) => {
                let lower = if i == 0 { "0".to_string() } else { format!("over {}", limits[i - 1]) };
                (
                    prices[i],
                    format!(
                        "{} kg falls in the band {lower} up to {} kg (inclusive): base {}.",
                        trim(bill_kg, 4),
                        limits[i],
                        cents(prices[i])
                    ),
                )
            }
            None => {
                let excess = billable - last * divisor;
                let kg = (excess + divisor - 1) / divisor;
                let base = prices[limits.len() - 1] + kg * per_kg;
                (
                    base,
                    format!(
                        "{} kg is over {last} kg by {} kg → {kg} started kg × {} = {}; {} + {} = {}.",
                        trim(bill_kg, 4),
                        trim(excess as f64 / divisor as f64, 4),
                        cents(per_kg),
                        cents(kg * per_kg),
                        cents(prices[limits.len() - 1]),
                        cents(kg * per_kg),
                        cents(base)
                    ),
                )
            }
        };
        let scaled = base * zone.1; // cents × percent
        if scaled % 100 == 50 {
            continue;
        }
        let price = (scaled + 50) / 100;
        let answer = cents(price);
        let mut rate_rows = Vec::new();
        for (i, lim) in limits.iter().enumerate() {
            let label =
                if i == 0 { format!("up to {lim} kg") } else { format!("over {} kg up to {lim} kg", limits[i - 1]) };
            rate_rows.push(vec![label, cents(prices[i])]);
        }
        rate_rows.push(vec![
            format!("over {last} kg"),
            format!("{} + {} per started kg above {last} kg", cents(prices[limits.len() - 1]), cents(per_kg)),
        ]);
        let rate_table = md_table(&["Billable weight", "Base price"], &rate_rows);
        let zone_table = md_table(
            &["Zone", "Multiplier"],
            &zones.iter().map(|z| vec![z.0.to_string(), format!("{}%", z.1)]).collect::<Vec<_>>(),
        );
        let actual_kg = trim(actual as f64 / 1000.0, 1);
        let prompt = format!(
            "Parcel rate card (each band includes its upper limit):\n\
             \n{rate_table}\n\nZone multipliers (applied to the base price):\n\
             \n{zone_table}\n\nThe billable weight is the greater of the actual weight and the volumetric weight, \
             where volumetric weight in kg = length × width × height (in cm) ÷ {divisor}. A parcel weighs {actual_kg} \
             kg, measures {l} × {w} × {h} cm and goes to zone {}. What is the shipping price? Give the amount rounded \
             to 2 decimal places.",
            zone.0
        );
        let product = base as f64 * zone.1 as f64 / 10000.0;
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(
                    format!(
                        "Volumetric weight = {l} × {w} × {h} ÷ {divisor} = {vol_units} ÷ {divisor} = {} kg.",
                        trim(vol_kg, 4)
                    ),
                    format!("{} kg", trim(vol_kg, 4)),
                ),
                step(
                    format!("Billable = max({actual_kg}, {}) = {} kg.", trim(vol_kg, 4), trim(bill_kg, 4)),
                    format!("{} kg", trim(bill_kg, 4)),
                ),
                step(band_text, cents(base)),
                step(
                    format!(
                        "Zone {} multiplier {}%: {} × {} = {}.",
                        zone.0,
                        zone.1,
                        cents(base),
                        trim(zone.1 as f64 / 100.0, 2),
                        trim(product, 4)
                    ),
                    trim(product, 4),
                ),
                step(format!("Rounded to cents: {answer}."), answer.clone()),
            ],
        ));
    }
}

/// Free-form: which data plan is cheapest for a month's usage, with per-started-GB overage.
fn plan_compare(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let all = ["Lite", "Flex", "Plus", "Max", "Core"];
    loop {
        let k = g.range(3, 4) as usize;
        let names: Vec<&str> = g.distinct(all.len(), k).into_iter().map(|i| all[i]).collect();
        let mut allow: Vec<i64> = g.distinct(7, k).into_iter().map(|i| [5i64, 10, 15, 20, 30, 40, 60][i]).collect();
        allow.sort_unstable();
        // Bigger allowances cost more per month; overage is cheaper on bigger plans.
        let mut fee = g.range(8, 15) * 100 + *g.pick(&[0i64, 50, 99]);
        let mut plans = Vec::new();
        for (i, a) in allow.iter().enumerate() {
            let over = g.range(10, 45) * 10;
            plans.push((names[i], fee, *a, over));
            fee += g.range(5, 20) * 100 + *g.pick(&[0i64, 50]);
        }
        let usage = g.range(30, 650); // tenths of a GB
        let costs: Vec<(i64, i64)> = plans
            .iter()
            .map(|p| {
                let extra_tenths = (usage - p.2 * 10).max(0);
                let gb = (extra_tenths + 9) / 10;
                (gb, p.1 + gb * p.3)
            })
            .collect();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by_key(|&i| costs[i].1);
        let (best, second) = (order[0], order[1]);
        if costs[best].1 == costs[second].1 {
            continue;
        }
        // Want some overage in play, with a partial GB somewhere.
        if usage % 10 == 0 || costs.iter().all(|c| c.0 == 0) {
            continue;
        }
        let table = md_table(
            &["Plan", "Monthly fee", "Included data", "Extra data"],
            &plans
                .iter()
                .map(|p| vec![p.0.to_string(), cents(p.1), format!("{} GB", p.2), format!("{} per GB", cents(p.3))])
                .collect::<Vec<_>>(),
        );
        let usage_s = trim(usage as f64 / 10.0, 1);
        let name = g.pick(NAMES).to_string();
        let prompt = format!(
            "{name} is choosing a mobile data plan:\n\n{table}\n\n\
             Data above the included amount is billed per started GB (any part of a GB counts as a whole GB). {name} \
             uses {usage_s} GB a month. Write a short recommendation (2–5 sentences) that names the cheapest plan for \
             this usage, gives its monthly cost, and says how much it saves per month compared with the \
             second-cheapest plan. Give amounts with 2 decimal places."
        );
        let lines: Vec<String> = (0..k)
            .map(|i| {
                let p = &plans[i];
                if costs[i].0 == 0 {
                    format!("{}: {usage_s} GB ≤ {} GB, no extra → {}", p.0, p.2, cents(costs[i].1))
                } else {
                    format!(
                        "{}: {usage_s} − {} = {} GB over → {} GB billed × {} = {}; {} + {} = {}",
                        p.0,
                        p.2,
                        trim((usage - p.2 * 10) as f64 / 10.0, 1),
                        costs[i].0,
                        cents(p.3),
                        cents(costs[i].0 * p.3),
                        cents(p.1),
                        cents(costs[i].0 * p.3),
                        cents(costs[i].1)
                    )
                }
            })
            .collect();
        let saving = costs[second].1 - costs[best].1;
        let (bn, bc, sn, sc) = (
            plans[best].0,
            money(costs[best].1 as f64 / 100.0),
            plans[second].0,
            money(costs[second].1 as f64 / 100.0),
        );
        let sv = money(saving as f64 / 100.0);
        let answer = format!(
            "For {usage_s} GB a month, the cheapest plan is {bn} at {bc} per month. The second-cheapest is {sn} at \
             {sc}, so {bn} saves {sv} per month. (Costs: {}.)",
            join(&(0..k).map(|i| format!("{} {}", plans[i].0, cents(costs[i].1))).collect::<Vec<_>>(), ", ")
        );
        return Ok(free_form(
            prompt,
            answer,
            [
                step(
                    join(
                        &(0..k).map(|i| format!("{}: {} GB billed extra", plans[i].0, costs[i].0)).collect::<Vec<_>>(),
                        "; ",
                    ),
                    "extra GB per plan",
                ),
                step(
                    join(
                        &(0..k)
                            .map(|i| {
                                format!(
                                    "{}: {} × {} = {}",
                                    plans[i].0,
                                    costs[i].0,
                                    cents(plans[i].3),
                                    cents(costs[i].0 * plans[i].3)
                                )
                            })
                            .collect::<Vec<_>>(),
                        "; ",
                    ),
                    "overage charges",
                ),
                step(lines.join("; "), join(&(0..k).map(|i| cents(costs[i].1)).collect::<Vec<_>>(), ", ")),
                step(
                    format!("Cheapest {bn} ({bc}); next {sn} ({sc}); saving {sc} − {bc} = {sv}."),
                    format!("{bn}, saves {sv}"),
                ),
                step("Write the recommendation with the plan, its cost and the saving.", format!("{bn} {bc}")),
            ],
            vec![
                criterion("names the cheapest plan for the stated usage", &[bn]),
                criterion("gives the cheapest plan's monthly cost", &[&bc]),
                criterion("states the monthly saving versus the second-cheapest plan", &[&sv]),
            ],
        ));
    }
}

/// The first date on which a ledger's running balance drops below zero (rows unsorted).
fn first_negative_balance(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let year = g.range(2024, 2030);
    let month = g.range(1, 11);
    loop {
        let n = g.range(6, 9) as usize;
        let days: Vec<i64> = {
            let mut d: Vec<i64> = g.distinct(40, n).into_iter().map(|x| x as i64 + 1).collect();
            d.sort_unstable();
            d
        };
        let opening = g.range(10, 60) * 1000 + g.range(0, 99) * 10;
        let mut amounts: Vec<i64> = (0..n)
            .map(|_| {
                if g.chance(0.65) {
                    -(g.range(30, 320) * 100 + g.range(0, 99))
                } else {
                    g.range(20, 250) * 100 + g.range(0, 3) * 25
                }
            })
            .collect();
        let balances = |a: &[i64]| -> Vec<i64> {
            let mut b = opening;
            a.iter()
                .map(|x| {
                    b += x;
                    b
                })
                .collect()
        };
        let mut bal = balances(&amounts);
        let Some(mut first) = bal.iter().position(|b| *b < 0) else { continue };
        if first == 0 {
            continue;
        }
        if g.chance(0.45) && first >= 2 {
            // A balance of exactly zero before the first negative: zero is not below zero.
            let j = g.range(1, first as i64 - 1) as usize;
            let before = if j == 0 { opening } else { bal[j - 1] };
            if amounts[j] < 0 && before > 0 {
                amounts[j] = -before;
                bal = balances(&amounts);
                match bal.iter().position(|b| *b < 0) {
                    Some(f) if f > j => first = f,
                    _ => continue,
                }
            }
        }
        let date = |d: i64| {
            // Day offsets 1..=40 from the first of the month, crossing into the next month.
            let dim = month_len(year, month);
            if d <= dim {
                format!("{year}-{month:02}-{d:02}")
            } else {
                format!("{year}-{:02}-{:02}", month + 1, d - dim)
            }
        };
        let sorted: Vec<(String, i64)> = (0..n).map(|i| (date(days[i]), amounts[i])).collect();
        let shown = g.distinct(n, n);
        let descs_in = ["Salary", "Refund", "Transfer in", "Client payment"];
        let descs_out = ["Rent", "Card payment", "Utilities", "Insurance", "Groceries", "Loan repayment", "Tax"];
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|&i| {
                let a = sorted[i].1;
                let desc = if a >= 0 { descs_in[i % descs_in.len()] } else { descs_out[i % descs_out.len()] };
                vec![sorted[i].0.clone(), desc.to_string(), if a >= 0 { format!("+{}", cents(a)) } else { cents(a) }]
            })
            .collect();
        let table = md_table(&["Date", "Description", "Amount"], &rows);
        let prompt = format!(
            "An account opens with a balance of {}. These transactions are listed in the order they were entered, not \
             by date:\n\n{table}\n\nApplying the transactions in date order, on which date does the running balance \
             first fall below zero? (A balance of exactly 0.00 is not below zero.) Give the date as YYYY-MM-DD.",
            cents(opening)
        );
        let answer = sorted[first].0.clone();
        let running: Vec<String> = (0..=first)
            .map(|i| {
                let prev = if i == 0 { opening } else { bal[i - 1] };
                let a = sorted[i].1;
                format!(
                    "{}: {} {} {} = {}",
                    sorted[i].0,
                    cents(prev),
                    if a >= 0 { "+" } else { "−" },
                    cents(a.abs()),
                    cents(bal[i])
                )
            })
            .collect();
        let zero_note = match bal[..first].iter().position(|b| *b == 0) {
            Some(z) => format!(" The 0.00 after {} is not below zero.", sorted[z].0),
            None => String::new(),
        };
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(format!("Opening balance {}.", cents(opening)), cents(opening)),
                step(
                    format!(
                        "In date order: {}.",
                        join(&sorted.iter().map(|(d, a)| format!("{d} {}", cents(*a))).collect::<Vec<_>>(), ", ")
                    ),
                    format!("{n} rows sorted"),
                ),
                step(running.join("; "), cents(bal[first])),
                step(
                    format!("The first balance below zero is {} after {answer}.{zero_note}", cents(bal[first])),
                    answer.clone(),
                ),
                step(format!("Answer: {answer}."), answer.clone()),
            ],
        ));
    }
}

params! {
    /// Parameters of `table_category_share`.
    struct CategoryShareParams {
        /// Expense categories (3 or 4 are drawn).
        categories: NonEmpty<String> = words(&["Rent", "Food", "Travel", "Utilities", "Software"]),
    }
}

/// One category's share of a month's total in long-format rows.
fn category_share(g: &mut Gen, p: &CategoryShareParams) -> Result<Generated> {
    let months_all = ["January", "February", "March", "April"];
    let cats_all = &p.categories;
    loop {
        let km = g.range(2, 3) as usize;
        let months: Vec<&str> = g.distinct(months_all.len(), km).into_iter().map(|i| months_all[i]).collect();
        let kc = g.range(3, 4.min(cats_all.len() as i64)) as usize;
        let cats: Vec<String> = g.distinct(cats_all.len(), kc).into_iter().map(|i| cats_all[i].clone()).collect();
        let n = g.range(10, 15) as usize;
        let tm = g.range(0, km as i64 - 1) as usize;
        let tc = g.range(0, kc as i64 - 1) as usize;
        let mut rows: Vec<(usize, usize, i64)> = vec![(tm, tc, g.range(20, 900)), (tm, tc, g.range(20, 900))];
        while rows.len() < n {
            rows.push((g.range(0, km as i64 - 1) as usize, g.range(0, kc as i64 - 1) as usize, g.range(20, 900)));
        }
        let order = g.distinct(n, n);
        let rows: Vec<(usize, usize, i64)> = order.into_iter().map(|i| rows[i]).collect();
        let in_month: Vec<&(usize, usize, i64)> = rows.iter().filter(|r| r.0 == tm).collect();
        let cat_rows: Vec<i64> = in_month.iter().filter(|r| r.1 == tc).map(|r| r.2).collect();
        let cat_sum: i64 = cat_rows.iter().sum();
        let total: i64 = in_month.iter().map(|r| r.2).sum();
        if total == cat_sum {
            continue;
        }
        let num = cat_sum * 1000;
        if 2 * (num % total) == total {
            continue;
        }
        let share = cat_sum as f64 * 100.0 / total as f64;
        let answer = fixed(share, 1);
        let table = md_table(
            &["Month", "Category", "Amount"],
            &rows.iter().map(|r| vec![months[r.0].to_string(), cats[r.1].clone(), r.2.to_string()]).collect::<Vec<_>>(),
        );
        let prompt = format!(
            "Expense entries (a month and category can appear on several rows):\n\
             \n{table}\n\nWhat percentage of the total {} spending went to {}? Give the percentage rounded to 1 \
             decimal place.",
            months[tm], cats[tc]
        );
        let month_vals: Vec<String> = in_month.iter().map(|r| r.2.to_string()).collect();
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(
                    format!(
                        "{} rows: {}.",
                        months[tm],
                        join(&in_month.iter().map(|r| format!("{} {}", cats[r.1], r.2)).collect::<Vec<_>>(), ", ")
                    ),
                    format!("{} rows", in_month.len()),
                ),
                step(
                    format!(
                        "{} in {}: {} = {cat_sum}.",
                        cats[tc],
                        months[tm],
                        join(&cat_rows.iter().map(|v| v.to_string()).collect::<Vec<_>>(), " + ")
                    ),
                    cat_sum.to_string(),
                ),
                step(format!("{} total: {} = {total}.", months[tm], month_vals.join(" + ")), total.to_string()),
                step(format!("{cat_sum} ÷ {total} × 100 = {}%.", trim(share, 4)), trim(share, 4)),
                step(format!("Rounded to 1 decimal: {answer}%."), answer.clone()),
            ],
        ));
    }
}

params! {
    /// Parameters of `table_cheapest_tiebreak`.
    struct CheapestTiebreakParams {
        /// Model names.
        items: NonEmpty<String> = words(&[
            "Aurora", "Beacon", "Cascade", "Drift", "Echo", "Falcon", "Glacier", "Harbor", "Ion", "Juniper", "Kestrel",
            "Lumen",
        ]),
    }
}

/// The cheapest item with enough stock; ties by higher rating, then alphabetical.
fn cheapest_tiebreak(g: &mut Gen, p: &CheapestTiebreakParams) -> Result<Generated> {
    let pool = &p.items;
    let need = g.range(5, 30);
    let min_price = g.range(12, 60) * 100 + *g.pick(&[0i64, 50, 99]);
    let n_tied = g.range(1, 3) as usize;
    let full_tie = n_tied >= 2 && g.chance(0.5);
    let n_other = g.range(2, 4) as usize;
    let n_low = g.range(1, 2) as usize;
    let total = n_tied + n_other + n_low;
    let names: Vec<String> =
        g.distinct(pool.len(), total.min(pool.len())).into_iter().map(|i| pool[i].clone()).collect();
    let total = names.len();
    // (name, price, rating ×10, stock)
    let mut items: Vec<(String, i64, i64, i64)> = Vec::new();
    let top_rating = g.range(38, 48);
    for (i, name) in names.iter().enumerate() {
        let name = name.clone();
        let item = if i < n_tied {
            let rating = if i == 0 || (full_tie && i == 1) { top_rating } else { top_rating - g.range(1, 8) };
            (name, min_price, rating, need + g.range(0, 40))
        } else if i < n_tied + n_other {
            (name, min_price + g.range(1, 30) * 50, g.range(30, 50), need + g.range(0, 40))
        } else {
            // Cheaper, often better rated, but short of stock (sometimes one below the bound).
            let stock = if g.chance(0.5) { need - 1 } else { g.range(0, need - 1) };
            (name, min_price - g.range(1, 10) * 50, g.range(40, 50), stock)
        };
        items.push(item);
    }
    let order = g.distinct(total, total);
    let items: Vec<(String, i64, i64, i64)> = order.into_iter().map(|i| items[i].clone()).collect();
    let eligible: Vec<&(String, i64, i64, i64)> = items.iter().filter(|it| it.3 >= need).collect();
    let lowest = eligible.iter().map(|it| it.1).min().unwrap_or(min_price);
    let at_min: Vec<&&(String, i64, i64, i64)> = eligible.iter().filter(|it| it.1 == lowest).collect();
    let best_rating = at_min.iter().map(|it| it.2).max().unwrap_or(0);
    let mut top: Vec<&String> = at_min.iter().filter(|it| it.2 == best_rating).map(|it| &it.0).collect();
    top.sort();
    let answer = top[0].clone();
    let r = |x: i64| format!("{}.{}", x / 10, x % 10);
    let kind = g.pick(&["backpack", "desk lamp", "kettle", "headset", "tent"]);
    let table = md_table(
        &["Model", "Price", "Rating", "In stock"],
        &items.iter().map(|it| vec![it.0.clone(), cents(it.1), r(it.2), it.3.to_string()]).collect::<Vec<_>>(),
    );
    let prompt = format!(
        "A buyer needs {need} units of a {kind} and can only order a model that has at least {need} units in stock.\n\
         \n{table}\n\nWhich model should be ordered? Choose the lowest price; if several models share the lowest \
         price, choose the highest rating; if still tied, choose the model name that comes first alphabetically. \
         Answer with the model name only."
    );
    let excluded: Vec<String> =
        items.iter().filter(|it| it.3 < need).map(|it| format!("{} ({})", it.0, it.3)).collect();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!(
                    "Stock ≥ {need}: {}; excluded: {}.",
                    join(&eligible.iter().map(|it| it.0.as_str()).collect::<Vec<_>>(), ", "),
                    excluded.join(", ")
                ),
                format!("{} eligible", eligible.len()),
            ),
            step(
                format!(
                    "Lowest eligible price {}: {}.",
                    cents(lowest),
                    join(&at_min.iter().map(|it| it.0.as_str()).collect::<Vec<_>>(), ", ")
                ),
                cents(lowest),
            ),
            step(
                format!(
                    "Ratings at that price: {}; highest {}.",
                    join(&at_min.iter().map(|it| format!("{} {}", it.0, r(it.2))).collect::<Vec<_>>(), ", "),
                    r(best_rating)
                ),
                join(&top, ", "),
            ),
            step(
                if top.len() > 1 {
                    format!("Still tied: {}; alphabetically first is {answer}.", join(&top, ", "))
                } else {
                    format!("No tie left: {answer}.")
                },
                answer.clone(),
            ),
            step(format!("Order {answer}."), answer.clone()),
        ],
    ))
}

/// Competition rank ("1224") of one entrant by total of two rounds.
fn competition_rank(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let n = g.range(8, 12) as usize;
    let names: Vec<&str> = g.distinct(NAMES.len(), n).into_iter().map(|i| NAMES[i]).collect();
    let mut scores: Vec<(i64, i64)> = (0..n).map(|_| (g.range(10, 30), g.range(10, 30))).collect();
    let t = g.range(0, n as i64 - 1) as usize;
    if g.chance(0.5) {
        // Someone else with exactly the target's total.
        let o = (t + 1 + g.range(0, n as i64 - 2) as usize) % n;
        let tot = scores[t].0 + scores[t].1;
        let a = (tot - 30).max(10).min(tot - 10);
        let a = g.range(a, (tot - 10).min(30));
        scores[o] = (a, tot - a);
    }
    if g.chance(0.5) {
        // Two entrants tied above the target.
        let above = scores[t].0 + scores[t].1 + g.range(1, 6);
        let others: Vec<usize> = (0..n).filter(|&i| i != t).collect();
        let pick = g.distinct(others.len(), 2);
        for p in pick {
            let a = g.range((above - 30).max(10), (above - 10).min(30).max((above - 30).max(10)));
            if above - a >= 10 && above - a <= 35 {
                scores[others[p]] = (a, above - a);
            }
        }
    }
    let totals: Vec<i64> = scores.iter().map(|s| s.0 + s.1).collect();
    let tt = totals[t];
    let higher: Vec<usize> = (0..n).filter(|&i| totals[i] > tt).collect();
    let same: Vec<&str> = (0..n).filter(|&i| i != t && totals[i] == tt).map(|i| names[i]).collect();
    let rank = higher.len() + 1;
    let table = md_table(
        &["Player", "Round 1", "Round 2"],
        &(0..n)
            .map(|i| vec![names[i].to_string(), scores[i].0.to_string(), scores[i].1.to_string()])
            .collect::<Vec<_>>(),
    );
    let prompt = format!(
        "Quiz league results:\n\n{table}\n\nPlayers are ranked by total score (round 1 + round 2), highest first, \
         using standard competition ranking: players with equal totals share the same rank, and the next rank skips \
         accordingly (1, 2, 2, 4). What is {}'s rank? Answer with a whole number.",
        names[t]
    );
    Ok(exact(
        prompt,
        rank.to_string(),
        [
            step(
                join(
                    &(0..n)
                        .map(|i| format!("{} {} + {} = {}", names[i], scores[i].0, scores[i].1, totals[i]))
                        .collect::<Vec<_>>(),
                    "; ",
                ),
                "totals",
            ),
            step(format!("{}'s total is {tt}.", names[t]), tt.to_string()),
            step(
                format!(
                    "Totals strictly above {tt}: {}.",
                    if higher.is_empty() {
                        "none".to_string()
                    } else {
                        join(&higher.iter().map(|&i| format!("{} ({})", names[i], totals[i])).collect::<Vec<_>>(), ", ")
                    }
                ),
                format!("{} higher", higher.len()),
            ),
            step(
                format!(
                    "Rank = {} + 1 = {rank}{}.",
                    higher.len(),
                    if same.is_empty() { String::new() } else { format!(" (shared with {})", same.join(", ")) }
                ),
                rank.to_string(),
            ),
            step(format!("{} is ranked {rank}.", names[t]), rank.to_string()),
        ],
    ))
}

params! {
    /// Parameters of `table_percent_change`.
    struct PercentChangeParams {
        /// Item names (5 to 7 are drawn).
        items: NonEmpty<String> = words(&[
            "Oat milk", "Espresso beans", "Croissants", "Bagels", "Green tea", "Muffins", "Granola", "Smoothies",
        ]),
    }
}

/// The row with the largest percentage increase (or decrease) between two columns, where the
/// largest absolute change usually points elsewhere.
fn percent_change(g: &mut Gen, p: &PercentChangeParams) -> Result<Generated> {
    let pool = &p.items;
    let increase = g.chance(0.7);
    let want_trap = g.chance(0.85);
    for attempt in 0.. {
        let k = g.range(5, 7).min(pool.len() as i64) as usize;
        let names: Vec<String> = g.distinct(pool.len(), k).into_iter().map(|i| pool[i].clone()).collect();
        let q1: Vec<i64> = (0..k).map(|_| g.range(40, 900)).collect();
        let q2: Vec<i64> = q1
            .iter()
            .map(|&a| {
                let pct = if increase { g.range(-20, 80) } else { g.range(-60, 30) };
                (a * (100 + pct) / 100 + g.range(-5, 5)).max(1)
            })
            .collect();
        let pct: Vec<f64> = (0..k).map(|i| (q2[i] - q1[i]) as f64 * 100.0 / q1[i] as f64).collect();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| if increase { pct[b].total_cmp(&pct[a]) } else { pct[a].total_cmp(&pct[b]) });
        let (best, second) = (order[0], order[1]);
        if (pct[best] - pct[second]).abs() < 0.5 || (increase && pct[best] <= 0.0) || (!increase && pct[best] >= 0.0) {
            continue;
        }
        let abs_best = (0..k).max_by_key(|&i| if increase { q2[i] - q1[i] } else { q1[i] - q2[i] }).unwrap_or(0);
        if want_trap && abs_best == best && attempt < 500 {
            continue;
        }
        let answer = names[best].clone();
        let word = if increase { "increase" } else { "decrease" };
        let table = md_table(
            &["Item", "Q1 sales", "Q2 sales"],
            &(0..k).map(|i| vec![names[i].clone(), q1[i].to_string(), q2[i].to_string()]).collect::<Vec<_>>(),
        );
        let prompt = format!(
            "Café sales by quarter (units):\n\n{table}\n\nWhich item had the largest percentage {word} from Q1 to Q2 \
             (change relative to its Q1 sales)? Answer with the item name only."
        );
        return Ok(exact(
            prompt,
            answer.clone(),
            [
                step(
                    join(
                        &(0..k)
                            .map(|i| format!("{} {} − {} = {}", names[i], q2[i], q1[i], q2[i] - q1[i]))
                            .collect::<Vec<_>>(),
                        "; ",
                    ),
                    "changes",
                ),
                step(
                    join(
                        &(0..k)
                            .map(|i| format!("{} {} ÷ {} × 100 = {}%", names[i], q2[i] - q1[i], q1[i], trim(pct[i], 2)))
                            .collect::<Vec<_>>(),
                        "; ",
                    ),
                    "percentages",
                ),
                step(
                    join(
                        &order.iter().map(|&i| format!("{} {}%", names[i], fixed(pct[i], 1))).collect::<Vec<_>>(),
                        ", ",
                    ),
                    format!("sorted by {word}"),
                ),
                step(
                    format!(
                        "Largest percentage {word}: {answer} ({}%){}.",
                        fixed(pct[best], 1),
                        if abs_best != best {
                            format!(
                                "; note {} has the largest absolute {word} but a smaller percentage",
                                names[abs_best]
                            )
                        } else {
                            String::new()
                        }
                    ),
                    answer.clone(),
                ),
                step(format!("Answer: {answer}."), answer.clone()),
            ],
        ));
    }
    unreachable!("the attempt loop only ends by returning")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::generators::{generate, task_seed};

    fn answer(skill_id: &str, index: usize) -> String {
        let catalog = Catalog::builtin().unwrap();
        let skill = catalog.skills().iter().find(|s| s.id == skill_id).unwrap();
        generate(skill, task_seed(1, skill_id, index)).unwrap().answer
    }

    #[test]
    fn helpers() {
        assert_eq!(cents(123456), "1234.56");
        assert_eq!(cents(-1778), "-17.78");
        assert_eq!(cents(5), "0.05");
        assert_eq!(md_table(&["a", "b"], &[vec!["1".into(), "2".into()]]), "| a | b |\n|---|---|\n| 1 | 2 |");
    }

    /// Answers re-derived by hand from the printed tables (and cross-checked in Python).
    #[test]
    fn hand_checked_tasks() {
        // Billable 20.9 kg (volumetric 8.624) → band over 15 up to 25 kg: 27.50 × 150% = 41.25.
        assert_eq!(answer("table-shipping-rate", 0), "41.25");
        // Atlas 668 + 307 + 792 = 1767 ties Delta 951 + 816 = 1767; alphabetical → Atlas.
        assert_eq!(answer("table-group-extreme", 0), "Atlas");
        // Mateo 38; six players above (40, 41, 42, 46, 40, 44) → rank 7, shared with Ravi.
        assert_eq!(answer("table-competition-rank", 0), "7");
        // 137.20 − 129.70 + 214.50 − 118.59 + 183.25 − 304.44 = −17.78 on 2025-11-08.
        assert_eq!(answer("table-first-negative-balance", 0), "2025-11-08");
        // Harbor minutes sorted 20, 36, 49, 50, 56, 72 → (49 + 50) ÷ 2 = 49.5.
        assert_eq!(answer("table-filtered-median", 0), "49.5");
    }
}
