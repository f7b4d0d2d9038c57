//! What the binaries share.

pub mod check;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use qwen35::DeviceChoice;

/// `--kernels`, shared by the binaries that run the model.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KernelArgs {
    /// Fused kernels or plain Burn ops where both exist (attention, the GDN rule): auto (per
    /// backend, see docs/performance.md), fused or plain. Same values either way; speed and
    /// memory differ. Also read from SKILLSFT_KERNELS.
    #[arg(long, global = true, value_name = "auto|fused|plain")]
    pub kernels: Option<String>,
}

impl KernelArgs {
    /// Sets the process-wide kernel policy if `--kernels` was given.
    pub fn apply(&self) -> Result<()> {
        if let Some(k) = &self.kernels {
            qwen35::set_kernel_choice(k.parse()?);
        }
        Ok(())
    }
}

/// Resolves `--device` (decides `auto`, checks that a CUDA GPU exists), prints which device the
/// run uses to stderr, and returns it (never `auto`; its `to_string` is the name for configs).
pub fn pick_device(name: &str) -> Result<DeviceChoice> {
    let resolved = name.parse::<DeviceChoice>()?.resolve()?;
    eprintln!("device: {}", resolved.description);
    Ok(resolved.choice)
}

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

/// Asks glibc's allocator to keep the memory a tensor frees for the next one instead of handing
/// it back to the kernel. By default every allocation over 32 MiB is its own `mmap`, unmapped
/// when freed, so each forward's logits (508 MB for the 0.8B head at 1×512) and large
/// activations come back as fresh pages that the kernel faults in and zeroes one by one: 7% of
/// a CPU forward in `perf` (`clear_page_erms`), and TLB shootdowns on every unmap. Training and
/// evaluation repeat the same shapes step after step, so the process's peak is what it holds
/// either way (peak RSS of `bench train --size 0.8b` 1×512: 6,569 MiB without, 6,571 with).
/// A library user can get the same with `MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647`
/// in the environment. Elsewhere than glibc this does nothing.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes the allocator's tuning; it is called before the work
    // starts any thread and allocations made before stay valid.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Runs a binary's work and turns its outcome into an exit code: an error prints as
/// `error: …` (exit 1). A panic whose message says the GPU ran out of memory (CubeCL panics
/// rather than returning an error, sometimes on its server thread) prints what was asked for
/// and what to try instead of a backtrace (exit 1). Any other panic is a bug and keeps Rust's
/// report (exit 101).
pub fn main_with(run: impl FnOnce() -> Result<()>) -> std::process::ExitCode {
    use std::process::ExitCode;
    keep_freed_memory();
    // The libraries' warnings (`tracing`) go to stderr; `RUST_LOG` overrides the level. The SVG
    // rasteriser's notes on empty legend paths are not the user's business.
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,usvg=error".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    static GPU_OOM: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        if is_out_of_memory(&msg) {
            if let Ok(mut slot) = GPU_OOM.lock() {
                slot.get_or_insert(msg);
            }
        } else if GPU_OOM.lock().map(|s| s.is_none()).unwrap_or(true) {
            // Once the GPU is out of memory, other threads' panics (a closed channel) are echoes.
            default_hook(info);
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    let oom = GPU_OOM.lock().ok().and_then(|s| s.clone());
    match (outcome, oom) {
        (Ok(Ok(())), _) => ExitCode::SUCCESS,
        (Ok(Err(e)), None) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
        (Ok(Err(_)) | Err(_), Some(msg)) => {
            eprintln!("error: {}", out_of_memory_advice(&msg));
            ExitCode::FAILURE
        }
        (Err(_), None) => ExitCode::from(101),
    }
}

/// Whether a panic message is a device allocation failure (CubeCL's `IoError::OutOfMemory`,
/// `LaunchError::OutOfMemory`, or the driver's `CUDA_ERROR_OUT_OF_MEMORY`).
pub fn is_out_of_memory(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("out of device memory")
        || m.contains("out-of-memory")
        || m.contains("out_of_memory")
        || m.contains("outofmemory")
        || m.contains("out of memory")
}

/// The error line for a GPU out-of-memory: how much was asked for, when the message says, and
/// the switches that need less memory.
pub fn out_of_memory_advice(msg: &str) -> String {
    let asked = msg
        .split("allocating ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .map(|b| format!(" while allocating {:.2} GiB", b as f64 / (1u64 << 30) as f64))
        .unwrap_or_default();
    format!(
        "out of GPU memory{asked}. To need less: a smaller --micro-batch (raise --grad-accum to keep \
         the batch), a shorter --seq-len, --gradient-checkpointing, --dtype bf16, a smaller \
         --loss-chunk, LoRA instead of full fine-tuning, or a smaller --size. (The device said: {})",
        msg.lines().next().unwrap_or(msg).trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_memory_is_recognised_and_explained() {
        let cubecl = "out of device memory allocating 3221225472 bytes\n   0: backtrace";
        assert!(is_out_of_memory(cubecl));
        assert!(is_out_of_memory(
            "called `Result::unwrap()` on an `Err` value: DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")"
        ));
        assert!(!is_out_of_memory("index out of bounds: the len is 3 but the index is 7"));
        let advice = out_of_memory_advice(cubecl);
        assert!(
            advice.contains("3.00 GiB")
                && advice.contains("--micro-batch")
                && advice.contains("--gradient-checkpointing"),
            "{advice}"
        );
        assert!(!advice.contains("backtrace"), "{advice}");
    }
}

/// Draws the libraries' [`Progress`](skillsft_data::progress::Progress) as `indicatif` bars on
/// stderr, one task at a time, and prints their notes above the bar.
#[derive(Default)]
pub struct Bars {
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl Bars {
    /// Shared, as the option structs take it; `quiet` gives a receiver that draws nothing.
    pub fn shared(quiet: bool) -> skillsft_data::progress::SharedProgress {
        if quiet { skillsft_data::progress::silent() } else { Arc::new(Bars::default()) }
    }
}

impl skillsft_data::progress::Progress for Bars {
    fn start(&self, label: &str, unit: skillsft_data::progress::Unit, total: Option<u64>, done: u64) {
        use indicatif::{ProgressBar, ProgressStyle};
        use skillsft_data::progress::Unit;
        let template = match unit {
            Unit::Steps => "{prefix} [{bar:30}] {pos}/{len} steps  {elapsed_precise} ETA {eta}  {msg}",
            Unit::Episodes => "{prefix} [{bar:30}] {pos}/{len} episodes  {elapsed_precise} ETA {eta}  {msg}",
            Unit::Bytes => "{prefix:>28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        };
        let bar = total.map_or_else(ProgressBar::no_length, ProgressBar::new);
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        bar.set_position(done);
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64, status: &str) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(n);
            if !status.is_empty() {
                bar.set_message(status.to_string());
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }

    fn note(&self, line: &str) {
        match self.bar.lock().ok().as_deref().and_then(Option::as_ref) {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}
