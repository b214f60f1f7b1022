// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Emissions} from "../src/Emissions.sol";
import {FeeVault} from "../src/FeeVault.sol";
import {NeuroToken} from "../src/NeuroToken.sol";
import {Payments} from "../src/Payments.sol";
import {ParameterOutOfBounds} from "../src/libraries/Bounds.sol";
import {PaymentsFixture} from "./utils/PaymentsFixture.sol";

/// @dev A minimal ERC-1271 wallet (as a Safe would be) controlled by one key.
contract TestWallet is IERC1271 {
    address internal immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4) {
        return ECDSA.recover(hash, signature) == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}

contract PaymentsTest is PaymentsFixture {
    // ------------------------------------------------------------ deposits and withdrawals

    function test_deposit() public {
        fund(user, 100 ether);
        vm.startPrank(user);
        d.token.approve(address(d.payments), 100 ether);
        vm.expectEmit(address(d.payments));
        emit Payments.Deposited(user, 100 ether);
        d.payments.deposit(100 ether);
        vm.expectRevert(Payments.ZeroAmount.selector);
        d.payments.deposit(0);
        vm.stopPrank();
        assertEq(d.payments.deposits(user), 100 ether);
        assertEq(d.token.balanceOf(address(d.payments)), 100 ether);
    }

    function test_withdrawal_waitsForDelay() public {
        depositAs(user, 100 ether);
        uint256 readyAt = block.timestamp + 2 hours;
        vm.startPrank(user);
        vm.expectEmit(address(d.payments));
        emit Payments.WithdrawalRequested(user, 60 ether, readyAt);
        d.payments.requestWithdrawal(60 ether);
        assertEq(d.payments.pendingWithdrawal(user).amount, 60 ether);

        vm.warp(readyAt - 1);
        vm.expectRevert(abi.encodeWithSelector(Payments.WithdrawalNotReady.selector, readyAt));
        d.payments.completeWithdrawal();

        vm.warp(readyAt);
        vm.expectEmit(address(d.payments));
        emit Payments.Withdrawn(user, 60 ether);
        assertEq(d.payments.completeWithdrawal(), 60 ether);
        vm.expectRevert(Payments.NoWithdrawalRequested.selector);
        d.payments.completeWithdrawal();
        vm.stopPrank();
        assertEq(d.token.balanceOf(user), 60 ether);
        assertEq(d.payments.deposits(user), 40 ether);
    }

    function test_withdrawal_errors() public {
        depositAs(user, 1 ether);
        vm.startPrank(user);
        vm.expectRevert(Payments.ZeroAmount.selector);
        d.payments.requestWithdrawal(0);
        vm.expectRevert(abi.encodeWithSelector(Payments.InsufficientDeposit.selector, user, 1 ether, 2 ether));
        d.payments.requestWithdrawal(2 ether);
        vm.stopPrank();
    }

    /// The miner can still redeem during the delay; the user then gets only what is left.
    function test_allowanceCoveredFundsStayRedeemableDuringDelay() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(80 ether, 1);
        bytes memory sig = sign(userKey, a);
        vm.prank(user);
        d.payments.requestWithdrawal(100 ether);

        vm.warp(block.timestamp + 1 hours);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Payments.WithdrawalNotReady.selector, block.timestamp + 1 hours));
        d.payments.completeWithdrawal();
        redeemAs(miner, a, sig, 80 ether);

        vm.warp(block.timestamp + 1 hours);
        vm.prank(user);
        assertEq(d.payments.completeWithdrawal(), 20 ether);
        assertEq(d.payments.deposits(user), 0);
        assertEq(d.token.balanceOf(user), 20 ether);
    }

    // ------------------------------------------------------------ redemption

    function test_redeem_cumulativeAndSplit() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(50 ether, 7);
        bytes memory sig = sign(userKey, a);
        bytes32 digest = d.payments.allowanceDigest(a);

        vm.expectEmit(address(d.payments));
        emit Payments.Redeemed(digest, user, miner, 0, MODEL_A, 10 ether, 10 ether, 7 ether, 1 ether, 2 ether);
        assertEq(redeemAs(miner, a, sig, 10 ether), 10 ether);
        assertEq(redeemAs(miner, a, sig, 25 ether), 15 ether, "pays only the increase");

        assertEq(d.payments.redeemed(digest), 25 ether);
        assertEq(d.payments.deposits(user), 75 ether);
        assertEq(d.token.balanceOf(miner), 17.5 ether);
        assertEq(d.feeVault.pendingTreasury(), 2.5 ether);
        assertEq(d.feeVault.pendingBurn(), 5 ether);
        (uint256 gross, uint256 burned) = d.payments.feesRedeemed(miner, 0, MODEL_A);
        assertEq(gross, 25 ether);
        assertEq(burned, 5 ether, "the burned part is booked for the reward cap");
        (gross,) = d.payments.feesRedeemed(miner, 0, MODEL_B);
        assertEq(gross, 0, "fees are booked for the model they paid for only");
        assertEq(d.payments.remaining(a), 25 ether);
    }

    function test_redeem_replayReverts() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(50 ether, 1);
        bytes memory sig = sign(userKey, a);
        redeemAs(miner, a, sig, 10 ether);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.NothingToRedeem.selector, 10 ether, 10 ether));
        d.payments.redeem(a, sig, 10 ether, 0, MODEL_A);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.NothingToRedeem.selector, 5 ether, 10 ether));
        d.payments.redeem(a, sig, 5 ether, 0, MODEL_A);
    }

    function test_redeem_overCap() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(50 ether, 1);
        bytes memory sig = sign(userKey, a);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.OverCap.selector, 50 ether + 1, 50 ether));
        d.payments.redeem(a, sig, 50 ether + 1, 0, MODEL_A);
    }

    function test_redeem_expired() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(50 ether, 1);
        bytes memory sig = sign(userKey, a);
        vm.warp(a.expiry + 1);
        uint256 epoch = d.emissions.currentEpoch();
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.AllowanceExpired.selector, a.expiry));
        d.payments.redeem(a, sig, 1 ether, epoch, MODEL_A);
    }

    function test_redeem_wrongMiner() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(50 ether, 1);
        bytes memory sig = sign(userKey, a);
        address other = makeAddr("other-miner");
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(Payments.WrongMiner.selector, other, miner));
        d.payments.redeem(a, sig, 1 ether, 0, MODEL_A);
    }

    function test_redeem_forgedOrTampered() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(50 ether, 1);
        (, uint256 mallory) = makeAddrAndKey("mallory");
        bytes memory forged = sign(mallory, a);
        vm.prank(miner);
        vm.expectRevert(Payments.InvalidSignature.selector);
        d.payments.redeem(a, forged, 1 ether, 0, MODEL_A);

        bytes memory sig = sign(userKey, a);
        a.cap = 100 ether; // the miner raises the cap the user signed
        vm.prank(miner);
        vm.expectRevert(Payments.InvalidSignature.selector);
        d.payments.redeem(a, sig, 60 ether, 0, MODEL_A);
    }

    function test_redeem_wrongChain() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(50 ether, 1);
        bytes memory sig = sign(userKey, a); // signed for this chain id
        vm.chainId(block.chainid + 1);
        vm.prank(miner);
        vm.expectRevert(Payments.InvalidSignature.selector);
        d.payments.redeem(a, sig, 1 ether, 0, MODEL_A);
    }

    function test_redeem_insufficientDeposit() public {
        depositAs(user, 10 ether);
        Payments.Allowance memory a = allowance(50 ether, 1);
        bytes memory sig = sign(userKey, a);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.InsufficientDeposit.selector, user, 10 ether, 11 ether));
        d.payments.redeem(a, sig, 11 ether, 0, MODEL_A);
        assertEq(d.payments.remaining(a), 10 ether);
    }

    function test_redeem_epochWindow() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a = allowance(50 ether, 1);
        bytes memory sig = sign(userKey, a);
        vm.warp(d.emissions.epochStart(3) + 10);
        // The previous epoch within its submission window is accepted.
        vm.prank(miner);
        d.payments.redeem(a, sig, 1 ether, 2, MODEL_A);
        (uint256 gross,) = d.payments.feesRedeemed(miner, 2, MODEL_A);
        assertEq(gross, 1 ether);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.EpochNotRedeemable.selector, 1, 3));
        d.payments.redeem(a, sig, 2 ether, 1, MODEL_A);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.EpochNotRedeemable.selector, 4, 3));
        d.payments.redeem(a, sig, 2 ether, 4, MODEL_A);
        // Once the window closed, the previous epoch is refused.
        vm.warp(d.emissions.finalizableAt(2));
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.EpochNotRedeemable.selector, 2, 3));
        d.payments.redeem(a, sig, 2 ether, 2, MODEL_A);
    }

    function test_redeem_contractWalletSignature() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("wallet-owner");
        TestWallet wallet = new TestWallet(owner);
        depositAs(address(wallet), 10 ether);
        Payments.Allowance memory a = Payments.Allowance(address(wallet), miner, 5 ether, block.timestamp + 1 hours, 0);
        bytes memory sig = sign(ownerKey, a);
        vm.prank(miner);
        d.payments.redeem(a, sig, 5 ether, 0, MODEL_A);
        assertEq(d.payments.deposits(address(wallet)), 5 ether);
    }

    /// @dev Attack: after being served, the user delegates its account (EIP-7702) to code that rejects every
    /// signature, hoping the miner's redemption fails. The user's own key still counts.
    function test_redeem_userDelegatingToRejectingCodeStillPays() public {
        depositAs(user, 10 ether);
        Payments.Allowance memory a = allowance(5 ether, 1);
        bytes memory sig = sign(userKey, a);
        (address stranger,) = makeAddrAndKey("stranger");
        vm.etch(user, address(new TestWallet(stranger)).code);
        assertEq(redeemAs(miner, a, sig, 5 ether), 5 ether);
        assertEq(d.payments.deposits(user), 5 ether);
    }

    // ------------------------------------------------------------ allowance locks

    function openAs(address who, Payments.Allowance memory a) internal {
        vm.prank(who);
        d.payments.openAllowance(a);
    }

    /// @dev Attack: a user deposits D and signs allowances of D for two miners. Only what is locked for a miner
    /// backs its allowance: the second lock is refused, the opened miner is paid in full even if the other miner
    /// (unopened allowance) tries first, and a withdrawal cannot take locked funds.
    function test_lock_sameDepositCannotBePromisedTwice() public {
        depositAs(user, 10 ether);
        Payments.Allowance memory a = allowance(10 ether, 1);
        Payments.Allowance memory b =
            Payments.Allowance({user: user, miner: makeAddr("other miner"), cap: 10 ether, expiry: a.expiry, nonce: 2});
        bytes32 digest = d.payments.allowanceDigest(a);
        vm.expectEmit(address(d.payments));
        emit Payments.AllowanceOpened(digest, user, miner, 10 ether, a.expiry);
        openAs(user, a);
        assertEq(d.payments.deposits(user), 0);
        vm.expectRevert(abi.encodeWithSelector(Payments.InsufficientDeposit.selector, user, 0, 10 ether));
        openAs(user, b);
        bytes memory sigB = sign(userKey, b);
        uint256 epoch = d.emissions.currentEpoch();
        vm.prank(b.miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.InsufficientDeposit.selector, user, 0, 1 ether));
        d.payments.redeem(b, sigB, 1 ether, epoch, MODEL_A);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Payments.InsufficientDeposit.selector, user, 0, 1 ether));
        d.payments.requestWithdrawal(1 ether);
        assertEq(redeemAs(miner, a, sign(userKey, a), 10 ether), 10 ether);
        assertEq(d.payments.lockOf(digest).amount, 0);
        assertEq(d.payments.remaining(a), 0);
    }

    function test_lock_onlyTheUserOpensOnce() public {
        depositAs(user, 10 ether);
        Payments.Allowance memory a = allowance(4 ether, 1);
        vm.expectRevert(abi.encodeWithSelector(Payments.NotAllowanceUser.selector, miner, user));
        openAs(miner, a);
        openAs(user, a);
        vm.expectRevert(abi.encodeWithSelector(Payments.AlreadyOpened.selector, d.payments.allowanceDigest(a)));
        openAs(user, a);
        assertEq(d.payments.deposits(user), 6 ether);
    }

    /// @dev Attack: a user revokes right after being served, hoping to take the funds back before the miner
    /// redeems. Usage of the revocation epoch stays redeemable through its submission window; later usage is not;
    /// the rest comes back to the user only after the window.
    function test_revoke_keepsServedUsageRedeemableThenReleases() public {
        depositAs(user, 10 ether);
        Payments.Allowance memory a = allowance(10 ether, 1);
        bytes memory sig = sign(userKey, a);
        openAs(user, a);
        uint256 epoch = d.emissions.currentEpoch();
        assertEq(redeemAs(miner, a, sig, 2 ether), 2 ether);
        vm.prank(user);
        d.payments.revokeAllowance(a);
        bytes32 digest = d.payments.allowanceDigest(a);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Payments.NotReleasable.selector, digest));
        d.payments.releaseAllowance(a);

        vm.warp(d.emissions.epochStart(epoch + 1) + 1);
        vm.prank(miner);
        assertEq(d.payments.redeem(a, sig, 3 ether, epoch, MODEL_A), 1 ether, "served usage is still paid");
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(Payments.RevokedBefore.selector, epoch + 1, epoch));
        d.payments.redeem(a, sig, 4 ether, epoch + 1, MODEL_A);

        vm.warp(d.emissions.epochStart(epoch + 1) + d.emissions.submissionWindow() + 1);
        assertFalse(d.emissions.isOpen(epoch));
        vm.prank(user);
        assertEq(d.payments.releaseAllowance(a), 7 ether);
        assertEq(d.payments.deposits(user), 7 ether);
        vm.prank(user);
        assertEq(d.payments.releaseAllowance(a), 0, "a lock releases once");
    }

    function test_release_afterExpiry() public {
        depositAs(user, 10 ether);
        Payments.Allowance memory a = allowance(5 ether, 1);
        openAs(user, a);
        vm.warp(a.expiry + 1);
        vm.prank(user);
        assertEq(d.payments.releaseAllowance(a), 5 ether);
        assertEq(d.payments.deposits(user), 10 ether);
    }

    function test_independentAllowancesByNonce() public {
        depositAs(user, 100 ether);
        Payments.Allowance memory a1 = allowance(10 ether, 1);
        Payments.Allowance memory a2 = allowance(10 ether, 2);
        redeemAs(miner, a1, sign(userKey, a1), 10 ether);
        redeemAs(miner, a2, sign(userKey, a2), 10 ether);
        assertEq(d.payments.deposits(user), 80 ether);
    }

    // ------------------------------------------------------------ governance

    function test_setters_onlyTimelockBoundedAndEmit() public {
        bytes memory err = abi.encodeWithSelector(
            IAccessControl.AccessControlUnauthorizedAccount.selector, user, d.payments.DEFAULT_ADMIN_ROLE()
        );
        vm.startPrank(user);
        vm.expectRevert(err);
        d.payments.setFeeSplit(8000, 1000);
        vm.expectRevert(err);
        d.payments.setWithdrawalDelay(1 days);
        vm.stopPrank();

        vm.startPrank(address(d.timelock));
        vm.expectEmit(address(d.payments));
        emit Payments.FeeSplitSet(8000, 500, 1500);
        d.payments.setFeeSplit(8000, 500);
        assertEq(d.payments.minerFeeBps(), 8000);
        assertEq(d.payments.treasuryFeeBps(), 500);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 4999, 5000, 9000));
        d.payments.setFeeSplit(4999, 0);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 3001, 0, 3000));
        d.payments.setFeeSplit(5000, 3001);
        // The burn share never drops below 10%: rewards are capped by burned fees.
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 600, 0, 500));
        d.payments.setFeeSplit(8500, 600);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 1, 0, 0));
        d.payments.setFeeSplit(9000, 1);
        vm.expectEmit(address(d.payments));
        emit Payments.WithdrawalDelaySet(2 hours, 1 days);
        d.payments.setWithdrawalDelay(1 days);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 1 minutes, 10 minutes, 7 days));
        d.payments.setWithdrawalDelay(1 minutes);
        vm.stopPrank();
    }

    function test_constructor_zeroAddress() public {
        vm.expectRevert(Payments.ZeroAddress.selector);
        new Payments(NeuroToken(address(0)), d.emissions, d.feeVault, address(1), 2 hours, 7000, 1000);
        vm.expectRevert(Payments.ZeroAddress.selector);
        new Payments(d.token, Emissions(address(0)), d.feeVault, address(1), 2 hours, 7000, 1000);
        vm.expectRevert(Payments.ZeroAddress.selector);
        new Payments(d.token, d.emissions, FeeVault(address(0)), address(1), 2 hours, 7000, 1000);
    }

    // ------------------------------------------------------------ fuzz

    /// The user's deposit decrease equals miner + treasury + burn, to the wei, for any split and amounts.
    function testFuzz_feeSplitConservation(uint256 first, uint256 second, uint16 minerBps, uint16 treasuryBps) public {
        minerBps = uint16(bound(minerBps, 5000, 9000));
        treasuryBps = uint16(bound(treasuryBps, 0, 9000 - uint256(minerBps) < 3000 ? 9000 - minerBps : 3000));
        vm.prank(address(d.timelock));
        d.payments.setFeeSplit(minerBps, treasuryBps);
        first = bound(first, 1, 1_000_000 ether);
        second = bound(second, first + 1, 2_000_000 ether);

        depositAs(user, 2_000_000 ether);
        Payments.Allowance memory a = allowance(2_000_000 ether, 0);
        bytes memory sig = sign(userKey, a);
        uint256 supplyBefore = d.token.totalSupply();
        redeemAs(miner, a, sig, first);
        redeemAs(miner, a, sig, second);
        vm.prank(makeAddr("keeper"));
        d.feeVault.flush();

        uint256 spent = 2_000_000 ether - d.payments.deposits(user);
        uint256 burned = supplyBefore - d.token.totalSupply();
        uint256 toTreasury = d.feeVault.totalToTreasury();
        assertEq(spent, second);
        assertEq(spent, d.token.balanceOf(miner) + toTreasury + burned);
        (uint256 gross, uint256 burnedBooked) = d.payments.feesRedeemed(miner, 0, MODEL_A);
        assertEq(gross, second);
        assertEq(burnedBooked, burned, "booked burn equals the tokens actually burned");
        assertEq(d.token.balanceOf(address(d.feeVault)), 0);
    }

    /// Whatever sequence of cumulative amounts a miner submits, it never collects more than the cap.
    function testFuzz_neverMoreThanCap(uint256[5] memory steps, uint256 cap) public {
        cap = bound(cap, 1, 1000 ether);
        depositAs(user, 2000 ether);
        Payments.Allowance memory a = allowance(cap, 0);
        bytes memory sig = sign(userKey, a);
        uint256 epoch = d.emissions.currentEpoch();
        for (uint256 i; i < steps.length; ++i) {
            vm.prank(miner);
            try d.payments.redeem(a, sig, bound(steps[i], 0, 2 * cap), epoch, MODEL_A) {} catch {}
        }
        uint256 collected = 2000 ether - d.payments.deposits(user);
        assertLe(collected, cap);
        assertEq(collected, d.payments.redeemed(d.payments.allowanceDigest(a)));
    }
}
