//! Formatting shared by generators, so answers and worked steps are written one way: numbers,
//! money, mixed numbers, clock times, lists and tables.
//!
//! Rounding is half away from zero on the decimal value (what people do by hand), not
//! banker's rounding, and never prints `-0`.

use std::fmt::Display;

/// `x` rounded to `decimals` places, half away from zero.
pub fn round(x: f64, decimals: u32) -> f64 {
    let p = 10f64.powi(decimals as i32);
    // The 1e-9 nudge makes 2.675 (stored as 2.67499999...) round up like it does on paper.
    let y = (x.abs() * p + 1e-9).round() / p;
    if x < 0.0 { -y } else { y }
}

/// True when `x` sits within 3% of a unit in the last place of a rounding boundary at
/// `decimals` places (negative: tens, hundreds…). Generators redraw such values, so
/// different-but-correct orders of arithmetic always round to the same answer.
pub fn near_half(x: f64, decimals: i32) -> bool {
    let f = (x.abs() * 10f64.powi(decimals)).fract();
    (f - 0.5).abs() < 0.03
}

/// `x` with exactly `decimals` places (`fixed(2.5, 2) == "2.50"`).
pub fn fixed(x: f64, decimals: u32) -> String {
    let s = format!("{:.*}", decimals as usize, round(x, decimals));
    if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// `x` rounded to at most `decimals` places with trailing zeros dropped (`trim(2.50, 2) == "2.5"`).
pub fn trim(x: f64, decimals: u32) -> String {
    let s = fixed(x, decimals);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// An integer with thousands separators (`grouped(1234567) == "1,234,567"`).
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// An integer count of cents as a plain amount (`cents(-1205) == "-12.05"`): exact, no
/// floating point, for generators that keep money in whole cents.
pub fn cents(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

/// A money amount with two decimals and thousands separators (`money(1234.5) == "1,234.50"`).
pub fn money(x: f64) -> String {
    let s = fixed(x, 2);
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let n: i64 = int.parse().unwrap_or(0);
    let sign = if int.starts_with('-') && n == 0 { "-" } else { "" };
    format!("{sign}{}.{frac}", grouped(n))
}

/// A money amount in dollars (`usd(1234.5) == "$1,234.50"`).
pub fn usd(x: f64) -> String {
    format!("${}", money(x))
}

/// A positive fraction `num/den` in lowest terms as a mixed number: `3 1/4`, `3/4` or `3`.
pub fn mixed_number(num: i64, den: i64) -> String {
    let (w, r) = (num / den, num % den);
    match (w, r) {
        (_, 0) => w.to_string(),
        (0, _) => format!("{r}/{den}"),
        _ => format!("{w} {r}/{den}"),
    }
}

/// `HH:MM` of a count of minutes after midnight, wrapping at midnight (`hhmm(1505) == "01:05"`).
pub fn hhmm(minutes: i64) -> String {
    let m = minutes.rem_euclid(24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// The items written out and joined with `sep` (`join(&[1, 2], " + ") == "1 + 2"`).
pub fn join<T: Display>(items: &[T], sep: &str) -> String {
    items.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(sep)
}

/// The items joined with `, `, or `empty` when there are none (`list_or(&[], "none") == "none"`).
pub fn list_or<T: Display>(items: &[T], empty: &str) -> String {
    if items.is_empty() { empty.to_string() } else { join(items, ", ") }
}

/// A Markdown table: the header row, the `|---|` rule, then one line per row (no trailing newline).
pub fn md_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|{}|", headers.join(" | "), vec!["---"; headers.len()].join("|"));
    for r in rows {
        s.push_str(&format!("\n| {} |", r.join(" | ")));
    }
    s
}

/// A CSV table: the header line, then one line per row, cells joined with `,` as they are (no quoting).
pub fn csv_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = headers.join(",");
    for r in rows {
        s.push('\n');
        s.push_str(&r.join(","));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(fixed(2.675, 2), "2.68");
        assert_eq!(fixed(-2.5, 0), "-3");
        assert_eq!(fixed(-0.001, 2), "0.00");
        assert_eq!(trim(2.50, 2), "2.5");
        assert_eq!(trim(3.0, 2), "3");
    }

    #[test]
    fn grouping() {
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(grouped(-999), "-999");
        assert_eq!(money(1234.5), "1,234.50");
        assert_eq!(money(-0.5), "-0.50");
        assert_eq!((cents(123456), cents(-1205), cents(7)), ("1234.56".into(), "-12.05".into(), "0.07".to_string()));
    }

    #[test]
    fn mixed_numbers_clock_times_and_lists() {
        assert_eq!(
            (mixed_number(13, 4), mixed_number(3, 4), mixed_number(12, 4)),
            ("3 1/4".into(), "3/4".into(), "3".into())
        );
        assert_eq!(mixed_number(3, 2), "1 1/2");
        assert_eq!((hhmm(0), hhmm(1505), hhmm(-15)), ("00:00".into(), "01:05".into(), "23:45".to_string()));
        assert_eq!(usd(1234.5), "$1,234.50");
        assert_eq!(join(&[1, 2, 3], " + "), "1 + 2 + 3");
        assert_eq!(join(&["a", "b"], ", "), "a, b");
        assert_eq!(list_or::<String>(&[], "none"), "none");
        assert_eq!(list_or(&["E1", "E3"], "none"), "E1, E3");
    }

    #[test]
    fn tables() {
        let rows = [vec!["1".to_string(), "2".to_string()], vec!["3".to_string(), "4".to_string()]];
        assert_eq!(md_table(&["a", "b"], &rows), "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |");
        assert_eq!(csv_table(&["a", "b"], &rows), "a,b\n1,2\n3,4");
    }
}
