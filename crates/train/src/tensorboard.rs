//! Scalars in TensorBoard's event-file format, so `tensorboard --logdir RUN/tensorboard` shows
//! the loss curve while a run trains.
//!
//! The format is small: a file of records, each `u64 length (LE) · masked CRC-32C of the
//! length · data · masked CRC-32C of the data`; the data is a protobuf `Event` (`wall_time` = 1,
//! `step` = 2, `file_version` = 3, `summary` = 5), whose `Summary` holds `Value`s (`tag` = 1,
//! `simple_value` = 2). The first record names the version (`brain.Event:2`). Each writer opens
//! a new file, as TensorBoard's own writers do, so a resumed run adds a file beside the first.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Result, io};

/// Appends scalar events to one `events.out.tfevents.*` file.
pub struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// Creates `dir` and a new event file in it, and writes the version record.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "skillsft".into());
        // Never reuse a name: a resumed run started within the same second (a test, a quick
        // Ctrl-C) must not overwrite the first file.
        let mut n = 0;
        let (path, file) = loop {
            let suffix = if n == 0 { String::new() } else { format!(".{n}") };
            let path = dir.join(format!("events.out.tfevents.{}.{host}.{}{suffix}", now.as_secs(), std::process::id()));
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(io(&path)(e)),
            }
        };
        let mut w = EventWriter { path, file: BufWriter::new(file) };
        let mut event = Vec::new();
        put_f64(&mut event, 1, wall_time());
        put_bytes(&mut event, 3, b"brain.Event:2");
        w.record(&event)?;
        w.flush()?;
        Ok(w)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One event at `step` holding the scalars `(tag, value)`.
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> Result<()> {
        let mut summary = Vec::new();
        for (tag, value) in values {
            let mut v = Vec::new();
            put_bytes(&mut v, 1, tag.as_bytes());
            put_key(&mut v, 2, 5); // fixed32
            v.extend_from_slice(&(*value as f32).to_le_bytes());
            put_bytes(&mut summary, 1, &v);
        }
        let mut event = Vec::new();
        put_f64(&mut event, 1, wall_time());
        put_key(&mut event, 2, 0);
        put_varint(&mut event, step);
        put_bytes(&mut event, 5, &summary);
        self.record(&event)
    }

    /// Pushes what is buffered to the file (TensorBoard reads files as they grow).
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(io(&self.path))
    }

    fn record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut out = Vec::with_capacity(data.len() + 16);
        out.extend_from_slice(&len);
        out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
        self.file.write_all(&out).map_err(io(&self.path))
    }
}

fn wall_time() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire: u64) {
    put_varint(out, (field << 3) | wire);
}

fn put_f64(out: &mut Vec<u8>, field: u64, x: f64) {
    put_key(out, field, 1);
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// CRC-32C (Castagnoli), bitwise; records are a few hundred bytes per step.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

/// TensorFlow's masking of a record CRC.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xA282_EAD8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The CRC-32C check value (RFC 3720 appendix B.4 uses the same polynomial).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }
}
