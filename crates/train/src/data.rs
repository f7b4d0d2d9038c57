//! Training examples from disk, rows of the sequence length, and the seeded order of batches.
//!
//! Two input formats, told apart per line: a corpus row of `build-data` (`{"messages": [...]}`,
//! rendered with the model's own chat template and tokenizer) or a tokenized example of
//! `build-data tokenize` (`{"input_ids": [...], "labels": [...]}`, for models with their own
//! vocabularies). The order of batches depends only on the seed and the epoch, so a run's
//! position in its data is just its optimizer step.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use qwen35::Inputs;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use skillsft_data::chat::ChatTemplate;
use skillsft_data::sft::{self, SftExample, Truncation};
use skillsft_data::tokenizer::ChatTokenizer;

use crate::config::TrainConfig;
use crate::error::{Result, TrainError, io};
use crate::loss::shift_targets;

/// How examples are read and fitted.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Longest example kept (tokens).
    pub max_len: usize,
    /// What to do with a longer one.
    pub truncation: Truncation,
    /// Keep the teacher's reasoning in the rendered assistant turn.
    pub thinking: bool,
    /// Ids must be below this.
    pub vocab_size: usize,
}

impl LoadOptions {
    /// The options of a run of `cfg` on a model with `vocab_size` tokens.
    pub fn for_run(cfg: &TrainConfig, vocab_size: usize) -> Self {
        LoadOptions { max_len: cfg.seq_len, truncation: cfg.truncation, thinking: cfg.thinking, vocab_size }
    }
}

/// What loading found; printed at the start of a run and saved with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataReport {
    /// Rows read (non-empty lines of JSONL).
    pub lines: usize,
    /// Examples kept.
    pub examples: usize,
    /// Dropped for exceeding `max_len` (policy `drop`).
    pub dropped_too_long: usize,
    /// Cut to `max_len` (policy `right`).
    pub truncated: usize,
    /// Skipped because no token is trained.
    pub no_trained_tokens: usize,
    /// Tokens kept.
    pub tokens: usize,
    /// Trained (labelled) tokens kept.
    pub trained_tokens: usize,
    /// Bad rows skipped (only with `skip_bad_rows`).
    #[serde(default)]
    pub skipped_bad_rows: usize,
    /// Validation examples kept.
    #[serde(default)]
    pub eval_examples: usize,
    /// Trained tokens of the validation examples.
    #[serde(default)]
    pub eval_trained_tokens: usize,
}

#[derive(Deserialize)]
struct Tokenized {
    input_ids: Vec<i64>,
    labels: Vec<i64>,
}

/// Reads and tokenizes every file of `paths` (not yet fitted to `max_len`: see
/// [`fit_examples`]); `model_dir` supplies `tokenizer.json` and the chat template for
/// conversations.
pub fn load_examples(
    paths: &[PathBuf],
    model_dir: Option<&Path>,
    opts: &LoadOptions,
) -> Result<(Vec<SftExample>, DataReport)> {
    let mut report = DataReport::default();
    let mut examples = Vec::new();
    for path in paths {
        load_file(path, model_dir, opts, &mut examples, &mut report)?;
    }
    if examples.is_empty() {
        return Err(TrainError::Config(format!(
            "{} holds no training example ({report:?})",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok((examples, report))
}

fn load_file(
    path: &Path,
    model_dir: Option<&Path>,
    opts: &LoadOptions,
    examples: &mut Vec<SftExample>,
    report: &mut DataReport,
) -> Result<()> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut renderer: Option<(ChatTemplate, ChatTokenizer)> = None;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        report.lines += 1;
        let bad = |message: String| TrainError::Data { path: path.to_path_buf(), line: line_no, message };
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(format!("not valid JSON ({e})")))?;
        let example = if value.get("input_ids").is_some() {
            let t: Tokenized = serde_json::from_value(value).map_err(|e| bad(format!("tokenized example: {e}")))?;
            if t.input_ids.len() != t.labels.len() {
                return Err(bad(format!("{} input_ids but {} labels", t.input_ids.len(), t.labels.len())));
            }
            let mut ids = Vec::with_capacity(t.input_ids.len());
            for (pos, &id) in t.input_ids.iter().enumerate() {
                if id < 0 || id as usize >= opts.vocab_size {
                    return Err(bad(format!(
                        "token id {id} at position {pos} is outside the model's vocabulary (0..{})",
                        opts.vocab_size
                    )));
                }
                ids.push(id as u32);
            }
            if let Some((pos, l)) = t
                .labels
                .iter()
                .enumerate()
                .find(|(_, l)| **l != sft::IGNORE && (**l < 0 || **l as usize >= opts.vocab_size))
            {
                return Err(bad(format!("label {l} at position {pos} is neither -100 nor a token id")));
            }
            SftExample { input_ids: ids, labels: t.labels }
        } else if let Some(messages) = value.get("messages").and_then(|m| m.as_array()) {
            if renderer.is_none() {
                let dir = model_dir.ok_or_else(|| {
                    bad("corpus rows need the model's tokenizer and chat template: pass a model directory with tokenizer.json, or tokenize first with `build-data tokenize`".into())
                })?;
                renderer =
                    Some((ChatTemplate::from_model_dir(dir)?, ChatTokenizer::from_path(&dir.join("tokenizer.json"))?));
            }
            let (template, tokenizer) = renderer.as_ref().expect("set above");
            let ex = sft::tokenize_conversation(template, tokenizer, messages, opts.thinking)
                .map_err(|e| bad(format!("cannot render the conversation: {e}")))?;
            if let Some((pos, id)) = ex.input_ids.iter().enumerate().find(|(_, id)| **id as usize >= opts.vocab_size) {
                return Err(bad(format!(
                    "the tokenizer produced id {id} at position {pos}, outside the model's vocabulary (0..{})",
                    opts.vocab_size
                )));
            }
            ex
        } else {
            return Err(bad(
                "expected a corpus row with \"messages\" or a tokenized example with \"input_ids\" and \"labels\""
                    .into(),
            ));
        };
        examples.push(example);
    }
    Ok(())
}

/// Applies the length policy and drops examples without a trained token, counting both in
/// `report`; refuses ids outside the vocabulary and a set left empty.
pub fn fit_examples(examples: Vec<SftExample>, opts: &LoadOptions, report: &mut DataReport) -> Result<Vec<SftExample>> {
    let mut kept = Vec::with_capacity(examples.len());
    for (i, example) in examples.into_iter().enumerate() {
        if example.input_ids.len() != example.labels.len() {
            return Err(TrainError::Config(format!(
                "example {i} has {} input_ids but {} labels",
                example.input_ids.len(),
                example.labels.len()
            )));
        }
        if let Some(id) = example.input_ids.iter().find(|&&id| id as usize >= opts.vocab_size) {
            return Err(TrainError::Config(format!(
                "example {i} holds token id {id}, outside the model's vocabulary (0..{})",
                opts.vocab_size
            )));
        }
        if example.trained() == 0 {
            report.no_trained_tokens += 1;
            continue;
        }
        let long = example.len() > opts.max_len;
        match sft::fit(example, opts.max_len, opts.truncation) {
            Some(ex) => {
                report.truncated += long as usize;
                report.tokens += ex.len();
                report.trained_tokens += ex.trained();
                kept.push(ex);
            }
            None if long => report.dropped_too_long += 1,
            None => report.no_trained_tokens += 1, // truncation cut away every trained token
        }
    }
    report.examples = kept.len();
    if kept.is_empty() {
        return Err(TrainError::Config(format!("no usable training example ({report:?})")));
    }
    Ok(kept)
}

/// Moves a seeded `fraction` of `examples` (at least one, leaving at least one) into a
/// validation set; the training examples keep their order.
pub fn split_validation(examples: &mut Vec<SftExample>, fraction: f64, seed: u64) -> Result<Vec<SftExample>> {
    let n = examples.len();
    let take = ((fraction * n as f64).round() as usize).max(1);
    if take >= n {
        return Err(TrainError::Config(format!("val_split {fraction} of {n} examples leaves nothing to train on")));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_5A11_D000));
    let held: std::collections::BTreeSet<usize> = order[..take].iter().copied().collect();
    let all = std::mem::take(examples);
    let mut eval = Vec::with_capacity(take);
    for (i, ex) in all.into_iter().enumerate() {
        if held.contains(&i) { eval.push(ex) } else { examples.push(ex) }
    }
    Ok(eval)
}

/// One row of the batch: a packed set of examples or one example.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Labels aligned with `ids` (unshifted, `-100` untrained).
    pub labels: Vec<i64>,
    /// Packing segment per token (0 = padding); `None` for a single example.
    pub segments: Option<Vec<u32>>,
}

/// Packs examples into rows of `seq_len` (first-fit decreasing), or one row per example.
pub fn build_rows(examples: &[SftExample], seq_len: usize, packing: bool, pad_id: u32) -> Vec<Row> {
    if packing {
        sft::pack(examples, seq_len, pad_id)
            .into_iter()
            .map(|r| Row { ids: r.input_ids, labels: r.labels, segments: Some(r.segment_ids) })
            .collect()
    } else {
        examples.iter().map(|e| Row { ids: e.input_ids.clone(), labels: e.labels.clone(), segments: None }).collect()
    }
}

/// A micro-batch ready for the model: inputs and next-token targets.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Ids, padding and packing information.
    pub inputs: Inputs,
    /// `[batch · len]` next-token targets, `-100` where untrained.
    pub targets: Vec<i64>,
    /// Trained targets.
    pub trained: usize,
    /// Real (non-padding) tokens.
    pub tokens: usize,
}

/// Right-pads `rows` to the longest and builds the model inputs and shifted targets.
pub fn make_batch(rows: &[&Row], pad_id: u32) -> Result<Batch> {
    let len = rows.iter().map(|r| r.ids.len()).max().unwrap_or(0);
    let b = rows.len();
    let mut ids = Vec::with_capacity(b * len);
    let mut labels = Vec::with_capacity(b * len);
    let mut segments = Vec::with_capacity(b * len);
    let mut mask = Vec::with_capacity(b * len);
    let packed = rows.iter().any(|r| r.segments.is_some());
    for r in rows {
        let pad = len - r.ids.len();
        ids.extend(r.ids.iter().map(|&i| i as i64));
        ids.extend(std::iter::repeat_n(pad_id as i64, pad));
        labels.extend(&r.labels);
        labels.extend(std::iter::repeat_n(sft::IGNORE, pad));
        match &r.segments {
            Some(s) => segments.extend(s),
            None => segments.extend(std::iter::repeat_n(1, r.ids.len())),
        }
        segments.extend(std::iter::repeat_n(0, pad));
        mask.extend(std::iter::repeat_n(true, r.ids.len()));
        mask.extend(std::iter::repeat_n(false, pad));
    }
    let tokens = segments.iter().filter(|&&s| s != 0).count();
    let targets = shift_targets(&labels, len, Some(&segments));
    let trained = targets.iter().filter(|&&t| t != sft::IGNORE).count();
    let mut inputs = Inputs::new(ids, b, len)?;
    if packed {
        inputs = inputs.with_segment_ids(segments)?;
    } else if mask.iter().any(|m| !m) {
        inputs = inputs.with_attention_mask(mask)?;
    }
    Ok(Batch { inputs, targets, trained, tokens })
}

/// The whole run's batches: `steps[s][k]` = row indices of micro-batch `k` of optimizer step
/// `s`. Each epoch visits every row once in an order drawn from `(seed, epoch)`; an epoch's
/// last step may have fewer micro-batches.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Row indices per micro-batch per step.
    pub steps: Vec<Vec<Vec<usize>>>,
    /// Epoch of each step.
    pub epoch_of: Vec<usize>,
}

/// Plans `epochs` epochs of `rows` rows, cut at `max_steps` when given.
pub fn plan(
    rows: usize,
    micro_batch: usize,
    grad_accum: usize,
    epochs: usize,
    max_steps: Option<usize>,
    seed: u64,
) -> Plan {
    let mut steps = Vec::new();
    let mut epoch_of = Vec::new();
    let micro_batch = micro_batch.max(1);
    let grad_accum = grad_accum.max(1);
    'outer: for epoch in 0..epochs {
        let mut order: Vec<usize> = (0..rows).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            seed.wrapping_add(epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ));
        let micro: Vec<Vec<usize>> = order.chunks(micro_batch).map(<[usize]>::to_vec).collect();
        for group in micro.chunks(grad_accum) {
            if max_steps.is_some_and(|m| steps.len() >= m) {
                break 'outer;
            }
            steps.push(group.to_vec());
            epoch_of.push(epoch);
        }
    }
    Plan { steps, epoch_of }
}

/// SHA-256 of the rows, so a resumed run can check it sees the same data.
pub fn fingerprint(rows: &[Row]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for r in rows {
        for id in &r.ids {
            h.update(id.to_le_bytes());
        }
        for l in &r.labels {
            h.update(l.to_le_bytes());
        }
        if let Some(s) = &r.segments {
            for x in s {
                h.update(x.to_le_bytes());
            }
        }
        h.update(b"|");
    }
    hex::encode(h.finalize())
}
