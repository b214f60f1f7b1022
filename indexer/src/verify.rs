//! Reconciliation: the indexer's totals at block `N` against the contracts' own view calls at block `N`.

use std::collections::BTreeMap;

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, U256, aliases::U192},
    providers::{DynProvider, Provider},
};
use neuro_protocol::{
    Manifest,
    bindings::{Disputes, Emissions, FeeVault, NeuroGovernor, NeuroToken, Payments, StakingVault},
    schedule,
};

use crate::{
    proposals::{self, ProposalState},
    reduce::{address_key, keys},
    schema::{
        self,
        Emissions::{EpochFinalized, MinerRewardClaimed, RewardHoldReleased, WorkRecorded},
        NeuroGovernor::ProposalCreated,
    },
    store::{EventFilter, Store, StoreError},
};

/// Why verification could not run (differences are a [`Report`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A view call failed.
    #[error("view call {call} at block {block} failed: {message}")]
    Call {
        /// Call.
        call: String,
        /// Block.
        block: u64,
        /// Cause.
        message: String,
    },
    /// The block is not indexed yet.
    #[error("block {block} is not indexed yet (indexed head: {head})")]
    NotIndexed {
        /// Block asked for.
        block: u64,
        /// Indexed head.
        head: u64,
    },
}

/// The outcome of a verification.
#[derive(Debug, Default)]
pub struct Report {
    /// Figures compared.
    pub checked: usize,
    /// Figures that differ: `what: indexer X, chain Y`.
    pub differences: Vec<String>,
}

impl Report {
    fn compare<T: PartialEq + std::fmt::Display>(&mut self, what: impl Into<String>, indexed: T, chain: T) {
        self.checked += 1;
        if indexed != chain {
            self.differences.push(format!("{}: indexer {indexed}, chain {chain}", what.into()));
        }
    }
}

macro_rules! view {
    ($call:expr, $name:expr, $block:expr) => {
        $call.block(BlockId::number($block)).call().await.map_err(|e| VerifyError::Call {
            call: $name.to_string(),
            block: $block,
            message: e.to_string(),
        })?
    };
}

/// Compares supply, emissions, fees, stakes, work and claimable rewards at `block` with the chain.
pub async fn verify(
    store: &Store,
    provider: &DynProvider,
    manifest: &Manifest,
    block: u64,
) -> Result<Report, VerifyError> {
    let head = store.cursor().await?.map_or(0, |c| c.number);
    if block > head {
        return Err(VerifyError::NotIndexed { block, head });
    }
    let c = manifest.contracts;
    let (token, emissions) = (NeuroToken::new(c.token, provider), Emissions::new(c.emissions, provider));
    let (staking, fee_vault) = (StakingVault::new(c.staking, provider), FeeVault::new(c.fee_vault, provider));
    let mut report = Report::default();
    let total = |key: String| async move { store.total_at(&key, block).await };

    report.compare(
        "NeuroToken.totalSupply",
        total(keys::SUPPLY_TOTAL.into()).await?,
        view!(token.totalSupply(), "totalSupply", block),
    );
    report.compare(
        "Emissions.totalEmitted",
        total(keys::EMITTED.into()).await?,
        view!(emissions.totalEmitted(), "totalEmitted", block),
    );
    report.compare(
        "Emissions.totalForgone",
        total(keys::FORGONE.into()).await?,
        view!(emissions.totalForgone(), "totalForgone", block),
    );
    report.compare(
        "Emissions.totalClaimed",
        total(keys::CLAIMED.into()).await?,
        view!(emissions.totalClaimed(), "totalClaimed", block),
    );
    report.compare(
        "FeeVault.totalBurned",
        total(keys::FEES_BURNED.into()).await?,
        view!(fee_vault.totalBurned(), "totalBurned", block),
    );
    report.compare(
        "FeeVault.totalToTreasury",
        total(keys::FEES_TO_TREASURY.into()).await?,
        view!(fee_vault.totalToTreasury(), "totalToTreasury", block),
    );
    report.compare(
        "StakingVault.totalSupply",
        total(keys::STAKE_TOTAL.into()).await?,
        view!(staking.totalSupply(), "stNEURO totalSupply", block),
    );

    for (address, name) in [
        (c.timelock, "treasury"),
        (c.team_vesting, "TeamVesting"),
        (c.investor_vesting, "InvestorVesting"),
        (c.payments, "Payments"),
        (c.fee_vault, "FeeVault"),
        (c.emissions, "Emissions"),
        (c.staking, "StakingVault"),
    ] {
        let indexed = total(format!("{}{}", keys::BALANCE, address_key(&address))).await?;
        report.compare(
            format!("NeuroToken.balanceOf({name})"),
            indexed,
            view!(token.balanceOf(address), "balanceOf", block),
        );
    }

    for (account, bonded) in store.totals_with_prefix_at(keys::STAKE_BONDED, block).await? {
        let Ok(address) = account.parse::<Address>() else { continue };
        report.compare(
            format!("StakingVault.bondedStake({account})"),
            bonded,
            view!(staking.bondedStake(address), "bondedStake", block),
        );
    }
    for (account, unbonding) in store.totals_with_prefix_at(keys::STAKE_UNBONDING, block).await? {
        let Ok(address) = account.parse::<Address>() else { continue };
        let on_chain: U192 = view!(staking.unbonding(address), "unbonding", block).amount;
        report.compare(format!("StakingVault.unbonding({account})"), unbonding, U256::from(on_chain));
    }

    // The dispute court's validator stake, in total and per validator.
    let court = Disputes::new(c.disputes, provider);
    report.compare(
        "Disputes.totalStake",
        total(keys::VALIDATOR_TOTAL.into()).await?,
        view!(court.totalStake(), "totalStake", block),
    );
    for (validator, bonded) in store.totals_with_prefix_at(keys::VALIDATOR_BONDED, block).await? {
        let Ok(address) = validator.parse::<Address>() else { continue };
        report.compare(
            format!("Disputes.stakeOf({validator})"),
            bonded,
            view!(court.stakeOf(address), "stakeOf", block),
        );
        let unbonding = total(format!("{}{validator}", keys::VALIDATOR_UNBONDING)).await?;
        let on_chain: U192 = view!(court.unbondingOf(address), "unbondingOf", block).amount;
        report.compare(format!("Disputes.unbondingOf({validator})"), unbonding, U256::from(on_chain));
    }

    // Users' free deposits and every opened allowance's lock (amount, revocation). Their sum with the deposits
    // is not compared with the contract's balance: anyone can send it tokens outside a deposit.
    let payments = Payments::new(c.payments, provider);
    for (user, deposit) in store.totals_with_prefix_at(keys::DEPOSIT, block).await? {
        let Ok(address) = user.parse::<Address>() else { continue };
        report.compare(
            format!("Payments.deposits({user})"),
            deposit,
            view!(payments.deposits(address), "deposits", block),
        );
    }
    for (digest, locked) in store.totals_with_prefix_at(keys::LOCK, block).await? {
        let Ok(id) = digest.parse::<B256>() else { continue };
        let lock = view!(payments.lockOf(id), "lockOf", block);
        report.compare(format!("Payments.lockOf({digest}).amount"), locked, U256::from(lock.amount));
        let revoked = total(format!("{}{digest}", keys::LOCK_REVOKED)).await?;
        let on_chain = if lock.revoked { U256::from(lock.revokedEpoch) + U256::from(1) } else { U256::ZERO };
        report.compare(format!("Payments.lockOf({digest}).revokedEpoch + 1"), revoked, on_chain);
        report.compare(format!("Payments.lockOf({digest}).opened"), true, lock.opened);
    }

    // Work per (epoch, miner) and the rewards still claimable, from the stored events.
    let filter = EventFilter {
        contract: Some(schema::Emissions::CONTRACT.into()),
        names: vec![
            WorkRecorded::NAME.into(),
            EpochFinalized::NAME.into(),
            MinerRewardClaimed::NAME.into(),
            RewardHoldReleased::NAME.into(),
        ],
        ..Default::default()
    };
    let events = store.events(&filter, block, None).await?.events;
    // (units, burned fees) per (miner, epoch); (miner pool, total work, miner rate) per finalized epoch.
    let mut work: BTreeMap<(String, u64), (U256, U256)> = BTreeMap::new();
    let mut pools: BTreeMap<u64, (U256, U256, u64)> = BTreeMap::new();
    let mut claimed: Vec<(String, u64)> = Vec::new();
    // Rewards an upheld dispute forfeited: never owed (`pendingMinerReward` skips them).
    let mut forfeited: Vec<(String, u64)> = Vec::new();
    for e in &events {
        let epoch = e.amount(WorkRecorded::epoch).saturating_to::<u64>();
        match e.event.as_str() {
            WorkRecorded::NAME => {
                let entry = work.entry((e.arg(WorkRecorded::miner).to_ascii_lowercase(), epoch)).or_default();
                entry.0 += e.amount(WorkRecorded::units);
                entry.1 += e.amount(WorkRecorded::burnedFees);
            }
            EpochFinalized::NAME => {
                let rate = e.amount(EpochFinalized::minerRewardPerBurnBps).saturating_to::<u64>();
                pools.insert(epoch, (e.amount(EpochFinalized::minerPool), e.amount(EpochFinalized::totalWork), rate));
            }
            RewardHoldReleased::NAME => {
                if e.flag(RewardHoldReleased::forfeited) {
                    forfeited.push((e.arg(RewardHoldReleased::miner).to_ascii_lowercase(), epoch));
                }
            }
            _ => claimed.push((e.arg(MinerRewardClaimed::miner).to_ascii_lowercase(), epoch)),
        }
    }
    let mut pending: BTreeMap<String, (Vec<U256>, U256)> = BTreeMap::new();
    let mut burned_in_epoch: BTreeMap<u64, U256> = BTreeMap::new();
    for ((_, epoch), (_, burned)) in &work {
        *burned_in_epoch.entry(*epoch).or_default() += *burned;
    }
    for (epoch, burned) in &burned_in_epoch {
        let served = total(format!("{}{epoch}", keys::epoch::BURNED)).await?;
        report.compare(format!("epoch page: burned fees of epoch {epoch}"), served, *burned);
    }
    for ((miner, epoch), (units, burned)) in &work {
        let Ok(address) = miner.parse::<Address>() else { continue };
        let on_chain = view!(emissions.minerWork(U256::from(*epoch), address), "minerWork", block);
        report.compare(format!("Emissions.minerWork({epoch}, {miner})"), *units, U256::from(on_chain.units));
        report.compare(
            format!("Emissions.minerWork({epoch}, {miner}).burnedFees"),
            *burned,
            U256::from(on_chain.burnedFees),
        );
        // The aggregates the epoch pages and their miner pages serve.
        let keys = [keys::epoch::MINER_WORK, keys::epoch::MINER_BURNED].map(|p| format!("{p}{epoch}.{miner}"));
        let served = store.totals_at(&keys, block).await?;
        let units_served = served.first().copied().unwrap_or_default();
        let burned_served = served.get(1).copied().unwrap_or_default();
        report.compare(format!("epoch page: units of {miner} in {epoch}"), units_served, U256::from(on_chain.units));
        report.compare(
            format!("epoch page: burned fees of {miner} in {epoch}"),
            burned_served,
            U256::from(on_chain.burnedFees),
        );
        let entry = pending.entry(miner.clone()).or_default();
        entry.0.push(U256::from(*epoch));
        if let Some((pool, _, rate)) = pools.get(epoch)
            && !claimed.contains(&(miner.clone(), *epoch))
            && !forfeited.contains(&(miner.clone(), *epoch))
        {
            let total_burned = burned_in_epoch.get(epoch).copied().unwrap_or_default();
            entry.1 += schedule::capped_reward(*pool, *burned, total_burned, *rate).0;
        }
    }
    for (miner, (epochs, owed)) in pending {
        let Ok(address) = miner.parse::<Address>() else { continue };
        let on_chain = view!(emissions.pendingMinerReward(address, epochs), "pendingMinerReward", block);
        report.compare(format!("Emissions.pendingMinerReward({miner})"), owed, on_chain);
    }

    // Every proposal's state as the API derives it (votes, quorum at the snapshot, lifecycle) against the
    // Governor's, judged at the block's own timestamp.
    let timestamp = provider
        .get_block_by_number(BlockNumberOrTag::Number(block))
        .await
        .map_err(|e| VerifyError::Call { call: "eth_getBlockByNumber".into(), block, message: e.to_string() })?
        .map(|b| b.header.timestamp)
        .ok_or(VerifyError::Call { call: "eth_getBlockByNumber".into(), block, message: "no such block".into() })?;
    let governor = NeuroGovernor::new(c.governor, provider);
    let created = EventFilter {
        contract: Some(schema::NeuroGovernor::CONTRACT.into()),
        names: vec![ProposalCreated::NAME.into()],
        ..Default::default()
    };
    for proposal in store.events(&created, block, None).await?.events {
        let id = proposal.arg(ProposalCreated::proposalId).to_owned();
        let of_it = EventFilter {
            contract: Some(schema::NeuroGovernor::CONTRACT.into()),
            subject: Some(id.clone()),
            names: proposals::LIFECYCLE.iter().map(|n| (*n).to_owned()).collect(),
            ..Default::default()
        };
        let events = store.events(&of_it, block, None).await?.events;
        let quorum = store.total_at(&proposals::quorum_key(&id), block).await?;
        let tally = proposals::Tally::read(store, &id, block).await?;
        let votes = view!(governor.proposalVotes(proposal.amount(ProposalCreated::proposalId)), "proposalVotes", block);
        report.compare(format!("NeuroGovernor.proposalVotes({id}).forVotes"), tally.for_votes, votes.forVotes);
        report.compare(format!("NeuroGovernor.proposalVotes({id}).againstVotes"), tally.against, votes.againstVotes);
        report.compare(format!("NeuroGovernor.proposalVotes({id}).abstainVotes"), tally.abstain, votes.abstainVotes);
        let mut facts = proposals::facts(&proposal, &events, tally, (!quorum.is_zero()).then_some(quorum));
        if let Some(of_operation) = proposals::timelock_filter(c.governor, &proposal) {
            proposals::apply_timelock(&mut facts, &store.events(&of_operation, block, None).await?.events);
        }
        let derived = proposals::state(&facts, timestamp).as_str();
        let on_chain = view!(governor.state(proposal.amount(ProposalCreated::proposalId)), "state", block);
        let on_chain = ProposalState::from_chain(on_chain).map_or("unknown", ProposalState::as_str);
        report.compare(format!("NeuroGovernor.state({id})"), derived, on_chain);
    }
    Ok(report)
}
