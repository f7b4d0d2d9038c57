//! Token cross-entropy over trained positions, in chunks, without ever holding the
//! `[tokens, vocab]` logits (1 MB per token in f32 at Qwen3.5's 248,320-token vocabulary).
//!
//! The loss and its gradient with respect to the final hidden states (and to the head, when the
//! head is trained) are computed chunk by chunk outside the autodiff graph:
//! `∂L/∂h = (softmax(hWᵀ) − onehot(y))·W / N`. The graph then only sees the surrogate
//! `Σ h·stop(∂L/∂h)` (+ `Σ W·stop(∂L/∂W)`), whose backward delivers exactly those gradients to the
//! decoder. Peak extra memory is one chunk of logits, whatever the sequence length; the result
//! equals the unchunked loss and gradients to float rounding (`tests/train.rs`).
//!
//! Normalisation: the sum over trained tokens divided by `normaliser`, which the trainer sets to
//! the number of trained tokens in the whole accumulated batch. Every trained token then weighs
//! the same whatever micro-batch it fell in, so accumulation over k micro-batches equals one
//! k-times-larger batch (a per-micro-batch mean would over-weigh tokens of short micro-batches).

use burn::tensor::activation::log_softmax;
use burn::tensor::{DType, Int, Tensor, TensorData};

/// The label of a position that is not trained (PyTorch's `ignore_index`), defined once with
/// the SFT examples.
pub use skillsft_data::sft::IGNORE;

/// The surrogate to call `backward` on and the true loss value.
pub struct LossOutput {
    /// Scalar whose gradient equals that of the loss.
    pub surrogate: Tensor<1>,
    /// `Σ −log p(y)` over the trained tokens of this call (not normalised).
    pub loss_sum: f64,
    /// Trained tokens in this call.
    pub tokens: usize,
}

/// Next-token targets for rows of `len` tokens: `targets[i] = labels[i + 1]`, and `IGNORE`
/// at the last position of a row and where the next token starts another packed example.
pub fn shift_targets(labels: &[i64], len: usize, segments: Option<&[u32]>) -> Vec<i64> {
    let mut out = vec![IGNORE; labels.len()];
    for (row, chunk) in labels.chunks(len).enumerate() {
        for i in 0..chunk.len().saturating_sub(1) {
            let at = row * len + i;
            let same = segments.is_none_or(|s| s[at] == s[at + 1] && s[at] != 0);
            if same {
                out[at] = chunk[i + 1];
            }
        }
    }
    out
}

/// Cross-entropy of `hidden` `[b, t, h]` through `head` `[vocab, h]` against `targets` (`[b·t]`,
/// `IGNORE` skipped), scaled by `1 / normaliser`, in chunks of `chunk` trained tokens.
pub fn chunked_cross_entropy(
    hidden: Tensor<3>,
    head: Tensor<2>,
    targets: &[i64],
    normaliser: f64,
    chunk: usize,
) -> LossOutput {
    let [b, t, h] = hidden.dims();
    let device = hidden.device();
    let positions: Vec<i64> = (0..b * t).filter(|&i| targets[i] != IGNORE).map(|i| i as i64).collect();
    let labels: Vec<i64> = positions.iter().map(|&i| targets[i as usize]).collect();
    let n = positions.len();
    if n == 0 {
        return LossOutput { surrogate: (hidden.sum() * 0.0), loss_sum: 0.0, tokens: 0 };
    }
    let index = Tensor::<1, Int>::from_data(TensorData::new(positions, [n]), &device);
    let selected = hidden.reshape([b * t, h]).select(0, index); // [n, h], in the graph
    let train_head = head.is_require_grad();
    let hd = selected.clone().detach();
    let wd = head.clone().detach();
    let scale = 1.0 / normaliser;
    let mut loss_sum = 0.0;
    let mut grad_h = Vec::new();
    let mut grad_w: Option<Tensor<2>> = None;
    for start in (0..n).step_by(chunk.max(1)) {
        let end = (start + chunk.max(1)).min(n);
        let rows = end - start;
        let hc = hd.clone().slice(start..end);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels[start..end].to_vec(), [rows]), &device);
        let logits = hc.clone().matmul(wd.clone().transpose()).cast(DType::F32); // [rows, vocab]
        let logp = log_softmax(logits, 1);
        let picked = logp.clone().gather(1, y.clone().reshape([rows, 1]));
        loss_sum -= picked.sum().into_scalar::<f64>();
        // (p − onehot(y))/N: the onehot part is subtracted as rows of W (and added back into
        // the head gradient at the label rows) instead of building a [rows, vocab] onehot.
        let p = logp.exp() * scale;
        let w_y = wd.clone().select(0, y.clone()).cast(DType::F32) * scale;
        let gh = p.clone().cast(wd.dtype()).matmul(wd.clone()).cast(DType::F32) - w_y;
        grad_h.push(gh.cast(hd.dtype()));
        if train_head {
            let hc32 = hc.cast(DType::F32);
            let gw = p.transpose().matmul(hc32.clone());
            let gw = gw.select_assign(0, y, hc32 * (-scale), burn::tensor::IndexingUpdateOp::Add);
            grad_w = Some(match grad_w {
                Some(acc) => acc + gw,
                None => gw,
            });
        }
    }
    let grad_h = Tensor::cat(grad_h, 0);
    let mut surrogate = (selected * grad_h).sum();
    if let Some(gw) = grad_w {
        surrogate = surrogate + (head * gw.cast(wd.dtype())).sum();
    }
    LossOutput { surrogate, loss_sum, tokens: n }
}

/// The plain loss: full logits, mean over trained tokens. For tests and small vocabularies.
pub fn reference_cross_entropy(logits: Tensor<3>, targets: &[i64]) -> Tensor<1> {
    let [b, t, v] = logits.dims();
    let device = logits.device();
    let positions: Vec<i64> = (0..b * t).filter(|&i| targets[i] != IGNORE).map(|i| i as i64).collect();
    let n = positions.len();
    let labels: Vec<i64> = positions.iter().map(|&i| targets[i as usize]).collect();
    let index = Tensor::<1, Int>::from_data(TensorData::new(positions, [n]), &device);
    let logp = log_softmax(logits.reshape([b * t, v]).select(0, index), 1);
    let y = Tensor::<2, Int>::from_data(TensorData::new(labels, [n, 1]), &device);
    logp.gather(1, y).sum().neg() / n as f64
}
