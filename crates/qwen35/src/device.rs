//! Run-time choice of backend and dtype (`--device cpu|cuda[:N]|wgpu`, `--dtype f32|bf16`).
//!
//! Backends are cargo features; asking for one the binary was built without is an error that
//! says which feature to enable, not a panic. CUDA-specific code is confined to this file.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{DType, Device};

use crate::error::{Qwen35Error, Result};

/// Which backend to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// Burn's pure-Rust `flex` CPU backend (feature `flex`, the default).
    Cpu,
    /// An NVIDIA GPU through CubeCL's CUDA runtime (feature `cuda`).
    Cuda(usize),
    /// Any GPU through wgpu (Vulkan, Metal, DX12) (feature `wgpu`); `WGPU_CPU=1` or
    /// `wgpu-cpu` picks a software adapter such as Mesa's lavapipe.
    Wgpu {
        /// Use the CPU (software) adapter instead of the default GPU.
        software: bool,
    },
}

impl FromStr for DeviceChoice {
    type Err = Qwen35Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            "wgpu" => Ok(Self::Wgpu { software: std::env::var("WGPU_CPU").is_ok_and(|v| v == "1") }),
            "wgpu-cpu" => Ok(Self::Wgpu { software: true }),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(i)) => Ok(Self::Cuda(i)),
                _ => Err(Qwen35Error::InvalidInput(format!(
                    "unknown device {s:?}: use cpu, cuda, cuda:N, wgpu or wgpu-cpu"
                ))),
            },
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
            Self::Wgpu { software: false } => write!(f, "wgpu"),
            Self::Wgpu { software: true } => write!(f, "wgpu-cpu"),
        }
    }
}

impl DeviceChoice {
    /// The Burn device, or an error naming the cargo feature this binary lacks.
    pub fn device(self) -> Result<Device> {
        let missing = |feature: &str| {
            Err(Qwen35Error::InvalidInput(format!(
                "device {self} needs the `{feature}` cargo feature: rebuild with `--features {feature}`"
            )))
        };
        match self {
            #[cfg(feature = "flex")]
            Self::Cpu => Ok(Device::flex()),
            #[cfg(not(feature = "flex"))]
            Self::Cpu => missing("flex"),
            #[cfg(feature = "cuda")]
            Self::Cuda(i) => Ok(Device::cuda(i)),
            #[cfg(not(feature = "cuda"))]
            Self::Cuda(_) => missing("cuda"),
            #[cfg(feature = "wgpu")]
            Self::Wgpu { software } => {
                use burn::tensor::DeviceKind;
                Ok(Device::wgpu(if software { DeviceKind::Cpu } else { DeviceKind::DefaultDevice }))
            }
            #[cfg(not(feature = "wgpu"))]
            Self::Wgpu { .. } => missing("wgpu"),
        }
    }
}

/// Which dtype the weights and activations use (GDN internals are always f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtypeChoice {
    /// 32-bit float: the reference, used by the parity tests.
    F32,
    /// bfloat16 weights and activations (the checkpoints' own dtype).
    Bf16,
}

impl FromStr for DtypeChoice {
    type Err = Qwen35Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(Self::F32),
            "bf16" | "bfloat16" => Ok(Self::Bf16),
            other => Err(Qwen35Error::InvalidInput(format!("unknown dtype {other:?}: use f32 or bf16"))),
        }
    }
}

impl DtypeChoice {
    /// The Burn dtype.
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::Bf16 => DType::BF16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices_and_dtypes() {
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("cuda:1".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(1));
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert_eq!("bf16".parse::<DtypeChoice>().unwrap().dtype(), DType::BF16);
        assert!("f8".parse::<DtypeChoice>().is_err());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn missing_backend_feature_is_a_clear_error() {
        let e = DeviceChoice::Cuda(0).device().unwrap_err();
        assert!(e.to_string().contains("--features cuda"), "{e}");
    }
}
