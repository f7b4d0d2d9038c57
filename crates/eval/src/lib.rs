//! # skillsft-eval
//!
//! Scoring the study: pass rates, procedural Δ = pass(curated) − pass(baseline), SFT lift =
//! Δpost − Δpre, and agreement between judges, each with the statistics the paper reports.
//! So far this crate holds the statistics ([`stats`]); episodes, reports and plots follow.
//!
//! ```
//! use skillsft_eval::stats;
//!
//! let (lo, hi) = stats::wilson(83, 100);
//! assert!(lo < 0.83 && 0.83 < hi);
//! assert_eq!(stats::mcnemar_exact(0, 0), 1.0);
//! ```

#![deny(missing_docs)]

pub mod report;
pub mod stats;
