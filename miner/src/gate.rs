//! Payment checks before serving: a bearer API key must carry a canonically signed allowance for this miner, on
//! this chain, not about to expire, opened on chain (its cap locked in `Payments` for this miner alone) and not
//! revoked, with enough cap and lock left for the request's worst-case fee.
//!
//! Who could abuse it and how, and what stops it:
//! - a user who flips `s` to its high twin (or sends an odd `v`) to get a key the gate admits but `Payments`
//!   rejects on chain: keys are refused unless their signature is exactly what `Payments` accepts
//!   ([`SignedAllowance::from_api_key`]);
//! - a user who promises one deposit to several allowances, at this node or at several: only an opened
//!   allowance is served, and opening locks its cap out of the deposit, so the same NEURO backs one allowance
//!   of one miner; what this node charged and has not yet redeemed, plus what is in flight, must fit in the lock;
//! - a user who revokes after being served: a revoked allowance is not served any more, and `Payments` keeps the
//!   revocation epoch's usage redeemable through its submission window;
//! - concurrent requests racing a settlement: a user's authorizations and settlements are serialized by one
//!   per-user lock, so the charged total and the in-flight total are read and changed together;
//! - a client that hangs up: a [`Reservation`] is a guard, released when dropped on every path;
//! - one user flooding the node: at most `max_requests_per_user` of its requests run at once (429 beyond).
//!
//! See `docs/miner.md`, "Paid requests under attack".

use std::{
    collections::HashMap,
    sync::{Arc, Mutex as SyncMutex},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, U256},
    sol_types::Eip712Domain,
};
use neuro_protocol::voucher::{SignedAllowance, payments_domain};
use tokio::sync::Mutex;

use crate::{
    chain::{Chain, ChainError},
    chain_cache::{AllowanceFunds, ChainCache},
    store::{Store, StoreError},
};

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// No usable API key (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The allowance is not backed by funds locked for this node (402).
    #[error(
        "this allowance is not opened on chain, so no funds are locked for this node: `neuro allowance` signs and \
         opens one"
    )]
    NotOpened,
    /// The user already has as many requests running here as the node allows (429).
    #[error("this user already has {0} requests running on this node; wait for one to finish")]
    TooManyRequests(usize),
    /// Not enough cap or deposit left (402).
    #[error("insufficient funds: this request may cost up to {needed} NEURO-wei but only {available} is left")]
    InsufficientFunds {
        /// Worst-case fee.
        needed: U256,
        /// What is left.
        available: U256,
    },
    /// The chain could not be read (503).
    #[error("cannot check payment on chain")]
    Chain(#[source] Arc<ChainError>),
    /// The receipt store failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Worst-case fees of requests in flight, per user and per allowance.
#[derive(Debug, Default)]
struct InFlight {
    by_allowance: HashMap<B256, U256>,
    requests_by_user: HashMap<Address, usize>,
}

impl InFlight {
    fn add(&mut self, digest: B256, amount: U256) {
        *self.by_allowance.entry(digest).or_default() += amount;
    }

    fn remove(&mut self, digest: B256, amount: U256) {
        if let Some(value) = self.by_allowance.get_mut(&digest) {
            *value = value.saturating_sub(amount);
            if value.is_zero() {
                self.by_allowance.remove(&digest);
            }
        }
    }
}

/// Checks allowances and reserves worst-case fees.
#[derive(Debug)]
pub struct PaymentGate {
    chain: Chain,
    /// The chain clock and allowance states, each at most one TTL old.
    cache: ChainCache,
    store: Store,
    domain: Eip712Domain,
    /// Seconds an allowance must stay valid after a request, so the miner can redeem it after the epoch.
    min_validity: u64,
    /// Requests one user may have running at once.
    max_requests_per_user: usize,
    in_flight: SyncMutex<InFlight>,
    /// One lock per user: an authorization and a settlement of the same user never interleave.
    user_locks: SyncMutex<HashMap<Address, Arc<Mutex<()>>>>,
}

/// A checked API key: the allowance and its EIP-712 digest, holding one of its user's request slots until
/// dropped. Obtained before any work is done for a request.
#[derive(Debug)]
pub struct CheckedKey {
    /// The allowance.
    pub allowance: SignedAllowance,
    /// Its EIP-712 digest.
    pub digest: B256,
    slot: UserSlot,
}

/// One of a user's request slots (at most `max_requests_per_user` at once), released when dropped.
#[derive(Debug)]
pub struct UserSlot {
    gate: Arc<PaymentGate>,
    user: Address,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut in_flight = self.gate.in_flight();
        if let Some(count) = in_flight.requests_by_user.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                in_flight.requests_by_user.remove(&self.user);
            }
        }
    }
}

/// A worst-case fee held while a request runs. Dropping it releases the hold; [`PaymentGate::settle`] turns it
/// into a stored receipt and releases it in one step.
#[derive(Debug)]
pub struct Reservation {
    gate: Arc<PaymentGate>,
    /// The user's request slot, held as long as the reservation.
    _slot: UserSlot,
    /// The allowance.
    pub allowance: SignedAllowance,
    /// Its EIP-712 digest.
    pub digest: B256,
    /// Worst-case fee reserved.
    pub amount: U256,
    released: bool,
}

impl Reservation {
    fn release(&mut self) {
        if !std::mem::replace(&mut self.released, true) {
            self.gate.in_flight().remove(self.digest, self.amount);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

impl PaymentGate {
    /// A gate for `chain`'s Payments contract that lets one user run at most `max_requests_per_user` at once.
    /// A gate for `chain`'s operator; chain reads are reused for `cache_ttl` (zero: read every time).
    pub fn new(chain: Chain, store: Store, max_requests_per_user: usize, cache_ttl: Duration) -> Arc<Self> {
        let m = &chain.manifest;
        let domain = payments_domain(m.chain_id, m.contracts.payments);
        // An allowance must outlive the current epoch plus the redemption window: two epochs is a safe bound.
        let min_validity = 2 * m.epoch_length;
        Arc::new(Self {
            cache: ChainCache::new(chain.clone(), cache_ttl),
            chain,
            store,
            domain,
            min_validity,
            max_requests_per_user,
            in_flight: SyncMutex::default(),
            user_locks: SyncMutex::default(),
        })
    }

    /// The miner this gate serves.
    pub fn miner(&self) -> Address {
        self.chain.operator
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, InFlight> {
        // The critical sections only do arithmetic on maps: a poisoned lock still holds consistent data.
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn user_lock(&self, user: Address) -> Arc<Mutex<()>> {
        let mut locks = self.user_locks.lock().unwrap_or_else(|p| p.into_inner());
        // Forget locks nobody holds, so the map stays as small as the set of active users.
        if locks.len() > 4096 {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        locks.entry(user).or_default().clone()
    }

    /// Parses and checks `api_key` without touching the chain or the engine (signature, chain, miner, expiry),
    /// and takes one of the user's request slots: a user flooding the node, funded or not, is refused (429)
    /// before its prompts cost any tokenization or chain reads.
    pub fn check_key(self: &Arc<Self>, api_key: &str, now: u64) -> Result<CheckedKey, GateError> {
        let allowance = SignedAllowance::from_api_key(api_key)
            .map_err(|e| GateError::Unauthorized(format!("invalid API key: {e}")))?;
        allowance.verify(&self.domain).map_err(|e| {
            GateError::Unauthorized(format!("allowance signature is not valid on this chain and contract: {e}"))
        })?;
        let a = &allowance.allowance;
        if a.miner != self.chain.operator {
            return Err(GateError::Unauthorized(format!(
                "this allowance is for miner {}, not for this node ({})",
                a.miner, self.chain.operator
            )));
        }
        if a.expiry < U256::from(now + self.min_validity) {
            return Err(GateError::Unauthorized(format!(
                "allowance expires at {} and this node needs it valid until at least {} to redeem it",
                a.expiry,
                now + self.min_validity
            )));
        }
        let digest = allowance.allowance.digest(&self.domain);
        let user = allowance.allowance.user;
        {
            let mut in_flight = self.in_flight();
            let running = in_flight.requests_by_user.entry(user).or_default();
            if *running >= self.max_requests_per_user {
                return Err(GateError::TooManyRequests(*running));
            }
            *running += 1;
        }
        let slot = UserSlot { gate: self.clone(), user };
        Ok(CheckedKey { allowance, digest, slot })
    }

    /// The chain's clock (the latest block's timestamp), at most one cache TTL old.
    pub async fn now(&self) -> Result<u64, GateError> {
        self.cache.now().await.map_err(GateError::Chain)
    }

    /// The allowance's state on chain, refused unless it is opened (402) and not revoked (401).
    async fn funds(&self, digest: B256) -> Result<AllowanceFunds, GateError> {
        let funds = self.cache.allowance_funds(digest).await.map_err(GateError::Chain)?;
        if !funds.opened {
            return Err(GateError::NotOpened);
        }
        if funds.revoked {
            return Err(GateError::Unauthorized("this allowance was revoked by its user".to_owned()));
        }
        Ok(funds)
    }

    /// Refuses a key whose allowance is not opened or was revoked, before its prompt costs any work (a cached
    /// read: a flood under one unfunded key costs one chain read per cache TTL).
    pub async fn check_funded(&self, key: &CheckedKey) -> Result<(), GateError> {
        self.funds(key.digest).await.map(|_| ())
    }

    /// Reserves `worst_fee` against what the allowance's cap and the user's deposit still cover at this node.
    pub async fn reserve(self: &Arc<Self>, key: CheckedKey, worst_fee: U256) -> Result<Reservation, GateError> {
        let CheckedKey { allowance, digest, slot } = key;
        let user = allowance.allowance.user;
        let lock = self.user_lock(user);
        let _serialized = lock.lock().await;

        // What the user locked for this node under this allowance, what was redeemed from it, and what this
        // node charged under it (all of it, and what is still expected to be paid).
        let AllowanceFunds { locked, redeemed, .. } = self.funds(digest).await?;
        let (charged, payable) = self.store.charges(digest).await?;
        // The cap is used by the larger of what this node charged and what was redeemed on chain (more, if this
        // node lost its receipt store or another process serves under the same key).
        let used = charged.max(redeemed);
        // Charged here and not yet redeemed is still owed out of the lock (written-off charges never will be).
        let owed = payable.saturating_sub(redeemed);

        let mut in_flight = self.in_flight();
        let reserved = in_flight.by_allowance.get(&digest).copied().unwrap_or_default();
        let cap_left = allowance.allowance.cap.saturating_sub(used).saturating_sub(reserved);
        let lock_left = locked.saturating_sub(owed).saturating_sub(reserved);
        let available = cap_left.min(lock_left);
        if worst_fee > available {
            return Err(GateError::InsufficientFunds { needed: worst_fee, available });
        }
        in_flight.add(digest, worst_fee);
        drop(in_flight);
        Ok(Reservation { gate: self.clone(), _slot: slot, allowance, digest, amount: worst_fee, released: false })
    }

    /// Runs `record` (which stores the request's receipt) and releases `reservation`, with no authorization of
    /// the same user in between, so the charge and the release are seen together.
    pub async fn settle<T, E>(
        &self,
        mut reservation: Reservation,
        record: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let lock = self.user_lock(reservation.allowance.allowance.user);
        let _serialized = lock.lock().await;
        let result = record.await;
        reservation.release();
        result
    }
}
