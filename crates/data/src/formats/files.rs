//! Data files: which files a list of paths names, and their rows as JSON values.
//!
//! - `.jsonl`: one row per line; blank lines are skipped; a line that is not JSON is a row
//!   error at its 1-based line.
//! - `.json`: a top-level array of rows, or an object whose `data` key holds that array;
//!   anything else is read as JSON Lines, because `datasets`' `Dataset.to_json` writes JSON
//!   Lines into `.json` files by default.
//! - `.parquet`: one row per record, read with the `parquet` crate's record API; structs
//!   become objects, lists arrays, missing values `null`, so a row equals its JSONL form
//!   (plus `null` for the columns other rows have).

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;

use super::{Origin, Position, RawRow, RowError};
use crate::error::{DataError, Result};

/// Extensions read, in the order the error message lists them.
const EXTENSIONS: [&str; 3] = ["jsonl", "json", "parquet"];

/// Files `datasets`' `save_to_disk` and `push_to_hub` leave beside the data: skipped when a
/// directory is expanded (a file named explicitly is always read).
const METADATA_FILES: [&str; 3] = ["dataset_info.json", "state.json", "dataset_dict.json"];

/// The data files `paths` name: files as given (in the given order, each checked to have a
/// known extension), directories replaced by every `.jsonl`/`.json`/`.parquet` file below
/// them, recursively, sorted by path. Hidden entries (names starting with `.`) and the
/// `datasets` metadata files are skipped inside directories. A directory holding no data
/// file is an error.
pub fn data_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            if found.is_empty() {
                return Err(DataError::Dataset {
                    path: path.clone(),
                    message: "directory holds no .jsonl, .json or .parquet file".into(),
                });
            }
            found.sort();
            files.extend(found);
        } else {
            kind(path)?;
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        // `metadata` follows symbolic links, as a user who links a dataset in expects.
        let meta = std::fs::metadata(&path).map_err(|e| DataError::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, found)?;
        } else if kind(&path).is_ok() && !METADATA_FILES.contains(&name.as_ref()) {
            found.push(path);
        }
    }
    Ok(())
}

/// The known extension of `path`, lower-cased.
fn kind(path: &Path) -> Result<&'static str> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    EXTENSIONS.into_iter().find(|k| ext.as_deref() == Some(*k)).ok_or_else(|| DataError::Dataset {
        path: path.to_path_buf(),
        message: match ext {
            Some(ext) => format!("unknown extension .{ext}: data files must be .jsonl, .json or .parquet"),
            None => "no extension: data files must be .jsonl, .json or .parquet".into(),
        },
    })
}

/// Every row of one data file, in file order. The outer error is about the whole file
/// (unreadable, unknown extension, corrupt Parquet, a `.json` array that does not parse) and
/// is always fatal; an inner error is one row (a JSONL line that is not JSON) that a caller
/// may skip.
pub fn read_rows(path: &Path) -> Result<Vec<std::result::Result<RawRow, RowError>>> {
    match kind(path)? {
        "parquet" => read_parquet(path),
        "json" => read_json(path),
        _ => {
            let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
            Ok(json_lines(path, &bytes))
        }
    }
}

fn json_lines(path: &Path, bytes: &[u8]) -> Vec<std::result::Result<RawRow, RowError>> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut rows = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let origin = Origin { file: path.to_path_buf(), position: Position::Line(i + 1) };
        rows.push(match serde_json::from_slice::<Value>(line) {
            Ok(value) => Ok(RawRow { origin, value }),
            Err(e) => Err(RowError { origin, message: format!("not valid JSON ({e})") }),
        });
    }
    rows
}

fn read_json(path: &Path) -> Result<Vec<std::result::Result<RawRow, RowError>>> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let array = |items: Vec<Value>| {
        let rows = items.into_iter().enumerate();
        rows.map(|(i, value)| {
            Ok(RawRow { origin: Origin { file: path.to_path_buf(), position: Position::Row(i) }, value })
        })
        .collect()
    };
    if first == Some(&b'[') {
        return match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => Ok(array(items)),
            Ok(_) => Err(DataError::Dataset { path: path.into(), message: "not a JSON array".into() }),
            Err(e) => Err(DataError::Dataset { path: path.into(), message: format!("not a valid JSON array ({e})") }),
        };
    }
    if let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(body)
        && let Some(Value::Array(items)) = obj.remove("data")
    {
        return Ok(array(items));
    }
    Ok(json_lines(path, &bytes))
}

fn read_parquet(path: &Path) -> Result<Vec<std::result::Result<RawRow, RowError>>> {
    let bad = |e: parquet::errors::ParquetError| DataError::Dataset {
        path: path.into(),
        message: format!("cannot read as Parquet ({e}); snappy-compressed or uncompressed files are supported"),
    };
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(bad)?;
    let mut rows = Vec::new();
    for (i, row) in reader.get_row_iter(None).map_err(bad)?.enumerate() {
        let value = row.map_err(bad)?.to_json_value();
        rows.push(Ok(RawRow { origin: Origin { file: path.to_path_buf(), position: Position::Row(i) }, value }));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<std::result::Result<RawRow, RowError>> {
        json_lines(Path::new("d.jsonl"), text.as_bytes())
    }

    #[test]
    fn json_lines_keep_line_numbers_and_flag_bad_lines() {
        let rows = lines_of("\u{feff}{\"text\": \"a\"}\n\n  \r\n{\"text\": \nnot json\r\n{\"text\": \"b\"}\r\n");
        let shown: Vec<String> = rows
            .iter()
            .map(|r| match r {
                Ok(row) => format!("{} {}", row.origin, row.value),
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert_eq!(shown[0], "d.jsonl:1 {\"text\":\"a\"}");
        assert!(shown[1].starts_with("d.jsonl:4: not valid JSON (EOF while parsing"), "{}", shown[1]);
        assert!(shown[2].starts_with("d.jsonl:5: not valid JSON (expected ident"), "{}", shown[2]);
        assert_eq!(shown[3], "d.jsonl:6 {\"text\":\"b\"}");
    }

    #[test]
    fn invalid_utf8_is_a_row_error() {
        let rows = json_lines(Path::new("d.jsonl"), b"{\"text\": \"\xff\"}\n{\"text\": \"ok\"}\n");
        assert!(rows[0].as_ref().unwrap_err().message.contains("not valid JSON"));
        assert!(rows[1].is_ok());
    }

    #[test]
    fn extensions_are_checked() {
        assert_eq!(kind(Path::new("a.JSONL")).unwrap(), "jsonl");
        let err = kind(Path::new("a/b.csv")).unwrap_err().to_string();
        assert_eq!(err, "a/b.csv: unknown extension .csv: data files must be .jsonl, .json or .parquet");
        assert!(kind(Path::new("README")).unwrap_err().to_string().contains("no extension"));
    }
}
