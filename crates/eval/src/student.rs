//! Students: the models that answer the holdout. A local Qwen3.5 (base, base + PEFT adapter,
//! or merged weights) generating in batches on any device, or an API model (Anthropic or any
//! OpenAI-compatible server) through the data crate's clients.

use std::path::{Path, PathBuf};

use burn::tensor::{DType, Device};
use qwen35::{GenerationConfig, Qwen35};
use skillsft_data::api::{ChatClient, ChatRequest, Message};
use skillsft_data::chat::{ChatTemplate, RenderOptions};
use skillsft_data::tokenizer::ChatTokenizer;

use crate::episode::{Finish, sha256_hex};
use crate::error::{EvalError, Result};

/// A student's reply to one user turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Everything generated, special tokens removed.
    pub output: String,
    /// The reasoning (thinking) part, if any.
    pub reasoning: Option<String>,
    /// The visible reply the judges read.
    pub answer_text: String,
    /// `stop` or `length`.
    pub finish: Finish,
    /// Tokens generated (0 when an API does not say).
    pub tokens: usize,
}

/// Something that answers user turns.
pub trait Student {
    /// The name recorded in episodes and reports.
    fn name(&self) -> &str;
    /// Hash of exactly what would be sent for `user` (the resume check).
    fn prompt_hash(&self, user: &str) -> Result<String>;
    /// Answers a batch of user turns (same order). `sample` numbers repeated answers to the
    /// same prompts: a local student samples reply k with its sampling seed + k; an API
    /// student answers at temperature 0 and refuses k > 0 (the replies would repeat).
    fn respond(&self, users: &[String], sample: u32) -> Result<Vec<Reply>>;
    /// How many user turns [`Student::respond`] takes at once.
    fn batch_size(&self) -> usize;
}

/// Whether a local student thinks before answering (the chat template's `enable_thinking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Thinking {
    /// The model's default (DESIGN §4): 4B thinks, 0.8B / 2B do not.
    Auto,
    /// Generation prompt opens `<think>\n`.
    On,
    /// Generation prompt is `<think>\n\n</think>\n\n`.
    Off,
}

impl std::str::FromStr for Thinking {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Thinking::Auto),
            "on" | "true" => Ok(Thinking::On),
            "off" | "false" => Ok(Thinking::Off),
            _ => Err(format!("thinking must be auto, on or off, got {s:?}")),
        }
    }
}

impl Thinking {
    /// Resolves `auto` for a model with `num_params` parameters: Qwen3.5-4B's card makes
    /// thinking its default, the 0.8B and 2B cards make non-thinking theirs.
    pub fn resolve(self, num_params: usize) -> bool {
        match self {
            Thinking::On => true,
            Thinking::Off => false,
            Thinking::Auto => num_params >= 3_000_000_000,
        }
    }
}

/// A Qwen3.5 running here.
pub struct LocalStudent {
    name: String,
    model: Qwen35,
    template: ChatTemplate,
    tokenizer: ChatTokenizer,
    generation: GenerationConfig,
    thinking: bool,
    batch_size: usize,
}

/// How to load a local student.
#[derive(Debug, Clone)]
pub struct LocalSpec {
    /// Name in episodes and reports.
    pub name: String,
    /// The model directory (config.json, weights, tokenizer.json, chat template).
    pub model_dir: PathBuf,
    /// A PEFT adapter to run on top of it.
    pub adapter: Option<PathBuf>,
    /// Where the weights live.
    pub device: Device,
    /// Weight dtype.
    pub dtype: DType,
    /// Thinking mode.
    pub thinking: Thinking,
    /// Token budget per reply, sampling settings (eos ids are filled in from the tokenizer).
    pub generation: GenerationConfig,
    /// Prompts per generation batch.
    pub batch_size: usize,
}

impl LocalStudent {
    /// Loads the model, adapter, tokenizer and template of `spec`.
    pub fn load(spec: &LocalSpec) -> Result<Self> {
        let (mut model, config) = Qwen35::from_pretrained(&spec.model_dir, &spec.device, spec.dtype)?;
        if let Some(adapter) = &spec.adapter {
            model.load_peft(adapter)?;
        }
        let template = ChatTemplate::from_model_dir(&spec.model_dir)?;
        let tokenizer = ChatTokenizer::from_path(&spec.model_dir)?;
        let mut generation = spec.generation.clone();
        for id in [tokenizer.im_end, tokenizer.pad].into_iter().chain(config.eos_token_ids.iter().copied()) {
            if !generation.eos_token_ids.contains(&id) {
                generation.eos_token_ids.push(id);
            }
        }
        let thinking = spec.thinking.resolve(config.num_params());
        Ok(LocalStudent::new(spec.name.clone(), model, template, tokenizer, generation, thinking, spec.batch_size))
    }

    /// A student from parts already loaded.
    pub fn new(
        name: String,
        model: Qwen35,
        template: ChatTemplate,
        tokenizer: ChatTokenizer,
        generation: GenerationConfig,
        thinking: bool,
        batch_size: usize,
    ) -> Self {
        LocalStudent { name, model, template, tokenizer, generation, thinking, batch_size: batch_size.max(1) }
    }

    /// Whether the generation prompt opens a think block.
    pub fn thinking(&self) -> bool {
        self.thinking
    }

    fn render(&self, user: &str) -> Result<String> {
        let messages = [serde_json::json!({"role": "user", "content": user})];
        Ok(self
            .template
            .render(&messages, RenderOptions { add_generation_prompt: true, enable_thinking: Some(self.thinking) })?)
    }
}

impl Student for LocalStudent {
    fn name(&self) -> &str {
        &self.name
    }

    fn prompt_hash(&self, user: &str) -> Result<String> {
        Ok(sha256_hex(&self.render(user)?))
    }

    fn respond(&self, users: &[String], sample: u32) -> Result<Vec<Reply>> {
        let vocab = self.model.vocab_size();
        let prompts = users
            .iter()
            .map(|u| {
                let ids = self.tokenizer.encode(&self.render(u)?)?.ids;
                if let Some(bad) = ids.iter().find(|&&id| id as usize >= vocab) {
                    return Err(EvalError::Config(format!(
                        "the tokenizer produced id {bad}, outside the model's vocabulary (0..{vocab}): tokenizer and model do not belong together"
                    )));
                }
                Ok(ids)
            })
            .collect::<Result<Vec<_>>>()?;
        let generation =
            GenerationConfig { seed: self.generation.seed.wrapping_add(u64::from(sample)), ..self.generation.clone() };
        let outputs = qwen35::generate(&self.model, &prompts, &generation, |_| {})?;
        outputs.into_iter().map(|ids| self.decode(&ids)).collect()
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }
}

impl LocalStudent {
    fn decode(&self, ids: &[u32]) -> Result<Reply> {
        let stopped = ids.last().is_some_and(|id| self.generation.eos_token_ids.contains(id));
        let body = if stopped { &ids[..ids.len() - 1] } else { ids };
        // Ids past the tokenizer's table (a model's vocabulary is padded) have no text.
        let known = self.tokenizer.vocab_size();
        let body: Vec<u32> = body.iter().copied().filter(|&id| (id as usize) < known).collect();
        let text = self.tokenizer.decode(&body)?;
        let (reasoning, answer) = split_thinking(&text, self.thinking);
        Ok(Reply {
            output: text.clone(),
            reasoning,
            answer_text: answer,
            finish: if stopped { Finish::Stop } else { Finish::Length },
            tokens: ids.len(),
        })
    }
}

/// Splits generated text into (reasoning, visible answer). With a thinking prompt the output
/// starts inside `<think>`; a reply that never closes it has no visible answer (the budget ran
/// out while thinking).
pub fn split_thinking(text: &str, thinking: bool) -> (Option<String>, String) {
    if let Some(i) = text.rfind("</think>") {
        let reasoning = text[..i].replace("<think>", "").trim().to_string();
        return (Some(reasoning).filter(|r| !r.is_empty()), text[i + "</think>".len()..].trim().to_string());
    }
    if thinking {
        (Some(text.trim().to_string()).filter(|r| !r.is_empty()), String::new())
    } else {
        (None, text.trim().to_string())
    }
}

/// A model behind an API.
pub struct ApiStudent {
    name: String,
    client: ChatClient,
    max_tokens: u32,
    reasoning_tokens: Option<u32>,
    concurrency: usize,
}

impl ApiStudent {
    /// `client` answering with at most `max_tokens` (and a thinking budget when given), one
    /// request at a time.
    pub fn new(name: String, client: ChatClient, max_tokens: u32, reasoning_tokens: Option<u32>) -> Self {
        ApiStudent { name, client, max_tokens, reasoning_tokens, concurrency: 1 }
    }

    /// Up to `n` requests in flight at once (replies keep the holdout's order).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    fn request(&self, user: &str) -> ChatRequest {
        ChatRequest {
            system: None,
            messages: vec![Message::user(user)],
            max_tokens: self.max_tokens,
            temperature: if self.reasoning_tokens.is_some() { None } else { Some(0.0) },
            reasoning_tokens: self.reasoning_tokens,
        }
    }
}

impl Student for ApiStudent {
    fn name(&self) -> &str {
        &self.name
    }

    fn prompt_hash(&self, user: &str) -> Result<String> {
        let req = self.request(user);
        let text = serde_json::json!({
            "model": self.client.describe(),
            "messages": req.messages,
            "max_tokens": req.max_tokens,
            "reasoning_tokens": req.reasoning_tokens,
        });
        Ok(sha256_hex(&text.to_string()))
    }

    fn respond(&self, users: &[String], sample: u32) -> Result<Vec<Reply>> {
        if sample > 0 {
            return Err(EvalError::Config(format!(
                "{}: an API student answers at temperature 0, so a second sample would repeat the first; use samples = 1",
                self.name
            )));
        }
        skillsft_data::parallel::par_map(users, self.concurrency, |u| {
            let r = self.client.chat(&self.request(u))?;
            let length = matches!(r.stop_reason.as_deref(), Some("max_tokens" | "length"));
            let output = match &r.reasoning {
                Some(t) => format!("<think>\n{t}\n</think>\n\n{}", r.content),
                None => r.content.clone(),
            };
            Ok(Reply {
                output,
                reasoning: r.reasoning,
                answer_text: r.content.trim().to_string(),
                finish: if length { Finish::Length } else { Finish::Stop },
                tokens: r.output_tokens.unwrap_or(0) as usize,
            })
        })
        .into_iter()
        .collect()
    }

    fn batch_size(&self) -> usize {
        self.concurrency
    }
}

/// The default name of a local student: its base model directory's name. An adapter does not
/// change it, because the report pairs a student's pre- and post-SFT episodes by name (the
/// stage tells them apart); name several post-SFT runs of one base explicitly.
pub fn local_name(model_dir: &Path) -> String {
    let dir = model_dir.canonicalize().unwrap_or_else(|_| model_dir.to_path_buf());
    dir.file_name().map_or_else(|| model_dir.display().to_string(), |n| n.to_string_lossy().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_splits() {
        assert_eq!(split_thinking("a\n</think>\n\nANSWER: 3", true), (Some("a".into()), "ANSWER: 3".into()));
        assert_eq!(split_thinking("still going", true), (Some("still going".into()), String::new()));
        assert_eq!(split_thinking("ANSWER: 3", false), (None, "ANSWER: 3".into()));
        assert!(Thinking::Auto.resolve(4_000_000_000) && !Thinking::Auto.resolve(800_000_000));
    }
}
