//! Dataset formats (`skillsft_data::formats`) against `transformers` and `datasets`.
//!
//! Fixtures: `tests/fixtures/datasets/files/` (JSONL, JSON and Parquet files, the Parquet ones
//! written by `datasets.Dataset.to_parquet`) and `expected.json` (rendered text, token ids and
//! trained ranges from `AutoTokenizer.apply_chat_template` / `tokenizer(...)`), both written by
//! `tools/fixtures/make_dataset_fixtures.py`; regenerate from the workspace root with
//! `/work/pyenv/bin/python tools/fixtures/make_dataset_fixtures.py`. Tolerance: none — text,
//! ids and labels must be identical.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use skillsft_data::DataError;
use skillsft_data::formats::{DataFormat, Position, RawRow, Renderer, RowError, Sample, data_files, read_rows};
use skillsft_data::sft::{IGNORE, SftExample};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/datasets")
}

fn renderer() -> Renderer {
    Renderer::from_model_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/tokenizer/qwen3.5")).unwrap()
}

/// `origin` with the file relative to `base`, as `expected.json` writes it.
fn relative(row: &RawRow, base: &Path) -> String {
    let file = row.origin.file.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/");
    match row.origin.position {
        Position::Line(n) => format!("{file}:{n}"),
        Position::Row(n) => format!("{file} row {n}"),
    }
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Labels from the ids and the `[start, end)` trained ranges of an expected case.
fn labels(case: &Value) -> Vec<i64> {
    let ids = u32s(&case["ids"]);
    let mut labels = vec![IGNORE; ids.len()];
    for r in case["trained"].as_array().unwrap() {
        for i in r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize {
            labels[i] = ids[i] as i64;
        }
    }
    labels
}

fn check_case(r: &Renderer, sample: &Sample, thinking: bool, case: &Value, at: &str) {
    assert_eq!(r.render(sample, thinking).unwrap(), case["text"].as_str().unwrap(), "{at} thinking={thinking}");
    let ex = r.tokenize(sample, thinking).unwrap();
    assert_eq!(ex.input_ids, u32s(&case["ids"]), "{at} thinking={thinking}");
    assert_eq!(ex.labels, labels(case), "{at} thinking={thinking}");
}

/// Every row of every fixture file, read from the directory: origin, detected format, the
/// mapped messages, and the rendered text, ids and labels with thinking on and off.
#[test]
fn every_fixture_row_matches_transformers() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap();
    let expected = expected["rows"].as_array().unwrap();
    let r = renderer();
    let base = fixtures().join("files");
    let files = data_files(std::slice::from_ref(&base)).unwrap();
    let names: Vec<String> =
        files.iter().map(|f| f.strip_prefix(&base).unwrap().to_string_lossy().replace('\\', "/")).collect();
    assert_eq!(
        names,
        [
            "messages.jsonl",
            "mixed.json",
            "parquet/messages.parquet",
            "parquet/prompt_completion.parquet",
            "parquet/sharegpt.parquet",
            "parquet/tokenized.parquet",
            "prompt_completion.jsonl",
            "sharegpt.jsonl",
            "text.jsonl",
            "tokenized.jsonl"
        ]
    );
    let mut rows = Vec::new();
    for file in &files {
        rows.extend(read_rows(file).unwrap().into_iter().map(Result::unwrap));
    }
    assert_eq!(rows.len(), expected.len());
    let mut seen = std::collections::HashSet::new();
    for (row, want) in rows.iter().zip(expected) {
        let at = relative(row, &base);
        assert_eq!(at, want["origin"].as_str().unwrap());
        let (format, sample) = row.parse(None).unwrap();
        assert_eq!(format.name(), want["format"].as_str().unwrap(), "{at}");
        seen.insert(format);
        match &sample {
            Sample::Chat { messages } => {
                assert_eq!(want["kind"], "chat", "{at}");
                assert_eq!(&Value::Array(messages.clone()), &want["messages"], "{at}");
            }
            Sample::ChatCompletion { prompt, completion } => {
                assert_eq!(want["kind"], "chat_completion", "{at}");
                assert_eq!(&Value::Array(prompt.clone()), &want["prompt"], "{at}");
                assert_eq!(&Value::Array(completion.clone()), &want["completion"], "{at}");
            }
            Sample::Completion { .. } => assert_eq!(want["kind"], "completion", "{at}"),
            Sample::Text(_) => assert_eq!(want["kind"], "text", "{at}"),
            Sample::Tokenized(ex) => {
                assert_eq!(want["kind"], "tokenized", "{at}");
                let labels: Vec<i64> = want["labels"].as_array().unwrap().iter().map(|l| l.as_i64().unwrap()).collect();
                assert_eq!(ex, &SftExample { input_ids: u32s(&want["ids"]), labels }, "{at}");
                assert_eq!(&r.tokenize(&sample, true).unwrap(), ex);
                continue;
            }
        }
        if want.get("thinking").is_some() {
            check_case(&r, &sample, true, &want["thinking"], &at);
            check_case(&r, &sample, false, want.get("no_thinking").unwrap_or(&want["thinking"]), &at);
        } else {
            check_case(&r, &sample, true, want, &at);
            check_case(&r, &sample, false, want, &at);
        }
    }
    assert_eq!(seen.len(), DataFormat::ALL.len(), "every format is covered: {seen:?}");
}

/// A `messages` row read from Parquet equals the same row read from JSON Lines: `datasets`
/// fills the keys other rows have with `null`, which the parser drops.
#[test]
fn parquet_rows_convert_to_json_with_nulls() {
    let rows = read_rows(&fixtures().join("files/parquet/messages.parquet")).unwrap();
    let first = rows[0].as_ref().unwrap();
    assert_eq!(
        first.value,
        json!({"system": null, "messages": [
            {"role": "user", "content": "Is 7 prime?", "reasoning_content": null},
            {"role": "assistant", "content": "Yes.", "reasoning_content": "7 has no divisors but 1 and 7."}]})
    );
    let as_jsonl = json!({"messages": [{"role": "user", "content": "Is 7 prime?"},
        {"role": "assistant", "content": "Yes.", "reasoning_content": "7 has no divisors but 1 and 7."}]});
    assert_eq!(first.parse(None).unwrap(), skillsft_data::formats::parse_row(&as_jsonl, None).unwrap());
    let tokenized = read_rows(&fixtures().join("files/parquet/tokenized.parquet")).unwrap();
    assert_eq!(tokenized[0].as_ref().unwrap().value, json!({"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}));
}

#[test]
fn forced_format_errors_name_the_row() {
    let text = fixtures().join("files/text.jsonl");
    for row in read_rows(&text).unwrap() {
        let row = row.unwrap();
        assert_eq!(row.parse(Some(DataFormat::Text)).unwrap().0, DataFormat::Text);
        let err = row.parse(Some(DataFormat::Messages)).unwrap_err();
        assert_eq!(err.origin, row.origin);
        assert!(err.message.starts_with("a messages row needs \"messages\"; its keys are \"text\""), "{err}");
    }
    let parquet = fixtures().join("files/parquet/sharegpt.parquet");
    let row = read_rows(&parquet).unwrap().remove(1).unwrap();
    let err = row.parse(Some(DataFormat::PromptCompletion)).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{} row 1: a prompt-completion row needs \"prompt\"; its keys are \"conversations\", \"system\"",
            parquet.display()
        )
    );
}

/// Every kind of bad row, read from one JSONL file: each error carries `file:line` and the
/// good rows around them still come through.
#[test]
fn bad_rows_are_reported_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let lines = [
        r#"{"text": "good"}"#,
        r#"{"messages": [{"role": "user", "content": "q"}"#,
        "",
        r#"{"instruction": "i", "output": "o"}"#,
        r#"{"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}"#,
        r#"{"conversations": []}"#,
        r#"{"input_ids": [1, 2, 3], "labels": [1, 2]}"#,
        r#"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": {"text": "a"}}]}"#,
        r#"{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}"#,
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let results: Vec<Result<(DataFormat, Sample), RowError>> =
        read_rows(&path).unwrap().into_iter().map(|row| row.and_then(|row| row.parse(None))).collect();
    let shown: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok((f, _)) => format!("ok {f}"),
            Err(e) => e.to_string().replace(&path.display().to_string(), "bad.jsonl"),
        })
        .collect();
    assert_eq!(shown.len(), 8, "the blank line is skipped: {shown:#?}");
    assert_eq!(shown[0], "ok text");
    assert!(shown[1].starts_with("bad.jsonl:2: not valid JSON (EOF while parsing"), "{}", shown[1]);
    assert_eq!(
        shown[2],
        "bad.jsonl:4: the row fits no format: its keys are \"instruction\", \"output\"; expected \
         \"input_ids\"+\"labels\" (tokenized), \"messages\", \"conversations\" (sharegpt), \
         \"prompt\"+\"completion\" or \"text\""
    );
    assert_eq!(
        shown[3],
        "bad.jsonl:5: messages[0] (assistant) opens the conversation: the first turn (after an optional system \
         message) must be a user turn"
    );
    assert_eq!(shown[4], "bad.jsonl:6: empty conversation: no messages");
    assert_eq!(shown[5], "bad.jsonl:7: 3 input_ids but 2 labels: they must have the same length");
    assert_eq!(shown[6], "bad.jsonl:8: messages[1] (assistant): \"content\" must be a string, not an object");
    assert_eq!(shown[7], "ok sharegpt");
    // A caller that does not skip turns the first one into its error.
    let first_bad = results.into_iter().find_map(Result::err).unwrap();
    assert!(matches!(DataError::from(first_bad), DataError::Row(e) if e.origin.position == Position::Line(2)));
}

#[test]
fn json_files_arrays_data_objects_and_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let positions = |p: &Path| -> Vec<String> {
        read_rows(p)
            .unwrap()
            .into_iter()
            .map(|r| match r {
                Ok(row) => format!("{:?} {}", row.origin.position, row.value),
                Err(e) => format!("{:?} error", e.origin.position),
            })
            .collect()
    };
    let array = write("a.json", "[{\"text\": \"x\"},\n 7]");
    assert_eq!(positions(&array), ["Row(0) {\"text\":\"x\"}", "Row(1) 7"]);
    let err = read_rows(&array).unwrap().remove(1).unwrap().parse(None).unwrap_err().to_string();
    assert_eq!(err, format!("{} row 1: a row must be a JSON object, not a number", array.display()));
    let data = write("d.json", "{\"version\": 1, \"data\": [{\"text\": \"y\"}]}");
    assert_eq!(positions(&data), ["Row(0) {\"text\":\"y\"}"]);
    // `Dataset.to_json` writes JSON Lines into .json files.
    let lines = write("l.json", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
    assert_eq!(positions(&lines), ["Line(1) {\"text\":\"a\"}", "Line(2) {\"text\":\"b\"}"]);
    let broken = write("b.json", "[{\"text\": \"a\"},");
    let err = read_rows(&broken).unwrap_err();
    assert!(matches!(&err, DataError::Dataset { .. }), "{err}");
    assert!(err.to_string().contains("not a valid JSON array"), "{err}");
}

#[test]
fn file_level_errors_are_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("c.parquet");
    std::fs::write(&corrupt, b"PAR1 this is not a parquet file").unwrap();
    let err = read_rows(&corrupt).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: cannot read as Parquet", corrupt.display())), "{err}");
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "a,b\n").unwrap();
    assert_eq!(
        data_files(std::slice::from_ref(&csv)).unwrap_err().to_string(),
        format!("{}: unknown extension .csv: data files must be .jsonl, .json or .parquet", csv.display())
    );
    assert!(matches!(read_rows(&dir.path().join("missing.jsonl")), Err(DataError::Io { .. })));
    assert!(matches!(data_files(&[dir.path().join("missing")]), Err(DataError::Io { .. })));
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    std::fs::write(empty.join("notes.txt"), "").unwrap();
    assert_eq!(
        data_files(std::slice::from_ref(&empty)).unwrap_err().to_string(),
        format!("{}: directory holds no .jsonl, .json or .parquet file", empty.display())
    );
}

/// Directories expand recursively and sorted; named files keep their place; hidden entries,
/// other extensions and `datasets`' metadata files are left out of directories.
#[test]
fn directories_expand_sorted_and_skip_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for f in
        ["b.jsonl", "a/z.parquet", "a/c.JSON", ".hidden/x.jsonl", ".y.jsonl", "dataset_info.json", "state.json", "r.md"]
    {
        let p = d.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "").unwrap();
    }
    let single = d.join("dataset_info.json");
    let files = data_files(&[single.clone(), d.to_path_buf()]).unwrap();
    assert_eq!(files, [single, d.join("a/c.JSON"), d.join("a/z.parquet"), d.join("b.jsonl")]);
}
