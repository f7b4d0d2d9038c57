//! Run-time choice of backend and dtype (`--device auto|cpu|cuda[:N]|wgpu`, `--dtype f32|bf16`).
//!
//! Backends are cargo features; asking for one the binary was built without is an error that
//! says which feature to enable, not a panic. A CUDA device is checked with the driver before
//! Burn sees it: CubeCL's CUDA runtime panics (on another thread, so the caller sees a
//! `RecvError`) when `libcuda` is missing or the device does not exist. CUDA-specific code is
//! confined to this file.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{DType, Device};

use crate::error::{Qwen35Error, Result};

/// Which backend to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The first CUDA GPU when this binary has CUDA and the driver sees one, else the CPU.
    Auto,
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
            "auto" => Ok(Self::Auto),
            "cpu" | "flex" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            "wgpu" => Ok(Self::Wgpu { software: std::env::var("WGPU_CPU").is_ok_and(|v| v == "1") }),
            "wgpu-cpu" => Ok(Self::Wgpu { software: true }),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(i)) => Ok(Self::Cuda(i)),
                _ => Err(Qwen35Error::InvalidInput(format!(
                    "unknown device {s:?}: use auto, cpu, cuda, cuda:N, wgpu or wgpu-cpu"
                ))),
            },
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => write!(f, "auto"),
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
            Self::Wgpu { software: false } => write!(f, "wgpu"),
            Self::Wgpu { software: true } => write!(f, "wgpu-cpu"),
        }
    }
}

/// A device choice with `auto` decided and the device checked, and a line saying what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDevice {
    /// Never [`DeviceChoice::Auto`].
    pub choice: DeviceChoice,
    /// One line for the user: the device, and why `auto` picked it.
    pub description: String,
}

impl DeviceChoice {
    /// Decides `auto` and checks that the device exists, without creating it: a CUDA device is
    /// looked up with the driver (clean errors for no driver, no visible device, an index past
    /// the last device, a driver older than the CUDA API this binary was built for).
    pub fn resolve(self) -> Result<ResolvedDevice> {
        match self {
            Self::Auto => Ok(match cuda::devices() {
                Ok(devs) if !devs.is_empty() => ResolvedDevice {
                    choice: Self::Cuda(0),
                    description: format!("cuda:0, {} (--device auto: the first CUDA GPU)", devs[0]),
                },
                Ok(_) => ResolvedDevice {
                    choice: Self::Cpu,
                    description: "cpu (--device auto: the CUDA driver lists no GPU)".into(),
                },
                Err(why) => ResolvedDevice {
                    choice: Self::Cpu,
                    description: format!("cpu (--device auto: no CUDA GPU: {})", why.short()),
                },
            }),
            Self::Cuda(i) => {
                // Without the `cuda` feature this is `CudaUnavailable::NotBuilt`.
                let devs = cuda::devices().map_err(|why| Qwen35Error::DeviceUnavailable(why.long(self)))?;
                match devs.get(i) {
                    Some(d) => Ok(ResolvedDevice { choice: self, description: format!("cuda:{i}, {d}") }),
                    None => Err(Qwen35Error::DeviceUnavailable(past_last_device(i, &devs))),
                }
            }
            Self::Cpu => Ok(ResolvedDevice { choice: self, description: "cpu (Burn flex backend)".into() }),
            Self::Wgpu { .. } => {
                Ok(ResolvedDevice { choice: self, description: format!("{self} (Burn wgpu backend)") })
            }
        }
    }

    /// Whether the resolved device is a GPU that computes bf16 (CUDA, or wgpu on a real GPU):
    /// the default dtype there is bf16, elsewhere f32. `auto` is resolved first.
    pub fn prefers_bf16(self) -> Result<bool> {
        Ok(match self {
            Self::Auto => self.resolve()?.choice.prefers_bf16()?,
            Self::Cpu | Self::Wgpu { software: true } => false,
            Self::Cuda(_) | Self::Wgpu { software: false } => true,
        })
    }

    /// The Burn device (resolving `auto` and checking a CUDA device first), or an error that
    /// says what is missing: a cargo feature, a driver, a GPU.
    pub fn device(self) -> Result<Device> {
        let choice = self.resolve()?.choice;
        match choice {
            Self::Auto => unreachable!("resolve() decides auto"),
            #[cfg(feature = "flex")]
            Self::Cpu => Ok(Device::flex()),
            #[cfg(not(feature = "flex"))]
            Self::Cpu => Err(missing_feature(choice, "flex")),
            #[cfg(feature = "cuda")]
            Self::Cuda(i) => Ok(Device::cuda(i)),
            #[cfg(not(feature = "cuda"))]
            Self::Cuda(_) => Err(missing_feature(choice, "cuda")),
            #[cfg(feature = "wgpu")]
            Self::Wgpu { software } => {
                use burn::tensor::DeviceKind;
                Ok(Device::wgpu(if software { DeviceKind::Cpu } else { DeviceKind::DefaultDevice }))
            }
            #[cfg(not(feature = "wgpu"))]
            Self::Wgpu { .. } => Err(missing_feature(choice, "wgpu")),
        }
    }
}

fn missing_feature(choice: DeviceChoice, feature: &str) -> Qwen35Error {
    let hint = if feature == "cuda" {
        " (see the README's GPU section; without internet at build time run tools/cuda/install-llvm.sh first)"
    } else {
        ""
    };
    Qwen35Error::DeviceUnavailable(format!(
        "device {choice} needs the `{feature}` cargo feature, and this binary was built without it: \
         rebuild with `cargo build --release --features {feature}`{hint}, or use --device cpu"
    ))
}

fn past_last_device(i: usize, devs: &[cuda::CudaDeviceInfo]) -> String {
    let list: Vec<String> = devs.iter().enumerate().map(|(k, d)| format!("cuda:{k} {d}")).collect();
    format!(
        "device cuda:{i} does not exist: the CUDA driver lists {} GPU(s){}{} (CUDA_VISIBLE_DEVICES \
         renumbers them from 0)",
        devs.len(),
        if list.is_empty() { "" } else { ": " },
        list.join("; ")
    )
}

/// The CUDA driver, asked directly (cudarc), before CubeCL is given the device.
pub mod cuda {
    use std::fmt;

    /// One CUDA GPU as the driver describes it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct CudaDeviceInfo {
        /// The driver's name for it, e.g. `NVIDIA H100 80GB HBM3`.
        pub name: String,
        /// Total device memory in bytes.
        pub total_memory: u64,
        /// Compute capability, e.g. `(9, 0)` for Hopper.
        pub compute_capability: (i32, i32),
    }

    impl fmt::Display for CudaDeviceInfo {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let (major, minor) = self.compute_capability;
            write!(f, "{} ({:.1} GiB, sm_{major}{minor})", self.name, self.total_memory as f64 / (1u64 << 30) as f64)
        }
    }

    /// Why no CUDA GPU can be used.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum CudaUnavailable {
        /// The binary was built without the `cuda` feature.
        NotBuilt,
        /// `libcuda.so.1` (the NVIDIA driver's library) could not be loaded.
        NoDriver,
        /// The driver is older than the CUDA driver API this binary was built against.
        DriverTooOld {
            /// The driver's CUDA version, e.g. 12040.
            driver: i32,
            /// The version the binary needs, e.g. 12080.
            built_for: u32,
        },
        /// The driver loaded but `cuInit` failed, e.g. `CUDA_ERROR_NO_DEVICE`.
        InitFailed(String),
    }

    impl CudaUnavailable {
        /// A few words, for the `--device auto` note.
        pub fn short(&self) -> String {
            match self {
                Self::NotBuilt => "this binary was built without the `cuda` feature".into(),
                Self::NoDriver => "no NVIDIA driver (libcuda.so.1 not found)".into(),
                Self::DriverTooOld { driver, built_for } => {
                    format!(
                        "driver supports CUDA {}, binary built for {}",
                        version(*driver as u32),
                        version(*built_for)
                    )
                }
                Self::InitFailed(e) => format!("the CUDA driver found no usable GPU ({e})"),
            }
        }

        /// The whole error for an explicit `--device cuda[:N]`: what is wrong and what to try.
        pub fn long(&self, asked: super::DeviceChoice) -> String {
            let cpu = "or run on the CPU with --device cpu (or --device auto)";
            match self {
                Self::NotBuilt => super::missing_feature(asked, "cuda").to_string(),
                Self::NoDriver => format!(
                    "device {asked}: no NVIDIA driver found (could not load libcuda.so.1). Install the \
                     NVIDIA driver, or if it is installed put the folder holding libcuda.so.1 on \
                     LD_LIBRARY_PATH (in containers: run with --gpus all / the NVIDIA container toolkit); {cpu}"
                ),
                Self::DriverTooOld { driver, built_for } => format!(
                    "device {asked}: the NVIDIA driver supports CUDA {} but this binary was built for the \
                     CUDA {} driver API. Update the driver, or rebuild pinned to your driver: \
                     `CUDARC_CUDA_VERSION={driver} cargo build --release --features cuda`; {cpu}",
                    version(*driver as u32),
                    version(*built_for)
                ),
                Self::InitFailed(e) => format!(
                    "device {asked}: the NVIDIA driver is installed but CUDA found no usable GPU ({e}). \
                     Check `nvidia-smi` and CUDA_VISIBLE_DEVICES (empty or wrong ids hide every GPU); {cpu}"
                ),
            }
        }
    }

    fn version(v: u32) -> String {
        format!("{}.{}", v / 1000, (v % 1000) / 10)
    }

    /// The CUDA GPUs the driver lists, in `cuda:N` order, or why there are none.
    #[cfg(feature = "cuda")]
    pub fn devices() -> Result<Vec<CudaDeviceInfo>, CudaUnavailable> {
        use cudarc::driver::{result, sys};
        // SAFETY: only tries to dlopen libcuda under its usual names.
        if !unsafe { sys::is_culib_present() } {
            return Err(CudaUnavailable::NoDriver);
        }
        let mut driver = 0;
        // SAFETY: cuDriverGetVersion writes one int and needs no cuInit; it exists in every driver.
        unsafe { sys::cuDriverGetVersion(&mut driver) }
            .result()
            .map_err(|e| CudaUnavailable::InitFailed(format!("cuDriverGetVersion: {e:?}")))?;
        if (driver as u32) < sys::CUDA_VERSION {
            return Err(CudaUnavailable::DriverTooOld { driver, built_for: sys::CUDA_VERSION });
        }
        result::init().map_err(|e| CudaUnavailable::InitFailed(format!("{e:?}")))?;
        let count = result::device::get_count().map_err(|e| CudaUnavailable::InitFailed(format!("{e:?}")))?;
        let attr = |dev, a| {
            // SAFETY: `dev` comes from cuDeviceGet.
            unsafe { result::device::get_attribute(dev, a) }.unwrap_or(0)
        };
        (0..count)
            .map(|i| {
                let dev = result::device::get(i).map_err(|e| CudaUnavailable::InitFailed(format!("{e:?}")))?;
                use sys::CUdevice_attribute::*;
                Ok(CudaDeviceInfo {
                    name: result::device::get_name(dev).unwrap_or_else(|_| "unknown CUDA device".into()),
                    // SAFETY: `dev` comes from cuDeviceGet.
                    total_memory: unsafe { result::device::total_mem(dev) }.unwrap_or(0) as u64,
                    compute_capability: (
                        attr(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                        attr(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                    ),
                })
            })
            .collect()
    }

    /// Without the `cuda` feature there are no CUDA devices.
    #[cfg(not(feature = "cuda"))]
    pub fn devices() -> Result<Vec<CudaDeviceInfo>, CudaUnavailable> {
        Err(CudaUnavailable::NotBuilt)
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

impl fmt::Display for DtypeChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
        })
    }
}

/// Config files hold the choices as the strings the flags take (`"cuda:1"`, `"bf16"`), parsed
/// where they are read, so a bad value fails there with the flag's message.
macro_rules! serde_as_str {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_as_str!(DeviceChoice);
serde_as_str!(DtypeChoice);

/// `dtype` as configs have always written it: `""` for "pick per device", else the name.
pub mod dtype_or_auto {
    use super::DtypeChoice;
    use serde::{Deserialize, Deserializer, Serializer};

    /// `None` as `""`.
    pub fn serialize<S: Serializer>(d: &Option<DtypeChoice>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.collect_str(d),
            None => s.serialize_str(""),
        }
    }

    /// `""` as `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DtypeChoice>, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() { Ok(None) } else { s.parse().map(Some).map_err(serde::de::Error::custom) }
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
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert_eq!("bf16".parse::<DtypeChoice>().unwrap().dtype(), DType::BF16);
        assert!("f8".parse::<DtypeChoice>().is_err());
    }

    #[test]
    fn missing_backend_feature_is_a_clear_error() {
        let e = missing_feature(DeviceChoice::Cuda(0), "cuda").to_string();
        assert!(e.contains("--features cuda") && e.contains("install-llvm.sh"), "{e}");
        #[cfg(not(feature = "cuda"))]
        {
            let e = DeviceChoice::Cuda(0).device().unwrap_err().to_string();
            assert!(e.contains("--features cuda"), "{e}");
        }
    }

    #[test]
    fn auto_is_the_cpu_without_a_cuda_gpu() {
        // On a machine with no CUDA GPU (CI) or a build without the feature, auto is the CPU and
        // says why; with a GPU it is cuda:0. Either way it names what it picked.
        let r = DeviceChoice::Auto.resolve().unwrap();
        match cuda::devices() {
            Ok(d) if !d.is_empty() => assert_eq!(r.choice, DeviceChoice::Cuda(0)),
            _ => {
                assert_eq!(r.choice, DeviceChoice::Cpu);
                assert!(r.description.contains("no CUDA GPU") || r.description.contains("no GPU"), "{}", r.description);
            }
        }
        assert!(r.description.contains("--device auto"), "{}", r.description);
    }

    #[test]
    fn cuda_errors_say_what_to_do() {
        let no_driver = cuda::CudaUnavailable::NoDriver.long(DeviceChoice::Cuda(0));
        assert!(no_driver.contains("libcuda.so.1") && no_driver.contains("--device cpu"), "{no_driver}");
        let old = cuda::CudaUnavailable::DriverTooOld { driver: 12040, built_for: 13040 }.long(DeviceChoice::Cuda(0));
        assert!(
            old.contains("CUDA 12.4") && old.contains("CUDA 13.4") && old.contains("CUDARC_CUDA_VERSION=12040"),
            "{old}"
        );
        let gpus = vec![cuda::CudaDeviceInfo {
            name: "NVIDIA H100".into(),
            total_memory: 80 << 30,
            compute_capability: (9, 0),
        }];
        let past = past_last_device(3, &gpus);
        assert!(
            past.contains("cuda:3 does not exist") && past.contains("1 GPU(s): cuda:0 NVIDIA H100 (80.0 GiB, sm_90)"),
            "{past}"
        );
    }
}
