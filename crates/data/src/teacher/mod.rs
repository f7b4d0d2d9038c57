//! Teachers write the assistant turn of a corpus row: an offline one built from the
//! generator's steps, and API teachers (Anthropic, OpenAI-compatible) for frontier-model rows.

pub mod offline;

pub use offline::TeacherReply;
