//! Shared test helpers: the device under test and fixture paths.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use qwen35::DeviceChoice;

/// The device the tests run on: `flex` by default; `QWEN35_TEST_DEVICE=wgpu-cpu` (with
/// `--features wgpu`) runs the same tests through CubeCL on a software Vulkan driver.
pub fn device() -> Device {
    match std::env::var("QWEN35_TEST_DEVICE") {
        Ok(name) => name.parse::<DeviceChoice>().and_then(|d| d.device()).expect("QWEN35_TEST_DEVICE"),
        Err(_) => Device::flex(),
    }
}

/// Whether the device under test computes in bf16 (wgpu has no bf16 arithmetic).
pub fn supports_bf16() -> bool {
    std::env::var("QWEN35_TEST_DEVICE").is_err()
}

/// A fixture directory under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}
