//! Text generation: one chunked prefill over left-padded prompts, then one token at a time
//! from the KV / conv / recurrent caches; greedy or sampled (temperature, top-k, top-p) with a
//! seed; stops per row on an end-of-sequence id.

use burn::tensor::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Qwen35Error, Result};
use crate::model::{Inputs, Qwen35};

/// How to pick each next token.
#[derive(Debug, Clone)]
pub struct GenerationConfig {
    /// Tokens to generate per row at most.
    pub max_new_tokens: usize,
    /// 0 means greedy (argmax); otherwise logits are divided by it before sampling.
    pub temperature: f32,
    /// Keep only the k most likely tokens (0 = off).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches p (1.0 = off).
    pub top_p: f32,
    /// Seed of the sampler.
    pub seed: u64,
    /// A row stops after emitting one of these ids (the id is kept in its output).
    pub eos_token_ids: Vec<u32>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self { max_new_tokens: 64, temperature: 0.0, top_k: 0, top_p: 1.0, seed: 0, eos_token_ids: Vec::new() }
    }
}

/// Generates continuations for `prompts` (token ids, any lengths) in one batch and returns the
/// new ids of each row. `on_token(step)` is called after each decode step (for progress bars).
pub fn generate(
    model: &Qwen35,
    prompts: &[Vec<u32>],
    cfg: &GenerationConfig,
    mut on_token: impl FnMut(usize),
) -> Result<Vec<Vec<u32>>> {
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(i) = prompts.iter().position(|p| p.is_empty()) {
        return Err(Qwen35Error::InvalidInput(format!("prompt {i} is empty")));
    }
    // Written so that NaN settings are invalid too.
    let valid = cfg.temperature >= 0.0 && cfg.top_p > 0.0 && cfg.top_p <= 1.0;
    if !valid {
        return Err(Qwen35Error::InvalidInput(format!(
            "temperature must be >= 0 and top_p in (0, 1], got {} and {}",
            cfg.temperature, cfg.top_p
        )));
    }
    let b = prompts.len();
    let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
    // 1. Left-pad so every row's last prompt token sits in the last column.
    let mut ids = Vec::with_capacity(b * width);
    let mut mask = Vec::with_capacity(b * width);
    for p in prompts {
        let pad = width - p.len();
        ids.extend(std::iter::repeat_n(0i64, pad).chain(p.iter().map(|&x| x as i64)));
        mask.extend(std::iter::repeat_n(false, pad).chain(std::iter::repeat_n(true, p.len())));
    }
    let mut inputs = Inputs::new(ids, b, width)?;
    if mask.iter().any(|m| !m) {
        inputs = inputs.with_attention_mask(mask)?;
    }
    let mut cache = model.new_cache(b);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); b];
    let mut done = vec![false; b];

    // 2. Prefill, then decode one token per row per step.
    let mut hidden = model.forward_hidden(&inputs, Some(&mut cache))?;
    for step in 0..cfg.max_new_tokens {
        let t = hidden.dims()[1];
        let last = hidden.narrow(1, t - 1, 1);
        let logits: Tensor<3> = model.logits(last); // [b, 1, vocab]
        // Host-device sync: the sampler runs on the host.
        let values = logits.into_data().try_to_vec::<f32>().map_err(|e| Qwen35Error::InvalidInput(format!("{e:?}")))?;
        let vocab = values.len() / b;
        let mut next = Vec::with_capacity(b);
        for r in 0..b {
            let row = &values[r * vocab..(r + 1) * vocab];
            let tok = if done[r] { 0 } else { sample(row, cfg, &mut rng) };
            if !done[r] {
                out[r].push(tok);
                done[r] = cfg.eos_token_ids.contains(&tok);
            }
            next.push(tok as i64);
        }
        on_token(step);
        if done.iter().all(|d| *d) || step + 1 == cfg.max_new_tokens {
            break;
        }
        hidden = model.forward_hidden(&Inputs::new(next, b, 1)?, Some(&mut cache))?;
    }
    Ok(out)
}

/// Picks one token from a row of logits.
pub fn sample(logits: &[f32], cfg: &GenerationConfig, rng: &mut ChaCha8Rng) -> u32 {
    if cfg.temperature == 0.0 {
        return argmax(logits);
    }
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_unstable_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if cfg.top_k > 0 {
        idx.truncate(cfg.top_k);
    }
    let max = logits[idx[0]];
    let mut probs: Vec<f64> = idx.iter().map(|&i| (((logits[i] - max) / cfg.temperature) as f64).exp()).collect();
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if cfg.top_p < 1.0 {
        let mut acc = 0.0;
        let keep = probs.iter().position(|p| {
            acc += p;
            acc >= cfg.top_p as f64
        });
        let keep = keep.map_or(probs.len(), |k| k + 1);
        probs.truncate(keep);
        idx.truncate(keep);
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
    }
    let mut u: f64 = rng.random::<f64>();
    for (p, &i) in probs.iter().zip(&idx) {
        if u < *p {
            return i as u32;
        }
        u -= p;
    }
    idx[idx.len() - 1] as u32
}

/// Index of the largest logit (the first on ties, as torch.argmax).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_respects_top_k_and_seed() {
        let logits = [0.0f32, 5.0, 4.9, -3.0];
        let cfg = GenerationConfig { temperature: 1.0, top_k: 2, ..Default::default() };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let draws: Vec<u32> = (0..200).map(|_| sample(&logits, &cfg, &mut rng)).collect();
        assert!(draws.iter().all(|&t| t == 1 || t == 2));
        assert!(draws.contains(&1) && draws.contains(&2));
        let mut rng2 = ChaCha8Rng::seed_from_u64(7);
        let again: Vec<u32> = (0..200).map(|_| sample(&logits, &cfg, &mut rng2)).collect();
        assert_eq!(draws, again);
        let greedy = GenerationConfig::default();
        assert_eq!(sample(&logits, &greedy, &mut rng), 1);
        let nucleus = GenerationConfig { temperature: 1.0, top_p: 0.1, ..Default::default() };
        assert_eq!(sample(&logits, &nucleus, &mut rng), 1);
    }
}
