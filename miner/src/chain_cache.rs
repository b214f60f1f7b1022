//! Short-lived copies of the chain state the paid path reads on every request: the chain clock and each
//! allowance's lock and redeemed total. With them a request costs no RPC on the hot path, and concurrent
//! requests that miss share one read (moka coalesces loads of one key).
//!
//! Who could abuse it and how, and why it holds:
//! - a user who revokes an allowance and keeps sending requests: it is served for at most one TTL after the
//!   revocation block, and only within the revocation epoch: an allowance's state is cached per epoch (of the
//!   cached clock), so the first request the node counts in the next epoch reads it again. Requests served in the
//!   revocation epoch stay redeemable through its window;
//! - a user whose lock shrinks meanwhile: while the allowance is valid a lock only shrinks by this node's own
//!   redemptions, and the lock and the redeemed total are read at one block and cached together, so the free
//!   amount the gate derives from a stale pair equals the fresh one (`releaseAllowance` empties a lock only after
//!   expiry, and the gate stops serving two epochs before it);
//! - a flood of fresh, never-opened keys: each costs one read, then "not opened" is cached for a TTL and the key
//!   is refused before its prompt is tokenized. Each miss is still one `eth_call` (bounded by the node-wide
//!   request limit).
//!
//! Errors are never cached: a failed read is retried by the next request.

use std::{sync::Arc, time::Duration};

use alloy::primitives::{B256, U256};
use moka::future::Cache;
use neuro_protocol::bindings::Payments;

use crate::chain::{Chain, ChainError};

/// What `Payments` holds for one allowance, read at one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowanceFunds {
    /// The user opened it: its cap was locked for this miner.
    pub opened: bool,
    /// The user revoked it.
    pub revoked: bool,
    /// What is still locked for it.
    pub locked: U256,
    /// What was redeemed under it so far.
    pub redeemed: U256,
}

impl AllowanceFunds {
    fn new(lock: Payments::Lock, redeemed: U256) -> Self {
        Self { opened: lock.opened, revoked: lock.revoked, locked: U256::from(lock.amount), redeemed }
    }
}

/// Cached chain reads of the payment gate; a zero TTL reads through every time.
#[derive(Debug)]
pub struct ChainCache {
    chain: Chain,
    ttl: Duration,
    clock: Cache<(), u64>,
    /// Per allowance and epoch of the cached clock.
    funds: Cache<(B256, u64), AllowanceFunds>,
}

/// Most allowances whose state is kept at once.
const MAX_ALLOWANCES: u64 = 100_000;

impl ChainCache {
    /// Reads of `chain`, each kept for `ttl`.
    pub fn new(chain: Chain, ttl: Duration) -> Self {
        let ttl_or_one = ttl.max(Duration::from_millis(1));
        Self {
            chain,
            ttl,
            clock: Cache::builder().max_capacity(1).time_to_live(ttl_or_one).build(),
            funds: Cache::builder().max_capacity(MAX_ALLOWANCES).time_to_live(ttl_or_one).build(),
        }
    }

    /// The chain's clock (timestamp of the latest block), at most one TTL old.
    pub async fn now(&self) -> Result<u64, Arc<ChainError>> {
        if self.ttl.is_zero() {
            return self.chain.now().await.map_err(Arc::new);
        }
        self.clock.try_get_with((), self.chain.now()).await
    }

    /// The allowance's lock and redeemed total, read at one block, at most one TTL old and never from an earlier
    /// epoch than the cached clock's.
    pub async fn allowance_funds(&self, digest: B256) -> Result<AllowanceFunds, Arc<ChainError>> {
        let read = async {
            let (lock, redeemed) = self.chain.allowance_funds(digest).await?;
            Ok::<_, ChainError>(AllowanceFunds::new(lock, redeemed))
        };
        if self.ttl.is_zero() {
            return read.await.map_err(Arc::new);
        }
        let epoch = self.chain.epoch_at(self.now().await?);
        self.funds.try_get_with((digest, epoch), read).await
    }
}
