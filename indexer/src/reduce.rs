//! What each event means for the indexer's query columns and running totals.
//!
//! Totals are versioned by block: a key's value at block `b` is its row with the highest block `<= b`, so a
//! rollback deletes rows above the fork point and nothing else, and the rows written do not depend on how
//! ingestion happened to batch blocks (a restart yields identical tables).

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, U256};
use neuro_protocol::Manifest;

use crate::{
    catalog::DecodedEvent,
    proposals,
    schema::{self, Disputes, Emissions, FeeVault, NeuroGovernor, NeuroToken, Payments, StakingVault, UsageLedger},
};

/// Version of the reductions below. Raise it whenever a change makes totals of already-stored events differ
/// (a new key, a new rule): databases built by an older version are re-indexed on start
/// ([`crate::store::Store::ensure_reduction_version`]). 2: the dispute court's validator stake. 3: proposals' vote
/// tallies. 4: user deposits and allowance locks (and allowance digests as the subject of their events), per-epoch
/// aggregates.
pub const REDUCTION_VERSION: u32 = 4;

/// Running-total keys. Per-account keys append `.<lowercase address>` or `.<model id>`.
pub mod keys {
    /// NEURO total supply (mints minus burns of the token's `Transfer` events).
    pub const SUPPLY_TOTAL: &str = "supply.total";
    /// NEURO burned, by any cause (transfers to the zero address).
    pub const SUPPLY_BURNED: &str = "supply.burned";
    /// NEURO minted by `Emissions` (`EmissionMinted`): rewards, minted when claimed.
    pub const EMITTED: &str = "emissions.minted";
    /// Emission never to be minted: epochs finalized without work, and pool shares the fee caps withheld at
    /// claim time.
    pub const FORGONE: &str = "emissions.forgone";
    /// Rewards claimed by miners and model owners.
    pub const CLAIMED: &str = "emissions.claimed";
    /// Work units credited.
    pub const WORK: &str = "emissions.work";
    /// Fees redeemed by miners from user deposits.
    pub const FEES_REDEEMED: &str = "fees.redeemed";
    /// The burned part of redeemed fees, as booked at redemption (the basis of the reward caps).
    pub const FEES_BURN_BOOKED: &str = "fees.burnBooked";
    /// Fees burned by the fee vault.
    pub const FEES_BURNED: &str = "fees.burned";
    /// Fees sent to the treasury by the fee vault.
    pub const FEES_TO_TREASURY: &str = "fees.toTreasury";
    /// Stake burned by slashes.
    pub const SLASH_BURNED: &str = "slashes.burned";
    /// Stake sent to the treasury by slashes.
    pub const SLASH_TO_TREASURY: &str = "slashes.toTreasury";
    /// Bonded stake in total (stNEURO supply).
    pub const STAKE_TOTAL: &str = "stake.total";
    /// Prefix: bonded stake of an account (its stNEURO balance).
    pub const STAKE_BONDED: &str = "stake.bonded.";
    /// Prefix: unbonding stake of an account.
    pub const STAKE_UNBONDING: &str = "stake.unbonding.";
    /// Prefix: NEURO balance of a protocol contract (treasury, vesting wallets, vaults).
    pub const BALANCE: &str = "balance.";
    /// Prefix: rewards claimed by a miner.
    pub const MINER_REWARDS: &str = "rewards.miner.";
    /// Prefix: rewards claimed for a model.
    pub const MODEL_REWARDS: &str = "rewards.model.";
    /// Prefix: emission rewards claimed by a validator (for the probe fees it revealed).
    pub const VALIDATOR_REWARDS: &str = "rewards.validator.";
    /// Validator stake bonded in the dispute court, in total.
    pub const VALIDATOR_TOTAL: &str = "validators.total";
    /// Prefix: a validator's bonded stake in the dispute court.
    pub const VALIDATOR_BONDED: &str = "validators.bonded.";
    /// Prefix: a validator's unbonding stake in the dispute court.
    pub const VALIDATOR_UNBONDING: &str = "validators.unbonding.";
    /// Users' free deposits in `Payments`, in total (what no allowance locks).
    pub const DEPOSITS_TOTAL: &str = "payments.deposits";
    /// Prefix: a user's free deposit (`Payments.deposits(user)`).
    pub const DEPOSIT: &str = "payments.deposit.";
    /// NEURO locked in opened allowances, in total.
    pub const LOCKED_TOTAL: &str = "payments.locked";
    /// Prefix: what is locked in one opened allowance (`Payments.lockOf(digest).amount`), by digest. The key
    /// exists from the allowance's opening on, so its presence says the allowance was opened.
    pub const LOCK: &str = "payments.lock.";
    /// Prefix: the epoch an allowance was revoked in, plus one (zero: not revoked), by digest.
    pub const LOCK_REVOKED: &str = "payments.lockRevoked.";
    /// Prefix: what the user took back out of an allowance's lock, by digest.
    pub const LOCK_RELEASED: &str = "payments.lockReleased.";

    /// Per-epoch aggregates, so that an epoch's page costs the same however many miners worked in it. Each is
    /// followed by the epoch number; the per-miner and per-model ones by `<epoch>.<address or model id>`.
    pub mod epoch {
        /// Work units credited in the epoch.
        pub const WORK: &str = "epoch.work.";
        /// Fees burned for the credited work (the caps' basis).
        pub const BURNED: &str = "epoch.burned.";
        /// Miners credited (distinct).
        pub const MINERS: &str = "epoch.miners.";
        /// Models credited (distinct).
        pub const MODELS: &str = "epoch.models.";
        /// Usage batches submitted.
        pub const SUBMISSIONS: &str = "epoch.submissions.";
        /// Tokens those batches proved.
        pub const TOKENS: &str = "epoch.tokens.";
        /// Fees redeemed for the epoch's usage.
        pub const REDEEMED: &str = "epoch.redeemed.";
        /// Their miners' share.
        pub const TO_MINERS: &str = "epoch.toMiners.";
        /// Their treasury share.
        pub const TREASURY_SHARE: &str = "epoch.treasuryShare.";
        /// Their burn share.
        pub const BURN_SHARE: &str = "epoch.burnShare.";
        /// Redemptions.
        pub const REDEMPTIONS: &str = "epoch.redemptions.";
        /// Work units of one miner: `<epoch>.<miner>`.
        pub const MINER_WORK: &str = "epoch.minerWork.";
        /// Burned fees of one miner's work: `<epoch>.<miner>`.
        pub const MINER_BURNED: &str = "epoch.minerBurned.";
        /// Work units on one model: `<epoch>.<model id>`.
        pub const MODEL_WORK: &str = "epoch.modelWork.";
        /// Burned fees of one model's work: `<epoch>.<model id>`.
        pub const MODEL_BURNED: &str = "epoch.modelBurned.";
    }
}

/// Why an event could not be applied: the tables no longer describe the chain.
#[derive(Debug, thiserror::Error)]
pub enum ReduceError {
    /// A total would go negative.
    #[error("{key} would go below zero at block {block}: indexing did not start at the deployment block")]
    Underflow {
        /// Total key.
        key: String,
        /// Block of the event.
        block: u64,
    },
    /// An argument the event always has is missing or malformed.
    #[error("{contract}.{event} at block {block} lacks a valid `{arg}`")]
    Argument {
        /// Contract.
        contract: &'static str,
        /// Event.
        event: String,
        /// Argument name.
        arg: &'static str,
        /// Block of the event.
        block: u64,
    },
}

/// Columns an event is found by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The epoch it concerns.
    pub epoch: Option<i64>,
    /// The account it concerns (lowercase hex): miner, staker, operator, voter, user, proposer or owner.
    pub account: Option<String>,
    /// The model id or proposal id it concerns.
    pub subject: Option<String>,
}

/// Lookup columns of `event`.
pub fn lookup(event: &DecodedEvent) -> Lookup {
    Lookup {
        epoch: event.arg(schema::LOOKUP_EPOCH).and_then(|e| e.parse().ok()),
        account: schema::LOOKUP_ACCOUNT.iter().find_map(|name| event.arg(name)).map(str::to_ascii_lowercase),
        subject: schema::LOOKUP_SUBJECT.iter().find_map(|name| event.arg(name)).map(str::to_owned),
    }
}

/// Lowercase 0x-hex of an address: the form stored in keys and lookup columns.
pub fn address_key(address: &Address) -> String {
    format!("{address:#x}")
}

/// The running totals, and the rows their changes produce.
#[derive(Debug, Clone)]
pub struct Totals {
    current: HashMap<String, U256>,
    /// Protocol contracts whose NEURO balance is tracked.
    tracked: HashMap<Address, String>,
    /// `(key, block) -> value` changed since the last [`Totals::take_changes`].
    changed: BTreeMap<(u64, String), U256>,
}

impl Totals {
    /// Totals for `manifest`'s deployment, starting from `current` (the latest value of every key).
    pub fn new(manifest: &Manifest, current: HashMap<String, U256>) -> Self {
        let c = &manifest.contracts;
        let tracked = [c.timelock, c.team_vesting, c.investor_vesting, c.payments, c.fee_vault, c.emissions, c.staking]
            .into_iter()
            .map(|a| (a, format!("{}{}", keys::BALANCE, address_key(&a))))
            .collect();
        Self { current, tracked, changed: BTreeMap::new() }
    }

    /// The current value of `key` (zero when never set).
    pub fn get(&self, key: &str) -> U256 {
        self.current.get(key).copied().unwrap_or_default()
    }

    /// Applies `event`, which must follow every event applied before it in chain order.
    pub fn apply(&mut self, event: &DecodedEvent) -> Result<(), ReduceError> {
        let block = event.block_number;
        let amount = |arg: &'static str| -> Result<U256, ReduceError> {
            event.arg(arg).and_then(|v| v.parse::<U256>().ok()).ok_or_else(|| ReduceError::Argument {
                contract: event.contract,
                event: event.name.clone(),
                arg,
                block,
            })
        };
        let account = |arg: &'static str| -> Result<String, ReduceError> {
            event.arg(arg).map(str::to_ascii_lowercase).ok_or_else(|| ReduceError::Argument {
                contract: event.contract,
                event: event.name.clone(),
                arg,
                block,
            })
        };
        // An allowance digest as stored in keys: lowercase 0x-hex.
        let digest = |arg: &'static str| -> Result<String, ReduceError> {
            event.arg(arg).filter(|d| d.len() == 66 && d.starts_with("0x")).map(str::to_ascii_lowercase).ok_or_else(
                || ReduceError::Argument { contract: event.contract, event: event.name.clone(), arg, block },
            )
        };
        match (event.contract, event.name.as_str()) {
            (NeuroToken::CONTRACT, NeuroToken::Transfer::NAME) => {
                let (from, to, value) = (
                    account(NeuroToken::Transfer::from)?,
                    account(NeuroToken::Transfer::to)?,
                    amount(NeuroToken::Transfer::value)?,
                );
                let zero = address_key(&Address::ZERO);
                if from == zero {
                    self.add(keys::SUPPLY_TOTAL, block, value);
                }
                if to == zero {
                    self.sub(keys::SUPPLY_TOTAL, block, value)?;
                    self.add(keys::SUPPLY_BURNED, block, value);
                }
                if let Some(key) = self.tracked_key(&from) {
                    self.sub(&key, block, value)?;
                }
                if let Some(key) = self.tracked_key(&to) {
                    self.add(&key, block, value);
                }
            }
            (NeuroToken::CONTRACT, NeuroToken::EmissionMinted::NAME) => {
                self.add(keys::EMITTED, block, amount(NeuroToken::EmissionMinted::amount)?)
            }
            (Emissions::CONTRACT, Emissions::EpochFinalized::NAME) => {
                self.add(keys::FORGONE, block, amount(Emissions::EpochFinalized::forgone)?);
            }
            (Emissions::CONTRACT, Emissions::ValidatorPoolFinalized::NAME) => {
                self.add(keys::FORGONE, block, amount(Emissions::ValidatorPoolFinalized::forgone)?);
            }
            (Emissions::CONTRACT, Emissions::ValidatorRewardClaimed::NAME) => {
                let value = amount(Emissions::ValidatorRewardClaimed::amount)?;
                self.add(keys::FORGONE, block, amount(Emissions::ValidatorRewardClaimed::forgone)?);
                self.add(keys::CLAIMED, block, value);
                self.add(
                    &format!("{}{}", keys::VALIDATOR_REWARDS, account(Emissions::ValidatorRewardClaimed::validator)?),
                    block,
                    value,
                );
            }
            (Emissions::CONTRACT, Emissions::WorkRecorded::NAME) => {
                use keys::epoch::*;
                let (units, burned) =
                    (amount(Emissions::WorkRecorded::units)?, amount(Emissions::WorkRecorded::burnedFees)?);
                let epoch = amount(Emissions::WorkRecorded::epoch)?;
                self.add(keys::WORK, block, units);
                self.add(&format!("{WORK}{epoch}"), block, units);
                self.add(&format!("{BURNED}{epoch}"), block, burned);
                let miner = account(Emissions::WorkRecorded::miner)?;
                let model = digest(Emissions::WorkRecorded::modelId)?;
                for (id, work, of, count) in
                    [(miner, MINER_WORK, MINER_BURNED, MINERS), (model, MODEL_WORK, MODEL_BURNED, MODELS)]
                {
                    let key = format!("{work}{epoch}.{id}");
                    if !self.current.contains_key(&key) {
                        self.add(&format!("{count}{epoch}"), block, U256::from(1));
                    }
                    self.add(&key, block, units);
                    self.add(&format!("{of}{epoch}.{id}"), block, burned);
                }
            }
            (UsageLedger::CONTRACT, UsageLedger::UsageSubmitted::NAME) => {
                let epoch = amount(UsageLedger::UsageSubmitted::epoch)?;
                self.add(&format!("{}{epoch}", keys::epoch::SUBMISSIONS), block, U256::from(1));
                self.add(
                    &format!("{}{epoch}", keys::epoch::TOKENS),
                    block,
                    amount(UsageLedger::UsageSubmitted::tokens)?,
                );
            }
            (Emissions::CONTRACT, Emissions::MinerRewardClaimed::NAME) => {
                let value = amount(Emissions::MinerRewardClaimed::amount)?;
                self.add(keys::FORGONE, block, amount(Emissions::MinerRewardClaimed::forgone)?);
                self.add(keys::CLAIMED, block, value);
                self.add(
                    &format!("{}{}", keys::MINER_REWARDS, account(Emissions::MinerRewardClaimed::miner)?),
                    block,
                    value,
                );
            }
            (Emissions::CONTRACT, Emissions::ModelRewardClaimed::NAME) => {
                let value = amount(Emissions::ModelRewardClaimed::amount)?;
                self.add(keys::FORGONE, block, amount(Emissions::ModelRewardClaimed::forgone)?);
                self.add(keys::CLAIMED, block, value);
                self.add(
                    &format!("{}{}", keys::MODEL_REWARDS, account(Emissions::ModelRewardClaimed::modelId)?),
                    block,
                    value,
                );
            }
            (StakingVault::CONTRACT, StakingVault::Transfer::NAME) => {
                // stNEURO is minted on stake and burned on unbonding and slashing: its balances are bonded stake.
                let (from, to, value) = (
                    account(StakingVault::Transfer::from)?,
                    account(StakingVault::Transfer::to)?,
                    amount(StakingVault::Transfer::value)?,
                );
                let zero = address_key(&Address::ZERO);
                if from == zero {
                    self.add(keys::STAKE_TOTAL, block, value);
                } else {
                    self.sub(&format!("{}{from}", keys::STAKE_BONDED), block, value)?;
                }
                if to == zero {
                    self.sub(keys::STAKE_TOTAL, block, value)?;
                } else {
                    self.add(&format!("{}{to}", keys::STAKE_BONDED), block, value);
                }
            }
            (StakingVault::CONTRACT, StakingVault::UnbondingStarted::NAME) => {
                let key = format!("{}{}", keys::STAKE_UNBONDING, account(StakingVault::UnbondingStarted::account)?);
                self.set(key, block, amount(StakingVault::UnbondingStarted::totalUnbonding)?);
            }
            (StakingVault::CONTRACT, StakingVault::Withdrawn::NAME) => {
                self.set(
                    format!("{}{}", keys::STAKE_UNBONDING, account(StakingVault::Withdrawn::account)?),
                    block,
                    U256::ZERO,
                );
            }
            (StakingVault::CONTRACT, StakingVault::Slashed::NAME) => {
                let who = account(StakingVault::Slashed::account)?;
                self.sub(
                    &format!("{}{who}", keys::STAKE_UNBONDING),
                    block,
                    amount(StakingVault::Slashed::fromUnbonding)?,
                )?;
                self.add(keys::SLASH_BURNED, block, amount(StakingVault::Slashed::burned)?);
                self.add(keys::SLASH_TO_TREASURY, block, amount(StakingVault::Slashed::toTreasury)?);
            }
            // The court's validator stake changes only through these three (nothing slashes it).
            (Disputes::CONTRACT, Disputes::ValidatorStaked::NAME) => {
                let who = account(Disputes::ValidatorStaked::validator)?;
                self.set(format!("{}{who}", keys::VALIDATOR_BONDED), block, amount(Disputes::ValidatorStaked::total)?);
                self.add(keys::VALIDATOR_TOTAL, block, amount(Disputes::ValidatorStaked::amount)?);
            }
            (Disputes::CONTRACT, Disputes::ValidatorUnbonding::NAME) => {
                let (who, value) =
                    (account(Disputes::ValidatorUnbonding::validator)?, amount(Disputes::ValidatorUnbonding::amount)?);
                self.sub(&format!("{}{who}", keys::VALIDATOR_BONDED), block, value)?;
                self.add(&format!("{}{who}", keys::VALIDATOR_UNBONDING), block, value);
                self.sub(keys::VALIDATOR_TOTAL, block, value)?;
            }
            (Disputes::CONTRACT, Disputes::ValidatorWithdrawn::NAME) => {
                let who = account(Disputes::ValidatorWithdrawn::validator)?;
                self.sub(
                    &format!("{}{who}", keys::VALIDATOR_UNBONDING),
                    block,
                    amount(Disputes::ValidatorWithdrawn::amount)?,
                )?;
            }
            // A proposal's tally: one ballot per voter (the Governor refuses a second), weighted at the snapshot.
            (NeuroGovernor::CONTRACT, NeuroGovernor::VoteCast::NAME | NeuroGovernor::VoteCastWithParams::NAME) => {
                let id = event.arg(NeuroGovernor::VoteCast::proposalId).ok_or(ReduceError::Argument {
                    contract: event.contract,
                    event: event.name.clone(),
                    arg: NeuroGovernor::VoteCast::proposalId,
                    block,
                })?;
                let support = event.arg(NeuroGovernor::VoteCast::support).unwrap_or_default();
                self.add(&proposals::tally_key(id, support), block, amount(NeuroGovernor::VoteCast::weight)?);
                self.add(&format!("{}{id}", proposals::VOTERS_KEY), block, U256::from(1));
            }
            (Payments::CONTRACT, Payments::Redeemed::NAME) => {
                let value = amount(Payments::Redeemed::amount)?;
                self.add(keys::FEES_REDEEMED, block, value);
                self.add(keys::FEES_BURN_BOOKED, block, amount(Payments::Redeemed::burned)?);
                let epoch = amount(Payments::Redeemed::epoch)?;
                for (prefix, part) in [
                    (keys::epoch::REDEEMED, value),
                    (keys::epoch::TO_MINERS, amount(Payments::Redeemed::toMiner)?),
                    (keys::epoch::TREASURY_SHARE, amount(Payments::Redeemed::toTreasury)?),
                    (keys::epoch::BURN_SHARE, amount(Payments::Redeemed::burned)?),
                    (keys::epoch::REDEMPTIONS, U256::from(1)),
                ] {
                    self.add(&format!("{prefix}{epoch}"), block, part);
                }
                // Paid from the allowance's lock once it was opened, from the user's free deposit before.
                let lock = format!("{}{}", keys::LOCK, digest(Payments::Redeemed::allowanceDigest)?);
                if self.current.contains_key(&lock) {
                    self.sub(&lock, block, value)?;
                    self.sub(keys::LOCKED_TOTAL, block, value)?;
                } else {
                    self.take_deposit(&account(Payments::Redeemed::user)?, block, value)?;
                }
            }
            (Payments::CONTRACT, Payments::Deposited::NAME) => {
                let value = amount(Payments::Deposited::amount)?;
                self.add(&format!("{}{}", keys::DEPOSIT, account(Payments::Deposited::user)?), block, value);
                self.add(keys::DEPOSITS_TOTAL, block, value);
            }
            (Payments::CONTRACT, Payments::Withdrawn::NAME) => {
                self.take_deposit(&account(Payments::Withdrawn::user)?, block, amount(Payments::Withdrawn::amount)?)?;
            }
            (Payments::CONTRACT, Payments::AllowanceOpened::NAME) => {
                let value = amount(Payments::AllowanceOpened::amount)?;
                self.take_deposit(&account(Payments::AllowanceOpened::user)?, block, value)?;
                self.add(
                    &format!("{}{}", keys::LOCK, digest(Payments::AllowanceOpened::allowanceDigest)?),
                    block,
                    value,
                );
                self.add(keys::LOCKED_TOTAL, block, value);
            }
            (Payments::CONTRACT, Payments::AllowanceRevoked::NAME) => {
                let epoch = amount(Payments::AllowanceRevoked::epoch)?;
                let key = format!("{}{}", keys::LOCK_REVOKED, digest(Payments::AllowanceRevoked::allowanceDigest)?);
                self.set(key, block, epoch.saturating_add(U256::from(1)));
            }
            (Payments::CONTRACT, Payments::AllowanceReleased::NAME) => {
                let value = amount(Payments::AllowanceReleased::amount)?;
                let of = digest(Payments::AllowanceReleased::allowanceDigest)?;
                self.sub(&format!("{}{of}", keys::LOCK), block, value)?;
                self.sub(keys::LOCKED_TOTAL, block, value)?;
                self.add(&format!("{}{of}", keys::LOCK_RELEASED), block, value);
                let user = account(Payments::AllowanceReleased::user)?;
                self.add(&format!("{}{user}", keys::DEPOSIT), block, value);
                self.add(keys::DEPOSITS_TOTAL, block, value);
            }
            (FeeVault::CONTRACT, FeeVault::FeesFlushed::NAME) => {
                self.add(keys::FEES_BURNED, block, amount(FeeVault::FeesFlushed::burned)?);
                self.add(keys::FEES_TO_TREASURY, block, amount(FeeVault::FeesFlushed::toTreasury)?);
            }
            _ => {}
        }
        Ok(())
    }

    /// The rows changed since the last call: `(key, block, value)`, one per key and block, in block order.
    pub fn take_changes(&mut self) -> Vec<(String, u64, U256)> {
        std::mem::take(&mut self.changed).into_iter().map(|((block, key), value)| (key, block, value)).collect()
    }

    /// Takes `value` out of `user`'s free deposit.
    fn take_deposit(&mut self, user: &str, block: u64, value: U256) -> Result<(), ReduceError> {
        self.sub(&format!("{}{user}", keys::DEPOSIT), block, value)?;
        self.sub(keys::DEPOSITS_TOTAL, block, value)
    }

    fn tracked_key(&self, account: &str) -> Option<String> {
        account.parse::<Address>().ok().and_then(|a| self.tracked.get(&a).cloned())
    }

    fn add(&mut self, key: &str, block: u64, delta: U256) {
        let value = self.get(key).saturating_add(delta);
        self.set(key.to_owned(), block, value);
    }

    fn sub(&mut self, key: &str, block: u64, delta: U256) -> Result<(), ReduceError> {
        let value =
            self.get(key).checked_sub(delta).ok_or_else(|| ReduceError::Underflow { key: key.to_owned(), block })?;
        self.set(key.to_owned(), block, value);
        Ok(())
    }

    fn set(&mut self, key: String, block: u64, value: U256) {
        self.current.insert(key.clone(), value);
        self.changed.insert((block, key), value);
    }
}
