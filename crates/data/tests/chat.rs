//! Chat template + tokenizer parity with `transformers`.
//!
//! Fixtures: `tests/fixtures/chat/*_expected.jsonl`, written by
//! `tools/tokenizer/make_chat_fixtures.py` with `AutoTokenizer.apply_chat_template` on the
//! tokenizer built by `tools/tokenizer/make_qwen35_tokenizer.py` (regenerate commands in
//! `tools/tokenizer/README.md`). Tolerance: none — text and ids must be identical.

use std::path::{Path, PathBuf};

use serde_json::Value;
use skillsft_data::chat::{ChatTemplate, RenderOptions};
use skillsft_data::sft::{IGNORE, tokenize_conversation};
use skillsft_data::tokenizer::ChatTokenizer;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model_dir() -> PathBuf {
    root().join("datasets/tokenizer/qwen3.5")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat")
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn tokenizer_matches_reference_encodings() {
    let tok = ChatTokenizer::from_path(&model_dir()).unwrap();
    let refs: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("reference_encodings.json")).unwrap()).unwrap();
    for e in refs["encodings"].as_array().unwrap() {
        let text = e["text"].as_str().unwrap();
        assert_eq!(tok.encode(text).unwrap().ids, ids(&e["ids"]), "{text:?}");
    }
    assert_eq!((tok.im_end, tok.pad), (248046, 248044));
    // The three vectors from the official tokenizer, independent of the fixture file.
    assert_eq!(tok.encode("Hello, world!").unwrap().ids, [9419, 11, 1814, 0]);
    assert_eq!(tok.encode("<|im_start|>user\nHi<|im_end|>").unwrap().ids, [248045, 846, 198, 12675, 248046]);
}

/// Every conversation in every `*_expected.jsonl`: full render, and the prompt with the
/// thinking and non-thinking generation prompts, text and ids.
#[test]
fn chat_template_matches_transformers_token_for_token() {
    let template = ChatTemplate::from_model_dir(&model_dir()).unwrap();
    let tok = ChatTokenizer::from_path(&model_dir()).unwrap();
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("_expected.jsonl"))
        .collect();
    files.sort();
    for file in files {
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let case: Value = serde_json::from_str(line).unwrap();
            let messages = case["messages"].as_array().unwrap().clone();
            let n_prompt = case["prompt_messages"].as_u64().unwrap() as usize;
            let variants = [
                ("full", &messages[..], RenderOptions::default()),
                (
                    "prompt_thinking",
                    &messages[..n_prompt],
                    RenderOptions { add_generation_prompt: true, enable_thinking: Some(true) },
                ),
                (
                    "prompt_no_thinking",
                    &messages[..n_prompt],
                    RenderOptions { add_generation_prompt: true, enable_thinking: Some(false) },
                ),
            ];
            for (name, msgs, opts) in variants {
                let text = template.render(msgs, opts).unwrap();
                let want = &case[name];
                assert_eq!(text, want["text"].as_str().unwrap(), "{}: {} {name}", file.display(), case["id"]);
                assert_eq!(tok.encode(&text).unwrap().ids, ids(&want["ids"]), "{} {name}", case["id"]);
            }
            checked += 1;
        }
    }
    // 9 hand-written conversations + 24 corpus rows (every 15th row of the default build).
    assert!(checked >= 33, "only {checked} conversations checked");
}

/// The loss mask trains exactly the final assistant turn's think block, answer and
/// `<|im_end|>`: decoding the labelled ids gives that text back.
#[test]
fn sft_labels_cover_exactly_the_assistant_turns() {
    let template = ChatTemplate::from_model_dir(&model_dir()).unwrap();
    let tok = ChatTokenizer::from_path(&model_dir()).unwrap();
    let msgs = vec![
        serde_json::json!({"role": "system", "content": "Be brief."}),
        serde_json::json!({"role": "user", "content": "What is 12 × 3?"}),
        serde_json::json!({"role": "assistant", "reasoning_content": "12 × 3 = 36.", "content": "ANSWER: 36"}),
    ];
    let ex = tokenize_conversation(&template, &tok, &msgs, true).unwrap();
    let trained: Vec<u32> =
        ex.input_ids.iter().zip(&ex.labels).filter(|(_, l)| **l != IGNORE).map(|(i, _)| *i).collect();
    assert_eq!(tok.decode(&trained).unwrap(), "<think>\n12 × 3 = 36.\n</think>\n\nANSWER: 36<|im_end|>");
    // Trained positions are one contiguous run ending at <|im_end|>, followed by the untrained "\n".
    let first = ex.labels.iter().position(|&l| l != IGNORE).unwrap();
    let last = ex.labels.iter().rposition(|&l| l != IGNORE).unwrap();
    assert_eq!(last - first + 1, trained.len());
    assert_eq!(ex.input_ids[last], tok.im_end);
    assert_eq!(last, ex.len() - 2);

    let plain = tokenize_conversation(&template, &tok, &msgs, false).unwrap();
    let trained: Vec<u32> =
        plain.input_ids.iter().zip(&plain.labels).filter(|(_, l)| **l != IGNORE).map(|(i, _)| *i).collect();
    assert_eq!(tok.decode(&trained).unwrap(), "<think>\n\n</think>\n\nANSWER: 36<|im_end|>");
}
