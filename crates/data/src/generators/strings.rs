//! Generators for the `strings` and `ciphers` domains: check digits, string transforms and
//! classical ciphers worked by hand.

use super::fmt::join;
use super::params::{NoParams, NonEmpty, kinds, params, words};
use super::{Gen, Kind, criterion, exact, free_form, step};
use crate::error::Result;
use crate::task::Generated;

pub(crate) const KINDS: &[Kind] = kinds![
    "luhn_check_digit" => luhn_check_digit(LuhnCheckDigitParams),
    "isbn10_check_char" => isbn10_check_char(NoParams),
    "isbn13_check_digit" => isbn13_check_digit(NoParams),
    "title_case_small_words" => title_case_small_words(TitleCaseSmallWordsParams),
    "run_length_encode" => run_length_encode(RunLengthEncodeParams),
    "slugify_rules" => slugify_rules(SlugifyRulesParams),
    "password_policy_audit" => password_policy_audit(PasswordPolicyAuditParams),
    "caesar_shift_wrap" => caesar_shift_wrap(CaesarShiftWrapParams),
    "vigenere_encrypt" => vigenere_encrypt(VigenereEncryptParams),
    "atbash_mirror" => atbash_mirror(AtbashMirrorParams),
    "rail_fence_encrypt" => rail_fence_encrypt(RailFenceEncryptParams),
    "columnar_transposition" => columnar_transposition(ColumnarTranspositionParams),
    "keyword_substitution" => keyword_substitution(KeywordSubstitutionParams),
];

const MESSAGE_WORDS: &[&str] = &[
    "meet", "me", "at", "the", "old", "mill", "bring", "two", "maps", "north", "gate", "opens", "after", "dark",
    "send", "help", "quickly", "river", "crossing", "wait", "for", "signal", "move", "west", "tonight", "hide", "key",
    "under", "stone", "zebra", "yellow", "boxes", "jump", "over", "lazy", "fox", "vault", "is", "empty", "train",
    "leaves", "noon",
];

fn digits_str(d: &[u32]) -> String {
    d.iter().map(|x| char::from_digit(*x, 10).unwrap_or('?')).collect()
}

fn capitalize(w: &str) -> String {
    let lower = w.to_lowercase();
    let mut cs = lower.chars();
    match cs.next() {
        Some(c) => c.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

/// Random message of `min_words..=max_words` words (at least one) from `words`, lowercased:
/// the message of the cipher kinds, whose parameters all carry `words`, `min_words` and
/// `max_words`.
fn message_words(g: &mut Gen, words: &[String], min_words: i64, max_words: i64) -> Vec<String> {
    let lo = min_words.max(1);
    let hi = max_words.max(lo);
    let n = g.range(lo, hi);
    (0..n).map(|_| g.pick(words).to_lowercase()).collect()
}

/// Declares a cipher kind's parameter struct with `params!`, writing the message fields that
/// every cipher kind takes (and passes to [`message_words`]) once: `..message(max_words = N)`
/// stands for `words`, `min_words` (2) and `max_words` (N), between the kind's own fields. The
/// fields keep the order written, which is the order an unknown-key error lists them in.
macro_rules! cipher_params {
    (
        $(#[$meta:meta])*
        struct $name:ident {
            $($(#[$before_meta:meta])* $before:ident: $before_ty:ty = $before_default:expr,)*
            ..message(max_words = $max_words:expr),
            $($(#[$after_meta:meta])* $after:ident: $after_ty:ty = $after_default:expr,)*
        }
    ) => {
        params! {
            $(#[$meta])*
            struct $name {
                $($(#[$before_meta])* $before: $before_ty = $before_default,)*
                /// Words the message is drawn from.
                words: NonEmpty<String> = words(MESSAGE_WORDS),
                /// Fewest words in the message (at least 1).
                min_words: i64 = 2,
                /// Most words in the message.
                max_words: i64 = $max_words,
                $($(#[$after_meta])* $after: $after_ty = $after_default,)*
            }
        }
    };
}

/// Words joined with spaces, with an optional comma inside and closing punctuation.
fn punctuate(g: &mut Gen, words: &[String]) -> String {
    let mut s = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(w);
        if i + 1 < words.len() && words.len() >= 3 && i == 1 && g.chance(0.3) {
            s.push(',');
        }
    }
    if g.chance(0.6) {
        s.push(*g.pick(&['.', '!', '?']));
    }
    s
}

// ---------------------------------------------------------------- check digits

/// Luhn: the transformed digits (doubled digits reduced), their sum and the check digit.
fn luhn(payload: &[u32]) -> (Vec<u32>, u32, u32) {
    let n = payload.len();
    let vals: Vec<u32> = payload
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if (n - 1 - i).is_multiple_of(2) {
                let x = 2 * d;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .collect();
    let s: u32 = vals.iter().sum();
    (vals, s, (10 - s % 10) % 10)
}

params! {
    /// Parameters of `luhn_check_digit`.
    struct LuhnCheckDigitParams {
        /// Shortest payload (at least 2 digits).
        min_len: i64 = 8,
        /// Longest payload.
        max_len: i64 = 15,
    }
}

/// The Luhn check digit to append to an account-number payload.
fn luhn_check_digit(g: &mut Gen, p: &LuhnCheckDigitParams) -> Result<Generated> {
    let min = p.min_len.max(2);
    let max = p.max_len.max(min);
    let n = g.range(min, max) as usize;
    let mut payload: Vec<u32> = (0..n).map(|_| g.range(0, 9) as u32).collect();
    payload[0] = g.range(1, 9) as u32;
    if g.chance(0.2) {
        // Make the sum a multiple of 10 (check digit 0) by fixing an undoubled digit.
        let (_, s, _) = luhn(&payload);
        let i = n - 2;
        payload[i] = (payload[i] + 10 - s % 10) % 10;
    }
    let (vals, sum, check) = luhn(&payload);
    let p = digits_str(&payload);
    let prompt = format!(
        "An account number ends in a Luhn check digit. The digits before the check digit (the payload) are {p}. \
Which check digit must be appended?\n\nLuhn rule: starting with the rightmost payload digit and moving left, \
double every second digit (the rightmost payload digit is doubled, the one left of it is not, and so on); when \
a doubled value is greater than 9, subtract 9 from it. Add up all the resulting digits. The check digit is the \
number from 0 to 9 that brings this sum up to a multiple of 10 (0 if the sum already is one). Answer with the \
single check digit."
    );
    let marked: Vec<usize> = (0..n).filter(|i| (n - 1 - i).is_multiple_of(2)).collect();
    let unmarked: Vec<usize> = (0..n).filter(|i| (n - 1 - i) % 2 == 1).collect();
    let doubled: Vec<String> = marked
        .iter()
        .map(|&i| {
            let x = 2 * payload[i];
            if x > 9 { format!("{}→{x}−9={}", payload[i], x - 9) } else { format!("{}→{x}", payload[i]) }
        })
        .collect();
    let m = sum % 10;
    Ok(exact(
        prompt,
        check.to_string(),
        [
            step(
                format!(
                    "Payload {p} has {n} digits; from the right, positions {} (counting 1 = leftmost) are doubled: {}.",
                    join(&marked.iter().map(|i| i + 1).collect::<Vec<_>>(), ", "),
                    join(&marked.iter().map(|&i| payload[i]).collect::<Vec<_>>(), ", ")
                ),
                join(&marked.iter().map(|&i| payload[i]).collect::<Vec<_>>(), ", "),
            ),
            step(
                format!("Doubled: {}.", doubled.join(", ")),
                join(&marked.iter().map(|&i| vals[i]).collect::<Vec<_>>(), ", "),
            ),
            step(
                format!("Unchanged digits: {}.", join(&unmarked.iter().map(|&i| payload[i]).collect::<Vec<_>>(), ", ")),
                join(&unmarked.iter().map(|&i| payload[i]).collect::<Vec<_>>(), ", "),
            ),
            step(format!("Sum of all digits after doubling: {} = {sum}.", join(&vals, " + ")), sum.to_string()),
            step(format!("{sum} mod 10 = {m}; check digit = (10 − {m}) mod 10 = {check}."), check.to_string()),
        ],
    ))
}

/// ISBN-10: products with weights 10..2, their sum and the check character.
fn isbn10(d: &[u32]) -> (Vec<u32>, u32, char) {
    let prods: Vec<u32> = d.iter().enumerate().map(|(i, &x)| x * (10 - i as u32)).collect();
    let s: u32 = prods.iter().sum();
    let c = (11 - s % 11) % 11;
    (prods, s, if c == 10 { 'X' } else { char::from_digit(c, 10).unwrap_or('?') })
}

/// The check character of an ISBN-10 from its first nine digits.
fn isbn10_check_char(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    // Pick the class first so the X and 0 cases come up often enough.
    let want = if g.chance(0.3) {
        'X'
    } else if g.chance(0.15) {
        '0'
    } else {
        '?'
    };
    let mut d: Vec<u32> = Vec::new();
    for _ in 0..200 {
        d = (0..9).map(|_| g.range(0, 9) as u32).collect();
        let c = isbn10(&d).2;
        if want == '?' && c != 'X' && c != '0' || c == want {
            break;
        }
    }
    let (prods, sum, check) = isbn10(&d);
    let ds = digits_str(&d);
    let shown = if g.chance(0.5) {
        let a = g.range(1, 2) as usize;
        let b = g.range(a as i64 + 2, 6) as usize;
        format!("{}-{}-{}", &ds[..a], &ds[a..b], &ds[b..])
    } else {
        ds.clone()
    };
    let prompt = format!(
        "The first nine digits of an ISBN-10 are {shown}. Find its check character (the tenth character).\n\n\
ISBN-10 rule: ignore hyphens, multiply the nine digits by the weights 10, 9, 8, 7, 6, 5, 4, 3, 2 from left to \
right and add the products. The check value is the number from 0 to 10 that, added to this sum, gives a multiple \
of 11. A check value of 10 is written as the letter X. Answer with the check character only."
    );
    let r = sum % 11;
    let c = (11 - r) % 11;
    Ok(exact(
        prompt,
        check.to_string(),
        [
            step(
                format!(
                    "Digits {} with weights 10, 9, 8, 7, 6, 5, 4, 3, 2.",
                    join(&d.iter().map(|x| x.to_string()).collect::<Vec<_>>(), ", ")
                ),
                ds.clone(),
            ),
            step(
                (0..9).map(|i| format!("{}×{}={}", d[i], 10 - i, prods[i])).collect::<Vec<_>>().join(", "),
                join(&prods, ", "),
            ),
            step(format!("{} = {sum}.", join(&prods, " + ")), sum.to_string()),
            step(format!("{sum} mod 11 = {r}; (11 − {r}) mod 11 = {c}."), c.to_string()),
            step(
                if c == 10 { "The check value 10 is written X.".to_string() } else { format!("Check character {c}.") },
                check.to_string(),
            ),
        ],
    ))
}

/// ISBN-13: products with weights 1, 3, 1, 3, ..., their sum and the check digit.
fn isbn13(d: &[u32]) -> (Vec<u32>, u32, u32) {
    let prods: Vec<u32> = d.iter().enumerate().map(|(i, &x)| if i % 2 == 0 { x } else { 3 * x }).collect();
    let s: u32 = prods.iter().sum();
    (prods, s, (10 - s % 10) % 10)
}

/// The check digit of an ISBN-13 from its first twelve digits.
fn isbn13_check_digit(g: &mut Gen, _: &NoParams) -> Result<Generated> {
    let mut d: Vec<u32> = vec![9, 7, if g.chance(0.8) { 8 } else { 9 }];
    d.extend((0..9).map(|_| g.range(0, 9) as u32));
    if g.chance(0.15) {
        // Force check digit 0 by adjusting the last weight-1 digit (position 11).
        let (_, s, _) = isbn13(&d);
        d[10] = (d[10] + 10 - s % 10) % 10;
    }
    let (prods, sum, check) = isbn13(&d);
    let ds = digits_str(&d);
    let a = g.range(1, 2) as usize;
    let b = g.range(2, 5) as usize;
    let shown = format!("{}-{}-{}-{}", &ds[..3], &ds[3..3 + a], &ds[3 + a..3 + a + b], &ds[3 + a + b..]);
    let prompt = format!(
        "The first twelve digits of an ISBN-13 are {shown}. Find its check digit (the thirteenth digit).\n\n\
ISBN-13 rule: ignore hyphens and multiply the twelve digits alternately by 1 and 3, starting with 1 for the \
leftmost digit, then add the products. The check digit is the number from 0 to 9 that, added to this sum, gives \
a multiple of 10. Answer with the check digit only."
    );
    let m = sum % 10;
    Ok(exact(
        prompt,
        check.to_string(),
        [
            step(format!("Without hyphens: {ds} (12 digits)."), ds.clone()),
            step(
                format!(
                    "Weights: {}.",
                    (0..12)
                        .map(|i| format!("{}×{}", d[i], if i % 2 == 0 { 1 } else { 3 }))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "1, 3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 3".to_string(),
            ),
            step(format!("Products: {}.", join(&prods, ", ")), join(&prods, ", ")),
            step(format!("{} = {sum}.", join(&prods, " + ")), sum.to_string()),
            step(format!("{sum} mod 10 = {m}; check digit = (10 − {m}) mod 10 = {check}."), check.to_string()),
        ],
    ))
}

// ---------------------------------------------------------------- string transforms

const TITLE_WORDS: &[&str] = &[
    "river", "night", "garden", "secret", "stone", "light", "winter", "machine", "city", "house", "dream", "water",
    "shadow", "crown", "forest", "journey", "letter", "road", "storm", "song", "mountain", "silver", "engine",
    "harbor", "window", "kingdom", "memory", "fire", "paper", "orchard", "another", "island", "over", "under", "into",
    "beyond",
];
const SMALL_WORDS: &[&str] =
    &["a", "an", "the", "and", "but", "or", "for", "nor", "of", "on", "in", "at", "to", "by", "up", "as", "with"];

params! {
    /// Parameters of `title_case_small_words`.
    struct TitleCaseSmallWordsParams {
        /// Content words of the titles (small words among them are dropped).
        words: NonEmpty<String> = words(TITLE_WORDS),
        /// The house style's small words, written in lowercase.
        small_words: NonEmpty<String> = words(SMALL_WORDS),
    }
}

/// Title case with a stated small-word list and first/last/after-colon exceptions.
fn title_case_small_words(g: &mut Gen, p: &TitleCaseSmallWordsParams) -> Result<Generated> {
    let content = &p.words;
    let small: Vec<String> = p.small_words.iter().map(|s| s.to_lowercase()).collect();
    let content: Vec<String> =
        content.iter().map(|s| s.to_lowercase()).filter(|w| !small.contains(w)).collect::<Vec<_>>();
    if content.is_empty() {
        return Err(g.param_error("words", "every word is a small word"));
    }
    let mut words: Vec<String> = Vec::new();
    let mut colon_at: Option<usize> = None;
    if g.chance(0.5) {
        words.push(g.pick(&small).clone());
    }
    let nc = g.range(3, 5);
    for k in 0..nc {
        words.push(g.pick(&content).clone());
        if k + 1 < nc {
            if colon_at.is_none() && k >= 1 && g.chance(0.35) {
                colon_at = Some(words.len() - 1);
                if g.chance(0.6) {
                    words.push(g.pick(&small).clone());
                }
            } else if g.chance(0.6) {
                words.push(g.pick(&small).clone());
            }
        }
    }
    if g.chance(0.3) {
        words.push(g.pick(&small).clone());
    }
    let n = words.len();
    let style = g.range(0, 3);
    let shown: Vec<String> = words
        .iter()
        .map(|w| match style {
            0 => w.clone(),
            1 => w.to_uppercase(),
            2 => capitalize(w),
            _ => w
                .chars()
                .enumerate()
                .map(|(i, c)| if i % 2 == 1 { c.to_ascii_uppercase() } else { c })
                .collect::<String>(),
        })
        .collect();
    let with_colon = |ws: &[String]| -> String {
        ws.iter()
            .enumerate()
            .map(|(i, w)| if Some(i) == colon_at { format!("{w}:") } else { w.clone() })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut marked: Vec<(usize, &str)> = vec![(0, "first word")];
    if let Some(c) = colon_at
        && c + 1 < n - 1
    {
        marked.push((c + 1, "first word after the colon"));
    }
    marked.push((n - 1, "last word"));
    let is_marked = |i: usize| marked.iter().any(|(j, _)| *j == i);
    let out: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| if small.contains(w) && !is_marked(i) { w.clone() } else { capitalize(w) })
        .collect();
    let answer = with_colon(&out);
    let lowered: Vec<String> = (0..n)
        .filter(|&i| small.contains(&words[i]) && !is_marked(i))
        .map(|i| format!("{} (word {})", words[i], i + 1))
        .collect();
    let prompt = format!(
        "Convert this title to title case using the house style below.\n\nTitle: {}\n\nHouse style: capitalize the \
first letter of every word and write the rest of the word in lowercase, except for these small words, which are \
written entirely in lowercase: {}. A small word is still capitalized when it is the first word of the title, the \
last word of the title, or the first word after a colon. Keep the colon where it is. Answer with the converted \
title only.",
        with_colon(&shown),
        small.join(", ")
    );
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!(
                    "Words: {}.",
                    (0..n).map(|i| format!("{}. {}", i + 1, shown[i])).collect::<Vec<_>>().join(", ")
                ),
                format!("{n} words"),
            ),
            step(
                format!(
                    "Always capitalized: {}.",
                    marked.iter().map(|(i, why)| format!("{} ({why})", shown[*i])).collect::<Vec<_>>().join(", ")
                ),
                marked.iter().map(|(i, _)| words[*i].clone()).collect::<Vec<_>>().join(", "),
            ),
            step(
                if lowered.is_empty() {
                    "No other word is on the small-word list.".to_string()
                } else {
                    format!("Small words elsewhere: {}.", lowered.join(", "))
                },
                if lowered.is_empty() { "none".to_string() } else { lowered.len().to_string() },
            ),
            step(format!("Rewritten words: {}.", out.join(", ")), out.join(" ")),
            step(format!("Joined: {answer}."), answer),
        ],
    ))
}

/// Runs of identical characters (case-sensitive).
fn runs(s: &str) -> Vec<(char, usize)> {
    let mut out: Vec<(char, usize)> = Vec::new();
    for c in s.chars() {
        match out.last_mut() {
            Some((d, n)) if *d == c => *n += 1,
            _ => out.push((c, 1)),
        }
    }
    out
}

/// Run-length encoding, count before character, counts of 1 written.
fn rle(s: &str) -> String {
    runs(s).iter().map(|(c, n)| format!("{n}{c}")).collect()
}

params! {
    /// Parameters of `run_length_encode`.
    struct RunLengthEncodeParams {
        /// Letters the string is made of (at least two; case is added by the kind).
        letters: String = "abcdkmprstwxyz".into(),
        /// Fewest runs.
        min_runs: i64 = 5,
        /// Most runs (at least 2).
        max_runs: i64 = 9,
    }
}

/// Run-length encode a case-sensitive string with long runs.
fn run_length_encode(g: &mut Gen, p: &RunLengthEncodeParams) -> Result<Generated> {
    let letters: Vec<char> = p.letters.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    if letters.len() < 2 {
        return Err(g.param_error("letters", "need at least two letters"));
    }
    let picked = g.distinct(letters.len(), 3.min(letters.len()));
    let mut pool: Vec<char> = picked.iter().map(|&i| letters[i].to_ascii_lowercase()).collect();
    if g.chance(0.7) {
        let up: Vec<char> = pool.iter().map(|c| c.to_ascii_uppercase()).collect();
        pool.extend(up);
    }
    let nruns = g.range(p.min_runs, p.max_runs.max(2));
    let mut s = String::new();
    let mut prev: Option<char> = None;
    for _ in 0..nruns {
        let mut c = *g.pick(&pool);
        while Some(c) == prev {
            c = *g.pick(&pool);
        }
        let len = if g.chance(0.2) { g.range(10, 13) } else { g.range(1, 4) };
        for _ in 0..len {
            s.push(c);
        }
        prev = Some(c);
    }
    let rs = runs(&s);
    let answer = rle(&s);
    let prompt = format!(
        "Run-length encode the string below. Write each run of identical consecutive characters as its length \
followed by the character, and write the length even when it is 1 (so \"xxy\" becomes \"2x1y\"). Uppercase and \
lowercase letters are different characters. Answer with the encoded string only, with no spaces.\n\nString: {s}"
    );
    let pieces: Vec<String> = rs.iter().map(|(c, n)| c.to_string().repeat(*n)).collect();
    let counts: Vec<String> = rs.iter().map(|(c, n)| format!("{c}×{n}")).collect();
    let enc: Vec<String> = rs.iter().map(|(c, n)| format!("{n}{c}")).collect();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(format!("The string has {} characters: {s}.", s.chars().count()), s.chars().count().to_string()),
            step(format!("Runs: {}.", pieces.join(" | ")), format!("{} runs", rs.len())),
            step(
                format!("Run lengths: {}.", counts.join(", ")),
                join(&rs.iter().map(|r| r.1).collect::<Vec<_>>(), ", "),
            ),
            step(format!("Encoded runs: {}.", enc.join(", ")), enc.join(" ")),
            step(format!("Concatenated: {answer}."), answer),
        ],
    ))
}

const SLUG_WORDS: &[&str] = &[
    "Rock", "Roll", "Summer", "Guide", "Top", "Tips", "Best", "Coffee", "Shops", "Travel", "Budget", "Home", "Office",
    "Setup", "Beginner", "Garden", "Recipes", "Easy", "Night", "Market", "Don't", "It's", "You're", "Can't", "Let's",
    "Mom's", "Bread", "Salt", "Pepper", "Python", "Rust", "2024", "10", "v2.0", "3D",
];

/// Slug steps: lowercased, after `&`/apostrophe rule, hyphenated, trimmed.
fn slug_steps(title: &str) -> (String, String, String, String) {
    let lower = title.to_lowercase();
    let replaced = lower.replace('&', " and ").replace('\'', "");
    let mut hyph = String::new();
    for c in replaced.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            hyph.push(c);
        } else if !hyph.ends_with('-') {
            hyph.push('-');
        }
    }
    let trimmed = hyph.trim_matches('-').to_string();
    (lower, replaced, hyph, trimmed)
}

params! {
    /// Parameters of `slugify_rules`.
    struct SlugifyRulesParams {
        /// Words the titles are made of.
        words: NonEmpty<String> = words(SLUG_WORDS),
    }
}

/// URL slug under stated rules (ampersand, apostrophes, runs of separators, trimming).
fn slugify_rules(g: &mut Gen, p: &SlugifyRulesParams) -> Result<Generated> {
    let words = &p.words;
    let n = g.range(3, 6);
    let mut title = String::new();
    if g.chance(0.25) {
        title.push_str(g.pick::<&str>(&["\"", "(", "*", "--"]));
    }
    let seps = [" ", " ", " ", " - ", ": ", ", ", " & ", " / ", " -- ", "  ", " + ", "... "];
    for i in 0..n {
        if i > 0 {
            title.push_str(g.pick::<&str>(&seps));
        }
        title.push_str(g.pick(words).as_str());
    }
    if g.chance(0.6) {
        title.push_str(g.pick::<&str>(&["!", "?", "...", ")", "!!", " :)"]));
    }
    let (lower, replaced, hyph, slug) = slug_steps(&title);
    let prompt = format!(
        "Turn this article title into a URL slug.\n\nTitle: {title}\n\nSlug rules, applied in this order: (1) \
lowercase everything; (2) replace each & with the word \"and\" and delete every apostrophe (') so the letters \
around it join up; (3) replace every run of one or more characters that are not a–z or 0–9 (spaces, punctuation, \
symbols) with a single hyphen; (4) remove hyphens from the start and end. Answer with the slug only."
    );
    Ok(exact(
        prompt,
        slug.clone(),
        [
            step(format!("Lowercased: {lower}"), lower.clone()),
            step(format!("After & → and and deleting apostrophes: {replaced}"), replaced.trim().to_string()),
            step(format!("Runs of other characters → one hyphen: {hyph}"), hyph.clone()),
            step(format!("Trim hyphens at the ends: {hyph} → {slug}"), slug.clone()),
            step(format!("Slug: {slug}"), slug),
        ],
    ))
}

const PASSWORD_SYMBOLS: &str = "!@#$%&*";

/// Which of the six password rules fail, with evidence per failed rule.
fn password_failures(pw: &str, user: &str, min_len: usize) -> Vec<(usize, String)> {
    let mut f = Vec::new();
    let len = pw.chars().count();
    if len < min_len {
        f.push((1, format!("it has {len} characters, fewer than the minimum of {min_len}")));
    }
    if !pw.chars().any(|c| c.is_ascii_uppercase()) {
        f.push((2, "it has no uppercase letter".to_string()));
    }
    if !pw.chars().any(|c| c.is_ascii_digit()) {
        f.push((3, "it has no digit".to_string()));
    }
    if !pw.chars().any(|c| PASSWORD_SYMBOLS.contains(c)) {
        let others: Vec<char> = pw.chars().filter(|c| !c.is_ascii_alphanumeric()).collect();
        f.push((
            4,
            if others.is_empty() {
                "it has no symbol at all".to_string()
            } else {
                format!("its only symbols ({}) are not in the allowed set", others.iter().collect::<String>())
            },
        ));
    }
    if let Some((c, n)) = runs(pw).into_iter().find(|(_, n)| *n >= 3) {
        f.push((5, format!("it repeats {c} {n} times in a row ({})", c.to_string().repeat(n))));
    }
    if let Some(i) = pw.to_lowercase().find(&user.to_lowercase()) {
        f.push((6, format!("it contains the username as \"{}\"", &pw[i..i + user.len()])));
    }
    f
}

params! {
    /// Parameters of `password_policy_audit`.
    struct PasswordPolicyAuditParams {
        /// Usernames the password is checked against.
        usernames: NonEmpty<String> = words(&[
            "maria", "kenji", "olu", "sam", "priya", "diego", "lena", "tomas", "ana",
        ]),
        /// Words the passwords are built on.
        base_words: NonEmpty<String> = words(&[
            "sunset", "garden", "rocket", "violet", "marble", "tiger", "pepper", "cobalt", "harbor", "maple",
        ]),
    }
}

/// Free-form: which password-policy rules a candidate password breaks.
fn password_policy_audit(g: &mut Gen, p: &PasswordPolicyAuditParams) -> Result<Generated> {
    let (users, bases) = (&p.usernames, &p.base_words);
    let user = g.pick(users).to_lowercase();
    // Some passwords meet every rule; the others break a random subset.
    let clean = g.chance(0.2);
    let break_len = !clean && g.chance(0.3);
    let break_upper = !clean && g.chance(0.3);
    let break_digit = !clean && g.chance(0.3);
    let break_symbol = !clean && g.chance(0.35);
    let break_repeat = !clean && g.chance(0.3);
    let break_user = !clean && g.chance(0.3);
    let base = g.pick(bases).to_lowercase();
    let head = if break_upper {
        base
    } else if g.chance(0.6) {
        capitalize(&base)
    } else {
        let i = g.range(1, base.len() as i64 - 1) as usize;
        format!("{}{}{}", &base[..i], base[i..i + 1].to_uppercase(), &base[i + 1..])
    };
    let mut tail: Vec<String> = Vec::new();
    if break_user {
        let u: String = if break_upper || g.chance(0.5) { user.clone() } else { capitalize(&user) };
        tail.push(u);
    }
    if !break_digit {
        let k = g.range(1, 3);
        tail.push((0..k).map(|_| char::from(b'0' + g.range(0, 9) as u8)).collect());
    }
    if !break_symbol {
        let syms: Vec<char> = PASSWORD_SYMBOLS.chars().collect();
        tail.push(g.pick(&syms).to_string());
    } else if g.chance(0.6) {
        tail.push(g.pick(&["?", "-", "_", ".", "+", "~"]).to_string());
    }
    if break_repeat {
        let c = if !break_digit && g.chance(0.4) {
            char::from(b'0' + g.range(0, 9) as u8)
        } else {
            *g.pick(&['z', 'o', 'x', 'e'])
        };
        tail.push(c.to_string().repeat(g.range(3, 4) as usize));
    }
    // Shuffle the tail pieces.
    let order = g.distinct(tail.len(), tail.len());
    let mut pw = head;
    for i in order {
        pw.push_str(&tail[i]);
    }
    let len = pw.chars().count();
    let min_len = if break_len {
        len + g.range(1, 3) as usize
    } else {
        let ok: Vec<usize> = [8usize, 10, 12].into_iter().filter(|&l| l <= len).collect();
        if ok.is_empty() {
            while pw.chars().count() < 8 {
                pw.push(*g.pick(&['a', 'k', 'r', 'n']));
            }
            8
        } else {
            *g.pick(&ok)
        }
    };
    let len = pw.chars().count();
    let fails = password_failures(&pw, &user, min_len);
    let prompt = format!(
        "A sign-up form checks new passwords against these rules:\n1. At least {min_len} characters long.\n2. At \
least one uppercase letter (A–Z).\n3. At least one digit (0–9).\n4. At least one symbol from this set: ! @ # $ % & * \
(other symbols do not count).\n5. No character repeated three or more times in a row.\n6. Must not contain the \
username, in any mix of upper and lower case.\n\nUsername: {user}\nPassword: {pw}\n\nIs the password accepted? \
Say which rules it breaks, if any, with the evidence for each, and give the verdict (accepted or rejected)."
    );
    let verdict = if fails.is_empty() { "accepted" } else { "rejected" };
    let has_upper = pw.chars().any(|c| c.is_ascii_uppercase());
    let has_digit = pw.chars().any(|c| c.is_ascii_digit());
    let has_sym = pw.chars().any(|c| PASSWORD_SYMBOLS.contains(c));
    let longest = runs(&pw).into_iter().map(|r| r.1).max().unwrap_or(0);
    let contains_user = pw.to_lowercase().contains(&user);
    let failed_rules: Vec<String> = fails.iter().map(|(r, _)| format!("rule {r}")).collect();
    let mut answer = if fails.is_empty() {
        format!(
            "Accepted. The password has {len} characters (minimum {min_len}), contains an uppercase letter, a digit \
and a symbol from the allowed set, never repeats a character three times in a row, and does not contain the \
username {user}. No rule fails."
        )
    } else {
        let mut a = format!("Rejected. The password has {len} characters (minimum {min_len}).");
        for (r, why) in &fails {
            a.push_str(&format!(" Rule {r} fails: {why}."));
        }
        let passed: Vec<String> =
            (1..=6).filter(|r| !fails.iter().any(|(f, _)| f == r)).map(|r| r.to_string()).collect();
        if !passed.is_empty() {
            a.push_str(&format!(" The other rules ({}) are met.", passed.join(", ")));
        }
        a
    };
    answer = answer.replace("  ", " ");
    let mut rubric = vec![criterion(
        format!("gives the verdict: the password is {verdict}"),
        &[if fails.is_empty() { "accepted" } else { "rejected" }],
    )];
    if !fails.is_empty() {
        let refs: Vec<&str> = failed_rules.iter().map(String::as_str).collect();
        rubric.push(criterion(
            format!("names every failed rule ({}) with its evidence and no rule that passes", failed_rules.join(", ")),
            &refs,
        ));
    }
    let len_s = format!("{len} characters");
    rubric.push(criterion(format!("states the password length ({len} characters) against the minimum"), &[&len_s]));
    Ok(free_form(
        prompt,
        answer,
        [
            step(
                format!(
                    "\"{pw}\" has {len} characters; minimum {min_len} → rule 1 {}.",
                    if len >= min_len { "passes" } else { "fails" }
                ),
                format!("{len} characters"),
            ),
            step(
                format!(
                    "Uppercase: {}; digit: {}; symbol from !@#$%&*: {}.",
                    if has_upper { "yes" } else { "no (rule 2 fails)" },
                    if has_digit { "yes" } else { "no (rule 3 fails)" },
                    if has_sym { "yes" } else { "no (rule 4 fails)" }
                ),
                format!(
                    "uppercase {}, digit {}, symbol {}",
                    if has_upper { "yes" } else { "no" },
                    if has_digit { "yes" } else { "no" },
                    if has_sym { "yes" } else { "no" }
                ),
            ),
            step(
                format!(
                    "Longest run of one character: {longest} → rule 5 {}.",
                    if longest >= 3 { "fails" } else { "passes" }
                ),
                format!("longest run {longest}"),
            ),
            step(
                format!(
                    "\"{}\" {} \"{user}\" → rule 6 {}.",
                    pw.to_lowercase(),
                    if contains_user { "contains" } else { "does not contain" },
                    if contains_user { "fails" } else { "passes" }
                ),
                if contains_user { "contains username" } else { "no username" }.to_string(),
            ),
            step(
                if fails.is_empty() {
                    "No rule fails → accepted.".to_string()
                } else {
                    format!("Failed: {} → rejected.", failed_rules.join(", "))
                },
                verdict.to_string(),
            ),
        ],
        rubric,
    ))
}

// ---------------------------------------------------------------- ciphers

fn shift_letter(c: char, k: u32) -> char {
    if c.is_ascii_uppercase() {
        char::from(b'A' + ((c as u8 - b'A') as u32 + k) as u8 % 26)
    } else if c.is_ascii_lowercase() {
        char::from(b'a' + ((c as u8 - b'a') as u32 + k) as u8 % 26)
    } else {
        c
    }
}

fn caesar(text: &str, k: u32) -> String {
    text.chars().map(|c| shift_letter(c, k % 26)).collect()
}

fn sentence_case(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) => c.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

/// The words as a sentence-case message ([`punctuate`]d) that, with probability `p_number`,
/// ends in a number instead of its closing punctuation.
fn sentence_message(g: &mut Gen, words: &[String], p_number: f64) -> String {
    let text = sentence_case(&punctuate(g, words));
    if g.chance(p_number) { format!("{} {}", text.trim_end_matches(['.', '!', '?']), g.range(2, 99)) } else { text }
}

cipher_params! {
    /// Parameters of `caesar_shift_wrap`.
    struct CaesarShiftWrapParams {
        ..message(max_words = 4),
        /// Largest shift (at least 2; multiples of 26 are moved off).
        max_shift: i64 = 60,
    }
}

/// Caesar encryption or decryption with shifts that wrap (and may exceed 26).
fn caesar_shift_wrap(g: &mut Gen, p: &CaesarShiftWrapParams) -> Result<Generated> {
    let words = message_words(g, &p.words, p.min_words, p.max_words);
    let plain = sentence_message(g, &words, 0.25);
    let max_shift = p.max_shift.max(2);
    let mut key = g.range(1, max_shift) as u32;
    if key.is_multiple_of(26) {
        key += g.range(1, 25) as u32;
    }
    let decrypt = g.chance(0.5);
    let s = key % 26;
    let (given, answer, eff) =
        if decrypt { (caesar(&plain, s), plain.clone(), (26 - s) % 26) } else { (plain.clone(), caesar(&plain, s), s) };
    let prompt = if decrypt {
        format!(
            "This message was encrypted with a Caesar cipher that shifted every letter {key} places forward in the \
alphabet (wrapping around from Z to A). Decrypt it. Letters keep their case; spaces, digits and punctuation are \
unchanged.\n\nCiphertext: {given}\n\nAnswer with the decrypted text exactly, keeping case and punctuation."
        )
    } else {
        format!(
            "Encrypt this message with a Caesar cipher that shifts every letter {key} places forward in the alphabet \
(wrapping around from Z to A). Letters keep their case; spaces, digits and punctuation are unchanged.\n\nMessage: \
{given}\n\nAnswer with the encrypted text exactly, keeping case and punctuation."
        )
    };
    let letters: Vec<char> = given.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    let pos: Vec<String> = letters.iter().map(|c| format!("{c}={}", (c.to_ascii_uppercase() as u8 - b'A'))).collect();
    let added: Vec<String> = letters
        .iter()
        .map(|c| {
            let p = (c.to_ascii_uppercase() as u8 - b'A') as u32;
            format!("{p}+{eff}={}", p + eff)
        })
        .collect();
    let wrapped: Vec<String> = letters
        .iter()
        .map(|c| {
            let p = (c.to_ascii_uppercase() as u8 - b'A') as u32 + eff;
            if p >= 26 {
                format!("{p}−26={}→{}", p - 26, shift_letter(*c, eff))
            } else {
                format!("{p}→{}", shift_letter(*c, eff))
            }
        })
        .collect();
    let first = if decrypt {
        format!("{key} mod 26 = {s}; decrypting, so shift forward by 26 − {s} = {eff}.")
    } else {
        format!("{key} mod 26 = {s}; encrypting, so shift forward by {eff}.")
    };
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(first, format!("shift {eff}")),
            step(format!("Letter positions: {}.", pos.join(", ")), format!("{} letters", letters.len())),
            step(format!("Add {eff}: {}.", added.join(", ")), format!("+{eff}")),
            step(
                format!("Wrap and convert: {}.", wrapped.join(", ")),
                letters.iter().map(|c| shift_letter(*c, eff)).collect::<String>(),
            ),
            step(format!("With case, spaces and punctuation kept: {answer}"), answer),
        ],
    ))
}

/// Vigenère encryption; the key advances on letters only. Returns the ciphertext (capitals)
/// and, per letter, (plain letter, key letter, sum).
fn vigenere(plain: &str, key: &str) -> (String, Vec<(char, char, u32)>) {
    let key: Vec<char> = key.chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_uppercase()).collect();
    let mut out = String::new();
    let mut trace = Vec::new();
    let mut k = 0;
    for c in plain.chars() {
        if c.is_ascii_alphabetic() {
            let p = c.to_ascii_uppercase();
            let kc = key[k % key.len()];
            let sum = (p as u8 - b'A') as u32 + (kc as u8 - b'A') as u32;
            out.push(char::from(b'A' + (sum % 26) as u8));
            trace.push((p, kc, sum));
            k += 1;
        } else {
            out.push(c);
        }
    }
    (out, trace)
}

cipher_params! {
    /// Parameters of `vigenere_encrypt`.
    struct VigenereEncryptParams {
        /// Keys drawn from (letters only count).
        keys: NonEmpty<String> = words(&[
            "LEMON", "KEY", "CIPHER", "ORBIT", "MANGO", "TIGER", "QUARTZ", "BRAVO", "DELTA", "PIXEL", "SUN", "WYVERN",
        ]),
        ..message(max_words = 3),
    }
}

/// Vigenère encryption of a short message with spaces and punctuation.
fn vigenere_encrypt(g: &mut Gen, p: &VigenereEncryptParams) -> Result<Generated> {
    let keys = &p.keys;
    let key = g.pick(keys).to_uppercase();
    if !key.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(g.param_error("keys", "a key has no letters"));
    }
    let words = message_words(g, &p.words, p.min_words, p.max_words);
    let plain = punctuate(g, &words);
    let (cipher, trace) = vigenere(&plain, &key);
    let prompt = format!(
        "Encrypt this message with the Vigenère cipher using the key {key}.\n\nMessage: {plain}\n\nRules: number the \
letters A=0, B=1, …, Z=25. Each message letter is shifted forward by the number of the key letter under it, \
wrapping past Z back to A. The key is repeated as often as needed and advances only on letters: spaces and \
punctuation are copied unchanged and do not use up a key letter. Answer with the ciphertext in capital letters, \
keeping the spaces and punctuation."
    );
    let upper = plain.to_uppercase();
    let mut under = String::new();
    let mut k = 0;
    for c in upper.chars() {
        if c.is_ascii_alphabetic() {
            under.push(trace[k].1);
            k += 1;
        } else {
            under.push(c);
        }
    }
    let nums: Vec<String> = trace
        .iter()
        .map(|(p, kc, _)| format!("{p}{}+{kc}{}", p.to_ascii_uppercase() as u8 - b'A', *kc as u8 - b'A'))
        .collect();
    let sums: Vec<String> =
        trace.iter().map(|(_, _, s)| if *s >= 26 { format!("{s}−26={}", s - 26) } else { s.to_string() }).collect();
    Ok(exact(
        prompt,
        cipher.clone(),
        [
            step(format!("Message in capitals: {upper}"), upper.clone()),
            step(format!("Key under the letters only: {under}"), under.clone()),
            step(format!("Numbers (message+key): {}.", nums.join(", ")), format!("{} letter pairs", trace.len())),
            step(
                format!("Sums mod 26: {}.", sums.join(", ")),
                join(&trace.iter().map(|t| t.2 % 26).collect::<Vec<_>>(), ", "),
            ),
            step(format!("Back to letters, non-letters kept: {cipher}"), cipher),
        ],
    ))
}

fn atbash(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                char::from(b'Z' - (c as u8 - b'A'))
            } else if c.is_ascii_lowercase() {
                char::from(b'z' - (c as u8 - b'a'))
            } else {
                c
            }
        })
        .collect()
}

cipher_params! {
    /// Parameters of `atbash_mirror`.
    struct AtbashMirrorParams {
        ..message(max_words = 4),
    }
}

/// Atbash (mirror alphabet) on mixed-case text.
fn atbash_mirror(g: &mut Gen, p: &AtbashMirrorParams) -> Result<Generated> {
    let words = message_words(g, &p.words, p.min_words, p.max_words);
    let text = sentence_message(g, &words, 0.3);
    let given = if g.chance(0.5) { atbash(&text) } else { text };
    let answer = atbash(&given);
    let prompt = format!(
        "Apply the Atbash cipher to the text below. Each letter is replaced by its mirror in the alphabet: A↔Z, B↔Y, \
C↔X, and so on to M↔N. Letters keep their case; spaces, digits and punctuation are unchanged.\n\nText: \
{given}\n\nAnswer with the transformed text exactly, keeping case and punctuation."
    );
    let letters: Vec<char> = given.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    let pos = |c: char| (c.to_ascii_uppercase() as u8 - b'A' + 1) as u32;
    let out_letters: String = letters.iter().map(|c| atbash(&c.to_string())).collect();
    Ok(exact(
        prompt,
        answer.clone(),
        [
            step(
                format!(
                    "Positions: {}.",
                    letters.iter().map(|c| format!("{c}={}", pos(*c))).collect::<Vec<_>>().join(", ")
                ),
                format!("{} letters", letters.len()),
            ),
            step(
                format!(
                    "27 − position: {}.",
                    letters.iter().map(|c| format!("27−{}={}", pos(*c), 27 - pos(*c))).collect::<Vec<_>>().join(", ")
                ),
                join(&letters.iter().map(|c| 27 - pos(*c)).collect::<Vec<_>>(), ", "),
            ),
            step(format!("Back to letters: {}.", out_letters.to_uppercase()), out_letters.to_uppercase()),
            step(format!("Original case restored: {out_letters}."), out_letters.clone()),
            step(format!("With spaces, digits and punctuation kept: {answer}"), answer),
        ],
    ))
}

/// Rail index (0-based) of each position of a zigzag over `rails` rails.
fn zigzag(len: usize, rails: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(len);
    let (mut r, mut down) = (0usize, true);
    for _ in 0..len {
        out.push(r);
        if rails > 1 {
            if down && r + 1 == rails {
                down = false;
            } else if !down && r == 0 {
                down = true;
            }
            if down { r += 1 } else { r -= 1 }
        }
    }
    out
}

fn rail_fence(text: &str, rails: usize) -> (Vec<String>, String) {
    let cs: Vec<char> = text.chars().collect();
    let z = zigzag(cs.len(), rails);
    let rows: Vec<String> = (0..rails).map(|r| (0..cs.len()).filter(|&i| z[i] == r).map(|i| cs[i]).collect()).collect();
    let joined = rows.concat();
    (rows, joined)
}

fn letters_upper(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_uppercase()).collect()
}

cipher_params! {
    /// Parameters of `rail_fence_encrypt`.
    struct RailFenceEncryptParams {
        ..message(max_words = 4),
        /// Fewest rails (at least 2).
        min_rails: i64 = 2,
        /// Most rails (at least 2).
        max_rails: i64 = 4,
    }
}

/// Rail fence (zigzag) encryption.
fn rail_fence_encrypt(g: &mut Gen, p: &RailFenceEncryptParams) -> Result<Generated> {
    let words = message_words(g, &p.words, p.min_words, p.max_words);
    let plain = punctuate(g, &words);
    let rails = g.range(p.min_rails.max(2), p.max_rails.max(2)) as usize;
    let clean = letters_upper(&plain);
    let (rows, cipher) = rail_fence(&clean, rails);
    let z = zigzag(clean.len(), rails);
    let prompt = format!(
        "Encrypt this message with a rail fence cipher on {rails} rails.\n\nMessage: {plain}\n\nRules: remove \
spaces and punctuation and write the letters in capitals. Write them in a zigzag: the first letter on rail 1, the \
next on rail 2, and so on down to rail {rails}, then back up to rail 1, then down again, repeating (the letters at \
the turns are written only once). Then read rail 1 from left to right, followed by rail 2, and so on down to rail \
{rails}. Answer with the ciphertext as one string of capital letters with no spaces."
    );
    let assign: Vec<String> = clean.chars().zip(&z).map(|(c, r)| format!("{c}{}", r + 1)).collect();
    Ok(exact(
        prompt,
        cipher.clone(),
        [
            step(format!("Letters only: {clean} ({} letters).", clean.len()), clean.clone()),
            step(
                format!("Rail of each letter: {}.", assign.join(" ")),
                join(&z.iter().map(|r| r + 1).collect::<Vec<_>>(), ""),
            ),
            step(
                (0..rails).map(|r| format!("rail {}: {}", r + 1, rows[r])).collect::<Vec<_>>().join("; "),
                rows.join(" / "),
            ),
            step(format!("Read in rail order: {}.", rows.join(" + ")), rows.join(" ")),
            step(format!("Joined: {cipher}"), cipher),
        ],
    ))
}

/// Columnar transposition: the grid rows, the column read order (0-based columns) and the ciphertext.
fn columnar(text: &str, key: &str) -> (Vec<String>, Vec<usize>, String) {
    let kc: Vec<char> = key.chars().collect();
    let w = kc.len();
    let mut cs: Vec<char> = text.chars().collect();
    while !cs.len().is_multiple_of(w) {
        cs.push('X');
    }
    let rows: Vec<String> = cs.chunks(w).map(|r| r.iter().collect()).collect();
    let mut order: Vec<usize> = (0..w).collect();
    order.sort_by_key(|&i| (kc[i], i));
    let cipher: String =
        order.iter().map(|&c| rows.iter().map(|r| r.as_bytes()[c] as char).collect::<String>()).collect();
    (rows, order, cipher)
}

cipher_params! {
    /// Parameters of `columnar_transposition`.
    struct ColumnarTranspositionParams {
        /// Keywords drawn from (letters only count; at least two each).
        keys: NonEmpty<String> = words(&[
            "ZEBRAS", "CARGO", "BANANA", "LEMON", "TIGER", "APPLE", "HELLO", "KITTEN", "SECRET", "DOOR", "GARDEN",
            "PEPPER",
        ]),
        ..message(max_words = 4),
    }
}

/// Keyword columnar transposition with X padding and left-to-right ties.
fn columnar_transposition(g: &mut Gen, p: &ColumnarTranspositionParams) -> Result<Generated> {
    let key = letters_upper(g.pick(&p.keys).as_str());
    if key.len() < 2 {
        return Err(g.param_error("keys", "keys need at least two letters"));
    }
    let words = message_words(g, &p.words, p.min_words, p.max_words);
    let plain = punctuate(g, &words);
    let clean = letters_upper(&plain);
    let (rows, order, cipher) = columnar(&clean, &key);
    let pad = rows.len() * key.len() - clean.len();
    let kc: Vec<char> = key.chars().collect();
    let mut rank = vec![0usize; key.len()];
    for (r, &c) in order.iter().enumerate() {
        rank[c] = r + 1;
    }
    let prompt = format!(
        "Encrypt this message with a columnar transposition cipher using the keyword {key}.\n\nMessage: \
{plain}\n\nRules: remove spaces and punctuation and write the letters in capitals. Write them in rows of {} under \
the keyword's letters, left to right, starting a new row when one is full; fill any empty cells of the last row with \
X. Number the columns by the alphabetical order of their keyword letters; when a letter repeats, the leftmost of the \
equal letters comes first. Read the columns top to bottom in that numbered order. Answer with the ciphertext as one \
string of capital letters with no spaces.",
        key.len()
    );
    let reads: Vec<String> = order
        .iter()
        .map(|&c| {
            format!("{}({}): {}", kc[c], rank[c], rows.iter().map(|r| r.as_bytes()[c] as char).collect::<String>())
        })
        .collect();
    Ok(exact(
        prompt,
        cipher.clone(),
        [
            step(format!("Letters only: {clean} ({} letters).", clean.len()), clean.clone()),
            step(format!("Grid under {key}: {} ({pad} X added).", rows.join(" / ")), rows.join(" / ")),
            step(
                format!(
                    "Column numbers: {}.",
                    kc.iter().zip(&rank).map(|(c, r)| format!("{c}={r}")).collect::<Vec<_>>().join(", ")
                ),
                join(&rank, " "),
            ),
            step(format!("Columns in order: {}.", reads.join("; ")), order.len().to_string() + " columns"),
            step(format!("Joined: {cipher}"), cipher),
        ],
    ))
}

/// The keyword cipher alphabet: deduplicated keyword, then the rest of A–Z in order.
fn keyword_alphabet(keyword: &str) -> (String, String) {
    let mut dedup = String::new();
    for c in letters_upper(keyword).chars() {
        if !dedup.contains(c) {
            dedup.push(c);
        }
    }
    let mut alpha = dedup.clone();
    for c in 'A'..='Z' {
        if !alpha.contains(c) {
            alpha.push(c);
        }
    }
    (dedup, alpha)
}

fn substitute(text: &str, alpha: &str) -> String {
    let a: Vec<char> = alpha.chars().collect();
    text.to_uppercase().chars().map(|c| if c.is_ascii_uppercase() { a[(c as u8 - b'A') as usize] } else { c }).collect()
}

cipher_params! {
    /// Parameters of `keyword_substitution`.
    struct KeywordSubstitutionParams {
        /// Keywords drawn from (letters only count).
        keywords: NonEmpty<String> = words(&[
            "ZEBRAS", "BALLOON", "KEYWORD", "PUZZLE", "COFFEE", "GALAXY", "JUMPING", "TOMORROW", "FREEDOM", "QUICKLY",
        ]),
        ..message(max_words = 4),
    }
}

/// Keyword (mixed-alphabet) substitution cipher.
fn keyword_substitution(g: &mut Gen, p: &KeywordSubstitutionParams) -> Result<Generated> {
    let keyword = letters_upper(g.pick(&p.keywords).as_str());
    if keyword.is_empty() {
        return Err(g.param_error("keywords", "a keyword has no letters"));
    }
    let words = message_words(g, &p.words, p.min_words, p.max_words);
    let plain = punctuate(g, &words);
    let (dedup, alpha) = keyword_alphabet(&keyword);
    let cipher = substitute(&plain, &alpha);
    let prompt = format!(
        "Encrypt this message with a keyword substitution cipher using the keyword {keyword}.\n\nMessage: \
{plain}\n\nRules: the cipher alphabet is the keyword with repeated letters removed (keep each letter's first \
occurrence), followed by the remaining letters of the alphabet in order A to Z, skipping letters already used. \
Plain A is replaced by the first letter of the cipher alphabet, B by the second, and so on. Spaces and punctuation \
are unchanged. Answer with the ciphertext in capital letters."
    );
    let upper = plain.to_uppercase();
    let mut used: Vec<char> = upper.chars().filter(|c| c.is_ascii_uppercase()).collect();
    used.sort();
    used.dedup();
    let ac: Vec<char> = alpha.chars().collect();
    let map: Vec<String> = used.iter().map(|&c| format!("{c}→{}", ac[(c as u8 - b'A') as usize])).collect();
    Ok(exact(
        prompt,
        cipher.clone(),
        [
            step(format!("{keyword} without repeats: {dedup}."), dedup.clone()),
            step(format!("Cipher alphabet: {dedup} + remaining letters = {alpha}."), alpha.clone()),
            step(
                format!("Plain ABCDEFGHIJKLMNOPQRSTUVWXYZ over {alpha}; letters used: {}.", map.join(", ")),
                map.join(" "),
            ),
            step(format!("{upper} → {cipher}"), letters_upper(&cipher)),
            step(format!("With spaces and punctuation kept: {cipher}"), cipher),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits() {
        let d = |s: &str| s.chars().map(|c| c.to_digit(10).unwrap()).collect::<Vec<_>>();
        assert_eq!(luhn(&d("7992739871")).2, 3);
        assert_eq!(luhn(&d("7992739871")).1, 67);
        assert_eq!(isbn10(&d("030640615")).2, '2');
        assert_eq!(isbn10(&d("080442957")).2, 'X');
        assert_eq!(isbn13(&d("978030640615")).2, 7);
    }

    #[test]
    fn ciphers() {
        assert_eq!(vigenere("attack at dawn", "LEMON").0, "LXFOPV EF RNHR");
        assert_eq!(rail_fence("WEAREDISCOVEREDFLEEATONCE", 3).1, "WECRLTEERDSOEEFEAOCAIVDEN");
        assert_eq!(columnar("WEAREDISCOVEREDFLEEATONCE", "ZEBRAS").2, "EVLNXACDTXESEAXROFOXDEECXWIREE");
        let (dedup, alpha) = keyword_alphabet("ZEBRAS");
        assert_eq!(dedup, "ZEBRAS");
        assert_eq!(substitute("flee at once.", &alpha), "SIAA ZQ LKBA.");
        assert_eq!(keyword_alphabet("BALLOON").0, "BALON");
        assert_eq!(caesar("Hello, World!", 29), "Khoor, Zruog!");
        assert_eq!(atbash("Wizard 42"), "Draziw 42");
    }

    #[test]
    fn transforms() {
        assert_eq!(rle("aaaBBbcccccccccccX"), "3a2B1b11c1X");
        assert_eq!(slug_steps("\"Rock & Roll: Don't Stop -- v2.0!").3, "rock-and-roll-dont-stop-v2-0");
        let f = password_failures("Tigermaria???", "Maria", 14);
        assert_eq!(f.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 3, 4, 5, 6]);
        assert!(password_failures("Sunset42!ok", "sam", 10).is_empty());
    }
}
