//! What the binaries share.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

/// Installs a Ctrl-C handler and returns the flag it raises: the first Ctrl-C prints `first`
/// and asks the work to stop at its next safe point (a checkpoint, the end of a batch); a
/// second one exits at once with status 130.
pub fn stop_on_ctrl_c(first: &'static str) -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond Ctrl-C: exiting now");
            std::process::exit(130);
        }
        eprintln!("\n{first} (Ctrl-C again to abort)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(stop)
}
