//! Providers: every RPC request has a connect and a total timeout, and reads are retried by alloy's
//! [`RetryBackoffLayer`] — never a transaction submission, which is routed around the retry layer (a resent raw
//! transaction whose first copy did arrive would only confuse the relayer, which owns resubmission).
//!
//! Abuse considered: a hostile or broken RPC endpoint that accepts a connection and never answers (half-open)
//! used to hang the miner, keeper and indexer forever while their health checks said 200; now the request fails
//! after [`RpcConfig::request_timeout`] and the caller treats it as "unknown", not as an answer.

use std::{
    task::{Context, Poll},
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::{
        client::ClientBuilder,
        json_rpc::{RequestPacket, ResponsePacket},
    },
    signers::local::PrivateKeySigner,
    transports::{
        RpcError, TransportError, TransportErrorKind, TransportFut,
        http::reqwest,
        layers::{RateLimitRetryPolicy, RetryBackoffLayer, RetryBackoffService, RetryPolicy},
    },
};
use tower::{Layer, Service};

use crate::ChainError;

/// JSON-RPC methods that submit a transaction: never retried by the transport.
const SUBMISSIONS: [&str; 2] = ["eth_sendRawTransaction", "eth_sendTransaction"];

/// Longest pause a server's `Retry-After` (or backoff hint) may impose before a retry.
const MAX_SERVER_BACKOFF: Duration = Duration::from_secs(5);

/// Timeouts and read retries of an RPC connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcConfig {
    /// Time to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    /// Retries of a failed read after the first attempt (transport errors, timeouts, rate limits, 5xx).
    pub read_retries: u32,
    /// Pause before each retry, in milliseconds (a server's `Retry-After` hint takes precedence).
    pub retry_backoff_ms: u64,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            read_retries: 4,
            retry_backoff_ms: 250,
        }
    }
}

/// Whether a failed request may be sent again: the default policy (rate limits, 503, null responses) plus
/// transport failures — refused or reset connections and timeouts — where the request may not have arrived.
#[derive(Debug, Clone, Copy, Default)]
pub struct TransientPolicy;

impl RetryPolicy for TransientPolicy {
    fn should_retry(&self, error: &TransportError) -> bool {
        if RateLimitRetryPolicy::default().should_retry(error) {
            return true;
        }
        match error {
            RpcError::Transport(TransportErrorKind::HttpError(http)) => http.status >= 500,
            RpcError::Transport(TransportErrorKind::Custom(_) | TransportErrorKind::BackendGone) => true,
            _ => false,
        }
    }

    fn backoff_hint(&self, error: &TransportError) -> Option<Duration> {
        // A server's hint is honoured up to 5 s: a hostile endpoint must not park a daemon for minutes per read.
        RateLimitRetryPolicy::default().backoff_hint(error).map(|hint| hint.min(MAX_SERVER_BACKOFF))
    }
}

/// Retries reads through [`RetryBackoffLayer`] and passes submissions straight to the transport.
#[derive(Debug, Clone)]
pub struct ReadRetryLayer {
    retry: RetryBackoffLayer<TransientPolicy>,
}

impl ReadRetryLayer {
    /// A layer retrying reads `retries` times, `backoff_ms` apart.
    pub fn new(retries: u32, backoff_ms: u64) -> Self {
        // The compute-unit budget is for rate-limited hosted endpoints; ours is unmetered by default.
        Self { retry: RetryBackoffLayer::new_with_policy(retries, backoff_ms, u64::MAX, TransientPolicy) }
    }
}

impl<S: Clone> Layer<S> for ReadRetryLayer {
    type Service = ReadRetryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReadRetryService { retrying: self.retry.layer(inner.clone()), direct: inner }
    }
}

/// The service of [`ReadRetryLayer`].
#[derive(Debug, Clone)]
pub struct ReadRetryService<S> {
    retrying: RetryBackoffService<S, TransientPolicy>,
    direct: S,
}

impl<S> Service<RequestPacket> for ReadRetryService<S>
where
    S: Service<RequestPacket, Future = TransportFut<'static>, Error = TransportError> + Send + Clone + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.direct.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        if request.method_names().any(|method| SUBMISSIONS.contains(&method)) {
            self.direct.call(request)
        } else {
            self.retrying.call(request)
        }
    }
}

fn client(url: &str, config: RpcConfig) -> Result<alloy::rpc::client::RpcClient, ChainError> {
    let url: reqwest::Url = url.parse().map_err(|source| ChainError::InvalidUrl { url: url.to_string(), source })?;
    let http = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .build()
        .map_err(ChainError::HttpClient)?;
    Ok(ClientBuilder::default()
        .layer(ReadRetryLayer::new(config.read_retries, config.retry_backoff_ms))
        .http_with_client(http, url))
}

/// A read-only provider for `url`.
pub fn connect(url: &str, config: RpcConfig) -> Result<DynProvider, ChainError> {
    Ok(ProviderBuilder::new().connect_client(client(url, config)?).erased())
}

/// A provider for `url` that signs with `signer` (send through [`crate::Relayer`], which sets nonce and fees).
///
/// Nonces it fills itself come from the pending state on every send, never from a cache: the relayer sets its
/// own, and a cached counter would fall behind them ("nonce too low").
pub fn connect_signing(url: &str, config: RpcConfig, signer: PrivateKeySigner) -> Result<DynProvider, ChainError> {
    Ok(ProviderBuilder::default()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_client(client(url, config)?)
        .erased())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_and_overload_are_retried_but_answers_are_not() {
        let policy = TransientPolicy;
        assert!(policy.should_retry(&TransportErrorKind::custom_str("connection reset")));
        assert!(policy.should_retry(&TransportErrorKind::http_error(503, String::new())));
        assert!(policy.should_retry(&TransportErrorKind::http_error(429, String::new())));
        assert!(!policy.should_retry(&TransportErrorKind::http_error(400, String::new())));
        let revert: alloy::rpc::json_rpc::ErrorPayload =
            serde_json::from_str(r#"{"code":3,"message":"execution reverted","data":"0x"}"#).expect("payload");
        assert!(!policy.should_retry(&RpcError::ErrorResp(revert)), "a revert is an answer");
    }

    #[test]
    fn an_invalid_url_is_a_clear_error() {
        let err = connect("not a url", RpcConfig::default()).expect_err("invalid");
        assert!(err.to_string().contains("not a url"), "{err}");
    }
}
