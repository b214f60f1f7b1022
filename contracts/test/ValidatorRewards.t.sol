// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Emissions} from "../src/Emissions.sol";
import {Payments} from "../src/Payments.sol";
import {IValidatorSet} from "../src/interfaces/IValidatorSet.sol";
import {PaymentsFixture} from "./utils/PaymentsFixture.sol";

/// Issue #15, part 6: validators earn emission for the probe fees they paid, revealed once the probe
/// allowances expired, capped like the miner and model pools. `user` plays the validator's probe account.
contract ValidatorRewardsTest is PaymentsFixture {
    address internal validator = makeAddr("validator");
    address internal otherValidator = makeAddr("otherValidator");

    function setUp() public override {
        super.setUp();
        stakeValidatorAs(validator, d.disputes.minValidatorStake());
        stakeValidatorAs(otherValidator, d.disputes.minValidatorStake());
        depositAs(user, 1000 ether);
    }

    /// The probe account pays `amount` to the miner under a fresh allowance; returns it.
    function _probe(uint256 amount, uint256 nonce) internal returns (Payments.Allowance memory a) {
        a = allowance(amount, nonce);
        redeemAs(miner, a, sign(userKey, a), amount);
    }

    function _list(Payments.Allowance memory a) internal pure returns (Payments.Allowance[] memory list) {
        list = new Payments.Allowance[](1);
        list[0] = a;
    }

    function _burnedOf(uint256 amount) internal view returns (uint256) {
        return amount - amount * d.payments.minerFeeBps() / 10_000 - amount * d.payments.treasuryFeeBps() / 10_000;
    }

    function test_revealedProbeFeesEarnTheCappedValidatorReward() public {
        Payments.Allowance memory a = _probe(10 ether, 1);
        uint256 burned = _burnedOf(10 ether);
        assertEq(d.payments.settlementOf(d.payments.allowanceDigest(a)).burned, burned);

        // While the allowance is live, revealing it would tell the miner which traffic is a probe: refused.
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Payments.AllowanceNotExpired.selector, a.expiry));
        d.payments.revealProbeFees(validator, _list(a));

        vm.warp(a.expiry + 1);
        uint256 epoch = d.emissions.currentEpoch();
        // Only the allowance's user may reveal it.
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(Payments.NotAllowanceUser.selector, validator, user));
        d.payments.revealProbeFees(validator, _list(a));
        // Only for a staked validator.
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Emissions.NotAValidator.selector, miner));
        d.payments.revealProbeFees(miner, _list(a));

        vm.expectEmit(address(d.emissions));
        emit Emissions.ValidatorFeesRecorded(epoch, validator, 10 ether, burned);
        vm.prank(user);
        (uint256 amount, uint256 burnedRevealed) = d.payments.revealProbeFees(validator, _list(a));
        assertEq(amount, 10 ether);
        assertEq(burnedRevealed, burned);
        // A fee is revealed once.
        bytes32 digest = d.payments.allowanceDigest(a);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Payments.AlreadyRevealed.selector, digest));
        d.payments.revealProbeFees(otherValidator, _list(a));

        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochNotFinalized.selector, epoch));
        d.emissions.claimValidator(single(epoch));

        vm.warp(d.emissions.finalizableAt(epoch));
        d.emissions.finalizeEpoch(epoch);
        uint256 pool = d.emissions.emissionForEpoch(epoch) * 500 / 10_000;
        assertEq(d.emissions.validatorEpochInfo(epoch).pool, pool);
        uint256 expected = Math.min(pool, burned * 1000 / 10_000);
        assertEq(d.emissions.pendingValidatorReward(validator, single(epoch)), expected);
        vm.prank(validator);
        assertEq(d.emissions.claimValidator(single(epoch)), expected);
        assertEq(d.token.balanceOf(validator), expected);
        assertLt(expected, burned, "the reward stays below the burned fee");
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(Emissions.AlreadyClaimed.selector, epoch));
        d.emissions.claimValidator(single(epoch));
        vm.prank(otherValidator);
        vm.expectRevert(Emissions.NothingToClaim.selector);
        d.emissions.claimValidator(single(epoch));
    }

    /// Two validators share the pool by burned probe fees; a pool smaller than the caps is split pro rata.
    function test_validatorsShareThePoolByBurnedFees() public {
        (address probe2, uint256 key2) = makeAddrAndKey("probe2");
        depositAs(probe2, 1_000_000 ether);
        depositAs(user, 1_000_000 ether);
        Payments.Allowance memory a = _probe(300_000 ether, 1);
        Payments.Allowance memory b =
            Payments.Allowance({user: probe2, miner: miner, cap: 100_000 ether, expiry: a.expiry, nonce: 1});
        redeemAs(miner, b, sign(key2, b), 100_000 ether);
        vm.warp(a.expiry + 1);
        uint256 epoch = d.emissions.currentEpoch();
        vm.prank(user);
        d.payments.revealProbeFees(validator, _list(a));
        vm.prank(probe2);
        d.payments.revealProbeFees(otherValidator, _list(b));
        vm.warp(d.emissions.finalizableAt(epoch));
        d.emissions.finalizeEpoch(epoch);
        uint256 pool = d.emissions.validatorEpochInfo(epoch).pool;
        assertLt(pool, _burnedOf(400_000 ether) * 1000 / 10_000, "the caps do not bind: a pro-rata split");
        vm.prank(validator);
        uint256 first = d.emissions.claimValidator(single(epoch));
        vm.prank(otherValidator);
        uint256 second = d.emissions.claimValidator(single(epoch));
        assertEq(first, pool * 3 / 4);
        assertEq(second, pool / 4);
        assertLe(first + second, pool);
    }

    /// Without a revealed probe fee, the validators' pool is forgone, never minted.
    function test_unrevealedEpochsForgoTheValidatorsPool() public {
        vm.warp(d.emissions.finalizableAt(0));
        uint256 nominal = d.emissions.emissionForEpoch(0) * 500 / 10_000;
        vm.expectEmit(address(d.emissions));
        emit Emissions.ValidatorPoolFinalized(0, 0, 0, nominal, 0);
        d.emissions.finalizeEpoch(0);
        assertEq(d.emissions.totalForgone(), d.emissions.emissionForEpoch(0), "no work and no probes: all forgone");
    }

    /// Attack (review): a heavy organic user stakes for one transaction, reveals its usage as "probes" and
    /// unbonds. The stake must have been held since the epoch began, so the flash stake counts for nothing.
    function test_aFlashStakeIsNoValidator() public {
        address flash = makeAddr("flash");
        Payments.Allowance memory a = _probe(10 ether, 3);
        vm.warp(a.expiry + 1);
        uint256 amount = d.disputes.minValidatorStake();
        stakeValidatorAs(flash, amount);
        assertFalse(d.disputes.isValidator(flash), "staked after the epoch began");
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Emissions.NotAValidator.selector, flash));
        d.payments.revealProbeFees(flash, _list(a));
        // From the next epoch on, with the stake still bonded, it is a validator.
        vm.warp(d.emissions.epochStart(d.emissions.currentEpoch() + 1));
        assertTrue(d.disputes.isValidator(flash));
        vm.prank(flash);
        d.disputes.unstake(amount);
        assertFalse(d.disputes.isValidator(flash), "unbonding stake does not count");
    }

    /// Attack: credit made-up probe fees by calling Emissions directly, or rewire the accounting.
    function test_onlyThePaymentsContractRecordsProbeFees() public {
        vm.prank(validator);
        vm.expectRevert(abi.encodeWithSelector(Emissions.NotProbeFeeRecorder.selector, validator));
        d.emissions.recordValidatorFees(validator, 1000 ether, 1000 ether);
        vm.prank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(Emissions.ValidatorAccountingAlreadySet.selector, address(d.payments)));
        d.emissions.setValidatorAccounting(validator, IValidatorSet(validator));
    }

    /// A validator probing its own node: the node's fee income, the miner, model and validator rewards together
    /// stay below what the probes cost.
    function testFuzz_selfProbingLoses(uint256 amount) public {
        amount = bound(amount, 1e12, 1_000_000 ether);
        depositAs(user, amount);
        uint256 before = d.token.balanceOf(miner) + d.token.balanceOf(validator) + d.payments.deposits(user);
        Payments.Allowance memory a = _probe(amount, 7);
        vm.warp(a.expiry + 1);
        uint256 epoch = d.emissions.currentEpoch();
        vm.prank(user);
        d.payments.revealProbeFees(validator, _list(a));
        vm.warp(d.emissions.finalizableAt(epoch));
        d.emissions.finalizeEpoch(epoch);
        vm.prank(validator);
        d.emissions.claimValidator(single(epoch));
        uint256 afterwards = d.token.balanceOf(miner) + d.token.balanceOf(validator) + d.payments.deposits(user);
        // Even granting the miner and model owner their full caps on the same burned fee, the coalition loses.
        uint256 burned = _burnedOf(amount);
        uint256 minerAndModelCaps = burned * 8000 / 10_000;
        assertLt(afterwards + minerAndModelCaps, before, "self-probing loses money");
    }
}
