//! Properties of the model that need no oracle: the two forms of the gated delta rule agree,
//! cached decoding equals a full forward, left padding and packing change nothing, random init
//! follows transformers' scales, and bad checkpoints give typed errors.

mod common;

use burn::tensor::{DType, Device, Tensor, TensorData};
use qwen35::gated_delta_rule::{self, RuleInput};
use qwen35::{Checkpoint, Inputs, LayerType, Qwen35, Qwen35Config, Qwen35Error};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Chunked vs recurrent gated delta rule in f32 (DESIGN.md: they agree to ~5e-7; the issue
/// asks 1e-5).
const RULE_TOL: f32 = 1e-5;
/// Same model, same tokens, different schedules (cache vs full, padded vs not, packed vs
/// not): the GDN chunks fall at other offsets, so f32 rounding differs and is amplified through
/// five random layers. Measured on such models: running every GDN layer in the recurrent form
/// instead of the chunked one moves the logits by 2.5e-4 to 3.5e-4 (max |logit| ~7), and with
/// the recurrent form packed and separate rows agree exactly. Relative to the largest |logit|:
/// 1e-4 (~7e-4 at |logit| 7), while a leak across a padding or packing boundary shows up at
/// 1e-2 or more.
const SCHEDULE_REL_TOL: f32 = 1e-4;

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), (device, DType::F32))
}

fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    (a - b).abs().max().into_scalar()
}

/// Asserts two logit tensors agree to [`SCHEDULE_REL_TOL`] of the largest |logit|.
fn assert_same_logits(expected: Tensor<3>, actual: Tensor<3>, what: &str) {
    let scale: f32 = expected.clone().abs().max().into_scalar();
    let err = max_abs_diff(expected, actual);
    eprintln!("{what}: max |Δ| {err:.2e} (max |logit| {scale:.1})");
    assert!(err <= SCHEDULE_REL_TOL * scale.max(1.0), "{what}: max |Δ| {err:e} for max |logit| {scale}");
}

/// Random rule inputs; `slow` gives decays near 1 (long memory), `correlated` keys share a
/// common direction (the ill-conditioned case for (I + A)⁻¹).
fn rule_input(rng: &mut ChaCha8Rng, t: usize, slow: bool, correlated: bool, device: &Device) -> RuleInput {
    let (b, h, dk, dv) = (2, 3, 16, 24);
    let mut normal = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect() };
    let l2 = |v: Vec<f32>, d: usize| -> Vec<f32> {
        v.chunks(d)
            .flat_map(|c| {
                let n = c.iter().map(|x| x * x).sum::<f32>().sqrt() + 1e-6;
                c.iter().map(move |x| x / n).collect::<Vec<_>>()
            })
            .collect()
    };
    let q = l2(normal(b * h * t * dk), dk);
    let mut k = normal(b * h * t * dk);
    if correlated {
        let base = normal(dk);
        for (i, x) in k.iter_mut().enumerate() {
            *x = base[i % dk] + 0.05 * *x;
        }
    }
    let k = l2(k, dk);
    let v = normal(b * h * t * dv);
    let g: Vec<f32> = (0..b * h * t)
        .map(|_| if slow { -rng.random_range(0.0f32..0.01) } else { -rng.random_range(0.0f32..5.0) })
        .collect();
    let beta: Vec<f32> = (0..b * h * t).map(|_| rng.random_range(0.05f32..0.99)).collect();
    RuleInput {
        q: tensor(q, [b, h, t, dk], device),
        k: tensor(k, [b, h, t, dk], device),
        v: tensor(v, [b, h, t, dv], device),
        g: tensor(g, [b, h, t], device),
        beta: tensor(beta, [b, h, t], device),
        initial_state: None,
        segments: None,
    }
}

#[test]
fn chunked_equals_recurrent() {
    let device = common::device();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for &t in &[1, 17, 64, 65, 150] {
        for (slow, correlated) in [(false, false), (true, false), (true, true), (false, true)] {
            let input = rule_input(&mut rng, t, slow, correlated, &device);
            let (o1, s1) = gated_delta_rule::chunked(input.clone());
            let (o2, s2) = gated_delta_rule::recurrent(input);
            let (eo, es) = (max_abs_diff(o1, o2), max_abs_diff(s1, s2));
            assert!(eo < RULE_TOL && es < RULE_TOL, "t={t} slow={slow} corr={correlated}: out {eo:e}, state {es:e}");
        }
    }
}

#[test]
fn chunked_continues_from_an_initial_state_and_resets_at_segments() {
    let device = common::device();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let t = 140;
    let mut input = rule_input(&mut rng, t, true, false, &device);
    input.initial_state = Some(Tensor::random([2, 3, 16, 24], burn::tensor::Distribution::Normal(0.0, 0.5), &device));
    // Boundaries inside chunks, exactly at a chunk start (64) and a one-token segment.
    let mut seg = Vec::new();
    for row in 0..2 {
        let cuts: &[usize] = if row == 0 { &[10, 64, 65, 100] } else { &[63, 128] };
        let mut id = 0u32;
        for i in 0..t {
            if cuts.contains(&i) {
                id += 1;
            }
            seg.push(id as f32);
        }
    }
    input.segments = Some(tensor(seg, [2, t], &device));
    let (o1, s1) = gated_delta_rule::chunked(input.clone());
    let (o2, s2) = gated_delta_rule::recurrent(input);
    let (eo, es) = (max_abs_diff(o1, o2), max_abs_diff(s1, s2));
    assert!(eo < RULE_TOL && es < RULE_TOL, "out {eo:e}, state {es:e}");
}

/// A tiny random model with every feature switched on: grouped value heads, dk != dv, GQA,
/// attention layers at 1 and 4.
fn tiny_model(device: &Device) -> (Qwen35, Qwen35Config) {
    let mut cfg = Qwen35Config::preset("tiny").unwrap();
    cfg.layer_types = vec![
        LayerType::LinearAttention,
        LayerType::FullAttention,
        LayerType::LinearAttention,
        LayerType::LinearAttention,
        LayerType::FullAttention,
    ];
    cfg.initializer_range = 0.2; // larger than transformers' 0.02 so logits are not all ~0
    let model = Qwen35::random(&cfg, 7, device, DType::F32).unwrap();
    (model, cfg)
}

fn random_ids(rng: &mut ChaCha8Rng, n: usize, vocab: usize) -> Vec<i64> {
    (0..n).map(|_| rng.random_range(0..vocab as i64)).collect()
}

fn logits(model: &Qwen35, inputs: &Inputs, cache: Option<&mut qwen35::Cache>) -> Tensor<3> {
    model.logits(model.forward_hidden(inputs, cache).unwrap())
}

#[test]
fn prefill_then_decode_equals_full_forward() {
    let device = common::device();
    let (model, cfg) = tiny_model(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (b, t, prefix) = (2, 90, 70);
    let ids = random_ids(&mut rng, b * t, cfg.vocab_size);
    let full = logits(&model, &Inputs::new(ids.clone(), b, t).unwrap(), None);
    let take = |from: usize, len: usize| -> Vec<i64> {
        (0..b).flat_map(|r| ids[r * t + from..r * t + from + len].to_vec()).collect()
    };
    let mut cache = model.new_cache(b);
    let mut parts = vec![logits(&model, &Inputs::new(take(0, prefix), b, prefix).unwrap(), Some(&mut cache))];
    // A multi-token continuation (chunked with carried state), then single-token steps.
    parts.push(logits(&model, &Inputs::new(take(prefix, 5), b, 5).unwrap(), Some(&mut cache)));
    for i in prefix + 5..t {
        parts.push(logits(&model, &Inputs::new(take(i, 1), b, 1).unwrap(), Some(&mut cache)));
    }
    assert_same_logits(full, Tensor::cat(parts, 1), "cached decode vs full forward");
}

#[test]
fn left_padding_changes_nothing() {
    let device = common::device();
    let (model, cfg) = tiny_model(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let (long, short) = (75, 41);
    let a = random_ids(&mut rng, long, cfg.vocab_size);
    let s = random_ids(&mut rng, short, cfg.vocab_size);
    let alone = logits(&model, &Inputs::new(s.clone(), 1, short).unwrap(), None);
    let mut ids = a.clone();
    ids.extend(std::iter::repeat_n(0, long - short).chain(s.iter().copied()));
    let mask: Vec<bool> = std::iter::repeat_n(true, long)
        .chain(std::iter::repeat_n(false, long - short))
        .chain(std::iter::repeat_n(true, short))
        .collect();
    let batch = Inputs::new(ids, 2, long).unwrap().with_attention_mask(mask).unwrap();
    let padded = logits(&model, &batch, None).narrow(0, 1, 1).narrow(1, long - short, short);
    assert_same_logits(alone, padded, "left-padded row vs alone");

    // Batched generation equals generating each prompt alone.
    let cfg_gen = qwen35::GenerationConfig { max_new_tokens: 8, ..Default::default() };
    let prompts = vec![a.iter().map(|&x| x as u32).collect::<Vec<_>>(), s.iter().map(|&x| x as u32).collect()];
    let together = qwen35::generate(&model, &prompts, &cfg_gen, |_| {}).unwrap();
    for (i, p) in prompts.iter().enumerate() {
        let alone = qwen35::generate(&model, std::slice::from_ref(p), &cfg_gen, |_| {}).unwrap();
        assert_eq!(together[i], alone[0], "row {i}");
    }
}

#[test]
fn padding_hole_inside_an_example_matches_the_cached_path() {
    // Tokens after the hole see the real tokens before it (only padded keys are masked, as in
    // transformers). The fused attention sees runs of tokens, so the model must not use it here;
    // the cached prefill always takes the bias path and is the reference.
    let device = common::device();
    let (model, cfg) = tiny_model(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let t = 40;
    let ids = random_ids(&mut rng, t, cfg.vocab_size);
    let mask: Vec<bool> = (0..t).map(|i| !(10..13).contains(&i)).collect();
    let batch = Inputs::new(ids, 1, t).unwrap().with_attention_mask(mask).unwrap();
    let forward = logits(&model, &batch, None);
    let mut cache = model.new_cache(1);
    let prefill = logits(&model, &batch, Some(&mut cache));
    // On the CPU the reference also runs the GDN layers chunked instead of token by token, which
    // alone moves these logits by ~1.1e-4 of their scale after the hole (the cached-decode test
    // sees 5e-5); the fused attention's run-based mask moved them by 0.77 of it.
    let scale: f32 = forward.clone().abs().max().into_scalar();
    let err = max_abs_diff(forward, prefill);
    assert!(err < 1e-3 * scale, "hole in the mask: forward vs cached prefill differ by {err} (scale {scale})");
}

#[test]
fn packed_rows_equal_separate_rows() {
    let device = common::device();
    let (model, cfg) = tiny_model(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let lens = [30, 1, 70, 29]; // boundaries inside chunks and across the 64-token chunk edge
    let seqs: Vec<Vec<i64>> = lens.iter().map(|&n| random_ids(&mut rng, n, cfg.vocab_size)).collect();
    let total: usize = lens.iter().sum();
    let ids: Vec<i64> = seqs.concat();
    let segs: Vec<u32> = lens.iter().enumerate().flat_map(|(i, &n)| std::iter::repeat_n(i as u32, n)).collect();
    let packed = logits(&model, &Inputs::new(ids, 1, total).unwrap().with_segment_ids(segs).unwrap(), None);
    let mut offset = 0;
    for (seq, &n) in seqs.iter().zip(&lens) {
        let alone = logits(&model, &Inputs::new(seq.clone(), 1, n).unwrap(), None);
        assert_same_logits(alone, packed.clone().narrow(1, offset, n), &format!("packed segment at {offset}"));
        offset += n;
    }
}

#[test]
fn random_init_follows_transformers_scales() {
    let device = Device::flex();
    let cfg = Qwen35Config::preset("tiny").unwrap();
    let model = Qwen35::random(&cfg, 11, &device, DType::F32).unwrap();
    let values = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
    let emb = values(model.embed_tokens.weight.val());
    let std = (emb.iter().map(|x| x * x).sum::<f32>() / emb.len() as f32).sqrt();
    assert!((std - 0.02).abs() < 0.001, "embedding std {std}");
    let layer0 = &model.layers[0];
    let gdn = layer0.linear_attn.as_ref().unwrap();
    let a_log = gdn.A_log.val().into_data().try_to_vec::<f32>().unwrap();
    assert!(a_log.iter().all(|&x| x >= 0.01f32.ln() - 1e-6 && x <= 16f32.ln() + 1e-6), "{a_log:?}");
    let ones = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap().iter().all(|&x| x == 1.0);
    let zeros = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap().iter().all(|&x| x == 0.0);
    assert!(ones(gdn.dt_bias.val()) && ones(gdn.norm.weight.val()));
    assert!(zeros(layer0.input_layernorm.weight.val()) && zeros(model.norm.weight.val()));
    // Same seed, same weights; another seed, other weights.
    let again = Qwen35::random(&cfg, 11, &device, DType::F32).unwrap();
    assert_eq!(emb, values(again.embed_tokens.weight.val()));
    let other = Qwen35::random(&cfg, 12, &device, DType::F32).unwrap();
    assert_ne!(emb, values(other.embed_tokens.weight.val()));
}

#[test]
fn out_of_vocab_ids_are_rejected() {
    let device = Device::flex();
    let (model, cfg) = tiny_model(&device);
    let e = model.forward_hidden(&Inputs::new(vec![1, cfg.vocab_size as i64], 1, 2).unwrap(), None).unwrap_err();
    assert!(matches!(e, Qwen35Error::OutOfVocab { position: 1, .. }), "{e}");
    let e = model.forward_hidden(&Inputs::new(vec![-3], 1, 1).unwrap(), None).unwrap_err();
    assert!(matches!(e, Qwen35Error::OutOfVocab { .. }), "{e}");
    assert!(Inputs::new(vec![1, 2, 3], 2, 2).is_err());
}

// ---- Bad checkpoints: every failure is a typed error naming the file or tensor. ----

/// Copies a fixture into a fresh temporary directory.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

/// Rewrites `model.safetensors` in `dir`, letting `edit` drop or replace tensors.
fn rewrite_checkpoint(
    dir: &std::path::Path,
    edit: impl Fn(&str, safetensors::Dtype, &[usize], &[u8]) -> Option<(safetensors::Dtype, Vec<usize>, Vec<u8>)>,
) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    type Stored = (safetensors::Dtype, Vec<usize>, Vec<u8>);
    let kept: Vec<(String, Stored)> = st
        .tensors()
        .into_iter()
        .filter_map(|(name, v)| edit(&name, v.dtype(), v.shape(), v.data()).map(|t| (name, t)))
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = kept
        .iter()
        .map(|(n, (dt, shape, data))| {
            (n.clone(), safetensors::tensor::TensorView::new(*dt, shape.clone(), data).unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, &path).unwrap();
}

fn load_err(dir: &std::path::Path) -> Qwen35Error {
    Qwen35::from_pretrained(dir, &Device::flex(), DType::F32).map(|_| ()).unwrap_err()
}

#[test]
fn missing_tensor_is_named() {
    let dir = copy_fixture("vlm_tied");
    let key = "model.language_model.layers.2.linear_attn.dt_bias";
    rewrite_checkpoint(dir.path(), |n, dt, s, d| (n != key).then(|| (dt, s.to_vec(), d.to_vec())));
    match load_err(dir.path()) {
        Qwen35Error::MissingTensor { key, .. } => assert_eq!(key, "layers.2.linear_attn.dt_bias"),
        e => panic!("{e}"),
    }
}

#[test]
fn wrong_shape_is_named() {
    let dir = copy_fixture("vlm_tied");
    let key = "model.language_model.norm.weight";
    rewrite_checkpoint(dir.path(), |n, dt, s, d| {
        Some(if n == key { (dt, vec![s[0] / 2], d[..d.len() / 2].to_vec()) } else { (dt, s.to_vec(), d.to_vec()) })
    });
    match load_err(dir.path()) {
        Qwen35Error::ShapeMismatch { key: k, expected, found, .. } => {
            assert_eq!(k, key);
            assert_eq!(found[0] * 2, expected[0]);
        }
        e => panic!("{e}"),
    }
}

#[test]
fn integer_weight_is_an_unsupported_dtype() {
    let dir = copy_fixture("vlm_tied");
    let key = "model.language_model.norm.weight";
    rewrite_checkpoint(dir.path(), |n, dt, s, d| {
        Some(if n == key { (safetensors::Dtype::I32, s.to_vec(), d.to_vec()) } else { (dt, s.to_vec(), d.to_vec()) })
    });
    assert!(matches!(load_err(dir.path()), Qwen35Error::UnsupportedDtype { .. }));
}

#[test]
fn truncated_file_is_corrupt_not_a_panic() {
    let dir = copy_fixture("vlm_tied");
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    for cut in [4, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        match load_err(dir.path()) {
            Qwen35Error::CorruptCheckpoint { path: p, .. } => assert_eq!(p, path),
            e => panic!("cut {cut}: {e}"),
        }
    }
}

#[test]
fn config_with_fewer_layers_reports_unused_tensors() {
    let dir = copy_fixture("vlm_tied");
    let path = dir.path().join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    cfg["text_config"]["num_hidden_layers"] = 3.into();
    let types = cfg["text_config"]["layer_types"].as_array().unwrap()[..3].to_vec();
    cfg["text_config"]["layer_types"] = types.into();
    std::fs::write(&path, cfg.to_string()).unwrap();
    match load_err(dir.path()) {
        Qwen35Error::UnusedTensors { keys, .. } => assert!(keys.iter().all(|k| k.starts_with("layers.3.")), "{keys:?}"),
        e => panic!("{e}"),
    }
}

#[test]
fn sharded_index_with_missing_shard_is_an_error() {
    let dir = copy_fixture("sharded");
    std::fs::remove_file(dir.path().join("model-00002-of-00004.safetensors")).unwrap();
    assert!(matches!(Checkpoint::open(dir.path()), Err(Qwen35Error::ShardIndex { .. })));
    let e = load_err(tempfile::tempdir().unwrap().path());
    assert!(matches!(e, Qwen35Error::Io { .. }), "{e}");
}

#[test]
fn stored_bf16_and_f32_dtypes_both_load() {
    // The bf16 fixture stores layer 0's A_log as F32 and everything else as BF16.
    let mut ckpt = Checkpoint::open(common::fixture("bf16")).unwrap();
    assert_eq!(ckpt.stored_dtype("layers.0.linear_attn.A_log"), Some(safetensors::Dtype::F32));
    assert_eq!(ckpt.stored_dtype("layers.1.linear_attn.A_log"), Some(safetensors::Dtype::BF16));
    let cfg = Qwen35Config::from_file(common::fixture("bf16").join("config.json")).unwrap();
    let model = Qwen35::from_checkpoint(&cfg, &mut ckpt, &Device::flex(), DType::BF16).unwrap();
    assert_eq!(model.dtype(), DType::BF16);
}
