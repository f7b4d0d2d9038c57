//! `bench check`: the model and one LoRA step on the device under test, written as safetensors
//! for `benches/gpu_check.py`, which holds them against transformers + PEFT run on the same
//! device (and against the committed CPU references). This is how a GPU build is checked for
//! correctness on a machine that has a GPU but no Rust toolchain.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use qwen35::Qwen35;
use qwen35::checkpoint::read_all_f32;
use skillsft_train::checkpoint::write_safetensors;
use skillsft_train::data::{make_batch, rows_from_columns};
use skillsft_train::optim::GradAccumulator;
use skillsft_train::trainer::micro_step;

/// The committed parity fixtures whose `reference.safetensors` holds `input_ids` and `logits`.
pub const MODELS: [&str; 5] = ["vlm_tied", "text_untied_irregular", "interval3", "bf16", "sharded"];

/// Writes `logits-{model}-{dtype}.safetensors` for every fixture model under `fixtures` and
/// each of `dtypes`, and `lora-step.safetensors` (loss and every LoRA gradient, PEFT's key
/// names) for the PEFT fixture `peft` (its base is `fixtures/text_untied_irregular`). Prints one
/// line per output with the largest difference from the committed CPU reference.
pub fn run(fixtures: &Path, peft: &Path, out: &Path, device: &Device, dtypes: &[DType]) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for name in MODELS {
        let dir = fixtures.join(name);
        let reference = read_all_f32(&dir.join("reference.safetensors"))
            .with_context(|| format!("reading the reference of fixture {}", dir.display()))?;
        let (shape, ids) = &reference["input_ids"];
        for &dtype in dtypes {
            let (model, _) = Qwen35::from_pretrained(&dir, device, dtype)
                .with_context(|| format!("loading {} in {dtype:?}", dir.display()))?;
            let ids: Vec<i64> = ids.iter().map(|&x| x as i64).collect();
            let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [shape[0], shape[1]]), device);
            let logits = model.forward(input)?;
            let dims = logits.dims().to_vec();
            let values =
                logits.cast(DType::F32).into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let diff = max_abs_diff(&values, &reference["logits"].1);
            let tag = if dtype == DType::BF16 { "bf16" } else { "f32" };
            let path = out.join(format!("logits-{name}-{tag}.safetensors"));
            write_safetensors(&path, &BTreeMap::from([("logits".to_string(), (dims, values))]))?;
            println!("logits {name:<22} {tag:<4} max |ours − transformers f32 on CPU| {diff:.3e}");
        }
    }
    lora_step(&fixtures.join("text_untied_irregular"), peft, &out.join("lora-step.safetensors"), device)
}

/// One LoRA micro-step (f32) from PEFT's initial adapter on the fixture batch: loss and
/// gradients, keyed as PEFT names the adapter tensors.
fn lora_step(base: &Path, peft: &Path, out: &Path, device: &Device) -> Result<()> {
    let reference = read_all_f32(&peft.join("reference.safetensors"))
        .with_context(|| format!("reading {}", peft.join("reference.safetensors").display()))?;
    let device = device.clone().autodiff();
    let (model, _) = Qwen35::from_pretrained(base, &device, DType::F32)?;
    let mut model = model.no_grad();
    model.load_peft(peft.join("adapter_init"))?;
    let (shape, ids) = &reference["input_ids"];
    let ids: Vec<u32> = ids.iter().map(|&x| x as u32).collect();
    let labels: Vec<i64> = reference["labels"].1.iter().map(|&x| x as i64).collect();
    let rows = rows_from_columns(&ids, &labels, shape[1]);
    let batch = make_batch(&rows.iter().collect::<Vec<_>>(), 0)?;
    let (grads, loss) = micro_step(&model, &batch, batch.trained as f64, 1024)?;
    let loss = loss.loss_sum / batch.trained as f64;
    let mut acc = GradAccumulator::default();
    acc.add(&model, &grads);
    let mut tensors = BTreeMap::from([("loss".to_string(), (vec![1], vec![loss as f32]))]);
    let mut worst = 0f32;
    for key in reference.keys().filter_map(|k| k.strip_prefix("grad.")) {
        let (module, is_a) =
            qwen35::peft::peft_key_to_path(key).with_context(|| format!("unexpected PEFT key {key}"))?;
        let path = format!("{module}.lora.{}", if is_a { "lora_a" } else { "lora_b" });
        let g = acc.get(&path).with_context(|| format!("no gradient for {path}"))?;
        let values = g.clone().into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let want = &reference[&format!("grad.{key}")];
        worst = worst.max(max_abs_diff(&values, &want.1));
        tensors.insert(format!("grad.{key}"), (want.0.clone(), values));
    }
    write_safetensors(out, &tensors)?;
    let want = reference["loss"].1[0];
    println!(
        "lora step: loss {loss:.6} (PEFT on CPU {want:.6}), max |grad − PEFT's on CPU| {worst:.3e} over {} tensors",
        tensors.len() - 1
    );
    Ok(())
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_on_the_cpu_matches_the_committed_references() {
        // The same command the GPU script runs, here on flex: every output is written, and the
        // f32 logits and the LoRA step agree with the CPU references (tolerances of the parity
        // and PEFT tests).
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = tempfile::tempdir().unwrap();
        run(
            &root.join("qwen35/tests/fixtures"),
            &root.join("train/tests/fixtures/peft_step"),
            out.path(),
            &Device::flex(),
            &[DType::F32],
        )
        .unwrap();
        for name in MODELS {
            let got = read_all_f32(&out.path().join(format!("logits-{name}-f32.safetensors"))).unwrap();
            let want = read_all_f32(&root.join(format!("qwen35/tests/fixtures/{name}/reference.safetensors"))).unwrap();
            assert!(max_abs_diff(&got["logits"].1, &want["logits"].1) < 2.5e-4, "{name}");
        }
        let step = read_all_f32(&out.path().join("lora-step.safetensors")).unwrap();
        let want = read_all_f32(&root.join("train/tests/fixtures/peft_step/reference.safetensors")).unwrap();
        assert!((step["loss"].1[0] - want["loss"].1[0]).abs() < 1e-5);
        assert_eq!(step.len(), 65, "loss + 64 LoRA gradients");
        for (k, (_, g)) in step.iter().filter(|(k, _)| k.starts_with("grad.")) {
            assert!(max_abs_diff(g, &want[k].1) < 1e-4, "{k}");
        }
    }
}
