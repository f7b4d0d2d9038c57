//! The OpenAI-compatible chat-completions wire format (`POST {base}/chat/completions`), as
//! spoken by OpenAI, OpenRouter, vLLM and llama.cpp's server.
//!
//! Reasoning comes back under different names: `reasoning_content` (vLLM, llama.cpp,
//! DeepSeek), `reasoning` (OpenRouter), or inline as `<think>…</think>` at the start of the
//! content (servers without a reasoning parser). All three land in
//! [`ChatResponse::reasoning`]. A reasoning budget is sent OpenRouter-style as
//! `reasoning: {max_tokens}`; other servers ignore unknown fields.

use serde_json::{Value, json};

use super::{ChatRequest, ChatResponse, split_inline_think};

/// URL, JSON body and headers for `req`.
pub fn encode(base: &str, model: &str, req: &ChatRequest, key: Option<&str>) -> (String, Value, Vec<(String, String)>) {
    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.extend(req.messages.iter().map(|m| json!({"role": m.role, "content": m.content})));
    let mut body = json!({"model": model, "messages": messages, "max_tokens": req.max_tokens});
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(budget) = req.reasoning_tokens {
        body["reasoning"] = json!({"max_tokens": budget});
    }
    let headers = key.map(|k| vec![("authorization".to_string(), format!("Bearer {k}"))]).unwrap_or_default();
    (format!("{base}/chat/completions"), body, headers)
}

/// Parses a chat-completions reply.
pub fn decode(text: &str) -> Result<ChatResponse, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if let Some(err) = v.get("error") {
        return Err(format!("error reply: {err}"));
    }
    let choice = v.get("choices").and_then(|c| c.get(0)).ok_or("no `choices[0]`")?;
    let msg = choice.get("message").ok_or("no `choices[0].message`")?;
    let raw = msg.get("content").and_then(Value::as_str).ok_or("`message.content` is not a string")?;
    let field = ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|k| msg.get(*k).and_then(Value::as_str))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let (inline, content) = split_inline_think(raw);
    Ok(ChatResponse {
        reasoning: field.or(inline),
        content,
        model: v.get("model").and_then(Value::as_str).unwrap_or_default().to_string(),
        stop_reason: choice.get("finish_reason").and_then(Value::as_str).map(str::to_string),
        output_tokens: v
            .get("usage")
            .and_then(|u| u.get("completion_tokens").or_else(|| u.get("output_tokens")))
            .and_then(Value::as_u64),
    })
}
