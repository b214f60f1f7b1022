// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Emissions} from "../src/Emissions.sol";
import {IModelOwners} from "../src/interfaces/IModelOwners.sol";
import {ParameterOutOfBounds} from "../src/libraries/Bounds.sol";
import {NeuroToken} from "../src/NeuroToken.sol";
import {NeuroFixture} from "./utils/NeuroFixture.sol";

contract EmissionsScheduleTest is NeuroFixture {
    uint256 internal constant ERA = 35_040;
    uint256 internal constant INITIAL = 5_707_762_557_077_625_570_776; // floor(200M ether / 35,040)

    function test_initialEmission() public view {
        assertEq(d.emissions.INITIAL_EPOCH_EMISSION(), INITIAL);
        assertEq(d.emissions.emissionForEpoch(0), INITIAL);
        assertEq(d.emissions.emissionForEpoch(ERA - 1), INITIAL);
    }

    function test_halvesEachEra() public view {
        assertEq(d.emissions.emissionForEpoch(ERA), INITIAL / 2);
        assertEq(d.emissions.emissionForEpoch(2 * ERA), INITIAL / 4);
        assertEq(d.emissions.emissionForEpoch(10 * ERA + 5), INITIAL >> 10);
        assertEq(d.emissions.emissionForEpoch(73 * ERA), 0, "emission ends once the shift empties it");
        assertEq(d.emissions.emissionForEpoch(type(uint256).max), 0);
    }

    function test_scheduledSupply_pointsOnTheCurve() public view {
        assertEq(d.emissions.scheduledSupplyAt(0), 0);
        assertEq(d.emissions.scheduledSupplyAt(1), INITIAL);
        assertEq(d.emissions.scheduledSupplyAt(ERA), ERA * INITIAL);
        assertEq(d.emissions.scheduledSupplyAt(ERA + 3), ERA * INITIAL + 3 * (INITIAL / 2));
        // Era 0 emits just under half the mining allocation (rounding down), and the total never exceeds it.
        assertLe(ERA * INITIAL, 200_000_000 ether);
        assertGt(ERA * INITIAL, 200_000_000 ether - ERA);
        uint256 total = d.emissions.scheduledSupplyAt(type(uint256).max);
        assertLe(total, 400_000_000 ether);
        assertGt(total, 399_999_000 ether);
    }

    /// Sum of emissionForEpoch over [from, to) equals the closed form's difference.
    function testFuzz_sumOverRangeEqualsClosedForm(uint256 from, uint256 length) public view {
        from = bound(from, 0, 80 * ERA);
        length = bound(length, 0, 400);
        // Straddle an era boundary often.
        if (from % 3 == 0) from = (from / ERA) * ERA + ERA - length / 2;
        uint256 sum;
        for (uint256 e = from; e < from + length; ++e) {
            sum += d.emissions.emissionForEpoch(e);
        }
        assertEq(sum, d.emissions.scheduledSupplyAt(from + length) - d.emissions.scheduledSupplyAt(from));
    }

    function testFuzz_scheduleNeverExceedsMiningAllocation(uint256 epoch) public view {
        uint256 supply = d.emissions.scheduledSupplyAt(epoch);
        assertLe(supply, d.token.MINING_ALLOCATION());
        assertLe(d.emissions.scheduledSupplyAt(epoch / 2), supply, "monotone");
    }

    function testFuzz_emissionIsHalvingStep(uint256 epoch) public view {
        epoch = bound(epoch, ERA, 100 * ERA);
        assertEq(d.emissions.emissionForEpoch(epoch), d.emissions.emissionForEpoch(epoch - ERA) / 2);
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
        assertEq(d.emissions.minerShareBps(), 7000);
        assertTrue(d.emissions.hasRole(d.emissions.DEFAULT_ADMIN_ROLE(), address(d.timelock)));
    }

    function test_constructor_revertsOnBadParameters() public {
        vm.expectRevert(Emissions.ZeroAddress.selector);
        new Emissions(NeuroToken(address(0)), address(1), 0, 3600, 900, 7000, IModelOwners(address(0)));
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 59, 60, 1 days));
        new Emissions(d.token, address(1), 0, 59, 30, 7000, IModelOwners(address(0)));
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 3601, 10, 3600));
        new Emissions(d.token, address(1), 0, 3600, 3601, 7000, IModelOwners(address(0)));
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 9001, 5000, 9000));
        new Emissions(d.token, address(1), 0, 3600, 900, 9001, IModelOwners(address(0)));
    }

    function test_clock() public {
        assertEq(d.emissions.currentEpoch(), 0);
        vm.warp(cfg.genesisTime + 3 hours + 1);
        assertEq(d.emissions.currentEpoch(), 3);
        assertEq(d.emissions.epochStart(3), cfg.genesisTime + 3 hours);
        assertEq(d.emissions.finalizableAt(3), cfg.genesisTime + 4 hours + 15 minutes);
    }

    function test_currentEpoch_revertsBeforeGenesis() public {
        Emissions later =
            new Emissions(d.token, address(1), block.timestamp + 10, 3600, 900, 7000, IModelOwners(address(0)));
        vm.expectRevert(abi.encodeWithSelector(Emissions.EmissionsNotStarted.selector, block.timestamp + 10));
        later.currentEpoch();
    }

    // ------------------------------------------------------------ recordWork

    function test_recordWork_accumulates() public {
        vm.expectEmit(address(d.emissions));
        emit Emissions.WorkRecorded(0, minerA, MODEL_A, 100);
        record(0, minerA, MODEL_A, 100);
        record(0, minerA, MODEL_B, 50);
        record(0, minerB, MODEL_A, 30);
        assertEq(d.emissions.epochInfo(0).totalWork, 180);
        assertEq(d.emissions.minerWork(0, minerA).units, 150);
        assertEq(d.emissions.minerWork(0, minerB).units, 30);
        assertEq(d.emissions.modelWork(0, MODEL_A).units, 130);
        assertEq(d.emissions.modelWork(0, MODEL_B).units, 50);
    }

    function test_recordWork_onlyRecorder() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, minerA, d.emissions.WORK_RECORDER_ROLE()
            )
        );
        vm.prank(minerA);
        d.emissions.recordWork(0, minerA, MODEL_A, 1);
    }

    function test_recordWork_rejectsBadInput() public {
        vm.startPrank(recorder);
        vm.expectRevert(Emissions.ZeroWork.selector);
        d.emissions.recordWork(0, minerA, MODEL_A, 0);
        vm.expectRevert(Emissions.ZeroAddress.selector);
        d.emissions.recordWork(0, address(0), MODEL_A, 1);
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochNotStarted.selector, 1));
        d.emissions.recordWork(1, minerA, MODEL_A, 1);
        vm.stopPrank();
    }

    function test_recordWork_windowClosesAtFinalizableAt() public {
        vm.warp(d.emissions.finalizableAt(0) - 1);
        record(0, minerA, MODEL_A, 1); // still inside the submission window
        vm.warp(d.emissions.finalizableAt(0));
        vm.prank(recorder);
        vm.expectRevert(abi.encodeWithSelector(Emissions.EpochClosed.selector, 0));
        d.emissions.recordWork(0, minerA, MODEL_A, 1);
    }

    // ------------------------------------------------------------ finalizeEpoch

    function test_finalize_mintsExactEmissionAndSplits() public {
        record(0, minerA, MODEL_A, 300);
        record(0, minerB, MODEL_B, 100);
        warpToFinalizable(0);
        uint256 emission = d.emissions.emissionForEpoch(0);
        uint256 minerPool = emission * 7000 / 10_000;
        vm.expectEmit(address(d.emissions));
        emit Emissions.EpochFinalized(0, emission, 400, minerPool, emission - minerPool, 0);
        d.emissions.finalizeEpoch(0);

        assertEq(d.token.balanceOf(address(d.emissions)), emission);
        assertEq(d.token.minedSupply(), emission);
        assertEq(d.emissions.totalEmitted(), emission);
        Emissions.EpochState memory s = d.emissions.epochInfo(0);
        assertTrue(s.finalized);
        assertEq(s.minerPool, minerPool);
        assertEq(s.modelPool, emission - minerPool);
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
        emit Emissions.EpochFinalized(0, 0, 0, 0, 0, emission);
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
        assertEq(d.emissions.totalEmitted(), 5 * d.emissions.emissionForEpoch(0));
        assertEq(d.emissions.totalForgone(), 6 * d.emissions.emissionForEpoch(0));
        assertEq(d.emissions.totalEmitted() + d.emissions.totalForgone(), d.emissions.scheduledSupplyAt(11));
    }

    // ------------------------------------------------------------ claims

    function test_claim_proRata() public {
        record(0, minerA, MODEL_A, 300);
        record(0, minerB, MODEL_B, 100);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        uint256 minerPool = d.emissions.epochInfo(0).minerPool;

        assertEq(d.emissions.pendingMinerReward(minerA, single(0)), minerPool * 3 / 4);
        vm.expectEmit(address(d.emissions));
        emit Emissions.MinerRewardClaimed(0, minerA, minerPool * 3 / 4);
        vm.prank(minerA);
        uint256 paid = d.emissions.claim(single(0));
        assertEq(paid, minerPool * 3 / 4);
        assertEq(d.token.balanceOf(minerA), minerPool * 3 / 4);
        assertEq(d.emissions.pendingMinerReward(minerA, single(0)), 0);
        assertTrue(d.emissions.minerWork(0, minerA).claimed);

        vm.prank(minerB);
        d.emissions.claim(single(0));
        assertEq(d.token.balanceOf(minerB), minerPool / 4);
        assertEq(d.emissions.totalClaimed(), minerPool * 3 / 4 + minerPool / 4);
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
        emit Emissions.ModelRewardClaimed(0, MODEL_A, developerA, modelPool * 3 / 4);
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

        Emissions fresh = new Emissions(d.token, address(1), 0, 3600, 900, 7000, IModelOwners(address(0)));
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
        d.emissions.setModelRegistry(d.models);
        vm.stopPrank();
    }

    function test_setters_boundedAndEmit() public {
        vm.startPrank(address(d.timelock));
        vm.expectEmit(address(d.emissions));
        emit Emissions.MinerShareSet(7000, 9000);
        d.emissions.setMinerShare(9000);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 4999, 5000, 9000));
        d.emissions.setMinerShare(4999);

        vm.expectEmit(address(d.emissions));
        emit Emissions.SubmissionWindowSet(15 minutes, 10);
        d.emissions.setSubmissionWindow(10);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 9, 10, 3600));
        d.emissions.setSubmissionWindow(9);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 3601, 10, 3600));
        d.emissions.setSubmissionWindow(3601);

        vm.expectRevert(Emissions.ZeroAddress.selector);
        d.emissions.setModelRegistry(IModelOwners(address(0)));
        vm.expectEmit(address(d.emissions));
        emit Emissions.ModelRegistrySet(address(d.models), address(2));
        d.emissions.setModelRegistry(IModelOwners(address(2)));
        vm.stopPrank();
    }

    function test_minerShareAppliesAtFinalization() public {
        record(0, minerA, MODEL_A, 1);
        vm.prank(address(d.timelock));
        d.emissions.setMinerShare(5000);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        assertEq(d.emissions.epochInfo(0).minerPool, d.emissions.emissionForEpoch(0) / 2);
    }

    // ------------------------------------------------------------ fuzz: claims

    /// Whatever the work split, claims never pay more than was minted, and nobody claims twice.
    function testFuzz_claimsNeverExceedMinted(uint128[6] memory work, uint8 shareSeed) public {
        address[3] memory miners = [minerA, minerB, makeAddr("minerC")];
        bytes32[2] memory ids = [MODEL_A, MODEL_B];
        vm.prank(address(d.timelock));
        d.emissions.setMinerShare(5000 + uint256(shareSeed) * 4000 / 255);
        bool any;
        for (uint256 i; i < 6; ++i) {
            uint128 units = uint128(bound(work[i], 0, type(uint64).max));
            if (units == 0) continue;
            any = true;
            record(0, miners[i % 3], ids[i % 2], units);
        }
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);

        uint256 paid;
        for (uint256 i; i < 3; ++i) {
            uint256 owed = d.emissions.pendingMinerReward(miners[i], single(0));
            if (owed == 0) continue;
            vm.prank(miners[i]);
            paid += d.emissions.claim(single(0));
            vm.prank(miners[i]);
            vm.expectRevert(abi.encodeWithSelector(Emissions.AlreadyClaimed.selector, 0));
            d.emissions.claim(single(0));
        }
        address[2] memory owners = [developerA, developerB];
        for (uint256 i; i < 2; ++i) {
            if (d.emissions.pendingModelReward(ids[i], single(0)) == 0) continue;
            vm.prank(owners[i]);
            paid += d.emissions.claimModel(ids[i], single(0));
        }
        uint256 minted = any ? d.emissions.emissionForEpoch(0) : 0;
        assertEq(d.token.minedSupply(), minted);
        assertLe(paid, minted);
        // Floor division loses at most one wei per claimant.
        assertGe(paid + 5, minted);
        assertEq(d.token.balanceOf(address(d.emissions)), minted - paid);
    }
}
