// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Payments} from "../../src/Payments.sol";
import {NeuroFixture} from "../utils/NeuroFixture.sol";
import {PaymentsHandler} from "./PaymentsHandler.sol";

contract PaymentsInvariantTest is NeuroFixture {
    PaymentsHandler internal handler;
    uint256 internal treasuryAtStart;

    function setUp() public override {
        super.setUp();
        handler = new PaymentsHandler(d.token, d.payments, d.feeVault, d.emissions, liquidity);
        vm.prank(liquidity);
        d.token.approve(address(handler), type(uint256).max);
        treasuryAtStart = d.token.balanceOf(address(d.timelock));
        targetContract(address(handler));
    }

    function invariant_paymentsHoldsExactlyTheDepositsAndLocks() public view {
        uint256 sum = handler.lockedTotal();
        for (uint256 i; i < handler.userCount(); ++i) {
            sum += d.payments.deposits(handler.users(i));
        }
        assertEq(d.token.balanceOf(address(d.payments)), sum);
        assertEq(sum, handler.ghostFunded() - handler.ghostRedeemed() - handler.ghostWithdrawn());
    }

    /// @dev What a miner can still take under an opened allowance, plus what was redeemed, never exceeds the cap:
    /// locked funds back one allowance only, and never more than the user signed for.
    function invariant_aLockNeverBacksMoreThanItsCap() public view {
        for (uint256 i; i < handler.allowanceCount(); ++i) {
            Payments.Allowance memory a = handler.allowanceAt(i);
            bytes32 digest = d.payments.allowanceDigest(a);
            Payments.Lock memory lock = d.payments.lockOf(digest);
            assertLe(d.payments.redeemed(digest), a.cap);
            if (lock.opened) assertLe(uint256(lock.amount) + d.payments.redeemed(digest), a.cap);
        }
    }

    function invariant_everyRedeemedWeiIsAccountedFor() public view {
        uint256 burned = 600_000_000 ether - d.token.totalSupply(); // no emissions in this suite
        uint256 toTreasury = d.token.balanceOf(address(d.timelock)) - treasuryAtStart;
        uint256 inVault = d.token.balanceOf(address(d.feeVault));
        assertEq(handler.ghostRedeemed(), handler.ghostToMiners() + burned + toTreasury + inVault);
        assertEq(inVault, d.feeVault.pendingBurn() + d.feeVault.pendingTreasury());
        assertEq(burned, d.feeVault.totalBurned());
        assertEq(toTreasury, d.feeVault.totalToTreasury());
    }

    function invariant_feesRecordedPerMinerAndEpoch() public view {
        // Sum the per-(miner, epoch) book over the distinct epochs touched.
        uint256 n = handler.touchedEpochCount();
        for (uint256 m; m < handler.minerCount(); ++m) {
            address miner = handler.miners(m);
            uint256 booked;
            uint256 lastEpoch = type(uint256).max;
            for (uint256 i; i < n; ++i) {
                uint256 epoch = handler.touchedEpochs(i);
                if (epoch == lastEpoch) continue; // epochs are pushed in non-decreasing order
                lastEpoch = epoch;
                (uint256 gross,) = d.payments.feesRedeemed(miner, epoch, bytes32(uint256(1)));
                booked += gross;
            }
            assertEq(booked, handler.ghostFeesOfMiner(miner));
        }
    }
}
