//! The one way Neuro's binaries read and write the chain.
//!
//! - [`provider`]: providers with connect and request timeouts, reads retried by alloy's retry layer,
//!   transaction submissions never retried by the transport.
//! - [`relayer`]: sending as a careful relayer does (pending nonces, fee caps, same-nonce bumps, receipt
//!   timeouts, resubmission of dropped transactions), behind one simulate-then-send.
//! - [`revert`]: a revert (an answer) told apart from a failure to get one, decoded by any `sol!` error enum.
//! - [`retry`]: exponential backoff with jitter for sequences the transport cannot retry alone.
//! - [`keys`]: signing keys from an encrypted keystore or the environment, never from argv.
//! - [`shutdown`]: SIGTERM and Ctrl-C as one cancellation token, for the daemons' graceful drain.
//!
//! Every error says whether it is transient ([`ChainError::is_transient`]): callers retry those later and never
//! take them as an answer.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod error;
pub mod keys;
pub mod provider;
pub mod relayer;
pub mod retry;
pub mod revert;
pub mod shutdown;

pub use error::ChainError;
pub use provider::{RpcConfig, connect, connect_signing};
pub use relayer::{RelayConfig, RelayError, Relayer, simulate};
pub use revert::Revert;
