//! LoRA against PyTorch + PEFT 0.21.2 on the tiny `text_untied_irregular` Qwen3.5 fixture
//! (`tests/fixtures/peft_step`, made by `tools/fixtures/make_train_fixtures.py`): the adapter
//! PEFT wrote loads here and gives PEFT's logits; one SFT step gives PEFT's loss, LoRA
//! gradients and AdamW-updated weights; the adapter exported here is PEFT's file again; the
//! merged checkpoint gives the adapter's logits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use qwen35::Qwen35;
use qwen35::checkpoint::read_all_f32;
use skillsft_train::data::{make_batch, rows_from_columns};
use skillsft_train::optim::{AdamW, AdamWConfig, GradAccumulator};
use skillsft_train::trainer::micro_step;

fn base_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../qwen35/tests/fixtures/text_untied_irregular")
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/peft_step").join(rel)
}

fn reference() -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    read_all_f32(&fixture("reference.safetensors")).unwrap()
}

/// `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` -> the parameter path the
/// optimizer uses.
fn param_path(peft_key: &str) -> String {
    let rest = peft_key.strip_prefix("base_model.model.model.").unwrap();
    let (module, which) = rest.rsplit_once(".lora_").unwrap();
    let which = if which.starts_with('A') { "lora_a" } else { "lora_b" };
    format!("{module}.lora.{which}")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn logits(model: &Qwen35, ids: &[f32], shape: &[usize]) -> Vec<f32> {
    let ids: Vec<i64> = ids.iter().map(|&x| x as i64).collect();
    let t = Tensor::<2, Int>::from_data(TensorData::new(ids, [shape[0], shape[1]]), &model.device());
    model.forward(t).unwrap().into_data().try_to_vec::<f32>().unwrap()
}

/// Same tolerance as the model's own parity tests (crates/qwen35/tests/parity.rs): transformers'
/// f32 logits on these fixtures are themselves up to 1.1e-4 from an exact f64 computation.
const LOGIT_TOL: f32 = 2.5e-4;

#[test]
fn peft_adapter_loads_and_gives_peft_logits() {
    let r = reference();
    let (mut model, _) = Qwen35::from_pretrained(base_dir(), &Device::flex(), DType::F32).unwrap();
    let (shape, ids) = &r["input_ids"];
    let base = logits(&model, ids, shape);
    assert!(max_abs_diff(&base, &r["logits_base"].1) < LOGIT_TOL);
    let cfg = model.load_peft(fixture("adapter_init")).unwrap();
    assert_eq!((cfg.rank, cfg.alpha, cfg.rslora), (4, 8.0, false));
    let got = logits(&model, ids, shape);
    let err = max_abs_diff(&got, &r["logits_adapter"].1);
    eprintln!("adapter logits vs PEFT: max |diff| {err:e}");
    assert!(err < LOGIT_TOL, "adapter logits differ from PEFT by {err:e}");
}

#[test]
fn one_lora_step_matches_peft_loss_gradients_and_update() {
    let r = reference();
    let device = Device::flex().autodiff();
    let (model, _) = Qwen35::from_pretrained(base_dir(), &device, DType::F32).unwrap();
    let mut model = model.no_grad();
    model.load_peft(fixture("adapter_init")).unwrap();

    let (shape, ids) = &r["input_ids"];
    let ids: Vec<u32> = ids.iter().map(|&x| x as u32).collect();
    let labels: Vec<i64> = r["labels"].1.iter().map(|&x| x as i64).collect();
    let rows = rows_from_columns(&ids, &labels, shape[1]);
    let batch = make_batch(&rows.iter().collect::<Vec<_>>(), 0).unwrap();
    assert_eq!(batch.trained, 50, "fixture trains 50 shifted targets");
    // Chunk of 7 tokens: the chunked loss is exercised across uneven chunk boundaries.
    let (grads, out) = micro_step(&model, &batch, batch.trained as f64, 7).unwrap();
    let loss = out.loss_sum / batch.trained as f64;
    let want = r["loss"].1[0] as f64;
    eprintln!("loss {loss} vs PEFT {want}");
    assert!((loss - want).abs() < 1e-5, "loss {loss} vs PEFT {want}");

    let mut acc = GradAccumulator::default();
    acc.add(&model, &grads);
    let keys: Vec<String> = r.keys().filter_map(|k| k.strip_prefix("grad.").map(str::to_string)).collect();
    assert_eq!(keys.len(), 64);
    assert_eq!(acc.len(), 64, "one gradient per adapter matrix, none for the frozen base");
    let mut worst_grad = 0f32;
    let mut worst_rel = 0f32;
    for k in &keys {
        let want = &r[&format!("grad.{k}")].1;
        let got = acc.get(&param_path(k)).unwrap_or_else(|| panic!("no gradient for {}", param_path(k)));
        let got = got.clone().into_data().try_to_vec::<f32>().unwrap();
        let d = max_abs_diff(&got, want);
        let scale = want.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-6);
        worst_grad = worst_grad.max(d);
        worst_rel = worst_rel.max(d / scale);
    }
    eprintln!("LoRA gradients vs PEFT: max |diff| {worst_grad:e}, max |diff| / max |g| per tensor {worst_rel:e}");
    // Gradients flow back through 5 layers in f32 from logits that agree to ~1e-4; 1e-4
    // absolute on gradients of magnitude up to ~1 is the same relative agreement.
    assert!(worst_grad < 1e-4, "gradients differ from PEFT by {worst_grad:e}");

    let mut opt =
        AdamW::new(AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, max_grad_norm: None });
    let grads_by_key: HashMap<String, Vec<f32>> =
        keys.iter().map(|k| (k.clone(), r[&format!("grad.{k}")].1.clone())).collect();
    let (model, _) = opt.step(model, acc, 1e-3);
    let weights = skillsft_train::checkpoint::trainable_tensors(&model);
    let mut worst_update = 0f32;
    let mut sign_sensitive = 0usize;
    for k in &keys {
        let want = &r[&format!("updated.{k}")].1;
        let got = &weights[&param_path(k)].1;
        for ((g, w), torch_g) in got.iter().zip(want).zip(&grads_by_key[k]) {
            // Adam's first step moves each weight by lr·g/(|g| + eps) ≈ ±lr: where |g| is
            // within the gradient tolerance of 0 its sign is not determined by either side.
            if torch_g.abs() < 1e-3 {
                sign_sensitive += 1;
                assert!((g - w).abs() <= 2.0e-3 + 1e-6);
            } else {
                worst_update = worst_update.max((g - w).abs());
            }
        }
    }
    eprintln!(
        "updated LoRA weights vs PEFT + torch AdamW: max |diff| {worst_update:e} ({sign_sensitive} near-zero-gradient entries held to 2·lr)"
    );
    assert!(worst_update < 1e-6, "updated weights differ by {worst_update:e}");
}

#[test]
fn exported_adapter_is_pefts_file_again_and_merges_to_the_same_logits() {
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let (mut model, _) = Qwen35::from_pretrained(base_dir(), &Device::flex(), DType::F32).unwrap();
    let cfg = model.load_peft(fixture("adapter_init")).unwrap();
    model.save_peft(dir.path().join("adapter"), &cfg, qwen35::peft::PEFT_PREFIX_TEXT, "base").unwrap();

    let theirs = read_all_f32(&fixture("adapter_init/adapter_model.safetensors")).unwrap();
    let ours = read_all_f32(&dir.path().join("adapter/adapter_model.safetensors")).unwrap();
    let mut a: Vec<&String> = theirs.keys().collect();
    let mut b: Vec<&String> = ours.keys().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "PEFT key names");
    for (k, (shape, v)) in &theirs {
        assert_eq!(&ours[k].0, shape);
        assert_eq!(&ours[k].1, v, "{k} must round-trip bit for bit");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("adapter/adapter_config.json")).unwrap())
            .unwrap();
    let peft: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("adapter_init/adapter_config.json")).unwrap()).unwrap();
    for field in ["peft_type", "r", "lora_alpha", "use_rslora", "bias", "task_type"] {
        assert_eq!(config[field], peft[field], "{field}");
    }
    let set = |v: &serde_json::Value| {
        let mut s: Vec<String> = v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
        s.sort();
        s
    };
    assert_eq!(set(&config["target_modules"]), set(&peft["target_modules"]));

    let merged = dir.path().join("merged");
    let report = skillsft_train::merge::merge_adapter(&base_dir(), &dir.path().join("adapter"), &merged).unwrap();
    assert_eq!((report.merged, report.shards), (32, 1), "only the model's own weights are merged");
    assert!(!merged.join("reference.safetensors").exists());
    let (merged_model, _) = Qwen35::from_pretrained(&merged, &Device::flex(), DType::F32).unwrap();
    let (shape, ids) = &r["input_ids"];
    let err = max_abs_diff(&logits(&merged_model, ids, shape), &r["logits_adapter"].1);
    eprintln!("merged checkpoint logits vs PEFT adapter: max |diff| {err:e}");
    assert!(err < LOGIT_TOL);
}
