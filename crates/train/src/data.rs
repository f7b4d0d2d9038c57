//! Training examples from disk, rows of the sequence length, and the seeded order of batches.
//!
//! Files are read through [`skillsft_data::formats`]: JSONL, JSON or Parquet, with rows in
//! any of its formats (conversations, ShareGPT, prompt/completion, text, tokenized), told
//! apart per row unless one is forced. Text rows are rendered with the model directory's
//! own chat template and tokenizer. The order of batches depends only on the seed and the
//! epoch, so a run's position in its data is just its optimizer step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use qwen35::Inputs;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use skillsft_data::formats::{self, DataFormat, RawRow, Renderer, RowError, Sample};
use skillsft_data::sft::{self, SftExample, Truncation};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
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
    /// Read every row as this format (`None`: detect per row).
    pub format: Option<DataFormat>,
    /// Count and skip rows that fit no format or break its rules, instead of stopping.
    pub skip_bad_rows: bool,
}

impl LoadOptions {
    /// The options of a run of `cfg` on a model with `vocab_size` tokens.
    pub fn for_run(cfg: &TrainConfig, vocab_size: usize) -> Self {
        LoadOptions {
            max_len: cfg.seq_len,
            truncation: cfg.truncation,
            thinking: cfg.thinking,
            vocab_size,
            format: cfg.data_format,
            skip_bad_rows: cfg.skip_bad_rows,
        }
    }

    /// Options for `max_len` and `vocab_size`, the rest at their defaults (drop long
    /// examples, keep the reasoning, detect formats, stop at a bad row).
    pub fn new(max_len: usize, vocab_size: usize) -> Self {
        LoadOptions {
            max_len,
            truncation: Truncation::Drop,
            thinking: true,
            vocab_size,
            format: None,
            skip_bad_rows: false,
        }
    }
}

/// What loading found; printed at the start of a run and saved with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataReport {
    /// Rows read (non-empty lines of JSONL, elements of a JSON array, Parquet rows).
    pub lines: usize,
    /// Data files read.
    #[serde(default)]
    pub files: usize,
    /// Rows read per format (`messages`, `sharegpt`, `prompt-completion`, `text`, `tokenized`).
    #[serde(default)]
    pub formats: BTreeMap<String, usize>,
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
    /// The first few of them, `file:line: what is wrong`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bad_rows: Vec<String>,
    /// Validation examples kept.
    #[serde(default)]
    pub eval_examples: usize,
    /// Trained tokens of the validation examples.
    #[serde(default)]
    pub eval_trained_tokens: usize,
}

/// Bad rows quoted in the report (all are counted).
const BAD_ROWS_QUOTED: usize = 10;

/// Reads and tokenizes every file of `paths` (directories expanded; not yet fitted to
/// `max_len`: see [`fit_examples`]); `model_dir` supplies `tokenizer.json`, the chat template
/// and the end-of-text token for text rows.
pub fn load_examples(
    paths: &[PathBuf],
    model_dir: Option<&Path>,
    opts: &LoadOptions,
) -> Result<(Vec<SftExample>, DataReport)> {
    let mut report = DataReport::default();
    let mut examples = Vec::new();
    let mut renderer: Option<Renderer> = None;
    for file in formats::data_files(paths)? {
        report.files += 1;
        for row in formats::read_rows(&file)? {
            report.lines += 1;
            let loaded = row.map_err(RowOutcome::Bad).and_then(|row| load_row(&row, model_dir, opts, &mut renderer));
            match loaded {
                Ok((format, example)) => {
                    *report.formats.entry(format.name().to_string()).or_default() += 1;
                    examples.push(example);
                }
                Err(RowOutcome::Fatal(e)) => return Err(*e),
                Err(RowOutcome::Bad(e)) if opts.skip_bad_rows => {
                    report.skipped_bad_rows += 1;
                    if report.bad_rows.len() < BAD_ROWS_QUOTED {
                        report.bad_rows.push(e.to_string());
                    }
                }
                Err(RowOutcome::Bad(e)) => {
                    return Err(TrainError::DataCrate(e.into()));
                }
            }
        }
    }
    if examples.is_empty() {
        return Err(TrainError::Config(format!(
            "{} holds no training example ({report:?})",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok((examples, report))
}

/// Why a row gave no example: its own fault (skippable), or the run's.
enum RowOutcome {
    Bad(RowError),
    Fatal(Box<TrainError>),
}

impl From<RowError> for RowOutcome {
    fn from(e: RowError) -> Self {
        RowOutcome::Bad(e)
    }
}

fn load_row(
    row: &RawRow,
    model_dir: Option<&Path>,
    opts: &LoadOptions,
    renderer: &mut Option<Renderer>,
) -> std::result::Result<(DataFormat, SftExample), RowOutcome> {
    let (format, sample) = row.parse(opts.format)?;
    let (example, source) = match sample {
        Sample::Tokenized(ex) => (ex, "token id"),
        sample => {
            if renderer.is_none() {
                let Some(dir) = model_dir else {
                    let e = row.error(format!(
                        "{format} rows need the model's tokenizer and chat template: pass a model directory \
                         with tokenizer.json, or tokenize first with `build-data tokenize`"
                    ));
                    return Err(RowOutcome::Fatal(Box::new(TrainError::DataCrate(e.into()))));
                };
                *renderer = Some(Renderer::from_model_dir(dir).map_err(|e| RowOutcome::Fatal(Box::new(e.into())))?);
            }
            let r = renderer.as_ref().expect("set above");
            let ex = r.tokenize(&sample, opts.thinking).map_err(|e| row.error(format!("cannot render it: {e}")))?;
            (ex, "the tokenizer produced id")
        }
    };
    if let Some((pos, id)) = example.input_ids.iter().enumerate().find(|(_, id)| **id as usize >= opts.vocab_size) {
        let message =
            format!("{source} {id} at position {pos} is outside the model's vocabulary (0..{})", opts.vocab_size);
        return Err(row.error(message).into());
    }
    let bad_label = |l: i64| l != sft::IGNORE && (l < 0 || l as usize >= opts.vocab_size);
    if let Some((pos, l)) = example.labels.iter().enumerate().find(|(_, l)| bad_label(**l)) {
        return Err(row.error(format!("label {l} at position {pos} is neither -100 nor a token id")).into());
    }
    Ok((format, example))
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

/// Rows of `len` tokens cut from flat `[rows, len]` arrays of ids and labels (as a
/// `[batch, seq]` tensor from a Python fixture stores them), unpacked.
pub fn rows_from_columns(ids: &[u32], labels: &[i64], len: usize) -> Vec<Row> {
    ids.chunks(len)
        .zip(labels.chunks(len))
        .map(|(ids, labels)| Row { ids: ids.to_vec(), labels: labels.to_vec(), segments: None })
        .collect()
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
