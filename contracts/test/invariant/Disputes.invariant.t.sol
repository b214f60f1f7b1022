// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {NeuroFixture} from "../utils/NeuroFixture.sol";
import {DisputesHandler} from "./DisputesHandler.sol";

/// @dev Whatever validators, disputes and governance do, the court holds every wei it owes, its stake books add
/// up, and a reward is held exactly while a dispute about it is open.
contract DisputesInvariantTest is NeuroFixture {
    DisputesHandler internal handler;

    function setUp() public override {
        super.setUp();
        (address node, uint256 nodeKey) = makeAddrAndKey("node");
        handler = new DisputesHandler(d.disputes, d.token, d.emissions, address(d.timelock), nodeKey, MODEL_A);
        stakeAs(node, 10_000 ether);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = MODEL_A;
        vm.prank(node);
        d.nodes.register("https://node.example", node, ids);
        for (uint256 i; i < handler.validatorCount(); ++i) {
            address v = handler.validators(i);
            fund(v, 20_000 ether);
            vm.startPrank(v);
            d.token.approve(address(d.disputes), type(uint256).max);
            d.disputes.stake(2000 ether);
            vm.stopPrank();
        }
        vm.warp(block.timestamp + 1);
        targetContract(address(handler));
    }

    /// The campaign must exercise the court, not only its guards.
    function afterInvariant() public view {
        assertEq(handler.opened() >= handler.resolved(), true);
    }

    function invariant_theCourtHoldsWhatItOwes() public view {
        assertGe(
            d.token.balanceOf(address(d.disputes)),
            d.disputes.totalStake() + d.disputes.totalUnbonding() + d.disputes.totalBonds()
        );
    }

    function invariant_stakeBooksAddUp() public view {
        uint256 sum;
        for (uint256 i; i < handler.validatorCount(); ++i) {
            sum += d.disputes.stakeOf(handler.validators(i));
        }
        assertEq(sum, d.disputes.totalStake());
    }

    /// One report per validator and epoch, never for an epoch not yet over.
    function invariant_oneReportPerValidatorAndFinishedEpoch() public view {
        uint256 current = d.emissions.currentEpoch();
        for (uint256 i; i < handler.validatorCount(); ++i) {
            address v = handler.validators(i);
            assertLe(d.disputes.nextReportEpoch(v), current);
            for (uint256 e = current > 40 ? current - 40 : 0; e <= current; ++e) {
                assertLe(handler.reportsOf(v, e), 1);
            }
        }
    }

    function invariant_rewardsAreHeldExactlyWhileDisputed() public view {
        for (uint256 i; i < handler.epochCount(); ++i) {
            uint256 epoch = handler.epochsTouched(i);
            assertEq(d.emissions.rewardHolds(epoch, handler.node()), handler.openPerEpoch(epoch));
        }
    }
}
