//! Episodes end to end without a GPU or network: a scripted student, an API student and an
//! LLM judge behind a loopback OpenAI-compatible server, and a tiny random Qwen3.5 with the
//! real tokenizer. Checks resume, prompt-change refusal, scoring paths and re-judging.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use skillsft_data::api::http::Transport;
use skillsft_data::api::{ChatClient, ModelSpec};
use skillsft_data::catalog::Catalog;
use skillsft_data::dataset::{AnswerKind, BuildConfig, HoldoutRow, build_holdout};
use skillsft_eval::Result;
use skillsft_eval::episode::{Condition, EpisodeLog, Finish, Stage, read_verdicts};
use skillsft_eval::report::{ReportConfig, report};
use skillsft_eval::runner::{Rescore, RunPlan, run_episodes, score_missing};
use skillsft_eval::scoring::{Scorer, parse_scorer};
use skillsft_eval::student::{ApiStudent, LocalSpec, LocalStudent, Reply, Student, Thinking};

fn holdout(skills: usize) -> (Catalog, Vec<HoldoutRow>) {
    let catalog = Catalog::builtin().unwrap();
    let cfg = BuildConfig { holdout_skills: skills, tasks_per_skill: 1, ..BuildConfig::default() };
    let rows = build_holdout(&catalog, &cfg).unwrap();
    (catalog, rows)
}

/// Answers curated prompts with the reference `ANSWER:` line and baseline prompts wrongly;
/// raises `stop` after `stop_after` batches.
struct Scripted {
    answers: HashMap<String, String>,
    version: &'static str,
    calls: AtomicUsize,
    stop_after: Option<(usize, Arc<AtomicBool>)>,
}

impl Student for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn prompt_hash(&self, user: &str) -> Result<String> {
        Ok(skillsft_eval::episode::sha256_hex(&format!("{}{user}", self.version)))
    }
    fn respond(&self, users: &[String], _sample: u32) -> Result<Vec<Reply>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((k, stop)) = &self.stop_after
            && n >= *k
        {
            stop.store(true, Ordering::SeqCst);
        }
        Ok(users
            .iter()
            .map(|u| {
                let text = match self.answers.get(u) {
                    Some(a) => format!("Following the steps.\nANSWER: {a}"),
                    None => "I am not sure.".to_string(),
                };
                Reply { output: text.clone(), reasoning: None, answer_text: text, finish: Finish::Stop, tokens: 5 }
            })
            .collect())
    }
    fn batch_size(&self) -> usize {
        3
    }
}

fn scripted(rows: &[HoldoutRow], stop_after: Option<(usize, Arc<AtomicBool>)>) -> Scripted {
    let answers = rows.iter().map(|r| (r.prompts["curated"].clone(), r.answer.clone())).collect();
    Scripted { answers, version: "v1", calls: AtomicUsize::new(0), stop_after }
}

/// The pre-SFT run of every condition these tests make: serial, no progress bar, no stop flag.
fn pre_plan<'a>(
    conditions: &'a [Condition],
    holdout: &'a [HoldoutRow],
    catalog: &'a Catalog,
    scorers: &'a [Scorer],
) -> RunPlan<'a> {
    RunPlan {
        stage: Stage::Pre,
        conditions,
        holdout,
        catalog,
        scorers,
        progress: &skillsft_data::progress::Silent,
        stop: None,
        concurrency: 1,
        seed: 0,
        samples: 1,
    }
}

fn conditions() -> Vec<Condition> {
    Condition::ALL.to_vec()
}

#[test]
fn episodes_resume_after_an_interruption_and_refuse_a_changed_prompt() {
    let (catalog, rows) = holdout(6);
    let exact: Vec<&HoldoutRow> = rows.iter().filter(|r| r.answer_kind == AnswerKind::Exact).collect();
    assert!(exact.len() >= 3, "the first skills have exact tasks");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episodes.jsonl");
    let scorers = [Scorer::offline()];
    let conds = conditions();
    let stop = Arc::new(AtomicBool::new(false));
    let plan = |stop: Option<Arc<AtomicBool>>| RunPlan { stop, ..pre_plan(&conds, &rows, &catalog, &scorers) };

    // Interrupted after two batches of three.
    let mut log = EpisodeLog::open(&path).unwrap();
    let c = run_episodes(&scripted(&rows, Some((2, stop.clone()))), &plan(Some(stop)), &mut log).unwrap();
    assert!(c.interrupted);
    assert_eq!(c.ran, 6);
    // Resumed from the file: the rest runs, nothing twice.
    let mut log = EpisodeLog::open(&path).unwrap();
    let c = run_episodes(&scripted(&rows, None), &plan(None), &mut log).unwrap();
    assert_eq!((c.ran, c.skipped), (2 * rows.len() - 6, 6));
    let c = run_episodes(&scripted(&rows, None), &plan(None), &mut log).unwrap();
    assert_eq!((c.ran, c.skipped), (0, 2 * rows.len()));
    assert_eq!(EpisodeLog::open(&path).unwrap().episodes().len(), 2 * rows.len());

    // Every exact task passes curated and fails baseline under the offline path.
    let log = EpisodeLog::open(&path).unwrap();
    for ep in log.episodes().iter().filter(|e| e.answer_kind == AnswerKind::Exact) {
        assert_eq!(ep.verdicts[0].judge, "offline");
        assert_eq!(ep.verdicts[0].by, "answer-extractor");
        assert_eq!(ep.verdicts[0].pass, Some(ep.condition == "curated"), "{}", ep.task_id);
        assert_eq!(ep.extracted.is_some(), ep.condition == "curated");
    }
    let r =
        report(&read_verdicts(&path).unwrap(), ReportConfig { resamples: 1000, seed: 0, ..ReportConfig::default() })
            .unwrap();
    let d = &r.deltas[0];
    assert!(d.delta >= exact.len() as f64 / rows.len() as f64 - 1e-12, "{d:?}");

    // The same student with another prompt rendering: refused, not mixed in.
    let mut changed = scripted(&rows, None);
    changed.version = "v2";
    let mut log = EpisodeLog::open(&path).unwrap();
    let err = run_episodes(&changed, &plan(None), &mut log).unwrap_err().to_string();
    assert!(err.contains("another prompt"), "{err}");
}

/// A loopback OpenAI-compatible server: the judge passes replies that carry an `ANSWER:`
/// line; the student thinks, then answers 7 (32 completion tokens in `usage`).
fn serve() -> String {
    serve_with(Arc::new(AtomicBool::new(false)))
}

/// [`serve`], where the judge answers with an empty reply cut at the token limit while `mute`
/// is raised.
fn serve_with(mute: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mute = mute.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let l = line.trim_end().to_ascii_lowercase();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(v) = l.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).unwrap();
                let req: Value = serde_json::from_slice(&body).unwrap();
                let user = req["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string();
                let judging = user.contains("## Candidate reply");
                let content = match user.split_once("## Candidate reply") {
                    Some(_) if mute.load(Ordering::SeqCst) => String::new(),
                    Some((_, candidate)) if candidate.contains("ANSWER:") => "Matches.\nVERDICT: PASS".to_string(),
                    Some(_) => "No conclusion.\nVERDICT: FAIL".to_string(),
                    None => "<think>count the steps</think>The result follows.\nANSWER: 7".to_string(),
                };
                let finish = if judging && mute.load(Ordering::SeqCst) { "length" } else { "stop" };
                let reply = json!({"model": req["model"], "choices": [{"message": {"content": content}, "finish_reason": finish}],
                                   "usage": {"prompt_tokens": 100, "completion_tokens": 32, "total_tokens": 132}})
                .to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    reply.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    url
}

fn client(url: &str, model: &str) -> ChatClient {
    let spec: ModelSpec = format!("openai:{model}").parse().unwrap();
    let transport = Transport::new(Duration::from_secs(10), 1, Duration::from_millis(5), Duration::from_millis(20));
    ChatClient::new(&spec, Some(url), None, transport, None).unwrap()
}

#[test]
fn api_student_with_two_judges_and_a_later_rejudge() {
    let url = serve();
    let (catalog, rows) = holdout(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episodes.jsonl");
    let scorers = [Scorer::offline(), Scorer::llm(client(&url, "judge-a"), true)];
    let llm_only = scorers[1].path().to_string();
    assert!(llm_only.starts_with("llm-only:openai:judge-a@"), "{llm_only}");
    let student = ApiStudent::new("api-student".into(), client(&url, "student"), 256, None);
    let conds = conditions();
    let plan = pre_plan(&conds, &rows, &catalog, &scorers);
    let mut log = EpisodeLog::open(&path).unwrap();
    let c = run_episodes(&student, &plan, &mut log).unwrap();
    assert_eq!(c.ran, 2 * rows.len());
    for ep in log.episodes() {
        assert_eq!(ep.reasoning.as_deref(), Some("count the steps"));
        assert_eq!(ep.answer_text, "The result follows.\nANSWER: 7");
        assert_eq!(ep.extracted.as_deref(), Some("7"));
        assert_eq!(ep.output_tokens, 32, "output tokens from the server's usage");
        assert_eq!(ep.verdicts.len(), 2);
        assert_eq!(ep.verdicts[1].pass, Some(true), "the LLM-only judge credits every ANSWER line here");
        assert_eq!(ep.verdicts[1].by, "llm:openai:judge-a");
    }

    // A second judge family added later: nothing regenerated, one verdict more per episode.
    let second = parse_scorer("openai:judge-b", Some(&url), &dir.path().join(".cache")).unwrap();
    assert!(second.path().starts_with("extractor+llm:openai:judge-b@"));
    let mut log = EpisodeLog::open(&path).unwrap();
    let added = score_missing(&mut log, &[second], &catalog, &rows, Rescore::default()).unwrap();
    assert_eq!(added, 2 * rows.len());
    let log = EpisodeLog::open(&path).unwrap();
    assert!(log.episodes().iter().all(|e| e.verdicts.len() == 3));
    let r = report(&read_verdicts(&path).unwrap(), ReportConfig { resamples: 500, seed: 0, ..ReportConfig::default() })
        .unwrap();
    assert_eq!(r.agreement.len(), 3, "three paths, three pairs");
}

#[test]
fn a_tiny_random_qwen_with_the_real_tokenizer_answers_in_batches() {
    let tokenizer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/tokenizer/qwen3.5");
    let dir = tempfile::tempdir().unwrap();
    let model_dir = skillsft_eval::study::random_model_dir("tiny", &tokenizer, 3, &dir.path().join("tiny")).unwrap();
    let cfg = qwen35::Qwen35Config::from_file(model_dir.join("config.json")).unwrap();
    assert!(cfg.vocab_size >= 248_077 && cfg.vocab_size.is_multiple_of(64), "{}", cfg.vocab_size);
    let spec = LocalSpec {
        name: "tiny".into(),
        model_dir: model_dir.clone(),
        adapter: None,
        // CI's second pass runs the same generation on wgpu over lavapipe.
        device: match std::env::var("QWEN35_TEST_DEVICE") {
            Ok(name) => name.parse::<qwen35::DeviceChoice>().and_then(|d| d.device()).expect("QWEN35_TEST_DEVICE"),
            Err(_) => qwen35::DeviceChoice::Cpu.device().unwrap(),
        },
        dtype: burn::tensor::DType::F32,
        thinking: Thinking::Off,
        generation: qwen35::GenerationConfig { max_new_tokens: 4, ..Default::default() },
        batch_size: 4,
    };
    let student = LocalStudent::load(&spec).unwrap();
    assert!(!student.thinking());
    let (catalog, rows) = holdout(2);
    let users: Vec<String> = rows.iter().map(|r| r.prompts["baseline"].clone()).collect();
    let a = student.respond(&users, 0).unwrap();
    let b = student.respond(&users, 0).unwrap();
    assert_eq!(a, b, "greedy generation is deterministic");
    for r in &a {
        assert!(r.tokens >= 1 && r.tokens <= 4);
    }
    assert_eq!(student.prompt_hash(&users[0]).unwrap(), student.prompt_hash(&users[0]).unwrap());

    let scorers = [Scorer::offline()];
    let conds = conditions();
    let mut log = EpisodeLog::open(&dir.path().join("episodes.jsonl")).unwrap();
    let plan = pre_plan(&conds, &rows, &catalog, &scorers);
    assert_eq!(run_episodes(&student, &plan, &mut log).unwrap().ran, 2 * rows.len());

    // A tokenizer that does not belong to the model is caught before generation.
    let device = qwen35::DeviceChoice::Cpu.device().unwrap();
    let small =
        qwen35::Qwen35::random(&qwen35::Qwen35Config::preset("tiny").unwrap(), 0, &device, burn::tensor::DType::F32)
            .unwrap();
    let mismatched = LocalStudent::new(
        "mismatched".into(),
        small,
        skillsft_data::chat::ChatTemplate::from_model_dir(&model_dir).unwrap(),
        skillsft_data::tokenizer::ChatTokenizer::from_path(&model_dir).unwrap(),
        qwen35::GenerationConfig::default(),
        false,
        1,
    );
    let err = mismatched.respond(&users[..1], 0).unwrap_err().to_string();
    assert!(err.contains("do not belong together"), "{err}");
}

/// A judge that answers without a verdict (empty replies cut at the token limit): the run
/// finishes with every episode written, the LLM path's verdicts are unscorable and say why, the
/// offline path is unaffected, the report leaves them out and counts them, and a rerun once the
/// judge answers again asks only for those.
#[test]
fn a_judge_without_a_verdict_does_not_stop_the_run() {
    let mute = Arc::new(AtomicBool::new(true));
    let url = serve_with(mute.clone());
    let (catalog, rows) = holdout(3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episodes.jsonl");
    let cache = dir.path().join(".cache");
    let scorers = [Scorer::offline(), parse_scorer("llm-only:openai:judge", Some(&url), &cache).unwrap()];
    let student = ApiStudent::new("api-student".into(), client(&url, "student"), 256, None);
    let conds = conditions();
    let plan = pre_plan(&conds, &rows, &catalog, &scorers);
    let mut log = EpisodeLog::open(&path).unwrap();
    let c = run_episodes(&student, &plan, &mut log).unwrap();
    assert_eq!(c.ran, 2 * rows.len(), "every episode is written");
    for ep in EpisodeLog::open(&path).unwrap().episodes() {
        assert!(ep.verdicts[0].pass.is_some(), "the offline path scores as before");
        let llm = &ep.verdicts[1];
        assert_eq!(llm.pass, None);
        let why = llm.error.as_deref().unwrap();
        assert!(why.contains("an empty reply in 3 attempts") && why.contains("length"), "{why}");
    }
    let line = std::fs::read_to_string(&path).unwrap().lines().next().unwrap().to_string();
    assert!(line.contains("\"pass\":null") && line.contains("\"error\":"), "{line}");

    let r = report(&read_verdicts(&path).unwrap(), ReportConfig { resamples: 200, seed: 0, ..ReportConfig::default() })
        .unwrap();
    let llm_path = scorers[1].path();
    let u = r.unscorable.iter().find(|u| u.judge == llm_path).unwrap();
    assert_eq!((u.verdicts, u.unscorable, u.flagged), (2 * rows.len(), 2 * rows.len(), true));
    assert!(r.deltas.iter().all(|d| d.judge != llm_path), "no pairs scored on that path: no Δ");
    let rate = r.rates.iter().find(|x| x.judge == llm_path).unwrap();
    assert_eq!((rate.n, rate.unscorable), (0, rows.len()));
    assert!(r.deltas.iter().any(|d| d.judge == "offline" && d.n == rows.len() && d.dropped_pairs == 0));
    assert!(r.agreement.is_empty(), "no episode scored by both paths: no agreement row");
    let md = skillsft_eval::report::to_markdown(&r);
    assert!(md.contains("Unscorable verdicts") && md.contains("read them with care"), "{md}");

    // The judge answers again: a rerun asks only for the unscorable verdicts (the student's
    // replies are not regenerated) and the report has its Δ back.
    mute.store(false, Ordering::SeqCst);
    let mut log = EpisodeLog::open(&path).unwrap();
    let c = run_episodes(&student, &plan, &mut log).unwrap();
    assert_eq!((c.ran, c.rescored), (0, 2 * rows.len()));
    let log = EpisodeLog::open(&path).unwrap();
    assert!(log.episodes().iter().all(|e| e.verdicts.iter().all(|v| v.pass.is_some() && v.error.is_none())));
    let r = report(&read_verdicts(&path).unwrap(), ReportConfig { resamples: 200, seed: 0, ..ReportConfig::default() })
        .unwrap();
    assert!(r.deltas.iter().any(|d| d.judge == llm_path && d.n == rows.len()));
    assert!(r.unscorable.iter().all(|u| u.unscorable == 0 && !u.flagged));
    assert_eq!((r.agreement[0].n, r.agreement[0].dropped), (2 * rows.len(), 0));
}

/// An API student and an LLM judge with 8 requests in flight write the same bytes as one at a
/// time: episodes are kept in holdout order whatever order the replies arrive in.
#[test]
fn concurrent_requests_write_the_same_episodes_as_serial_ones() {
    let url = serve();
    let (catalog, rows) = holdout(6);
    let conds = conditions();
    let run = |concurrency: usize| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("episodes.jsonl");
        let scorers = [Scorer::offline(), Scorer::llm(client(&url, "judge"), true)];
        let student = ApiStudent::new("api".into(), client(&url, "student"), 256, None).with_concurrency(concurrency);
        let plan = RunPlan { concurrency, ..pre_plan(&conds, &rows, &catalog, &scorers) };
        let mut log = EpisodeLog::open(&path).unwrap();
        assert_eq!(run_episodes(&student, &plan, &mut log).unwrap().ran, 2 * rows.len());
        // And a second path added afterwards, concurrently too.
        let second = Scorer::llm(client(&url, "judge-b"), false);
        let what = Rescore { concurrency, ..Rescore::default() };
        assert_eq!(score_missing(&mut log, &[second], &catalog, &rows, what).unwrap(), 2 * rows.len());
        std::fs::read(&path).unwrap()
    };
    let serial = run(1);
    assert_eq!(run(8), serial, "concurrency changed the episodes file");
}
