// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Payments} from "../src/Payments.sol";
import {PaymentsFixture} from "./utils/PaymentsFixture.sol";

/// Deposit → allowance → three cumulative redemptions across two epochs → flush, with every balance exact.
contract MarketEndToEndTest is PaymentsFixture {
    function test_depositAllowanceRedeemFlush() public {
        // A node with stake serving an approved model.
        stakeAs(miner, 10_000 ether);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = MODEL_A;
        vm.prank(miner);
        d.nodes.register("https://miner.example", makeAddr("receipt-key"), ids);
        assertTrue(d.nodes.servesModel(miner, MODEL_A));

        depositAs(user, 1000 ether);
        Payments.Allowance memory a = allowance(300 ether, 42);
        bytes memory sig = sign(userKey, a);

        uint256 supply0 = d.token.totalSupply();
        uint256 treasury0 = d.token.balanceOf(address(d.timelock));

        redeemAs(miner, a, sig, 100 ether); // epoch 0
        redeemAs(miner, a, sig, 130 ether); // epoch 0
        vm.warp(d.emissions.epochStart(1) + 5);
        redeemAs(miner, a, sig, 250 ether); // epoch 1

        (uint256 gross0, uint256 burned0) = d.payments.feesRedeemed(miner, 0, MODEL_A);
        (uint256 gross1,) = d.payments.feesRedeemed(miner, 1, MODEL_A);
        assertEq(gross0, 130 ether);
        assertEq(burned0, 26 ether);
        assertEq(gross1, 120 ether);
        assertEq(d.payments.deposits(user), 750 ether);
        assertEq(d.token.balanceOf(miner), 175 ether, "70% of 250");
        assertEq(d.token.balanceOf(address(d.feeVault)), 75 ether);
        assertEq(d.feeVault.pendingTreasury(), 25 ether);
        assertEq(d.feeVault.pendingBurn(), 50 ether);

        d.feeVault.flush();
        assertEq(d.token.totalSupply(), supply0 - 50 ether, "20% burned");
        assertEq(d.token.balanceOf(address(d.timelock)), treasury0 + 25 ether, "10% to the treasury");
        assertEq(d.token.balanceOf(address(d.feeVault)), 0);
        assertEq(d.token.balanceOf(address(d.payments)), 750 ether);

        // The rest of the deposit comes back after the delay; the allowance cannot reach it any more.
        vm.prank(user);
        d.payments.requestWithdrawal(750 ether);
        vm.warp(block.timestamp + d.payments.withdrawalDelay());
        vm.prank(user);
        d.payments.completeWithdrawal();
        assertEq(d.token.balanceOf(user), 750 ether);
        uint256 epoch = d.emissions.currentEpoch();
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.InsufficientDeposit.selector, user, 0, 50 ether));
        d.payments.redeem(a, sig, 300 ether, epoch, MODEL_A);
    }
}
