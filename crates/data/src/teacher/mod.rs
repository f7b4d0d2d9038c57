//! Teachers write the assistant turn of a corpus row: an offline one built from the
//! generator's steps, and API teachers (Anthropic, OpenAI-compatible) for frontier-model rows.

pub mod api;
pub mod offline;

pub use offline::TeacherReply;

use crate::error::Result;
use crate::skill::Skill;
use crate::task::Task;

/// Which teacher writes the corpus.
pub enum Teacher {
    /// The deterministic offline teacher (the default).
    Offline,
    /// A model behind an API.
    Api(Box<api::ApiTeacher>),
}

impl Teacher {
    /// How this teacher is recorded in provenance (`offline`, `anthropic:MODEL`).
    pub fn describe(&self) -> String {
        match self {
            Teacher::Offline => "offline".into(),
            Teacher::Api(t) => t.client.describe(),
        }
    }

    /// The reply to `user_prompt` for `task`; `seed` picks the offline teacher's wording.
    pub fn reply(&self, skill: &Skill, task: &Task, user_prompt: &str, seed: u64) -> Result<TeacherReply> {
        match self {
            Teacher::Offline => Ok(offline::reply(skill, task, seed)),
            Teacher::Api(t) => t.reply(user_prompt),
        }
    }
}
