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

#[test]
fn bf16_parameters_keep_f32_master_weights() {
    // A bf16 weight of 1.0 under updates of lr 1e-4: each is below bf16's resolution at 1.0
    // (2⁻⁷ = 0.0078), so without an f32 master copy the weight would never move. With it, the
    // bf16 weight is the f32 trajectory rounded once, and the master equals an f32 run.
    use burn::tensor::DType;
    let device = Device::flex().autodiff();
    let make = |dtype: DType| Toy {
        w: Param::from_tensor(Tensor::<2>::ones([2, 2], &device).cast(dtype).require_grad()),
        b: Param::from_tensor(Tensor::<1>::ones([3], &device).cast(dtype).require_grad()),
        n: Param::from_tensor(Tensor::<3>::ones([1, 1, 2], &device).cast(dtype).require_grad()),
    };
    let cfg = AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, max_grad_norm: None };
    let (mut low, mut high) = (make(DType::BF16), make(DType::F32));
    let (mut opt_low, mut opt_high) = (AdamW::new(cfg), AdamW::new(cfg));
    let inner = device.clone().inner();
    for _ in 0..200 {
        for (model, opt) in [(&mut low, &mut opt_low), (&mut high, &mut opt_high)] {
            let mut acc = GradAccumulator::default();
            for (name, n) in [("w", 4), ("b", 3), ("n", 2)] {
                acc.insert(name, Tensor::from_data(TensorData::new(vec![1f32; n], [n]), &inner));
            }
            let taken = std::mem::replace(model, make(DType::F32));
            *model = opt.step(taken, acc, 1e-4).0;
        }
    }
    assert_eq!(low.w.val().dtype(), DType::BF16, "the parameter stays bf16");
    let want = values(&high.w)[0]; // 1 − 200·1e-4 (Adam's step is lr for a constant gradient)
    assert!((want - 0.98).abs() < 1e-4, "f32 run: {want}");
    let master = opt_low.state["w"].master.clone().expect("bf16 parameters get a master copy");
    let master = master.into_data().try_to_vec::<f32>().unwrap()[0];
    assert!((master - want).abs() < 1e-6, "master {master} vs f32 run {want}");
    let stored = low.w.val().cast(DType::F32).into_data().try_to_vec::<f32>().unwrap()[0];
    assert!((stored - want).abs() <= 0.004, "bf16 weight {stored} is the f32 run {want} rounded once");
    assert!(stored < 0.99, "the bf16 weight moved: {stored}");
    assert!(opt_high.state["w"].master.is_none(), "f32 parameters need no master copy");
}
