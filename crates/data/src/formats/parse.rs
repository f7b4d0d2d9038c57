//! Rows to samples: format detection, the ShareGPT and `system`-field mappings, the split of
//! inline `<think>` blocks, and the role rule.

use serde_json::{Map, Value};

use super::DataFormat;
use crate::sft::{IGNORE, SftExample};

/// A checked row, ready for a [`Renderer`](super::Renderer).
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// A conversation in the Hugging Face messages convention (from `messages` or
    /// `sharegpt`); every assistant turn is trained.
    Chat {
        /// The messages, normalised (see [`parse_row`]).
        messages: Vec<Value>,
    },
    /// A conversational prompt-completion pair: rendered together, only the completion's
    /// assistant turns trained.
    ChatCompletion {
        /// The prompt messages (system, user, and earlier turns).
        prompt: Vec<Value>,
        /// The completion messages (assistant first; assistant and tool turns only).
        completion: Vec<Value>,
    },
    /// A plain prompt-completion pair: `prompt + completion + EOS` tokenized as one text, the
    /// tokens of the completion and the EOS trained.
    Completion {
        /// Untrained text.
        prompt: String,
        /// Trained text.
        completion: String,
    },
    /// Plain text, every token trained, EOS appended.
    Text(String),
    /// Token ids and labels as given.
    Tokenized(SftExample),
}

impl Sample {
    /// True when turning the sample into an example needs a model's tokenizer (every sample
    /// but [`Sample::Tokenized`]).
    pub fn needs_renderer(&self) -> bool {
        !matches!(self, Sample::Tokenized(_))
    }
}

/// Checks one row and turns it into a [`Sample`], detecting its format unless `forced`.
///
/// **Detection.** The first of `input_ids` (tokenized), `messages`, `conversations`
/// (sharegpt), `prompt` (prompt-completion), `text` that the row has with a non-`null` value
/// decides; the format's other keys must then be there too (`labels`, `completion`). Other keys
/// are ignored.
///
/// **Messages.** Each message is an object with a `role` of `system`, `user`, `assistant` or
/// `tool` and a string `content` (an assistant message with `tool_calls` may have none);
/// `reasoning_content`, if present, is a string. Keys holding `null` are dropped, other keys
/// kept. An assistant `content` holding `</think>` is split the way the Qwen3.5 template
/// splits it ([`split_inline_think`]) into `reasoning_content` and `content`, so that
/// non-thinking training removes the reasoning whichever way it was written.
///
/// **ShareGPT.** `conversations` entries `{"from", "value"}` become `{"role", "content"}`
/// with `system`→system, `human`/`user`→user, `gpt`/`assistant`→assistant,
/// `observation`/`tool`→tool; other keys of an entry are ignored.
///
/// **`system` field.** A non-empty top-level `system` string (Axolotl, LLaMA-Factory) becomes
/// the first message, unless the conversation (the prompt, for prompt-completion) already
/// starts with a system message.
///
/// **Role rule**, on the whole conversation (prompt then completion): not empty; a system
/// message only first; the first other turn is a user turn; an assistant turn follows a user
/// or tool turn; a tool turn follows an assistant or tool turn; at least one assistant turn.
/// A conversational completion starts with an assistant turn and holds only assistant and
/// tool turns.
///
/// **Tokenized.** `input_ids` and `labels` are lists of integers of equal length; ids are
/// non-negative (the caller checks them against its vocabulary), labels are `-100` or
/// non-negative.
///
/// The error is a sentence without the row's origin (see [`RawRow::parse`](super::RawRow::parse)).
pub fn parse_row(value: &Value, forced: Option<DataFormat>) -> Result<(DataFormat, Sample), String> {
    let Value::Object(row) = value else {
        return Err(format!("a row must be a JSON object, not {}", type_name(value)));
    };
    let format = match forced {
        Some(f) => f,
        None => DataFormat::ALL.into_iter().find(|f| get(row, detection_key(*f)).is_some()).ok_or_else(|| {
            format!(
                "the row fits no format: its keys are {}; expected \"input_ids\"+\"labels\" (tokenized), \
                 \"messages\", \"conversations\" (sharegpt), \"prompt\"+\"completion\" or \"text\"",
                key_list(row)
            )
        })?,
    };
    let sample = match format {
        DataFormat::Tokenized => tokenized(row)?,
        DataFormat::Messages => {
            let mut messages = messages(need(row, "messages", format)?, "messages")?;
            let added = add_system(row, &mut messages)?;
            check_roles(&messages, &|i| name_in("messages", added, i))?;
            Sample::Chat { messages }
        }
        DataFormat::ShareGpt => {
            let mut messages = sharegpt(need(row, "conversations", format)?)?;
            let added = add_system(row, &mut messages)?;
            check_roles(&messages, &|i| name_in("conversations", added, i))?;
            Sample::Chat { messages }
        }
        DataFormat::PromptCompletion => prompt_completion(row)?,
        DataFormat::Text => match need(row, "text", format)? {
            Value::String(s) => Sample::Text(s.clone()),
            other => return Err(format!("\"text\" must be a string, not {}", type_name(other))),
        },
    };
    Ok((format, sample))
}

/// Splits an assistant `content` holding `</think>` exactly as the Qwen3.5 chat template does:
/// on the trimmed content, the reasoning is the text before the first `</think>` (newlines
/// stripped at its end, then the part after its last `<think>`, newlines stripped at its
/// start), and the content is the text after the last `</think>` (newlines stripped at its
/// start). Returns `(reasoning, content)`, or `None` without `</think>`.
pub fn split_inline_think(content: &str) -> Option<(String, String)> {
    const OPEN: &str = "<think>";
    const CLOSE: &str = "</think>";
    let content = content.trim();
    let first_close = content.find(CLOSE)?;
    let before = content[..first_close].trim_end_matches('\n');
    let reasoning = before.rsplit(OPEN).next().unwrap_or(before).trim_start_matches('\n');
    let last_close = content.rfind(CLOSE).unwrap_or(first_close);
    let answer = content[last_close + CLOSE.len()..].trim_start_matches('\n');
    Some((reasoning.to_string(), answer.to_string()))
}

fn detection_key(format: DataFormat) -> &'static str {
    match format {
        DataFormat::Tokenized => "input_ids",
        DataFormat::Messages => "messages",
        DataFormat::ShareGpt => "conversations",
        DataFormat::PromptCompletion => "prompt",
        DataFormat::Text => "text",
    }
}

/// A key's value, `null` counting as absent.
fn get<'a>(row: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    row.get(key).filter(|v| !v.is_null())
}

fn need<'a>(row: &'a Map<String, Value>, key: &str, format: DataFormat) -> Result<&'a Value, String> {
    get(row, key).ok_or_else(|| format!("a {format} row needs \"{key}\"; its keys are {}", key_list(row)))
}

fn key_list(row: &Map<String, Value>) -> String {
    if row.is_empty() {
        return "none (an empty object)".into();
    }
    let keys: Vec<String> =
        row.iter().map(|(k, v)| if v.is_null() { format!("{k:?} (null)") } else { format!("{k:?}") }).collect();
    keys.join(", ")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];

/// Checks and normalises a list of messages; `what` names it in errors (`messages`, `prompt`).
fn messages(list: &Value, what: &str) -> Result<Vec<Value>, String> {
    let Value::Array(list) = list else {
        return Err(format!("\"{what}\" must be a list of messages, not {}", type_name(list)));
    };
    list.iter().enumerate().map(|(i, m)| message(m, &format!("{what}[{i}]"))).collect()
}

fn message(m: &Value, at: &str) -> Result<Value, String> {
    let Value::Object(m) = m else {
        return Err(format!("{at} must be an object with \"role\" and \"content\", not {}", type_name(m)));
    };
    let mut out: Map<String, Value> =
        m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
    let role = match out.get("role") {
        Some(Value::String(r)) if ROLES.contains(&r.as_str()) => r.clone(),
        Some(Value::String(r)) => return Err(format!("{at}: role {r:?} is not system, user, assistant or tool")),
        Some(other) => return Err(format!("{at}: \"role\" must be a string, not {}", type_name(other))),
        None => return Err(format!("{at} has no \"role\"; its keys are {}", key_list(m))),
    };
    let tool_call =
        role == "assistant" && out.get("tool_calls").is_some_and(|t| t.as_array().is_some_and(|a| !a.is_empty()));
    match out.get("content") {
        Some(Value::String(_)) => {}
        None if tool_call => {}
        Some(other) => {
            return Err(format!("{at} ({role}): \"content\" must be a string, not {}", type_name(other)));
        }
        None => return Err(format!("{at} ({role}) has no \"content\"; its keys are {}", key_list(m))),
    }
    match out.get("reasoning_content") {
        None | Some(Value::String(_)) => {}
        Some(other) => {
            return Err(format!("{at}: \"reasoning_content\" must be a string, not {}", type_name(other)));
        }
    }
    if role == "assistant"
        && !out.contains_key("reasoning_content")
        && let Some((reasoning, answer)) = out.get("content").and_then(Value::as_str).and_then(split_inline_think)
    {
        out.insert("content".into(), Value::String(answer));
        out.insert("reasoning_content".into(), Value::String(reasoning));
    }
    Ok(Value::Object(out))
}

fn sharegpt(list: &Value) -> Result<Vec<Value>, String> {
    let Value::Array(list) = list else {
        return Err(format!("\"conversations\" must be a list of {{\"from\", \"value\"}}, not {}", type_name(list)));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, turn) in list.iter().enumerate() {
        let at = format!("conversations[{i}]");
        let Value::Object(turn) = turn else {
            return Err(format!("{at} must be an object with \"from\" and \"value\", not {}", type_name(turn)));
        };
        let role = match get(turn, "from") {
            Some(Value::String(from)) => match from.as_str() {
                "system" => "system",
                "human" | "user" => "user",
                "gpt" | "assistant" => "assistant",
                "observation" | "tool" => "tool",
                other => {
                    return Err(format!(
                        "{at}: \"from\" is {other:?}; expected system, human, gpt, user, assistant, observation or tool"
                    ));
                }
            },
            Some(other) => return Err(format!("{at}: \"from\" must be a string, not {}", type_name(other))),
            None => return Err(format!("{at} has no \"from\"; its keys are {}", key_list(turn))),
        };
        let content = match get(turn, "value") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(format!("{at} ({role}): \"value\" must be a string, not {}", type_name(other))),
            None => return Err(format!("{at} ({role}) has no \"value\"; its keys are {}", key_list(turn))),
        };
        out.push(message(&serde_json::json!({"role": role, "content": content}), &at)?);
    }
    Ok(out)
}

/// Prepends the top-level `system` string as a system message when there is none; true if
/// it did.
fn add_system(row: &Map<String, Value>, messages: &mut Vec<Value>) -> Result<bool, String> {
    match get(row, "system") {
        None => Ok(false),
        Some(Value::String(s)) => {
            let has_system = messages.first().is_some_and(|m| m["role"] == "system");
            let add = !s.is_empty() && !has_system;
            if add {
                messages.insert(0, serde_json::json!({"role": "system", "content": s}));
            }
            Ok(add)
        }
        Some(other) => Err(format!("\"system\" must be a string, not {}", type_name(other))),
    }
}

/// Names message `i` of a list called `what` in the row, when `added` says a system message
/// from the `system` field was put in front of it.
fn name_in(what: &str, added: bool, i: usize) -> String {
    match (added, i) {
        (true, 0) => "the \"system\" field".into(),
        (true, i) => format!("{what}[{}]", i - 1),
        (false, i) => format!("{what}[{i}]"),
    }
}

/// The role rule (see [`parse_row`]); `at(i)` names message `i` in errors.
fn check_roles(messages: &[Value], at: &dyn Fn(usize) -> String) -> Result<(), String> {
    if messages.is_empty() {
        return Err("empty conversation: no messages".into());
    }
    let mut previous: Option<&str> = None;
    let mut assistants = 0;
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or_default();
        let broken = match role {
            "system" if i > 0 => Some("a system message must come first"),
            "system" => None,
            _ if matches!(previous, None | Some("system")) && role != "user" => {
                Some("the first turn (after an optional system message) must be a user turn")
            }
            "assistant" if !matches!(previous, Some("user" | "tool")) => {
                Some("an assistant turn must follow a user or tool turn")
            }
            "tool" if !matches!(previous, Some("assistant" | "tool")) => {
                Some("a tool turn must follow an assistant or tool turn")
            }
            _ => None,
        };
        if let Some(rule) = broken {
            let place = match previous {
                Some("assistant") => "comes after an assistant turn".to_string(),
                Some(p) => format!("comes after a {p} turn"),
                None => "opens the conversation".into(),
            };
            return Err(format!("{} ({role}) {place}: {rule}", at(i)));
        }
        assistants += (role == "assistant") as usize;
        previous = Some(role);
    }
    if assistants == 0 {
        return Err("the conversation has no assistant turn to train on".into());
    }
    Ok(())
}

fn prompt_completion(row: &Map<String, Value>) -> Result<Sample, String> {
    let format = DataFormat::PromptCompletion;
    let prompt = need(row, "prompt", format)?;
    let completion = need(row, "completion", format)?;
    match (prompt, completion) {
        (Value::String(p), Value::String(c)) => Ok(Sample::Completion { prompt: p.clone(), completion: c.clone() }),
        (Value::Array(_), Value::Array(_)) => {
            let mut prompt = messages(prompt, "prompt")?;
            let completion = messages(completion, "completion")?;
            if prompt.is_empty() {
                return Err("empty conversation: \"prompt\" is an empty list".into());
            }
            if completion.is_empty() {
                return Err("empty conversation: \"completion\" is an empty list".into());
            }
            for (i, m) in completion.iter().enumerate() {
                let role = m["role"].as_str().unwrap_or_default();
                if (i == 0 && role != "assistant") || !matches!(role, "assistant" | "tool") {
                    return Err(format!(
                        "completion[{i}] ({role}): a completion starts with an assistant turn and holds only \
                         assistant and tool turns"
                    ));
                }
            }
            let added = add_system(row, &mut prompt)?;
            let n = prompt.len();
            let all: Vec<Value> = prompt.iter().chain(&completion).cloned().collect();
            check_roles(&all, &|i| if i < n { name_in("prompt", added, i) } else { format!("completion[{}]", i - n) })?;
            Ok(Sample::ChatCompletion { prompt, completion })
        }
        (p, c) => Err(format!(
            "\"prompt\" and \"completion\" must both be strings or both be lists of messages, not {} and {}",
            type_name(p),
            type_name(c)
        )),
    }
}

fn int_list(row: &Map<String, Value>, key: &str) -> Result<Vec<i64>, String> {
    match need(row, key, DataFormat::Tokenized)? {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| v.as_i64().ok_or_else(|| format!("{key}[{i}] must be an integer, not {v}")))
            .collect(),
        other => Err(format!("\"{key}\" must be a list of integers, not {}", type_name(other))),
    }
}

fn tokenized(row: &Map<String, Value>) -> Result<Sample, String> {
    let ids = int_list(row, "input_ids")?;
    let labels = int_list(row, "labels")?;
    if ids.len() != labels.len() {
        return Err(format!("{} input_ids but {} labels: they must have the same length", ids.len(), labels.len()));
    }
    let input_ids = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| u32::try_from(id).map_err(|_| format!("input_ids[{i}] = {id} is not a token id")))
        .collect::<Result<Vec<u32>, String>>()?;
    if let Some((i, l)) = labels.iter().enumerate().find(|&(_, &l)| l != IGNORE && l < 0) {
        return Err(format!("labels[{i}] = {l} is neither {IGNORE} nor a token id"));
    }
    Ok(Sample::Tokenized(SftExample { input_ids, labels }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> Result<(DataFormat, Sample), String> {
        parse_row(&v, None)
    }

    fn chat(v: Value) -> Vec<Value> {
        match parse(v).unwrap().1 {
            Sample::Chat { messages } => messages,
            other => panic!("not a chat: {other:?}"),
        }
    }

    #[test]
    fn detection_follows_the_documented_order() {
        let msgs = json!([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]);
        let cases = [
            (json!({"input_ids": [1], "labels": [1], "text": "t"}), DataFormat::Tokenized),
            (json!({"messages": msgs, "text": "t", "id": 3}), DataFormat::Messages),
            (
                json!({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}),
                DataFormat::ShareGpt,
            ),
            (json!({"prompt": "p", "completion": "c", "text": "t"}), DataFormat::PromptCompletion),
            (json!({"text": "t", "messages": null}), DataFormat::Text),
        ];
        for (row, want) in cases {
            assert_eq!(parse(row.clone()).unwrap().0, want, "{row}");
        }
    }

    #[test]
    fn a_row_that_fits_no_format_lists_its_keys() {
        let err = parse(json!({"instruction": "i", "output": "o", "text": null})).unwrap_err();
        assert_eq!(
            err,
            "the row fits no format: its keys are \"instruction\", \"output\", \"text\" (null); expected \
             \"input_ids\"+\"labels\" (tokenized), \"messages\", \"conversations\" (sharegpt), \
             \"prompt\"+\"completion\" or \"text\""
        );
        assert!(parse(json!({})).unwrap_err().contains("its keys are none (an empty object)"));
        assert_eq!(parse(json!([1, 2])).unwrap_err(), "a row must be a JSON object, not a list");
        assert_eq!(
            parse(json!({"prompt": "p"})).unwrap_err(),
            "a prompt-completion row needs \"completion\"; its keys are \"prompt\""
        );
    }

    #[test]
    fn forced_format_reads_only_its_keys() {
        let row = json!({"text": "t", "prompt": "p", "completion": "c"});
        assert_eq!(parse_row(&row, Some(DataFormat::Text)).unwrap(), (DataFormat::Text, Sample::Text("t".into())));
        let err = parse_row(&row, Some(DataFormat::Messages)).unwrap_err();
        assert_eq!(err, "a messages row needs \"messages\"; its keys are \"completion\", \"prompt\", \"text\"");
    }

    #[test]
    fn inline_think_is_split_like_the_template() {
        assert_eq!(split_inline_think("<think>\nr1\n</think>\n\nans"), Some(("r1".into(), "ans".into())));
        assert_eq!(split_inline_think("  no open tag</think>\nans \n"), Some(("no open tag".into(), "ans".into())));
        assert_eq!(split_inline_think("<think>a<think>b</think>c</think>\nd"), Some(("b".into(), "d".into())));
        assert_eq!(split_inline_think("plain answer"), None);
        let m = chat(json!({"messages": [
            {"role": "user", "content": "<think>user text is left alone</think>"},
            {"role": "assistant", "content": "<think>\nr\n</think>\n\na"},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "<think>x</think>b", "reasoning_content": "given"}]}));
        assert_eq!(m[0]["content"], "<think>user text is left alone</think>");
        assert_eq!((m[1]["reasoning_content"].as_str(), m[1]["content"].as_str()), (Some("r"), Some("a")));
        assert_eq!(
            (m[3]["reasoning_content"].as_str(), m[3]["content"].as_str()),
            (Some("given"), Some("<think>x</think>b"))
        );
    }

    #[test]
    fn system_field_and_sharegpt_mapping() {
        let m = chat(json!({"system": "S", "conversations": [
            {"from": "human", "value": "q", "weight": 0}, {"from": "gpt", "value": "a"},
            {"from": "user", "value": "q2"}, {"from": "assistant", "value": "a2"}]}));
        assert_eq!(
            Value::Array(m),
            json!([{"role": "system", "content": "S"}, {"role": "user", "content": "q"},
                   {"role": "assistant", "content": "a"}, {"role": "user", "content": "q2"},
                   {"role": "assistant", "content": "a2"}])
        );
        // An existing system message wins; an empty field adds nothing; nulls are dropped.
        let m = chat(json!({"system": "S", "messages": [{"role": "system", "content": "mine"},
            {"role": "user", "content": "q", "reasoning_content": null}, {"role": "assistant", "content": "a"}]}));
        assert_eq!(m[0]["content"], "mine");
        assert_eq!(m[1], json!({"role": "user", "content": "q"}));
        let (u, a) = (json!({"role": "user", "content": "q"}), json!({"role": "assistant", "content": "a"}));
        let m = chat(json!({"system": "", "messages": [u, a]}));
        assert_eq!(m.len(), 2);
        let err = parse(json!({"conversations": [{"from": "bot", "value": "x"}]})).unwrap_err();
        assert!(err.starts_with("conversations[0]: \"from\" is \"bot\""), "{err}");
    }

    #[test]
    fn role_rule_errors() {
        let u = json!({"role": "user", "content": "q"});
        let a = json!({"role": "assistant", "content": "a"});
        let s = json!({"role": "system", "content": "s"});
        let t = json!({"role": "tool", "content": "r"});
        let call = json!({"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]});
        let err = |msgs: Value| parse(json!({"messages": msgs})).unwrap_err();
        assert_eq!(err(json!([])), "empty conversation: no messages");
        assert_eq!(
            err(json!([a])),
            "messages[0] (assistant) opens the conversation: the first turn (after an optional system message) \
             must be a user turn"
        );
        assert_eq!(
            err(json!([s, a])),
            "messages[1] (assistant) comes after a system turn: the first turn (after an optional system \
             message) must be a user turn"
        );
        assert_eq!(
            err(json!([u, a, s])),
            "messages[2] (system) comes after an assistant turn: a system message must come first"
        );
        assert_eq!(
            err(json!([u, a, a])),
            "messages[2] (assistant) comes after an assistant turn: an assistant turn must follow a user or tool turn"
        );
        assert_eq!(
            err(json!([u, t, a])),
            "messages[1] (tool) comes after a user turn: a tool turn must follow an assistant or tool turn"
        );
        assert_eq!(err(json!([s, u])), "the conversation has no assistant turn to train on");
        assert_eq!(
            err(json!([u, {"role": "bot", "content": "x"}])),
            "messages[1]: role \"bot\" is not system, user, assistant or tool"
        );
        assert_eq!(
            err(json!([u, {"role": "assistant", "content": ["a"]}])),
            "messages[1] (assistant): \"content\" must be a string, not a list"
        );
        assert_eq!(
            err(json!([u, {"role": "assistant"}])),
            "messages[1] (assistant) has no \"content\"; its keys are \"role\""
        );
        assert!(err(json!("hi")).starts_with("\"messages\" must be a list of messages, not a string"));
        // Consecutive user turns, tool calls without content and tool results are fine.
        assert_eq!(chat(json!({"messages": [s, u, u, call, t, t, a]})).len(), 7);
        // Errors name the entry as it is in the file, even with a system message put in front.
        let err = parse(json!({"system": "S", "conversations": [{"from": "gpt", "value": "a"}]})).unwrap_err();
        assert!(err.starts_with("conversations[0] (assistant) comes after a system turn"), "{err}");
        let err = parse(json!({"system": "S", "messages": [u, a, a]})).unwrap_err();
        assert!(err.starts_with("messages[2] (assistant)"), "{err}");
    }

    #[test]
    fn prompt_completion_rows() {
        let (_, s) = parse(json!({"prompt": "p", "completion": "c"})).unwrap();
        assert_eq!(s, Sample::Completion { prompt: "p".into(), completion: "c".into() });
        let (_, s) = parse(json!({"system": "S", "prompt": [{"role": "user", "content": "q"}],
            "completion": [{"role": "assistant", "content": "<think>r</think>a"}]}))
        .unwrap();
        let Sample::ChatCompletion { prompt, completion } = s else { panic!() };
        assert_eq!(prompt.len(), 2);
        assert_eq!(completion[0], json!({"role": "assistant", "content": "a", "reasoning_content": "r"}));
        let err = parse(json!({"prompt": "p", "completion": [{"role": "assistant", "content": "a"}]})).unwrap_err();
        assert_eq!(
            err,
            "\"prompt\" and \"completion\" must both be strings or both be lists of messages, not a string and a list"
        );
        let err = parse(
            json!({"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "user", "content": "a"}]}),
        )
        .unwrap_err();
        assert!(err.starts_with("completion[0] (user): a completion starts with an assistant turn"), "{err}");
        let err = parse(json!({"prompt": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            "completion": [{"role": "assistant", "content": "b"}]}))
        .unwrap_err();
        assert!(err.starts_with("completion[0] (assistant) comes after an assistant turn"), "{err}");
        assert_eq!(
            parse(json!({"prompt": [], "completion": [{"role": "assistant", "content": "a"}]})).unwrap_err(),
            "empty conversation: \"prompt\" is an empty list"
        );
    }

    #[test]
    fn tokenized_rows_are_checked() {
        let (_, s) = parse(json!({"input_ids": [5, 6], "labels": [-100, 6]})).unwrap();
        assert_eq!(s, Sample::Tokenized(SftExample { input_ids: vec![5, 6], labels: vec![-100, 6] }));
        let err = |v: Value| parse(v).unwrap_err();
        assert_eq!(
            err(json!({"input_ids": [1, 2], "labels": [1]})),
            "2 input_ids but 1 labels: they must have the same length"
        );
        assert_eq!(err(json!({"input_ids": [-1], "labels": [1]})), "input_ids[0] = -1 is not a token id");
        assert_eq!(err(json!({"input_ids": [1], "labels": [-5]})), "labels[0] = -5 is neither -100 nor a token id");
        assert_eq!(err(json!({"input_ids": [1.5], "labels": [1]})), "input_ids[0] must be an integer, not 1.5");
        assert_eq!(err(json!({"input_ids": [1]})), "a tokenized row needs \"labels\"; its keys are \"input_ids\"");
    }
}
