//! Payment checks before serving: a bearer API key must carry a valid allowance for this miner, on this chain,
//! not about to expire, with enough cap and deposit left for the request's worst-case fee.
//!
//! Invariant: the sum of worst-case fees of requests in flight under one allowance plus what it was already
//! charged never exceeds what the allowance and the user's deposit still cover, so concurrent requests cannot
//! overdraw it.

use std::{collections::HashMap, sync::Arc};

use alloy::{
    primitives::{Address, B256, U256},
    sol_types::Eip712Domain,
};
use neuro_protocol::voucher::{SignedAllowance, payments_domain};
use tokio::sync::Mutex;

use crate::{
    chain::{Chain, ChainError},
    store::{Store, StoreError},
};

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// No usable API key (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Not enough cap or deposit left (402).
    #[error("insufficient funds: this request may cost up to {needed} NEURO-wei but only {available} is left")]
    InsufficientFunds {
        /// Worst-case fee.
        needed: U256,
        /// What is left.
        available: U256,
    },
    /// The chain could not be read (503).
    #[error("cannot check payment on chain: {0}")]
    Chain(#[from] ChainError),
    /// The receipt store failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks allowances and reserves worst-case fees.
#[derive(Debug)]
pub struct PaymentGate {
    chain: Chain,
    store: Store,
    domain: Eip712Domain,
    /// Seconds an allowance must stay valid after a request, so the miner can redeem it after the epoch.
    min_validity: u64,
    reserved: Mutex<HashMap<B256, U256>>,
}

/// A reservation held while a request runs; release it with [`PaymentGate::release`].
#[derive(Debug)]
pub struct Reservation {
    /// The allowance.
    pub allowance: SignedAllowance,
    /// Its EIP-712 digest.
    pub digest: B256,
    /// Worst-case fee reserved.
    pub amount: U256,
}

impl PaymentGate {
    /// A gate for `chain`'s Payments contract.
    pub fn new(chain: Chain, store: Store) -> Arc<Self> {
        let m = &chain.manifest;
        let domain = payments_domain(m.chain_id, m.contracts.payments);
        // An allowance must outlive the current epoch plus the redemption window: two epochs is a safe bound.
        let min_validity = 2 * m.epoch_length;
        Arc::new(Self { chain, store, domain, min_validity, reserved: Mutex::new(HashMap::new()) })
    }

    /// The miner this gate serves.
    pub fn miner(&self) -> Address {
        self.chain.operator
    }

    /// Parses and checks `api_key`, then reserves `worst_fee` against what the allowance still covers.
    pub async fn authorize(&self, api_key: &str, worst_fee: U256, now: u64) -> Result<Reservation, GateError> {
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
        let (deposit, redeemed) = self.chain.user_funds(a.user, digest).await?;
        let charged = self.store.charged(digest).await?;
        let unredeemed = charged.saturating_sub(redeemed);

        let mut reserved = self.reserved.lock().await;
        let in_flight = reserved.get(&digest).copied().unwrap_or_default();
        let cap_left = a.cap.saturating_sub(charged).saturating_sub(in_flight);
        let deposit_left = deposit.saturating_sub(unredeemed).saturating_sub(in_flight);
        let available = cap_left.min(deposit_left);
        if worst_fee > available {
            return Err(GateError::InsufficientFunds { needed: worst_fee, available });
        }
        *reserved.entry(digest).or_default() += worst_fee;
        Ok(Reservation { allowance, digest, amount: worst_fee })
    }

    /// Returns a reservation (after its receipt was stored, or on failure).
    pub async fn release(&self, reservation: &Reservation) {
        let mut reserved = self.reserved.lock().await;
        if let Some(amount) = reserved.get_mut(&reservation.digest) {
            *amount = amount.saturating_sub(reservation.amount);
            if amount.is_zero() {
                reserved.remove(&reservation.digest);
            }
        }
    }
}
