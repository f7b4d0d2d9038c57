//! Generators for the `science` domain.

use super::GenFn;

pub(crate) const KINDS: &[(&str, GenFn)] = &[];
