// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Emissions} from "../src/Emissions.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {Payments} from "../src/Payments.sol";
import {UsageLedger} from "../src/UsageLedger.sol";
import {IUsageVerifier} from "../src/interfaces/IUsageVerifier.sol";
import {ParameterOutOfBounds} from "../src/libraries/Bounds.sol";
import {UsageFixture} from "./utils/UsageFixture.sol";

contract UsageLedgerTest is UsageFixture {
    UsageProof internal p;

    function setUp() public override {
        super.setUp();
        p = loadProof(64);
        registerMiner();
    }

    function test_submit_creditsWork() public {
        payMiner(p.fees);
        (, uint256 burned) = d.payments.feesRedeemed(miner, 0, MODEL_A);
        assertGt(burned, 0);
        vm.expectEmit(address(d.ledger));
        emit UsageLedger.UsageSubmitted(0, miner, MODEL_A, p.batchRoot, 64, p.tokens, p.fees, burned);
        submit(p);
        assertEq(d.emissions.minerWork(0, miner).units, p.tokens);
        assertEq(d.emissions.minerWork(0, miner).burnedFees, burned);
        assertEq(d.emissions.modelWork(0, MODEL_A).units, p.tokens);
        assertEq(d.emissions.modelWork(0, MODEL_A).burnedFees, burned);
        assertTrue(d.ledger.rootUsed(p.batchRoot));
        (uint128 gross, uint128 burnedUsed) = d.ledger.feesUsed(miner, 0, MODEL_A);
        assertEq(gross, p.fees);
        assertEq(burnedUsed, burned);
    }

    /// Issue #12, attack 1: zero-fee work is impossible: zero fees are refused, and no floor can be zero.
    function test_attack_zeroFeesRefused() public {
        vm.prank(miner);
        vm.expectRevert(UsageLedger.ZeroFees.selector);
        d.ledger.submitUsage(0, MODEL_A, p.tokens, 0, p.batchRoot, 64, p.proof);
        vm.prank(developerA);
        vm.expectRevert(abi.encodeWithSelector(ParameterOutOfBounds.selector, 0, 1, 1_000_000 ether));
        d.models.update(MODEL_A, "", 0);
        assertGt(d.models.floorAt(MODEL_A, 0), 0);
    }

    /// Issue #12, attack 4: an owner (or the DAO) raising the floor during the submission window used to make
    /// every pending batch of the epoch revert. Floors are fixed per epoch: the change applies from the next.
    function test_attack_floorRaisedInsideWindowDoesNotAffectEpoch() public {
        payMiner(p.fees);
        vm.prank(developerA);
        d.models.update(MODEL_A, "", 2 ether);
        vm.prank(address(d.timelock));
        d.models.setGlobalFloor(1000 ether);
        vm.warp(d.emissions.epochStart(1) + 60); // epoch 0's submission window
        assertEq(d.models.floorAt(MODEL_A, 0), 1 ether, "epoch 0 keeps the floor it started with");
        assertEq(d.models.floorAt(MODEL_A, 1), 1000 ether);
        submit(p);
        assertEq(d.emissions.minerWork(0, miner).units, p.tokens);
    }

    /// Fees redeemed for one model cannot back work on another.
    function test_attack_feesOfAnotherModelCannotBackWork() public {
        depositAs(user, p.fees);
        Payments.Allowance memory a = allowance(p.fees, 0);
        bytes memory sig = sign(userKey, a);
        vm.prank(miner);
        d.payments.redeem(a, sig, p.fees, 0, MODEL_B);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.FeesNotRedeemed.selector, p.fees, 0));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_submit_1024LeafBatch() public {
        UsageProof memory big = loadProof(1024);
        payMiner(big.fees);
        submit(big);
        assertEq(d.emissions.minerWork(0, miner).units, big.tokens);
    }

    function test_submit_rootReuseRejected() public {
        payMiner(2 * p.fees);
        submit(p);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.BatchRootUsed.selector, p.batchRoot));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_submit_feesMustHaveBeenRedeemed() public {
        payMiner(p.fees - 1);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.FeesNotRedeemed.selector, p.fees, p.fees - 1));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_submit_onlyServingNodes() public {
        payMiner(p.fees);
        vm.prank(miner);
        d.staking.unstake(1 ether);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.NodeNotServingModel.selector, miner, MODEL_A));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);

        address other = makeAddr("not-a-node");
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.NodeNotServingModel.selector, other, MODEL_A));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_submit_retiredModelRejected() public {
        payMiner(p.fees);
        vm.prank(address(d.timelock));
        d.models.retire(MODEL_A);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.NodeNotServingModel.selector, miner, MODEL_A));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_submit_epochMustBeOpen() public {
        payMiner(p.fees);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.EpochNotOpen.selector, 1));
        d.ledger.submitUsage(1, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
        vm.warp(d.emissions.finalizableAt(0));
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.EpochNotOpen.selector, 0));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_submit_withinWindowOfPreviousEpoch() public {
        payMiner(p.fees);
        vm.warp(d.emissions.epochStart(1) + 60);
        submit(p); // epoch 0, still inside its submission window
        assertEq(d.emissions.minerWork(0, miner).units, p.tokens);
    }

    function test_submit_unsupportedSizeAndZeroTokens() public {
        vm.startPrank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.UnsupportedBatchSize.selector, 128));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 128, p.proof);
        vm.expectRevert(UsageLedger.ZeroTokens.selector);
        d.ledger.submitUsage(0, MODEL_A, 0, p.fees, p.batchRoot, 64, p.proof);
        vm.stopPrank();
    }

    /// Any claim other than the proven one fails the proof (the other checks all pass).
    function test_submit_wrongClaimsFailTheProof() public {
        payMiner(p.fees + 1 ether);
        vm.startPrank(miner);
        vm.expectRevert(UsageLedger.InvalidProof.selector);
        d.ledger.submitUsage(0, MODEL_A, p.tokens - 1, p.fees, p.batchRoot, 64, p.proof);
        vm.expectRevert(UsageLedger.InvalidProof.selector);
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees + 1, p.batchRoot, 64, p.proof);
        vm.expectRevert(UsageLedger.InvalidProof.selector);
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot + 1, 64, p.proof);
        vm.expectRevert(UsageLedger.InvalidProof.selector);
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 1024, p.proof);
        uint256[8] memory bent = p.proof;
        bent[6] ^= 1;
        vm.expectRevert(UsageLedger.InvalidProof.selector);
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, bent);
        vm.stopPrank();
    }

    /// Another node cannot submit a proof bound to `miner`.
    function test_submit_proofBoundToMiner() public {
        address thief = makeAddr("thief");
        stakeAs(thief, 10_000 ether);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = MODEL_A;
        vm.prank(thief);
        d.nodes.register("https://thief.example", thief, ids);
        depositAs(user, p.fees);
        Payments.Allowance memory a =
            Payments.Allowance({user: user, miner: thief, cap: p.fees, expiry: block.timestamp + 1 days, nonce: 9});
        redeemAs(thief, a, sign(userKey, a), p.fees);
        vm.prank(thief);
        vm.expectRevert(UsageLedger.InvalidProof.selector);
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_submit_afterFinalizationRefused() public {
        payMiner(p.fees);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.prank(address(d.timelock));
        d.emissions.setSubmissionWindow(1 hours);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.EpochNotOpen.selector, 0));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_setVerifier() public {
        IUsageVerifier v64 = d.ledger.verifiers(64);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, miner, d.ledger.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(miner);
        d.ledger.setVerifier(64, IUsageVerifier(address(0)));

        vm.startPrank(address(d.timelock));
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.InvalidBatchSize.selector, 128));
        d.ledger.setVerifier(128, v64); // verifier is for 64
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.InvalidBatchSize.selector, 100));
        d.ledger.setVerifier(100, IUsageVerifier(address(0)));
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.InvalidBatchSize.selector, 1 << 17));
        d.ledger.setVerifier(1 << 17, IUsageVerifier(address(0)));
        vm.expectEmit(address(d.ledger));
        emit UsageLedger.VerifierSet(64, address(0));
        d.ledger.setVerifier(64, IUsageVerifier(address(0)));
        vm.stopPrank();
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.UnsupportedBatchSize.selector, 64));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }

    function test_wiring() public view {
        assertEq(d.emissions.workRecorder(), address(d.ledger));
        assertFalse(d.emissions.hasRole(d.emissions.DEFAULT_ADMIN_ROLE(), address(this)), "deployer renounced");
        assertEq(address(d.ledger.verifiers(64)), address(d.verifier64));
        assertEq(address(d.ledger.verifiers(1024)), address(d.verifier1024));
    }

    function test_constructor_zeroAddress() public {
        IUsageVerifier[] memory none = new IUsageVerifier[](0);
        vm.expectRevert(UsageLedger.ZeroAddress.selector);
        new UsageLedger(Emissions(address(0)), d.payments, d.nodes, d.models, address(1), none);
        vm.expectRevert(UsageLedger.ZeroAddress.selector);
        new UsageLedger(d.emissions, Payments(address(0)), d.nodes, d.models, address(1), none);
        vm.expectRevert(UsageLedger.ZeroAddress.selector);
        new UsageLedger(d.emissions, d.payments, NodeRegistry(address(0)), d.models, address(1), none);
        vm.expectRevert(UsageLedger.ZeroAddress.selector);
        new UsageLedger(d.emissions, d.payments, d.nodes, ModelRegistry(address(0)), address(1), none);
    }
}

/// deposit → allowance → redeem → submit usage with a real proof → finalize → miner and model owner claim.
contract UsageEndToEndTest is UsageFixture {
    function test_fullCycle() public {
        UsageProof memory p = loadProof(64);
        registerMiner();
        depositAs(user, 1 ether);
        Payments.Allowance memory a = allowance(1 ether, 0);
        bytes memory sig = sign(userKey, a);
        redeemAs(miner, a, sig, p.fees / 2);
        redeemAs(miner, a, sig, p.fees); // cumulative
        uint256 minerFeeIncome = p.fees * 7000 / 10_000;
        assertEq(d.token.balanceOf(miner), minerFeeIncome);

        submit(p);
        d.feeVault.flush();
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);

        // The sole miner's pool share is the whole pool, but its reward is capped by the fees burned for it:
        // 63% of the burn to the miner, 27% to the model owner; the rest of the emission is never minted.
        uint256 burned = p.fees - minerFeeIncome - p.fees * 1000 / 10_000;
        assertEq(d.feeVault.totalBurned(), burned);
        vm.prank(miner);
        assertEq(d.emissions.claim(single(0)), burned * 5600 / 10_000);
        vm.prank(developerA);
        assertEq(d.emissions.claimModel(MODEL_A, single(0)), burned * 2400 / 10_000);

        assertEq(d.token.balanceOf(miner), minerFeeIncome + burned * 5600 / 10_000);
        assertEq(d.token.balanceOf(developerA), burned * 2400 / 10_000);
        assertEq(d.token.minedSupply(), burned * 5600 / 10_000 + burned * 2400 / 10_000);
        assertEq(
            d.emissions.totalForgone(), d.emissions.emissionForEpoch(0) - d.token.minedSupply(), "the rest forgone"
        );
        assertEq(d.payments.deposits(user), 1 ether - p.fees);
    }
}

/// A model whose floor at epoch 0 is above what the fixture's batch pays (2 NEURO per million tokens).
contract UsageLedgerFloorTest is UsageFixture {
    function initialFloor() internal pure override returns (uint256) {
        return 3 ether;
    }

    function test_submit_belowFloorPrice() public {
        UsageProof memory p = loadProof(64);
        registerMiner();
        payMiner(p.fees);
        vm.prank(miner);
        vm.expectRevert(abi.encodeWithSelector(UsageLedger.BelowFloorPrice.selector, p.tokens, p.fees, 3 ether));
        d.ledger.submitUsage(0, MODEL_A, p.tokens, p.fees, p.batchRoot, 64, p.proof);
    }
}
