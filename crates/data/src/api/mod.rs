//! Chat-completion clients for API teachers and LLM judges.
//!
//! Two wire formats: the Anthropic Messages API and OpenAI-compatible chat completions
//! (OpenAI, OpenRouter, vLLM, llama.cpp's server). Both go through [`http::Transport`],
//! which retries 429 / 5xx / timeouts / garbled bodies with exponential backoff (honouring
//! `Retry-After`), and an optional on-disk [`cache::ResponseCache`] keyed by the request, so
//! an interrupted build re-run replays every finished request instead of paying for it again.

pub mod anthropic;
pub mod cache;
pub mod http;
pub mod openai;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// One message of a chat request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message { role: "user".into(), content: content.into() }
    }
}

/// A provider-neutral chat request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// System prompt, if any.
    pub system: Option<String>,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Upper bound on generated tokens (answer plus reasoning where the provider counts both).
    pub max_tokens: u32,
    /// Sampling temperature; `None` leaves the provider default (required with Anthropic
    /// extended thinking).
    pub temperature: Option<f32>,
    /// Reasoning budget in tokens: Anthropic `thinking.budget_tokens`, OpenRouter
    /// `reasoning.max_tokens`. `None` asks for no extended reasoning.
    pub reasoning_tokens: Option<u32>,
}

/// A provider-neutral reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Reasoning / thinking text, when the provider returned it (Anthropic `thinking`
    /// blocks, `reasoning_content` / `reasoning` fields, or an inline `<think>` block).
    pub reasoning: Option<String>,
    /// The visible answer text.
    pub content: String,
    /// The model that answered, as the provider reports it.
    pub model: String,
    /// Why generation stopped (`end_turn`, `stop`, `max_tokens`, `length`, ...).
    pub stop_reason: Option<String>,
    /// Tokens generated, as the provider's `usage` reports them (OpenAI-compatible
    /// `completion_tokens` or `output_tokens`, Anthropic `output_tokens`); `None` when it does
    /// not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
}

/// Which wire format a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Anthropic Messages API.
    Anthropic,
    /// OpenAI-compatible chat completions.
    Openai,
}

impl Provider {
    /// `anthropic` or `openai`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::Openai => "openai",
        }
    }

    /// The environment variable the API key is read from by default.
    pub fn default_key_env(self) -> &'static str {
        match self {
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::Openai => "OPENAI_API_KEY",
        }
    }

    /// The default base URL.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::Anthropic => "https://api.anthropic.com",
            Provider::Openai => "https://api.openai.com/v1",
        }
    }
}

/// A parsed `anthropic:MODEL` / `openai:MODEL` flag value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The wire format.
    pub provider: Provider,
    /// The model name sent to the provider.
    pub model: String,
}

impl std::str::FromStr for ModelSpec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (p, model) =
            s.split_once(':').ok_or_else(|| format!("expected PROVIDER:MODEL (anthropic:… or openai:…), got {s:?}"))?;
        let provider = match p {
            "anthropic" => Provider::Anthropic,
            "openai" | "openrouter" | "vllm" => Provider::Openai,
            _ => return Err(format!("unknown provider {p:?} in {s:?}: use anthropic or openai")),
        };
        if model.trim().is_empty() {
            return Err(format!("empty model name in {s:?}"));
        }
        Ok(ModelSpec { provider, model: model.to_string() })
    }
}

/// A configured client: provider, endpoint, key, model, transport and cache.
pub struct ChatClient {
    /// Wire format.
    pub provider: Provider,
    /// Model name.
    pub model: String,
    /// Base URL (no trailing slash).
    pub base_url: String,
    api_key: Option<String>,
    transport: http::Transport,
    cache: Option<cache::ResponseCache>,
}

impl ChatClient {
    /// A client for `spec`. Anthropic needs a key; OpenAI-compatible servers on loopback
    /// (vLLM, llama.cpp) often do not, so a missing key is only an error for the others.
    pub fn new(
        spec: &ModelSpec,
        base_url: Option<&str>,
        api_key: Option<String>,
        transport: http::Transport,
        cache: Option<cache::ResponseCache>,
    ) -> Result<Self> {
        let base_url = base_url.unwrap_or(spec.provider.default_base_url()).trim_end_matches('/').to_string();
        let local =
            base_url.contains("://127.0.0.1") || base_url.contains("://localhost") || base_url.contains("://[::1]");
        if api_key.is_none() && !(spec.provider == Provider::Openai && local) {
            return Err(DataError::Api {
                provider: spec.provider.name().into(),
                url: base_url,
                message: format!("no API key: set {}", spec.provider.default_key_env()),
            });
        }
        Ok(ChatClient { provider: spec.provider, model: spec.model.clone(), base_url, api_key, transport, cache })
    }

    /// A client for `spec` with the key from the environment variable `key_env` (or the
    /// provider's default variable).
    pub fn from_env(
        spec: &ModelSpec,
        base_url: Option<&str>,
        key_env: Option<&str>,
        transport: http::Transport,
        cache: Option<cache::ResponseCache>,
    ) -> Result<Self> {
        let var = key_env.unwrap_or(spec.provider.default_key_env());
        let key = std::env::var(var).ok().filter(|k| !k.trim().is_empty());
        ChatClient::new(spec, base_url, key, transport, cache)
    }

    /// `provider:model`, as recorded in provenance.
    pub fn describe(&self) -> String {
        format!("{}:{}", self.provider.name(), self.model)
    }

    /// Sends `req` (or replays it from the cache) and parses the reply.
    pub fn chat(&self, req: &ChatRequest) -> Result<ChatResponse> {
        self.chat_accepting(req, |_| true)
    }

    /// [`ChatClient::chat`], where only replies that `usable` accepts are cached or replayed
    /// from the cache: an unusable reply (a judge's reply without a verdict) is returned but not
    /// stored, so asking again goes to the server instead of replaying it.
    pub fn chat_accepting(&self, req: &ChatRequest, usable: impl Fn(&ChatResponse) -> bool) -> Result<ChatResponse> {
        let (url, body, headers) = match self.provider {
            Provider::Anthropic => anthropic::encode(&self.base_url, &self.model, req, self.api_key.as_deref()),
            Provider::Openai => openai::encode(&self.base_url, &self.model, req, self.api_key.as_deref()),
        };
        let key = cache::request_key(self.provider.name(), &url, &body);
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(&key)).filter(|r| usable(r)) {
            return Ok(hit);
        }
        let err = |message: String| DataError::Api { provider: self.provider.name().into(), url: url.clone(), message };
        let parse = |text: &str| match self.provider {
            Provider::Anthropic => anthropic::decode(text),
            Provider::Openai => openai::decode(text),
        };
        let response = self.transport.post_json(&url, &headers, &body, parse).map_err(err)?;
        if let Some(c) = self.cache.as_ref().filter(|_| usable(&response)) {
            c.put(&key, &body, &response)?;
        }
        Ok(response)
    }
}

/// Splits an inline `<think>…</think>` block off the front of `content` (servers without a
/// reasoning parser return Qwen-style thinking this way).
pub fn split_inline_think(content: &str) -> (Option<String>, String) {
    let t = content.trim_start();
    if let Some(end) = t.find("</think>") {
        let head = &t[..end];
        let reasoning = head.strip_prefix("<think>").unwrap_or(head).trim().to_string();
        let rest = t[end + "</think>".len()..].trim().to_string();
        return (Some(reasoning).filter(|r| !r.is_empty()), rest);
    }
    (None, content.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_specs_parse() {
        let s: ModelSpec = "anthropic:claude-opus-4-1".parse().unwrap();
        assert_eq!((s.provider, s.model.as_str()), (Provider::Anthropic, "claude-opus-4-1"));
        let s: ModelSpec = "openrouter:qwen/qwen3.5-4b".parse().unwrap();
        assert_eq!(s.provider, Provider::Openai);
        assert!("claude".parse::<ModelSpec>().is_err());
        assert!("gemini:x".parse::<ModelSpec>().is_err());
    }

    #[test]
    fn inline_think_splits() {
        assert_eq!(split_inline_think("<think>\nhm\n</think>\n\nANSWER: 4"), (Some("hm".into()), "ANSWER: 4".into()));
        assert_eq!(split_inline_think("ANSWER: 4"), (None, "ANSWER: 4".into()));
    }
}
