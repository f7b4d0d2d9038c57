//! The fused kernels against the plain-op reference, values and gradients, on the test device
//! (`flex`, or wgpu over lavapipe with `QWEN35_TEST_DEVICE=wgpu-cpu`) and always on `flex`.

mod common;

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use qwen35::gated_delta_rule::{self, RuleInput};
use qwen35::kernels;

/// Largest |a − b| relative to the largest |b| (so the tolerance reads as f32 digits).
fn rel_err<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let scale: f32 = b.clone().abs().max().into_scalar();
    let diff: f32 = (a - b).abs().max().into_scalar();
    diff / scale.max(1e-12)
}

fn devices() -> Vec<Device> {
    let test = common::device();
    let mut all = vec![Device::flex()];
    if format!("{test:?}") != format!("{:?}", Device::flex()) {
        all.push(test);
    }
    all
}

/// A batch of strictly lower matrices shaped like the rule's (decayed `β K Kᵀ`, |entries| < 1),
/// with garbage above the diagonal that the kernel must ignore.
fn lower_batch(n: usize, m: usize, device: &Device) -> Tensor<3> {
    let mask: Vec<f32> = (0..m * m).map(|k| if k % m < k / m { 1.0 } else { 0.0 }).collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [m, m]), device).unsqueeze::<3>();
    let lower = Tensor::<3>::random([n, m, m], Distribution::Uniform(-0.3, 0.3), device) * mask.clone();
    let junk = Tensor::<3>::random([n, m, m], Distribution::Uniform(-9.0, 9.0), device) * (mask * -1.0 + 1.0);
    lower + junk
}

#[test]
fn unit_lower_inverse_matches_reference_values_and_gradients() {
    for device in devices() {
        let device = device.autodiff();
        let (n, m) = (6, 64);
        let a0 = lower_batch(n, m, &device);
        let weights = Tensor::<3>::random([n, m, m], Distribution::Normal(0.0, 1.0), &device);

        let a = a0.clone().require_grad();
        let fused = kernels::unit_lower_inverse(a.clone());
        let g_fused = a.grad(&(fused.clone() * weights.clone()).sum().backward()).unwrap();

        // Reference: the plain-op block inversion on the strictly lower part.
        let b = a0.clone().require_grad();
        let reference = gated_delta_rule::unit_lower_inverse(b.clone().tril(-1).unsqueeze::<5>()).squeeze_dims::<3>(&[0, 1]);
        let g_ref = b.grad(&(reference.clone() * weights).sum().backward()).unwrap();

        // f32 forward substitution vs f32 block inversion of a well-conditioned system: the
        // orders of summation differ, so agreement is to a few f32 ulps of the largest entry.
        let e = rel_err(fused.clone(), reference.clone());
        assert!(e < 2e-5, "{device:?}: values differ by {e} (relative)");
        let e = rel_err(g_fused, g_ref);
        assert!(e < 2e-5, "{device:?}: gradients differ by {e} (relative)");
    }
}

fn rule_inputs(b: usize, h: usize, t: usize, dk: usize, dv: usize, device: &Device) -> RuleInput {
    let unit = |x: Tensor<4>| {
        let norm = x.clone().powf_scalar(2.0).sum_dim(3).sqrt();
        x / norm
    };
    let segs: Vec<f32> = (0..b * t).map(|i| ((i % t) / 37) as f32).collect(); // examples of 37 tokens
    RuleInput {
        q: unit(Tensor::random([b, h, t, dk], Distribution::Normal(0.0, 1.0), device)),
        k: unit(Tensor::random([b, h, t, dk], Distribution::Normal(0.0, 1.0), device)),
        v: Tensor::random([b, h, t, dv], Distribution::Normal(0.0, 1.0), device),
        g: Tensor::random([b, h, t], Distribution::Uniform(-0.2, -0.001), device),
        beta: Tensor::random([b, h, t], Distribution::Uniform(0.05, 0.95), device),
        initial_state: None,
        segments: Some(Tensor::from_data(TensorData::new(segs, [b, t]), device)),
    }
}

#[test]
fn chunked_rule_with_fused_solve_matches_reference() {
    for device in devices() {
        let device = device.autodiff();
        // 150 tokens: two full chunks and a padded one; packed examples cross chunk borders.
        let base = rule_inputs(2, 3, 150, 16, 24, &device);
        let leaves = |x: &RuleInput| RuleInput {
            q: x.q.clone().require_grad(),
            k: x.k.clone().require_grad(),
            v: x.v.clone().require_grad(),
            g: x.g.clone().require_grad(),
            beta: x.beta.clone().require_grad(),
            initial_state: None,
            segments: x.segments.clone(),
        };
        let weights = Tensor::<4>::random([2, 3, 150, 24], Distribution::Normal(0.0, 1.0), &device);
        let run = |fused: bool| {
            let input = leaves(&base);
            let (q, k, v, g, beta) =
                (input.q.clone(), input.k.clone(), input.v.clone(), input.g.clone(), input.beta.clone());
            let (out, state) =
                if fused { gated_delta_rule::chunked(input) } else { gated_delta_rule::chunked_reference(input) };
            let grads = ((out.clone() * weights.clone()).sum() + state.clone().sum()).backward();
            let g4 = |x: &Tensor<4>| x.grad(&grads).unwrap();
            let g3 = |x: &Tensor<3>| x.grad(&grads).unwrap();
            (out, state, [g4(&q), g4(&k), g4(&v)], [g3(&g), g3(&beta)])
        };
        let (o1, s1, g41, g31) = run(true);
        let (o2, s2, g42, g32) = run(false);
        assert!(rel_err(o1, o2) < 1e-4, "{device:?}: outputs differ");
        assert!(rel_err(s1, s2) < 1e-4, "{device:?}: final states differ");
        for (name, (a, b)) in ["q", "k", "v"].iter().zip(g41.into_iter().zip(g42)) {
            let e = rel_err(a, b);
            assert!(e < 1e-4, "{device:?}: d{name} differs by {e}");
        }
        for (name, (a, b)) in ["g", "beta"].iter().zip(g31.into_iter().zip(g32)) {
            let e = rel_err(a, b);
            assert!(e < 1e-4, "{device:?}: d{name} differs by {e}");
        }
    }
}
