//! The LLM judge: a rubric prompt to any [`ChatClient`], answered with a justification and
//! a final `VERDICT: PASS` / `VERDICT: FAIL` line.

use super::Verdict;
use crate::api::{ChatClient, ChatRequest, Message};
use crate::error::Result;
use crate::skill::{AnswerSpec, Skill};
use crate::task::Task;

/// The judge's system prompt.
pub const SYSTEM: &str = "You are a strict, fair grader of answers to procedural tasks. You compare a candidate reply with the reference answer and the rubric. Judge only the final conclusion and the facts it states, not style. Formatting differences (units written out, thousands separators, capitalisation) do not matter; a different value or a missing required fact does.";

/// The closing instruction of the user prompt.
pub const INSTRUCTION: &str = "Decide whether the candidate reply meets the rubric. Write one or two sentences of justification, then a final line that is exactly `VERDICT: PASS` or `VERDICT: FAIL`.";

/// What identifies this judge prompt in a scoring path: the first 12 hex digits of the
/// SHA-256 of the system prompt, the section headings and the instruction. A change to the
/// wording gives a new path, so verdicts from the old and new prompts are never compared.
pub fn prompt_id() -> String {
    use sha2::{Digest, Sha256};
    let text =
        format!("{SYSTEM}\n## Task\n## Reference answer\n## Rubric\n## Candidate reply\n## Your job\n{INSTRUCTION}");
    hex::encode(Sha256::digest(text.as_bytes()))[..12].to_string()
}

/// The user prompt asking the judge about `response`.
pub fn prompt(skill: &Skill, task: &Task, response: &str) -> String {
    let mut rubric = match &skill.answer {
        AnswerSpec::FreeForm { rubric } => format!("{rubric}\n"),
        AnswerSpec::Exact { .. } => {
            "The reply must arrive at the reference value (stated anywhere in the reply's conclusion).\n".into()
        }
    };
    for c in &task.rubric {
        rubric.push_str(&format!("- {}", c.criterion));
        if !c.expect.is_empty() {
            rubric.push_str(&format!(" (expected: {})", c.expect.join("; ")));
        }
        rubric.push('\n');
    }
    format!(
        "## Task\n{}\n\n## Reference answer\n{}\n\n## Rubric\n{}\n## Candidate reply\n{}\n\n## Your job\n{INSTRUCTION}",
        task.prompt.trim(),
        task.answer.trim(),
        rubric,
        response.trim()
    )
}

/// Parses the last `VERDICT:` line.
pub fn parse_verdict(text: &str) -> Option<bool> {
    text.lines().rev().find_map(|l| {
        let t = l.trim().trim_matches(|c| c == '*' || c == '`').trim().to_ascii_uppercase();
        let v = t.strip_prefix("VERDICT:")?.trim().trim_matches(|c: char| !c.is_ascii_alphabetic()).to_string();
        match v.as_str() {
            "PASS" => Some(true),
            "FAIL" => Some(false),
            _ => None,
        }
    })
}

/// How many times the judge is asked before a reply without a verdict is recorded as
/// unscorable (each attempt goes to the server: unparsable replies are never cached).
pub const ATTEMPTS: usize = 3;

/// Asks `client` to judge `response`. A reply with no `VERDICT:` line (empty, a refusal, cut
/// off at the token limit, garbage) is asked again up to [`ATTEMPTS`] times in all, then
/// returned as an unscorable verdict (`pass: None`, `error` saying why); transport failures
/// (the server unreachable after the transport's own retries) stay errors.
pub fn judge(client: &ChatClient, skill: &Skill, task: &Task, response: &str) -> Result<Verdict> {
    let req = ChatRequest {
        system: Some(SYSTEM.into()),
        messages: vec![Message::user(prompt(skill, task, response))],
        max_tokens: 1024,
        temperature: Some(0.0),
        reasoning_tokens: None,
    };
    let name = format!("llm:{}", client.describe());
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let reply = client.chat_accepting(&req, |r| parse_verdict(&r.content).is_some())?;
        if let Some(pass) = parse_verdict(&reply.content) {
            let detail = reply
                .content
                .lines()
                .filter(|l| !l.to_ascii_uppercase().contains("VERDICT:"))
                .collect::<Vec<_>>()
                .join(" ");
            return Ok(Verdict {
                detail: Some(detail.trim().to_string()).filter(|d| !d.is_empty()),
                ..Verdict::decided(name, pass)
            });
        }
        last = Some(reply);
    }
    let last = last.expect("ATTEMPTS > 0");
    let what =
        if last.content.trim().is_empty() { "an empty reply".to_string() } else { "no VERDICT line".to_string() };
    Ok(Verdict {
        judge: name,
        pass: None,
        extracted: None,
        detail: None,
        error: Some(format!(
            "{what} in {ATTEMPTS} attempts (last stop reason {}): {:?}",
            last.stop_reason.as_deref().unwrap_or("unknown"),
            last.content.chars().take(200).collect::<String>()
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_lines_parse() {
        assert_eq!(parse_verdict("Looks right.\nVERDICT: PASS"), Some(true));
        assert_eq!(parse_verdict("**Verdict: FAIL**"), Some(false));
        assert_eq!(parse_verdict("VERDICT: PASS\nwait\nVERDICT: FAIL."), Some(false));
        assert_eq!(parse_verdict("I think it passes"), None);
    }
}
