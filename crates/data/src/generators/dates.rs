//! Generators for the `dates` domain.
//!
//! A small proleptic-Gregorian civil-date helper (days since 1970-01-01) lives at the top;
//! every kind works on day numbers internally and writes dates as `YYYY-MM-DD`.

use super::calendar::{MONTHS, WEEKDAYS, civil_from_days, days_from_civil, is_leap, month_len, weekday, year_len, ymd};
use super::fmt::{cents, fixed, hhmm, list_or, md_table, trim};
use super::params::{kinds, params};
use super::{Gen, Kind, criterion, exact, free_form, step};
use crate::error::Result;
use crate::task::Generated;

const PEOPLE: &[&str] = &[
    "Amara", "Bjorn", "Carmen", "Dmitri", "Esme", "Femi", "Gustavo", "Hana", "Ines", "Jonah", "Keiko", "Lars", "Mei",
    "Nadia", "Oscar", "Priya", "Quinn", "Rafael", "Sana", "Tomas",
];

pub(crate) const KINDS: &[Kind] = kinds![
    "date_add_days" => add_days(AddDaysParams),
    "date_business_days" => business_days(BusinessDaysParams),
    "date_timezone_convert" => timezone_convert(TimezoneConvertParams),
    "date_iso_week" => iso_week(IsoWeekParams),
    "date_age_years" => age_years(AgeYearsParams),
    "date_weekday_from_anchor" => weekday_from_anchor(WeekdayFromAnchorParams),
    "date_shift_hours" => shift_hours(ShiftHoursParams),
    "date_plan_proration" => plan_proration(PlanProrationParams),
    "date_shift_rotation" => shift_rotation(ShiftRotationParams),
    "date_notice_deadline" => notice_deadline(NoticeDeadlineParams),
];

/// `March 2026`.
fn month_name(y: i64, m: i64) -> String {
    format!("{} {y}", MONTHS[(m - 1) as usize])
}

/// `Feb 2028 (29)`: a month with its length, as written in worked steps.
fn month_with_len(y: i64, m: i64) -> String {
    format!("{} {y} ({})", &MONTHS[(m - 1) as usize][..3], month_len(y, m))
}

/// Day of the year, 1-based.
fn ordinal(z: i64) -> i64 {
    let (y, _, _) = civil_from_days(z);
    z - days_from_civil(y, 1, 1) + 1
}

/// Days in the months before month `m` of year `y`.
fn days_before_month(y: i64, m: i64) -> i64 {
    (1..m).map(|k| month_len(y, k)).sum()
}

fn random_day(g: &mut Gen, y_lo: i64, y_hi: i64) -> i64 {
    let a = days_from_civil(y_lo, 1, 1);
    let b = days_from_civil(y_hi.max(y_lo), 12, 31);
    g.range(a, b)
}

fn next_month(y: i64, m: i64) -> (i64, i64) {
    if m == 12 { (y + 1, 1) } else { (y, m + 1) }
}

fn prev_month(y: i64, m: i64) -> (i64, i64) {
    if m == 1 { (y - 1, 12) } else { (y, m - 1) }
}

/// Step 3 of [`month_walk`] (work, value): the whole months passed (`log`) or, when none is,
/// why: the `r` days left fit in month `m` of `y` (`fits` is `≤` going forward, `<` going back).
fn months_passed(log: &[String], r: i64, fits: &str, y: i64, m: i64) -> (String, String) {
    if log.is_empty() {
        (
            format!("{r} {fits} {} days in {}, so no whole month is passed.", month_len(y, m), month_name(y, m)),
            "0 months".to_string(),
        )
    } else {
        (format!("Pass whole months: {}.", log.join("; ")), format!("{} months, {r} days left", log.len()))
    }
}

/// Adds (or subtracts) `n` days the way the procedure does by hand: leave the start month,
/// pass whole months, place the remainder. Returns the worked text of those three moves
/// (procedure steps 2–4, value pairs) and the resulting day number.
fn month_walk(start: i64, n: i64, forward: bool) -> ([(String, String); 3], i64) {
    let (y, m, d) = civil_from_days(start);
    let len = month_len(y, m);
    if forward {
        let left = len - d;
        if n <= left {
            let end = start + n;
            return (
                [
                    (
                        format!(
                            "{} has {len} days; from day {d} to its last day is {len} − {d} = {left} days; N = {n} ≤ \
                             {left}, so the date stays in this month.",
                            month_name(y, m)
                        ),
                        format!("stay in {}", month_name(y, m)),
                    ),
                    ("No whole months to pass.".into(), "0 months".into()),
                    (format!("Day {d} + {n} = {}.", d + n), format!("day {}", d + n)),
                ],
                end,
            );
        }
        let mut r = n - left;
        let s2 = (
            format!(
                "{} has {len} days; reaching its last day uses {len} − {d} = {left} days; {n} − {left} = {r} days \
                 left.",
                month_name(y, m)
            ),
            format!("{r} days left"),
        );
        let (mut cy, mut cm) = next_month(y, m);
        let mut log = Vec::new();
        while r > month_len(cy, cm) {
            r -= month_len(cy, cm);
            log.push(format!("{} → {r} left", month_with_len(cy, cm)));
            (cy, cm) = next_month(cy, cm);
        }
        let s3 = months_passed(&log, r, "≤", cy, cm);
        let s4 = (format!("The remaining {r} days land in {}: day {r}.", month_name(cy, cm)), format!("day {r}"));
        ([s2, s3, s4], days_from_civil(cy, cm, r))
    } else {
        if n < d {
            return (
                [
                    (
                        format!("N = {n} is less than the day {d}, so the date stays in {}.", month_name(y, m)),
                        format!("stay in {}", month_name(y, m)),
                    ),
                    ("No whole months to pass.".into(), "0 months".into()),
                    (format!("Day {d} − {n} = {}.", d - n), format!("day {}", d - n)),
                ],
                start - n,
            );
        }
        let mut r = n - d;
        let (mut cy, mut cm) = prev_month(y, m);
        let s2 = (
            format!(
                "Going back {d} days from day {d} reaches the last day of {}; {n} − {d} = {r} days left.",
                month_with_len(cy, cm)
            ),
            format!("{r} days left"),
        );
        let mut log = Vec::new();
        while r >= month_len(cy, cm) {
            r -= month_len(cy, cm);
            log.push(format!("back through {} → {r} left", month_with_len(cy, cm)));
            (cy, cm) = prev_month(cy, cm);
        }
        let s3 = months_passed(&log, r, "<", cy, cm);
        let len = month_len(cy, cm);
        let s4 = (
            format!("Back {r} days from the last day of {}: {len} − {r} = {}.", month_name(cy, cm), len - r),
            format!("day {}", len - r),
        );
        ([s2, s3, s4], days_from_civil(cy, cm, len - r))
    }
}

params! {
    /// Parameters of `date_add_days`.
    struct AddDaysParams {
        /// First year a date is drawn from.
        year_min: i64 = 2019,
        /// Last year a date is drawn from.
        year_max: i64 = 2031,
        /// Fewest days added or subtracted.
        min_days: i64 = 20,
        /// Most days added or subtracted.
        max_days: i64 = 420,
    }
}

/// A date plus or minus N days, across month and year ends and leap days.
fn add_days(g: &mut Gen, p: &AddDaysParams) -> Result<Generated> {
    let (y_lo, y_hi) = (p.year_min, p.year_max);
    let (n_lo, n_hi) = (p.min_days, p.max_days);
    let n = g.range(n_lo, n_hi);
    let forward = g.chance(0.6);
    // Some draws cross 2100, a century year that is not a leap year.
    let start = if g.chance(0.12) {
        random_day(g, 2099, 2100)
    } else if g.chance(0.3) && n > 1 {
        // Force the span across a 29 February.
        let leaps: Vec<i64> = (y_lo..=y_hi.max(y_lo)).filter(|y| is_leap(*y)).collect();
        let leap_day = days_from_civil(*g.pick(if leaps.is_empty() { &[2024][..] } else { &leaps[..] }), 2, 29);
        if forward { leap_day - g.range(1, n) } else { leap_day + g.range(0, n - 1) }
    } else {
        random_day(g, y_lo, y_hi)
    };
    let s = ymd(start);
    let item =
        g.pick(&["software licence", "warranty", "lease", "visa", "trial membership", "insurance cover"]).to_string();
    let prompt = match (forward, g.range(0, 1)) {
        (true, 0) => format!("A {item} starts on {s} and ends exactly {n} days later. On what date does it end?"),
        (true, _) => format!("What date is {n} days after {s}?"),
        (false, 0) => format!("A {item} ended on {s}, exactly {n} days after it started. On what date did it start?"),
        (false, _) => format!("What date is {n} days before {s}?"),
    };
    let prompt = format!("{prompt} Use the Gregorian calendar. Give the date as YYYY-MM-DD.");
    let ([s2, s3, s4], end) = month_walk(start, n, forward);
    let answer = ymd(end);
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!("Start {s}, N = {n} days, moving {}.", if forward { "forward" } else { "backward" }),
                format!("{s} {} {n}", if forward { "+" } else { "−" }),
            ),
            step(s2.0, s2.1),
            step(s3.0, s3.1),
            step(s4.0, s4.1),
            step(format!("The date is {answer}."), answer),
        ],
    ))
}

params! {
    /// Parameters of `date_business_days`.
    struct BusinessDaysParams {
        /// First year a date is drawn from.
        year_min: i64 = 2024,
        /// Last year a date is drawn from.
        year_max: i64 = 2030,
        /// Fewest business days counted.
        min_days: i64 = 5,
        /// Most business days counted.
        max_days: i64 = 18,
    }
}

/// The Nth business day after a date, skipping weekends and listed holidays.
fn business_days(g: &mut Gen, p: &BusinessDaysParams) -> Result<Generated> {
    let (y_lo, y_hi) = (p.year_min, p.year_max);
    let (n_lo, n_hi) = (p.min_days, p.max_days);
    let mut start = random_day(g, y_lo, y_hi);
    if weekday(start) >= 5 {
        start += 7 - weekday(start) as i64;
    }
    let n = g.range(n_lo, n_hi);
    let approx_span = n * 7 / 5 + 2;
    let names = ["Founders' Day", "Harvest Day", "Civic Holiday", "Spring Festival", "Remembrance Day", "Unity Day"];
    let k = g.range(1, 3) as usize;
    let mut holidays: Vec<i64> = Vec::new();
    while holidays.len() < k {
        let h = start + g.range(1, approx_span);
        if !holidays.contains(&h) {
            holidays.push(h);
        }
    }
    if g.chance(0.3) {
        // One holiday that falls on a weekend inside the span: it removes nothing extra.
        let mut h = start + g.range(1, approx_span);
        while weekday(h) < 5 {
            h += 1;
        }
        if !holidays.contains(&h) {
            holidays.push(h);
        }
    }
    if g.chance(0.25) {
        let h = start - g.range(1, 10);
        holidays.push(h);
    }
    holidays.sort_unstable();
    let mut count = 0;
    let mut day = start;
    let mut weekends = Vec::new();
    let mut skipped = Vec::new();
    let mut counted = Vec::new();
    while count < n {
        day += 1;
        if weekday(day) >= 5 {
            weekends.push(format!("{} {}", &WEEKDAYS[weekday(day)][..3], &ymd(day)[5..]));
        } else if holidays.contains(&day) {
            skipped.push(ymd(day));
        } else {
            count += 1;
            counted.push(format!("{} ({count})", &ymd(day)[5..]));
        }
    }
    let answer = ymd(day);
    let ignored: Vec<String> = holidays.iter().filter(|h| !skipped.contains(&ymd(**h))).map(|h| ymd(*h)).collect();
    let company =
        g.pick(&["Northwind Supply", "Larkspur Legal", "Quayside Print", "Tessellate Labs", "Orchard Freight"]);
    let what = g.pick(&[
        ("an order", "ships orders on the", "order arrives"),
        ("a claim", "settles claims by the", "claim is filed"),
        ("a request", "answers requests by the", "request is received"),
    ]);
    let holiday_list: Vec<String> =
        holidays.iter().enumerate().map(|(i, h)| format!("{} ({})", ymd(*h), names[i % names.len()])).collect();
    let prompt = format!(
        "{company} {} {n}th business day after the day the {}. It receives {} on {} (a {}). Business days are Monday \
         to Friday, except these company holidays: {}. The day of receipt does not count; business day 1 is the first \
         business day after it. On what date is the {n}th business day? Give the date as YYYY-MM-DD.",
        what.1,
        what.2,
        what.0,
        ymd(start),
        WEEKDAYS[weekday(start)],
        holiday_list.join(", ")
    );
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!(
                    "Start {} is a {}; counting begins on {}.",
                    ymd(start),
                    WEEKDAYS[weekday(start)],
                    ymd(start + 1)
                ),
                ymd(start + 1),
            ),
            step(
                format!(
                    "Walking forward from {} to {}, the weekend days are: {}.",
                    ymd(start + 1),
                    answer,
                    list_or(&weekends, "none")
                ),
                format!("{} weekend days", weekends.len()),
            ),
            step(
                format!(
                    "Holidays on weekdays in that span: {}; holidays that change nothing (weekend or outside the \
                     span): {}.",
                    list_or(&skipped, "none"),
                    list_or(&ignored, "none")
                ),
                format!("{} holidays skipped", skipped.len()),
            ),
            step(format!("Business days: {}.", counted.join(", ")), format!("{n} business days")),
            step(format!("Business day {n} is {answer}."), answer),
        ],
    ))
}

/// `UTC+5:30`, `UTC-4:00`.
fn utc_offset(min: i64) -> String {
    let sign = if min < 0 { '-' } else { '+' };
    format!("UTC{sign}{}:{:02}", min.abs() / 60, min.abs() % 60)
}

/// `2026-03-09 07:05` from minutes since the epoch.
fn stamp(t: i64) -> String {
    format!("{} {}", ymd(t.div_euclid(1440)), hhmm(t))
}

params! {
    /// Parameters of `date_timezone_convert`.
    struct TimezoneConvertParams {
        /// First year a date is drawn from.
        year_min: i64 = 2025,
        /// Last year a date is drawn from.
        year_max: i64 = 2030,
    }
}

/// Converts a meeting time from a fixed-offset city to a city with a stated DST period.
fn timezone_convert(g: &mut Gen, p: &TimezoneConvertParams) -> Result<Generated> {
    let year = g.range(p.year_min, p.year_max);
    let fixed_cities = ["Kestrel Bay", "Port Amsel", "Vantor", "Lumen Harbor", "Ostrava Nova"];
    let dst_cities = ["Norhaven", "Brightwater", "Caldera Springs", "Elmsford", "Westmarch"];
    let a_city = g.pick(&fixed_cities).to_string();
    let b_city = g.pick(&dst_cities).to_string();
    let a_off = *g.pick(&[330i64, 345, 540, 480, 600, 180, -180, -420, 570, 780]);
    let b_std = *g.pick(&[-300i64, -480, -240, 60, 0, 120, -360, -210]);
    let dst_start = days_from_civil(year, 3, g.range(8, 31)) * 1440 + g.range(0, 6) * 60;
    let dst_end = days_from_civil(year, 10, 1) * 1440 + g.range(19, 37) * 1440 + g.range(0, 6) * 60;
    // Event local time in A: often within a couple of days of a DST switch.
    let event_local = loop {
        let base = match g.range(0, 2) {
            0 => dst_start + a_off + g.range(-3 * 1440, 3 * 1440),
            1 => dst_end + a_off + g.range(-3 * 1440, 3 * 1440),
            _ => days_from_civil(year, 1, 1) * 1440 + g.range(0, 364) * 1440 + g.range(0, 1439),
        };
        let t = base - base.rem_euclid(15);
        let utc = t - a_off;
        if utc != dst_start && utc != dst_end {
            break t;
        }
    };
    let utc = event_local - a_off;
    let in_dst = utc >= dst_start && utc < dst_end;
    let b_off = if in_dst { b_std + 60 } else { b_std };
    let b_local = utc + b_off;
    let answer = stamp(b_local);
    let what = g.pick(&["A webinar", "A product launch call", "A board meeting", "An online exam", "A live stream"]);
    let prompt = format!(
        "{what} starts at {} local time in {a_city} ({}, no daylight saving time). A participant joins from {b_city}, \
         whose standard time is {}; {b_city} uses daylight saving time ({}) from {} UTC until {} UTC (the switch-on \
         moment counts as daylight time, the switch-off moment as standard time). What is the local date and time in \
         {b_city} when it starts? Give the answer as YYYY-MM-DD HH:MM (24-hour clock, two-digit hour and minute).",
        stamp(event_local),
        utc_offset(a_off),
        utc_offset(b_std),
        utc_offset(b_std + 60),
        stamp(dst_start),
        stamp(dst_end)
    );
    let hm = |m: i64| format!("{}:{:02}", m.abs() / 60, m.abs() % 60);
    let a_sign = if a_off >= 0 { "−" } else { "+" };
    let b_sign = if b_off >= 0 { "+" } else { "−" };
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!("Event: {} in {a_city}, offset {}.", stamp(event_local), utc_offset(a_off)),
                utc_offset(a_off),
            ),
            step(
                format!("UTC = local − offset = {} {a_sign} {} = {} UTC.", stamp(event_local), hm(a_off), stamp(utc)),
                format!("{} UTC", stamp(utc)),
            ),
            step(
                format!(
                    "{b_city} daylight time runs {} to {} UTC; {} UTC is {} that period, so the offset is {}.",
                    stamp(dst_start),
                    stamp(dst_end),
                    stamp(utc),
                    if in_dst { "inside" } else { "outside" },
                    utc_offset(b_off)
                ),
                utc_offset(b_off),
            ),
            step(
                format!("{b_city} local = UTC + offset = {} {b_sign} {} = {answer}.", stamp(utc), hm(b_off)),
                answer.clone(),
            ),
            step(format!("Local start in {b_city}: {answer}."), answer.clone()),
        ],
    ))
}

/// ISO-8601 week of a day number, computed the independent way (the week's Thursday).
fn iso_week_of(z: i64) -> (i64, i64) {
    let thursday = z - weekday(z) as i64 + 3;
    let (ty, _, _) = civil_from_days(thursday);
    (ty, (thursday - days_from_civil(ty, 1, 1)) / 7 + 1)
}

fn has_53_weeks(y: i64) -> bool {
    let jan1 = weekday(days_from_civil(y, 1, 1));
    jan1 == 3 || (is_leap(y) && jan1 == 2)
}

params! {
    /// Parameters of `date_iso_week`.
    struct IsoWeekParams {
        /// First year a date is drawn from.
        year_min: i64 = 2015,
        /// Last year a date is drawn from.
        year_max: i64 = 2036,
    }
}

/// The ISO-8601 week rules a task states before its dates.
const ISO_WEEK_RULES: &str = "\
In the ISO-8601 week calendar, weeks run Monday to Sunday and week 1 of a year is the week that contains that year's \
first Thursday; days before it belong to the last week of the previous year, and late-December days can belong to \
week 1 of the next year.";

/// ISO week number by the ordinal formula, with the week-0 and week-53 corrections.
fn iso_week(g: &mut Gen, p: &IsoWeekParams) -> Result<Generated> {
    let y = g.range(p.year_min, p.year_max);
    let z = match g.range(0, 9) {
        0..=3 => days_from_civil(y, 1, g.range(1, 4)),
        4..=6 => days_from_civil(y, 12, g.range(28, 31)),
        _ => days_from_civil(y, 1, 1) + g.range(0, year_len(y) - 1),
    };
    let date = ymd(z);
    let (_, m, d) = civil_from_days(z);
    let jan1 = weekday(days_from_civil(y, 1, 1));
    let jan1_prev = weekday(days_from_civil(y - 1, 1, 1));
    let ord = ordinal(z);
    let wd = weekday(z) as i64 + 1;
    let w = (ord - wd + 10).div_euclid(7);
    let (iy, iw, s4) = if w == 0 {
        let weeks = if has_53_weeks(y - 1) { 53 } else { 52 };
        (
            y - 1,
            weeks,
            format!(
                "w = 0, so the date is in the last week of {}: it has {weeks} weeks (1 January {} was a {}, {} leap \
                 year).",
                y - 1,
                y - 1,
                WEEKDAYS[jan1_prev],
                if is_leap(y - 1) { "a" } else { "not a" }
            ),
        )
    } else if w == 53 && !has_53_weeks(y) {
        (
            y + 1,
            1,
            format!(
                "w = 53, but {y} has only 52 weeks (1 January is a {}, {} leap year), so the date is in week 1 of {}.",
                WEEKDAYS[jan1],
                if is_leap(y) { "a" } else { "not a" },
                y + 1
            ),
        )
    } else if w == 53 {
        (y, 53, format!("w = 53 and {y} has 53 weeks (1 January is a {}), so it stays week 53.", WEEKDAYS[jan1]))
    } else {
        (y, w, format!("w = {w} is between 1 and 52: no correction."))
    };
    debug_assert_eq!((iy, iw), iso_week_of(z));
    let answer = format!("{iy}-W{iw:02}");
    let prompt = format!(
        "{ISO_WEEK_RULES} 1 January {y} is a {}; 1 January {} was a {}. Which ISO week does {date} belong to? Give \
         the answer as YYYY-Www, using the ISO week-year and a two-digit week number (for example 2019-W05).",
        WEEKDAYS[jan1],
        y - 1,
        WEEKDAYS[jan1_prev]
    );
    let before: Vec<String> = (1..m).map(|k| month_len(y, k).to_string()).collect();
    let ord_work = if before.is_empty() {
        format!("{date} is day {d} of January: ordinal {ord}.")
    } else {
        format!(
            "Months before {}: {} = {}; + {d} = ordinal {ord}.",
            MONTHS[(m - 1) as usize],
            before.join(" + "),
            days_before_month(y, m)
        )
    };
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(ord_work, format!("ordinal {ord}")),
            step(
                format!(
                    "1 January is a {} ({}); weekday = ((({} − 1) + ({ord} − 1)) mod 7) + 1 = {wd} ({}).",
                    WEEKDAYS[jan1],
                    jan1 + 1,
                    jan1 + 1,
                    WEEKDAYS[(wd - 1) as usize]
                ),
                format!("{wd} ({})", WEEKDAYS[(wd - 1) as usize]),
            ),
            step(format!("w = ⌊({ord} − {wd} + 10) ÷ 7⌋ = ⌊{} ÷ 7⌋ = {w}.", ord - wd + 10), format!("w = {w}")),
            step(s4, format!("week {iw} of {iy}")),
            step(format!("ISO week: {answer}."), answer.clone()),
        ],
    ))
}

params! {
    /// Parameters of `date_age_years`.
    struct AgeYearsParams {
        /// First year of the reference date.
        year_min: i64 = 2021,
        /// Last year of the reference date.
        year_max: i64 = 2032,
    }
}

/// Age in completed years on a date, including 29 February birthdays.
fn age_years(g: &mut Gen, p: &AgeYearsParams) -> Result<Generated> {
    let ref_year = g.range(p.year_min, p.year_max);
    let age_target = g.range(3, 85);
    let by = ref_year - age_target;
    let case = g.range(0, 9);
    let (bm, bd) = if case <= 1 {
        // 29 February birthdays: move to a leap birth year.
        (2, 29)
    } else {
        let bm = g.range(1, 12);
        (bm, g.range(1, month_len(by, bm)))
    };
    let by = if (bm, bd) == (2, 29) {
        let mut y = by;
        while !is_leap(y) {
            y -= 1;
        }
        y
    } else {
        by
    };
    let birth = days_from_civil(by, bm, bd);
    // The birthday as observed in the reference year.
    let (obs_m, obs_d) = if (bm, bd) == (2, 29) && !is_leap(ref_year) { (3, 1) } else { (bm, bd) };
    let bday = days_from_civil(ref_year, obs_m, obs_d);
    let reference = match case {
        0 | 1 => bday + g.range(-1, 1),
        2..=4 => bday,
        5 | 6 => bday - g.range(1, 3),
        _ => days_from_civil(ref_year, 1, 1) + g.range(0, year_len(ref_year) - 1),
    };
    let (ry, rm, rd) = civil_from_days(reference);
    let diff = ry - by;
    let before = (rm, rd) < (obs_m, obs_d);
    let age = if before { diff - 1 } else { diff };
    let name = g.pick(PEOPLE).to_string();
    let ctx = g.pick(&[
        "The club's age categories use completed years.",
        "The insurer records every policyholder's age in completed years.",
        "A pension form asks for the applicant's age in completed years.",
        "A museum prices tickets by age in completed years.",
    ]);
    let prompt = format!(
        "{ctx} {name} was born on {}. How old is {name}, in completed years, on {}? A person reaches a new age on the \
         birthday itself, and someone born on 29 February has the birthday on 1 March in years that are not leap \
         years. Answer with a whole number.",
        ymd(birth),
        ymd(reference)
    );
    let obs_text = if (bm, bd) == (2, 29) && !is_leap(ry) {
        format!("{ry} is not a leap year, so the 29 February birthday falls on {}.", ymd(bday))
    } else {
        format!("The birthday in {ry} is {}.", ymd(bday))
    };
    Ok(exact(
        prompt,
        age.to_string(),
        [
            step(format!("Born {by}-{bm:02}-{bd:02}; reference date {ry}-{rm:02}-{rd:02}."), format!("{by} → {ry}")),
            step(format!("{ry} − {by} = {diff}."), diff.to_string()),
            step(obs_text, ymd(bday)),
            step(
                if before {
                    format!(
                        "{} is before the birthday {}, so subtract 1: {diff} − 1 = {age}.",
                        ymd(reference),
                        ymd(bday)
                    )
                } else {
                    format!("{} is on or after the birthday {}, so no subtraction.", ymd(reference), ymd(bday))
                },
                age.to_string(),
            ),
            step(format!("{name} is {age}."), age.to_string()),
        ],
    ))
}

params! {
    /// Parameters of `date_weekday_from_anchor`.
    struct WeekdayFromAnchorParams {
        /// First year of the anchor date.
        year_min: i64 = 2018,
        /// Last year of the anchor date.
        year_max: i64 = 2032,
        /// Most days between the anchor and the asked date.
        max_gap_days: i64 = 1500,
    }
}

/// The weekday of a date from an anchor date whose weekday is given.
fn weekday_from_anchor(g: &mut Gen, p: &WeekdayFromAnchorParams) -> Result<Generated> {
    let anchor = random_day(g, p.year_min, p.year_max);
    let max_gap = p.max_gap_days;
    let gap = g.range(20, max_gap) * if g.chance(0.3) { -1 } else { 1 };
    let target = anchor + gap;
    let (ay, am, ad) = civil_from_days(anchor);
    let (ty, tm, td) = civil_from_days(target);
    let (oa, ot) = (ordinal(anchor), ordinal(target));
    let years_work = if ty > ay {
        let lens: Vec<String> = (ay..ty).map(|y| format!("{} ({y})", year_len(y))).collect();
        (lens.join(" + "), (ay..ty).map(year_len).sum::<i64>())
    } else if ty < ay {
        let lens: Vec<String> = (ty..ay).map(|y| format!("{} ({y})", year_len(y))).collect();
        (format!("−({})", lens.join(" + ")), -(ty..ay).map(year_len).sum::<i64>())
    } else {
        ("same year: 0".to_string(), 0)
    };
    let diff = years_work.1 + ot - oa;
    debug_assert_eq!(diff, gap);
    let r = diff.rem_euclid(7);
    let answer = WEEKDAYS[(weekday(anchor) + r as usize) % 7].to_string();
    debug_assert_eq!(answer, WEEKDAYS[weekday(target)]);
    let ord_text = |y: i64, m: i64, d: i64, o: i64| {
        if m == 1 {
            format!("{y}-{m:02}-{d:02} is day {o}")
        } else {
            format!(
                "{y}-{m:02}-{d:02}: {} days before {} + {d} = day {o}",
                days_before_month(y, m),
                MONTHS[(m - 1) as usize]
            )
        }
    };
    let prompt = format!(
        "{} was a {}. Using the Gregorian calendar (leap years: divisible by 4, except century years not divisible by \
         400), what day of the week is {}? Answer with the weekday name only.",
        ymd(anchor),
        WEEKDAYS[weekday(anchor)],
        ymd(target)
    );
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(format!("{}; {}.", ord_text(ay, am, ad, oa), ord_text(ty, tm, td, ot)), format!("{oa} and {ot}")),
            step(
                format!("Whole years from {ay} to {ty}: {} = {}.", years_work.0, years_work.1),
                years_work.1.to_string(),
            ),
            step(format!("Difference = {} + {ot} − {oa} = {diff} days.", years_work.1), format!("{diff} days")),
            step(format!("{diff} mod 7 = {r} ({diff} = 7 × {} + {r}).", diff.div_euclid(7)), r.to_string()),
            step(format!("{} + {r} weekdays = {answer}.", WEEKDAYS[weekday(anchor)]), answer.clone()),
        ],
    ))
}

params! {
    /// Parameters of `date_shift_hours`.
    struct ShiftHoursParams {
        /// Most shifts in the week (at least 3).
        max_shifts: i64 = 5,
    }
}

/// Total paid hours over a week of shifts, some crossing midnight.
fn shift_hours(g: &mut Gen, p: &ShiftHoursParams) -> Result<Generated> {
    let n = g.range(3, p.max_shifts.max(3)) as usize;
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let first = g.range(0, (7 - n) as i64) as usize;
    let mut rows = Vec::new();
    let mut convert = Vec::new();
    let mut crossings = Vec::new();
    let mut lengths = Vec::new();
    let mut total = 0;
    for i in 0..n {
        let night = g.chance(0.45);
        let start = if night { g.range(17 * 4, 23 * 4 + 3) * 15 } else { g.range(5 * 12, 14 * 12) * 5 };
        let len = g.range(4 * 12, 12 * 12) * 5;
        let brk = if len < 6 * 60 { *g.pick(&[0i64, 15]) } else { *g.pick(&[20i64, 30, 45, 60]) };
        let end = (start + len) % 1440;
        let cross = end <= start;
        let day = days[first + i];
        rows.push(vec![day.to_string(), hhmm(start), hhmm(end), format!("{brk} min")]);
        convert.push(format!("{day} {} → {start}, {} → {end}", hhmm(start), hhmm(end)));
        let end_adj = if cross { end + 1440 } else { end };
        if cross {
            crossings.push(format!("{day}: {end} + 1440 = {end_adj}"));
        }
        let paid = end_adj - start - brk;
        lengths.push(format!("{day}: {end_adj} − {start} − {brk} = {paid}"));
        total += paid;
    }
    let name = g.pick(PEOPLE).to_string();
    let hours = total as f64 / 60.0;
    let answer = fixed(hours, 2);
    let prompt = format!(
        "{name}'s timesheet for the week:\n\n{}\n\nA shift whose end time is at or before its start time finishes on the next day. \
         Unpaid breaks are not paid. How many paid hours did {name} work in total? Give the answer in hours as a \
         decimal number rounded to 2 decimal places.",
        md_table(&["Day", "Start", "End", "Unpaid break"], &rows)
    );
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(format!("Minutes after midnight: {}.", convert.join("; ")), format!("{n} shifts")),
            step(
                if crossings.is_empty() {
                    "No shift ends at or before its start: none crosses midnight.".to_string()
                } else {
                    format!("Crossing midnight: {}.", crossings.join("; "))
                },
                format!("{} cross midnight", crossings.len()),
            ),
            step(format!("Paid minutes: {}.", lengths.join("; ")), format!("{} shift lengths", lengths.len())),
            step(
                format!(
                    "Total = {} = {total} minutes.",
                    lengths.iter().map(|l| l.rsplit(' ').next().unwrap_or("")).collect::<Vec<_>>().join(" + ")
                ),
                format!("{total} min"),
            ),
            step(format!("{total} ÷ 60 = {} h → {answer}.", trim(hours, 4)), answer.clone()),
        ],
    ))
}

params! {
    /// Parameters of `date_plan_proration`.
    struct PlanProrationParams {
        /// First year a date is drawn from.
        year_min: i64 = 2023,
        /// Last year a date is drawn from.
        year_max: i64 = 2030,
    }
}

/// A mid-month plan change billed by day: old plan before the switch day, new plan from it.
fn plan_proration(g: &mut Gen, p: &PlanProrationParams) -> Result<Generated> {
    let (lo, hi) = (p.year_min, p.year_max);
    let (y, m, switch, p1, p2, num, dim) = loop {
        let y = g.range(lo, hi);
        let m = if g.chance(0.35) { 2 } else { g.range(1, 12) };
        let dim = month_len(y, m);
        let switch = g.range(2, dim);
        let p1 = g.range(8, 60) * 100 + *g.pick(&[0i64, 0, 50, 99]);
        let p2 = loop {
            let p = g.range(8, 90) * 100 + *g.pick(&[0i64, 0, 50, 99]);
            if p != p1 {
                break p;
            }
        };
        let num = p1 * (switch - 1) + p2 * (dim - switch + 1);
        // Avoid totals exactly half a cent from two roundings.
        if 2 * (num % dim) != dim {
            break (y, m, switch, p1, p2, num, dim);
        }
    };
    let total = (2 * num + dim) / (2 * dim);
    let answer = cents(total);
    let old_days = switch - 1;
    let new_days = dim - switch + 1;
    let c1 = p1 as f64 * old_days as f64 / dim as f64 / 100.0;
    let c2 = p2 as f64 * new_days as f64 / dim as f64 / 100.0;
    let name = g.pick(PEOPLE).to_string();
    let plans = g.pick(&[("Basic", "Premium"), ("Starter", "Team"), ("Solo", "Family"), ("Standard", "Lite")]);
    let service = g.pick(&["streaming", "cloud storage", "gym", "phone", "software"]);
    let prompt = format!(
        "{name} pays {} per month for the {} {service} plan and switches to the {} plan ({} per month) with effect \
         from {}. The bill for {} is prorated by day: the old plan is charged for the days before the switch date, \
         the new plan from the switch date through the last day of the month, each as monthly price × days ÷ number \
         of days in that month. What is {name}'s total charge for {}? Round only the final total, to 2 decimal \
         places.",
        cents(p1),
        plans.0,
        plans.1,
        cents(p2),
        ymd(days_from_civil(y, m, switch)),
        month_name(y, m),
        month_name(y, m)
    );
    let leap_note = if m == 2 {
        if is_leap(y) { format!(" ({y} is a leap year)") } else { format!(" ({y} is not a leap year)") }
    } else {
        String::new()
    };
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(format!("{} has {dim} days{leap_note}.", month_name(y, m)), format!("{dim} days")),
            step(
                format!(
                    "Old plan: days 1–{} = {old_days} days; new plan: days {switch}–{dim} = {dim} − {switch} + 1 = \
                     {new_days} days.",
                    switch - 1
                ),
                format!("{old_days} + {new_days}"),
            ),
            step(format!("Old plan: {} × {old_days} ÷ {dim} = {}.", cents(p1), trim(c1, 4)), trim(c1, 4)),
            step(format!("New plan: {} × {new_days} ÷ {dim} = {}.", cents(p2), trim(c2, 4)), trim(c2, 4)),
            step(
                format!("Total = {} + {} = {} → {answer}.", trim(c1, 4), trim(c2, 4), trim(c1 + c2, 4)),
                answer.clone(),
            ),
        ],
    ))
}

/// Days from `a` to `b` (`a <= b`) written the by-hand way: rest of the start month, whole
/// months, days into the end month.
fn span_work(a: i64, b: i64) -> String {
    let (ay, am, ad) = civil_from_days(a);
    let (by, bm, bd) = civil_from_days(b);
    if (ay, am) == (by, bm) {
        return format!("same month: {bd} − {ad} = {}", b - a);
    }
    let rest = month_len(ay, am) - ad;
    let mut parts = vec![format!("rest of {} {} − {ad} = {rest}", month_name(ay, am), month_len(ay, am))];
    let (mut y, mut m) = next_month(ay, am);
    let mut months = Vec::new();
    while (y, m) != (by, bm) {
        months.push(month_with_len(y, m));
        (y, m) = next_month(y, m);
    }
    if !months.is_empty() {
        let sum: i64 = {
            let (mut y, mut m) = next_month(ay, am);
            let mut s = 0;
            while (y, m) != (by, bm) {
                s += month_len(y, m);
                (y, m) = next_month(y, m);
            }
            s
        };
        parts.push(format!("whole months {} = {sum}", months.join(" + ")));
    }
    parts.push(format!("{bd} days into {}", month_name(by, bm)));
    format!("{}; total {}", parts.join("; "), b - a)
}

params! {
    /// Parameters of `date_shift_rotation`.
    struct ShiftRotationParams {
        /// First year of the rota's start date.
        year_min: i64 = 2024,
        /// Last year of the rota's start date.
        year_max: i64 = 2030,
        /// Most days between the rota's start and the asked date.
        max_gap_days: i64 = 400,
    }
}

/// Which shift of a repeating rota falls on a date.
fn shift_rotation(g: &mut Gen, p: &ShiftRotationParams) -> Result<Generated> {
    let (lo, hi) = (p.year_min, p.year_max);
    let labels =
        g.pick(&[["Early", "Late", "Night", "Off"], ["Day", "Swing", "Night", "Off"], ["A", "B", "C", "Rest"]]);
    let mut pattern: Vec<&str> = Vec::new();
    for (i, lab) in labels.iter().enumerate() {
        let k = if i == 3 { g.range(2, 4) } else { g.range(if i == 2 { 0 } else { 1 }, 3) };
        pattern.extend(std::iter::repeat_n(*lab, k as usize));
    }
    let l = pattern.len() as i64;
    let anchor = random_day(g, lo, hi);
    let max_gap = p.max_gap_days;
    let gap = if g.chance(0.2) { l * g.range(2, max_gap / l) } else { g.range(15, max_gap) };
    let target = anchor + gap;
    let r = gap % l;
    let pos = r + 1;
    let answer = pattern[r as usize].to_string();
    let team = g.pick(&[
        "Crew 3 at the water plant",
        "The night desk team",
        "Ward B nurses",
        "The security squad",
        "Line 2 operators",
    ]);
    let pat_text: Vec<String> = pattern.iter().enumerate().map(|(i, s)| format!("day {} {s}", i + 1)).collect();
    let prompt = format!(
        "{team} follow a repeating {l}-day rota: {}. After day {l} the rota starts again at day 1. Rota day 1 fell on \
         {}. Which shift do they work on {}? Answer with the shift name only.",
        pat_text.join(", "),
        ymd(anchor),
        ymd(target)
    );
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!("Cycle of {l}: {}; position 1 = {}.", pat_text.join(", "), ymd(anchor)),
                format!("{l}-day cycle"),
            ),
            step(
                format!("Days from {} to {}: {}.", ymd(anchor), ymd(target), span_work(anchor, target)),
                format!("{gap} days"),
            ),
            step(format!("{gap} mod {l} = {r} ({gap} = {l} × {} + {r}).", gap / l), r.to_string()),
            step(format!("Position = {r} + 1 = {pos}."), format!("position {pos}")),
            step(format!("Rota position {pos} is {answer}."), answer.clone()),
        ],
    ))
}

params! {
    /// Parameters of `date_notice_deadline`.
    struct NoticeDeadlineParams {
        /// First year of the renewal date.
        year_min: i64 = 2025,
        /// Last year of the renewal date.
        year_max: i64 = 2030,
    }
}

/// Free-form: the last day to give notice before an automatic renewal, and whether it is
/// still possible from today.
fn notice_deadline(g: &mut Gen, p: &NoticeDeadlineParams) -> Result<Generated> {
    let renewal = random_day(g, p.year_min, p.year_max);
    let n = *g.pick(&[14i64, 21, 30, 45, 60, 90]);
    let ([s2, s3, s4], deadline) = month_walk(renewal, n, false);
    let k = match g.range(0, 9) {
        0 => 0,
        1..=2 => -g.range(1, 12),
        _ => g.range(1, 40),
    };
    let today = deadline - k;
    let what =
        g.pick(&["gym membership", "office lease", "software subscription", "insurance policy", "storage unit rental"]);
    let name = g.pick(PEOPLE).to_string();
    let prompt = format!(
        "{name}'s {what} renews automatically on {}. To stop the renewal, written notice must be given at least {n} \
         days before the renewal date, so the latest allowed notice date is the renewal date minus {n} days. Today is \
         {}. In 2–4 sentences, state the latest date notice can be given (as YYYY-MM-DD), how many days remain from \
         today until that date (or how many days ago it passed), and whether giving notice is still possible or too \
         late.",
        ymd(renewal),
        ymd(today)
    );
    let days = |x: i64| if x == 1 { "1 day".to_string() } else { format!("{x} days") };
    let deadline_s = ymd(deadline);
    let (left_text, verdict, verdict_key) = if k > 0 {
        (format!("{} − {} = {}", deadline_s, ymd(today), days(k)), "still possible", "still possible")
    } else if k == 0 {
        ("the deadline is today: 0 days".to_string(), "still possible (today is the last day)", "still possible")
    } else {
        (format!("the deadline was {} ago", days(-k)), "too late", "too late")
    };
    let answer = if k > 0 {
        format!(
            "The latest date to give notice is {deadline_s}, which is {n} days before the {} renewal. From today ({}) \
             there are {} left until that deadline. Giving notice is still possible, so {name} should send it by \
             {deadline_s}.",
            ymd(renewal),
            ymd(today),
            days(k)
        )
    } else if k == 0 {
        format!(
            "The latest date to give notice is {deadline_s}, {n} days before the {} renewal. That is today, so 0 days \
             remain. Giving notice is still possible, but only if it is given today.",
            ymd(renewal)
        )
    } else {
        format!(
            "The latest date to give notice was {deadline_s}, {n} days before the {} renewal. Today is {}, so the \
             deadline passed {} ago. It is too late to stop this renewal.",
            ymd(renewal),
            ymd(today),
            days(-k)
        )
    };
    let days_key = days(k.abs());
    Ok(free_form(
        prompt,
        answer,
        [
            step(
                format!("Renewal {}, notice period {n} days, today {}.", ymd(renewal), ymd(today)),
                format!("{n} days"),
            ),
            step(
                format!("{} − {n} days: {} {} {} Latest notice date {deadline_s}.", ymd(renewal), s2.0, s3.0, s4.0),
                deadline_s.clone(),
            ),
            step(format!("From today to the deadline: {left_text}."), format!("{k} days")),
            step(format!("{} days left → {verdict}.", k), verdict_key.to_string()),
            step("Write the deadline, the days left and the verdict in 2–4 sentences.", deadline_s.clone()),
        ],
        vec![
            criterion("gives the latest notice date as YYYY-MM-DD", &[&deadline_s]),
            criterion("states how many days remain until the deadline (or how long ago it passed)", &[&days_key]),
            criterion("concludes correctly whether notice is still possible or too late", &[verdict_key]),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_weekdays() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2100, 3, 1) - 1), (2100, 2, 28));
        assert_eq!(civil_from_days(days_from_civil(2024, 3, 1) - 1), (2024, 2, 29));
        assert_eq!(WEEKDAYS[weekday(days_from_civil(2026, 3, 9))], "Monday");
        assert_eq!(WEEKDAYS[weekday(days_from_civil(2000, 2, 29))], "Tuesday");
    }

    #[test]
    fn month_walk_matches_day_arithmetic() {
        // 2027-11-18 + 145 days = 2028-04-11 (python: date(2027,11,18)+timedelta(145)).
        let s = days_from_civil(2027, 11, 18);
        assert_eq!(ymd(month_walk(s, 145, true).1), "2028-04-11");
        // 2024-03-15 − 75 days = 2023-12-31.
        let s = days_from_civil(2024, 3, 15);
        assert_eq!(ymd(month_walk(s, 75, false).1), "2023-12-31");
        for start in (days_from_civil(2099, 1, 1)..days_from_civil(2101, 12, 31)).step_by(37) {
            for n in [1, 28, 29, 30, 31, 59, 60, 365, 366, 400] {
                assert_eq!(month_walk(start, n, true).1, start + n);
                assert_eq!(month_walk(start, n, false).1, start - n);
            }
        }
    }

    #[test]
    fn iso_weeks_at_year_ends() {
        // 2021-01-03 is in 2020-W53; 2024-12-30 is in 2025-W01; 2026-12-31 is in 2026-W53.
        assert_eq!(iso_week_of(days_from_civil(2021, 1, 3)), (2020, 53));
        assert_eq!(iso_week_of(days_from_civil(2024, 12, 30)), (2025, 1));
        assert_eq!(iso_week_of(days_from_civil(2026, 12, 31)), (2026, 53));
        assert!(has_53_weeks(2020) && has_53_weeks(2026) && !has_53_weeks(2024));
    }
}
