//! The Anthropic Messages API wire format (`POST {base}/v1/messages`).
//!
//! Extended thinking is requested with `thinking: {type: "enabled", budget_tokens}`; the
//! reply's `thinking` content blocks become [`ChatResponse::reasoning`] and its `text`
//! blocks the content. Temperature is omitted when thinking is on (the API rejects it).

use serde_json::{Value, json};

use super::{ChatRequest, ChatResponse};

/// The API version header we speak.
pub const API_VERSION: &str = "2023-06-01";

/// URL, JSON body and headers for `req`.
pub fn encode(base: &str, model: &str, req: &ChatRequest, key: Option<&str>) -> (String, Value, Vec<(String, String)>) {
    let mut body = json!({
        "model": model,
        "max_tokens": req.max_tokens,
        "messages": req.messages.iter().map(|m| json!({"role": m.role, "content": m.content})).collect::<Vec<_>>(),
    });
    if let Some(system) = &req.system {
        body["system"] = json!(system);
    }
    match req.reasoning_tokens {
        Some(budget) => body["thinking"] = json!({"type": "enabled", "budget_tokens": budget}),
        None => {
            if let Some(t) = req.temperature {
                body["temperature"] = json!(t);
            }
        }
    }
    let mut headers = vec![("anthropic-version".to_string(), API_VERSION.to_string())];
    if let Some(k) = key {
        headers.push(("x-api-key".to_string(), k.to_string()));
    }
    (format!("{base}/v1/messages"), body, headers)
}

/// Parses a Messages API reply.
pub fn decode(text: &str) -> Result<ChatResponse, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(format!("error reply: {}", v["error"]));
    }
    let blocks = v.get("content").and_then(Value::as_array).ok_or("no `content` array")?;
    let mut thinking = Vec::new();
    let mut texts = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("thinking") => {
                thinking.push(b.get("thinking").and_then(Value::as_str).ok_or("thinking block without text")?)
            }
            Some("text") => texts.push(b.get("text").and_then(Value::as_str).ok_or("text block without text")?),
            _ => {} // redacted_thinking, tool_use: nothing to keep
        }
    }
    if texts.is_empty() {
        return Err("reply has no text block".into());
    }
    let reasoning = Some(thinking.join("\n\n")).filter(|t| !t.trim().is_empty());
    Ok(ChatResponse {
        reasoning,
        content: texts.join("").trim().to_string(),
        model: v.get("model").and_then(Value::as_str).unwrap_or_default().to_string(),
        stop_reason: v.get("stop_reason").and_then(Value::as_str).map(str::to_string),
        output_tokens: v.get("usage").and_then(|u| u.get("output_tokens")).and_then(Value::as_u64),
    })
}
