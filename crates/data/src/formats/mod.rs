//! SFT datasets in the formats TRL, Axolotl and LLaMA-Factory users already have on disk,
//! read from JSONL, JSON or Parquet files and turned into [`SftExample`](crate::sft::SftExample)s.
//!
//! Three steps, each its own function, so a caller can count and skip bad rows:
//!
//! 1. [`data_files`] expands the paths given (directories recursively) into a sorted list of
//!    `.jsonl`, `.json` and `.parquet` files;
//! 2. [`read_rows`] reads one file into JSON rows, each tagged with its [`Origin`]
//!    (`file:line` for JSON Lines, `file row N`, 0-based, for JSON arrays and Parquet);
//! 3. [`parse_row`] recognises a row's [`DataFormat`] (or takes the one forced) and checks it
//!    into a [`Sample`], which a [`Renderer`] (chat template + tokenizer + EOS of a model
//!    directory) turns into token ids and labels.
//!
//! | format | keys | trained tokens |
//! |---|---|---|
//! | `tokenized` | `input_ids`, `labels` | as given (lengths must match) |
//! | `messages` | `messages` (+ optional `system`) | assistant turns |
//! | `sharegpt` | `conversations` of `{from, value}` (+ optional `system`) | assistant (`gpt`) turns |
//! | `prompt-completion` | `prompt`, `completion`: strings, or lists of messages | the completion (+ EOS for strings) |
//! | `text` | `text` | every token, EOS appended |
//!
//! Detection goes down that table and takes the first format whose key the row has
//! (`input_ids` first, as TRL treats a dataset with `input_ids` as already tokenized); keys
//! holding `null` count as absent, which is how Parquet stores a column a row lacks.
//! Conversations must follow [the role rule](parse_row): an optional system message first,
//! then a user turn; assistant turns answer a user or tool turn; at least one assistant turn.
//!
//! ```
//! use skillsft_data::formats::{DataFormat, Sample, parse_row};
//!
//! let row = serde_json::json!({"conversations": [
//!     {"from": "human", "value": "2 + 2?"},
//!     {"from": "gpt", "value": "<think>\nAdd.\n</think>\n\n4"}]});
//! let (format, sample) = parse_row(&row, None).map_err(skillsft_data::DataError::Build)?;
//! assert_eq!(format, DataFormat::ShareGpt);
//! let Sample::Chat { messages } = sample else { unreachable!() };
//! assert_eq!(messages[1]["reasoning_content"], "Add.");
//! assert_eq!(messages[1]["content"], "4");
//! # Ok::<(), skillsft_data::DataError>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod files;
mod parse;
mod render;

pub use files::{data_files, read_rows};
pub use parse::{Sample, parse_row, split_inline_think};
pub use render::Renderer;

/// The shape of a dataset row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataFormat {
    /// `{"messages": [{"role", "content"}, …]}`, the Hugging Face / TRL conversational format.
    #[serde(rename = "messages")]
    Messages,
    /// `{"conversations": [{"from", "value"}, …]}`, as ShareGPT, Axolotl and LLaMA-Factory.
    #[serde(rename = "sharegpt")]
    ShareGpt,
    /// `{"prompt", "completion"}`, TRL's prompt-completion format, plain or conversational.
    #[serde(rename = "prompt-completion")]
    PromptCompletion,
    /// `{"text"}`, plain language modelling.
    #[serde(rename = "text")]
    Text,
    /// `{"input_ids", "labels"}`, already tokenized (`build-data tokenize`).
    #[serde(rename = "tokenized")]
    Tokenized,
}

impl DataFormat {
    /// Every format, in detection order.
    pub const ALL: [DataFormat; 5] = [
        DataFormat::Tokenized,
        DataFormat::Messages,
        DataFormat::ShareGpt,
        DataFormat::PromptCompletion,
        DataFormat::Text,
    ];

    /// The name used on the command line, in configs and in messages.
    pub fn name(self) -> &'static str {
        match self {
            DataFormat::Messages => "messages",
            DataFormat::ShareGpt => "sharegpt",
            DataFormat::PromptCompletion => "prompt-completion",
            DataFormat::Text => "text",
            DataFormat::Tokenized => "tokenized",
        }
    }

    /// `auto` (detect per row: `None`) or a format name (`Some`), for a `--data-format` flag.
    pub fn parse_or_auto(s: &str) -> Result<Option<DataFormat>, String> {
        if s == "auto" { Ok(None) } else { s.parse().map(Some) }
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DataFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DataFormat::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = DataFormat::ALL.iter().map(|f| f.name()).collect();
            format!("unknown data format {s:?}: use auto, {}", names.join(", "))
        })
    }
}

/// Where in its file a row sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Position {
    /// 1-based line of a JSON Lines file.
    Line(usize),
    /// 0-based index of a row in a JSON array or a Parquet file (as `datasets` indexes it).
    Row(usize),
}

/// The file and place a row came from; displays as `path:12` (line) or `path row 3` (row).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The data file.
    pub file: PathBuf,
    /// The line or row in it.
    pub position: Position,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Position::Line(n) => write!(f, "{}:{n}", self.file.display()),
            Position::Row(n) => write!(f, "{} row {n}", self.file.display()),
        }
    }
}

/// One row as read from disk: a JSON value (an object, for a usable row) and its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// Where it came from.
    pub origin: Origin,
    /// The row; Parquet rows are converted to the value the same row would have in JSONL.
    pub value: serde_json::Value,
}

impl RawRow {
    /// [`parse_row`] with this row's origin on the error.
    pub fn parse(&self, forced: Option<DataFormat>) -> Result<(DataFormat, Sample), RowError> {
        parse_row(&self.value, forced).map_err(|message| self.error(message))
    }

    /// An error about this row.
    pub fn error(&self, message: impl fmt::Display) -> RowError {
        RowError { origin: self.origin.clone(), message: message.to_string() }
    }
}

/// A row that cannot be used; the caller decides whether to skip it or stop.
/// Displays as `origin: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct RowError {
    /// Where the row is.
    pub origin: Origin,
    /// What is wrong, in words.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in DataFormat::ALL {
            assert_eq!(f.name().parse::<DataFormat>().unwrap(), f);
            assert_eq!(f.to_string(), f.name());
            assert_eq!(serde_json::to_value(f).unwrap(), f.name());
            assert_eq!(serde_json::from_value::<DataFormat>(f.name().into()).unwrap(), f);
        }
        assert_eq!(DataFormat::parse_or_auto("auto").unwrap(), None);
        assert_eq!(DataFormat::parse_or_auto("sharegpt").unwrap(), Some(DataFormat::ShareGpt));
        let err = "alpaca".parse::<DataFormat>().unwrap_err();
        assert_eq!(
            err,
            "unknown data format \"alpaca\": use auto, tokenized, messages, sharegpt, prompt-completion, text"
        );
    }

    #[test]
    fn origins_display_lines_and_rows() {
        let line = Origin { file: "a/b.jsonl".into(), position: Position::Line(12) };
        let row = Origin { file: "c.parquet".into(), position: Position::Row(0) };
        assert_eq!(line.to_string(), "a/b.jsonl:12");
        assert_eq!(row.to_string(), "c.parquet row 0");
        let e = RawRow { origin: row, value: serde_json::Value::Null }.error("bad");
        assert_eq!(e.to_string(), "c.parquet row 0: bad");
        assert_eq!(crate::DataError::from(e).to_string(), "c.parquet row 0: bad");
    }
}
