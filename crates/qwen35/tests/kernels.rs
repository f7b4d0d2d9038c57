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
        let reference =
            gated_delta_rule::unit_lower_inverse(b.clone().tril(-1).unsqueeze::<5>()).squeeze_dims::<3>(&[0, 1]);
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
fn chunked_rule_with_fused_kernels_matches_reference() {
    // 150 tokens: two full chunks and a padded one. Packed examples of 37 tokens cross chunk
    // borders; the unpacked case carries a state in (its gradient is checked too). dv = 40
    // spreads the state pass over two 32-column cubes.
    for (packed, device) in [true, false].into_iter().flat_map(|p| devices().into_iter().map(move |d| (p, d))) {
        let device = device.autodiff();
        let (b, h, t, dk, dv) = (2, 3, 150, 16, 40);
        let mut base = rule_inputs(b, h, t, dk, dv, &device);
        if !packed {
            base.segments = None;
            base.initial_state = Some(Tensor::random([b, h, dk, dv], Distribution::Normal(0.0, 0.5), &device));
        }
        let weights = Tensor::<4>::random([b, h, t, dv], Distribution::Normal(0.0, 1.0), &device);
        let state_weights = Tensor::<4>::random([b, h, dk, dv], Distribution::Normal(0.0, 1.0), &device);
        let run = |fused: bool| {
            let input = RuleInput {
                q: base.q.clone().require_grad(),
                k: base.k.clone().require_grad(),
                v: base.v.clone().require_grad(),
                g: base.g.clone().require_grad(),
                beta: base.beta.clone().require_grad(),
                initial_state: base.initial_state.clone().map(|s| s.require_grad()),
                segments: base.segments.clone(),
            };
            let leaves = input.clone();
            let (out, state) =
                if fused { gated_delta_rule::chunked(input) } else { gated_delta_rule::chunked_reference(input) };
            let loss = (out.clone() * weights.clone()).sum() + (state.clone() * state_weights.clone()).sum();
            let grads = loss.backward();
            let g4 = |x: &Tensor<4>| x.grad(&grads).unwrap();
            let g3 = |x: &Tensor<3>| x.grad(&grads).unwrap();
            let mut g4s = vec![g4(&leaves.q), g4(&leaves.k), g4(&leaves.v)];
            if let Some(s) = &leaves.initial_state {
                g4s.push(g4(s));
            }
            (out, state, g4s, [g3(&leaves.g), g3(&leaves.beta)])
        };
        let (o1, s1, g41, g31) = run(true);
        let (o2, s2, g42, g32) = run(false);
        // The same f32 math as the plain ops in another order (loops vs GEMMs): 1e-4 relative.
        assert!(rel_err(o1, o2) < 1e-4, "{device:?}: outputs differ");
        assert!(rel_err(s1, s2) < 1e-4, "{device:?}: final states differ");
        for (name, (a, b)) in ["q", "k", "v", "initial state"].iter().zip(g41.into_iter().zip(g42)) {
            let e = rel_err(a, b);
            assert!(e < 1e-4, "{device:?} (packed: {packed}): d{name} differs by {e}");
        }
        for (name, (a, b)) in ["g", "beta"].iter().zip(g31.into_iter().zip(g32)) {
            let e = rel_err(a, b);
            assert!(e < 1e-4, "{device:?} (packed: {packed}): d{name} differs by {e}");
        }
    }
}

/// Plain-op causal attention with an explicit mask: the reference for the fused kernel.
fn attention_reference(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, groups: &[f32]) -> Tensor<4> {
    let [b, h, t, d] = q.dims();
    let hkv = k.dims()[1];
    let rep = h / hkv;
    let expand = |x: Tensor<4>| x.unsqueeze_dim::<5>(2).expand([b, hkv, rep, t, d]).reshape([b, h, t, d]);
    let mut bias = vec![0f32; b * t * t];
    for r in 0..b {
        for i in 0..t {
            let start = (0..=i).rev().take_while(|&j| groups[r * t + j] == groups[r * t + i]).last().unwrap();
            for j in 0..t {
                if j < start || j > i {
                    bias[(r * t + i) * t + j] = f32::NEG_INFINITY;
                }
            }
        }
    }
    let bias = Tensor::<4>::from_data(TensorData::new(bias, [b, 1, t, t]), &q.device());
    let scores = q.matmul(expand(k).swap_dims(2, 3)) * (d as f64).powf(-0.5) + bias;
    burn::tensor::activation::softmax(scores, 3).matmul(expand(v))
}

#[test]
fn fused_attention_matches_reference_with_gqa_packing_and_padding() {
    // Head dim 20 runs in 32-wide cubes on the GPU kernel (12 idle units, key blocks of 32 that
    // the 45-token rows cross); head dim 256 is Qwen3.5's. 150 and 200 tokens cross the CPU
    // kernel's 64-row query blocks (examples starting inside a block); one row with one kv head
    // splits the CPU backward's blocks over threads, whose dk/dv shares are summed.
    let shapes = [(2, 4, 2, 45, 20), (2, 2, 1, 45, 256), (2, 4, 2, 150, 20), (1, 2, 1, 200, 32)];
    for ((b, h, hkv, t, d), device) in shapes.into_iter().flat_map(|s| devices().into_iter().map(move |dev| (s, dev))) {
        let device = device.autodiff();
        // Row 0: three packed examples; row 1: left padding (unique ids) then one example.
        let mut groups: Vec<f32> = (0..t).map(|i| [1.0, 2.0, 3.0][(i * 3) / t]).collect();
        groups.extend((0..t).map(|i| if i < 5 { -1.0 - i as f32 } else { 7.0 }));
        groups.truncate(b * t);
        let g = Tensor::<2>::from_data(TensorData::new(groups.clone(), [b, t]), &device);
        let q0 = Tensor::<4>::random([b, h, t, d], Distribution::Normal(0.0, 1.0), &device);
        let k0 = Tensor::<4>::random([b, hkv, t, d], Distribution::Normal(0.0, 1.0), &device);
        let v0 = Tensor::<4>::random([b, hkv, t, d], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<4>::random([b, h, t, d], Distribution::Normal(0.0, 1.0), &device);
        let run = |fused: bool| {
            let (q, k, v) = (q0.clone().require_grad(), k0.clone().require_grad(), v0.clone().require_grad());
            let o = if fused {
                kernels::causal_attention(q.clone(), k.clone(), v.clone(), g.clone())
            } else {
                attention_reference(q.clone(), k.clone(), v.clone(), &groups)
            };
            let grads = (o.clone() * w.clone()).sum().backward();
            (o, q.grad(&grads).unwrap(), k.grad(&grads).unwrap(), v.grad(&grads).unwrap())
        };
        let (o1, dq1, dk1, dv1) = run(true);
        let (o2, dq2, dk2, dv2) = run(false);
        // Same f32 math in another order (dot products vs GEMM, online vs two-pass softmax).
        for (name, e) in
            [("o", rel_err(o1, o2)), ("dq", rel_err(dq1, dq2)), ("dk", rel_err(dk1, dk2)), ("dv", rel_err(dv1, dv2))]
        {
            assert!(e < 1e-5, "{device:?}: {name} differs by {e} (relative)");
        }
    }
}

#[test]
fn cpu_rule_kernel_matches_chunked_reference_values_and_gradients() {
    let device = Device::flex().autodiff();
    assert!(kernels::has_cpu_kernels(&device));
    // 150 tokens: the token form's 64-token checkpoints and the chunked form's chunks split it
    // 64 + 64 + 22; examples of 37 tokens cross the checkpoint and chunk borders, and the
    // second chunk has an example wholly inside it; unpacked, every chunk carries the state
    // of the one before. dk 16 × dv 24 runs token by token, dk 64 × dv 72 in chunks of GEMMs
    // (the CPU picks by state size).
    for (dk, dv, packed) in [(16, 24, true), (64, 72, true), (64, 72, false)] {
        let mut base = rule_inputs(2, 3, 150, dk, dv, &device);
        if !packed {
            // One example per row, and decays weak enough (Γ over a chunk ≈ 0.5) that the state
            // a chunk carries matters to the next.
            base.segments = Some(Tensor::zeros([2, 150], &device));
            base.g = Tensor::random([2, 3, 150], Distribution::Uniform(-0.02, -0.001), &device);
        }
        let weights = Tensor::<4>::random([2, 3, 150, dv], Distribution::Normal(0.0, 1.0), &device);
        let run = |fused: bool| {
            let (q, k, v) =
                (base.q.clone().require_grad(), base.k.clone().require_grad(), base.v.clone().require_grad());
            let (g, beta) = (base.g.clone().require_grad(), base.beta.clone().require_grad());
            let out = if fused {
                kernels::gated_delta_rule(
                    q.clone(),
                    k.clone(),
                    v.clone(),
                    g.clone(),
                    beta.clone(),
                    base.segments.clone().unwrap(),
                )
            } else {
                let input = RuleInput {
                    q: q.clone(),
                    k: k.clone(),
                    v: v.clone(),
                    g: g.clone(),
                    beta: beta.clone(),
                    initial_state: None,
                    segments: base.segments.clone(),
                };
                gated_delta_rule::chunked_reference(input).0
            };
            let grads = (out.clone() * weights.clone()).sum().backward();
            let g4 = |x: &Tensor<4>| x.grad(&grads).unwrap();
            let g3 = |x: &Tensor<3>| x.grad(&grads).unwrap();
            (out, [g4(&q), g4(&k), g4(&v)], [g3(&g), g3(&beta)])
        };
        let (o1, g41, g31) = run(true);
        let (o2, g42, g32) = run(false);
        // Token by token or GEMMs vs the plain-op chunked form (triangular solve, decays as exp
        // of cumulative sums): the same f32 math in a different order; 1e-4 of the largest entry.
        let e = rel_err(o1, o2);
        assert!(e < 1e-4, "dk {dk} dv {dv} packed {packed}: outputs differ by {e}");
        for (name, (a, b)) in ["q", "k", "v"].iter().zip(g41.into_iter().zip(g42)) {
            let e = rel_err(a, b);
            assert!(e < 1e-4, "dk {dk} dv {dv} packed {packed}: d{name} differs by {e}");
        }
        for (name, (a, b)) in ["g", "beta"].iter().zip(g31.into_iter().zip(g32)) {
            let e = rel_err(a, b);
            assert!(e < 1e-4, "dk {dk} dv {dv} packed {packed}: d{name} differs by {e}");
        }
    }
}

#[test]
fn cpu_rule_kernel_without_segments_matches_recurrent_form() {
    let device = Device::flex();
    // Token by token (8 × 12) and in chunks (64 × 64: 64 + 6 tokens).
    for (dk, dv) in [(8, 12), (64, 64)] {
        let mut input = rule_inputs(1, 2, 70, dk, dv, &device);
        input.segments = None;
        let (reference, _) = gated_delta_rule::recurrent(input.clone());
        let fused =
            kernels::gated_delta_rule(input.q, input.k, input.v, input.g, input.beta, Tensor::zeros([1, 70], &device));
        let e = rel_err(fused, reference);
        assert!(e < 1e-5, "dk {dk} dv {dv}: differs from the recurrent form by {e}");
    }
}
