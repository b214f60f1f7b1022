//! The chain kit's errors. Each keeps its cause as a source, and says whether trying again later can help:
//! a transient error is never to be taken as an answer ("unknown" is not "closed", "unreachable" is not "unpaid").

use alloy::transports::TransportError;
use neuro_protocol::ManifestError;

use crate::{relayer::RelayError, revert::Revert};

/// Why a chain read or write failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC URL does not parse.
    #[error("invalid RPC URL '{url}'")]
    InvalidUrl {
        /// The text given.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// The HTTP client could not be built (TLS backend).
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] alloy::transports::http::reqwest::Error),
    /// The RPC request failed after its retries (unreachable, timed out, overloaded): try again later.
    #[error("RPC request failed")]
    Rpc(#[from] TransportError),
    /// A contract read failed without a revert (transport, or an undecodable answer).
    #[error("contract call failed")]
    Call(#[source] alloy::contract::Error),
    /// The call reverts: the chain's answer, final for the current state.
    #[error("{action} would revert: {revert}")]
    Reverted {
        /// What was attempted.
        action: &'static str,
        /// The decoded reason.
        revert: Revert,
    },
    /// Sending failed.
    #[error("{action}: transaction failed")]
    Relay {
        /// What was attempted.
        action: &'static str,
        /// Why.
        #[source]
        source: RelayError,
    },
    /// The manifest does not describe this chain.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

impl ChainError {
    /// Whether the same request may succeed later (the chain has not answered "no").
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Rpc(_) | Self::Call(_) => true,
            Self::Relay { source, .. } => source.is_transient(),
            Self::Manifest(ManifestError::Rpc(_)) => true,
            Self::InvalidUrl { .. } | Self::HttpClient(_) | Self::Reverted { .. } | Self::Manifest(_) => false,
        }
    }
}

impl From<alloy::contract::Error> for ChainError {
    fn from(e: alloy::contract::Error) -> Self {
        match e {
            alloy::contract::Error::TransportError(t) => Self::Rpc(t),
            other => Self::Call(other),
        }
    }
}
