//! Generators for the `tables` domain.

use super::GenFn;

pub(crate) const KINDS: &[(&str, GenFn)] = &[];
