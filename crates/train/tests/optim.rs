//! AdamW, global-norm clipping and the warmup + cosine schedule against PyTorch's
//! `torch.optim.AdamW` (foreach=False), `clip_grad_norm_` and transformers'
//! `get_cosine_schedule_with_warmup` (fixture `tests/fixtures/adamw.json`, made by
//! `tools/fixtures/make_train_fixtures.py`).
//!
//! Tolerance 1e-6 absolute on parameters after each of 12 steps: both sides run in f32 and the
//! update order is the same, so only rounding of the `sqrt`/division order differs (values are
//! O(1); f32 ulp ≈ 1e-7). The schedule is f64 on both sides: 1e-12.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;
use skillsft_train::optim::{AdamW, AdamWConfig, GradAccumulator};
use skillsft_train::schedule::Schedule;

#[derive(Module, Debug)]
struct Toy {
    w: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
    n: Param<Tensor<3>>,
}

fn fixture() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/adamw.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn values<const D: usize>(p: &Param<Tensor<D>>) -> Vec<f32> {
    p.val().into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn adamw_with_clipping_and_schedule_matches_torch_over_12_steps() {
    let fx = fixture();
    let device = Device::flex().autodiff();
    let init = |name: &str| {
        let e = &fx["initial"][name];
        let shape: Vec<usize> = e["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        (shape, floats(&e["values"]))
    };
    let param = |name: &str| {
        let (shape, v) = init(name);
        TensorData::new(v, shape)
    };
    let mut model = Toy {
        w: Param::from_tensor(Tensor::from_data(param("w"), &device)),
        b: Param::from_tensor(Tensor::from_data(param("b"), &device)),
        n: Param::from_tensor(Tensor::from_data(param("n"), &device)),
    };
    let h = &fx["hyper"];
    let mut opt = AdamW::new(AdamWConfig {
        beta1: h["betas"][0].as_f64().unwrap(),
        beta2: h["betas"][1].as_f64().unwrap(),
        eps: h["eps"].as_f64().unwrap(),
        weight_decay: h["weight_decay"].as_f64().unwrap(),
        max_grad_norm: h["max_grad_norm"].as_f64(),
    });
    let schedule = Schedule {
        peak_lr: h["lr"].as_f64().unwrap(),
        warmup_steps: h["num_warmup_steps"].as_u64().unwrap() as usize,
        total_steps: h["num_training_steps"].as_u64().unwrap() as usize,
    };
    let inner = device.clone().inner();
    let mut worst = 0f32;
    let mut clipped_steps = Vec::new();
    for (i, step) in fx["steps"].as_array().unwrap().iter().enumerate() {
        let lr = schedule.lr(i);
        assert!((lr - step["lr"].as_f64().unwrap()).abs() < 1e-12, "step {i}: lr {lr} vs {}", step["lr"]);
        let mut acc = GradAccumulator::default();
        for name in ["w", "b", "n"] {
            let g = floats(&step["grads"][name]);
            let n = g.len();
            acc.insert(name, Tensor::from_data(TensorData::new(g, [n]), &inner));
        }
        let (next, stats) = opt.step(model, acc, lr);
        model = next;
        let norm = step["grad_norm"].as_f64().unwrap();
        assert!((stats.grad_norm - norm).abs() <= 1e-5 * norm, "step {i}: grad norm {} vs {norm}", stats.grad_norm);
        assert_eq!(stats.clipped, step["clipped"].as_bool().unwrap(), "step {i}: clipping");
        if stats.clipped {
            clipped_steps.push(i);
        }
        for (name, got) in [("w", values(&model.w)), ("b", values(&model.b)), ("n", values(&model.n))] {
            for (a, b) in got.iter().zip(floats(&step["params"][name])) {
                worst = worst.max((a - b).abs());
            }
        }
        assert!(worst < 1e-6, "step {i}: max |param - torch| = {worst:e}");
    }
    assert_eq!(clipped_steps, vec![4, 9], "the fixture clips at steps 4 and 9");
    eprintln!("AdamW vs torch: max |param diff| over 12 steps = {worst:e}");
}

#[test]
fn cosine_schedule_matches_transformers_over_100_steps() {
    let fx = fixture();
    let s = &fx["schedule"];
    let schedule = Schedule {
        peak_lr: s["lr"].as_f64().unwrap(),
        warmup_steps: s["num_warmup_steps"].as_u64().unwrap() as usize,
        total_steps: s["num_training_steps"].as_u64().unwrap() as usize,
    };
    for (step, want) in s["lr_by_step"].as_array().unwrap().iter().enumerate() {
        let want = want.as_f64().unwrap();
        assert!((schedule.lr(step) - want).abs() < 1e-12, "step {step}: {} vs {want}", schedule.lr(step));
    }
}
