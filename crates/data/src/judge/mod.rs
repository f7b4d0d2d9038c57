//! Judges: the deterministic `ANSWER:` extractor, the offline rubric judge, and the LLM judge.

pub mod extract;
