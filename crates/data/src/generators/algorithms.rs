//! Generators for the `algorithms` domain.

use super::GenFn;

pub(crate) const KINDS: &[(&str, GenFn)] = &[];
