//! The chain as the indexer reads it: headers and logs, with retries, backoff and adaptive `eth_getLogs` ranges.

use std::time::Duration;

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log, TransactionRequest},
    sol_types::SolCall,
    transports::{RpcError, TransportErrorKind},
};

use neuro_protocol::bindings::NeuroGovernor;

use crate::store::BlockRow;

/// Why a chain read failed after its retries.
#[derive(Debug, thiserror::Error)]
pub enum RpcFailure {
    /// The endpoint failed every attempt.
    #[error("RPC {method} failed after {attempts} attempts")]
    Exhausted {
        /// Method.
        method: &'static str,
        /// Attempts made.
        attempts: u32,
        /// Last error.
        #[source]
        source: RpcError<TransportErrorKind>,
    },
    /// The node does not have a block the indexer needs (it is behind or pruned).
    #[error("the node has no block {0}")]
    MissingBlock(u64),
    /// A view call returned bytes that do not decode as its return type.
    #[error("{0} returned undecodable data")]
    Undecodable(&'static str),
}

/// Logs of a block range, and whether the range had to be split to fetch them.
#[derive(Debug)]
pub struct RangeLogs {
    /// Logs in chain order.
    pub logs: Vec<Log>,
    /// The node refused the range as too large at least once.
    pub split: bool,
}

/// Read access to the chain.
#[derive(Debug, Clone)]
pub struct Chain {
    provider: DynProvider,
    addresses: Vec<Address>,
    attempts: u32,
    base_backoff: Duration,
}

/// Whether `message` is a provider's rate limit (HTTP 429, Infura's and Alchemy's texts). Checked before
/// [`is_range_error`]: some providers use the same code (-32005) for both, and splitting a range because of a
/// rate limit only sends more requests.
pub fn is_rate_limit(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "error 429",
        "status 429",
        "rate limit",
        "rate-limit",
        "ratelimit",
        "too many requests",
        "request rate",
        "compute units",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// Whether `message` is a node's refusal of a too-large `eth_getLogs` range (geth, erigon, alchemy, infura, anvil).
pub fn is_range_error(message: &str) -> bool {
    if is_rate_limit(message) {
        return false;
    }
    let m = message.to_ascii_lowercase();
    [
        "too many",
        "returned more than",
        "limit exceeded",
        "exceeds",
        "response size",
        "range is too large",
        "block range",
        "-32005",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// Whether `error` is the client giving up on a slow answer.
fn is_timeout(error: &RpcError<TransportErrorKind>) -> bool {
    let text = error.to_string().to_ascii_lowercase();
    text.contains("timed out") || text.contains("timeout")
}

impl Chain {
    /// Reads the logs of `addresses` through `provider`, retrying each call `attempts` times.
    pub fn new(provider: DynProvider, addresses: Vec<Address>, attempts: u32, base_backoff: Duration) -> Self {
        Self { provider, addresses, attempts: attempts.max(1), base_backoff }
    }

    /// The provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    async fn retry<T, F, Fut>(&self, method: &'static str, call: F) -> Result<T, RpcFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        neuro_chain::retry::with_retries(self.attempts, self.base_backoff, call)
            .await
            .map_err(|source| RpcFailure::Exhausted { method, attempts: self.attempts, source })
    }

    /// The latest block number.
    pub async fn head(&self) -> Result<u64, RpcFailure> {
        self.retry("eth_blockNumber", || self.provider.get_block_number()).await
    }

    /// The node's finalized block number, when it reports one.
    pub async fn finalized(&self) -> Option<u64> {
        let block = self.provider.get_block_by_number(BlockNumberOrTag::Finalized).await.ok()??;
        Some(block.header.number)
    }

    /// Header of block `number`.
    pub async fn header(&self, number: u64) -> Result<BlockRow, RpcFailure> {
        let block = self
            .retry("eth_getBlockByNumber", || async {
                self.provider.get_block_by_number(BlockNumberOrTag::Number(number)).await
            })
            .await?
            .ok_or(RpcFailure::MissingBlock(number))?;
        Ok(BlockRow {
            number,
            hash: block.header.hash,
            parent_hash: block.header.parent_hash,
            timestamp: block.header.timestamp,
        })
    }

    /// `NeuroGovernor.quorum(timepoint)` as of `block` (a block whose timestamp is past `timepoint`: the answer
    /// is fixed from then on).
    pub async fn governor_quorum(
        &self,
        governor: Address,
        timepoint: U256,
        block: BlockId,
    ) -> Result<U256, RpcFailure> {
        let call = NeuroGovernor::quorumCall { timepoint };
        let request = TransactionRequest::default().to(governor).input(call.abi_encode().into());
        let output =
            self.retry("eth_call quorum", || async { self.provider.call(request.clone()).block(block).await }).await?;
        NeuroGovernor::quorumCall::abi_decode_returns(&output).map_err(|_| RpcFailure::Undecodable("quorum"))
    }

    /// Logs of exactly the block with hash `hash` (EIP-234: no race with a reorg between two calls).
    pub async fn logs_of_block(&self, hash: B256) -> Result<Vec<Log>, RpcFailure> {
        let filter = Filter::new().address(self.addresses.clone()).at_block_hash(hash);
        self.retry("eth_getLogs", || self.provider.get_logs(&filter)).await
    }

    /// Logs of blocks `from..=to`, halving the range whenever the node refuses it as too large.
    pub async fn logs_of_range(&self, from: u64, to: u64) -> Result<RangeLogs, RpcFailure> {
        let mut pending = vec![(from, to)];
        let mut logs = Vec::new();
        let mut split = false;
        // Depth-first with the lower half on top keeps the logs in chain order.
        while let Some((lo, hi)) = pending.pop() {
            let filter = Filter::new().address(self.addresses.clone()).from_block(lo).to_block(hi);
            match self.provider.get_logs(&filter).await {
                Ok(mut found) => logs.append(&mut found),
                // A range the node is too slow to answer within the request timeout is split like a refused one.
                Err(e) if hi > lo && (is_range_error(&e.to_string()) || is_timeout(&e)) => {
                    split = true;
                    let mid = lo + (hi - lo) / 2;
                    pending.push((mid + 1, hi));
                    pending.push((lo, mid));
                }
                Err(_) => {
                    // Not a size refusal: retry this sub-range with backoff.
                    let mut found = self.retry("eth_getLogs", || self.provider.get_logs(&filter)).await?;
                    logs.append(&mut found);
                }
            }
        }
        Ok(RangeLogs { logs, split })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_size_refusals() {
        assert!(is_range_error("query returned more than 10000 results"));
        assert!(is_range_error(
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range"
        ));
        assert!(is_range_error("server returned an error response: error code -32005: limit exceeded"));
        assert!(!is_range_error("connection refused"));
        assert!(!is_range_error("header not found"));
    }

    #[test]
    fn a_rate_limit_is_not_a_range_refusal() {
        for message in [
            "server returned an error response: error code -32005: project ID request rate exceeded",
            "HTTP error 429 with body: Too Many Requests",
            "Your app has exceeded its compute units per second capacity",
            "error code -32005: daily request count exceeded, request rate limited",
        ] {
            assert!(is_rate_limit(message), "{message}");
            assert!(!is_range_error(message), "{message}");
        }
        assert!(!is_rate_limit("query returned more than 10000 results"));
    }
}
