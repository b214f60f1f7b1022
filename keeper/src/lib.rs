//! The Neuro keeper: finalizes every epoch once its submission window has closed and flushes the fee vault.
//!
//! The contracts make both calls permissionless and one-shot; the keeper makes them happen promptly, cheaply and
//! observably. At-least-once from the keeper, exactly-once on chain: "already finalized" and "nothing to flush"
//! count as success, so several keepers may run at once. Sending goes through `neuro-chain`'s relayer.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// Dependencies of the `neuro-keeper` binary only.
use {anyhow as _, clap as _, tracing_subscriber as _};

pub mod daemon;
pub mod keeper;
pub mod metrics;
pub mod server;
