// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {Emissions} from "../src/Emissions.sol";
import {NeuroGovernor} from "../src/NeuroGovernor.sol";
import {NeuroTimelock} from "../src/NeuroTimelock.sol";
import {StakingVault} from "../src/StakingVault.sol";
import {ParameterOutOfBounds} from "../src/libraries/Bounds.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract GovernanceTest is NeuroFixture {
    address internal proposer = makeAddr("proposer");
    address internal voterA = makeAddr("voterA");
    address internal voterB = makeAddr("voterB");

    function setUp() public override {
        super.setUp();
        stakeAs(proposer, 10_000 ether);
        // voterA alone clears the 10M minimum quorum.
        stakeAs(voterA, 12_000_000 ether);
        stakeAs(voterB, 4_000_000 ether);
        vm.warp(block.timestamp + 1); // votes are read at a past timepoint
    }

    function _proposal(bytes memory call, address target)
        internal
        pure
        returns (address[] memory targets, uint256[] memory values, bytes[] memory calldatas)
    {
        targets = new address[](1);
        targets[0] = target;
        values = new uint256[](1);
        calldatas = new bytes[](1);
        calldatas[0] = call;
    }

    function _proposeMinerShare(uint256 bps, string memory description)
        internal
        returns (uint256 id, address[] memory t, uint256[] memory v, bytes[] memory c)
    {
        (t, v, c) = _proposal(abi.encodeCall(Emissions.setMinerShare, (bps)), address(d.emissions));
        vm.prank(proposer);
        id = d.governor.propose(t, v, c, description);
    }

    /// @dev Gives `who` the slash proposal bond and approves the vault to take it.
    function _fundBond(address who) internal {
        uint256 bond = d.staking.slashProposalBond();
        fund(who, bond);
        vm.prank(who);
        d.token.approve(address(d.staking), bond);
    }

    function _passVote(uint256 id) internal {
        vm.warp(block.timestamp + d.governor.votingDelay() + 1);
        vm.prank(voterA);
        d.governor.castVote(id, 1); // for
        vm.prank(voterB);
        d.governor.castVote(id, 0); // against
        vm.prank(proposer);
        d.governor.castVote(id, 2); // abstain
        vm.warp(block.timestamp + d.governor.votingPeriod());
    }

    function test_settings() public view {
        assertEq(d.governor.name(), "Neuro DAO");
        assertEq(d.governor.votingDelay(), 1 days);
        assertEq(d.governor.votingPeriod(), 5 days);
        assertEq(d.governor.proposalThreshold(), 10_000 ether);
        assertEq(d.governor.quorumNumerator(), 4);
        assertEq(d.governor.timelock(), address(d.timelock));
        assertEq(d.governor.proposalGuardian(), guardian);
        assertEq(d.timelock.getMinDelay(), 2 days);
        assertEq(d.governor.CLOCK_MODE(), "mode=timestamp");
        assertEq(d.governor.clock(), block.timestamp);
        assertEq(address(d.governor.token()), address(d.staking));
    }

    function test_lifecycle_stakeDelegateProposeVoteQueueExecute() public {
        // A delegate gathers votes from another staker.
        address delegatee = makeAddr("delegatee");
        vm.prank(voterB);
        d.staking.delegate(delegatee);
        vm.warp(block.timestamp + 1);
        assertEq(d.staking.getVotes(delegatee), 4_000_000 ether);

        (uint256 id, address[] memory t, uint256[] memory v, bytes[] memory c) =
            _proposeMinerShare(8000, "Raise the miners' share to 80%");
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Pending));

        vm.warp(block.timestamp + d.governor.votingDelay() + 1);
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Active));
        vm.prank(voterA);
        d.governor.castVote(id, 1);
        vm.prank(delegatee);
        d.governor.castVote(id, 0);
        (uint256 against, uint256 forVotes, uint256 abstain) = d.governor.proposalVotes(id);
        assertEq(forVotes, 12_000_000 ether);
        assertEq(against, 4_000_000 ether);
        assertEq(abstain, 0);
        assertGe(forVotes, d.governor.quorum(d.governor.proposalSnapshot(id)));

        vm.warp(block.timestamp + d.governor.votingPeriod());
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Succeeded));
        d.governor.queue(t, v, c, keccak256("Raise the miners' share to 80%"));
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Queued));

        vm.expectRevert(); // TimelockUnexpectedOperationState: not ready before the delay
        d.governor.execute(t, v, c, keccak256("Raise the miners' share to 80%"));
        vm.warp(block.timestamp + 2 days);
        d.governor.execute(t, v, c, keccak256("Raise the miners' share to 80%"));
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Executed));
        assertEq(d.emissions.minerShareBps(), 8000);
    }

    function test_quorumNotReached_defeated() public {
        (uint256 id,,,) = _proposeMinerShare(8000, "small turnout");
        vm.warp(block.timestamp + d.governor.votingDelay() + 1);
        vm.prank(proposer);
        d.governor.castVote(id, 1); // 10,000 of 16,010,000 staked: below 4% and below the minimum
        vm.warp(block.timestamp + d.governor.votingPeriod());
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Defeated));
    }

    function test_proposalThreshold() public {
        address small = makeAddr("small");
        stakeAs(small, 9999 ether);
        vm.warp(block.timestamp + 1);
        (address[] memory t, uint256[] memory v, bytes[] memory c) =
            _proposal(abi.encodeCall(Emissions.setMinerShare, (8000)), address(d.emissions));
        vm.prank(small);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGovernor.GovernorInsufficientProposerVotes.selector, small, 9999 ether, 10_000 ether
            )
        );
        d.governor.propose(t, v, c, "too small");
    }

    function test_guardianCancelsQueuedProposal() public {
        (uint256 id, address[] memory t, uint256[] memory v, bytes[] memory c) = _proposeMinerShare(9000, "malicious");
        _passVote(id);
        bytes32 descriptionHash = keccak256("malicious");
        d.governor.queue(t, v, c, descriptionHash);
        bytes32 operation = d.timelock.hashOperationBatch(t, v, c, 0, bytes20(address(d.governor)) ^ descriptionHash);
        assertTrue(d.timelock.isOperationPending(operation));

        vm.prank(voterA); // a large holder is not the guardian
        vm.expectRevert();
        d.governor.cancel(t, v, c, descriptionHash);

        vm.prank(guardian);
        d.governor.cancel(t, v, c, descriptionHash);
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Canceled));
        assertFalse(d.timelock.isOperation(operation), "timelock operation cancelled too");
        vm.warp(block.timestamp + 2 days);
        vm.expectRevert();
        d.governor.execute(t, v, c, descriptionHash);
        assertEq(d.emissions.minerShareBps(), 7000);
    }

    function test_outOfBoundsProposalRevertsOnExecution() public {
        (uint256 id, address[] memory t, uint256[] memory v, bytes[] memory c) = _proposeMinerShare(9500, "too high");
        _passVote(id);
        d.governor.queue(t, v, c, keccak256("too high"));
        vm.warp(block.timestamp + 2 days);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 9500, 5000, 9000));
        d.governor.execute(t, v, c, keccak256("too high"));
    }

    /// Runs `call` on `target` through the whole proposal lifecycle; `expectedRevert` empty means success.
    function _govern(address target, bytes memory call, string memory description, bytes memory expectedRevert)
        internal
    {
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _proposal(call, target);
        vm.prank(proposer);
        uint256 id = d.governor.propose(t, v, c, description);
        _passVote(id);
        d.governor.queue(t, v, c, keccak256(bytes(description)));
        vm.warp(block.timestamp + d.timelock.getMinDelay());
        if (expectedRevert.length > 0) vm.expectRevert(expectedRevert);
        d.governor.execute(t, v, c, keccak256(bytes(description)));
    }

    function test_governorSettings_onlyGovernance() public {
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, address(this)));
        d.governor.setVotingPeriod(2 days);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorOnlyExecutor.selector, address(this)));
        d.governor.setProposalGuardian(address(this));
    }

    function test_governorSettings_boundedThroughProposals() public {
        address g = address(d.governor);
        _govern(g, abi.encodeCall(d.governor.setVotingPeriod, (2 days)), "period ok", "");
        assertEq(d.governor.votingPeriod(), 2 days);
        _govern(
            g,
            abi.encodeCall(d.governor.setVotingPeriod, (59 minutes)),
            "period low",
            abi.encodeWithSelector(ParameterOutOfBounds.selector, 59 minutes, 1 hours, 30 days)
        );
        _govern(
            g,
            abi.encodeCall(d.governor.setVotingDelay, (0)),
            "delay zero",
            abi.encodeWithSelector(ParameterOutOfBounds.selector, 0, 1, 14 days)
        );
        _govern(
            g,
            abi.encodeCall(d.governor.setProposalThreshold, (0)),
            "threshold zero",
            abi.encodeWithSelector(ParameterOutOfBounds.selector, 0, 1 ether, 10_000_000 ether)
        );
        _govern(
            g,
            abi.encodeCall(d.governor.updateQuorumNumerator, (31)),
            "quorum high",
            abi.encodeWithSelector(ParameterOutOfBounds.selector, 31, 1, 30)
        );
        _govern(g, abi.encodeCall(d.governor.updateQuorumNumerator, (10)), "quorum ok", "");
        assertEq(d.governor.quorumNumerator(), 10);
    }

    function test_governorConstructor_bounded() public {
        NeuroGovernor.Settings memory bad = NeuroGovernor.Settings({
            votingDelay: 1,
            votingPeriod: 1,
            proposalThreshold: 1 ether,
            quorumPercent: 4,
            minimumQuorum: 1000 ether,
            guardianExpiry: 0
        });
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 1, 1 hours, 30 days));
        new NeuroGovernor(d.staking, d.timelock, guardian, bad);
        bad.votingPeriod = 1 hours;
        bad.minimumQuorum = 999 ether;
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 999 ether, 1000 ether, 100_000_000 ether));
        new NeuroGovernor(d.staking, d.timelock, guardian, bad);
        bad.minimumQuorum = 1000 ether;
        bad.votingPeriod = 12 days; // 1 s + 12 d + 2 d + 1 d >= 14 d of unbonding
        vm.expectRevert(abi.encodeWithSelector(NeuroGovernor.SlashLatencyTooLong.selector, 1 + 15 days, 14 days));
        new NeuroGovernor(d.staking, d.timelock, guardian, bad);
    }

    function test_timelockDelay_bounded() public {
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 0, 1 minutes, 30 days));
        new NeuroTimelock(0, new address[](0), new address[](0), address(0));

        vm.prank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 31 days, 1 minutes, 30 days));
        d.timelock.updateDelay(31 days);
        vm.prank(address(d.timelock));
        d.timelock.updateDelay(3 days);
        assertEq(d.timelock.getMinDelay(), 3 days);
        // 1 d + 5 d + 8 d + 1 d of margin would reach the 14-day unbonding period.
        vm.prank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(NeuroGovernor.SlashLatencyTooLong.selector, 15 days, 14 days));
        d.timelock.updateDelay(8 days);
        vm.expectRevert(abi.encodeWithSelector(TimelockController.TimelockUnauthorizedCaller.selector, address(this)));
        d.timelock.updateDelay(3 days);
    }

    /// After deployment the deployer (this test contract) holds no power anywhere.
    function test_deployerKeepsNoAdminPower() public view {
        address deployer = address(this);
        assertFalse(d.timelock.hasRole(d.timelock.DEFAULT_ADMIN_ROLE(), deployer));
        assertFalse(d.timelock.hasRole(d.timelock.PROPOSER_ROLE(), deployer));
        assertFalse(d.timelock.hasRole(d.timelock.CANCELLER_ROLE(), deployer));
        assertFalse(d.emissions.hasRole(d.emissions.DEFAULT_ADMIN_ROLE(), deployer));
        assertEq(d.emissions.workRecorder(), address(d.ledger));
        assertFalse(d.staking.hasRole(d.staking.DEFAULT_ADMIN_ROLE(), deployer));
        assertFalse(d.staking.hasRole(d.staking.SLASHER_ROLE(), deployer));
        // The timelock administers itself; the Governor is its only proposer and canceller.
        assertTrue(d.timelock.hasRole(d.timelock.DEFAULT_ADMIN_ROLE(), address(d.timelock)));
        assertTrue(d.timelock.hasRole(d.timelock.PROPOSER_ROLE(), address(d.governor)));
        assertTrue(d.timelock.hasRole(d.timelock.CANCELLER_ROLE(), address(d.governor)));
        assertFalse(d.timelock.hasRole(d.timelock.PROPOSER_ROLE(), guardian));
        assertTrue(d.timelock.hasRole(d.timelock.EXECUTOR_ROLE(), address(0)), "anyone executes");
        assertTrue(d.staking.hasRole(d.staking.SLASHER_ROLE(), address(d.timelock)));
        assertEq(d.governor.proposalGuardian(), guardian);
    }

    function test_deployerCannotActAsAdmin() public {
        vm.expectRevert();
        d.emissions.setMinerShare(8000);
        vm.expectRevert();
        d.staking.setMinNodeStake(1 ether);
        bytes32 proposerRole = d.timelock.PROPOSER_ROLE();
        vm.expectRevert();
        d.timelock.grantRole(proposerRole, address(this));
    }

    function test_slashThroughGovernance() public {
        address node = makeAddr("node");
        stakeAs(node, 20_000 ether);
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _proposal(
            abi.encodeCall(StakingVault.slash, (node, 20_000 ether, keccak256("evidence"))), address(d.staking)
        );
        _fundBond(proposer);
        vm.prank(proposer);
        uint256 id = d.governor.propose(t, v, c, "slash node");
        _passVote(id);
        d.governor.queue(t, v, c, keccak256("slash node"));
        vm.warp(block.timestamp + 2 days);
        d.governor.execute(t, v, c, keccak256("slash node"));
        assertEq(d.staking.balanceOf(node), 0);
    }

    // ------------------------------------------------------------ issue #12 attacks

    /// Attack 5: the accused used to unstake when the slash proposal appeared and withdraw before it executed.
    /// Here it unstakes well before the proposal (the worst case: its unbonding ends mid-vote); the proposal
    /// freezes its withdrawals until the slash can have executed, and the slash takes the unbonding stake.
    function test_attack_slashCannotBeOutrun() public {
        address node = makeAddr("node");
        stakeAs(node, 20_000 ether);
        vm.prank(node);
        d.staking.unstake(20_000 ether);
        vm.warp(block.timestamp + 10 days); // 4 days of unbonding left: less than the 9 days a slash takes

        (address[] memory t, uint256[] memory v, bytes[] memory c) = _proposal(
            abi.encodeCall(StakingVault.slash, (node, 20_000 ether, keccak256("evidence"))), address(d.staking)
        );
        _fundBond(proposer);
        vm.prank(proposer);
        uint256 id = d.governor.propose(t, v, c, "slash node");
        uint256 frozenUntil = d.governor.proposalDeadline(id) + 2 days + 1 days;
        assertEq(d.staking.frozenUntil(node), frozenUntil);

        vm.warp(d.staking.unbonding(node).releaseTime);
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.WithdrawalsAreFrozen.selector, frozenUntil));
        d.staking.withdraw();

        _passVote(id);
        d.governor.queue(id);
        vm.warp(block.timestamp + 2 days);
        d.governor.execute(id);
        assertEq(d.staking.unbonding(node).amount, 0, "the unbonding stake was slashed");
        // The proposer's bond comes back: the slash executed.
        uint256 before = d.token.balanceOf(proposer);
        d.staking.settleSlashBond(id);
        assertEq(d.token.balanceOf(proposer) - before, 10_000 ether);
        vm.warp(frozenUntil);
        vm.prank(node);
        vm.expectRevert(StakingVault.NothingUnbonding.selector);
        d.staking.withdraw();
    }

    /// The freeze only ever extends and is bounded, and only the Governor (FREEZER_ROLE) sets it.
    function test_freeze_onlyFreezerBoundedMonotone() public {
        address node = makeAddr("node");
        bytes32 role = d.staking.FREEZER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), role)
        );
        d.staking.freezeWithdrawals(node, block.timestamp + 1 days);
        vm.startPrank(address(d.governor));
        vm.expectRevert(
            abi.encodeWithSelector(
                StakingVault.FreezeTooLong.selector, block.timestamp + 61 days, block.timestamp + 60 days
            )
        );
        d.staking.freezeWithdrawals(node, block.timestamp + 61 days);
        d.staking.freezeWithdrawals(node, block.timestamp + 5 days);
        d.staking.freezeWithdrawals(node, block.timestamp + 1 days); // shorter: ignored
        vm.stopPrank();
        assertEq(d.staking.frozenUntil(node), block.timestamp + 5 days);
    }

    /// Every setter on either side keeps unbonding > voting delay + voting period + timelock delay + margin.
    function test_slashLatency_boundedByEverySetter() public {
        address g = address(d.governor);
        _govern(
            g,
            abi.encodeCall(d.governor.setVotingPeriod, (11 days)),
            "period too long",
            abi.encodeWithSelector(NeuroGovernor.SlashLatencyTooLong.selector, 15 days, 14 days)
        );
        _govern(
            g,
            abi.encodeCall(d.governor.setVotingDelay, (7 days)),
            "delay too long",
            abi.encodeWithSelector(NeuroGovernor.SlashLatencyTooLong.selector, 15 days, 14 days)
        );
        _govern(
            address(d.staking),
            abi.encodeCall(d.staking.setUnbondingPeriod, (9 days)),
            "unbonding too short",
            abi.encodeWithSelector(StakingVault.UnbondingShorterThanSlashLatency.selector, 9 days, 9 days)
        );
        _govern(address(d.staking), abi.encodeCall(d.staking.setUnbondingPeriod, (20 days)), "longer", "");
        _govern(g, abi.encodeCall(d.governor.setVotingPeriod, (11 days)), "period ok now", "");
        assertLt(d.governor.slashLatency(), d.staking.unbondingPeriod());
    }

    /// Attack 6: the guardian's veto used to be permanent, even over its own removal.
    function test_attack_guardianCannotCancelItsRemoval() public {
        (address[] memory t, uint256[] memory v, bytes[] memory c) =
            _proposal(abi.encodeCall(d.governor.setProposalGuardian, (address(0))), address(d.governor));
        vm.prank(proposer);
        uint256 id = d.governor.propose(t, v, c, "remove the guardian");
        assertTrue(d.governor.touchesGuardian(id));
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, guardian));
        d.governor.cancel(id);
        _passVote(id);
        d.governor.queue(id);
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, guardian));
        d.governor.cancel(id);
        vm.warp(block.timestamp + 2 days);
        d.governor.execute(id);
        assertEq(d.governor.proposalGuardian(), address(0));
    }

    function test_attack_guardianCannotCancelItsExpiryChange() public {
        (address[] memory t, uint256[] memory v, bytes[] memory c) =
            _proposal(abi.encodeCall(d.governor.setGuardianExpiry, (block.timestamp)), address(d.governor));
        vm.prank(proposer);
        uint256 id = d.governor.propose(t, v, c, "end the guardian now");
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, guardian));
        d.governor.cancel(id);
    }

    /// The guardian loses its power at its expiry; the DAO can bound, extend or end the term.
    function test_guardianExpires() public {
        (uint256 id,,,) = _proposeMinerShare(8000, "after expiry");
        vm.warp(d.governor.guardianExpiry());
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IGovernor.GovernorUnableToCancel.selector, id, guardian));
        d.governor.cancel(id);
        assertEq(d.governor.guardianExpiry(), cfg.governor.guardianExpiry);
        _govern(
            address(d.governor),
            abi.encodeCall(d.governor.setGuardianExpiry, (block.timestamp + 3 * 365 days)),
            "term too long",
            abi.encodeWithSelector(
                ParameterOutOfBounds.selector,
                block.timestamp + 3 * 365 days,
                0,
                block.timestamp + 8 days + 1 + 2 * 365 days
            )
        );
    }

    /// GovernorStorage: proposals are enumerable and the guardian cancels by id, without rebuilding calldata.
    function test_proposalsByIdAndEnumeration() public {
        (uint256 id,,,) = _proposeMinerShare(8000, "by id");
        assertEq(d.governor.proposalCount(), 1);
        (uint256 listed,,,,) = d.governor.proposalDetailsAt(0);
        assertEq(listed, id);
        vm.prank(guardian);
        d.governor.cancel(id);
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Canceled));
    }

    /// Attack 8: quorum was 4% of the staked supply only, so the first stakers decided alone. The absolute
    /// minimum (10M stNEURO) holds even when 4% of the stake is far less.
    function test_attack_earlyStakersCannotMeetQuorumAlone() public {
        address whale = makeAddr("whale");
        stakeAs(whale, 9_000_000 ether); // 9M For: far above 4% of 25M staked, below the 10M minimum
        vm.warp(block.timestamp + 1);
        (uint256 id,,,) = _proposeMinerShare(8000, "early capture");
        vm.warp(block.timestamp + d.governor.votingDelay() + 1);
        vm.prank(whale);
        d.governor.castVote(id, 1);
        vm.warp(block.timestamp + d.governor.votingPeriod());
        assertEq(d.governor.quorum(d.governor.proposalSnapshot(id)), 10_000_000 ether);
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Defeated));
    }

    function test_minimumQuorum_boundedThroughProposals() public {
        _govern(
            address(d.governor),
            abi.encodeCall(d.governor.setMinimumQuorum, (1 ether)),
            "quorum floor too low",
            abi.encodeWithSelector(ParameterOutOfBounds.selector, 1 ether, 1000 ether, 100_000_000 ether)
        );
        _govern(address(d.governor), abi.encodeCall(d.governor.setMinimumQuorum, (5_000_000 ether)), "lower", "");
        assertEq(d.governor.minimumQuorum(), 5_000_000 ether);
    }

    /// Vesting allocations stake and vote while they vest, without becoming liquid early.
    function test_vestingAllocationStakesAndVotes() public {
        uint256 allocation = d.token.balanceOf(address(d.teamVesting));
        vm.prank(team);
        d.teamVesting.stake(50_000_000 ether);
        vm.warp(block.timestamp + 1);
        assertEq(d.staking.getVotes(team), 50_000_000 ether, "the beneficiary votes with the vesting stake");
        assertEq(d.teamVesting.vestedAmount(address(d.token), uint64(block.timestamp)), 0, "cliff: nothing vested");
        // The allocation is unchanged by staking (the vested amount counts the stake).
        vm.warp(cfg.genesisTime + 2 * 365 days);
        assertEq(d.teamVesting.vestedAmount(address(d.token), uint64(block.timestamp)), allocation / 2);
        vm.prank(makeAddr("stranger"));
        vm.expectRevert();
        d.teamVesting.unstake(1 ether);
        // Unstaking returns the tokens to the wallet, never to the beneficiary directly.
        vm.startPrank(team);
        d.teamVesting.unstake(50_000_000 ether);
        vm.warp(block.timestamp + 14 days);
        d.teamVesting.withdrawStake();
        vm.stopPrank();
        assertEq(d.token.balanceOf(address(d.teamVesting)), allocation);
        assertEq(d.token.balanceOf(team), 0);
    }

    /// Reviewer's attack: a guardian setter bundled with other actions used to make the whole proposal
    /// uncancellable. Only proposals made of guardian changes alone are shielded.
    function test_attack_guardianSetterCannotShieldOtherActions() public {
        address[] memory t = new address[](2);
        t[0] = address(d.emissions);
        t[1] = address(d.governor);
        uint256[] memory v = new uint256[](2);
        bytes[] memory c = new bytes[](2);
        c[0] = abi.encodeCall(Emissions.setMinerShare, (9000));
        c[1] = abi.encodeCall(d.governor.setGuardianExpiry, (d.governor.guardianExpiry()));
        vm.prank(proposer);
        uint256 id = d.governor.propose(t, v, c, "shielded drain");
        assertFalse(d.governor.touchesGuardian(id));
        vm.prank(guardian);
        d.governor.cancel(id);
        assertEq(uint8(d.governor.state(id)), uint8(IGovernor.ProposalState.Canceled));
    }

    /// Reviewer's attack: propose a slash of many accounts and cancel it at once, freezing them for days at no
    /// cost. A freeze is lifted by anyone as soon as no live proposal would slash the account; a decoy proposal
    /// the accused makes and cancels does not lift the freeze of a live one.
    function test_attack_freezeEndsWithTheProposal() public {
        address victim = makeAddr("victim");
        stakeAs(victim, 20_000 ether);
        vm.prank(victim);
        d.staking.unstake(20_000 ether);
        (address[] memory t, uint256[] memory v, bytes[] memory c) =
            _proposal(abi.encodeCall(StakingVault.slash, (victim, 1, keccak256("frivolous"))), address(d.staking));
        _fundBond(proposer);
        vm.prank(proposer);
        uint256 id = d.governor.propose(t, v, c, "frivolous");
        assertGt(d.staking.frozenUntil(victim), block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(NeuroGovernor.SlashProposalLive.selector, victim, id));
        d.governor.releaseWithdrawals(victim);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.SlashProposalUnresolved.selector, id));
        d.staking.settleSlashBond(id);
        vm.prank(proposer);
        d.governor.cancel(id);
        d.governor.releaseWithdrawals(victim);
        // Freezing others is not free: the cancelled proposal's bond goes to the treasury.
        uint256 treasuryBefore = d.token.balanceOf(address(d.timelock));
        d.staking.settleSlashBond(id);
        assertEq(d.token.balanceOf(address(d.timelock)) - treasuryBefore, 10_000 ether);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.NoSlashBond.selector, id));
        d.staking.settleSlashBond(id);
        assertEq(d.staking.frozenUntil(victim), 0);
        vm.warp(block.timestamp + 14 days);
        vm.prank(victim);
        d.staking.withdraw();
    }

    function test_attack_decoyProposalDoesNotLiftAFreeze() public {
        address node = makeAddr("node");
        stakeAs(node, 20_000 ether); // enough to propose
        vm.warp(block.timestamp + 1);
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _proposal(
            abi.encodeCall(StakingVault.slash, (node, 20_000 ether, keccak256("evidence"))), address(d.staking)
        );
        _fundBond(proposer);
        vm.prank(proposer);
        uint256 real = d.governor.propose(t, v, c, "slash node");
        _fundBond(node);
        vm.prank(node);
        uint256 decoy = d.governor.propose(t, v, c, "decoy");
        vm.prank(node);
        d.governor.cancel(decoy);
        vm.expectRevert(abi.encodeWithSelector(NeuroGovernor.SlashProposalLive.selector, node, real));
        d.governor.releaseWithdrawals(node);
        assertEq(d.governor.slashProposalsOf(node).length, 2);
    }

    /// Reviewer's attack: the freeze used to end at deadline + timelock delay + 1 day even if the slash was queued
    /// later. Queueing extends it to the slash's earliest execution + 1 day.
    function test_attack_lateQueueStillFreezes() public {
        address node = makeAddr("node");
        stakeAs(node, 20_000 ether);
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _proposal(
            abi.encodeCall(StakingVault.slash, (node, 20_000 ether, keccak256("evidence"))), address(d.staking)
        );
        _fundBond(proposer);
        vm.prank(proposer);
        uint256 id = d.governor.propose(t, v, c, "slash node late");
        _passVote(id);
        vm.warp(block.timestamp + 5 days); // nobody queues for five days
        d.governor.queue(id);
        assertEq(d.staking.frozenUntil(node), d.governor.proposalEta(id) + 1 days);
    }

    /// A slash proposal without an approved bond cannot be made.
    function test_slashProposalNeedsABond() public {
        (address[] memory t, uint256[] memory v, bytes[] memory c) =
            _proposal(abi.encodeCall(StakingVault.slash, (makeAddr("x"), 1, keccak256("no bond"))), address(d.staking));
        vm.prank(proposer);
        vm.expectRevert();
        d.governor.propose(t, v, c, "no bond");
        _govern(
            address(d.staking),
            abi.encodeCall(d.staking.setSlashProposalBond, (99 ether)),
            "bond too low",
            abi.encodeWithSelector(ParameterOutOfBounds.selector, 99 ether, 100 ether, 1_000_000 ether)
        );
    }
}
