// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Payments} from "../../src/Payments.sol";
import {UsageFixture} from "../utils/UsageFixture.sol";

/// @dev Gas of the hot paths, written to contracts/snapshots/GasBenchmarks.json and checked in CI.
/// Each figure is the gas of one external call as a transaction would execute it (warm/cold as noted).
contract GasBenchmarks is UsageFixture {
    function _workers(uint256 count) internal {
        for (uint256 i; i < count; ++i) {
            record(0, address(uint160(0x1000 + i)), i % 2 == 0 ? MODEL_A : MODEL_B, 1000);
        }
    }

    function _finalizeGas(uint256 miners, string memory name) internal returns (uint256 gasUsed) {
        _workers(miners);
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        gasUsed = vm.snapshotGasLastCall(name);
    }

    /// finalizeEpoch costs the same whether 1, 100 or 10,000 miners did work in the epoch.
    function test_gas_finalizeEpoch_isConstantInMiners() public {
        uint256 state = vm.snapshotState();
        uint256 one = _finalizeGas(1, "finalizeEpoch (1 miner)");
        vm.revertToState(state);
        uint256 hundred = _finalizeGas(100, "finalizeEpoch (100 miners)");
        vm.revertToState(state);
        uint256 tenThousand = _finalizeGas(10_000, "finalizeEpoch (10000 miners)");
        assertEq(hundred, one);
        assertEq(tenThousand, one);
    }

    /// The keeper's hourly cycle (finalize the epoch, flush the fee vault) with 1, 100 and 10,000 submitting miners.
    function test_gas_hourlyCycle() public {
        uint256[3] memory counts = [uint256(1), 100, 10_000];
        string[3] memory names = ["hourly cycle (1 miner)", "hourly cycle (100 miners)", "hourly cycle (10000 miners)"];
        uint256 state = vm.snapshotState();
        uint256 first;
        for (uint256 i; i < 3; ++i) {
            vm.revertToState(state);
            _workers(counts[i]);
            fund(address(d.feeVault), 3 ether);
            d.feeVault.accrue(2 ether, 1 ether);
            warpToFinalizable(0);
            d.emissions.finalizeEpoch(0);
            uint256 finalize = vm.lastCallGas().gasTotalUsed;
            d.feeVault.flush();
            uint256 cycle = finalize + vm.lastCallGas().gasTotalUsed;
            vm.snapshotValue(names[i], cycle);
            if (i == 0) first = cycle;
            assertEq(cycle, first, "independent of the number of miners");
        }
    }

    function test_gas_finalizeEpoch_noWork() public {
        warpToFinalizable(0);
        d.emissions.finalizeEpoch(0);
        vm.snapshotGasLastCall("finalizeEpoch (no work, forgone)");
    }

    function test_gas_recordWork() public {
        record(0, address(0x1000), MODEL_A, 1000);
        vm.snapshotGasLastCall("recordWork (first in epoch)");
        record(0, address(0x1001), MODEL_A, 1000);
        vm.snapshotGasLastCall("recordWork (new miner, known model)");
        record(0, address(0x1001), MODEL_A, 1000);
        vm.snapshotGasLastCall("recordWork (repeat)");
    }

    function test_gas_claim() public {
        address miner = address(0x1000);
        uint256[] memory ten = new uint256[](10);
        for (uint256 e; e < 11; ++e) {
            vm.warp(d.emissions.epochStart(e) + 1);
            record(e, miner, MODEL_A, 1000);
            record(e, address(0x2000), MODEL_B, 1000, 1 ether); // capped by its burned fees
            if (e > 0) ten[e - 1] = e;
        }
        warpToFinalizable(10);
        for (uint256 e; e < 11; ++e) {
            d.emissions.finalizeEpoch(e);
        }
        vm.prank(miner);
        d.emissions.claim(single(0));
        vm.snapshotGasLastCall("claim (1 epoch)");
        vm.prank(miner);
        d.emissions.claim(ten);
        vm.snapshotGasLastCall("claim (10 epochs)");
        vm.prank(developerA);
        d.emissions.claimModel(MODEL_A, single(0));
        vm.snapshotGasLastCall("claimModel (1 epoch)");
        vm.prank(address(0x2000));
        d.emissions.claim(single(0));
        vm.snapshotGasLastCall("claim (1 epoch, capped: part forgone)");
    }

    function test_gas_staking() public {
        address alice = makeAddr("alice");
        fund(alice, 30_000 ether);
        vm.startPrank(alice);
        d.token.approve(address(d.staking), type(uint256).max);
        d.staking.stake(10_000 ether);
        vm.snapshotGasLastCall("stake (first, self-delegates)");
        vm.warp(block.timestamp + 1);
        d.staking.stake(10_000 ether);
        vm.snapshotGasLastCall("stake (again)");
        d.staking.unstake(5000 ether);
        vm.snapshotGasLastCall("unstake");
        vm.warp(block.timestamp + 14 days);
        d.staking.withdraw();
        vm.snapshotGasLastCall("withdraw");
        vm.stopPrank();
        vm.prank(address(d.timelock));
        d.staking.slash(alice, 1000 ether, keccak256("evidence"));
        vm.snapshotGasLastCall("slash (bonded, burn + treasury)");
    }

    function test_gas_market() public {
        fund(user, 1000 ether);
        vm.startPrank(user);
        d.token.approve(address(d.payments), type(uint256).max);
        d.payments.deposit(500 ether);
        vm.snapshotGasLastCall("deposit (first)");
        d.payments.deposit(500 ether);
        vm.snapshotGasLastCall("deposit (again)");
        vm.stopPrank();

        Payments.Allowance memory a = allowance(300 ether, 1);
        bytes memory sig = sign(userKey, a);
        redeemAs(miner, a, sig, 100 ether);
        vm.snapshotGasLastCall("redeem (first under an allowance)");
        redeemAs(miner, a, sig, 200 ether);
        vm.snapshotGasLastCall("redeem (cumulative increase)");
        d.feeVault.flush();
        vm.snapshotGasLastCall("flush (burn + treasury)");

        vm.startPrank(user);
        d.payments.requestWithdrawal(100 ether);
        vm.snapshotGasLastCall("requestWithdrawal");
        vm.warp(block.timestamp + 2 hours);
        d.payments.completeWithdrawal();
        vm.snapshotGasLastCall("completeWithdrawal");
        vm.stopPrank();
    }

    /// A validator's probe account reveals an expired allowance; the validator claims the epoch it was credited to.
    function test_gas_validatorRewards() public {
        address validator = makeAddr("validator");
        stakeValidatorAs(validator, d.disputes.minValidatorStake());
        depositAs(user, 1000 ether);
        Payments.Allowance memory a = allowance(100 ether, 9);
        redeemAs(miner, a, sign(userKey, a), 100 ether);
        vm.warp(a.expiry + 1);
        Payments.Allowance[] memory list = new Payments.Allowance[](1);
        list[0] = a;
        vm.prank(user);
        d.payments.revealProbeFees(validator, list);
        vm.snapshotGasLastCall("revealProbeFees (1 allowance, first in epoch)");
        uint256 epoch = d.emissions.currentEpoch();
        warpToFinalizable(epoch);
        d.emissions.finalizeEpoch(epoch);
        vm.snapshotGasLastCall("finalizeEpoch (probe fees revealed, no work)");
        uint256[] memory epochs = new uint256[](1);
        epochs[0] = epoch;
        vm.prank(validator);
        d.emissions.claimValidator(epochs);
        vm.snapshotGasLastCall("claimValidator (1 epoch)");
    }

    function test_gas_registries() public {
        bytes32 id = keccak256("bench-model");
        proposeModel(id, developerA);
        vm.snapshotGasLastCall("ModelRegistry.propose");
        vm.prank(address(d.timelock));
        d.models.approve(id);
        vm.snapshotGasLastCall("ModelRegistry.approve");

        stakeAs(miner, 10_000 ether);
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = MODEL_A;
        ids[1] = id;
        vm.prank(miner);
        d.nodes.register("https://miner.example:8080", makeAddr("receipt-key"), ids);
        vm.snapshotGasLastCall("NodeRegistry.register (2 models)");
        vm.prank(miner);
        d.nodes.deregister();
        vm.snapshotGasLastCall("NodeRegistry.deregister (2 models)");
    }

    /// verifyProof and submitUsage cost the same for 64 and 1,024 receipts.
    function test_gas_usageProofs() public {
        registerMiner();
        UsageProof memory small = loadProof(64);
        UsageProof memory big = loadProof(1024);
        d.verifier64.verifyProof(small.proof, small.inputs);
        uint256 verify64 = vm.snapshotGasLastCall("verifyProof (N = 64)");
        d.verifier1024.verifyProof(big.proof, big.inputs);
        uint256 verify1024 = vm.snapshotGasLastCall("verifyProof (N = 1024)");
        assertEq(verify64, verify1024);

        payMiner(small.fees + big.fees);
        uint256 state = vm.snapshotState();
        submit(small);
        uint256 submit64 = vm.snapshotGasLastCall("submitUsage (N = 64, first in epoch)");
        vm.revertToState(state);
        submit(big);
        uint256 submit1024 = vm.snapshotGasLastCall("submitUsage (N = 1024, first in epoch)");
        assertEq(submit64, submit1024, "O(1) in the batch size");
        submit(small);
        vm.snapshotGasLastCall("submitUsage (N = 64, second batch of the epoch)");
    }
}
