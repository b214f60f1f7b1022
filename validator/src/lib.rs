//! The Neuro validator: probes nodes with paid requests like any user, re-executes each answer with the same
//! model file, disputes answers that fail on chain, and votes on other validators' disputes after
//! re-executing their evidence; publishes what its probes found per epoch and node (reputation). See `docs/verification.md`.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// Dependencies of the `neuro-validator` binary only.
use {anyhow as _, clap as _, tracing_subscriber as _};

pub mod calibrate;
pub mod compare;
pub mod corpus;
pub mod court;
pub mod daemon;
pub mod listing;
pub mod probe;
pub mod reexecute;
pub mod reputation;
