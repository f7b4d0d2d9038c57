//! SFT examples: rendered conversations as token ids with loss labels, plus length
//! bucketing and packing.
//!
//! **Loss mask.** Only assistant tokens are trained: for every `<|im_start|>assistant\n`
//! header in the rendered text, the tokens after the header through the turn's `<|im_end|>`
//! (inclusive) keep their id as label; everything else (system, user, headers, the newline
//! after `<|im_end|>`) gets [`IGNORE`]. Labels are *not* shifted: position `i`'s label is the
//! token at `i`, and the trainer shifts, as in Hugging Face.
//!
//! **Truncation.** Examples longer than `max_len` are dropped by default (a cut answer
//! teaches the model to stop mid-thought); `Truncation::Right` keeps the first `max_len`
//! tokens instead. Examples with no trained token are always dropped.
//!
//! **Packing.** [`pack`] places examples into rows of `max_len` tokens (first-fit
//! decreasing, deterministic) with per-example `position_ids` restarting at 0 and
//! `segment_ids` (1, 2, … per row; 0 for padding), which the `qwen35` model consumes to reset
//! attention, the conv window and the Gated DeltaNet state at every boundary.

use serde::{Deserialize, Serialize};

use crate::chat::{ChatTemplate, RenderOptions};
use crate::error::Result;
use crate::tokenizer::ChatTokenizer;

/// The label of a position that is not trained.
pub const IGNORE: i64 = -100;

/// One tokenized example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SftExample {
    /// Token ids.
    pub input_ids: Vec<u32>,
    /// Same length; the id where trained, [`IGNORE`] elsewhere.
    pub labels: Vec<i64>,
}

impl SftExample {
    /// Number of trained positions.
    pub fn trained(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE).count()
    }

    /// Length in tokens.
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    /// True for an empty example.
    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }
}

/// What to do with examples over the length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Truncation {
    /// Drop them (default).
    #[default]
    Drop,
    /// Keep the first `max_len` tokens.
    Right,
}

impl std::str::FromStr for Truncation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "drop" => Ok(Self::Drop),
            "right" => Ok(Self::Right),
            other => Err(format!("truncation {other:?}: use drop or right")),
        }
    }
}

/// The header that opens an assistant turn in ChatML.
const ASSISTANT_HEADER: &str = "<|im_start|>assistant\n";
const TURN_END: &str = "<|im_end|>";

/// Renders `messages` with `template` (no generation prompt) and labels the assistant spans.
/// With `thinking == false` every assistant turn's `reasoning_content` is removed first, so
/// the final turn renders with an empty think block (non-thinking SFT).
pub fn tokenize_conversation(
    template: &ChatTemplate,
    tokenizer: &ChatTokenizer,
    messages: &[serde_json::Value],
    thinking: bool,
) -> Result<SftExample> {
    let text = render_conversation(template, messages, thinking)?;
    let spans = assistant_spans(&text);
    label_spans(tokenizer, &text, &spans)
}

/// The text [`tokenize_conversation`] tokenizes: `messages` rendered without a generation
/// prompt, every `reasoning_content` removed first when `thinking == false`.
pub fn render_conversation(template: &ChatTemplate, messages: &[serde_json::Value], thinking: bool) -> Result<String> {
    if thinking {
        return template.render(messages, RenderOptions::default());
    }
    let stripped: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if let Some(o) = m.as_object_mut() {
                o.remove("reasoning_content");
            }
            m
        })
        .collect();
    template.render(&stripped, RenderOptions::default())
}

/// Tokenizes `text` and keeps as labels the tokens lying wholly inside one of the byte
/// `spans` (and not empty); every other position gets [`IGNORE`].
pub fn label_spans(tokenizer: &ChatTokenizer, text: &str, spans: &[(usize, usize)]) -> Result<SftExample> {
    let enc = tokenizer.encode(text)?;
    let labels = enc
        .ids
        .iter()
        .zip(&enc.offsets)
        .map(|(&id, &(s, e))| if spans.iter().any(|&(a, b)| s >= a && e <= b && e > s) { id as i64 } else { IGNORE })
        .collect();
    Ok(SftExample { input_ids: enc.ids, labels })
}

/// Byte spans of assistant turn bodies: after each header, through the `<|im_end|>`.
pub fn assistant_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(h) = text[from..].find(ASSISTANT_HEADER) {
        let start = from + h + ASSISTANT_HEADER.len();
        let end = text[start..].find(TURN_END).map_or(text.len(), |e| start + e + TURN_END.len());
        spans.push((start, end));
        from = end;
    }
    spans
}

/// Applies the length policy; `None` means the example is dropped.
pub fn fit(mut ex: SftExample, max_len: usize, policy: Truncation) -> Option<SftExample> {
    if ex.len() > max_len {
        match policy {
            Truncation::Drop => return None,
            Truncation::Right => {
                ex.input_ids.truncate(max_len);
                ex.labels.truncate(max_len);
            }
        }
    }
    (ex.trained() > 0).then_some(ex)
}

/// Groups example indices into batches of similar length: examples are sorted by length
/// (ties by index) and cut into batches whose padded size `batch_len × max_len_in_batch`
/// stays within `max_tokens`. Returns index lists; shuffle the batch order for training.
pub fn length_buckets(lengths: &[usize], max_tokens: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted ascending, so the newcomer is the longest in the batch.
        if !current.is_empty() && (current.len() + 1) * lengths[i] > max_tokens {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// A packed row of several examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedRow {
    /// Token ids, padded to the row length with the pad id.
    pub input_ids: Vec<u32>,
    /// Labels, [`IGNORE`] on padding.
    pub labels: Vec<i64>,
    /// Position within each example (restarts at 0 at every boundary and for padding).
    pub position_ids: Vec<u32>,
    /// 1, 2, … per example in the row; 0 for padding.
    pub segment_ids: Vec<u32>,
    /// Which examples (indices into the input) the row holds, in order.
    pub examples: Vec<usize>,
}

/// Packs examples (each at most `row_len` long) into rows of exactly `row_len` tokens,
/// first-fit decreasing by length (ties by index).
pub fn pack(examples: &[SftExample], row_len: usize, pad_id: u32) -> Vec<PackedRow> {
    let mut order: Vec<usize> = (0..examples.len()).filter(|&i| examples[i].len() <= row_len).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(examples[i].len()), i));
    let mut bins: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in order {
        let n = examples[i].len();
        match bins.iter_mut().find(|(used, _)| used + n <= row_len) {
            Some((used, members)) => {
                *used += n;
                members.push(i);
            }
            None => bins.push((n, vec![i])),
        }
    }
    bins.into_iter()
        .map(|(_, members)| {
            let mut row = PackedRow {
                input_ids: Vec::with_capacity(row_len),
                labels: Vec::with_capacity(row_len),
                position_ids: Vec::with_capacity(row_len),
                segment_ids: Vec::with_capacity(row_len),
                examples: members.clone(),
            };
            for (s, &i) in members.iter().enumerate() {
                let ex = &examples[i];
                row.input_ids.extend(&ex.input_ids);
                row.labels.extend(&ex.labels);
                row.position_ids.extend(0..ex.len() as u32);
                row.segment_ids.extend(std::iter::repeat_n(s as u32 + 1, ex.len()));
            }
            let pad = row_len - row.input_ids.len();
            row.input_ids.extend(std::iter::repeat_n(pad_id, pad));
            row.labels.extend(std::iter::repeat_n(IGNORE, pad));
            row.position_ids.extend(0..pad as u32);
            row.segment_ids.extend(std::iter::repeat_n(0, pad));
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(n: usize, tag: u32) -> SftExample {
        SftExample {
            input_ids: vec![tag; n],
            labels: (0..n).map(|i| if i % 2 == 0 { tag as i64 } else { IGNORE }).collect(),
        }
    }

    #[test]
    fn spans_cover_assistant_bodies_only() {
        let t = "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA2<|im_end|>\n";
        let spans = assistant_spans(t);
        assert_eq!(spans.len(), 2);
        assert_eq!(&t[spans[0].0..spans[0].1], "A1<|im_end|>");
        assert_eq!(&t[spans[1].0..spans[1].1], "<think>\n\n</think>\n\nA2<|im_end|>");
    }

    #[test]
    fn packing_keeps_examples_whole_and_marks_segments() {
        let exs = vec![ex(5, 1), ex(3, 2), ex(4, 3), ex(9, 4), ex(11, 5)];
        let rows = pack(&exs, 10, 0);
        // ex 4 (11 tokens) does not fit any row and is left out.
        let placed: Vec<usize> = rows.iter().flat_map(|r| r.examples.clone()).collect();
        assert_eq!(placed.len(), 4);
        assert_eq!(rows[0].examples, vec![3]);
        assert_eq!(rows[1].examples, vec![0, 2]);
        for r in &rows {
            assert_eq!(r.input_ids.len(), 10);
            let mut pos = 0;
            for (k, &i) in r.examples.iter().enumerate() {
                let n = exs[i].len();
                assert_eq!(&r.input_ids[pos..pos + n], &exs[i].input_ids[..]);
                assert_eq!(&r.labels[pos..pos + n], &exs[i].labels[..]);
                assert_eq!(r.position_ids[pos..pos + n].to_vec(), (0..n as u32).collect::<Vec<_>>());
                assert!(r.segment_ids[pos..pos + n].iter().all(|&s| s == k as u32 + 1));
                pos += n;
            }
            assert!(r.labels[pos..].iter().all(|&l| l == IGNORE) && r.segment_ids[pos..].iter().all(|&s| s == 0));
        }
    }

    #[test]
    fn truncation_policy_and_buckets() {
        assert!(fit(ex(12, 1), 10, Truncation::Drop).is_none());
        assert_eq!(fit(ex(12, 1), 10, Truncation::Right).unwrap().len(), 10);
        let none = SftExample { input_ids: vec![1, 2], labels: vec![IGNORE, IGNORE] };
        assert!(fit(none, 10, Truncation::Right).is_none());
        let b = length_buckets(&[5, 100, 6, 50, 7], 150);
        assert_eq!(b, vec![vec![0, 2, 4], vec![3], vec![1]]);
    }
}
