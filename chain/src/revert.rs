//! Telling a revert (the chain's answer) from a failure to get an answer, and decoding a revert into the
//! contract's custom error — one decoder, generic over any `sol!` error enum.

use std::fmt;

use alloy::{primitives::Bytes, sol_types::SolInterface};

/// A decoded revert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revert {
    /// The custom error (`Name { field: value }`) when the interface knows it, else the node's message.
    pub reason: String,
    /// Raw revert data, when the node returned any.
    pub data: Option<Bytes>,
}

impl Revert {
    /// Whether the revert is the custom error `T`.
    pub fn is<T: alloy::sol_types::SolError>(&self) -> bool {
        self.data.as_ref().is_some_and(|data| data.starts_with(&T::SELECTOR))
    }
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Splits a failed call into a revert (`Ok`) or a failure to reach an answer (`Err`, to be retried later).
///
/// A node answers a reverting `eth_call` / `eth_estimateGas` with an error response carrying revert data or a
/// message naming the revert; anything else (a timeout, a reset connection, "header not found", an overloaded
/// node) says nothing about the call and must not be read as "it reverts".
pub fn classify<E: SolInterface + fmt::Debug>(error: alloy::contract::Error) -> Result<Revert, alloy::contract::Error> {
    let data = error.as_revert_data();
    let (code, message) = match &error {
        alloy::contract::Error::TransportError(alloy::transports::RpcError::ErrorResp(payload)) => {
            (Some(payload.code), Some(payload.message.to_string()))
        }
        _ => (None, None),
    };
    // Revert data, the EIP-1474 "execution error" code 3, or the message every client uses for a bare revert.
    let reverted = data.is_some()
        || code == Some(3)
        || message.as_deref().is_some_and(|m| m.to_ascii_lowercase().starts_with("execution reverted"));
    if !reverted {
        return Err(error);
    }
    let reason = match error.as_decoded_interface_error::<E>() {
        Some(decoded) => format!("{decoded:?}"),
        None => message.unwrap_or_else(|| error.to_string()),
    };
    Ok(Revert { reason, data })
}

#[cfg(test)]
mod tests {
    use alloy::{
        rpc::json_rpc::ErrorPayload,
        sol_types::{SolError, SolInterface},
        transports::{RpcError, TransportErrorKind},
    };
    use neuro_protocol::bindings::Payments;

    use super::*;

    fn response(json: &str) -> alloy::contract::Error {
        let payload: ErrorPayload = serde_json::from_str(json).expect("payload");
        alloy::contract::Error::TransportError(RpcError::ErrorResp(payload))
    }

    #[test]
    fn custom_errors_are_decoded_by_name() {
        let data = Payments::PaymentsErrors::InvalidSignature(Payments::InvalidSignature {}).abi_encode();
        let json = format!(r#"{{"code":3,"message":"execution reverted","data":"0x{}"}}"#, hex::encode(&data));
        let revert = classify::<Payments::PaymentsErrors>(response(&json)).expect("a revert");
        assert!(revert.reason.contains("InvalidSignature"), "{revert}");
        assert_eq!(revert.data.as_ref().map(|d| &d[..]), Some(&data[..]));
        assert_eq!(Payments::InvalidSignature::SELECTOR, data[..4]);
        assert!(revert.is::<Payments::InvalidSignature>() && !revert.is::<Payments::NothingToRedeem>());
    }

    #[test]
    fn a_revert_without_data_is_still_a_revert() {
        let revert =
            classify::<Payments::PaymentsErrors>(response(r#"{"code":-32003,"message":"execution reverted"}"#))
                .expect("a revert");
        assert_eq!(revert.reason, "execution reverted");
    }

    #[test]
    fn transport_failures_and_other_node_errors_are_not_reverts() {
        let timeout = alloy::contract::Error::TransportError(TransportErrorKind::custom_str("operation timed out"));
        assert!(classify::<Payments::PaymentsErrors>(timeout).is_err());
        let behind = response(r#"{"code":-32000,"message":"header not found"}"#);
        assert!(classify::<Payments::PaymentsErrors>(behind).is_err());
        let odd = response(r#"{"code":-32000,"message":"request reverted by rate limiter"}"#);
        assert!(classify::<Payments::PaymentsErrors>(odd).is_err(), "only the standard revert message counts");
    }
}
