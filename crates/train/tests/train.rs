//! The training loop on a tiny random Qwen3.5 (CPU, f32): chunked loss = plain loss, packing =
//! no packing, overfitting, exact resume, and refusals of bad input.

use std::io::Write;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{DType, Device};
use qwen35::{Qwen35, Qwen35Config};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skillsft_data::sft::{SftExample, Truncation};
use skillsft_train::config::{Mode, TrainConfig};
use skillsft_train::data::{self, LoadOptions, make_batch};
use skillsft_train::loss::{chunked_cross_entropy, reference_cross_entropy};
use skillsft_train::optim::GradAccumulator;
use skillsft_train::trainer::{RunOptions, head_weight, micro_step, train};

/// Examples of `len` random ids below 512 (the tiny preset's vocabulary), the second half trained.
fn examples(n: usize, len: usize, seed: u64) -> Vec<SftExample> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let len = len + i % 3;
            let ids: Vec<u32> = (0..len).map(|_| rng.random_range(1..512)).collect();
            let labels = ids.iter().enumerate().map(|(j, &id)| if j >= len / 2 { id as i64 } else { -100 }).collect();
            SftExample { input_ids: ids, labels }
        })
        .collect()
}

fn write_jsonl(path: &Path, examples: &[SftExample]) {
    let mut f = std::fs::File::create(path).unwrap();
    for e in examples {
        writeln!(f, "{}", serde_json::json!({"input_ids": e.input_ids, "labels": e.labels})).unwrap();
    }
}

/// Burn's flex RNG (dropout masks) is one per process, so two runs training at once in this
/// test binary would interleave their draws; the tests that train take turns.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn tiny_config(data: &Path, out: &Path) -> TrainConfig {
    TrainConfig {
        size: "tiny".into(),
        random_init: true,
        data: vec![data.to_path_buf()],
        out: out.to_path_buf(),
        seq_len: 64,
        micro_batch: 2,
        grad_accum: 2,
        epochs: 2,
        save_every: 0,
        ..TrainConfig::default()
    }
}

fn grads_of(model: &Qwen35, grads: &burn::tensor::Gradients) -> GradAccumulator {
    let mut acc = GradAccumulator::default();
    acc.add(model, grads);
    acc
}

fn max_grad_diff(a: &GradAccumulator, b: &GradAccumulator, paths: &[String]) -> f32 {
    paths
        .iter()
        .map(|p| {
            let x = a.get(p).unwrap().clone().into_data().try_to_vec::<f32>().unwrap();
            let y = b.get(p).unwrap().clone().into_data().try_to_vec::<f32>().unwrap();
            x.iter().zip(&y).map(|(u, v)| (u - v).abs()).fold(0.0, f32::max)
        })
        .fold(0.0, f32::max)
}

fn all_paths(model: &Qwen35) -> Vec<String> {
    skillsft_train::checkpoint::trainable_tensors(model).into_keys().collect()
}

#[test]
fn chunked_loss_equals_the_full_logits_loss_with_the_same_gradients() {
    let device = Device::flex().autodiff();
    let config = Qwen35Config::preset("tiny").unwrap();
    let model = Qwen35::random(&config, 3, &device, DType::F32).unwrap(); // full: every weight trains
    let rows = data::build_rows(&examples(3, 20, 1), 64, false, 0);
    let batch = make_batch(&rows.iter().collect::<Vec<_>>(), 0).unwrap();

    let (g_chunked, out) = micro_step(&model, &batch, batch.trained as f64, 7).unwrap();
    let hidden = model.forward_hidden(&batch.inputs, None).unwrap();
    let reference = reference_cross_entropy(model.logits(hidden), &batch.targets);
    let want = reference.clone().into_scalar::<f64>();
    let g_ref = reference.backward();
    let got = out.loss_sum / batch.trained as f64;
    assert!((got - want).abs() < 1e-5, "chunked {got} vs full {want}");

    let paths = all_paths(&model);
    assert!(paths.iter().any(|p| p.starts_with("embed_tokens")), "tied head + embedding is trained");
    let d = max_grad_diff(&grads_of(&model, &g_chunked), &grads_of(&model, &g_ref), &paths);
    eprintln!("chunked vs full cross-entropy: loss {got} vs {want}, max |grad diff| {d:e}");
    // f32, sums over 512 logits in another order: rounding only.
    assert!(d < 1e-5, "gradients differ by {d:e}");

    // A chunk larger than the batch and a head-free call give the same value.
    let hidden = model.forward_hidden(&batch.inputs, None).unwrap();
    let one = chunked_cross_entropy(hidden, head_weight(&model), &batch.targets, 1.0, 10_000);
    assert!((one.loss_sum - out.loss_sum).abs() < 1e-4);
}

#[test]
fn packed_rows_give_the_loss_and_gradients_of_separate_rows() {
    let device = Device::flex().autodiff();
    let config = Qwen35Config::preset("tiny").unwrap();
    let mut model = Qwen35::random(&config, 5, &device, DType::F32).unwrap().no_grad();
    model.attach_lora(&qwen35::LoraConfig { dropout: 0.0, ..Default::default() }, 1).unwrap();
    // B must be non-zero for A to get a gradient: take one optimizer-free random B.
    let model = {
        let mut values = skillsft_train::checkpoint::trainable_tensors(&model);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for (k, (_, v)) in values.iter_mut() {
            if k.ends_with("lora_b") {
                v.iter_mut().for_each(|x| *x = rng.random_range(-0.05..0.05));
            }
        }
        skillsft_train::checkpoint::load_trainable(model, values, Path::new("<test>")).unwrap()
    };
    let ex = examples(3, 17, 2);
    let packed = data::build_rows(&ex, 64, true, 0);
    assert_eq!(packed.len(), 1, "three ~18-token examples fit one 64-token row");
    let separate = data::build_rows(&ex, 64, false, 0);
    let bp = make_batch(&packed.iter().collect::<Vec<_>>(), 0).unwrap();
    let bs = make_batch(&separate.iter().collect::<Vec<_>>(), 0).unwrap();
    assert_eq!(bp.trained, bs.trained, "packing must not add or lose trained targets");
    let (gp, op) = micro_step(&model, &bp, bp.trained as f64, 16).unwrap();
    let (gs, os) = micro_step(&model, &bs, bs.trained as f64, 16).unwrap();
    let (lp, ls) = (op.loss_sum / bp.trained as f64, os.loss_sum / bs.trained as f64);
    let paths = all_paths(&model);
    let d = max_grad_diff(&grads_of(&model, &gp), &grads_of(&model, &gs), &paths);
    eprintln!("packed vs separate: loss {lp} vs {ls}, max |LoRA grad diff| {d:e}");
    // The GDN chunked scan aligns chunks differently in a packed row: f32 noise, ~1e-6 here.
    assert!((lp - ls).abs() < 1e-5, "packed loss {lp} vs separate {ls}");
    assert!(d < 1e-5, "gradients differ by {d:e}");
}

#[test]
fn a_tiny_model_memorises_a_few_examples() {
    let _turn = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.jsonl");
    write_jsonl(&data, &examples(4, 24, 3));
    let cfg = TrainConfig {
        mode: Mode::Full,
        lr: 1e-2,
        warmup_ratio: 0.1,
        epochs: 60,
        micro_batch: 4,
        grad_accum: 1,
        ..tiny_config(&data, &dir.path().join("run"))
    };
    let summary = train(&cfg, &RunOptions::default()).unwrap();
    let losses: Vec<f64> = summary.records.iter().map(|r| r.loss).collect();
    let curve: Vec<String> = losses.iter().step_by(10).map(|l| format!("{l:.3}")).collect();
    eprintln!("overfit curve (every 10th step): {}", curve.join(" "));
    assert!(losses[0] > 5.5, "starts near ln(512) = 6.24, got {}", losses[0]);
    let last = *losses.last().unwrap();
    assert!(last < 0.05, "after 60 steps on 4 examples the loss should be < 0.05, got {last}");
    assert!(summary.model_dir.unwrap().join("model.safetensors").is_file());
    assert!(dir.path().join("run/loss.svg").is_file());
    assert_eq!(std::fs::read_to_string(dir.path().join("run/metrics.jsonl")).unwrap().lines().count(), 60);
}

#[test]
fn an_interrupted_and_resumed_run_has_the_same_loss_at_every_step() {
    let _turn = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.jsonl");
    write_jsonl(&data, &examples(10, 20, 4));
    // LoRA with dropout: the resumed half must also redraw the same dropout masks.
    let base = TrainConfig {
        lr: 5e-3,
        packing: false, // 10 rows: 3 steps per epoch
        lora: qwen35::LoraConfig { dropout: 0.1, ..Default::default() },
        ..tiny_config(&data, &dir.path().join("whole"))
    };
    let whole = train(&base, &RunOptions::default()).unwrap();
    assert!(whole.total_steps >= 4);

    let split = TrainConfig { out: dir.path().join("split"), ..base.clone() };
    let first = train(&split, &RunOptions { stop_after: Some(2), ..Default::default() }).unwrap();
    assert!(first.interrupted);
    assert_eq!(first.step, 2);
    let again = train(&split, &RunOptions::default()).unwrap_err().to_string();
    assert!(again.contains("--resume"), "{again}");
    let second = train(&split, &RunOptions { resume: true, ..Default::default() }).unwrap();
    assert!(!second.interrupted);
    let a: Vec<f64> = whole.records.iter().map(|r| r.loss).collect();
    let b: Vec<f64> = second.records.iter().map(|r| r.loss).collect();
    eprintln!("uninterrupted {a:?}\nresumed       {b:?}");
    assert_eq!(a, b, "per-step losses must be identical");
    let adapter = |run: &str| std::fs::read(dir.path().join(run).join("adapter/adapter_model.safetensors")).unwrap();
    assert_eq!(adapter("whole"), adapter("split"), "same final adapter, byte for byte");
    // TensorBoard: one event file per invocation, every record's CRCs intact, and the loss of
    // every step once (as f32, TensorBoard's `simple_value`).
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("split/tensorboard"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents."))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut losses = std::collections::BTreeMap::new();
    for f in &files {
        for (step, tag, value) in tfevents_scalars(&std::fs::read(f).unwrap()) {
            if tag == "train/loss" {
                assert!(losses.insert(step, value).is_none(), "step {step} logged twice");
            }
        }
    }
    let want: std::collections::BTreeMap<u64, f32> =
        whole.records.iter().map(|r| (r.step as u64, r.loss as f32)).collect();
    assert_eq!(losses, want);

    // A checkpoint from another configuration is refused with the differing setting named.
    let other = TrainConfig { lr: 1e-3, out: dir.path().join("split"), ..base };
    let split_again = TrainConfig { out: dir.path().join("split2"), ..other.clone() };
    train(&split_again, &RunOptions { stop_after: Some(1), ..Default::default() }).unwrap();
    let wrong = TrainConfig { lr: 2e-3, ..split_again };
    let err = train(&wrong, &RunOptions { resume: true, ..Default::default() }).unwrap_err().to_string();
    assert!(err.contains("lr") && err.contains("other settings"), "{err}");
}

/// Reads and fits `path` as a run does.
fn load(path: &Path, opts: &LoadOptions) -> skillsft_train::Result<(Vec<SftExample>, data::DataReport)> {
    let (ex, mut report) = data::load_examples(&[path.to_path_buf()], None, opts)?;
    let ex = data::fit_examples(ex, opts, &mut report)?;
    Ok((ex, report))
}

#[test]
fn bad_data_is_reported_by_line_or_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.jsonl");
    let opts = LoadOptions::new(16, 512);
    let ok = r#"{"input_ids": [1, 2, 3, 4], "labels": [-100, -100, 3, 4]}"#;

    std::fs::write(&path, format!("{ok}\n{ok}\n{{\"input_ids\": [1, 2\n")).unwrap();
    let err = load(&path, &opts).unwrap_err().to_string();
    assert!(err.contains("d.jsonl:3:") && err.contains("JSON"), "{err}");

    std::fs::write(&path, format!("{ok}\n{{\"input_ids\": [1, 900], \"labels\": [1, 900]}}\n")).unwrap();
    let err = load(&path, &opts).unwrap_err().to_string();
    assert!(err.contains(":2:") && err.contains("900") && err.contains("vocabulary"), "{err}");

    let long: Vec<u32> = (1..=20).collect();
    let long = serde_json::json!({"input_ids": long, "labels": long});
    let masked = r#"{"input_ids": [1, 2, 3], "labels": [-100, -100, -100]}"#;
    std::fs::write(&path, format!("{ok}\n{long}\n{masked}\n\n{ok}\n")).unwrap();
    let (ex, report) = load(&path, &opts).unwrap();
    assert_eq!((ex.len(), report.dropped_too_long, report.no_trained_tokens, report.lines), (2, 1, 1, 4));
    let right = LoadOptions { truncation: Truncation::Right, ..opts.clone() };
    let (ex, report) = load(&path, &right).unwrap();
    assert_eq!((ex.len(), report.truncated), (3, 1));
    assert_eq!(ex[1].len(), 16);

    let chat = r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}"#;
    std::fs::write(&path, chat).unwrap();
    let err = load(&path, &opts).unwrap_err().to_string();
    assert!(err.contains("tokenize"), "corpus rows without a tokenizer explain what to do: {err}");
    let skipping = LoadOptions { skip_bad_rows: true, ..opts.clone() };
    std::fs::write(&path, chat).unwrap();
    assert!(load(&path, &skipping).is_err(), "a missing tokenizer is the run's fault, never skipped");

    // A row that fits no format stops the run, naming the keys it saw, or is counted and
    // skipped when asked.
    std::fs::write(&path, format!("{ok}\n{{\"instruction\": \"x\", \"output\": \"y\"}}\n{ok}\n")).unwrap();
    let err = load(&path, &opts).unwrap_err().to_string();
    assert!(err.contains("d.jsonl:2:") && err.contains("instruction"), "{err}");
    let (ex, report) = load(&path, &skipping).unwrap();
    assert_eq!((ex.len(), report.skipped_bad_rows, report.formats["tokenized"]), (2, 1, 2));
    assert!(report.bad_rows[0].contains("d.jsonl:2:"), "{:?}", report.bad_rows);
    let forced = LoadOptions { format: Some(skillsft_data::formats::DataFormat::Text), ..opts.clone() };
    let err = load(&path, &forced).unwrap_err().to_string();
    assert!(err.contains("d.jsonl:1:") && err.contains("text"), "a forced format is held to: {err}");
}

#[test]
fn bf16_base_with_f32_adapters_trains_like_f32() {
    let device = Device::flex().autodiff();
    let config = Qwen35Config::preset("tiny").unwrap();
    let rows = data::build_rows(&examples(4, 20, 6), 64, true, 0);
    let batch = make_batch(&rows.iter().collect::<Vec<_>>(), 0).unwrap();
    let mut out = Vec::new();
    for dtype in [DType::F32, DType::BF16] {
        let mut model = Qwen35::random(&config, 8, &device, dtype).unwrap().no_grad();
        model.attach_lora(&qwen35::LoraConfig { dropout: 0.0, ..Default::default() }, 2).unwrap();
        let (grads, loss) = micro_step(&model, &batch, batch.trained as f64, 16).unwrap();
        let acc = grads_of(&model, &grads);
        let lora = skillsft_train::checkpoint::param_tensors(&model, true);
        assert!(lora.values().all(|t| t.dtype == DType::F32), "adapters stay f32 on a {dtype:?} base");
        assert_eq!(acc.len(), lora.len(), "every adapter matrix gets a gradient, the frozen base none");
        out.push((loss.loss_sum / batch.trained as f64, acc.global_norm()));
    }
    let ((l32, g32), (l16, g16)) = (out[0], out[1]);
    eprintln!("f32 loss {l32} grad norm {g32}; bf16 base loss {l16} grad norm {g16}");
    // bf16 keeps 8 bits of mantissa: logits move by ~1e-2 relative, the mean loss far less.
    assert!((l32 - l16).abs() < 0.02 * l32, "loss {l16} (bf16) vs {l32} (f32)");
    assert!(g16.is_finite() && (g32 - g16).abs() < 0.1 * g32, "grad norm {g16} (bf16) vs {g32} (f32)");
}

#[test]
fn toml_config_overrides_defaults_and_rejects_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.toml");
    std::fs::write(&path, "size = \"2b\"\nlr = 1e-4\nout = \"runs/x\"\n[lora]\nrank = 8\nalpha = 16\ndropout = 0.0\nrslora = true\ntargets = [\"all-linear\"]\n").unwrap();
    let cfg = TrainConfig::from_toml(&path).unwrap();
    assert_eq!((cfg.size.as_str(), cfg.lr, cfg.lora.rank, cfg.lora.rslora), ("2b", 1e-4, 8, true));
    assert_eq!(cfg.epochs, 3, "unset keys keep their defaults");
    cfg.validate().unwrap();
    std::fs::write(&path, "learning_rate = 1e-4\n").unwrap();
    let err = TrainConfig::from_toml(&path).unwrap_err().to_string();
    assert!(err.contains("learning_rate") && err.contains("run.toml"), "{err}");
    std::fs::write(&path, "out = \"r\"\n[lora]\ntargets = [\"qproj\"]\n").unwrap();
    let err = TrainConfig::from_toml(&path).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("qproj"), "{err}");
}

/// The `(step, tag, simple_value)` scalars of a TensorBoard event file, checking every record's
/// length and data CRCs (masked CRC-32C) on the way.
fn tfevents_scalars(bytes: &[u8]) -> Vec<(u64, String, f32)> {
    use skillsft_train::tensorboard::masked_crc32c;
    fn varint(b: &[u8], i: &mut usize) -> u64 {
        let (mut x, mut shift) = (0u64, 0);
        loop {
            let byte = b[*i];
            *i += 1;
            x |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return x;
            }
            shift += 7;
        }
    }
    /// `(field, wire type, payload)` of a protobuf message.
    fn fields(b: &[u8]) -> Vec<(u64, u64, &[u8])> {
        let (mut i, mut out) = (0, Vec::new());
        while i < b.len() {
            let key = varint(b, &mut i);
            let len = match key & 7 {
                0 => {
                    let start = i;
                    varint(b, &mut i);
                    out.push((key >> 3, 0, &b[start..i]));
                    continue;
                }
                1 => 8,
                2 => varint(b, &mut i) as usize,
                5 => 4,
                w => panic!("wire type {w}"),
            };
            out.push((key >> 3, key & 7, &b[i..i + len]));
            i += len;
        }
        out
    }
    let (mut i, mut out) = (0, Vec::new());
    while i < bytes.len() {
        let len_bytes = &bytes[i..i + 8];
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        assert_eq!(u32::from_le_bytes(bytes[i + 8..i + 12].try_into().unwrap()), masked_crc32c(len_bytes));
        let data = &bytes[i + 12..i + 12 + len];
        assert_eq!(u32::from_le_bytes(bytes[i + 12 + len..i + 16 + len].try_into().unwrap()), masked_crc32c(data));
        i += 16 + len;
        let event = fields(data);
        let step = event.iter().find(|f| f.0 == 2).map_or(0, |f| varint(f.2, &mut 0));
        for (_, _, summary) in event.iter().filter(|f| f.0 == 5) {
            for (_, _, value) in fields(summary) {
                let v = fields(value);
                let tag = String::from_utf8(v.iter().find(|f| f.0 == 1).unwrap().2.to_vec()).unwrap();
                let x = f32::from_le_bytes(v.iter().find(|f| f.0 == 2).unwrap().2.try_into().unwrap());
                out.push((step, tag, x));
            }
        }
    }
    out
}

#[test]
fn validation_loss_is_logged_and_save_best_exports_the_best_step() {
    let _turn = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (train_path, eval_path) = (dir.path().join("train.jsonl"), dir.path().join("eval.jsonl"));
    write_jsonl(&train_path, &examples(4, 24, 11));
    // Other random sequences: once the adapters memorise the training rows, the model grows
    // confident about tokens these do not hold, and their loss climbs after an early low.
    write_jsonl(&eval_path, &examples(3, 24, 12));
    let cfg = TrainConfig {
        lr: 3e-2,
        warmup_ratio: 0.0,
        epochs: 16,
        micro_batch: 4,
        grad_accum: 1,
        packing: false,
        lora: qwen35::LoraConfig { dropout: 0.0, ..Default::default() },
        eval_data: vec![eval_path.clone()],
        eval_every: 2,
        save_best: true,
        ..tiny_config(&train_path, &dir.path().join("run"))
    };
    let summary = train(&cfg, &RunOptions::default()).unwrap();
    let evals: Vec<(usize, f64)> = summary.records.iter().filter_map(|r| r.eval_loss.map(|l| (r.step, l))).collect();
    eprintln!("eval loss by step: {evals:?}");
    let steps: Vec<usize> = evals.iter().map(|e| e.0).collect();
    assert_eq!(steps, (1..=8).map(|k| 2 * k).collect::<Vec<_>>(), "every 2 steps, the last included");
    let (best_step, best_loss) = evals.iter().copied().fold((0, f64::MAX), |a, b| if b.1 < a.1 { b } else { a });
    let best = summary.best.unwrap();
    assert_eq!((best.step, best.eval_loss), (best_step, best_loss));
    assert!(best.step < 16, "this set-up overfits: the best step is not the last ({evals:?})");
    assert_eq!(summary.eval_loss, Some(evals.last().unwrap().1));
    assert_eq!(summary.data.eval_examples, 3);

    // The exported adapter is the best step's: its validation loss is the best one, not the last.
    let device = Device::flex();
    let config = Qwen35Config::preset("tiny").unwrap();
    let mut model = Qwen35::random(&config, cfg.init_seed, &device, DType::F32).unwrap();
    model.load_peft(summary.adapter_dir.unwrap()).unwrap();
    let load = LoadOptions::new(64, 512);
    let (eval, mut report) = data::load_examples(&[eval_path], None, &load).unwrap();
    let eval = data::fit_examples(eval, &load, &mut report).unwrap();
    let rows = data::build_rows(&eval, 64, false, 0);
    let exported = skillsft_train::trainer::eval_loss(&model, &rows, 4, 0, 1024).unwrap();
    assert!((exported - best.eval_loss).abs() < 1e-5, "exported adapter {exported} vs best {}", best.eval_loss);

    // The loss plot draws both curves; TensorBoard holds eval/loss at the same steps.
    let svg = std::fs::read_to_string(dir.path().join("run/loss.svg")).unwrap();
    assert!(svg.contains("validation loss") && svg.matches("<circle").count() == 8);
    let tb = std::fs::read_dir(dir.path().join("run/tensorboard")).unwrap().next().unwrap().unwrap().path();
    let tb_steps: Vec<u64> =
        tfevents_scalars(&std::fs::read(tb).unwrap()).into_iter().filter(|s| s.1 == "eval/loss").map(|s| s.0).collect();
    assert_eq!(tb_steps, steps.iter().map(|&s| s as u64).collect::<Vec<_>>());
}

#[test]
fn val_split_holds_out_a_seeded_share_and_bad_settings_are_refused() {
    let mut ex = examples(10, 8, 1);
    let all = ex.clone();
    let held = data::split_validation(&mut ex, 0.2, 7).unwrap();
    assert_eq!((ex.len(), held.len()), (8, 2));
    assert!(held.iter().all(|h| all.contains(h) && !ex.contains(h)));
    let mut again = all.clone();
    assert_eq!(data::split_validation(&mut again, 0.2, 7).unwrap(), held, "same seed, same split");
    let mut other = all.clone();
    assert_ne!(data::split_validation(&mut other, 0.2, 8).unwrap(), held, "another seed, another split");
    let mut one = all[..1].to_vec();
    assert!(data::split_validation(&mut one, 0.5, 0).is_err(), "nothing left to train on");

    let base = tiny_config(Path::new("d.jsonl"), Path::new("out"));
    let bad = TrainConfig { save_best: true, ..base.clone() };
    assert!(bad.validate().unwrap_err().to_string().contains("--eval-data"));
    let both = TrainConfig { val_split: 0.1, eval_data: vec!["e.jsonl".into()], ..base.clone() };
    assert!(both.validate().unwrap_err().to_string().contains("not both"));
    assert!(TrainConfig { val_split: 1.0, ..base }.validate().is_err());
}
