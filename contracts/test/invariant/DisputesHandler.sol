// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {Disputes} from "../../src/Disputes.sol";
import {NeuroToken} from "../../src/NeuroToken.sol";
import {Emissions} from "../../src/Emissions.sol";

/// @dev Drives the dispute court at random: validators stake, unbond, withdraw, open disputes against one node,
/// vote, resolve and claim; time moves; the timelock changes every parameter within its bounds.
contract DisputesHandler is Test {
    Disputes internal immutable court;
    NeuroToken internal immutable token;
    Emissions internal immutable emissions;
    address internal immutable timelock;
    address public immutable node;
    uint256 internal immutable nodeKey;
    bytes32 internal immutable modelId;

    address[] public validators;
    uint256 internal nonce;
    /// @dev Open disputes per epoch of their receipt, as the court should be holding rewards.
    mapping(uint256 epoch => uint256) public openPerEpoch;
    uint256[] public epochsTouched;
    /// @dev Disputes opened and resolved by this handler (the run must exercise both).
    uint256 public opened;
    uint256 public resolved;

    constructor(
        Disputes court_,
        NeuroToken token_,
        Emissions emissions_,
        address timelock_,
        uint256 nodeKey_,
        bytes32 model
    ) {
        court = court_;
        token = token_;
        emissions = emissions_;
        timelock = timelock_;
        nodeKey = nodeKey_;
        node = vm.addr(nodeKey_);
        modelId = model;
        for (uint256 i; i < 4; ++i) {
            validators.push(address(uint160(0xA11CE + i)));
        }
    }

    function validatorCount() external view returns (uint256) {
        return validators.length;
    }

    function epochCount() external view returns (uint256) {
        return epochsTouched.length;
    }

    function _validator(uint256 seed) internal view returns (address) {
        return validators[seed % validators.length];
    }

    function stake(uint256 seed, uint256 amount) external {
        address v = _validator(seed);
        amount = bound(amount, 1 ether, 5000 ether);
        if (token.balanceOf(v) < amount) return;
        vm.prank(v);
        court.stake(amount);
    }

    function unstake(uint256 seed, uint256 amount) external {
        address v = _validator(seed);
        uint256 bonded = court.stakeOf(v);
        if (bonded == 0) return;
        vm.prank(v);
        court.unstake(bound(amount, 1, bonded));
    }

    function withdraw(uint256 seed) external {
        address v = _validator(seed);
        (uint192 amount, uint64 release) = court.unbondingOf(v);
        if (amount == 0 || block.timestamp < release) return;
        vm.prank(v);
        court.withdraw();
    }

    /// @dev Half the disputes are opened from a probe account's delegation (its user is a fresh key, not `v`).
    function open(uint256 seed) external {
        address v = _validator(seed);
        uint256 probeKey = uint256(keccak256(abi.encode("probe", seed)));
        bool delegated = seed % 2 == 1;
        if (court.stakeAt(v, block.timestamp - 1) < court.minValidatorStake()) return;
        if (token.balanceOf(v) < court.disputeBond()) return;
        bytes memory request = abi.encodePacked("request ", ++nonce);
        bytes memory output = abi.encodePacked("output ", nonce);
        Disputes.InferenceReceipt memory r = Disputes.InferenceReceipt({
            miner: node,
            user: delegated ? vm.addr(probeKey) : v,
            modelId: modelId,
            requestHash: keccak256(request),
            outputHash: keccak256(output),
            samplingHash: bytes32(0),
            promptTokens: 1,
            completionTokens: 1,
            fee: 1,
            epoch: uint64(emissions.currentEpoch())
        });
        bytes32 digest = this.digestOf(r);
        bytes memory signature = _signed(nodeKey, digest);
        if (delegated) {
            bytes memory delegation = _signed(probeKey, court.delegationDigest(digest, v));
            vm.prank(v);
            court.openDelegatedDispute(r, signature, request, output, delegation);
        } else {
            vm.prank(v);
            court.openDispute(r, signature, request, output);
        }
        if (openPerEpoch[r.epoch] == 0) epochsTouched.push(r.epoch);
        openPerEpoch[r.epoch] += 1;
        opened += 1;
    }

    function _signed(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function digestOf(Disputes.InferenceReceipt calldata r) external view returns (bytes32) {
        return court.receiptDigest(r);
    }

    function vote(uint256 seed, uint256 idSeed, bool uphold) external {
        uint256 count = court.disputeCount();
        if (count == 0) return;
        uint256 id = bound(idSeed, 1, count);
        Disputes.Dispute memory dispute = court.getDispute(id);
        address v = _validator(seed);
        if (dispute.status != Disputes.Status.Open || block.timestamp >= dispute.votingEnds) return;
        if (court.getVote(id, v).side != 0) return;
        if (court.stakeAt(v, dispute.openedAt - 1) < court.minValidatorStake()) return;
        if (token.balanceOf(v) < dispute.voteBond) return;
        vm.prank(v);
        court.vote(id, uphold);
    }

    function resolve(uint256 idSeed) external {
        uint256 count = court.disputeCount();
        if (count == 0) return;
        uint256 id = bound(idSeed, 1, count);
        Disputes.Dispute memory dispute = court.getDispute(id);
        if (dispute.status != Disputes.Status.Open || block.timestamp < dispute.votingEnds) return;
        court.resolve(id);
        openPerEpoch[dispute.epoch] -= 1;
        resolved += 1;
    }

    function claim(uint256 seed, uint256 idSeed) external {
        uint256 count = court.disputeCount();
        if (count == 0) return;
        uint256 id = bound(idSeed, 1, count);
        vm.prank(_validator(seed));
        try court.claim(id) {} catch {}
    }

    /// @dev Reports accepted per validator and epoch (must never exceed one).
    mapping(address validator => mapping(uint256 epoch => uint256)) public reportsOf;
    uint256 public reports;

    function report(uint256 seed, uint256 epochSeed) external {
        uint256 current = emissions.currentEpoch();
        if (current == 0) return;
        address v = _validator(seed);
        uint256 epoch = bound(epochSeed, current > 30 ? current - 30 : 0, current);
        Disputes.ProbeReport[] memory list = new Disputes.ProbeReport[](1);
        list[0] = Disputes.ProbeReport(node, 2, 1, 0, 0, 1, 100, 1000);
        vm.prank(v);
        try court.reportProbes(uint64(epoch), list) {
            ++reportsOf[v][epoch];
            ++reports;
        } catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 days));
    }

    // ------------------------------------------------------------ governance

    function setBonds(uint256 dispute, uint256 perVote) external {
        dispute = bound(dispute, court.MIN_DISPUTE_BOND(), 500 ether);
        perVote = bound(perVote, dispute / 100, dispute);
        vm.prank(timelock);
        court.setBonds(dispute, perVote);
    }

    // Bounds are computed before each prank: `bound` logs through the console, a call that would consume it.

    function setVoting(uint256 quorum, uint256 majority) external {
        quorum = bound(quorum, 1000, 9000);
        majority = bound(majority, 5001, 9000);
        vm.prank(timelock);
        court.setVoting(quorum, majority);
    }

    function setSlashing(uint256 first, uint256 repeat, uint256 finder) external {
        first = bound(first, 100, 5000);
        repeat = bound(repeat, first, 10_000);
        finder = bound(finder, 0, 5000);
        vm.prank(timelock);
        court.setSlashing(first, repeat, finder);
    }

    function setPeriods(uint256 voting, uint256 unbonding) external {
        voting = bound(voting, court.MIN_VOTING_PERIOD(), court.MAX_VOTING_PERIOD());
        unbonding = bound(unbonding, voting + court.FREEZE_MARGIN(), court.MAX_VALIDATOR_UNBONDING());
        vm.prank(timelock);
        court.setPeriods(voting, unbonding);
    }

    function setMinValidatorStake(uint256 value) external {
        value = bound(value, 1 ether, 3000 ether);
        vm.prank(timelock);
        court.setMinValidatorStake(value);
    }
}
