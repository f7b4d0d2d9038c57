//! Generators for the `units` domain.

use super::GenFn;

pub(crate) const KINDS: &[(&str, GenFn)] = &[];
