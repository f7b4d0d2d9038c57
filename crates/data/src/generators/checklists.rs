//! Generators for the `checklists` domain.

use super::GenFn;

pub(crate) const KINDS: &[(&str, GenFn)] = &[];
