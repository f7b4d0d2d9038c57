//! Generators for the `strings` domain.

use super::GenFn;

pub(crate) const KINDS: &[(&str, GenFn)] = &[];
