//! Generators for the `dates` domain.

use super::GenFn;

pub(crate) const KINDS: &[(&str, GenFn)] = &[];
