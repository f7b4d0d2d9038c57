//! Samples to token ids and labels with a model directory's chat template, tokenizer and EOS.
//!
//! What is trained follows TRL's `SFTTrainer`: assistant turns of conversations (the
//! [`sft`](crate::sft) loss mask), the completion of a prompt-completion pair, every token of
//! plain text. Plain texts and completions get the EOS token string appended unless they
//! already end with it, as TRL does, so the model learns to stop.

use std::path::Path;

use super::Sample;
use crate::chat::ChatTemplate;
use crate::error::{DataError, Result};
use crate::sft::{self, SftExample};
use crate::tokenizer::ChatTokenizer;

/// A model's chat template, tokenizer and end-of-sequence token.
pub struct Renderer {
    /// Renders conversations.
    pub template: ChatTemplate,
    /// Encodes the rendered text.
    pub tokenizer: ChatTokenizer,
    /// The EOS token string appended to plain texts and completions (`<|im_end|>` for Qwen3.5).
    pub eos_token: String,
    /// Its id.
    pub eos_id: u32,
}

impl Renderer {
    /// Loads `dir`'s chat template ([`ChatTemplate::from_model_dir`]), `tokenizer.json`, and
    /// the `eos_token` of `tokenizer_config.json` (a string, or an object with `content`).
    pub fn from_model_dir(dir: &Path) -> Result<Self> {
        let template = ChatTemplate::from_model_dir(dir)?;
        let tokenizer = ChatTokenizer::from_path(&dir.join("tokenizer.json"))?;
        let cfg_path = dir.join("tokenizer_config.json");
        let bad = |message: String| DataError::Tokenizer { path: cfg_path.clone(), message };
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| DataError::io(&cfg_path, e))?;
        let cfg: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let eos = match &cfg["eos_token"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(o) => match o.get("content") {
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => return Err(bad("eos_token is an object without a \"content\" string".into())),
            },
            _ => return Err(bad("no eos_token string (text and prompt-completion rows end with it)".into())),
        };
        Renderer::new(template, tokenizer, &eos)
    }

    /// A renderer from its parts; `eos_token` must be a token of `tokenizer`.
    pub fn new(template: ChatTemplate, tokenizer: ChatTokenizer, eos_token: &str) -> Result<Self> {
        let eos_id = tokenizer.token_id(eos_token).ok_or_else(|| DataError::Tokenizer {
            path: "tokenizer.json".into(),
            message: format!("the EOS token {eos_token:?} is not in the vocabulary"),
        })?;
        Ok(Renderer { template, tokenizer, eos_token: eos_token.to_string(), eos_id })
    }

    /// The text [`Renderer::tokenize`] encodes: the rendered conversation (no generation
    /// prompt; reasoning removed when `thinking == false`), `prompt + completion + EOS`, or
    /// `text + EOS`; a tokenized sample is decoded.
    pub fn render(&self, sample: &Sample, thinking: bool) -> Result<String> {
        match sample {
            Sample::Chat { messages } => sft::render_conversation(&self.template, messages, thinking),
            Sample::ChatCompletion { prompt, completion } => {
                let all: Vec<serde_json::Value> = prompt.iter().chain(completion).cloned().collect();
                sft::render_conversation(&self.template, &all, thinking)
            }
            Sample::Completion { prompt, completion } => Ok(format!("{prompt}{}", self.with_eos(completion))),
            Sample::Text(text) => Ok(self.with_eos(text)),
            Sample::Tokenized(ex) => self.tokenizer.decode(&ex.input_ids),
        }
    }

    /// Token ids and labels of `sample`. Conversations: labels on assistant turns (for a
    /// conversational prompt-completion pair, on the completion's assistant turns only).
    /// Plain prompt-completion: labels on the tokens lying wholly in `completion + EOS` (a
    /// token straddling the boundary is not trained). Text: labels on every token. Tokenized:
    /// as given.
    pub fn tokenize(&self, sample: &Sample, thinking: bool) -> Result<SftExample> {
        let text = self.render(sample, thinking)?;
        match sample {
            Sample::Chat { .. } => sft::label_spans(&self.tokenizer, &text, &sft::assistant_spans(&text)),
            Sample::ChatCompletion { prompt, .. } => {
                // Every assistant message renders exactly one assistant header, so the
                // prompt's assistant turns are the first spans.
                let skip = prompt.iter().filter(|m| m["role"] == "assistant").count();
                let spans = sft::assistant_spans(&text);
                sft::label_spans(&self.tokenizer, &text, spans.get(skip..).unwrap_or_default())
            }
            Sample::Completion { prompt, .. } => {
                sft::label_spans(&self.tokenizer, &text, &[(prompt.len(), text.len())])
            }
            Sample::Text(_) => {
                let ids = self.tokenizer.encode(&text)?.ids;
                let labels = ids.iter().map(|&id| id as i64).collect();
                Ok(SftExample { input_ids: ids, labels })
            }
            Sample::Tokenized(ex) => Ok(ex.clone()),
        }
    }

    fn with_eos(&self, text: &str) -> String {
        if text.ends_with(&self.eos_token) { text.to_string() } else { format!("{text}{}", self.eos_token) }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::formats::parse_row;
    use crate::sft::IGNORE;

    fn renderer() -> Renderer {
        Renderer::from_model_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/tokenizer/qwen3.5")))
            .unwrap()
    }

    fn sample(v: serde_json::Value) -> Sample {
        parse_row(&v, None).unwrap().1
    }

    /// The decoded text of the trained positions.
    fn trained(r: &Renderer, ex: &SftExample) -> String {
        let ids: Vec<u32> = ex.labels.iter().filter(|&&l| l != IGNORE).map(|&l| l as u32).collect();
        r.tokenizer.decode(&ids).unwrap()
    }

    #[test]
    fn eos_comes_from_the_tokenizer_config() {
        let r = renderer();
        assert_eq!((r.eos_token.as_str(), r.eos_id), ("<|im_end|>", r.tokenizer.im_end));
    }

    #[test]
    fn text_and_plain_completions_end_with_eos() {
        let r = renderer();
        let ex = r.tokenize(&sample(json!({"text": "Hello, world!"})), true).unwrap();
        assert_eq!(ex.input_ids, [9419, 11, 1814, 0, r.eos_id]);
        assert_eq!(ex.labels, [9419, 11, 1814, 0, r.eos_id as i64]);
        // Already ending with EOS: nothing added.
        let ex = r.tokenize(&sample(json!({"text": "Hello, world!<|im_end|>"})), true).unwrap();
        assert_eq!(ex.len(), 5);
        let s = sample(json!({"prompt": "What is 2 + 2?", "completion": " 4"}));
        assert_eq!(r.render(&s, true).unwrap(), "What is 2 + 2? 4<|im_end|>");
        let ex = r.tokenize(&s, true).unwrap();
        assert_eq!(&ex.input_ids[..8], [3710, 369, 220, 17, 478, 220, 17, 30]);
        assert!(ex.labels[..8].iter().all(|&l| l == IGNORE));
        assert_eq!(trained(&r, &ex), " 4<|im_end|>");
    }

    #[test]
    fn conversational_completion_trains_only_the_completion() {
        let r = renderer();
        let s = sample(json!({
            "prompt": [{"role": "user", "content": "a?"}, {"role": "assistant", "content": "A"},
                       {"role": "user", "content": "b?"}],
            "completion": [{"role": "assistant", "reasoning_content": "think", "content": "B"}]}));
        let text = r.render(&s, true).unwrap();
        assert!(text.ends_with("<|im_start|>assistant\n<think>\nthink\n</think>\n\nB<|im_end|>\n"), "{text:?}");
        assert_eq!(trained(&r, &r.tokenize(&s, true).unwrap()), "<think>\nthink\n</think>\n\nB<|im_end|>");
        assert_eq!(trained(&r, &r.tokenize(&s, false).unwrap()), "<think>\n\n</think>\n\nB<|im_end|>");
        // The same turns as one conversation train both answers.
        let chat =
            sample(json!({"messages": [{"role": "user", "content": "a?"}, {"role": "assistant", "content": "A"},
            {"role": "user", "content": "b?"}, {"role": "assistant", "reasoning_content": "think", "content": "B"}]}));
        assert_eq!(r.render(&chat, true).unwrap(), text);
        assert_eq!(
            trained(&r, &r.tokenize(&chat, true).unwrap()),
            "A<|im_end|><think>\nthink\n</think>\n\nB<|im_end|>"
        );
    }

    #[test]
    fn inline_think_is_stripped_without_thinking() {
        let r = renderer();
        let s = sample(json!({"messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": "<think>\nsecret\n</think>\n\nanswer"}]}));
        assert!(r.render(&s, true).unwrap().contains("secret"));
        let text = r.render(&s, false).unwrap();
        assert!(text.ends_with("<|im_start|>assistant\n<think>\n\n</think>\n\nanswer<|im_end|>\n"), "{text:?}");
    }
}
