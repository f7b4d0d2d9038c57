//! Which files of a dataset repo make up which split, for repos without a loading script and
//! without `configs:` in their README: the rules of the `datasets` library
//! (`datasets/data_files.py`, 5.2.0), tried in its order, the first rule that matches any file
//! deciding the splits:
//!
//! 1. Sharded files directly in `data/`: `data/{split}-NNNNN-of-NNNNN*.*` (five digits each),
//!    any split name made of word characters and dots (`train`, `test.clean`).
//! 2. A directory named after a split, at any depth: a path component that is a keyword or holds
//!    it between separators (`train/`, `default/train/`, `train-2024/`, `default/partial-train/`).
//! 3. A file named after a split, at any depth: a base name starting with a keyword and a
//!    separator, or holding one between separators (`train.jsonl`, `data/train-0.parquet`,
//!    `my_test_set.json`).
//! 4. Otherwise every data file is `train`.
//!
//! Rules 2 and 3 know three splits and their keywords: `train` (train, training), `validation`
//! (validation, valid, dev, val) and `test` (test, testing, eval, evaluation); separators are
//! `-`, `.`, `_`, space and digits. Hidden paths (a component starting with `.`), directories
//! starting with `__`, and `datasets`' ignored names (README.md, config.json, dataset_info.json,
//! dataset_infos.json, dataset_dict.json) are skipped. Unlike `datasets`, only files this tool can
//! read take part at all ([`DATA_EXTENSIONS`]), and a sharded name whose split is not a word
//! (`data/my-set-00000-of-00001.parquet`), which `datasets` refuses, is left to the later rules.
//!
//! The parquet branch the hub writes (`refs/convert/parquet`, laid out
//! `{config}/{split}/NNNN.parquet`) falls under rule 2 for the three named splits; the files of
//! every config come together, as they do for a repo whose README lists several configs.

/// Extensions of the data files a dataset split is made of.
pub const DATA_EXTENSIONS: &[&str] = &["parquet", "jsonl", "json"];

/// Splits that rules 2 and 3 recognise, in `datasets`' order, with their keywords.
const KEYWORD_SPLITS: [(&str, &[&str]); 3] = [
    ("train", &["train", "training"]),
    ("validation", &["validation", "valid", "dev", "val"]),
    ("test", &["test", "testing", "eval", "evaluation"]),
];

/// File names `datasets` never treats as data.
const IGNORED_NAMES: &[&str] =
    &["README.md", "config.json", "dataset_info.json", "dataset_infos.json", "dummy_data.zip", "dataset_dict.json"];

/// Whether `path` (`/`-separated, relative to the repo root) is a data file a split can hold.
pub fn is_data_file(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let Some(name) = parts.pop() else { return false };
    if name.is_empty() || name.starts_with('.') || IGNORED_NAMES.contains(&name) {
        return false;
    }
    if parts.iter().any(|d| d.is_empty() || d.starts_with('.') || d.starts_with("__")) {
        return false;
    }
    name.rsplit_once('.').is_some_and(|(stem, ext)| !stem.is_empty() && DATA_EXTENSIONS.contains(&ext))
}

/// The splits of a repo holding `paths`, each with its data files (sorted), in `datasets`' order:
/// train, validation, test, then others by name. Files that are not [`is_data_file`] are left
/// out; no data files at all gives no splits.
pub fn infer_splits<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<(String, Vec<String>)> {
    let mut files: Vec<&str> = paths.into_iter().filter(|p| is_data_file(p)).collect();
    files.sort_unstable();
    files.dedup();
    if files.is_empty() {
        return Vec::new();
    }

    // Rule 1: data/{split}-NNNNN-of-NNNNN*.*
    let mut sharded: Vec<(String, Vec<String>)> = Vec::new();
    for path in &files {
        if let Some(split) = path.strip_prefix("data/").and_then(sharded_split) {
            match sharded.iter_mut().find(|(name, _)| name == split) {
                Some((_, list)) => list.push(path.to_string()),
                None => sharded.push((split.to_string(), vec![path.to_string()])),
            }
        }
    }
    if !sharded.is_empty() {
        let rank = |name: &str| KEYWORD_SPLITS.iter().position(|(s, _)| *s == name).unwrap_or(KEYWORD_SPLITS.len());
        sharded.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
        return sharded;
    }

    // Rule 2: a directory named after a split; rule 3: a file named after one.
    let in_dir = |path: &str, keyword: &str| {
        let dirs = path.rsplit_once('/').map_or("", |(dirs, _)| dirs);
        !dirs.is_empty() && dirs.split('/').any(|d| names_keyword(d, keyword))
    };
    let in_name = |path: &str, keyword: &str| {
        let name = path.rsplit_once('/').map_or(path, |(_, name)| name);
        names_keyword_in_file_name(name, keyword)
    };
    for rule in [&in_dir as &dyn Fn(&str, &str) -> bool, &in_name] {
        let splits: Vec<(String, Vec<String>)> = KEYWORD_SPLITS
            .iter()
            .map(|(split, keywords)| {
                let matched = files.iter().filter(|p| keywords.iter().any(|k| rule(p, k)));
                (split.to_string(), matched.map(|p| p.to_string()).collect::<Vec<_>>())
            })
            .filter(|(_, list)| !list.is_empty())
            .collect();
        if !splits.is_empty() {
            return splits;
        }
    }

    // Rule 4.
    vec![("train".to_string(), files.iter().map(|p| p.to_string()).collect())]
}

/// The split of a base name `{split}-NNNNN-of-NNNNN*.*`, the last such marker counting (as the
/// greedy match in `datasets` does); `None` when there is no marker or the split is not word
/// characters joined by dots.
fn sharded_split(name: &str) -> Option<&str> {
    const MARKER_LEN: usize = "-00000-of-00000".len();
    let bytes = name.as_bytes();
    let is_marker = |at: usize| {
        let m = &bytes[at..at + MARKER_LEN];
        m[0] == b'-'
            && m[1..6].iter().all(u8::is_ascii_digit)
            && &m[6..10] == b"-of-"
            && m[10..15].iter().all(u8::is_ascii_digit)
    };
    let at = (1..=bytes.len().checked_sub(MARKER_LEN)?).rev().find(|&at| is_marker(at))?;
    let (split, rest) = (&name[..at], &name[at + MARKER_LEN..]);
    let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_');
    (rest.contains('.') && split.split('.').all(word)).then_some(split)
}

fn is_separator(c: char) -> bool {
    matches!(c, '-' | '.' | '_' | ' ') || c.is_ascii_digit()
}

/// Whether a directory name is `keyword`, or holds it after a separator, before one, or both:
/// `datasets`' `{kw}/`, `{kw}[sep]*/`, `*[sep]{kw}/` and `*[sep]{kw}[sep]*/`.
fn names_keyword(dir: &str, keyword: &str) -> bool {
    dir.match_indices(keyword).any(|(at, _)| {
        let before = dir[..at].chars().next_back();
        let after = dir[at + keyword.len()..].chars().next();
        before.is_none_or(is_separator) && after.is_none_or(is_separator)
    })
}

/// Whether a file name starts with `keyword` and a separator, or holds it between two:
/// `datasets`' `{kw}[sep]*` and `*[sep]{kw}[sep]*`.
fn names_keyword_in_file_name(name: &str, keyword: &str) -> bool {
    name.match_indices(keyword).any(|(at, _)| {
        let before = name[..at].chars().next_back();
        let after = name[at + keyword.len()..].chars().next();
        before.is_none_or(is_separator) && after.is_some_and(is_separator)
    })
}

/// Shards named `…-NNNNN-of-MMMMM…` in `files` that are missing: for every family (same
/// directory, text before the marker and count), the indices below the count not present.
pub(crate) fn missing_shards(files: &[String]) -> Vec<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut families: BTreeMap<(String, u32), BTreeSet<u32>> = BTreeMap::new();
    for path in files {
        let Some((prefix, index, count)) = shard_marker(path) else { continue };
        families.entry((prefix.to_string(), count)).or_default().insert(index);
    }
    let mut missing = Vec::new();
    for ((prefix, count), seen) in families {
        missing.extend((0..count).filter(|i| !seen.contains(i)).map(|i| format!("{prefix}-{i:05}-of-{count:05}")));
    }
    missing
}

/// `(path before the marker, index, count)` for a path whose base name holds `-NNNNN-of-MMMMM`.
fn shard_marker(path: &str) -> Option<(&str, u32, u32)> {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    let at = path[name_start..].rfind("-of-")? + name_start;
    let index_digits = path.get(at.checked_sub(5)?..at)?;
    let count_digits = path.get(at + 4..at + 9)?;
    if !index_digits.bytes().all(|b| b.is_ascii_digit())
        || !count_digits.bytes().all(|b| b.is_ascii_digit())
        || at < name_start + 6
        || path.as_bytes()[at - 6] != b'-'
    {
        return None;
    }
    Some((&path[..at - 6], index_digits.parse().ok()?, count_digits.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn splits(paths: &[&str]) -> Vec<(String, Vec<String>)> {
        infer_splits(paths.iter().copied())
    }

    fn names(paths: &[&str]) -> Vec<String> {
        splits(paths).into_iter().map(|(n, _)| n).collect()
    }

    fn files_of(paths: &[&str], split: &str) -> Vec<String> {
        splits(paths).into_iter().find(|(n, _)| n == split).map(|(_, f)| f).unwrap_or_default()
    }

    #[test]
    fn sharded_data_dir_names_any_split_and_wins() {
        let repo = [
            "README.md",
            "data/test-00000-of-00001.parquet",
            "data/train-00000-of-00002.parquet",
            "data/train-00001-of-00002.parquet",
            "data/extra.more-00000-of-00001.parquet",
            "data/validation-00000-of-00001-abc123.parquet",
            "train.jsonl",
        ];
        assert_eq!(names(&repo), ["train", "validation", "test", "extra.more"]);
        assert_eq!(
            files_of(&repo, "train"),
            ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]
        );
        assert_eq!(files_of(&repo, "validation"), ["data/validation-00000-of-00001-abc123.parquet"]);
    }

    #[test]
    fn sharded_needs_the_data_dir_and_a_word_split() {
        // Not directly in data/: rule 3 reads the names instead.
        assert_eq!(names(&["x/data/train-00000-of-00001.parquet"]), ["train"]);
        // A split with a dash is not a split name for rule 1.
        assert_eq!(names(&["data/my-set-00000-of-00001.parquet"]), ["train"]);
        assert_eq!(sharded_split("my-set-00000-of-00001.parquet"), None);
        // The last marker counts, leaving a split with dashes: no split.
        assert_eq!(sharded_split("a-00000-of-00001-00001-of-00002.json"), None);
        assert_eq!(sharded_split("test.clean-00003-of-00010.parquet"), Some("test.clean"));
    }

    #[test]
    fn split_directories() {
        let repo = [
            "default/train/0000.parquet",
            "default/train/0001.parquet",
            "default/test/0000.parquet",
            "misc/notes.json",
        ];
        assert_eq!(names(&repo), ["train", "test"]);
        assert_eq!(files_of(&repo, "train"), ["default/train/0000.parquet", "default/train/0001.parquet"]);
        assert_eq!(names(&["default/partial-train/0000.parquet"]), ["train"]);
        assert_eq!(names(&["dev/a.jsonl", "training/b.jsonl", "eval_2024/c.jsonl"]), ["train", "validation", "test"]);
        // `trainer/` holds no keyword between separators: every file is train by rule 4, the
        // directory is not a split.
        assert_eq!(files_of(&["trainer/a.jsonl", "other/b.jsonl"], "train").len(), 2);
        // The first rule that matches decides every split: `test.jsonl` is not read by name.
        assert_eq!(
            splits(&["train/a.jsonl", "test.jsonl"]),
            [("train".to_string(), vec!["train/a.jsonl".to_string()])]
        );
    }

    #[test]
    fn split_file_names() {
        let repo = ["train.jsonl", "test.jsonl", "my_val_set.json", "contest.jsonl"];
        assert_eq!(names(&repo), ["train", "validation", "test"]);
        assert_eq!(files_of(&repo, "test"), ["test.jsonl"]);
        assert_eq!(files_of(&repo, "validation"), ["my_val_set.json"]);
        assert_eq!(files_of(&["data/train-0.parquet", "data/test-0.parquet"], "train"), ["data/train-0.parquet"]);
        // A keyword must be followed by a separator: `train` alone is a stem, not a match.
        assert_eq!(names(&["pretrain.jsonl", "trainx.json"]), ["train"]);
        assert_eq!(files_of(&["pretrain.jsonl", "trainx.json", "test.json"], "train"), Vec::<String>::new());
    }

    #[test]
    fn everything_else_is_train_and_non_data_is_ignored() {
        let repo = ["a.jsonl", "b/c.parquet", "README.md", ".gitattributes", "notes.txt", "config.json", "__x/d.json"];
        assert_eq!(splits(&repo), [("train".to_string(), vec!["a.jsonl".to_string(), "b/c.parquet".to_string()])]);
        assert!(splits(&["README.md", "data.csv"]).is_empty());
        assert!(!is_data_file(".hidden/train.jsonl"));
        assert!(!is_data_file(".jsonl"));
        assert!(is_data_file("x/y/z.json"));
    }

    #[test]
    fn missing_shards_per_family() {
        let files: Vec<String> = ["data/train-00000-of-00003.parquet", "data/train-00002-of-00003.parquet", "x.jsonl"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(missing_shards(&files), ["data/train-00001-of-00003"]);
        assert!(missing_shards(&files[..0]).is_empty());
        assert_eq!(shard_marker("a/b-00001-of-00002.json"), Some(("a/b", 1, 2)));
        assert_eq!(shard_marker("a-of-b/c.json"), None);
    }
}
