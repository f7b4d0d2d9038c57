//! The model's own chat template, rendered with `minijinja`.
//!
//! Hugging Face renders `chat_template` with Jinja2 (`trim_blocks`, `lstrip_blocks`,
//! Python string methods, `raise_exception`); we set up minijinja the same way so the
//! official Qwen3.5 template renders unmodified, and tests hold the output to
//! `transformers`' `apply_chat_template` token for token.

use std::path::Path;

use minijinja::{Environment, Error, ErrorKind, Value, context};
use serde::Serialize;

use crate::error::{DataError, Result};

/// A loaded chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    source_name: String,
}

/// Options of one rendering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Append the assistant header (and the think opener) for generation.
    pub add_generation_prompt: bool,
    /// `Some(false)` renders the non-thinking generation prompt (`<think>\n\n</think>\n\n`);
    /// `None` leaves the variable undefined, as `apply_chat_template` does by default.
    pub enable_thinking: Option<bool>,
}

impl ChatTemplate {
    /// A template from its source text.
    pub fn new(source: &str, source_name: &str) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> std::result::Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| DataError::Template { source_name: source_name.into(), message: format!("{e:#}") })?;
        Ok(ChatTemplate { env, source_name: source_name.into() })
    }

    /// The template of a model directory: `chat_template.jinja` if present, else the
    /// `chat_template` field of `tokenizer_config.json` (a string, or the `default` entry
    /// of a list of named templates).
    pub fn from_model_dir(dir: &Path) -> Result<Self> {
        let jinja = dir.join("chat_template.jinja");
        if jinja.is_file() {
            let text = std::fs::read_to_string(&jinja).map_err(|e| DataError::io(&jinja, e))?;
            return ChatTemplate::new(&text, &jinja.display().to_string());
        }
        let cfg_path = dir.join("tokenizer_config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| DataError::io(&cfg_path, e))?;
        let bad = |message: String| DataError::Template { source_name: cfg_path.display().to_string(), message };
        let cfg: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let template = match cfg.get("chat_template") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(str::to_string))
                .ok_or_else(|| bad("no `default` entry in the chat_template list".into()))?,
            _ => return Err(bad("no chat_template (and no chat_template.jinja next to it)".into())),
        };
        ChatTemplate::new(&template, &cfg_path.display().to_string())
    }

    /// Renders `messages` (anything serializing to the HF messages convention).
    pub fn render<M: Serialize>(&self, messages: &[M], opts: RenderOptions) -> Result<String> {
        let tmpl = self.env.get_template("chat").expect("added in new()");
        let messages = Value::from_serialize(messages);
        let rendered = match opts.enable_thinking {
            Some(t) => tmpl.render(
                context! { messages, add_generation_prompt => opts.add_generation_prompt, enable_thinking => t },
            ),
            None => tmpl.render(context! { messages, add_generation_prompt => opts.add_generation_prompt }),
        };
        rendered.map_err(|e| DataError::Template { source_name: self.source_name.clone(), message: format!("{e:#}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn official() -> ChatTemplate {
        ChatTemplate::from_model_dir(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../datasets/tokenizer/qwen3.5"
        )))
        .unwrap()
    }

    #[test]
    fn renders_the_official_template() {
        let t = official();
        let msgs = [
            json!({"role": "user", "content": "Hi"}),
            json!({"role": "assistant", "reasoning_content": "r", "content": "Yo"}),
        ];
        let out = t.render(&msgs, RenderOptions::default()).unwrap();
        assert_eq!(
            out,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\nYo<|im_end|>\n"
        );
        let p =
            t.render(&msgs[..1], RenderOptions { add_generation_prompt: true, enable_thinking: Some(false) }).unwrap();
        assert!(p.ends_with("<|im_start|>assistant\n<think>\n\n</think>\n\n"), "{p:?}");
    }

    #[test]
    fn template_errors_are_reported() {
        let t = official();
        let err = t.render::<serde_json::Value>(&[], RenderOptions::default()).unwrap_err().to_string();
        assert!(err.contains("No messages provided"), "{err}");
        assert!(ChatTemplate::new("{% if %}", "bad").is_err());
    }
}
