//! Parity with Hugging Face `transformers` (the oracle): logits and greedy continuations of
//! tiny random Qwen3.5 checkpoints in the real layouts.
//!
//! Fixtures come from `tools/fixtures/make_qwen35_fixtures.py` (transformers 5.24, torch 2.15);
//! regenerate with `python tools/fixtures/make_qwen35_fixtures.py` and see
//! `tests/fixtures/README.md` for what each covers.

mod common;

use std::collections::HashMap;

use burn::tensor::{DType, Tensor};
use qwen35::checkpoint::read_all_f32;
use qwen35::{GenerationConfig, Inputs, Qwen35, generate};

/// Max |logit − transformers| for f32 on CPU. transformers' own f32 logits differ from an exact
/// f64 computation by up to 1.1e-4 at scattered positions (fixtures README), and ours by a
/// similar amount the other way, so two correct f32 programs can differ by ~2e-4.
const F32_ABS_TOL: f32 = 2.5e-4;
/// Most positions agree far better; the 99th percentile must stay within this.
const F32_P99_TOL: f32 = 1e-4;
/// bf16 has 8 mantissa bits: two correct bf16 programs differ by rounding order alone, so our
/// bf16 forward is held to transformers' own bf16 error against the f32 logits of the same
/// weights (fixtures README: max 1.11, mean 0.040), with headroom for a different rounding order.
const BF16_ERROR_RATIO: f32 = 1.5;
/// Argmax agreement with the f32 logits may fall at most this far below transformers' bf16.
const BF16_ARGMAX_SLACK: f32 = 0.03;

use common::fixture;

struct Reference {
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Reference {
    fn load(name: &str) -> Self {
        Self { tensors: read_all_f32(&fixture(name).join("reference.safetensors")).expect("reference.safetensors") }
    }
    fn get(&self, key: &str) -> (Vec<usize>, Vec<f32>) {
        self.tensors.get(key).unwrap_or_else(|| panic!("reference lacks {key}")).clone()
    }
    fn ids(&self, key: &str) -> (Vec<usize>, Vec<i64>) {
        let (shape, v) = self.get(key);
        (shape, v.into_iter().map(|x| x as i64).collect())
    }
}

fn logits_of(model: &Qwen35, ids: Vec<i64>, b: usize, t: usize) -> Vec<f32> {
    let hidden = model.forward_hidden(&Inputs::new(ids, b, t).unwrap(), None).unwrap();
    let logits: Tensor<3> = model.logits(hidden);
    logits.into_data().try_to_vec::<f32>().unwrap()
}

/// (max, mean, 99th percentile) of |a − b|.
fn diff_stats(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    assert_eq!(a.len(), b.len());
    let mut d: Vec<f32> = a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect();
    let mean = d.iter().sum::<f32>() / d.len() as f32;
    d.sort_by(f32::total_cmp);
    (d[d.len() - 1], mean, d[(d.len() * 99) / 100])
}

fn check_f32_logits(name: &str) {
    let device = common::device();
    let (model, _) = Qwen35::from_pretrained(fixture(name), &device, DType::F32).expect("load");
    let r = Reference::load(name);
    let (shape, ids) = r.ids("input_ids");
    let (_, expected) = r.get("logits");
    let ours = logits_of(&model, ids, shape[0], shape[1]);
    let (max, mean, p99) = diff_stats(&ours, &expected);
    eprintln!("{name}: max |Δlogit| {max:.3e}, mean {mean:.3e}, p99 {p99:.3e}");
    assert!(max <= F32_ABS_TOL, "{name}: max |Δlogit| {max:e} > {F32_ABS_TOL:e}");
    assert!(p99 <= F32_P99_TOL, "{name}: p99 |Δlogit| {p99:e} > {F32_P99_TOL:e}");
}

fn check_greedy(name: &str) {
    let device = common::device();
    let (model, _) = Qwen35::from_pretrained(fixture(name), &device, DType::F32).expect("load");
    let r = Reference::load(name);
    let (pshape, prompts) = r.ids("prompt_ids");
    let (gshape, greedy) = r.ids("greedy_ids");
    let prompts: Vec<Vec<u32>> = prompts.chunks(pshape[1]).map(|p| p.iter().map(|&x| x as u32).collect()).collect();
    let cfg = GenerationConfig { max_new_tokens: gshape[1], ..Default::default() };
    let ours = generate(&model, &prompts, &cfg, |_| {}).unwrap();
    for (row, expected) in greedy.chunks(gshape[1]).enumerate() {
        let expected: Vec<u32> = expected.iter().map(|&x| x as u32).collect();
        assert_eq!(ours[row], expected, "{name}: greedy row {row}");
    }
}

macro_rules! parity {
    ($($name:ident),*) => {
        mod logits { $( #[test] fn $name() { super::check_f32_logits(stringify!($name)); } )* }
        mod greedy { $( #[test] fn $name() { super::check_greedy(stringify!($name)); } )* }
    };
}
parity!(vlm_tied, text_untied_irregular, interval3, bf16, sharded);

fn argmax_agreement(a: &[f32], b: &[f32], vocab: usize) -> f32 {
    let argmax = |row: &[f32]| qwen35::generate::argmax(row);
    let rows = a.len() / vocab;
    let same =
        (0..rows).filter(|r| argmax(&a[r * vocab..(r + 1) * vocab]) == argmax(&b[r * vocab..(r + 1) * vocab])).count();
    same as f32 / rows as f32
}

#[test]
fn bf16_forward_is_as_accurate_as_transformers_bf16() {
    if !common::supports_bf16() {
        eprintln!("skipped: the device under test has no bf16 arithmetic");
        return;
    }
    let device = common::device();
    let (model, cfg) = Qwen35::from_pretrained(fixture("bf16"), &device, DType::BF16).expect("load");
    let r = Reference::load("bf16");
    let (shape, ids) = r.ids("input_ids");
    let (_, exact) = r.get("logits");
    let (_, theirs) = r.get("logits_bf16");
    let ours = logits_of(&model, ids, shape[0], shape[1]);
    let (our_max, our_mean, _) = diff_stats(&ours, &exact);
    let (their_max, their_mean, _) = diff_stats(&theirs, &exact);
    let our_top1 = argmax_agreement(&ours, &exact, cfg.vocab_size);
    let their_top1 = argmax_agreement(&theirs, &exact, cfg.vocab_size);
    eprintln!(
        "bf16 vs f32 logits: ours max {our_max:.3} mean {our_mean:.4} top1 {our_top1:.3}; \
         transformers max {their_max:.3} mean {their_mean:.4} top1 {their_top1:.3}"
    );
    assert!(our_mean <= BF16_ERROR_RATIO * their_mean, "mean {our_mean} vs transformers {their_mean}");
    assert!(our_max <= BF16_ERROR_RATIO * their_max, "max {our_max} vs transformers {their_max}");
    assert!(our_top1 >= their_top1 - BF16_ARGMAX_SLACK, "top-1 {our_top1} vs transformers {their_top1}");
}
