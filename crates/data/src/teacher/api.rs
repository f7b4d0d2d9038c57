//! API teachers: a frontier model answers the curated prompt; its thinking becomes the
//! chain of thought.
//!
//! When the provider returns no separate reasoning (thinking off, or a model without it),
//! the reply itself is the worked solution: everything before the final `ANSWER:` line goes
//! to `reasoning_content` and the `ANSWER:` line stays as `content`.

use super::TeacherReply;
use crate::api::{ChatClient, ChatRequest, Message};
use crate::error::Result;

/// An API teacher and its sampling settings.
pub struct ApiTeacher {
    /// The client.
    pub client: ChatClient,
    /// Token budget for the visible answer plus reasoning.
    pub max_tokens: u32,
    /// Reasoning budget (`None`: no extended thinking requested).
    pub reasoning_tokens: Option<u32>,
    /// Sampling temperature (ignored by Anthropic when thinking is on).
    pub temperature: Option<f32>,
}

impl ApiTeacher {
    /// The request for one user prompt.
    pub fn request(&self, user_prompt: &str) -> ChatRequest {
        ChatRequest {
            system: None,
            messages: vec![Message::user(user_prompt)],
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            reasoning_tokens: self.reasoning_tokens,
        }
    }

    /// Asks the model and splits its reply into reasoning and content.
    pub fn reply(&self, user_prompt: &str) -> Result<TeacherReply> {
        let r = self.client.chat(&self.request(user_prompt))?;
        Ok(match r.reasoning {
            Some(reasoning) => TeacherReply { reasoning, content: r.content },
            None => split_worked_reply(&r.content),
        })
    }
}

/// Splits a reply without separate reasoning at its last `ANSWER:` line.
pub fn split_worked_reply(text: &str) -> TeacherReply {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().rposition(|l| {
        let t = l.trim().trim_start_matches(['*', '#', '>', '-', ' ', '`']).to_ascii_lowercase();
        t.starts_with("answer:") || t.starts_with("final answer:")
    });
    match at {
        Some(i) if i > 0 => TeacherReply {
            reasoning: lines[..i].join("\n").trim().to_string(),
            content: lines[i..].join("\n").trim().to_string(),
        },
        _ => TeacherReply { reasoning: String::new(), content: text.trim().to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_replies_split_at_the_answer_line() {
        let r = split_worked_reply("Step 1: 2+2=4.\nSo 4.\n\n**ANSWER:** 4");
        assert_eq!(r.reasoning, "Step 1: 2+2=4.\nSo 4.");
        assert_eq!(r.content, "**ANSWER:** 4");
        let r = split_worked_reply("A prose answer.");
        assert_eq!((r.reasoning.as_str(), r.content.as_str()), ("", "A prose answer."));
    }
}
