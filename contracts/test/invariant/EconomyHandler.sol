// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {Emissions} from "../../src/Emissions.sol";
import {NeuroToken} from "../../src/NeuroToken.sol";
import {StakingVault} from "../../src/StakingVault.sol";

/// @dev Drives staking, work, finalization and claims with bounded random inputs, and keeps ghost totals.
contract EconomyHandler is Test {
    NeuroToken internal immutable token;
    Emissions internal immutable emissions;
    StakingVault internal immutable staking;
    address internal immutable funder;
    address internal immutable slasher;
    address internal immutable recorder;

    address[] public actors;
    bytes32[] public modelIds;
    address[] public modelOwners;
    uint256[] public finalizedEpochs;
    uint256 public ghostFinalizedEmission;
    uint256 public ghostClaimed;

    constructor(
        NeuroToken token_,
        Emissions emissions_,
        StakingVault staking_,
        address funder_,
        address slasher_,
        address recorder_,
        bytes32[] memory modelIds_,
        address[] memory modelOwners_
    ) {
        token = token_;
        emissions = emissions_;
        staking = staking_;
        funder = funder_;
        slasher = slasher_;
        recorder = recorder_;
        modelIds = modelIds_;
        modelOwners = modelOwners_;
        for (uint256 i; i < 4; ++i) {
            actors.push(makeAddr(string.concat("actor", vm.toString(i))));
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function finalizedCount() external view returns (uint256) {
        return finalizedEpochs.length;
    }

    function modelCount() external view returns (uint256) {
        return modelIds.length;
    }

    function stake(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        amount = bound(amount, 1, 1_000_000 ether);
        vm.prank(funder);
        token.transfer(actor, amount);
        vm.startPrank(actor);
        token.approve(address(staking), amount);
        staking.stake(amount);
        vm.stopPrank();
    }

    function unstake(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        uint256 bonded = staking.balanceOf(actor);
        if (bonded == 0) return;
        vm.prank(actor);
        staking.unstake(bound(amount, 1, bonded));
    }

    function withdraw(uint256 actorSeed) external {
        address actor = actors[actorSeed % actors.length];
        StakingVault.Unbonding memory u = staking.unbonding(actor);
        if (u.amount == 0 || block.timestamp < u.releaseTime) return;
        vm.prank(actor);
        staking.withdraw();
    }

    function slash(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        if (staking.balanceOf(actor) + staking.unbonding(actor).amount == 0) return;
        vm.prank(slasher);
        staking.slash(actor, bound(amount, 1, 2_000_000 ether), keccak256("invariant"));
    }

    function recordWork(uint256 actorSeed, uint256 modelSeed, uint256 units) external {
        uint256 epoch = emissions.currentEpoch();
        if (block.timestamp >= emissions.finalizableAt(epoch)) return;
        vm.prank(recorder);
        emissions.recordWork(
            epoch,
            actors[actorSeed % actors.length],
            modelIds[modelSeed % modelIds.length],
            uint128(bound(units, 1, type(uint64).max))
        );
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 3 days));
    }

    function finalize(uint256 epochSeed) external {
        uint256 current = emissions.currentEpoch();
        if (current < 2) return;
        uint256 epoch = epochSeed % (current - 1); // every such epoch is past its window (window <= epoch length)
        if (emissions.isFinalized(epoch)) return;
        emissions.finalizeEpoch(epoch);
        finalizedEpochs.push(epoch);
        ghostFinalizedEmission += emissions.emissionForEpoch(epoch);
    }

    function claim(uint256 actorSeed, uint256 epochSeed) external {
        if (finalizedEpochs.length == 0) return;
        address actor = actors[actorSeed % actors.length];
        uint256[] memory epochs = new uint256[](1);
        epochs[0] = finalizedEpochs[epochSeed % finalizedEpochs.length];
        if (emissions.pendingMinerReward(actor, epochs) == 0) return;
        vm.prank(actor);
        ghostClaimed += emissions.claim(epochs);
    }

    function claimModel(uint256 modelSeed, uint256 epochSeed) external {
        if (finalizedEpochs.length == 0) return;
        uint256 m = modelSeed % modelIds.length;
        uint256[] memory epochs = new uint256[](1);
        epochs[0] = finalizedEpochs[epochSeed % finalizedEpochs.length];
        if (emissions.pendingModelReward(modelIds[m], epochs) == 0) return;
        vm.prank(modelOwners[m]);
        ghostClaimed += emissions.claimModel(modelIds[m], epochs);
    }
}
