//! A Governor proposal's state, derived exactly as `NeuroGovernor.state()` derives it (OpenZeppelin's `Governor`
//! with simple counting and `GovernorTimelockControl`), from the indexed events and the quorum at the proposal's
//! snapshot.
//!
//! The quorum is not derivable from events alone: it is the larger of a fraction of the stNEURO supply at the
//! snapshot and a minimum quorum, both checkpointed by timestamp, while totals are indexed by block. So the
//! ingester asks the Governor once per proposal, `quorum(voteStart)`, at the first committed block whose
//! timestamp is past the snapshot (the answer never changes after that), and stores it as a total versioned by
//! that block: a reorganisation rolls it back with everything else. `verify` reconciles every proposal's derived
//! state with `Governor.state()`.

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    sol_types::SolValue,
};

use crate::{
    schema::{
        NeuroGovernor::{ProposalCanceled, ProposalCreated, ProposalExecuted, ProposalQueued},
        NeuroTimelock::{CallExecuted, Cancelled},
    },
    store::EventRow,
};

/// Prefix of the stored quorum of a proposal (by decimal id).
pub const QUORUM_KEY: &str = "gov.quorum.";

/// The stored key of proposal `id`'s quorum.
pub fn quorum_key(id: &str) -> String {
    format!("{QUORUM_KEY}{id}")
}

/// Prefixes of a proposal's vote tallies (by decimal id), kept at ingestion so that reading a proposal costs the
/// same for ten voters and for ten thousand.
pub const VOTES_FOR_KEY: &str = "gov.votes.for.";
/// Votes against.
pub const VOTES_AGAINST_KEY: &str = "gov.votes.against.";
/// Votes abstaining.
pub const VOTES_ABSTAIN_KEY: &str = "gov.votes.abstain.";
/// Ballots cast.
pub const VOTERS_KEY: &str = "gov.voters.";

/// The tally key of proposal `id` for a vote's `support` (GovernorCountingSimple: 0 against, 1 for, 2 abstain;
/// the Governor accepts no other value).
pub fn tally_key(id: &str, support: &str) -> String {
    match support {
        "0" => format!("{VOTES_AGAINST_KEY}{id}"),
        "1" => format!("{VOTES_FOR_KEY}{id}"),
        _ => format!("{VOTES_ABSTAIN_KEY}{id}"),
    }
}

/// A proposal's votes as kept at ingestion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// For.
    pub for_votes: U256,
    /// Against.
    pub against: U256,
    /// Abstain.
    pub abstain: U256,
    /// Ballots.
    pub voters: u64,
}

impl Tally {
    /// Proposal `id`'s tally at block `at`.
    pub async fn read(store: &crate::store::Store, id: &str, at: u64) -> Result<Self, crate::store::StoreError> {
        Ok(Self {
            for_votes: store.total_at(&format!("{VOTES_FOR_KEY}{id}"), at).await?,
            against: store.total_at(&format!("{VOTES_AGAINST_KEY}{id}"), at).await?,
            abstain: store.total_at(&format!("{VOTES_ABSTAIN_KEY}{id}"), at).await?,
            voters: store.total_at(&format!("{VOTERS_KEY}{id}"), at).await?.saturating_to(),
        })
    }
}

/// The filter of the timelock's events of the operation `created` becomes once queued (executed or cancelled
/// directly on the timelock, the Governor emits nothing); none when the event is not a proposal's creation.
pub fn timelock_filter(governor: Address, created: &EventRow) -> Option<crate::store::EventFilter> {
    let operation = timelock_operation(governor, created)?;
    Some(crate::store::EventFilter {
        contract: Some(crate::schema::NeuroTimelock::CONTRACT.into()),
        subject: Some(format!("{operation:#x}")),
        ..Default::default()
    })
}

/// The lifecycle events of a proposal (its votes are in its [`Tally`]).
pub const LIFECYCLE: [&str; 4] =
    [ProposalCreated::NAME, ProposalQueued::NAME, ProposalExecuted::NAME, ProposalCanceled::NAME];

/// `IGovernor.ProposalState`, in its on-chain order, plus the one state an indexer can be in that the chain
/// cannot: voting is over but the quorum has not been read yet at the block asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalState {
    /// Before the snapshot.
    Pending,
    /// Voting.
    Active,
    /// Canceled by the proposer or the guardian.
    Canceled,
    /// Voting over without quorum, or without more for than against.
    Defeated,
    /// Passed, not queued yet.
    Succeeded,
    /// In the timelock.
    Queued,
    /// Never reported by a timelocked Governor.
    Expired,
    /// Executed.
    Executed,
    /// Voting over, for > against, and the quorum at the snapshot not yet indexed at this block.
    VotingClosed,
}

impl ProposalState {
    /// The on-chain enum value's state (`None` beyond it).
    pub fn from_chain(value: u8) -> Option<Self> {
        use ProposalState::*;
        [Pending, Active, Canceled, Defeated, Succeeded, Queued, Expired, Executed].get(usize::from(value)).copied()
    }

    /// The name the API serves.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Active => "Active",
            Self::Canceled => "Canceled",
            Self::Defeated => "Defeated",
            Self::Succeeded => "Succeeded",
            Self::Queued => "Queued",
            Self::Expired => "Expired",
            Self::Executed => "Executed",
            Self::VotingClosed => "VotingClosed",
        }
    }
}

/// What the state depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProposalFacts {
    /// `ProposalCanceled` seen.
    pub canceled: bool,
    /// `ProposalExecuted` seen.
    pub executed: bool,
    /// `ProposalQueued` seen.
    pub queued: bool,
    /// Snapshot (timestamp).
    pub vote_start: U256,
    /// Deadline (timestamp).
    pub vote_end: U256,
    /// Votes for.
    pub for_votes: U256,
    /// Votes against.
    pub against: U256,
    /// Votes abstaining.
    pub abstain: U256,
    /// Quorum at the snapshot, once read.
    pub quorum: Option<U256>,
    /// Ballots cast.
    pub voters: u64,
    /// The timelock executed the proposal's operation (possibly directly, bypassing the Governor).
    pub timelock_executed: bool,
    /// The timelock's operation was cancelled (possibly directly on the timelock).
    pub timelock_cancelled: bool,
}

/// The timelock operation a queued proposal becomes, as `GovernorTimelockControl` schedules it:
/// `hashOperationBatch(targets, values, calldatas, 0, bytes20(governor) ^ keccak256(description))`. `None` when
/// the stored arguments do not parse (they always do for events the Governor emitted).
pub fn timelock_operation(governor: Address, created: &EventRow) -> Option<B256> {
    let list = |name: &str| -> Vec<String> {
        created
            .args
            .get(name)
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let targets: Vec<Address> = list(ProposalCreated::targets).iter().map(|t| t.parse().ok()).collect::<Option<_>>()?;
    let values: Vec<U256> = list(ProposalCreated::values).iter().map(|v| v.parse().ok()).collect::<Option<_>>()?;
    let calldatas: Vec<Bytes> =
        list(ProposalCreated::calldatas).iter().map(|c| c.parse().ok()).collect::<Option<_>>()?;
    let description_hash = keccak256(created.arg(ProposalCreated::description).as_bytes());
    let mut salt = description_hash;
    for (byte, governor_byte) in salt.iter_mut().zip(governor.as_slice()) {
        *byte ^= governor_byte;
    }
    Some(keccak256((targets, values, calldatas, B256::ZERO, salt).abi_encode_params()))
}

/// Marks `facts` with what the timelock did to the proposal's operation, from the timelock's events of that
/// operation (`CallExecuted`, `Cancelled`).
pub fn apply_timelock(facts: &mut ProposalFacts, operation_events: &[EventRow]) {
    for e in operation_events {
        match e.event.as_str() {
            CallExecuted::NAME => facts.timelock_executed = true,
            Cancelled::NAME => facts.timelock_cancelled = true,
            _ => {}
        }
    }
}

/// The facts of the proposal created by `created`, from its lifecycle events (`ProposalQueued`,
/// `ProposalExecuted`, `ProposalCanceled`; others are ignored), its tally and its quorum.
pub fn facts(created: &EventRow, events: &[EventRow], tally: Tally, quorum: Option<U256>) -> ProposalFacts {
    let mut facts = ProposalFacts {
        vote_start: created.amount(ProposalCreated::voteStart),
        vote_end: created.amount(ProposalCreated::voteEnd),
        quorum,
        for_votes: tally.for_votes,
        against: tally.against,
        abstain: tally.abstain,
        voters: tally.voters,
        ..Default::default()
    };
    for e in events {
        match e.event.as_str() {
            ProposalQueued::NAME => facts.queued = true,
            ProposalExecuted::NAME => facts.executed = true,
            ProposalCanceled::NAME => facts.canceled = true,
            _ => {}
        }
    }
    facts
}

/// The state at a block whose timestamp is `now`, by the Governor's own rules: `Pending` while
/// `now <= voteStart`, `Active` while `now <= voteEnd`; then quorum (for + abstain ≥ quorum) and more for than
/// against make it `Succeeded`, anything else `Defeated`.
pub fn state(facts: &ProposalFacts, now: u64) -> ProposalState {
    let now = U256::from(now);
    if facts.executed {
        ProposalState::Executed
    } else if facts.canceled {
        ProposalState::Canceled
    } else if now <= facts.vote_start {
        ProposalState::Pending
    } else if now <= facts.vote_end {
        ProposalState::Active
    } else if facts.for_votes <= facts.against {
        ProposalState::Defeated
    } else if facts.queued {
        // GovernorTimelockControl: a queued proposal whose operation the timelock ran or cancelled directly.
        if facts.timelock_executed {
            ProposalState::Executed
        } else if facts.timelock_cancelled {
            ProposalState::Canceled
        } else {
            ProposalState::Queued
        }
    } else {
        match facts.quorum {
            Some(quorum) if facts.for_votes.saturating_add(facts.abstain) >= quorum => ProposalState::Succeeded,
            Some(_) => ProposalState::Defeated,
            None => ProposalState::VotingClosed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(for_votes: u64, against: u64, abstain: u64, quorum: Option<u64>) -> ProposalFacts {
        ProposalFacts {
            vote_start: U256::from(100),
            vote_end: U256::from(200),
            for_votes: U256::from(for_votes),
            against: U256::from(against),
            abstain: U256::from(abstain),
            quorum: quorum.map(U256::from),
            ..Default::default()
        }
    }

    #[test]
    fn the_governors_rules() {
        use ProposalState::*;
        let passing = facts(10, 1, 0, Some(10));
        assert_eq!(state(&passing, 100), Pending, "the snapshot itself is still pending");
        assert_eq!(state(&passing, 101), Active);
        assert_eq!(state(&passing, 200), Active, "the deadline itself is still active");
        assert_eq!(state(&passing, 201), Succeeded);
        assert_eq!(state(&facts(9, 1, 0, Some(10)), 201), Defeated, "for > against but short of quorum");
        assert_eq!(state(&facts(9, 1, 1, Some(10)), 201), Succeeded, "abstentions count toward quorum");
        assert_eq!(state(&facts(10, 10, 0, Some(1)), 201), Defeated, "a tie defeats");
        assert_eq!(state(&facts(10, 1, 0, None), 201), VotingClosed, "quorum not read yet");
        assert_eq!(state(&facts(1, 10, 0, None), 201), Defeated, "defeated whatever the quorum");
        assert_eq!(state(&ProposalFacts { queued: true, ..passing }, 300), Queued);
        assert_eq!(state(&ProposalFacts { executed: true, queued: true, ..passing }, 300), Executed);
        assert_eq!(state(&ProposalFacts { canceled: true, ..passing }, 150), Canceled);
        let queued = ProposalFacts { queued: true, ..passing };
        assert_eq!(state(&ProposalFacts { timelock_executed: true, ..queued }, 300), Executed, "run on the timelock");
        assert_eq!(state(&ProposalFacts { timelock_cancelled: true, ..queued }, 300), Canceled);
        assert_eq!(ProposalState::from_chain(4), Some(Succeeded));
        assert_eq!(ProposalState::from_chain(8), None);
    }
}
