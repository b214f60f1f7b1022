// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorProposalGuardian} from "@openzeppelin/contracts/governance/extensions/GovernorProposalGuardian.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {
    GovernorVotesQuorumFraction
} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {Bounds} from "./libraries/Bounds.sol";

/// @title The Neuro DAO's Governor (Tally-compatible)
/// @notice Votes are stNEURO (one staked NEURO, one vote) on a timestamp clock; passed proposals execute through
/// the timelock, which owns every parameter. An emergency guardian (a Safe) may cancel any proposal.
/// @dev Every setting is bounded: a proposal setting one outside its bounds reverts on execution.
contract NeuroGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl,
    GovernorProposalGuardian
{
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

    /// @notice Initial settings of the Governor.
    struct Settings {
        uint48 votingDelay;
        uint32 votingPeriod;
        uint256 proposalThreshold;
        uint256 quorumPercent;
    }

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
    }

    // Bounded settings: the hooks below run for the constructor and for governance updates alike.

    function _setVotingDelay(uint48 newVotingDelay) internal override {
        Bounds.check(newVotingDelay, MIN_VOTING_DELAY, MAX_VOTING_DELAY);
        super._setVotingDelay(newVotingDelay);
    }

    function _setVotingPeriod(uint32 newVotingPeriod) internal override {
        Bounds.check(newVotingPeriod, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD);
        super._setVotingPeriod(newVotingPeriod);
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
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
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

    function _validateCancel(uint256 proposalId, address caller)
        internal
        view
        override(Governor, GovernorProposalGuardian)
        returns (bool)
    {
        return super._validateCancel(proposalId, caller);
    }
}
