// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorProposalGuardian} from "@openzeppelin/contracts/governance/extensions/GovernorProposalGuardian.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorStorage} from "@openzeppelin/contracts/governance/extensions/GovernorStorage.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {
    GovernorVotesQuorumFraction
} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {StakingVault} from "./StakingVault.sol";
import {ISlashLatency} from "./interfaces/ISlashLatency.sol";
import {Bounds} from "./libraries/Bounds.sol";

/// @title The Neuro DAO's Governor (Tally-compatible)
/// @notice Votes are stNEURO (one staked NEURO, one vote) on a timestamp clock; passed proposals execute through
/// the timelock, which owns every parameter. Proposals are enumerable and can be queued, executed or cancelled
/// by id (`GovernorStorage`). Quorum is the larger of a fraction of the stNEURO supply and an absolute minimum,
/// so the first stakers cannot decide alone. An emergency guardian (a Safe) may cancel proposals until its
/// expiry, except those that change the guardian or its expiry. A proposal that slashes an account freezes that
/// account's withdrawals until the slash could have executed.
/// @dev Every setting is bounded: a proposal setting one outside its bounds reverts on execution. Voting delay +
/// voting period + timelock delay + `SLASH_EXECUTION_MARGIN` stays below the staking vault's unbonding period
/// (checked here, by the vault and by the timelock).
contract NeuroGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorStorage,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl,
    GovernorProposalGuardian,
    ISlashLatency
{
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Bounds of the voting delay (seconds).
    uint256 public constant MIN_VOTING_DELAY = 1;
    /// @notice Upper bound of the voting delay.
    uint256 public constant MAX_VOTING_DELAY = 14 days;
    /// @notice Bounds of the voting period (seconds).
    uint256 public constant MIN_VOTING_PERIOD = 1 hours;
    /// @notice Upper bound of the voting period.
    uint256 public constant MAX_VOTING_PERIOD = 30 days;
    /// @notice Bounds of the proposal threshold (stNEURO wei).
    uint256 public constant MIN_PROPOSAL_THRESHOLD = 1 ether;
    /// @notice Upper bound of the proposal threshold.
    uint256 public constant MAX_PROPOSAL_THRESHOLD = 10_000_000 ether;
    /// @notice Bounds of the quorum, in percent of the stNEURO supply.
    uint256 public constant MIN_QUORUM_PERCENT = 1;
    /// @notice Upper bound of the quorum percentage.
    uint256 public constant MAX_QUORUM_PERCENT = 30;
    /// @notice Bounds of the absolute minimum quorum (stNEURO wei).
    uint256 public constant MIN_MINIMUM_QUORUM = 1000 ether;
    /// @notice Upper bound of the absolute minimum quorum.
    uint256 public constant MAX_MINIMUM_QUORUM = 100_000_000 ether;
    /// @notice Longest the guardian's term may reach into the future when set.
    uint256 public constant MAX_GUARDIAN_TERM = 2 * 365 days;
    /// @notice Time allowed, after a slash becomes executable, for someone to execute it.
    uint256 public constant SLASH_EXECUTION_MARGIN = 1 days;

    /// @notice After this time the guardian can no longer cancel proposals.
    uint256 public guardianExpiry;
    Checkpoints.Trace208 private _minimumQuorum;
    /// @notice Proposals whose every action changes the guardian or its expiry: the guardian cannot cancel them.
    /// (A single guardian setter among other actions protects nothing: it could shield any proposal.)
    mapping(uint256 proposalId => bool) public touchesGuardian;
    mapping(address account => uint256[] proposalIds) private _slashProposals;

    /// @notice Initial settings of the Governor.
    struct Settings {
        uint48 votingDelay;
        uint32 votingPeriod;
        uint256 proposalThreshold;
        uint256 quorumPercent;
        uint256 minimumQuorum;
        uint256 guardianExpiry;
    }

    /// @notice The absolute minimum quorum changed.
    event MinimumQuorumSet(uint256 oldQuorum, uint256 newQuorum);
    /// @notice The guardian's expiry changed.
    event GuardianExpirySet(uint256 oldExpiry, uint256 newExpiry);

    /// @notice The voting delay, voting period and timelock delay would let stake unbond before a slash executes.
    error SlashLatencyTooLong(uint256 latency, uint256 unbondingPeriod);
    /// @notice A proposal that would slash the account is still pending, active, succeeded or queued.
    error SlashProposalLive(address account, uint256 proposalId);

    /// @notice Deploys the Governor.
    /// @param votes stNEURO (the staking vault).
    /// @param timelock The timelock that executes proposals and owns the parameters.
    /// @param guardian Emergency guardian allowed to cancel proposals (a Safe; zero for none).
    /// @param settings Initial, bounded settings.
    constructor(IVotes votes, TimelockController timelock, address guardian, Settings memory settings)
        Governor("Neuro DAO")
        GovernorSettings(settings.votingDelay, settings.votingPeriod, settings.proposalThreshold)
        GovernorVotes(votes)
        GovernorVotesQuorumFraction(settings.quorumPercent)
        GovernorTimelockControl(timelock)
    {
        if (guardian != address(0)) _setProposalGuardian(guardian);
        _setGuardianExpiry(settings.guardianExpiry);
        _setMinimumQuorum(settings.minimumQuorum);
        _checkSlashLatency(settings.votingDelay, settings.votingPeriod, timelock.getMinDelay());
    }

    // ---------------------------------------------------------------- slash latency

    /// @inheritdoc ISlashLatency
    function slashLatency() public view returns (uint256) {
        return
            votingDelay() + votingPeriod() + TimelockController(payable(timelock())).getMinDelay()
                + SLASH_EXECUTION_MARGIN;
    }

    /// @inheritdoc ISlashLatency
    function checkTimelockDelay(uint256 newDelay) external view {
        _checkSlashLatency(votingDelay(), votingPeriod(), newDelay);
    }

    // ---------------------------------------------------------------- slash freezes

    /// @notice Lifts the withdrawal freeze of `account` once no proposal that would slash it is live (pending,
    /// active, succeeded or queued). Permissionless: a freeze outlives neither a cancelled nor a defeated proposal.
    /// @dev O(proposals that named the account): the caller pays for what proposers added.
    /// @param account A frozen account.
    function releaseWithdrawals(address account) external {
        uint256[] storage ids = _slashProposals[account];
        for (uint256 i; i < ids.length; ++i) {
            ProposalState s = state(ids[i]);
            if (
                s == ProposalState.Pending || s == ProposalState.Active || s == ProposalState.Succeeded
                    || s == ProposalState.Queued
            ) revert SlashProposalLive(account, ids[i]);
        }
        delete _slashProposals[account];
        StakingVault(address(token())).releaseWithdrawals(account);
    }

    /// @notice The proposals that would slash `account` (live or not, until released).
    /// @param account An account.
    function slashProposalsOf(address account) external view returns (uint256[] memory) {
        return _slashProposals[account];
    }

    // ---------------------------------------------------------------- quorum and guardian

    /// @notice Quorum at `timepoint`: the larger of the fraction of the stNEURO supply and the minimum quorum.
    /// @param timepoint A past timestamp (a proposal's snapshot).
    function quorum(uint256 timepoint) public view override(Governor, GovernorVotesQuorumFraction) returns (uint256) {
        return Math.max(super.quorum(timepoint), _minimumQuorum.upperLookupRecent(SafeCast.toUint48(timepoint)));
    }

    /// @notice The absolute minimum quorum in force now.
    function minimumQuorum() external view returns (uint256) {
        return _minimumQuorum.latest();
    }

    /// @notice Sets the absolute minimum quorum (through governance).
    /// @param newQuorum stNEURO wei, within [MIN_MINIMUM_QUORUM, MAX_MINIMUM_QUORUM].
    function setMinimumQuorum(uint256 newQuorum) external onlyGovernance {
        _setMinimumQuorum(newQuorum);
    }

    /// @notice Sets when the guardian's power to cancel ends (through governance; the guardian cannot cancel
    /// this proposal).
    /// @param newExpiry Timestamp, at most MAX_GUARDIAN_TERM from now (a past time ends the power at once).
    function setGuardianExpiry(uint256 newExpiry) external onlyGovernance {
        _setGuardianExpiry(newExpiry);
    }

    // Bounded settings: the hooks below run for the constructor and for governance updates alike. The slash
    // latency is checked at the end of the constructor (the timelock is not set while these first run).

    function _setVotingDelay(uint48 newVotingDelay) internal override {
        Bounds.check(newVotingDelay, MIN_VOTING_DELAY, MAX_VOTING_DELAY);
        if (timelock() != address(0)) {
            _checkSlashLatency(newVotingDelay, votingPeriod(), TimelockController(payable(timelock())).getMinDelay());
        }
        super._setVotingDelay(newVotingDelay);
    }

    function _setVotingPeriod(uint32 newVotingPeriod) internal override {
        Bounds.check(newVotingPeriod, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD);
        if (timelock() != address(0)) {
            _checkSlashLatency(votingDelay(), newVotingPeriod, TimelockController(payable(timelock())).getMinDelay());
        }
        super._setVotingPeriod(newVotingPeriod);
    }

    function _checkSlashLatency(uint256 delay, uint256 period, uint256 timelockDelay) private view {
        uint256 latency = delay + period + timelockDelay + SLASH_EXECUTION_MARGIN;
        uint256 unbonding = StakingVault(address(token())).unbondingPeriod();
        if (latency >= unbonding) revert SlashLatencyTooLong(latency, unbonding);
    }

    function _setMinimumQuorum(uint256 newQuorum) private {
        Bounds.check(newQuorum, MIN_MINIMUM_QUORUM, MAX_MINIMUM_QUORUM);
        emit MinimumQuorumSet(_minimumQuorum.latest(), newQuorum);
        _minimumQuorum.push(clock(), SafeCast.toUint208(newQuorum));
    }

    function _setGuardianExpiry(uint256 newExpiry) private {
        Bounds.check(newExpiry, 0, block.timestamp + MAX_GUARDIAN_TERM);
        emit GuardianExpirySet(guardianExpiry, newExpiry);
        guardianExpiry = newExpiry;
    }

    /// @dev Records the proposal (GovernorStorage), marks it if it changes the guardian, and freezes the
    /// withdrawals of every account it would slash until the slash could have executed.
    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal override(Governor, GovernorStorage) returns (uint256 proposalId) {
        proposalId = super._propose(targets, values, calldatas, description, proposer);
        uint256 slashableUntil = proposalDeadline(proposalId) + TimelockController(payable(timelock())).getMinDelay()
            + SLASH_EXECUTION_MARGIN;
        // A slash proposal posts a bond (returned if the slash executes, forfeited otherwise): freezing others'
        // withdrawals is never free.
        if (_freezeSlashed(targets, calldatas, slashableUntil, proposalId)) {
            StakingVault(address(token())).holdSlashBond(proposer, proposalId);
        }
        bool onlyGuardianChanges = targets.length > 0;
        for (uint256 i; i < targets.length; ++i) {
            bytes4 selector = calldatas[i].length >= 4 ? bytes4(calldatas[i]) : bytes4(0);
            onlyGuardianChanges = onlyGuardianChanges && targets[i] == address(this)
                && (selector == this.setProposalGuardian.selector || selector == this.setGuardianExpiry.selector);
        }
        if (onlyGuardianChanges) touchesGuardian[proposalId] = true;
    }

    /// @dev Freezes every account the actions would slash until `until`; records them when `proposalId` is new
    /// (non-zero). Returns whether any action slashes.
    function _freezeSlashed(address[] memory targets, bytes[] memory calldatas, uint256 until, uint256 proposalId)
        private
        returns (bool slashes)
    {
        StakingVault vault = StakingVault(address(token()));
        for (uint256 i; i < targets.length; ++i) {
            bytes memory data = calldatas[i];
            if (targets[i] != address(vault) || data.length < 36 || bytes4(data) != StakingVault.slash.selector) {
                continue;
            }
            address account;
            assembly ("memory-safe") {
                account := and(mload(add(data, 36)), 0xffffffffffffffffffffffffffffffffffffffff)
            }
            if (proposalId != 0) _slashProposals[account].push(proposalId);
            vault.freezeWithdrawals(account, until);
            slashes = true;
        }
    }

    function _setProposalThreshold(uint256 newProposalThreshold) internal override {
        Bounds.check(newProposalThreshold, MIN_PROPOSAL_THRESHOLD, MAX_PROPOSAL_THRESHOLD);
        super._setProposalThreshold(newProposalThreshold);
    }

    function _updateQuorumNumerator(uint256 newQuorumNumerator) internal override {
        Bounds.check(newQuorumNumerator, MIN_QUORUM_PERCENT, MAX_QUORUM_PERCENT);
        super._updateQuorumNumerator(newQuorumNumerator);
    }

    // Solidity requires explicit resolution of the functions several extensions define.

    /// @inheritdoc Governor
    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    /// @inheritdoc Governor
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    /// @inheritdoc Governor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48 eta) {
        eta = super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
        // However late it is queued, and whatever the timelock delay became, the accused stay frozen until the
        // slash can execute (plus the margin).
        _freezeSlashed(targets, calldatas, eta + SLASH_EXECUTION_MARGIN, 0);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }

    /// @dev The guardian may cancel any proposal until `guardianExpiry`, except one that changes the guardian or
    /// its expiry; otherwise (and after expiry) only the proposer may, while the proposal is pending.
    function _validateCancel(uint256 proposalId, address caller)
        internal
        view
        override(Governor, GovernorProposalGuardian)
        returns (bool)
    {
        address guardian = proposalGuardian();
        if (
            guardian != address(0) && caller == guardian && block.timestamp < guardianExpiry
                && !touchesGuardian[proposalId]
        ) return true;
        return Governor._validateCancel(proposalId, caller);
    }
}
