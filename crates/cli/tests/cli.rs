//! The `qwen35` binary end to end on the committed parity fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

use qwen35::checkpoint::read_all_f32;

/// Same bound as the library parity tests (see crates/qwen35/tests/parity.rs).
const F32_ABS_TOL: f32 = 2.5e-4;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../qwen35/tests/fixtures").join(name)
}

/// A path as an argument (the temporary and fixture paths here are UTF-8).
fn s(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn qwen35(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qwen35")).args(args).output().expect("run qwen35")
}

#[test]
fn logits_command_writes_transformers_logits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("logits.safetensors");
    let model = fixture("vlm_tied");
    let input = model.join("reference.safetensors"); // holds input_ids (and other tensors, ignored)
    let o = qwen35(&["logits", "--model", s(&model), "--input", s(&input), "--out", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = read_all_f32(&out).unwrap();
    let reference = read_all_f32(&input).unwrap();
    let (shape, got) = &ours["logits"];
    let (ref_shape, expected) = &reference["logits"];
    assert_eq!(shape, ref_shape);
    let max = got.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(max <= F32_ABS_TOL, "max |Δlogit| {max}");
}

#[test]
fn generate_command_prints_greedy_ids_as_json() {
    let model = fixture("text_untied_irregular");
    let reference = read_all_f32(&model.join("reference.safetensors")).unwrap();
    let (pshape, prompt) = &reference["prompt_ids"];
    let (gshape, greedy) = &reference["greedy_ids"];
    let prompt: Vec<String> = prompt[..pshape[1]].iter().map(|x| (*x as i64).to_string()).collect();
    let n = gshape[1].to_string();
    let o = qwen35(&["generate", "--model", s(&model), "--prompt-ids", &prompt.join(","), "--max-new-tokens", &n]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let ids: Vec<i64> = last["generated_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    let expected: Vec<i64> = greedy[..gshape[1]].iter().map(|x| *x as i64).collect();
    assert_eq!(ids, expected);
}

#[test]
fn random_init_generate_runs_without_a_model_dir() {
    let o = qwen35(&["generate", "--size", "tiny", "--random-init", "--prompt-ids", "1,2,3", "--max-new-tokens", "5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["generated_ids"].as_array().unwrap().len(), 5);
}

#[test]
fn info_reports_layers_and_parameters() {
    let o = qwen35(&["info", "--model", fixture("interval3").to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(stdout.contains("layers: 6 (LLFLLF)"), "{stdout}");
    let o = qwen35(&["info", "--size", "0.8b"]);
    assert!(String::from_utf8(o.stdout).unwrap().contains("0.75"));
}

#[test]
fn bad_inputs_fail_with_a_message_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // No weights in the directory.
    std::fs::copy(fixture("vlm_tied").join("config.json"), dir.path().join("config.json")).unwrap();
    let o = qwen35(&["generate", "--model", dir.path().to_str().unwrap(), "--prompt-ids", "1"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("model.safetensors") && !err.contains("panicked"), "{err}");
    // A device this binary was not built for.
    #[cfg(not(feature = "cuda"))]
    {
        let o = qwen35(&["generate", "--size", "tiny", "--random-init", "--prompt-ids", "1", "--device", "cuda"]);
        assert!(String::from_utf8_lossy(&o.stderr).contains("--features cuda"));
    }
    // A text prompt without a tokenizer.
    let o = qwen35(&["generate", "--size", "tiny", "--random-init", "--prompt", "hi"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--prompt-ids"));
    // An out-of-vocabulary id.
    let o = qwen35(&["generate", "--size", "tiny", "--random-init", "--prompt-ids", "99999"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("out of vocabulary"));
}

#[test]
fn generate_command_tokenizes_a_text_prompt() {
    // text_untied_irregular carries a byte-level BPE tokenizer.json (vocab 384) and the greedy
    // continuation transformers produced for this prompt (fixtures README).
    let model = fixture("text_untied_irregular");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("meta.json")).unwrap()).unwrap();
    let prompt = meta["text_prompt"].as_str().unwrap();
    let reference = read_all_f32(&model.join("reference.safetensors")).unwrap();
    let (_, expected) = &reference["text_greedy_ids"];
    let o = qwen35(&["generate", "--model", model.to_str().unwrap(), "--prompt", prompt, "--max-new-tokens", "16"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 2, "expected the decoded text before the JSON line: {stdout}");
    let last: serde_json::Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
    let ids: Vec<i64> = last["generated_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(ids, expected.iter().map(|x| *x as i64).collect::<Vec<_>>());
}
