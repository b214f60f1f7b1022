//! The indexer's vocabulary: every contract, event and argument name it reads, declared once.
//!
//! Code names events and arguments only through these constants (`Emissions::WorkRecorded::units`), so a name
//! that is not declared here does not compile, and [`tests`] check every declared name against the ABI documents
//! the contracts export (`protocol/abi`). Renaming an event argument in Solidity therefore fails a test instead
//! of making the API serve empty values.

macro_rules! schema {
    ($( $contract:ident { $( $event:ident { $($arg:ident),* $(,)? } )* } )*) => {
        $(
            #[doc = concat!("Events of `", stringify!($contract), "` the indexer reads.")]
            #[allow(non_snake_case)]
            pub mod $contract {
                /// The contract's manifest name.
                pub const CONTRACT: &str = stringify!($contract);
                $(
                    #[doc = concat!("`", stringify!($contract), ".", stringify!($event), "` and the arguments read.")]
                    #[allow(non_snake_case, non_upper_case_globals)]
                    pub mod $event {
                        /// The event's name.
                        pub const NAME: &str = stringify!($event);
                        $(
                            #[doc = concat!("Argument `", stringify!($arg), "`.")]
                            pub const $arg: &str = stringify!($arg);
                        )*
                    }
                )*
            }
        )*

        /// Every declared `(contract, event, arguments)`.
        pub const ALL: &[(&str, &str, &[&str])] =
            &[$($((stringify!($contract), stringify!($event), &[$(stringify!($arg)),*]),)*)*];
    };
}

schema! {
    NeuroToken {
        Transfer { from, to, value }
        EmissionMinted { amount }
    }
    Emissions {
        EpochFinalized {
            epoch, emission, totalWork, minerPool, modelPool, forgone, minerRewardPerBurnBps, modelRewardPerBurnBps
        }
        WorkRecorded { epoch, miner, modelId, units, burnedFees }
        MinerRewardClaimed { epoch, miner, amount, forgone }
        ModelRewardClaimed { epoch, modelId, amount, forgone }
        ValidatorFeesRecorded { epoch, validator, fees, burnedFees }
        ValidatorPoolFinalized { epoch, pool, totalBurnedFees, forgone, rewardPerBurnBps }
        ValidatorRewardClaimed { epoch, validator, amount, forgone }
        RewardHoldReleased { epoch, miner, forfeited }
    }
    StakingVault {
        Transfer { from, to, value }
        UnbondingStarted { account, totalUnbonding }
        Withdrawn { account }
        Slashed { account, reasonHash, fromBonded, fromUnbonding, burned, toTreasury }
    }
    Payments {
        Redeemed { allowanceDigest, user, miner, epoch, amount, toMiner, toTreasury, burned }
        Deposited { user, amount }
        Withdrawn { user, amount }
        AllowanceOpened { allowanceDigest, user, miner, amount, expiry }
        AllowanceRevoked { allowanceDigest, user, epoch }
        AllowanceReleased { allowanceDigest, user, amount }
    }
    FeeVault {
        FeesFlushed { epoch, burned, toTreasury }
    }
    UsageLedger {
        UsageSubmitted { epoch, miner, modelId, batchRoot, batchSize, tokens, fees }
    }
    NodeRegistry {
        NodeRegistered { operator, endpoint, receiptSigner, models }
        NodeUpdated { operator, endpoint, receiptSigner }
        NodeModelsSet { operator, models }
        NodeDeregistered { operator }
    }
    Disputes {
        ValidatorStaked { validator, amount, total }
        ValidatorUnbonding { validator, amount, releaseTime }
        ValidatorWithdrawn { validator, amount }
        DisputeOpened { id, challenger, accused, modelId, epoch, receiptDigest, votingEnds }
        DisputeDelegated { id, user, validator }
        DisputeVoted { id, voter, uphold, weight }
        DisputeResolved { id, status, upholdWeight, rejectWeight, slashed }
        ProbeReported {
            epoch, miner, validator, validatorStake, sent, passed, failed, invalid, timedOut, medianTtftMs,
            medianMilliTokensPerSecond
        }
    }
    ModelRegistry {
        ModelProposed { modelId, owner, name, metadataURI, minPricePerMTok }
        ModelStatusChanged { modelId, status }
        ModelUpdated { modelId, metadataURI, minPricePerMTok }
        ModelOwnershipTransferred { modelId, newOwner }
    }
    NeuroTimelock {
        CallExecuted { id }
        Cancelled { id }
    }
    NeuroGovernor {
        ProposalCreated { proposalId, proposer, targets, values, calldatas, voteStart, voteEnd, description }
        ProposalQueued { proposalId, etaSeconds }
        ProposalExecuted { proposalId }
        ProposalCanceled { proposalId }
        VoteCast { voter, proposalId, support, weight }
        VoteCastWithParams { voter, proposalId, support, weight }
    }
}

/// Arguments that fill an event's `account` lookup column, first present wins.
pub const LOOKUP_ACCOUNT: [&str; 9] =
    ["miner", "account", "operator", "voter", "user", "proposer", "owner", "validator", "accused"];
/// Argument that fills the `epoch` lookup column.
pub const LOOKUP_EPOCH: &str = "epoch";
/// Arguments that fill the `subject` lookup column, first present wins: a dispute's (or timelock operation's)
/// `id` before the model it concerns, so that all of a dispute's events share one subject. An allowance's
/// lifecycle (opened, revoked, released, revealed) has its digest as subject; a redemption keeps its model.
pub const LOOKUP_SUBJECT: [&str; 4] = ["id", "modelId", "proposalId", "allowanceDigest"];

#[cfg(test)]
mod tests {
    use alloy::json_abi::JsonAbi;
    use neuro_protocol::abi;

    use super::*;

    fn abi_of(contract: &str) -> JsonAbi {
        let name = abi::abi_name(contract).unwrap_or_else(|| panic!("{contract} has no ABI"));
        let json = abi::abi_json(name).unwrap_or_else(|| panic!("ABI {name} is not embedded"));
        serde_json::from_str(json).unwrap_or_else(|e| panic!("ABI {name}: {e}"))
    }

    #[test]
    fn every_declared_name_is_in_the_exported_abi() {
        for (contract, event, args) in ALL {
            let abi = abi_of(contract);
            let events = abi.events.get(*event).unwrap_or_else(|| panic!("{contract} has no event {event}"));
            for arg in *args {
                assert!(
                    events.iter().all(|e| e.inputs.iter().any(|p| p.name == *arg)),
                    "{contract}.{event} has no argument `{arg}`"
                );
            }
        }
    }

    #[test]
    fn every_lookup_argument_names_some_event_argument() {
        let abis: Vec<JsonAbi> = ALL.iter().map(|(contract, ..)| abi_of(contract)).collect();
        for arg in LOOKUP_ACCOUNT.iter().chain(&LOOKUP_SUBJECT).chain([&LOOKUP_EPOCH]) {
            assert!(
                abis.iter().flat_map(JsonAbi::events).any(|e| e.inputs.iter().any(|p| p.name == *arg)),
                "no indexed event has an argument `{arg}`"
            );
        }
    }
}
