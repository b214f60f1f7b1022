// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Emissions} from "../src/Emissions.sol";
import {IModelOwners} from "../src/interfaces/IModelOwners.sol";
import {ParameterOutOfBounds} from "../src/libraries/Bounds.sol";
import {NeuroToken} from "../src/NeuroToken.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract EmissionsScheduleTest is NeuroFixture {
    uint256 internal constant ERA = 126_144_000; // 4 × 365 days in seconds
    uint256 internal constant RATE = 1_585_489_599_188_229_325; // floor(200M ether / ERA) per second
    uint256 internal constant HOURLY = 5_707_762_557_077_625_570_000; // 3600 × RATE
    uint256 internal constant EPOCHS_PER_ERA = 35_040; // hourly epochs

    function test_initialEmission() public view {
        assertEq(d.emissions.INITIAL_EMISSION_PER_SECOND(), RATE);
        assertEq(d.emissions.emissionForEpoch(0), HOURLY);
        assertEq(d.emissions.emissionForEpoch(EPOCHS_PER_ERA - 1), HOURLY);
    }

    function test_halvesEachEra() public view {
        assertEq(d.emissions.emissionForEpoch(EPOCHS_PER_ERA), (RATE >> 1) * 3600);
        assertEq(d.emissions.emissionForEpoch(2 * EPOCHS_PER_ERA), (RATE >> 2) * 3600);
        assertEq(d.emissions.emissionForEpoch(10 * EPOCHS_PER_ERA + 5), (RATE >> 10) * 3600);
        assertEq(d.emissions.emissionForEpoch(61 * EPOCHS_PER_ERA), 0, "emission ends once the shift empties it");
        assertEq(d.emissions.emissionForEpoch(type(uint64).max), 0);
    }

    function test_scheduledSupply_pointsOnTheCurve() public view {
        assertEq(d.emissions.scheduledSupplyAt(0), 0);
        assertEq(d.emissions.scheduledSupplyAt(1), HOURLY);
        assertEq(d.emissions.scheduledSupplyAt(EPOCHS_PER_ERA), RATE * ERA);
        assertEq(d.emissions.scheduledSupplyAt(EPOCHS_PER_ERA + 3), RATE * ERA + 3 * 3600 * (RATE >> 1));
        // Era 0 emits just under half the mining allocation (rounding down), and the total never exceeds it.
        assertLe(RATE * ERA, 200_000_000 ether);
        assertGt(RATE * ERA, 200_000_000 ether - ERA);
        uint256 total = d.emissions.scheduledSupplyAtTime(type(uint64).max);
        assertLe(total, 400_000_000 ether);
        assertGt(total, 399_999_000 ether);
    }

    /// The schedule is per unit of time: with any epoch length, era 0 takes 4 years and emits the same 200M.
    function testFuzz_scheduleIndependentOfEpochLength(uint256 length, uint256 elapsed) public {
        length = bound(length, 60, 1 days);
        elapsed = bound(elapsed, 0, 3 * ERA);
        Emissions other =
            new Emissions(d.token, address(1), 0, length, 10, 7000, 5600, 2400, 500, 1000, IModelOwners(address(0)));
        uint256 epochs = elapsed / length;
        // Whole epochs emit exactly the schedule's amount over their span.
        assertEq(other.scheduledSupplyAt(epochs), d.emissions.scheduledSupplyAtTime(epochs * length));
        assertEq(other.emissionForEpoch(epochs), other.scheduledSupplyAt(epochs + 1) - other.scheduledSupplyAt(epochs));
        // Inside era 0 an epoch emits RATE per second; 60-second epochs emit 1/60 of an hour's amount.
        if ((epochs + 1) * length <= ERA) assertEq(other.emissionForEpoch(epochs), RATE * length);
    }

    function test_sixtySecondEpochsEmitASixtiethOfAnHour() public {
        Emissions minute =
            new Emissions(d.token, address(1), 0, 60, 30, 7000, 5600, 2400, 500, 1000, IModelOwners(address(0)));
        assertEq(minute.emissionForEpoch(0) * 60, HOURLY);
        assertEq(minute.scheduledSupplyAt(60 * EPOCHS_PER_ERA), d.emissions.scheduledSupplyAt(EPOCHS_PER_ERA));
    }

    /// Sum of emissionForEpoch over [from, to) equals the closed form's difference, across era boundaries.
    function testFuzz_sumOverRangeEqualsClosedForm(uint256 from, uint256 length) public view {
        from = bound(from, 0, 80 * EPOCHS_PER_ERA);
        length = bound(length, 0, 400);
        if (from % 3 == 0) from = (from / EPOCHS_PER_ERA) * EPOCHS_PER_ERA + EPOCHS_PER_ERA - length / 2;
        uint256 sum;
        for (uint256 e = from; e < from + length; ++e) {
            sum += d.emissions.emissionForEpoch(e);
        }
        assertEq(sum, d.emissions.scheduledSupplyAt(from + length) - d.emissions.scheduledSupplyAt(from));
    }

    function testFuzz_scheduleNeverExceedsMiningAllocation(uint256 epoch) public view {
        epoch = bound(epoch, 0, type(uint64).max);
        uint256 supply = d.emissions.scheduledSupplyAt(epoch);
        assertLe(supply, d.token.MINING_ALLOCATION());
        assertLe(d.emissions.scheduledSupplyAt(epoch / 2), supply, "monotone");
    }

    function testFuzz_emissionIsHalvingStep(uint256 epoch) public view {
        epoch = bound(epoch, EPOCHS_PER_ERA, 100 * EPOCHS_PER_ERA);
        assertEq(d.emissions.emissionForEpoch(epoch), (RATE >> (epoch / EPOCHS_PER_ERA)) * 3600);
    }
}

contract EmissionsTest is NeuroFixture {
    address internal minerA = makeAddr("minerA");
    address internal minerB = makeAddr("minerB");

    // ------------------------------------------------------------ construction and clock

    function test_constructorParameters() public view {
        assertEq(address(d.emissions.token()), address(d.token));
        assertEq(d.emissions.genesisTime(), cfg.genesisTime);
        assertEq(d.emissions.epochLength(), 1 hours);
        assertEq(d.emissions.submissionWindow(), 15 minutes);
        assertEq(d.emissions.submissionWindowOf(0), 15 minutes);
        assertEq(d.emissions.minerShareBps(), 7000);
        (uint256 minerRate, uint256 modelRate) = d.emissions.rewardRatesOf(0);
        assertEq(minerRate, 5600);
        assertEq(modelRate, 2400);
        assertTrue(d.emissions.hasRole(d.emissions.DEFAULT_ADMIN_ROLE(), address(d.timelock)));
    }

    function test_constructor_revertsOnBadParameters() public {
        IModelOwners none = IModelOwners(address(0));
        vm.expectRevert(Emissions.ZeroAddress.selector);
        new Emissions(NeuroToken(address(0)), address(1), 0, 3600, 900, 7000, 5600, 2400, 500, 1000, none);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 59, 60, 1 days));
        new Emissions(d.token, address(1), 0, 59, 30, 7000, 5600, 2400, 500, 1000, none);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 3601, 10, 3600));
        new Emissions(d.token, address(1), 0, 3600, 3601, 7000, 5600, 2400, 500, 1000, none);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 9001, 5000, 9000));
        new Emissions(d.token, address(1), 0, 3600, 900, 9001, 5600, 2400, 500, 1000, none);
        vm.expectRevert(abi.encodeWithSelector(Emissions.RewardRatesTooHigh.selector, 5601, 2400));
        new Emissions(d.token, address(1), 0, 3600, 900, 7000, 5601, 2400, 500, 1000, none);
    }

    function test_clock() public {
        assertEq(d.emissions.currentEpoch(), 0);
        assertEq(d.emissions.nextEpoch(), 1);
        vm.warp(cfg.genesisTime + 3 hours + 1);
        assertEq(d.emissions.currentEpoch(), 3);
        assertEq(d.emissions.epochStart(3), cfg.genesisTime + 3 hours);
        assertEq(d.emissions.finalizableAt(3), cfg.genesisTime + 4 hours + 15 minutes);
    }

    function test_currentEpoch_revertsBeforeGenesis() public {
        Emissions later = new Emissions(
            d.token, address(1), block.timestamp + 10, 3600, 900, 7000, 5600, 2400, 500, 1000, IModelOwners(address(0))
        );
        vm.expectRevert(abi.encodeWithSelector(Emissions.EmissionsNotStarted.selector, block.timestamp + 10));
        later.currentEpoch();
        assertEq(later.nextEpoch(), 0, "changes made before genesis apply from epoch 0");
    }

    // ------------------------------------------------------------ recordWork

    function test_recordWork_accumulates() public {
        vm.expectEmit(address(d.emissions));
        emit Emissions.WorkRecorded(0, minerA, MODEL_A, 100, 7);
        record(0, minerA, MODEL_A, 100, 7);
        record(0, minerA, MODEL_B, 50, 3);
        record(0, minerB, MODEL_A, 30, 2);
        assertEq(d.emissions.epochInfo(0).totalWork, 180);
        assertEq(d.emissions.minerWork(0, minerA).units, 150);
        assertEq(d.emissions.minerWork(0, minerA).burnedFees, 10);
        assertEq(d.emissions.minerWork(0, minerB).units, 30);
        assertEq(d.emissions.modelWork(0, MODEL_A).units, 130);
        assertEq(d.emissions.modelWork(0, MODEL_A).burnedFees, 9);
        assertEq(d.emissions.modelWork(0, MODEL_B).units, 50);
    }

    function test_recordWork_onlyRecorder() public {
        vm.expectRevert(abi.encodeWithSelector(Emissions.NotWorkRecorder.selector, minerA));
        vm.prank(minerA);
        d.emissions.recordWork(0, minerA, MODEL_A, 1, 1);
        // Set once: not even the DAO can name another recorder (it could credit made-up burned fees).
        vm.prank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(Emissions.WorkRecorderAlreadySet.selector, address(d.ledger)));
        d.emissions.setWorkRecorder(minerA);
    }

    function test_recordWork_rejectsBadInput() public {
        vm.startPrank(address(d.ledger));
        vm.expectRevert(Emissions.ZeroWork.selector);
        d.emissions.recordWork(0, minerA, MODEL_A, 0, 1);
        vm.expectRevert(Emissions.ZeroAddress.selector);
        d.emissions.recordWork(0, address(0), MODEL_A, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochNotStarted.selector, 1));
        d.emissions.recordWork(1, minerA, MODEL_A, 1, 1);
        vm.stopPrank();
    }

    function test_recordWork_windowClosesAtFinalizableAt() public {
        vm.warp(d.emissions.finalizableAt(0) - 1);
        record(0, minerA, MODEL_A, 1); // still inside the submission window
        vm.warp(d.emissions.finalizableAt(0));
        vm.prank(address(d.ledger));
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochClosed.selector, 0));
        d.emissions.recordWork(0, minerA, MODEL_A, 1, 1);
    }

    // ------------------------------------------------------------ attack: reopening a finalized epoch

    /// Issue #12, attack 3: raising the submission window used to make finalized epochs open again; new work
    /// diluted a pool already paid out and made the contract insolvent. A window change now applies only to
    /// epochs that have not started, and a finalized epoch refuses work whatever the window.
    function test_attack_windowChangeCannotReopenFinalizedEpoch() public {
        record(0, minerA, MODEL_A, 100);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(minerA);
        d.emissions.claim(single(0));

        vm.prank(address(d.timelock));
        d.emissions.setSubmissionWindow(1 hours);
        assertEq(d.emissions.submissionWindowOf(0), 15 minutes, "epoch 0 keeps its window");
        assertEq(d.emissions.submissionWindowOf(1), 15 minutes, "epoch 1 has started: it keeps its window too");
        assertEq(d.emissions.submissionWindowOf(2), 1 hours, "the change applies from the next epoch");
        assertFalse(d.emissions.isOpen(0));
        vm.prank(address(d.ledger));
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochClosed.selector, 0));
        d.emissions.recordWork(0, minerB, MODEL_A, 1_000_000, UNCAPPED);
    }

    /// Even an epoch finalized the instant its window closed stays closed (finalized is checked explicitly).
    function testFuzz_finalizedEpochNeverOpen(uint256 window, uint256 later) public {
        record(0, minerA, MODEL_A, 1);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(address(d.timelock));
        d.emissions.setSubmissionWindow(bound(window, 10, 1 hours));
        vm.warp(block.timestamp + bound(later, 0, 30 days));
        assertFalse(d.emissions.isOpen(0));
        assertLe(d.emissions.epochInfo(0).minerPaid, d.emissions.epochInfo(0).minerPool);
    }

    // ------------------------------------------------------------ finalizeEpoch

    function test_finalize_fixesPoolsAndMintsNothing() public {
        record(0, minerA, MODEL_A, 300);
        record(0, minerB, MODEL_B, 100);
        warpToFinalizable(0);
        uint256 emission = d.emissions.emissionForEpoch(0);
        uint256 minerPool = emission * 7000 / 10_000;
        uint256 validatorPool = emission * 500 / 10_000;
        uint256 modelPool = emission - minerPool - validatorPool;
        vm.expectEmit(address(d.emissions));
        emit Emissions.ValidatorPoolFinalized(0, 0, 0, validatorPool, 0);
        vm.expectEmit(address(d.emissions));
        emit Emissions.EpochFinalized(0, emission, 400, minerPool, modelPool, 0, 5600, 2400);
        d.emissions.finalizeEpoch(0);
        assertEq(d.emissions.totalForgone(), validatorPool, "no probe fee revealed: the validators' pool is forgone");

        assertEq(d.token.minedSupply(), 0, "rewards are minted when claimed");
        Emissions.EpochState memory s = d.emissions.epochInfo(0);
        assertTrue(s.finalized);
        assertEq(s.minerPool, minerPool);
        assertEq(s.modelPool, modelPool);
        assertEq(s.minerRewardPerBurnBps, 5600);
        assertEq(s.modelRewardPerBurnBps, 2400);
    }

    function test_finalize_tooEarly() public {
        uint256 readyAt = d.emissions.finalizableAt(0);
        vm.warp(readyAt - 1);
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochNotClosed.selector, 0, readyAt));
        d.emissions.finalizeEpoch(0);
    }

    function test_finalize_once() public {
        record(0, minerA, MODEL_A, 1);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochAlreadyFinalized.selector, 0));
        d.emissions.finalizeEpoch(0);
    }

    function test_finalize_withoutWorkForgoes() public {
        warpToFinalizable(0);
        uint256 emission = d.emissions.emissionForEpoch(0);
        vm.expectEmit(address(d.emissions));
        emit Emissions.EpochFinalized(0, emission, 0, 0, 0, emission - emission * 500 / 10_000, 0, 0);
        d.emissions.finalizeEpoch(0);
        assertEq(d.emissions.totalForgone(), emission);
        assertEq(d.token.minedSupply(), 0);
        assertTrue(d.emissions.isFinalized(0));
    }

    function test_finalize_missedEpochsInAnyOrder() public {
        for (uint256 e; e < 5; ++e) {
            vm.warp(d.emissions.epochStart(e) + 1);
            record(e, minerA, MODEL_A, uint128(e + 1));
        }
        warpToFinalizable(10);
        uint256[5] memory order = [uint256(3), 0, 4, 1, 2];
        for (uint256 i; i < 5; ++i) {
            d.emissions.finalizeEpoch(order[i]);
        }
        for (uint256 e = 5; e <= 10; ++e) {
            d.emissions.finalizeEpoch(e);
        }
        uint256 emission = d.emissions.emissionForEpoch(0);
        uint256 validatorPool = emission * 500 / 10_000; // no probe fee revealed: forgone in every epoch
        assertEq(d.emissions.totalForgone(), 6 * emission + 5 * validatorPool);
        uint256[] memory epochs = new uint256[](5);
        for (uint256 e; e < 5; ++e) {
            epochs[e] = e;
        }
        vm.prank(minerA);
        d.emissions.claim(epochs);
        vm.prank(developerA);
        d.emissions.claimModel(MODEL_A, epochs);
        assertEq(d.emissions.totalEmitted(), 5 * (emission - validatorPool));
        assertEq(d.emissions.totalEmitted() + d.emissions.totalForgone(), d.emissions.scheduledSupplyAt(11));
    }

    // ------------------------------------------------------------ claims

    function test_claim_proRataWhenCapsDoNotBind() public {
        record(0, minerA, MODEL_A, 300);
        record(0, minerB, MODEL_B, 100);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        uint256 minerPool = d.emissions.epochInfo(0).minerPool;

        assertEq(d.emissions.pendingMinerReward(minerA, single(0)), minerPool * 3 / 4);
        vm.expectEmit(address(d.emissions));
        emit Emissions.MinerRewardClaimed(0, minerA, minerPool * 3 / 4, 0);
        vm.prank(minerA);
        uint256 paid = d.emissions.claim(single(0));
        assertEq(paid, minerPool * 3 / 4);
        assertEq(d.token.balanceOf(minerA), minerPool * 3 / 4);
        assertEq(d.token.minedSupply(), minerPool * 3 / 4);
        assertEq(d.emissions.pendingMinerReward(minerA, single(0)), 0);
        assertTrue(d.emissions.minerWork(0, minerA).claimed);

        vm.prank(minerB);
        d.emissions.claim(single(0));
        assertEq(d.token.balanceOf(minerB), minerPool / 4);
        assertEq(d.emissions.totalClaimed(), minerPool * 3 / 4 + minerPool / 4);
        assertEq(d.emissions.epochInfo(0).minerPaid, minerPool * 3 / 4 + minerPool / 4);
    }

    /// The reward is the smaller of the pool share and rate × burned fees; the rest is forgone, not minted.
    function test_claim_cappedByBurnedFees() public {
        record(0, minerA, MODEL_A, 300, 1 ether); // burned 1 NEURO: cap 0.56 NEURO miner, 0.24 model
        record(0, minerB, MODEL_B, 100, 3 ether);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        uint256 share = d.emissions.epochInfo(0).minerPool / 4; // by burned fees: 1 of 4 NEURO
        // No probe fee was revealed: the validators' pool is forgone at finalization.
        uint256 validatorPool = d.emissions.emissionForEpoch(0) * 500 / 10_000;

        vm.expectEmit(address(d.emissions));
        emit Emissions.MinerRewardClaimed(0, minerA, 0.56 ether, share - 0.56 ether);
        vm.prank(minerA);
        assertEq(d.emissions.claim(single(0)), 0.56 ether);
        assertEq(d.emissions.totalForgone(), validatorPool + share - 0.56 ether);

        uint256 modelShare = d.emissions.epochInfo(0).modelPool / 4;
        vm.prank(developerA);
        assertEq(d.emissions.claimModel(MODEL_A, single(0)), 0.24 ether);
        assertEq(d.emissions.totalForgone(), validatorPool + share - 0.56 ether + modelShare - 0.24 ether);
        assertEq(d.token.minedSupply(), 0.8 ether);
        assertEq(d.emissions.totalEmitted(), 0.8 ether);
    }

    /// Issue #12, attack 1: work with zero fees used to claim the whole miner and model pools.
    function test_attack_zeroBurnedFeesEarnNothing() public {
        record(0, minerA, MODEL_A, 1_000_000, 0);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(minerA);
        assertEq(d.emissions.claim(single(0)), 0);
        vm.prank(developerA);
        assertEq(d.emissions.claimModel(MODEL_A, single(0)), 0);
        assertEq(d.token.minedSupply(), 0);
        assertEq(d.emissions.totalForgone(), d.emissions.emissionForEpoch(0));
    }

    function test_claim_errors() public {
        record(0, minerA, MODEL_A, 1);
        vm.prank(minerA);
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochNotFinalized.selector, 0));
        d.emissions.claim(single(0));

        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(minerB); // no work in epoch 0
        vm.expectRevert(Emissions.NothingToClaim.selector);
        d.emissions.claim(single(0));

        vm.prank(minerA);
        d.emissions.claim(single(0));
        vm.prank(minerA);
        vm.expectRevert(abi.encodeWithSelector(Emissions.AlreadyClaimed.selector, 0));
        d.emissions.claim(single(0));
    }

    function test_claim_duplicateEpochInOneCallReverts() public {
        record(0, minerA, MODEL_A, 1);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        uint256[] memory twice = new uint256[](2);
        vm.prank(minerA);
        vm.expectRevert(abi.encodeWithSelector(Emissions.AlreadyClaimed.selector, 0));
        d.emissions.claim(twice);
    }

    function test_claimModel_paysOwnerProRata() public {
        record(0, minerA, MODEL_A, 300);
        record(0, minerB, MODEL_B, 100);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        uint256 modelPool = d.emissions.epochInfo(0).modelPool;

        assertEq(d.emissions.pendingModelReward(MODEL_A, single(0)), modelPool * 3 / 4);
        vm.expectEmit(address(d.emissions));
        emit Emissions.ModelRewardClaimed(0, MODEL_A, developerA, modelPool * 3 / 4, 0);
        vm.prank(developerA);
        d.emissions.claimModel(MODEL_A, single(0));
        assertEq(d.token.balanceOf(developerA), modelPool * 3 / 4);

        vm.prank(developerA);
        vm.expectRevert(abi.encodeWithSelector(Emissions.NotModelOwner.selector, MODEL_B, developerA, developerB));
        d.emissions.claimModel(MODEL_B, single(0));
        vm.prank(developerA);
        vm.expectRevert(abi.encodeWithSelector(Emissions.AlreadyClaimed.selector, 0));
        d.emissions.claimModel(MODEL_A, single(0));
    }

    function test_claimModel_unknownModelAndNoRegistry() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(Emissions.NotModelOwner.selector, unknown, address(0), address(0)));
        vm.prank(address(0));
        d.emissions.claimModel(unknown, single(0));

        Emissions fresh =
            new Emissions(d.token, address(1), 0, 3600, 900, 7000, 5600, 2400, 500, 1000, IModelOwners(address(0)));
        vm.expectRevert(Emissions.ModelRegistryNotSet.selector);
        fresh.claimModel(MODEL_A, single(0));
    }

    function test_claim_manyEpochsAtOnce() public {
        uint256[] memory epochs = new uint256[](3);
        for (uint256 e; e < 3; ++e) {
            vm.warp(d.emissions.epochStart(e) + 1);
            record(e, minerA, MODEL_A, 10);
            record(e, minerB, MODEL_A, 30);
            epochs[e] = e;
        }
        warpToFinalizable(2);
        for (uint256 e; e < 3; ++e) {
            d.emissions.finalizeEpoch(e);
        }
        uint256 expected = 3 * (d.emissions.epochInfo(0).minerPool * 10 / 40);
        vm.prank(minerA);
        assertEq(d.emissions.claim(epochs), expected);
    }

    // ------------------------------------------------------------ governance

    function test_setters_onlyTimelock() public {
        bytes32 admin = d.emissions.DEFAULT_ADMIN_ROLE();
        bytes memory err =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, minerA, admin);
        vm.startPrank(minerA);
        vm.expectRevert(err);
        d.emissions.setMinerShare(8000);
        vm.expectRevert(err);
        d.emissions.setSubmissionWindow(600);
        vm.expectRevert(err);
        d.emissions.setRewardRates(1, 1);
        vm.expectRevert(err);
        d.emissions.setModelRegistry(d.models);
        vm.stopPrank();
    }

    function test_setters_boundedAndEmit() public {
        vm.startPrank(address(d.timelock));
        vm.expectEmit(address(d.emissions));
        emit Emissions.MinerShareScheduled(8500, 1);
        d.emissions.setMinerShare(8500);
        assertEq(d.emissions.minerShareOf(0), 7000, "the current epoch keeps its share");
        assertEq(d.emissions.minerShareOf(1), 8500);
        // Miners and validators together leave the model developers at least 10%, whichever setter moves.
        vm.expectRevert(abi.encodeWithSelector(Emissions.SharesTooHigh.selector, 8501, 500));
        d.emissions.setMinerShare(8501);
        vm.expectRevert(abi.encodeWithSelector(Emissions.SharesTooHigh.selector, 8500, 501));
        d.emissions.setValidatorRewards(501, 1000);
        vm.expectEmit(address(d.emissions));
        emit Emissions.ValidatorRewardsScheduled(0, 1000, 1);
        d.emissions.setValidatorRewards(0, 1000);
        d.emissions.setMinerShare(9000);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 1001, 0, 1000));
        d.emissions.setValidatorRewards(0, 1001);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 2001, 0, 2000));
        d.emissions.setValidatorRewards(2001, 0);
        (uint256 vShare, uint256 vRate) = d.emissions.validatorRewardsOf(0);
        assertEq(vShare, 500, "the current epoch keeps its validators' share");
        assertEq(vRate, 1000);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 4999, 5000, 9000));
        d.emissions.setMinerShare(4999);

        vm.expectEmit(address(d.emissions));
        emit Emissions.SubmissionWindowScheduled(10, 1);
        d.emissions.setSubmissionWindow(10);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 9, 10, 3600));
        d.emissions.setSubmissionWindow(9);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 3601, 10, 3600));
        d.emissions.setSubmissionWindow(3601);

        vm.expectEmit(address(d.emissions));
        emit Emissions.RewardRatesScheduled(7000, 1000, 1);
        d.emissions.setRewardRates(7000, 1000);
        vm.expectRevert(abi.encodeWithSelector(Emissions.RewardRatesTooHigh.selector, 7000, 1001));
        d.emissions.setRewardRates(7000, 1001);
        (uint256 minerRate,) = d.emissions.rewardRatesOf(0);
        assertEq(minerRate, 5600, "the current epoch keeps its rates");
        (minerRate,) = d.emissions.rewardRatesOf(1);
        assertEq(minerRate, 7000);

        vm.expectRevert(Emissions.ZeroAddress.selector);
        d.emissions.setModelRegistry(IModelOwners(address(0)));
        vm.expectEmit(address(d.emissions));
        emit Emissions.ModelRegistrySet(address(d.models), address(2));
        d.emissions.setModelRegistry(IModelOwners(address(2)));
        vm.stopPrank();
    }

    /// The miners' share is fixed when an epoch starts: executing a share change, then finalizing old epochs,
    /// cannot move their emission between miners and model owners.
    function test_minerShareFixedPerEpoch() public {
        record(0, minerA, MODEL_A, 1);
        vm.prank(address(d.timelock));
        d.emissions.setMinerShare(5000);
        vm.warp(d.emissions.epochStart(1) + 1);
        record(1, minerA, MODEL_A, 1);
        warpToFinalizable(1);
        d.emissions.finalizeEpoch(0);
        d.emissions.finalizeEpoch(1);
        assertEq(d.emissions.epochInfo(0).minerPool, d.emissions.emissionForEpoch(0) * 7000 / 10_000);
        assertEq(d.emissions.epochInfo(1).minerPool, d.emissions.emissionForEpoch(1) / 2);
    }

    /// Reviewer's attack: a miner whose real users pay above the floor has cap room left; padding its work with
    /// cheap self-paid units used to raise its pool share (split by tokens) into that room. Shares are split by
    /// burned fees, so every claimant earns the same reward per burned NEURO, whatever its token count.
    function test_attack_cheapPaddingCannotCaptureCapRoom() public {
        // Real users: miner A burned 2,000 NEURO for 10,000 units, B 18,000 for 90,000 units (same price).
        record(0, minerA, MODEL_A, 10_000, 2000 ether);
        record(0, minerB, MODEL_A, 90_000, 18_000 ether);
        uint256 snapshot = vm.snapshotState();
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(minerA);
        uint256 honest = d.emissions.claim(single(0));
        vm.revertToState(snapshot);
        // A pads with 30,000 units bought at a tenth of the price (60 NEURO burned).
        record(0, minerA, MODEL_A, 30_000, 60 ether);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(minerA);
        uint256 padded = d.emissions.claim(single(0));
        // Its extra reward is at most 63% of the 60 NEURO it burned, never a share of others' cap room.
        assertLe(padded - honest, 60 ether * 5600 / 10_000);
    }

    // ------------------------------------------------------------ fuzz: claims

    /// Whatever the work split and burned fees, claims never pay more than the pools, every reward is at most
    /// its rate times its burned fees, and emission = paid + forgone once everyone has claimed.
    function testFuzz_claimsWithinPoolsAndCaps(uint128[6] memory work, uint96[6] memory burned, uint8 shareSeed)
        public
    {
        address[3] memory miners = [minerA, minerB, makeAddr("minerC")];
        bytes32[2] memory ids = [MODEL_A, MODEL_B];
        vm.prank(address(d.timelock));
        d.emissions.setMinerShare(5000 + uint256(shareSeed) * 3500 / 255);
        bool any;
        for (uint256 i; i < 6; ++i) {
            uint128 units = uint128(bound(work[i], 0, type(uint64).max));
            if (units == 0) continue;
            any = true;
            record(0, miners[i % 3], ids[i % 2], units, burned[i]);
        }
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);

        uint256 paid;
        for (uint256 i; i < 3; ++i) {
            if (d.emissions.minerWork(0, miners[i]).units == 0) continue;
            uint256 cap = uint256(d.emissions.minerWork(0, miners[i]).burnedFees) * 5600 / 10_000;
            vm.prank(miners[i]);
            uint256 got = d.emissions.claim(single(0));
            assertLe(got, cap, "miner reward <= rate x burned fees");
            paid += got;
            vm.prank(miners[i]);
            vm.expectRevert(abi.encodeWithSelector(Emissions.AlreadyClaimed.selector, 0));
            d.emissions.claim(single(0));
        }
        address[2] memory owners = [developerA, developerB];
        for (uint256 i; i < 2; ++i) {
            if (d.emissions.modelWork(0, ids[i]).units == 0) continue;
            uint256 cap = uint256(d.emissions.modelWork(0, ids[i]).burnedFees) * 2400 / 10_000;
            vm.prank(owners[i]);
            uint256 got = d.emissions.claimModel(ids[i], single(0));
            assertLe(got, cap, "model reward <= rate x burned fees");
            paid += got;
        }
        Emissions.EpochState memory s = d.emissions.epochInfo(0);
        assertLe(s.minerPaid, s.minerPool);
        assertLe(s.modelPaid, s.modelPool);
        assertEq(d.token.minedSupply(), paid);
        uint256 emission = d.emissions.emissionForEpoch(0);
        // Floor division loses at most one wei per claimant; the rest is paid or forgone.
        assertLe(paid + d.emissions.totalForgone(), emission);
        if (any) assertGe(paid + d.emissions.totalForgone() + 5, emission);
    }
}
