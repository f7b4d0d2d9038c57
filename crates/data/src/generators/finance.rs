//! Generators for the `finance` domain.

use super::GenFn;

pub(crate) const KINDS: &[(&str, GenFn)] = &[];
