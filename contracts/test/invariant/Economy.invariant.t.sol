// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {NeuroFixture} from "../utils/NeuroFixture.sol";
import {EconomyHandler} from "./EconomyHandler.sol";

contract EconomyInvariantTest is NeuroFixture {
    EconomyHandler internal handler;

    function setUp() public override {
        super.setUp();
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = MODEL_A;
        ids[1] = MODEL_B;
        address[] memory owners = new address[](2);
        owners[0] = developerA;
        owners[1] = developerB;
        handler =
            new EconomyHandler(d.token, d.emissions, d.staking, liquidity, address(d.timelock), recorder, ids, owners);
        // The liquidity allocation funds the actors' stakes.
        vm.prank(liquidity);
        d.token.approve(address(handler), type(uint256).max);
        excludeSender(address(d.timelock));
        targetContract(address(handler));
    }

    function invariant_totalSupplyWithinCap() public view {
        assertLe(d.token.totalSupply(), d.token.CAP());
        assertLe(d.token.minedSupply(), d.token.MINING_ALLOCATION());
    }

    function invariant_mintedNeverAboveSchedule() public view {
        assertEq(d.token.minedSupply(), d.emissions.totalEmitted());
        assertLe(d.emissions.totalEmitted(), d.emissions.scheduledSupplyAt(d.emissions.currentEpoch()));
        assertEq(d.emissions.totalEmitted() + d.emissions.totalForgone(), handler.ghostFinalizedEmission());
    }

    function invariant_stakeAccounting() public view {
        uint256 bonded;
        uint256 unbonding;
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actors(i);
            bonded += d.staking.balanceOf(actor);
            unbonding += d.staking.unbonding(actor).amount;
        }
        assertEq(d.staking.totalSupply(), bonded, "stNEURO supply == bonded stake");
        assertEq(d.staking.totalUnbonding(), unbonding);
        assertEq(d.token.balanceOf(address(d.staking)), bonded + unbonding, "vault holds exactly the stake");
        uint256 votes;
        for (uint256 i; i < handler.actorCount(); ++i) {
            votes += d.staking.getVotes(handler.actors(i)); // every actor is self-delegated by its first stake
        }
        assertEq(votes, bonded, "one bonded token, one vote");
    }

    function invariant_claimableCoveredByBalance() public view {
        uint256 n = handler.finalizedCount();
        uint256[] memory epochs = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            epochs[i] = handler.finalizedEpochs(i);
        }
        uint256 claimable;
        for (uint256 i; i < handler.actorCount(); ++i) {
            claimable += d.emissions.pendingMinerReward(handler.actors(i), epochs);
        }
        for (uint256 m; m < handler.modelCount(); ++m) {
            claimable += d.emissions.pendingModelReward(handler.modelIds(m), epochs);
        }
        uint256 balance = d.token.balanceOf(address(d.emissions));
        assertLe(claimable, balance);
        assertEq(balance, d.emissions.totalEmitted() - handler.ghostClaimed());
        assertEq(d.emissions.totalClaimed(), handler.ghostClaimed());
    }
}
