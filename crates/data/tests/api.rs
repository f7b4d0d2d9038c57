//! The API clients against loopback HTTP servers: real requests over TCP, real JSON, and
//! injected 429 / 500 / slow / malformed replies. No network is needed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use skillsft_data::api::cache::ResponseCache;
use skillsft_data::api::http::Transport;
use skillsft_data::api::{ChatClient, ChatRequest, Message, ModelSpec};
use skillsft_data::catalog::Catalog;
use skillsft_data::dataset::{self, BuildConfig};
use skillsft_data::judge::Judge;
use skillsft_data::teacher::Teacher;
use skillsft_data::teacher::api::ApiTeacher;

/// One scripted reply: status, extra headers, body, and a delay before answering.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn ok(body: Value) -> Reply {
    Reply { status: 200, headers: vec![], body: body.to_string(), delay: Duration::ZERO }
}

fn status(code: u16, body: &str) -> Reply {
    Reply { status: code, headers: vec![], body: body.into(), delay: Duration::ZERO }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Serves `script` in order (then repeats `fallback` forever, if given) on 127.0.0.1.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn serve(script: Vec<Reply>, fallback: Option<fn(&Value) -> Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let script = Arc::new(Mutex::new(script.into_iter()));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let log = log.clone();
            let script = script.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    return;
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (k, v) = line.split_once(':').unwrap();
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).unwrap();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                log.lock().unwrap().push(Seen { path, headers, body: body.clone() });
                let next = script.lock().unwrap().next();
                let reply = match (next, fallback) {
                    (Some(r), _) => r,
                    (None, Some(f)) => f(&body),
                    (None, None) => status(599, "script exhausted"),
                };
                std::thread::sleep(reply.delay);
                let mut head = format!(
                    "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(reply.body.as_bytes());
            });
        }
    });
    Server { url, seen }
}

/// Fast retries so the tests run in milliseconds.
fn transport(timeout_ms: u64, retries: u32) -> Transport {
    Transport::new(Duration::from_millis(timeout_ms), retries, Duration::from_millis(5), Duration::from_millis(50))
}

fn request() -> ChatRequest {
    ChatRequest {
        system: Some("Be exact.".into()),
        messages: vec![Message::user("What is 2 + 2?")],
        max_tokens: 2000,
        temperature: Some(0.5),
        reasoning_tokens: Some(1024),
    }
}

fn anthropic_reply(thinking: &str, text: &str) -> Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
           "content": [{"type": "thinking", "thinking": thinking, "signature": "sig"}, {"type": "text", "text": text}],
           "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 20}})
}

fn openai_reply(message: Value) -> Value {
    json!({"id": "c1", "object": "chat.completion", "model": "served-model",
           "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
}

#[test]
fn anthropic_wire_format_and_thinking() {
    let server = serve(vec![ok(anthropic_reply("2 and 2 make 4.", "ANSWER: 4"))], None);
    let spec: ModelSpec = "anthropic:claude-test".parse().unwrap();
    let client = ChatClient::new(&spec, Some(&server.url), Some("sk-test".into()), transport(5000, 0), None).unwrap();
    let r = client.chat(&request()).unwrap();
    assert_eq!(r.reasoning.as_deref(), Some("2 and 2 make 4."));
    assert_eq!(
        (r.content.as_str(), r.model.as_str(), r.stop_reason.as_deref()),
        ("ANSWER: 4", "claude-test", Some("end_turn"))
    );
    let seen = server.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.header("x-api-key"), Some("sk-test"));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen.body["model"], "claude-test");
    assert_eq!(seen.body["system"], "Be exact.");
    assert_eq!(seen.body["messages"], json!([{"role": "user", "content": "What is 2 + 2?"}]));
    assert_eq!(seen.body["thinking"], json!({"type": "enabled", "budget_tokens": 1024}));
    assert!(seen.body.get("temperature").is_none(), "temperature must be omitted with thinking on");
}

#[test]
fn openai_wire_format_and_reasoning_variants() {
    let server = serve(
        vec![
            ok(openai_reply(json!({"role": "assistant", "content": "ANSWER: 4", "reasoning_content": "vllm thinks"}))),
            ok(openai_reply(json!({"role": "assistant", "content": "ANSWER: 4", "reasoning": "openrouter thinks"}))),
            ok(openai_reply(json!({"role": "assistant", "content": "<think>\ninline thinks\n</think>\n\nANSWER: 4"}))),
        ],
        None,
    );
    let spec: ModelSpec = "openai:served-model".parse().unwrap();
    let client =
        ChatClient::new(&spec, Some(&format!("{}/v1", server.url)), Some("key".into()), transport(5000, 0), None)
            .unwrap();
    let got: Vec<_> = (0..3).map(|_| client.chat(&request()).unwrap()).collect();
    assert_eq!(got[0].reasoning.as_deref(), Some("vllm thinks"));
    assert_eq!(got[1].reasoning.as_deref(), Some("openrouter thinks"));
    assert_eq!(got[2].reasoning.as_deref(), Some("inline thinks"));
    assert!(got.iter().all(|r| r.content == "ANSWER: 4" && r.stop_reason.as_deref() == Some("stop")));
    let seen = server.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.header("authorization"), Some("Bearer key"));
    assert_eq!(seen.body["messages"][0], json!({"role": "system", "content": "Be exact."}));
    assert_eq!(seen.body["temperature"], 0.5);
    assert_eq!(seen.body["reasoning"], json!({"max_tokens": 1024}));
}

#[test]
fn retries_429_500_timeouts_and_malformed_bodies_then_succeeds() {
    let mut slow = ok(anthropic_reply("t", "late"));
    slow.delay = Duration::from_millis(1500);
    let mut limited = status(429, r#"{"type":"error","error":{"type":"rate_limit_error"}}"#);
    limited.headers.push(("retry-after", "0".into()));
    let script = vec![
        limited,
        status(500, "internal"),
        slow,
        status(200, "{\"content\": [tru"),
        status(529, "overloaded"),
        ok(anthropic_reply("finally", "ANSWER: 4")),
    ];
    let server = serve(script, None);
    let spec: ModelSpec = "anthropic:m".parse().unwrap();
    let client = ChatClient::new(&spec, Some(&server.url), Some("k".into()), transport(500, 6), None).unwrap();
    let r = client.chat(&request()).unwrap();
    assert_eq!(r.reasoning.as_deref(), Some("finally"));
    assert_eq!(server.seen.lock().unwrap().len(), 6, "five failures, then the success");
}

#[test]
fn gives_up_after_max_retries_and_does_not_retry_client_errors() {
    let server = serve(vec![], Some(|_| status(503, "busy")));
    let spec: ModelSpec = "openai:m".parse().unwrap();
    let client = ChatClient::new(&spec, Some(&server.url), None, transport(2000, 2), None).unwrap();
    let err = client.chat(&request()).unwrap_err().to_string();
    assert!(err.contains("HTTP 503") && err.contains("after 3 attempts"), "{err}");

    let server = serve(vec![status(401, r#"{"error":{"message":"bad key"}}"#)], None);
    let client = ChatClient::new(&spec, Some(&server.url), None, transport(2000, 5), None).unwrap();
    let err = client.chat(&request()).unwrap_err().to_string();
    assert!(err.contains("HTTP 401") && err.contains("bad key") && err.contains("after 1 attempt"), "{err}");
    assert_eq!(server.seen.lock().unwrap().len(), 1);
}

#[test]
fn missing_key_is_an_error_except_for_local_openai_servers() {
    let anthropic: ModelSpec = "anthropic:m".parse().unwrap();
    let err = ChatClient::new(&anthropic, None, None, transport(100, 0), None).err().unwrap().to_string();
    assert!(err.contains("ANTHROPIC_API_KEY"), "{err}");
    let openai: ModelSpec = "openai:m".parse().unwrap();
    assert!(ChatClient::new(&openai, None, None, transport(100, 0), None).is_err());
    assert!(ChatClient::new(&openai, Some("http://127.0.0.1:8000/v1"), None, transport(100, 0), None).is_ok());
}

#[test]
fn cache_replays_finished_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(vec![ok(anthropic_reply("t", "ANSWER: 4"))], None);
    let spec: ModelSpec = "anthropic:m".parse().unwrap();
    let cache = ResponseCache::open(dir.path()).unwrap();
    let client =
        ChatClient::new(&spec, Some(&server.url), Some("k1".into()), transport(2000, 0), Some(cache.clone())).unwrap();
    let first = client.chat(&request()).unwrap();
    // A new client (new key: the key is not part of the cache key) replays without a request.
    let again =
        ChatClient::new(&spec, Some(&server.url), Some("k2".into()), transport(2000, 0), Some(cache.clone())).unwrap();
    assert_eq!(again.chat(&request()).unwrap(), first);
    assert_eq!(server.seen.lock().unwrap().len(), 1);
    assert_eq!(cache.len(), 1);
}

/// Replies left before the resume test's server starts failing.
static BUDGET: AtomicIsize = AtomicIsize::new(isize::MAX);

fn answer(body: &Value) -> Reply {
    let prompt = body["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string();
    if prompt.contains("## Candidate reply") {
        return ok(openai_reply(json!({"role": "assistant", "content": "Matches the reference.\nVERDICT: PASS"})));
    }
    let value = if prompt.contains("two plus") { "4" } else { "9" };
    ok(openai_reply(
        json!({"role": "assistant", "reasoning_content": format!("worked: {value}"), "content": format!("ANSWER: {value}")}),
    ))
}

fn flaky_answer(body: &Value) -> Reply {
    if BUDGET.fetch_sub(1, Ordering::SeqCst) <= 0 { status(500, "down") } else { answer(body) }
}

/// A whole build through an OpenAI-compatible teacher and LLM judge on loopback, cut off
/// by a server that starts failing after 2 replies, then resumed: the resumed build sends
/// only the unfinished requests and writes files byte-identical to an uninterrupted build.
/// One holdout skill and two training skills with one fixed task each ("two plus two?" → 4,
/// "three squared?" → 9), written to `dir`.
fn small_catalog(dir: &std::path::Path) -> Catalog {
    let steps = json!([{"work": "w", "value": "v"}, {"work": "w", "value": "v"}, {"work": "w", "value": "v"},
                       {"work": "w", "value": "v"}, {"work": "w", "value": "v"}]);
    let line = |id: &str, split: &str, proc_: &str, prompt: &str, answer: &str| {
        json!({"id": id, "title": "T", "domain": "d", "split": split, "procedure": proc_,
               "answer": {"kind": "exact", "format": "integer"},
               "generator": {"kind": "fixed", "params": {"tasks": [{"prompt": prompt, "answer": answer, "steps": steps}]}}})
        .to_string()
    };
    let lines = [
        line("h", "holdout", "1. a\n2. b\n3. c\n4. d\n5. e", "what is three squared?", "9"),
        line("t1", "train", "1. v\n2. w\n3. x\n4. y\n5. z", "two plus two?", "4"),
        line("t2", "train", "1. q\n2. r\n3. s\n4. t\n5. u", "three squared?", "9"),
    ];
    std::fs::write(dir.join("s.jsonl"), lines.join("\n")).unwrap();
    Catalog::from_dir(dir).unwrap()
}

/// The teacher `openai:teacher` and LLM-only judge `openai:judge` of the server at `url`.
fn api_teacher_and_judge(url: &str, cache: &ResponseCache) -> (Teacher, Judge) {
    let client = |m: &str| {
        let spec: ModelSpec = m.parse().unwrap();
        ChatClient::new(&spec, Some(url), None, transport(2000, 0), Some(cache.clone())).unwrap()
    };
    let teacher = Teacher::Api(Box::new(ApiTeacher {
        client: client("openai:teacher"),
        max_tokens: 1000,
        reasoning_tokens: None,
        temperature: Some(0.0),
    }));
    (teacher, Judge::Llm { client: client("openai:judge"), all_tasks: true })
}

#[test]
fn api_build_resumes_from_the_cache() {
    let skills = tempfile::tempdir().unwrap();
    let catalog = small_catalog(skills.path());
    let cfg = BuildConfig { rows: 2, holdout_skills: 1, tasks_per_skill: 1, concurrency: 2, ..BuildConfig::default() };
    let run = |url: &str, cache: &std::path::Path, out: &std::path::Path| {
        let (teacher, judge) = api_teacher_and_judge(url, &ResponseCache::open(cache).unwrap());
        let built = dataset::build(&catalog, &cfg, &teacher, &judge, &|_, _| {})?;
        dataset::write(out, &built, &cfg, &teacher.describe(), &judge.describe())
    };

    let healthy = serve(vec![], Some(answer));
    let (ref_cache, ref_out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let reference = run(&healthy.url, ref_cache.path(), ref_out.path()).unwrap();
    assert_eq!(healthy.seen.lock().unwrap().len(), 4, "2 teacher + 2 judge requests");
    assert_eq!(reference.counts.corpus_rows, 2);

    BUDGET.store(2, Ordering::SeqCst);
    let flaky = serve(vec![], Some(flaky_answer));
    let (cache, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let err = run(&flaky.url, cache.path(), out.path()).unwrap_err().to_string();
    assert!(err.contains("HTTP 500"), "{err}");
    assert!(!out.path().join("manifest.json").exists(), "a failed build writes no manifest");
    assert_eq!(ResponseCache::open(cache.path()).unwrap().len(), 2, "every finished reply is kept");

    BUDGET.store(isize::MAX, Ordering::SeqCst);
    let before = flaky.seen.lock().unwrap().len();
    let resumed = run(&flaky.url, cache.path(), out.path()).unwrap();
    assert_eq!(flaky.seen.lock().unwrap().len() - before, 4 - 2, "only unfinished requests are sent again");
    assert_eq!(resumed.files, reference.files);
    for f in ["corpus.jsonl", "holdout.jsonl", "skills.jsonl", "manifest.json"] {
        assert_eq!(std::fs::read(out.path().join(f)).unwrap(), std::fs::read(ref_out.path().join(f)).unwrap(), "{f}");
    }
}

#[test]
fn llm_judge_sends_the_rubric_and_records_replies_without_a_verdict_as_unscorable() {
    use skillsft_data::skill::{AnswerSpec, GeneratorSpec, Skill, Split};
    use skillsft_data::task::{Criterion, Task};
    let say = |text: &str| ok(openai_reply(json!({"role": "assistant", "content": text})));
    let server = serve(
        vec![
            say("States both facts.\nVERDICT: PASS"),
            // Three replies without a verdict for the second answer: a refusal, an empty reply,
            // a reply cut off before its verdict line.
            say("I think it is fine."),
            say(""),
            say("The candidate names Offer A, which"),
            // The rerun of that answer.
            say("Names the wrong offer.\nVERDICT: FAIL"),
        ],
        None,
    );
    let spec: ModelSpec = "openai:judge".parse().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = ResponseCache::open(cache_dir.path()).unwrap();
    let client = ChatClient::new(&spec, Some(&server.url), None, transport(2000, 0), Some(cache.clone())).unwrap();
    let judge = Judge::Llm { client, all_tasks: false };
    let skill = Skill {
        id: "memo".into(),
        title: "Memo".into(),
        domain: "finance".into(),
        split: Split::Holdout,
        procedure: "1. a\n2. b\n3. c\n4. d\n5. e".into(),
        answer: AnswerSpec::FreeForm { rubric: "Recommends the cheaper offer.".into() },
        generator: GeneratorSpec { kind: "fixed".into(), params: Default::default() },
    };
    let task = Task {
        id: "memo/1".into(),
        skill_id: "memo".into(),
        seed: 1,
        prompt: "Compare the offers.".into(),
        answer: "I recommend Offer B.".into(),
        steps: vec![],
        rubric: vec![Criterion { criterion: "names the cheaper offer".into(), expect: vec!["Offer B".into()] }],
    };
    let v = judge.judge(&skill, &task, "Offer B is cheaper.").unwrap();
    assert!(v.passed() && v.judge == "llm:openai:judge" && v.error.is_none(), "{v:?}");
    let sent = server.seen.lock().unwrap()[0].body["messages"][1]["content"].as_str().unwrap().to_string();
    for part in [
        "Compare the offers.",
        "I recommend Offer B.",
        "Recommends the cheaper offer.",
        "names the cheaper offer",
        "Offer B is cheaper.",
    ] {
        assert!(sent.contains(part), "judge prompt lacks {part:?}");
    }

    // No verdict in three attempts: an unscorable verdict that says why, not an error.
    let v = judge.judge(&skill, &task, "Offer A.").unwrap();
    assert_eq!(v.pass, None, "{v:?}");
    let why = v.error.clone().unwrap();
    assert!(why.contains("no VERDICT line in 3 attempts") && why.contains("Offer A, which"), "{why}");
    assert_eq!(server.seen.lock().unwrap().len(), 4, "each attempt went to the server");
    assert_eq!(cache.len(), 1, "only the parsable reply is cached");
    let line = serde_json::to_value(&v).unwrap();
    assert!(line["pass"].is_null() && line["error"].is_string(), "{line}");

    // A rerun asks again (the failed replies were not cached) and gets the verdict; a third
    // run replays it from the cache.
    let v = judge.judge(&skill, &task, "Offer A.").unwrap();
    assert_eq!((v.pass, v.error.as_deref()), (Some(false), None), "{v:?}");
    assert_eq!(server.seen.lock().unwrap().len(), 5);
    assert_eq!(judge.judge(&skill, &task, "Offer A.").unwrap().pass, Some(false));
    assert_eq!(server.seen.lock().unwrap().len(), 5, "the verdict is replayed from the cache");
}

/// A judge that never gives a verdict on "two plus two?" (an empty reply): those candidates are
/// rejected and counted as unscorable, the build goes on with the other skill's candidates.
#[test]
fn api_build_counts_candidates_the_judge_cannot_score() {
    fn mute_on_t1(body: &Value) -> Reply {
        let prompt = body["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string();
        if prompt.contains("## Candidate reply") && prompt.contains("two plus two?") {
            return ok(openai_reply(json!({"role": "assistant", "content": ""})));
        }
        answer(body)
    }
    let skills = tempfile::tempdir().unwrap();
    let catalog = small_catalog(skills.path());
    let server = serve(vec![], Some(mute_on_t1));
    let (cache, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (teacher, judge) = api_teacher_and_judge(&server.url, &ResponseCache::open(cache.path()).unwrap());
    let cfg = BuildConfig { rows: 2, holdout_skills: 1, tasks_per_skill: 1, concurrency: 2, ..BuildConfig::default() };
    let built = dataset::build(&catalog, &cfg, &teacher, &judge, &|_, _| {}).unwrap();
    let c = &built.counts;
    assert_eq!(c.corpus_rows, 2);
    assert!(built.corpus.iter().all(|r| r.skill_id == "t2" && r.verdict.passed()));
    assert!(c.rejected_unscorable >= 1 && c.rejected_unscorable == c.rejected, "{c:?}");
    dataset::write(out.path(), &built, &cfg, &teacher.describe(), &judge.describe()).unwrap();
    let manifest = std::fs::read_to_string(out.path().join("manifest.json")).unwrap();
    assert!(manifest.contains("\"rejected_unscorable\""), "{manifest}");
}
