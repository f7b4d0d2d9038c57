//! Which implementation runs where a fused kernel and plain Burn ops both exist: attention,
//! the GDN rule's chunk solve and pass over chunks, and the CPU GDN rule kernel.
//!
//! One process-wide setting, so a benchmark can time both sides of the same build:
//! `--kernels auto|fused|plain` on the binaries, or `SKILLSFT_KERNELS` in the environment, or
//! [`set_kernel_choice`] from code. Both sides compute the same values (the kernel tests hold
//! them to 1e-4); they differ in speed and memory.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Qwen35Error, Result};

/// The kernel policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelChoice {
    /// Per backend, from what was measured (see [`KernelChoice::fused_attention`] and
    /// `docs/performance.md`).
    #[default]
    Auto,
    /// The fused kernels wherever one exists (CubeCL on GPUs, rayon on `flex`).
    Fused,
    /// Plain Burn ops only: attention as matmul + softmax (Burn's matmul, autotuned onto
    /// tensor cores on CUDA; stores the `t × t` scores), the GDN rule as the chunked reference.
    Plain,
}

impl FromStr for KernelChoice {
    type Err = Qwen35Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "fused" => Ok(Self::Fused),
            "plain" => Ok(Self::Plain),
            other => {
                Err(Qwen35Error::InvalidInput(format!("unknown kernel choice {other:?}: use auto, fused or plain")))
            }
        }
    }
}

impl fmt::Display for KernelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Fused => "fused",
            Self::Plain => "plain",
        })
    }
}

// 0 = not yet read from the environment; else 1 + the variant's index.
static CHOICE: AtomicU8 = AtomicU8::new(0);

/// Sets the policy for the whole process (takes effect at the next forward pass).
pub fn set_kernel_choice(choice: KernelChoice) {
    CHOICE.store(1 + choice as u8, Ordering::Relaxed);
}

/// The policy in force: what [`set_kernel_choice`] set, else `SKILLSFT_KERNELS`, else `auto`.
/// An unreadable `SKILLSFT_KERNELS` is reported once and read as `auto`.
pub fn kernel_choice() -> KernelChoice {
    match CHOICE.load(Ordering::Relaxed) {
        1 => KernelChoice::Auto,
        2 => KernelChoice::Fused,
        3 => KernelChoice::Plain,
        _ => {
            let choice = match std::env::var("SKILLSFT_KERNELS") {
                Ok(v) => v.parse().unwrap_or_else(|e| {
                    tracing::warn!("SKILLSFT_KERNELS: {e}; using auto");
                    KernelChoice::Auto
                }),
                Err(_) => KernelChoice::Auto,
            };
            set_kernel_choice(choice);
            choice
        }
    }
}

/// The backend family a device runs on, for the `auto` policy.
fn is_cpu(device: &burn::tensor::Device) -> bool {
    crate::kernels::has_cpu_kernels(device)
}

impl KernelChoice {
    /// Whether attention layers (without a decode cache) run the fused kernel.
    ///
    /// `auto`: fused on the CPU, where it stores nothing `t × t` and runs its blocks as GEMMs
    /// (forward + backward at the 0.8B shape, 512 tokens: 0.03 s, against 0.11 s for Burn's
    /// plain ops, whose memory also grows with `t²` per head); plain on
    /// GPUs, where the fused CubeCL kernel is scalar code and Burn's autotuned matmul can use
    /// tensor cores (not yet measured on a GPU: `bench attention --form fused|plain` decides).
    pub fn fused_attention(self, device: &burn::tensor::Device) -> bool {
        match self {
            Self::Auto => is_cpu(device),
            Self::Fused => true,
            Self::Plain => false,
        }
    }

    /// Whether the GDN layers run the CPU rule kernel (only on `flex`, without a decode cache:
    /// token by token for small states, chunks of GEMMs from 48 × 48). `auto` and `fused`: yes
    /// on the CPU, where the plain-op chunked form launches several small ops per chunk (at the
    /// 0.8B shape, 1 × 512, forward + backward: 0.163 s plain-op chunked, 0.035 s the kernel).
    pub fn cpu_rule_kernel(self, device: &burn::tensor::Device) -> bool {
        self != Self::Plain && is_cpu(device)
    }

    /// Whether SiLU (the MLPs, the GDN convolution's output and gate) runs the CPU kernel (one
    /// pass each way with a vectorised `e^x`) instead of Burn's `x * sigmoid(x)`. `auto` and
    /// `fused`: yes on the CPU.
    pub fn cpu_silu(self, device: &burn::tensor::Device) -> bool {
        self != Self::Plain && is_cpu(device)
    }

    /// Whether the chunked GDN rule uses its fused chunk solve and pass over chunks (else the
    /// plain-op reference: a log-depth blocked solve and a loop of small ops per chunk).
    /// `auto`: fused; the plain loop launches several ops per 64-token chunk and layer.
    pub fn fused_chunk(self) -> bool {
        self != Self::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for c in [KernelChoice::Auto, KernelChoice::Fused, KernelChoice::Plain] {
            assert_eq!(c.to_string().parse::<KernelChoice>().unwrap(), c);
        }
        assert!("fast".parse::<KernelChoice>().unwrap_err().to_string().contains("auto, fused or plain"));
    }

    #[test]
    fn plain_turns_every_kernel_off() {
        let cpu = burn::tensor::Device::flex();
        assert!(!KernelChoice::Plain.fused_attention(&cpu));
        assert!(!KernelChoice::Plain.cpu_rule_kernel(&cpu));
        assert!(!KernelChoice::Plain.fused_chunk());
        assert!(!KernelChoice::Plain.cpu_silu(&cpu) && KernelChoice::Auto.cpu_silu(&cpu));
        assert!(KernelChoice::Fused.fused_attention(&cpu) && KernelChoice::Fused.cpu_rule_kernel(&cpu));
        assert!(KernelChoice::Auto.fused_attention(&cpu), "auto keeps the fused attention on the CPU");
    }
}
