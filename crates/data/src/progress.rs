//! Progress of long work. The libraries never print: they tell a [`Progress`] what is
//! happening, and the binaries draw it (`skillsft_cli::Bars` draws `indicatif` bars). Code that
//! uses the crates as a library passes [`Silent`], or its own implementation (a log line, a
//! notebook widget).

use std::sync::Arc;

/// What the units of a task count (the binaries pick a bar style from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Optimizer steps.
    Steps,
    /// Student replies.
    Episodes,
    /// Downloaded bytes.
    Bytes,
}

/// Receives the progress of one task at a time. Every method has an empty default.
pub trait Progress: Send + Sync {
    /// A task of `total` units (`None`: unknown) named `label` starts, `done` of them finished.
    fn start(&self, _label: &str, _unit: Unit, _total: Option<u64>, _done: u64) {}
    /// `n` more units are done; `status` is the latest status (loss, pass count).
    fn advance(&self, _n: u64, _status: &str) {}
    /// The task ended.
    fn finish(&self) {}
    /// A line for the user between tasks (a stage begins, a run is reused).
    fn note(&self, _line: &str) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}

/// A shared receiver, as option structs hold it.
pub type SharedProgress = Arc<dyn Progress>;

/// [`Silent`], shared.
pub fn silent() -> SharedProgress {
    Arc::new(Silent)
}
