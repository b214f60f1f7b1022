//! The Neuro keeper: finalizes every epoch once its submission window has closed and flushes the fee vault.
//!
//! The contracts make both calls permissionless and one-shot; the keeper makes them happen promptly, cheaply and
//! observably. At-least-once from the keeper, exactly-once on chain: "already finalized" and "nothing to flush"
//! count as success, so several keepers may run at once.

pub mod keeper;
pub mod metrics;
pub mod relayer;
pub mod server;
